//! mpm's settings in a YAML file: the user file (`~/.config/mpm/config.yaml`, the
//! keys at the top) and `mpm:` in `mpm.yaml` ([`Section`]). Keys and values are
//! checked while serde_yaml reads them, so that its error carries the key's or the
//! value's `line:column`; an unknown key gets a "did you mean".

use super::kind::Raw;
use super::settings::{InManifest, Spec, TABLE};
use super::{ConfigError, FileKind};
use crate::checked::Invalid;
use schemars::JsonSchema;
use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::borrow::Cow;
use std::fmt;

/// The values a file sets, by setting key, in the order written.
pub type Values = Vec<(&'static str, Raw)>;

/// `mpm:` in `mpm.yaml`: mpm's own settings for this project.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Section(pub Values);

impl Section {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Reads the user file's text; `file` names it in errors.
pub fn parse_user_file(source: &str, file: &str) -> Result<Values, ConfigError> {
    let mut values = Vec::new();
    let seed = MapSeed {
        kind: FileKind::User,
        prefix: String::new(),
        out: &mut values,
    };
    seed.deserialize(serde_yaml::Deserializer::from_str(source))
        .map_err(|e| ConfigError::from(crate::manifest::load::from_yaml_error(&e, source, file)))?;
    Ok(values)
}

impl<'de> Deserialize<'de> for Section {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut values = Vec::new();
        MapSeed {
            kind: FileKind::Manifest,
            prefix: String::new(),
            out: &mut values,
        }
        .deserialize(d)?;
        Ok(Section(values))
    }
}

impl Serialize for Section {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // nested again by the dots of the keys: `cache.enabled` is `cache: {enabled}`
        let mut tree = serde_json::Map::new();
        for (key, raw) in &self.0 {
            let value = match raw {
                Raw::Text(t) => serde_json::Value::String(t.clone()),
                Raw::Path(p) => serde_json::json!({ "path": p }),
                Raw::Arg(a) => serde_json::Value::String(a.to_string_lossy().into_owned()),
            };
            let parts: Vec<&str> = key.split('.').collect();
            insert(&mut tree, &parts, value);
        }
        tree.serialize(s)
    }
}

/// Puts `value` at `path` in `map`, making the maps on the way.
fn insert(
    map: &mut serde_json::Map<String, serde_json::Value>,
    path: &[&str],
    value: serde_json::Value,
) {
    match path {
        [] => {}
        [last] => {
            map.insert((*last).to_string(), value);
        }
        [first, rest @ ..] => {
            let entry = map
                .entry(*first)
                .or_insert_with(|| serde_json::Value::Object(Default::default()));
            if let serde_json::Value::Object(inner) = entry {
                insert(inner, rest, value);
            }
        }
    }
}

impl JsonSchema for Section {
    fn schema_name() -> Cow<'static, str> {
        "MpmSettings".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let specs: Vec<&Spec> = TABLE
            .iter()
            .filter(|s| s.files.manifest == InManifest::Section)
            .collect();
        let mut schema = object_schema(&specs, "");
        if let serde_json::Value::Object(map) = &mut schema {
            map.insert(
                "description".into(),
                "mpm's own settings for this project; variables (`MPM_*`) and flags override them"
                    .into(),
            );
        }
        match schema {
            serde_json::Value::Object(map) => schemars::Schema::from(map),
            _ => schemars::Schema::default(),
        }
    }
}

/// The schema of the keys under `prefix` (`""`, `cache`): an object that allows
/// nothing else.
fn object_schema(specs: &[&Spec], prefix: &str) -> serde_json::Value {
    let mut properties = serde_json::Map::new();
    for spec in specs {
        let Some(rest) = relative(spec.key, prefix) else {
            continue;
        };
        match rest.split_once('.') {
            None => {
                let mut schema = (spec.schema)();
                if let serde_json::Value::Object(map) = &mut schema {
                    map.insert("description".into(), spec.doc.into());
                }
                properties.insert(rest.to_string(), schema);
            }
            Some((section, _)) if !properties.contains_key(section) => {
                properties.insert(
                    section.to_string(),
                    object_schema(specs, &join(prefix, section)),
                );
            }
            Some(_) => {}
        }
    }
    serde_json::json!({
        "type": "object",
        "properties": properties,
        "additionalProperties": false
    })
}

/// `key` without `prefix.` (all of it for the empty prefix).
fn relative<'k>(key: &'k str, prefix: &str) -> Option<&'k str> {
    if prefix.is_empty() {
        Some(key)
    } else {
        key.strip_prefix(prefix)?.strip_prefix('.')
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Whether a file of `kind` may set `spec`.
fn allowed(spec: &Spec, kind: FileKind) -> bool {
    match kind {
        FileKind::User => spec.files.user,
        // `target` and `budget:` are read at the top of mpm.yaml, by the manifest
        // itself ([`top_level_setting`])
        FileKind::Manifest => spec.files.manifest == InManifest::Section,
    }
}

/// Reads the value of `key` in the top-level section `section` of `mpm.yaml`
/// (`budget:`) into `out` when a setting has that key, checked while serde_yaml
/// points at it; `Ok(false)` when none has (the section's own key, or unknown).
pub fn top_level_setting<'de, A: MapAccess<'de>>(
    section: &str,
    key: &str,
    map: &mut A,
    out: &mut Values,
) -> Result<bool, A::Error> {
    let full = join(section, key);
    let Some(spec) = Spec::find(&full).filter(|s| s.files.manifest == InManifest::TopLevel) else {
        return Ok(false);
    };
    if out.iter().any(|(k, _)| *k == spec.key) {
        return Err(de::Error::custom(format!("`{}` is set twice", spec.key)));
    }
    let raw = map.next_value_seed(ValueSeed(spec))?;
    out.push((spec.key, raw));
    Ok(true)
}

/// The keys of `section` (`budget`) that are settings, without the section.
pub fn top_level_keys(section: &str) -> Vec<&'static str> {
    TABLE
        .iter()
        .filter(|s| s.files.manifest == InManifest::TopLevel)
        .filter_map(|s| relative(s.key, section))
        .collect()
}

/// The JSON Schema of the settings of `section` (`budget`), as properties.
pub fn top_level_schema(section: &str) -> serde_json::Map<String, serde_json::Value> {
    let specs: Vec<&Spec> = TABLE
        .iter()
        .filter(|s| s.files.manifest == InManifest::TopLevel && relative(s.key, section).is_some())
        .collect();
    match object_schema(&specs, section) {
        serde_json::Value::Object(mut map) => match map.remove("properties") {
            Some(serde_json::Value::Object(p)) => p,
            _ => Default::default(),
        },
        _ => Default::default(),
    }
}

/// Why `spec` may not be set in a file of `kind`, with what to do instead.
fn not_here(spec: &Spec, kind: FileKind) -> String {
    let elsewhere = spec
        .env
        .first()
        .map(|v| format!("`{v}`"))
        .into_iter()
        .chain(spec.flag.map(|f| format!("`{f}`")))
        .collect::<Vec<_>>()
        .join(" or ");
    match (kind, spec.files.manifest) {
        (FileKind::Manifest, InManifest::TopLevel) => match spec.key.split_once('.') {
            Some((section, key)) => format!(
                "`{key}` goes in the top-level `{section}:` section of `mpm.yaml`, not in `mpm:`"
            ),
            None => format!(
                "`{}` is a top-level key of `mpm.yaml`, not one of `mpm:`",
                spec.key
            ),
        },
        (FileKind::Manifest, _) => format!(
            "`{}` is decided before `mpm.yaml` is read: set it in the user file (`~/.config/mpm/config.yaml`), or with {elsewhere}",
            spec.key
        ),
        (FileKind::User, InManifest::TopLevel) => match spec.key.split_once('.') {
            Some((section, key)) => format!(
                "`{}` belongs to one project, not to every project: set `{key}` in the `{section}:` section of its `mpm.yaml`, or with {elsewhere}",
                spec.key
            ),
            None => format!(
                "`{}` belongs to one project: set it at the top of its `mpm.yaml`, or with {elsewhere}",
                spec.key
            ),
        },
        (FileKind::User, _) => format!(
            "`{}` belongs to one project, not to every project: set it under `mpm:` in its `mpm.yaml`, or with {elsewhere}",
            spec.key
        ),
    }
}

/// What a key read at `prefix` is.
enum Key {
    Leaf(&'static Spec),
    /// A section (`cache`), with its full key.
    Section(String),
}

/// Reads the key at `prefix`, refusing one no setting has while serde_yaml points
/// at it.
struct KeySeed<'a> {
    kind: FileKind,
    prefix: &'a str,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Key;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Key, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for KeySeed<'_> {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a setting's name")
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Key, E> {
        let full = join(self.prefix, s);
        if let Some(spec) = Spec::find(&full) {
            return if allowed(spec, self.kind) {
                Ok(Key::Leaf(spec))
            } else {
                let refused = Invalid::new(
                    format!("unknown key `{}`", crate::text::escaped(s)),
                    not_here(spec, self.kind),
                );
                Err(E::custom(refused.to_serde()))
            };
        }
        let section = format!("{full}.");
        if TABLE
            .iter()
            .any(|spec| spec.key.starts_with(&section) && allowed(spec, self.kind))
        {
            return Ok(Key::Section(full));
        }
        if self.kind == FileKind::Manifest
            && TABLE.iter().any(|spec| {
                spec.key.starts_with(&section) && spec.files.manifest == InManifest::TopLevel
            })
        {
            let refused = Invalid::new(
                format!("unknown key `{}`", crate::text::escaped(s)),
                format!("`{full}:` is a top-level section of `mpm.yaml`, not part of `mpm:`"),
            );
            return Err(E::custom(refused.to_serde()));
        }
        // the wording of serde's own, which the manifest's errors turn into a hint
        let mut expected: Vec<&str> = TABLE
            .iter()
            .filter(|spec| allowed(spec, self.kind))
            .filter_map(|spec| relative(spec.key, self.prefix))
            .map(|rest| rest.split('.').next().unwrap_or(rest))
            .collect();
        expected.dedup();
        let list = expected
            .iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ");
        Err(E::custom(format!(
            "unknown field `{s}`, expected one of {list}"
        )))
    }
}

/// Reads a map of settings at `prefix` into `out`.
struct MapSeed<'a> {
    kind: FileKind,
    prefix: String,
    out: &'a mut Values,
}

impl<'de> DeserializeSeed<'de> for MapSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for MapSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map of settings")
    }

    /// An empty file, or `mpm:` with nothing under it.
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen: Vec<String> = Vec::new();
        while let Some(key) = map.next_key_seed(KeySeed {
            kind: self.kind,
            prefix: &self.prefix,
        })? {
            match key {
                Key::Leaf(spec) => {
                    if seen.iter().any(|k| k == spec.key) {
                        return Err(de::Error::custom(format!("`{}` is set twice", spec.key)));
                    }
                    seen.push(spec.key.to_string());
                    let raw = map.next_value_seed(ValueSeed(spec))?;
                    self.out.push((spec.key, raw));
                }
                Key::Section(prefix) => map.next_value_seed(MapSeed {
                    kind: self.kind,
                    prefix,
                    out: &mut *self.out,
                })?,
            }
        }
        Ok(())
    }
}

/// Reads one setting's value and checks it while serde_yaml points at it.
struct ValueSeed(&'static Spec);

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = Raw;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Raw, D::Error> {
        d.deserialize_any(self)
    }
}

impl ValueSeed {
    fn checked<E: de::Error>(&self, raw: Raw) -> Result<Raw, E> {
        (self.0.check)(&raw).map_err(|e| E::custom(e.to_serde()))?;
        Ok(raw)
    }
}

impl<'de> Visitor<'de> for ValueSeed {
    type Value = Raw;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.0.expected)
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Raw, E> {
        self.checked(Raw::Text(s.to_string()))
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Raw, E> {
        self.checked(Raw::Text(b.to_string()))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Raw, E> {
        self.checked(Raw::Text(n.to_string()))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Raw, E> {
        self.checked(Raw::Text(n.to_string()))
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Raw, E> {
        self.checked(Raw::Text(n.to_string()))
    }

    /// `{ path: DIR }`, for `target`.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
        let mut path = String::new();
        while let Some(key) = map.next_key::<String>()? {
            if key != "path" {
                return Err(de::Error::unknown_field(&key, &["path"]));
            }
            path = map.next_value::<String>()?;
        }
        self.checked(Raw::Path(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(source: &str) -> String {
        crate::Error::from(parse_user_file(source, "config.yaml").unwrap_err()).render()
    }

    #[test]
    fn the_user_file_sets_its_keys_and_a_section() {
        let values = parse_user_file(
            "# mine\ntarget: user\nlock_timeout: 30s\ncache:\n  enabled: no\n",
            "config.yaml",
        )
        .unwrap();
        assert_eq!(
            values,
            vec![
                ("target", Raw::Text("user".into())),
                ("lock_timeout", Raw::Text("30s".into())),
                ("cache.enabled", Raw::Text("no".into())),
            ]
        );
        assert_eq!(
            parse_user_file("# nothing yet\n", "config.yaml").unwrap(),
            vec![]
        );
    }

    #[test]
    fn an_unknown_key_points_at_itself_with_a_did_you_mean() {
        assert_eq!(
            err("lock_timeout: 1s\nlock_timout: 2s\n"),
            "error: unknown key `lock_timout`\n --> config.yaml:2:1\n  |\n2 | lock_timout: 2s\n  | ^^^^^^^^^^^\nhint: did you mean `lock_timeout`?\n"
        );
        assert!(err("cache:\n  enabld: true\n").contains("unknown key `enabld` in `cache`"));
    }

    #[test]
    fn a_key_of_another_file_says_where_it_goes() {
        let e = err("state_dir: /x\n");
        assert!(
            e.contains("error: unknown key `state_dir`\n --> config.yaml:1:1"),
            "{e}"
        );
        assert!(
            e.contains(
                "set it under `mpm:` in its `mpm.yaml`, or with `MPM_STATE_DIR` or `--state-dir`"
            ),
            "{e}"
        );
    }

    #[test]
    fn a_bad_value_points_at_the_value() {
        assert_eq!(
            err("color: blue\n"),
            "error: unknown colour choice `blue`: expected `auto`, `always` or `never` in `color`\n --> config.yaml:1:8\n  |\n1 | color: blue\n  |        ^^^^\n"
        );
        assert!(err("lock_timeout:\n").contains("`lock_timeout` is empty"));
        assert!(err("target: {path: x, pth: y}\n").contains("unknown key `pth` in `target`"));
        assert!(err("- a\n").contains("invalid type: sequence, expected a map of settings"));
    }
}
