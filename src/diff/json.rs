//! `mpm diff --json`: a versioned contract (`format_version`); minor versions only
//! add keys.

use super::{AgentChange, Rendered, summary};
use serde::{Deserialize, Serialize};

pub const FORMAT_VERSION: &str = "1.0";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiffJson {
    pub format_version: String,
    pub mpm_version: String,
    /// REF as given.
    #[serde(rename = "ref")]
    pub rev: String,
    /// The commit REF names (`null` when it names a tree).
    pub commit: Option<String>,
    /// The manifest, from the repository's root, `/`-separated.
    pub manifest: String,
    /// `false` when the manifest did not exist at REF (every agent is then added).
    pub manifest_at_ref: bool,
    /// The agents that change, by path.
    pub agents: Vec<AgentJson>,
    pub summary: SummaryJson,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentJson {
    pub name: String,
    /// `added`, `changed` or `removed`.
    pub change: String,
    /// Removed by `enabled: false`.
    pub disabled: bool,
    /// In the target: `agents/qa.md`.
    pub path: String,
    pub version_before: Option<String>,
    pub version_after: Option<String>,
    /// Of the rendered file.
    pub sha256_before: Option<String>,
    pub sha256_after: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SummaryJson {
    pub added: usize,
    pub changed: usize,
    pub removed: usize,
}

/// Where REF and the manifest are, for the JSON header.
pub struct Compared<'a> {
    pub rev: &'a str,
    pub commit: Option<String>,
    pub manifest: String,
    pub manifest_at_ref: bool,
}

pub fn to_json(changes: &[AgentChange], compared: Compared) -> DiffJson {
    let version = |r: &Option<Rendered>| r.as_ref().and_then(|r| r.version.clone());
    let sha = |r: &Option<Rendered>| r.as_ref().map(|r| r.digest.hex());
    let s = summary(changes);
    DiffJson {
        format_version: FORMAT_VERSION.into(),
        mpm_version: env!("CARGO_PKG_VERSION").into(),
        rev: compared.rev.into(),
        commit: compared.commit,
        manifest: compared.manifest,
        manifest_at_ref: compared.manifest_at_ref,
        agents: changes
            .iter()
            .map(|c| AgentJson {
                name: c.agent.clone(),
                change: c.change.word().into(),
                disabled: c.disabled,
                path: c.address.to_string(),
                version_before: version(&c.before),
                version_after: version(&c.after),
                sha256_before: sha(&c.before),
                sha256_after: sha(&c.after),
            })
            .collect(),
        summary: SummaryJson {
            added: s.added,
            changed: s.changed,
            removed: s.removed,
        },
    }
}
