//! The desired state: every managed path with the exact bytes it should hold, built
//! from the manifest (templates merged with their base, ready files, inline agents)
//! or, for a rollback, from the state log.

mod history;
mod manifest;
pub mod memo;
pub mod settings;

pub use history::{StoreSource, resolve_parts, restore, undo};
pub use manifest::{Renderer, Resolved, from_files, from_manifest};

use crate::Error;
use crate::address::Address;
use crate::diagnose::Diagnose;
use crate::hash::Digest;
use std::path::PathBuf;

pub const FILE_MODE: u32 = 0o644;

/// Who a managed path belongs to, for the plan and the state log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// The agent, for an agent file.
    pub agent: Option<String>,
    /// The template's `agent_version`, when there is one.
    pub version: Option<String>,
    /// `templates/qa.json`, `agents/notes.md`, `inline`, or `mpm.yaml` for a setting.
    pub source: String,
}

/// One managed path as it should be. Its bytes are not kept: a [`Source`] produces
/// them when they are needed (a file to write, a diff to show), so that planning
/// thousands of agents does not hold every rendered file in memory.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredResource {
    pub digest: Digest,
    pub size: u64,
    pub mode: u32,
    pub owner: Owner,
    /// What the state log records for the path afterwards.
    pub record: Record,
    pub protect: bool,
    /// For a part of a settings file: its value, canonical (`None` for a secret).
    pub json: Option<std::sync::Arc<str>>,
    /// For a secret: the variable of mpm's environment it is read from. Its digest
    /// is a keyed hash.
    pub secret: Option<String>,
    /// For a part a rollback puts back: where it stood among its siblings.
    pub position: Option<u32>,
    /// For a part: the blob of its value as written (its keys in their order), when
    /// that is not its canonical form.
    pub text: Option<Box<Digest>>,
}

/// What mpm records about a path once it holds the desired bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// These bytes, as mpm's own (every apply).
    Written,
    /// Nothing: the path goes back to whoever had it before mpm (a rollback of a
    /// takeover).
    Released,
    /// This earlier entry (undoing a generation that overwrote a hand edit: the
    /// edit comes back, and so does mpm's knowledge that it was edited).
    As(Box<crate::state::Entry>),
}

impl DesiredResource {
    /// Freshly rendered bytes, recorded as mpm's.
    pub fn new(content: &[u8], owner: Owner, protect: bool) -> Self {
        DesiredResource {
            digest: Digest::of(content),
            size: content.len() as u64,
            mode: FILE_MODE,
            owner,
            record: Record::Written,
            protect,
            json: None,
            secret: None,
            position: None,
            text: None,
        }
    }

    /// A value for a part of a settings file, recorded as mpm's; a secret's digest
    /// is its keyed hash.
    pub fn value(
        json: std::sync::Arc<str>,
        secret: Option<(String, &crate::secret::Key)>,
        source: String,
    ) -> Self {
        let owner = Owner {
            agent: None,
            version: None,
            source,
        };
        let (digest, json, secret) = match secret {
            Some((var, key)) => (key.digest(json.as_bytes()), None, Some(var)),
            None => (Digest::of(json.as_bytes()), Some(json.clone()), None),
        };
        DesiredResource {
            digest,
            size: 0,
            mode: 0,
            owner,
            record: Record::Written,
            protect: false,
            json,
            secret,
            position: None,
            text: None,
        }
    }

    /// A version of a file kept in the state log.
    pub fn stored(
        version: crate::state::FileVersion,
        size: u64,
        owner: Owner,
        record: Record,
        protect: bool,
    ) -> Self {
        DesiredResource {
            digest: version.digest,
            size,
            mode: version.mode,
            owner,
            record,
            protect,
            json: None,
            secret: None,
            position: None,
            text: None,
        }
    }
}

/// Where the bytes of desired resources come from.
pub trait Source {
    /// The bytes planned for `address`; `digest` says which version.
    fn bytes(&self, address: &Address, digest: &Digest) -> Result<Vec<u8>, Error>;
}

/// The bytes from `source`, checked against the digest the plan was made with: a
/// source that changed since (a template edited between plan and apply) makes the
/// plan stale rather than writing something nobody reviewed.
pub fn checked_bytes(
    source: &dyn Source,
    address: &Address,
    digest: &Digest,
) -> Result<Vec<u8>, Error> {
    let bytes = source.bytes(address, digest)?;
    if Digest::of(&bytes) == *digest {
        Ok(bytes)
    } else {
        Err(Error::StalePlan {
            file: "plan".into(),
            changes: vec![format!(
                "the sources of `{address}` changed since the plan was made"
            )],
        })
    }
}

/// The bytes of a part's value from `source`, as it writes them (a hook entry in
/// the manifest's key order), and in canonical form, the one checked against the
/// digest (and kept as a blob).
pub fn checked_part(
    source: &dyn Source,
    address: &Address,
    digest: &Digest,
) -> Result<(Vec<u8>, Vec<u8>), Error> {
    let bytes = source.bytes(address, digest)?;
    let canonical = serde_json::from_slice::<serde_json::Value>(&bytes)
        .map(|v| crate::part::canonical(&v))
        .unwrap_or_default();
    if Digest::of(&canonical) == *digest {
        Ok((bytes, canonical))
    } else {
        Err(Error::StalePlan {
            file: "plan".into(),
            changes: vec![format!(
                "the sources of `{address}` changed since the plan was made"
            )],
        })
    }
}

/// An agent declared with `enabled: false`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retired {
    pub agent: String,
    pub protect: bool,
}

/// A file the desired state was built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub path: PathBuf,
    pub digest: Digest,
}

#[derive(Debug, Clone, Default)]
pub struct DesiredState {
    pub resources: std::collections::BTreeMap<Address, DesiredResource>,
    pub retired: std::collections::BTreeMap<Address, Retired>,
    pub inputs: Vec<Input>,
    pub warnings: Vec<String>,
    /// What each agent rendered to, by its inputs, for the next plan, when that
    /// is not what the memo given already said (an apply writes it).
    pub memo: Option<memo::Memo>,
}

/// A problem with one agent that is not at a place in the manifest.
#[derive(Debug, thiserror::Error)]
#[error("agent `{agent}`: {message}")]
pub struct AgentError {
    pub agent: String,
    pub message: String,
    pub hint: Option<String>,
}

impl Diagnose for AgentError {
    fn hint(&self) -> Option<String> {
        self.hint.clone()
    }
}
