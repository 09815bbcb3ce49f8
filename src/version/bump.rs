//! What a version should become: the commits since the version last changed that
//! touch what it versions, each classified as a Conventional Commit, and the bump
//! they add up to (`mpm version bump`, and the sections of `mpm changelog`).
//!
//! "Since it last changed" follows HEAD's first parents back to the newest commit
//! whose version differs from its first parent's: the release. The commits counted
//! are those reachable from HEAD and not from that release, merges left out (the
//! commits they bring are counted themselves).

use super::conventional::{self, Bump};
use super::edit::{self, Locator};
use super::rules;
use crate::git::history::{Commit, History, HistoryError};
use gix::ObjectId;
use std::collections::HashMap;
use std::path::PathBuf;

/// Where a version is written.
#[derive(Debug, Clone)]
pub struct Place {
    pub path: PathBuf,
    /// As shown to the user.
    pub shown: String,
    pub locator: Locator,
}

/// One thing with a version: an agent, or the pack.
#[derive(Debug, Clone)]
pub struct Subject {
    pub name: String,
    pub place: Place,
    /// What its version covers: files, or directories (the pack); `place` first.
    pub inputs: Vec<(PathBuf, String)>,
}

/// How one commit counts.
#[derive(Debug, Clone, PartialEq)]
pub enum Counted {
    Bump(Bump),
    /// Its message does not parse as a Conventional Commit: no bump (an error
    /// with `--strict`).
    NotConventional(String),
    /// It changed only whitespace in what it touched (JSON: the same value).
    WhitespaceOnly,
    /// Reverted by a later commit counted here, or the revert of one: neither counts.
    Reverted,
}

#[derive(Debug, Clone)]
pub struct Change {
    pub id: ObjectId,
    pub short: String,
    pub summary: String,
    pub date: String,
    pub parsed: Option<conventional::Commit>,
    pub counted: Counted,
    /// The input it touched first, as shown.
    pub input: String,
}

impl Change {
    pub fn bump(&self) -> Bump {
        match self.counted {
            Counted::Bump(b) => b,
            _ => Bump::None,
        }
    }
}

/// Where a subject's version stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Standing {
    /// Committed at HEAD; `next` is what the commits since call for.
    Committed,
    /// The working tree already has another version than HEAD: bumped and not
    /// committed yet, so nothing is bumped again.
    Pending { committed: semver::Version },
    /// The file is not in HEAD yet: it has no history.
    New,
}

#[derive(Debug, Clone)]
pub struct Planned {
    pub name: String,
    pub file: String,
    /// The version in the working tree.
    pub current: semver::Version,
    pub next: semver::Version,
    pub bump: Bump,
    pub standing: Standing,
    /// The release commit the count starts after (`None`: the version is new).
    pub since: Option<String>,
    /// Newest first.
    pub changes: Vec<Change>,
}

impl Planned {
    pub fn changes_version(&self) -> bool {
        self.next != self.current
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BumpError {
    #[error(transparent)]
    History(#[from] HistoryError),
    #[error("`{file}`: {error}")]
    Edit {
        file: String,
        error: edit::EditError,
    },
    #[error("`{file}`: {what} is `{value}`, not a semantic version")]
    NotSemver {
        file: String,
        what: String,
        value: String,
    },
}

impl crate::diagnose::Diagnose for BumpError {
    fn causes(&self) -> Vec<String> {
        match self {
            BumpError::History(e) => e.causes(),
            _ => Vec::new(),
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            BumpError::History(e) => e.hint(),
            BumpError::Edit { error, .. } => error.hint(),
            BumpError::NotSemver { .. } => Some("write it as X.Y.Z, like `1.0.0`".into()),
        }
    }
}

/// Reads the version at one place of `text`.
pub fn version_in(text: &str, place: &Place) -> Result<semver::Version, BumpError> {
    let found = edit::find(text, &place.locator).map_err(|error| BumpError::Edit {
        file: place.shown.clone(),
        error,
    })?;
    semver::Version::parse(found.value.trim()).map_err(|_| BumpError::NotSemver {
        file: place.shown.clone(),
        what: place.locator.describe(),
        value: found.value,
    })
}

/// The version HEAD's commit has at `place` (`None`: absent, or unreadable).
pub fn committed_version(
    history: &History,
    place: &Place,
) -> Result<Option<semver::Version>, BumpError> {
    let path = history.relative(&place.path)?;
    let mut versions = Versions::new(history, vec![path], &place.locator);
    Ok(versions
        .at(history.head())?
        .and_then(|v| semver::Version::parse(&v).ok()))
}

/// The commits that count for one subject, and the version they call for.
/// `text` is the place's file as it is in the working tree.
pub fn plan(history: &History, subject: &Subject, text: &str) -> Result<Planned, BumpError> {
    let current = version_in(text, &subject.place)?;
    let names = follow(history, history.relative(&subject.place.path)?)?;
    let mut versions = Versions::new(history, names.clone(), &subject.place.locator);
    let head = history.head();
    let planned = |standing, since, changes: Vec<Change>, bump| Planned {
        name: subject.name.clone(),
        file: subject.place.shown.clone(),
        next: match standing {
            Standing::Committed => rules::next(&current, bump),
            _ => current.clone(),
        },
        current: current.clone(),
        bump,
        standing,
        since,
        changes,
    };
    let Some(committed) = versions.at(head)? else {
        return Ok(planned(Standing::New, None, Vec::new(), Bump::None));
    };
    let release = match release_commits(history, &mut versions, true)?.first() {
        Some((_, commit)) => *commit,
        None => head,
    };
    let inputs = inputs_of(history, subject, &names)?;
    let changes = changes_between(history, head, Some(release), &inputs)?;
    let bump = changes.iter().map(Change::bump).max().unwrap_or(Bump::None);
    let since = Some(release.short());
    let parsed_committed = semver::Version::parse(committed.trim()).ok();
    if parsed_committed.as_ref() != Some(&current) {
        let standing = match parsed_committed {
            Some(committed) => Standing::Pending { committed },
            None => Standing::New,
        };
        return Ok(planned(standing, since, changes, bump));
    }
    Ok(planned(Standing::Committed, since, changes, bump))
}

/// `path`'s names on HEAD's first-parent line, newest first: the path, then each
/// one it had before a commit renamed or moved it (as `git log --follow`).
pub fn follow(history: &History, path: String) -> Result<Vec<String>, HistoryError> {
    let mut names = vec![path.clone()];
    let mut current = path;
    let mut commit = history.head();
    while let Some(parent) = history.first_parent(commit) {
        if history.added(commit, &current)?
            && let Some(old) = history.renamed_from(commit, &current)?
        {
            if !names.contains(&old) {
                names.push(old.clone());
            }
            current = old;
        }
        commit = parent;
    }
    Ok(names)
}

/// The commits on HEAD's first-parent line whose version differs from the one
/// before them (or that created the file), newest first, with that version: the
/// releases. A rename or move keeps the version, and so does a file deleted and
/// added again: neither is a release. `first`: the newest only.
fn release_commits<'h>(
    history: &'h History,
    versions: &mut Versions,
    first: bool,
) -> Result<Vec<(String, &'h Commit)>, HistoryError> {
    let mut found = Vec::new();
    let mut commit = history.head();
    loop {
        let parent = history.first_parent(commit);
        if parent.is_none() && commit.cut {
            return Err(HistoryError::Shallow {
                path: versions.paths.first().cloned().unwrap_or_default(),
            });
        }
        // a commit that leaves the file alone leaves its version alone
        if versions.touched(commit)?
            && let Some(now) = versions.at(commit)?
            && versions.before(commit)?.as_ref() != Some(&now)
        {
            found.push((now, commit));
            if first {
                return Ok(found);
            }
        }
        match parent {
            Some(p) => commit = p,
            None => return Ok(found),
        }
    }
}

/// A subject's inputs as repository paths, with how they are shown; the place's
/// older `names` ([`follow`]) count as the place.
pub fn inputs_of<'s>(
    history: &History,
    subject: &'s Subject,
    names: &[String],
) -> Result<Vec<(String, &'s str)>, HistoryError> {
    let mut inputs: Vec<(String, &str)> = subject
        .inputs
        .iter()
        .map(|(p, shown)| Ok((history.relative(p)?, shown.as_str())))
        .collect::<Result<_, HistoryError>>()?;
    for old in names.iter().skip(1) {
        inputs.push((old.clone(), subject.place.shown.as_str()));
    }
    Ok(inputs)
}

/// Every release of a subject on HEAD's first-parent line, newest first: each
/// commit that set a new semantic version, with it. `names`: the place's ([`follow`]).
pub fn releases<'h>(
    history: &'h History,
    place: &Place,
    names: &[String],
) -> Result<Vec<(semver::Version, &'h Commit)>, BumpError> {
    let mut versions = Versions::new(history, names.to_vec(), &place.locator);
    Ok(release_commits(history, &mut versions, false)?
        .into_iter()
        .filter_map(|(v, c)| Some((semver::Version::parse(&v).ok()?, c)))
        .collect())
}

/// The commits reachable from `tip` and not from `base` that touch one of
/// `inputs` (repository paths, with how they are shown), newest first.
pub fn changes_between(
    history: &History,
    tip: &Commit,
    base: Option<&Commit>,
    inputs: &[(String, &str)],
) -> Result<Vec<Change>, HistoryError> {
    let wanted = history.reachable(tip);
    let released = base.map(|b| history.reachable(b));
    let mut changes = Vec::new();
    for commit in &history.commits()[tip.index..] {
        if !wanted.has(commit)
            || released.as_ref().is_some_and(|r| r.has(commit))
            || commit.is_merge()
        {
            continue;
        }
        let mut touched = None;
        let mut whitespace_only = true;
        for (path, shown) in inputs {
            if !history.touches(commit, path)? {
                continue;
            }
            touched.get_or_insert(*shown);
            if !only_whitespace(history, commit, path)? {
                whitespace_only = false;
                touched = Some(*shown);
                break;
            }
        }
        let Some(input) = touched else { continue };
        let parsed = conventional::parse(&commit.message);
        let counted = match (&parsed, whitespace_only) {
            (_, true) => Counted::WhitespaceOnly,
            (Ok(c), false) => Counted::Bump(c.bump()),
            (Err(_), false) if conventional::is_git_revert(&commit.message) => {
                Counted::Bump(Bump::Patch)
            }
            (Err(e), false) => Counted::NotConventional(e.reason.clone()),
        };
        changes.push(Change {
            id: commit.id,
            short: commit.short(),
            summary: commit.summary().to_string(),
            date: commit.date(),
            parsed: parsed.ok(),
            counted,
            input: input.to_string(),
        });
    }
    cancel_reverts(history, &mut changes);
    Ok(changes)
}

/// A revert of a commit counted here cancels both; a revert of such a revert
/// brings the first commit back (`Reapply "…"`), and so on down a chain. A revert
/// whose commit is not counted here counts on its own (a patch).
fn cancel_reverts(history: &History, changes: &mut [Change]) {
    let hex: Vec<String> = changes.iter().map(|c| c.id.to_string()).collect();
    // the counted commit each one reverts, found by its (maybe short) id
    let target: Vec<Option<usize>> = changes
        .iter()
        .map(|c| {
            let message = history.commit(&c.id).map(|c| c.message.as_str())?;
            let id = conventional::reverted_commit(message)?;
            hex.iter().position(|h| h.starts_with(&id))
        })
        .collect();
    let original: Vec<Counted> = changes.iter().map(|c| c.counted.clone()).collect();
    let mut active = vec![true; changes.len()];
    // oldest first: each revert undoes what its target did
    for i in (0..changes.len()).rev() {
        if let Some(t) = target[i].filter(|&t| t != i) {
            active[i] = false;
            undo(t, &target, &mut active, changes.len());
        }
    }
    for (i, change) in changes.iter_mut().enumerate() {
        change.counted = match active[i] {
            true => original[i].clone(),
            false => Counted::Reverted,
        };
    }
}

/// Undoes commit `i`'s effect: a change is taken out; a revert's undoing is
/// itself undone, so what it reverted comes back. `depth` bounds a chain.
fn undo(i: usize, target: &[Option<usize>], active: &mut [bool], depth: usize) {
    match target[i] {
        Some(t) if depth > 0 => redo(t, target, active, depth - 1),
        _ => active[i] = false,
    }
}

fn redo(i: usize, target: &[Option<usize>], active: &mut [bool], depth: usize) {
    match target[i] {
        Some(t) if depth > 0 => undo(t, target, active, depth - 1),
        _ => active[i] = true,
    }
}

/// Whether `commit` changed only whitespace in the file at `path`: JSON that
/// parses to the same value, other text equal once whitespace is taken out
/// (`git diff -w`). A directory, an added or a removed file is a change.
fn only_whitespace(history: &History, commit: &Commit, path: &str) -> Result<bool, HistoryError> {
    let Some(parent) = history.first_parent(commit) else {
        return Ok(false);
    };
    let (Some(now), Some(before)) = (history.blob(commit, path)?, history.blob(parent, path)?)
    else {
        return Ok(false);
    };
    let (now, before) = (history.read_blob(now)?, history.read_blob(before)?);
    if path.ends_with(".json")
        && let (Ok(a), Ok(b)) = (
            serde_json::from_slice::<serde_json::Value>(&now),
            serde_json::from_slice::<serde_json::Value>(&before),
        )
    {
        return Ok(a == b);
    }
    let squeeze = |b: &[u8]| -> Vec<u8> {
        b.iter()
            .copied()
            .filter(|c| !c.is_ascii_whitespace())
            .collect()
    };
    Ok(squeeze(&now) == squeeze(&before))
}

/// The version text at each commit, read once per blob.
struct Versions<'a> {
    history: &'a History,
    /// The file's names, newest first ([`follow`]).
    paths: Vec<String>,
    locator: &'a Locator,
    by_blob: HashMap<ObjectId, Option<String>>,
}

impl<'a> Versions<'a> {
    fn new(history: &'a History, paths: Vec<String>, locator: &'a Locator) -> Self {
        Versions {
            history,
            paths,
            locator,
            by_blob: HashMap::new(),
        }
    }

    /// Whether `commit` changed the file under one of its names.
    fn touched(&self, commit: &Commit) -> Result<bool, HistoryError> {
        for path in &self.paths {
            if self.history.touches(commit, path)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// `None` when the file is absent at `commit` under every name, or its version
    /// unreadable there.
    fn at(&mut self, commit: &Commit) -> Result<Option<String>, HistoryError> {
        let mut found = None;
        for path in &self.paths {
            if let Some(blob) = self.history.blob(commit, path)? {
                found = Some(blob);
                break;
            }
        }
        let Some(blob) = found else {
            return Ok(None);
        };
        if let Some(v) = self.by_blob.get(&blob) {
            return Ok(v.clone());
        }
        let bytes = self.history.read_blob(blob)?;
        let version = std::str::from_utf8(&bytes)
            .ok()
            .and_then(|text| edit::find(text, self.locator).ok())
            .map(|f| f.value.trim().to_string());
        self.by_blob.insert(blob, version.clone());
        Ok(version)
    }

    /// The version before `commit`: at the nearest first-parent ancestor where it
    /// can be read (a file deleted and added again keeps its version).
    fn before(&mut self, commit: &Commit) -> Result<Option<String>, HistoryError> {
        let mut at = self.history.first_parent(commit);
        let mut look = true;
        while let Some(parent) = at {
            if look && let Some(v) = self.at(parent)? {
                return Ok(Some(v));
            }
            // the commit before `parent` differs from it only where it touched the file
            look = self.touched(parent)?;
            at = self.history.first_parent(parent);
        }
        Ok(None)
    }
}
