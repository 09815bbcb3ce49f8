//! `mpm.lock`: the committed record of what mpm deployed, beside `mpm.yaml`.
//!
//! The state log lives in the target and is ignored by git, so a fresh clone of a
//! project whose `.claude/agents/*.md` are committed has none. The lock file is
//! what lets that clone recognise mpm's own files: for every managed path, the
//! agent, its version and the SHA-256 of the bytes mpm wrote. A file that still
//! holds those bytes is mpm's (a manifest change updates it, with its diff); one
//! that does not was edited by hand (a conflict). `mpm apply` and `mpm rollback`
//! write it, for the manifest's own target only, and only when it changes.
//!
//! It also pins every agent that comes from a registry (`packages`): the registry,
//! the version resolved, where the bytes were (a URL, or a git commit and path)
//! and their SHA-256. A plan whose manifest the pins still satisfy uses them and
//! makes no network call; bytes that no longer match a pin are refused.

use crate::address::Address;
use crate::diagnose::{Diagnose, Location};
use crate::hash::Digest;
use crate::state::Entry;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "mpm.lock";
/// The newest format this mpm writes and reads: 2 pins registry agents. A lock
/// with no pins is written as format 1, which earlier versions of mpm read too.
pub const VERSION: u32 = 2;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lockfile {
    /// The format of this file.
    pub version: u32,
    /// The agents resolved from registries, by the manifest's name for them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub packages: Packages,
    /// Every path mpm manages in the target, relative to it.
    pub files: BTreeMap<Address, Locked>,
}

/// A [`Lockfile`] as written: the format follows from whether it pins anything.
#[derive(Serialize)]
struct LockfileView<'a> {
    version: u32,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    packages: &'a Packages,
    files: &'a BTreeMap<Address, Locked>,
}

/// The pins of registry agents, by agent name.
pub type Packages = BTreeMap<String, Package>;

/// One agent from a registry, as resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Package {
    /// The manifest's name for the registry.
    pub registry: String,
    /// Where the registry was when this was resolved (`index https://…/index.json`):
    /// a registry moved in the manifest is resolved again.
    pub source: String,
    /// The agent's name in the registry.
    pub name: String,
    /// For a marketplace: the plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<String>,
    pub version: String,
    /// For an index: the URL the bytes were served from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// For git: the commit (40 hex digits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// For git and a marketplace: the file, from the root of the repository or folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub sha256: Digest,
}

/// One file as mpm last wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Locked {
    pub agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub sha256: Digest,
}

#[derive(Debug, thiserror::Error)]
pub enum LockfileError {
    #[error("`{file}` is not a valid mpm lock file: {message}")]
    Invalid {
        file: String,
        message: String,
        location: Option<Location>,
    },
    #[error("`{file}` names `{address}`, which is not an agent file mpm writes")]
    NotAnAgent { file: String, address: String },
    #[error("`{file}` is a lock file of format {found}; this mpm reads formats up to {VERSION}")]
    Newer { file: String, found: u64 },
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl Diagnose for LockfileError {
    fn location(&self) -> Option<&Location> {
        match self {
            LockfileError::Invalid { location, .. } => location.as_ref(),
            _ => None,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            LockfileError::Invalid { .. } => Some(
                "`mpm apply` writes this file: restore it from git (`git checkout mpm.lock`), or delete it and mpm writes a new one"
                    .into(),
            ),
            LockfileError::NotAnAgent { .. } => Some(
                "mpm writes only `agents/<name>.md` and records only those; restore the file from git (`git checkout mpm.lock`), or delete it and mpm writes a new one"
                    .into(),
            ),
            LockfileError::Newer { .. } => {
                Some("upgrade mpm to the version that wrote it".into())
            }
            LockfileError::Io(_) => None,
        }
    }
}

/// Where the lock file of the manifest in `manifest_dir` is.
pub fn path_beside(manifest_dir: &Path) -> PathBuf {
    manifest_dir.join(FILE_NAME)
}

impl Lockfile {
    /// The record of these entries.
    #[cfg(test)]
    pub fn of<'a>(entries: impl IntoIterator<Item = (&'a Address, &'a Entry)>) -> Lockfile {
        Lockfile {
            version: 1,
            packages: Packages::new(),
            files: entries
                .into_iter()
                .filter(|(address, _)| !address.is_part())
                .map(|(address, e)| {
                    (
                        address.clone(),
                        Locked {
                            agent: e.agent.clone(),
                            version: e.version.clone(),
                            sha256: e.digest,
                        },
                    )
                })
                .collect(),
        }
    }

    /// The bytes `Lockfile::of(entries).render()` gives, without a copy of every
    /// entry on the way (10 000 agents: 2 MB).
    pub fn render_of<'a>(
        entries: impl IntoIterator<Item = (&'a Address, &'a Entry)>,
        packages: &Packages,
    ) -> Vec<u8> {
        let mut bytes = Vec::new();
        // writing to memory fails only with memory itself
        let _ = Lockfile::write_of(entries, packages, &mut bytes);
        bytes
    }

    /// The digest of what [`Lockfile::render_of`] gives, without holding it.
    pub fn digest_of<'a>(
        entries: impl IntoIterator<Item = (&'a Address, &'a Entry)>,
        packages: &Packages,
    ) -> Digest {
        let mut out = crate::hash::DigestWriter::new(std::io::sink());
        let _ = Lockfile::write_of(entries, packages, &mut out);
        out.finish().0
    }

    /// Writes what [`Lockfile::render_of`] gives to `out`.
    fn write_of<'a>(
        entries: impl IntoIterator<Item = (&'a Address, &'a Entry)>,
        packages: &Packages,
        out: &mut impl std::io::Write,
    ) -> std::io::Result<()> {
        #[derive(Serialize)]
        struct LockedRef<'a> {
            agent: Option<&'a String>,
            #[serde(skip_serializing_if = "Option::is_none")]
            version: Option<&'a String>,
            sha256: &'a Digest,
        }
        /// Addresses in order, each once (as a map's keys are).
        struct Files<'a>(Vec<(&'a Address, LockedRef<'a>)>);
        impl Serialize for Files<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_map(self.0.iter().map(|(a, l)| (a, l)))
            }
        }
        #[derive(Serialize)]
        struct LockfileRef<'a> {
            version: u32,
            #[serde(skip_serializing_if = "BTreeMap::is_empty")]
            packages: &'a Packages,
            files: Files<'a>,
        }
        // the record of deployed files: the keys of settings files are not files,
        // and a secret's keyed hash has no place in a committed file
        let mut files: Vec<_> = entries
            .into_iter()
            .filter(|(address, _)| !address.is_part())
            .map(|(address, e)| {
                let locked = LockedRef {
                    agent: e.agent.as_ref(),
                    version: e.version.as_ref(),
                    sha256: &e.digest,
                };
                (address, locked)
            })
            .collect();
        // in order already from every caller (a map's entries, a plan's rows)
        if !files.is_sorted_by(|a, b| a.0 < b.0) {
            let sorted: BTreeMap<_, _> = files.into_iter().collect();
            files = sorted.into_iter().collect();
        }
        let lock = LockfileRef {
            version: if packages.is_empty() { 1 } else { VERSION },
            packages,
            files: Files(files),
        };
        let mut out = std::io::BufWriter::with_capacity(1 << 16, out);
        serde_json::to_writer_pretty(&mut out, &lock)?;
        std::io::Write::write_all(&mut out, b"\n")?;
        std::io::Write::flush(&mut out)
    }

    /// The digest of the lock file at `path` (`None`: there is none), read a piece
    /// at a time, never whole.
    pub fn digest_file(path: &Path, shown: &str) -> Result<Option<Digest>, LockfileError> {
        let digest = crate::system::open_no_follow(path).and_then(|mut file| {
            let mut out = crate::hash::DigestWriter::new(std::io::sink());
            std::io::copy(&mut file, &mut out)?;
            Ok(out.finish().0)
        });
        match digest {
            Ok(digest) => Ok(Some(digest)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(LockfileError::Io(std::io::Error::new(
                e.kind(),
                format!("cannot read `{shown}`: {e}"),
            ))),
        }
    }

    /// The file's bytes: pretty JSON, keys sorted, one trailing newline, so that
    /// unchanged entries give identical bytes and small diffs in review.
    pub fn render(&self) -> Vec<u8> {
        let version = if self.packages.is_empty() { 1 } else { VERSION };
        let lock = LockfileView {
            version,
            packages: &self.packages,
            files: &self.files,
        };
        let mut text = serde_json::to_string_pretty(&lock).unwrap_or_default();
        text.push('\n');
        text.into_bytes()
    }

    /// Reads the lock file at `path` (`None`: there is none). `shown` is the path as
    /// the user would type it.
    pub fn read(path: &Path, shown: &str) -> Result<Option<(Lockfile, Vec<u8>)>, LockfileError> {
        match Lockfile::read_bytes(path, shown)? {
            Some(bytes) => Ok(Some((Lockfile::parse(&bytes, shown)?, bytes))),
            None => Ok(None),
        }
    }

    /// The bytes of the lock file at `path` (`None`: there is none).
    pub fn read_bytes(path: &Path, shown: &str) -> Result<Option<Vec<u8>>, LockfileError> {
        // not through a link, not waiting on a pipe planted there
        match crate::system::read_no_follow(path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(LockfileError::Io(std::io::Error::new(
                e.kind(),
                format!("cannot read `{shown}`: {e}"),
            ))),
        }
    }

    /// Parses the bytes of a lock file.
    pub fn parse(bytes: &[u8], shown: &str) -> Result<Lockfile, LockfileError> {
        let text = String::from_utf8_lossy(bytes);
        let invalid = |e: serde_json::Error| LockfileError::Invalid {
            file: shown.to_string(),
            message: crate::text::strip_position(&e.to_string()),
            location: (e.line() > 0)
                .then(|| Location::in_source(shown, &text, e.line(), e.column())),
        };
        match serde_json::from_str::<Lockfile>(&text) {
            Ok(lock) if lock.version > VERSION => Err(LockfileError::Newer {
                file: shown.to_string(),
                found: u64::from(lock.version),
            }),
            Ok(lock) => {
                // a lock file is committed, so anyone can edit it: it may speak for
                // mpm's own agent files, and for nothing else in the target
                if let Some((address, _)) = lock
                    .files
                    .iter()
                    .find(|(a, l)| !is_agent_file(a, l.agent.as_deref()))
                {
                    return Err(LockfileError::NotAnAgent {
                        file: shown.to_string(),
                        address: address.to_string(),
                    });
                }
                Ok(lock)
            }
            Err(e) => {
                // a newer format may have keys this one does not know
                #[derive(Deserialize)]
                struct Version {
                    version: u64,
                }
                match serde_json::from_str::<Version>(&text) {
                    Ok(v) if v.version > u64::from(VERSION) => Err(LockfileError::Newer {
                        file: shown.to_string(),
                        found: v.version,
                    }),
                    _ => Err(invalid(e)),
                }
            }
        }
    }
}

/// Whether `address` is where mpm writes agent `agent`: `agents/<agent>.md`.
fn is_agent_file(address: &Address, agent: Option<&str>) -> bool {
    let Some(agent) = agent else { return false };
    crate::name::AgentName::parse(agent).is_ok() && address.as_str() == format!("agents/{agent}.md")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Entries;

    #[test]
    fn renders_the_entries_deterministically_and_reads_them_back() {
        let mut entries = Entries::new();
        for name in ["qa", "engineer"] {
            entries.insert(
                Address::parse(&format!("agents/{name}.md")).unwrap(),
                Entry::file(
                    Digest::of(name.as_bytes()),
                    0o644,
                    2,
                    Some(name.into()),
                    (name == "qa").then(|| "1.2.0".into()),
                    false,
                ),
            );
        }
        let lock = Lockfile::of(&entries);
        let bytes = lock.render();
        let none = Packages::new();
        assert_eq!(Lockfile::render_of(&entries, &none), bytes);
        assert_eq!(Lockfile::digest_of(&entries, &none), Digest::of(&bytes));
        // given out of order, the same bytes
        assert_eq!(Lockfile::render_of(entries.iter().rev(), &none), bytes);
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.starts_with("{\n  \"version\": 1,\n  \"files\": {\n    \"agents/engineer.md\": {\n      \"agent\": \"engineer\",\n      \"sha256\": \""));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, &bytes).unwrap();
        let (read, raw) = Lockfile::read(&path, "mpm.lock").unwrap().unwrap();
        assert_eq!(read, lock);
        assert_eq!(raw, bytes);
    }

    #[test]
    fn a_broken_lock_file_is_located() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(
            &path,
            "{\n  \"version\": 1,\n  \"files\": {\n    \"agents/qa.md\": 7\n  }\n}\n",
        )
        .unwrap();
        let err = Lockfile::read(&path, "mpm.lock").unwrap_err();
        assert_eq!(
            err.to_string(),
            "`mpm.lock` is not a valid mpm lock file: invalid type: integer `7`, expected struct Locked"
        );
        assert_eq!(err.location().map(|l| l.line), Some(4));
    }
}
