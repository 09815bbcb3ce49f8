//! Resolved settings: the global arguments joined with the environment, once, so
//! that commands never read raw flags or `env::var` themselves.

use crate::Error;
use crate::cli::{ColorArg, GlobalArgs};
use crate::diagnose::Diagnose;
use crate::manifest::{self, Loaded, TargetSpec};
use crate::printer::Colors;
use crate::state::parse_duration;
use crate::system::{Fault, Faulty, RealSystem, System};
use crate::target::{Env, Origin, Target, TargetError};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Options {
    pub env: Env,
    /// `--manifest`, made absolute.
    pub manifest: Option<PathBuf>,
    pub target: Option<PathBuf>,
    pub state_dir: Option<PathBuf>,
    /// `--allow-system-target`: `--target` may name a system directory.
    pub allow_system_target: bool,
    pub lock_timeout: Duration,
    /// The command line, recorded in generations and the lock file.
    pub command_line: String,
    /// Where the files' [`System`] fails (tests: `MPM_FAULT`, in debug builds only).
    pub fault: Option<Fault>,
    /// Which of stdout and stderr take colour: `--color`, `NO_COLOR`, the terminals.
    pub colors: Colors,
}

/// Settings that could not be resolved: the error, and the colours to print it in.
#[derive(Debug)]
pub struct Unresolved {
    pub error: Error,
    pub colors: Colors,
}

impl Options {
    /// The colours are decided first, and cannot fail, so that an error in the rest
    /// is still printed the way `--color` and `NO_COLOR` asked.
    pub fn resolve(global: &GlobalArgs, command_line: String) -> Result<Options, Unresolved> {
        let colors = colors_from_process(global.color);
        Options::resolve_with(global, command_line, colors)
            .map_err(|error| Unresolved { error, colors })
    }

    fn resolve_with(
        global: &GlobalArgs,
        command_line: String,
        colors: Colors,
    ) -> Result<Options, Error> {
        let env = Env::from_process()?;
        let lock_timeout = parse_duration(&global.lock_timeout)
            .map_err(|e| Error::usage(format!("invalid `--lock-timeout`: {e}"), None))?;
        Ok(Options {
            manifest: global
                .manifest
                .as_ref()
                .map(|m| crate::paths::normalize(&env.cwd.join(m))),
            target: global.target.clone(),
            state_dir: global.state_dir.clone(),
            allow_system_target: global.allow_system_target,
            lock_timeout,
            command_line,
            env,
            fault: fault_from_env()?,
            colors,
        })
    }

    /// The `mpm.lock` beside the manifest in `manifest_dir`, when `target` is the
    /// manifest's own (not one given with `--target`) and lies in the manifest's
    /// directory, where it is committed with it. A user target (`~/.claude`) is
    /// each machine's own: a record of one machine's would be wrong on the next.
    pub fn lockfile_of(&self, loaded: &Loaded, target: &Target) -> Option<PathBuf> {
        let own = self.target.is_none() && !matches!(loaded.manifest.target, TargetSpec::User);
        (own && target.root.starts_with(&loaded.dir))
            .then(|| crate::lockfile::path_beside(&loaded.dir))
    }

    /// The door to the target's files.
    pub fn system(&self) -> Box<dyn System> {
        match self.fault {
            Some(fault) => Box::new(Faulty::new(RealSystem, fault)),
            None => Box::new(RealSystem),
        }
    }

    /// The manifest path: `--manifest`, else the nearest `mpm.yaml`.
    pub fn manifest_path(&self) -> Result<PathBuf, Error> {
        match &self.manifest {
            Some(path) if path.is_file() => Ok(path.clone()),
            Some(path) if path.is_dir() => Err(self.manifest_is_a_directory(path, false)),
            Some(path) => Err(Error::usage(
                format!(
                    "manifest `{}` not found",
                    crate::paths::display(path, &self.env.cwd)
                ),
                Some("check the `--manifest` path, or run `mpm init`".to_string()),
            )),
            None => Ok(manifest::find(&self.env.cwd)?),
        }
    }

    /// `-m DIR`: the manifest is a file; the hint names the one in DIR (for `init`,
    /// `writing`: the one to write).
    pub fn manifest_is_a_directory(&self, dir: &std::path::Path, writing: bool) -> Error {
        let shown = crate::paths::display(dir, &self.env.cwd);
        let inside = dir.join(manifest::load::FILE_NAME);
        let inside_shown = crate::paths::display(&inside, &self.env.cwd);
        let hint = if writing {
            format!("`--manifest` names the file to write, like `{inside_shown}`")
        } else if inside.is_file() {
            format!("`--manifest` takes the file: pass `{inside_shown}`")
        } else {
            format!(
                "`--manifest` takes a file, and there is no `{}` in `{shown}`; `mpm init --manifest {inside_shown}` writes one",
                manifest::load::FILE_NAME
            )
        };
        Error::usage(format!("manifest `{shown}` is a directory"), Some(hint))
    }

    pub fn load_manifest(&self) -> Result<Loaded, Error> {
        manifest::load(&self.manifest_path()?, &self.env.cwd)
    }

    pub fn target(&self, loaded: &Loaded) -> Result<Target, Error> {
        let target = Target::resolve(
            &loaded.manifest.target,
            &loaded.dir,
            self.target.as_deref(),
            self.state_dir.as_deref(),
            &self.env,
        )?;
        let origin = Origin::of(&loaded.manifest.target, self.target.is_some(), &self.env);
        match self.check_not_system(&target, origin) {
            // the manifest said it: point at where
            Err(e @ TargetError::SystemDirectory { .. }) if origin == Origin::Manifest => {
                Err(loaded
                    .error_at(&["target", "path"], e.to_string(), e.hint())
                    .into())
            }
            other => Ok(other.map(|()| target)?),
        }
    }

    pub fn check_not_system(&self, target: &Target, origin: Origin) -> Result<(), TargetError> {
        crate::target::check_not_system(
            &target.root,
            crate::target::resolved(&target.root).as_deref(),
            &target.display,
            origin,
            self.allow_system_target,
        )
    }

    /// The target for commands that need no manifest (history, rollback): `--target`,
    /// else the manifest's. A manifest that cannot be read says `--target` avoids it.
    pub fn target_without_manifest(&self) -> Result<Target, Error> {
        Ok(self.target_and_lockfile()?.0)
    }

    /// [`Options::target_without_manifest`], and the manifest's `mpm.lock` when the
    /// target is the manifest's own.
    pub fn target_and_lockfile(&self) -> Result<(Target, Option<PathBuf>), Error> {
        if self.target.is_some() {
            let target = Target::resolve(
                &TargetSpec::Project,
                &self.env.cwd,
                self.target.as_deref(),
                self.state_dir.as_deref(),
                &self.env,
            )?;
            self.check_not_system(&target, Origin::Flag)?;
            return Ok((target, None));
        }
        let loaded = self.load_manifest().map_err(|e| match e {
            Error::Manifest(m) => Error::from(m.with_hint(
                "pass `--target DIR`: history and rollback need only the target's state log",
            )),
            other => other,
        })?;
        let target = self.target(&loaded)?;
        let lockfile = self.lockfile_of(&loaded, &target);
        Ok((target, lockfile))
    }
}

/// `--color` for each of stdout and stderr, with `NO_COLOR` (set and not empty)
/// and whether that stream is a terminal.
fn colors_from_process(flag: ColorArg) -> Colors {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    Colors {
        stdout: color(flag, no_color, std::io::stdout().is_terminal()),
        stderr: color(flag, no_color, std::io::stderr().is_terminal()),
    }
}

/// `always` and `never` are what they say; `auto` colours a terminal unless
/// `NO_COLOR` is set.
fn color(flag: ColorArg, no_color: bool, terminal: bool) -> bool {
    match flag {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => terminal && !no_color,
    }
}

/// `MPM_FAULT=rename:3` makes the n-th call of that step fail (`:abort` kills the
/// process there instead): deterministic error and crash tests of the real binary.
/// Read by debug builds only; a release build has no such door.
fn fault_from_env() -> Result<Option<Fault>, Error> {
    if !cfg!(debug_assertions) {
        return Ok(None);
    }
    match std::env::var("MPM_FAULT") {
        Ok(spec) if !spec.is_empty() => Fault::parse(&spec)
            .map(Some)
            .map_err(|e| Error::usage(format!("invalid `MPM_FAULT`: {e}"), None)),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // the policy moved here from `Printer::new` unchanged: `NO_COLOR` silences
    // `auto` only, and a pipe or file never gets escape codes unless asked
    #[test]
    fn auto_colours_only_a_terminal_and_never_with_no_color() {
        assert!(color(ColorArg::Auto, false, true));
        assert!(!color(ColorArg::Auto, true, true));
        assert!(!color(ColorArg::Auto, false, false));
        assert!(color(ColorArg::Always, true, false));
        assert!(!color(ColorArg::Never, false, true));
    }
}
