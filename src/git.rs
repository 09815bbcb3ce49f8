//! The git commit of the manifest's repository, and whether its work tree is dirty,
//! recorded in each generation; and ([`revision`]) its files as they are at a
//! revision, for `mpm diff`.

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

/// Whether git tracks the file at `path`, or would (it is in a work tree, and no
/// ignore rule covers it): where a secret must never be written.
pub fn tracks_or_would_track(path: &Path) -> bool {
    let Some(dir) = path
        .parent()
        .and_then(|d| d.ancestors().find(|a| a.is_dir()))
    else {
        return false;
    };
    let Ok(repo) = gix::discover(dir) else {
        return false;
    };
    let Some(workdir) = repo.workdir() else {
        return false;
    };
    let workdir = fs_err::canonicalize(workdir).unwrap_or_else(|_| workdir.to_path_buf());
    let real = crate::target::resolved(path).unwrap_or_else(|| path.to_path_buf());
    let Ok(relative) = real
        .strip_prefix(&workdir)
        .or_else(|_| path.strip_prefix(&workdir))
    else {
        return false;
    };
    let Some(relative) = relative.to_str().map(|r| r.replace('\\', "/")) else {
        return true;
    };
    let Ok(index) = repo.index_or_empty() else {
        // cannot tell: the careful answer
        return true;
    };
    if index.entry_by_path(relative.as_str().into()).is_some() {
        return true;
    }
    let Ok(mut excludes) = repo.excludes(
        &index,
        None,
        gix::worktree::stack::state::ignore::Source::WorktreeThenIdMappingIfNotSkipped,
    ) else {
        return true;
    };
    match excludes.at_path(relative.as_str(), Some(gix::index::entry::Mode::FILE)) {
        Ok(platform) => !platform.is_excluded(),
        Err(_) => true,
    }
}
