//! What Claude Code reads from its environment: the variables its documentation
//! lists, kept as data with their sources (`data/claude-code-env.yaml`, compiled in),
//! and the check of one `env` entry of a settings file against them.
//!
//! Pure: [`check`] takes a name, a value and the scope of the file it is written in,
//! and says what is wrong. A name that is neither Claude Code's nor looks like it
//! (`MY_TOKEN`) is the user's own business and passes silently. [`check_quoting`]
//! says the same of a value that may not be shown (a secret), never quoting it.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::OnceLock;

/// The settings file a variable is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// `<config dir>/settings.json` (`$CLAUDE_CONFIG_DIR` or `~/.claude`).
    User,
    /// `<project>/.claude/settings.json`, committed with the project.
    Project,
    /// `<project>/.claude/settings.local.json`, the user's own in that project.
    Local,
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scope::User => "user",
            Scope::Project => "project",
            Scope::Local => "local",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The client would not do what the entry says.
    Error,
    /// It may not: a name the client does not read, a value that looks meant otherwise.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One thing wrong with an entry, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    /// Stable and short (`env-invalid-value`): for scripts and the docs' list.
    pub code: &'static str,
    pub message: String,
    pub hint: Option<String>,
}

/// What values a variable takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    String,
    Integer,
    Milliseconds,
    /// On with `1` or `true`, off with `0` or `false`.
    Flag,
    /// An alias, a full model id, an inference profile ARN or a deployment name:
    /// one word, since providers name their models as they like.
    Model,
    Url,
    Path,
    /// One of `values`.
    Enum,
}

/// Where a row of the table comes from (the data file's header gives each page).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    EnvVars,
    Settings,
    SubAgents,
    AgentTeams,
    BedrockVertex,
    Sessions,
}

/// A variable Claude Code documents.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variable {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: Kind,
    pub min: Option<u64>,
    pub max: Option<u64>,
    #[serde(default)]
    pub values: Vec<String>,
    pub default: Option<String>,
    #[serde(default = "every_scope")]
    pub scopes: Vec<Scope>,
    pub since: Option<String>,
    pub no_op_since: Option<String>,
    pub source: Source,
    pub notes: Option<String>,
}

fn every_scope() -> Vec<Scope> {
    vec![Scope::User, Scope::Project, Scope::Local]
}

/// A name claude-mpm tells users to export that Claude Code never reads.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Invented {
    pub name: String,
    /// What to set instead, the likeliest first.
    pub instead: Vec<String>,
    /// Turns claude-mpm's value into the client's unit (seconds → milliseconds: 1000).
    pub factor: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    variables: Vec<Variable>,
    claude_mpm: Vec<Invented>,
}

const DATA: &str = include_str!("../data/claude-code-env.yaml");

/// The client version the table was recorded for.
pub const RECORDED_FOR: &str = "2.1.330";

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    // compiled in, and read by a unit test: no input can make this fail
    TABLE.get_or_init(|| serde_yaml::from_str(DATA).expect("data/claude-code-env.yaml is valid"))
}

/// Every documented variable, in the table's order.
pub fn variables() -> &'static [Variable] {
    &table().variables
}

pub fn lookup(name: &str) -> Option<&'static Variable> {
    table().variables.iter().find(|v| v.name == name)
}

/// The claude-mpm name `name`, if it is one.
pub fn invented(name: &str) -> Option<&'static Invented> {
    table().claude_mpm.iter().find(|v| v.name == name)
}

/// How a finding may speak of the value it is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quote<'a> {
    /// In backticks, as written.
    Value,
    /// Never, not even a number derived from it: this phrase stands where the
    /// value would (`the value of the secret `$S`, not shown`).
    Instead(&'a str),
}

/// Checks one variable as it would be written into the settings file of `scope`.
pub fn check(name: &str, value: &str, scope: Scope) -> Vec<Finding> {
    check_quoting(name, value, scope, Quote::Value)
}

/// [`check`], with the value quoted only as `quote` allows.
pub fn check_quoting(name: &str, value: &str, scope: Scope, quote: Quote) -> Vec<Finding> {
    if let Some(var) = lookup(name) {
        return check_known(var, value, scope, quote);
    }
    if let Some(invented) = invented(name) {
        return vec![claude_mpm_name(invented, value, quote)];
    }
    if name.starts_with("CLAUDE_MPM_") {
        return vec![Finding {
            severity: Severity::Warning,
            code: "env-claude-mpm",
            message: format!(
                "`{name}` is one of claude-mpm's own settings: Claude Code never reads it"
            ),
            hint: Some("remove it, unless claude-mpm itself still runs here".into()),
        }];
    }
    if name.starts_with("CLAUDE_") || name.starts_with("ANTHROPIC_") {
        return vec![Finding {
            severity: Severity::Warning,
            code: "env-unknown",
            message: format!(
                "`{name}` is not a Claude Code variable mpm knows of (its documented ones, as of Claude Code {RECORDED_FOR}): the client may ignore it"
            ),
            hint: Some(match closest(name) {
                Some(close) => format!("did you mean `{close}`?"),
                None => "check the name against https://code.claude.com/docs/en/env-vars".into(),
            }),
        }];
    }
    Vec::new()
}

fn check_known(var: &Variable, value: &str, scope: Scope, quote: Quote) -> Vec<Finding> {
    let name = &var.name;
    let mut found = Vec::new();
    if !var.scopes.contains(&scope) {
        let why = var
            .notes
            .as_deref()
            .map(|n| format!(": {n}"))
            .unwrap_or_default();
        found.push(Finding {
            severity: Severity::Error,
            code: "env-wrong-scope",
            message: format!("`{name}` cannot be set in {scope} settings{why}"),
            hint: Some(format!(
                "set it in the user settings (`$CLAUDE_CONFIG_DIR/settings.json`, else `~/.claude/settings.json`) or in the environment Claude Code starts in, and remove it from the {scope} settings"
            )),
        });
    }
    if let Some(version) = &var.no_op_since {
        found.push(Finding {
            severity: Severity::Warning,
            code: "env-no-op",
            message: format!("`{name}` does nothing since Claude Code {version}"),
            hint: Some("remove it".into()),
        });
        return found;
    }
    match check_value(var, value) {
        Err(expected) => found.push(Finding {
            severity: Severity::Error,
            code: "env-invalid-value",
            message: format!("`{name}` expects {expected}, got {}", shown(value, quote)),
            hint: var
                .default
                .as_ref()
                .map(|d| format!("Claude Code's default is `{d}`")),
        }),
        Ok(()) => found.extend(seconds_for_milliseconds(var, value, quote)),
    }
    found
}

/// `Err`: what the variable expects, said after "expects".
fn check_value(var: &Variable, value: &str) -> Result<(), String> {
    let fits = match var.kind {
        Kind::String => true,
        Kind::Integer | Kind::Milliseconds => whole_number(value).is_some_and(|n| {
            var.min.is_none_or(|min| n >= min) && var.max.is_none_or(|max| n <= max)
        }),
        Kind::Flag => ["1", "true", "0", "false"]
            .iter()
            .any(|v| v.eq_ignore_ascii_case(value)),
        Kind::Model => !value.is_empty() && !value.contains(char::is_whitespace),
        Kind::Url => ["http://", "https://"]
            .iter()
            .any(|p| value.len() > p.len() && value.starts_with(p)),
        Kind::Path => !value.is_empty(),
        Kind::Enum => var.values.iter().any(|v| v == value),
    };
    if fits {
        return Ok(());
    }
    let range = match (var.min, var.max) {
        (Some(min), Some(max)) => format!(" from {min} to {max}"),
        (Some(min), None) => format!(" of at least {min}"),
        (None, Some(max)) => format!(" of at most {max}"),
        (None, None) => String::new(),
    };
    Err(match var.kind {
        Kind::String => String::new(),
        Kind::Integer => format!("a whole number{range}"),
        Kind::Milliseconds => format!("a time in milliseconds, a whole number{range}"),
        Kind::Flag => "`1` or `true` to turn it on (`0` or `false`: off)".into(),
        Kind::Model => "a model alias or id, one word like `sonnet` or `claude-sonnet-4-5`".into(),
        Kind::Url => "a URL starting with `http://` or `https://`".into(),
        Kind::Path => "a path".into(),
        Kind::Enum => format!(
            "one of {}",
            var.values
                .iter()
                .map(|v| format!("`{v}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    })
}

/// A time under a second, where the client counts milliseconds: most likely
/// seconds, as claude-mpm's own `CLAUDE_TIMEOUT` was.
fn seconds_for_milliseconds(var: &Variable, value: &str, quote: Quote) -> Option<Finding> {
    let n = whole_number(value).filter(|_| var.kind == Kind::Milliseconds)?;
    (n < 1000).then(|| match quote {
        Quote::Value => Finding {
            severity: Severity::Warning,
            code: "env-unit",
            message: format!("`{}` is `{n}` milliseconds, under a second", var.name),
            hint: n
                .checked_mul(1000)
                .map(|ms| format!("the value is in milliseconds: for {n} seconds write `{ms}`")),
        },
        Quote::Instead(instead) => Finding {
            severity: Severity::Warning,
            code: "env-unit",
            message: format!("`{}` is under a second ({instead})", var.name),
            hint: Some("the value is in milliseconds: write seconds times 1000".into()),
        },
    })
}

fn claude_mpm_name(invented: &Invented, value: &str, quote: Quote) -> Finding {
    let mut names = invented.instead.iter().map(|n| format!("`{n}`"));
    let first = names.next().unwrap_or_default();
    let rest: Vec<String> = names.collect();
    let instead = if rest.is_empty() {
        first
    } else {
        format!("{first} (or {})", rest.join(", "))
    };
    // a converted secret is still the secret
    let converted = whole_number(value)
        .filter(|_| quote == Quote::Value)
        .and_then(|n| n.checked_mul(invented.factor));
    let hint = match (invented.factor, converted) {
        (1, Some(n)) => format!("set {instead} instead: `\"{n}\"`"),
        (1, None) => format!("set {instead} instead"),
        (_, Some(n)) => format!(
            "set {instead} instead, in milliseconds: `\"{n}\"` for claude-mpm's `{value}` seconds"
        ),
        (factor, None) => format!(
            "set {instead} instead, in milliseconds (claude-mpm's value was seconds: multiply it by {factor})"
        ),
    };
    Finding {
        severity: Severity::Warning,
        code: "env-claude-mpm",
        message: format!(
            "`{}` is claude-mpm's name, not a variable Claude Code reads: setting it does nothing",
            invented.name
        ),
        hint: Some(hint),
    }
}

/// The documented name a mistyped one was probably meant to be.
fn closest(name: &str) -> Option<&'static str> {
    let allowed = (name.len() / 8).max(2);
    table()
        .variables
        .iter()
        .map(|v| (strsim::damerau_levenshtein(name, &v.name), v.name.as_str()))
        .filter(|(distance, _)| *distance <= allowed)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, n)| n)
}

/// Plain decimal digits, as the client's settings are written.
fn whole_number(value: &str) -> Option<u64> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

/// A value as a message quotes it: in backticks, control characters escaped; or
/// the phrase that stands for it.
fn shown(value: &str, quote: Quote) -> String {
    if let Quote::Instead(instead) = quote {
        instead.to_string()
    } else if value.is_empty() {
        "an empty value".into()
    } else {
        format!("`{}`", crate::text::escaped(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(name: &str, value: &str, scope: Scope) -> Finding {
        let mut found = check(name, value, scope);
        assert_eq!(found.len(), 1, "{name}={value}: {found:?}");
        found.remove(0)
    }

    #[test]
    fn the_table_parses_and_every_row_is_whole() {
        let vars = variables();
        assert!(vars.len() > 30);
        for v in vars {
            assert!(
                v.name
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'),
                "{}",
                v.name
            );
            assert_eq!(v.kind == Kind::Enum, !v.values.is_empty(), "{}", v.name);
            // a default is a value the row accepts
            if let Some(d) = &v.default {
                assert_eq!(check_value(v, d), Ok(()), "{}", v.name);
            }
        }
        let mut names: Vec<&str> = vars.iter().map(|v| v.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), vars.len(), "a name is listed twice");
        for invented in &table().claude_mpm {
            assert!(lookup(&invented.name).is_none());
            assert!(invented.instead.iter().all(|n| lookup(n).is_some()));
        }
    }

    #[test]
    fn a_value_that_does_not_fit_is_an_error_saying_what_fits() {
        let f = one("CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS", "five", Scope::User);
        assert_eq!(f.severity, Severity::Error);
        assert_eq!(f.code, "env-invalid-value");
        assert_eq!(
            f.message,
            "`CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS` expects a whole number of at least 1, got `five`"
        );
        assert_eq!(f.hint.as_deref(), Some("Claude Code's default is `20`"));
        // below the range, and an empty value
        assert!(
            one("CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS", "0", Scope::Project)
                .message
                .ends_with("got `0`")
        );
        assert!(
            one("CLAUDE_CODE_MAX_OUTPUT_TOKENS", "", Scope::Local)
                .message
                .ends_with("got an empty value")
        );
        assert!(
            one("DISABLE_TELEMETRY", "yes", Scope::User)
                .message
                .contains("expects `1` or `true`")
        );
        assert!(
            one("ANTHROPIC_BASE_URL", "proxy.local", Scope::User)
                .message
                .contains("a URL starting with")
        );
        assert!(
            one("ANTHROPIC_MODEL", "claude sonnet", Scope::User)
                .message
                .contains("one word")
        );
        assert_eq!(
            one("API_TIMEOUT_MS", "10m", Scope::User).message,
            "`API_TIMEOUT_MS` expects a time in milliseconds, a whole number of at least 1, got `10m`"
        );
    }

    #[test]
    fn values_that_fit_pass_silently() {
        for (name, value) in [
            ("CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS", "4"),
            ("MAX_THINKING_TOKENS", "0"),
            ("DISABLE_TELEMETRY", "1"),
            ("CLAUDE_CODE_USE_BEDROCK", "true"),
            ("DISABLE_PROMPT_CACHING", "0"),
            ("API_TIMEOUT_MS", "600000"),
            ("CLAUDE_CODE_SUBAGENT_MODEL", "haiku"),
            (
                "ANTHROPIC_MODEL",
                "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
            ),
            ("ANTHROPIC_BASE_URL", "https://llm.corp.internal"),
            ("ANTHROPIC_API_KEY", "anything at all"),
        ] {
            assert_eq!(check(name, value, Scope::Project), vec![], "{name}={value}");
        }
    }

    #[test]
    fn a_millisecond_time_under_a_second_is_probably_seconds() {
        let f = one("BASH_DEFAULT_TIMEOUT_MS", "300", Scope::User);
        assert_eq!(f.severity, Severity::Warning);
        assert_eq!(f.code, "env-unit");
        assert_eq!(
            f.message,
            "`BASH_DEFAULT_TIMEOUT_MS` is `300` milliseconds, under a second"
        );
        assert_eq!(
            f.hint.as_deref(),
            Some("the value is in milliseconds: for 300 seconds write `300000`")
        );
    }

    #[test]
    fn claude_config_dir_is_refused_outside_the_user_settings() {
        assert_eq!(check("CLAUDE_CONFIG_DIR", "/cfg", Scope::User), vec![]);
        for scope in [Scope::Project, Scope::Local] {
            let f = one("CLAUDE_CONFIG_DIR", "/cfg", scope);
            assert_eq!(f.severity, Severity::Error);
            assert_eq!(f.code, "env-wrong-scope");
            assert_eq!(
                f.message,
                format!(
                    "`CLAUDE_CONFIG_DIR` cannot be set in {scope} settings: it decides where Claude Code reads settings from"
                )
            );
            assert!(f.hint.unwrap().starts_with("set it in the user settings"));
        }
    }

    #[test]
    fn a_variable_the_client_ignores_now_says_since_when() {
        let f = one("CLAUDE_CODE_MAX_SUBAGENTS_PER_SESSION", "5", Scope::User);
        assert_eq!(f.severity, Severity::Warning);
        assert_eq!(f.code, "env-no-op");
        assert_eq!(
            f.message,
            "`CLAUDE_CODE_MAX_SUBAGENTS_PER_SESSION` does nothing since Claude Code 2.1.224"
        );
    }

    #[test]
    fn claude_mpms_names_point_at_the_clients_with_the_value_converted() {
        let f = one("CLAUDE_MAX_PARALLEL_SUBAGENTS", "3", Scope::Project);
        assert_eq!(f.severity, Severity::Warning);
        assert_eq!(f.code, "env-claude-mpm");
        assert_eq!(
            f.message,
            "`CLAUDE_MAX_PARALLEL_SUBAGENTS` is claude-mpm's name, not a variable Claude Code reads: setting it does nothing"
        );
        assert_eq!(
            f.hint.as_deref(),
            Some("set `CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS` instead: `\"3\"`")
        );
        // seconds become milliseconds
        assert_eq!(
            one("CLAUDE_TIMEOUT", "300", Scope::User).hint.as_deref(),
            Some(
                "set `API_TIMEOUT_MS` (or `BASH_DEFAULT_TIMEOUT_MS`) instead, in milliseconds: `\"300000\"` for claude-mpm's `300` seconds"
            )
        );
        // a value that is no number cannot be converted: the rule is given instead
        assert_eq!(
            one("CLAUDE_TIMEOUT", "5m", Scope::User).hint.as_deref(),
            Some(
                "set `API_TIMEOUT_MS` (or `BASH_DEFAULT_TIMEOUT_MS`) instead, in milliseconds (claude-mpm's value was seconds: multiply it by 1000)"
            )
        );
        assert_eq!(
            one("CLAUDE_MPM_SYNC_TTL", "60", Scope::User).code,
            "env-claude-mpm"
        );
    }

    #[test]
    fn an_unknown_client_looking_name_is_a_warning_with_the_closest_name() {
        let f = one("CLAUDE_CODE_MAX_CONCURENT_SUBAGENTS", "4", Scope::User);
        assert_eq!(f.severity, Severity::Warning);
        assert_eq!(f.code, "env-unknown");
        assert_eq!(
            f.hint.as_deref(),
            Some("did you mean `CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS`?")
        );
        // nothing close: where to look instead
        let f = one("ANTHROPIC_SOMETHING_ELSE_ENTIRELY", "x", Scope::User);
        assert_eq!(
            f.hint.as_deref(),
            Some("check the name against https://code.claude.com/docs/en/env-vars")
        );
    }

    #[test]
    fn a_value_that_may_not_be_shown_is_in_no_finding() {
        let instead = Quote::Instead("the value of `$S`, not shown");
        let f = check_quoting(
            "ANTHROPIC_BASE_URL",
            "proxy:8080/SEKRIT",
            Scope::User,
            instead,
        );
        assert_eq!(
            f[0].message,
            "`ANTHROPIC_BASE_URL` expects a URL starting with `http://` or `https://`, got the value of `$S`, not shown"
        );
        // nor a number made from it
        for (name, value) in [
            ("BASH_DEFAULT_TIMEOUT_MS", "417"),
            ("CLAUDE_TIMEOUT", "417"),
            ("CLAUDE_MAX_PARALLEL_SUBAGENTS", "417"),
            ("CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS", "x417"),
        ] {
            let found = check_quoting(name, value, Scope::User, instead);
            assert_eq!(found.len(), 1, "{name}");
            for f in found {
                let said = format!("{} {}", f.message, f.hint.unwrap_or_default());
                assert!(!said.contains("417"), "{said}");
            }
        }
        assert_eq!(
            check_quoting("BASH_DEFAULT_TIMEOUT_MS", "417", Scope::User, instead)[0].message,
            "`BASH_DEFAULT_TIMEOUT_MS` is under a second (the value of `$S`, not shown)"
        );
    }

    #[test]
    fn other_names_are_the_users_own_business() {
        for name in ["MY_TOKEN", "PATH", "NODE_OPTIONS", "CLAUDEX"] {
            assert_eq!(check(name, "anything", Scope::Project), vec![], "{name}");
        }
    }
}
