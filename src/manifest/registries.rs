//! `registries:`: the shared sources agents come from, by name. An agent names one
//! with `registry: NAME` (and `version:`, a semver requirement on what it offers).

use crate::checked::{Invalid, deserialize_checked};
use crate::name::NAME_PATTERN;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// A registry's name: the safe form of an agent name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
#[serde(transparent)]
#[schemars(transparent)]
pub struct RegistryName(#[schemars(regex(pattern = NAME_PATTERN))] String);

impl RegistryName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RegistryName {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for RegistryName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_checked(d, |s: &str| match crate::name::AgentName::parse(s) {
            Ok(_) => Ok(RegistryName(s.to_string())),
            Err(_) => Err(Invalid::new(
                format!("`{}` is not a valid registry name", crate::text::escaped(s)),
                "use lower-case letters, digits and single hyphens, like `team`",
            )),
        })
    }
}

/// One registry, as the manifest declares it: exactly one of `index`, `git` or
/// `marketplace`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistrySpec {
    /// A static JSON index (see docs/registry.md): an `http(s)://` or `file://` URL,
    /// or a path relative to the manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<String>,
    /// A git repository of agent files or claude-mpm templates: a URL
    /// (`https://`, `file://`) or a path relative to the manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<String>,
    /// A Claude Code plugin marketplace: a folder holding
    /// `.claude-plugin/marketplace.json`, a git URL, or the URL of a
    /// `marketplace.json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marketplace: Option<String>,
    /// For `git` (and a git marketplace): the branch, tag or commit to read
    /// (default: the repository's HEAD).
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// What a [`RegistrySpec`] is, once checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistryKind {
    Index,
    Git,
    Marketplace,
}

impl RegistryKind {
    pub fn key(self) -> &'static str {
        match self {
            RegistryKind::Index => "index",
            RegistryKind::Git => "git",
            RegistryKind::Marketplace => "marketplace",
        }
    }
}

impl RegistrySpec {
    /// The kind and its location, or what is wrong (with the key to point at).
    pub fn kind(&self) -> Result<(RegistryKind, &str), (&'static str, String, String)> {
        let given: Vec<(RegistryKind, &String)> = [
            (RegistryKind::Index, &self.index),
            (RegistryKind::Git, &self.git),
            (RegistryKind::Marketplace, &self.marketplace),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
        .collect();
        match given.as_slice() {
            [] => Err((
                "",
                "has no location".into(),
                "give it one of `index:`, `git:` or `marketplace:`".into(),
            )),
            [(kind, location)] => {
                if location.trim().is_empty() {
                    return Err((
                        kind.key(),
                        "is empty".into(),
                        "give it a URL or a path".into(),
                    ));
                }
                if self.reference.is_some() && *kind == RegistryKind::Index {
                    return Err((
                        "ref",
                        "sets `ref`, which only a git repository has".into(),
                        "remove `ref:`; an index is read as it is served".into(),
                    ));
                }
                Ok((*kind, location.as_str()))
            }
            [(first, _), (second, _), ..] => Err((
                second.key(),
                format!(
                    "has more than one location (`{}` and `{}`)",
                    first.key(),
                    second.key()
                ),
                "keep exactly one of `index:`, `git:` or `marketplace:`".into(),
            )),
        }
    }
}

/// The `registries:` map.
pub type Registries = BTreeMap<RegistryName, RegistrySpec>;
