//! Agent files as the real client loads them (`reference/claude-code.md`): which it
//! skips, which it loads but never checks, and which names it resolves to one file
//! of several (two files with one name, a project agent hiding a user agent, a
//! file replacing a built-in agent). Any file in `agents/`, mpm's or not.

use super::{Finding, Severity};
use crate::agent_file;
use crate::name::AgentName;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A problem of one file, before it is told which file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub severity: Severity,
    pub code: &'static str,
    pub message: String,
    pub hint: Option<String>,
}

impl Problem {
    fn new(
        severity: Severity,
        code: &'static str,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Problem {
        Problem {
            severity,
            code,
            message: message.into(),
            hint: Some(hint.into()),
        }
    }

    pub fn of(self, path: &Path) -> Finding {
        Finding::new(self.severity, self.code, path, self.message, self.hint)
    }
}

/// What the client makes of one `.md` file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Inspected {
    /// The agent's name, when the client loads it.
    pub name: Option<String>,
    pub problems: Vec<Problem>,
}

fn skipped(problem: Problem) -> Inspected {
    Inspected {
        name: None,
        problems: vec![problem],
    }
}

/// Inspects one agent file; `stem` (its file name without `.md`) names the agent in
/// the hints.
pub fn inspect(text: &str, stem: &str) -> Inspected {
    let mut lines = text.split_inclusive('\n');
    let fence = |line: &str| line.trim_end_matches(['\r', '\n']) == "---";
    let suggested = AgentName::parse(stem).map_or("<name>".to_string(), |n| n.to_string());
    if !lines.next().is_some_and(fence) {
        let blank_first = text
            .lines()
            .find(|l| !l.trim().is_empty())
            .is_some_and(|l| l.trim_end() == "---");
        return skipped(if blank_first {
            Problem::new(
                Severity::Error,
                "agent-blank-before-frontmatter",
                "a blank line comes before the first `---`: Claude Code skips the file silently",
                "remove the blank lines above `---`: it must be the first line",
            )
        } else {
            Problem::new(
                Severity::Error,
                "agent-no-frontmatter",
                "the file does not start with a `---` line: Claude Code skips it silently",
                format!(
                    "start it with its frontmatter: `---`, `name: {suggested}`, `description: <when to use it>`, `---`"
                ),
            )
        });
    }
    let mut yaml = String::new();
    let mut closed = false;
    for line in lines {
        if fence(line) {
            closed = true;
            break;
        }
        yaml.push_str(line);
    }
    if !closed {
        return skipped(Problem::new(
            Severity::Error,
            "agent-no-frontmatter",
            "the frontmatter has no closing `---` line: Claude Code cannot read it",
            "end the frontmatter with a line holding only `---`",
        ));
    }
    let value: serde_yaml::Value = match serde_yaml::from_str(&yaml) {
        Ok(value) => value,
        Err(e) => return skipped(bad_yaml(&e)),
    };
    let map = match value {
        serde_yaml::Value::Mapping(m) => m,
        serde_yaml::Value::Null => serde_yaml::Mapping::new(),
        _ => {
            return skipped(Problem::new(
                Severity::Error,
                "agent-invalid-yaml",
                "the frontmatter is not a YAML mapping of keys to values: Claude Code skips the file",
                "write it as `key: value` lines",
            ));
        }
    };
    let get = |key: &str| map.get(serde_yaml::Value::String(key.to_string()));
    let name = match get("name") {
        Some(serde_yaml::Value::String(s)) => s.clone(),
        Some(_) => {
            return skipped(Problem::new(
                Severity::Error,
                "agent-no-name",
                "`name` is not a string: Claude Code skips the file",
                format!("write it as a string: `name: {suggested}`"),
            ));
        }
        None => {
            return skipped(Problem::new(
                Severity::Error,
                "agent-no-name",
                "`name` is missing: Claude Code skips the file silently",
                format!("add `name: {suggested}` to its frontmatter"),
            ));
        }
    };
    if !matches!(get("description"), Some(serde_yaml::Value::String(s)) if !s.trim().is_empty()) {
        return skipped(Problem::new(
            Severity::Error,
            "agent-no-description",
            "`description` is missing or empty: Claude Code skips the file",
            "add a `description:` saying when Claude should use the agent",
        ));
    }
    let shown = crate::text::escaped(&name);
    if name.contains(':') {
        return skipped(Problem::new(
            Severity::Error,
            "agent-bad-name",
            format!(
                "the name `{shown}` contains `:`, which Claude Code keeps for plugins: 2.1.330 skips the file (2.1.197 loaded it)"
            ),
            format!("rename it, like `{}`", shown.replace(':', "-")),
        ));
    }
    let mut inspected = Inspected {
        name: Some(name.clone()),
        problems: Vec::new(),
    };
    if let Err(e) = AgentName::parse(&name) {
        // loaded as written: the client is no guard, so this is not the end of it
        inspected.problems.push(Problem {
            severity: Severity::Warning,
            code: "agent-unsafe-name",
            message: format!(
                "{}: Claude Code loads it as written, mpm would refuse it",
                e.message
            ),
            hint: e.hint.or(Some(
                "rename it in the frontmatter and the file name".into(),
            )),
        });
        return inspected;
    }
    // what is left the client loads without a word: a typo it never reports
    if let Err(agent_file::FileProblem(message, hint)) = agent_file::check_ready_file(text) {
        inspected.problems.push(Problem {
            severity: Severity::Warning,
            code: "agent-unchecked",
            message: format!("{message} (Claude Code loads the file and never says)"),
            hint,
        });
    }
    inspected
}

/// A frontmatter that does not parse. An unquoted `: ` inside a value is the one
/// case the client reads anyway (its parser falls back quietly).
fn bad_yaml(e: &serde_yaml::Error) -> Problem {
    let mut message = e.to_string();
    // serde_yaml counts lines from the frontmatter; the file has `---` above it
    let at = e.location().map(|l| {
        if let Some(i) = message.find(&format!(" at line {} column {}", l.line(), l.column())) {
            message.truncate(i);
        }
        format!(" (line {}, column {})", l.line() + 1, l.column())
    });
    let at = at.unwrap_or_default();
    if message.contains("mapping values are not allowed") {
        Problem::new(
            Severity::Warning,
            "agent-invalid-yaml",
            format!(
                "the frontmatter is not valid YAML{at}: {message}: Claude Code guesses at such a line and loads the file, other readers refuse it"
            ),
            "quote the value that contains `: `",
        )
    } else {
        Problem::new(
            Severity::Error,
            "agent-invalid-yaml",
            format!("the frontmatter is not valid YAML{at}: {message}: Claude Code skips the file"),
            "fix the YAML at that line",
        )
    }
}

/// A file Claude Code would load as an agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    pub name: String,
    pub path: PathBuf,
    /// As the user would type it.
    pub shown: String,
}

/// Two files of one folder that declare one name: the client loads one, by no
/// documented rule, differently per version.
pub fn duplicates(loaded: &[Loaded]) -> Vec<Finding> {
    let mut by_name: BTreeMap<&str, Vec<&Loaded>> = BTreeMap::new();
    for l in loaded {
        by_name.entry(&l.name).or_default().push(l);
    }
    by_name
        .into_iter()
        .filter(|(_, files)| files.len() > 1)
        .map(|(name, files)| {
            let list = files
                .iter()
                .map(|f| format!("`{}`", f.shown))
                .collect::<Vec<_>>()
                .join(", ");
            Finding::new(
                Severity::Error,
                "agent-duplicate-name",
                &files[0].path,
                format!(
                    "{} files declare the agent `{}`: {list}; Claude Code loads one of them, by no documented rule",
                    files.len(),
                    crate::text::escaped(name)
                ),
                Some("rename or remove all but one".to_string()),
            )
        })
        .collect()
}

/// A project agent with a user agent's name: the project's wins.
pub fn shadowing(project: &[Loaded], user: &[Loaded]) -> Vec<Finding> {
    project
        .iter()
        .filter_map(|p| {
            let theirs = user.iter().find(|u| u.name == p.name)?;
            Some(Finding::new(
                Severity::Warning,
                "agent-shadows-user",
                &p.path,
                format!(
                    "the agent `{}` hides the user's agent of the same name in `{}`: Claude Code loads the project's",
                    crate::text::escaped(&p.name),
                    theirs.shown
                ),
                Some("rename one of them if both are meant to be used".to_string()),
            ))
        })
        .collect()
}

/// The client's own agents; a file with one of their names replaces it.
pub const BUILT_IN: &[&str] = &[
    "claude",
    "Explore",
    "general-purpose",
    "Plan",
    "statusline-setup",
];

pub fn builtins(loaded: &[Loaded]) -> Vec<Finding> {
    loaded
        .iter()
        .filter(|l| BUILT_IN.contains(&l.name.as_str()))
        .map(|l| {
            Finding::new(
                Severity::Warning,
                "agent-replaces-builtin",
                &l.path,
                format!(
                    "`{}` is the name of one of Claude Code's built-in agents: this file replaces it",
                    l.name
                ),
                Some("rename it, unless replacing the built-in agent is meant".to_string()),
            )
        })
        .collect()
}

/// A file in `agents/` the client never loads for its name alone (`.markdown`, no
/// extension), or `None`. Hidden files are left alone: mpm's own temp files and
/// `.gitkeep` are hidden, and a hidden `.md` file is loaded like any other.
pub fn never_loaded(file_name: &str) -> Option<Problem> {
    if file_name.starts_with('.') {
        return None;
    }
    let (stem, wrong) = match file_name.rsplit_once('.') {
        Some((stem, "markdown")) => (stem, "a `.markdown` file"),
        None => (file_name, "a file without an extension"),
        Some(_) => return None,
    };
    Some(Problem::new(
        Severity::Warning,
        "agent-not-loaded",
        format!("Claude Code never loads {wrong}: it reads only `.md` files"),
        format!("rename it to `{stem}.md` if it is an agent"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(text: &str) -> Problem {
        let inspected = inspect(text, "qa");
        assert_eq!(inspected.problems.len(), 1, "{text:?}: {inspected:?}");
        inspected.problems[0].clone()
    }

    #[test]
    fn a_good_file_has_a_name_and_no_problem() {
        assert_eq!(
            inspect("---\nname: qa\ndescription: Tests\n---\nBody\n", "qa"),
            Inspected {
                name: Some("qa".into()),
                problems: vec![]
            }
        );
        // the frontmatter's name is the identity, not the file's
        assert_eq!(
            inspect("---\nname: other\ndescription: d\n---\n", "qa").name,
            Some("other".into())
        );
    }

    #[test]
    fn files_the_client_skips_are_errors_and_load_no_name() {
        let cases = [
            ("name: qa\n", "agent-no-frontmatter"),
            (
                "\n---\nname: qa\ndescription: d\n---\n",
                "agent-blank-before-frontmatter",
            ),
            ("---\nname: qa\ndescription: d\n", "agent-no-frontmatter"),
            ("---\ndescription: d\n---\n", "agent-no-name"),
            ("---\nname: 3\ndescription: d\n---\n", "agent-no-name"),
            ("---\nname: qa\n---\n", "agent-no-description"),
            (
                "---\nname: qa\ndescription: ' '\n---\n",
                "agent-no-description",
            ),
            (
                "---\nname: qa\ndescription: [d\n---\n",
                "agent-invalid-yaml",
            ),
            ("---\n- a\n---\n", "agent-invalid-yaml"),
            (
                "---\nname: tools:qa\ndescription: d\n---\n",
                "agent-bad-name",
            ),
        ];
        for (text, code) in cases {
            let inspected = inspect(text, "qa");
            assert_eq!(inspected.name, None, "{text:?}");
            let p = &inspected.problems[0];
            assert_eq!((p.severity, p.code), (Severity::Error, code), "{text:?}");
        }
        assert_eq!(
            problem("---\ndescription: d\n---\n").hint.as_deref(),
            Some("add `name: qa` to its frontmatter")
        );
        assert_eq!(
            problem("---\nname: qa\ndescription: [d\n---\n").message,
            "the frontmatter is not valid YAML (line 4, column 1): did not find expected ',' or ']': Claude Code skips the file"
        );
    }

    #[test]
    fn an_unquoted_colon_is_loaded_by_the_client_anyway() {
        let p = problem("---\nname: qa\ndescription: Use: for tests\n---\n");
        assert_eq!(
            (p.severity, p.code),
            (Severity::Warning, "agent-invalid-yaml")
        );
        assert!(
            p.message.contains("Claude Code guesses at such a line"),
            "{}",
            p.message
        );
    }

    #[test]
    fn files_the_client_loads_without_checking_are_warnings_and_keep_their_name() {
        let inspected = inspect("---\nname: Q A\ndescription: d\n---\n", "qa");
        assert_eq!(inspected.name, Some("Q A".into()));
        assert_eq!(inspected.problems[0].code, "agent-unsafe-name");
        assert_eq!(inspected.problems[0].severity, Severity::Warning);
        let inspected = inspect("---\nname: qa\ndescription: d\nmodel: gpt-4\n---\n", "qa");
        assert_eq!(inspected.name, Some("qa".into()));
        let p = &inspected.problems[0];
        assert_eq!((p.severity, p.code), (Severity::Warning, "agent-unchecked"));
        assert!(
            p.message.starts_with("unknown model `gpt-4`"),
            "{}",
            p.message
        );
    }

    fn loaded(name: &str, shown: &str) -> Loaded {
        Loaded {
            name: name.into(),
            path: PathBuf::from("/t").join(shown),
            shown: shown.into(),
        }
    }

    #[test]
    fn one_name_in_two_files_is_an_error_naming_both() {
        let found = duplicates(&[
            loaded("qa", "agents/qa.md"),
            loaded("docs", "agents/docs.md"),
            loaded("qa", "agents/sub/tester.md"),
        ]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].code, "agent-duplicate-name");
        assert_eq!(
            found[0].message,
            "2 files declare the agent `qa`: `agents/qa.md`, `agents/sub/tester.md`; Claude Code loads one of them, by no documented rule"
        );
    }

    #[test]
    fn a_project_agent_hides_a_user_agent_and_a_built_in_name_replaces_the_built_in() {
        let found = shadowing(
            &[
                loaded("qa", ".claude/agents/qa.md"),
                loaded("docs", ".claude/agents/docs.md"),
            ],
            &[loaded("qa", "home/.claude/agents/qa.md")],
        );
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].severity, Severity::Warning);
        assert_eq!(
            found[0].message,
            "the agent `qa` hides the user's agent of the same name in `home/.claude/agents/qa.md`: Claude Code loads the project's"
        );
        let found = builtins(&[
            loaded("general-purpose", "agents/gp.md"),
            loaded("qa", "agents/qa.md"),
        ]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].code, "agent-replaces-builtin");
    }

    #[test]
    fn only_md_files_are_loaded() {
        assert_eq!(never_loaded("qa.md"), None);
        assert_eq!(never_loaded(".hidden.md"), None);
        assert_eq!(never_loaded(".mpm-tmp.123.4"), None);
        assert_eq!(never_loaded("notes.txt"), None);
        let p = never_loaded("qa.markdown").unwrap();
        assert_eq!(
            p.message,
            "Claude Code never loads a `.markdown` file: it reads only `.md` files"
        );
        assert_eq!(
            p.hint.as_deref(),
            Some("rename it to `qa.md` if it is an agent")
        );
        assert_eq!(
            never_loaded("qa").unwrap().message,
            "Claude Code never loads a file without an extension: it reads only `.md` files"
        );
    }
}
