//! Where the target is to Claude Code: the user's config directory, a project's
//! `.claude` folder, or a directory it never looks in; and whether the
//! environment mpm runs in would send Claude Code elsewhere (the claude-mpm
//! guide's "agents not discovered").

use super::{Finding, Severity};
use crate::claude_env::Scope;
use crate::target::Env;
use std::path::{Path, PathBuf};

/// What a target is to Claude Code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// The user's config directory; `configured` is `$CLAUDE_CONFIG_DIR` when it
    /// names another directory (then Claude Code reads that one instead).
    User { configured: Option<PathBuf> },
    /// `<project>/.claude`; `user` is the user's config directory, whose agents the
    /// project's hide.
    Project { user: Option<PathBuf> },
    /// Neither: Claude Code reads it only when started with `CLAUDE_CONFIG_DIR` set
    /// to it; `configured` is where it reads instead, when set.
    Elsewhere { configured: Option<PathBuf> },
}

impl Place {
    /// Decided by the path alone (links resolved), whatever the manifest called it.
    pub fn of(root: &Path, env: &Env) -> Place {
        let same = |a: &Path, b: &Path| resolved(a) == resolved(b);
        let configured = env
            .claude_config_dir
            .as_ref()
            .map(|d| crate::paths::normalize(&env.cwd.join(d)));
        let default_user = env.home.as_ref().map(|h| h.join(".claude"));
        if configured.as_deref().is_some_and(|c| same(c, root)) {
            return Place::User { configured: None };
        }
        if default_user.as_deref().is_some_and(|d| same(d, root)) {
            return Place::User { configured };
        }
        if root.file_name().is_some_and(|n| n == ".claude") {
            return Place::Project {
                user: configured.or(default_user),
            };
        }
        Place::Elsewhere { configured }
    }

    /// The settings files Claude Code reads from the target, with their scope.
    pub fn settings_files(&self, root: &Path) -> Vec<(PathBuf, Scope)> {
        match self {
            Place::Project { .. } => vec![
                (root.join("settings.json"), Scope::Project),
                (root.join("settings.local.json"), Scope::Local),
            ],
            Place::User { .. } | Place::Elsewhere { .. } => {
                vec![(root.join("settings.json"), Scope::User)]
            }
        }
    }

    /// For a project target, the user's config directory, whose agents of the same
    /// name the project's hide (not when it is the target itself).
    pub fn user_dir_beside(&self, root: &Path) -> Option<&Path> {
        match self {
            Place::Project { user: Some(user) } if resolved(user) != resolved(root) => Some(user),
            _ => None,
        }
    }
}

fn resolved(p: &Path) -> PathBuf {
    crate::target::resolved(p).unwrap_or_else(|| p.to_path_buf())
}

/// Whether Claude Code started in this environment would read the target.
pub fn check(place: &Place, root: &Path, shown: &str, env: &Env) -> Vec<Finding> {
    let absolute = root.display();
    let elsewhere = |configured: &Path| {
        Finding::new(
            Severity::Warning,
            "config-dir-elsewhere",
            root,
            format!(
                "`CLAUDE_CONFIG_DIR` is `{}`: Claude Code started in this environment reads its user agents and settings there, not in the target `{shown}`",
                crate::paths::display(configured, &env.cwd)
            ),
            Some(format!(
                "set `CLAUDE_CONFIG_DIR={absolute}` where Claude Code starts, or unset it to use `~/.claude`"
            )),
        )
    };
    match place {
        Place::User {
            configured: Some(configured),
        } => vec![elsewhere(configured)],
        Place::Elsewhere {
            configured: Some(configured),
        } => vec![elsewhere(configured)],
        Place::Elsewhere { configured: None } => vec![Finding::new(
            Severity::Warning,
            "target-not-read",
            root,
            format!(
                "Claude Code does not look in `{shown}`: it reads the user's agents from `~/.claude` (`$CLAUDE_CONFIG_DIR` when set) and a project's from its `.claude` folder"
            ),
            Some(format!(
                "start Claude Code with `CLAUDE_CONFIG_DIR={absolute}`, or use `target: user` or `target: project`"
            )),
        )],
        Place::User { configured: None } | Place::Project { .. } => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(config: Option<&str>) -> Env {
        Env {
            cwd: "/work/p".into(),
            home: Some("/home/u".into()),
            claude_config_dir: config.map(PathBuf::from),
            cache_home: None,
        }
    }

    #[test]
    fn a_target_is_placed_by_its_path() {
        let place = |root: &str, config| Place::of(Path::new(root), &env(config));
        assert_eq!(
            place("/home/u/.claude", None),
            Place::User { configured: None }
        );
        assert_eq!(
            place("/cfg", Some("/cfg")),
            Place::User { configured: None }
        );
        // relative to where mpm runs, as the client would take it
        assert_eq!(
            place("/work/p/cfg", Some("cfg")),
            Place::User { configured: None }
        );
        assert_eq!(
            place("/home/u/.claude", Some("/cfg")),
            Place::User {
                configured: Some("/cfg".into())
            }
        );
        assert_eq!(
            place("/work/p/.claude", None),
            Place::Project {
                user: Some("/home/u/.claude".into())
            }
        );
        assert_eq!(
            place("/work/p/.claude", Some("/cfg")),
            Place::Project {
                user: Some("/cfg".into())
            }
        );
        assert_eq!(
            place("/work/p/out", None),
            Place::Elsewhere { configured: None }
        );
    }

    #[test]
    fn a_target_claude_code_would_not_read_is_a_warning_saying_how_to_make_it() {
        let e = env(None);
        let root = Path::new("/work/p/out");
        let found = check(&Place::of(root, &e), root, "out", &e);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].code, "target-not-read");
        assert_eq!(
            found[0].hint.as_deref(),
            Some(
                "start Claude Code with `CLAUDE_CONFIG_DIR=/work/p/out`, or use `target: user` or `target: project`"
            )
        );
        let e = env(Some("/cfg"));
        let root = Path::new("/home/u/.claude");
        let found = check(&Place::of(root, &e), root, "/home/u/.claude", &e);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].code, "config-dir-elsewhere");
        assert_eq!(
            found[0].message,
            "`CLAUDE_CONFIG_DIR` is `/cfg`: Claude Code started in this environment reads its user agents and settings there, not in the target `/home/u/.claude`"
        );
        // a project's own folder is read wherever the user's config directory is
        let root = Path::new("/work/p/.claude");
        assert_eq!(check(&Place::of(root, &e), root, ".claude", &e), vec![]);
    }

    #[test]
    fn a_project_reads_two_settings_files_a_config_directory_one() {
        let root = Path::new("/p/.claude");
        let project = Place::Project { user: None };
        assert_eq!(
            project.settings_files(root),
            vec![
                (PathBuf::from("/p/.claude/settings.json"), Scope::Project),
                (
                    PathBuf::from("/p/.claude/settings.local.json"),
                    Scope::Local
                ),
            ]
        );
        assert_eq!(
            Place::User { configured: None }.settings_files(Path::new("/cfg")),
            vec![(PathBuf::from("/cfg/settings.json"), Scope::User)]
        );
    }
}
