//! The git commit of the manifest's repository, and whether its work tree is dirty,
//! recorded in each generation.

use crate::state::GitInfo;
use std::path::Path;

/// `None` when the manifest is not in a git repository (or it has no commit yet).
pub fn describe(dir: &Path) -> Option<GitInfo> {
    let repo = gix::discover(dir).ok()?;
    let commit = repo.head_id().ok()?.to_string();
    let dirty = repo.is_dirty().unwrap_or(true);
    Some(GitInfo { commit, dirty })
}
