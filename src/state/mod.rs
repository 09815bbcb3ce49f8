//! The state log: one sled database per target, in `<target>/.mpm/` (or
//! `--state-dir`), opened only under the target's lock.
//!
//! Trees: `entries` (address → [`Entry`] as last applied), `blobs` (sha256 → bytes,
//! every version written and every pre-image replaced), `generations` (id →
//! [`Generation`]), `snapshots` (id → the entries right after it) and `meta` (format
//! version, lineage, serial, current generation, the pending generation).

mod lock;
mod model;

pub use lock::{Holder, Lock, parse_duration};
pub use model::{Change, Counts, Entries, Entry, FileVersion, Generation, GitInfo, ManifestInfo};

use crate::error::Diagnose;
use crate::hash::Digest;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The state format this mpm writes and reads.
pub const FORMAT: u64 = 1;
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
    snapshots: sled::Tree,
    meta: sled::Tree,
    dir: PathBuf,
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
    fs_err::create_dir_all(dir)?;
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
            .cache_capacity(8 << 20)
            .flush_every_ms(None)
            .open()
            .map_err(corrupt)?;
        let tree = |name: &str| db.open_tree(name).map_err(corrupt);
        let store = StateStore {
            entries: tree("entries")?,
            blobs: tree("blobs")?,
            generations: tree("generations")?,
            snapshots: tree("snapshots")?,
            meta: tree("meta")?,
            db,
            dir: dir.to_path_buf(),
            _lock: lock,
        };
        match store.meta_u64("format")? {
            None => {
                store
                    .meta
                    .insert("format", FORMAT.to_string().as_bytes())
                    .map_err(corrupt)?;
                let lineage = Digest::of(
                    format!(
                        "{}{}{:?}",
                        now_string(),
                        std::process::id(),
                        std::time::Instant::now()
                    )
                    .as_bytes(),
                );
                store
                    .meta
                    .insert("lineage", lineage.short().as_bytes())
                    .map_err(corrupt)?;
            }
            Some(found) if found > FORMAT => {
                return Err(StateError::NewerFormat {
                    dir: dir.to_path_buf(),
                    found,
                });
            }
            Some(_) => {}
        }
        Ok(Some(store))
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
        let mut entries = Entries::new();
        for item in self.entries.iter() {
            let (k, v) = item.map_err(|e| self.corrupt(e))?;
            let address = crate::address::Address::parse(&String::from_utf8_lossy(&k))
                .map_err(|e| self.corrupt(e))?;
            entries.insert(address, self.decode("entry", &v)?);
        }
        let pending = match self.meta.get("pending").map_err(|e| self.corrupt(e))? {
            Some(v) => Some(self.decode("pending generation", &v)?),
            None => None,
        };
        let lineage = self
            .meta
            .get("lineage")
            .map_err(|e| self.corrupt(e))?
            .map(|v| String::from_utf8_lossy(&v).into_owned());
        Ok(LastApplied {
            entries,
            pending,
            current: self.meta_u64("current")?,
            serial: self.meta_u64("serial")?.unwrap_or(0),
            lineage,
        })
    }

    pub fn blob(&self, digest: &Digest) -> Result<Option<Vec<u8>>, StateError> {
        Ok(self
            .blobs
            .get(digest.as_bytes())
            .map_err(|e| self.corrupt(e))?
            .map(|v| v.to_vec()))
    }

    pub fn has_blob(&self, digest: &Digest) -> Result<bool, StateError> {
        self.blobs
            .contains_key(digest.as_bytes())
            .map_err(|e| self.corrupt(e))
    }

    /// Stores blobs that are not there yet.
    pub fn put_blobs<'a>(
        &self,
        blobs: impl IntoIterator<Item = (Digest, &'a [u8])>,
    ) -> Result<(), StateError> {
        let mut batch = sled::Batch::default();
        let mut seen = BTreeSet::new();
        for (digest, bytes) in blobs {
            if seen.insert(digest) && !self.has_blob(&digest)? {
                batch.insert(digest.as_bytes(), bytes);
            }
        }
        self.blobs.apply_batch(batch).map_err(|e| self.corrupt(e))
    }

    /// The id the next generation gets.
    pub fn next_id(&self) -> Result<u64, StateError> {
        let last = self.generations.last().map_err(|e| self.corrupt(e))?;
        let from_log = last
            .map(|(k, _)| u64::from_be_bytes(k.as_ref().try_into().unwrap_or([0; 8])))
            .unwrap_or(0);
        Ok(from_log.max(self.meta_u64("last_id")?.unwrap_or(0)) + 1)
    }

    /// Step 2 of an apply: the intended result is durable before any file is touched.
    pub fn begin(&self, pending: &Generation) -> Result<(), StateError> {
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

    /// Step 4: pending → current, entries updated, serial bumped, in one transaction.
    pub fn commit(
        &self,
        generation: &Generation,
        entries: &Entries,
        previous: &Entries,
    ) -> Result<(), StateError> {
        use sled::Transactional;
        let id = generation.id.to_be_bytes();
        let gen_bytes = Self::encode(generation);
        let snapshot = Self::encode(entries);
        let serial = (self.meta_u64("serial")?.unwrap_or(0) + 1).to_string();
        let removed: Vec<_> = previous
            .keys()
            .filter(|k| !entries.contains_key(*k))
            .collect();
        let changed: Vec<_> = entries
            .iter()
            .filter(|(k, v)| previous.get(*k) != Some(*v))
            .map(|(k, v)| (k.as_str().as_bytes().to_vec(), Self::encode(v)))
            .collect();
        (
            &self.entries,
            &self.generations,
            &self.snapshots,
            &self.meta,
        )
            .transaction(|(e, g, s, m)| {
                for k in &removed {
                    e.remove(k.as_str().as_bytes())?;
                }
                for (k, v) in &changed {
                    e.insert(k.as_slice(), v.as_slice())?;
                }
                g.insert(&id, gen_bytes.as_slice())?;
                s.insert(&id, snapshot.as_slice())?;
                m.insert("current", generation.id.to_string().as_bytes())?;
                m.insert("last_id", generation.id.to_string().as_bytes())?;
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

    pub fn generations(&self) -> Result<Vec<Generation>, StateError> {
        self.generations
            .iter()
            .map(|item| {
                let (_, v) = item.map_err(|e| self.corrupt(e))?;
                self.decode("generation", &v)
            })
            .collect()
    }

    pub fn generation(&self, id: u64) -> Result<Generation, StateError> {
        match self
            .generations
            .get(id.to_be_bytes())
            .map_err(|e| self.corrupt(e))?
        {
            Some(v) => self.decode("generation", &v),
            None => Err(StateError::NoGeneration(id)),
        }
    }

    /// The managed paths right after generation `id` (`0`: before the first).
    pub fn snapshot(&self, id: u64) -> Result<Entries, StateError> {
        if id == 0 {
            return Ok(Entries::new());
        }
        match self
            .snapshots
            .get(id.to_be_bytes())
            .map_err(|e| self.corrupt(e))?
        {
            Some(v) => self.decode("snapshot", &v),
            None => Err(StateError::NoGeneration(id)),
        }
    }

    /// Keeps the newest `keep` generations; drops the others and every blob no kept
    /// generation, snapshot or current entry refers to. Returns (generations, blobs)
    /// removed.
    pub fn prune(&self, keep: usize) -> Result<(usize, usize), StateError> {
        let all = self.generations()?;
        let drop_count = all.len().saturating_sub(keep);
        let (dropped, kept) = all.split_at(drop_count);
        let last = self.last()?;
        let mut live: BTreeSet<Digest> = last.entries.values().map(|e| e.digest).collect();
        if let Some(p) = last.pending {
            live.extend(
                p.changes
                    .iter()
                    .flat_map(|c| [c.before, c.after])
                    .flatten()
                    .map(|v| v.digest),
            );
        }
        for generation in kept {
            live.extend(
                generation
                    .changes
                    .iter()
                    .flat_map(|c| [c.before, c.after])
                    .flatten()
                    .map(|v| v.digest),
            );
            live.extend(self.snapshot(generation.id)?.values().map(|e| e.digest));
        }
        for generation in dropped {
            self.generations
                .remove(generation.id.to_be_bytes())
                .map_err(|e| self.corrupt(e))?;
            self.snapshots
                .remove(generation.id.to_be_bytes())
                .map_err(|e| self.corrupt(e))?;
        }
        let mut blobs_removed = 0;
        for item in self.blobs.iter().keys() {
            let key = item.map_err(|e| self.corrupt(e))?;
            if Digest::from_bytes(&key).is_some_and(|d| !live.contains(&d)) {
                self.blobs.remove(key).map_err(|e| self.corrupt(e))?;
                blobs_removed += 1;
            }
        }
        if drop_count > 0 || blobs_removed > 0 {
            let serial = (self.meta_u64("serial")?.unwrap_or(0) + 1).to_string();
            self.meta
                .insert("serial", serial.as_bytes())
                .map_err(|e| self.corrupt(e))?;
        }
        self.flush()?;
        Ok((drop_count, blobs_removed))
    }
}
