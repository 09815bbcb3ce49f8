//! Addresses of managed resources inside a target.
//!
//! An address is the identity the planner diffs on. Today every resource is a whole
//! file (`agents/qa.md`); the same key space leaves room for resources that are parts
//! of a file (a `settings.json` key) without changing the planner.

use crate::name::AgentName;
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};

/// A relative, normalised path inside the target, with `/` separators.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Address(String);

impl Address {
    /// The file Claude Code loads an agent from: `agents/<name>.md`.
    pub fn agent_file(name: &AgentName) -> Self {
        Address(format!("agents/{name}.md"))
    }

    /// Checks an address read from outside (state log, plan file): relative, no `..`,
    /// no empty or `.` segments, no backslashes.
    pub fn parse(s: &str) -> Result<Self, String> {
        let ok = !s.is_empty()
            && !s.starts_with('/')
            && !s.contains('\\')
            && !s.contains('\0')
            && s.split('/')
                .all(|seg| !seg.is_empty() && seg != "." && seg != "..");
        if ok {
            Ok(Address(s.to_string()))
        } else {
            Err(format!("`{s}` is not a safe relative path"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path of this resource under `root`.
    pub fn path_in(&self, root: &Path) -> PathBuf {
        let mut p = root.to_path_buf();
        p.extend(self.0.split('/'));
        p
    }

    /// The directory part (`agents`), if any.
    pub fn parent(&self) -> Option<&str> {
        self.0.rsplit_once('/').map(|(dir, _)| dir)
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
    }
}
