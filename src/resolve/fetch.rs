//! Where the resolve stage gets bytes: files on this machine, HTTP, and mpm's cache.

use super::{Location, ResolveError};
use crate::Error;
use crate::hash::Digest;

/// The resolve stage's one door to registries' bytes.
pub trait Fetcher {
    /// Registry documents (indexes), in order.
    fn documents(&mut self, at: &[Location], offline: bool) -> Vec<Result<Vec<u8>, Error>>;
    /// Agents' bytes, each wanted with its SHA-256 (for the cache) and the agent it
    /// is for (for messages), in order. The caller checks the digests.
    fn contents(
        &mut self,
        wanted: &[(Location, Digest, String)],
        offline: bool,
    ) -> Vec<Result<Vec<u8>, Error>>;
}

/// The real sources: the disk for files.
#[derive(Debug, Default)]
pub struct Sources {}

impl Sources {
    pub fn new() -> Sources {
        Sources {}
    }
}

fn read_file(location: &Location) -> Result<Vec<u8>, Error> {
    match location {
        Location::File(path) => fs_err::read(path).map_err(|e| {
            ResolveError::Read {
                shown: path.display().to_string(),
                message: io_message(&e),
            }
            .into()
        }),
        Location::Url(url) => Err(ResolveError::Read {
            shown: url.clone(),
            message: "this mpm was built without HTTP".into(),
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
        _ => std::io::Error::new(e.kind(), e.kind().to_string()).to_string(),
    }
}

impl Fetcher for Sources {
    fn documents(&mut self, at: &[Location], _offline: bool) -> Vec<Result<Vec<u8>, Error>> {
        at.iter().map(read_file).collect()
    }

    fn contents(
        &mut self,
        wanted: &[(Location, Digest, String)],
        _offline: bool,
    ) -> Vec<Result<Vec<u8>, Error>> {
        wanted.iter().map(|(l, _, _)| read_file(l)).collect()
    }
}
