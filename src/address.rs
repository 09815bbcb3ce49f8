//! Addresses of managed resources inside a target.
//!
//! An address is the identity the planner diffs on: a file (`agents/qa.md`), or a
//! part of one (`settings.json#/env/API_TIMEOUT_MS`, see [`crate::part`]). The file
//! comes first, so a file's parts sort together, after the file itself.

use crate::name::AgentName;
use crate::part::Part;
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};

/// A relative, normalised path inside the target, with `/` separators, and after
/// a `#` the part of the file, if the resource is one.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Address(String);

impl Address {
    /// The file Claude Code loads an agent from: `agents/<name>.md`.
    pub fn agent_file(name: &AgentName) -> Self {
        Address(format!("agents/{name}.md"))
    }

    /// A part of the file at `file` (a relative path mpm chose).
    pub fn part_of(file: &str, part: &Part) -> Self {
        Address(format!("{file}#{}", part.encoded()))
    }

    /// Checks an address read from outside (state log, plan file): relative, no `..`,
    /// no empty or `.` segments, no backslashes; a part that parses.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (file, part) = match s.split_once('#') {
            Some((file, part)) => (file, Some(part)),
            None => (s, None),
        };
        let ok = !file.is_empty()
            && !file.starts_with('/')
            && !file.contains('\\')
            && !file.contains('\0')
            && file
                .split('/')
                .all(|seg| !seg.is_empty() && seg != "." && seg != "..");
        if !ok {
            return Err(format!("`{s}` is not a safe relative path"));
        }
        if let Some(part) = part {
            Part::parse(part).map_err(|e| format!("`{s}`: {e}"))?;
        }
        Ok(Address(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The file the resource is, or is in.
    pub fn file(&self) -> &str {
        self.0.split_once('#').map_or(&self.0, |(file, _)| file)
    }

    /// The part of the file, for a resource that is not a whole file.
    pub fn part(&self) -> Option<Part> {
        let (_, part) = self.0.split_once('#')?;
        Part::parse(part).ok()
    }

    pub fn is_part(&self) -> bool {
        self.0.contains('#')
    }

    /// What sort of resource is here.
    pub fn kind(&self) -> Kind {
        match self.part() {
            None => Kind::AgentFile,
            Some(part) if part.pointer().tokens().first().is_some_and(|t| t == "env") => Kind::Env,
            Some(_) => Kind::Setting,
        }
    }

    /// The path of this resource's file under `root`.
    pub fn path_in(&self, root: &Path) -> PathBuf {
        let mut p = root.to_path_buf();
        p.extend(self.file().split('/'));
        p
    }

    /// The directory part (`agents`), if any.
    pub fn parent(&self) -> Option<&str> {
        self.file().rsplit_once('/').map(|(dir, _)| dir)
    }
}

/// What a resource is: the JSON plan's `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// `agents/<name>.md`
    AgentFile,
    /// A variable in the `env` object of a settings file.
    Env,
    /// Any other key of a settings file, or an element of an array in it.
    Setting,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::AgentFile => "agent_file",
            Kind::Env => "env",
            Kind::Setting => "setting",
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Address::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_paths_that_leave_the_target() {
        for bad in [
            "",
            "/etc/passwd",
            "../x.md",
            "agents/../../x",
            "a//b",
            "a\\b",
            "./a",
        ] {
            assert!(Address::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(
            Address::parse("agents/qa.md").unwrap().parent(),
            Some("agents")
        );
        for bad in [
            "../settings.json#/env/A",
            "settings.json#env",
            "settings.json#/a~9",
        ] {
            assert!(Address::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn a_part_is_in_its_file_and_has_a_kind() {
        let env = Address::part_of(
            "settings.json",
            &Part::Key(crate::part::Pointer::new(["env", "A"])),
        );
        assert_eq!(env.as_str(), "settings.json#/env/A");
        assert_eq!(env.file(), "settings.json");
        assert_eq!(env.path_in(Path::new("/t")), Path::new("/t/settings.json"));
        assert_eq!(env.kind(), Kind::Env);
        assert_eq!(Address::parse(env.as_str()), Ok(env));
        let model = Address::parse("settings.json#/model").unwrap();
        assert_eq!(model.kind(), Kind::Setting);
        assert_eq!(
            Address::parse("agents/qa.md").unwrap().kind(),
            Kind::AgentFile
        );
    }
}
