//! The plan as JSON: a versioned contract (`format_version`), shaped like
//! `terraform show -json`: `resource_changes[].change.actions`. Minor versions only
//! add keys.

use super::{Action, Conflict, Drift, Plan, Seen, Takeover};
use crate::tokens::{PlanTokens, TokenLimits};
use serde::{Deserialize, Serialize};

/// 2.0: resources are parts of settings files too (`type` `env` or `setting`,
/// with `file`, `part` and values), and a file's `mode` is absent for them.
/// 2.1: an agent from a registry has `registry` (its pin).
/// 2.2: with token counts (`--tokens`, or a limit set), each agent has `tokens`
/// and the plan a top-level `tokens` summary.
pub const FORMAT_VERSION: &str = "2.2";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanJson {
    pub format_version: String,
    pub mpm_version: String,
    pub target: String,
    pub resource_changes: Vec<ResourceChange>,
    pub conflicts: Vec<ConflictJson>,
    pub drift: Vec<DriftJson>,
    pub summary: SummaryJson,
    /// The token counts, when the plan was made with them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<TokensJson>,
}

/// An agent's token counts (estimates): its prompt and its line in the agent
/// listing, after the plan and before it (`null`: absent on that side).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentTokensJson {
    pub prompt: Option<u64>,
    pub prompt_before: Option<u64>,
    pub listing: Option<u64>,
    pub listing_before: Option<u64>,
    pub encoding: String,
    /// Always `true`: Claude's own tokenizer is not public.
    pub estimate: bool,
}

/// The plan's token summary: the listing every session carries, after and before
/// the plan, the largest prompt after it, and the limits set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokensJson {
    pub listing: u64,
    pub listing_before: u64,
    pub largest_prompt: Option<LargestPromptJson>,
    pub max_prompt_tokens: Option<u64>,
    pub max_listing_tokens: Option<u64>,
    pub encoding: String,
    pub estimate: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LargestPromptJson {
    pub agent: String,
    pub tokens: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceChange {
    /// `agents/qa.md`, `settings.json#/env/API_TIMEOUT_MS`
    pub address: String,
    /// `agent_file`, `env` or `setting`
    #[serde(rename = "type")]
    pub kind: String,
    /// The file the resource is, or is in.
    pub file: String,
    /// For a part of a settings file: its JSON pointer (an array element's is
    /// the array's, with `element` its identity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub element: Option<serde_json::Value>,
    pub agent: Option<String>,
    /// A secret: its values are never shown, here or anywhere.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sensitive: bool,
    /// For an agent from a registry: what mpm.lock pins it to after the change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<crate::lockfile::Package>,
    pub change: ChangeJson,
    /// An agent's token counts, when the plan was made with them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<AgentTokensJson>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeJson {
    /// `["create"]`, `["update"]`, `["delete"]`, `["no-op"]`, `["record"]`, `["forget"]`
    pub actions: Vec<String>,
    pub before: Option<FileJson>,
    pub after: Option<FileJson>,
    /// `forced` or `adopted` when the change overwrites a file that is not mpm's latest.
    pub takeover: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileJson {
    /// A secret's is its keyed hash.
    pub sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    pub version: Option<String>,
    /// A part's value (`"(sensitive)"` for a secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConflictJson {
    pub address: String,
    pub agent: Option<String>,
    /// For a settings key: its value now, and the value mpm wrote last (a secret's
    /// are never given: `sensitive` says so).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sensitive: bool,
    /// `edited`, `unmanaged`, `edited_removed`, `protected`, `not_a_file`, `duplicate`
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriftJson {
    pub address: String,
    /// `deleted`
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SummaryJson {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    pub record: usize,
    pub conflicts: usize,
}

fn file(
    seen: Option<Seen>,
    version: &Option<String>,
    row: &super::Row,
    value: Option<&String>,
) -> Option<FileJson> {
    let part = row.address.is_part();
    seen.map(|s| FileJson {
        sha256: s.digest.hex(),
        mode: (!part).then(|| format!("{:04o}", s.mode)),
        version: version.clone(),
        value: match value {
            _ if row.sensitive && part => Some(crate::secret::SHOWN.into()),
            Some(json) if part => serde_json::from_str(json).ok(),
            _ => None,
        },
    })
}

pub fn to_json(plan: &Plan, target: &str) -> PlanJson {
    to_json_with(plan, target, None)
}

/// [`to_json`] with the agents' token counts and the limits set.
pub fn to_json_with(
    plan: &Plan,
    target: &str,
    tokens: Option<(&PlanTokens, &TokenLimits)>,
) -> PlanJson {
    let encoding = || crate::tokens::ENCODING.to_string();
    let mut resource_changes = Vec::new();
    let mut conflicts = Vec::new();
    for row in &plan.rows {
        let action = match row.action {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::Record => "record",
            Action::Forget => "forget",
            Action::NoOp => "no-op",
            Action::Conflict(kind) => {
                let values = row.part.as_deref();
                let parse = |v: Option<&String>| v.and_then(|j| serde_json::from_str(j).ok());
                conflicts.push(ConflictJson {
                    address: row.address.to_string(),
                    agent: row.agent.clone(),
                    value: parse(values.and_then(|v| v.before.as_ref())),
                    recorded: parse(values.and_then(|v| v.recorded.as_ref())),
                    sensitive: row.sensitive,
                    kind: match kind {
                        Conflict::Edited => "edited",
                        Conflict::Unmanaged => "unmanaged",
                        Conflict::EditedRemoved => "edited_removed",
                        Conflict::Protected => "protected",
                        Conflict::NotAFile(
                            crate::actual::OtherKind::Unreadable
                            | crate::actual::OtherKind::NotUtf8
                            | crate::actual::OtherKind::DuplicateKey,
                        ) => "unreadable",
                        Conflict::NotAFile(crate::actual::OtherKind::Blocked) => "blocked",
                        Conflict::NotAFile(_) => "not_a_file",
                        Conflict::Duplicate => "duplicate",
                    }
                    .into(),
                });
                continue;
            }
        };
        let values = row.part.as_deref();
        let after = if matches!(row.action, Action::Delete) {
            None
        } else {
            file(
                row.after,
                &row.version_after,
                row,
                values.and_then(|v| v.after.as_ref()),
            )
        };
        let part = row.address.part();
        resource_changes.push(ResourceChange {
            address: row.address.to_string(),
            kind: row.address.kind().as_str().into(),
            file: row.address.file().to_string(),
            part: part.as_ref().map(|p| p.pointer().encoded()),
            element: match &part {
                Some(crate::part::Part::Element { id, .. }) if !row.sensitive => {
                    serde_json::from_str(id).ok()
                }
                _ => None,
            },
            agent: row.agent.clone(),
            sensitive: row.sensitive,
            registry: row
                .agent
                .as_ref()
                .filter(|_| !matches!(row.action, Action::Delete))
                .and_then(|a| plan.packages.get(a))
                .cloned(),
            change: ChangeJson {
                actions: vec![action.into()],
                before: file(
                    row.before,
                    &row.version_before,
                    row,
                    values.and_then(|v| v.before.as_ref()),
                ),
                after,
                takeover: row.takeover.map(|t| match t {
                    Takeover::Forced => "forced".into(),
                    Takeover::Adopted => "adopted".into(),
                }),
            },
            tokens: tokens
                .and_then(|(t, _)| t.of(&row.address))
                .map(|a| AgentTokensJson {
                    prompt: a.prompt,
                    prompt_before: a.prompt_before,
                    listing: a.listing,
                    listing_before: a.listing_before,
                    encoding: encoding(),
                    estimate: true,
                }),
        });
    }
    let drift = plan
        .rows
        .iter()
        .filter(|r| r.drift == Some(Drift::Deleted))
        .map(|r| DriftJson {
            address: r.address.to_string(),
            kind: "deleted".into(),
        })
        .collect();
    let s = plan.summary();
    PlanJson {
        format_version: FORMAT_VERSION.into(),
        mpm_version: env!("CARGO_PKG_VERSION").into(),
        target: target.into(),
        resource_changes,
        conflicts,
        drift,
        summary: SummaryJson {
            add: s.add,
            change: s.change,
            destroy: s.destroy,
            record: s.record,
            conflicts: s.conflicts,
        },
        tokens: tokens.map(|(t, limits)| TokensJson {
            listing: t.listing,
            listing_before: t.listing_before,
            largest_prompt: t.largest_prompt().map(|(agent, n)| LargestPromptJson {
                agent: agent.into(),
                tokens: n,
            }),
            max_prompt_tokens: limits.prompt.as_ref().map(|l| l.max),
            max_listing_tokens: limits.listing.as_ref().map(|l| l.max),
            encoding: encoding(),
            estimate: true,
        }),
    }
}
