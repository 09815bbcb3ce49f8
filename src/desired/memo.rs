//! The render memo: what each agent rendered to, keyed by the digest of everything
//! it is rendered from (its manifest entry, the defaults, the template's bytes, the
//! base template's, the `BASE_*.md` file the template picks, mpm's version). With
//! it, a plan whose inputs did not change reads and hashes them and renders
//! nothing: parsing, checking and rendering 10 000 templates was 60 % of a
//! no-change plan.
//!
//! It is a cache, not history: one file in the state folder (`render-memo.json`),
//! written by the apply that rendered, replaced atomically, never followed through
//! a link. A missing, unreadable or foreign (another mpm's) memo is an empty one;
//! a wrong entry cannot be hit, since its key is a digest of the inputs.

use crate::hash::{Digest, DigestMap};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "render-memo.json";
/// Bumped whenever rendering, or the file's shape, changes in a way the inputs do
/// not show.
const FORMAT: u32 = 2;

/// The `BASE_*.md` files a template looked for, in order, and the digest of the
/// one found (the last); `None`: no file there.
pub type Probed = Vec<(PathBuf, Option<Digest>)>;
/// [`Probed`], borrowed from the memo.
pub type ProbedRef<'a> = Vec<(&'a Path, Option<Digest>)>;

/// One agent as rendered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Memoized {
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The `BASE_*.md` files the template looked for, in order (by their place
    /// in the memo's path table), with the digest of the one found (the last): a
    /// hit needs the same answer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    probed: Vec<(u32, Option<Digest>)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The memo: its entries name the few `BASE_*.md` paths thousands of templates
/// probe through one table, so that the file and the memory hold each path once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Memo {
    paths: Vec<PathBuf>,
    index: HashMap<PathBuf, u32>,
    entries: DigestMap<Memoized>,
}

#[derive(Serialize, Deserialize)]
struct MemoFile {
    format: u32,
    mpm: String,
    paths: Vec<PathBuf>,
    entries: Vec<(Digest, Memoized)>,
}

/// The digest of a list of inputs (each length-prefixed, so that no two lists
/// run together into the same bytes).
pub fn key(parts: &[&[u8]]) -> Digest {
    let mut all = Vec::with_capacity(parts.iter().map(|p| p.len() + 8).sum::<usize>() + 16);
    all.extend_from_slice(&FORMAT.to_le_bytes());
    all.extend_from_slice(env!("CARGO_PKG_VERSION").as_bytes());
    for part in parts {
        all.extend_from_slice(&(part.len() as u64).to_le_bytes());
        all.extend_from_slice(part);
    }
    Digest::of(&all)
}

impl Memo {
    /// The entry for `key`, and the files it probed; `None` also when the memo's
    /// table lacks one of those (a damaged file: not a hit).
    pub fn get(&self, key: &Digest) -> Option<(&Memoized, ProbedRef<'_>)> {
        let hit = self.entries.get(key)?;
        let probed = hit
            .probed
            .iter()
            .map(|(i, d)| Some((self.paths.get(*i as usize)?.as_path(), *d)))
            .collect::<Option<_>>()?;
        Some((hit, probed))
    }

    /// Remembers what the inputs of `key` rendered to; the paths probed go into
    /// the table.
    pub fn insert(
        &mut self,
        key: Digest,
        digest: Digest,
        size: u64,
        version: Option<String>,
        probed: Probed,
        warnings: Vec<String>,
    ) {
        if self.index.len() < self.paths.len() {
            self.index = (0u32..)
                .zip(&self.paths)
                .map(|(i, p)| (p.clone(), i))
                .collect();
        }
        let probed = probed
            .into_iter()
            .map(|(path, d)| {
                let next = self.paths.len() as u32;
                let i = *self.index.entry(path).or_insert_with_key(|path| {
                    self.paths.push(path.clone());
                    next
                });
                (i, d)
            })
            .collect();
        let value = Memoized {
            digest,
            size,
            version,
            probed,
            warnings,
        };
        self.entries.insert(key, value);
    }

    /// Keeps only the entries `keep` says yes to (and gives back the room of
    /// the others: a plan that changed every agent held both).
    pub fn retain(&mut self, mut keep: impl FnMut(&Digest) -> bool) {
        self.entries.retain(|k, _| keep(k));
        self.entries.shrink_to_fit();
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The memo in `state_dir`; empty when there is none or it cannot be used.
    pub fn read(state_dir: &Path) -> Memo {
        let read = crate::system::read_no_follow(&state_dir.join(FILE_NAME));
        let Ok(memo) = read
            .map_err(drop)
            .and_then(|bytes| serde_json::from_slice::<MemoFile>(&bytes).map_err(drop))
        else {
            return Memo::default();
        };
        if memo.format != FORMAT || memo.mpm != env!("CARGO_PKG_VERSION") {
            return Memo::default();
        }
        Memo {
            paths: memo.paths,
            index: HashMap::new(),
            entries: memo.entries.into_iter().collect(),
        }
    }

    /// The memo file's bytes (sorted, and only the paths its entries use, so that
    /// the same memo gives the same bytes).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        // writing to memory fails only with memory itself
        let _ = self.write_to(&mut bytes);
        bytes
    }

    /// Writes the memo file's bytes (see [`Memo::to_bytes`]) to `out`.
    fn write_to(&self, out: impl std::io::Write) -> std::io::Result<()> {
        /// An entry as written: its probed paths renumbered to the table written.
        struct Renumbered<'a>(&'a Memoized, &'a HashMap<u32, u32>);
        impl Serialize for Renumbered<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let Renumbered(entry, table) = self;
                let probed = entry
                    .probed
                    .iter()
                    .map(|(i, d)| (table.get(i).copied().unwrap_or(*i), *d));
                Memoized {
                    probed: probed.collect(),
                    ..Memoized::clone(entry)
                }
                .serialize(s)
            }
        }
        #[derive(Serialize)]
        struct MemoFileRef<'a> {
            format: u32,
            mpm: &'a str,
            paths: Vec<&'a Path>,
            entries: Vec<(&'a Digest, Renumbered<'a>)>,
        }
        let mut sorted: Vec<(&Digest, &Memoized)> = self.entries.iter().collect();
        sorted.sort_unstable_by_key(|(k, _)| **k);
        let mut table: HashMap<u32, u32> = HashMap::new();
        let mut paths = Vec::new();
        for (_, entry) in &sorted {
            for (i, _) in &entry.probed {
                if let Some(path) = self.paths.get(*i as usize) {
                    table.entry(*i).or_insert_with(|| {
                        paths.push(path.as_path());
                        paths.len() as u32 - 1
                    });
                }
            }
        }
        let file = MemoFileRef {
            format: FORMAT,
            mpm: env!("CARGO_PKG_VERSION"),
            paths,
            entries: sorted
                .into_iter()
                .map(|(k, v)| (k, Renumbered(v, &table)))
                .collect(),
        };
        let mut out = std::io::BufWriter::with_capacity(1 << 16, out);
        serde_json::to_writer(&mut out, &file)?;
        std::io::Write::flush(&mut out)
    }

    /// Writes the memo aside, to a file in `state_dir` that has no name, while an
    /// apply writes its files: neither the memo nor its bytes are held meanwhile
    /// (10 000 agents: 2 MB), and a run that fails or is killed leaves nothing of
    /// it.
    pub fn set_aside(&self, state_dir: &Path) -> std::io::Result<Aside> {
        let mut file = tempfile::tempfile_in(state_dir)?;
        self.write_to(&mut file)?;
        Ok(Aside(file))
    }

    /// Replaces the memo in `state_dir` (which exists) atomically with `bytes`.
    fn write_bytes(bytes: Vec<u8>, state_dir: &Path) -> std::io::Result<()> {
        crate::system::write_file_atomically(&state_dir.join(FILE_NAME), bytes)
    }

    /// Replaces the memo in `state_dir` (which exists) atomically.
    pub fn write(&self, state_dir: &Path) -> std::io::Result<()> {
        Memo::write_bytes(self.to_bytes(), state_dir)
    }
}

/// A memo written aside by [`Memo::set_aside`].
pub struct Aside(std::fs::File);

impl Aside {
    /// Replaces the memo in `state_dir` with this one, atomically.
    pub fn keep(mut self, state_dir: &Path) -> std::io::Result<()> {
        use std::io::{Read, Seek};
        self.0.seek(std::io::SeekFrom::Start(0))?;
        let mut bytes = Vec::new();
        self.0.read_to_end(&mut bytes)?;
        Memo::write_bytes(bytes, state_dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_differ_when_any_input_does_and_parts_never_run_together() {
        assert_eq!(key(&[b"a", b"b"]), key(&[b"a", b"b"]));
        assert_ne!(key(&[b"a", b"b"]), key(&[b"a", b"c"]));
        assert_ne!(key(&[b"ab", b""]), key(&[b"a", b"b"]));
    }

    #[test]
    fn a_memo_round_trips_and_a_broken_one_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let mut memo = Memo::default();
        for name in ["qa", "ops"] {
            let probed = vec![
                (dir.path().join("BASE_QA.md"), None),
                (
                    dir.path().join(format!("BASE_{name}.md")),
                    Some(Digest::of(b"base")),
                ),
            ];
            memo.insert(
                key(&[name.as_bytes()]),
                Digest::of(name.as_bytes()),
                2,
                Some("1.0.0".into()),
                probed.clone(),
                vec![],
            );
            let (_, found) = memo.get(&key(&[name.as_bytes()])).unwrap();
            let found: Probed = found
                .into_iter()
                .map(|(p, d)| (p.to_path_buf(), d))
                .collect();
            assert_eq!(found, probed);
        }
        // three paths in the table, each once
        assert_eq!(memo.paths.len(), 3);
        memo.write(dir.path()).unwrap();
        let read = Memo::read(dir.path());
        assert_eq!(read.to_bytes(), memo.to_bytes());
        for name in ["qa", "ops"] {
            let k = key(&[name.as_bytes()]);
            assert_eq!(read.get(&k), memo.get(&k));
        }
        // an entry naming a path the table lacks is no hit
        let mut damaged = memo.clone();
        damaged.paths.truncate(1);
        assert!(damaged.get(&key(&[b"ops"])).is_none());
        std::fs::write(dir.path().join(FILE_NAME), "{").unwrap();
        assert!(Memo::read(dir.path()).is_empty());
    }

    #[test]
    fn a_memo_set_aside_leaves_no_file_until_it_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut memo = Memo::default();
        memo.insert(key(&[b"qa"]), Digest::of(b"qa"), 2, None, vec![], vec![]);
        let aside = memo.set_aside(dir.path()).unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        aside.keep(dir.path()).unwrap();
        let kept = std::fs::read(dir.path().join(FILE_NAME)).unwrap();
        assert_eq!(kept, memo.to_bytes());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
