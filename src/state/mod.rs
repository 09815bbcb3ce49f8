//! The state log: one sled database per target, in `<target>/.mpm/` (or
//! `--state-dir`), opened only under the target's lock.
//!
//! Trees: `generations` (id → [`Generation`]), `entries` (id → every managed path
//! with its [`Entry`] right after that generation; the current generation's are the
//! last applied), `blobs` (pack → the index of a pack of content-addressed bytes, see
//! [`packs`]) and `meta` (format version, lineage, serial, current generation, the
//! pending generation). An apply writes a handful of values however many agents it
//! touches: sled's memory grows with every key written, several times over.

mod lock;
mod model;
mod packs;

pub use lock::{Holder, Lock, parse_duration};
pub use model::{
    Change, Counts, Entries, Entry, FileVersion, Generation, GenerationRecord, GitInfo,
    ManifestInfo,
};

use crate::error::Diagnose;
use crate::hash::Digest;
use packs::{PackIndex, Slot};
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The state format this mpm writes and reads. Format 1 was an unreleased layout
/// (blobs and entries as sled values); it is refused, not misread.
pub const FORMAT: u64 = 2;
const DB_DIR: &str = "db";

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("the target is locked by another mpm{}", holder.as_ref().map(|h| format!(": {h}")).unwrap_or_default())]
    Locked {
        path: PathBuf,
        holder: Option<Box<Holder>>,
        waited: Duration,
    },
    #[error("the state log `{}` was written by a newer mpm (state format {found}; this mpm reads format {FORMAT})", dir.display())]
    NewerFormat { dir: PathBuf, found: u64 },
    #[error("the state log `{}` has the layout of an unreleased development build (state format {found}; this mpm reads format {FORMAT})", dir.display())]
    OlderFormat { dir: PathBuf, found: u64 },
    #[error("the state log `{}` cannot be read: {detail}", dir.display())]
    Corrupt { dir: PathBuf, detail: String },
    #[error("there is no generation {0} in the state log")]
    NoGeneration(u64),
}

impl Diagnose for StateError {
    fn causes(&self) -> Vec<String> {
        match self {
            StateError::Locked { path, waited, .. } if !waited.is_zero() => {
                vec![format!(
                    "waited {:.1} s for `{}`",
                    waited.as_secs_f64(),
                    path.display()
                )]
            }
            StateError::Locked { path, .. } => vec![format!("lock file `{}`", path.display())],
            _ => Vec::new(),
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            StateError::Locked { .. } => Some(
                "wait for it to finish, or pass `--lock-timeout 60s` to wait; the lock is released when that process exits".into(),
            ),
            StateError::NewerFormat { .. } => Some("upgrade mpm to the version that wrote this state log".into()),
            StateError::OlderFormat { .. } => Some(
                "move the state folder aside and run `mpm apply --adopt`: the files are recorded again (that history is lost)".into(),
            ),
            StateError::Corrupt { .. } => Some(
                "move the state folder aside and run `mpm apply --adopt` to record the files again (history is lost)".into(),
            ),
            StateError::NoGeneration(_) => Some("`mpm history` lists the generations there are".into()),
            StateError::Io(_) => None,
        }
    }
}

/// What the planner needs from the log.
#[derive(Debug, Clone, Default)]
pub struct LastApplied {
    pub entries: Entries,
    /// A generation that started and never committed (the run was killed).
    pub pending: Option<Generation>,
    pub current: Option<u64>,
    pub serial: u64,
    pub lineage: Option<String>,
}

pub struct StateStore {
    db: sled::Db,
    entries: sled::Tree,
    blobs: sled::Tree,
    generations: sled::Tree,
    meta: sled::Tree,
    dir: PathBuf,
    /// Where each blob is, loaded on first use.
    blob_slots: RefCell<Option<HashMap<Digest, (u64, Slot)>>>,
    /// Pack files opened for reading.
    pack_files: RefCell<HashMap<u64, std::fs::File>>,
    /// The index of the one pack [`StateStore::blob_in`] looked in last.
    one_pack: RefCell<Option<(u64, HashMap<Digest, Slot>)>>,
    _lock: Lock,
}

impl std::fmt::Debug for StateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateStore")
            .field("dir", &self.dir)
            .finish()
    }
}

pub(crate) fn now_string() -> String {
    let now = jiff::Timestamp::now();
    jiff::Timestamp::from_second(now.as_second())
        .map(|t| t.to_string())
        .unwrap_or_else(|_| now.to_string())
}

pub(crate) fn create_state_dir(dir: &Path) -> std::io::Result<()> {
    crate::system::create_dirs(dir)?;
    let ignore = dir.join(".gitignore");
    if !ignore.exists() {
        fs_err::write(ignore, "*\n")?;
    }
    Ok(())
}

impl StateStore {
    /// Opens the state log in `dir` under its lock. With `create` false, a target
    /// that has no state log yet gives `Ok(None)` and nothing is created.
    pub fn open(
        dir: &Path,
        command: &str,
        timeout: Duration,
        create: bool,
    ) -> Result<Option<StateStore>, StateError> {
        if !create && !dir.join(DB_DIR).is_dir() {
            return Ok(None);
        }
        let Some(lock) = lock::acquire(dir, command, timeout, create)? else {
            return Ok(None);
        };
        let corrupt = |e: sled::Error| StateError::Corrupt {
            dir: dir.to_path_buf(),
            detail: e.to_string(),
        };
        let db = sled::Config::new()
            .path(dir.join(DB_DIR))
            .cache_capacity(4 << 20)
            .flush_every_ms(None)
            .open()
            .map_err(corrupt)?;
        let tree = |name: &str| db.open_tree(name).map_err(corrupt);
        let store = StateStore {
            entries: tree("entries")?,
            blobs: tree("blobs")?,
            generations: tree("generations")?,
            meta: tree("meta")?,
            db,
            dir: dir.to_path_buf(),
            blob_slots: RefCell::new(None),
            pack_files: RefCell::new(HashMap::new()),
            one_pack: RefCell::new(None),
            _lock: lock,
        };
        match store.meta_u64("format")? {
            None => {
                store
                    .meta
                    .insert("format", FORMAT.to_string().as_bytes())
                    .map_err(corrupt)?;
                let seed = format!(
                    "{}{}{:?}",
                    now_string(),
                    std::process::id(),
                    std::time::Instant::now()
                );
                store
                    .meta
                    .insert("lineage", Digest::of(seed.as_bytes()).short().as_bytes())
                    .map_err(corrupt)?;
            }
            Some(found) if found > FORMAT => {
                return Err(StateError::NewerFormat {
                    dir: dir.to_path_buf(),
                    found,
                });
            }
            Some(found) if found < FORMAT => {
                return Err(StateError::OlderFormat {
                    dir: dir.to_path_buf(),
                    found,
                });
            }
            Some(_) => {}
        }
        Ok(Some(store))
    }

    /// The state folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn corrupt(&self, detail: impl std::fmt::Display) -> StateError {
        StateError::Corrupt {
            dir: self.dir.clone(),
            detail: detail.to_string(),
        }
    }

    fn meta_u64(&self, key: &str) -> Result<Option<u64>, StateError> {
        let Some(v) = self.meta.get(key).map_err(|e| self.corrupt(e))? else {
            return Ok(None);
        };
        let text = std::str::from_utf8(&v).map_err(|e| self.corrupt(e))?;
        text.parse()
            .map(Some)
            .map_err(|_| self.corrupt(format!("meta `{key}` is `{text}`")))
    }

    fn set_meta(&self, key: &str, value: u64) -> Result<(), StateError> {
        self.meta
            .insert(key, value.to_string().as_bytes())
            .map(drop)
            .map_err(|e| self.corrupt(e))
    }

    fn decode<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        bytes: &[u8],
    ) -> Result<T, StateError> {
        serde_json::from_slice(bytes).map_err(|e| self.corrupt(format!("{what}: {e}")))
    }

    fn encode<T: serde::Serialize>(value: &T) -> Vec<u8> {
        serde_json::to_vec(value).unwrap_or_default()
    }

    pub fn last(&self) -> Result<LastApplied, StateError> {
        let current = self.meta_u64("current")?;
        let pending = match self.meta.get("pending").map_err(|e| self.corrupt(e))? {
            Some(v) => Some(self.full(self.decode("pending generation", &v)?)?),
            None => None,
        };
        let lineage = self
            .meta
            .get("lineage")
            .map_err(|e| self.corrupt(e))?
            .map(|v| String::from_utf8_lossy(&v).into_owned());
        Ok(LastApplied {
            entries: self.snapshot(current.unwrap_or(0))?,
            pending,
            current,
            serial: self.meta_u64("serial")?.unwrap_or(0),
            lineage,
        })
    }

    fn pack_indexes(&self) -> Result<Vec<(u64, PackIndex)>, StateError> {
        self.blobs
            .iter()
            .map(|item| {
                let (k, v) = item.map_err(|e| self.corrupt(e))?;
                let key: [u8; 8] = k
                    .as_ref()
                    .try_into()
                    .map_err(|_| self.corrupt("a pack key is not a number"))?;
                Ok((u64::from_be_bytes(key), self.decode("pack index", &v)?))
            })
            .collect()
    }

    /// The bytes of a blob, looked up in one pack first when it is likely there.
    pub fn blob_in(&self, digest: &Digest, pack: u64) -> Result<Option<Vec<u8>>, StateError> {
        if self
            .one_pack
            .borrow()
            .as_ref()
            .is_none_or(|(p, _)| *p != pack)
        {
            let index: PackIndex = match self
                .blobs
                .get(pack.to_be_bytes())
                .map_err(|e| self.corrupt(e))?
            {
                Some(v) => self.decode("pack index", &v)?,
                None => Vec::new(),
            };
            *self.one_pack.borrow_mut() =
                Some((pack, index.into_iter().map(|s| (s.digest, s)).collect()));
        }
        let slot = self
            .one_pack
            .borrow()
            .as_ref()
            .and_then(|(_, slots)| slots.get(digest).copied());
        match slot {
            Some(slot) => self.read(pack, &slot).map(Some),
            None => self.blob(digest),
        }
    }

    fn read(&self, pack: u64, slot: &Slot) -> Result<Vec<u8>, StateError> {
        let path = packs::pack_path(&self.dir, pack);
        let mut files = self.pack_files.borrow_mut();
        let file = match files.entry(pack) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(fs_err::File::open(&path)?.into_parts().0)
            }
        };
        packs::read_slot(file, &path, slot)
    }

    /// The bytes of a blob, checked against its digest.
    pub fn blob(&self, digest: &Digest) -> Result<Option<Vec<u8>>, StateError> {
        if self.blob_slots.borrow().is_none() {
            let indexes = self.pack_indexes()?;
            *self.blob_slots.borrow_mut() =
                Some(packs::locate_all(indexes.iter().map(|(p, i)| (*p, i))));
        }
        let slot = self
            .blob_slots
            .borrow()
            .as_ref()
            .and_then(|slots| slots.get(digest).copied());
        let Some((pack, slot)) = slot else {
            return Ok(None);
        };
        self.read(pack, &slot).map(Some)
    }

    /// A JSON value kept as a blob.
    fn json_blob<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        digest: &Digest,
        pack: u64,
    ) -> Result<T, StateError> {
        let bytes = self
            .blob_in(digest, pack)?
            .ok_or_else(|| self.corrupt(format!("the {what} ({}) are missing", digest.short())))?;
        self.decode(what, &bytes)
    }

    /// A generation with its changes.
    fn full(&self, record: GenerationRecord) -> Result<Generation, StateError> {
        let changes = self.json_blob("changes", &record.changes, record.pack)?;
        Ok(Generation { record, changes })
    }

    /// Starts storing blobs: a new pack file, written as they come (removing packs
    /// a killed run left without an index).
    pub fn blob_writer(&self) -> Result<BlobWriter, StateError> {
        let indexes = self.pack_indexes()?;
        packs::remove_orphans(&self.dir, &indexes.iter().map(|(p, _)| *p).collect())?;
        let known = indexes
            .iter()
            .flat_map(|(_, i)| i.iter().map(|s| s.digest))
            .collect();
        let pack = self.meta_u64("next_pack")?.unwrap_or(1);
        Ok(BlobWriter {
            pack,
            writer: packs::PackWriter::create(&self.dir, pack)?,
            known,
        })
    }

    /// Makes the blobs durable and records their index (flushed by the
    /// [`StateStore::begin`] that follows).
    pub fn finish_blobs(&self, blobs: BlobWriter) -> Result<(), StateError> {
        let index = blobs.writer.finish()?;
        if !index.is_empty() {
            self.blobs
                .insert(blobs.pack.to_be_bytes(), Self::encode(&index))
                .map_err(|e| self.corrupt(e))?;
            self.set_meta("next_pack", blobs.pack + 1)?;
        }
        *self.blob_slots.borrow_mut() = None;
        *self.one_pack.borrow_mut() = None;
        Ok(())
    }

    /// The id the next generation gets.
    pub fn next_id(&self) -> Result<u64, StateError> {
        let last = self.generations.last().map_err(|e| self.corrupt(e))?;
        let from_log = last
            .map(|(k, _)| u64::from_be_bytes(k.as_ref().try_into().unwrap_or([0; 8])))
            .unwrap_or(0);
        Ok(from_log.max(self.meta_u64("last_id")?.unwrap_or(0)) + 1)
    }

    /// Step 2 of an apply: the intended result is durable before any file is touched
    /// (its changes and entries are already in the pack).
    pub fn begin(&self, pending: &GenerationRecord) -> Result<(), StateError> {
        self.meta
            .insert("pending", Self::encode(pending))
            .map_err(|e| self.corrupt(e))?;
        self.flush()
    }

    /// Drops a pending generation without committing it (nothing left to do).
    pub fn clear_pending(&self) -> Result<(), StateError> {
        self.meta.remove("pending").map_err(|e| self.corrupt(e))?;
        self.flush()
    }

    /// Step 4: pending → current, serial bumped, in one transaction.
    pub fn commit(&self, generation: &GenerationRecord) -> Result<(), StateError> {
        use sled::Transactional;
        let id = generation.id.to_be_bytes();
        let record = Self::encode(generation);
        let serial = (self.meta_u64("serial")?.unwrap_or(0) + 1).to_string();
        let current = generation.id.to_string();
        (&self.entries, &self.generations, &self.meta)
            .transaction(|(e, g, m)| {
                g.insert(&id, record.as_slice())?;
                e.insert(&id, generation.entries.as_bytes())?;
                m.insert("current", current.as_bytes())?;
                m.insert("last_id", current.as_bytes())?;
                m.insert("serial", serial.as_bytes())?;
                m.remove("pending")?;
                Ok::<(), sled::transaction::ConflictableTransactionError<()>>(())
            })
            .map_err(|e| self.corrupt(format!("{e:?}")))?;
        self.flush()
    }

    pub fn flush(&self) -> Result<(), StateError> {
        self.db.flush().map(drop).map_err(|e| self.corrupt(e))
    }

    /// Every generation kept, oldest first (without their changes).
    pub fn generations(&self) -> Result<Vec<GenerationRecord>, StateError> {
        self.generations
            .iter()
            .map(|item| {
                let (_, v) = item.map_err(|e| self.corrupt(e))?;
                self.decode("generation", &v)
            })
            .collect()
    }

    /// One generation with its changes.
    pub fn generation(&self, id: u64) -> Result<Generation, StateError> {
        match self
            .generations
            .get(id.to_be_bytes())
            .map_err(|e| self.corrupt(e))?
        {
            Some(v) => self.full(self.decode("generation", &v)?),
            None => Err(StateError::NoGeneration(id)),
        }
    }

    /// The managed paths right after generation `id` (`0`: before the first).
    pub fn snapshot(&self, id: u64) -> Result<Entries, StateError> {
        if id == 0 {
            return Ok(Entries::new());
        }
        match self
            .entries
            .get(id.to_be_bytes())
            .map_err(|e| self.corrupt(e))?
        {
            Some(v) => {
                let digest = Digest::from_bytes(&v)
                    .ok_or_else(|| self.corrupt("an entries value is not a digest"))?;
                // the generation's record says which pack (unless it was pruned)
                let pack = match self
                    .generations
                    .get(id.to_be_bytes())
                    .map_err(|e| self.corrupt(e))?
                {
                    Some(r) => self.decode::<GenerationRecord>("generation", &r)?.pack,
                    None => 0,
                };
                self.json_blob("entries", &digest, pack)
            }
            None => Err(StateError::NoGeneration(id)),
        }
    }

    /// Keeps the newest `keep` generations; drops the others and every blob that no
    /// kept generation, its entries or the current entries need (a pack that still
    /// holds some is rewritten with only those). Returns (generations, blobs)
    /// removed.
    pub fn prune(&self, keep: usize) -> Result<(usize, usize), StateError> {
        let all = self.generations()?;
        let drop_count = all.len().saturating_sub(keep.max(1));
        let (dropped, kept) = all.split_at(drop_count);
        // the entries before the oldest kept generation stay, so that it can be undone
        let still_needed = kept.first().and_then(|g| g.parent);
        let last = self.last()?;
        let versions = |g: &Generation| -> Vec<Digest> {
            g.changes
                .iter()
                .flat_map(|c| [c.before, c.after])
                .flatten()
                .map(|v| v.digest)
                .collect()
        };
        let mut live: BTreeSet<Digest> = last.entries.values().map(|e| e.digest).collect();
        if let Some(p) = &last.pending {
            live.extend(versions(p));
        }
        if let Some(v) = self.meta.get("pending").map_err(|e| self.corrupt(e))? {
            let record: GenerationRecord = self.decode("pending generation", &v)?;
            live.extend([record.changes, record.entries]);
        }
        for record in kept {
            live.extend([record.changes, record.entries]);
            live.extend(versions(&self.generation(record.id)?));
            live.extend(self.snapshot(record.id)?.values().map(|e| e.digest));
        }
        if let Some(parent) = still_needed
            && let Some(v) = self
                .entries
                .get(parent.to_be_bytes())
                .map_err(|e| self.corrupt(e))?
        {
            live.extend(Digest::from_bytes(&v));
        }
        for generation in dropped.iter() {
            self.generations
                .remove(generation.id.to_be_bytes())
                .map_err(|e| self.corrupt(e))?;
            if Some(generation.id) != still_needed {
                self.entries
                    .remove(generation.id.to_be_bytes())
                    .map_err(|e| self.corrupt(e))?;
            }
        }
        let mut removed = 0;
        for (pack, index) in self.pack_indexes()? {
            let (keep_slots, dead): (Vec<Slot>, Vec<Slot>) =
                index.into_iter().partition(|s| live.contains(&s.digest));
            if dead.is_empty() {
                continue;
            }
            removed += dead.len();
            if !keep_slots.is_empty() {
                let mut writer = BlobWriter {
                    pack: self.meta_u64("next_pack")?.unwrap_or(1),
                    writer: packs::PackWriter::create(
                        &self.dir,
                        self.meta_u64("next_pack")?.unwrap_or(1),
                    )?,
                    known: BTreeSet::new(),
                };
                for slot in &keep_slots {
                    let bytes = self
                        .blob(&slot.digest)?
                        .ok_or_else(|| self.corrupt("a kept blob vanished"))?;
                    writer.add(slot.digest, &bytes)?;
                }
                self.finish_blobs(writer)?;
            }
            self.pack_files.borrow_mut().remove(&pack);
            // the rewritten pack is durable and indexed before the old one goes
            self.blobs
                .remove(pack.to_be_bytes())
                .map_err(|e| self.corrupt(e))?;
            self.flush()?;
            fs_err::remove_file(packs::pack_path(&self.dir, pack))?;
        }
        *self.blob_slots.borrow_mut() = None;
        *self.one_pack.borrow_mut() = None;
        if drop_count > 0 || removed > 0 {
            self.set_meta("serial", self.meta_u64("serial")?.unwrap_or(0) + 1)?;
        }
        self.flush()?;
        Ok((drop_count, removed))
    }
}

/// Blobs being stored by one apply (see [`StateStore::blob_writer`]).
pub struct BlobWriter {
    /// The pack being written.
    pub pack: u64,
    writer: packs::PackWriter,
    known: BTreeSet<Digest>,
}

impl BlobWriter {
    /// Whether the state log has these bytes already.
    pub fn knows(&self, digest: &Digest) -> bool {
        self.known.contains(digest)
    }

    pub fn add(&mut self, digest: Digest, bytes: &[u8]) -> Result<(), StateError> {
        if self.known.insert(digest) {
            self.writer.add(digest, bytes)?;
        }
        Ok(())
    }
}

impl BlobWriter {
    /// Stores a value as a JSON blob; returns its digest.
    pub fn add_json<T: serde::Serialize>(&mut self, value: &T) -> Result<Digest, StateError> {
        let bytes = serde_json::to_vec(value).unwrap_or_default();
        let digest = Digest::of(&bytes);
        self.add(digest, &bytes)?;
        Ok(digest)
    }
}
