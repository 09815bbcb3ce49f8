//! `mpm diff REF`: what a change to the manifest and its inputs does to the agents,
//! as the difference between two desired states, one rendered from the files at a git
//! revision, the other from the working tree. No target and no state log: this is
//! for reviewing a pull request where the agents themselves are not committed.
//!
//! [`compare`] is pure (two states in, changes out); the renderings ask each side's
//! [`Source`] for the bytes of the agents that changed.

mod json;
mod markdown;
mod text;

pub use json::{AgentJson, Compared, DiffJson, FORMAT_VERSION, SummaryJson, to_json};
pub use markdown::render_markdown;
pub use text::render_text;

use crate::Error;
use crate::address::Address;
use crate::desired::{DesiredState, Source, checked_bytes};
use crate::hash::Digest;
use std::collections::BTreeSet;

/// One side of the comparison.
pub struct Side<'a> {
    /// The bytes of its agents.
    pub source: &'a dyn Source,
    /// Names the side in diff headers: `main`, `working tree`.
    pub label: &'a str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Added,
    Changed,
    Removed,
}

impl Change {
    pub fn word(self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Changed => "changed",
            Change::Removed => "removed",
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Change::Added => "+",
            Change::Changed => "~",
            Change::Removed => "-",
        }
    }
}

/// An agent file as one side renders it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub digest: Digest,
    /// The template's `agent_version`, when there is one.
    pub version: Option<String>,
}

/// What the change does to one agent file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentChange {
    pub address: Address,
    pub agent: String,
    pub change: Change,
    pub before: Option<Rendered>,
    pub after: Option<Rendered>,
    /// Removed by `enabled: false`, not by leaving the manifest.
    pub disabled: bool,
}

impl AgentChange {
    /// `3.5.2 → 3.6.0` when the version changes, else the one version there is.
    pub fn versions(&self) -> String {
        let v = |r: &Option<Rendered>| r.as_ref().and_then(|r| r.version.clone());
        match (v(&self.before), v(&self.after)) {
            (Some(a), Some(b)) if a != b => format!("{a} → {b}"),
            (_, Some(v)) | (Some(v), None) => v,
            (None, None) => String::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub added: usize,
    pub changed: usize,
    pub removed: usize,
}

pub fn summary(changes: &[AgentChange]) -> Summary {
    let count = |c: Change| changes.iter().filter(|a| a.change == c).count();
    Summary {
        added: count(Change::Added),
        changed: count(Change::Changed),
        removed: count(Change::Removed),
    }
}

/// Every agent file whose bytes differ between `before` and `after`, by address.
pub fn compare(before: &DesiredState, after: &DesiredState) -> Vec<AgentChange> {
    let addresses: BTreeSet<&Address> = before
        .resources
        .keys()
        .chain(after.resources.keys())
        .collect();
    let rendered = |state: &DesiredState, a: &Address| {
        state.resources.get(a).map(|r| Rendered {
            digest: r.digest,
            version: r.owner.version.clone(),
        })
    };
    addresses
        .into_iter()
        .filter_map(|address| {
            let (b, a) = (rendered(before, address), rendered(after, address));
            let change = match (&b, &a) {
                (None, Some(_)) => Change::Added,
                (Some(_), None) => Change::Removed,
                (Some(x), Some(y)) if x.digest != y.digest => Change::Changed,
                _ => return None,
            };
            let agent = after
                .resources
                .get(address)
                .or_else(|| before.resources.get(address))
                .and_then(|r| r.owner.agent.clone())
                .unwrap_or_default();
            Some(AgentChange {
                address: address.clone(),
                agent,
                change,
                disabled: change == Change::Removed && after.retired.contains_key(address),
                before: b,
                after: a,
            })
        })
        .collect()
}

/// The unified diff of one agent file, with `---`/`+++` headers naming each side
/// (`/dev/null` for a side without the file, as git writes it).
pub fn unified_diff(change: &AgentChange, before: &Side, after: &Side) -> Result<String, Error> {
    let text = |side: &Side, r: &Option<Rendered>| -> Result<(String, String), Error> {
        match r {
            None => Ok((String::new(), "/dev/null".to_string())),
            Some(r) => {
                let bytes = checked_bytes(side.source, &change.address, &r.digest)?;
                Ok((
                    String::from_utf8_lossy(&bytes).into_owned(),
                    format!("{} ({})", change.address, side.label),
                ))
            }
        }
    };
    let (old, old_name) = text(before, &change.before)?;
    let (new, new_name) = text(after, &change.after)?;
    Ok(similar::TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(3)
        .header(&old_name, &new_name)
        .to_string())
}

/// A [`Source`] for a side with no agents (the manifest did not exist at REF).
pub struct NoSource;

impl Source for NoSource {
    fn bytes(&self, address: &Address, _digest: &Digest) -> Result<Vec<u8>, Error> {
        Err(Error::usage(
            format!("`{address}` has no source on this side"),
            None,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::{DesiredResource, Owner, Retired};

    fn state(agents: &[(&str, &str, Option<&str>)]) -> DesiredState {
        let mut s = DesiredState::default();
        for (name, content, version) in agents {
            s.resources.insert(
                Address::parse(&format!("agents/{name}.md")).unwrap(),
                DesiredResource::new(
                    content.as_bytes(),
                    Owner {
                        agent: Some(name.to_string()),
                        version: version.map(str::to_string),
                        source: "inline".into(),
                    },
                    false,
                ),
            );
        }
        s
    }

    #[test]
    fn only_agents_whose_bytes_differ_are_changes() {
        let before = state(&[
            ("a", "1", Some("1.0.0")),
            ("b", "same", None),
            ("c", "x", None),
        ]);
        let mut after = state(&[
            ("a", "2", Some("1.1.0")),
            ("b", "same", None),
            ("d", "y", None),
        ]);
        after.retired.insert(
            Address::parse("agents/c.md").unwrap(),
            Retired {
                agent: "c".into(),
                protect: false,
            },
        );
        let changes = compare(&before, &after);
        let seen: Vec<(&str, Change, String, bool)> = changes
            .iter()
            .map(|c| (c.agent.as_str(), c.change, c.versions(), c.disabled))
            .collect();
        assert_eq!(
            seen,
            vec![
                ("a", Change::Changed, "1.0.0 → 1.1.0".to_string(), false),
                ("c", Change::Removed, String::new(), true),
                ("d", Change::Added, String::new(), false),
            ]
        );
        assert_eq!(
            summary(&changes),
            Summary {
                added: 1,
                changed: 1,
                removed: 1
            }
        );
    }
}
