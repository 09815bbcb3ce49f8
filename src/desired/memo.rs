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

use crate::hash::Digest;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "render-memo.json";
/// Bumped whenever rendering changes in a way the inputs do not show.
const FORMAT: u32 = 1;

/// The `BASE_*.md` files a template looked for, in order, and the digest of the
/// one found (the last); `None`: no file there.
pub type Probed = Vec<(PathBuf, Option<Digest>)>;

/// One agent as rendered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Memoized {
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The `BASE_*.md` files the template looked for, in order, with the digest
    /// of the one found (the last): a hit needs the same answer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub probed: Probed,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Memo {
    entries: HashMap<Digest, Memoized>,
}

#[derive(Serialize, Deserialize)]
struct MemoFile {
    format: u32,
    mpm: String,
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
    pub fn get(&self, key: &Digest) -> Option<&Memoized> {
        self.entries.get(key)
    }

    pub fn insert(&mut self, key: Digest, value: Memoized) {
        self.entries.insert(key, value);
    }

    /// Keeps only the entries `keep` says yes to.
    pub fn retain(&mut self, mut keep: impl FnMut(&Digest) -> bool) {
        self.entries.retain(|k, _| keep(k));
    }

    /// Adds every entry of `other`.
    pub fn extend(&mut self, other: Memo) {
        self.entries.extend(other.entries);
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The memo in `state_dir`; empty when there is none or it cannot be used.
    pub fn read(state_dir: &Path) -> Memo {
        use std::io::Read;
        let path = state_dir.join(FILE_NAME);
        let mut bytes = Vec::new();
        let read = crate::system::open_no_follow(&path).and_then(|mut f| f.read_to_end(&mut bytes));
        let Ok(memo) = read
            .map_err(drop)
            .and_then(|_| serde_json::from_slice::<MemoFile>(&bytes).map_err(drop))
        else {
            return Memo::default();
        };
        if memo.format != FORMAT || memo.mpm != env!("CARGO_PKG_VERSION") {
            return Memo::default();
        }
        Memo {
            entries: memo.entries.into_iter().collect(),
        }
    }

    /// The memo file's bytes (sorted, so that the same memo gives the same bytes).
    pub fn to_bytes(&self) -> Vec<u8> {
        #[derive(Serialize)]
        struct MemoFileRef<'a> {
            format: u32,
            mpm: &'a str,
            entries: Vec<(&'a Digest, &'a Memoized)>,
        }
        let mut entries: Vec<(&Digest, &Memoized)> = self.entries.iter().collect();
        entries.sort_by_key(|(k, _)| **k);
        let file = MemoFileRef {
            format: FORMAT,
            mpm: env!("CARGO_PKG_VERSION"),
            entries,
        };
        serde_json::to_vec(&file).unwrap_or_default()
    }

    /// Replaces the memo in `state_dir` (which exists) atomically with `bytes`.
    pub fn write_bytes(bytes: &[u8], state_dir: &Path) -> std::io::Result<()> {
        crate::system::write_file_atomically(&state_dir.join(FILE_NAME), bytes)
    }

    /// Replaces the memo in `state_dir` (which exists) atomically.
    pub fn write(&self, state_dir: &Path) -> std::io::Result<()> {
        Memo::write_bytes(&self.to_bytes(), state_dir)
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
        memo.insert(
            key(&[b"qa"]),
            Memoized {
                digest: Digest::of(b"qa"),
                size: 2,
                version: Some("1.0.0".into()),
                probed: vec![(dir.path().join("BASE_QA.md"), None)],
                warnings: vec![],
            },
        );
        memo.write(dir.path()).unwrap();
        assert_eq!(Memo::read(dir.path()), memo);
        std::fs::write(dir.path().join(FILE_NAME), "{").unwrap();
        assert!(Memo::read(dir.path()).is_empty());
    }
}
