//! `mpm diff --format markdown`: a pull-request comment. A table of the agents that
//! change, then each diff in a fenced `diff` block inside `<details>` (open when
//! short, closed when long). GitHub refuses a comment over 65,536 characters, so
//! diffs that would pass that are left out, and the comment says which.

use super::{AgentChange, Side, summary, unified_diff};
use crate::Error;
use std::fmt::Write as _;

/// GitHub's limit on a comment body, in characters (bytes here: never fewer).
pub const COMMENT_LIMIT: usize = 65_536;
/// A diff of more lines than this is collapsed.
pub const LONG_DIFF: usize = 40;
/// Kept free under the limit for the note naming the diffs left out.
const NOTE_ROOM: usize = 1024;

/// The comment, whole. `rev` is REF as given.
pub fn render_markdown(
    changes: &[AgentChange],
    before: &Side,
    after: &Side,
    rev: &str,
) -> Result<String, Error> {
    let mut out = String::new();
    if changes.is_empty() {
        let _ = write!(
            out,
            "### mpm diff: no changes\n\nThe agents rendered from the working tree match `{rev}`.\n"
        );
        return Ok(out);
    }
    let s = summary(changes);
    let _ = write!(
        out,
        "### mpm diff: {} added, {} changed, {} removed\n\n\
         The agents rendered from the working tree, compared with `{rev}`.\n\n\
         | agent | change | before | after |\n|---|---|---|---|\n",
        s.added, s.changed, s.removed
    );
    for c in changes {
        let version = |r: &Option<super::Rendered>| {
            r.as_ref()
                .and_then(|r| r.version.clone())
                .unwrap_or_default()
        };
        let _ = writeln!(
            out,
            "| `{}` | {}{} | {} | {} |",
            c.agent,
            c.change.word(),
            if c.disabled { " (disabled)" } else { "" },
            version(&c.before),
            version(&c.after),
        );
    }
    let mut left_out: Vec<&str> = Vec::new();
    for c in changes {
        // once one is left out, so are the rest: the order stays the table's
        if !left_out.is_empty() {
            left_out.push(&c.agent);
            continue;
        }
        let block = diff_block(c, before, after)?;
        // room is kept for the note that names what was left out
        if out.len() + block.len() + NOTE_ROOM <= COMMENT_LIMIT {
            out.push_str(&block);
        } else {
            left_out.push(&c.agent);
        }
    }
    if !left_out.is_empty() {
        let mut names = String::new();
        for (i, name) in left_out.iter().enumerate() {
            if names.len() + name.len() > NOTE_ROOM / 2 {
                let _ = write!(names, " and {} more", left_out.len() - i);
                break;
            }
            if i > 0 {
                names.push_str(", ");
            }
            let _ = write!(names, "`{name}`");
        }
        let _ = write!(
            out,
            "\nThe diffs of {names} are left out: GitHub takes at most {COMMENT_LIMIT} characters in a comment. `mpm diff {rev}` shows them.\n"
        );
    }
    Ok(out)
}

/// One agent's diff in a fenced block inside `<details>`.
fn diff_block(c: &AgentChange, before: &Side, after: &Side) -> Result<String, Error> {
    let diff = unified_diff(c, before, after)?;
    let lines = diff.lines().count();
    let long = lines > LONG_DIFF;
    let fence = "`".repeat(longest_backtick_run(&diff).max(2) + 1);
    let versions = c.versions();
    Ok(format!(
        "\n<details{}>\n<summary><code>{}</code> {}{}{}</summary>\n\n{fence}diff\n{diff}{}{fence}\n\n</details>\n",
        if long { "" } else { " open" },
        escape(&c.agent),
        c.change.word(),
        if versions.is_empty() {
            String::new()
        } else {
            format!(", {}", escape(&versions))
        },
        if long {
            format!(" ({lines} lines)")
        } else {
            String::new()
        },
        if diff.ends_with('\n') { "" } else { "\n" },
    ))
}

/// The longest run of backticks in `text`: a fence must be longer, or a code block
/// in an agent's prompt would close it.
fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::Address;
    use crate::desired::{DesiredResource, DesiredState, Owner, Source};
    use crate::hash::Digest;
    use std::collections::HashMap;

    /// Agent files by digest.
    struct Bytes(HashMap<Digest, Vec<u8>>);

    impl Source for Bytes {
        fn bytes(&self, _: &Address, digest: &Digest) -> Result<Vec<u8>, Error> {
            Ok(self.0.get(digest).cloned().unwrap_or_default())
        }
    }

    // A pull request that adds many large agents: GitHub refuses a comment over its
    // limit, and the whole comment would be lost.
    #[test]
    fn a_comment_stays_under_githubs_limit_and_names_what_it_left_out() {
        let mut after = DesiredState::default();
        let mut bytes = HashMap::new();
        for i in 0..30 {
            let name = format!("agent-{i:02}");
            let content = format!("{name}\n").repeat(400).into_bytes();
            let resource = DesiredResource::new(
                &content,
                Owner {
                    agent: Some(name.clone()),
                    version: None,
                    source: "inline".into(),
                },
                false,
            );
            bytes.insert(resource.digest, content);
            after.resources.insert(
                Address::parse(&format!("agents/{name}.md")).unwrap(),
                resource,
            );
        }
        let changes = super::super::compare(&DesiredState::default(), &after);
        let (none, some) = (Bytes(HashMap::new()), Bytes(bytes));
        let side = |source: &'static str, s| Side {
            source: s,
            label: source,
        };
        let text = render_markdown(
            &changes,
            &side("main", &none),
            &side("working tree", &some),
            "main",
        )
        .unwrap();
        assert!(text.len() <= COMMENT_LIMIT, "{}", text.len());
        // each diff is about 4 KB: the table and about fifteen of them fit
        assert!(text.contains("<summary><code>agent-00</code>"));
        assert!(!text.contains("<summary><code>agent-29</code>"));
        assert!(text.contains("| `agent-29` | added |  |  |"));
        assert!(
            text.ends_with(" are left out: GitHub takes at most 65536 characters in a comment. `mpm diff main` shows them.\n"),
            "{}",
            &text[text.len() - 300..]
        );
        assert!(text.contains("The diffs of `agent-"), "{text}");
    }

    #[test]
    fn a_fence_is_longer_than_any_backtick_run_inside() {
        assert_eq!(longest_backtick_run("a ``` b `` c"), 3);
        assert_eq!(longest_backtick_run("none"), 0);
    }
}
