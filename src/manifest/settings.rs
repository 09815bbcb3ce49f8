//! `environment:` and `settings:`: what Claude Code runs with, reconciled into the
//! target's settings files key by key.

use crate::checked::Invalid;
use schemars::JsonSchema;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use std::borrow::Cow;
use std::fmt;

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

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn scope_of(value: &Value) -> Result<Scope, Invalid> {
    match value.as_str() {
        Some("shared") => Ok(Scope::Shared),
        Some("local") => Ok(Scope::Local),
        _ => Err(Invalid::new(
            format!("unknown scope `{}`", scalar_text(value).unwrap_or_default()),
            "`scope` is `shared` (settings.json) or `local` (settings.local.json)",
        )),
    }
}

fn variable(name: &str, value: Value) -> Result<Variable, Invalid> {
    if !is_variable_name(name) {
        return Err(Invalid::new(
            format!("`{name}` is not a variable name"),
            "a variable name is letters, digits and `_`, not starting with a digit",
        ));
    }
    if let Some(text) = scalar_text(&value) {
        return Ok(Variable {
            value: VariableValue::Literal(text),
            secret: false,
            scope: None,
        });
    }
    let Value::Object(map) = value else {
        return Err(Invalid::new(
            format!("`environment.{name}` must be a text, a number, a boolean or a map"),
            "write `NAME: value`, or `NAME: { from_env: VAR, secret: true }`",
        ));
    };
    let mut literal = None;
    let mut from_env = None;
    let mut secret = false;
    let mut scope = None;
    for (key, v) in map {
        match key.as_str() {
            "value" => {
                literal = Some(scalar_text(&v).ok_or_else(|| {
                    Invalid::new(
                        format!("`environment.{name}.value` must be a text, a number or a boolean"),
                        "the client gives every variable to processes as text",
                    )
                })?)
            }
            "from_env" => match v {
                Value::String(var) if is_variable_name(&var) => from_env = Some(var),
                other => {
                    return Err(Invalid::new(
                        format!(
                            "`environment.{name}.from_env` must name a variable, not `{}`",
                            scalar_text(&other).unwrap_or_else(|| other.to_string())
                        ),
                        "write `from_env: NAME`, the variable of mpm's own environment to read",
                    ));
                }
            },
            "secret" => {
                secret = v.as_bool().ok_or_else(|| {
                    Invalid::new(
                        format!("`environment.{name}.secret` must be `true` or `false`"),
                        "`secret: true` keeps the value out of every output and of the state log",
                    )
                })?
            }
            "scope" => scope = Some(scope_of(&v)?),
            other => {
                let known = ["value", "from_env", "secret", "scope"];
                let hint = crate::text::closest(other, &known)
                    .map(|k| format!("did you mean `{k}`?"))
                    .unwrap_or_else(|| format!("a variable may have {}", list(&known)));
                return Err(Invalid::new(
                    format!("unknown key `{other}` in `environment.{name}`"),
                    hint,
                ));
            }
        }
    }
    let value = match (literal, from_env) {
        (Some(_), Some(_)) => {
            return Err(Invalid::new(
                format!("`environment.{name}` has both `value` and `from_env`"),
                "keep one of them",
            ));
        }
        (Some(text), None) => VariableValue::Literal(text),
        (None, Some(var)) => VariableValue::FromEnv(var),
        (None, None) => {
            return Err(Invalid::new(
                format!("`environment.{name}` has no value"),
                "give it `value: TEXT` or `from_env: VAR`",
            ));
        }
    };
    if secret && matches!(value, VariableValue::Literal(_)) {
        return Err(Invalid::new(
            format!("`environment.{name}` is a secret written in the manifest"),
            "a manifest is committed: keep the secret in mpm's environment and write `from_env: VAR`",
        ));
    }
    Ok(Variable {
        value,
        secret,
        scope,
    })
}

fn list(keys: &[&str]) -> String {
    keys.iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl<'de> Deserialize<'de> for Environment {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Environment;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of variable names to values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Environment, A::Error> {
                let mut env = Environment::default();
                while let Some(name) = map.next_key::<String>()? {
                    let value: Value = map.next_value()?;
                    let checked = if name == "scope" {
                        scope_of(&value).map(|s| env.scope = Some(s))
                    } else if env.variables.iter().any(|(n, _)| *n == name) {
                        Err(Invalid::new(
                            format!("`environment.{name}` is given twice"),
                            "keep one of them",
                        ))
                    } else {
                        variable(&name, value).map(|v| env.variables.push((name, v)))
                    };
                    checked.map_err(|e| de::Error::custom(e.to_serde()))?;
                }
                Ok(env)
            }
        }
        d.deserialize_map(V)
    }
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

impl<'de> Deserialize<'de> for Settings {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = serde_json::Map::<String, Value>::deserialize(d)?;
        if map.contains_key("env") {
            return Err(de::Error::custom(
                Invalid::new(
                    "`settings.env` is not where variables go",
                    "declare them under `environment:`, which checks them against what Claude Code reads",
                )
                .to_serde(),
            ));
        }
        if let Some(null) = first_null(&Value::Object(map.clone()), "settings") {
            return Err(de::Error::custom(
                Invalid::new(
                    format!("`{null}` has no value"),
                    "give it a value, or remove the key: mpm never writes a null",
                )
                .to_serde(),
            ));
        }
        Ok(Settings(map))
    }
}

/// The dotted path of the first null in `value`.
fn first_null(value: &Value, at: &str) -> Option<String> {
    match value {
        Value::Null => Some(at.to_string()),
        Value::Object(map) => map
            .iter()
            .find_map(|(k, v)| first_null(v, &format!("{at}.{k}"))),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| first_null(v, &format!("{at}[{i}]"))),
        _ => None,
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
