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
use std::sync::Arc;

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
    /// What only a part of a settings file has (`None`: a file, or a part with
    /// nothing of it). Boxed: a resource is held per managed path, and nearly all
    /// are agent files.
    pub part: Option<Box<PartValue>>,
}

/// What a desired part of a settings file has beside a file's fields.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PartValue {
    /// Its value, canonical (`None` for a secret).
    pub json: Option<Arc<str>>,
    /// For a secret: the variable of mpm's environment it is read from. Its digest
    /// is a keyed hash.
    pub secret: Option<String>,
    /// For a part a rollback puts back: where it stood among its siblings.
    pub position: Option<u32>,
    /// The blob of its value as written (its keys in their order), when that is
    /// not its canonical form.
    pub text: Option<Digest>,
}

static NO_PART: PartValue = PartValue {
    json: None,
    secret: None,
    position: None,
    text: None,
};

impl PartValue {
    /// Boxed, or `None` when there is nothing in it.
    pub fn boxed(self) -> Option<Box<PartValue>> {
        (self != NO_PART).then(|| Box::new(self))
    }
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
            part: None,
        }
    }

    /// What it has of a part of a settings file (nothing, for a file).
    pub fn part(&self) -> &PartValue {
        self.part.as_deref().unwrap_or(&NO_PART)
    }

    /// The same, to change.
    pub fn part_mut(&mut self) -> &mut PartValue {
        self.part.get_or_insert_default()
    }

    /// A secret's variable (see [`PartValue::secret`]).
    pub fn secret(&self) -> Option<&str> {
        self.part().secret.as_deref()
    }

    /// A value for a part of a settings file, recorded as mpm's; a secret's digest
    /// is its keyed hash.
    pub fn value(
        json: Arc<str>,
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
            part: Some(Box::new(PartValue {
                json,
                secret,
                position: None,
                text: None,
            })),
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
            part: None,
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
