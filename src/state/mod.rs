//! The state log: one sled database per target, in `<target>/.mpm/` (or
//! `--state-dir`), opened only under the target's lock.
//!
//! Trees: `generations` (id → [`Generation`]), `entries` (id → every managed path
//! with its [`Entry`] right after that generation; the current generation's are the
//! last applied), `blobs` (pack → the index of a pack of content-addressed bytes, see
//! [`packs`]) and `meta` (format version, lineage, serial, current generation, the
//! pending generation). An apply writes a handful of values however many agents it
//! touches: sled's memory grows with every key written, several times over.
//!
//! sled has no read-only mode: opening a database rewrites its files. So every
//! command reads from a private copy of the database, taken under the lock, and
//! only a command about to write opens the database itself
//! ([`StateStore::writable`]). A read-only command changes no byte of the state
//! directory. Nothing in it is ever followed through a symbolic link: a link where
//! mpm keeps a file is an error naming it.

mod lock;
mod model;
mod packs;

pub use crate::last_applied::LastApplied;
pub use lock::{Holder, Lock, LockMode, parse_duration, recorded_holder};
pub use model::{
    Change, Counts, Entries, Entry, FileVersion, Generation, GenerationRecord, GitInfo,
    ManifestInfo, PartRecord,
};

use crate::diagnose::Diagnose;
use crate::hash::Digest;
use packs::{PackIndex, Slot};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The state format this mpm writes and reads. Format 1 was an unreleased layout
/// (blobs and entries as sled values); it is refused, not misread. Format 2 (agent
/// files only) is read as it is, and a writer migrates it to 3 (addresses may be
/// parts of settings files; entries may be secrets; the key of keyed hashes),
/// keeping a copy in [`BACKUP_OF_2`]: an mpm that reads format 2 refuses format
/// 3 rather than take `settings.json#/env/A` for a file.
pub const FORMAT: u64 = 3;
/// The copy of a format 2 state log a migration keeps (beside `db/`).
pub const BACKUP_OF_2: &str = "backup-format-2";
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
    #[error("`{}` is a symbolic link: mpm never writes or reads through a link in its state directory", .0.display())]
    Link(PathBuf),
    #[error("`{}` has other hard links: mpm never writes a file of its state directory that is also elsewhere", .0.display())]
    HardLink(PathBuf),
    #[error("`{}` is not a regular file", .0.display())]
    NotAFile(PathBuf),
    #[error("cannot open the state log `{}`: {cause}; nothing was changed", dir.display())]
    Unusable { dir: PathBuf, cause: String },
    #[error("cannot copy the state log to read it in `{}`: {cause}", dir.display())]
    Scratch { dir: PathBuf, cause: String },
    #[error("the state log `{}` lacks {what}", dir.display())]
    MissingBlob {
        dir: Box<Path>,
        /// What the bytes are, with the generation they belong to.
        what: String,
        digest: Digest,
        /// The pack that should hold it, and what is wrong with it.
        pack: Option<Box<(PathBuf, String)>>,
    },
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
            StateError::MissingBlob { digest, pack, .. } => {
                let mut causes = vec![format!("blob {}", digest.short())];
                if let Some((path, problem)) = pack.as_deref() {
                    causes.push(format!("`{}` {problem}", path.display()));
                }
                causes
            }
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
            StateError::Unusable { .. } => Some(
                "free some space on its file system, or fix what the message names, and run the command again".into(),
            ),
            StateError::Scratch { .. } => Some(
                "a reader works on a private copy of the state log, in `$TMPDIR`: free some space there, or set `TMPDIR` to a folder with room".into(),
            ),
            StateError::HardLink(_) | StateError::NotAFile(_) => Some(
                "put a file of mpm's own there (copy the file to replace the link: `cp --remove-destination`), or move the state folder aside and run `mpm apply --adopt`".into(),
            ),
            StateError::Link(path) => Some(
                if path
                    .file_name()
                    .is_some_and(|n| n == lock::LOCK_FILE || n == ".gitignore")
                {
                    "remove the link: mpm makes a new one there".into()
                } else {
                    "put the file or folder the link points to in its place, or point `--state-dir` at a directory without links".into()
                },
            ),
            StateError::MissingBlob { .. } => Some(
                "if only old generations need it, `mpm history prune --keep N` drops them; otherwise move the state folder aside and run `mpm apply --adopt` to record the files again (history is lost); docs/concepts.md says more under \"A damaged state log\"".into(),
            ),
            StateError::Io(_) => None,
        }
    }
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
    /// The private copy of the database a reading store opened; removed after
    /// sled closes it (fields drop in order).
    copy: Option<tempfile::TempDir>,
    /// The folders this command created for the state log, parents first (a
    /// failed first apply removes them).
    created: Vec<PathBuf>,
    lock: Lock,
    lock_mode: LockMode,
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

/// A link where mpm keeps a file or folder is refused, whatever it points at.
pub(crate) fn refuse_link(path: &Path) -> Result<(), StateError> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Err(StateError::Link(path.to_path_buf())),
        _ => Ok(()),
    }
}

/// An open that met a link at its last component (`O_NOFOLLOW`) names it.
pub(crate) fn open_error(e: std::io::Error, path: &Path) -> StateError {
    if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) {
        StateError::Link(path.to_path_buf())
    } else {
        StateError::Io(std::io::Error::new(
            e.kind(),
            format!("failed to open `{}`: {e}", path.display()),
        ))
    }
}

/// The state folder and its `.gitignore` (the state log is the machine's, not the
/// repository's), created without following a link; returns the folders made.
fn create_state_dir(dir: &Path) -> Result<Vec<PathBuf>, StateError> {
    let mut created = Vec::new();
    crate::system::create_dirs(&crate::system::RealSystem, dir, &mut created)?;
    ensure_gitignore(dir)?;
    Ok(created)
}

/// Puts back a missing `.gitignore` (writers only).
fn ensure_gitignore(dir: &Path) -> Result<(), StateError> {
    let ignore = dir.join(".gitignore");
    refuse_link(&ignore)?;
    if ignore.exists() {
        return Ok(());
    }
    use crate::system::System;
    match crate::system::RealSystem.write_new(&ignore, b"*\n", 0o644) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(open_error(e, &ignore)),
    }
}

/// Copies a directory tree (sled's files), refusing links.
fn copy_tree(from: &Path, to: &Path) -> Result<(), StateError> {
    fs_err::create_dir_all(to)?;
    for entry in fs_err::read_dir(from)? {
        let entry = entry?;
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_symlink() {
            return Err(StateError::Link(path));
        }
        // a snapshot sled began and never finished (a full disk, a kill) is not
        // part of the database; sled misreads an empty one as damage
        if is_incomplete_snapshot(&entry.file_name()) {
            continue;
        }
        let dest = to.join(entry.file_name());
        if kind.is_dir() {
            copy_tree(&path, &dest)?;
        } else if kind.is_file() {
            let mut source =
                crate::system::open_no_follow(&path).map_err(|e| open_error(e, &path))?;
            let mut copy = fs_err::File::create(&dest)?;
            std::io::copy(&mut source, &mut copy)?;
        }
    }
    Ok(())
}

/// Copies a format 2 state log (its database and packs) to [`BACKUP_OF_2`] before
/// it is migrated: complete or not at all (a copy a kill interrupted is made
/// again; one made already is kept).
fn back_up(dir: &Path) -> Result<(), StateError> {
    let backup = dir.join(BACKUP_OF_2);
    refuse_link(&backup)?;
    if backup.is_dir() {
        return Ok(());
    }
    let partial = dir.join(format!("{BACKUP_OF_2}.partial"));
    refuse_link(&partial)?;
    if partial.exists() {
        fs_err::remove_dir_all(&partial)?;
    }
    copy_tree(&dir.join(DB_DIR), &partial.join(DB_DIR))?;
    let packs = dir.join(packs::PACK_DIR);
    if packs.is_dir() {
        copy_tree(&packs, &partial.join(packs::PACK_DIR))?;
    }
    fs_err::rename(&partial, &backup)?;
    crate::system::System::sync_dir(&crate::system::RealSystem, dir)?;
    Ok(())
}

/// The private copy of sled's files a reader opens: in `$TMPDIR`, readable by this
/// user only, named by this process so that the copies of killed ones (which
/// never ran their clean-up) are removed by the next reader.
fn scratch_copy(db_dir: &Path) -> Result<tempfile::TempDir, StateError> {
    let scratch = std::env::temp_dir();
    remove_dead_copies(&scratch);
    let no_room = |e: std::io::Error| StateError::Scratch {
        dir: scratch.clone(),
        cause: e.to_string(),
    };
    let copy = tempfile::Builder::new()
        .prefix(&format!("mpm-state-{}-", std::process::id()))
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .tempdir_in(&scratch)
        .map_err(no_room)?;
    match copy_tree(db_dir, copy.path()) {
        Err(StateError::Io(e)) => Err(no_room(e)),
        other => other.map(|()| copy),
    }
}

/// Removes the copies of this user's mpm processes that are gone.
fn remove_dead_copies(scratch: &Path) {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(scratch) else {
        return;
    };
    let me = rustix::process::getuid().as_raw();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("mpm-state-"))
            .and_then(|rest| rest.split('-').next())
            .filter(|pid| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let ours = entry.metadata().is_ok_and(|m| m.is_dir() && m.uid() == me);
        if ours && !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn is_incomplete_snapshot(name: &std::ffi::OsStr) -> bool {
    name.to_str()
        .is_some_and(|n| n.starts_with("snap.") && n.ends_with(".generating"))
}

/// Removes the snapshots sled began and never finished, before it opens the
/// database for writing (it would take an empty one for a damaged log).
fn remove_incomplete_snapshots(db_dir: &Path) -> Result<(), StateError> {
    let Ok(entries) = std::fs::read_dir(db_dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        if is_incomplete_snapshot(&entry.file_name())
            && entry.file_type().is_ok_and(|t| t.is_file())
        {
            fs_err::remove_file(entry.path())?;
        }
    }
    Ok(())
}

/// Refuses a link anywhere in sled's folder before sled opens it for writing: a
/// symbolic link, a file with another hard link (sled writes its files in place),
/// anything but files and folders.
fn refuse_links_in(dir: &Path) -> Result<(), StateError> {
    refuse_link(dir)?;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.metadata() {
            Ok(m) if m.file_type().is_symlink() => return Err(StateError::Link(path)),
            Ok(m) if m.is_dir() => refuse_links_in(&path)?,
            Ok(m) if m.is_file() => refuse_hard_link(&path, &m)?,
            Ok(_) => return Err(StateError::NotAFile(path)),
            Err(_) => {}
        }
    }
    Ok(())
}

/// A file mpm writes in place must be its own: no other hard link to it.
pub(crate) fn refuse_hard_link(path: &Path, meta: &std::fs::Metadata) -> Result<(), StateError> {
    use std::os::unix::fs::MetadataExt;
    if meta.nlink() > 1 {
        return Err(StateError::HardLink(path.to_path_buf()));
    }
    Ok(())
}

fn open_sled(dir: &Path, shown: &Path) -> Result<sled::Db, StateError> {
    sled::Config::new()
        .path(dir)
        // its values are small (a pack's index is the largest): a small cache
        .cache_capacity(1 << 20)
        .flush_every_ms(None)
        .open()
        .map_err(|e| match e {
            sled::Error::Io(io) => StateError::Unusable {
                dir: shown.to_path_buf(),
                cause: io.to_string(),
            },
            other => StateError::Corrupt {
                dir: shown.to_path_buf(),
                // sled appends an empty backtrace to what it says
                detail: other
                    .to_string()
                    .trim_end_matches(" backtrace ()")
                    .to_string(),
            },
        })
}

impl StateStore {
    /// Opens the state log in `dir` for reading, under the lock (`mode`: shared for
    /// a command that only reads, exclusive for one that will write), from a private
    /// copy of the database. A target with no state log gives `Ok(None)`, and
    /// nothing is created.
    pub fn open(
        dir: &Path,
        command: &str,
        timeout: Duration,
        mode: LockMode,
    ) -> Result<Option<StateStore>, StateError> {
        refuse_link(dir)?;
        let db_dir = dir.join(DB_DIR);
        refuse_link(&db_dir)?;
        if !db_dir.is_dir() {
            return Ok(None);
        }
        let lock = lock::acquire(dir, command, timeout, mode)?;
        let copy = scratch_copy(&db_dir)?;
        let db = open_sled(copy.path(), dir)?;
        let store = StateStore::with_db(db, dir, Some(copy), Vec::new(), lock, mode)?;
        store.check_format()?;
        Ok(Some(store))
    }

    /// Creates the state log in `dir` (the first apply), under the exclusive lock.
    pub fn create(dir: &Path, command: &str, timeout: Duration) -> Result<StateStore, StateError> {
        refuse_link(dir)?;
        // what is not there yet is this command's, to remove if its apply fails
        let absent: Vec<PathBuf> = [".gitignore", lock::LOCK_FILE, DB_DIR, packs::PACK_DIR]
            .into_iter()
            .map(|name| dir.join(name))
            .filter(|p| std::fs::symlink_metadata(p).is_err())
            .collect();
        let mut created = create_state_dir(dir)?;
        if !created.iter().any(|d| d == dir) {
            created.extend(absent);
        }
        let lock = lock::acquire(dir, command, timeout, LockMode::Exclusive)?;
        let db_dir = dir.join(DB_DIR);
        refuse_links_in(&db_dir)?;
        remove_incomplete_snapshots(&db_dir)?;
        let db = open_sled(&db_dir, dir)?;
        let store = StateStore::with_db(db, dir, None, created, lock, LockMode::Exclusive)?;
        store.check_format()?;
        Ok(store)
    }

    /// The same state log, now open for writing: the database itself, under the
    /// exclusive lock this store holds. A missing `.gitignore` is put back.
    pub fn writable(self) -> Result<StateStore, StateError> {
        if self.copy.is_none() {
            return Ok(self);
        }
        if self.lock_mode != LockMode::Exclusive {
            return Err(StateError::Io(std::io::Error::other(
                "the state log was opened for reading only",
            )));
        }
        let format = self.meta_u64("format")?;
        let (dir, lock, _) = self.close();
        ensure_gitignore(&dir)?;
        let db_dir = dir.join(DB_DIR);
        refuse_links_in(&db_dir)?;
        remove_incomplete_snapshots(&db_dir)?;
        if format == Some(2) {
            back_up(&dir)?;
        }
        let db = open_sled(&db_dir, &dir)?;
        let store = StateStore::with_db(db, &dir, None, Vec::new(), lock, LockMode::Exclusive)?;
        if format == Some(2) {
            store.set_meta("format", FORMAT)?;
            store.flush()?;
        }
        Ok(store)
    }

    fn with_db(
        db: sled::Db,
        dir: &Path,
        copy: Option<tempfile::TempDir>,
        created: Vec<PathBuf>,
        lock: Lock,
        lock_mode: LockMode,
    ) -> Result<StateStore, StateError> {
        let tree = |name: &str| {
            db.open_tree(name).map_err(|e| StateError::Corrupt {
                dir: dir.to_path_buf(),
                detail: e.to_string(),
            })
        };
        Ok(StateStore {
            entries: tree("entries")?,
            blobs: tree("blobs")?,
            generations: tree("generations")?,
            meta: tree("meta")?,
            db,
            dir: dir.to_path_buf(),
            blob_slots: RefCell::new(None),
            pack_files: RefCell::new(HashMap::new()),
            one_pack: RefCell::new(None),
            copy,
            created,
            lock,
            lock_mode,
        })
    }

    /// A new database gets the format and a lineage (written only when writable);
    /// another format is refused.
    fn check_format(&self) -> Result<(), StateError> {
        match self.meta_u64("format")? {
            None if self.copy.is_none() => {
                self.set_meta("format", FORMAT)?;
                let seed = format!(
                    "{}{}{:?}",
                    now_string(),
                    std::process::id(),
                    std::time::Instant::now()
                );
                self.meta
                    .insert("lineage", Digest::of(seed.as_bytes()).short().as_bytes())
                    .map_err(|e| self.db(e))?;
                Ok(())
            }
            None => Ok(()),
            Some(found) if found > FORMAT => Err(StateError::NewerFormat {
                dir: self.dir.clone(),
                found,
            }),
            // read as it is; a writer migrates it (`writable`)
            Some(2) => Ok(()),
            Some(found) if found < FORMAT => Err(StateError::OlderFormat {
                dir: self.dir.clone(),
                found,
            }),
            Some(_) => Ok(()),
        }
    }

    /// Closes the database (and removes a reader's copy of it), keeping the lock:
    /// the folder, the lock, and the folders this command created.
    fn close(self) -> (PathBuf, Lock, Vec<PathBuf>) {
        let StateStore {
            db,
            entries,
            blobs,
            generations,
            meta,
            dir,
            copy,
            created,
            lock,
            ..
        } = self;
        drop((entries, blobs, generations, meta, db, copy));
        (dir, lock, created)
    }

    /// Whether this command created the state folder.
    pub fn created(&self) -> bool {
        !self.created.is_empty()
    }

    /// Puts back a missing `.gitignore` (a writer with nothing else to do).
    pub fn restore_gitignore(&self) -> Result<(), StateError> {
        if self.lock_mode == LockMode::Exclusive {
            ensure_gitignore(&self.dir)?;
        }
        Ok(())
    }

    /// Whether the state folder lacks its `.gitignore` (read-only commands warn).
    pub fn lacks_gitignore(&self) -> bool {
        std::fs::symlink_metadata(self.dir.join(".gitignore")).is_err()
    }

    /// Removes the state folder this command created, after a failed first apply.
    pub fn remove_created(self) -> Result<(), StateError> {
        if self.created.is_empty() {
            return Ok(());
        }
        let (dir, lock, created) = self.close();
        if created.contains(&dir) {
            fs_err::remove_dir_all(&dir)?;
        } else {
            // the folder was there (empty, or another state log's leftovers): only
            // what this command put in it goes
            for made in created.iter().filter(|p| p.starts_with(&dir) && **p != dir) {
                match std::fs::symlink_metadata(made) {
                    Ok(m) if m.is_dir() => fs_err::remove_dir_all(made)?,
                    Ok(_) => fs_err::remove_file(made)?,
                    Err(_) => {}
                }
            }
        }
        drop(lock);
        // the folders above it that were made for it, if nothing else went there
        for made in created.iter().rev().filter(|d| !d.starts_with(&dir)) {
            let _ = std::fs::remove_dir(made);
        }
        Ok(())
    }

    /// The state folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What sled said: a failed read or write of its files is an I/O error (a full
    /// disk damages nothing), anything else a state log that cannot be read.
    fn db(&self, e: sled::Error) -> StateError {
        match e {
            sled::Error::Io(io) => StateError::Io(std::io::Error::new(
                io.kind(),
                format!("failed to use the state log `{}`: {io}", self.dir.display()),
            )),
            other => self.corrupt(other),
        }
    }

    fn corrupt(&self, detail: impl std::fmt::Display) -> StateError {
        StateError::Corrupt {
            dir: self.dir.clone(),
            detail: detail.to_string(),
        }
    }

    fn meta_u64(&self, key: &str) -> Result<Option<u64>, StateError> {
        let Some(v) = self.meta.get(key).map_err(|e| self.db(e))? else {
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
            .map_err(|e| self.db(e))
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
        let pending = match self.meta.get("pending").map_err(|e| self.db(e))? {
            Some(v) => Some(self.full(self.decode("pending generation", &v)?, true)?),
            None => None,
        };
        let lineage = self
            .meta
            .get("lineage")
            .map_err(|e| self.db(e))?
            .map(|v| String::from_utf8_lossy(&v).into_owned());
        let entries = self.snapshot(current.unwrap_or(0))?;
        // the values mpm wrote into settings files, to show beside a hand edit
        let mut values = BTreeMap::new();
        for entry in entries
            .iter()
            .filter(|(a, e)| a.is_part() && e.secret().is_none())
            .map(|(_, e)| e)
        {
            if let Some(bytes) = self.blob(&entry.digest)? {
                values.insert(entry.digest, String::from_utf8_lossy(&bytes).into());
            }
        }
        let (secret_key, secret_key_kept) =
            match self.meta.get("secret_key").map_err(|e| self.db(e))? {
                Some(v) => (
                    crate::secret::Key::from_bytes(&v).ok_or_else(|| {
                        self.corrupt("the key of its keyed hashes is not 32 bytes")
                    })?,
                    true,
                ),
                None => (crate::secret::Key::default(), false),
            };
        Ok(LastApplied {
            entries,
            values,
            secret_key,
            secret_key_kept,
            pending,
            current,
            serial: self.meta_u64("serial")?.unwrap_or(0),
            lineage,
            locked: BTreeMap::new(),
            lockfile: self
                .meta
                .get("lockfile")
                .map_err(|e| self.db(e))?
                .and_then(|v| Digest::from_bytes(&v)),
        })
    }

    /// Forgets the packs' indexes read to find blobs (each of an apply of 10 000
    /// agents is 2.6 MB in memory), for a command that reads no more blobs; they
    /// are read again if it does.
    pub fn forget_indexes(&self) {
        *self.blob_slots.borrow_mut() = None;
        *self.one_pack.borrow_mut() = None;
    }

    fn pack_indexes(&self) -> Result<Vec<(u64, PackIndex)>, StateError> {
        let mut all = Vec::new();
        self.each_pack_index(|pack, index| all.push((pack, index)))?;
        Ok(all)
    }

    /// `f` of every pack and its index, one decoded at a time.
    fn each_pack_index(&self, mut f: impl FnMut(u64, PackIndex)) -> Result<(), StateError> {
        for item in self.blobs.iter() {
            let (k, v) = item.map_err(|e| self.db(e))?;
            let key: [u8; 8] = k
                .as_ref()
                .try_into()
                .map_err(|_| self.corrupt("a pack key is not a number"))?;
            f(u64::from_be_bytes(key), self.decode("pack index", &v)?);
        }
        Ok(())
    }

    /// The bytes of a blob, looked up in one pack first when it is likely there.
    pub fn blob_in(&self, digest: &Digest, pack: u64) -> Result<Option<Vec<u8>>, StateError> {
        if self
            .one_pack
            .borrow()
            .as_ref()
            .is_none_or(|(p, _)| *p != pack)
        {
            let index: PackIndex =
                match self.blobs.get(pack.to_be_bytes()).map_err(|e| self.db(e))? {
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
        let missing = |problem: String| StateError::MissingBlob {
            dir: self.dir.clone().into(),
            what: format!("blob {}", slot.digest.short()),
            digest: slot.digest,
            pack: Some(Box::new((path.clone(), problem))),
        };
        let mut files = self.pack_files.borrow_mut();
        let file = match files.entry(pack) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                refuse_link(&self.dir.join(packs::PACK_DIR))?;
                refuse_link(&path)?;
                match crate::system::open_no_follow(&path) {
                    Ok(f) => e.insert(f),
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                        return Err(missing("is missing".into()));
                    }
                    Err(err) => return Err(open_error(err, &path)),
                }
            }
        };
        packs::read_slot(file, slot).map_err(missing)
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

    /// The bytes of a blob that must be there; `what` says what they are.
    pub fn needed_blob(
        &self,
        digest: &Digest,
        pack: Option<u64>,
        what: impl FnOnce() -> String,
    ) -> Result<Vec<u8>, StateError> {
        let found = match pack {
            Some(pack) => self.blob_in(digest, pack),
            None => self.blob(digest),
        };
        match found {
            Ok(Some(bytes)) => Ok(bytes),
            Ok(None) => Err(StateError::MissingBlob {
                dir: self.dir.clone().into(),
                what: what(),
                digest: *digest,
                pack: None,
            }),
            Err(StateError::MissingBlob {
                dir, digest, pack, ..
            }) => Err(StateError::MissingBlob {
                dir,
                what: what(),
                digest,
                pack,
            }),
            Err(e) => Err(e),
        }
    }

    /// A JSON value kept as a blob.
    fn json_blob<T: serde::de::DeserializeOwned>(
        &self,
        what: impl Fn() -> String,
        digest: &Digest,
        pack: u64,
    ) -> Result<T, StateError> {
        let bytes = self.needed_blob(digest, Some(pack), &what)?;
        self.decode(&what(), &bytes)
    }

    /// A generation with its changes.
    fn full(&self, record: GenerationRecord, pending: bool) -> Result<Generation, StateError> {
        let id = record.id;
        let changes = self.json_blob(
            || {
                if pending {
                    format!("the changes of the interrupted apply (generation {id})")
                } else {
                    format!("the changes of generation {id}")
                }
            },
            &record.changes,
            record.pack,
        )?;
        Ok(Generation { record, changes })
    }

    /// The current generation's id (from the metadata alone).
    pub fn current(&self) -> Result<Option<u64>, StateError> {
        self.meta_u64("current")
    }

    /// Starts storing blobs: a new pack file, written as they come (removing packs
    /// a killed run left without an index).
    /// A writer of the next pack; it knows which of `wanted` the state log has
    /// already (only those: with a long history, every blob's digest is megabytes).
    pub fn blob_writer(&self, wanted: &crate::hash::DigestSet) -> Result<BlobWriter, StateError> {
        let mut packs = std::collections::BTreeSet::new();
        // room for every blob the apply may add (all it wants, its changes and
        // entries): growing it would hold the old table beside the new one
        let mut known = Located::with_capacity_and_hasher(wanted.len() + 4, Default::default());
        self.each_pack_index(|pack, index| {
            packs.insert(pack);
            for slot in index.iter().filter(|s| wanted.contains(&s.digest)) {
                known
                    .entry(slot.digest)
                    .or_insert((pack, slot.offset, slot.len));
            }
        })?;
        packs::remove_orphans(&self.dir, &packs)?;
        let pack = self.next_pack()?;
        Ok(BlobWriter {
            pack,
            writer: packs::PackWriter::create(&self.dir, pack)?,
            known,
        })
    }

    /// The number of the next pack: after every pack indexed, whatever the
    /// metadata says (a damaged `next_pack` never reuses one).
    fn next_pack(&self) -> Result<u64, StateError> {
        let recorded = self.meta_u64("next_pack")?.unwrap_or(1);
        let indexed = self
            .blobs
            .last()
            .map_err(|e| self.db(e))?
            .and_then(|(k, _)| <[u8; 8]>::try_from(k.as_ref()).ok())
            .map_or(0, |k| u64::from_be_bytes(k) + 1);
        Ok(recorded.max(indexed).max(1))
    }

    /// Makes the blobs durable and records their index (flushed by the
    /// [`StateStore::begin`] that follows).
    /// Returns where each blob asked about or added is.
    pub fn finish_blobs(&self, blobs: BlobWriter) -> Result<Located, StateError> {
        let index = blobs.writer.finish()?;
        let located = blobs.known;
        if !index.is_empty() {
            self.blobs
                .insert(blobs.pack.to_be_bytes(), Self::encode(&index))
                .map_err(|e| self.db(e))?;
            self.set_meta("next_pack", blobs.pack + 1)?;
        }
        *self.blob_slots.borrow_mut() = None;
        *self.one_pack.borrow_mut() = None;
        Ok(located)
    }

    /// The bytes of a blob where [`StateStore::finish_blobs`] said it is (checked
    /// against its digest), else wherever it is.
    pub fn located_blob(
        &self,
        digest: &Digest,
        located: &Located,
        what: impl FnOnce() -> String,
    ) -> Result<Vec<u8>, StateError> {
        match located.get(digest) {
            Some(&(pack, offset, len)) => {
                let slot = Slot {
                    digest: *digest,
                    offset,
                    len,
                };
                self.read(pack, &slot)
            }
            None => self.needed_blob(digest, None, what),
        }
    }

    /// The id the next generation gets.
    pub fn next_id(&self) -> Result<u64, StateError> {
        let last = self.generations.last().map_err(|e| self.db(e))?;
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
            .map_err(|e| self.db(e))?;
        self.flush()
    }

    /// Drops a pending generation without committing it (nothing left to do).
    pub fn clear_pending(&self) -> Result<(), StateError> {
        self.meta.remove("pending").map_err(|e| self.db(e))?;
        self.flush()
    }

    /// Undoes [`StateStore::finish_blobs`] and [`StateStore::begin`] of an apply
    /// that failed and put every file back: its pending generation and its pack go,
    /// so that the state log is as it was before.
    /// `interrupted`: the pending generation of a killed run that this apply had
    /// taken over; it is pending again, so that the next run still finishes it.
    pub fn abandon(
        &self,
        pack: u64,
        interrupted: Option<&GenerationRecord>,
    ) -> Result<(), StateError> {
        match interrupted {
            Some(record) => self
                .meta
                .insert("pending", Self::encode(record))
                .map(drop)
                .map_err(|e| self.db(e))?,
            None => self
                .meta
                .remove("pending")
                .map(drop)
                .map_err(|e| self.db(e))?,
        }
        let indexed = self
            .blobs
            .remove(pack.to_be_bytes())
            .map_err(|e| self.db(e))?
            .is_some();
        if indexed && self.meta_u64("next_pack")? == Some(pack + 1) {
            if pack == 1 {
                self.meta.remove("next_pack").map_err(|e| self.db(e))?;
            } else {
                self.set_meta("next_pack", pack)?;
            }
        }
        self.flush()?;
        self.pack_files.borrow_mut().remove(&pack);
        match fs_err::remove_file(packs::pack_path(&self.dir, pack)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Step 4: pending → current, serial bumped, in one transaction.
    /// `lockfile`: the digest of the `mpm.lock` that now records the entries (a
    /// plan that finds those bytes there needs not read it).
    /// `secret_key`: kept as the log's key of keyed hashes if it has none yet.
    pub fn commit(
        &self,
        generation: &GenerationRecord,
        lockfile: Option<Digest>,
        secret_key: &crate::secret::Key,
    ) -> Result<(), StateError> {
        let keep_key = self
            .meta
            .get("secret_key")
            .map_err(|e| self.db(e))?
            .is_none();
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
                if keep_key {
                    m.insert("secret_key", secret_key.as_bytes().as_slice())?;
                }
                match lockfile {
                    Some(d) => m.insert("lockfile", d.as_bytes().as_slice())?,
                    None => m.remove("lockfile")?,
                };
                Ok::<(), sled::transaction::ConflictableTransactionError<()>>(())
            })
            .map_err(|e| self.corrupt(format!("{e:?}")))?;
        self.flush()
    }

    pub fn flush(&self) -> Result<(), StateError> {
        self.db.flush().map(drop).map_err(|e| self.db(e))
    }

    /// Every generation kept, oldest first (without their changes).
    pub fn generations(&self) -> Result<Vec<GenerationRecord>, StateError> {
        self.generations
            .iter()
            .map(|item| {
                let (_, v) = item.map_err(|e| self.db(e))?;
                self.decode("generation", &v)
            })
            .collect()
    }

    /// One generation with its changes.
    pub fn generation(&self, id: u64) -> Result<Generation, StateError> {
        match self
            .generations
            .get(id.to_be_bytes())
            .map_err(|e| self.db(e))?
        {
            Some(v) => self.full(self.decode("generation", &v)?, false),
            None => Err(StateError::NoGeneration(id)),
        }
    }

    /// The managed paths right after generation `id` (`0`: before the first).
    pub fn snapshot(&self, id: u64) -> Result<Entries, StateError> {
        if id == 0 {
            return Ok(Entries::new());
        }
        match self.entries.get(id.to_be_bytes()).map_err(|e| self.db(e))? {
            Some(v) => {
                let digest = Digest::from_bytes(&v)
                    .ok_or_else(|| self.corrupt("an entries value is not a digest"))?;
                // the generation's record says which pack (unless it was pruned)
                let pack = match self
                    .generations
                    .get(id.to_be_bytes())
                    .map_err(|e| self.db(e))?
                {
                    Some(r) => self.decode::<GenerationRecord>("generation", &r)?.pack,
                    None => 0,
                };
                self.json_blob(
                    || format!("the managed paths right after generation {id}"),
                    &digest,
                    pack,
                )
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
        if let Some(v) = self.meta.get("pending").map_err(|e| self.db(e))? {
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
                .map_err(|e| self.db(e))?
        {
            live.extend(Digest::from_bytes(&v));
        }
        // a pack a killed apply or prune left without an index is garbage
        let indexes = self.pack_indexes()?;
        packs::remove_orphans(&self.dir, &indexes.iter().map(|(p, _)| *p).collect())?;
        // every byte still needed is read before anything is dropped: a pack that
        // lost some of them stops the prune before it changed anything
        let needed = |slot: &Slot, pack: u64| {
            self.needed_blob(&slot.digest, Some(pack), || {
                format!(
                    "blob {}, which the generations kept still need",
                    slot.digest.short()
                )
            })
        };
        let mut rewrites = Vec::new();
        let mut removed = 0;
        for (pack, index) in indexes {
            let (keep_slots, dead): (Vec<Slot>, Vec<Slot>) =
                index.into_iter().partition(|s| live.contains(&s.digest));
            if dead.is_empty() {
                continue;
            }
            removed += dead.len();
            for slot in &keep_slots {
                needed(slot, pack)?;
            }
            rewrites.push((pack, keep_slots));
        }
        for (pack, keep_slots) in rewrites {
            if !keep_slots.is_empty() {
                let next = self.next_pack()?;
                let mut writer = BlobWriter {
                    pack: next,
                    writer: packs::PackWriter::create(&self.dir, next)?,
                    known: Default::default(),
                };
                for slot in &keep_slots {
                    writer.add(slot.digest, &needed(slot, pack)?)?;
                }
                self.finish_blobs(writer)?;
            }
            self.pack_files.borrow_mut().remove(&pack);
            // the rewritten pack is durable and indexed before the old one goes
            self.blobs
                .remove(pack.to_be_bytes())
                .map_err(|e| self.db(e))?;
            self.flush()?;
            // a pack already lost holds nothing anyone needs any more
            match fs_err::remove_file(packs::pack_path(&self.dir, pack)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        for generation in dropped.iter() {
            self.generations
                .remove(generation.id.to_be_bytes())
                .map_err(|e| self.db(e))?;
            if Some(generation.id) != still_needed {
                self.entries
                    .remove(generation.id.to_be_bytes())
                    .map_err(|e| self.db(e))?;
            }
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
    /// Where the blobs are that the state log has of those asked about, and
    /// those added.
    known: Located,
}

/// Where blobs are: pack, offset, length.
pub type Located = crate::hash::DigestMap<(u64, u64, u64)>;

impl BlobWriter {
    /// Whether the state log has these bytes already.
    pub fn knows(&self, digest: &Digest) -> bool {
        self.known.contains_key(digest)
    }

    pub fn add(&mut self, digest: Digest, bytes: &[u8]) -> Result<(), StateError> {
        if let std::collections::hash_map::Entry::Vacant(e) = self.known.entry(digest) {
            let offset = self.writer.add(digest, bytes)?;
            e.insert((self.pack, offset, bytes.len() as u64));
        }
        Ok(())
    }

    /// Stores a value as a JSON blob, serialised straight into the pack (the
    /// changes of 10 000 paths are a few MB); returns its digest.
    pub fn add_json<T: serde::Serialize>(&mut self, value: &T) -> Result<Digest, StateError> {
        let known = &self.known;
        let (digest, at) = self.writer.add_streamed(
            |out| serde_json::to_writer(out, value).map_err(std::io::Error::from),
            |digest| known.contains_key(digest),
        )?;
        if let Some((offset, len)) = at {
            self.known.insert(digest, (self.pack, offset, len));
        }
        Ok(digest)
    }

    /// The sizes of these blobs.
    pub fn sizes(&self, versions: impl Iterator<Item = crate::plan::Seen>) -> HashMap<Digest, u64> {
        versions
            .filter_map(|v| self.known.get(&v.digest).map(|n| (v.digest, n.2)))
            .collect()
    }

    /// Gives up the pack being written (an error before it was indexed).
    pub fn discard(self) {
        self.writer.discard();
    }
}
