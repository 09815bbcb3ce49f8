//! Content-addressed blobs: the bytes of every file version mpm wrote and every
//! pre-image it replaced, appended to pack files (`<state dir>/packs/<n>.pack`), one
//! per apply, with one index value per pack in sled's `blobs` tree.
//!
//! Thousands of small values in sled cost several times their size in memory; one
//! sequential file per apply costs one write and one fsync. A pack is durable
//! (fsynced, its directory fsynced) before its index is recorded, and the index is
//! flushed before any target file is touched. A pack without an index (a run killed
//! in between) is garbage and is removed by the next writer.

use super::StateError;
use crate::hash::Digest;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

pub const PACK_DIR: &str = "packs";

/// Where one blob is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    pub digest: Digest,
    pub offset: u64,
    pub len: u64,
}

/// The index of one pack file.
pub type PackIndex = Vec<Slot>;

pub fn pack_path(dir: &Path, pack: u64) -> PathBuf {
    dir.join(PACK_DIR).join(format!("{pack}.pack"))
}

/// A pack file being written; durable once [`PackWriter::finish`] returns.
pub struct PackWriter {
    packs: PathBuf,
    path: PathBuf,
    file: std::io::BufWriter<fs_err::File>,
    index: PackIndex,
    offset: u64,
}

impl PackWriter {
    pub fn create(dir: &Path, pack: u64) -> Result<PackWriter, StateError> {
        let packs = dir.join(PACK_DIR);
        fs_err::create_dir_all(&packs)?;
        let path = pack_path(dir, pack);
        let file = std::io::BufWriter::with_capacity(1 << 16, fs_err::File::create(&path)?);
        Ok(PackWriter {
            packs,
            path,
            file,
            index: Vec::new(),
            offset: 0,
        })
    }

    pub fn add(&mut self, digest: Digest, bytes: &[u8]) -> Result<(), StateError> {
        self.file.write_all(bytes)?;
        self.index.push(Slot {
            digest,
            offset: self.offset,
            len: bytes.len() as u64,
        });
        self.offset += bytes.len() as u64;
        Ok(())
    }

    /// Flushes and fsyncs the pack and its directory; an empty pack is removed.
    pub fn finish(self) -> Result<PackIndex, StateError> {
        let file = self.file.into_inner().map_err(|e| e.into_error())?;
        if self.index.is_empty() {
            drop(file);
            fs_err::remove_file(&self.path)?;
            return Ok(self.index);
        }
        file.sync_all()?;
        fs_err::File::open(&self.packs)?.sync_all()?;
        Ok(self.index)
    }
}

/// Reads one blob from an open pack and checks it is what its digest says.
pub fn read_slot(file: &std::fs::File, path: &Path, slot: &Slot) -> Result<Vec<u8>, StateError> {
    use std::os::unix::fs::FileExt;
    let mut bytes = vec![0; usize::try_from(slot.len).unwrap_or(0)];
    file.read_exact_at(&mut bytes, slot.offset).map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("failed to read `{}`: {e}", path.display()),
        )
    })?;
    if Digest::of(&bytes) != slot.digest {
        return Err(StateError::Corrupt {
            dir: path.to_path_buf(),
            detail: format!("blob {} does not match its digest", slot.digest.short()),
        });
    }
    Ok(bytes)
}

/// Removes pack files that no index names (left by a run killed before its index
/// was recorded).
pub fn remove_orphans(dir: &Path, indexed: &BTreeSet<u64>) -> Result<(), StateError> {
    let Ok(entries) = std::fs::read_dir(dir.join(PACK_DIR)) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let id = name
            .strip_suffix(".pack")
            .and_then(|n| n.parse::<u64>().ok());
        if id.is_some_and(|id| !indexed.contains(&id)) {
            fs_err::remove_file(entry.path())?;
        }
    }
    Ok(())
}

/// Every blob by digest, as (pack, slot).
pub fn locate_all<'a>(
    indexes: impl IntoIterator<Item = (u64, &'a PackIndex)>,
) -> HashMap<Digest, (u64, Slot)> {
    let mut all = HashMap::new();
    for (pack, index) in indexes {
        for slot in index {
            all.entry(slot.digest).or_insert((pack, *slot));
        }
    }
    all
}
