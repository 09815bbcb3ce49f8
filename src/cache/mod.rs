//! mpm's download cache: what registries served, kept between commands and shared
//! by every project of a user, in the `cache.dir` setting's folder
//! (`$XDG_CACHE_HOME/mpm`, else `~/.cache/mpm`). Three kinds of entry:
//!
//! - **content**, by SHA-256 (agent files): never stale, and checked against its
//!   digest whenever it is read: a damaged entry is removed and is a miss, so the
//!   cache never serves bytes that are not what was asked for;
//! - **documents**, by URL (registry indexes), with their `ETag` and when they were
//!   fetched: stale once older than the time to live (a caller revalidates them);
//! - **token counts** ([`tokens`]), by a digest of the agent file counted and the
//!   encoding: never stale.
//!
//! Bounded by [`Limits`] (entries, bytes, time to live): the least recently used
//! go first (a hit is a use: it touches the entry's modification time).
//!
//! On disk (format 1):
//!
//! ```text
//! format                     `mpm-cache 1`: the folder is mpm's, and which layout
//! CACHEDIR.TAG               so that backup tools skip it
//! lock                       the lock file (below)
//! stats.json                 the hits and misses of every command so far
//! content/sha256/ab/<hex>    bytes whose SHA-256 is <hex> (`ab`: its first two digits)
//! documents/<hex>            <hex>: the SHA-256 of the URL; one line of JSON (url,
//!                            etag, fetched_ms, size, sha256 of the bytes), then the bytes
//! usage/<hex>                <hex>: the SHA-256 of a Claude Code config dir's canonical
//!                            path; the incremental index of its transcripts (`mpm usage`,
//!                            see `crate::usage::index`): a header line of JSON (format,
//!                            version, config_dir, length, sha256 of the rest), then JSON
//! tokens/<hex>               one line of JSON: an agent file's token counts (`tokens.rs`)
//! .tmp-<pid>-<random>        a write under way, beside the entry it becomes
//! ```
//!
//! Two mpm processes may use one cache at once. Every write is a temp file of its
//! own renamed over its entry, so a reader sees an entry whole or not at all, and
//! readers take no lock. A writer holds the lock file's shared lock while it
//! writes; what removes entries (eviction, `prune`, `clear`) and what merges the
//! hit and miss counts holds it exclusively, so a temp seen then was left by a
//! process that died. A folder that is not mpm's (files in it, no `format`) is
//! never written or cleared; a link is never followed (see [`dir`]).

mod dir;
mod error;
mod evict;
mod tokens;
mod usage;

pub use error::CacheError;
pub use tokens::TokenEntry;

use crate::hash::Digest;
use dir::Dir;
use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The file that marks a folder as an mpm cache, and says its layout.
pub const FORMAT_FILE: &str = "format";
/// What it holds.
pub const FORMAT: &str = "mpm-cache 1\n";
pub const LOCK_FILE: &str = "lock";
pub const STATS_FILE: &str = "stats.json";
pub const TAG_FILE: &str = "CACHEDIR.TAG";
/// <https://bford.info/cachedir/>
const TAG: &str = "Signature: 8a477f597d28d172789f06886806bc55\n\
    # This file is a cache directory tag created by mpm.\n\
    # For information about cache directory tags, see https://bford.info/cachedir/\n";
/// How long a command waits for the lock: its holders keep it for a moment (one
/// write, one prune), never for a whole command.
pub const LOCK_PATIENCE: Duration = Duration::from_secs(30);
/// The longest document header read.
const HEADER_MAX: u64 = 64 << 10;

/// Where the cache is unless the `cache.dir` setting says: `$XDG_CACHE_HOME/mpm`,
/// else `~/.cache/mpm` (a relative `XDG_CACHE_HOME` is ignored, as the XDG Base
/// Directory specification says); `None` without a home either.
pub fn default_dir(xdg_cache_home: Option<&Path>, home: Option<&Path>) -> Option<PathBuf> {
    let xdg = xdg_cache_home
        .filter(|p| p.is_absolute())
        .map(Path::to_path_buf);
    let dir = xdg.or_else(|| home.map(|h| h.join(".cache")))?;
    Some(dir.join("mpm"))
}

/// How large the cache may grow, and how long a document stays fresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_entries: u64,
    pub max_bytes: u64,
    pub ttl: Duration,
}

impl Default for Limits {
    /// The framework guide's: 5000 entries, 500 MB, 24 h.
    fn default() -> Limits {
        Limits::of(&crate::manifest::CacheSection::default())
    }
}

impl Limits {
    /// The limits `mpm.yaml`'s `cache:` section gives (1 MB = 1 000 000 bytes).
    pub fn of(section: &crate::manifest::CacheSection) -> Limits {
        let hours = section.ttl_hours * 3600.0;
        Limits {
            max_entries: section.max_entries,
            max_bytes: section.max_size_mb.saturating_mul(1_000_000),
            ttl: Duration::try_from_secs_f64(hours).unwrap_or(Duration::MAX),
        }
    }
}

/// A document as the cache holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub bytes: Vec<u8>,
    pub etag: Option<String>,
    /// When it was fetched, or last revalidated.
    pub fetched: SystemTime,
    /// Younger than the time to live (one fetched "in the future", by a clock
    /// set back since, is not).
    pub fresh: bool,
}

/// What the cache holds, and how well it has served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    pub dir: PathBuf,
    pub entries: u64,
    pub bytes: u64,
    pub hits: u64,
    pub misses: u64,
    pub limits: Limits,
}

impl Stats {
    pub fn lookups(&self) -> u64 {
        self.hits.saturating_add(self.misses)
    }

    /// Hits per lookup; `None` before any lookup.
    pub fn hit_rate(&self) -> Option<f64> {
        match self.lookups() {
            0 => None,
            n => Some(self.hits as f64 / n as f64),
        }
    }
}

/// What a prune or a clear removed, and what is left.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Entries removed, expired documents included.
    pub removed: u64,
    /// Of those, documents past their time to live.
    pub expired: u64,
    /// The removed entries' bytes.
    pub bytes: u64,
    /// Temp files of writes that never finished (their process died).
    pub temps: u64,
    pub entries_left: u64,
    pub bytes_left: u64,
}

/// The first line of a document's file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    url: String,
    etag: Option<String>,
    /// Milliseconds since the Unix epoch.
    fetched_ms: u64,
    size: u64,
    sha256: Digest,
}

/// `stats.json`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Counts {
    hits: u64,
    misses: u64,
}

/// The cache at one folder, for one command.
#[derive(Debug)]
pub struct Cache {
    root: PathBuf,
    limits: Limits,
    /// `cache.enabled: false`: nothing is read or kept.
    enabled: bool,
    hits: AtomicU64,
    misses: AtomicU64,
    wrote: AtomicBool,
    /// The folder, once it is known to be an mpm cache.
    opened: OnceLock<Dir>,
}

/// A lock on the lock file; released when dropped.
struct Lock(#[expect(dead_code, reason = "held for its lock")] std::fs::File);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LockMode {
    /// Writing an entry.
    Shared,
    /// Removing entries, or merging the counts.
    Exclusive,
}

/// Where an entry lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Content,
    Document,
    /// A usage index: evicted like the others (the next run rebuilds it).
    Usage,
    Tokens,
}

/// An entry as listed: its folder (an index into the listing's folders) and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    kind: Kind,
    name: OsString,
    folder: usize,
}

/// Every entry, with the folders they are in, and the temps found on the way.
struct Listing {
    folders: Vec<Dir>,
    entries: Vec<evict::Candidate<Key>>,
    temps: Vec<(usize, OsString)>,
}

impl Cache {
    /// The cache in `root`; nothing is created until the first write.
    pub fn at(root: PathBuf, limits: Limits) -> Cache {
        Cache {
            root,
            limits,
            enabled: true,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            wrote: AtomicBool::new(false),
            opened: OnceLock::new(),
        }
    }

    /// A cache that is not there (`cache.enabled: false`): every lookup is `None`
    /// and counts nothing, every write is skipped; [`Cache::put_content`] still
    /// gives the digest.
    pub fn disabled(root: PathBuf, limits: Limits) -> Cache {
        Cache {
            enabled: false,
            ..Cache::at(root, limits)
        }
    }

    pub fn dir(&self) -> &Path {
        &self.root
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// Whether there is an mpm cache in the folder yet (not just an empty folder).
    pub fn exists(&self) -> Result<bool, CacheError> {
        Ok(self.for_reading()?.is_some())
    }

    /// The bytes whose SHA-256 is `sha256`, checked against it. A damaged entry
    /// is removed and counts as a miss.
    pub fn content(&self, sha256: &Digest) -> Result<Option<Vec<u8>>, CacheError> {
        if !self.enabled {
            return Ok(None);
        }
        self.counted(self.read_content(sha256), Option::is_some)
    }

    fn read_content(&self, sha256: &Digest) -> Result<Option<Vec<u8>>, CacheError> {
        let Some(root) = self.for_reading()? else {
            return Ok(None);
        };
        let hex = sha256.hex();
        let Some(dir) = content_dir(root, &hex, false)? else {
            return Ok(None);
        };
        let Some(mut opened) = dir.open_file(&hex)? else {
            return Ok(None);
        };
        let bytes = opened
            .read_all()
            .map_err(|e| CacheError::io("read", dir.path().join(&hex), e))?;
        if Digest::of(&bytes) != *sha256 {
            dir.remove_if_same(&hex, &opened.meta)?;
            return Ok(None);
        }
        used(&opened.file);
        Ok(Some(bytes))
    }

    /// Keeps `bytes` by their SHA-256, which it returns.
    pub fn put_content(&self, bytes: &[u8]) -> Result<Digest, CacheError> {
        let digest = Digest::of(bytes);
        if !self.enabled {
            return Ok(digest);
        }
        let (root, _lock) = self.for_writing()?;
        let hex = digest.hex();
        let dir = content_dir(root, &hex, true)?
            .ok_or_else(|| CacheError::NotADirectory(root.path().join("content")))?;
        dir.write(&hex, bytes)?;
        self.wrote.store(true, Ordering::Relaxed);
        Ok(digest)
    }

    /// The document fetched from `url`, fresh or not. A fresh one is a hit; a
    /// stale, damaged or missing one a miss (a damaged one is removed).
    pub fn document(&self, url: &str) -> Result<Option<Document>, CacheError> {
        if !self.enabled {
            return Ok(None);
        }
        let found = self.read_document(url).map(|found| {
            found.map(|(document, file)| {
                used(&file);
                document
            })
        });
        self.counted(found, |d| d.as_ref().is_some_and(|d| d.fresh))
    }

    fn read_document(&self, url: &str) -> Result<Option<(Document, std::fs::File)>, CacheError> {
        let Some(root) = self.for_reading()? else {
            return Ok(None);
        };
        let Some(dir) = root.sub("documents")? else {
            return Ok(None);
        };
        let name = Digest::of(url.as_bytes()).hex();
        let Some(mut opened) = dir.open_file(&name)? else {
            return Ok(None);
        };
        let bytes = opened
            .read_all()
            .map_err(|e| CacheError::io("read", dir.path().join(&name), e))?;
        let Some((header, body)) = parse_document(&bytes, url) else {
            dir.remove_if_same(&name, &opened.meta)?;
            return Ok(None);
        };
        let fetched = UNIX_EPOCH + Duration::from_millis(header.fetched_ms);
        let document = Document {
            bytes: body.to_vec(),
            etag: header.etag,
            fetched,
            fresh: self.is_fresh(fetched, SystemTime::now()),
        };
        Ok(Some((document, opened.file)))
    }

    fn is_fresh(&self, fetched: SystemTime, now: SystemTime) -> bool {
        now.duration_since(fetched)
            .is_ok_and(|age| age < self.limits.ttl)
    }

    /// Keeps `bytes` as fetched from `url` now, with its `ETag`.
    pub fn put_document(
        &self,
        url: &str,
        bytes: &[u8],
        etag: Option<&str>,
    ) -> Result<(), CacheError> {
        self.write_document(url, bytes, etag.map(str::to_string), SystemTime::now())
    }

    fn write_document(
        &self,
        url: &str,
        bytes: &[u8],
        etag: Option<String>,
        fetched: SystemTime,
    ) -> Result<(), CacheError> {
        if !self.enabled {
            return Ok(());
        }
        let header = Header {
            url: url.to_string(),
            etag,
            fetched_ms: fetched
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            size: bytes.len() as u64,
            sha256: Digest::of(bytes),
        };
        // JSON escapes every newline: the first one ends the header
        let mut file = serde_json::to_vec(&header).unwrap_or_default();
        file.push(b'\n');
        file.extend_from_slice(bytes);
        let (root, _lock) = self.for_writing()?;
        root.sub_created("documents")?
            .write(Digest::of(url.as_bytes()).hex(), &file)?;
        self.wrote.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// The server said the document from `url` has not changed (a 304): it is
    /// fresh again from now. Nothing happens when it is no longer cached.
    pub fn revalidated(&self, url: &str) -> Result<(), CacheError> {
        if !self.enabled {
            return Ok(());
        }
        match self.read_document(url)? {
            Some((document, _)) => {
                self.write_document(url, &document.bytes, document.etag, SystemTime::now())
            }
            None => Ok(()),
        }
    }

    /// What the cache holds, and the hits and misses of every command so far
    /// (this one's included). Writes nothing, and takes no lock: an entry removed
    /// while it counts is simply not counted.
    pub fn stats(&self) -> Result<Stats, CacheError> {
        let mut stats = Stats {
            dir: self.root.clone(),
            entries: 0,
            bytes: 0,
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            limits: self.limits,
        };
        let Some(root) = self.for_reading()? else {
            return Ok(stats);
        };
        let listing = self.list(root, SystemTime::now())?;
        stats.entries = listing.entries.len() as u64;
        stats.bytes = listing.entries.iter().map(|e| e.bytes).sum();
        let counts = read_counts(root)?;
        stats.hits = stats.hits.saturating_add(counts.hits);
        stats.misses = stats.misses.saturating_add(counts.misses);
        Ok(stats)
    }

    /// Removes the documents past their time to live, then the least recently
    /// used entries until the cache is within both limits, and the temp files of
    /// writes that never finished.
    pub fn prune(&self) -> Result<Pruned, CacheError> {
        let Some(root) = self.for_reading()? else {
            return Ok(Pruned::default());
        };
        let _lock = lock(root, LockMode::Exclusive)?;
        let listing = self.list(root, SystemTime::now())?;
        let mut pruned = Pruned::default();
        for (folder, name) in &listing.temps {
            if listing.folders[*folder].remove(name)? {
                pruned.temps += 1;
            }
        }
        self.evict(&listing, true, &mut pruned)?;
        Ok(pruned)
    }

    /// Removes every entry, every temp file and the hit and miss counts; the
    /// folder stays, an empty mpm cache.
    pub fn clear(&self) -> Result<Pruned, CacheError> {
        let Some(root) = self.for_reading()? else {
            return Ok(Pruned::default());
        };
        let _lock = lock(root, LockMode::Exclusive)?;
        let mut pruned = Pruned::default();
        for folder in ["content", "documents", usage::FOLDER, tokens::FOLDER] {
            let removed = root.remove_tree(folder)?;
            pruned.removed += removed.entries;
            pruned.bytes += removed.bytes;
            pruned.temps += removed.temps;
        }
        for name in root.names()? {
            if dir::is_temp(&name) && root.remove(&name)? {
                pruned.temps += 1;
            }
        }
        root.remove(STATS_FILE)?;
        Ok(pruned)
    }

    /// The end of a command that used the cache: its hits and misses are added to
    /// the counts, and, if it wrote, the least recently used entries are removed
    /// until the cache is within its limits (a command may go past them while it
    /// runs). A command that neither looked nor wrote does nothing here.
    pub fn finish(self) -> Result<(), CacheError> {
        let (hits, misses) = (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        );
        let wrote = self.wrote.load(Ordering::Relaxed);
        if !self.enabled || (hits == 0 && misses == 0 && !wrote) {
            return Ok(());
        }
        // lookups in a cache that is not there teach nothing: it is not made for them
        let Some(root) = self.for_reading()? else {
            return Ok(());
        };
        let _lock = lock(root, LockMode::Exclusive)?;
        if hits > 0 || misses > 0 {
            let mut counts = read_counts(root)?;
            counts.hits = counts.hits.saturating_add(hits);
            counts.misses = counts.misses.saturating_add(misses);
            root.write(STATS_FILE, &serde_json::to_vec(&counts).unwrap_or_default())?;
        }
        if wrote {
            let listing = self.list(root, SystemTime::now())?;
            self.evict(&listing, false, &mut Pruned::default())?;
        }
        Ok(())
    }

    /// Removes what [`evict::victims`] picks, under the exclusive lock.
    fn evict(
        &self,
        listing: &Listing,
        drop_expired: bool,
        pruned: &mut Pruned,
    ) -> Result<(), CacheError> {
        let victims = evict::victims(&listing.entries, &self.limits, drop_expired);
        let mut gone = vec![false; listing.entries.len()];
        for i in victims {
            let entry = &listing.entries[i];
            if listing.folders[entry.key.folder].remove(&entry.key.name)? {
                pruned.removed += 1;
                pruned.bytes += entry.bytes;
                if entry.expired {
                    pruned.expired += 1;
                }
            }
            gone[i] = true;
        }
        for (entry, gone) in listing.entries.iter().zip(gone) {
            if !gone {
                pruned.entries_left += 1;
                pruned.bytes_left += entry.bytes;
            }
        }
        Ok(())
    }

    /// Counts a lookup's outcome: a hit when `hit` says so, else a miss (an error
    /// included).
    fn counted<T>(
        &self,
        found: Result<T, CacheError>,
        hit: impl FnOnce(&T) -> bool,
    ) -> Result<T, CacheError> {
        let counter = match &found {
            Ok(t) if hit(t) => &self.hits,
            _ => &self.misses,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// The folder, for reading: `None` while there is none (or it is an empty
    /// folder mpm has not written to yet).
    fn for_reading(&self) -> Result<Option<&Dir>, CacheError> {
        if let Some(dir) = self.opened.get() {
            return Ok(Some(dir));
        }
        let Some(dir) = Dir::open_root(&self.root)? else {
            return Ok(None);
        };
        match check_format(&dir)? {
            Found::Ours => Ok(Some(self.opened.get_or_init(|| dir))),
            Found::Empty => Ok(None),
        }
    }

    /// The folder, for writing, made an mpm cache if it is not yet, and the
    /// shared lock that a writer holds.
    fn for_writing(&self) -> Result<(&Dir, Lock), CacheError> {
        if let Some(dir) = self.opened.get() {
            return Ok((dir, lock(dir, LockMode::Shared)?));
        }
        let dir = match Dir::open_root(&self.root)? {
            Some(dir) => dir,
            None => Dir::create_root(&self.root)?,
        };
        // a folder that is not mpm's is refused before the lock file is made in it
        check_format(&dir)?;
        let lock = lock(&dir, LockMode::Shared)?;
        if check_format(&dir)? == Found::Empty {
            dir.write(FORMAT_FILE, FORMAT.as_bytes())?;
            dir.write(TAG_FILE, TAG.as_bytes())?;
        }
        Ok((self.opened.get_or_init(|| dir), lock))
    }

    /// Every entry and temp file, with its size and last use.
    fn list(&self, root: &Dir, now: SystemTime) -> Result<Listing, CacheError> {
        let mut listing = Listing {
            folders: Vec::new(),
            entries: Vec::new(),
            temps: Vec::new(),
        };
        let names = root.names()?;
        listing.add_folder(root.try_clone()?, &names);
        if let Some(sha256) = root
            .sub("content")?
            .map(|c| c.sub("sha256"))
            .transpose()?
            .flatten()
        {
            let prefixes = sha256.names()?;
            for prefix in prefixes.iter().filter(|p| is_hex(p, 2)) {
                let Some(folder) = sha256.sub(prefix)? else {
                    continue;
                };
                let names = folder.names()?;
                let at = listing.add_folder(folder, &names);
                let folder = &listing.folders[at];
                let own = |n: &&OsString| {
                    is_hex(n, 64) && n.as_encoded_bytes().starts_with(prefix.as_encoded_bytes())
                };
                for name in names.iter().filter(own) {
                    // opened one at a time: a folder of many entries holds no more
                    if let Some(opened) = folder.open_file(name)? {
                        let entry = candidate(Kind::Content, name.clone(), at, &opened.meta, false);
                        listing.entries.push(entry);
                    }
                }
            }
            listing.add_folder(sha256, &prefixes);
        }
        if let Some(documents) = root.sub("documents")? {
            let names = documents.names()?;
            let at = listing.add_folder(documents, &names);
            let documents = &listing.folders[at];
            for name in names.iter().filter(|n| is_hex(n, 64)) {
                let Some(mut opened) = documents.open_file(name)? else {
                    continue;
                };
                // a header that cannot be read is of a damaged entry: it goes first
                let expired = dir::first_line(&mut opened, HEADER_MAX)
                    .ok()
                    .and_then(|line| serde_json::from_slice::<Header>(&line).ok())
                    .is_none_or(|h| {
                        !self.is_fresh(UNIX_EPOCH + Duration::from_millis(h.fetched_ms), now)
                    });
                let entry = candidate(Kind::Document, name.clone(), at, &opened.meta, expired);
                listing.entries.push(entry);
            }
        }
        if let Some(indexes) = root.sub(usage::FOLDER)? {
            let names = indexes.names()?;
            let at = listing.add_folder(indexes, &names);
            let indexes = &listing.folders[at];
            for name in names.iter().filter(|n| is_hex(n, 64)) {
                if let Some(opened) = indexes.open_file(name)? {
                    let entry = candidate(Kind::Usage, name.clone(), at, &opened.meta, false);
                    listing.entries.push(entry);
                }
            }
        }
        tokens::list(root, &mut listing)?;
        Ok(listing)
    }
}

impl Listing {
    /// Adds a folder whose names are `names`, noting its temps; its index.
    fn add_folder(&mut self, folder: Dir, names: &[OsString]) -> usize {
        let at = self.folders.len();
        self.folders.push(folder);
        for name in names.iter().filter(|n| dir::is_temp(n)) {
            self.temps.push((at, name.clone()));
        }
        at
    }
}

fn candidate(
    kind: Kind,
    name: OsString,
    folder: usize,
    meta: &std::fs::Metadata,
    expired: bool,
) -> evict::Candidate<Key> {
    evict::Candidate {
        key: Key { kind, name, folder },
        bytes: meta.len(),
        last_used: meta.modified().unwrap_or(UNIX_EPOCH),
        expired,
    }
}

/// Whether `name` is `len` lowercase hex digits.
fn is_hex(name: &std::ffi::OsStr, len: usize) -> bool {
    let bytes = name.as_encoded_bytes();
    bytes.len() == len && bytes.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The folder of the content entry `hex`: `content/sha256/<first two digits>`.
fn content_dir(root: &Dir, hex: &str, create: bool) -> Result<Option<Dir>, CacheError> {
    let prefix = &hex[..2];
    if create {
        let dir = root
            .sub_created("content")?
            .sub_created("sha256")?
            .sub_created(prefix)?;
        return Ok(Some(dir));
    }
    let Some(content) = root.sub("content")? else {
        return Ok(None);
    };
    let Some(sha256) = content.sub("sha256")? else {
        return Ok(None);
    };
    sha256.sub(prefix)
}

/// A document file's header and bytes, when it is whole and is `url`'s.
fn parse_document<'a>(file: &'a [u8], url: &str) -> Option<(Header, &'a [u8])> {
    let end = file.iter().position(|&b| b == b'\n')?;
    let header: Header = serde_json::from_slice(&file[..end]).ok()?;
    let body = &file[end + 1..];
    let whole =
        header.url == url && header.size == body.len() as u64 && header.sha256 == Digest::of(body);
    whole.then_some((header, body))
}

/// A hit is a use: the entry's modification time says when it was last used.
/// (Failing to touch it only makes it older for eviction.)
fn used(file: &std::fs::File) {
    let _ = file.set_modified(SystemTime::now());
}

/// What a folder is, as a cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    /// It has mpm's format file.
    Ours,
    /// Nothing in it yet but a lock file or temps.
    Empty,
}

fn check_format(dir: &Dir) -> Result<Found, CacheError> {
    match check_format_once(dir) {
        // another process made the folder a cache between the two looks
        Err(CacheError::NotACache(_)) if dir.read(FORMAT_FILE)?.is_some() => check_format_once(dir),
        found => found,
    }
}

fn check_format_once(dir: &Dir) -> Result<Found, CacheError> {
    if let Some(bytes) = dir.read(FORMAT_FILE)? {
        if bytes == FORMAT.as_bytes() {
            return Ok(Found::Ours);
        }
        let text = String::from_utf8_lossy(&bytes);
        let first: String = text
            .lines()
            .next()
            .unwrap_or_default()
            .chars()
            .take(40)
            .collect();
        return Err(CacheError::Format {
            dir: dir.path().to_path_buf(),
            found: crate::text::escaped(&first).into_owned(),
        });
    }
    let empty = dir
        .names()?
        .iter()
        .all(|n| n == LOCK_FILE || dir::is_temp(n));
    if empty {
        Ok(Found::Empty)
    } else {
        Err(CacheError::NotACache(dir.path().to_path_buf()))
    }
}

/// The counts so far; unreadable ones start again from zero (they are
/// statistics, and the next command's end writes them whole).
fn read_counts(root: &Dir) -> Result<Counts, CacheError> {
    Ok(root
        .read(STATS_FILE)?
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default())
}

/// Takes the lock file's lock, waiting up to [`LOCK_PATIENCE`].
fn lock(root: &Dir, mode: LockMode) -> Result<Lock, CacheError> {
    let file = root.open_lock_file(LOCK_FILE)?;
    let start = Instant::now();
    loop {
        let tried = match mode {
            LockMode::Shared => file.try_lock_shared(),
            LockMode::Exclusive => file.try_lock(),
        };
        match tried {
            Ok(()) => return Ok(Lock(file)),
            Err(std::fs::TryLockError::WouldBlock) if start.elapsed() < LOCK_PATIENCE => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(CacheError::Locked(root.path().to_path_buf()));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(CacheError::io("lock", root.path().join(LOCK_FILE), e));
            }
        }
    }
}

#[cfg(test)]
mod tests;
