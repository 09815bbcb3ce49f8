//! Finding where a value is in YAML text.
//!
//! serde_yaml attaches the position of the event being read to any error raised while
//! reading it, so re-reading the document with a visitor that fails on purpose when it
//! reaches the wanted key path yields that path's `line:column`, for block and flow
//! style alike. Only used on the error path.

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;

const MARK: &str = "mpm-locate";

/// The 1-based `(line, column)` of the value at `path`, or of the nearest parent
/// that exists.
pub fn locate(source: &str, path: &[&str]) -> Option<(usize, usize)> {
    (0..=path.len())
        .rev()
        .find_map(|n| locate_exact(source, &path[..n]))
}

/// The 1-based `(line, column)` of the value at `path`, if it is there.
pub fn locate_exact(source: &str, path: &[&str]) -> Option<(usize, usize)> {
    let de = serde_yaml::Deserializer::from_str(source);
    match (Seek { path }).deserialize(de) {
        Err(e) if e.to_string().contains(MARK) => e.location().map(|l| (l.line(), l.column())),
        _ => None,
    }
}

struct Seek<'a> {
    path: &'a [&'a str],
}

impl<'de> DeserializeSeed<'de> for Seek<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seek<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Some((first, rest)) = self.path.split_first() else {
            return Err(de::Error::custom(MARK));
        };
        while let Some(key) = map.next_key::<String>()? {
            if key == *first {
                return map.next_value_seed(Seek { path: rest });
            }
            map.next_value::<IgnoredAny>()?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Some((first, rest)) = self.path.split_first() else {
            return Err(de::Error::custom(MARK));
        };
        let index: usize = first
            .parse()
            .map_err(|_| de::Error::custom("not an index"))?;
        for _ in 0..index {
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return Ok(());
            }
        }
        seq.next_element_seed(Seek { path: rest }).map(drop)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Err(E::custom(MARK))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Err(E::custom(MARK))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Err(E::custom(MARK))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Err(E::custom(MARK))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Err(E::custom(MARK))
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Err(E::custom(MARK))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_values_in_block_and_flow_style() {
        let doc = "version: 1\nagents:\n  qa:\n    template: x\n    tools: [a, b]\n  eng: {template: y, model: z}\n";
        assert_eq!(locate(doc, &["agents", "qa", "template"]), Some((4, 15)));
        assert_eq!(locate(doc, &["agents", "eng", "model"]), Some((6, 29)));
        assert_eq!(locate(doc, &["agents", "qa", "tools", "1"]), Some((5, 16)));
        assert_eq!(locate(doc, &["version"]), Some((1, 10)));
        // a missing key falls back to its parent
        assert_eq!(locate(doc, &["agents", "qa", "nope"]), Some((4, 5)));
    }
}
