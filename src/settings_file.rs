//! A Claude Code settings file as mpm edits it: parsed keeping every key's position,
//! changed one part at a time, written back with the file's own indentation, line
//! ending, final newline and byte order mark. Keys mpm does not own keep their values
//! (a number its very text) and their places. A file mpm could not write back whole
//! (not UTF-8, not JSON, a key given twice) is [`Unreadable`]: never rewritten.

use crate::part::{Part, Pointer, element_id};
use serde_json::{Map, Value};

/// The settings file of a target, and its local (never committed) sibling.
pub const SHARED: &str = "settings.json";
pub const LOCAL: &str = "settings.local.json";

/// A settings file, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    root: Map<String, Value>,
    indent: Indent,
    final_newline: bool,
    /// The file began with U+FEFF.
    bom: bool,
    /// Lines end in `\r\n` (as the first line does).
    crlf: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Indent {
    /// All on one line.
    Compact,
    Pretty(String),
}

/// Why a settings file cannot be edited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreadable {
    /// Not JSON: where the parser stopped (1-based).
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    /// JSON, but not an object.
    NotAnObject,
    /// Not UTF-8: the line and column of the first byte that is not (1-based).
    NotUtf8 { line: usize, column: usize },
    /// An object gives `key` twice: JSON readers keep one of the two, and a rewrite
    /// would drop the other. Where the second one begins (1-based).
    DuplicateKey {
        key: String,
        line: usize,
        column: usize,
    },
}

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unreadable::Syntax {
                line,
                column,
                message,
            } => write!(f, "not JSON (line {line}, column {column}: {message})"),
            Unreadable::NotAnObject => f.write_str("JSON, but not an object"),
            Unreadable::NotUtf8 { line, column } => {
                write!(f, "not UTF-8 (line {line}, column {column})")
            }
            Unreadable::DuplicateKey { key, line, column } => {
                write!(f, "`{key}` is given twice (line {line}, column {column})")
            }
        }
    }
}

/// What is at a part of a document.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Found<'a> {
    Value(&'a Value),
    Absent,
    /// A key on the way is not an object (or the array is not an array): the part
    /// cannot be there, nor be put there without replacing someone's value.
    Blocked,
}

impl Default for Document {
    /// A new file: two-space indentation and a final newline, as the client writes.
    fn default() -> Self {
        Document {
            root: Map::new(),
            indent: Indent::Pretty("  ".into()),
            final_newline: true,
            bom: false,
            crlf: false,
        }
    }
}

impl Document {
    pub fn parse(bytes: &[u8]) -> Result<Document, Unreadable> {
        let text = std::str::from_utf8(bytes).map_err(|e| {
            let (line, column) = position_after(&bytes[..e.valid_up_to()]);
            Unreadable::NotUtf8 { line, column }
        })?;
        let (bom, text) = match text.strip_prefix('\u{feff}') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let value: Value = serde_json::from_str(text).map_err(|e| Unreadable::Syntax {
            line: e.line(),
            column: e.column(),
            message: message_of(&e),
        })?;
        let Value::Object(root) = value else {
            return Err(Unreadable::NotAnObject);
        };
        crate::unique_keys::check(text).map_err(|d| Unreadable::DuplicateKey {
            key: d.key.dotted(),
            line: d.line,
            column: d.column,
        })?;
        Ok(Document {
            root,
            indent: indent_of(text),
            final_newline: text.ends_with('\n'),
            bom,
            crlf: text.find('\n').is_some_and(|i| text[..i].ends_with('\r')),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.root.is_empty()
    }

    pub fn get(&self, part: &Part) -> Found<'_> {
        match part {
            Part::Key(pointer) => lookup(&self.root, pointer.tokens()),
            Part::Element { array, id } => match lookup(&self.root, array.tokens()) {
                Found::Value(Value::Array(items)) => items
                    .iter()
                    .find(|e| element_id(array, e) == *id)
                    .map_or(Found::Absent, Found::Value),
                Found::Value(_) | Found::Blocked => Found::Blocked,
                Found::Absent => Found::Absent,
            },
        }
    }

    /// How many containers on the way to `part` (its parent objects, and for an
    /// element its array) are absent.
    pub fn missing(&self, part: &Part) -> u8 {
        let containers = part.containers();
        let present = (1..=containers.len())
            .take_while(|n| matches!(lookup(&self.root, &containers[..*n]), Found::Value(_)))
            .count();
        u8::try_from(containers.len() - present).unwrap_or(u8::MAX)
    }

    /// Puts `value` at `part`, creating the objects (and the array) on the way;
    /// returns how many it created. A key keeps its place; a new one goes last, and
    /// so does a new element.
    pub fn set(&mut self, part: &Part, value: Value) -> Result<u8, Blocked> {
        self.set_at(part, value, None)
    }

    /// Where `part` is among its siblings (a key in its object, an element in its
    /// array), to put it back there.
    pub fn index_of(&self, part: &Part) -> Option<usize> {
        match part {
            Part::Key(p) => {
                let (last, parents) = p.tokens().split_last()?;
                let parent = match parents {
                    [] => &self.root,
                    _ => match lookup(&self.root, parents) {
                        Found::Value(Value::Object(map)) => map,
                        _ => return None,
                    },
                };
                parent.keys().position(|k| k == last)
            }
            Part::Element { array, id } => match lookup(&self.root, array.tokens()) {
                Found::Value(Value::Array(items)) => {
                    items.iter().position(|e| element_id(array, e) == *id)
                }
                _ => None,
            },
        }
    }

    /// [`Document::set`], a new key or element going to index `at` among its
    /// siblings (where it was before it was removed) rather than last.
    pub fn set_at(&mut self, part: &Part, value: Value, at: Option<usize>) -> Result<u8, Blocked> {
        let (tokens, element) = match part {
            Part::Key(p) => (p.tokens(), None),
            Part::Element { array, id } => (array.tokens(), Some((array, id))),
        };
        let Some((last, parents)) = tokens.split_last() else {
            return Err(Blocked);
        };
        let mut created = 0;
        let mut map = &mut self.root;
        for token in parents {
            let slot = map.entry(token.clone()).or_insert_with(|| {
                created += 1;
                Value::Object(Map::new())
            });
            map = slot.as_object_mut().ok_or(Blocked)?;
        }
        match element {
            None if map.contains_key(last) => {
                map.insert(last.clone(), value);
            }
            None => match at {
                Some(i) => {
                    map.shift_insert(i.min(map.len()), last.clone(), value);
                }
                None => {
                    map.insert(last.clone(), value);
                }
            },
            Some((array, id)) => {
                let slot = map.entry(last.clone()).or_insert_with(|| {
                    created += 1;
                    Value::Array(Vec::new())
                });
                let items = slot.as_array_mut().ok_or(Blocked)?;
                match items.iter_mut().find(|e| element_id(array, e) == *id) {
                    Some(existing) => *existing = value,
                    None => match at {
                        Some(i) => items.insert(i.min(items.len()), value),
                        None => items.push(value),
                    },
                }
            }
        }
        Ok(created)
    }

    /// Removes `part`, then each of the `created` containers above it that this
    /// leaves empty (the ones mpm made for it), innermost first.
    pub fn remove(&mut self, part: &Part, created: u8) {
        let tokens = part.pointer().tokens();
        match part {
            Part::Key(_) => {
                if let Some(map) = parent_mut(&mut self.root, tokens) {
                    map.shift_remove(tokens.last().map(String::as_str).unwrap_or(""));
                }
            }
            Part::Element { array, id } => {
                if let Some(Value::Array(items)) = value_mut(&mut self.root, tokens)
                    && let Some(i) = items.iter().position(|e| element_id(array, e) == *id)
                {
                    items.remove(i);
                }
            }
        }
        let depth = part.containers().len();
        for level in 0..usize::from(created).min(depth) {
            let container = &tokens[..depth - level];
            let empty = match value_mut(&mut self.root, container) {
                Some(Value::Object(m)) => m.is_empty(),
                Some(Value::Array(a)) => a.is_empty(),
                _ => false,
            };
            if !empty {
                break;
            }
            if let Some(map) = parent_mut(&mut self.root, container) {
                map.shift_remove(container.last().map(String::as_str).unwrap_or(""));
            }
        }
    }

    /// The file's bytes: its own indentation, line ending, final newline and byte
    /// order mark kept.
    pub fn render(&self) -> Vec<u8> {
        use serde::Serialize;
        let mut out = Vec::new();
        if self.bom {
            out.extend_from_slice("\u{feff}".as_bytes());
        }
        let root = Value::Object(self.root.clone());
        match &self.indent {
            Indent::Compact => {
                let _ = serde_json::to_writer(&mut out, &root);
            }
            Indent::Pretty(indent) => {
                let formatter = serde_json::ser::PrettyFormatter::with_indent(indent.as_bytes());
                let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
                let _ = root.serialize(&mut ser);
            }
        }
        if self.final_newline {
            out.push(b'\n');
        }
        if self.crlf {
            // serde_json writes a newline in a string as `\n`: every byte 0x0A here
            // ends a line
            out = out
                .split(|b| *b == b'\n')
                .collect::<Vec<_>>()
                .join(&b"\r\n"[..]);
        }
        out
    }
}

/// A part cannot be put where a key on its way holds something else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Blocked;

fn lookup<'a>(root: &'a Map<String, Value>, tokens: &[String]) -> Found<'a> {
    let Some((first, rest)) = tokens.split_first() else {
        return Found::Blocked;
    };
    let mut value = match root.get(first) {
        Some(v) => v,
        None => return Found::Absent,
    };
    for token in rest {
        value = match value {
            Value::Object(map) => match map.get(token) {
                Some(v) => v,
                None => return Found::Absent,
            },
            _ => return Found::Blocked,
        };
    }
    Found::Value(value)
}

fn value_mut<'a>(root: &'a mut Map<String, Value>, tokens: &[String]) -> Option<&'a mut Value> {
    let (first, rest) = tokens.split_first()?;
    let mut value = root.get_mut(first)?;
    for token in rest {
        value = value.as_object_mut()?.get_mut(token)?;
    }
    Some(value)
}

fn parent_mut<'a>(
    root: &'a mut Map<String, Value>,
    tokens: &[String],
) -> Option<&'a mut Map<String, Value>> {
    match tokens.split_last()? {
        (_, []) => Some(root),
        (_, parents) => value_mut(root, parents)?.as_object_mut(),
    }
}

/// The indentation of the first indented line, or compact for a one-line file.
fn indent_of(text: &str) -> Indent {
    text.lines()
        .skip(1)
        .find(|l| !l.trim().is_empty())
        .map(|l| {
            let indent: String = l.chars().take_while(|c| *c == ' ' || *c == '\t').collect();
            if indent.is_empty() {
                Indent::Pretty("  ".into())
            } else {
                Indent::Pretty(indent)
            }
        })
        .unwrap_or(if text.trim().contains('\n') || is_empty_object(text) {
            // an empty object says nothing of a style: the client's
            Indent::Pretty("  ".into())
        } else {
            Indent::Compact
        })
}

/// `{}`, with any blanks: what mpm leaves when it took out the last key it wrote.
fn is_empty_object(text: &str) -> bool {
    let inner: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    inner == "{}"
}

/// The 1-based line and column (in characters) just after `text`, which is UTF-8.
fn position_after(text: &[u8]) -> (usize, usize) {
    let text = String::from_utf8_lossy(text);
    let line = text.matches('\n').count() + 1;
    let column = text.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, column)
}

/// serde_json's message without its ` at line L column C` tail.
fn message_of(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// The pointer of an environment variable.
pub fn env_pointer(name: &str) -> Pointer {
    Pointer::new(["env", name])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(tokens: &[&str]) -> Part {
        Part::Key(Pointer::new(tokens.iter().copied()))
    }

    #[test]
    fn a_new_key_goes_last_and_every_other_key_keeps_its_place_and_bytes() {
        let text =
            "{\n    \"z\": 1,\n    \"env\": {\n        \"A\": \"1\"\n    },\n    \"a\": [1, 2]\n}";
        let mut doc = Document::parse(text.as_bytes()).unwrap();
        assert_eq!(doc.set(&key(&["env", "B"]), json!("2")), Ok(0));
        assert_eq!(
            String::from_utf8(doc.render()).unwrap(),
            "{\n    \"z\": 1,\n    \"env\": {\n        \"A\": \"1\",\n        \"B\": \"2\"\n    },\n    \"a\": [\n        1,\n        2\n    ]\n}"
        );
    }

    #[test]
    fn removing_a_key_takes_only_the_containers_mpm_made_for_it() {
        let mut doc = Document::parse(b"{\"model\": \"opus\"}\n").unwrap();
        let part = key(&["env", "A"]);
        assert_eq!(doc.set(&part, json!("1")), Ok(1));
        doc.remove(&part, 1);
        assert_eq!(doc.render(), b"{\"model\":\"opus\"}\n");
        // an `env` the user wrote stays, empty
        let mut doc = Document::parse(b"{\"env\": {}}").unwrap();
        assert_eq!(doc.set(&part, json!("1")), Ok(0));
        doc.remove(&part, 0);
        assert_eq!(doc.render(), b"{\"env\":{}}");
    }

    #[test]
    fn an_element_is_added_last_found_by_identity_and_removed_alone() {
        let allow = Pointer::new(["permissions", "allow"]);
        let rule = |r: &str| Part::Element {
            array: allow.clone(),
            id: element_id(&allow, &json!(r)),
        };
        let mut doc =
            Document::parse(br#"{"permissions": {"allow": ["Read", "Bash(ls)"]}}"#).unwrap();
        assert_eq!(doc.get(&rule("Bash(ls)")), Found::Value(&json!("Bash(ls)")));
        assert_eq!(doc.get(&rule("Grep")), Found::Absent);
        doc.set(&rule("Grep"), json!("Grep")).unwrap();
        doc.remove(&rule("Read"), 0);
        assert_eq!(
            doc.render(),
            br#"{"permissions":{"allow":["Bash(ls)","Grep"]}}"#
        );
    }

    #[test]
    fn a_key_under_a_value_that_is_not_an_object_is_blocked() {
        let mut doc = Document::parse(br#"{"env": "oops"}"#).unwrap();
        assert_eq!(doc.get(&key(&["env", "A"])), Found::Blocked);
        assert_eq!(doc.set(&key(&["env", "A"]), json!("1")), Err(Blocked));
        assert_eq!(
            Document::parse(b"[1]").unwrap_err(),
            Unreadable::NotAnObject
        );
        assert!(matches!(
            Document::parse(b"{\n  \"a\": 1,\n}").unwrap_err(),
            Unreadable::Syntax {
                line: 3,
                column: 1,
                ..
            }
        ));
    }

    #[test]
    fn a_key_or_element_put_back_goes_where_it_was() {
        let text = br#"{"a":1,"model":"opus","permissions":{"allow":["X","Y"]},"z":2}"#;
        let mut doc = Document::parse(text).unwrap();
        let model = key(&["model"]);
        let allow = Pointer::new(["permissions", "allow"]);
        let x = Part::Element {
            array: allow.clone(),
            id: element_id(&allow, &json!("X")),
        };
        let (at_model, at_x) = (doc.index_of(&model), doc.index_of(&x));
        assert_eq!((at_model, at_x), (Some(1), Some(0)));
        doc.remove(&model, 0);
        doc.remove(&x, 0);
        doc.set_at(&x, json!("X"), at_x).unwrap();
        doc.set_at(&model, json!("opus"), at_model).unwrap();
        assert_eq!(doc.render(), text);
    }

    #[test]
    fn a_number_keeps_its_text_however_big_or_written() {
        // serde_json without `arbitrary_precision` wrote the first two as
        // `1.2345678901234568e+29` and `-9.223372036854776e+18`, and refused 1e+400
        let text = r#"{"big":123456789012345678901234567890,"neg":-9223372036854775809,"one":1.0,"exp":1e+400,"tiny":0.10,"zero":-0}"#;
        let mut doc = Document::parse(text.as_bytes()).unwrap();
        doc.set(&key(&["model"]), json!("opus")).unwrap();
        assert_eq!(
            String::from_utf8(doc.render()).unwrap(),
            text.replace('}', r#","model":"opus"}"#)
        );
        // an exponent is written as the client writes it: `e`, and its sign
        let doc = Document::parse(br#"{"a":1E5,"b":2e-3}"#).unwrap();
        assert_eq!(doc.render(), br#"{"a":1e+5,"b":2e-3}"#);
    }

    #[test]
    fn a_file_that_is_not_utf8_is_unreadable_where_it_stops_being_text() {
        assert_eq!(
            Document::parse(b"{\n  \"a\": \"caf\xe9\"\n}\n").unwrap_err(),
            Unreadable::NotUtf8 {
                line: 2,
                column: 12
            }
        );
        // one that is UTF-8 in a string escape is text
        assert!(Document::parse(br#"{"a": "caf\u00e9"}"#).is_ok());
    }

    #[test]
    fn a_byte_order_mark_is_written_back() {
        let mut doc = Document::parse("\u{feff}{\"a\": 1}\n".as_bytes()).unwrap();
        doc.set(&key(&["b"]), json!(2)).unwrap();
        assert_eq!(doc.render(), "\u{feff}{\"a\":1,\"b\":2}\n".as_bytes());
        assert!(
            !Document::parse(b"{}")
                .unwrap()
                .render()
                .starts_with(b"\xef")
        );
    }

    #[test]
    fn crlf_line_ends_are_kept_and_a_newline_in_a_string_stays_escaped() {
        let mut doc = Document::parse(b"{\r\n  \"a\": \"x\\ny\"\r\n}\r\n").unwrap();
        doc.set(&key(&["b"]), json!(true)).unwrap();
        assert_eq!(
            doc.render(),
            b"{\r\n  \"a\": \"x\\ny\",\r\n  \"b\": true\r\n}\r\n"
        );
        // a file whose first line ends in `\n` is written with `\n`
        let doc = Document::parse(b"{\n  \"a\": 1\r\n}").unwrap();
        assert_eq!(doc.render(), b"{\n  \"a\": 1\n}");
    }

    #[test]
    fn a_key_given_twice_makes_the_file_unreadable_naming_it() {
        assert_eq!(
            Document::parse(b"{\"env\": {\"A\": \"1\", \"A\": \"2\"}}").unwrap_err(),
            Unreadable::DuplicateKey {
                key: "env.A".into(),
                line: 1,
                column: 20
            }
        );
        assert_eq!(
            Unreadable::DuplicateKey {
                key: "env.A".into(),
                line: 1,
                column: 20
            }
            .to_string(),
            "`env.A` is given twice (line 1, column 20)"
        );
    }

    #[test]
    fn tabs_and_a_missing_final_newline_are_kept() {
        let mut doc = Document::parse(b"{\n\t\"a\": 1\n}").unwrap();
        doc.set(&key(&["b"]), json!(true)).unwrap();
        assert_eq!(doc.render(), b"{\n\t\"a\": 1,\n\t\"b\": true\n}");
    }
}
