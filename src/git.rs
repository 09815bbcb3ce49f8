//! The git commit of the manifest's repository, and whether its work tree is dirty,
//! recorded in each generation; and ([`revision`]) its files as they are at a
//! revision, for `mpm diff`.

pub mod history;
pub mod revision;

pub use revision::{AtRevision, GitError};

use crate::state::GitInfo;
use std::path::Path;

/// `None` when the manifest is not in a git repository (or it has no commit yet).
pub fn describe(dir: &Path) -> Option<GitInfo> {
    let repo = gix::discover(dir).ok()?;
    let commit = repo.head_id().ok()?.to_string();
    let dirty = repo.is_dirty().unwrap_or(true);
    Some(GitInfo { commit, dirty })
}

/// What git does with a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tracking {
    /// Not in a work tree, or ignored: git never takes it.
    No,
    /// In the index.
    Tracked,
    /// In a work tree and not ignored: the next `git add .` takes it.
    WouldTrack,
}

/// Whether git tracks the file at `path`, or would (it is in a work tree, and no
/// ignore rule covers it): where a secret must never be written. When it cannot
/// tell, it says `WouldTrack`: the careful answer.
pub fn tracking(path: &Path) -> Tracking {
    let Some(dir) = path
        .parent()
        .and_then(|d| d.ancestors().find(|a| a.is_dir()))
    else {
        return Tracking::No;
    };
    let Ok(repo) = gix::discover(dir) else {
        return Tracking::No;
    };
    let Some(workdir) = repo.workdir() else {
        return Tracking::No;
    };
    let workdir = fs_err::canonicalize(workdir).unwrap_or_else(|_| workdir.to_path_buf());
    let real = crate::target::resolved(path).unwrap_or_else(|| path.to_path_buf());
    let Ok(relative) = real
        .strip_prefix(&workdir)
        .or_else(|_| path.strip_prefix(&workdir))
    else {
        return Tracking::No;
    };
    let Some(relative) = relative.to_str().map(|r| r.replace('\\', "/")) else {
        return Tracking::WouldTrack;
    };
    let Ok(index) = repo.index_or_empty() else {
        return Tracking::WouldTrack;
    };
    if index.entry_by_path(relative.as_str().into()).is_some() {
        return Tracking::Tracked;
    }
    let Ok(mut excludes) = repo.excludes(
        &index,
        None,
        gix::worktree::stack::state::ignore::Source::WorktreeThenIdMappingIfNotSkipped,
    ) else {
        return Tracking::WouldTrack;
    };
    match excludes.at_path(relative.as_str(), Some(gix::index::entry::Mode::FILE)) {
        Ok(platform) if platform.is_excluded() => Tracking::No,
        _ => Tracking::WouldTrack,
    }
}
