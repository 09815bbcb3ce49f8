//! Parts of a file: a key inside a JSON settings file (`/env/API_TIMEOUT_MS`), or
//! one element of an array in it (a `permissions.allow` rule, a hook entry).
//!
//! A part's value is JSON. Its *canonical* bytes (compact, object keys sorted at
//! every level) are what mpm digests, stores as a pre-image and compares: the client
//! rewrites settings files in its own key order and indentation, and a key whose
//! value did not change must not look edited.
//!
//! A number is canonical as it is written (serde_json's `arbitrary_precision`: its
//! digits as they are, an exponent as `e+N`/`e-N`), not as the float it reads as:
//! the same text always gives the same digest, and a pre-image holds the number the
//! file had, however big. Two spellings of one value (`1` and `1.0`) are two
//! values, as they were when numbers were floats: a hand edit from one to the other
//! is drift. What mpm writes (from YAML) reads back as it was written.

use serde_json::Value;
use std::fmt;

/// A key path inside a JSON document, as the tokens of a JSON pointer (RFC 6901).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pointer(Vec<String>);

impl Pointer {
    pub fn new(tokens: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Pointer(tokens.into_iter().map(Into::into).collect())
    }

    pub fn tokens(&self) -> &[String] {
        &self.0
    }

    /// `/env/API_TIMEOUT_MS`: `~` is written `~0`, `/` `~1`, and (mpm's own
    /// addition, so that `#` can end the pointer in an address) `#` `~2`.
    pub fn encoded(&self) -> String {
        let mut out = String::new();
        for token in &self.0 {
            out.push('/');
            for c in token.chars() {
                match c {
                    '~' => out.push_str("~0"),
                    '/' => out.push_str("~1"),
                    '#' => out.push_str("~2"),
                    c => out.push(c),
                }
            }
        }
        out
    }

    pub fn parse(s: &str) -> Result<Pointer, String> {
        let bad = || format!("`{s}` is not a JSON pointer");
        let rest = s.strip_prefix('/').ok_or_else(bad)?;
        let mut tokens = Vec::new();
        for raw in rest.split('/') {
            let mut token = String::new();
            let mut chars = raw.chars();
            while let Some(c) = chars.next() {
                match c {
                    '~' => token.push(match chars.next() {
                        Some('0') => '~',
                        Some('1') => '/',
                        Some('2') => '#',
                        _ => return Err(bad()),
                    }),
                    '#' | '\0' => return Err(bad()),
                    c => token.push(c),
                }
            }
            tokens.push(token);
        }
        Ok(Pointer(tokens))
    }

    /// `env.API_TIMEOUT_MS`, `permissions.allow`: how the plan names a key. A token
    /// that would read ambiguously is quoted.
    pub fn dotted(&self) -> String {
        self.0
            .iter()
            .map(|t| {
                let plain = !t.is_empty()
                    && t.chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '@' | '*'));
                if plain {
                    t.clone()
                } else {
                    serde_json::to_string(t).unwrap_or_default()
                }
            })
            .collect::<Vec<_>>()
            .join(".")
    }
}

impl fmt::Debug for Pointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encoded())
    }
}

/// What part of a file a resource is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Part {
    /// The value at a key.
    Key(Pointer),
    /// The element of the array at `array` whose identity is `id` (canonical JSON):
    /// the element itself for a permission rule, `{matcher, command}` for a hook
    /// entry. mpm owns the elements it added and nothing else in the array.
    Element { array: Pointer, id: String },
}

impl Part {
    /// The part's form in an address: `/env/X`, or `/permissions/allow#"Read"`.
    pub fn encoded(&self) -> String {
        match self {
            Part::Key(p) => p.encoded(),
            Part::Element { array, id } => format!("{}#{id}", array.encoded()),
        }
    }

    pub fn parse(s: &str) -> Result<Part, String> {
        match s.split_once('#') {
            None => Ok(Part::Key(Pointer::parse(s)?)),
            Some((array, id)) => {
                let value: Value =
                    serde_json::from_str(id).map_err(|_| format!("`{id}` is not JSON"))?;
                if canonical_string(&value) != id {
                    return Err(format!("`{id}` is not in canonical form"));
                }
                Ok(Part::Element {
                    array: Pointer::parse(array)?,
                    id: id.to_string(),
                })
            }
        }
    }

    /// The key path: the key itself, or the array the element is in.
    pub fn pointer(&self) -> &Pointer {
        match self {
            Part::Key(p) | Part::Element { array: p, .. } => p,
        }
    }

    /// The containers on the way to the part: the objects above a key; for an
    /// element, the objects above its array and the array.
    pub fn containers(&self) -> &[String] {
        match self {
            Part::Key(p) => &p.0[..p.0.len().saturating_sub(1)],
            Part::Element { array, .. } => &array.0,
        }
    }

    /// `env.API_TIMEOUT_MS`, or `permissions.allow[]`.
    pub fn dotted(&self) -> String {
        match self {
            Part::Key(p) => p.dotted(),
            Part::Element { array, .. } => format!("{}[]", array.dotted()),
        }
    }
}

/// The identity of an array element: a hook entry (`{matcher, hooks: [..]}` under
/// `/hooks/<event>`) by its matcher and commands, anything else by its value.
pub fn element_id(array: &Pointer, element: &Value) -> String {
    let is_hook = array.tokens().len() == 2 && array.tokens()[0] == "hooks";
    match element {
        Value::Object(entry) if is_hook => {
            let commands: Vec<&Value> = entry
                .get("hooks")
                .and_then(Value::as_array)
                .map(|hooks| hooks.iter().filter_map(|h| h.get("command")).collect())
                .unwrap_or_default();
            let id = serde_json::json!({
                "matcher": entry.get("matcher").cloned().unwrap_or(Value::Null),
                "commands": commands,
            });
            canonical_string(&id)
        }
        other => canonical_string(other),
    }
}

/// The canonical bytes of a value: compact, every object's keys sorted.
pub fn canonical(value: &Value) -> Vec<u8> {
    canonical_string(value).into_bytes()
}

pub fn canonical_string(value: &Value) -> String {
    fn sorted(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                Value::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), sorted(&map[k])))
                        .collect(),
                )
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    serde_json::to_string(&sorted(value)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_pointer_escapes_what_would_end_it() {
        let p = Pointer::new(["a/b", "c~d", "e#f", "ok"]);
        assert_eq!(p.encoded(), "/a~1b/c~0d/e~2f/ok");
        assert_eq!(Pointer::parse(&p.encoded()).unwrap(), p);
        for bad in ["", "env", "/a#b", "/a~3", "/a~"] {
            assert!(Pointer::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn an_element_is_named_by_its_canonical_identity() {
        let allow = Pointer::new(["permissions", "allow"]);
        let part = Part::Element {
            array: allow.clone(),
            id: element_id(&allow, &json!("Bash(npm test *)")),
        };
        assert_eq!(part.encoded(), r#"/permissions/allow#"Bash(npm test *)""#);
        assert_eq!(Part::parse(&part.encoded()).unwrap(), part);
        assert_eq!(part.dotted(), "permissions.allow[]");
        // an identity not in canonical form would name the same element twice
        assert!(Part::parse(r#"/a#{"b":1, "a":2}"#).is_err());
    }

    #[test]
    fn a_hook_entry_is_known_by_its_matcher_and_commands_not_its_timeout() {
        let event = Pointer::new(["hooks", "PreToolUse"]);
        let entry = |timeout| json!({"matcher": "Bash", "hooks": [{"type": "command", "command": "./check", "timeout": timeout}]});
        assert_eq!(
            element_id(&event, &entry(5)),
            element_id(&event, &entry(60))
        );
        assert_eq!(
            element_id(&event, &entry(5)),
            r#"{"commands":["./check"],"matcher":"Bash"}"#
        );
    }

    #[test]
    fn canonical_bytes_do_not_depend_on_key_order() {
        let a: Value =
            serde_json::from_str(r#"{"b": {"y": 1, "x": [2, {"d": 0, "c": 1}]}, "a": 1}"#).unwrap();
        let b: Value =
            serde_json::from_str(r#"{"a": 1, "b": {"x": [2, {"c": 1, "d": 0}], "y": 1}}"#).unwrap();
        assert_eq!(canonical(&a), canonical(&b));
        assert_eq!(
            canonical_string(&a),
            r#"{"a":1,"b":{"x":[2,{"c":1,"d":0}],"y":1}}"#
        );
    }

    #[test]
    fn a_number_is_canonical_as_written_and_what_mpm_writes_reads_back_the_same() {
        let parsed = |t: &str| canonical_string(&serde_json::from_str(t).unwrap());
        assert_eq!(
            parsed("[123456789012345678901234567890, -9223372036854775809, 1.0, 0.10]"),
            "[123456789012345678901234567890,-9223372036854775809,1.0,0.10]"
        );
        assert_eq!(parsed("[1E5, 1e5, 1e+5]"), "[1e+5,1e+5,1e+5]");
        assert_ne!(parsed("1"), parsed("1.0"));
        // a manifest's number, written, then read back from the file: one digest
        for yaml in [
            "600000",
            "-5",
            "1.0",
            "0.1",
            "1e21",
            "2.5e-8",
            "12345678901234567890123",
        ] {
            let from_yaml: Value = serde_yaml::from_str(yaml).unwrap();
            assert_eq!(
                parsed(&serde_json::to_string(&from_yaml).unwrap()),
                canonical_string(&from_yaml),
                "{yaml}"
            );
        }
    }

    #[test]
    fn keys_read_as_dotted_paths() {
        assert_eq!(
            Pointer::new(["env", "API_TIMEOUT_MS"]).dotted(),
            "env.API_TIMEOUT_MS"
        );
        assert_eq!(Pointer::new(["a.b", "c"]).dotted(), r#""a.b".c"#);
    }
}
