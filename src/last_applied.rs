//! What the planner needs to know of the past: the entries as last applied, a
//! killed run's pending generation, the serial and lineage a plan is checked
//! against, and what `mpm.lock` says mpm deployed. The state log fills it in
//! (`StateStore::last`); the planner reads it as a plain value.

use crate::address::Address;
use crate::hash::Digest;
use crate::lockfile::Locked;
use crate::state::{Entries, Generation};
use std::collections::BTreeMap;

/// What the planner needs from the log.
#[derive(Debug, Clone, Default)]
pub struct LastApplied {
    pub entries: Entries,
    /// A generation that started and never committed (the run was killed).
    pub pending: Option<Generation>,
    pub current: Option<u64>,
    pub serial: u64,
    pub lineage: Option<String>,
    /// What `mpm.lock` says mpm deployed: files that still hold these bytes are
    /// mpm's, even where the state log (ignored by git) is absent.
    pub locked: BTreeMap<Address, Locked>,
    /// The digest of the `mpm.lock` the last apply wrote with these entries.
    pub lockfile: Option<Digest>,
    /// The values of the settings parts in `entries` (canonical JSON, by digest;
    /// secrets are not among them), to show what mpm wrote next to a hand edit.
    pub values: BTreeMap<Digest, std::sync::Arc<str>>,
    /// The key of the keyed hashes of secrets (the state log's, or a new one for a
    /// target with none yet, which its first apply keeps).
    pub secret_key: crate::secret::Key,
    /// Whether the state log keeps that key (a new one is made until an apply).
    pub secret_key_kept: bool,
}

impl LastApplied {
    /// The places whose digests the log keeps as keyed hashes: a secret is there,
    /// or a killed run wrote or replaced one there.
    pub fn keyed(&self) -> impl Iterator<Item = &Address> {
        let entries = self
            .entries
            .iter()
            .filter(|(_, e)| e.secret().is_some())
            .map(|(a, _)| a);
        let pending = self
            .pending
            .iter()
            .flat_map(|g| &g.changes)
            .filter(|c| c.secret_after.is_some() || c.secret_before.is_some())
            .map(|c| &c.address);
        entries.chain(pending)
    }

    /// Whether `address` is one of [`LastApplied::keyed`].
    pub fn is_keyed(&self, address: &Address) -> bool {
        self.keyed().any(|a| a == address)
    }
}
