//! The resolve stage: manifest → (registries, mpm.lock, the cache) → verified bytes
//! for every agent that comes from a registry. The desired state is built from
//! these bytes only; it never sees a URL.
//!
//! An agent pinned in mpm.lock, whose pin still satisfies the manifest (same
//! registry, same place, a version its requirement allows), is taken as pinned:
//! no index is read. Its bytes come from the cache, else from the URL the pin
//! names, and are refused unless their SHA-256 is the pin's. Every other agent is
//! resolved anew: the newest version its requirement allows that is not yanked,
//! checked against the SHA-256 the index gives.

mod fetch;
pub mod location;

pub use fetch::{Fetcher, Sources};
pub use location::Location;

use crate::Error;
use crate::diagnose::Diagnose;
use crate::hash::Digest;
use crate::lockfile::{Package, Packages};
use crate::manifest::Loaded;
use crate::manifest::registries::{RegistryKind, RegistrySpec};
use crate::registry::index::Index;
use crate::registry::{Offers, Opened};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// How a command may resolve.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// `--locked`: the lock must not change.
    pub locked: bool,
    /// `--offline`: only mpm.lock and the cache.
    pub offline: bool,
    /// Pins to set aside: these agents move to the newest versions allowed.
    pub update: Update,
    /// mpm's cache folder: git registries' clones go in its `git/`.
    pub cache: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Update {
    #[default]
    Nothing,
    All,
    Agents(BTreeSet<String>),
}

impl Update {
    fn covers(&self, agent: &str) -> bool {
        match self {
            Update::Nothing => false,
            Update::All => true,
            Update::Agents(agents) => agents.contains(agent),
        }
    }
}

/// One agent's verified bytes, and the pin they answer to.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub bytes: Arc<[u8]>,
    pub package: Package,
    /// Where the bytes were, as messages name it.
    pub shown: String,
}

/// What the resolve stage gives the desired state and mpm.lock.
#[derive(Debug, Clone, Default)]
pub struct Resolution {
    /// By agent name.
    pub agents: BTreeMap<String, Resolved>,
    /// The pins mpm.lock holds afterwards.
    pub packages: Packages,
    /// How the pins changed: agent, version before, version after.
    pub changes: Vec<PinChange>,
    pub warnings: Vec<String>,
    /// For each agent resolved anew: the newest version its registry offers that
    /// is not yanked, allowed or not (for `mpm outdated`).
    pub latest: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinChange {
    pub agent: String,
    pub before: Option<String>,
    pub after: Option<String>,
    pub registry: String,
}

impl PinChange {
    /// `release-bot 2.1.0 → 2.2.0 (team)`, `+ qa 1.0.0 (team)`, `- old 1.0.0 (team)`.
    pub fn line(&self) -> String {
        match (&self.before, &self.after) {
            (Some(a), Some(b)) if a == b => {
                format!("~ {} {a} (new bytes) ({})", self.agent, self.registry)
            }
            (Some(a), Some(b)) => format!("~ {} {a} → {b} ({})", self.agent, self.registry),
            (None, Some(b)) => format!("+ {} {b} ({})", self.agent, self.registry),
            (Some(a), None) => format!("- {} {a} ({})", self.agent, self.registry),
            (None, None) => String::new(),
        }
    }
}

/// Why a registry agent could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("registry `{registry}` ({location}) has no agent `{name}`{wanted}")]
    NoSuchAgent {
        registry: String,
        location: String,
        name: String,
        wanted: String,
        near: Option<String>,
    },
    #[error(
        "agent `{agent}`: registry `{registry}` has no version of `{name}` that `{req}` allows (it has {available})"
    )]
    NoVersion {
        agent: String,
        registry: String,
        name: String,
        req: String,
        available: String,
        yanked: Vec<String>,
    },
    #[error(
        "agent `{agent}`: the bytes of `{shown}` have SHA-256 {found}, but {pinned_by} gives {expected}"
    )]
    Integrity {
        agent: String,
        shown: String,
        expected: Digest,
        found: Digest,
        pinned_by: &'static str,
    },
    #[error("mpm.lock would change, and `--locked` forbids it:\n{}", changes.iter().map(|c| format!("  {c}")).collect::<Vec<_>>().join("\n"))]
    LockWouldChange { changes: Vec<String> },
    #[error("{what} `{shown}` is not in mpm's cache, and `--offline` forbids fetching it")]
    Offline { what: String, shown: String },
    #[error("cannot read `{shown}`: {message}")]
    Read { shown: String, message: String },
    #[error("agent `{agent}`: {message}")]
    Unsupported { agent: String, message: String },
}

impl Diagnose for ResolveError {
    fn hint(&self) -> Option<String> {
        match self {
            ResolveError::NoSuchAgent { near, .. } => Some(match near {
                Some(near) => format!("did you mean `{near}`? (`agent:` names the agent in the registry when it differs)"),
                None => "check the name; `agent:` names the agent in the registry when it differs from the manifest's".into(),
            }),
            ResolveError::NoVersion { yanked, .. } if !yanked.is_empty() => Some(format!(
                "yanked, so never chosen anew: {}; widen `version:`, or ask the registry for a new release",
                yanked.join(", ")
            )),
            ResolveError::NoVersion { .. } => {
                Some("widen the agent's `version:` requirement, or remove it to take the newest".into())
            }
            ResolveError::Integrity { pinned_by, agent, .. } => Some(if *pinned_by == "mpm.lock" {
                format!("nothing was written. Either mpm.lock was edited (`git diff mpm.lock`; restore it), or the registry now serves other bytes for the version it pins (ask its maintainers why); to take what it serves now, `mpm update {agent}`")
            } else {
                "the registry's index and its files disagree: nothing was written; tell the registry's maintainers".into()
            }),
            ResolveError::LockWouldChange { .. } => Some(
                "run `mpm lock` (or `mpm update`) and commit mpm.lock, or drop `--locked`".into(),
            ),
            ResolveError::Offline { .. } => {
                Some("run once without `--offline` to fill the cache".into())
            }
            ResolveError::Read { .. } => Some(
                "check the registry's location in mpm.yaml; `--offline` uses what mpm.lock and the cache hold".into(),
            ),
            ResolveError::Unsupported { .. } => None,
        }
    }
}

/// The registries' agents of `loaded`, resolved against the pins `pinned`.
pub fn resolve(
    loaded: &Loaded,
    pinned: &Packages,
    policy: &Policy,
    fetcher: &mut dyn Fetcher,
) -> Result<Resolution, Error> {
    let manifest = &loaded.manifest;
    let mut errors = Vec::new();
    // the registries the agents use, checked once each
    let mut registries: BTreeMap<&str, Registry> = BTreeMap::new();
    for (name, spec) in &manifest.registries {
        match Registry::of(name.as_str(), spec, loaded) {
            Ok(r) => {
                registries.insert(name.as_str(), r);
            }
            Err(e) => errors.push(e),
        }
    }
    let mut wanted = Vec::new();
    for (agent, spec) in &manifest.agents.0 {
        let Some(registry) = &spec.registry else {
            for key in ["plugin", "agent"] {
                let set = if key == "plugin" {
                    spec.plugin.is_some()
                } else {
                    spec.agent.is_some()
                };
                if set {
                    errors.push(
                        loaded
                            .error_at(
                                &["agents", agent.as_str(), key],
                                format!("agent `{agent}` sets `{key}`, which only an agent from a registry has"),
                                Some("add `registry: NAME`, or remove it".into()),
                            )
                            .into(),
                    );
                }
            }
            continue;
        };
        if !spec.enabled {
            continue;
        }
        let Some(reg) = registries.get(registry.as_str()) else {
            if manifest.registries.contains_key(registry) {
                continue; // its own error is reported
            }
            let names: Vec<&str> = manifest.registries.keys().map(|k| k.as_str()).collect();
            let hint = match crate::text::closest(registry.as_str(), &names) {
                Some(near) => format!("did you mean `{near}`?"),
                None if names.is_empty() => "declare it under `registries:`, like `registries: { team: { index: \"https://…/index.json\" } }`".into(),
                None => format!("declared: {}", names.join(", ")),
            };
            errors.push(
                loaded
                    .error_at(
                        &["agents", agent.as_str(), "registry"],
                        format!(
                            "agent `{agent}` uses registry `{registry}`, which is not declared"
                        ),
                        Some(hint),
                    )
                    .into(),
            );
            continue;
        };
        if spec.plugin.is_some() && reg.kind != RegistryKind::Marketplace {
            errors.push(
                loaded
                    .error_at(
                        &["agents", agent.as_str(), "plugin"],
                        format!("agent `{agent}` sets `plugin`, but registry `{registry}` is not a marketplace"),
                        Some("remove `plugin:`".into()),
                    )
                    .into(),
            );
            continue;
        }
        let source_keys = [
            ("template", spec.template.is_some()),
            ("file", spec.file.is_some()),
            ("prompt", spec.prompt.is_some()),
        ];
        if let Some((key, _)) = source_keys.iter().find(|(_, set)| *set) {
            errors.push(
                loaded
                    .error_at(
                        &["agents", agent.as_str(), key],
                        format!(
                            "agent `{agent}` has more than one source (`registry` and `{key}`)"
                        ),
                        Some(
                            "keep exactly one of `template:`, `file:`, `prompt:` or `registry:`"
                                .into(),
                        ),
                    )
                    .into(),
            );
            continue;
        }
        wanted.push(Wanted {
            agent: agent.to_string(),
            registry: reg.clone(),
            name: spec.agent.clone().unwrap_or_else(|| agent.to_string()),
            plugin: spec.plugin.clone(),
            req: spec.version.clone(),
        });
    }
    Error::collect(errors)?;

    // the pins that still hold, and the agents to resolve anew
    let mut resolution = Resolution::default();
    let mut taken: Vec<(Wanted, Package)> = Vec::new();
    let mut anew: Vec<Wanted> = Vec::new();
    for w in wanted {
        match pinned
            .get(&w.agent)
            .filter(|p| w.is_met_by(p) && !policy.update.covers(&w.agent))
        {
            Some(pin) => taken.push((w, pin.clone())),
            None => anew.push(w),
        }
    }

    // new resolutions read their registries' indexes, each once
    let mut indexes: BTreeMap<String, Arc<Index>> = BTreeMap::new();
    let mut needed: Vec<&Registry> = Vec::new();
    // git repositories and marketplaces: read as each agent needs them
    let mut opened = Opened::new(policy.cache.clone(), policy.offline);
    for w in &anew {
        if w.registry.kind != RegistryKind::Index {
            continue;
        }
        if !needed.iter().any(|r| r.name == w.registry.name) {
            needed.push(&w.registry);
        }
    }
    let documents: Vec<Location> = needed.iter().map(|r| r.location.clone()).collect();
    let read = fetcher.documents(&documents, policy.offline);
    let mut errors = Vec::new();
    for (registry, got) in needed.iter().zip(read) {
        match got.and_then(|bytes| {
            Index::parse(&bytes, &registry.location.to_string()).map_err(Error::from)
        }) {
            Ok(index) => {
                indexes.insert(registry.name.clone(), Arc::new(index));
            }
            Err(e) => errors.push(e),
        }
    }
    Error::collect(errors)?;
    let mut errors = Vec::new();
    for w in anew {
        if w.registry.kind != RegistryKind::Index {
            if opened.is_broken(&w.registry.name) {
                continue; // its error is reported
            }
            let offers = opened.offers(
                &w.registry.place(&loaded.dir),
                &w.agent,
                &w.name,
                w.plugin.as_deref(),
            );
            if let Ok(Offers { offers, .. }) = &offers
                && let Some(newest) = offers.first()
            {
                resolution
                    .latest
                    .insert(w.agent.clone(), newest.version.clone());
            }
            match offers.and_then(|offers| choose_offer(&w, offers)) {
                Ok(package) => taken.push((w, package)),
                Err(e) => errors.push(e),
            }
            continue;
        }
        let index = &indexes[&w.registry.name];
        if let Some((v, _)) = index.versions(&w.name).into_iter().find(|(_, e)| !e.yanked) {
            resolution.latest.insert(w.agent.clone(), v.to_string());
        }
        if let Some(pin) = pinned.get(&w.agent).filter(|p| p.name == w.name)
            && index
                .agents
                .get(&w.name)
                .and_then(|a| a.versions.get(&pin.version))
                .is_some_and(|v| v.yanked)
        {
            resolution.warnings.push(format!(
                "agent `{}`: version {} of `{}`, which mpm.lock pins, is yanked in registry `{}`",
                w.agent, pin.version, pin.name, pin.registry
            ));
        }
        match choose(&w, index) {
            Ok(package) => taken.push((w, package)),
            Err(e) => errors.push(e),
        }
    }
    Error::collect(errors)?;

    for (w, package) in &taken {
        let yanked = w.registry.kind == RegistryKind::Index
            && indexes.get(&w.registry.name).is_some_and(|i| {
                i.agents
                    .get(&package.name)
                    .and_then(|a| a.versions.get(&package.version))
                    .is_some_and(|v| v.yanked)
            });
        if yanked {
            resolution.warnings.push(format!(
                "agent `{}`: version {} of `{}` is yanked in registry `{}`; mpm.lock keeps it until `mpm update {}`",
                w.agent, package.version, package.name, package.registry, w.agent
            ));
        }
        resolution.packages.insert(w.agent.clone(), package.clone());
    }
    resolution.changes = changes(pinned, &resolution.packages);
    if policy.locked && !resolution.changes.is_empty() {
        return Err(ResolveError::LockWouldChange {
            changes: resolution.changes.iter().map(PinChange::line).collect(),
        }
        .into());
    }

    // the bytes, from the cache or their locations, each checked against its pin
    let wanted: Vec<(Result<Location, String>, Digest, String)> = taken
        .iter()
        .map(|(w, p)| {
            let url = p.url.as_deref().unwrap_or_default();
            let location = w.registry.location.join(url);
            (location, p.sha256, w.agent.clone())
        })
        .collect();
    // an index's agents whose URLs may not be read are refused before any read
    let refused: Vec<Error> = taken
        .iter()
        .zip(&wanted)
        .filter(|((w, _), _)| w.registry.kind == RegistryKind::Index)
        .filter_map(|(_, (l, _, agent))| {
            let message = l.as_ref().err()?.clone();
            Some(Error::from(ResolveError::Unsupported {
                agent: agent.clone(),
                message,
            }))
        })
        .collect();
    Error::collect(refused)?;
    let wanted: Vec<(Location, Digest, String)> = wanted
        .into_iter()
        .map(|(l, d, a)| {
            (
                l.unwrap_or_else(|_| Location::File(Default::default())),
                d,
                a,
            )
        })
        .collect();
    // (git and marketplace agents are read from their repositories and folders)
    let from_index: Vec<(Location, Digest, String)> = taken
        .iter()
        .zip(&wanted)
        .filter(|((w, _), _)| w.registry.kind == RegistryKind::Index)
        .map(|(_, wanted)| wanted.clone())
        .collect();
    let mut contents = fetcher.contents(&from_index, policy.offline).into_iter();
    let mut errors = Vec::new();
    for ((w, package), (location, expected, _)) in taken.into_iter().zip(&wanted) {
        let (got, shown) = match w.registry.kind {
            RegistryKind::Index => (
                contents.next().unwrap_or_else(|| {
                    Err(ResolveError::Read {
                        shown: location.to_string(),
                        message: "not fetched".into(),
                    }
                    .into())
                }),
                location.to_string(),
            ),
            _ if opened.is_broken(&w.registry.name) => continue, // its error is reported
            _ => match opened.read(&w.registry.place(&loaded.dir), &w.agent, &package) {
                Ok((bytes, shown)) => (Ok(bytes), shown),
                Err(e) => (Err(e), String::new()),
            },
        };
        match got {
            Ok(bytes) => {
                let found = Digest::of(&bytes);
                if found != *expected {
                    let pinned_by = if pinned.get(&w.agent) == Some(&package) {
                        "mpm.lock"
                    } else {
                        "the registry's index"
                    };
                    errors.push(
                        ResolveError::Integrity {
                            agent: w.agent.clone(),
                            shown,
                            expected: *expected,
                            found,
                            pinned_by,
                        }
                        .into(),
                    );
                    continue;
                }
                resolution.agents.insert(
                    w.agent.clone(),
                    Resolved {
                        bytes: Arc::from(bytes),
                        package,
                        shown,
                    },
                );
            }
            Err(e) => errors.push(e),
        }
    }
    Error::collect(errors)?;
    resolution.warnings.append(&mut opened.warnings);
    Ok(resolution)
}

/// How the pins change from `before` to `after`, by agent.
fn changes(before: &Packages, after: &Packages) -> Vec<PinChange> {
    let agents: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    agents
        .into_iter()
        .filter(|a| before.get(*a) != after.get(*a))
        .map(|agent| {
            let (b, a) = (before.get(agent), after.get(agent));
            PinChange {
                agent: agent.clone(),
                before: b.map(|p| p.version.clone()),
                after: a.map(|p| p.version.clone()),
                registry: a.or(b).map(|p| p.registry.clone()).unwrap_or_default(),
            }
        })
        .collect()
}

/// The newest version `w` allows that is not yanked.
fn choose(w: &Wanted, index: &Index) -> Result<Package, Error> {
    let versions = index.versions(&w.name);
    if versions.is_empty() {
        let names: Vec<&String> = index.agents.keys().collect();
        return Err(Error::from(ResolveError::NoSuchAgent {
            registry: w.registry.name.clone(),
            location: w.registry.source.clone(),
            name: w.name.clone(),
            wanted: if w.name == w.agent {
                String::new()
            } else {
                format!(" (agent `{}`)", w.agent)
            },
            near: crate::text::closest(&w.name, &names).map(str::to_string),
        }));
    }
    let allows = |v: &semver::Version| w.req.as_ref().is_none_or(|r| r.matches(v));
    let chosen = versions.iter().find(|(v, e)| allows(v) && !e.yanked);
    let Some((version, entry)) = chosen else {
        let shown: Vec<String> = versions
            .iter()
            .filter(|(_, e)| !e.yanked)
            .map(|(v, _)| v.to_string())
            .collect();
        return Err(Error::from(ResolveError::NoVersion {
            agent: w.agent.clone(),
            registry: w.registry.name.clone(),
            name: w.name.clone(),
            req: w.req_shown(),
            available: if shown.is_empty() {
                "none that is not yanked".into()
            } else {
                shown.join(", ")
            },
            yanked: versions
                .iter()
                .filter(|(v, e)| e.yanked && allows(v))
                .map(|(v, _)| v.to_string())
                .collect(),
        }));
    };
    Ok(Package {
        registry: w.registry.name.clone(),
        source: w.registry.source.clone(),
        name: w.name.clone(),
        plugin: w.plugin.clone(),
        version: version.to_string(),
        url: Some(entry.url.clone()),
        commit: None,
        path: None,
        sha256: entry.sha256,
    })
}

/// The newest of a git repository's or a marketplace's `offers` that `w` allows.
fn choose_offer(w: &Wanted, offers: Offers) -> Result<Package, Error> {
    let Offers { offers, names } = offers;
    if offers.is_empty() {
        return Err(Error::from(ResolveError::NoSuchAgent {
            registry: w.registry.name.clone(),
            location: w.registry.source.clone(),
            name: w.name.clone(),
            wanted: match (&w.plugin, w.name == w.agent) {
                (Some(p), true) => format!(" in plugin `{p}`"),
                (Some(p), false) => format!(" in plugin `{p}` (agent `{}`)", w.agent),
                (None, true) => String::new(),
                (None, false) => format!(" (agent `{}`)", w.agent),
            },
            near: crate::text::closest(&w.name, &names).map(str::to_string),
        }));
    }
    let allows = |o: &crate::registry::Offer| match (&w.req, &o.semver) {
        (None, _) => true,
        (Some(req), Some(v)) => req.matches(v),
        (Some(_), None) => false,
    };
    let Some(offer) = offers.iter().find(|o| allows(o)) else {
        return Err(Error::from(ResolveError::NoVersion {
            agent: w.agent.clone(),
            registry: w.registry.name.clone(),
            name: w.name.clone(),
            req: w.req_shown(),
            available: offers
                .iter()
                .map(|o| match (&o.semver, w.registry.kind) {
                    (Some(_), _) => o.version.clone(),
                    (None, RegistryKind::Git) => format!(
                        "{}, a commit: the file declares no version, and no `vX.Y.Z` tag is on it",
                        o.version
                    ),
                    (None, _) => format!("{}: the plugin declares no version", o.version),
                })
                .collect::<Vec<_>>()
                .join(", "),
            yanked: Vec::new(),
        }));
    };
    Ok(Package {
        registry: w.registry.name.clone(),
        source: w.registry.source.clone(),
        name: w.name.clone(),
        plugin: offer.plugin.clone(),
        version: offer.version.clone(),
        url: None,
        commit: offer.commit.clone(),
        path: Some(offer.path.clone()),
        sha256: offer.sha256,
    })
}

/// A registry the manifest declares, checked.
#[derive(Debug, Clone)]
struct Registry {
    name: String,
    kind: RegistryKind,
    /// `index ./registry/index.json`, as the lock records it.
    source: String,
    location: Location,
    /// The location as the manifest writes it, and its `ref:`.
    written: String,
    reference: Option<String>,
}

impl Registry {
    /// Where a git or marketplace registry is, for [`Opened`].
    fn place<'a>(&'a self, dir: &'a std::path::Path) -> crate::registry::Place<'a> {
        crate::registry::Place {
            name: &self.name,
            kind: self.kind,
            written: &self.written,
            reference: self.reference.as_deref(),
            dir,
        }
    }

    fn of(name: &str, spec: &RegistrySpec, loaded: &Loaded) -> Result<Registry, Error> {
        let (kind, written) = spec.kind().map_err(|(key, message, hint)| {
            let mut at = vec!["registries", name];
            if !key.is_empty() {
                at.push(key);
            }
            Error::from(loaded.error_at(&at, format!("registry `{name}` {message}"), Some(hint)))
        })?;
        let location = Location::parse(written, &loaded.dir).map_err(|message| {
            Error::from(loaded.error_at(&["registries", name, kind.key()], message, None))
        })?;
        let mut source = format!("{} {written}", kind.key());
        if let Some(r) = &spec.reference {
            source.push_str(&format!(" @ {r}"));
        }
        Ok(Registry {
            name: name.to_string(),
            kind,
            source,
            location,
            written: written.to_string(),
            reference: spec.reference.clone(),
        })
    }
}

/// An agent the manifest wants from a registry.
#[derive(Debug, Clone)]
struct Wanted {
    agent: String,
    registry: Registry,
    name: String,
    plugin: Option<String>,
    req: Option<semver::VersionReq>,
}

impl Wanted {
    /// The version requirement as messages show it (`*`: any).
    fn req_shown(&self) -> String {
        self.req
            .as_ref()
            .map_or_else(|| "*".into(), ToString::to_string)
    }

    /// Whether a pin from mpm.lock still satisfies the manifest. A pin whose
    /// version is no semantic version (a git commit, a marketplace's `unknown`)
    /// satisfies only an agent with no `version:`; one with no `plugin:` takes
    /// the plugin its pin found.
    fn is_met_by(&self, pin: &Package) -> bool {
        let version_allowed = match (semver::Version::parse(&pin.version), &self.req) {
            (Ok(v), Some(req)) => req.matches(&v),
            (Ok(_), None) => true,
            (Err(_), None) => self.registry.kind != RegistryKind::Index,
            (Err(_), Some(_)) => false,
        };
        pin.registry == self.registry.name
            && pin.source == self.registry.source
            && pin.name == self.name
            && (self.plugin.is_none() || pin.plugin == self.plugin)
            && version_allowed
    }
}
