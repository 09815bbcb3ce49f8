//! The plan: a pure function of the three states (desired, actual, last applied).
//! No I/O here; every row of the three-state table in `architecture.md` is a case of
//! [`diff`], tested with plain values.

mod json;
pub mod saved;
mod text;

pub use json::{PlanJson, to_json, to_json_with};
pub use saved::SavedPlan;
pub use text::{TextOptions, part_name, render_text};

use crate::actual::{Actual, ActualState, OtherKind};
use crate::address::Address;
use crate::desired::{DesiredResource, DesiredState, Record};
use crate::hash::Digest;
use crate::state::{Entry, LastApplied, PartRecord};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// What apply will do at one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Write a file where there is none.
    Create,
    /// Replace a file.
    Update,
    /// Remove a file mpm wrote.
    Delete,
    /// The file already holds the desired bytes: record it as mpm's, write nothing.
    Record,
    /// Drop mpm's record of a path, leave the disk as it is (the file is gone, or a
    /// rollback hands it back to its owner).
    Forget,
    NoOp,
    /// Stops the apply before any write.
    Conflict(Conflict),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Conflict {
    /// mpm wrote the file; it was edited since, and mpm would change it.
    Edited,
    /// A file mpm did not write is where an agent goes.
    Unmanaged,
    /// mpm wrote the file, it was edited since, and mpm would delete it.
    EditedRemoved,
    /// The agent is protected, and the plan would delete it.
    Protected,
    /// Another file declares an agent name mpm writes: Claude Code would load one
    /// of the two, by no documented rule.
    Duplicate,
    /// A directory or symbolic link is where a file goes.
    NotAFile(OtherKind),
}

/// Why a row overwrites something that is not mpm's latest version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Takeover {
    /// `--force`: a hand edit is overwritten (its bytes are kept for rollback).
    Forced,
    /// `--adopt`: a file mpm did not write becomes mpm's.
    Adopted,
}

/// What the plan knew about a file: enough to act, and to check nothing moved since.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    pub digest: Digest,
    pub mode: u32,
}

/// A change noticed outside mpm that does not block the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Drift {
    /// mpm's file was deleted by someone else.
    Deleted,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "saved::RowFields", from = "saved::RowFields")]
pub struct Row {
    pub address: Address,
    pub action: Action,
    /// What is on disk now (`None`: absent).
    pub before: Option<Seen>,
    /// What will be there (`None`: absent or untouched).
    pub after: Option<Seen>,
    /// The agent, and its version before and after.
    pub agent: Option<String>,
    pub version_before: Option<String>,
    pub version_after: Option<String>,
    /// What the state log records for the path after apply (`None`: not mpm's).
    pub entry_after: Option<Entry>,
    pub protect: bool,
    pub takeover: Option<Takeover>,
    pub drift: Option<Drift>,
    /// A secret is written here, read from a variable of mpm's environment when
    /// the plan is applied; or one was, and is removed.
    pub sensitive: bool,
    /// What only the row of a part of a settings file has (`None` for a file).
    /// Boxed: a row is held per managed path, and nearly all are agent files.
    pub part: Option<Box<PartRow>>,
}

/// The row of a part of a settings file: its values, to show (canonical JSON;
/// `None` is absent, or a secret), and how it is written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartRow {
    /// In the file now.
    pub before: Option<String>,
    /// What mpm will write.
    pub after: Option<String>,
    /// What mpm wrote last (shown beside a hand edit).
    pub recorded: Option<String>,
    /// `before` as the file writes it, when that is not its canonical form.
    pub before_text: Option<String>,
    /// The variable of mpm's environment the secret written here is read from.
    pub secret: Option<String>,
    /// Put back where it stood among its siblings (a rollback).
    pub position: Option<u32>,
    /// The blob of the value it writes as written, when not canonical.
    pub text: Option<Digest>,
}

impl Row {
    pub fn writes(&self) -> bool {
        matches!(self.action, Action::Create | Action::Update)
    }

    pub fn changes_state(&self) -> bool {
        !matches!(self.action, Action::NoOp | Action::Conflict(_))
    }

    /// The variable a secret written here is read from.
    pub fn secret(&self) -> Option<&str> {
        self.part.as_deref().and_then(|p| p.secret.as_deref())
    }

    /// Where a part put back stood among its siblings.
    pub fn position(&self) -> Option<u32> {
        self.part.as_deref().and_then(|p| p.position)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PlanOptions {
    /// Overwrite or delete files edited outside mpm, and files mpm did not write.
    pub force: bool,
    /// Take over files mpm did not write that stand where an agent goes.
    pub adopt: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub rows: Vec<Row>,
    /// The state log's serial and lineage the plan was made against.
    pub serial: u64,
    pub lineage: Option<String>,
    /// A killed run left an uncommitted generation; the next apply resolves it.
    pub pending: bool,
    /// The registry agents' pins the plan was made with (mpm.lock's `packages`
    /// afterwards): applying a saved plan takes exactly these.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub packages: crate::lockfile::Packages,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    /// State-only rows (record, forget).
    pub record: usize,
    pub conflicts: usize,
}

impl Plan {
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for row in &self.rows {
            match row.action {
                Action::Create => s.add += 1,
                Action::Update => s.change += 1,
                Action::Delete => s.destroy += 1,
                Action::Record | Action::Forget => s.record += 1,
                Action::Conflict(_) => s.conflicts += 1,
                Action::NoOp => {}
            }
        }
        s
    }

    /// Whether an apply would write anything (files or state).
    pub fn has_changes(&self) -> bool {
        self.rows.iter().any(Row::changes_state)
    }

    /// Whether files would change (what `verify` and `--detailed-exitcode` report).
    pub fn changes_files(&self) -> bool {
        self.rows
            .iter()
            .any(|r| matches!(r.action, Action::Create | Action::Update | Action::Delete))
    }

    /// The managed paths after the plan, in address order: every path mpm keeps
    /// has a row in it (a no-op row carries the entry as it is), so the new
    /// entries come from the rows alone.
    pub fn entries_after_iter(&self) -> impl Iterator<Item = (&Address, &Entry)> {
        self.rows
            .iter()
            .filter(|r| {
                matches!(
                    r.action,
                    Action::Create | Action::Update | Action::Record | Action::NoOp
                )
            })
            .filter_map(|r| r.entry_after.as_ref().map(|e| (&r.address, e)))
    }

    pub fn conflicts(&self) -> impl Iterator<Item = &Row> {
        self.rows
            .iter()
            .filter(|r| matches!(r.action, Action::Conflict(_)))
    }
}

fn seen(actual: &Actual) -> Option<Seen> {
    match actual {
        Actual::File { digest, mode } => Some(Seen {
            digest: *digest,
            mode: *mode,
        }),
        Actual::Value(found) => Some(Seen {
            digest: found.digest,
            mode: 0,
        }),
        _ => None,
    }
}

/// Files mpm does not manage that declare the name of an agent mpm writes.
fn duplicates<'a>(
    desired: &'a DesiredState,
    actual: &'a ActualState,
    options: PlanOptions,
) -> impl Iterator<Item = Row> + 'a {
    let names: std::collections::BTreeSet<&str> = desired
        .resources
        .values()
        .filter_map(|d| d.owner.agent.as_deref())
        .collect();
    actual
        .others
        .iter()
        .filter(move |(_, (_, name))| names.contains(name.as_str()))
        .map(move |(address, (found, name))| {
            let takeover = if options.force {
                Some(Takeover::Forced)
            } else if options.adopt {
                Some(Takeover::Adopted)
            } else {
                None
            };
            Row {
                address: address.clone(),
                action: if takeover.is_some() {
                    Action::Delete
                } else {
                    Action::Conflict(Conflict::Duplicate)
                },
                before: seen(found),
                after: None,
                agent: Some(name.clone()),
                version_before: None,
                version_after: None,
                entry_after: None,
                protect: false,
                takeover,
                drift: None,
                sensitive: false,
                part: None,
            }
        })
}

/// The entry mpm records once the path holds `d`'s bytes; `created`: the
/// containers mpm made for a part of a settings file; `found`: the part held the
/// value already, put there by someone else.
fn expected_entry(d: &DesiredResource, created: u8, found: bool) -> Option<Entry> {
    match &d.record {
        Record::Written => Some(
            Entry::file(
                d.digest,
                d.mode,
                d.size,
                d.owner.agent.clone(),
                d.owner.version.clone(),
                d.protect,
            )
            .with_part(PartRecord {
                secret: d.part().secret.clone(),
                created,
                found,
                text: d.part().text,
            }),
        ),
        Record::Released => None,
        Record::As(e) => Some((**e).clone()),
    }
}

/// Every address a plan looks at: what the manifest wants (or retired), what the
/// state log, a killed run and `mpm.lock` say mpm wrote.
pub fn addresses<'a>(desired: &'a DesiredState, last: &'a LastApplied) -> BTreeSet<&'a Address> {
    desired
        .resources
        .keys()
        .chain(desired.retired.keys())
        .chain(recorded(last))
        .collect()
}

/// The addresses the state log, a killed run and `mpm.lock` say mpm wrote.
pub fn recorded(last: &LastApplied) -> impl Iterator<Item = &Address> {
    last.entries.keys().chain(last.locked.keys()).chain(
        last.pending
            .iter()
            .flat_map(|g| g.changes.iter().map(|c| &c.address)),
    )
}

/// Diffs the three states into a plan. Pure.
pub fn diff(
    desired: &DesiredState,
    actual: &ActualState,
    last: &LastApplied,
    options: PlanOptions,
) -> Plan {
    // A killed run's intended results count as mpm's own: a file that matches them
    // was written by mpm.
    let pending: std::collections::BTreeMap<&Address, Option<Digest>> = last
        .pending
        .iter()
        .flat_map(|g| g.changes.iter())
        .map(|c| (&c.address, c.after.map(|v| v.digest)))
        .collect();
    let addresses = addresses(desired, last);
    // one allocation of the size it may reach: a row is a few hundred bytes, and
    // 10 000 of them grown by doubling would leave a third of it unused
    let mut rows: Vec<Row> = Vec::with_capacity(addresses.len());
    rows.extend(addresses.into_iter().filter_map(|address| {
        let recorded = Recorded {
            entry: last.entries.get(address),
            pending: pending.get(address).copied().flatten(),
            locked: last.locked.get(address),
        };
        let mut row = row(
            address,
            desired.resources.get(address),
            desired.retired.get(address).map(|r| r.protect),
            actual.get(address),
            recorded,
            actual.missing.get(address).copied().unwrap_or(0),
            options,
        )?;
        // a part's values, to show: none of a secret's
        if address.is_part() && !row.sensitive {
            let part = row.part.get_or_insert_default();
            if let Actual::Value(found) = actual.get(address) {
                part.before = found.json.as_deref().map(str::to_string);
                part.before_text = found.text.as_deref().map(str::to_string);
            }
            part.after = desired
                .resources
                .get(address)
                .and_then(|d| d.part().json.as_deref().map(str::to_string));
            part.recorded = recorded
                .entry
                .and_then(|e| last.values.get(&e.digest))
                .map(|v| v.to_string());
        }
        Some(row)
    }));
    // in address order already, but for the duplicates; addresses are unique, so
    // an unstable sort (which needs no scratch copy of the rows) is the same
    let sorted = rows.len();
    rows.extend(duplicates(desired, actual, options));
    if rows.len() > sorted {
        rows.sort_unstable_by(|a, b| a.address.cmp(&b.address));
    }
    Plan {
        rows,
        serial: last.serial,
        lineage: last.lineage.clone(),
        pending: last.pending.is_some(),
        packages: Default::default(),
    }
}

/// A variable whose name or value looks like a credential's (`ANTHROPIC_API_KEY`,
/// `sk-ant-...`), even if nobody said it was a secret: its values are shown and
/// kept as a secret's are, never (what mpm writes there itself is kept).
fn credential_like(address: &Address, actual: &Actual, desired: Option<&DesiredResource>) -> bool {
    if address.kind() != crate::address::Kind::Env {
        return false;
    }
    let Some(part) = address.part() else {
        return false;
    };
    let name = part.pointer().tokens().get(1).map_or("", String::as_str);
    let text = |json: &str| serde_json::from_str::<String>(json).unwrap_or_default();
    let now = match actual {
        Actual::Value(found) => found.json.as_deref().map(text).unwrap_or_default(),
        _ => String::new(),
    };
    let wanted = desired
        .and_then(|d| d.part().json.as_deref())
        .map(text)
        .unwrap_or_default();
    crate::secret::looks_like_credential(name, &now)
        || crate::secret::looks_like_credential(name, &wanted)
}

/// What says a path is mpm's: the state log's entry, a killed run's pending
/// generation, `mpm.lock`.
#[derive(Debug, Clone, Copy)]
struct Recorded<'a> {
    entry: Option<&'a Entry>,
    pending: Option<Digest>,
    locked: Option<&'a crate::lockfile::Locked>,
}

fn row(
    address: &Address,
    desired: Option<&DesiredResource>,
    retired_protect: Option<bool>,
    actual: &Actual,
    recorded: Recorded,
    missing: u8,
    options: PlanOptions,
) -> Option<Row> {
    let before = seen(actual);
    let pending = recorded.pending;
    // the state log's entry, or else what the lock file says mpm wrote there
    let from_lock = recorded.locked.map(|l| {
        let (agent, version) = (l.agent.clone(), l.version.clone());
        Entry::file(
            l.sha256,
            crate::desired::FILE_MODE,
            0,
            agent,
            version,
            false,
        )
    });
    let entry = recorded.entry.or(from_lock.as_ref());
    let ours = |d: Digest| entry.is_some_and(|e| e.digest == d) || pending == Some(d);
    let mut row = Row {
        address: address.clone(),
        action: Action::NoOp,
        before,
        after: None,
        agent: desired
            .and_then(|d| d.owner.agent.clone())
            .or_else(|| entry.and_then(|e| e.agent.clone())),
        version_before: entry.and_then(|e| e.version.clone()),
        version_after: desired.and_then(|d| d.owner.version.clone()),
        entry_after: None,
        protect: desired.map_or_else(
            || retired_protect.unwrap_or_else(|| entry.is_some_and(|e| e.protect)),
            |d| d.protect,
        ),
        takeover: None,
        drift: None,
        sensitive: desired.is_some_and(|d| d.secret().is_some())
            || entry.is_some_and(|e| e.secret().is_some())
            || credential_like(address, actual, desired),
        // a part's values are filled in by `diff`
        part: address.is_part().then(|| {
            let part = desired.map(DesiredResource::part);
            Box::new(PartRow {
                secret: part.and_then(|p| p.secret.clone()),
                position: part.and_then(|p| p.position),
                text: part.and_then(|p| p.text),
                ..PartRow::default()
            })
        }),
    };
    if let Actual::Other(kind) = actual {
        // never written through, never removed: only reported when mpm would act here
        if desired.is_some() || entry.is_some() {
            row.action = Action::Conflict(Conflict::NotAFile(*kind));
            return Some(row);
        }
        return None;
    }
    match desired {
        Some(d) => {
            let created = match (before, entry) {
                (None, _) => missing,
                (Some(_), Some(e)) => e.part().created,
                (Some(_), None) => 0,
            };
            // a value someone else put there, the same as mpm's, stays theirs when
            // it leaves the manifest
            // (it stays theirs only while it holds the value mpm found: one mpm
            // changed is mpm's)
            let found = match (before, entry) {
                (_, Some(e)) => e.part().found && e.digest == d.digest,
                (Some(b), None) => {
                    address.is_part() && b.digest == d.digest && pending != Some(b.digest)
                }
                (None, None) => false,
            };
            let expected = expected_entry(d, created, found);
            row.entry_after = expected.clone();
            row.after = Some(Seen {
                digest: d.digest,
                mode: d.mode,
            });
            row.action = match before {
                None => {
                    if entry.is_some() {
                        row.drift = Some(Drift::Deleted);
                    }
                    Action::Create
                }
                // the bytes are right; only the mode differs, and rewriting loses nothing
                Some(b) if b.digest == d.digest && b.mode != d.mode && expected.is_some() => {
                    Action::Update
                }
                Some(b) if b.digest == d.digest => match (&expected, recorded.entry) {
                    (e, now) if e.as_ref() == now => Action::NoOp,
                    (Some(_), _) => Action::Record,
                    (None, _) => Action::Forget,
                },
                Some(b) if ours(b.digest) => Action::Update,
                Some(_) if options.force => {
                    row.takeover = Some(Takeover::Forced);
                    Action::Update
                }
                Some(_) if entry.is_none() && options.adopt => {
                    row.takeover = Some(Takeover::Adopted);
                    Action::Update
                }
                Some(_) if entry.is_some() => Action::Conflict(Conflict::Edited),
                Some(_) => Action::Conflict(Conflict::Unmanaged),
            };
        }
        None => {
            if entry.is_none() && before.is_none_or(|b| pending != Some(b.digest)) {
                // not ours: never touched
                return None;
            }
            row.action = match before {
                None if entry.is_some() => {
                    row.drift = Some(Drift::Deleted);
                    Action::Forget
                }
                None => return None,
                Some(_) if row.protect => Action::Conflict(Conflict::Protected),
                // a part someone else had put there, or one whose hand edit
                // `--adopt` keeps, goes back to its owner as it is
                Some(_) if entry.is_some_and(|e| e.part().found) => Action::Forget,
                Some(b) if address.is_part() && options.adopt && !ours(b.digest) => {
                    row.takeover = Some(Takeover::Adopted);
                    Action::Forget
                }
                Some(b) if ours(b.digest) => Action::Delete,
                Some(_) if options.force => {
                    row.takeover = Some(Takeover::Forced);
                    Action::Delete
                }
                Some(_) => Action::Conflict(Conflict::EditedRemoved),
            };
        }
    }
    Some(row)
}

#[cfg(test)]
mod tests;
