//! A variable's value as written in the manifest, against the text mpm writes for it.
//!
//! YAML reads `1.10` as the number 1.1 and `1e3` as 1000, and mpm writes a number's
//! text (`"1.1"`, `"1000.0"`): the text as written is gone before mpm sees it. serde
//! hands a visitor either a scalar's type or (`deserialize_str`) its text, never
//! both, so the document is read again for the text of each value whose type made
//! its text: a value written otherwise is refused at its `line:column`, with the
//! quoted text as the fix. Integers and booleans written the usual way (`600000`,
//! `true`) come out as written and pass.

use super::{Environment, VariableValue};
use crate::checked::Invalid;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use std::collections::BTreeMap;
use std::fmt;

/// Refuses the first variable of `env` (read from `source`) whose text as written
/// is not the text mpm would write for it.
pub fn check(source: &str, env: &Environment) -> Result<(), serde_yaml::Error> {
    // a text of any other kind is a string's own, which the reader leaves as it is
    let typed: BTreeMap<&str, &str> = env
        .variables
        .iter()
        .filter_map(|(name, v)| match &v.value {
            VariableValue::Literal(text) if looks_typed(text) => {
                Some((name.as_str(), text.as_str()))
            }
            _ => None,
        })
        .collect();
    if typed.is_empty() {
        return Ok(());
    }
    let mut maps = Vec::new();
    Walk::Shapes(&typed, &mut maps).deserialize(serde_yaml::Deserializer::from_str(source))?;
    Walk::Texts(&typed, &maps).deserialize(serde_yaml::Deserializer::from_str(source))
}

/// Whether mpm could have made `text` of a number or a boolean.
fn looks_typed(text: &str) -> bool {
    text == "true" || text == "false" || text.parse::<f64>().is_ok()
}

/// One read of the document down to `environment:`, for the variables named in
/// the map (name → the text mpm made).
enum Walk<'a> {
    /// Notes which of them are written as a map (`{ value: ... }`).
    Shapes(&'a BTreeMap<&'a str, &'a str>, &'a mut Vec<String>),
    /// Reads the text of each, knowing which are maps.
    Texts(&'a BTreeMap<&'a str, &'a str>, &'a [String]),
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(Document(self))
    }
}

struct Document<'a>(Walk<'a>);

impl<'de> Visitor<'de> for Document<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a manifest")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut walk = Some(self.0);
        while let Some(key) = map.next_key::<String>()? {
            match walk.take() {
                Some(w) if key == "environment" => map.next_value_seed(Section(w))?,
                other => {
                    walk = other;
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

struct Section<'a>(Walk<'a>);

impl<'de> DeserializeSeed<'de> for Section<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Section<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map of variable names to values")
    }
    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        while let Some(name) = map.next_key::<String>()? {
            match &mut self.0 {
                Walk::Shapes(typed, maps) if typed.contains_key(name.as_str()) => {
                    if map.next_value::<Shape>()?.0 {
                        maps.push(name);
                    }
                }
                Walk::Texts(typed, maps) => match typed.get(name.as_str()) {
                    Some(made) => map.next_value_seed(Written {
                        name: &name,
                        made,
                        in_map: maps.contains(&name),
                    })?,
                    None => drop(map.next_value::<IgnoredAny>()?),
                },
                Walk::Shapes(..) => drop(map.next_value::<IgnoredAny>()?),
            }
        }
        Ok(())
    }
}

/// Whether a value is a map.
struct Shape(bool);

impl<'de> de::Deserialize<'de> for Shape {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Shape, D::Error> {
        IsMap.deserialize(d).map(Shape)
    }
}

struct IsMap;

impl<'de> DeserializeSeed<'de> for IsMap {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for IsMap {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(true)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }
}

/// The value of the variable `name`, for which mpm made the text `made`: the text
/// itself, or the `value` of its map.
struct Written<'a> {
    name: &'a str,
    made: &'a str,
    in_map: bool,
}

impl<'de> DeserializeSeed<'de> for Written<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        if self.in_map {
            d.deserialize_map(self)
        } else {
            // a scalar's text, whatever type it resolves to
            d.deserialize_str(self)
        }
    }
}

impl<'de> Visitor<'de> for Written<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == "value" {
                map.next_value_seed(Written {
                    in_map: false,
                    ..self
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
    fn visit_str<E: de::Error>(self, written: &str) -> Result<(), E> {
        match refusal(self.name, written, self.made) {
            Some(refused) => Err(E::custom(refused.to_serde())),
            None => Ok(()),
        }
    }
}

/// What is wrong with the variable `name` written as `written` when mpm would
/// write `made`.
fn refusal(name: &str, written: &str, made: &str) -> Option<Invalid> {
    if written == made {
        return None;
    }
    let kind = if made == "true" || made == "false" {
        "a boolean"
    } else {
        "a number"
    };
    Some(Invalid::new(
        format!(
            "`environment.{name}` is written `{written}`, which YAML reads as {kind} that mpm would write as `\"{made}\"`"
        ),
        format!("quote it to keep the text as written: `\"{written}\"`"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(yaml: &str) -> Option<(String, usize, usize)> {
        let env: Environment = serde_yaml::from_str::<crate::manifest::Manifest>(yaml)
            .unwrap()
            .environment;
        check(yaml, &env).err().map(|e| {
            let at = e.location().unwrap();
            let text = e.to_string();
            let detail = text.split_once(": ").unwrap().1;
            let message = Invalid::from_serde(detail).message;
            (message, at.line(), at.column())
        })
    }

    #[test]
    fn a_number_whose_text_would_change_is_refused_where_it_is() {
        let doc = |env: &str| format!("version: 1\nagents: {{}}\nenvironment:\n  A: 600000\n{env}");
        assert_eq!(
            refused(&doc("  B: 1.10\n")),
            Some((
                "`environment.B` is written `1.10`, which YAML reads as a number that mpm would write as `\"1.1\"`".into(),
                5,
                6
            ))
        );
        assert_eq!(
            refused(&doc("  B: { scope: local, value: 1e3 }\n")).map(|(_, l, c)| (l, c)),
            Some((5, 29))
        );
        assert_eq!(
            refused(&doc("  B: .nan\n")).map(|(m, ..)| m.contains("`\"NaN\"`")),
            Some(true)
        );
        assert_eq!(
            refused(&doc("  B: True\n")).map(|(m, ..)| m.contains("a boolean")),
            Some(true)
        );
        assert_eq!(
            refused(&doc("  B: 0x1F\n")).map(|(_, l, c)| (l, c)),
            Some((5, 6))
        );
    }

    #[test]
    fn what_comes_out_as_written_passes() {
        let doc = "version: 1\nenvironment:\n  A: 600000\n  B: true\n  C: -3\n  D: 1.5\n  E: \"1.10\"\n  F: { value: '1e3' }\n  G: 1.10 is text\n";
        assert_eq!(refused(doc), None);
        assert_eq!(
            refusal("A", "1.10", "1.1").map(|r| r.hint),
            Some(Some(
                "quote it to keep the text as written: `\"1.10\"`".into()
            ))
        );
    }
}
