//! Agent names: the safe form `^[a-z0-9]+(-[a-z0-9]+)*$`, at most 64 characters.
//!
//! The real client accepts almost any `name` (upper case, spaces, and in older
//! versions `:`), so mpm is the guard.

use crate::checked::{self, Invalid};
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};
use std::borrow::Cow;
use std::fmt;

pub const NAME_PATTERN: &str = "^[a-z0-9]+(-[a-z0-9]+)*$";

/// The longest name, in characters (the safe form is ASCII: bytes too). A file
/// system refuses a name only past 255 bytes (`<name>.md`: 252; 143 on eCryptfs), but
/// mpm refuses long before, at plan time: Claude Code limits its own skill names to
/// 64 characters, and a short name keeps the plan and the client's agent list
/// readable.
pub const NAME_MAX_LEN: usize = 64;

#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct AgentName(String);

impl AgentName {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let ok = !s.is_empty()
            && s.split('-').all(|part| {
                !part.is_empty()
                    && part
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            });
        if !ok {
            return Err(Invalid::from(format!(
                "`{}` is not a valid agent name: use lower-case letters, digits and single hyphens, like `data-engineer`",
                crate::text::escaped(s)
            )));
        }
        if s.len() > NAME_MAX_LEN {
            // the whole name is on the line the error points at
            return Err(Invalid::new(
                format!(
                    "agent name `{}…` is {} characters long, more than the {NAME_MAX_LEN} mpm allows",
                    &s[..32],
                    s.len()
                ),
                format!(
                    "shorten it to {NAME_MAX_LEN} characters or fewer: the name is the file `agents/<name>.md` and the agent's name in Claude Code, which limits its own skill names to {NAME_MAX_LEN}"
                ),
            ));
        }
        Ok(AgentName(s.to_string()))
    }

    /// The name claude-mpm gave the agent deployed from a template file:
    /// the file stem, lower-cased, `_` replaced by `-`.
    pub fn from_template_stem(stem: &str) -> Result<Self, Invalid> {
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
        checked::deserialize_checked(d, AgentName::parse)
    }
}

impl JsonSchema for AgentName {
    fn schema_name() -> Cow<'static, str> {
        "AgentName".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "pattern": NAME_PATTERN, "maxLength": NAME_MAX_LEN })
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
    fn names_the_file_system_or_the_client_would_choke_on_are_refused() {
        let longest = "a".repeat(NAME_MAX_LEN);
        assert!(AgentName::parse(&longest).is_ok());
        let e = AgentName::parse(&format!("{longest}b")).unwrap_err();
        assert_eq!(
            e.message,
            format!(
                "agent name `{}…` is 65 characters long, more than the 64 mpm allows",
                &longest[..32]
            )
        );
        assert!(e.hint.is_some());
        assert!(AgentName::from_template_stem(&"x_".repeat(40)).is_err());
        // a name that would print an escape sequence is shown escaped
        assert!(
            AgentName::parse("a\u{1b}[2J")
                .unwrap_err()
                .message
                .contains("`a\\u{1b}[2J`")
        );
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
