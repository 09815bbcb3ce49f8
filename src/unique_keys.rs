//! Keys given twice in one JSON object. JSON allows it and every reader keeps one of
//! the two values (serde_json and `JSON.parse` the last), so a file that has one
//! cannot be read and written back without losing the other: mpm never edits it.

use crate::part::Pointer;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;

/// The first key given twice, and where its second one is: the line and column
/// (1-based, in characters) of its opening quote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    /// The object's path and the key (an array's element by its index).
    pub key: Pointer,
    pub line: usize,
    pub column: usize,
}

/// The first key `text` gives twice in one object. A syntax error ends the search
/// quietly: it is the parser's to report.
pub fn check(text: &str) -> Result<(), Duplicate> {
    let found = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_str(text);
    let walked = Unique {
        at: Vec::new(),
        found: &found,
    }
    .deserialize(&mut de);
    match (walked, found.into_inner()) {
        (Err(e), Some(tokens)) => {
            let (line, column) = key_start(text, e.line(), e.column());
            Err(Duplicate {
                key: Pointer::new(tokens),
                line,
                column,
            })
        }
        _ => Ok(()),
    }
}

/// Where the key begins whose closing quote serde_json stopped at (`line`, and
/// `column` in bytes): back from it to the quote no backslash escapes.
fn key_start(text: &str, line: usize, column: usize) -> (usize, usize) {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let bytes = text.as_bytes();
    let mut at = (line_start + column).saturating_sub(1).min(bytes.len());
    while at > 0 {
        at -= 1;
        let escapes = bytes[..at]
            .iter()
            .rev()
            .take_while(|b| **b == b'\\')
            .count();
        if bytes[at] == b'"' && escapes % 2 == 0 {
            break;
        }
    }
    let before = text.get(..at).unwrap_or_default();
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, column)
}

/// Walks one value at path `at`; the first duplicate's path goes to `found`, and
/// stops the walk with an error that carries its position.
struct Unique<'a> {
    at: Vec<String>,
    found: &'a RefCell<Option<Vec<String>>>,
}

impl Unique<'_> {
    fn below(&self, token: String) -> Self {
        let mut at = self.at.clone();
        at.push(token);
        Unique {
            at,
            found: self.found,
        }
    }
}

impl<'de> DeserializeSeed<'de> for Unique<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Unique<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0usize;
        while seq.next_element_seed(self.below(i.to_string()))?.is_some() {
            i += 1;
        }
        Ok(())
    }

    // a number serde_json keeps as text (`arbitrary_precision`) comes here too, as a
    // map of one private key: it has no duplicate
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                let mut at = self.at.clone();
                at.push(key);
                *self.found.borrow_mut() = Some(at);
                return Err(de::Error::custom("a key given twice"));
            }
            map.next_value_seed(self.below(key))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_second_of_two_keys_is_found_at_any_depth() {
        assert_eq!(
            check("{\n  \"env\": {\n    \"A\": \"1\",\n    \"A\": \"2\"\n  }\n}"),
            Err(Duplicate {
                key: Pointer::new(["env", "A"]),
                line: 4,
                column: 5,
            })
        );
        // counted in characters, past a quote a backslash escapes
        assert_eq!(
            check(r#"{"é": 1, "x\"y": 1, "x\"y": 2}"#).map_err(|d| (
                d.key.dotted(),
                d.line,
                d.column
            )),
            Err((r#""x\"y""#.to_string(), 1, 21))
        );
        assert_eq!(
            check(r#"{"hooks": [{"x": 1}, {"y": 1, "y": 2}]}"#)
                .unwrap_err()
                .key
                .dotted(),
            "hooks.1.y"
        );
        // a key written with an escape is the same key
        assert!(check(r#"{"a": 1, "\u0061": 2}"#).is_err());
    }

    #[test]
    fn the_same_key_in_two_objects_and_text_that_is_not_json_pass() {
        assert_eq!(
            check(r#"{"a": {"k": 1}, "b": {"k": 1e400}, "k": [1, 1]}"#),
            Ok(())
        );
        assert_eq!(check(r#"{"a": 1,}"#), Ok(()));
        assert_eq!(check("[1, 2, 1]"), Ok(()));
    }
}
