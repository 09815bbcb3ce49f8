//! What the state log records: entries, file versions, generations.

use crate::address::Address;
use crate::hash::Digest;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A managed path as last applied (chezmoi's `EntryState`: a digest, never contents;
/// contents live in `blobs`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "EntryFields<String, Digest>")]
pub struct Entry {
    pub digest: Digest,
    pub mode: u32,
    pub size: u64,
    pub agent: Option<String>,
    pub version: Option<String>,
    pub protect: bool,
    /// What only a part of a settings file records; `None` when it is all
    /// defaults (see [`PartRecord::boxed`]). Boxed: an entry is held per managed
    /// path, and nearly all are agent files.
    part: Option<Box<PartRecord>>,
}

/// What an entry of a part of a settings file records beside a file's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartRecord {
    /// A secret's variable in mpm's environment: the digest is a keyed hash, and no
    /// blob holds the value (a rollback reads the variable again).
    pub secret: Option<String>,
    /// How many containers on its way (objects, the array, the file itself) mpm
    /// made for it, to remove with it if left empty.
    pub created: u8,
    /// It held mpm's value before mpm wrote anything there (someone else put it
    /// there). Leaving the manifest, it is handed back, never removed.
    pub found: bool,
    /// The blob of its value as written, when not canonical.
    pub text: Option<Digest>,
}

static NO_PART: PartRecord = PartRecord {
    secret: None,
    created: 0,
    found: false,
    text: None,
};

impl PartRecord {
    /// Boxed, or `None` when there is nothing in it.
    pub fn boxed(self) -> Option<Box<PartRecord>> {
        (self != NO_PART).then(|| Box::new(self))
    }
}

/// An entry as the state log and a saved plan write it: one flat object, the
/// fields of a part beside the others, each left out when it holds its default.
/// `S` and `D` are owned when read, borrowed when written.
#[derive(Serialize, Deserialize)]
#[serde(bound(deserialize = "S: Deserialize<'de>, D: Deserialize<'de>"))]
struct EntryFields<S, D> {
    digest: D,
    mode: u32,
    size: u64,
    agent: Option<S>,
    version: Option<S>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    protect: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    secret: Option<S>,
    #[serde(default, skip_serializing_if = "is_zero")]
    created: u8,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    found: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    text: Option<D>,
}

impl From<EntryFields<String, Digest>> for Entry {
    fn from(f: EntryFields<String, Digest>) -> Entry {
        let part = PartRecord {
            secret: f.secret,
            created: f.created,
            found: f.found,
            text: f.text,
        };
        Entry {
            digest: f.digest,
            mode: f.mode,
            size: f.size,
            agent: f.agent,
            version: f.version,
            protect: f.protect,
            part: part.boxed(),
        }
    }
}

impl Serialize for Entry {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let part = self.part();
        EntryFields {
            digest: &self.digest,
            mode: self.mode,
            size: self.size,
            agent: self.agent.as_deref(),
            version: self.version.as_deref(),
            protect: self.protect,
            secret: part.secret.as_deref(),
            created: part.created,
            found: part.found,
            text: part.text.as_ref(),
        }
        .serialize(s)
    }
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
    /// The entry of a file, or of a part that records nothing more than a file.
    pub fn file(
        digest: Digest,
        mode: u32,
        size: u64,
        agent: Option<String>,
        version: Option<String>,
        protect: bool,
    ) -> Entry {
        Entry {
            digest,
            mode,
            size,
            agent,
            version,
            protect,
            part: None,
        }
    }

    /// This entry, recording `part` too.
    pub fn with_part(self, part: PartRecord) -> Entry {
        Entry {
            part: part.boxed(),
            ..self
        }
    }

    /// What it records of a part of a settings file (all defaults for a file).
    pub fn part(&self) -> &PartRecord {
        self.part.as_deref().unwrap_or(&NO_PART)
    }

    /// A secret's variable (see [`PartRecord::secret`]).
    pub fn secret(&self) -> Option<&str> {
        self.part().secret.as_deref()
    }

    /// Whether a blob holds the bytes (a secret's never does).
    pub fn is_kept(&self) -> bool {
        self.secret().is_none()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_written_flat_as_before_its_part_fields_were_boxed() {
        let digest = Digest::of(b"v");
        let hex = digest.to_string();
        let file = Entry::file(digest, 0o644, 1, Some("qa".into()), None, false);
        let json = serde_json::to_string(&file).unwrap();
        assert_eq!(
            json,
            format!(r#"{{"digest":"{hex}","mode":420,"size":1,"agent":"qa","version":null}}"#)
        );
        assert_eq!(serde_json::from_str::<Entry>(&json).unwrap(), file);
        let part = Entry::file(digest, 0, 0, None, None, true).with_part(PartRecord {
            secret: Some("TOKEN".into()),
            created: 2,
            found: true,
            text: Some(digest),
        });
        let json = serde_json::to_string(&part).unwrap();
        assert_eq!(
            json,
            format!(
                r#"{{"digest":"{hex}","mode":0,"size":0,"agent":null,"version":null,"protect":true,"secret":"TOKEN","created":2,"found":true,"text":"{hex}"}}"#
            )
        );
        assert_eq!(serde_json::from_str::<Entry>(&json).unwrap(), part);
    }

    #[test]
    fn a_part_that_records_nothing_more_equals_a_file_entry() {
        let file = Entry::file(Digest::of(b"v"), 0, 0, None, None, false);
        let empty = file.clone().with_part(PartRecord::default());
        assert_eq!(empty, file);
        assert_eq!(empty.part(), &PartRecord::default());
        let read: Entry = serde_json::from_str(&serde_json::to_string(&file).unwrap()).unwrap();
        assert_eq!(read, file);
    }
}
