//! The desired state: every managed path with the exact bytes it should hold, built
//! from the manifest (templates merged with their base, ready files, inline agents)
//! or, for a rollback, from the state log.

mod history;
mod manifest;

pub use history::{restore, undo};
pub use manifest::from_manifest;

use crate::error::Diagnose;
use crate::hash::Digest;
use std::path::PathBuf;
use std::sync::Arc;

pub const FILE_MODE: u32 = 0o644;

/// Who a managed path belongs to, for the plan and the state log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub agent: String,
    /// The template's `agent_version`, when there is one.
    pub version: Option<String>,
    /// `templates/qa.json`, `agents/notes.md` or `inline`.
    pub source: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DesiredResource {
    /// Empty once it is known to be on disk already (see [`DesiredState::release`]).
    pub content: Arc<[u8]>,
    pub digest: Digest,
    pub size: u64,
    pub mode: u32,
    pub owner: Owner,
    /// What the state log records for the path afterwards.
    pub record: Record,
    pub protect: bool,
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
    As(crate::state::Entry),
}

impl DesiredResource {
    /// Freshly rendered bytes, recorded as mpm's.
    pub fn new(content: Vec<u8>, owner: Owner, protect: bool) -> Self {
        DesiredResource {
            digest: Digest::of(&content),
            size: content.len() as u64,
            content: content.into(),
            mode: FILE_MODE,
            owner,
            record: Record::Written,
            protect,
        }
    }

    /// A version of a file read back from the state log.
    pub fn stored(
        content: Arc<[u8]>,
        version: crate::state::FileVersion,
        owner: Owner,
        record: Record,
        protect: bool,
    ) -> Self {
        DesiredResource {
            size: content.len() as u64,
            content,
            digest: version.digest,
            mode: version.mode,
            owner,
            record,
            protect,
        }
    }
}

impl DesiredState {
    /// Drops the bytes of every resource already on disk as desired: only files to
    /// write, and diffs, need them.
    pub fn release(&mut self, on_disk: impl Fn(&crate::address::Address) -> Option<(Digest, u32)>) {
        let empty: Arc<[u8]> = Arc::from(&[][..]);
        for (address, resource) in &mut self.resources {
            if on_disk(address) == Some((resource.digest, resource.mode)) {
                resource.content = empty.clone();
            }
        }
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
    pub display: String,
    pub digest: Digest,
}

#[derive(Debug, Clone, Default)]
pub struct DesiredState {
    pub resources: std::collections::BTreeMap<crate::address::Address, DesiredResource>,
    pub retired: std::collections::BTreeMap<crate::address::Address, Retired>,
    pub inputs: Vec<Input>,
    pub warnings: Vec<String>,
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
