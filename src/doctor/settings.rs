//! A settings file (`settings.json`, `settings.local.json`) as Claude Code reads it:
//! JSON that parses, an object, and an `env` object whose entries are held to the
//! variables the client documents ([`crate::claude_env`]) for the file's scope; and
//! no key given twice, which the client reads and mpm will not rewrite. A value
//! [`withheld`](super::withheld) is in no finding.

use super::withheld::Secrets;
use super::{Finding, Severity};
use crate::claude_env::{self, Quote, Scope};
use std::path::Path;

/// Every problem of one settings file, from its bytes; `secrets` are the values
/// not to quote.
pub fn check(path: &Path, bytes: &[u8], scope: Scope, secrets: &Secrets) -> Vec<Finding> {
    let value: serde_json::Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => return vec![invalid_json(path, &e)],
    };
    let mut found: Vec<Finding> = duplicate_key(path, bytes).into_iter().collect();
    found.extend(check_value(path, bytes, &value, scope, secrets));
    found
}

/// A key given twice in one object: the client keeps the last, mpm never rewrites
/// the file (that would drop the other value).
fn duplicate_key(path: &Path, bytes: &[u8]) -> Option<Finding> {
    let d = crate::unique_keys::check(std::str::from_utf8(bytes).ok()?).err()?;
    let key = d.key.dotted();
    let f = Finding::new(
        Severity::Warning,
        "settings-duplicate-key",
        path,
        format!(
            "`{key}` is given twice in one object: Claude Code reads the last one, and mpm never rewrites the file (that would drop the other)"
        ),
        Some("keep one of the two".to_string()),
    );
    Some(f.at(d.line, d.column))
}

/// The problems of a settings file that parses.
fn check_value(
    path: &Path,
    bytes: &[u8],
    value: &serde_json::Value,
    scope: Scope,
    secrets: &Secrets,
) -> Vec<Finding> {
    let Some(top) = value.as_object() else {
        return vec![Finding::new(
            Severity::Error,
            "settings-not-object",
            path,
            "the file is not a JSON object: Claude Code reads its settings as `{\"key\": value, ...}`",
            Some("write the settings inside `{` and `}`".to_string()),
        )];
    };
    let Some(env) = top.get("env") else {
        return Vec::new();
    };
    let text = String::from_utf8_lossy(bytes);
    let Some(env) = env.as_object() else {
        let f = Finding::new(
            Severity::Error,
            "settings-not-object",
            path,
            "`env` is not a JSON object: Claude Code reads it as variable names mapped to strings",
            Some("write it as `\"env\": {\"NAME\": \"value\"}`".to_string()),
        );
        return vec![located(f, key_position(&text, None, "env"))];
    };
    let mut found = Vec::new();
    for (name, value) in env {
        let at = key_position(&text, Some("env"), name);
        // a number is withheld by its name only: no credential's form is a number
        let withheld = secrets.withheld(path, name, value.as_str().unwrap_or_default());
        let written = match value {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(_) | serde_json::Value::Bool(_) => {
                let written = value.to_string();
                let hint = if withheld.is_some() {
                    format!("write it in quotes: `\"{name}\": \"<value>\"`")
                } else {
                    format!("write `\"{name}\": \"{written}\"`")
                };
                found.push(located(
                    Finding::new(
                        Severity::Warning,
                        "env-not-string",
                        path,
                        format!(
                            "`{name}` is {}, not a string: settings files give every variable a string",
                            if value.is_number() { "a number" } else { "`true` or `false`" }
                        ),
                        Some(hint),
                    ),
                    at,
                ));
                written
            }
            _ => {
                found.push(located(
                    Finding::new(
                        Severity::Error,
                        "env-not-string",
                        path,
                        format!("`{name}` is not a string: a variable's value is text"),
                        Some(format!("write `\"{name}\": \"<value>\"`")),
                    ),
                    at,
                ));
                continue;
            }
        };
        let instead = withheld.as_ref().map(|why| why.instead());
        let quote = instead.as_deref().map_or(Quote::Value, Quote::Instead);
        for f in claude_env::check_quoting(name, &written, scope, quote) {
            let fix = withheld
                .as_ref()
                .and_then(|why| why.fix())
                .filter(|_| f.code == "env-invalid-value");
            let hint = match (fix, f.hint) {
                (Some(fix), Some(hint)) => Some(format!("{fix} ({hint})")),
                (fix, hint) => fix.or(hint),
            };
            let finding = Finding::new(f.severity, f.code, path, f.message, hint);
            found.push(located(finding, at));
        }
    }
    found
}

fn located(f: Finding, at: Option<(usize, usize)>) -> Finding {
    match at {
        Some((line, column)) => f.at(line, column),
        None => f,
    }
}

/// serde_json's syntax and end-of-input messages are fixed phrases (`expected `,`
/// or `}``), which quote none of the text: a secret in a file that does not parse
/// stays out of the finding. Its other messages come from a type's own
/// deserializer and may quote a value (`invalid type: string "..."`); a
/// [`serde_json::Value`] gives none, and were one to, it is not shown either.
fn invalid_json(path: &Path, e: &serde_json::Error) -> Finding {
    use serde_json::error::Category;
    let mut message = match e.classify() {
        Category::Syntax | Category::Eof => e.to_string(),
        Category::Data | Category::Io => "the parser refused it".to_string(),
    };
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    if let Some(i) = message.rfind(&suffix) {
        message.truncate(i);
    }
    let f = Finding::new(
        Severity::Error,
        "settings-invalid-json",
        path,
        format!("not valid JSON: {message}: Claude Code cannot read the settings in it"),
        Some("fix the JSON there".to_string()),
    );
    if e.line() == 0 {
        f
    } else {
        f.at(e.line(), e.column())
    }
}

/// Where the key `"key"` is written (1-based line and column of its opening quote),
/// after the key `"within"` when given: the positions serde_json does not keep. A
/// key written with escapes is not found; the finding then names the file only.
fn key_position(text: &str, within: Option<&str>, key: &str) -> Option<(usize, usize)> {
    let start = match within {
        Some(outer) => find_key(text, 0, outer)?,
        None => 0,
    };
    let at = find_key(text, start, key)?;
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    Some((line, column))
}

/// The byte offset of `"key"` followed by a `:`, from `from` on.
fn find_key(text: &str, from: usize, key: &str) -> Option<usize> {
    let quoted = format!("\"{key}\"");
    let mut offset = from;
    while let Some(i) = text.get(offset..)?.find(&quoted) {
        let at = offset + i;
        let after = text[at + quoted.len()..].trim_start();
        if after.starts_with(':') {
            return Some(at);
        }
        offset = at + quoted.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_text(text: &str, scope: Scope) -> Vec<Finding> {
        check(
            Path::new("/p/.claude/settings.json"),
            text.as_bytes(),
            scope,
            &Secrets::none(),
        )
    }

    /// Every word of every finding, to look for a value in.
    fn said(found: &[Finding]) -> String {
        found
            .iter()
            .map(|f| format!("{} {}\n", f.message, f.hint.as_deref().unwrap_or_default()))
            .collect()
    }

    #[test]
    fn json_that_does_not_parse_is_named_with_its_line_and_column() {
        let found = check_text(
            "{\n  \"env\": {\n    \"A\": \"1\"\n    \"B\": \"2\"\n  }\n}\n",
            Scope::User,
        );
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].code, "settings-invalid-json");
        assert_eq!(found[0].at, Some((4, 5)));
        assert_eq!(
            found[0].message,
            "not valid JSON: expected `,` or `}`: Claude Code cannot read the settings in it"
        );
        // an empty file: serde_json's end of input
        assert_eq!(check_text("", Scope::User)[0].code, "settings-invalid-json");
    }

    #[test]
    fn env_entries_are_checked_for_the_files_scope_at_their_line() {
        let text = "{\n  \"model\": \"opus\",\n  \"env\": {\n    \"MY_TOKEN\": \"x\",\n    \"CLAUDE_CONFIG_DIR\": \"/cfg\",\n    \"CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS\": \"five\"\n  }\n}\n";
        let found = check_text(text, Scope::Project);
        let codes: Vec<(&str, Option<(usize, usize)>)> =
            found.iter().map(|f| (f.code, f.at)).collect();
        assert_eq!(
            codes,
            vec![
                ("env-wrong-scope", Some((5, 5))),
                ("env-invalid-value", Some((6, 5))),
            ]
        );
        // in the user's own settings the directory may be set
        assert_eq!(check_text(text, Scope::User).len(), 1);
    }

    #[test]
    fn a_key_given_twice_is_a_warning_at_the_second() {
        let found = check_text(
            "{\n  \"env\": {\n    \"A\": \"1\",\n    \"A\": \"2\"\n  }\n}\n",
            Scope::User,
        );
        assert_eq!(found.len(), 1);
        assert_eq!(
            (found[0].severity, found[0].code, found[0].at),
            (Severity::Warning, "settings-duplicate-key", Some((4, 5)))
        );
        assert_eq!(
            found[0].message,
            "`env.A` is given twice in one object: Claude Code reads the last one, and mpm never rewrites the file (that would drop the other)"
        );
    }

    #[test]
    fn a_key_is_found_inside_env_not_elsewhere() {
        let text = "{\"hooks\": {\"A\": 1}, \"env\": {\"A\": \"1\"}}";
        assert_eq!(key_position(text, Some("env"), "A"), Some((1, 29)));
        assert_eq!(key_position(text, Some("env"), "B"), None);
    }

    #[test]
    fn values_that_are_not_strings() {
        let found = check_text(
            "{\"env\": {\"DISABLE_TELEMETRY\": 1, \"X\": [1]}}",
            Scope::User,
        );
        let codes: Vec<(Severity, &str)> = found.iter().map(|f| (f.severity, f.code)).collect();
        assert_eq!(
            codes,
            vec![
                (Severity::Warning, "env-not-string"),
                (Severity::Error, "env-not-string")
            ]
        );
        assert_eq!(
            found[0].hint.as_deref(),
            Some("write `\"DISABLE_TELEMETRY\": \"1\"`")
        );
        assert_eq!(
            check_text("[1]", Scope::User)[0].code,
            "settings-not-object"
        );
        assert_eq!(
            check_text("{\"env\": 1}", Scope::User)[0].code,
            "settings-not-object"
        );
        assert_eq!(check_text("{\"model\": \"opus\"}", Scope::User), vec![]);
    }

    #[test]
    fn a_recorded_secret_that_does_not_fit_is_named_not_quoted() {
        let path = Path::new("/p/.claude/settings.local.json");
        let address =
            crate::address::Address::parse("settings.local.json#/env/ANTHROPIC_BASE_URL").unwrap();
        let secrets = Secrets::recorded(Path::new("/p/.claude"), [(&address, "S")]);
        let text = "{\"env\": {\"ANTHROPIC_BASE_URL\": \"proxy.corp:8080/HUNTERTOKEN\"}}";
        let found = check(path, text.as_bytes(), Scope::Local, &secrets);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].code, "env-invalid-value");
        assert_eq!(
            found[0].message,
            "`ANTHROPIC_BASE_URL` expects a URL starting with `http://` or `https://`, got the value of the secret `$S`, not shown"
        );
        assert_eq!(
            found[0].hint.as_deref(),
            Some("give `S` a value that fits where mpm runs, then run `mpm apply`")
        );
        // with no state log to say so, the same value is quoted: it is no credential
        assert!(
            said(&check(
                path,
                text.as_bytes(),
                Scope::Local,
                &Secrets::none()
            ))
            .contains("HUNTERTOKEN")
        );
        // and with a state log that cannot be read, nothing is
        let unread = check(path, text.as_bytes(), Scope::Local, &Secrets::Unread);
        assert!(!said(&unread).contains("HUNTERTOKEN"), "{unread:?}");
    }

    #[test]
    fn a_credential_looking_value_is_in_no_finding() {
        let found = check_text(
            "{\"env\": {\"MY_API_KEY\": 8675309, \"DISABLE_TELEMETRY\": \"sk-ant-xyz\", \"API_TIMEOUT_MS\": \"bob:pw@x\"}}",
            Scope::User,
        );
        let codes: Vec<&str> = found.iter().map(|f| f.code).collect();
        assert_eq!(
            codes,
            vec!["env-not-string", "env-invalid-value", "env-invalid-value"]
        );
        let said = said(&found);
        for value in ["8675309", "sk-ant-xyz", "bob:pw"] {
            assert!(!said.contains(value), "{said}");
        }
        assert_eq!(
            found[0].hint.as_deref(),
            Some("write it in quotes: `\"MY_API_KEY\": \"<value>\"`")
        );
        assert_eq!(
            found[1].message,
            "`DISABLE_TELEMETRY` expects `1` or `true` to turn it on (`0` or `false`: off), got a value not shown, as it looks like a credential"
        );
    }

    #[test]
    fn json_that_does_not_parse_quotes_none_of_its_text() {
        // every way a file with a secret in it can fail to parse
        for text in [
            "{\"env\": {\"T\": \"HUNTER2",
            "{\"env\": {\"T\": \"HUNTER2\u{1}\"}}",
            "{\"env\": {\"T\": \"HUNTER2\\q\"}}",
            "{\"env\": {\"T\": HUNTER2}}",
            "{\"env\": {\"T\": \"HUNTER2\" \"U\": 1}}",
            "{\"env\": {HUNTER2: 1}}",
            "{\"env\": {\"T\": 1e999999}} HUNTER2",
            "{\"env\": {\"T\": \"HUNTER2\"}} HUNTER2",
            "{\"env\": {\"T\": \"\\uD800HUNTER2\"}}",
        ] {
            let found = check_text(text, Scope::User);
            assert_eq!(found[0].code, "settings-invalid-json", "{text}");
            assert!(!said(&found).contains("HUNTER2"), "{text}: {found:?}");
        }
    }
}
