//! claude-mpm agent templates (JSON), read unchanged from every release that shipped
//! them, validated against `schema/agent-template.schema.json`, and merged with their
//! BASE file and the base template into one prompt.
//!
//! Where claude-mpm 4.26.4 lost data (it dropped `tools`, kept only `primary_role` of an
//! object-valued `instructions`), mpm keeps what the template says.

use crate::diagnose::{Diagnose, Location};
use crate::files::{Disk, Files};
use crate::hash::Digest;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub const SCHEMA: &str = include_str!("../schema/agent-template.schema.json");
/// How claude-mpm joins a BASE file and a template's instructions.
pub const SEPARATOR: &str = "\n\n---\n\n";

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("template `{file}` is not valid JSON: {message}")]
    Json {
        file: String,
        message: String,
        location: Option<Location>,
    },
    #[error("template `{file}` does not match the claude-mpm template schema ({} problem{})", violations.len(), if violations.len() == 1 { "" } else { "s" })]
    Schema {
        file: String,
        violations: Vec<String>,
    },
    #[error("template `{file}`: `{pointer}` is `{}`, which {problem}", crate::text::escaped(.value))]
    Value {
        file: String,
        pointer: String,
        value: String,
        problem: String,
        hint: String,
    },
    #[error(
        "base template `{file}` has no instructions (looked at `/narrative_fields/instructions` and `/instructions`)"
    )]
    NoBaseInstructions { file: String },
}

impl Diagnose for TemplateError {
    fn location(&self) -> Option<&Location> {
        match self {
            TemplateError::Json { location, .. } => location.as_ref(),
            _ => None,
        }
    }

    fn causes(&self) -> Vec<String> {
        match self {
            TemplateError::Schema { violations, .. } => violations.clone(),
            _ => Vec::new(),
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            TemplateError::Json { .. } => Some("fix the JSON syntax; `jq . FILE` shows the same error".into()),
            TemplateError::Schema { .. } => Some("`schema/agent-template.schema.json` describes the format mpm reads".into()),
            TemplateError::Value { hint, .. } => Some(hint.clone()),
            TemplateError::NoBaseInstructions { .. } => {
                Some("put the shared instructions under `narrative_fields.instructions`, as claude-mpm does".into())
            }
        }
    }
}

/// A value read from a template, with where it was.
#[derive(Debug, Clone, PartialEq)]
pub struct Field<T> {
    pub value: T,
    /// JSON pointer, like `/capabilities/model`.
    pub pointer: &'static str,
}

/// One claude-mpm agent template, as mpm uses it.
#[derive(Debug, Clone)]
pub struct Template {
    pub path: PathBuf,
    /// As shown to the user and written in the managed comment.
    pub display: String,
    pub digest: Digest,
    pub agent_version: Option<Field<String>>,
    pub agent_type: Option<String>,
    pub description: Option<Field<String>>,
    pub model: Option<Field<String>>,
    pub color: Option<Field<String>>,
    pub tools: Option<Field<Vec<String>>>,
    pub disallowed_tools: Option<Field<Vec<String>>>,
    /// Markdown; an object-valued `instructions` rendered as sections.
    pub instructions: Option<String>,
    /// For a template from a registry: where it is from. No BASE file is looked
    /// for beside it, and its version is the registry's.
    pub origin: Option<Origin>,
}

/// A registry's template: the registry and the version it resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub registry: String,
    pub version: String,
}

fn validator() -> &'static Result<jsonschema::Validator, String> {
    static VALIDATOR: OnceLock<Result<jsonschema::Validator, String>> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let schema: Value = serde_json::from_str(SCHEMA).map_err(|e| e.to_string())?;
        jsonschema::validator_for(&schema).map_err(|e| e.to_string())
    })
}

/// Parses JSON text, pointing at the error in the file.
fn parse_json(text: &str, file: &str) -> Result<Value, TemplateError> {
    serde_json::from_str(text).map_err(|e| TemplateError::Json {
        file: file.to_string(),
        message: crate::text::strip_position(&e.to_string()),
        location: (e.line() > 0).then(|| Location::in_source(file, text, e.line(), e.column())),
    })
}

impl Template {
    /// Reads and checks a template on disk; `display` names it in messages.
    pub fn read(path: &Path, display: &str) -> Result<Template, crate::Error> {
        Template::read_from(&Disk, path, display)
    }

    /// Reads and checks a template in `files`.
    pub fn read_from(
        files: &dyn Files,
        path: &Path,
        display: &str,
    ) -> Result<Template, crate::Error> {
        let bytes = files.read_existing(path)?;
        Ok(Template::parse(&bytes, path, display)?)
    }

    pub fn parse(bytes: &[u8], path: &Path, display: &str) -> Result<Template, TemplateError> {
        let text = std::str::from_utf8(bytes).map_err(|e| TemplateError::Json {
            file: display.to_string(),
            message: format!("not UTF-8 text ({e})"),
            location: None,
        })?;
        let json = parse_json(text.strip_prefix('\u{feff}').unwrap_or(text), display)?;
        match validator() {
            Ok(v) => {
                let violations: Vec<String> = v
                    .iter_errors(&json)
                    .map(|e| {
                        let pointer = e.instance_path().to_string();
                        format!(
                            "{display}: `{}`: {e}",
                            if pointer.is_empty() { "/" } else { &pointer }
                        )
                    })
                    .collect();
                if !violations.is_empty() {
                    return Err(TemplateError::Schema {
                        file: display.to_string(),
                        violations,
                    });
                }
            }
            Err(e) => {
                return Err(TemplateError::Schema {
                    file: display.to_string(),
                    violations: vec![format!("schema: {e}")],
                });
            }
        }
        let string_at = |pointers: &[&'static str]| -> Option<Field<String>> {
            pointers.iter().find_map(|p| {
                json.pointer(p).and_then(Value::as_str).map(|s| Field {
                    value: s.to_string(),
                    pointer: p,
                })
            })
        };
        let list_at = |pointers: &[&'static str]| -> Option<Field<Vec<String>>> {
            pointers.iter().find_map(|p| {
                let items = json.pointer(p)?.as_array()?;
                let list = items
                    .iter()
                    .map(|v| v.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()?;
                Some(Field {
                    value: list,
                    pointer: p,
                })
            })
        };
        let instructions = match json.get("instructions") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Object(map)) => Some(object_to_markdown(map)),
            _ => None,
        };
        Ok(Template {
            path: path.to_path_buf(),
            display: display.to_string(),
            digest: Digest::of(bytes),
            agent_version: string_at(&["/agent_version"]),
            agent_type: json
                .get("agent_type")
                .and_then(Value::as_str)
                .map(str::to_string),
            // 4.x prefers the top-level description where both exist
            description: string_at(&["/description", "/metadata/description"]),
            model: string_at(&[
                "/model",
                "/capabilities/model",
                "/configuration_fields/model",
            ]),
            color: string_at(&["/metadata/color"]),
            tools: list_at(&[
                "/tools",
                "/capabilities/tools",
                "/configuration_fields/tools",
            ]),
            disallowed_tools: list_at(&["/disallowed_tools", "/capabilities/disallowed_tools"]),
            instructions,
            origin: None,
        })
    }

    /// Where the `BASE_<TYPE>.md` claude-mpm would prepend may be, in the order
    /// looked at: beside the template, then one folder up (claude-mpm keeps
    /// templates in `agents/templates/` and BASE files in `agents/`); the first
    /// that exists is the one. A template without `agent_type` is of type `general`.
    pub fn base_candidates(&self) -> Vec<PathBuf> {
        if self.origin.is_some() {
            return Vec::new();
        }
        let agent_type = self.agent_type.as_deref().unwrap_or("general");
        let Some(dir) = self.path.parent().filter(|_| !agent_type.is_empty()) else {
            return Vec::new();
        };
        let name = format!("BASE_{}.md", agent_type.to_uppercase());
        [Some(dir), dir.parent()]
            .into_iter()
            .flatten()
            .map(|d| d.join(&name))
            .collect()
    }
}

/// Renders an object-valued `instructions` as Markdown sections, in the template's
/// key order, keeping every key (4.26.4 kept only `primary_role`).
fn object_to_markdown(map: &serde_json::Map<String, Value>) -> String {
    let mut out = String::new();
    for (key, value) in map {
        let title: Vec<String> = key
            .split('_')
            .filter(|w| !w.is_empty())
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_uppercase().chain(c).collect())
                    .unwrap_or_default()
            })
            .collect();
        if !out.is_empty() {
            out.push_str("\n\n");
        }
        out.push_str("## ");
        out.push_str(&title.join(" "));
        out.push_str("\n\n");
        out.push_str(&value_to_markdown(value));
    }
    out
}

fn value_to_markdown(value: &Value) -> String {
    match value {
        Value::String(s) => s.trim_end().to_string(),
        Value::Array(items) => items
            .iter()
            .map(|v| format!("- {}", value_to_markdown(v).replace('\n', "\n  ")))
            .collect::<Vec<_>>()
            .join("\n"),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| format!("- **{k}**: {}", value_to_markdown(v).replace('\n', "\n  ")))
            .collect::<Vec<_>>()
            .join("\n"),
        other => other.to_string(),
    }
}

/// A claude-mpm base template (`base_agent.json`): shared instructions.
#[derive(Debug, Clone)]
pub struct BaseTemplate {
    pub display: String,
    pub digest: Digest,
    pub instructions: String,
}

impl BaseTemplate {
    pub fn read(path: &Path, display: &str) -> Result<BaseTemplate, crate::Error> {
        BaseTemplate::read_from(&Disk, path, display)
    }

    pub fn read_from(
        files: &dyn Files,
        path: &Path,
        display: &str,
    ) -> Result<BaseTemplate, crate::Error> {
        let bytes = files.read_existing(path)?;
        Ok(BaseTemplate::parse(&bytes, display)?)
    }

    pub fn parse(bytes: &[u8], display: &str) -> Result<BaseTemplate, TemplateError> {
        let text = String::from_utf8_lossy(bytes);
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let json = parse_json(text, display)?;
        let instructions = ["/narrative_fields/instructions", "/instructions"]
            .iter()
            .find_map(|p| json.pointer(p).and_then(Value::as_str))
            .ok_or_else(|| TemplateError::NoBaseInstructions {
                file: display.to_string(),
            })?;
        Ok(BaseTemplate {
            display: display.to_string(),
            digest: Digest::of(bytes),
            instructions: instructions.to_string(),
        })
    }
}

/// Joins prompt parts the way claude-mpm joins a BASE file and instructions. Line
/// ends are made `\n` first: a part saved with `\r\n` would otherwise keep a lone
/// `\r` where its last line end is trimmed.
pub fn join_prompt<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    let parts: Vec<_> = parts
        .into_iter()
        .map(crate::text::normalize_newlines)
        .collect();
    parts
        .iter()
        .map(|p| p.trim_matches('\n'))
        .filter(|p| !p.trim().is_empty())
        .collect::<Vec<_>>()
        .join(SEPARATOR)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Template, TemplateError> {
        Template::parse(json.as_bytes(), Path::new("/t/qa.json"), "qa.json")
    }

    #[test]
    fn reads_the_fields_where_claude_mpm_keeps_them() {
        let t = parse(
            r#"{"agent_version": "3.5.2", "agent_type": "qa", "description": "top",
                "metadata": {"description": "meta", "color": "green"},
                "capabilities": {"model": "sonnet", "tools": ["Read", "Grep"]},
                "instructions": "Test things."}"#,
        )
        .unwrap();
        assert_eq!(t.description.unwrap().value, "top");
        assert_eq!(t.model.unwrap().pointer, "/capabilities/model");
        assert_eq!(t.tools.unwrap().value, vec!["Read", "Grep"]);
        assert_eq!(t.instructions.as_deref(), Some("Test things."));
    }

    #[test]
    fn object_instructions_keep_every_key() {
        let t = parse(
            r#"{"agent_version": "1.0.0", "metadata": {}, "capabilities": {},
                "instructions": {"primary_role": "Role.", "core_focus": ["a", "b"]}}"#,
        )
        .unwrap();
        assert_eq!(
            t.instructions.unwrap(),
            "## Primary Role\n\nRole.\n\n## Core Focus\n\n- a\n- b"
        );
    }

    #[test]
    fn schema_violations_name_each_pointer() {
        let e =
            parse(r#"{"agent_version": "1.2", "metadata": {}, "capabilities": {"tools": "Read"}}"#)
                .unwrap_err();
        let causes = e.causes();
        assert!(
            causes.iter().any(|c| c.contains("`/agent_version`")),
            "{causes:?}"
        );
        assert!(
            causes.iter().any(|c| c.contains("`/capabilities/tools`")),
            "{causes:?}"
        );
    }

    #[test]
    fn json_errors_point_at_the_line() {
        let e = parse("{\n  \"agent_version\": \"1.0.0\",\n}").unwrap_err();
        assert_eq!(e.location().map(|l| (l.line, l.column)), Some((3, 1)));
    }

    #[test]
    fn prompt_parts_are_joined_like_claude_mpm() {
        assert_eq!(join_prompt(["BASE\n", "", "mine"]), "BASE\n\n---\n\nmine");
    }
}
