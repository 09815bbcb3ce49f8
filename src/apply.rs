//! Executing a plan, crash-safely, in the order of `architecture.md`:
//! 1. check every path is still what the plan saw (under the lock) — a refusal
//!    writes nothing;
//! 2. store new contents and every pre-image as blobs, and the intended result as a
//!    pending generation; flush;
//! 3. replace the files (through [`System`]);
//! 4. commit the generation (pending → current, entries) in one transaction; flush.
//!
//! Bytes stream through: each file's bytes are produced by the [`Source`] once, into
//! the blob pack, and read back from it a bounded batch at a time to be written, so
//! memory does not grow with the number of agents.

use crate::Error;
use crate::actual;
use crate::desired::{Source, checked_bytes};
use crate::plan::{Action, Plan, Row};
use crate::state::{
    Change, Counts, Entries, FileVersion, Generation, GenerationRecord, LastApplied, ManifestInfo,
    StateError, StateStore,
};
use crate::system::{FileWrite, System};
use crate::target::Target;
use std::path::PathBuf;
use std::sync::Arc;

/// How many bytes of files are written (and fsynced) per batch.
const BATCH_BYTES: usize = 2 << 20;

/// What a generation is about, beyond its changes.
#[derive(Debug, Clone)]
pub struct Context {
    pub command: String,
    pub manifest: Option<ManifestInfo>,
    pub rollback_to: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub generation: Option<u64>,
    pub counts: Counts,
    pub stray_temps: usize,
}

/// Executes `plan`; `source` produces the bytes of the files it writes.
pub fn execute(
    plan: &Plan,
    source: &dyn Source,
    target: &Target,
    store: &StateStore,
    last: &LastApplied,
    system: &mut dyn System,
    context: &Context,
) -> Result<Outcome, Error> {
    // 1. nothing moved since the plan was made
    check_fresh(plan, target, last)?;
    let rows: Vec<&Row> = plan.rows.iter().filter(|r| r.changes_state()).collect();

    // 2. every pre-image and every new version is durable before any file is
    //    touched, and so is the intended result (the pending generation)
    let mut blobs = store.blob_writer()?;
    for row in &rows {
        if let Some(before) = row.before.filter(|b| !blobs.knows(&b.digest)) {
            let (now, bytes) = actual::read_one(&target.path_of(&row.address))?;
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
    // the generation's changes and the entries after it go into the same pack
    let changes: Vec<Change> = rows
        .iter()
        .map(|r| change_of(r, last.pending.as_ref()))
        .collect();
    let changes_digest = blobs.add_json(&changes)?;
    drop(changes);
    let entries_digest = blobs.add_json(&entries_after(plan))?;
    let pack = blobs.pack;
    store.finish_blobs(blobs)?;
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
        changes: changes_digest,
        entries: entries_digest,
        pack,
    };
    store.begin(&generation)?;

    // 3. the files, a batch at a time, each file replaced atomically
    let removals: Vec<PathBuf> = rows
        .iter()
        .filter(|r| r.action == Action::Delete)
        .map(|r| target.path_of(&r.address))
        .collect();
    let mut dirs: Vec<PathBuf> = rows
        .iter()
        .filter_map(|r| target.path_of(&r.address).parent().map(|d| d.to_path_buf()))
        .collect();
    dirs.sort();
    dirs.dedup();
    let stray_temps = system.remove_stray_temps(&dirs)?;
    let mut batch: Vec<FileWrite> = Vec::new();
    let mut batch_bytes = 0;
    for row in rows.iter().filter(|r| r.writes()) {
        let Some(after) = row.after else { continue };
        let bytes = store
            .blob_in(&after.digest, pack)?
            .ok_or_else(|| StateError::Corrupt {
                dir: target.state_dir.clone(),
                detail: format!("the bytes of `{}` were stored and are missing", row.address),
            })?;
        batch_bytes += bytes.len();
        batch.push(FileWrite {
            path: target.path_of(&row.address),
            content: Arc::from(bytes),
            mode: after.mode,
        });
        if batch_bytes >= BATCH_BYTES {
            system.commit_files(&std::mem::take(&mut batch), &[])?;
            batch_bytes = 0;
        }
    }
    system.commit_files(&batch, &removals)?;

    // 4. commit
    store.commit(&generation)?;
    Ok(Outcome {
        generation: Some(id),
        counts,
        stray_temps,
    })
}

/// With nothing left to do, what a killed run left behind goes: its uncommitted
/// generation and its temp files.
pub fn finish_interrupted(
    store: &StateStore,
    target: &Target,
    last: &LastApplied,
    system: &mut dyn System,
) -> Result<(), Error> {
    let Some(pending) = &last.pending else {
        return Ok(());
    };
    let mut dirs: Vec<PathBuf> = pending
        .changes
        .iter()
        .filter_map(|c| target.path_of(&c.address).parent().map(|d| d.to_path_buf()))
        .collect();
    dirs.sort();
    dirs.dedup();
    system.remove_stray_temps(&dirs)?;
    store.clear_pending()?;
    Ok(())
}

fn stale(address: &crate::address::Address) -> Error {
    Error::StalePlan {
        file: "plan".into(),
        changes: vec![format!("`{address}` changed since the plan was made")],
    }
}

/// Checks that the state log and every path the plan acts on are still what the plan
/// saw.
pub fn check_fresh(plan: &Plan, target: &Target, last: &LastApplied) -> Result<(), Error> {
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
    for row in plan.rows.iter().filter(|r| r.changes_state()) {
        let (now, _) = actual::read_one(&target.path_of(&row.address))?;
        if now.digest() != row.before.map(|b| b.digest) {
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
fn change_of(row: &Row, interrupted: Option<&Generation>) -> Change {
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

/// The managed paths after the plan: every path mpm keeps has a row in it (a no-op
/// row carries the entry as it is), so the new entries come from the rows alone.
fn entries_after(plan: &Plan) -> Entries {
    plan.rows
        .iter()
        .filter(|r| {
            matches!(
                r.action,
                Action::Create | Action::Update | Action::Record | Action::NoOp
            )
        })
        .filter_map(|r| r.entry_after.clone().map(|e| (r.address.clone(), e)))
        .collect()
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
        };
        // the killed run had replaced the file: its pre-image (v1) is this one's
        assert_eq!(
            change_of(&row("v2"), Some(&killed)).before,
            Some(version("v1"))
        );
        // it had not got to it: what is on disk is the pre-image
        assert_eq!(
            change_of(&row("v1"), Some(&killed)).before,
            Some(version("v1"))
        );
        assert_eq!(change_of(&row("v2"), None).before, Some(version("v2")));
    }
}
