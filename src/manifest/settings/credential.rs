//! A credential written in the manifest as plain text: `ANTHROPIC_API_KEY: sk-ant-...`.
//!
//! The manifest is committed and every plan prints a plain value, so a variable
//! named like a credential is better read from mpm's environment as a secret. Said
//! as a warning, not refused: the name is only a guess at what the value is.

use super::{Environment, VariableValue};
use crate::claude_env::{Finding, Severity};

/// Name endings of variables that hold credentials, by common convention.
const ENDINGS: [&str; 4] = ["_TOKEN", "_API_KEY", "_SECRET", "_PASSWORD"];

/// Credentials Claude Code reads (on Bedrock) whose names end otherwise.
const NAMES: [&str; 2] = ["AWS_SECRET_ACCESS_KEY", "AWS_BEARER_TOKEN_BEDROCK"];

/// Whether `name` is the name of a credential: `ANTHROPIC_AUTH_TOKEN`,
/// `ANTHROPIC_API_KEY`, any `*_TOKEN`, `*_API_KEY`, `*_SECRET`, `*_PASSWORD`, in
/// any case.
pub fn is_credential_name(name: &str) -> bool {
    let name = name.to_ascii_uppercase();
    NAMES.contains(&name.as_str())
        || ENDINGS
            .iter()
            .any(|end| name.ends_with(end) || name == end[1..])
}

/// The warning for the variable `name` of `env` when it is a credential written
/// as a literal, not empty. It never holds the value.
pub fn literal(env: &Environment, name: &str) -> Option<Finding> {
    let (_, variable) = env.variables.iter().find(|(n, _)| n == name)?;
    match &variable.value {
        VariableValue::Literal(text) if !text.is_empty() && is_credential_name(name) => {
            Some(Finding {
                severity: Severity::Warning,
                code: "env-literal-credential",
                message: format!(
                    "`{name}` looks like a credential, written in the manifest as plain text: whoever reads the manifest or a plan reads it"
                ),
                hint: Some(format!(
                    "keep it in mpm's environment and write `{name}: {{ from_env: VAR, secret: true }}`"
                )),
            })
        }
        VariableValue::FromEnv(var) if !variable.secret && is_credential_name(name) => {
            Some(Finding {
                severity: Severity::Warning,
                code: "env-credential-not-secret",
                message: format!(
                    "`{name}` looks like a credential, read from `${var}` without `secret: true`: mpm keeps its value in the state log and a saved plan"
                ),
                hint: Some(format!(
                    "write `{name}: {{ from_env: {var}, secret: true }}`"
                )),
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(yaml: &str) -> Environment {
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn credential_names_are_told_by_their_ending() {
        for name in [
            "ANTHROPIC_AUTH_TOKEN",
            "ANTHROPIC_API_KEY",
            "GITHUB_TOKEN",
            "db_password",
            "CLIENT_SECRET",
            "TOKEN",
            "AWS_BEARER_TOKEN_BEDROCK",
        ] {
            assert!(is_credential_name(name), "{name}");
        }
        for name in [
            "MAX_THINKING_TOKENS",
            "CLAUDE_CODE_MAX_OUTPUT_TOKENS",
            "API_KEY_HELPER_TTL_MS",
            "SECRETARY",
        ] {
            assert!(!is_credential_name(name), "{name}");
        }
    }

    #[test]
    fn only_a_value_written_in_the_manifest_is_warned_about_and_never_shown() {
        let e = env(
            "ANTHROPIC_API_KEY: sk-ant-123\nGITHUB_TOKEN: { from_env: GH, secret: true }\nMY_TOKEN: ''\nOTHER: sk-ant-456\n",
        );
        let found = literal(&e, "ANTHROPIC_API_KEY").unwrap();
        assert_eq!(
            (found.severity, found.code),
            (Severity::Warning, "env-literal-credential")
        );
        assert!(!found.message.contains("sk-ant") && !found.hint.unwrap().contains("sk-ant"));
        assert_eq!(literal(&e, "GITHUB_TOKEN"), None);
        assert_eq!(literal(&e, "MY_TOKEN"), None);
        assert_eq!(literal(&e, "OTHER"), None);
    }
}
