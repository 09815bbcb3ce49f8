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
        super::refuse_link(&packs)?;
        fs_err::create_dir_all(&packs)?;
        let path = pack_path(dir, pack);
        super::refuse_link(&path)?;
        // exclusive: never over an existing file, never through a link
        let file = fs_err::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)?;
        let file = std::io::BufWriter::with_capacity(1 << 16, file);
        Ok(PackWriter {
            packs,
            path,
            file,
            index: Vec::new(),
            offset: 0,
        })
    }

    /// Appends a blob; returns where in the pack it starts.
    pub fn add(&mut self, digest: Digest, bytes: &[u8]) -> Result<u64, StateError> {
        self.file.write_all(bytes)?;
        let offset = self.offset;
        self.index.push(Slot {
            digest,
            offset,
            len: bytes.len() as u64,
        });
        self.offset += bytes.len() as u64;
        Ok(offset)
    }

    /// Appends the bytes `write` gives, digested as they are written (a large
    /// value is never held whole), unless `known` says the state log has them
    /// already: then they are cut off again. Returns their digest, and when
    /// appended, where in the pack they start and their length.
    pub fn add_streamed(
        &mut self,
        write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
        known: impl FnOnce(&Digest) -> bool,
    ) -> Result<(Digest, Option<(u64, u64)>), StateError> {
        // in large pieces: a digest over many small writes is slow
        let digesting = crate::hash::DigestWriter::new(&mut self.file);
        let mut out = std::io::BufWriter::with_capacity(1 << 16, digesting);
        write(&mut out)?;
        let (digest, len) = out.into_inner().map_err(|e| e.into_error())?.finish();
        let offset = self.offset;
        if known(&digest) {
            use std::io::Seek;
            self.file.flush()?;
            let file = self.file.get_mut();
            file.set_len(offset)?;
            file.seek(std::io::SeekFrom::Start(offset))?;
            return Ok((digest, None));
        }
        self.index.push(Slot {
            digest,
            offset,
            len,
        });
        self.offset += len;
        Ok((digest, Some((offset, len))))
    }

    /// Removes the pack (an apply that stopped before indexing it).
    pub fn discard(self) {
        drop(self.file);
        let _ = std::fs::remove_file(&self.path);
    }

    /// Flushes and fsyncs the pack and its directory; an empty pack is removed.
    pub fn finish(self) -> Result<PackIndex, StateError> {
        let path = self.path.clone();
        let durable = (|| {
            let file = self.file.into_inner().map_err(|e| e.into_error())?;
            if self.index.is_empty() {
                drop(file);
                fs_err::remove_file(&self.path)?;
                return Ok(self.index);
            }
            file.sync_all()?;
            fs_err::File::open(&self.packs)?.sync_all()?;
            Ok(self.index)
        })();
        if durable.is_err() {
            let _ = std::fs::remove_file(&path);
        }
        durable
    }
}

/// Reads one blob from an open pack and checks it is what its digest says; the
/// error says what is wrong with the pack.
pub fn read_slot(file: &std::fs::File, slot: &Slot) -> Result<Vec<u8>, String> {
    use std::os::unix::fs::FileExt;
    let mut bytes = vec![0; usize::try_from(slot.len).unwrap_or(0)];
    file.read_exact_at(&mut bytes, slot.offset)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => "is cut short".to_string(),
            _ => format!("cannot be read: {e}"),
        })?;
    if Digest::of(&bytes) != slot.digest {
        return Err("holds other bytes than its index says".into());
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
        if entry.file_type().is_ok_and(|t| t.is_symlink()) {
            return Err(StateError::Link(entry.path()));
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_streamed_blob_is_indexed_where_it_lands_and_one_known_is_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        let mut pack = PackWriter::create(dir.path(), 1).unwrap();
        pack.add(Digest::of(b"first"), b"first").unwrap();
        let streamed = |bytes: &'static [u8]| move |out: &mut dyn Write| out.write_all(bytes);
        let (digest, at) = pack
            .add_streamed(streamed(b"known"), |d| *d == Digest::of(b"known"))
            .unwrap();
        assert_eq!((digest, at), (Digest::of(b"known"), None));
        let (digest, at) = pack.add_streamed(streamed(b"second"), |_| false).unwrap();
        assert_eq!((digest, at), (Digest::of(b"second"), Some((5, 6))));
        let index = pack.finish().unwrap();
        let file = std::fs::File::open(pack_path(dir.path(), 1)).unwrap();
        assert_eq!(file.metadata().unwrap().len(), 11);
        let read: Vec<Vec<u8>> = index.iter().map(|s| read_slot(&file, s).unwrap()).collect();
        assert_eq!(read, [b"first".to_vec(), b"second".to_vec()]);
    }
}
