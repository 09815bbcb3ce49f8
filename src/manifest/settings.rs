//! `environment:` and `settings:`: what Claude Code runs with, reconciled into the
//! target's settings files key by key.

pub mod credential;
mod read;
pub mod written;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::borrow::Cow;

/// Which settings file a value goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// `settings.json`: for a project, committed and shared with the team.
    Shared,
    /// `settings.local.json`: the project's personal file, not committed.
    Local,
}

/// `environment:`: variables for every session the client starts, and the tools
/// and hooks it runs (the `env` object of a settings file).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Environment {
    /// The file for every variable that does not name its own.
    pub scope: Option<Scope>,
    /// In the manifest's order.
    pub variables: Vec<(String, Variable)>,
}

impl Environment {
    pub fn is_empty(&self) -> bool {
        self.variables.is_empty() && self.scope.is_none()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Variable {
    pub value: VariableValue,
    /// Never printed nor stored: see `docs/settings.md`.
    pub secret: bool,
    pub scope: Option<Scope>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum VariableValue {
    /// Written as is (numbers and booleans as text).
    Literal(String),
    /// Read from this variable of mpm's own environment when the plan is made.
    FromEnv(String),
}

/// `^[A-Za-z_][A-Za-z0-9_]*$`: what a shell and the client take as a variable name.
pub fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Serialize for Environment {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(None)?;
        if let Some(scope) = &self.scope {
            map.serialize_entry("scope", scope)?;
        }
        for (name, v) in &self.variables {
            let mut entry = serde_json::Map::new();
            match &v.value {
                VariableValue::Literal(t) => entry.insert("value".into(), t.clone().into()),
                VariableValue::FromEnv(var) => entry.insert("from_env".into(), var.clone().into()),
            };
            if v.secret {
                entry.insert("secret".into(), true.into());
            }
            if let Some(scope) = v.scope {
                entry.insert(
                    "scope".into(),
                    serde_json::to_value(scope).unwrap_or_default(),
                );
            }
            map.serialize_entry(name, &entry)?;
        }
        map.end()
    }
}

impl JsonSchema for Environment {
    fn schema_name() -> Cow<'static, str> {
        "Environment".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Variables for Claude Code's sessions and the tools and hooks they run, reconciled into the `env` object of the target's settings file. `scope: local` (here, for every variable) puts them in settings.local.json.",
            "type": "object",
            "properties": {
                "scope": { "enum": ["shared", "local"] }
            },
            "propertyNames": { "pattern": "^[A-Za-z_][A-Za-z0-9_]*$" },
            "additionalProperties": {
                "anyOf": [
                    { "type": ["string", "number", "boolean"] },
                    {
                        "type": "object",
                        "properties": {
                            "value": { "type": ["string", "number", "boolean"] },
                            "from_env": { "type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$" },
                            "secret": { "type": "boolean" },
                            "scope": { "enum": ["shared", "local"] }
                        },
                        "additionalProperties": false
                    }
                ]
            }
        })
    }
}

/// `settings:`: any other keys of the target's settings file (`permissions`,
/// `hooks`, `model`, ...), merged key by key: mpm owns the keys it writes and the
/// array elements it adds, nothing else.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Settings(pub serde_json::Map<String, Value>);

impl Settings {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl JsonSchema for Settings {
    fn schema_name() -> Cow<'static, str> {
        "Settings".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Keys of the target's settings.json (permissions, hooks, model, statusLine, enabledPlugins, ...), merged: mpm owns the keys it writes and the array elements it adds. Variables go under `environment`.",
            "type": "object",
            "not": { "required": ["env"] }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checked::Invalid;

    fn env(yaml: &str) -> Result<Environment, String> {
        serde_yaml::from_str(yaml).map_err(|e| Invalid::from_serde(&e.to_string()).message)
    }

    #[test]
    fn numbers_and_booleans_become_text_and_a_map_names_its_source() {
        let e = env("scope: local\nA: 600000\nB: true\nC: { from_env: TOKEN, secret: true, scope: shared }\n").unwrap();
        assert_eq!(e.scope, Some(Scope::Local));
        assert_eq!(
            e.variables[0].1.value,
            VariableValue::Literal("600000".into())
        );
        assert_eq!(
            e.variables[1].1.value,
            VariableValue::Literal("true".into())
        );
        let c = &e.variables[2].1;
        assert_eq!((c.secret, c.scope), (true, Some(Scope::Shared)));
        assert_eq!(c.value, VariableValue::FromEnv("TOKEN".into()));
    }

    #[test]
    fn a_secret_written_in_the_manifest_and_a_bad_name_are_refused() {
        assert!(
            env("A: { value: x, secret: true }")
                .unwrap_err()
                .contains("secret written in the manifest")
        );
        assert!(env("1A: x").unwrap_err().contains("not a variable name"));
        assert!(
            env("A: { valu: x }")
                .unwrap_err()
                .contains("unknown key `valu`")
        );
        assert!(env("A: [1]").unwrap_err().contains("must be a text"));
        assert!(
            env("scope: team")
                .unwrap_err()
                .contains("unknown scope `team`")
        );
    }
}
