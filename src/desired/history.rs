//! The desired state of a rollback, read from the state log, and the state log as
//! the [`Source`] of its bytes.

use super::{DesiredResource, DesiredState, Owner, PartValue, Record, Source};
use crate::Error;
use crate::address::Address;
use crate::hash::Digest;
use crate::state::{Entry, FileVersion, Generation, LastApplied, StateStore};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Bytes kept in the state log's blobs, and the values to give instead: the
/// secrets a rollback read again from mpm's environment (they are in no blob), and
/// values as their file wrote them (keys in their order).
pub struct StoreSource<'a> {
    pub store: &'a StateStore,
    pub secrets: &'a BTreeMap<Address, Arc<str>>,
}

impl Source for StoreSource<'_> {
    fn bytes(&self, address: &Address, digest: &Digest) -> Result<Vec<u8>, Error> {
        if let Some(secret) = self.secrets.get(address) {
            return Ok(secret.as_bytes().to_vec());
        }
        Ok(self.store.needed_blob(digest, None, || {
            format!("the bytes of `{address}` a rollback puts back")
        })?)
    }
}

fn from_entry(entry: &Entry, source: &str) -> DesiredResource {
    let owner = Owner {
        agent: entry.agent.clone(),
        version: entry.version.clone(),
        source: source.to_string(),
    };
    let version = FileVersion {
        digest: entry.digest,
        mode: entry.mode,
    };
    let mut resource =
        DesiredResource::stored(version, entry.size, owner, Record::Written, entry.protect);
    resource.part = PartValue {
        secret: entry.part().secret.clone(),
        text: entry.part().text,
        ..PartValue::default()
    }
    .boxed();
    resource
}

/// The parts of settings files a rollback puts back get their values: from the
/// blobs, and a secret from its variable in mpm's environment, read again (its
/// keyed hash is made anew: the variable may hold a newer value). A value that was
/// not kept (it stood where a secret goes) cannot be put back: the part is left as
/// mpm wrote it, still mpm's, with a warning. Returns the secrets read.
pub fn resolve_parts(
    store: &StateStore,
    state: &mut DesiredState,
    last: &LastApplied,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<BTreeMap<Address, Arc<str>>, Error> {
    let key = &last.secret_key;
    let mut secrets = BTreeMap::new();
    let mut errors = Vec::new();
    let mut gone = Vec::new();
    for (address, resource) in state.resources.iter_mut().filter(|(a, _)| a.is_part()) {
        let name = crate::plan::part_name(address);
        if let Some(var) = resource.secret() {
            let Some(value) = lookup(var) else {
                errors.push(Error::usage(
                    format!("rolling back `{name}` needs its secret from `${var}`, which is not set in mpm's environment"),
                    Some(format!("set `{var}` where mpm runs, and roll back again; nothing was changed")),
                ));
                continue;
            };
            let json: Arc<str> =
                crate::part::canonical_string(&serde_json::Value::String(value)).into();
            resource.digest = key.digest(json.as_bytes());
            resource.part_mut().json = None;
            secrets.insert(address.clone(), json);
            continue;
        }
        // as the file wrote it, when that was kept: a rollback gives it back
        if let Some(text) = resource.part().text
            && let Some(bytes) = store.blob(&text)?
        {
            secrets.insert(address.clone(), String::from_utf8_lossy(&bytes).into());
        }
        match store.blob(&resource.digest)? {
            Some(bytes) => resource.part_mut().json = Some(String::from_utf8_lossy(&bytes).into()),
            None => {
                state.warnings.push(format!(
                    "`{name}` is left as it is: the value it had then stood where a secret goes, and mpm keeps none there"
                ));
                match last.entries.get(address) {
                    // as mpm wrote it, still mpm's: a later apply can still change
                    // or remove it
                    Some(entry) => *resource = from_entry(entry, "the current generation"),
                    None => gone.push(address.clone()),
                }
            }
        }
    }
    for address in gone {
        state.resources.remove(&address);
    }
    Error::collect(errors)?;
    Ok(secrets)
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
                .or_else(|| recorded.and_then(|e| e.agent.clone())),
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
        let mut resource = DesiredResource::stored(before, size, owner, record, protect);
        resource.part = PartValue {
            json: None,
            secret: change.secret_before.clone(),
            position: change.position,
            text: change.before_text,
        }
        .boxed();
        state.resources.insert(change.address.clone(), resource);
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
                agent: first.and_then(|c| c.agent.clone()),
                version: None,
                source: "its owner before mpm".into(),
            };
            let mut resource = DesiredResource::stored(before, 0, owner, Record::Released, false);
            resource.part = PartValue {
                json: None,
                secret: first.and_then(|c| c.secret_before.clone()),
                position: first.and_then(|c| c.position),
                text: first.and_then(|c| c.before_text),
            }
            .boxed();
            state.resources.insert(address.clone(), resource);
        }
    }
    Ok(state)
}
