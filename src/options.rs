//! Resolved settings: the global arguments joined with the environment, the user
//! file and the manifest's settings ([`crate::config`]), once, so that commands
//! never read raw flags or `env::var` themselves.

use crate::Error;
use crate::cli::{ColorArg, Command, GlobalArgs};
use crate::config::{self, FileKind, Layers, Settings, TargetSetting};
use crate::diagnose::Diagnose;
use crate::manifest::{self, Loaded, ManifestError, TargetSpec};
use crate::printer::Colors;
use crate::system::{Fault, Faulty, RealSystem, System};
use crate::target::{Env, Origin, Target, TargetError};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Options {
    pub env: Env,
    /// `--manifest`, made absolute.
    pub manifest: Option<PathBuf>,
    /// Every setting's effective value, and where it came from.
    pub settings: Settings,
    /// `--allow-system-target`: `--target` may name a system directory.
    pub allow_system_target: bool,
    /// `--locked`: the registry pins of mpm.lock may not change.
    pub locked: bool,
    /// `--offline`: no network call.
    pub offline: bool,
    /// The command prints JSON (`--json`): no progress bar, even on a terminal.
    pub json: bool,
    /// The `lock_timeout` setting (read in many places).
    pub lock_timeout: Duration,
    /// The command line, recorded in generations and the lock file.
    pub command_line: String,
    /// Where the files' [`System`] fails (tests: `MPM_FAULT`, in debug builds only).
    pub fault: Option<Fault>,
    /// Which of stdout and stderr take colour: the `color` setting, `NO_COLOR`, the
    /// terminals.
    pub colors: Colors,
    /// The manifest, read once, when the command reads it.
    loaded: Option<Arc<Loaded>>,
    /// To print before the command runs.
    pub warnings: Vec<String>,
    /// For `history` and `rollback`: their target, and the `mpm.lock` recording it.
    for_target: Option<(Target, Option<PathBuf>)>,
    /// The layers below the manifest, for a command that reads it again (`watch`).
    below: Layers,
}

/// Settings that could not be resolved: the error, and the colours to print it in.
#[derive(Debug)]
pub struct Unresolved {
    pub error: Error,
    pub colors: Colors,
}

/// Whether a command reads the manifest, and so whether its settings apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestUse {
    /// `plan`, `apply`, `status`, `verify`: it must be there.
    Required,
    /// `history`, `rollback`: when there is one; one that cannot be read is an
    /// error, unless a variable or a flag gives the target (then a warning).
    ForTarget,
    /// `config show`, `cache`: when there is one.
    IfFound,
    /// `init`, `schema`, `diff` (which reads manifests its own way), `apply PLAN`
    /// (a saved plan says where it applies), `completions`, `man`.
    Never,
    /// `watch`: not at start; each round reads it as it is then
    /// ([`Options::with_manifest_read_again`]).
    EachRound,
}

impl ManifestUse {
    pub fn of(command: &Command) -> ManifestUse {
        match command {
            Command::Plan(_) | Command::Status | Command::Verify => ManifestUse::Required,
            Command::Apply(args) if args.plan.is_none() => ManifestUse::Required,
            Command::History(_) | Command::Rollback(_) => ManifestUse::ForTarget,
            Command::Config(_) | Command::Cache(_) | Command::Usage(_) => ManifestUse::IfFound,
            Command::Env(_) => ManifestUse::Required,
            Command::Lock | Command::Update(_) | Command::Outdated(_) => ManifestUse::Required,
            Command::Doctor(_) => ManifestUse::ForTarget,
            Command::Watch(_) => ManifestUse::EachRound,
            Command::Version(_) | Command::Changelog(_) => ManifestUse::Required,
            Command::Apply(_)
            | Command::Init(_)
            | Command::Schema(_)
            | Command::Diff(_)
            | Command::Completions(_)
            | Command::Registry(_)
            | Command::Man(_)
            | Command::Hook(_) => ManifestUse::Never,
        }
    }
}

/// Whether the command prints JSON (`--json`).
fn prints_json(command: &Command) -> bool {
    match command {
        Command::Plan(args) => args.json,
        Command::Outdated(args) => args.json,
        Command::Diff(args) => args.json,
        Command::Usage(args) => args.json,
        Command::Version(args) => match &args.command {
            crate::cli::VersionCommand::Bump(a) => a.json,
            crate::cli::VersionCommand::Check(a) => a.json,
            crate::cli::VersionCommand::Set(_) => false,
        },
        _ => false,
    }
}

/// The flags that set settings, by setting key.
fn flags(global: &GlobalArgs) -> Vec<config::Given> {
    config::flags([
        ("target", global.target.clone().map(Into::into)),
        ("state_dir", global.state_dir.clone().map(Into::into)),
        ("lock_timeout", global.lock_timeout.clone().map(Into::into)),
        (
            "color",
            global
                .color
                .map(|c| config::Kind::show(&c, Path::new("")).into()),
        ),
    ])
}

impl Options {
    /// The colours are decided first, from the layers read so far, so that an error
    /// in the rest is still printed the way `--color` and `NO_COLOR` asked.
    pub fn resolve(
        global: &GlobalArgs,
        command: &Command,
        command_line: String,
    ) -> Result<Options, Unresolved> {
        let mut layers = Layers {
            env: config::variables(|name| std::env::var_os(name)),
            flags: flags(global),
            ..Layers::default()
        };
        let given_color = layers.pick("color", || ColorArg::Auto);
        let mut colors =
            colors_from_process(given_color.as_ref().map_or(ColorArg::Auto, |c| c.value));
        let result = given_color.map_err(Error::from).and_then(|_| {
            Options::resolve_with(
                global,
                ManifestUse::of(command),
                command_line,
                &mut layers,
                &mut colors,
            )
        });
        let result = result.map(|mut options| {
            options.json = prints_json(command);
            options
        });
        result.map_err(|error| Unresolved { error, colors })
    }

    /// `colors` is updated as soon as the user file gives the `color` setting.
    fn resolve_with(
        global: &GlobalArgs,
        manifest_use: ManifestUse,
        command_line: String,
        layers: &mut Layers,
        colors: &mut Colors,
    ) -> Result<Options, Error> {
        let env = Env::from_process()?;
        layers.cwd = env.cwd.clone();
        let user_file = config::user_file(std::env::var_os("XDG_CONFIG_HOME"), env.home.as_deref());
        if let Some(path) = user_file {
            layers.user = config::read_user_file(&path, &env.cwd)?.map(Arc::new);
        }
        // everything but the manifest: its colour, and whether it is read at all
        let below = Settings::resolve(layers)?;
        *colors = colors_from_process(below.color.value);
        let manifest = global
            .manifest
            .as_ref()
            .map(|m| crate::paths::normalize(&env.cwd.join(m)));
        let mut warnings = Vec::new();
        let below_manifest = layers.clone();
        let loaded = read_manifest(
            manifest_use,
            manifest.as_deref(),
            &env,
            below.target.origin.is_given(),
            &mut warnings,
        )?;
        let loaded = loaded.map(Arc::new);
        if let Some(loaded) = &loaded {
            // whether the manifest writes `target: project` or only defaults to it
            // is worth a second look at it only when something below sets a target
            let precise = manifest_use == ManifestUse::IfFound
                || below.target.origin.file() == Some(FileKind::User);
            layers.manifest = Some(Arc::new(config::manifest_layer(loaded, precise)));
        }
        let settings = Settings::resolve(layers)?;
        let mut options = Options {
            manifest,
            allow_system_target: global.allow_system_target,
            locked: global.locked,
            offline: global.offline,
            json: false,
            lock_timeout: settings.lock_timeout.value,
            settings,
            command_line,
            env,
            fault: fault_from_env()?,
            colors: *colors,
            loaded,
            warnings,
            for_target: None,
            below: below_manifest,
        };
        if manifest_use == ManifestUse::ForTarget {
            // history and rollback need the manifest for the target only: it is not
            // kept while they work (a large one is megabytes)
            options.for_target = Some(options.find_target_and_lockfile()?);
            options.loaded = None;
        }
        Ok(options)
    }

    /// The target a variable or a flag gives for this run, and its name.
    pub fn given_target(&self) -> Option<(&Path, &'static str)> {
        match (&self.settings.target.value, &self.settings.target.origin) {
            (TargetSetting::Dir(dir), config::Origin::Env(name) | config::Origin::Flag(name)) => {
                Some((dir.as_path(), name))
            }
            _ => None,
        }
    }

    /// The state dir a variable or a flag gives for this run, and its name.
    pub fn given_state_dir(&self) -> Option<(&Path, &'static str)> {
        match (
            &self.settings.state_dir.value.0,
            &self.settings.state_dir.origin,
        ) {
            (Some(dir), config::Origin::Env(name) | config::Origin::Flag(name)) => {
                Some((dir.as_path(), name))
            }
            _ => None,
        }
    }

    /// Whether the render memo is read and kept (the `cache.enabled` setting).
    pub fn render_memo(&self) -> bool {
        self.settings.cache_enabled.value
    }

    /// The token limits a plan is checked against (`docs/tokens.md`).
    pub fn token_limits(&self) -> crate::tokens::TokenLimits {
        let limit = |setting: &crate::config::Sourced<Option<std::num::NonZeroU64>>| {
            setting.value.map(|max| crate::tokens::Limit {
                max: max.get(),
                origin: setting.origin.clone(),
            })
        };
        crate::tokens::TokenLimits {
            prompt: limit(&self.settings.budget_max_prompt_tokens),
            listing: limit(&self.settings.budget_max_listing_tokens),
        }
    }

    /// The download cache's folder: the `cache.dir` setting, else
    /// `$XDG_CACHE_HOME/mpm`, else `~/.cache/mpm`.
    pub fn cache_dir(&self) -> Result<PathBuf, Error> {
        if let Some(dir) = &self.settings.cache_dir.value.0 {
            return Ok(dir.clone());
        }
        crate::cache::default_dir(self.env.cache_home.as_deref(), self.env.home.as_deref())
            .ok_or_else(|| {
                Error::usage(
                    "there is no folder for the download cache: `HOME` is not set",
                    Some("set `cache.dir` in the user file, or `MPM_CACHE_DIR`".to_string()),
                )
            })
    }

    /// The download cache, bounded by `loaded`'s `cache:` section (the defaults
    /// without a manifest). With `cache.enabled: false` it reads and keeps nothing,
    /// like the render memo: every registry file is fetched, and still checked.
    pub fn cache(&self, loaded: Option<&Loaded>) -> Result<crate::cache::Cache, Error> {
        let limits = cache_limits(loaded);
        let dir = self.cache_dir()?;
        Ok(match self.settings.cache_enabled.value {
            true => crate::cache::Cache::at(dir, limits),
            false => crate::cache::Cache::disabled(dir, limits),
        })
    }

    /// The `mpm.lock` beside the manifest in `manifest_dir`, when `target` is the
    /// manifest's own (not one given by the user file, a variable or a flag) and
    /// lies in the manifest's directory, where it is committed with it. A user
    /// target (`~/.claude`) is each machine's own: a record of one machine's would
    /// be wrong on the next.
    pub fn lockfile_of(&self, loaded: &Loaded, target: &Target) -> Option<PathBuf> {
        let value = &self.settings.target.value;
        let own = match &self.settings.target.origin {
            config::Origin::Default => !matches!(loaded.manifest.target, TargetSpec::User),
            config::Origin::File { layer, .. } if layer.kind == FileKind::Manifest => {
                *value != TargetSetting::User
            }
            // `project` is the manifest's own, whoever says it
            config::Origin::File { .. } => *value == TargetSetting::Project,
            config::Origin::Env(_) | config::Origin::Flag(_) => false,
        };
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
        manifest_path(self.manifest.as_deref(), &self.env)
    }

    /// `-m DIR`: the manifest is a file; the hint names the one in DIR (for `init`,
    /// `writing`: the one to write).
    pub fn manifest_is_a_directory(&self, dir: &Path, writing: bool) -> Error {
        manifest_is_a_directory(dir, writing, &self.env.cwd)
    }

    /// The manifest: as read when the options were resolved, else read now.
    /// The same settings, with the manifest at `path` from now on.
    pub fn with_manifest_path(&self, path: PathBuf) -> Options {
        Options {
            manifest: Some(path),
            ..self.clone()
        }
    }

    /// This run's settings with the manifest read as it is now, its settings
    /// layered in (each round of `watch`).
    pub fn with_manifest_read_again(&self) -> Result<Options, Error> {
        let loaded = Arc::new(manifest::load(&self.manifest_path()?, &self.env.cwd)?);
        let below = Settings::resolve(&self.below)?;
        let mut layers = self.below.clone();
        let precise = below.target.origin.file() == Some(FileKind::User);
        layers.manifest = Some(Arc::new(config::manifest_layer(&loaded, precise)));
        let settings = Settings::resolve(&layers)?;
        Ok(Options {
            lock_timeout: settings.lock_timeout.value,
            settings,
            loaded: Some(loaded),
            ..self.clone()
        })
    }

    pub fn load_manifest(&self) -> Result<Arc<Loaded>, Error> {
        match &self.loaded {
            Some(loaded) => Ok(loaded.clone()),
            None => Ok(Arc::new(manifest::load(
                &self.manifest_path()?,
                &self.env.cwd,
            )?)),
        }
    }

    /// The manifest as read when the options were resolved: for a command that
    /// reads it when there is one ([`ManifestUse::IfFound`]), `None` without one.
    pub fn manifest_if_found(&self) -> Option<&Loaded> {
        self.loaded.as_deref()
    }

    /// The target the settings name, for the manifest `loaded`.
    pub fn target(&self, loaded: &Loaded) -> Result<Target, Error> {
        self.target_in(&loaded.dir)
    }

    /// The target the settings name; `project` is the `.claude` folder in
    /// `manifest_dir`.
    fn target_in(&self, manifest_dir: &Path) -> Result<Target, Error> {
        let (spec, dir) = match &self.settings.target.value {
            TargetSetting::Project => (TargetSpec::Project, None),
            TargetSetting::User => (TargetSpec::User, None),
            TargetSetting::Dir(dir) => (TargetSpec::Project, Some(dir.as_path())),
        };
        let target = Target::resolve(
            &spec,
            manifest_dir,
            dir,
            self.settings.state_dir.value.0.as_deref(),
            &self.env,
        )?;
        let origin = self.target_origin();
        match self.check_not_system(&target, origin) {
            // a file named it (not `user`, whose directory a variable names): point
            // at where
            Err(e @ TargetError::SystemDirectory { .. })
                if matches!(origin, Origin::Manifest | Origin::UserFile) =>
            {
                let from = &self.settings.target.origin;
                Err(from.error(&["path"], e.to_string(), e.hint()).into())
            }
            other => Ok(other.map(|()| target)?),
        }
    }

    /// Where the target came from, for the system-directory rule.
    pub fn target_origin(&self) -> Origin {
        let setting = &self.settings.target;
        match (&setting.value, &setting.origin) {
            (_, config::Origin::Flag(_)) => Origin::Flag,
            (_, config::Origin::Env(name)) => Origin::Variable(name),
            (TargetSetting::User, _) if self.env.claude_config_dir.is_some() => {
                Origin::ClaudeConfigDir
            }
            (TargetSetting::User, _) => Origin::Home,
            (_, from) if from.file() == Some(FileKind::User) => Origin::UserFile,
            _ => Origin::Manifest,
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

    /// The target for commands that need no manifest (history, rollback): the one a
    /// variable or a flag gives, else the manifest's, else the user file's. A
    /// manifest that cannot be read says `--target` avoids it.
    pub fn target_without_manifest(&self) -> Result<Target, Error> {
        Ok(self.target_and_lockfile()?.0)
    }

    /// [`Options::target_without_manifest`], and the manifest's `mpm.lock` when the
    /// target is the manifest's own.
    pub fn target_and_lockfile(&self) -> Result<(Target, Option<PathBuf>), Error> {
        match &self.for_target {
            Some(found) => Ok(found.clone()),
            None => self.find_target_and_lockfile(),
        }
    }

    fn find_target_and_lockfile(&self) -> Result<(Target, Option<PathBuf>), Error> {
        let needs_no_manifest = matches!(
            self.settings.target.value,
            TargetSetting::User | TargetSetting::Dir(_)
        );
        if self.settings.target.origin.is_given() || (self.loaded.is_none() && needs_no_manifest) {
            return Ok((self.target_in(&self.env.cwd)?, None));
        }
        let loaded = self.load_manifest().map_err(needs_only_the_target)?;
        let target = self.target(&loaded)?;
        let lockfile = self.lockfile_of(&loaded, &target);
        Ok((target, lockfile))
    }
}

/// The download cache's bounds: `loaded`'s `cache:` section, the defaults
/// without a manifest.
pub fn cache_limits(loaded: Option<&Loaded>) -> crate::cache::Limits {
    loaded.map_or_else(crate::cache::Limits::default, |l| {
        crate::cache::Limits::of(&l.manifest.cache)
    })
}

/// The manifest, when the command reads it (`manifest`: `--manifest`, absolute).
/// `target_given`: a variable or a flag gives the target, so that history and
/// rollback can do without a manifest that cannot be read (and say so in
/// `warnings`).
fn read_manifest(
    manifest_use: ManifestUse,
    manifest: Option<&Path>,
    env: &Env,
    target_given: bool,
    warnings: &mut Vec<String>,
) -> Result<Option<Loaded>, Error> {
    if matches!(manifest_use, ManifestUse::Never | ManifestUse::EachRound) {
        return Ok(None);
    }
    let found = manifest_path(manifest, env);
    let shown = match &found {
        Ok(path) => format!("`{}`", crate::paths::display(path, &env.cwd)),
        Err(_) => "the manifest".to_string(),
    };
    let for_target = manifest_use == ManifestUse::ForTarget;
    match found.and_then(|path| manifest::load(&path, &env.cwd)) {
        Ok(loaded) => Ok(Some(loaded)),
        Err(Error::Manifest(e))
            if manifest_use != ManifestUse::Required
                && matches!(*e, ManifestError::NotFound { .. }) =>
        {
            Ok(None)
        }
        Err(e) if for_target && target_given => {
            warnings.push(format!(
                "{shown} cannot be read, so its settings are not used: {e}"
            ));
            Ok(None)
        }
        Err(e) if for_target => Err(needs_only_the_target(e)),
        Err(e) => Err(e),
    }
}

/// The manifest path: `manifest` (`--manifest`, absolute), else the nearest
/// `mpm.yaml`.
fn manifest_path(manifest: Option<&Path>, env: &Env) -> Result<PathBuf, Error> {
    match manifest {
        Some(path) if path.is_file() => Ok(path.to_path_buf()),
        Some(path) if path.is_dir() => Err(manifest_is_a_directory(path, false, &env.cwd)),
        Some(path) => Err(Error::usage(
            format!(
                "manifest `{}` not found",
                crate::paths::display(path, &env.cwd)
            ),
            Some("check the `--manifest` path, or run `mpm init`".to_string()),
        )),
        None => Ok(manifest::find(&env.cwd)?),
    }
}

/// See [`Options::manifest_is_a_directory`].
fn manifest_is_a_directory(dir: &Path, writing: bool, cwd: &Path) -> Error {
    let shown = crate::paths::display(dir, cwd);
    let inside = dir.join(manifest::load::FILE_NAME);
    let inside_shown = crate::paths::display(&inside, cwd);
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

/// A manifest error for history and rollback, which can do without it.
fn needs_only_the_target(e: Error) -> Error {
    match e {
        Error::Manifest(m) => Error::from(
            m.with_hint("pass `--target DIR`: history, rollback and doctor need only the target"),
        ),
        other => other,
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
