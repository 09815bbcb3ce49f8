//! The actual state: what is on disk at the paths mpm may care about, and nothing else.

use crate::address::Address;
use crate::hash::Digest;
use crate::system::System;
use crate::target::Target;
use std::collections::BTreeMap;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

/// What is at one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actual {
    Absent,
    File {
        digest: Digest,
        mode: u32,
    },
    /// A part of a settings file that is there (boxed: a path is held per managed
    /// path, and nearly all are files).
    Value(Box<Found>),
    /// A directory, a symbolic link, a socket...: never written through.
    Other(OtherKind),
}

/// A part of a settings file that is there: its value, canonical (see
/// [`crate::part`]), and the digest of that (for a secret, its keyed hash, and no
/// value: see [`ActualState::seal`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub digest: Digest,
    pub json: Option<Arc<str>>,
    /// The value as the file writes it (compact, its keys in the file's order),
    /// when that differs from the canonical form: what a rollback puts back.
    pub text: Option<Arc<str>>,
}

/// What stands at a path that is not a regular file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OtherKind {
    Directory,
    SymbolicLink,
    Special,
    /// A settings file that is not a JSON object.
    Unreadable,
    /// A settings file that is not UTF-8.
    NotUtf8,
    /// A settings file that gives a key twice in one object.
    DuplicateKey,
    /// A key on the way to a part holds something that is not an object.
    Blocked,
}

impl std::fmt::Display for OtherKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OtherKind::Directory => "directory",
            OtherKind::SymbolicLink => "symbolic link",
            OtherKind::Special => "special file",
            OtherKind::Unreadable => "file that is not a JSON object",
            OtherKind::NotUtf8 => "file that is not UTF-8",
            OtherKind::DuplicateKey => "file that gives a key twice",
            OtherKind::Blocked => "value that is not an object on the way",
        })
    }
}

impl Actual {
    pub fn digest(&self) -> Option<Digest> {
        match self {
            Actual::File { digest, .. } => Some(*digest),
            Actual::Value(found) => Some(found.digest),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ActualState {
    pub paths: BTreeMap<Address, Actual>,
    /// Other agent files in the target, by the `name` their frontmatter gives:
    /// Claude Code knows agents by that name, not by file name.
    pub others: BTreeMap<Address, (Actual, String)>,
    /// For a part that is absent: how many containers on its way are missing too
    /// (objects, its array, the file), which putting it there creates.
    pub missing: BTreeMap<Address, u8>,
}

impl ActualState {
    pub fn get(&self, address: &Address) -> &Actual {
        self.paths.get(address).unwrap_or(&Actual::Absent)
    }

    /// Makes secrets unreadable: at each of `secrets`, the value is dropped and its
    /// digest replaced with its keyed hash, before the state reaches the planner.
    pub fn seal<'a>(
        &mut self,
        secrets: impl IntoIterator<Item = &'a Address>,
        key: &crate::secret::Key,
    ) {
        for address in secrets {
            if let Some(Actual::Value(found)) = self.paths.get_mut(address)
                && let Some(canonical) = found.json.take()
            {
                found.digest = key.digest(canonical.as_bytes());
                found.text = None;
            }
        }
    }
}

/// What is at each part of one settings file, read once for all of them.
fn scan_parts(
    system: &dyn System,
    target: &Target,
    file: &str,
    parts: &[&Address],
    state: &mut ActualState,
) -> io::Result<()> {
    let path = target.root.join(file);
    let (actual, bytes) = system.look(&path)?;
    let doc = match (&actual, bytes) {
        (Actual::File { .. }, Some(bytes)) => {
            crate::settings_file::Document::parse(&bytes).map_err(|e| unreadable_kind(&e))
        }
        (Actual::Absent, _) => Ok(crate::settings_file::Document::default()),
        (Actual::Other(kind), _) => Err(*kind),
        _ => Err(OtherKind::Unreadable),
    };
    let file_missing = u8::from(actual == Actual::Absent);
    for address in parts {
        let Some(part) = address.part() else { continue };
        let found = match &doc {
            Err(kind) => Actual::Other(*kind),
            Ok(doc) => match doc.get(&part) {
                crate::settings_file::Found::Value(value) => {
                    let json: Arc<str> = crate::part::canonical_string(value).into();
                    let written = serde_json::to_string(value).unwrap_or_default();
                    Actual::Value(Box::new(Found {
                        digest: Digest::of(json.as_bytes()),
                        text: (*written != *json).then(|| written.into()),
                        json: Some(json),
                    }))
                }
                crate::settings_file::Found::Absent => {
                    state
                        .missing
                        .insert((*address).clone(), doc.missing(&part) + file_missing);
                    Actual::Absent
                }
                crate::settings_file::Found::Blocked => Actual::Other(OtherKind::Blocked),
            },
        };
        state.paths.insert((*address).clone(), found);
    }
    Ok(())
}

/// Why mpm will not edit a settings file, as precisely as the plan says it.
fn unreadable_kind(why: &crate::settings_file::Unreadable) -> OtherKind {
    use crate::settings_file::Unreadable;
    match why {
        Unreadable::NotUtf8 { .. } => OtherKind::NotUtf8,
        Unreadable::DuplicateKey { .. } => OtherKind::DuplicateKey,
        Unreadable::Syntax { .. } | Unreadable::NotAnObject => OtherKind::Unreadable,
    }
}

/// Looks at each address (reading and hashing files; their bytes are not kept).
pub fn scan<'a>(
    system: &dyn System,
    target: &Target,
    wanted: impl IntoIterator<Item = &'a Address>,
) -> io::Result<ActualState> {
    let (parts, wanted): (Vec<&Address>, Vec<&Address>) =
        wanted.into_iter().partition(|a| a.is_part());
    let seen = crate::parallel::map(&wanted, |address| {
        system
            .look(&target.path_of(address))
            .map(|(actual, _)| actual)
    });
    let mut state = ActualState::default();
    for (address, actual) in wanted.into_iter().zip(seen) {
        state.paths.insert(address.clone(), actual?);
    }
    let mut by_file: BTreeMap<&str, Vec<&Address>> = BTreeMap::new();
    for address in parts {
        by_file.entry(address.file()).or_default().push(address);
    }
    for (file, parts) in by_file {
        scan_parts(system, target, file, &parts, &mut state)?;
    }
    Ok(state)
}

/// The agent files under `agents/` (sub-folders too, as the client scans them)
/// that are not `known`, with the name each declares.
pub fn scan_others(
    system: &dyn System,
    target: &Target,
    known: &std::collections::BTreeSet<&Address>,
) -> io::Result<BTreeMap<Address, (Actual, String)>> {
    let mut found = BTreeMap::new();
    let mut stack = vec![(target.root.join("agents"), "agents".to_string())];
    while let Some((dir, rel)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(address) = Address::parse(&format!("{rel}/{name}")) else {
                continue;
            };
            let file_type = entry.file_type()?;
            if file_type.is_dir() {
                stack.push((entry.path(), address.as_str().to_string()));
            } else if file_type.is_file() && name.ends_with(".md") && !known.contains(&address) {
                let (actual, bytes) = system.look(&entry.path())?;
                if let Some(agent) = bytes.as_deref().and_then(crate::agent_file::declared_name) {
                    found.insert(address, (actual, agent));
                }
            }
        }
    }
    Ok(found)
}

/// What is at `path`, and the bytes when it is a regular file.
pub fn read_one(path: &std::path::Path) -> io::Result<(Actual, Option<Vec<u8>>)> {
    let meta = match fs_err::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Actual::Absent, None)),
        // a parent that is a file, for instance
        Err(e) if e.kind() == io::ErrorKind::NotADirectory => return Ok((Actual::Absent, None)),
        Err(e) => return Err(e),
    };
    let ft = meta.file_type();
    if ft.is_symlink() {
        return Ok((Actual::Other(OtherKind::SymbolicLink), None));
    }
    if ft.is_dir() {
        return Ok((Actual::Other(OtherKind::Directory), None));
    }
    if !ft.is_file() {
        return Ok((Actual::Other(OtherKind::Special), None));
    }
    // opened without following a link nor waiting on a pipe (either may have
    // replaced the file since the look above), and read to the size that look
    // gave: no second stat
    let read = || -> io::Result<Vec<u8>> {
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(crate::system::no_follow_no_wait())
            .open(path)?;
        crate::system::read_sized(&mut file, meta.len())
    };
    let bytes = read().map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("failed to read `{}`: {e}", path.display()),
        )
    })?;
    let actual = Actual::File {
        digest: Digest::of(&bytes),
        mode: meta.permissions().mode() & 0o7777,
    };
    Ok((actual, Some(bytes)))
}
