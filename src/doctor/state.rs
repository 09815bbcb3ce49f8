//! The state log, read as every read-only command reads it ([`StateStore::open`]:
//! a private copy, under the shared lock, nothing created): whether another mpm
//! holds it, whether an apply was interrupted (its lock file naming a process that
//! is gone), whether the next writer could take the lock, and whether every blob
//! the entries and generations refer to is there with the bytes its SHA-256 says.
//! And which settings values mpm wrote as secrets, for the settings checks.

use super::withheld::Secrets;
use super::{Finding, Severity};
use crate::diagnose::Diagnose;
use crate::hash::Digest;
use crate::state::{Holder, LastApplied, LockMode, StateError, StateStore};
use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

/// The lock file in the state folder (`state::lock`'s).
const LOCK_FILE: &str = "lock";

/// What the state log says of the target.
pub struct Read {
    pub findings: Vec<Finding>,
    /// What mpm wrote as secrets: [`Secrets::Unread`] when the log is there and
    /// its entries could not be read.
    pub secrets: Secrets,
}

/// The state log in `dir`, of the target at `root`.
pub fn check(
    dir: &Path,
    root: &Path,
    command: &str,
    timeout: Duration,
    shown: &dyn Fn(&Path) -> String,
) -> Read {
    let unread = |findings| Read {
        findings,
        secrets: Secrets::Unread,
    };
    let store = match StateStore::open(dir, command, timeout, LockMode::Shared) {
        Ok(None) => {
            return Read {
                findings: Vec::new(),
                secrets: Secrets::none(),
            };
        }
        Ok(Some(store)) => store,
        Err(StateError::Locked { holder, .. }) => {
            return unread(vec![locked(dir, holder.as_deref())]);
        }
        Err(e) => return unread(vec![of_error(dir, "state-unreadable", &e)]),
    };
    let mut found = Vec::new();
    found.extend(lock_unwritable(dir, shown));
    if store.lacks_gitignore() {
        let ignore = dir.join(".gitignore");
        found.push(Finding::new(
            Severity::Warning,
            "state-gitignore-missing",
            &ignore,
            "the state folder's `.gitignore` is missing, so git may pick up the state log",
            Some("the next `mpm apply` puts it back".to_string()),
        ));
    }
    let last = match store.last() {
        Ok(last) => last,
        Err(e) => {
            found.push(of_error(dir, state_code(&e), &e));
            return unread(found);
        }
    };
    let secrets = secrets_of(&last, root);
    if let Some(pending) = &last.pending {
        let record = &pending.record;
        let gone = holder_in(&dir.join(LOCK_FILE))
            .map(|h| format!("pid {} on {}, which held the lock, is gone", h.pid, h.host))
            .unwrap_or_else(|| "the process that ran it is gone".into());
        found.push(Finding::new(
            Severity::Warning,
            "state-interrupted",
            dir,
            format!(
                "generation {} (`{}`, since {}) never finished: {gone}",
                record.id, record.command, record.time
            ),
            Some(
                "run `mpm apply` again: it finishes that generation (the lock died with the process, so nothing is stuck)"
                    .to_string(),
            ),
        ));
    }
    found.extend(integrity(&store, &last, dir));
    Read {
        findings: found,
        secrets,
    }
}

/// The secrets of the entries, and those an interrupted apply was writing: its
/// file may hold them already.
fn secrets_of(last: &LastApplied, root: &Path) -> Secrets {
    let entries = last
        .entries
        .iter()
        .filter_map(|(address, e)| Some((address, e.secret()?)));
    let pending = last.pending.iter().flat_map(|p| &p.changes);
    let writing = pending.filter_map(|c| Some((&c.address, c.secret_after.as_deref()?)));
    Secrets::recorded(root, entries.chain(writing))
}

fn locked(dir: &Path, holder: Option<&Holder>) -> Finding {
    let who = holder.map_or_else(
        || "another process".to_string(),
        |h| format!("another mpm, {h}"),
    );
    Finding::new(
        Severity::Warning,
        "state-locked",
        dir,
        format!("{who} holds the state log's lock: the log was not checked"),
        Some("let it finish, then run `mpm doctor` again".to_string()),
    )
}

fn state_code(e: &StateError) -> &'static str {
    match e {
        StateError::MissingBlob { .. } => "state-missing-blob",
        _ => "state-unreadable",
    }
}

/// A state error as a finding: its message, what caused it, its hint.
fn of_error(dir: &Path, code: &'static str, e: &StateError) -> Finding {
    let mut message = e.to_string();
    for cause in e.causes() {
        message.push_str("; ");
        message.push_str(&cause);
    }
    Finding::new(Severity::Error, code, dir, message, e.hint())
}

/// Every blob the generations and entries refer to, read back (which checks its
/// SHA-256). Each missing or damaged one is a finding, once.
fn integrity(store: &StateStore, last: &LastApplied, dir: &Path) -> Vec<Finding> {
    let mut found = Vec::new();
    let mut wanted: Vec<(Digest, String)> = Vec::new();
    let mut seen = HashSet::new();
    let mut want = |digest: Digest, what: String| {
        if seen.insert(digest) {
            wanted.push((digest, what));
        }
    };
    // a secret's value is in no blob, by design
    for (address, entry) in last.entries.iter().filter(|(_, e)| e.is_kept()) {
        want(entry.digest, format!("the current bytes of `{address}`"));
    }
    if let Some(pending) = &last.pending {
        for change in &pending.changes {
            for (v, when) in change.kept() {
                want(
                    v.digest,
                    format!(
                        "the bytes of `{}` {when} the interrupted apply",
                        change.address
                    ),
                );
            }
        }
    }
    let records = match store.generations() {
        Ok(records) => records,
        Err(e) => {
            found.push(of_error(dir, state_code(&e), &e));
            return found;
        }
    };
    for record in records {
        let id = record.id;
        match store.generation(id) {
            Ok(generation) => {
                for change in &generation.changes {
                    for (v, when) in change.kept() {
                        want(
                            v.digest,
                            format!("the bytes of `{}` {when} generation {id}", change.address),
                        );
                    }
                }
            }
            Err(e) => found.push(of_error(dir, state_code(&e), &e)),
        }
        match store.snapshot(id) {
            Ok(entries) => {
                for (address, entry) in entries.iter().filter(|(_, e)| e.is_kept()) {
                    want(
                        entry.digest,
                        format!("the bytes of `{address}` right after generation {id}"),
                    );
                }
            }
            Err(e) => found.push(of_error(dir, state_code(&e), &e)),
        }
    }
    for (digest, what) in wanted {
        if let Err(e) = store.needed_blob(&digest, None, || what) {
            found.push(of_error(dir, state_code(&e), &e));
        }
    }
    found
}

/// Another user's lock file this user may not write: every `mpm apply` here would
/// fail to open it. (Root may write any; a reader needs no write.)
fn lock_unwritable(dir: &Path, shown: &dyn Fn(&Path) -> String) -> Option<Finding> {
    use std::os::unix::fs::MetadataExt;
    if rustix::process::getuid().is_root() {
        return None;
    }
    let path = dir.join(LOCK_FILE);
    let meta = std::fs::symlink_metadata(&path)
        .ok()
        .filter(std::fs::Metadata::is_file)?;
    let refused = rustix::fs::access(&path, rustix::fs::Access::WRITE_OK).is_err();
    refused.then(|| {
        Finding::new(
            Severity::Error,
            "state-lock-unwritable",
            &path,
            format!(
                "the lock file belongs to uid {} and you may not write it: `mpm apply` here fails with `Permission denied`",
                meta.uid()
            ),
            Some(format!(
                "remove it as its owner (`sudo rm {}`): no process holds it, and mpm makes a new one",
                shown(&path)
            )),
        )
    })
}

/// The writer a lock file names, when that process is gone (this host only: a
/// process elsewhere cannot be looked at).
fn holder_in(path: &Path) -> Option<Holder> {
    crate::state::recorded_holder(path).filter(Holder::is_gone)
}
