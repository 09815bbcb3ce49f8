//! The desired state of a rollback, read from the state log, and the state log as
//! the [`Source`] of its bytes.

use super::{DesiredResource, DesiredState, Owner, Record, Source};
use crate::Error;
use crate::address::Address;
use crate::hash::Digest;
use crate::state::{Entry, FileVersion, Generation, LastApplied, StateStore};

/// Bytes kept in the state log's blobs.
pub struct StoreSource<'a>(pub &'a StateStore);

impl Source for StoreSource<'_> {
    fn bytes(&self, address: &Address, digest: &Digest) -> Result<Vec<u8>, Error> {
        Ok(self.0.needed_blob(digest, None, || {
            format!("the bytes of `{address}` a rollback puts back")
        })?)
    }
}

fn from_entry(entry: &Entry, source: &str) -> DesiredResource {
    let owner = Owner {
        agent: entry.agent.clone().unwrap_or_default(),
        version: entry.version.clone(),
        source: source.to_string(),
    };
    let version = FileVersion {
        digest: entry.digest,
        mode: entry.mode,
    };
    DesiredResource::stored(version, entry.size, owner, Record::Written, entry.protect)
}

/// The desired state that undoes generation `latest`: every path it touched goes
/// back to its pre-image, byte for byte (a hand edit that `--force` overwrote
/// included), and mpm's records go back to what they were before it.
pub fn undo(
    store: &StateStore,
    latest: &Generation,
    last: &LastApplied,
) -> Result<DesiredState, Error> {
    let previous = store.snapshot(latest.record.parent.unwrap_or(0))?;
    let mut state = DesiredState::default();
    for (address, entry) in &last.entries {
        state
            .resources
            .insert(address.clone(), from_entry(entry, "the current generation"));
    }
    for change in &latest.changes {
        state.resources.remove(&change.address);
        let Some(before) = change.before else {
            continue;
        };
        let recorded = previous.get(&change.address);
        let owner = Owner {
            agent: change
                .agent
                .clone()
                .or_else(|| recorded.and_then(|e| e.agent.clone()))
                .unwrap_or_default(),
            version: change.version_before.clone(),
            source: format!("before generation {}", latest.record.id),
        };
        let (record, size) = match recorded {
            Some(e) if e.digest == before.digest && e.mode == before.mode => {
                (Record::Written, e.size)
            }
            Some(e) => (Record::As(Box::new(e.clone())), e.size),
            None => (Record::Released, 0),
        };
        let protect = recorded.is_some_and(|e| e.protect);
        state.resources.insert(
            change.address.clone(),
            DesiredResource::stored(before, size, owner, record, protect),
        );
    }
    Ok(state)
}

/// The desired state of `rollback --to N`: the managed paths as mpm wrote them right
/// after generation `to` (0: before the first). A path mpm took over after `to` gets
/// back the bytes it had before (its pre-image) and is handed back.
pub fn restore(store: &StateStore, to: u64, last: &LastApplied) -> Result<DesiredState, Error> {
    let snapshot = store.snapshot(to)?;
    let later: Vec<Generation> = store
        .generations()?
        .into_iter()
        .filter(|g| g.id > to)
        .map(|g| store.generation(g.id))
        .collect::<Result<_, _>>()?;
    let mut state = DesiredState::default();
    let source = if to == 0 {
        "before generation 1".to_string()
    } else {
        format!("generation {to}")
    };
    for (address, entry) in &snapshot {
        state
            .resources
            .insert(address.clone(), from_entry(entry, &source));
    }
    let mut touched: Vec<&Address> = last.entries.keys().collect();
    touched.extend(
        later
            .iter()
            .flat_map(|g| g.changes.iter().map(|c| &c.address)),
    );
    for address in touched {
        if state.resources.contains_key(address) {
            continue;
        }
        // the first later generation that touched it knows what was there right after `to`
        let first = later
            .iter()
            .flat_map(|g| g.changes.iter())
            .find(|c| &c.address == address);
        if let Some(before) = first.and_then(|c| c.before) {
            let owner = Owner {
                agent: first.and_then(|c| c.agent.clone()).unwrap_or_default(),
                version: None,
                source: "its owner before mpm".into(),
            };
            state.resources.insert(
                address.clone(),
                DesiredResource::stored(before, 0, owner, Record::Released, false),
            );
        }
    }
    Ok(state)
}
