//! What the state log records: entries, file versions, generations.

use crate::address::Address;
use crate::hash::Digest;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A managed path as last applied (chezmoi's `EntryState`: a digest, never contents;
/// contents live in `blobs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub digest: Digest,
    pub mode: u32,
    pub size: u64,
    pub agent: Option<String>,
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub protect: bool,
    /// A secret's variable in mpm's environment: the digest is a keyed hash, and no
    /// blob holds the value (a rollback reads the variable again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// For a part of a settings file: how many containers on its way (objects, the
    /// array, the file itself) mpm made for it, to remove with it if left empty.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub created: u8,
    /// For a part: it held mpm's value before mpm wrote anything there (someone
    /// else put it there). Leaving the manifest, it is handed back, never removed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub found: bool,
    /// For a part: the blob of its value as written, when not canonical (boxed:
    /// rarely there, and an entry is held per managed path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<Box<Digest>>,
}

fn is_zero(n: &u8) -> bool {
    *n == 0
}

/// One version of a file: its bytes are the blob `digest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileVersion {
    pub digest: Digest,
    pub mode: u32,
}

/// What a generation did to one path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub address: Address,
    /// create, update, delete, record or forget.
    pub action: String,
    /// The file before (its pre-image), `None` when absent.
    pub before: Option<FileVersion>,
    /// The file after, `None` when absent.
    pub after: Option<FileVersion>,
    /// Whether mpm owns the path after this generation.
    pub managed: bool,
    pub agent: Option<String>,
    pub version_before: Option<String>,
    pub version_after: Option<String>,
    /// The variables secrets before and after were read from (their values are in
    /// no blob).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_before: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_after: Option<String>,
    /// The value before is in no blob: it was a secret, or stood where a secret
    /// goes (mpm keeps no value there).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub before_withheld: bool,
    /// For a part removed: where it stood among its siblings, to be put back there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<u32>,
    /// For a part: the blobs of its values before and after as the file wrote them
    /// (its keys in their order), when that is not their canonical form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before_text: Option<Digest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_text: Option<Digest>,
}

impl Change {
    /// The versions whose bytes the state log keeps, with which they are.
    pub fn kept(&self) -> impl Iterator<Item = (FileVersion, &'static str)> {
        let before = self.before.filter(|_| !self.before_withheld);
        let after = self.after.filter(|_| self.secret_after.is_none());
        [(before, "before"), (after, "after")]
            .into_iter()
            .filter_map(|(v, when)| v.map(|v| (v, when)))
    }
}

impl Entry {
    /// Whether a blob holds the bytes (a secret's never does).
    pub fn is_kept(&self) -> bool {
        self.secret.is_none()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub added: usize,
    pub changed: usize,
    pub destroyed: usize,
    /// State-only rows: files recorded or forgotten without a write.
    pub recorded: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitInfo {
    pub commit: String,
    pub dirty: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestInfo {
    pub path: String,
    pub sha256: Digest,
    pub git: Option<GitInfo>,
}

/// One numbered step of history, with what it did to each path. History only
/// moves forward: a rollback is a new generation too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generation {
    pub record: GenerationRecord,
    pub changes: Vec<Change>,
}

impl Generation {
    /// A generation with these changes and nothing else worth saying (tests).
    #[cfg(test)]
    pub fn with_changes(changes: Vec<Change>) -> Generation {
        let nothing = Digest::of(b"");
        let record = GenerationRecord {
            id: 2,
            parent: Some(1),
            time: String::new(),
            command: String::new(),
            rollback_to: None,
            manifest: None,
            counts: Counts::default(),
            changes: nothing,
            entries: nothing,
            pack: 0,
            temps: None,
        };
        Generation { record, changes }
    }
}

/// What the database keeps of a generation: a few hundred bytes. Its changes and
/// the entries right after it are JSON blobs in the pack of the apply that made it,
/// by digest: sled holds large values badly (it reads neighbouring ones with them,
/// and memory grew with every generation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenerationRecord {
    pub id: u64,
    pub parent: Option<u64>,
    /// RFC 3339, UTC.
    pub time: String,
    /// The command line, like `mpm apply -y`.
    pub command: String,
    /// For a rollback: the generation whose state it restored (0 = before the first).
    pub rollback_to: Option<u64>,
    pub manifest: Option<ManifestInfo>,
    pub counts: Counts,
    /// The blob of `Vec<Change>`.
    pub changes: Digest,
    /// The blob of the [`Entries`] right after it.
    pub entries: Digest,
    /// The pack both were written to: reading them needs that pack's index only
    /// (a prune may move them; then every index is searched).
    pub pack: u64,
    /// The tag in the names of the temp files this generation's apply writes
    /// (`.mpm-tmp.<tag>.<n>`): after a kill, only those are removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temps: Option<String>,
}

/// The managed paths after a generation.
pub type Entries = BTreeMap<Address, Entry>;
