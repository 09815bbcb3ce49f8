//! One version value inside a file's text: found by its byte span, and replaced by
//! rewriting only those bytes, so that key order, spacing, comments, line ends, a
//! BOM and the trailing newline stay as the file's author wrote them (issue 10).
//!
//! Pure: text in, text out. Whether the value is a version (semver) is the caller's
//! to check; here it is only a string that can be cut out and written back plainly.

use crate::unique_keys;
use regex::{Regex, RegexBuilder};
use serde_json::value::RawValue;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

const BOM: &str = "\u{feff}";

/// Where in a file its version is.
#[derive(Debug, Clone)]
pub enum Locator {
    /// A `VERSION` file: its text, trimmed (the whitespace around it is kept).
    Whole,
    /// A JSON pointer (RFC 6901): `/version`, `/agent_version`, `/packages/0/version`.
    Json(String),
    /// Candidate key paths, the first present wins: `[["project", "version"],
    /// ["tool", "poetry", "version"]]`.
    Toml(Vec<Vec<String>>),
    /// A top-level key of a Markdown file's YAML frontmatter (`---` … `---`).
    Frontmatter(String),
    /// Multi-line (`^` and `$` at each line, `\r\n` a line end too); the first
    /// capture group is the version.
    Regex(Regex),
}

impl Locator {
    /// The locator a file's name implies (a path is read by its last part).
    /// `VERSION` is matched in any case (`version`, `Version`): a case-insensitive
    /// file system holds one of them; `package.json`, `pyproject.toml` and
    /// `Cargo.toml` exactly, as npm, pip and Cargo do; `.md` and `.json` in any case.
    /// A `Cargo.toml` without `[package] version` may be a workspace's, with
    /// `[workspace.package] version`.
    pub fn for_file(name: &str) -> Option<Locator> {
        let file = name.rsplit(['/', '\\']).next().unwrap_or(name);
        let path = |keys: &[&str]| keys.iter().map(|k| k.to_string()).collect::<Vec<_>>();
        if file.eq_ignore_ascii_case("VERSION") {
            return Some(Locator::Whole);
        }
        match file {
            "package.json" => return Some(Locator::Json("/version".into())),
            "pyproject.toml" => {
                return Some(Locator::Toml(vec![
                    path(&["project", "version"]),
                    path(&["tool", "poetry", "version"]),
                ]));
            }
            "Cargo.toml" => {
                return Some(Locator::Toml(vec![
                    path(&["package", "version"]),
                    path(&["workspace", "package", "version"]),
                ]));
            }
            _ => {}
        }
        let extension = file.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
        match extension.as_deref() {
            Some("md") => Some(Locator::Frontmatter("version".into())),
            Some("json") => Some(Locator::Json("/version".into())),
            _ => None,
        }
    }

    /// A user's pattern, compiled multi-line; it must have a capture group.
    pub fn regex(pattern: &str) -> Result<Locator, EditError> {
        let regex = RegexBuilder::new(pattern)
            .multi_line(true)
            // `$` before a `\r\n` too, and `.` never takes the `\r`: a CRLF file's
            // value does not end in `\r`
            .crlf(true)
            .build()
            .map_err(|e| EditError::BadRegex {
                pattern: pattern.to_string(),
                message: e.to_string(),
            })?;
        if regex.captures_len() < 2 {
            return Err(EditError::NoGroup {
                pattern: pattern.to_string(),
            });
        }
        Ok(Locator::Regex(regex))
    }

    /// For messages: `` `/version` ``, `` `[package] version` ``, `` frontmatter `version` ``,
    /// `the whole file`, `` regex `…` ``.
    pub fn describe(&self) -> String {
        match self {
            Locator::Whole => "the whole file".into(),
            Locator::Json(pointer) => format!("`{pointer}`"),
            Locator::Toml(paths) => paths
                .iter()
                .map(|p| toml_path(p))
                .collect::<Vec<_>>()
                .join(" or "),
            Locator::Frontmatter(key) => format!("frontmatter `{key}`"),
            Locator::Regex(regex) => format!("regex `{}`", regex.as_str()),
        }
    }
}

/// `` `[tool.poetry] version` ``: the table as its header would name it, then the key.
fn toml_path(path: &[String]) -> String {
    let key = |k: &String| {
        let bare = !k.is_empty()
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if bare {
            k.clone()
        } else {
            format!("\"{}\"", k.replace('\\', "\\\\").replace('"', "\\\""))
        }
    };
    match path.split_last() {
        None => "the document".into(),
        Some((last, [])) => format!("`{}`", key(last)),
        Some((last, tables)) => format!(
            "`[{}] {}`",
            tables.iter().map(key).collect::<Vec<_>>().join("."),
            key(last)
        ),
    }
}

/// The version's bytes in the file, and the version they spell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub span: Range<usize>,
    pub value: String,
}

/// 1-based line and column (in characters) of a byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl Position {
    /// The position of byte `offset` of `text` (the text after any BOM).
    pub fn at(text: &str, offset: usize) -> Position {
        let before = text.get(..offset).unwrap_or(text);
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Position {
            line: before.matches('\n').count() + 1,
            column: before.get(line_start..).unwrap_or("").chars().count() + 1,
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

fn at_suffix(at: &Option<Position>) -> String {
    at.map(|p| format!(" at {p}")).unwrap_or_default()
}

/// Why a version cannot be found in a file, or written into it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("the file is not valid {format}{}: {message}", at_suffix(at))]
    Syntax {
        format: &'static str,
        at: Option<Position>,
        message: String,
    },
    #[error(
        "the key `{key}` is given twice in one object (the second at {at}): mpm does not edit such a file"
    )]
    Duplicate { key: String, at: Position },
    #[error("the file has no {what}{}", detail.as_ref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Missing {
        what: String,
        detail: Option<String>,
        hint: String,
    },
    #[error("{what} at {at} is {found}, not a string")]
    NotString {
        what: String,
        at: Position,
        found: String,
        hint: String,
    },
    #[error("{what} at {at} is written with escapes, which mpm does not rewrite")]
    Escaped { what: String, at: Position },
    #[error("{what} at {at} is a YAML block, not a value on the key's line")]
    Block { what: String, at: Position },
    #[error("{what} at {at} is written {form}, which mpm does not edit")]
    Unsupported {
        what: String,
        at: Position,
        form: String,
    },
    #[error("the file has no frontmatter: its first line is not `---`")]
    NoFrontmatter,
    #[error("the file is empty: it holds no version")]
    Empty,
    #[error("the file holds more than one line (the second starts at {at})")]
    MultiLine { at: Position },
    #[error("regex `{pattern}` is not valid: {message}")]
    BadRegex { pattern: String, message: String },
    #[error("regex `{pattern}` has no capture group to hold the version")]
    NoGroup { pattern: String },
    #[error("regex `{pattern}` matches nothing in the file")]
    NoMatch { pattern: String },
    #[error("regex `{pattern}` matches at {at}, but its first group takes no part in the match")]
    GroupUnset { pattern: String, at: Position },
    #[error("`{pointer}` is not a JSON pointer")]
    BadPointer { pointer: String },
    #[error("`{new}` cannot be written as {what}: {reason}")]
    Unwritable {
        new: String,
        what: String,
        reason: String,
    },
    #[error("after writing `{new}`, {what} reads {got}; the file is left as it was")]
    ReadBack {
        what: String,
        new: String,
        got: String,
    },
}

impl EditError {
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            EditError::Syntax { format, .. } => format!("fix the {format} syntax first"),
            EditError::Duplicate { .. } => {
                "remove one of the two: readers disagree on which one counts".into()
            }
            EditError::Missing { hint, .. } | EditError::NotString { hint, .. } => hint.clone(),
            EditError::Escaped { .. } => {
                "write the version plainly, without backslashes or doubled quotes, like \"1.2.3\""
                    .into()
            }
            EditError::Block { what, .. } | EditError::Unsupported { what, .. } => {
                format!("write {what} plainly on one line, like `version: 1.2.3`")
            }
            EditError::NoFrontmatter => {
                "an agent file starts with its frontmatter: a `---` line, `version: 1.2.3` and the other keys, and a `---` line".into()
            }
            EditError::Empty => "write the version in it, like `0.1.0`".into(),
            EditError::MultiLine { .. } => {
                "a VERSION file holds the version alone; for a file that holds more, name a regex whose first group is the version".into()
            }
            EditError::BadRegex { .. } => {
                "the syntax is Rust's `regex` crate's (no look-around, no backreferences)".into()
            }
            EditError::NoGroup { .. } => {
                "put the version in parentheses, like `^version: (.*)$`".into()
            }
            EditError::NoMatch { .. } => {
                "`^` and `$` match at the start and end of each line; check the pattern against the file".into()
            }
            EditError::GroupUnset { .. } => {
                "make the first group required (no `?` or `|` around it)".into()
            }
            EditError::BadPointer { .. } => {
                "a pointer is `/` and a key for each level, like `/version` or `/packages/0/version` (`~1` for a `/` in a key, `~0` for a `~`)".into()
            }
            EditError::Unwritable { .. } => {
                "a version is letters, digits, `.`, `-` and `+`, like `1.2.3-rc.1`".into()
            }
            EditError::ReadBack { .. } => {
                "this is a form of the file mpm misreads: please report it, with the file".into()
            }
        })
    }

    /// Where in the file, for a caller that prints `path:line:column`.
    pub fn position(&self) -> Option<Position> {
        match self {
            EditError::Syntax { at, .. } => *at,
            EditError::Duplicate { at, .. }
            | EditError::NotString { at, .. }
            | EditError::Escaped { at, .. }
            | EditError::Block { at, .. }
            | EditError::Unsupported { at, .. }
            | EditError::MultiLine { at }
            | EditError::GroupUnset { at, .. } => Some(*at),
            _ => None,
        }
    }
}

/// How the found value is written, for what a new value may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    Whole,
    JsonString,
    TomlBasic,
    TomlLiteral,
    YamlDouble,
    YamlSingle,
    YamlPlain,
    Regex,
}

impl Form {
    fn describe(self) -> &'static str {
        match self {
            Form::Whole => "a VERSION file",
            Form::JsonString => "a JSON string",
            Form::TomlBasic => "a TOML string",
            Form::TomlLiteral => "a TOML literal string",
            Form::YamlDouble => "a double-quoted YAML string",
            Form::YamlSingle => "a single-quoted YAML string",
            Form::YamlPlain => "a plain YAML value",
            Form::Regex => "the regex's group",
        }
    }

    /// Characters the form would need escaped, which mpm never writes.
    fn forbidden(self) -> &'static [char] {
        match self {
            Form::JsonString | Form::TomlBasic | Form::YamlDouble => &['"', '\\'],
            Form::TomlLiteral | Form::YamlSingle => &['\''],
            Form::Whole | Form::YamlPlain | Form::Regex => &[],
        }
    }
}

/// Where `locator` finds the version in `text`.
pub fn find(text: &str, locator: &Locator) -> Result<Found, EditError> {
    locate(text, locator).map(|(found, _)| found)
}

/// `text` with the version `locator` finds replaced by `new`, every other byte kept.
/// The result is read again: a value that does not read back as `new`, at the same
/// place, is an error rather than a file written wrong.
pub fn replace(text: &str, locator: &Locator, new: &str) -> Result<String, EditError> {
    let (found, form) = locate(text, locator)?;
    check_writable(new, form)?;
    let (Some(before), Some(after)) = (text.get(..found.span.start), text.get(found.span.end..))
    else {
        return Err(read_back(locator, new, "a span outside the file".into()));
    };
    let out = format!("{before}{new}{after}");
    let expected = found.span.start..found.span.start + new.len();
    match locate(&out, locator) {
        Ok((again, _)) if again.value == new && again.span == expected => Ok(out),
        Ok((again, _)) => Err(read_back(locator, new, format!("`{}`", again.value))),
        Err(e) => Err(read_back(locator, new, format!("nothing ({e})"))),
    }
}

fn read_back(locator: &Locator, new: &str, got: String) -> EditError {
    EditError::ReadBack {
        what: locator.describe(),
        new: new.to_string(),
        got,
    }
}

fn check_writable(new: &str, form: Form) -> Result<(), EditError> {
    let refuse = |reason: &str| {
        Err(EditError::Unwritable {
            new: new.to_string(),
            what: form.describe().to_string(),
            reason: reason.to_string(),
        })
    };
    if new.is_empty() {
        return refuse("it is empty");
    }
    if new.chars().any(char::is_control) {
        return refuse("it holds a line end or another control character");
    }
    if new.trim() != new {
        return refuse("it starts or ends with a space");
    }
    if let Some(c) = new.chars().find(|c| form.forbidden().contains(c)) {
        return refuse(&format!("`{c}` would need an escape there"));
    }
    Ok(())
}

/// The version with its span in the whole `text` (a BOM counted), and its form.
fn locate(text: &str, locator: &Locator) -> Result<(Found, Form), EditError> {
    let body = text.strip_prefix(BOM).unwrap_or(text);
    let base = text.len() - body.len();
    let (span, value, form) = match locator {
        Locator::Whole => whole(body)?,
        Locator::Json(pointer) => json(body, pointer)?,
        Locator::Toml(paths) => toml(body, paths)?,
        Locator::Frontmatter(key) => frontmatter(body, key)?,
        Locator::Regex(regex) => by_regex(body, regex)?,
    };
    let found = Found {
        span: span.start + base..span.end + base,
        value,
    };
    Ok((found, form))
}

type Located = (Range<usize>, String, Form);

fn whole(body: &str) -> Result<Located, EditError> {
    let start = body.len() - body.trim_start().len();
    let value = body.trim();
    if value.is_empty() {
        return Err(EditError::Empty);
    }
    if let Some(i) = value.find('\n') {
        return Err(EditError::MultiLine {
            at: Position::at(body, start + i + 1),
        });
    }
    Ok((start..start + value.len(), value.to_string(), Form::Whole))
}

fn by_regex(body: &str, regex: &Regex) -> Result<Located, EditError> {
    let pattern = || regex.as_str().to_string();
    let captures = regex
        .captures(body)
        .ok_or_else(|| EditError::NoMatch { pattern: pattern() })?;
    let group = captures.get(1).ok_or_else(|| EditError::GroupUnset {
        pattern: pattern(),
        at: Position::at(body, captures.get(0).map_or(0, |m| m.start())),
    })?;
    Ok((group.range(), group.as_str().to_string(), Form::Regex))
}

/// The tokens of an RFC 6901 pointer: `~1` is `/`, `~0` is `~`.
fn pointer_tokens(pointer: &str) -> Result<Vec<String>, EditError> {
    let bad = || EditError::BadPointer {
        pointer: pointer.to_string(),
    };
    if pointer.is_empty() {
        return Ok(Vec::new());
    }
    let rest = pointer.strip_prefix('/').ok_or_else(bad)?;
    rest.split('/')
        .map(|raw| {
            let mut token = String::new();
            let mut chars = raw.chars();
            while let Some(c) = chars.next() {
                token.push(match (c, c == '~') {
                    (_, true) => match chars.next() {
                        Some('0') => '~',
                        Some('1') => '/',
                        _ => return Err(bad()),
                    },
                    (c, false) => c,
                });
            }
            Ok(token)
        })
        .collect()
}

/// The byte offset of `inner`, a slice borrowed from `outer`, inside `outer`.
fn offset_in(outer: &str, inner: &str) -> Option<usize> {
    let offset = (inner.as_ptr() as usize).checked_sub(outer.as_ptr() as usize)?;
    (offset + inner.len() <= outer.len()).then_some(offset)
}

fn json_syntax(body: &str, e: &serde_json::Error) -> EditError {
    // serde_json gives a line and a column in bytes
    let line_start: usize = body
        .split_inclusive('\n')
        .take(e.line().saturating_sub(1))
        .map(str::len)
        .sum();
    let mut offset = (line_start + e.column().saturating_sub(1)).min(body.len());
    while !body.is_char_boundary(offset) {
        offset -= 1;
    }
    let message = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    EditError::Syntax {
        format: "JSON",
        at: Some(Position::at(body, offset)),
        message: message
            .strip_suffix(&suffix)
            .unwrap_or(&message)
            .to_string(),
    }
}

/// What a JSON value is, said in a message, from its text.
fn json_kind(raw: &str) -> String {
    match raw.as_bytes().first() {
        Some(b'{') => "an object".into(),
        Some(b'[') => "an array".into(),
        Some(b't' | b'f') => format!("a boolean (`{raw}`)"),
        Some(b'n') => "`null`".into(),
        Some(b'"') => "a string".into(),
        _ => format!("a number (`{raw}`)"),
    }
}

fn json(body: &str, pointer: &str) -> Result<Located, EditError> {
    let tokens = pointer_tokens(pointer)?;
    let mut value: &RawValue = serde_json::from_str(body).map_err(|e| json_syntax(body, &e))?;
    unique_keys::check(body).map_err(|d| EditError::Duplicate {
        key: d.key.dotted(),
        at: Position {
            line: d.line,
            column: d.column,
        },
    })?;
    let what = format!("`{pointer}`");
    let missing = |depth: usize, detail: String| {
        let last = tokens.last().cloned().unwrap_or_default();
        EditError::Missing {
            what: what.clone(),
            detail: Some(detail),
            hint: if depth + 1 == tokens.len() {
                format!(
                    "add `\"{last}\": \"0.1.0\"` there, or name the pointer to the key that holds the version"
                )
            } else {
                "name the pointer to the key that holds the version".into()
            },
        }
    };
    for (depth, token) in tokens.iter().enumerate() {
        let parent = format!(
            "`{}`",
            if depth == 0 {
                "the top-level value".to_string()
            } else {
                pointer
                    .split('/')
                    .take(depth + 1)
                    .collect::<Vec<_>>()
                    .join("/")
            }
        );
        let raw = value.get();
        value = match raw.as_bytes().first() {
            Some(b'{') => {
                let object: BTreeMap<String, &RawValue> =
                    serde_json::from_str(raw).map_err(|e| json_syntax(body, &e))?;
                object
                    .get(token)
                    .copied()
                    .ok_or_else(|| missing(depth, format!("{parent} has no key `{token}`")))?
            }
            Some(b'[') => {
                let array: Vec<&RawValue> =
                    serde_json::from_str(raw).map_err(|e| json_syntax(body, &e))?;
                let index = token
                    .parse::<usize>()
                    .ok()
                    .filter(|_| token == "0" || !token.starts_with('0'));
                index.and_then(|i| array.get(i).copied()).ok_or_else(|| {
                    missing(
                        depth,
                        format!(
                            "{parent} is an array of {} with no element `{token}`",
                            array.len()
                        ),
                    )
                })?
            }
            _ => {
                return Err(missing(
                    depth,
                    format!("{parent} is {}, not an object", json_kind(raw)),
                ));
            }
        };
    }
    let raw = value.get();
    let offset = offset_in(body, raw).ok_or_else(|| EditError::ReadBack {
        what: what.clone(),
        new: String::new(),
        got: "a value outside the file".into(),
    })?;
    let at = Position::at(body, offset);
    let Some(inner) = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) else {
        return Err(EditError::NotString {
            what,
            at,
            found: json_kind(raw),
            hint: "write the version as a string, like \"1.2.3\"".into(),
        });
    };
    if inner.contains('\\') {
        return Err(EditError::Escaped { what, at });
    }
    Ok((
        offset + 1..offset + 1 + inner.len(),
        inner.to_string(),
        Form::JsonString,
    ))
}

fn toml_kind(value: &DeValue) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) | DeValue::Float(_) => "a number",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// `version.workspace = true`: Cargo's inheritance from the workspace.
fn inherited(value: &DeValue) -> bool {
    value
        .as_table()
        .and_then(|t| t.get("workspace"))
        .is_some_and(|w| w.get_ref().as_bool() == Some(true))
}

fn toml_lookup<'a, 'i>(root: &'a DeTable<'i>, path: &[String]) -> Option<&'a Spanned<DeValue<'i>>> {
    let (first, rest) = path.split_first()?;
    let mut value = root.get(first.as_str())?;
    for key in rest {
        value = value.get_ref().as_table()?.get(key.as_str())?;
    }
    Some(value)
}

fn toml(body: &str, paths: &[Vec<String>]) -> Result<Located, EditError> {
    let root = DeTable::parse(body).map_err(|e| EditError::Syntax {
        format: "TOML",
        at: e.span().map(|s| Position::at(body, s.start)),
        message: e.message().trim_end().to_string(),
    })?;
    let present: Vec<(&Vec<String>, &Spanned<DeValue>)> = paths
        .iter()
        .filter_map(|p| toml_lookup(root.get_ref(), p).map(|v| (p, v)))
        .collect();
    // an inherited version is in another file; a later candidate may be here
    let chosen = present
        .iter()
        .find(|(_, v)| !inherited(v.get_ref()))
        .or(present.first());
    let Some((path, value)) = chosen else {
        let what = Locator::Toml(paths.to_vec()).describe();
        return Err(EditError::Missing {
            hint: match paths.first().and_then(|p| p.split_last()) {
                Some((key, tables)) if !tables.is_empty() => {
                    format!("add `{key} = \"0.1.0\"` under `[{}]`", tables.join("."))
                }
                _ => "add the version, or name a regex for the file".into(),
            },
            what,
            detail: None,
        });
    };
    let what = toml_path(path);
    let span = value.span();
    let at = Position::at(body, span.start);
    let DeValue::String(parsed) = value.get_ref() else {
        let hint = if inherited(value.get_ref()) {
            "the version is inherited from the workspace: set it in the workspace's Cargo.toml (`[workspace.package] version`) and name that file".to_string()
        } else {
            "write the version as a string, like `version = \"1.2.3\"`".to_string()
        };
        return Err(EditError::NotString {
            what,
            at,
            found: toml_kind(value.get_ref()).to_string(),
            hint,
        });
    };
    let raw = body.get(span.clone()).unwrap_or_default();
    let (quote, form) = if raw.starts_with("\"\"\"") || raw.starts_with("'''") {
        return Err(EditError::Unsupported {
            what,
            at,
            form: "as a multi-line string".into(),
        });
    } else if raw.starts_with('\'') {
        ('\'', Form::TomlLiteral)
    } else {
        ('"', Form::TomlBasic)
    };
    let inner = raw
        .strip_prefix(quote)
        .and_then(|r| r.strip_suffix(quote))
        .unwrap_or_default();
    if form == Form::TomlBasic && inner.contains('\\') {
        return Err(EditError::Escaped { what, at });
    }
    if inner != parsed.as_ref() {
        return Err(EditError::Unsupported {
            what,
            at,
            form: format!("as `{raw}`, which reads `{parsed}`"),
        });
    }
    let start = span.start + 1;
    Ok((start..start + inner.len(), inner.to_string(), form))
}

/// The lines of `text`: where each starts, and where its content ends (before
/// `\n` or `\r\n`).
fn lines(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        let content = line.trim_end_matches('\n').trim_end_matches('\r');
        out.push((start, start + content.len()));
        start += line.len();
    }
    out
}

fn frontmatter(body: &str, key: &str) -> Result<Located, EditError> {
    let lines = lines(body);
    let content = |&(start, end): &(usize, usize)| body.get(start..end).unwrap_or_default();
    if lines.first().map(content) != Some("---") {
        return Err(EditError::NoFrontmatter);
    }
    let Some(close) = lines.iter().skip(1).position(|l| content(l) == "---") else {
        return Err(EditError::Syntax {
            format: "frontmatter",
            at: Some(Position { line: 1, column: 1 }),
            message: "the `---` that opens it has no closing `---` line".into(),
        });
    };
    let inside = lines.get(1..close + 1).unwrap_or_default();
    let yaml_start = inside.first().map_or(0, |l| l.0);
    let yaml_end = lines.get(close + 1).map_or(body.len(), |l| l.0);
    let yaml = body.get(yaml_start..yaml_end).unwrap_or_default();
    let parsed: serde_yaml::Value = serde_yaml::from_str(yaml).map_err(|e| {
        let mut message = e.to_string();
        let at = e.location().map(|l| {
            let suffix = format!(" at line {} column {}", l.line(), l.column());
            if let Some(i) = message.find(&suffix) {
                message.truncate(i);
            }
            // counted from the frontmatter; the file has `---` above it
            Position {
                line: l.line() + 1,
                column: l.column(),
            }
        });
        EditError::Syntax {
            format: "YAML frontmatter",
            at,
            message,
        }
    })?;
    let what = format!("frontmatter `{key}`");
    let missing = || EditError::Missing {
        what: what.clone(),
        detail: None,
        hint: format!("add `{key}: 0.1.0` to the frontmatter"),
    };
    let value = match &parsed {
        serde_yaml::Value::Mapping(map) => map.get(key).ok_or_else(missing)?,
        serde_yaml::Value::Null => return Err(missing()),
        _ => {
            return Err(EditError::Syntax {
                format: "YAML frontmatter",
                at: Some(Position::at(body, yaml_start)),
                message: "it is not a mapping of keys to values".into(),
            });
        }
    };
    // the key's line: at the start of a line, then `:` and a space or the line's end
    let key_lines: Vec<(usize, usize)> = inside
        .iter()
        .filter_map(|&(start, end)| {
            let line = body.get(start..end)?;
            let after = line.strip_prefix(key)?.trim_start_matches([' ', '\t']);
            let after_colon = after.strip_prefix(':')?;
            let separated = after_colon.is_empty() || after_colon.starts_with([' ', '\t']);
            separated.then(|| {
                let rest = after_colon.trim_start_matches([' ', '\t']);
                (end - rest.len(), end)
            })
        })
        .collect();
    let &[(start, end)] = key_lines.as_slice() else {
        return Err(EditError::Unsupported {
            what,
            at: Position::at(body, yaml_start),
            form: if key_lines.is_empty() {
                "with a quoted key or inside another value".into()
            } else {
                "on more than one line that starts with the key".into()
            },
        });
    };
    let rest = body.get(start..end).unwrap_or_default();
    let at = Position::at(body, start);
    let not_string = |found: &str| EditError::NotString {
        what: what.clone(),
        at,
        found: found.to_string(),
        hint: format!("write the version after the key, like `{key}: 1.2.3`"),
    };
    let on_line = !rest.is_empty() && !rest.starts_with('#');
    match value {
        serde_yaml::Value::String(_) | serde_yaml::Value::Number(_) => {}
        serde_yaml::Value::Sequence(_) | serde_yaml::Value::Mapping(_) if !on_line => {
            return Err(EditError::Block { what, at });
        }
        serde_yaml::Value::Sequence(_) => return Err(not_string("a list")),
        serde_yaml::Value::Mapping(_) => return Err(not_string("a mapping")),
        serde_yaml::Value::Null => return Err(not_string("no value")),
        serde_yaml::Value::Bool(b) => return Err(not_string(&format!("a boolean (`{b}`)"))),
        serde_yaml::Value::Tagged(_) => {
            return Err(EditError::Unsupported {
                what,
                at,
                form: "with a tag".into(),
            });
        }
    }
    if !on_line || rest.starts_with(['|', '>']) {
        return Err(EditError::Block { what, at });
    }
    if rest.starts_with(['&', '*', '!']) {
        return Err(EditError::Unsupported {
            what,
            at,
            form: "with an anchor, an alias or a tag".into(),
        });
    }
    let (span, form) = if let Some(quoted) = rest.strip_prefix('"') {
        match quoted.find(['"', '\\']) {
            Some(i) if quoted.get(i..i + 1) == Some("\"") => {
                (start + 1..start + 1 + i, Form::YamlDouble)
            }
            Some(_) => return Err(EditError::Escaped { what, at }),
            None => return Err(EditError::Block { what, at }),
        }
    } else if let Some(quoted) = rest.strip_prefix('\'') {
        match quoted.find('\'') {
            Some(i) if quoted.get(i + 1..i + 2) == Some("'") => {
                return Err(EditError::Escaped { what, at });
            }
            Some(i) => (start + 1..start + 1 + i, Form::YamlSingle),
            None => return Err(EditError::Block { what, at }),
        }
    } else {
        // a plain scalar ends where a comment begins: a `#` after a space
        let end = [" #", "\t#"]
            .iter()
            .filter_map(|c| rest.find(c))
            .min()
            .unwrap_or(rest.len());
        let cut = rest
            .get(..end)
            .unwrap_or_default()
            .trim_end_matches([' ', '\t']);
        (start..start + cut.len(), Form::YamlPlain)
    };
    let cut = body.get(span.clone()).unwrap_or_default();
    let reads_the_same = match (form, value) {
        (Form::YamlPlain, _) => {
            serde_yaml::from_str::<serde_yaml::Value>(cut).ok().as_ref() == Some(value)
        }
        (_, serde_yaml::Value::String(s)) => s == cut,
        _ => false,
    };
    if !reads_the_same {
        return Err(EditError::Unsupported {
            what,
            at,
            form: format!(
                "so that its line holds `{cut}` but YAML reads more (a value over several lines?)"
            ),
        });
    }
    Ok((span, cut.to_string(), form))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(pointer: &str) -> Locator {
        Locator::Json(pointer.into())
    }

    fn for_file(name: &str) -> Locator {
        Locator::for_file(name).unwrap()
    }

    fn replaced(text: &str, locator: &Locator, new: &str) -> String {
        replace(text, locator, new).unwrap()
    }

    fn error(text: &str, locator: &Locator) -> EditError {
        find(text, locator).unwrap_err()
    }

    fn at(line: usize, column: usize) -> Position {
        Position { line, column }
    }

    #[test]
    fn locators_by_file_name() {
        assert!(matches!(for_file("VERSION"), Locator::Whole));
        assert!(matches!(for_file("pack/version"), Locator::Whole));
        assert_eq!(for_file("package.json").describe(), "`/version`");
        assert_eq!(for_file("a/b/agent.json").describe(), "`/version`");
        assert_eq!(
            for_file("pyproject.toml").describe(),
            "`[project] version` or `[tool.poetry] version`"
        );
        assert_eq!(
            for_file("Cargo.toml").describe(),
            "`[package] version` or `[workspace.package] version`"
        );
        assert_eq!(for_file("agents/qa.MD").describe(), "frontmatter `version`");
        assert!(Locator::for_file("VERSION.txt").is_none());
        assert!(Locator::for_file("other.toml").is_none());
        assert!(Locator::for_file("cargo.toml").is_none());
        assert_eq!(Locator::Whole.describe(), "the whole file");
        assert_eq!(
            Locator::regex("^version: (.*)$").unwrap().describe(),
            "regex `^version: (.*)$`"
        );
    }

    #[test]
    fn package_json_keeps_its_spacing_and_key_order() {
        let text = "{\n  \"name\":\"pack\" ,\n\t\"version\" :   \"1.2.3\",\n  \"a\": {\"version\": \"9\"}\n}";
        let found = find(text, &for_file("package.json")).unwrap();
        assert_eq!(found.value, "1.2.3");
        assert_eq!(text.get(found.span), Some("1.2.3"));
        assert_eq!(
            replaced(text, &for_file("package.json"), "1.3.0"),
            "{\n  \"name\":\"pack\" ,\n\t\"version\" :   \"1.3.0\",\n  \"a\": {\"version\": \"9\"}\n}"
        );
    }

    #[test]
    fn a_nested_pointer_and_its_escapes() {
        let text = r#"{"packages": [{"version": "1.0.0"}, {"version": "2.0.0"}], "a/b": {"c~d": "3.0.0"}}"#;
        assert_eq!(
            replaced(text, &json("/packages/1/version"), "2.1.0"),
            r#"{"packages": [{"version": "1.0.0"}, {"version": "2.1.0"}], "a/b": {"c~d": "3.0.0"}}"#
        );
        assert_eq!(
            replaced(text, &json("/a~1b/c~0d"), "3.1.0"),
            r#"{"packages": [{"version": "1.0.0"}, {"version": "2.0.0"}], "a/b": {"c~d": "3.1.0"}}"#
        );
        // a BOM, CRLF and a trailing newline stay
        let text = "\u{feff}{\r\n  \"agent_version\": \"3.5.2\"\r\n}\r\n";
        assert_eq!(
            replaced(text, &json("/agent_version"), "3.6.0"),
            "\u{feff}{\r\n  \"agent_version\": \"3.6.0\"\r\n}\r\n"
        );
    }

    #[test]
    fn json_errors() {
        assert_eq!(
            error("{\n  \"version\": 1,\n}", &json("/version")),
            EditError::Syntax {
                format: "JSON",
                at: Some(at(3, 1)),
                message: "key must be a string".into()
            }
        );
        let e = error("{\"a\": 1,\n \"a\": 2}", &json("/version"));
        assert_eq!(
            e.to_string(),
            "the key `a` is given twice in one object (the second at line 2, column 2): mpm does not edit such a file"
        );
        let e = error("{\"name\": \"x\"}", &json("/version"));
        assert_eq!(
            e.to_string(),
            "the file has no `/version` (`the top-level value` has no key `version`)"
        );
        assert_eq!(
            e.hint().unwrap(),
            "add `\"version\": \"0.1.0\"` there, or name the pointer to the key that holds the version"
        );
        let e = error("{\"p\": [1]}", &json("/p/01"));
        assert_eq!(
            e.to_string(),
            "the file has no `/p/01` (`/p` is an array of 1 with no element `01`)"
        );
        let e = error("{\"p\": \"x\"}", &json("/p/version"));
        assert_eq!(
            e.to_string(),
            "the file has no `/p/version` (`/p` is a string, not an object)"
        );
        let e = error("{\n  \"version\": 1.0\n}", &json("/version"));
        assert_eq!(
            e.to_string(),
            "`/version` at line 2, column 14 is a number (`1.0`), not a string"
        );
        assert_eq!(e.position(), Some(at(2, 14)));
        let e = error("{\"version\": \"1.0\\u002e0\"}", &json("/version"));
        assert_eq!(
            e,
            EditError::Escaped {
                what: "`/version`".into(),
                at: at(1, 13)
            }
        );
        assert!(e.hint().unwrap().contains("plainly"));
        assert_eq!(
            error("{}", &json("version")),
            EditError::BadPointer {
                pointer: "version".into()
            }
        );
        assert_eq!(
            error("{}", &json("/a~2")),
            EditError::BadPointer {
                pointer: "/a~2".into()
            }
        );
    }

    #[test]
    fn cargo_toml_changes_only_the_package_version() {
        let text = "[package]\nname = \"x\"\nversion = \"1.0.0\" # bumped by mpm\n\n[dependencies]\nserde = { version = \"1\" }\n";
        assert_eq!(
            replaced(text, &for_file("Cargo.toml"), "1.1.0"),
            "[package]\nname = \"x\"\nversion = \"1.1.0\" # bumped by mpm\n\n[dependencies]\nserde = { version = \"1\" }\n"
        );
        let inline = "package = { name = \"x\", version = \"1.0.0\" }\n";
        assert_eq!(
            replaced(inline, &for_file("Cargo.toml"), "2.0.0"),
            "package = { name = \"x\", version = \"2.0.0\" }\n"
        );
        let dotted = "package.name = \"x\"\r\npackage.version = '1.0.0'\r\n";
        assert_eq!(
            replaced(dotted, &for_file("Cargo.toml"), "1.0.1"),
            "package.name = \"x\"\r\npackage.version = '1.0.1'\r\n"
        );
        // a root package that inherits: the workspace's own version is the one
        let workspace =
            "[package]\nversion.workspace = true\n[workspace.package]\nversion = \"0.3.0\"\n";
        assert_eq!(
            replaced(workspace, &for_file("Cargo.toml"), "0.4.0"),
            "[package]\nversion.workspace = true\n[workspace.package]\nversion = \"0.4.0\"\n"
        );
    }

    #[test]
    fn pyproject_with_only_poetry() {
        let text = "[tool.poetry]\nname = \"x\"\nversion    =    \"0.1.0\"\n";
        assert_eq!(
            replaced(text, &for_file("pyproject.toml"), "0.2.0"),
            "[tool.poetry]\nname = \"x\"\nversion    =    \"0.2.0\"\n"
        );
    }

    #[test]
    fn toml_errors() {
        let cargo = for_file("Cargo.toml");
        let e = error("[package]\nversion.workspace = true\n", &cargo);
        assert_eq!(
            e.to_string(),
            "`[package] version` at line 2, column 1 is a table, not a string"
        );
        assert!(e.hint().unwrap().contains("workspace's Cargo.toml"));
        let e = error("[package]\nversion = 1\n", &cargo);
        assert_eq!(
            e.to_string(),
            "`[package] version` at line 2, column 11 is a number, not a string"
        );
        assert_eq!(
            error("[package]\nversion = \"1\\u002e0\"\n", &cargo),
            EditError::Escaped {
                what: "`[package] version`".into(),
                at: at(2, 11)
            }
        );
        let e = error("[package]\nname = \"x\"\n", &cargo);
        assert_eq!(
            e.to_string(),
            "the file has no `[package] version` or `[workspace.package] version`"
        );
        assert_eq!(
            e.hint().unwrap(),
            "add `version = \"0.1.0\"` under `[package]`"
        );
        let e = error("[package]\nversion = \n", &cargo);
        assert_eq!(e.position(), Some(at(2, 11)));
        assert!(matches!(e, EditError::Syntax { format: "TOML", .. }));
    }

    #[test]
    fn frontmatter_values() {
        let md = for_file("qa.md");
        let text = "---\nname: qa\nversion: 1.0.0\n---\nversion: 9\n";
        assert_eq!(
            replaced(text, &md, "1.1.0"),
            "---\nname: qa\nversion: 1.1.0\n---\nversion: 9\n"
        );
        let text = "---\nversion: \"1.0.0\"\n---\n";
        assert_eq!(
            replaced(text, &md, "1.1.0"),
            "---\nversion: \"1.1.0\"\n---\n"
        );
        let text = "---\nversion:   '1.0.0'   # quoted\n---\n";
        assert_eq!(
            replaced(text, &md, "1.1.0"),
            "---\nversion:   '1.1.0'   # quoted\n---\n"
        );
        let text = "---\r\nname: qa\r\nversion: 1.0 # the comment stays\r\n---\r\nbody\r\n";
        assert_eq!(find(text, &md).unwrap().value, "1.0");
        assert_eq!(
            replaced(text, &md, "1.1.0"),
            "---\r\nname: qa\r\nversion: 1.1.0 # the comment stays\r\n---\r\nbody\r\n"
        );
    }

    #[test]
    fn frontmatter_errors() {
        let md = for_file("qa.md");
        assert_eq!(error("# qa\n", &md), EditError::NoFrontmatter);
        assert_eq!(
            error("---\nversion: |\n  1.0.0\n---\n", &md),
            EditError::Block {
                what: "frontmatter `version`".into(),
                at: at(2, 10)
            }
        );
        assert_eq!(
            error("---\nversion:\n  - 1\n---\n", &md),
            EditError::Block {
                what: "frontmatter `version`".into(),
                at: at(2, 9)
            }
        );
        assert_eq!(
            error("---\nversion: \"1.0\\x2e0\"\n---\n", &md),
            EditError::Escaped {
                what: "frontmatter `version`".into(),
                at: at(2, 10)
            }
        );
        assert_eq!(
            error("---\nversion: 'it''s'\n---\n", &md),
            EditError::Escaped {
                what: "frontmatter `version`".into(),
                at: at(2, 10)
            }
        );
        let e = error("---\nversion: true\n---\n", &md);
        assert_eq!(
            e.to_string(),
            "frontmatter `version` at line 2, column 10 is a boolean (`true`), not a string"
        );
        let e = error("---\nname: qa\n---\n", &md);
        assert_eq!(e.to_string(), "the file has no frontmatter `version`");
        let e = error("---\nname: qa\n", &md);
        assert_eq!(e.position(), Some(at(1, 1)));
        let e = error("---\nname: qa\nversion: [1\n---\n", &md);
        assert!(
            matches!(
                e,
                EditError::Syntax {
                    format: "YAML frontmatter",
                    at: Some(_),
                    ..
                }
            ),
            "{e:?}"
        );
        let e = error("---\nversion: 1.0\n  .0\n---\n", &md);
        assert!(matches!(e, EditError::Unsupported { .. }), "{e:?}");
    }

    #[test]
    fn version_files() {
        assert_eq!(replaced("1.0.0\n", &Locator::Whole, "1.0.1"), "1.0.1\n");
        assert_eq!(replaced("1.0.0", &Locator::Whole, "1.0.1"), "1.0.1");
        assert_eq!(
            replaced("\u{feff} 1.0.0\r\n\r\n", &Locator::Whole, "2.0.0"),
            "\u{feff} 2.0.0\r\n\r\n"
        );
        assert_eq!(error(" \n", &Locator::Whole), EditError::Empty);
        assert_eq!(
            error("1.0.0\nnotes\n", &Locator::Whole),
            EditError::MultiLine { at: at(2, 1) }
        );
    }

    #[test]
    fn a_regex_on_a_chart() {
        let chart = Locator::regex("^version: (.*)$").unwrap();
        let text = "apiVersion: v2\nname: x\nversion: 0.1.0\nappVersion: \"1.0\"\n";
        assert_eq!(
            replaced(text, &chart, "0.2.0"),
            "apiVersion: v2\nname: x\nversion: 0.2.0\nappVersion: \"1.0\"\n"
        );
        let crlf = "name: x\r\nversion: 0.1.0\r\n";
        assert_eq!(
            replaced(crlf, &chart, "0.2.0"),
            "name: x\r\nversion: 0.2.0\r\n"
        );
        assert_eq!(
            error("name: x\n", &chart),
            EditError::NoMatch {
                pattern: "^version: (.*)$".into()
            }
        );
        assert_eq!(
            error(
                "a\nversion: \n",
                &Locator::regex("^version: (\\d+)?").unwrap()
            ),
            EditError::GroupUnset {
                pattern: "^version: (\\d+)?".into(),
                at: at(2, 1)
            }
        );
        assert!(matches!(
            Locator::regex("^version: .*$"),
            Err(EditError::NoGroup { .. })
        ));
        assert!(matches!(
            Locator::regex("(("),
            Err(EditError::BadRegex { .. })
        ));
    }

    #[test]
    fn a_new_value_that_cannot_be_written_plainly_is_refused() {
        let e = replace("{\"version\": \"1\"}", &json("/version"), "1\"2").unwrap_err();
        assert_eq!(
            e.to_string(),
            "`1\"2` cannot be written as a JSON string: `\"` would need an escape there"
        );
        assert!(matches!(
            replace("1\n", &Locator::Whole, "1\n2"),
            Err(EditError::Unwritable { .. })
        ));
        // caught by reading it back: a plain YAML value that ends in a comment
        let e = replace("---\nversion: 1\n---\n", &for_file("a.md"), "1 #x").unwrap_err();
        assert!(matches!(e, EditError::ReadBack { .. }), "{e:?}");
    }
}
