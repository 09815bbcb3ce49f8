//! Values checked while serde reads them, and what a check says when it refuses one.
//!
//! serde_yaml attaches the `line:column` of the value being read to an error raised
//! while the deserializer still points at it, so checks run inside the visitor. serde's
//! custom errors are plain strings: a check's hint, and whether its message is said of
//! the value, travel inside that string behind markers, and [`Invalid::from_serde`]
//! takes them apart again where the error is shown (`manifest::load`).

use serde::Deserializer;
use std::fmt;

/// Starts a message said of the value (`contains ...`).
const PREDICATE: &str = "\u{1f}mpm-of-value\u{1f}";
/// Separates a message from its hint.
const HINT: &str = "\u{1f}mpm-hint\u{1f}";

/// A value refused: what is wrong, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// What is wrong. For a predicate (`of_value`), whoever shows it puts the value's
    /// name in front: `` `agents.qa.description` contains ... ``.
    pub message: String,
    pub hint: Option<String>,
    pub of_value: bool,
}

impl Invalid {
    pub fn new(message: impl Into<String>, hint: impl Into<String>) -> Invalid {
        Invalid {
            message: message.into(),
            hint: Some(hint.into()),
            of_value: false,
        }
    }

    /// A message said of the value, like `contains the control character U+0000`.
    pub fn of_value(message: impl Into<String>, hint: impl Into<String>) -> Invalid {
        Invalid {
            of_value: true,
            ..Invalid::new(message, hint)
        }
    }

    /// The message with `subject` in front when it is said of the value.
    pub fn about(&self, subject: &str) -> String {
        if self.of_value {
            format!("{subject} {}", self.message)
        } else {
            self.message.clone()
        }
    }

    /// The whole of it as one serde error string.
    pub fn to_serde(&self) -> String {
        let mut s = String::new();
        if self.of_value {
            s.push_str(PREDICATE);
        }
        s.push_str(&self.message);
        if let Some(h) = &self.hint {
            s.push_str(HINT);
            s.push_str(h);
        }
        s
    }

    /// Reads back a serde error string, whether or not a check wrote it.
    pub fn from_serde(text: &str) -> Invalid {
        let (of_value, rest) = match text.strip_prefix(PREDICATE) {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (message, hint) = match rest.split_once(HINT) {
            Some((m, h)) => (m, Some(h.to_string())),
            None => (rest, None),
        };
        Invalid {
            message: message.to_string(),
            hint,
            of_value,
        }
    }
}

impl From<String> for Invalid {
    fn from(message: String) -> Invalid {
        Invalid {
            message,
            hint: None,
            of_value: false,
        }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.about("the value"))
    }
}

/// Deserializes a string and checks it while the deserializer still points at it,
/// so that serde_yaml reports the value's own `line:column`.
pub fn deserialize_checked<'de, D: Deserializer<'de>, T, E: Into<Invalid>>(
    d: D,
    parse: fn(&str) -> Result<T, E>,
) -> Result<T, D::Error> {
    d.deserialize_str(Checked(parse))
}

/// The same for an optional value: present, it is checked; `null` is `None`.
pub fn deserialize_checked_option<'de, D: Deserializer<'de>, T, E: Into<Invalid>>(
    d: D,
    parse: fn(&str) -> Result<T, E>,
) -> Result<Option<T>, D::Error> {
    struct Optional<T, E>(fn(&str) -> Result<T, E>);
    impl<'de, T, E: Into<Invalid>> serde::de::Visitor<'de> for Optional<T, E> {
        type Value = Option<T>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a string")
        }
        fn visit_none<Er: serde::de::Error>(self) -> Result<Option<T>, Er> {
            Ok(None)
        }
        fn visit_unit<Er: serde::de::Error>(self) -> Result<Option<T>, Er> {
            Ok(None)
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Option<T>, D2::Error> {
            deserialize_checked(d, self.0).map(Some)
        }
    }
    d.deserialize_option(Optional(parse))
}

struct Checked<T, E>(fn(&str) -> Result<T, E>);

impl<T, E: Into<Invalid>> serde::de::Visitor<'_> for Checked<T, E> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<Er: serde::de::Error>(self, s: &str) -> Result<T, Er> {
        (self.0)(s).map_err(|e| Er::custom(e.into().to_serde()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hint_survives_the_trip_through_serde() {
        let sent = Invalid::of_value("contains `---`", "reword it");
        assert_eq!(Invalid::from_serde(&sent.to_serde()), sent);
        assert_eq!(sent.about("`description`"), "`description` contains `---`");
        let plain = Invalid::from_serde("unknown field `x`");
        assert_eq!(plain, Invalid::from("unknown field `x`".to_string()));
    }
}
