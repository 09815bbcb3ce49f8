//! Which `env` values doctor never quotes, and what it says in their place.
//!
//! A finding about a value that does not fit would quote it; for these it says what
//! is wrong and leaves the value out:
//! - a value the state log records as a secret mpm wrote (the key, in that file),
//!   since `mpm apply` does not check a secret's value and may have written a bad
//!   one;
//! - a value that looks like a credential, in a file mpm manages or not: its name
//!   has the word `TOKEN`, `KEY`, `SECRET`, `PASSWORD`, `PASSWD`, `PASS`, `AUTH`,
//!   `APIKEY`, `CREDENTIAL` or `CREDENTIALS` (`ANTHROPIC_API_KEY`, `GITHUB_TOKEN`,
//!   `AWS_SECRET_ACCESS_KEY`), or it starts with `sk-ant-` (an Anthropic key), or it
//!   carries a password the way a URL does (`user:pass@host`);
//! - every value of a target whose state log exists but could not be read (locked,
//!   damaged): doctor cannot tell its secrets then.

use crate::address::{Address, Kind};
use crate::part::Part;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use crate::secret::looks_like_credential;

/// Why a value is not quoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// mpm wrote it as a secret read from this variable.
    Secret { var: String },
    /// Its name or its form looks like a credential's.
    Credential,
    /// The state log could not be read to tell.
    Unread,
}

impl Why {
    /// The words that stand where the value would (after "got").
    pub fn instead(&self) -> String {
        match self {
            Why::Secret { var } => format!("the value of the secret `${var}`, not shown"),
            Why::Credential => "a value not shown, as it looks like a credential".into(),
            Why::Unread => {
                "a value not shown, as the state log could not be read to tell whether it is a secret".into()
            }
        }
    }

    /// What to do about a value that does not fit, before the check's own hint.
    pub fn fix(&self) -> Option<String> {
        match self {
            Why::Secret { var } => Some(format!(
                "give `{var}` a value that fits where mpm runs, then run `mpm apply`"
            )),
            Why::Credential | Why::Unread => None,
        }
    }
}

/// The secrets mpm wrote into a target's settings files, as its state log records
/// them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Secrets {
    /// By settings file and variable name: the variable each was read from.
    Known(BTreeMap<(PathBuf, String), String>),
    /// The state log is there and could not be read.
    Unread,
}

impl Secrets {
    /// A target without a state log: mpm wrote none.
    pub fn none() -> Secrets {
        Secrets::Known(BTreeMap::new())
    }

    /// From the addresses the state log records as secrets, with their variables
    /// (addresses relative to `root`). Only `env` entries are kept: doctor checks
    /// no other key's value.
    pub fn recorded<'a>(
        root: &Path,
        secrets: impl IntoIterator<Item = (&'a Address, &'a str)>,
    ) -> Secrets {
        let mut known = BTreeMap::new();
        for (address, var) in secrets {
            if address.kind() != Kind::Env {
                continue;
            }
            if let Some(Part::Key(pointer)) = address.part()
                && let [_, name] = pointer.tokens()
            {
                known.insert((address.path_in(root), name.clone()), var.to_string());
            }
        }
        Secrets::Known(known)
    }

    /// Why the value of `name` in the settings file at `path` may not be quoted;
    /// `None` when it may.
    pub fn withheld(&self, path: &Path, name: &str, value: &str) -> Option<Why> {
        match self {
            Secrets::Unread => Some(Why::Unread),
            Secrets::Known(known) => {
                if let Some(var) = known.get(&(path.to_path_buf(), name.to_string())) {
                    Some(Why::Secret { var: var.clone() })
                } else if looks_like_credential(name, value) {
                    Some(Why::Credential)
                } else {
                    None
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_names_are_known_by_their_words() {
        for name in [
            "ANTHROPIC_API_KEY",
            "ANTHROPIC_AUTH_TOKEN",
            "GITHUB_TOKEN",
            "MY_SECRET",
            "DB_PASSWORD",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_BEARER_TOKEN_BEDROCK",
            "smtp_pass",
            "OPENAI_APIKEY",
            "TOKEN",
        ] {
            assert!(looks_like_credential(name, "x"), "{name}");
        }
        for name in [
            "MAX_THINKING_TOKENS",
            "CLAUDE_CODE_MAX_OUTPUT_TOKENS",
            "ANTHROPIC_BASE_URL",
            "KEYBOARD_LAYOUT",
            "BYPASS_PROXY",
        ] {
            assert!(!looks_like_credential(name, "x"), "{name}");
        }
    }

    #[test]
    fn credential_values_are_known_by_their_form() {
        assert!(looks_like_credential("X", "sk-ant-api03-abc"));
        assert!(looks_like_credential(
            "HTTPS_PROXY",
            "bob:hunter2@proxy:8080"
        ));
        assert!(looks_like_credential(
            "HTTPS_PROXY",
            "http://bob:hunter2@proxy"
        ));
        assert!(!looks_like_credential("HTTPS_PROXY", "http://proxy:8080"));
        assert!(!looks_like_credential("EMAIL", "me@example.com"));
    }

    #[test]
    fn a_recorded_secret_is_withheld_in_its_own_file_only() {
        let root = Path::new("/p/.claude");
        let address = Address::parse("settings.local.json#/env/ANTHROPIC_BASE_URL").unwrap();
        let setting = Address::parse("settings.json#/model").unwrap();
        let agent = Address::parse("agents/qa.md").unwrap();
        let secrets = Secrets::recorded(root, [(&address, "S"), (&setting, "M"), (&agent, "A")]);
        let local = root.join("settings.local.json");
        assert_eq!(
            secrets.withheld(&local, "ANTHROPIC_BASE_URL", "x"),
            Some(Why::Secret { var: "S".into() })
        );
        assert_eq!(
            secrets.withheld(&root.join("settings.json"), "ANTHROPIC_BASE_URL", "x"),
            None
        );
        assert_eq!(
            secrets.withheld(&local, "MY_TOKEN", "x"),
            Some(Why::Credential)
        );
        assert_eq!(
            Secrets::Unread.withheld(&local, "PLAIN", "x"),
            Some(Why::Unread)
        );
        assert_eq!(Secrets::none().withheld(&local, "PLAIN", "x"), None);
    }
}
