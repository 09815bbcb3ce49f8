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
use std::io::{Read, Seek, SeekFrom, Write};
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

/// Writes `blobs` to a new pack file, durably, and returns its index.
pub fn write_pack<'a>(
    dir: &Path,
    pack: u64,
    blobs: impl IntoIterator<Item = (Digest, &'a [u8])>,
) -> Result<PackIndex, StateError> {
    let packs = dir.join(PACK_DIR);
    fs_err::create_dir_all(&packs)?;
    let path = pack_path(dir, pack);
    let mut file = std::io::BufWriter::with_capacity(1 << 16, fs_err::File::create(&path)?);
    let mut index = Vec::new();
    let mut offset = 0u64;
    for (digest, bytes) in blobs {
        file.write_all(bytes)?;
        index.push(Slot {
            digest,
            offset,
            len: bytes.len() as u64,
        });
        offset += bytes.len() as u64;
    }
    let file = file.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    fs_err::File::open(&packs)?.sync_all()?;
    Ok(index)
}

/// Reads one blob and checks it is what its digest says.
pub fn read_slot(dir: &Path, pack: u64, slot: &Slot) -> Result<Vec<u8>, StateError> {
    let path = pack_path(dir, pack);
    let mut file = fs_err::File::open(&path)?;
    file.seek(SeekFrom::Start(slot.offset))?;
    let mut bytes = vec![0; usize::try_from(slot.len).unwrap_or(0)];
    file.read_exact(&mut bytes)?;
    if Digest::of(&bytes) != slot.digest {
        return Err(StateError::Corrupt {
            dir: dir.to_path_buf(),
            detail: format!(
                "blob {} in `{}` does not match its digest",
                slot.digest.short(),
                path.display()
            ),
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
