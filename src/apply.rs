//! Executing a plan, crash-safely, in the order of `architecture.md`:
//! 1. check every path is still what the plan saw (under the lock), and what can
//!    be known before writing: every directory writable, every file replaceable —
//!    a refusal writes nothing;
//! 2. store new contents and every pre-image as blobs, check there is room for the
//!    files, and record the intended result as a pending generation; flush;
//! 3. replace the files (through [`System`]);
//! 4. commit the generation (pending → current, entries) in one transaction; flush.
//!
//! A kill at any instant leaves each file old or new, and the next run finishes
//! the work. An *error* changes nothing: every file already replaced is put back
//! from its pre-image, the pending generation and its pack are dropped, and the
//! error says so. Only when putting back fails too does the apply stay pending,
//! as after a kill.
//!
//! Bytes stream through: each file's bytes are produced by the [`Source`] once, into
//! the blob pack, and read back from it a bounded batch at a time to be written, so
//! memory does not grow with the number of agents.

use crate::Error;
use crate::actual;
use crate::desired::{Source, checked_bytes};
use crate::diagnose::Diagnose;
use crate::hash::Digest;
use crate::lockfile::Lockfile;
use crate::plan::{Action, Plan, Row};
use crate::state::{
    BlobWriter, Change, Counts, FileVersion, Generation, GenerationRecord, LastApplied, Located,
    ManifestInfo, StateError, StateStore,
};
use crate::system::{self, FileWrite, Progress, System, Temps};
use crate::target::Target;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// How many bytes of files are written (and fsynced) per batch.
const BATCH_BYTES: usize = 2 << 20;

/// What a generation is about, beyond its changes.
#[derive(Debug, Clone)]
pub struct Context {
    pub command: String,
    pub manifest: Option<ManifestInfo>,
    pub rollback_to: Option<u64>,
    /// The `mpm.lock` to bring up to date with the entries after the apply
    /// (`None`: the target is not the manifest's own).
    pub lockfile: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub generation: Option<u64>,
    pub counts: Counts,
    pub stray_temps: usize,
}

/// Why an apply stopped; in every case but the last, nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("cannot apply: `{path}` is not writable: {cause}; nothing was changed")]
    NotWritable { path: String, cause: std::io::Error },
    #[error("cannot apply: `{path}` cannot be replaced: {cause}; nothing was changed")]
    NotReplaceable { path: String, cause: std::io::Error },
    #[error(
        "cannot apply: not enough free space for `{path}` ({} needed, {} free); nothing was changed",
        size(*needed),
        size(*free)
    )]
    NoRoom {
        path: String,
        needed: u64,
        free: u64,
    },
    #[error(
        "cannot apply: no free inodes for `{path}` ({needed} needed, {free} free); nothing was changed"
    )]
    NoInodes {
        path: String,
        needed: u64,
        free: u64,
    },
    #[error("{verb} failed: {cause}; nothing was changed")]
    Failed {
        verb: &'static str,
        cause: Box<Error>,
        /// Files that had been replaced, created or removed, and were put back.
        restored: usize,
    },
    #[error(
        "{verb} failed: {cause}; and putting back the files already replaced failed too: {undo}"
    )]
    NotRestored {
        verb: &'static str,
        cause: Box<Error>,
        undo: Box<Error>,
    },
}

impl ApplyError {
    /// Whether the apply was left pending (files not all put back).
    pub fn is_pending(&self) -> bool {
        matches!(self, ApplyError::NotRestored { .. })
    }
}

fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 10 << 20 => format!("{} MiB", b >> 20),
        b if b >= 10 << 10 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

impl Diagnose for ApplyError {
    fn causes(&self) -> Vec<String> {
        match self {
            ApplyError::Failed { restored, .. } if *restored > 0 => vec![format!(
                "{restored} file{} already replaced {} put back",
                if *restored == 1 { "" } else { "s" },
                if *restored == 1 { "was" } else { "were" },
            )],
            _ => Vec::new(),
        }
    }

    fn hint(&self) -> Option<String> {
        Some(match self {
            ApplyError::NotWritable { .. } => "make it writable (`chmod u+w`, `chattr -i`, or a read-write mount) and apply again".into(),
            ApplyError::NotReplaceable { .. } => "make the file writable, or move it away, and apply again".into(),
            ApplyError::NoRoom { .. } | ApplyError::NoInodes { .. } => "free some space and apply again".into(),
            ApplyError::Failed { verb, .. } => format!("fix what failed and run `mpm {verb}` again"),
            ApplyError::NotRestored { .. } => "the state log keeps this run as interrupted, as after a kill: once the cause is fixed, `mpm apply` finishes it, and `mpm rollback` after it returns to the state before".into(),
        })
    }
}

/// Executes `plan`; `source` produces the bytes of the files it writes.
pub fn execute(
    plan: &Plan,
    source: &dyn Source,
    target: &Target,
    store: &StateStore,
    last: &LastApplied,
    system: &dyn System,
    context: &Context,
) -> Result<Outcome, Error> {
    // 1. nothing moved since the plan was made, and nothing in the way is known
    check_fresh(plan, target, last, system)?;
    let rows: Vec<&Row> = plan.rows.iter().filter(|r| r.changes_state()).collect();
    check_writable(
        &rows,
        target,
        store.dir(),
        context.lockfile.as_deref(),
        system,
    )?;

    // 2. every pre-image and every new version is durable before any file is
    //    touched, and so is the intended result (the pending generation)
    let verb = if context.rollback_to.is_some() {
        "rollback"
    } else {
        "apply"
    };
    let wanted: crate::hash::DigestSet = rows
        .iter()
        .flat_map(|r| [r.before, r.after])
        .flatten()
        .map(|v| v.digest)
        .collect();
    // the settings files, edited in memory: a part that cannot be put in place
    // stops the apply before anything is stored
    let mut positions = HashMap::new();
    let composed = compose(&rows, source, target, last, system, &mut positions)?;
    let mut blobs = store.blob_writer(&wanted)?;
    drop(wanted);
    let pack = blobs.pack;
    let stored = store_blobs(plan, source, target, last, system, &positions, &mut blobs).and_then(
        |digests| {
            // `mpm.lock` as it is now is a pre-image like any other: kept in the pack, not
            // in memory, for a failure to put back
            Ok((digests, lock_pre_image(context, last, &mut blobs)?))
        },
    );
    // a state folder that cannot take the bytes (a full disk) fails the apply
    // before any file is touched: that says so
    let failed = |e: Error| {
        let io = match &e {
            Error::Io(_) => true,
            Error::State(s) => matches!(**s, StateError::Io(_)),
            _ => false,
        };
        if io {
            ApplyError::Failed {
                verb,
                cause: Box::new(e),
                restored: 0,
            }
            .into()
        } else {
            e
        }
    };
    // what rendering every file for its blob freed goes back to the system
    // (10 000 agents: 5 MB); the pack's index and the state log's next buffers
    // come from mappings of their own, and would not reuse it
    crate::memory::release_freed();
    let ((changes, entries), lock_before) = match stored {
        Ok(digests) => digests,
        Err(e) => {
            blobs.discard();
            return Err(failed(e));
        }
    };
    // a settings file counts a block for each part it gets: they are small
    let sizes = blobs.sizes(rows.iter().filter(|r| r.writes()).filter_map(|r| r.after));
    let located = match store.finish_blobs(blobs) {
        Ok(located) => located,
        Err(e) => {
            let _ = store.abandon(pack, last.pending.as_ref().map(|g| &g.record));
            return Err(failed(e.into()));
        }
    };
    let abandon = |e: Error| match store.abandon(pack, last.pending.as_ref().map(|g| &g.record)) {
        Ok(()) => e,
        Err(undo) => Error::from(ApplyError::NotRestored {
            verb,
            cause: Box::new(e),
            undo: Box::new(undo.into()),
        }),
    };
    check_room(&rows, &sizes, target, system).map_err(|e| abandon(e.into()))?;
    let id = store.next_id()?;
    let counts = counts_of(plan);
    let generation = GenerationRecord {
        id,
        parent: last.current,
        time: crate::state::now_string(),
        command: context.command.clone(),
        rollback_to: context.rollback_to,
        manifest: context.manifest.clone(),
        counts: counts.clone(),
        changes,
        entries,
        pack,
        temps: Some(temp_tag(id, last)),
    };
    store
        .begin(&generation)
        .map_err(|e| abandon(failed(e.into())))?;

    // 3. the files, a batch at a time, each file replaced atomically
    let mut temps = Temps::new(generation.temps.clone().unwrap_or_default());
    let mut progress = Progress::default();
    let undo = Undo {
        rows: &rows,
        target,
        store,
        pack,
        located: &located,
        system,
        interrupted: last.pending.as_ref().map(|g| &g.record),
        lock: None,
        verb,
        composed: &composed,
    };
    let from_pack = |row: &Row| -> Result<Vec<u8>, Error> {
        let digest = row
            .after
            .map(|a| a.digest)
            .ok_or_else(|| stale(&row.address))?;
        Ok(self::stored(store, &digest, &located, &row.address)?)
    };
    let written = write_files(
        &rows,
        &composed,
        target,
        &from_pack,
        system,
        &mut temps,
        &mut progress,
    );
    // and what the batches of files freed, before mpm.lock is rendered
    crate::memory::release_freed();
    if let Err(cause) = written {
        return Err(undo.put_back(cause, &mut temps, progress));
    }
    // mpm.lock, rendered only now: it is not held while files are written
    let (lock, new_lock) = context
        .lockfile
        .as_ref()
        .map(|path| {
            let new = Lockfile::render_of(plan.entries_after_iter(), &plan.packages);
            let lock = LockUpdate {
                path: path.clone(),
                old: lock_before.map(|(digest, _)| digest),
                of_entries: lock_before
                    .filter(|(_, stored)| !stored)
                    .map(|_| &last.entries),
                digest: Digest::of(&new),
            };
            (lock, new)
        })
        .unzip();
    let undo = Undo {
        lock: lock.as_ref(),
        ..undo
    };
    if let (Some(lock), Some(new)) = (lock.as_ref(), new_lock)
        && lock.old != Some(lock.digest)
    {
        let write = FileWrite {
            path: lock.path.clone(),
            content: new,
            mode: crate::desired::FILE_MODE,
        };
        if let Err(cause) =
            system::commit_files(system, &[write], &[], &mut temps, &mut Progress::default())
        {
            return Err(undo.put_back(cause.into(), &mut temps, progress));
        }
    }

    // 4. commit; a commit that did not happen is undone like a failed write
    let lock_digest = lock.as_ref().map(|l| l.digest);
    if let Err(cause) = store.commit(&generation, lock_digest, &last.secret_key) {
        if store.current().ok().flatten() == Some(id) {
            return Err(cause.into());
        }
        return Err(undo.put_back(cause.into(), &mut temps, progress));
    }
    // what a killed run left goes once this one is done: a failure above must
    // leave the disk as it was, leftovers included
    let stray_temps = remove_stray_temps(system, last, target, context.lockfile.as_deref())?;
    Ok(Outcome {
        generation: Some(id),
        counts,
        stray_temps,
    })
}

/// An apply rehearsed: every check a real one makes before its first write (nothing
/// moved since the plan, every directory writable, every file replaceable, room),
/// the settings files composed, and every file written and removed, all against
/// `system` (a [`system::Recording`] one for a dry run, which writes nothing). The
/// state log is not touched.
pub fn rehearse(
    plan: &Plan,
    source: &dyn Source,
    target: &Target,
    last: &LastApplied,
    lockfile: Option<&Path>,
    system: &dyn System,
) -> Result<(), Error> {
    check_fresh(plan, target, last, system)?;
    let rows: Vec<&Row> = plan.rows.iter().filter(|r| r.changes_state()).collect();
    check_writable(&rows, target, &target.state_dir, lockfile, system)?;
    let composed = compose(&rows, source, target, last, system, &mut HashMap::new())?;
    let bytes_of = |row: &Row| -> Result<Vec<u8>, Error> {
        let digest = row
            .after
            .map(|a| a.digest)
            .ok_or_else(|| stale(&row.address))?;
        checked_bytes(source, &row.address, &digest)
    };
    let mut sizes = HashMap::new();
    for row in rows.iter().filter(|r| r.writes() && !r.address.is_part()) {
        if let Some(after) = row.after {
            sizes.insert(after.digest, bytes_of(row)?.len() as u64);
        }
    }
    check_room(&rows, &sizes, target, system)?;
    let mut temps = Temps::new("dry-run".into());
    write_files(
        &rows,
        &composed,
        target,
        &bytes_of,
        system,
        &mut temps,
        &mut Progress::default(),
    )
}

/// `mpm.lock` as it was and as the entries after the plan make it. What it was
/// is not held: it is what the last generation's entries render to, or a blob
/// in this apply's pack.
struct LockUpdate<'a> {
    path: PathBuf,
    old: Option<Digest>,
    /// The entries the old file renders from (`None`: it is in the pack).
    of_entries: Option<&'a crate::state::Entries>,
    /// The digest of the new file (its bytes go to the write, and are not kept).
    digest: Digest,
}

impl LockUpdate<'_> {
    /// The bytes the file held before this apply.
    fn old_bytes(
        &self,
        store: &StateStore,
        located: &Located,
    ) -> Result<Option<Vec<u8>>, StateError> {
        let Some(old) = &self.old else {
            return Ok(None);
        };
        if let Some(entries) = self.of_entries {
            // only a file without pins is rendered again (`lock_pre_image`)
            return Ok(Some(Lockfile::render_of(entries, &Default::default())));
        }
        store
            .located_blob(old, located, || {
                format!("the `{}` this apply replaced", self.path.display())
            })
            .map(Some)
    }
}

/// The digest of the `mpm.lock` this apply may replace (`None`: there is none),
/// and whether its bytes had to be stored in the pack for a failure to put them
/// back: the file the last generation wrote is rendered again from its entries.
fn lock_pre_image(
    context: &Context,
    last: &LastApplied,
    blobs: &mut BlobWriter,
) -> Result<Option<(Digest, bool)>, Error> {
    let Some(path) = &context.lockfile else {
        return Ok(None);
    };
    let shown = path.display().to_string();
    // the file the last generation wrote is known by its digest alone: neither
    // it nor what the entries render to is held (10 000 agents: 2 MB each)
    if let Some(digest) = Lockfile::digest_file(path, &shown)?
        && last.lockfile == Some(digest)
        // a file with pins is kept in the pack: its pins are not in the entries
        && Lockfile::digest_of(&last.entries, &Default::default()) == digest
    {
        return Ok(Some((digest, false)));
    }
    // not through a link, not waiting on a pipe planted there
    let Some(bytes) = Lockfile::read_bytes(path, &shown)? else {
        return Ok(None);
    };
    let digest = Digest::of(&bytes);
    blobs.add(digest, &bytes)?;
    Ok(Some((digest, true)))
}

/// Stores every pre-image and new version of the plan's rows that change state,
/// and the generation's changes and the entries after it, in the pack; returns the
/// digests of those two.
fn store_blobs(
    plan: &Plan,
    source: &dyn Source,
    target: &Target,
    last: &LastApplied,
    system: &dyn System,
    positions: &HashMap<crate::address::Address, u32>,
    blobs: &mut BlobWriter,
) -> Result<(Digest, Digest), Error> {
    let rows: Vec<&Row> = plan.rows.iter().filter(|r| r.changes_state()).collect();
    for row in &rows {
        if row.address.is_part() {
            // a secret's value is in no blob (a rollback reads its variable again),
            // and neither is what stood where a secret goes
            let part = row.part.as_deref();
            if let Some(before) = row
                .before
                .filter(|b| !row.sensitive && !blobs.knows(&b.digest))
            {
                match part.and_then(|v| v.before.as_deref()) {
                    Some(json) if Digest::of(json.as_bytes()) == before.digest => {
                        blobs.add(before.digest, json.as_bytes())?
                    }
                    _ => return Err(stale(&row.address)),
                }
            }
            // and as the file wrote it, for a rollback to put back byte for byte
            if let Some(text) = part
                .and_then(|v| v.before_text.as_deref())
                .filter(|_| !row.sensitive)
            {
                let digest = Digest::of(text.as_bytes());
                if !blobs.knows(&digest) {
                    blobs.add(digest, text.as_bytes())?;
                }
            }
            if let Some(after) = row
                .after
                .filter(|a| row.writes() && row.secret().is_none() && !blobs.knows(&a.digest))
            {
                let (_, canonical) =
                    crate::desired::checked_part(source, &row.address, &after.digest)?;
                blobs.add(after.digest, &canonical)?;
            }
            if let (Some(after), Some(text)) = (row.after, part.and_then(|p| p.text))
                && row.writes()
                && row.secret().is_none()
                && !blobs.knows(&text)
            {
                let (written, _) =
                    crate::desired::checked_part(source, &row.address, &after.digest)?;
                if Digest::of(&written) == text {
                    blobs.add(text, &written)?;
                }
            }
            continue;
        }
        if let Some(before) = row.before.filter(|b| !blobs.knows(&b.digest)) {
            let (now, bytes) = system.look(&target.path_of(&row.address))?;
            match bytes {
                Some(bytes) if now.digest() == Some(before.digest) => {
                    blobs.add(before.digest, &bytes)?
                }
                _ => return Err(stale(&row.address)),
            }
        }
        if let Some(after) = row
            .after
            .filter(|a| row.writes() && !blobs.knows(&a.digest))
        {
            blobs.add(
                after.digest,
                &checked_bytes(source, &row.address, &after.digest)?,
            )?;
        }
    }
    // the generation's changes and the entries after it go into the same pack,
    // serialised as they are made (10 000 of each held at once: 5 MB)
    struct Changes<'a>(
        &'a [&'a Row],
        Option<&'a Generation>,
        &'a LastApplied,
        &'a HashMap<crate::address::Address, u32>,
    );
    impl serde::Serialize for Changes<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(self.0.iter().map(|r| {
                let mut change = change_of(r, self.1, self.2);
                change.position = self.3.get(&r.address).copied();
                change
            }))
        }
    }
    let changes = blobs.add_json(&Changes(&rows, last.pending.as_ref(), last, positions))?;
    let after: std::collections::BTreeMap<_, _> = plan.entries_after_iter().collect();
    let entries = blobs.add_json(&after)?;
    Ok((changes, entries))
}

/// A settings file as the plan leaves it. Its bytes before are held in memory
/// only, to put back on a failure: a settings file may hold secrets, and is never
/// stored whole.
struct Composed {
    path: PathBuf,
    /// `None`: there was no file.
    before: Option<(Vec<u8>, u32)>,
    /// `None`: mpm made the file, and nothing is left in it.
    after: Option<Vec<u8>>,
    mode: u32,
}

/// The bytes a row writes into a settings file, checked against the plan: a
/// secret against its keyed hash (its variable changed since the plan: stale).
fn part_bytes(row: &Row, source: &dyn Source, last: &LastApplied) -> Result<Vec<u8>, Error> {
    let Some(after) = row.after else {
        return Err(stale(&row.address));
    };
    if row.secret().is_none() {
        return crate::desired::checked_part(source, &row.address, &after.digest)
            .map(|(bytes, _)| bytes);
    }
    let bytes = source.bytes(&row.address, &after.digest)?;
    if last.secret_key.digest(&bytes) == after.digest {
        Ok(bytes)
    } else {
        let var = row.secret().unwrap_or("?");
        Err(Error::StalePlan {
            file: "plan".into(),
            changes: vec![format!(
                "the secret `${var}` for `{}` changed since the plan was made",
                row.address
            )],
        })
    }
}

/// Every settings file the rows change, read once and edited part by part, in
/// memory. A file that no longer parses, or a part that no longer fits, makes the
/// plan stale.
fn compose(
    rows: &[&Row],
    source: &dyn Source,
    target: &Target,
    last: &LastApplied,
    system: &dyn System,
    positions: &mut HashMap<crate::address::Address, u32>,
) -> Result<Vec<Composed>, Error> {
    use crate::settings_file::Document;
    let mut by_file: BTreeMap<&str, Vec<&Row>> = BTreeMap::new();
    for row in rows.iter().filter(|r| {
        r.address.is_part() && matches!(r.action, Action::Create | Action::Update | Action::Delete)
    }) {
        by_file.entry(row.address.file()).or_default().push(row);
    }
    let mut out = Vec::new();
    for rows in by_file.into_values() {
        let path = target.path_of(&rows[0].address);
        let stale_file = || stale(&rows[0].address);
        let (mut doc, before) = match system.look(&path)? {
            (actual::Actual::Absent, _) => (Document::default(), None),
            (actual::Actual::File { mode, .. }, Some(bytes)) => (
                Document::parse(&bytes).map_err(|_| stale_file())?,
                Some((bytes, mode)),
            ),
            _ => return Err(stale_file()),
        };
        let mut file_goes = false;
        let mut parts = Vec::new();
        for row in &rows {
            parts.push((*row, row.address.part().ok_or_else(|| stale(&row.address))?));
        }
        // where each part removed stood, in the file as it is: a rollback puts it
        // back there
        for (row, part) in parts.iter().filter(|(r, _)| r.action == Action::Delete) {
            if let Some(at) = doc.index_of(part).and_then(|i| u32::try_from(i).ok()) {
                positions.insert(row.address.clone(), at);
            }
        }
        for (row, part) in parts.iter().filter(|(r, _)| r.action == Action::Delete) {
            let created = last
                .entries
                .get(&row.address)
                .map_or(0, |e| e.part().created);
            doc.remove(part, created);
            file_goes |= usize::from(created) > part.containers().len();
        }
        // put back in the order they stood, so that each index is right
        parts.retain(|(r, _)| r.action != Action::Delete);
        parts.sort_by_key(|(r, _)| r.position().unwrap_or(u32::MAX));
        for (row, part) in parts {
            let bytes = part_bytes(row, source, last)?;
            let value: serde_json::Value =
                serde_json::from_slice(&bytes).map_err(|_| stale(&row.address))?;
            doc.set_at(&part, value, row.position().map(|p| p as usize))
                .map_err(|_| stale(&row.address))?;
        }
        let after = if file_goes && doc.is_empty() {
            None
        } else {
            Some(doc.render())
        };
        if before.as_ref().map(|(b, _)| b) == after.as_ref() {
            continue;
        }
        // a new file that holds a secret is the owner's alone
        let mode = before.as_ref().map_or_else(
            || {
                if rows.iter().any(|r| r.sensitive) {
                    0o600
                } else {
                    crate::desired::FILE_MODE
                }
            },
            |(_, mode)| *mode,
        );
        out.push(Composed {
            path,
            before,
            after,
            mode,
        });
    }
    Ok(out)
}

/// Names this run's temp files apart from anything else in the target.
fn temp_tag(id: u64, last: &LastApplied) -> String {
    let seed = format!(
        "{}{}{:?}{:?}",
        std::process::id(),
        crate::state::now_string(),
        std::time::Instant::now(),
        last.lineage
    );
    format!("g{id}-{}", &Digest::of(seed.as_bytes()).short()[..8])
}

/// The directories the rows write in.
fn dirs_of(rows: &[&Row], target: &Target) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = rows
        .iter()
        .filter_map(|r| target.path_of(&r.address).parent().map(Path::to_path_buf))
        .collect();
    dirs.sort();
    dirs.dedup();
    dirs
}

/// The directory itself, or the nearest one above it that exists (where it will
/// be created).
fn nearest_existing(dir: &Path) -> &Path {
    dir.ancestors()
        .find(|d| std::fs::symlink_metadata(d).is_ok())
        .unwrap_or(dir)
}

/// What can be known before the first write: every directory writable (the
/// state folder's, and `mpm.lock`'s), every file replaceable (`mpm.lock` too).
fn check_writable(
    rows: &[&Row],
    target: &Target,
    state_dir: &Path,
    lockfile: Option<&Path>,
    system: &dyn System,
) -> Result<(), ApplyError> {
    let shown = |p: &Path| crate::paths::display(p, &target.root.join(".."));
    let mut dirs = dirs_of(rows, target);
    dirs.push(state_dir.to_path_buf());
    dirs.extend(lockfile.and_then(Path::parent).map(Path::to_path_buf));
    let mut checked: Vec<&Path> = Vec::new();
    for dir in &dirs {
        let at = nearest_existing(dir);
        if checked.contains(&at) {
            continue;
        }
        checked.push(at);
        system
            .check_dir_writable(at)
            .map_err(|cause| ApplyError::NotWritable {
                path: shown(at),
                cause,
            })?;
    }
    let replaced = rows
        .iter()
        .filter(|r| {
            matches!(r.action, Action::Update | Action::Delete)
                || (r.address.is_part() && r.action == Action::Create)
        })
        .map(|r| target.path_of(&r.address))
        .filter(|p| std::fs::symlink_metadata(p).is_ok())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .chain(lockfile.map(Path::to_path_buf));
    for path in replaced {
        system
            .check_replaceable(&path)
            .map_err(|cause| ApplyError::NotReplaceable {
                path: shown(&path),
                cause,
            })?;
    }
    Ok(())
}

/// Room for the files: each file system where files go must hold their temps
/// (a block each at least) beside the files they replace.
fn check_room(
    rows: &[&Row],
    sizes: &HashMap<Digest, u64>,
    target: &Target,
    system: &dyn System,
) -> Result<(), ApplyError> {
    let shown = |p: &Path| crate::paths::display(p, &target.root.join(".."));
    let mut needed: BTreeMap<u64, (PathBuf, crate::system::Room, u64, u64)> = BTreeMap::new();
    let mut made = std::collections::HashSet::new();
    for row in rows.iter().filter(|r| r.writes()) {
        let Some(after) = row.after else { continue };
        let path = target.path_of(&row.address);
        let dir = path.parent().unwrap_or(&target.root);
        let at = nearest_existing(dir);
        let room = match system.room(at) {
            Ok(room) => room,
            // a file system that cannot tell is not refused for it
            Err(_) => continue,
        };
        let bytes = sizes.get(&after.digest).copied().unwrap_or(0);
        let entry = needed
            .entry(room.device)
            .or_insert_with(|| (at.to_path_buf(), room, 0, 0));
        entry.2 += bytes.div_ceil(room.block) * room.block + room.block;
        // the file's inode, and one for each folder still to be made on its way
        entry.3 += 1;
        for missing in dir.ancestors().take_while(|d| *d != at) {
            if made.insert(missing.to_path_buf()) {
                entry.3 += 1;
            }
        }
    }
    for (_, (at, room, bytes, inodes)) in needed {
        if bytes > room.bytes {
            return Err(ApplyError::NoRoom {
                path: shown(&at),
                needed: bytes,
                free: room.bytes,
            });
        }
        if let Some(free) = room.inodes.filter(|free| inodes > *free) {
            return Err(ApplyError::NoInodes {
                path: shown(&at),
                needed: inodes,
                free,
            });
        }
    }
    Ok(())
}

/// Step 3: every file, a batch at a time; `bytes_of` gives the bytes of an agent
/// file's row (from the blobs an apply stored, or for a dry run from its source).
fn write_files(
    rows: &[&Row],
    composed: &[Composed],
    target: &Target,
    bytes_of: &dyn Fn(&Row) -> Result<Vec<u8>, Error>,
    system: &dyn System,
    temps: &mut Temps,
    progress: &mut Progress,
) -> Result<(), Error> {
    let mut removals: Vec<PathBuf> = rows
        .iter()
        .filter(|r| r.action == Action::Delete && !r.address.is_part())
        .map(|r| target.path_of(&r.address))
        .collect();
    let mut batch: Vec<FileWrite> = Vec::new();
    let mut batch_bytes = 0;
    for file in composed {
        match &file.after {
            Some(bytes) => {
                batch_bytes += bytes.len();
                batch.push(FileWrite {
                    path: file.path.clone(),
                    content: bytes.clone(),
                    mode: file.mode,
                });
            }
            None => removals.push(file.path.clone()),
        }
    }
    for row in rows.iter().filter(|r| r.writes() && !r.address.is_part()) {
        let Some(after) = row.after else { continue };
        let bytes = bytes_of(row)?;
        batch_bytes += bytes.len();
        batch.push(FileWrite {
            path: target.path_of(&row.address),
            content: bytes,
            mode: after.mode,
        });
        if batch_bytes >= BATCH_BYTES {
            system::commit_files(system, &std::mem::take(&mut batch), &[], temps, progress)?;
            batch_bytes = 0;
        }
    }
    system::commit_files(system, &batch, &removals, temps, progress)?;
    Ok(())
}

fn stored(
    store: &StateStore,
    digest: &Digest,
    located: &Located,
    address: &crate::address::Address,
) -> Result<Vec<u8>, StateError> {
    store.located_blob(digest, located, || {
        format!("the bytes of `{address}` this apply stored")
    })
}

/// What an apply that fails after its first write puts back.
#[derive(Clone, Copy)]
struct Undo<'a> {
    rows: &'a [&'a Row],
    target: &'a Target,
    store: &'a StateStore,
    pack: u64,
    /// Where the pre-images are in the state log.
    located: &'a Located,
    system: &'a dyn System,
    /// A killed run's pending generation this apply took over.
    interrupted: Option<&'a GenerationRecord>,
    /// `mpm.lock`, if this apply writes it.
    lock: Option<&'a LockUpdate<'a>>,
    /// `apply` or `rollback`, for the message.
    verb: &'static str,
    /// The settings files, whose bytes before are in memory.
    composed: &'a [Composed],
}

impl Undo<'_> {
    /// After an error in step 3 or 4: every file already replaced, created or
    /// removed goes back to its pre-image, `mpm.lock` to what it held, the
    /// directories made for them go, and so do the pending generation and its pack.
    fn put_back(self, cause: Error, temps: &mut Temps, progress: Progress) -> Error {
        let by_path: HashMap<PathBuf, &Row> = self
            .rows
            .iter()
            .map(|r| (self.target.path_of(&r.address), *r))
            .collect();
        let touched: Vec<&PathBuf> = progress.replaced.iter().chain(&progress.removed).collect();
        let restore = |temps: &mut Temps| -> Result<(), Error> {
            let mut writes = Vec::new();
            let mut removals = Vec::new();
            let mut undone = Progress::default();
            let mut batch_bytes = 0;
            for path in &touched {
                if let Some(file) = self.composed.iter().find(|c| c.path == **path) {
                    match &file.before {
                        Some((bytes, mode)) => writes.push(FileWrite {
                            path: (*path).clone(),
                            content: bytes.clone(),
                            mode: *mode,
                        }),
                        None => removals.push((*path).clone()),
                    }
                    continue;
                }
                let Some(row) = by_path.get(*path) else {
                    continue;
                };
                match row.before {
                    Some(before) => {
                        let bytes = stored(self.store, &before.digest, self.located, &row.address)?;
                        batch_bytes += bytes.len();
                        writes.push(FileWrite {
                            path: (*path).clone(),
                            content: bytes,
                            mode: before.mode,
                        });
                    }
                    None => removals.push((*path).clone()),
                }
                if batch_bytes >= BATCH_BYTES {
                    let batch = std::mem::take(&mut writes);
                    system::commit_files(self.system, &batch, &[], temps, &mut undone)?;
                    batch_bytes = 0;
                }
            }
            system::commit_files(self.system, &writes, &removals, temps, &mut undone)?;
            if let Some(lock) = self.lock {
                let now = crate::lockfile::Lockfile::read_bytes(&lock.path, "")
                    .ok()
                    .flatten()
                    .map(|b| Digest::of(&b));
                if now != lock.old {
                    match lock.old_bytes(self.store, self.located)? {
                        Some(bytes) => {
                            let write = FileWrite {
                                path: lock.path.clone(),
                                content: bytes,
                                mode: crate::desired::FILE_MODE,
                            };
                            system::commit_files(self.system, &[write], &[], temps, &mut undone)?;
                        }
                        None => system::commit_files(
                            self.system,
                            &[],
                            std::slice::from_ref(&lock.path),
                            temps,
                            &mut undone,
                        )?,
                    }
                }
            }
            for dir in progress.created_dirs.iter().rev() {
                // only an empty one: anything another process put there stays
                let _ = self.system.remove_dir(dir);
            }
            self.store.abandon(self.pack, self.interrupted)?;
            Ok(())
        };
        match restore(temps) {
            Ok(()) => ApplyError::Failed {
                verb: self.verb,
                cause: Box::new(cause),
                restored: touched.len(),
            }
            .into(),
            Err(undo) => ApplyError::NotRestored {
                verb: self.verb,
                cause: Box::new(cause),
                undo: Box::new(undo),
            }
            .into(),
        }
    }
}

/// Removes the temp files a killed run left: only those its pending generation
/// names (by tag), in the directories it wrote in; returns how many. A file of
/// anyone else's is never touched, whatever its name.
/// `lockfile`: the `mpm.lock` the run wrote too, whose folder gets the same look.
fn remove_stray_temps(
    system: &dyn System,
    last: &LastApplied,
    target: &Target,
    lockfile: Option<&Path>,
) -> Result<usize, Error> {
    let Some(pending) = &last.pending else {
        return Ok(0);
    };
    let mut dirs: Vec<PathBuf> = pending
        .changes
        .iter()
        .filter_map(|c| target.path_of(&c.address).parent().map(Path::to_path_buf))
        .chain(lockfile.and_then(Path::parent).map(Path::to_path_buf))
        .collect();
    dirs.sort();
    dirs.dedup();
    let mut removed = 0;
    for dir in &dirs {
        for name in system.files_in(dir)? {
            let ours = match &pending.record.temps {
                Some(tag) => system::is_temp_of(&name, tag),
                // a generation of an mpm that named temps `.mpm-tmp.<pid>.<n>`
                None => system::is_old_style_temp(&name),
            };
            if ours {
                system.remove_file(&dir.join(&name))?;
                removed += 1;
            }
        }
    }
    Ok(removed)
}

/// With nothing left to do, what a killed run left behind goes: its uncommitted
/// generation and its temp files.
pub fn finish_interrupted(
    store: &StateStore,
    target: &Target,
    last: &LastApplied,
    system: &dyn System,
    lockfile: Option<&Path>,
) -> Result<usize, Error> {
    if last.pending.is_none() {
        return Ok(0);
    }
    let removed = remove_stray_temps(system, last, target, lockfile)?;
    store.clear_pending()?;
    Ok(removed)
}

fn stale(address: &crate::address::Address) -> Error {
    Error::StalePlan {
        file: "plan".into(),
        changes: vec![format!("`{address}` changed since the plan was made")],
    }
}

/// Checks that the state log and every path the plan acts on are still what the plan
/// saw.
pub fn check_fresh(
    plan: &Plan,
    target: &Target,
    last: &LastApplied,
    system: &dyn System,
) -> Result<(), Error> {
    // no link on the way out of the target appeared since the plan was made
    target.check(plan.rows.iter().map(|r| r.address.clone()))?;
    if let Some(conflict) = plan.conflicts().next() {
        return Err(Error::usage(
            format!("the plan has a conflict at `{}`", conflict.address),
            Some("resolve the conflicts and plan again".to_string()),
        ));
    }
    let mut stale = Vec::new();
    if plan.serial != last.serial || (plan.lineage.is_some() && plan.lineage != last.lineage) {
        stale.push(format!(
            "the state log changed since the plan was made (serial {} → {})",
            plan.serial, last.serial
        ));
    }
    let (parts, files): (Vec<&Row>, Vec<&Row>) = plan
        .rows
        .iter()
        .filter(|r| r.changes_state())
        .partition(|r| r.address.is_part());
    for row in files {
        let (now, _) = system.look(&target.path_of(&row.address))?;
        if now.digest() != row.before.map(|b| b.digest) {
            stale.push(format!("`{}` changed since the plan was made", row.address));
        }
    }
    let mut now = actual::scan(system, target, parts.iter().map(|r| &r.address))?;
    now.seal(
        // the places whose digests are keyed hashes: a secret is, or was, there
        parts
            .iter()
            .filter(|r| r.secret().is_some() || last.is_keyed(&r.address))
            .map(|r| &r.address),
        &last.secret_key,
    );
    for row in parts {
        if now.get(&row.address).digest() != row.before.map(|b| b.digest) {
            stale.push(format!("`{}` changed since the plan was made", row.address));
        }
    }
    if stale.is_empty() {
        Ok(())
    } else {
        Err(Error::StalePlan {
            file: "plan".into(),
            changes: stale,
        })
    }
}

/// What a generation records for a row. A run killed before it committed never
/// became history: where it had already written a file, its pre-image is the
/// pre-image of this generation, which absorbs it, so that undoing this generation
/// returns to the last committed state, not to a half-applied one.
fn change_of(row: &Row, interrupted: Option<&Generation>, last: &LastApplied) -> Change {
    let version = |s: Option<crate::plan::Seen>| {
        s.map(|s| FileVersion {
            digest: s.digest,
            mode: s.mode,
        })
    };
    let (action, after) = match row.action {
        Action::Create => ("create", version(row.after)),
        Action::Update => ("update", version(row.after)),
        Action::Delete => ("delete", None),
        Action::Record => ("record", version(row.after)),
        _ => ("forget", version(row.before)),
    };
    let absorbed = interrupted
        .and_then(|g| g.changes.iter().find(|c| c.address == row.address))
        .filter(|c| c.after.map(|a| a.digest) == row.before.map(|b| b.digest))
        .map(|c| c.before);
    Change {
        address: row.address.clone(),
        action: action.into(),
        before: absorbed.unwrap_or_else(|| version(row.before)),
        after,
        managed: row.entry_after.is_some()
            && !matches!(row.action, Action::Delete | Action::Forget),
        agent: row.agent.clone(),
        version_before: row.version_before.clone(),
        version_after: row.version_after.clone(),
        secret_before: last
            .entries
            .get(&row.address)
            .filter(|e| Some(e.digest) == row.before.map(|b| b.digest))
            .and_then(|e| e.secret().map(str::to_string)),
        secret_after: row.secret().map(str::to_string),
        before_withheld: row.address.is_part() && row.sensitive,
        position: None,
        before_text: row
            .part
            .as_deref()
            .and_then(|v| v.before_text.as_deref())
            .filter(|_| !row.sensitive)
            .map(|t| Digest::of(t.as_bytes())),
        after_text: row
            .part
            .as_deref()
            .and_then(|p| p.text)
            .filter(|_| row.writes()),
    }
}

fn counts_of(plan: &Plan) -> Counts {
    let s = plan.summary();
    Counts {
        added: s.add,
        changed: s.change,
        destroyed: s.destroy,
        recorded: s.record,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::Address;
    use crate::hash::Digest;
    use crate::plan::Seen;

    fn seen(text: &str) -> Seen {
        Seen {
            digest: Digest::of(text.as_bytes()),
            mode: 0o644,
        }
    }

    fn version(text: &str) -> FileVersion {
        FileVersion {
            digest: Digest::of(text.as_bytes()),
            mode: 0o644,
        }
    }

    #[test]
    fn a_generation_absorbs_the_pre_images_of_a_killed_run() {
        let address = Address::parse("agents/a.md").unwrap();
        let killed = Generation::with_changes(vec![Change {
            address: address.clone(),
            action: "update".into(),
            before: Some(version("v1")),
            after: Some(version("v2")),
            managed: true,
            agent: None,
            version_before: None,
            version_after: None,
            secret_before: None,
            secret_after: None,
            before_withheld: false,
            position: None,
            before_text: None,
            after_text: None,
        }]);
        let row = |before: &str| Row {
            address: address.clone(),
            action: Action::Update,
            before: Some(seen(before)),
            after: Some(seen("v3")),
            agent: None,
            version_before: None,
            version_after: None,
            entry_after: None,
            protect: false,
            takeover: None,
            drift: None,
            sensitive: false,
            part: None,
        };
        // the killed run had replaced the file: its pre-image (v1) is this one's
        assert_eq!(
            change_of(&row("v2"), Some(&killed), &LastApplied::default()).before,
            Some(version("v1"))
        );
        // it had not got to it: what is on disk is the pre-image
        assert_eq!(
            change_of(&row("v1"), Some(&killed), &LastApplied::default()).before,
            Some(version("v1"))
        );
        assert_eq!(
            change_of(&row("v2"), None, &LastApplied::default()).before,
            Some(version("v2"))
        );
    }
}
