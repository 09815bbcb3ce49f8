//! Git registries: a repository of Claude Code agent files (`*.md` with
//! frontmatter) and claude-mpm templates (`*.json`), anywhere in its tree, read
//! from the object database at a revision: no checkout, nothing written to the
//! repository.
//!
//! A path is opened where it is. A URL (`file://`, `http(s)://`) is cloned, bare,
//! into mpm's cache
//! (`<cache>/git/<sha256 of the URL>`, one lock file beside each clone so that two
//! mpm processes never fetch into one at once) and fetched when a resolution
//! needs more than the clone holds; `--offline` never fetches.
//!
//! What the versions of an agent are (docs/registry.md, "Git registries"):
//! - the revisions: `ref:` alone when it is given (a branch, tag or commit);
//!   otherwise every tag `vX.Y.Z`, newest first, or `HEAD` when there is none;
//! - an agent's version at a revision: the `vX.Y.Z` tag it is (for a commit with
//!   several, the highest), else the file's own version (a template's
//!   `agent_version`, a frontmatter `version`), else the commit's first 12 hex
//!   digits, which no `version:` requirement matches.

use super::error::RegistryError;
use crate::Error;
use crate::hash::Digest;
use crate::name::AgentName;
use gix::ObjectId;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// The ref a clone keeps its remote's `HEAD` in (a bare clone's own `HEAD` is
/// whatever `init` made it).
const REMOTE_HEAD: &str = "refs/mpm/remote-head";
/// What a clone fetches: every branch and tag, as they are on the remote.
const REFSPECS: [&str; 3] = [
    "+refs/heads/*:refs/heads/*",
    "+refs/tags/*:refs/tags/*",
    "+HEAD:refs/mpm/remote-head",
];

/// Where a git registry is, as the manifest gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GitLocation {
    /// A repository on this machine, opened where it is.
    Path(PathBuf),
    /// A URL, cloned into mpm's cache.
    Url(String),
}

impl GitLocation {
    /// `written` as the manifest gives it: a URL, or a path relative to `dir`.
    pub fn parse(written: &str, dir: &Path) -> Result<GitLocation, String> {
        // `git@github.com:acme/agents`: git's short form of an SSH URL
        if let Some((user_host, _)) = written.split_once(':')
            && user_host.contains('@')
            && !user_host.contains('/')
        {
            return Err(
                "it is an SSH address, which mpm does not read: give the repository's `https://` URL, or the path of a clone"
                    .into(),
            );
        }
        let location = crate::resolve::Location::parse(written, dir)?;
        let is_file_url = written
            .get(..7)
            .is_some_and(|s| s.eq_ignore_ascii_case("file://"));
        Ok(match location {
            crate::resolve::Location::File(path) if is_file_url => {
                GitLocation::Url(format!("file://{}", path.display()))
            }
            crate::resolve::Location::File(path) => GitLocation::Path(path),
            crate::resolve::Location::Url(url) => GitLocation::Url(url),
        })
    }

    fn shown(&self) -> String {
        match self {
            GitLocation::Path(p) => p.display().to_string(),
            GitLocation::Url(u) => u.clone(),
        }
    }
}

/// One revision a registry's agents are read at.
#[derive(Debug, Clone)]
pub struct Revision {
    pub commit: ObjectId,
    /// The `vX.Y.Z` tag it is, as a version.
    pub tag: Option<semver::Version>,
}

/// An agent file or template found in a tree.
#[derive(Debug, Clone)]
pub struct Found {
    /// From the root of the repository.
    pub path: String,
    pub sha256: Digest,
    /// Its own `agent_version` or frontmatter `version`, when a semantic version.
    pub version: Option<semver::Version>,
}

/// The agents of one tree, by name.
#[derive(Debug, Default)]
pub struct Catalog {
    pub agents: BTreeMap<String, Vec<Found>>,
}

/// One version of an agent a git registry offers.
#[derive(Debug, Clone)]
pub struct GitOffer {
    pub version: String,
    pub semver: Option<semver::Version>,
    pub commit: ObjectId,
    pub path: String,
    pub sha256: Digest,
}

/// A registry's repository, opened (a URL's clone may not exist yet).
pub struct GitRepo {
    location: GitLocation,
    /// For a URL: its clone in the cache.
    clone: Option<PathBuf>,
    repo: Option<gix::Repository>,
    /// Fetched in this run already.
    fetched: bool,
    catalogs: HashMap<ObjectId, Rc<Catalog>>,
    /// What each blob read so far is (most are the same at every tag).
    blobs: HashMap<(ObjectId, String), Option<Agent>>,
    tags: Option<Rc<Vec<(semver::Version, ObjectId)>>>,
}

/// The agent a blob is: its name, own version and digest.
type Agent = (String, Option<semver::Version>, Digest);

impl GitRepo {
    /// Opens the repository at `location` (a URL's clone in `cache`, if it has
    /// one yet: nothing is fetched here).
    pub fn open(location: GitLocation, cache: Option<&Path>) -> Result<GitRepo, Error> {
        let mut this = GitRepo {
            clone: None,
            repo: None,
            fetched: false,
            catalogs: HashMap::new(),
            blobs: HashMap::new(),
            tags: None,
            location,
        };
        match &this.location {
            GitLocation::Path(path) => {
                this.repo = Some(open_in_place(path)?);
            }
            GitLocation::Url(url) => {
                let Some(cache) = cache else {
                    return Err(RegistryError::Repository {
                        shown: url.clone(),
                        message: "mpm has no cache folder to clone it into (neither `XDG_CACHE_HOME` nor `HOME` is set)".into(),
                    }
                    .into());
                };
                let dir = cache.join("git").join(Digest::of(url.as_bytes()).hex());
                if dir.join("HEAD").is_file() {
                    this.repo = Some(open_clone(&dir)?);
                }
                this.clone = Some(dir);
            }
        }
        Ok(this)
    }

    /// The repository as messages name it.
    pub fn shown(&self) -> String {
        self.location.shown()
    }

    /// Brings a URL's clone up to date, once per run (a path: nothing to do).
    /// `agent` is who needs it, for the `--offline` error.
    pub fn refresh(&mut self, offline: bool, agent: &str) -> Result<(), Error> {
        let (GitLocation::Url(url), Some(dir)) = (&self.location, &self.clone) else {
            return Ok(());
        };
        if self.fetched {
            return Ok(());
        }
        if offline {
            return match self.repo {
                Some(_) => Ok(()),
                None => Err(RegistryError::Offline {
                    agent: agent.to_string(),
                    url: url.clone(),
                    what: "mpm's cache holds no clone of it".into(),
                }
                .into()),
            };
        }
        let repo = fetch_into(url, dir)?;
        self.repo = Some(repo);
        self.fetched = true;
        self.catalogs.clear();
        self.tags = None;
        Ok(())
    }

    fn repo(&self) -> Result<&gix::Repository, Error> {
        self.repo.as_ref().ok_or_else(|| {
            RegistryError::Repository {
                shown: self.shown(),
                message: "it is not cloned yet".into(),
            }
            .into()
        })
    }

    fn failed(&self, e: impl std::fmt::Display) -> Error {
        RegistryError::Repository {
            shown: self.shown(),
            message: e.to_string(),
        }
        .into()
    }

    /// Its `vX.Y.Z` tags, newest first, with the commits they are.
    fn tags(&mut self) -> Result<Rc<Vec<(semver::Version, ObjectId)>>, Error> {
        if let Some(tags) = &self.tags {
            return Ok(tags.clone());
        }
        let repo = self.repo()?;
        let mut tags = Vec::new();
        let platform = repo.references().map_err(|e| self.failed(e))?;
        for reference in platform.tags().map_err(|e| self.failed(e))? {
            let Ok(mut reference) = reference else {
                continue;
            };
            let name = reference.name().shorten().to_string();
            let Some(version) = tag_version(&name) else {
                continue;
            };
            // a tag of a tree or a blob is no version of anything
            if let Ok(commit) = reference.peel_to_commit() {
                tags.push((version, commit.id));
            }
        }
        tags.sort_by(|a, b| b.0.cmp(&a.0));
        let tags = Rc::new(tags);
        self.tags = Some(tags.clone());
        Ok(tags)
    }

    /// The revisions the agents are read at: `reference` alone, else every
    /// `vX.Y.Z` tag (newest first), else `HEAD`.
    pub fn revisions(
        &mut self,
        registry: &str,
        reference: Option<&str>,
    ) -> Result<Vec<Revision>, Error> {
        let tags = self.tags()?;
        let tag_of = |commit: ObjectId| {
            tags.iter()
                .find(|(_, c)| *c == commit)
                .map(|(v, _)| v.clone())
        };
        let is_clone = self.clone.is_some();
        let repo = self.repo()?;
        let commit = match reference {
            None if !tags.is_empty() => {
                return Ok(tags
                    .iter()
                    .map(|(v, c)| Revision {
                        commit: *c,
                        tag: Some(v.clone()),
                    })
                    .collect());
            }
            None => {
                let head = if is_clone { REMOTE_HEAD } else { "HEAD" };
                match repo.rev_parse_single(head).map(|id| id.detach()) {
                    Ok(id) => peel_to_commit(repo, id).map_err(|e| self.failed(e))?,
                    Err(_) => {
                        return Err(self.failed("it has no commit at `HEAD`"));
                    }
                }
            }
            Some(reference) => {
                let spec = match reference {
                    "HEAD" if is_clone => REMOTE_HEAD,
                    other => other,
                };
                let id = repo.rev_parse_single(spec).map(|id| id.detach());
                match id.map(|id| peel_to_commit(repo, id)) {
                    Ok(Ok(commit)) => commit,
                    Ok(Err(e)) => return Err(self.failed(format!("`{reference}`: {e}"))),
                    Err(_) => {
                        let names = ref_names(repo);
                        let names: Vec<&str> = names.iter().map(String::as_str).collect();
                        return Err(RegistryError::NoSuchRef {
                            registry: registry.to_string(),
                            shown: self.shown(),
                            reference: reference.to_string(),
                            near: crate::text::closest(reference, &names).map(str::to_string),
                        }
                        .into());
                    }
                }
            }
        };
        Ok(vec![Revision {
            commit,
            tag: tag_of(commit),
        }])
    }

    /// The agents of the tree of `commit`.
    pub fn catalog(&mut self, commit: ObjectId) -> Result<Rc<Catalog>, Error> {
        if let Some(c) = self.catalogs.get(&commit) {
            return Ok(c.clone());
        }
        // the field, not `repo()`: `blobs` is written below
        let Some(repo) = self.repo.as_ref() else {
            return Err(self.failed("it is not cloned yet"));
        };
        let entries = repo
            .find_commit(commit)
            .and_then(|c| c.tree())
            .and_then(|tree| tree.traverse().breadthfirst.files())
            .map_err(|e| self.failed(e))?;
        let mut catalog = Catalog::default();
        for entry in entries {
            if !entry.mode.is_blob() {
                continue;
            }
            let path = entry.filepath.to_string();
            if path.split('/').any(|part| part.starts_with('.')) {
                continue;
            }
            // a template's name is its file's: the same bytes elsewhere may be another
            let file = path.rsplit('/').next().unwrap_or(&path).to_string();
            let agent = match self.blobs.get(&(entry.oid, file.clone())) {
                Some(known) => known.clone(),
                None => {
                    let agent = agent_in(repo, &path, entry.oid);
                    self.blobs.insert((entry.oid, file), agent.clone());
                    agent
                }
            };
            let Some((name, version, sha256)) = agent else {
                continue;
            };
            catalog.agents.entry(name).or_default().push(Found {
                path,
                sha256,
                version,
            });
        }
        let catalog = Rc::new(catalog);
        self.catalogs.insert(commit, catalog.clone());
        Ok(catalog)
    }

    /// The versions of agent `name` at `revisions`, newest first, and the names of
    /// the agents at the first (for a near miss).
    pub fn offers(
        &mut self,
        registry: &str,
        name: &str,
        revisions: &[Revision],
    ) -> Result<(Vec<GitOffer>, Vec<String>), Error> {
        let mut offers = Vec::new();
        let mut names = Vec::new();
        for (i, revision) in revisions.iter().enumerate() {
            let catalog = self.catalog(revision.commit)?;
            if i == 0 {
                names = catalog.agents.keys().cloned().collect();
            }
            let Some(found) = catalog.agents.get(name) else {
                continue;
            };
            let [found] = found.as_slice() else {
                return Err(RegistryError::TwoAgents {
                    registry: registry.to_string(),
                    name: name.to_string(),
                    at: match &revision.tag {
                        Some(v) => format!("tag `v{v}`"),
                        None => format!("commit {}", short(revision.commit)),
                    },
                    paths: found.iter().map(|f| f.path.clone()).collect(),
                }
                .into());
            };
            let semver = revision.tag.clone().or_else(|| found.version.clone());
            offers.push(GitOffer {
                version: semver
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_else(|| short(revision.commit)),
                semver,
                commit: revision.commit,
                path: found.path.clone(),
                sha256: found.sha256,
            });
        }
        Ok((offers, names))
    }

    /// The bytes of `path` at `commit` (40 hex digits, from a pin), fetched when
    /// a URL's clone lacks the commit (never with `offline`).
    pub fn read(
        &mut self,
        agent: &str,
        commit: &str,
        path: &str,
        offline: bool,
    ) -> Result<Vec<u8>, Error> {
        let bad = || {
            Error::from(RegistryError::BadPath {
                agent: agent.to_string(),
                path: format!("{path} @ {commit}"),
            })
        };
        let id = ObjectId::from_hex(commit.as_bytes()).map_err(|_| bad())?;
        if !is_inside(path) {
            return Err(bad());
        }
        let present = |this: &GitRepo| this.repo.as_ref().is_some_and(|r| r.has_object(id));
        if !present(self) && self.clone.is_some() {
            if offline {
                return Err(RegistryError::Offline {
                    agent: agent.to_string(),
                    url: self.shown(),
                    what: match self.repo {
                        Some(_) => format!("commit {commit} is not in mpm's clone of it"),
                        None => "mpm's cache holds no clone of it".into(),
                    },
                }
                .into());
            }
            self.refresh(offline, agent)?;
        }
        if !present(self) {
            return Err(RegistryError::NoSuchCommit {
                agent: agent.to_string(),
                commit: commit.to_string(),
                shown: self.shown(),
            }
            .into());
        }
        let repo = self.repo()?;
        let tree = repo
            .find_commit(id)
            .and_then(|c| c.tree())
            .map_err(|e| self.failed(e))?;
        let entry = tree
            .lookup_entry_by_path(path)
            .map_err(|e| self.failed(e))?
            .filter(|e| e.mode().is_blob());
        let Some(entry) = entry else {
            return Err(RegistryError::NoSuchFile {
                agent: agent.to_string(),
                path: path.to_string(),
                shown: self.shown(),
                commit: commit.to_string(),
            }
            .into());
        };
        let blob = repo
            .find_blob(entry.object_id())
            .map_err(|e| self.failed(e))?;
        Ok(blob.detach().data)
    }

    /// The bytes of `path` at `commit`, `None` when the tree has no such file
    /// (for a marketplace in a repository).
    pub fn file_at(&self, commit: ObjectId, path: &str) -> Result<Option<Vec<u8>>, Error> {
        let repo = self.repo()?;
        let tree = repo
            .find_commit(commit)
            .and_then(|c| c.tree())
            .map_err(|e| self.failed(e))?;
        let Some(entry) = tree
            .lookup_entry_by_path(path)
            .map_err(|e| self.failed(e))?
            .filter(|e| e.mode().is_blob())
        else {
            return Ok(None);
        };
        let blob = repo
            .find_blob(entry.object_id())
            .map_err(|e| self.failed(e))?;
        Ok(Some(blob.detach().data))
    }

    /// The files under the folder `dir` at `commit`, by path from the root,
    /// sorted (for a marketplace in a repository).
    pub fn files_under(&self, commit: ObjectId, dir: &str) -> Result<Vec<String>, Error> {
        let repo = self.repo()?;
        let tree = repo
            .find_commit(commit)
            .and_then(|c| c.tree())
            .map_err(|e| self.failed(e))?;
        let sub = match dir {
            "" => Some(tree),
            dir => tree
                .lookup_entry_by_path(dir)
                .map_err(|e| self.failed(e))?
                .filter(|e| e.mode().is_tree())
                .map(|e| repo.find_tree(e.object_id()))
                .transpose()
                .map_err(|e| self.failed(e))?,
        };
        let Some(sub) = sub else {
            return Ok(Vec::new());
        };
        let mut files: Vec<String> = sub
            .traverse()
            .breadthfirst
            .files()
            .map_err(|e| self.failed(e))?
            .into_iter()
            .filter(|e| e.mode.is_blob())
            .map(|e| match dir {
                "" => e.filepath.to_string(),
                dir => format!("{dir}/{}", e.filepath),
            })
            .collect();
        files.sort();
        Ok(files)
    }
}

/// `v1.2.0` → 1.2.0.
fn tag_version(name: &str) -> Option<semver::Version> {
    semver::Version::parse(name.strip_prefix('v')?).ok()
}

/// A commit's first 12 hex digits.
pub fn short(id: ObjectId) -> String {
    id.to_hex_with_len(12).to_string()
}

/// Whether `path` (from a pin) names a file inside a tree: relative, no `..`.
pub fn is_inside(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && !path.contains('\\')
        && path
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
}

fn peel_to_commit(repo: &gix::Repository, id: ObjectId) -> Result<ObjectId, String> {
    let object = repo.find_object(id).map_err(|e| e.to_string())?;
    match object.peel_to_commit() {
        Ok(commit) => Ok(commit.id),
        Err(_) => Err("it is not a commit".into()),
    }
}

/// The names of its branches and tags, short.
fn ref_names(repo: &gix::Repository) -> Vec<String> {
    let Ok(platform) = repo.references() else {
        return Vec::new();
    };
    let Ok(all) = platform.all() else {
        return Vec::new();
    };
    all.flatten()
        .map(|r| r.name().shorten().to_string())
        .filter(|n| !n.starts_with("mpm/"))
        .collect()
}

/// The agent a blob at `path` is, if any: its name, own version and digest.
fn agent_in(repo: &gix::Repository, path: &str, oid: ObjectId) -> Option<Agent> {
    let file = path.rsplit('/').next().unwrap_or(path);
    let (stem, ext) = file.rsplit_once('.')?;
    if !matches!(ext, "md" | "json")
        || stem == "base_agent"
        || stem.starts_with("BASE_")
        || stem.starts_with("BASE-")
    {
        return None;
    }
    let bytes = repo.find_blob(oid).ok()?.detach().data;
    let sha256 = Digest::of(&bytes);
    if ext == "md" {
        let name = crate::agent_file::declared_name(&bytes)?;
        AgentName::parse(&name).ok()?;
        let version = crate::agent_file::declared(&bytes, "version")
            .and_then(|v| semver::Version::parse(&v).ok());
        return Some((name, version, sha256));
    }
    let name = AgentName::from_template_stem(stem).ok()?;
    let t = crate::template::Template::parse(&bytes, Path::new(path), path).ok()?;
    let version = t
        .agent_version
        .and_then(|v| semver::Version::parse(&v.value).ok());
    Some((name.to_string(), version, sha256))
}

/// A repository given by its path: the folder itself (not a parent of it).
fn open_in_place(path: &Path) -> Result<gix::Repository, Error> {
    let failed = |message: String| RegistryError::Repository {
        shown: path.display().to_string(),
        message,
    };
    if !path.is_dir() {
        return Err(failed("no such folder".into()).into());
    }
    gix::open_opts(path, gix::open::Options::isolated())
        .map_err(|_| failed("it is not a git repository".into()).into())
}

/// Options for mpm's own clones: nothing from the user's or the system's git
/// configuration, and a committer for the reflog.
fn clone_options() -> gix::open::Options {
    gix::open::Options::isolated().config_overrides([
        "user.name=mpm",
        "user.email=mpm@localhost",
        "core.logAllRefUpdates=false",
    ])
}

fn open_clone(dir: &Path) -> Result<gix::Repository, Error> {
    gix::open_opts(dir, clone_options()).map_err(|e| {
        RegistryError::Repository {
            shown: dir.display().to_string(),
            message: format!(
                "mpm's clone is damaged ({e}); remove the folder and mpm clones again"
            ),
        }
        .into()
    })
}

/// Fetches every branch and tag of `url` into the bare clone at `dir`, and drops
/// the branches and tags the remote no longer has. A clone is fetched into under
/// its lock file; a new one is made aside and renamed into place whole (of two
/// made at once, the first renamed wins), and a failed one leaves nothing behind,
/// not even the cache's folders.
fn fetch_into(url: &str, dir: &Path) -> Result<gix::Repository, Error> {
    let failed = |e: &dyn std::fmt::Display| {
        Error::from(RegistryError::Fetch {
            url: url.to_string(),
            message: e.to_string(),
        })
    };
    let parent = dir.parent().unwrap_or(dir);
    if dir.join("HEAD").is_file() {
        let mut lock_path = dir.as_os_str().to_owned();
        lock_path.push(".lock");
        let lock = fs_err::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(PathBuf::from(lock_path))?;
        rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive)
            .map_err(|e| failed(&std::io::Error::from(e)))?;
        let repo = open_clone(dir)?;
        fetch(&repo, url).map_err(|e| failed(&e))?;
        return Ok(repo);
    }
    let made = create_dirs(parent)?;
    let cloned = (|| {
        let temp = tempfile::Builder::new()
            .prefix(".tmp-clone-")
            .tempdir_in(parent)?;
        gix::init_bare(temp.path()).map_err(|e| failed(&e))?;
        fetch(&open_clone(temp.path())?, url).map_err(|e| failed(&e))?;
        if let Err(e) = fs_err::rename(temp.path(), dir) {
            // another mpm made it meanwhile: theirs is as good
            if !dir.join("HEAD").is_file() {
                return Err(Error::from(e));
            }
        }
        open_clone(dir)
    })();
    if cloned.is_err() {
        for made in made.iter().rev() {
            let _ = fs_err::remove_dir(made);
        }
    }
    cloned
}

/// Creates `dir` and its missing parents; the ones it made, outermost first.
fn create_dirs(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let missing: Vec<PathBuf> = dir
        .ancestors()
        .take_while(|d| !d.exists())
        .map(Path::to_path_buf)
        .collect();
    fs_err::create_dir_all(dir)?;
    Ok(missing.into_iter().rev().collect())
}

/// One fetch of every branch, tag and the remote's `HEAD`.
fn fetch(repo: &gix::Repository, url: &str) -> Result<(), String> {
    // TLS for `https://`: rustls with ring, as for registries' HTTP (a second
    // install is refused, which is fine)
    let _ = rustls::crypto::ring::default_provider().install_default();
    let remote = repo
        .remote_at(url)
        .and_then(|r| r.with_refspecs(REFSPECS, gix::remote::Direction::Fetch))
        .map_err(|e| e.to_string())?
        .with_fetch_tags(gix::remote::fetch::Tags::None);
    let outcome = remote
        .connect(gix::remote::Direction::Fetch)
        .and_then(|c| c.prepare_fetch(gix::progress::Discard, Default::default()))
        .and_then(|p| {
            p.receive(
                gix::progress::Discard,
                &std::sync::atomic::AtomicBool::new(false),
            )
        })
        .map_err(|e| e.to_string())?;
    prune(repo, &outcome.ref_map.remote_refs)
}

/// Deletes the branches and tags of the clone that the remote did not advertise.
fn prune(
    repo: &gix::Repository,
    advertised: &[gix::protocol::handshake::Ref],
) -> Result<(), String> {
    use gix::protocol::handshake::Ref;
    use gix::refs::transaction::{Change, PreviousValue, RefEdit, RefLog};
    let names: std::collections::HashSet<&[u8]> = advertised
        .iter()
        .map(|r| match r {
            Ref::Peeled { full_ref_name, .. }
            | Ref::Direct { full_ref_name, .. }
            | Ref::Symbolic { full_ref_name, .. }
            | Ref::Unborn { full_ref_name, .. } => full_ref_name.as_slice(),
        })
        .collect();
    let platform = repo.references().map_err(|e| e.to_string())?;
    let mut edits = Vec::new();
    for prefix in ["refs/heads/", "refs/tags/"] {
        let Ok(refs) = platform.prefixed(prefix) else {
            continue;
        };
        for r in refs.flatten() {
            let name = r.name().as_bstr();
            if !names.contains(name.as_ref() as &[u8]) {
                edits.push(RefEdit {
                    change: Change::Delete {
                        expected: PreviousValue::Any,
                        log: RefLog::AndReference,
                    },
                    name: r.name().to_owned(),
                    deref: false,
                });
            }
        }
    }
    if !edits.is_empty() {
        repo.edit_references(edits).map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_paths_are_read_strictly() {
        assert_eq!(tag_version("v1.2.0"), Some(semver::Version::new(1, 2, 0)));
        assert_eq!(tag_version("1.2.0"), None);
        assert_eq!(tag_version("v1.2"), None);
        assert!(is_inside("agents/qa.md"));
        for bad in ["", "/etc/passwd", "a/../b", "./a", "a//b", "a\\b"] {
            assert!(!is_inside(bad), "{bad}");
        }
    }

    #[test]
    fn a_file_url_is_cloned_and_a_path_is_opened_in_place() {
        let dir = Path::new("/work/project");
        assert_eq!(
            GitLocation::parse("agents-repo", dir).unwrap(),
            GitLocation::Path("/work/project/agents-repo".into())
        );
        assert_eq!(
            GitLocation::parse("file:///srv/my%20agents", dir).unwrap(),
            GitLocation::Url("file:///srv/my agents".into())
        );
        assert!(GitLocation::parse("git@github.com:acme/agents", dir).is_err());
        assert_eq!(
            GitLocation::parse("https://github.com/acme/agents", dir).unwrap(),
            GitLocation::Url("https://github.com/acme/agents".into())
        );
    }
}
