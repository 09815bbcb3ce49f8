//! Where the resolve stage gets bytes: files on this machine, HTTP (through
//! [`crate::fetch`], whose runtime starts only when something is fetched), and mpm's
//! download cache in front of HTTP.

use super::{Location, ResolveError};
use crate::Error;
use crate::cache::Cache;
use crate::fetch::{self, Fetched, Request};
use crate::hash::Digest;

/// The resolve stage's one door to registries' bytes.
pub trait Fetcher {
    /// Registry documents (indexes), in order.
    fn documents(&mut self, at: &[Location], offline: bool) -> Vec<Result<Vec<u8>, Error>>;
    /// Agents' bytes, each wanted with its SHA-256 and the agent it is for (for
    /// messages), in order. The caller checks the digests; bytes that do not match
    /// are never kept.
    fn contents(
        &mut self,
        wanted: &[(Location, Digest, String)],
        offline: bool,
    ) -> Vec<Result<Vec<u8>, Error>>;
}

/// The real sources: the disk for files; for URLs, the cache, else the network.
/// What was fetched is kept in the cache only once the resolution succeeded: a
/// command that fails changes nothing on disk, the cache included.
pub struct Sources {
    cache: Cache,
    policy: fetch::Policy,
    /// How many requests were made (for the tests' and the benchmark's eyes).
    pub requests: usize,
    /// Ask again for every index, fresh in the cache or not (`update`, `outdated`:
    /// a release made within `ttl_hours` is seen).
    pub refresh: bool,
    /// Documents fetched: URL, bytes, ETag.
    documents: Vec<(String, Vec<u8>, Option<String>)>,
    /// Documents the server said are unchanged.
    revalidated: Vec<String>,
    /// Agents' bytes fetched and verified.
    contents: Vec<Vec<u8>>,
}

impl Sources {
    pub fn new(cache: Cache, policy: fetch::Policy) -> Sources {
        Sources {
            cache,
            policy,
            requests: 0,
            refresh: false,
            documents: Vec::new(),
            revalidated: Vec::new(),
            contents: Vec::new(),
        }
    }

    /// Ends the cache's use. After a resolution that succeeded (`keep`), what was
    /// fetched is kept, the counts too, and the limits are enforced; after one that
    /// failed, nothing is written. A cache that cannot be written fails nothing:
    /// the message says why.
    pub fn finish(self, keep: bool) -> Option<String> {
        if !keep {
            return None;
        }
        let kept = (|| {
            for (url, bytes, etag) in &self.documents {
                self.cache.put_document(url, bytes, etag.as_deref())?;
            }
            for url in &self.revalidated {
                self.cache.revalidated(url)?;
            }
            for bytes in &self.contents {
                self.cache.put_content(bytes)?;
            }
            self.cache.finish()
        })();
        kept.err()
            .map(|e| format!("mpm's download cache was not written: {e}"))
    }

    /// GETs `requests`, all at once.
    fn get(&mut self, requests: &[Request]) -> Vec<Result<Fetched, Error>> {
        self.requests += requests.len();
        fetch::fetch_all(requests, &self.policy)
            .into_iter()
            .map(|r| r.map_err(Error::from))
            .collect()
    }
}

/// The largest registry index mpm reads (an index of 10 000 versions is 1.4 MB).
pub const MAX_INDEX: u64 = 64 << 20;
/// The largest agent file or template mpm reads.
pub const MAX_CONTENT: u64 = 8 << 20;

/// A regular file's bytes, at most `limit` of them: never a device, a pipe or a
/// folder, whatever an index or a lock names.
fn read_file(location: &Location, limit: u64) -> Result<Vec<u8>, Error> {
    use std::io::Read;
    match location {
        Location::File(path) => {
            let refused = |message: String| -> Error {
                ResolveError::Read {
                    shown: path.display().to_string(),
                    message,
                }
                .into()
            };
            let meta = std::fs::metadata(path).map_err(|e| refused(io_message(&e)))?;
            if !meta.is_file() {
                return Err(refused("it is not a regular file".into()));
            }
            if meta.len() > limit {
                return Err(refused(format!(
                    "it is {} bytes, more than the {limit} mpm reads from a registry",
                    meta.len()
                )));
            }
            let file = std::fs::File::open(path).map_err(|e| refused(io_message(&e)))?;
            let mut bytes = Vec::with_capacity(meta.len() as usize);
            file.take(limit + 1)
                .read_to_end(&mut bytes)
                .map_err(|e| refused(io_message(&e)))?;
            if bytes.len() as u64 > limit {
                return Err(refused(format!(
                    "it is more than the {limit} bytes mpm reads from a registry"
                )));
            }
            Ok(bytes)
        }
        Location::Url(url) => Err(ResolveError::Read {
            shown: url.clone(),
            message: "not a file".into(),
        }
        .into()),
    }
}

/// An I/O error's own words, without fs-err's repetition of the path.
fn io_message(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::IsADirectory => "it is a directory".into(),
        kind => kind.to_string(),
    }
}

fn offline(what: String, shown: String) -> Error {
    ResolveError::Offline { what, shown }.into()
}

impl Fetcher for Sources {
    fn documents(&mut self, at: &[Location], offline_only: bool) -> Vec<Result<Vec<u8>, Error>> {
        let mut out: Vec<Option<Result<Vec<u8>, Error>>> = Vec::with_capacity(at.len());
        // (index in `out`, request, the stale copy held)
        let mut asks: Vec<(usize, Request, Option<Vec<u8>>)> = Vec::new();
        for (i, location) in at.iter().enumerate() {
            let Location::Url(url) = location else {
                out.push(Some(read_file(location, MAX_INDEX)));
                continue;
            };
            let held = match self.cache.document(url) {
                Ok(held) => held,
                Err(e) => {
                    out.push(Some(Err(e.into())));
                    continue;
                }
            };
            match held {
                Some(doc) if doc.fresh && !self.refresh => out.push(Some(Ok(doc.bytes))),
                // offline, a stale index is better than none: pins are what matter
                Some(doc) if offline_only => out.push(Some(Ok(doc.bytes))),
                None if offline_only => {
                    out.push(Some(Err(offline("the registry index".into(), url.clone()))))
                }
                held => {
                    let (etag, bytes) = match held {
                        Some(doc) => (doc.etag, Some(doc.bytes)),
                        None => (None, None),
                    };
                    let request = Request {
                        etag,
                        max_bytes: Some(MAX_INDEX),
                        ..Request::get(url.clone())
                    };
                    asks.push((i, request, bytes));
                    out.push(None);
                }
            }
        }
        let requests: Vec<Request> = asks.iter().map(|(_, r, _)| r.clone()).collect();
        let got = self.get(&requests);
        for ((i, request, held), got) in asks.into_iter().zip(got) {
            out[i] = Some(match got {
                Ok(Fetched::Body { bytes, etag }) => {
                    self.documents
                        .push((request.url.clone(), bytes.clone(), etag));
                    Ok(bytes)
                }
                Ok(Fetched::NotModified) => {
                    self.revalidated.push(request.url.clone());
                    Ok(held.unwrap_or_default())
                }
                Err(e) => Err(e),
            });
        }
        out.into_iter()
            .map(|r| r.unwrap_or_else(|| Err(Error::usage("not fetched", None))))
            .collect()
    }

    fn contents(
        &mut self,
        wanted: &[(Location, Digest, String)],
        offline_only: bool,
    ) -> Vec<Result<Vec<u8>, Error>> {
        let mut out: Vec<Option<Result<Vec<u8>, Error>>> = Vec::with_capacity(wanted.len());
        let mut asks: Vec<(usize, Request, Digest)> = Vec::new();
        for (i, (location, digest, agent)) in wanted.iter().enumerate() {
            let Location::Url(url) = location else {
                out.push(Some(read_file(location, MAX_CONTENT)));
                continue;
            };
            match self.cache.content(digest) {
                Ok(Some(bytes)) => out.push(Some(Ok(bytes))),
                Ok(None) if offline_only => out.push(Some(Err(offline(
                    format!("agent `{agent}`: its pinned version,"),
                    url.clone(),
                )))),
                Ok(None) => {
                    let request = Request {
                        max_bytes: Some(MAX_CONTENT),
                        ..Request::get(url.clone())
                    };
                    asks.push((i, request, *digest));
                    out.push(None);
                }
                Err(e) => out.push(Some(Err(e.into()))),
            }
        }
        let requests: Vec<Request> = asks.iter().map(|(_, r, _)| r.clone()).collect();
        let got = self.get(&requests);
        for ((i, _, digest), got) in asks.into_iter().zip(got) {
            out[i] = Some(match got {
                Ok(Fetched::Body { bytes, .. }) => {
                    // only verified bytes are kept; the caller refuses the rest
                    if Digest::of(&bytes) == digest {
                        self.contents.push(bytes.clone());
                    }
                    Ok(bytes)
                }
                Ok(Fetched::NotModified) => {
                    Err(Error::usage("a 304 to a request without an ETag", None))
                }
                Err(e) => Err(e),
            });
        }
        out.into_iter()
            .map(|r| r.unwrap_or_else(|| Err(Error::usage("not fetched", None))))
            .collect()
    }
}
