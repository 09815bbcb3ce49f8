//! Registries: shared sources of agents. `index` is the static JSON index format;
//! `build` makes one from a folder of templates and agent files; `git` reads a
//! repository of them, `marketplace` a Claude Code plugin marketplace.
//! [`Opened`] is the resolve stage's door to the last two.

pub mod build;
pub mod error;
pub mod git;
pub mod index;
pub mod marketplace;

pub use error::RegistryError;

use crate::Error;
use crate::hash::Digest;
use crate::lockfile::Package;
use crate::manifest::registries::RegistryKind;
use git::{GitLocation, GitRepo};
use marketplace::{Marketplace, Root};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A git or marketplace registry, as the manifest declares it.
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    pub name: &'a str,
    pub kind: RegistryKind,
    /// Its location as written.
    pub written: &'a str,
    pub reference: Option<&'a str>,
    /// The manifest's folder, which a path is relative to.
    pub dir: &'a Path,
}

/// One version of an agent a registry offers.
#[derive(Debug, Clone)]
pub struct Offer {
    /// A semantic version, or (for git) a commit's first 12 hex digits, or (for a
    /// marketplace) `unknown`.
    pub version: String,
    pub semver: Option<semver::Version>,
    pub commit: Option<String>,
    pub path: String,
    pub sha256: Digest,
    pub plugin: Option<String>,
}

/// An agent's versions in a registry, newest first, and the names of the agents
/// there (for a near miss when it has none).
#[derive(Debug, Default)]
pub struct Offers {
    pub offers: Vec<Offer>,
    pub names: Vec<String>,
}

/// The git repositories and marketplaces one resolution opened, by registry.
pub struct Opened {
    /// mpm's cache folder (clones go in its `git/`).
    cache: Option<PathBuf>,
    offline: bool,
    git: BTreeMap<String, GitRepo>,
    markets: BTreeMap<String, Marketplace>,
    /// Registries that could not be opened or fetched.
    broken: std::collections::BTreeSet<String>,
    /// For the resolution's warnings.
    pub warnings: Vec<String>,
}

impl Opened {
    pub fn new(cache: Option<PathBuf>, offline: bool) -> Opened {
        Opened {
            cache,
            offline,
            git: BTreeMap::new(),
            markets: BTreeMap::new(),
            broken: Default::default(),
            warnings: Vec::new(),
        }
    }

    /// The versions of agent `name` (the manifest's `agent`) that `place` offers,
    /// read afresh: a URL's clone is fetched first (once), unless offline.
    pub fn offers(
        &mut self,
        place: &Place,
        agent: &str,
        name: &str,
        plugin: Option<&str>,
    ) -> Result<Offers, Error> {
        match place.kind {
            RegistryKind::Marketplace => {
                let market = match self.market(place, agent) {
                    Ok(market) => market,
                    Err(e) => {
                        self.broken.insert(place.name.to_string());
                        return Err(e);
                    }
                };
                let (offers, names) = market.offers(place.name, agent, name, plugin)?;
                Ok(Offers {
                    offers: offers
                        .into_iter()
                        .map(|o| Offer {
                            version: o.version,
                            semver: o.semver,
                            commit: o.commit.map(|c| c.to_string()),
                            path: o.path,
                            sha256: o.sha256,
                            plugin: Some(o.plugin),
                        })
                        .collect(),
                    names,
                })
            }
            _ => {
                let offline = self.offline;
                let revisions = self.repo(place).and_then(|repo| {
                    repo.refresh(offline, agent)?;
                    repo.revisions(place.name, place.reference)
                });
                let revisions = match revisions {
                    Ok(revisions) => revisions,
                    Err(e) => {
                        self.broken.insert(place.name.to_string());
                        return Err(e);
                    }
                };
                let repo = self.repo(place)?;
                let (offers, names) = repo.offers(place.name, name, &revisions)?;
                Ok(Offers {
                    offers: offers
                        .into_iter()
                        .map(|o| Offer {
                            version: o.version,
                            semver: o.semver,
                            commit: Some(o.commit.to_string()),
                            path: o.path,
                            sha256: o.sha256,
                            plugin: None,
                        })
                        .collect(),
                    names,
                })
            }
        }
    }

    /// The bytes a pin names, and where they were as messages name it. Nothing is
    /// fetched when the clone holds the pinned commit.
    pub fn read(
        &mut self,
        place: &Place,
        agent: &str,
        package: &Package,
    ) -> Result<(Vec<u8>, String), Error> {
        let read = self.read_pinned(place, agent, package);
        if let Err(Error::Registry(e)) = &read
            && matches!(
                **e,
                RegistryError::Repository { .. }
                    | RegistryError::Fetch { .. }
                    | RegistryError::Offline { .. }
            )
        {
            self.broken.insert(place.name.to_string());
        }
        read
    }

    /// Whether `registry` failed as a whole (it cannot be opened or fetched)
    /// already: its error is reported once, not for each of its agents.
    pub fn is_broken(&self, registry: &str) -> bool {
        self.broken.contains(registry)
    }

    fn read_pinned(
        &mut self,
        place: &Place,
        agent: &str,
        package: &Package,
    ) -> Result<(Vec<u8>, String), Error> {
        let offline = self.offline;
        let path = package.path.as_deref().unwrap_or_default();
        let (bytes, shown) = match (&package.commit, location(place)?) {
            (None, GitLocation::Path(dir)) if place.kind == RegistryKind::Marketplace => {
                marketplace::read_in_dir(&marketplace::root_of(dir), agent, path)?
            }
            (commit, _) => {
                let commit = commit.as_deref().unwrap_or_default();
                let repo = self.repo(place)?;
                let bytes = repo.read(agent, commit, path, offline)?;
                let short = commit.get(..12).unwrap_or(commit);
                (bytes, format!("{path} @ {short} in {}", repo.shown()))
            }
        };
        const PLUGIN_ROOT: &[u8] = b"${CLAUDE_PLUGIN_ROOT}";
        if place.kind == RegistryKind::Marketplace
            && bytes.windows(PLUGIN_ROOT.len()).any(|w| w == PLUGIN_ROOT)
        {
            self.warnings.push(format!(
                "agent `{agent}` refers to `${{CLAUDE_PLUGIN_ROOT}}`, which the client sets only for the agents of a plugin it loads (`{}`)",
                package.plugin.as_deref().unwrap_or_default()
            ));
        }
        Ok((bytes, shown))
    }

    fn repo(&mut self, place: &Place) -> Result<&mut GitRepo, Error> {
        use std::collections::btree_map::Entry;
        Ok(match self.git.entry(place.name.to_string()) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => e.insert(GitRepo::open(location(place)?, self.cache.as_deref())?),
        })
    }

    /// A marketplace: a folder (a path with no `ref:`), or a git repository at
    /// `ref:` or its `HEAD` (a URL, or a path with `ref:`), fetched first (once)
    /// unless offline.
    fn market(&mut self, place: &Place, agent: &str) -> Result<&mut Marketplace, Error> {
        use std::collections::btree_map::Entry;
        let vacant = match self.markets.entry(place.name.to_string()) {
            Entry::Occupied(e) => return Ok(e.into_mut()),
            Entry::Vacant(e) => e,
        };
        let market = match location(place)? {
            GitLocation::Path(dir) if place.reference.is_none() => {
                let dir = marketplace::root_of(dir);
                let shown = dir.display().to_string();
                Marketplace::open(Root::Dir(dir), shown)?
            }
            GitLocation::Url(url) if url.to_ascii_lowercase().ends_with(".json") => {
                return Err(RegistryError::NotAMarketplace {
                    shown: url,
                    message: "mpm reads a marketplace from a folder or a git repository, not from the URL of its `marketplace.json`".into(),
                }
                .into());
            }
            location => {
                let mut repo = GitRepo::open(location, self.cache.as_deref())?;
                repo.refresh(self.offline, agent)?;
                let revisions =
                    repo.revisions(place.name, Some(place.reference.unwrap_or("HEAD")))?;
                let commit = revisions.first().map(|r| r.commit);
                let shown = repo.shown();
                match commit {
                    Some(commit) => Marketplace::open(Root::Git(Box::new(repo), commit), shown)?,
                    None => {
                        return Err(RegistryError::Repository {
                            shown,
                            message: "it has no commit".into(),
                        }
                        .into());
                    }
                }
            }
        };
        Ok(vacant.insert(market))
    }
}

/// Where a place's repository or folder is.
fn location(place: &Place) -> Result<GitLocation, Error> {
    GitLocation::parse(place.written, place.dir).map_err(|message| {
        RegistryError::Repository {
            shown: place.written.to_string(),
            message,
        }
        .into()
    })
}
