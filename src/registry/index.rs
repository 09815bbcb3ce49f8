//! The static index of a registry: one JSON document listing, per agent, its
//! versions, and per version where its bytes are, their SHA-256 and size, and what
//! it is (description, model, tags, yanked). Any web server, object store or
//! folder can serve one; `docs/registry.md` describes it and
//! `schema/registry-index.schema.json` is its JSON Schema, generated from these
//! types.

use crate::diagnose::{Diagnose, Location};
use crate::hash::Digest;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The format this mpm writes and reads.
pub const FORMAT: u32 = 1;

/// A registry's index.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "mpm registry index",
    description = "The agents a registry offers, by name, with every version's content URL and SHA-256 (format 1)"
)]
pub struct Index {
    /// Always `1`.
    #[schemars(range(min = 1, max = 1))]
    pub format: u32,
    /// The agents, by name (`^[a-z0-9]+(-[a-z0-9]+)*$`).
    pub agents: BTreeMap<String, IndexAgent>,
}

/// One agent and its versions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IndexAgent {
    /// Every version published, by semantic version (`2.1.0`). A version is never
    /// changed once published: a new one is added.
    pub versions: BTreeMap<String, IndexVersion>,
}

/// One published version of an agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IndexVersion {
    /// Where its bytes are: a URL, or a path relative to the index's own URL. The
    /// bytes are a claude-mpm JSON template or a Claude Code agent file (Markdown).
    #[schemars(length(min = 1))]
    pub url: String,
    /// The SHA-256 of those bytes, 64 lower-case hex digits.
    #[schemars(with = "String", regex(pattern = r"^[0-9a-f]{64}$"))]
    pub sha256: Digest,
    /// Their size in bytes.
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// A yanked version is never chosen by a new resolution; a lock that pins it
    /// still installs it, with a warning.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub yanked: bool,
}

/// An index that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("the index `{url}` is not JSON: {message}")]
    Json {
        url: String,
        message: String,
        location: Option<Location>,
    },
    #[error("the index `{url}` is not a valid registry index:\n{}", violations.join("\n"))]
    Schema {
        url: String,
        violations: Vec<String>,
    },
    #[error("the index `{url}` is of format {found}; this mpm reads format {FORMAT}")]
    Newer { url: String, found: u64 },
}

impl Diagnose for IndexError {
    fn location(&self) -> Option<&Location> {
        match self {
            IndexError::Json { location, .. } => location.as_ref(),
            _ => None,
        }
    }

    fn hint(&self) -> Option<String> {
        Some(match self {
            IndexError::Json { .. } | IndexError::Schema { .. } => {
                "the registry serves a broken index: tell its maintainers (`mpm registry build` writes a valid one); `--offline` uses what mpm.lock and the cache hold".into()
            }
            IndexError::Newer { .. } => "upgrade mpm to read this registry".into(),
        })
    }
}

/// The JSON Schema of an index, as checked in at `schema/registry-index.schema.json`.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(Index);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

fn validator() -> &'static Result<jsonschema::Validator, String> {
    static VALIDATOR: OnceLock<Result<jsonschema::Validator, String>> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let schema =
            serde_json::to_value(schemars::schema_for!(Index)).map_err(|e| e.to_string())?;
        jsonschema::validator_for(&schema).map_err(|e| e.to_string())
    })
}

impl Index {
    /// Parses and checks an index; every problem names its JSON path.
    pub fn parse(bytes: &[u8], url: &str) -> Result<Index, IndexError> {
        let text = String::from_utf8_lossy(bytes);
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| IndexError::Json {
                url: url.to_string(),
                message: crate::text::strip_position(&e.to_string()),
                location: (e.line() > 0)
                    .then(|| Location::in_source(url, &text, e.line(), e.column())),
            })?;
        if let Some(found) = value.get("format").and_then(serde_json::Value::as_u64)
            && found > u64::from(FORMAT)
        {
            return Err(IndexError::Newer {
                url: url.to_string(),
                found,
            });
        }
        let schema = |violations: Vec<String>| IndexError::Schema {
            url: url.to_string(),
            violations,
        };
        match validator() {
            Ok(v) => {
                let violations: Vec<String> = v
                    .iter_errors(&value)
                    .map(|e| {
                        let pointer = e.instance_path().to_string();
                        format!(
                            "  `{}`: {e}",
                            if pointer.is_empty() { "/" } else { &pointer }
                        )
                    })
                    .collect();
                if !violations.is_empty() {
                    return Err(schema(violations));
                }
            }
            Err(e) => return Err(schema(vec![format!("  schema: {e}")])),
        }
        let index: Index =
            serde_json::from_value(value).map_err(|e| schema(vec![format!("  `/`: {e}")]))?;
        let mut violations = Vec::new();
        for (name, agent) in &index.agents {
            let at = format!("/agents/{}", pointer_escape(name));
            if crate::name::AgentName::parse(name).is_err() {
                violations.push(format!(
                    "  `{at}`: `{}` is not a valid agent name",
                    crate::text::escaped(name)
                ));
            }
            for version in agent.versions.keys() {
                if let Err(e) = semver::Version::parse(version) {
                    violations.push(format!(
                        "  `{at}/versions/{}`: `{}` is not a semantic version ({e})",
                        pointer_escape(version),
                        crate::text::escaped(version)
                    ));
                }
            }
        }
        if !violations.is_empty() {
            return Err(schema(violations));
        }
        Ok(index)
    }

    /// The bytes of the index: pretty JSON, keys sorted, one trailing newline, so
    /// that the same agents give the same bytes.
    pub fn render(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }

    /// An agent's versions, newest first, parsed.
    pub fn versions(&self, agent: &str) -> Vec<(semver::Version, &IndexVersion)> {
        let mut versions: Vec<_> = self
            .agents
            .get(agent)
            .map(|a| {
                a.versions
                    .iter()
                    .filter_map(|(v, entry)| Some((semver::Version::parse(v).ok()?, entry)))
                    .collect()
            })
            .unwrap_or_default();
        versions.sort_by(|a, b| b.0.cmp(&a.0));
        versions
    }
}

/// A JSON pointer's token for `key` (RFC 6901).
fn pointer_escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(sha: &str) -> String {
        format!(
            r#"{{"format": 1, "agents": {{"qa": {{"versions": {{"1.0.0": {{"url": "qa.json", "sha256": "{sha}", "size": 3}}}}}}}}}}"#
        )
    }

    #[test]
    fn an_index_is_read_and_rendered_back_the_same() {
        let sha = Digest::of(b"abc").hex();
        let index = Index::parse(one(&sha).as_bytes(), "index.json").unwrap();
        assert_eq!(index.versions("qa")[0].0, semver::Version::new(1, 0, 0));
        let again = Index::parse(&index.render(), "index.json").unwrap();
        assert_eq!(again, index);
    }

    #[test]
    fn a_malformed_index_names_the_json_path() {
        let err = Index::parse(one("nothex").as_bytes(), "http://x/index.json").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("`/agents/qa/versions/1.0.0/sha256`"),
            "{text}"
        );
        let bad_version = one(&Digest::of(b"").hex()).replace("1.0.0", "1.0");
        let err = Index::parse(bad_version.as_bytes(), "i").unwrap_err();
        assert!(
            err.to_string()
                .contains("`/agents/qa/versions/1.0`: `1.0` is not a semantic version")
        );
        let err = Index::parse(b"{\"format\": 1,\n \"agents\": [}", "i").unwrap_err();
        assert_eq!(err.location().map(|l| l.line), Some(2));
        let err = Index::parse(b"{\"format\": 2, \"agents\": {}}", "i").unwrap_err();
        assert!(matches!(err, IndexError::Newer { found: 2, .. }));
    }
}
