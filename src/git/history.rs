//! The history of the manifest's repository, read with gix for `mpm version` and
//! `mpm changelog`: every commit reachable from HEAD, the blob a path has at each,
//! the tags. Reads the object database only; the one write is an annotated tag
//! ([`History::tag`]).

use gix::ObjectId;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("`{dir}` is not in a git repository")]
    NotARepository { dir: String, cause: String },
    #[error("the git repository of `{dir}` has no commit yet")]
    NoCommit { dir: String },
    #[error("the git repository of `{dir}` has no work tree")]
    NoWorkTree { dir: String },
    #[error("`{path}` is outside the git repository at `{root}`")]
    Outside { path: String, root: String },
    #[error("the history of `{path}` is cut by a shallow clone before its version last changed")]
    Shallow { path: String },
    #[error("the tag `{tag}` already exists")]
    TagExists { tag: String },
    #[error("cannot read the git repository at `{root}`")]
    Read { root: String, cause: String },
    #[error("cannot create the tag `{tag}`")]
    Tag { tag: String, cause: String },
}

impl crate::diagnose::Diagnose for HistoryError {
    fn causes(&self) -> Vec<String> {
        match self {
            HistoryError::NotARepository { cause, .. }
            | HistoryError::Read { cause, .. }
            | HistoryError::Tag { cause, .. } => vec![cause.clone()],
            _ => Vec::new(),
        }
    }

    fn hint(&self) -> Option<String> {
        Some(match self {
            HistoryError::NotARepository { .. } | HistoryError::NoWorkTree { .. } => {
                "versions come from git history: run it in a clone of the repository, or pass `--manifest` a file in one".into()
            }
            HistoryError::NoCommit { .. } => "commit the agents first".into(),
            HistoryError::Outside { .. } => {
                "only files in the manifest's repository have a history; move it into the repository".into()
            }
            HistoryError::Shallow { .. } => {
                "fetch the whole history (`git fetch --unshallow`; in GitHub Actions `fetch-depth: 0`)".into()
            }
            HistoryError::TagExists { .. } => {
                "a released version is never tagged twice: bump to a new version, or delete the tag with `git tag -d` if it was never pushed".into()
            }
            HistoryError::Read { .. } => "`git fsck` checks the repository".into(),
            HistoryError::Tag { .. } => {
                "set `user.name` and `user.email` in git's configuration (the tagger)".into()
            }
        })
    }
}

/// One commit reachable from HEAD.
#[derive(Debug, Clone)]
pub struct Commit {
    pub id: ObjectId,
    /// Its place in [`History::commits`].
    pub index: usize,
    /// Its first parent's place, when the repository has it.
    first: Option<usize>,
    /// The places of the parents the repository has.
    parents_at: Vec<usize>,
    pub parents: Vec<ObjectId>,
    /// Parents that are not in the repository: a shallow clone's boundary.
    pub cut: bool,
    pub message: String,
    pub tree: ObjectId,
    /// Seconds since the epoch, and the committer's offset east of UTC in seconds.
    pub time: i64,
    pub offset: i32,
}

impl Commit {
    pub fn short(&self) -> String {
        self.id.to_hex_with_len(7).to_string()
    }

    pub fn summary(&self) -> &str {
        self.message.lines().next().unwrap_or("").trim_end()
    }

    pub fn is_merge(&self) -> bool {
        self.parents.len() > 1
    }

    /// The committer's day, `YYYY-MM-DD`, in the committer's own time zone.
    pub fn date(&self) -> String {
        let zone = jiff::tz::Offset::from_seconds(self.offset)
            .unwrap_or(jiff::tz::Offset::UTC)
            .to_time_zone();
        jiff::Timestamp::from_second(self.time)
            .map(|t| t.to_zoned(zone).strftime("%Y-%m-%d").to_string())
            .unwrap_or_default()
    }
}

/// A set of commits, by place ([`History::reachable`]).
pub struct Reach(Vec<bool>);

impl Reach {
    pub fn has(&self, commit: &Commit) -> bool {
        self.0.get(commit.index).copied().unwrap_or(false)
    }
}

/// The paths a commit changed, each with whether it added it.
type Changed = std::rc::Rc<Vec<(String, bool)>>;

/// What a path is at a tree: its object, and whether it is a file.
type Entry = (ObjectId, bool);

/// The commits reachable from HEAD, newest first (each after all its children).
pub struct History {
    repo: gix::Repository,
    root: PathBuf,
    head: ObjectId,
    commits: Vec<Commit>,
    index: HashMap<ObjectId, usize>,
    /// (tree, path) → what is there: trees are shared by many commits.
    entries: RefCell<HashMap<(ObjectId, String), Option<Entry>>>,
    /// By commit index: the paths it changed, each with whether it added it.
    changed: RefCell<Vec<Option<Changed>>>,
}

impl History {
    /// The repository holding `dir`, and all of HEAD's history.
    pub fn open(dir: &Path) -> Result<History, HistoryError> {
        let shown = dir.display().to_string();
        let mut repo = gix::discover(dir).map_err(|e| HistoryError::NotARepository {
            dir: shown.clone(),
            cause: e.to_string(),
        })?;
        // every commit's tree is walked down to each input: keep the trees
        repo.object_cache_size_if_unset(16 * 1024 * 1024);
        let root = repo
            .workdir()
            .ok_or(HistoryError::NoWorkTree { dir: shown.clone() })?;
        let root = fs_err::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
        let read = |e: &dyn std::fmt::Display| HistoryError::Read {
            root: root.display().to_string(),
            cause: e.to_string(),
        };
        let head = match repo.head_id() {
            Ok(id) => id.detach(),
            Err(_) => return Err(HistoryError::NoCommit { dir: shown }),
        };
        let mut commits = Vec::new();
        let mut seen = HashSet::from([head]);
        let mut todo = vec![head];
        while let Some(id) = todo.pop() {
            let commit = repo.find_commit(id).map_err(|e| read(&e))?;
            let decoded = commit.decode().map_err(|e| read(&e))?;
            let time = commit.time().map_err(|e| read(&e))?;
            let parents: Vec<ObjectId> = decoded.parents().collect();
            let mut cut = false;
            for &p in &parents {
                if !repo.has_object(p) {
                    cut = true;
                } else if seen.insert(p) {
                    todo.push(p);
                }
            }
            commits.push(Commit {
                id,
                index: 0,
                first: None,
                parents_at: Vec::new(),
                cut,
                message: String::from_utf8_lossy(decoded.message).into_owned(),
                tree: decoded.tree(),
                time: time.seconds,
                offset: time.offset,
                parents,
            });
        }
        let mut commits = newest_first(commits);
        for (i, c) in commits.iter_mut().enumerate() {
            c.index = i;
        }
        let index: HashMap<ObjectId, usize> =
            commits.iter().enumerate().map(|(i, c)| (c.id, i)).collect();
        for c in commits.iter_mut() {
            c.first = c.parents.first().and_then(|p| index.get(p).copied());
            c.parents_at = c
                .parents
                .iter()
                .filter_map(|p| index.get(p).copied())
                .collect();
        }
        let changed = RefCell::new(vec![None; commits.len()]);
        Ok(History {
            repo,
            root,
            head,
            commits,
            index,
            entries: RefCell::default(),
            changed,
        })
    }

    /// A shallow clone: commits below its boundary are not here.
    pub fn is_shallow(&self) -> bool {
        self.repo.is_shallow().unwrap_or(false)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn head(&self) -> &Commit {
        self.commit(&self.head).unwrap_or(&self.commits[0])
    }

    /// Newest first; every commit comes before its parents.
    pub fn commits(&self) -> &[Commit] {
        &self.commits
    }

    pub fn commit(&self, id: &ObjectId) -> Option<&Commit> {
        self.index.get(id).map(|&i| &self.commits[i])
    }

    /// `path` (absolute, on disk) from the repository's root, `/`-separated.
    pub fn relative(&self, path: &Path) -> Result<String, HistoryError> {
        let real = crate::target::resolved(path).unwrap_or_else(|| path.to_path_buf());
        let outside = || HistoryError::Outside {
            path: path.display().to_string(),
            root: self.root.display().to_string(),
        };
        let relative = real.strip_prefix(&self.root).map_err(|_| outside())?;
        relative
            .to_str()
            .map(|r| r.replace('\\', "/"))
            .ok_or_else(outside)
    }

    /// The blob `path` (from the root) has at `commit`: `None` when it is absent
    /// or not a file.
    pub fn blob(&self, commit: &Commit, path: &str) -> Result<Option<ObjectId>, HistoryError> {
        Ok(self
            .entry(commit, path)?
            .filter(|(_, is_blob)| *is_blob)
            .map(|(id, _)| id))
    }

    pub fn read_blob(&self, id: ObjectId) -> Result<Vec<u8>, HistoryError> {
        self.repo
            .find_blob(id)
            .map(|b| b.data.clone())
            .map_err(|e| self.read_error(&e))
    }

    /// The object `path` (from the root) has at `commit`, a file or a directory,
    /// and whether it is a file; looked up once per tree.
    fn entry(&self, commit: &Commit, path: &str) -> Result<Option<Entry>, HistoryError> {
        let key = (commit.tree, path.to_string());
        if let Some(found) = self.entries.borrow().get(&key) {
            return Ok(*found);
        }
        let tree = self
            .repo
            .find_tree(commit.tree)
            .map_err(|e| self.read_error(&e))?;
        let found = tree
            .lookup_entry_by_path(path)
            .map_err(|e| self.read_error(&e))?
            .map(|e| (e.object_id(), e.mode().is_blob()));
        self.entries.borrow_mut().insert(key, found);
        Ok(found)
    }

    /// Whether `path`, a file or a directory, differs between `commit` and its first
    /// parent (a root commit that has it counts as changing it).
    pub fn touches(&self, commit: &Commit, path: &str) -> Result<bool, HistoryError> {
        let changed = self.changed(commit)?;
        if path.is_empty() {
            return Ok(!changed.is_empty());
        }
        let within = |(p, _): &(String, bool)| {
            p == path || (p.starts_with(path) && p.as_bytes().get(path.len()) == Some(&b'/'))
        };
        Ok(changed.iter().any(within))
    }

    /// Whether `commit` added the file at `path` (absent in its first parent).
    pub fn added(&self, commit: &Commit, path: &str) -> Result<bool, HistoryError> {
        Ok(self
            .changed(commit)?
            .iter()
            .any(|(p, added)| *added && p == path))
    }

    /// The paths `commit` changed against its first parent, files and directories,
    /// from one tree diff per commit (what `git log --name-only` reads).
    fn changed(&self, commit: &Commit) -> Result<Changed, HistoryError> {
        if let Some(Some(found)) = self.changed.borrow().get(commit.index) {
            return Ok(found.clone());
        }
        let read = |e: &dyn std::fmt::Display| self.read_error(e);
        let new = self.repo.find_tree(commit.tree).map_err(|e| read(&e))?;
        let old = match self.first_parent(commit) {
            Some(p) => Some(self.repo.find_tree(p.tree).map_err(|e| read(&e))?),
            None => None,
        };
        let mut options = gix::diff::Options::default();
        options.track_path().track_rewrites(None);
        let changes = self
            .repo
            .diff_tree_to_tree(old.as_ref(), &new, options)
            .map_err(|e| read(&e))?;
        let paths: Vec<(String, bool)> = changes
            .iter()
            .map(|c| {
                let added = matches!(c, gix::object::tree::diff::ChangeDetached::Addition { .. });
                (c.location().to_string(), added)
            })
            .collect();
        let paths = std::rc::Rc::new(paths);
        if let Some(slot) = self.changed.borrow_mut().get_mut(commit.index) {
            *slot = Some(paths.clone());
        }
        Ok(paths)
    }

    /// The path `path` had in `commit`'s first parent, when `commit` renamed or
    /// moved it there (git's rename detection: half the content alike).
    pub fn renamed_from(
        &self,
        commit: &Commit,
        path: &str,
    ) -> Result<Option<String>, HistoryError> {
        let Some(parent) = self.first_parent(commit) else {
            return Ok(None);
        };
        let read = |e: &dyn std::fmt::Display| self.read_error(e);
        let new = self.repo.find_tree(commit.tree).map_err(|e| read(&e))?;
        let old = self.repo.find_tree(parent.tree).map_err(|e| read(&e))?;
        let mut options = gix::diff::Options::default();
        options
            .track_path()
            .track_rewrites(Some(gix::diff::Rewrites::default()));
        let changes = self
            .repo
            .diff_tree_to_tree(&old, &new, options)
            .map_err(|e| read(&e))?;
        Ok(changes.iter().find_map(|c| match c {
            gix::object::tree::diff::ChangeDetached::Rewrite {
                source_location,
                location,
                copy: false,
                ..
            } if location == path => Some(source_location.to_string()),
            _ => None,
        }))
    }

    /// The first parent, when the repository has it.
    pub fn first_parent(&self, commit: &Commit) -> Option<&Commit> {
        commit.first.and_then(|i| self.commits.get(i))
    }

    /// The commits reachable from `tip`, `tip` included: one pass down the
    /// topological order, where every parent comes after its children.
    pub fn reachable(&self, tip: &Commit) -> Reach {
        let mut bits = vec![false; self.commits.len()];
        if let Some(b) = bits.get_mut(tip.index) {
            *b = true;
        }
        for i in tip.index..self.commits.len() {
            if bits[i] {
                for &p in &self.commits[i].parents_at {
                    bits[p] = true;
                }
            }
        }
        Reach(bits)
    }

    /// Whether the commit `id` is in `reach`.
    pub fn reaches(&self, reach: &Reach, id: &ObjectId) -> bool {
        self.index.get(id).is_some_and(|&i| reach.0[i])
    }

    /// Every tag as (name, the commit it points at), annotated or not.
    pub fn tags(&self) -> Result<Vec<(String, ObjectId)>, HistoryError> {
        let refs = self.repo.references().map_err(|e| self.read_error(&e))?;
        let mut tags = Vec::new();
        for r in refs.tags().map_err(|e| self.read_error(&e))? {
            let Ok(mut r) = r else { continue };
            let name = r.name().shorten().to_string();
            if let Ok(id) = r.peel_to_id() {
                tags.push((name, id.detach()));
            }
        }
        tags.sort();
        Ok(tags)
    }

    /// An annotated tag `name` on HEAD, with the committer from git's configuration
    /// as the tagger. An existing tag is never moved (the caller says so first; a
    /// tag made meanwhile fails the reference's own check).
    pub fn tag(&self, name: &str, message: &str) -> Result<(), HistoryError> {
        let fail = |e: &dyn std::fmt::Display| HistoryError::Tag {
            tag: name.to_string(),
            cause: e.to_string(),
        };
        let tagger = match self.repo.committer() {
            Some(Ok(t)) => t,
            Some(Err(e)) => return Err(fail(&e)),
            None => {
                return Err(fail(
                    &"git's configuration has no `user.name` and `user.email`",
                ));
            }
        };
        self.repo
            .tag(
                name,
                self.head,
                gix::objs::Kind::Commit,
                Some(tagger),
                message,
                gix::refs::transaction::PreviousValue::MustNotExist,
            )
            .map(|_| ())
            .map_err(|e| fail(&e))
    }

    fn read_error(&self, e: &dyn std::fmt::Display) -> HistoryError {
        HistoryError::Read {
            root: self.root.display().to_string(),
            cause: e.to_string(),
        }
    }
}

/// Orders commits so that each comes before all its parents, newer commits first
/// among those that are free (Kahn's algorithm on the child → parent edges, by
/// commit time): what `git log --topo-order` would show, without clock skew putting
/// a parent before its child.
fn newest_first(commits: Vec<Commit>) -> Vec<Commit> {
    let position: HashMap<ObjectId, usize> =
        commits.iter().enumerate().map(|(i, c)| (c.id, i)).collect();
    let mut children = vec![0usize; commits.len()];
    for c in &commits {
        for p in &c.parents {
            if let Some(&i) = position.get(p) {
                children[i] += 1;
            }
        }
    }
    let mut ready: std::collections::BinaryHeap<(i64, ObjectId)> = commits
        .iter()
        .enumerate()
        .filter(|(i, _)| children[*i] == 0)
        .map(|(_, c)| (c.time, c.id))
        .collect();
    let mut order = Vec::with_capacity(commits.len());
    while let Some((_, id)) = ready.pop() {
        let i = position[&id];
        order.push(i);
        for p in &commits[i].parents {
            if let Some(&j) = position.get(p) {
                children[j] -= 1;
                if children[j] == 0 {
                    ready.push((commits[j].time, commits[j].id));
                }
            }
        }
    }
    let mut slots: Vec<Option<Commit>> = commits.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(n: u8, parents: &[u8], time: i64) -> Commit {
        let id = |n: u8| ObjectId::from_bytes_or_panic(&[n; 20]);
        Commit {
            id: id(n),
            index: 0,
            first: None,
            parents_at: Vec::new(),
            parents: parents.iter().map(|&p| id(p)).collect(),
            cut: false,
            message: String::new(),
            tree: id(0),
            time,
            offset: 0,
        }
    }

    // a child dated before its parent (clock skew) still comes first; among free
    // commits the newer goes first
    #[test]
    fn children_come_before_parents_whatever_the_clocks_say() {
        let commits = vec![
            commit(1, &[], 100),
            commit(2, &[1], 50),
            commit(3, &[1], 300),
            commit(4, &[2, 3], 200),
        ];
        let order: Vec<u8> = newest_first(commits)
            .iter()
            .map(|c| c.id.as_bytes()[0])
            .collect();
        assert_eq!(order, [4, 3, 2, 1]);
    }

    #[test]
    fn a_date_is_the_committers_own_day() {
        let mut c = commit(1, &[], 1_764_633_600); // 2025-12-02T00:00:00Z
        assert_eq!(c.date(), "2025-12-02");
        c.offset = -3600;
        assert_eq!(c.date(), "2025-12-01");
    }
}
