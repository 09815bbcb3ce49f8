//! Files as they are at a git revision, read from the object database: no checkout,
//! no temporary work tree, nothing written. `mpm diff REF` renders the agents from
//! these and from the disk.
//!
//! Paths are the same absolute paths as on disk (the manifest resolves its inputs
//! against its own directory either way); a path is looked up in REF's tree by its
//! place relative to the repository's root. A path outside the repository is not
//! under version control, so it is read from the disk, the same for both sides.

use crate::diagnose::Diagnose;
use crate::files::{Disk, Files};
use gix::ObjectId;
use gix::objs::tree::EntryMode;
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::io;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// How many symbolic links one lookup follows before giving up (as the OS does).
const MAX_LINKS: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("the manifest `{manifest}` is not in a git repository")]
    NotARepository { manifest: String, cause: String },
    #[error("the git repository of `{manifest}` has no work tree")]
    NoWorkTree { manifest: String },
    #[error("`{rev}` is a range; `mpm diff` compares one revision with the working tree")]
    Range { rev: String },
    #[error("unknown git revision `{rev}`")]
    UnknownRevision { rev: String, cause: String },
    #[error("git revision `{rev}` is a {kind}, not a commit")]
    NotACommit { rev: String, kind: String },
    #[error("cannot read `{rev}` from the git repository")]
    Read { rev: String, cause: String },
}

impl Diagnose for GitError {
    fn causes(&self) -> Vec<String> {
        match self {
            GitError::NotARepository { cause, .. }
            | GitError::UnknownRevision { cause, .. }
            | GitError::Read { cause, .. } => vec![cause.clone()],
            GitError::NoWorkTree { .. } | GitError::Range { .. } | GitError::NotACommit { .. } => {
                Vec::new()
            }
        }
    }

    fn hint(&self) -> Option<String> {
        Some(match self {
            GitError::NotARepository { .. } | GitError::NoWorkTree { .. } => {
                "`mpm diff REF` compares the agents with a git revision of the manifest's repository; run it in a clone, or pass `--manifest` a file in one".into()
            }
            GitError::UnknownRevision { .. } => {
                "give a branch, tag or commit (`main`, `v1.2.0`, `HEAD~1`, `origin/main`); a shallow CI clone may need `git fetch origin main` first".into()
            }
            GitError::Range { .. } => {
                "for a pull request, give the commit it starts from: `mpm diff $(git merge-base origin/main HEAD)`".into()
            }
            GitError::NotACommit { .. } => "give a branch, tag or commit".into(),
            GitError::Read { .. } => "`git fsck` checks the repository".into(),
        })
    }
}

/// A directory of REF's tree: name → (mode, object).
type Listing = HashMap<Vec<u8>, (EntryMode, ObjectId)>;

/// The files of one revision of the repository that holds the manifest.
pub struct AtRevision {
    repo: gix::Repository,
    /// REF as given, for messages (`main:templates/qa.json`).
    rev: String,
    commit: Option<ObjectId>,
    tree: ObjectId,
    /// The manifest's directory, as the manifest resolves paths against it.
    disk_base: PathBuf,
    /// The same directory in the tree, from the repository's root.
    tree_base: Vec<String>,
    /// Directories of the tree already read: thousands of templates share one.
    listings: RefCell<HashMap<String, Rc<Listing>>>,
    /// Paths read from disk because they are outside the repository.
    outside: Outside,
}

/// The paths an [`AtRevision`] read from disk, shared so that the command can name
/// them once the files have been handed to the renderer.
pub type Outside = Rc<RefCell<BTreeSet<PathBuf>>>;

/// Where a path leads in the tree.
enum Found {
    Blob(ObjectId),
    /// Outside the repository: on disk, here.
    Outside(PathBuf),
    Missing,
}

impl AtRevision {
    /// The revision `rev` of the repository that holds `manifest` (absolute). `cwd`
    /// is where paths in messages are shown from.
    pub fn open(manifest: &Path, rev: &str, cwd: &Path) -> Result<AtRevision, GitError> {
        let shown = crate::paths::display(manifest, cwd);
        let manifest_dir = manifest.parent().unwrap_or(cwd);
        let repo = gix::discover(manifest_dir).map_err(|e| GitError::NotARepository {
            manifest: shown.clone(),
            cause: chain(&e),
        })?;
        let workdir = repo.workdir().ok_or_else(|| GitError::NoWorkTree {
            manifest: shown.clone(),
        })?;
        // the manifest may be reached through a link; its place in the repository is
        // where the repository sees it
        let canonical = |p: &Path| {
            fs_err::canonicalize(p).map_err(|e| GitError::NotARepository {
                manifest: shown.clone(),
                cause: e.to_string(),
            })
        };
        let (root, base) = (canonical(workdir)?, canonical(manifest_dir)?);
        let tree_base = base
            .strip_prefix(&root)
            .map_err(|_| GitError::NotARepository {
                manifest: shown,
                cause: format!("it is outside the work tree `{}`", root.display()),
            })?
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let (commit, tree) = resolve(&repo, rev)?;
        Ok(AtRevision {
            repo,
            rev: rev.to_string(),
            commit,
            tree,
            disk_base: crate::paths::normalize(manifest_dir),
            tree_base,
            listings: RefCell::new(HashMap::new()),
            outside: Outside::default(),
        })
    }

    /// The paths read from disk so far, because they are outside the repository.
    pub fn outside(&self) -> Outside {
        self.outside.clone()
    }

    /// REF as given.
    pub fn rev(&self) -> &str {
        &self.rev
    }

    /// The commit REF names (`None` when it names a tree).
    pub fn commit(&self) -> Option<String> {
        self.commit.map(|c| c.to_string())
    }

    /// `path`'s place in the tree (`/`-separated, from the root), or `None` when it is
    /// outside the repository.
    pub fn tree_path(&self, path: &Path) -> Option<String> {
        let relative = crate::paths::portable(path, &self.disk_base);
        let mut parts = self.tree_base.clone();
        for part in relative.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    parts.pop()?;
                }
                name => parts.push(name.to_string()),
            }
        }
        Some(parts.join("/"))
    }

    fn error(&self, path: &str, e: impl std::fmt::Display) -> io::Error {
        io::Error::other(format!("cannot read `{}:{path}`: {e}", self.rev))
    }

    /// The directory `dir` of the tree (`""`: the root), or `None` when there is none.
    fn listing(&self, dir: &str) -> io::Result<Option<Rc<Listing>>> {
        if let Some(l) = self.listings.borrow().get(dir) {
            return Ok(Some(l.clone()));
        }
        let id = if dir.is_empty() {
            self.tree
        } else {
            let (parent, name) = dir.rsplit_once('/').unwrap_or(("", dir));
            let Some(parent) = self.listing(parent)? else {
                return Ok(None);
            };
            match parent.get(name.as_bytes()) {
                Some((mode, id)) if mode.is_tree() => *id,
                _ => return Ok(None),
            }
        };
        let tree = self.repo.find_tree(id).map_err(|e| self.error(dir, e))?;
        let decoded = tree.decode().map_err(|e| self.error(dir, e))?;
        let listing: Rc<Listing> = Rc::new(
            decoded
                .entries
                .iter()
                .map(|e| (e.filename.to_vec(), (e.mode, e.oid.to_owned())))
                .collect(),
        );
        self.listings
            .borrow_mut()
            .insert(dir.to_string(), listing.clone());
        Ok(Some(listing))
    }

    /// What `path` is at REF, following symbolic links as the disk would.
    fn find(&self, path: &Path) -> io::Result<Found> {
        let mut path = path.to_path_buf();
        for _ in 0..MAX_LINKS {
            let Some(in_tree) = self.tree_path(&path) else {
                return Ok(Found::Outside(path));
            };
            let (dir, name) = in_tree.rsplit_once('/').unwrap_or(("", &in_tree));
            let Some(listing) = self.listing(dir)? else {
                return Ok(Found::Missing);
            };
            match listing.get(name.as_bytes()) {
                Some((mode, id)) if mode.is_blob() => return Ok(Found::Blob(*id)),
                Some((mode, id)) if mode.is_link() => {
                    let target = self.blob(&in_tree, *id)?;
                    let target = PathBuf::from(String::from_utf8_lossy(&target).into_owned());
                    let from = path.parent().map(Path::to_path_buf).unwrap_or_default();
                    path = crate::paths::normalize(&from.join(target));
                }
                // a directory, a submodule, or nothing
                _ => return Ok(Found::Missing),
            }
        }
        Err(self.error(
            &self.tree_path(&path).unwrap_or_default(),
            "too many levels of symbolic links",
        ))
    }

    fn blob(&self, path: &str, id: ObjectId) -> io::Result<Vec<u8>> {
        let mut blob = self.repo.find_blob(id).map_err(|e| self.error(path, e))?;
        Ok(blob.take_data())
    }
}

/// An error and its sources, in one line: gix's top message alone often says only
/// what was being done.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

/// The commit (if any) and the tree that `rev` names.
fn resolve(repo: &gix::Repository, rev: &str) -> Result<(Option<ObjectId>, ObjectId), GitError> {
    let unknown = |e: &dyn std::error::Error| GitError::UnknownRevision {
        rev: rev.to_string(),
        cause: chain(e),
    };
    // `..` is in no ref name (`git check-ref-format`): only a range has it
    if rev.contains("..") {
        return Err(GitError::Range {
            rev: rev.to_string(),
        });
    }
    let object = repo
        .rev_parse_single(rev)
        .map_err(|e| unknown(&e))?
        .object()
        .and_then(|o| o.peel_tags_to_end())
        .map_err(|e| unknown(&e))?;
    match object.kind {
        gix::object::Kind::Commit => {
            let commit = object.into_commit();
            let tree = commit.tree_id().map_err(|e| GitError::Read {
                rev: rev.to_string(),
                cause: e.to_string(),
            })?;
            Ok((Some(commit.id), tree.detach()))
        }
        gix::object::Kind::Tree => Ok((None, object.id)),
        kind => Err(GitError::NotACommit {
            rev: rev.to_string(),
            kind: kind.to_string(),
        }),
    }
}

impl Files for AtRevision {
    fn read(&self, path: &Path) -> io::Result<Option<Vec<u8>>> {
        match self.find(path)? {
            Found::Blob(id) => self
                .blob(&self.tree_path(path).unwrap_or_default(), id)
                .map(Some),
            Found::Outside(p) => {
                let bytes = Disk.read(&p)?;
                if bytes.is_some() {
                    self.outside.borrow_mut().insert(p);
                }
                Ok(bytes)
            }
            Found::Missing => Ok(None),
        }
    }

    fn is_file(&self, path: &Path) -> bool {
        match self.find(path) {
            Ok(Found::Blob(_)) => true,
            Ok(Found::Outside(p)) => p.is_file(),
            Ok(Found::Missing) => false,
            // taken as there, so that reading it next names what is wrong, where
            // "not found" would mislead
            Err(_) => true,
        }
    }

    fn display(&self, path: &Path, cwd: &Path) -> String {
        match self.tree_path(path) {
            Some(p) => format!("{}:{p}", self.rev),
            None => crate::paths::display(path, cwd),
        }
    }
}
