//! File modes that matter to Claude Code: an agent file its owner cannot read is
//! skipped, and a settings file or agents folder others may write lets them choose
//! what Claude Code runs (settings hold hooks; agents hold prompts and tools).

use super::{Finding, Severity};
use std::path::Path;

/// An agent file whose owner lacks read permission: Claude Code, run as its owner,
/// cannot load it.
pub fn unreadable_agent(path: &Path, shown: &str, mode: u32) -> Option<Finding> {
    (mode & 0o400 == 0).then(|| {
        Finding::new(
            Severity::Error,
            "agent-unreadable",
            path,
            format!(
                "the file has mode {:04o}: its owner cannot read it, so Claude Code skips it",
                mode & 0o7777
            ),
            Some(format!("`chmod u+r {shown}`")),
        )
    })
}

/// A settings file (`what`: `settings`) or agents folder (`agents`) that others
/// may write.
pub fn writable_by_others(path: &Path, shown: &str, mode: u32, what: What) -> Option<Finding> {
    let (severity, who, flag) = if mode & 0o002 != 0 {
        (Severity::Error, "every user", "o")
    } else if mode & 0o020 != 0 {
        (Severity::Warning, "its group", "g")
    } else {
        return None;
    };
    let (code, consequence) = match what {
        What::Settings => (
            "settings-writable",
            "can change the settings Claude Code runs with, hooks included",
        ),
        What::Agents => (
            "agents-dir-writable",
            "can add an agent Claude Code will load",
        ),
    };
    Some(Finding::new(
        severity,
        code,
        path,
        format!(
            "writable by {who} (mode {:04o}): any of them {consequence}",
            mode & 0o7777
        ),
        Some(format!("`chmod {flag}-w {shown}`")),
    ))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum What {
    Settings,
    Agents,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_agent_its_owner_cannot_read_is_an_error() {
        let p = Path::new("/t/agents/qa.md");
        assert_eq!(unreadable_agent(p, "agents/qa.md", 0o100644), None);
        assert_eq!(unreadable_agent(p, "agents/qa.md", 0o400), None);
        let f = unreadable_agent(p, "agents/qa.md", 0o100044).unwrap();
        assert_eq!(f.code, "agent-unreadable");
        assert_eq!(
            f.message,
            "the file has mode 0044: its owner cannot read it, so Claude Code skips it"
        );
        assert_eq!(f.hint.as_deref(), Some("`chmod u+r agents/qa.md`"));
    }

    #[test]
    fn writable_by_every_user_is_an_error_by_the_group_a_warning() {
        let p = Path::new("/t/settings.json");
        assert_eq!(writable_by_others(p, "s", 0o644, What::Settings), None);
        assert_eq!(writable_by_others(p, "s", 0o600, What::Settings), None);
        let f = writable_by_others(p, "s", 0o666, What::Settings).unwrap();
        assert_eq!((f.severity, f.code), (Severity::Error, "settings-writable"));
        assert_eq!(
            f.message,
            "writable by every user (mode 0666): any of them can change the settings Claude Code runs with, hooks included"
        );
        assert_eq!(f.hint.as_deref(), Some("`chmod o-w s`"));
        let f = writable_by_others(p, "a", 0o40775, What::Agents).unwrap();
        assert_eq!(
            (f.severity, f.code),
            (Severity::Warning, "agents-dir-writable")
        );
        assert_eq!(f.hint.as_deref(), Some("`chmod g-w a`"));
    }
}
