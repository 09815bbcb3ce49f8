//! Reading `environment:` and `settings:` so that every error points at what it is
//! about.
//!
//! serde_yaml gives an error the `line:column` of the node being read when the error
//! is raised (see [`crate::checked`]); one raised once a whole map has been read
//! lands on the map's first line, or on the document's. So each key and each value
//! of these sections is read through a seed of its own and checked there: a bad or
//! repeated name at the name, an unknown key at the key, a bad value at the value,
//! in block and flow style alike. Two keys that do not go together are refused at
//! the later one. The first problem stops the read, as everywhere in the manifest.

use super::{Environment, Scope, Settings, Variable, VariableValue, is_variable_name};
use crate::checked::Invalid;
use crate::text::escaped;
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::collections::HashSet;
use std::fmt;

fn refuse<E: de::Error>(message: impl Into<String>, hint: impl Into<String>) -> E {
    E::custom(Invalid::new(message, hint).to_serde())
}

/// A value as far as a check needs it: a scalar, or what it is instead.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    Bool(bool),
    /// A number, as the text mpm writes for it.
    Number(String),
    Null,
    List,
    Map,
}

impl Node {
    /// The text mpm writes for a scalar.
    fn text(self) -> Option<String> {
        match self {
            Node::Text(s) | Node::Number(s) => Some(s),
            Node::Bool(b) => Some(b.to_string()),
            Node::Null | Node::List | Node::Map => None,
        }
    }

    /// How a message names it.
    fn shown(&self) -> String {
        match self {
            Node::Text(s) | Node::Number(s) => escaped(s).into_owned(),
            Node::Bool(b) => b.to_string(),
            Node::Null => "null".into(),
            Node::List => "a list".into(),
            Node::Map => "a map".into(),
        }
    }
}

/// The text mpm writes for a number YAML reads as a float: JSON's (`1.1`, `1000.0`),
/// or Rust's for one JSON cannot hold (`NaN`, `inf`). [`super::written`] refuses
/// one that is not written so.
fn float_text(v: f64) -> String {
    serde_json::Number::from_f64(v).map_or_else(|| v.to_string(), |n| n.to_string())
}

/// A visitor's methods for every scalar, each handing its [`Node`] to `self.take`.
macro_rules! visit_scalars {
    () => {
        fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
            self.take(Node::Text(s.to_string()))
        }
        fn visit_bool<E: de::Error>(self, b: bool) -> Result<Self::Value, E> {
            self.take(Node::Bool(b))
        }
        fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
            self.take(Node::Number(n.to_string()))
        }
        fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
            self.take(Node::Number(n.to_string()))
        }
        fn visit_i128<E: de::Error>(self, n: i128) -> Result<Self::Value, E> {
            self.take(Node::Number(n.to_string()))
        }
        fn visit_u128<E: de::Error>(self, n: u128) -> Result<Self::Value, E> {
            self.take(Node::Number(n.to_string()))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            self.take(Node::Number(float_text(v)))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            self.take(Node::Null)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            self.take(Node::Null)
        }
    };
}

/// `visit_seq` for a visitor that takes no list but says so: the list is read to
/// its end first, as serde requires.
macro_rules! visit_list {
    () => {
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            self.take(Node::List)
        }
    };
}

/// Reads one value and checks it with `.0` while the deserializer still points at it.
struct Check<F>(F);

impl<T, F: FnOnce(Node) -> Result<T, Invalid>> Check<F> {
    fn take<E: de::Error>(self, node: Node) -> Result<T, E> {
        (self.0)(node).map_err(|e| E::custom(e.to_serde()))
    }
}

impl<'de, T, F: FnOnce(Node) -> Result<T, Invalid>> DeserializeSeed<'de> for Check<F> {
    type Value = T;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, T, F: FnOnce(Node) -> Result<T, Invalid>> Visitor<'de> for Check<F> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a value")
    }
    visit_scalars!();
    visit_list!();
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        self.take(Node::Map)
    }
}

fn scope_of(node: Node) -> Result<Scope, Invalid> {
    match node {
        Node::Text(s) if s == "shared" => Ok(Scope::Shared),
        Node::Text(s) if s == "local" => Ok(Scope::Local),
        other => Err(Invalid::new(
            format!("unknown scope `{}`", other.shown()),
            "`scope` is `shared` (settings.json) or `local` (settings.local.json)",
        )),
    }
}

fn twice(what: &str) -> Invalid {
    Invalid::new(format!("`{what}` is given twice"), "keep one of them")
}

impl<'de> Deserialize<'de> for Environment {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(Section)
    }
}

struct Section;

impl<'de> Visitor<'de> for Section {
    type Value = Environment;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map of variable names to values")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Environment, A::Error> {
        let mut env = Environment::default();
        let mut names = HashSet::new();
        while let Some(key) = map.next_key_seed(SectionKey {
            names: &names,
            scope_given: env.scope.is_some(),
        })? {
            match key {
                None => env.scope = Some(map.next_value_seed(Check(scope_of))?),
                Some(name) => {
                    let variable = map.next_value_seed(VariableSeed(&name))?;
                    names.insert(name.clone());
                    env.variables.push((name, variable));
                }
            }
        }
        Ok(env)
    }
}

/// A key of `environment:`: `scope` (`None`), or the name of a variable not given yet.
struct SectionKey<'a> {
    names: &'a HashSet<String>,
    scope_given: bool,
}

impl<'de> DeserializeSeed<'de> for SectionKey<'_> {
    type Value = Option<String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for SectionKey<'_> {
    type Value = Option<String>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a variable name")
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        let refused = if s == "scope" {
            if !self.scope_given {
                return Ok(None);
            }
            twice("environment.scope")
        } else if !is_variable_name(s) {
            Invalid::new(
                format!("`{}` is not a variable name", escaped(s)),
                "a variable name is letters, digits and `_`, not starting with a digit",
            )
        } else if self.names.contains(s) {
            twice(&format!("environment.{s}"))
        } else {
            return Ok(Some(s.to_string()));
        };
        Err(E::custom(refused.to_serde()))
    }
}

/// The value of the variable `.0`: a scalar, or a map of [`Field`]s.
struct VariableSeed<'a>(&'a str);

impl<'de> DeserializeSeed<'de> for VariableSeed<'_> {
    type Value = Variable;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Variable, D::Error> {
        d.deserialize_any(self)
    }
}

impl VariableSeed<'_> {
    fn take<E: de::Error>(self, node: Node) -> Result<Variable, E> {
        let name = self.0;
        let refused = match node {
            Node::Null => Invalid::new(
                format!("`environment.{name}` has no value"),
                "give it a value (`\"\"` for an empty text), or remove it",
            ),
            Node::List | Node::Map => Invalid::new(
                format!("`environment.{name}` must be a text, a number, a boolean or a map"),
                "write `NAME: value`, or `NAME: { from_env: VAR, secret: true }`",
            ),
            scalar => match no_nul(name, scalar.text().unwrap_or_default()) {
                Ok(text) => {
                    return Ok(Variable {
                        value: VariableValue::Literal(text),
                        secret: false,
                        scope: None,
                    });
                }
                Err(refused) => refused,
            },
        };
        Err(E::custom(refused.to_serde()))
    }
}

impl<'de> Visitor<'de> for VariableSeed<'_> {
    type Value = Variable;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a text, a number, a boolean or a map")
    }
    visit_scalars!();
    visit_list!();
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Variable, A::Error> {
        let name = self.0;
        let mut given = Vec::new();
        let (mut literal, mut from_env, mut secret, mut scope) = (None, None, false, None);
        while let Some(field) = map.next_key_seed(FieldKey {
            name,
            given: &given,
        })? {
            given.push(field);
            match field {
                Field::Value => {
                    let marked = secret;
                    literal = Some(map.next_value_seed(Check(move |n| value(name, n, marked)))?);
                }
                Field::FromEnv => from_env = Some(map.next_value_seed(Check(|n| var(name, n)))?),
                Field::Secret => {
                    let written = literal.is_some();
                    secret = map.next_value_seed(Check(move |n| flag(name, n, written)))?;
                }
                Field::Scope => scope = Some(map.next_value_seed(Check(scope_of))?),
            }
        }
        let value = match (literal, from_env) {
            (Some(text), _) => VariableValue::Literal(text),
            (None, Some(var)) => VariableValue::FromEnv(var),
            (None, None) => {
                return Err(refuse(
                    format!("`environment.{name}` has no value"),
                    "give it `value: TEXT` or `from_env: VAR`",
                ));
            }
        };
        Ok(Variable {
            value,
            secret,
            scope,
        })
    }
}

fn value(name: &str, node: Node, secret: bool) -> Result<String, Invalid> {
    if secret {
        return Err(secret_written(name));
    }
    match node {
        Node::Null => Err(Invalid::new(
            format!("`environment.{name}.value` has no value"),
            "give it a text (`\"\"` for an empty one)",
        )),
        Node::List | Node::Map => Err(Invalid::new(
            format!("`environment.{name}.value` must be a text, a number or a boolean"),
            "the client gives every variable to processes as text",
        )),
        scalar => no_nul(name, scalar.text().unwrap_or_default()),
    }
}

/// A process's environment cannot hold a NUL: the client could not start a tool
/// with it.
fn no_nul(name: &str, text: String) -> Result<String, Invalid> {
    if text.contains('\0') {
        Err(Invalid::new(
            format!(
                "`environment.{name}` holds a NUL character (`\\0`), which no process environment can"
            ),
            "remove it",
        ))
    } else {
        Ok(text)
    }
}

fn var(name: &str, node: Node) -> Result<String, Invalid> {
    match node {
        Node::Text(var) if is_variable_name(&var) => Ok(var),
        other => Err(Invalid::new(
            format!(
                "`environment.{name}.from_env` must name a variable, not `{}`",
                other.shown()
            ),
            "write `from_env: NAME`, the variable of mpm's own environment to read",
        )),
    }
}

fn flag(name: &str, node: Node, written: bool) -> Result<bool, Invalid> {
    match node {
        Node::Bool(true) if written => Err(secret_written(name)),
        Node::Bool(b) => Ok(b),
        _ => Err(Invalid::new(
            format!("`environment.{name}.secret` must be `true` or `false`"),
            "`secret: true` keeps the value out of every output and of the state log",
        )),
    }
}

fn secret_written(name: &str) -> Invalid {
    Invalid::new(
        format!("`environment.{name}` is a secret written in the manifest"),
        "a manifest is committed: keep the secret in mpm's environment and write `from_env: VAR`",
    )
}

/// A key of a variable's map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Value,
    FromEnv,
    Secret,
    Scope,
}

const FIELDS: [&str; 4] = ["value", "from_env", "secret", "scope"];

/// A key of the variable `name`'s map, not given yet and not at odds with one that is.
struct FieldKey<'a> {
    name: &'a str,
    given: &'a [Field],
}

impl<'de> DeserializeSeed<'de> for FieldKey<'_> {
    type Value = Field;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Field, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for FieldKey<'_> {
    type Value = Field;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("`value`, `from_env`, `secret` or `scope`")
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Field, E> {
        let name = self.name;
        let field = match s {
            "value" => Field::Value,
            "from_env" => Field::FromEnv,
            "secret" => Field::Secret,
            "scope" => Field::Scope,
            other => {
                let hint = crate::text::closest(other, &FIELDS)
                    .map(|k| format!("did you mean `{k}`?"))
                    .unwrap_or_else(|| {
                        let all: Vec<String> = FIELDS.iter().map(|k| format!("`{k}`")).collect();
                        format!("a variable may have {}", all.join(", "))
                    });
                return Err(refuse(
                    format!("unknown key `{}` in `environment.{name}`", escaped(other)),
                    hint,
                ));
            }
        };
        if self.given.contains(&field) {
            return Err(E::custom(
                twice(&format!("environment.{name}.{s}")).to_serde(),
            ));
        }
        let other = match field {
            Field::Value => Field::FromEnv,
            Field::FromEnv => Field::Value,
            _ => return Ok(field),
        };
        if self.given.contains(&other) {
            return Err(refuse(
                format!("`environment.{name}` has both `value` and `from_env`"),
                "keep one of them: `value` is the text, `from_env` the variable of mpm's environment to read it from",
            ));
        }
        Ok(field)
    }
}

impl<'de> Deserialize<'de> for Settings {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(Json {
            path: "settings".into(),
        })
        .map(|value| match value {
            Value::Object(map) => Settings(map),
            // a map is all `deserialize_map` hands to the visitor
            _ => Settings::default(),
        })
    }
}

/// A number as JSON holds it: not NaN, an infinity, nor an integer past 64 bits.
fn json_number(text: &str) -> Option<serde_json::Number> {
    if let Ok(n) = text.parse::<u64>() {
        return Some(n.into());
    }
    if let Ok(n) = text.parse::<i64>() {
        return Some(n.into());
    }
    if text.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
        return None;
    }
    text.parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
}

/// The value at `path` of `settings:` (`settings.permissions.allow[1]`), as JSON.
struct Json {
    path: String,
}

impl<'de> DeserializeSeed<'de> for Json {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl Json {
    fn take<E: de::Error>(self, node: Node) -> Result<Value, E> {
        let path = self.path;
        Ok(match node {
            Node::Text(s) => Value::String(s),
            Node::Bool(b) => Value::Bool(b),
            Node::Number(text) => match json_number(&text) {
                Some(n) => Value::Number(n),
                None => {
                    return Err(refuse(
                        format!("`{path}` is a number a settings file cannot hold"),
                        "JSON has no `.nan` nor `.inf`, nor integers this large: quote it to make it a text",
                    ));
                }
            },
            Node::Null => {
                return Err(refuse(
                    format!("`{path}` has no value"),
                    "give it a value, or remove the key: mpm never writes a null",
                ));
            }
            // never handed here: `visit_seq` and `visit_map` below read lists and maps
            Node::List => Value::Array(Vec::new()),
            Node::Map => Value::Object(serde_json::Map::new()),
        })
    }
}

impl<'de> Visitor<'de> for Json {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(if self.path == "settings" {
            "a map of settings keys"
        } else {
            "a value"
        })
    }

    visit_scalars!();

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Json {
            path: format!("{}[{}]", self.path, items.len()),
        })? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let top = self.path == "settings";
        let mut keys = serde_json::Map::new();
        while let Some(key) = map.next_key_seed(JsonKey {
            path: &self.path,
            top,
            given: &keys,
        })? {
            let value = map.next_value_seed(Json {
                path: format!("{}.{}", self.path, escaped(&key)),
            })?;
            keys.insert(key, value);
        }
        Ok(Value::Object(keys))
    }
}

/// A key of the object at `path` of `settings:`, not given yet; `env` is not one at
/// the top.
struct JsonKey<'a> {
    path: &'a str,
    top: bool,
    given: &'a serde_json::Map<String, Value>,
}

impl<'de> DeserializeSeed<'de> for JsonKey<'_> {
    type Value = String;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for JsonKey<'_> {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<String, E> {
        if self.top && s == "env" {
            return Err(refuse(
                "`settings.env` is not where variables go",
                "declare them under `environment:`, which checks them against what Claude Code reads",
            ));
        }
        if self.given.contains_key(s) {
            return Err(E::custom(
                twice(&format!("{}.{}", self.path, escaped(s))).to_serde(),
            ));
        }
        Ok(s.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error's message and `line:column`.
    fn refused<T: for<'de> Deserialize<'de> + fmt::Debug>(yaml: &str) -> (String, usize, usize) {
        let e = serde_yaml::from_str::<T>(yaml).unwrap_err();
        let at = e.location().unwrap();
        let text = e.to_string();
        let detail = text.split_once(": ").map_or(text.as_str(), |(_, d)| d);
        (
            Invalid::from_serde(detail)
                .message
                .split(" at line ")
                .next()
                .unwrap()
                .to_string(),
            at.line(),
            at.column(),
        )
    }

    fn at(message: &str, line: usize, column: usize) -> (String, usize, usize) {
        (message.to_string(), line, column)
    }

    #[test]
    fn each_error_points_at_its_key_or_value_in_block_style() {
        let env = |rest: &str| format!("A: 1\nB: 2\n{rest}");
        assert_eq!(
            refused::<Environment>(&env("C:\n  value: x\n  secret: true\n")),
            at("`environment.C` is a secret written in the manifest", 5, 11)
        );
        assert_eq!(
            refused::<Environment>(&env("C:\n  secret: true\n  value: x\n")),
            at("`environment.C` is a secret written in the manifest", 5, 10)
        );
        assert_eq!(
            refused::<Environment>(&env("C:\n  value: x\n  secrett: true\n")),
            at("unknown key `secrett` in `environment.C`", 5, 3)
        );
        assert_eq!(
            refused::<Environment>(&env("A: 3\n")),
            at("`environment.A` is given twice", 3, 1)
        );
        assert_eq!(
            refused::<Environment>(&env("1C: x\n")),
            at("`1C` is not a variable name", 3, 1)
        );
        assert_eq!(
            refused::<Environment>(&env("C: [x]\n")),
            at(
                "`environment.C` must be a text, a number, a boolean or a map",
                3,
                4
            )
        );
        assert_eq!(
            refused::<Environment>(&env("C: { from_env: HOME, value: x }\n")),
            at("`environment.C` has both `value` and `from_env`", 3, 22)
        );
        assert_eq!(
            refused::<Environment>(&env("C: { scope: team }\n")),
            at("unknown scope `team`", 3, 13)
        );
        assert_eq!(
            refused::<Environment>(&env("C: { scope: local }\n")),
            at("`environment.C` has no value", 3, 4)
        );
        assert_eq!(
            refused::<Environment>(&env("scope: local\nscope: shared\n")),
            at("`environment.scope` is given twice", 4, 1)
        );
    }

    #[test]
    fn each_error_points_at_its_key_or_value_in_flow_style() {
        assert_eq!(
            refused::<Environment>("{A: 1, B: {value: x, secret: true}}"),
            at("`environment.B` is a secret written in the manifest", 1, 30)
        );
        assert_eq!(
            refused::<Environment>("{A: 1, B: {value: x, secrett: true}}"),
            at("unknown key `secrett` in `environment.B`", 1, 22)
        );
        assert_eq!(
            refused::<Environment>("{A: 1, A: 2}"),
            at("`environment.A` is given twice", 1, 8)
        );
        assert_eq!(
            refused::<Environment>("{A: 1, B: {from_env: 1X}}"),
            at(
                "`environment.B.from_env` must name a variable, not `1X`",
                1,
                22
            )
        );
    }

    #[test]
    fn values_become_text_as_mpm_writes_them() {
        let env: Environment =
            serde_yaml::from_str("A: 600000\nB: true\nC: 1.5\nD: { value: -3, scope: local }\n")
                .unwrap();
        let texts: Vec<_> = env
            .variables
            .iter()
            .map(|(n, v)| (n.as_str(), v.value.clone(), v.scope))
            .collect();
        let literal = |s: &str| VariableValue::Literal(s.into());
        assert_eq!(
            texts,
            [
                ("A", literal("600000"), None),
                ("B", literal("true"), None),
                ("C", literal("1.5"), None),
                ("D", literal("-3"), Some(Scope::Local)),
            ]
        );
        assert_eq!(float_text(1e3), "1000.0");
        assert_eq!(float_text(f64::NAN), "NaN");
    }

    #[test]
    fn settings_refuse_env_a_null_and_a_key_given_twice_where_they_are() {
        assert_eq!(
            refused::<Settings>("model: opus\nenv: {A: 1}\n"),
            at("`settings.env` is not where variables go", 2, 1)
        );
        assert_eq!(
            refused::<Settings>("permissions:\n  allow: [a, null]\n"),
            at("`settings.permissions.allow[1]` has no value", 2, 14)
        );
        assert_eq!(
            refused::<Settings>("a: {b: 1, b: 2}\n"),
            at("`settings.a.b` is given twice", 1, 11)
        );
        assert_eq!(
            refused::<Settings>("a:\n  - .nan\n"),
            at(
                "`settings.a[0]` is a number a settings file cannot hold",
                2,
                5
            )
        );
        // `env` below the top is an ordinary key
        let s: Settings = serde_yaml::from_str("hooks: {env: [1, 2.5, x]}\n").unwrap();
        assert_eq!(s.0["hooks"]["env"], serde_json::json!([1, 2.5, "x"]));
    }
}
