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
                format!("the registry now serves other bytes for the version mpm.lock pins: nothing was written. Ask its maintainers why; to take what it serves now, `mpm update {agent}`")
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
    for w in &anew {
        if w.registry.kind != RegistryKind::Index {
            return Err(ResolveError::Unsupported {
                agent: w.agent.clone(),
                message: format!(
                    "registry `{}` is a {} registry, which this mpm cannot read yet",
                    w.registry.name,
                    w.registry.kind.key()
                ),
            }
            .into());
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
    let refused: Vec<Error> = wanted
        .iter()
        .filter_map(|(l, _, agent)| {
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
        .filter_map(|(l, d, a)| Some((l.ok()?, d, a)))
        .collect();
    let contents = fetcher.contents(&wanted, policy.offline);
    let mut errors = Vec::new();
    for (((w, package), (location, expected, _)), got) in
        taken.into_iter().zip(&wanted).zip(contents)
    {
        let shown = location.to_string();
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
            req: w
                .req
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_else(|| "*".into()),
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

/// A registry the manifest declares, checked.
#[derive(Debug, Clone)]
struct Registry {
    name: String,
    kind: RegistryKind,
    /// `index ./registry/index.json`, as the lock records it.
    source: String,
    location: Location,
}

impl Registry {
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
    /// Whether a pin from mpm.lock still satisfies the manifest.
    fn is_met_by(&self, pin: &Package) -> bool {
        pin.registry == self.registry.name
            && pin.source == self.registry.source
            && pin.name == self.name
            && pin.plugin == self.plugin
            && semver::Version::parse(&pin.version)
                .is_ok_and(|v| self.req.as_ref().is_none_or(|r| r.matches(&v)))
    }
}
