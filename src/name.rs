//! Agent names: the safe form `^[a-z0-9]+(-[a-z0-9]+)*$`.
//!
//! The real client accepts almost any `name` (upper case, spaces, and in older
//! versions `:`), so mpm is the guard.

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};
use std::borrow::Cow;
use std::fmt;

pub const NAME_PATTERN: &str = "^[a-z0-9]+(-[a-z0-9]+)*$";

#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct AgentName(String);

impl AgentName {
    pub fn parse(s: &str) -> Result<Self, String> {
        let ok = !s.is_empty()
            && s.split('-').all(|part| {
                !part.is_empty()
                    && part
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            });
        if ok {
            Ok(AgentName(s.to_string()))
        } else {
            Err(format!(
                "`{s}` is not a valid agent name: use lower-case letters, digits and single hyphens, like `data-engineer`"
            ))
        }
    }

    /// The name claude-mpm gave the agent deployed from a template file:
    /// the file stem, lower-cased, `_` replaced by `-`.
    pub fn from_template_stem(stem: &str) -> Result<Self, String> {
        AgentName::parse(&stem.to_lowercase().replace('_', "-"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AgentName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for AgentName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl<'de> Deserialize<'de> for AgentName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::agent_file::deserialize_checked(d, AgentName::parse)
    }
}

impl JsonSchema for AgentName {
    fn schema_name() -> Cow<'static, str> {
        "AgentName".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "pattern": NAME_PATTERN })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_the_safe_form() {
        for good in ["qa", "data-engineer", "a1-b2", "7"] {
            assert!(AgentName::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "", "../x", "A B", "x:y", "-x", "x-", "a--b", "Qa", "a_b", "a.b",
        ] {
            assert!(AgentName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn template_stems_are_named_as_claude_mpm_named_them() {
        assert_eq!(
            AgentName::from_template_stem("data_engineer")
                .unwrap()
                .as_str(),
            "data-engineer"
        );
        assert_eq!(
            AgentName::from_template_stem("API_QA").unwrap().as_str(),
            "api-qa"
        );
    }
}
