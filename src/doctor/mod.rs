//! `mpm doctor`: the health check of a whole target, mpm's agents or not. What
//! Claude Code would skip, shadow or misread, and what would stop mpm itself, each
//! a [`Finding`] that says what to do.
//!
//! Each check owns a module and is a function of values ([`agents`], [`settings`],
//! [`place`], [`modes`]); [`scan`] reads the disk into those values and [`state`]
//! reads the state log, both without writing a byte (not even `.mpm/`). No
//! finding quotes a value [`withheld`] says is, or may be, a secret.

pub mod agents;
pub mod modes;
pub mod place;
pub mod render;
pub mod scan;
pub mod settings;
pub mod state;
pub mod withheld;

pub use crate::claude_env::Severity;

use crate::target::{Env, Target};
use std::path::PathBuf;
use std::time::Duration;

/// One thing wrong, where, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    /// Stable and short (`agent-no-name`): docs/cli.md lists every one.
    pub code: &'static str,
    /// The file or folder it is about (absolute).
    pub path: PathBuf,
    /// 1-based line and column in that file, when known.
    pub at: Option<(usize, usize)>,
    pub message: String,
    pub hint: Option<String>,
}

impl Finding {
    pub fn new(
        severity: Severity,
        code: &'static str,
        path: impl Into<PathBuf>,
        message: impl Into<String>,
        hint: impl Into<Option<String>>,
    ) -> Finding {
        Finding {
            severity,
            code,
            path: path.into(),
            at: None,
            message: message.into(),
            hint: hint.into(),
        }
    }

    pub fn at(mut self, line: usize, column: usize) -> Finding {
        self.at = Some((line, column.max(1)));
        self
    }
}

/// What the check is run on.
pub struct Subject<'a> {
    pub target: &'a Target,
    pub env: &'a Env,
    /// How long to wait for the state log's lock (`--lock-timeout`).
    pub lock_timeout: Duration,
    pub command_line: &'a str,
}

/// Every check, in the order the findings are shown: where the target is, its
/// agents, its settings, its state log (read first: it names the secrets the
/// settings checks must not quote).
pub fn examine(subject: &Subject) -> Vec<Finding> {
    let target = subject.target;
    let env = subject.env;
    let shown = |p: &std::path::Path| crate::paths::display(p, &env.cwd);
    let state = state::check(
        &target.state_dir,
        &target.root,
        subject.command_line,
        subject.lock_timeout,
        &shown,
    );
    let place = place::Place::of(&target.root, env);
    let mut found = place::check(&place, &target.root, &target.display, env);
    match scan::kind_of(&target.root) {
        scan::Kind::Missing => {
            found.push(Finding::new(
                Severity::Warning,
                "target-missing",
                &target.root,
                format!(
                    "the target `{}` does not exist: Claude Code finds no agents there",
                    target.display
                ),
                Some("`mpm apply` creates it".to_string()),
            ));
        }
        scan::Kind::NotADirectory => {
            found.push(Finding::new(
                Severity::Error,
                "target-not-a-directory",
                &target.root,
                format!("the target `{}` is not a directory", target.display),
                Some(
                    "point `target:` in mpm.yaml or `--target` at a Claude Code config directory"
                        .to_string(),
                ),
            ));
        }
        scan::Kind::Directory => {
            let (mut of_files, loaded) =
                inspect_all(scan::agents(&target.root.join("agents"), &shown));
            // by file (a stable sort: a folder's own finding stays before its files')
            of_files.sort_by(|a, b| a.path.cmp(&b.path));
            found.extend(of_files);
            found.extend(agents::duplicates(&loaded));
            found.extend(agents::builtins(&loaded));
            if let Some(user) = place.user_dir_beside(&target.root) {
                // the user's own files are not the target's problems: only their names
                let (_, theirs) = inspect_all(scan::agents(&user.join("agents"), &shown));
                found.extend(agents::shadowing(&loaded, &theirs));
            }
            for (path, scope) in place.settings_files(&target.root) {
                found.extend(scan::settings(&path, scope, &state.secrets, &shown));
            }
        }
    }
    found.extend(state.findings);
    found
}

/// The problems of every agent file scanned, and the agents the client would load.
fn inspect_all(scanned: scan::Agents) -> (Vec<Finding>, Vec<agents::Loaded>) {
    let mut found = scanned.findings;
    let mut loaded = Vec::new();
    for file in scanned.files {
        let inspected = agents::inspect(&file.text, &file.stem);
        found.extend(inspected.problems.into_iter().map(|p| p.of(&file.path)));
        if let Some(name) = inspected.name {
            loaded.push(agents::Loaded {
                name,
                path: file.path,
                shown: file.shown,
            });
        }
    }
    (found, loaded)
}
