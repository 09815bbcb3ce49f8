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
