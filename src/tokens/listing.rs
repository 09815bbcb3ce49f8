//! What of an agent file reaches the model, as text, the way Claude Code 2.1.330
//! sends it (seen in its requests through `claude-session --requests`):
//!
//! - the **prompt**: a subagent's system prompt is the file's body after the
//!   frontmatter, trimmed (a blank first line and the last newline are not sent),
//!   after two lines of the client's own;
//! - the **listing**: every session's first message lists the agents the `Agent`
//!   tool can start, one line each, sorted by name:
//!   `- qa: Reviews code (Tools: Read, Grep)`. The tools part is the `tools` list
//!   less `disallowedTools`, joined by `, `; `All tools` without a list (or with
//!   an empty one, or `*`); `All tools except Write, Edit` with only
//!   `disallowedTools`. The description is sent as the YAML gives it (a `|` block
//!   keeps its newlines, the last included).

use serde_yaml::Value;

/// The two texts of one agent file that are counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Texts {
    pub prompt: String,
    /// The agent's line of the listing, with its newline.
    pub listing: String,
}

/// The texts of an agent file; `None` when it is not one the client would load
/// (no frontmatter, no `name`), which mpm never writes.
pub fn texts(file: &str) -> Option<Texts> {
    let rest = file
        .strip_prefix("---\n")
        .or_else(|| file.strip_prefix("---\r\n"))?;
    let (yaml, body) = split_frontmatter(rest)?;
    let front: Value = serde_yaml::from_str(yaml).ok()?;
    let name = scalar(front.get("name")?)?;
    let description = front
        .get("description")
        .and_then(scalar)
        .unwrap_or_default();
    let tools = tools_text(
        front.get("tools").and_then(list),
        front.get("disallowedTools").and_then(list),
    );
    Some(Texts {
        prompt: body.trim().to_string(),
        listing: format!("- {name}: {description} (Tools: {tools})\n"),
    })
}

/// The frontmatter's YAML and the body after its closing `---` line.
fn split_frontmatter(rest: &str) -> Option<(&str, &str)> {
    let mut at = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "---" {
            return Some((&rest[..at], &rest[at + line.len()..]));
        }
        at += line.len();
    }
    None
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A tool list as the client reads it: a comma-separated string or a YAML list.
fn list(value: &Value) -> Option<Vec<String>> {
    let items: Vec<String> = match value {
        Value::String(s) => s.split(',').map(|t| t.trim().to_string()).collect(),
        Value::Sequence(items) => items.iter().filter_map(scalar).collect(),
        _ => return None,
    };
    Some(items.into_iter().filter(|t| !t.is_empty()).collect())
}

/// The `(Tools: …)` part of a listing line.
fn tools_text(tools: Option<Vec<String>>, disallowed: Option<Vec<String>>) -> String {
    let disallowed = disallowed.unwrap_or_default();
    match tools {
        Some(tools) if !tools.is_empty() && !tools.iter().any(|t| t == "*") => tools
            .into_iter()
            .filter(|t| !disallowed.contains(t))
            .collect::<Vec<_>>()
            .join(", "),
        _ if disallowed.is_empty() => "All tools".to_string(),
        _ => format!("All tools except {}", disallowed.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(file: &str) -> String {
        texts(file).unwrap().listing
    }

    // each case as Claude Code 2.1.330 listed it (tests/tokens.rs checks the
    // same files against the real client when `MPM_REAL_CLIENT=1`)
    #[test]
    fn the_listing_line_is_the_clients() {
        assert_eq!(
            listing("---\nname: qa\ndescription: Reviews code\ntools: Read, Grep\n---\nx\n"),
            "- qa: Reviews code (Tools: Read, Grep)\n"
        );
        assert_eq!(
            listing("---\nname: w\ndescription: \"Writes: docs\"\n---\nx\n"),
            "- w: Writes: docs (Tools: All tools)\n"
        );
        assert_eq!(
            listing("---\nname: d\ndescription: D\ndisallowedTools: Write, Edit\n---\n"),
            "- d: D (Tools: All tools except Write, Edit)\n"
        );
        assert_eq!(
            listing(
                "---\nname: b\ndescription: B\ntools: Bash, Read, Write\ndisallowedTools: Write\n---\n"
            ),
            "- b: B (Tools: Bash, Read)\n"
        );
        assert_eq!(
            listing("---\nname: s\ndescription: S\ntools: \"*\"\n---\n"),
            "- s: S (Tools: All tools)\n"
        );
        assert_eq!(
            listing("---\nname: e\ndescription: E\ntools: \"\"\n---\n"),
            "- e: E (Tools: All tools)\n"
        );
        assert_eq!(
            listing(
                "---\nname: m\ndescription: |\n  One.\n  Two.\ntools:\n  - Bash\n  - Read\n---\n"
            ),
            "- m: One.\nTwo.\n (Tools: Bash, Read)\n"
        );
    }

    #[test]
    fn the_prompt_is_the_body_trimmed() {
        let t =
            texts("---\nname: qa\ndescription: Q\n---\n\nYou are QA.\n\nCheck twice.\n").unwrap();
        assert_eq!(t.prompt, "You are QA.\n\nCheck twice.");
        let t = texts("---\r\nname: qa\r\ndescription: Q\r\n---\r\nBody\r\n").unwrap();
        assert_eq!(t.prompt, "Body");
    }

    #[test]
    fn a_file_the_client_would_not_load_has_no_texts() {
        assert_eq!(texts("no frontmatter"), None);
        assert_eq!(texts("---\ndescription: no name\n---\nx"), None);
        assert_eq!(texts("---\nname: qa\nnever closed"), None);
    }
}
