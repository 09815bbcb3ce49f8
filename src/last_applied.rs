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
}
