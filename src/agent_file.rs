//! Claude Code agent files: Markdown with YAML frontmatter, rendered exactly as the
//! client reads them (`reference/claude-code.md`), and parsed back for ready files.
//!
//! The value types here (`Model`, `Color`, ...) are the frontmatter vocabulary; the
//! manifest and the template reader reuse them so that a value the client would
//! silently skip or never check is refused once, the same way, wherever it comes from.

use crate::checked::{Invalid, deserialize_checked};
use crate::name::AgentName;
use crate::text;
use schemars::JsonSchema;
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;
use std::fmt;

/// Colours of the documented palette; the client accepts any string and never says.
pub const COLORS: &[&str] = &[
    "red", "blue", "green", "yellow", "purple", "orange", "pink", "cyan",
];
/// Model aliases; a full model id (`claude-...`) is accepted too.
pub const MODEL_ALIASES: &[&str] = &["sonnet", "opus", "haiku", "inherit"];

macro_rules! checked_string {
    ($(#[$meta:meta])* $name:ident, $check:expr, $schema:tt) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Debug, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn parse(s: &str) -> Result<Self, String> {
                let check: fn(&str) -> Result<(), String> = $check;
                check(s).map(|()| $name(s.to_string()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                deserialize_checked(d, $name::parse)
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!($schema)
            }
        }
    };
}

fn check_model(s: &str) -> Result<(), String> {
    let full_id = s.strip_prefix("claude-").is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
    });
    if MODEL_ALIASES.contains(&s) || full_id {
        Ok(())
    } else {
        Err(format!(
            "unknown model `{}`: Claude Code knows `sonnet`, `opus`, `haiku`, `inherit` or a full model id like `claude-sonnet-4-5`",
            text::escaped(s)
        ))
    }
}

fn check_color(s: &str) -> Result<(), String> {
    if COLORS.contains(&s) {
        Ok(())
    } else {
        Err(format!(
            "unknown color `{}`: use one of {}",
            text::escaped(s),
            COLORS.join(", ")
        ))
    }
}

checked_string!(
    /// `sonnet`, `opus`, `haiku`, `inherit`, or a full model id (`claude-...`).
    Model,
    check_model,
    {
        "anyOf": [
            { "enum": ["sonnet", "opus", "haiku", "inherit"] },
            { "type": "string", "pattern": "^claude-[a-z0-9.-]+$" }
        ]
    }
);

checked_string!(
    /// One of the documented palette: red, blue, green, yellow, purple, orange, pink, cyan.
    Color,
    check_color,
    { "enum": ["red", "blue", "green", "yellow", "purple", "orange", "pink", "cyan"] }
);

/// How Claude Code asks for permission inside the agent.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum PermissionMode {
    Default,
    AcceptEdits,
    Auto,
    DontAsk,
    BypassPermissions,
    Plan,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Effort {
    Low,
    Medium,
    High,
    Xhigh,
    Max,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Memory {
    User,
    Project,
    Local,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Isolation {
    Worktree,
}

/// A list of tool names: written as `Read, Grep, Bash`; read from a YAML list or
/// from that comma-separated form. An empty list is written `[]`, which Claude Code
/// reads as "no tools" (absent is "all tools"; its loader, 2.1.330, makes `''`, `[]`
/// and `null` all an empty list).
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct ToolList(pub Vec<String>);

impl ToolList {
    pub fn parse(items: impl IntoIterator<Item = String>) -> Result<Self, Invalid> {
        let tools: Vec<String> = items.into_iter().map(|t| t.trim().to_string()).collect();
        if tools.iter().any(String::is_empty) {
            return Err(Invalid::from(
                "a tool name is empty (two commas in a row?)".to_string(),
            ));
        }
        for t in &tools {
            if let Some(c) = text::first_control(t) {
                return Err(Invalid::new(
                    format!(
                        "the tool name `{}` contains {}",
                        text::escaped(t),
                        c.describe(false)
                    ),
                    text::CONTROL_HINT,
                ));
            }
        }
        if let Some(bad) = tools
            .iter()
            .find(|t| t.contains(',') || t.contains('\n') || t.contains("---"))
        {
            return Err(Invalid::from(format!("`{bad}` is not a tool name")));
        }
        Ok(ToolList(tools))
    }
}

impl Serialize for ToolList {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.is_empty() {
            // `tools: ''` would mean the same to the client, but not to a reader
            return s.serialize_seq(Some(0))?.end();
        }
        s.serialize_str(&self.0.join(", "))
    }
}

impl<'de> Deserialize<'de> for ToolList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // a visitor, not an untagged enum: errors keep the value's own location
        struct Tools;
        impl<'de> serde::de::Visitor<'de> for Tools {
            type Value = ToolList;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of tool names or a comma-separated string")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<ToolList, E> {
                let items = if s.trim().is_empty() {
                    Vec::new()
                } else {
                    s.split(',').map(str::to_string).collect()
                };
                ToolList::parse(items).map_err(|e| E::custom(e.to_serde()))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<ToolList, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<String>()? {
                    items.push(item);
                }
                ToolList::parse(items).map_err(|e| serde::de::Error::custom(e.to_serde()))
            }
            // the client reads `tools:` with no value as no tools; mpm makes the
            // writer say which of the two they mean
            fn visit_unit<E: serde::de::Error>(self) -> Result<ToolList, E> {
                Err(E::custom(
                    Invalid::of_value(
                        "has no value",
                        "write `[]` for no tools, or remove the key for all tools",
                    )
                    .to_serde(),
                ))
            }
        }
        d.deserialize_any(Tools)
    }
}

impl ToolList {
    /// For a manifest's optional list: present, `null` included, it is read as a list
    /// (and `null` refused), so that no value never silently means "all tools".
    pub fn deserialize_present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Self>, D::Error> {
        ToolList::deserialize(d).map(Some)
    }
}

impl JsonSchema for ToolList {
    fn schema_name() -> Cow<'static, str> {
        "ToolList".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Tool names, as a list or a comma-separated string",
            "anyOf": [
                { "type": "array", "items": { "type": "string" } },
                { "type": "string" }
            ]
        })
    }
}

/// The frontmatter mpm writes, in the order it writes it: the same input always gives
/// the same bytes.
#[derive(Clone, PartialEq, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Frontmatter {
    pub name: AgentName,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<Model>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<ToolList>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disallowed_tools: Option<ToolList>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color: Option<Color>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission_mode: Option<PermissionMode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_turns: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skills: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effort: Option<Effort>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<Memory>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub background: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub isolation: Option<Isolation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initial_prompt: Option<String>,
}

/// Why an agent file cannot be written so that the client reads it as meant. `field`
/// is said as the message needs it: `` `description` ``, `the prompt`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("{field} {}", DASHES)]
    ThreeDashes { field: String },
    #[error("{field} contains {what}")]
    Control { field: String, what: String },
    #[error("the frontmatter cannot be written as YAML: {0}")]
    Yaml(String),
}

impl RenderError {
    pub fn hint(&self) -> Option<String> {
        match self {
            RenderError::ThreeDashes { .. } => Some(DASHES_HINT.into()),
            RenderError::Control { .. } => Some(text::CONTROL_HINT.into()),
            RenderError::Yaml(_) => None,
        }
    }
}

/// Claude Code ends the frontmatter at the first `---` it finds, even inside a value,
/// and then drops the agent or reads it cut short.
const DASHES: &str =
    "contains `---`, where Claude Code would end the frontmatter and drop or cut the agent";
const DASHES_HINT: &str =
    "write it without `---` (in the prompt, below the frontmatter, `---` is only Markdown)";

/// Refuses a value that cannot stand in the frontmatter as the client reads it: one
/// holding a control character, or `---`.
pub fn check_frontmatter_value(s: &str) -> Result<(), Invalid> {
    text::check(s)?;
    if s.contains("---") {
        return Err(Invalid::of_value(DASHES, DASHES_HINT));
    }
    Ok(())
}

/// Renders an agent file: `---`, the bookkeeping comment, the frontmatter written by
/// a YAML serializer, `---`, the body ending in exactly one newline. Line ends are
/// `\n` throughout (`\r\n` in any text is normalised).
pub fn render(
    frontmatter: &Frontmatter,
    comment: &str,
    body: &str,
) -> Result<Vec<u8>, RenderError> {
    let frontmatter = normalized(frontmatter);
    check_values(&frontmatter, comment)?;
    let yaml =
        serde_yaml::to_string(&*frontmatter).map_err(|e| RenderError::Yaml(e.to_string()))?;
    if comment.contains("---") {
        return Err(RenderError::ThreeDashes {
            field: COMMENT.into(),
        });
    }
    if let Some(p) = scan_frontmatter(&yaml) {
        return Err(p.error);
    }
    let body = text::normalize_newlines(body);
    let body = body.trim_matches('\n');
    if let Some(c) = text::first_control(body) {
        return Err(RenderError::Control {
            field: "the prompt".into(),
            what: c.describe(body.contains('\n')),
        });
    }
    let mut out = String::with_capacity(yaml.len() + body.len() + comment.len() + 32);
    out.push_str("---\n# ");
    out.push_str(comment);
    out.push('\n');
    out.push_str(&yaml);
    out.push_str("---\n");
    if !body.is_empty() {
        out.push_str(body);
        out.push('\n');
    }
    Ok(out.into_bytes())
}

const COMMENT: &str = "mpm's comment line (it quotes the source path)";

/// The frontmatter with `\r\n` made `\n` in its free text.
fn normalized(f: &Frontmatter) -> Cow<'_, Frontmatter> {
    let crlf = |s: &str| s.contains("\r\n");
    let any = crlf(&f.description)
        || f.initial_prompt.as_deref().is_some_and(crlf)
        || f.skills.iter().flatten().any(|s| crlf(s));
    if !any {
        return Cow::Borrowed(f);
    }
    let n = |s: &str| text::normalize_newlines(s).into_owned();
    let mut f = f.clone();
    f.description = n(&f.description);
    f.initial_prompt = f.initial_prompt.as_deref().map(n);
    f.skills = f.skills.map(|v| v.iter().map(|s| n(s)).collect());
    Cow::Owned(f)
}

/// Refuses a control character in any value: the YAML serializer would write it as
/// an escape, which the client turns back into the character.
fn check_values(f: &Frontmatter, comment: &str) -> Result<(), RenderError> {
    let mut values: Vec<(&str, &str)> = vec![("`description`", &f.description), (COMMENT, comment)];
    values.extend(
        f.initial_prompt
            .iter()
            .map(|p| ("`initialPrompt`", p.as_str())),
    );
    values.extend(f.skills.iter().flatten().map(|s| ("`skills`", s.as_str())));
    values.extend(
        f.tools
            .iter()
            .flat_map(|t| &t.0)
            .map(|t| ("`tools`", t.as_str())),
    );
    values.extend(
        f.disallowed_tools
            .iter()
            .flat_map(|t| &t.0)
            .map(|t| ("`disallowedTools`", t.as_str())),
    );
    for (field, value) in values {
        if let Some(c) = text::first_control(value) {
            return Err(RenderError::Control {
                field: field.into(),
                what: c.describe(value.contains('\n')),
            });
        }
    }
    Ok(())
}

/// A line of frontmatter text the client would misread: 0-based line, and the error
/// naming the key whose value the line is part of.
struct LineProblem {
    line: usize,
    column: usize,
    error: RenderError,
}

/// Finds the first line holding `---` or a raw control character. A line that starts
/// a top-level key names the key; the lines after it (a multi-line value, list items)
/// are part of that key's value.
fn scan_frontmatter(yaml: &str) -> Option<LineProblem> {
    let mut field = "the frontmatter".to_string();
    for (i, line) in yaml.lines().enumerate() {
        match line.chars().next() {
            Some('#') => field = "a comment line".into(),
            Some(c) if !c.is_whitespace() && c != '-' => {
                if let Some((key, _)) = line.split_once(':') {
                    field = format!("`{}`", text::escaped(key.trim().trim_matches(['"', '\''])));
                }
            }
            _ => {}
        }
        if let Some(c) = text::first_control(line) {
            return Some(LineProblem {
                line: i,
                column: c.column,
                error: RenderError::Control {
                    field,
                    what: c.describe(false),
                },
            });
        }
        if let Some(column) = line.find("---") {
            return Some(LineProblem {
                line: i,
                column: line[..column].chars().count() + 1,
                error: RenderError::ThreeDashes { field },
            });
        }
    }
    None
}

/// The `name` an agent file's frontmatter declares, if it has one.
pub fn declared_name(bytes: &[u8]) -> Option<String> {
    declared(bytes, "name")
}

/// A text value an agent file's frontmatter declares (a number as written).
pub fn declared(bytes: &[u8], key: &str) -> Option<String> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut lines = text.lines();
    if lines.next()?.trim_end() != "---" {
        return None;
    }
    let yaml: Vec<&str> = lines.take_while(|l| l.trim_end() != "---").collect();
    let value: serde_yaml::Value = serde_yaml::from_str(&yaml.join("\n")).ok()?;
    match value.get(key)? {
        serde_yaml::Value::String(s) => Some(s.clone()),
        serde_yaml::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// What is wrong with a ready agent file, in the client's terms.
#[derive(Debug, Clone, PartialEq)]
pub struct FileProblem(pub String, pub Option<String>);

impl From<String> for FileProblem {
    fn from(message: String) -> Self {
        FileProblem(message, None)
    }
}

impl From<Invalid> for FileProblem {
    fn from(e: Invalid) -> Self {
        FileProblem(e.message, e.hint)
    }
}

/// Checks a ready agent file the way the client loads it and returns its frontmatter
/// `name`. Every problem the client would silently skip or never report is an error.
pub fn check_ready_file(text: &str) -> Result<String, FileProblem> {
    let problem = |s: &str| FileProblem::from(s.to_string());
    let mut lines = text.split_inclusive('\n');
    let is_fence = |line: &str| line.trim_end_matches(['\r', '\n']) == "---";
    if !lines.next().is_some_and(is_fence) {
        return Err(problem(
            "the file does not start with a `---` line: Claude Code would skip it silently",
        ));
    }
    let mut yaml = String::new();
    let mut closed = false;
    // 1-based line of the closing `---`
    let mut fence = 1;
    for line in lines.by_ref() {
        fence += 1;
        if is_fence(line) {
            closed = true;
            break;
        }
        yaml.push_str(line);
    }
    if !closed {
        return Err(problem("the frontmatter has no closing `---` line"));
    }
    let at = |line: usize, column: usize, e: RenderError| {
        FileProblem(format!("line {line}, column {column}: {e}"), e.hint())
    };
    if let Some(p) = scan_frontmatter(&yaml) {
        return Err(at(p.line + 2, p.column, p.error));
    }
    let body: String = lines.collect();
    if let Some(c) = text::first_control(&body) {
        let what = c.describe(false);
        return Err(at(
            fence + c.line,
            c.column,
            RenderError::Control {
                field: "the prompt".into(),
                what,
            },
        ));
    }
    let value: serde_yaml::Value = serde_yaml::from_str(&yaml).map_err(|e| {
        let quote = if e.to_string().contains("mapping values are not allowed") {
            " (quote a value that contains `: `; Claude Code guesses at such a line, other readers refuse it)"
        } else {
            ""
        };
        // serde_yaml counts lines from the frontmatter; the file has `---` above it
        let mut message = e.to_string();
        let at = e.location().map(|l| {
            if let Some(i) = message.find(&format!(" at line {} column {}", l.line(), l.column())) {
                message.truncate(i);
            }
            format!(" at line {} column {}", l.line() + 1, l.column())
        });
        FileProblem::from(format!("the frontmatter is not valid YAML{}: {message}{quote}", at.unwrap_or_default()))
    })?;
    let map = match value {
        serde_yaml::Value::Mapping(m) => m,
        serde_yaml::Value::Null => serde_yaml::Mapping::new(),
        _ => return Err(problem("the frontmatter is not a YAML mapping")),
    };
    let get = |key: &str| map.get(serde_yaml::Value::String(key.to_string()));
    let name = match get("name") {
        None => {
            return Err(problem(
                "`name` is missing: Claude Code would skip the file silently",
            ));
        }
        Some(serde_yaml::Value::String(s)) => s.clone(),
        Some(_) => {
            return Err(problem(
                "`name` is not a string: Claude Code would skip the file",
            ));
        }
    };
    // a value written as an escape (`"\\a"`) is the character once the client reads it
    for (key, value) in &map {
        if let Some(c) = first_control_in(value) {
            let key = key
                .as_str()
                .map_or("a key".to_string(), |k| format!("`{}`", text::escaped(k)));
            let e = RenderError::Control {
                field: key,
                what: format!("{} (written as an escape)", c.describe(false)),
            };
            return Err(FileProblem(e.to_string(), e.hint()));
        }
    }
    AgentName::parse(&name).map_err(FileProblem::from)?;
    match get("description") {
        Some(serde_yaml::Value::String(s)) if !s.trim().is_empty() => {}
        _ => {
            return Err(problem(
                "`description` is missing or empty: Claude Code would skip the file",
            ));
        }
    }
    let string_field =
        |key: &str, check: fn(&str) -> Result<(), String>| -> Result<(), FileProblem> {
            match get(key) {
                None => Ok(()),
                Some(serde_yaml::Value::String(s)) => check(s).map_err(FileProblem::from),
                Some(_) => Err(FileProblem::from(format!("`{key}` is not a string"))),
            }
        };
    string_field("model", check_model)?;
    string_field("color", check_color)?;
    let typed = |key: &str| -> Result<(), FileProblem> {
        let Some(v) = get(key) else { return Ok(()) };
        let v = v.clone();
        let res = match key {
            "permissionMode" => serde_yaml::from_value::<PermissionMode>(v).map(drop),
            "effort" => serde_yaml::from_value::<Effort>(v).map(drop),
            "memory" => serde_yaml::from_value::<Memory>(v).map(drop),
            "isolation" => serde_yaml::from_value::<Isolation>(v).map(drop),
            "tools" | "disallowedTools" => serde_yaml::from_value::<ToolList>(v).map(drop),
            "background" => serde_yaml::from_value::<bool>(v).map(drop),
            "maxTurns" => serde_yaml::from_value::<std::num::NonZeroU32>(v).map(drop),
            _ => Ok(()),
        };
        res.map_err(|e| {
            let e = Invalid::from_serde(&e.to_string());
            let message = if e.of_value {
                e.about(&format!("`{key}`"))
            } else {
                format!("`{key}`: {}", e.message)
            };
            FileProblem(message, e.hint)
        })
    };
    for key in [
        "permissionMode",
        "effort",
        "memory",
        "isolation",
        "tools",
        "disallowedTools",
        "background",
        "maxTurns",
    ] {
        typed(key)?;
    }
    Ok(name)
}

/// The first control character in any string of a YAML value, keys included.
fn first_control_in(value: &serde_yaml::Value) -> Option<text::Control> {
    use serde_yaml::Value;
    match value {
        Value::String(s) => text::first_control(s),
        Value::Sequence(items) => items.iter().find_map(first_control_in),
        Value::Mapping(map) => map
            .iter()
            .find_map(|(k, v)| first_control_in(k).or_else(|| first_control_in(v))),
        Value::Tagged(t) => first_control_in(&t.value),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fm(name: &str) -> Frontmatter {
        Frontmatter {
            name: AgentName::parse(name).unwrap(),
            description: "Reviews: diffs \"carefully\"".into(),
            model: Some(Model::parse("haiku").unwrap()),
            tools: Some(ToolList(vec!["Read".into(), "Grep".into()])),
            disallowed_tools: None,
            color: Some(Color::parse("green").unwrap()),
            permission_mode: None,
            max_turns: Some(5),
            skills: None,
            effort: None,
            memory: None,
            background: None,
            isolation: None,
            initial_prompt: None,
        }
    }

    #[test]
    fn renders_stable_frontmatter_that_reads_back() {
        let bytes = render(&fm("qa"), "managed by mpm: qa", "\n\nBody text\n\n").unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert_eq!(
            text,
            "---\n# managed by mpm: qa\nname: qa\ndescription: 'Reviews: diffs \"carefully\"'\nmodel: haiku\ntools: Read, Grep\ncolor: green\nmaxTurns: 5\n---\nBody text\n"
        );
        assert_eq!(
            render(&fm("qa"), "managed by mpm: qa", "Body text").unwrap(),
            bytes
        );
        assert_eq!(check_ready_file(&text).unwrap(), "qa");
    }

    #[test]
    fn ready_files_are_checked_as_the_client_loads_them() {
        let cases = [
            ("name: qa\ndescription: x\n", "does not start"),
            ("---\ndescription: x\n---\nbody\n", "`name` is missing"),
            ("---\nname: qa\n---\nbody\n", "`description` is missing"),
            (
                "---\nname: Q A\ndescription: x\n---\n",
                "not a valid agent name",
            ),
            (
                "---\nname: qa\ndescription: x\nmodel: gpt-4\n---\n",
                "unknown model `gpt-4`",
            ),
            (
                "---\nname: qa\ndescription: x\ncolor: magenta\n---\n",
                "unknown color `magenta`",
            ),
            ("---\nname: qa\ndescription: [x\n---\n", "not valid YAML"),
            (
                "---\nname: qa\ndescription: x\nmaxTurns: 0\n---\n",
                "`maxTurns`",
            ),
        ];
        for (text, expected) in cases {
            let err = check_ready_file(text).unwrap_err().0;
            assert!(err.contains(expected), "{text:?}: {err}");
        }
    }

    #[test]
    fn models_and_colors_are_the_clients_own() {
        assert!(Model::parse("claude-sonnet-4-5").is_ok());
        assert!(
            Model::parse("sonnet-4.5")
                .unwrap_err()
                .contains("unknown model `sonnet-4.5`")
        );
        assert!(Color::parse("magenta").is_err());
    }

    #[test]
    fn three_dashes_in_frontmatter_are_refused_where_the_client_would_cut() {
        let mut f = fm("qa");
        f.description = "before --- after".into();
        assert!(
            render(&f, "c", "body")
                .unwrap_err()
                .to_string()
                .contains("`description` contains `---`")
        );
        let e = check_ready_file("---\nname: qa\ndescription: 'a ---'\n---\n")
            .unwrap_err()
            .0;
        assert!(e.contains("`description` contains `---`"), "{e}");
        // in the body it is only Markdown
        f.description = "fine".into();
        assert!(render(&f, "c", "a\n\n---\n\nb").is_ok());
    }

    #[test]
    fn a_dashes_line_inside_a_multi_line_value_names_its_key() {
        // the line is `  ---`, a continuation of the value: the key is the one above
        let mut f = fm("qa");
        f.initial_prompt = Some("first\n---\nsecond".into());
        let e = render(&f, "c", "body").unwrap_err();
        assert_eq!(
            e,
            RenderError::ThreeDashes {
                field: "`initialPrompt`".into()
            }
        );
        assert!(e.hint().is_some());
        f.initial_prompt = None;
        f.skills = Some(vec!["a".into(), "---".into()]);
        assert_eq!(
            render(&f, "c", "body").unwrap_err(),
            RenderError::ThreeDashes {
                field: "`skills`".into()
            }
        );
        let e = check_ready_file("---\nname: qa\ndescription: |\n  a\n  ---b\n---\n")
            .unwrap_err()
            .0;
        assert_eq!(
            e,
            "line 5, column 3: `description` contains `---`, where Claude Code would end the frontmatter and drop or cut the agent"
        );
    }

    #[test]
    fn control_characters_are_refused_in_every_field_and_the_body() {
        let mut f = fm("qa");
        f.description = "a\u{7}b".into();
        assert_eq!(
            render(&f, "c", "body").unwrap_err().to_string(),
            "`description` contains the control character U+0007"
        );
        f.description = "d".into();
        assert_eq!(
            render(&f, "c", "line\nli\0ne").unwrap_err().to_string(),
            "the prompt contains the control character U+0000 (line 2, column 3)"
        );
        // a CRLF line end is normalised; a lone CR is refused
        let crlf = render(&f, "c", "a\r\nb\r\n").unwrap();
        assert!(String::from_utf8(crlf).unwrap().ends_with("---\na\nb\n"));
        assert!(render(&f, "c", "a\rb").is_err());
        let ready = |t: &str| check_ready_file(t).unwrap_err().0;
        assert_eq!(
            ready("---\nname: qa\ndescription: a\u{1b}[2J\n---\n"),
            "line 3, column 15: `description` contains the control character U+001B"
        );
        assert_eq!(
            ready("---\nname: qa\ndescription: \"a\\0\"\n---\n"),
            "`description` contains the control character U+0000 (written as an escape)"
        );
        assert_eq!(
            ready("---\nname: qa\ndescription: d\n---\nok\n\u{7f}\n"),
            "line 6, column 1: the prompt contains the control character U+007F"
        );
        // a file saved with CRLF line ends is read as the client reads it
        assert_eq!(
            check_ready_file("---\r\nname: qa\r\ndescription: d\r\n---\r\nBody\r\n").unwrap(),
            "qa"
        );
    }

    #[test]
    fn an_empty_tool_list_is_written_as_one() {
        let mut f = fm("qa");
        f.tools = Some(ToolList(Vec::new()));
        f.disallowed_tools = Some(ToolList(Vec::new()));
        let text = String::from_utf8(render(&f, "c", "").unwrap()).unwrap();
        assert!(text.contains("\ntools: []\n"), "{text}");
        assert!(text.contains("\ndisallowedTools: []\n"), "{text}");
        assert_eq!(check_ready_file(&text).unwrap(), "qa");
    }
}
