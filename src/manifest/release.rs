//! `release:` in `mpm.yaml`: an agent pack's own version, kept in its version files
//! and tagged in git. `mpm version check|set|bump --pack` and `mpm changelog` read it.

use crate::checked::Invalid;
use crate::version::edit::Locator;
use schemars::JsonSchema;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::borrow::Cow;
use std::fmt;

pub const DEFAULT_TAG: &str = "v{version}";
pub const DEFAULT_CHANGELOG: &str = "CHANGELOG.md";
pub const DEFAULT_AGENT_CHANGELOG: &str = "changelogs/{agent}.md";

/// The section as read.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    expecting = "a map of `files`, `tag`, `changelog` and `agent_changelog`"
)]
pub struct ReleaseSection {
    /// The files that carry the pack's version: `VERSION`, `package.json`,
    /// `pyproject.toml`, `Cargo.toml` by name, any JSON file with `{ path, pointer }`,
    /// any file with `{ path, regex }` (the first group is the version).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<ReleaseFile>,
    /// The name of a release's git tag; `{version}` stands for the version.
    #[serde(default = "default_tag", deserialize_with = "tag_format")]
    #[schemars(regex(pattern = r"\{version\}"))]
    pub tag: String,
    /// The pack's changelog, from the manifest's directory.
    #[serde(default = "default_changelog", deserialize_with = "changelog_path")]
    pub changelog: String,
    /// Each agent's changelog; `{agent}` stands for the agent's name.
    #[serde(
        default = "default_agent_changelog",
        deserialize_with = "agent_changelog"
    )]
    pub agent_changelog: String,
}

impl Default for ReleaseSection {
    fn default() -> Self {
        ReleaseSection {
            files: Vec::new(),
            tag: default_tag(),
            changelog: default_changelog(),
            agent_changelog: default_agent_changelog(),
        }
    }
}

impl ReleaseSection {
    pub fn is_default(&self) -> bool {
        *self == ReleaseSection::default()
    }

    /// The tag of `version`.
    pub fn tag_of(&self, version: &semver::Version) -> String {
        self.tag.replacen("{version}", &version.to_string(), 1)
    }

    /// The version a tag names, when it has the tag format's shape.
    pub fn version_of_tag(&self, tag: &str) -> Option<semver::Version> {
        let (before, after) = self.tag.split_once("{version}")?;
        let middle = tag.strip_prefix(before)?.strip_suffix(after)?;
        semver::Version::parse(middle).ok()
    }
}

fn default_tag() -> String {
    DEFAULT_TAG.into()
}

fn default_changelog() -> String {
    DEFAULT_CHANGELOG.into()
}

fn default_agent_changelog() -> String {
    DEFAULT_AGENT_CHANGELOG.into()
}

fn tag_format<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    crate::checked::deserialize_checked(d, |s| {
        if s.matches("{version}").count() != 1 {
            return Err(Invalid::of_value(
                "must contain `{version}` once",
                "write it like `v{version}` or `pack-{version}`",
            ));
        }
        let probe = s.replacen("{version}", "1.0.0", 1);
        if gix::refs::FullName::try_from(format!("refs/tags/{probe}")).is_err() {
            return Err(Invalid::of_value(
                "is not a name git allows for a tag",
                "use letters, digits, `.`, `-`, `_` and `/` around `{version}`",
            ));
        }
        Ok(s.to_string())
    })
}

fn changelog_path<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    crate::checked::deserialize_checked(d, |s| {
        if s.trim().is_empty() || s.ends_with('/') {
            return Err(Invalid::of_value(
                "is not a file name",
                "name the file, like `CHANGELOG.md`",
            ));
        }
        Ok(s.to_string())
    })
}

fn agent_changelog<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    crate::checked::deserialize_checked(d, |s| {
        if !s.contains("{agent}") {
            return Err(Invalid::of_value(
                "must contain `{agent}`",
                "write it like `changelogs/{agent}.md`",
            ));
        }
        Ok(s.to_string())
    })
}

/// One file that carries the pack's version, and where in it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseFile {
    /// From the manifest's directory.
    pub path: String,
    pub at: VersionAt,
}

#[derive(Debug, Clone, PartialEq)]
pub enum VersionAt {
    /// Where its name says (`VERSION`, `package.json`, ...).
    Known,
    /// A JSON pointer.
    Pointer(String),
    /// A regex whose first group is the version.
    Regex(String),
}

impl ReleaseFile {
    /// Where its version is (checked when the manifest was read).
    pub fn locator(&self) -> Option<Locator> {
        match &self.at {
            VersionAt::Known => Locator::for_file(file_name(&self.path)),
            VersionAt::Pointer(p) => Some(Locator::Json(p.clone())),
            VersionAt::Regex(r) => Locator::regex(r).ok(),
        }
    }
}

fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

fn known(path: &str) -> Result<(), Invalid> {
    if path.trim().is_empty() {
        return Err(Invalid::new(
            "a release file's path is empty",
            "name a file, like `VERSION`",
        ));
    }
    match Locator::for_file(file_name(path)) {
        Some(_) => Ok(()),
        None => Err(Invalid::new(
            format!(
                "mpm does not know where `{}` keeps its version",
                crate::text::escaped(path)
            ),
            format!(
                "say where: `{{ path: {p}, regex: \"^version: (.*)$\" }}`, or `{{ path: {p}, pointer: /version }}` for JSON",
                p = crate::text::escaped(path)
            ),
        )),
    }
}

impl<'de> Deserialize<'de> for ReleaseFile {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ReleaseFile;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a file name, or `{ path, pointer }` or `{ path, regex }`")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<ReleaseFile, E> {
                known(s).map_err(|e| E::custom(e.to_serde()))?;
                Ok(ReleaseFile {
                    path: s.to_string(),
                    at: VersionAt::Known,
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ReleaseFile, A::Error> {
                let mut path: Option<String> = None;
                let mut at: Option<VersionAt> = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "path" if path.is_none() => path = Some(map.next_value()?),
                        "pointer" if at.is_none() => {
                            let p: String = map.next_value()?;
                            if !p.is_empty() && !p.starts_with('/') {
                                return Err(de::Error::custom(
                                    Invalid::new(
                                        format!("`{}` is not a JSON pointer", crate::text::escaped(&p)),
                                        "a JSON pointer starts with `/`, like `/version` or `/package/version`",
                                    )
                                    .to_serde(),
                                ));
                            }
                            at = Some(VersionAt::Pointer(p));
                        }
                        "regex" if at.is_none() => {
                            let r: String = map.next_value()?;
                            if let Err(e) = Locator::regex(&r) {
                                let invalid = Invalid {
                                    message: e.to_string(),
                                    hint: e.hint(),
                                    of_value: false,
                                };
                                return Err(de::Error::custom(invalid.to_serde()));
                            }
                            at = Some(VersionAt::Regex(r));
                        }
                        "path" | "pointer" | "regex" => {
                            return Err(de::Error::custom(
                                "give one `path` and at most one of `pointer` and `regex`",
                            ));
                        }
                        other => {
                            return Err(de::Error::unknown_field(
                                other,
                                &["path", "pointer", "regex"],
                            ));
                        }
                    }
                }
                let path = path.ok_or_else(|| de::Error::missing_field("path"))?;
                let at = match at {
                    Some(at) => at,
                    None => {
                        known(&path).map_err(|e| de::Error::custom(e.to_serde()))?;
                        VersionAt::Known
                    }
                };
                Ok(ReleaseFile { path, at })
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for ReleaseFile {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match &self.at {
            VersionAt::Known => s.serialize_str(&self.path),
            VersionAt::Pointer(p) | VersionAt::Regex(p) => {
                let key = match self.at {
                    VersionAt::Pointer(_) => "pointer",
                    _ => "regex",
                };
                let mut map = s.serialize_map(Some(2))?;
                map.serialize_entry("path", &self.path)?;
                map.serialize_entry(key, p)?;
                map.end()
            }
        }
    }
}

impl JsonSchema for ReleaseFile {
    fn schema_name() -> Cow<'static, str> {
        "ReleaseFile".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A version file: `VERSION`, `package.json`, `pyproject.toml` or `Cargo.toml` by name, or `{ path, pointer }` (JSON) or `{ path, regex }` (the first group is the version)",
            "oneOf": [
                { "type": "string" },
                {
                    "type": "object",
                    "properties": {
                        "path": { "type": "string" },
                        "pointer": { "type": "string" },
                        "regex": { "type": "string" }
                    },
                    "required": ["path"],
                    "additionalProperties": false
                }
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(tag: &str) -> ReleaseSection {
        ReleaseSection {
            tag: tag.into(),
            ..ReleaseSection::default()
        }
    }

    #[test]
    fn a_tag_format_names_and_reads_back_its_versions() {
        let v = semver::Version::parse("1.2.3-rc.1").unwrap();
        assert_eq!(section("v{version}").tag_of(&v), "v1.2.3-rc.1");
        assert_eq!(
            section("pack/{version}/final").tag_of(&v),
            "pack/1.2.3-rc.1/final"
        );
        let s = section("pack-{version}");
        assert_eq!(
            s.version_of_tag("pack-2.0.0"),
            Some(semver::Version::new(2, 0, 0))
        );
        assert_eq!(s.version_of_tag("v2.0.0"), None);
        assert_eq!(s.version_of_tag("pack-2.0"), None);
        assert_eq!(s.version_of_tag("pack-"), None);
    }

    #[test]
    fn release_files_read_as_names_pointers_and_regexes() {
        let s: ReleaseSection = serde_yaml::from_str(
            "files: [VERSION, { path: a/meta.json, pointer: /pack/version }, { path: chart.yaml, regex: '^version: (.*)$' }]\n",
        )
        .unwrap();
        assert_eq!(s.files[0].at, VersionAt::Known);
        assert_eq!(s.files[1].at, VersionAt::Pointer("/pack/version".into()));
        assert!(s.files.iter().all(|f| f.locator().is_some()));
        assert_eq!(s.tag, "v{version}");
        for bad in [
            "files: [{ path: x.json, pointer: version }]\n",
            "files: [{ path: x.yaml, regex: 'no group' }]\n",
            "files: [{ path: x.json, pointer: /a, regex: '(.*)' }]\n",
            "files: [{ pointer: /a }]\n",
            "files: ['']\n",
            "tag: 'v{version}{version}'\n",
            "tag: 'bad name {version}'\n",
            "agent_changelog: changelog.md\n",
        ] {
            assert!(
                serde_yaml::from_str::<ReleaseSection>(bad).is_err(),
                "{bad}"
            );
        }
    }
}
