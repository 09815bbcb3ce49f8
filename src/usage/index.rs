//! The incremental index of one config dir's transcripts, kept in mpm's cache
//! (`usage/<sha256 of the config dir's canonical path>`), so that a report or the
//! budget hook reads only what was appended since the last run.
//!
//! Per transcript it keeps its identity (device and inode), the length read so far
//! (up to the end of its last complete line), its modification time, its agent and
//! session, the requests it recorded (dedup key, time, model, tokens: 8 bytes of
//! key, not the ids) and its last `cost-state`. Prices are applied when a report is
//! made, so a changed price table never makes the index wrong.
//!
//! On each run every transcript is looked at (`stat`): one whose device, inode,
//! length, modification and change times are all as they were is not opened; one
//! that grew is read from where the last read stopped, once the last 4 KiB read
//! before (the [`TAIL`]) are checked to be the same bytes (else it was rewritten
//! in place: read again whole); one that shrank, changed identity, or changed
//! without growing is read again whole; one that is gone drops out. The change
//! time (`ctime`, which no one can set back, unlike `mtime` with `cp -p`) catches a
//! rewrite of the same length; checking the tail costs one read the append needs
//! anyway, so the hook pays nothing for it on files that did not change. An index that
//! is missing, unreadable, of another version or damaged (its header's length and
//! SHA-256 do not match) is rebuilt from the transcripts, never trusted.
//!
//! The file: one header line of JSON (`format`, `version`, `config_dir`, `length`
//! and `sha256` of the rest), then the entries as JSON.

use crate::cache::Cache;
use crate::hash::Digest;
use crate::usage::transcript::{self, CostState, Found, Request};
use crate::usage::{Tokens, UsageError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

const FORMAT: &str = "mpm-usage-index";
/// Bumped whenever what an entry holds changes.
pub const VERSION: u32 = 2;

/// How much of what was read before an append is checked to be unchanged.
pub const TAIL: u64 = 4096;

/// One transcript, as far as it was read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    pub dev: u64,
    pub ino: u64,
    /// Bytes read: up to the end of the last complete line.
    pub read: u64,
    /// The modification time when it was read, in nanoseconds since the epoch.
    pub mtime_ns: i64,
    /// The change time when it was read, in nanoseconds since the epoch.
    pub ctime_ns: i64,
    /// The SHA-256 of the last [`TAIL`] bytes (or fewer) before `read`.
    pub tail: Digest,
    pub agent: String,
    /// The models its requests name; a request holds an index into this.
    pub models: Vec<String>,
    /// (key, time in ms, model, input, output, cache write, cache read).
    pub requests: Vec<Row>,
    pub cost_state: Option<CostState>,
    /// Lines skipped because they are not JSON.
    pub malformed: u64,
}

/// A request as the index keeps it.
pub type Row = (Option<u64>, i64, u32, u64, u64, u64, u64);

impl FileEntry {
    /// Its requests, with their models' names.
    pub fn requests(&self) -> impl Iterator<Item = (Option<u64>, i64, &str, Tokens)> {
        self.requests.iter().map(
            |&(key, ts, model, input, output, cache_write, cache_read)| {
                let model = self.models.get(model as usize).map_or("(no model)", |m| m);
                let tokens = Tokens {
                    input,
                    output,
                    cache_write,
                    cache_read,
                };
                (key, ts, model, tokens)
            },
        )
    }

    fn add(&mut self, parsed: transcript::Parsed) {
        for Request {
            key,
            ts_ms,
            model,
            tokens,
        } in parsed.requests
        {
            let at = match self.models.iter().position(|m| *m == model) {
                Some(at) => at,
                None => {
                    self.models.push(model);
                    self.models.len() - 1
                }
            };
            self.requests.push((
                key,
                ts_ms,
                u32::try_from(at).unwrap_or(u32::MAX),
                tokens.input,
                tokens.output,
                tokens.cache_write,
                tokens.cache_read,
            ));
        }
        if parsed.cost_state.is_some() {
            self.cost_state = parsed.cost_state;
        }
        self.malformed += parsed.malformed;
        self.read += parsed.consumed as u64;
    }
}

/// Every transcript of a config dir, by path under `projects/`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Index {
    pub files: BTreeMap<String, FileEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    format: String,
    version: u32,
    config_dir: String,
    length: u64,
    sha256: Digest,
}

/// What a run did to bring the index up to date.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Refresh {
    /// An index was found in the cache and used.
    pub reused: bool,
    /// One was there but could not be trusted (damaged, another version).
    pub rebuilt: bool,
    /// Transcripts now in the index.
    pub files: u64,
    /// Read whole (new, shrunk, replaced).
    pub files_read: u64,
    /// Read from where the last run stopped.
    pub files_appended: u64,
    /// Bytes of transcripts read in this run, beyond what earlier runs read (the
    /// tail checked before an append is not counted).
    pub bytes_read: u64,
    /// Transcripts that ended with a line still being written.
    pub partial_lines: u64,
    /// The index was written back to the cache.
    pub saved: bool,
}

/// The cache entry's name for `config_dir` (its canonical path).
pub fn name_of(canonical: &Path) -> String {
    Digest::of(canonical.as_os_str().as_encoded_bytes()).hex()
}

/// The index of `config_dir` brought up to date with its transcripts: read from the
/// cache (when it is enabled and `use_cache`), updated by reading only what
/// changed, and written back when anything did.
pub fn refresh(
    config_dir: &Path,
    cache: &Cache,
    use_cache: bool,
) -> Result<(Index, Refresh), UsageError> {
    let use_cache = use_cache && cache.is_enabled();
    // one index per directory, whichever link or `..` named it
    let canonical = config_dir
        .canonicalize()
        .unwrap_or_else(|_| config_dir.to_path_buf());
    let name = name_of(&canonical);
    let mut stats = Refresh::default();
    let mut old = Index::default();
    if use_cache {
        // a cache that cannot be read is rebuilt from the transcripts
        if let Ok(Some(bytes)) = cache.usage_index(&name) {
            match decode(&bytes, &canonical) {
                Some(index) => {
                    old = index;
                    stats.reused = true;
                }
                None => stats.rebuilt = true,
            }
        }
    }
    let found = transcript::find(config_dir)?;
    let mut index = Index::default();
    let mut changed = stats.rebuilt || old.files.len() != found.len();
    let mut buffer = Vec::new();
    for file in found {
        let previous = old.files.remove(&file.rel);
        let (entry, updated) = update(previous, &file, &mut buffer, &mut stats)?;
        changed |= updated;
        index.files.insert(file.rel, entry);
    }
    stats.files = index.files.len() as u64;
    if use_cache && changed {
        // a cache that cannot be written costs the next run a full read, no more
        stats.saved = cache
            .put_usage_index(&name, &encode(&index, &canonical))
            .is_ok();
    }
    Ok((index, stats))
}

/// One transcript's entry, read as far as needed, and whether it changed.
fn update(
    previous: Option<FileEntry>,
    file: &Found,
    buffer: &mut Vec<u8>,
    stats: &mut Refresh,
) -> Result<(FileEntry, bool), UsageError> {
    let meta = &file.meta;
    let ns = |s: i64, n: i64| s.saturating_mul(1_000_000_000).saturating_add(n);
    let mtime_ns = ns(meta.mtime(), meta.mtime_nsec());
    let ctime_ns = ns(meta.ctime(), meta.ctime_nsec());
    let same_file = |e: &FileEntry| e.dev == meta.dev() && e.ino == meta.ino();
    let unchanged = |e: &FileEntry| {
        same_file(e) && meta.len() == e.read && e.mtime_ns == mtime_ns && e.ctime_ns == ctime_ns
    };
    let mut whole = false;
    // where `buffer` starts in the file
    let mut start = 0;
    let mut entry = match previous {
        Some(e) if same_file(&e) && meta.len() > e.read && tail_intact(&file.path, &e, buffer)? => {
            stats.files_appended += 1;
            start = e.read - e.read.min(TAIL);
            e
        }
        Some(mut e) if unchanged(&e) => {
            let mut changed = false;
            if e.agent == transcript::UNKNOWN_AGENT {
                // its meta file may have come since
                e.agent = transcript::agent_of(&file.rel, &file.path);
                changed = e.agent != transcript::UNKNOWN_AGENT;
            }
            return Ok((e, changed));
        }
        _ => {
            stats.files_read += 1;
            whole = true;
            FileEntry {
                dev: meta.dev(),
                ino: meta.ino(),
                read: 0,
                mtime_ns,
                ctime_ns,
                tail: Digest::of(b""),
                agent: transcript::agent_of(&file.rel, &file.path),
                models: Vec::new(),
                requests: Vec::new(),
                cost_state: None,
                malformed: 0,
            }
        }
    };
    if whole {
        read_from(&file.path, 0, buffer)?;
    }
    let new = usize::try_from(entry.read - start).unwrap_or(usize::MAX);
    // (the tail checked again is not new)
    stats.bytes_read += buffer.len().saturating_sub(new) as u64;
    let parsed = transcript::parse(buffer.get(new..).unwrap_or_default());
    if parsed.partial {
        stats.partial_lines += 1;
    }
    // only a line still being written, as last time: nothing to keep but the times
    let changed =
        whole || parsed.consumed > 0 || entry.mtime_ns != mtime_ns || entry.ctime_ns != ctime_ns;
    entry.add(parsed);
    let end = usize::try_from(entry.read - start).unwrap_or(usize::MAX);
    let tail = end.saturating_sub(TAIL as usize);
    entry.tail = Digest::of(buffer.get(tail..end).unwrap_or_default());
    entry.mtime_ns = mtime_ns;
    entry.ctime_ns = ctime_ns;
    if entry.agent == transcript::UNKNOWN_AGENT {
        entry.agent = transcript::agent_of(&file.rel, &file.path);
    }
    Ok((entry, changed))
}

/// Whether the bytes of `path` that `entry` read last are still there: its tail
/// is the same. `buffer` then holds the file from the tail on.
fn tail_intact(path: &Path, entry: &FileEntry, buffer: &mut Vec<u8>) -> Result<bool, UsageError> {
    let back = entry.read.min(TAIL);
    read_from(path, entry.read - back, buffer)?;
    let back = usize::try_from(back).unwrap_or(usize::MAX);
    Ok(buffer
        .get(..back)
        .is_some_and(|tail| Digest::of(tail) == entry.tail))
}

/// The bytes of `path` from `offset` to its end, into `buffer`. A link is never
/// followed (`O_NOFOLLOW`).
fn read_from(path: &Path, offset: u64, buffer: &mut Vec<u8>) -> Result<(), UsageError> {
    use std::io::{Read, Seek, SeekFrom};
    use std::os::unix::fs::OpenOptionsExt;
    buffer.clear();
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| UsageError::io("read", path.to_path_buf(), e))?;
    file.seek(SeekFrom::Start(offset))
        .and_then(|_| file.read_to_end(buffer))
        .map_err(|e| UsageError::io("read", path.to_path_buf(), e))?;
    Ok(())
}

/// The index as the cache keeps it.
pub fn encode(index: &Index, config_dir: &Path) -> Vec<u8> {
    let body = serde_json::to_vec(index).unwrap_or_default();
    let header = Header {
        format: FORMAT.into(),
        version: VERSION,
        config_dir: config_dir.display().to_string(),
        length: body.len() as u64,
        sha256: Digest::of(&body),
    };
    let mut out = serde_json::to_vec(&header).unwrap_or_default();
    out.push(b'\n');
    out.extend_from_slice(&body);
    out
}

/// The index in `bytes`, when it is whole, of this version and of `config_dir`.
pub fn decode(bytes: &[u8], config_dir: &Path) -> Option<Index> {
    let end = bytes.iter().position(|&b| b == b'\n')?;
    let header: Header = serde_json::from_slice(&bytes[..end]).ok()?;
    let body = &bytes[end + 1..];
    let trusted = header.format == FORMAT
        && header.version == VERSION
        && header.config_dir == config_dir.display().to_string()
        && header.length == body.len() as u64
        && header.sha256 == Digest::of(body);
    if !trusted {
        return None;
    }
    serde_json::from_slice(body).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> FileEntry {
        FileEntry {
            dev: 1,
            ino: 2,
            read: 10,
            mtime_ns: 3,
            ctime_ns: 4,
            tail: Digest::of(b"x"),
            agent: "main".into(),
            models: vec!["m".into()],
            requests: vec![(Some(7), 1000, 0, 1, 2, 3, 4)],
            cost_state: None,
            malformed: 0,
        }
    }

    #[test]
    fn an_index_round_trips_and_a_damaged_one_is_refused() {
        let mut index = Index::default();
        index.files.insert("a.jsonl".into(), entry());
        let dir = Path::new("/cfg");
        let bytes = encode(&index, dir);
        assert_eq!(decode(&bytes, dir), Some(index));
        let mut damaged = bytes.clone();
        let last = damaged.len() - 3;
        damaged[last] ^= 1;
        assert_eq!(decode(&damaged, dir), None);
        assert_eq!(decode(&bytes[..bytes.len() - 1], dir), None);
        assert_eq!(decode(&bytes, Path::new("/other")), None);
        assert_eq!(decode(b"garbage", dir), None);
        // another version's index is not read, however whole
        let text = String::from_utf8(bytes.clone()).unwrap();
        let other = text.replacen(&format!("\"version\":{VERSION}"), "\"version\":999", 1);
        assert_ne!(other, text);
        assert_eq!(decode(other.as_bytes(), dir), None);
    }

    fn line(id: &str, input: u64) -> String {
        format!(
            r#"{{"type":"assistant","timestamp":"2026-12-02T10:00:00.000Z","requestId":"{id}","message":{{"id":"{id}","model":"claude-opus-5-5","usage":{{"input_tokens":{input},"output_tokens":0}}}}}}"#
        ) + "\n"
    }

    fn inputs(dir: &Path, cache: &Cache) -> (Vec<u64>, Refresh) {
        let (index, refresh) = refresh(dir, cache, true).unwrap();
        let entry = &index.files["p/s.jsonl"];
        (entry.requests().map(|r| r.3.input).collect(), refresh)
    }

    #[test]
    fn a_transcript_rewritten_in_place_is_read_again_whole() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("cfg");
        std::fs::create_dir_all(cfg.join("projects/p")).unwrap();
        let path = cfg.join("projects/p/s.jsonl");
        let cache = Cache::at(dir.path().join("cache"), Default::default());
        std::fs::write(&path, line("a", 1000)).unwrap();
        assert_eq!(inputs(&cfg, &cache).0, vec![1000]);
        // appended: only the new line is read
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, line("b", 5).as_bytes()))
            .unwrap();
        let (found, refresh) = inputs(&cfg, &cache);
        assert_eq!((found, refresh.files_appended), (vec![1000, 5], 1));
        // the same inode rewritten longer: the old prefix is gone
        std::fs::write(&path, format!("{}{}", line("c", 50), line("d", 6000))).unwrap();
        let (found, refresh) = inputs(&cfg, &cache);
        assert_eq!((found, refresh.files_read), (vec![50, 6000], 1));
        // the same length and its modification time set back (`cp -p`)
        let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
        std::fs::write(&path, format!("{}{}", line("e", 70), line("f", 8000))).unwrap();
        std::fs::File::options()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_modified(modified))
            .unwrap();
        assert_eq!(inputs(&cfg, &cache).0, vec![70, 8000]);
        // nothing changed: nothing read
        let (found, refresh) = inputs(&cfg, &cache);
        assert_eq!((found, refresh.bytes_read), (vec![70, 8000], 0));
    }
}
