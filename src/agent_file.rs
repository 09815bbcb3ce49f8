//! Claude Code agent files: Markdown with YAML frontmatter, rendered exactly as the
//! client reads them (`reference/claude-code.md`), and parsed back for ready files.
//!
//! The value types here (`Model`, `Color`, ...) are the frontmatter vocabulary; the
//! manifest and the template reader reuse them so that a value the client would
//! silently skip or never check is refused once, the same way, wherever it comes from.

use crate::name::AgentName;
use schemars::JsonSchema;
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

/// Deserializes a string and checks it while the deserializer still points at it,
/// so that serde_yaml reports the value's own `line:column`.
pub(crate) fn deserialize_checked<'de, D: Deserializer<'de>, T>(
    d: D,
    parse: fn(&str) -> Result<T, String>,
) -> Result<T, D::Error> {
    struct Checked<T>(fn(&str) -> Result<T, String>);
    impl<T> serde::de::Visitor<'_> for Checked<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<T, E> {
            (self.0)(s).map_err(E::custom)
        }
    }
    d.deserialize_str(Checked(parse))
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
            "unknown model `{s}`: Claude Code knows `sonnet`, `opus`, `haiku`, `inherit` or a full model id like `claude-sonnet-4-5`"
        ))
    }
}

fn check_color(s: &str) -> Result<(), String> {
    if COLORS.contains(&s) {
        Ok(())
    } else {
        Err(format!(
            "unknown color `{s}`: use one of {}",
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
/// from that comma-separated form.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct ToolList(pub Vec<String>);

impl ToolList {
    pub fn parse(items: impl IntoIterator<Item = String>) -> Result<Self, String> {
        let tools: Vec<String> = items.into_iter().map(|t| t.trim().to_string()).collect();
        if tools.iter().any(String::is_empty) {
            return Err("a tool name is empty (two commas in a row?)".into());
        }
        if let Some(bad) = tools.iter().find(|t| t.contains(',') || t.contains('\n')) {
            return Err(format!("`{bad}` is not a tool name"));
        }
        Ok(ToolList(tools))
    }
}

impl Serialize for ToolList {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
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
                ToolList::parse(items).map_err(E::custom)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<ToolList, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<String>()? {
                    items.push(item);
                }
                ToolList::parse(items).map_err(serde::de::Error::custom)
            }
        }
        d.deserialize_any(Tools)
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

/// Renders an agent file: `---`, the bookkeeping comment, the frontmatter written by
/// a YAML serializer, `---`, the body ending in exactly one newline.
pub fn render(frontmatter: &Frontmatter, comment: &str, body: &str) -> Result<Vec<u8>, String> {
    let yaml = serde_yaml::to_string(frontmatter).map_err(|e| e.to_string())?;
    if let Some(line) = yaml.lines().find(|l| l.contains("---")) {
        return Err(three_dashes(line));
    }
    let body = body.trim_matches('\n');
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

/// Claude Code ends the frontmatter at the first `---` it finds, even inside a value,
/// and then drops the agent or reads it cut short.
fn three_dashes(line: &str) -> String {
    let key = line.split(':').next().unwrap_or(line).trim();
    format!(
        "`{key}` contains `---`, where Claude Code would end the frontmatter and drop or cut the agent"
    )
}

/// The `name` an agent file's frontmatter declares, if it has one.
pub fn declared_name(bytes: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut lines = text.lines();
    if lines.next()?.trim_end() != "---" {
        return None;
    }
    let yaml: Vec<&str> = lines.take_while(|l| l.trim_end() != "---").collect();
    let value: serde_yaml::Value = serde_yaml::from_str(&yaml.join("\n")).ok()?;
    value.get("name")?.as_str().map(str::to_string)
}

/// What is wrong with a ready agent file, in the client's terms.
#[derive(Debug, Clone, PartialEq)]
pub struct FileProblem(pub String);

/// Checks a ready agent file the way the client loads it and returns its frontmatter
/// `name`. Every problem the client would silently skip or never report is an error.
pub fn check_ready_file(text: &str) -> Result<String, FileProblem> {
    let problem = |s: &str| FileProblem(s.to_string());
    let mut lines = text.split_inclusive('\n');
    let is_fence = |line: &str| line.trim_end_matches(['\r', '\n']) == "---";
    if !lines.next().is_some_and(is_fence) {
        return Err(problem(
            "the file does not start with a `---` line: Claude Code would skip it silently",
        ));
    }
    let mut yaml = String::new();
    let mut closed = false;
    for line in lines {
        if is_fence(line) {
            closed = true;
            break;
        }
        yaml.push_str(line);
    }
    if !closed {
        return Err(problem("the frontmatter has no closing `---` line"));
    }
    if let Some(line) = yaml.lines().find(|l| l.contains("---")) {
        return Err(FileProblem(three_dashes(line)));
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
        FileProblem(format!("the frontmatter is not valid YAML{}: {message}{quote}", at.unwrap_or_default()))
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
    AgentName::parse(&name).map_err(FileProblem)?;
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
                Some(serde_yaml::Value::String(s)) => check(s).map_err(FileProblem),
                Some(_) => Err(FileProblem(format!("`{key}` is not a string"))),
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
        res.map_err(|e| FileProblem(format!("`{key}`: {e}")))
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
}
