//! One file per subcommand. Each gathers its inputs, runs the shared pipeline below,
//! and prints through the [`Printer`].

mod apply;
mod cache;
mod changelog;
mod completions;
mod config;
mod diff;
mod doctor;
mod env;
mod history;
pub mod hook;
mod init;
mod lock;
mod man;
mod plan;
mod registry;
mod rollback;
mod status;
mod usage;
mod version;
mod watch;

use crate::Error;
use crate::actual::{self, ActualState};
use crate::cli::Command;
use crate::desired::{self, DesiredState, Renderer, Source};
use crate::error::ExitStatus;
use crate::manifest::Loaded;
use crate::options::Options;
use crate::plan::{Plan, PlanOptions, TextOptions};
use crate::printer::Printer;
use crate::state::{LastApplied, LockMode, ManifestInfo, StateStore};
use crate::target::Target;
use std::sync::Arc;

pub fn run(command: Command, options: &Options, printer: &Printer) -> Result<ExitStatus, Error> {
    match command {
        Command::Plan(args) => plan::run(options, &args, printer),
        Command::Apply(args) => apply::run(options, &args, printer),
        Command::Status => status::status(options, printer),
        Command::Verify => status::verify(options, printer),
        Command::History(args) => history::run(options, &args, printer),
        Command::Rollback(args) => rollback::run(options, &args, printer),
        Command::Init(args) => init::run(options, &args, printer),
        Command::Diff(args) => diff::run(options, &args, printer),
        Command::Doctor(args) => doctor::run(options, &args, printer),
        Command::Env(args) => env::run(options, &args, printer),
        Command::Config(args) => config::run(options, &args, printer),
        Command::Schema(args) => {
            printer.out(&match args.index {
                true => crate::registry::index::json_schema(),
                false => crate::manifest::json_schema(),
            });
            Ok(ExitStatus::Success)
        }
        Command::Cache(args) => cache::run(options, &args, printer),
        Command::Completions(args) => completions::run(&args, printer),
        Command::Man(args) => man::run(options, &args, printer),
        Command::Watch(args) => watch::run(options, &args, printer),
        Command::Lock => lock::lock(options, printer),
        Command::Update(args) => lock::update(options, &args, printer),
        Command::Outdated(args) => lock::outdated(options, &args, printer),
        Command::Registry(args) => registry::run(&args, printer),
        Command::Usage(args) => usage::run(options, &args, printer),
        Command::Hook(args) => hook::run(options, &args, printer),
        Command::Version(args) => version::run(options, &args, printer),
        Command::Changelog(args) => changelog::run(options, &args, printer),
    }
}

/// Everything a plan was made from.
pub struct Planned {
    pub loaded: Option<Arc<Loaded>>,
    pub target: Target,
    pub desired: DesiredState,
    pub actual: ActualState,
    pub last: LastApplied,
    /// Open (and locked) when the target has a state log.
    pub store: Option<StateStore>,
    pub plan: Plan,
    /// The `mpm.lock` that records this target (`None`: `--target` elsewhere).
    pub lockfile: Option<std::path::PathBuf>,
    /// The digest of that file as the plan read it (`None`: there is none); the
    /// commands that compare it with what an apply would write use this, not a
    /// second read.
    pub lockfile_seen: Option<crate::hash::Digest>,
}

/// Keeps what the agents rendered to for the next plan (a cache: failing to write
/// it fails nothing).
pub fn keep_memo(memo: Option<desired::memo::Memo>, state_dir: &std::path::Path) {
    if let Some(memo) = memo {
        let _ = memo.write(state_dir);
    }
}

impl Planned {
    /// The files the plan was made from: the manifest first, then every other
    /// input it read.
    pub fn files_read(&self) -> Vec<std::path::PathBuf> {
        let manifest = self.loaded.as_ref().map(|l| &l.path);
        let inputs = self.desired.inputs.iter().map(|i| &i.path);
        let others = inputs.filter(|p| Some(*p) != manifest);
        manifest.into_iter().chain(others).cloned().collect()
    }

    pub fn manifest_info(&self) -> Option<ManifestInfo> {
        self.loaded.as_ref().map(|l| ManifestInfo {
            path: l.display.clone(),
            sha256: l.digest,
            git: crate::git::describe(&l.dir),
        })
    }

    /// Prints the plan as text, Terraform-style, comparing with `compared_with`.
    pub fn show(
        &self,
        source: &dyn Source,
        compared_with: &str,
        tokens: Option<&Tokens>,
        printer: &Printer,
    ) -> Result<(), Error> {
        let opts = TextOptions {
            target: &format!("`{}`", self.target.display),
            source: compared_with,
            diffs: true,
            tokens: tokens.map(|t| (&t.counted.tokens, &t.limits)),
        };
        crate::plan::render_text(
            &self.plan,
            source,
            &self.target,
            printer,
            &opts,
            &mut printer.out_writer(),
        )
    }
}

/// A plan's token counts and the limits they were checked against.
pub struct Tokens {
    pub counted: crate::tokens::Counted,
    pub limits: crate::tokens::TokenLimits,
}

impl Tokens {
    /// The counts of `planned`'s agents when `asked` (`--tokens`) or a limit is
    /// set; `None` otherwise, and then the tokenizer is never built.
    pub fn count(
        options: &Options,
        planned: &Planned,
        source: &dyn Source,
        asked: bool,
    ) -> Result<Option<Tokens>, Error> {
        let limits = options.token_limits();
        if !asked && !limits.any() {
            return Ok(None);
        }
        // counts are a convenience of the cache: without a cache folder (no
        // `HOME`), every count is made, and none kept
        let cache = options
            .cache(planned.loaded.as_deref())
            .unwrap_or_else(|_| {
                crate::cache::Cache::disabled(std::path::PathBuf::new(), Default::default())
            });
        let counted = crate::tokens::count(&planned.plan, source, &planned.target, cache)?;
        Ok(Some(Tokens { counted, limits }))
    }

    /// Fails when the counts are over a limit (nothing is kept then).
    pub fn check(&self) -> Result<(), Error> {
        crate::tokens::check(&self.counted.tokens, &self.limits).map_err(Error::Tokens)
    }

    /// The command succeeded: the counts it made are kept in the cache.
    pub fn keep(self, printer: &Printer) {
        if let Some(warning) = self.counted.keep() {
            printer.warn(&warning);
        }
    }
}

/// manifest → desired; target → actual; state log → last applied; diff. The
/// renderer produces the bytes of the planned files when they are needed. `lock`
/// is shared for a command that only reads, exclusive for one that may write.
pub fn plan_from_manifest(
    options: &Options,
    plan_options: PlanOptions,
    lock: LockMode,
    printer: &Printer,
) -> Result<(Planned, Renderer), Error> {
    let loaded = options.load_manifest()?;
    let target = options.target(&loaded)?;
    let resolution = resolve(options, &loaded, crate::resolve::Update::Nothing, printer)?;
    let resolved = Arc::new(resolution.agents);
    let render = || {
        // `cache.enabled: false`: every agent is rendered, and nothing is kept
        let memo = match options.render_memo() {
            true => desired::memo::Memo::read(&target.state_dir),
            false => desired::memo::Memo::default(),
        };
        desired::from_manifest(loaded.clone(), &options.env.cwd, memo, resolved.clone())
    };
    let (built, looked) = if lock == LockMode::Shared {
        // a reader looks at the state log, mpm.lock and the target while the agents
        // are rendered, if the log's lock is free (a manifest error is not kept
        // waiting for a writer); a writer takes its lock, and writes its holder
        // line, only once the manifest is known to render
        std::thread::scope(|scope| {
            // counted before the thread starts, so that the rendering's reads see it
            let (beside, target, manifest) = (crate::parallel::Beside::start(), &target, &loaded);
            let looked = scope.spawn(move || {
                let _beside = beside;
                look(options, target, lock, manifest, std::time::Duration::ZERO)
            });
            let built = render();
            let looked = match looked.join() {
                Ok(looked) => looked,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            (built, looked)
        })
    } else {
        let built = render()?;
        (
            Ok(built),
            look(options, &target, lock, &loaded, options.lock_timeout),
        )
    };
    let (mut desired, mut renderer) = built?;
    for warning in &desired.warnings {
        printer.warn(warning);
    }
    let looked = match looked {
        Err(Error::State(e)) if matches!(*e, crate::state::StateError::Locked { .. }) => {
            look(options, &target, lock, &loaded, options.lock_timeout)?
        }
        other => other?,
    };
    if let Some(warning) = &looked.warning {
        printer.warn(warning);
    }
    // the settings parts: their secrets' hashes are keyed with the state log's key
    let mut parts = desired::settings::from_manifest(&loaded, &looked.last.secret_key, &|var| {
        std::env::var(var).ok()
    })?;
    parts.add_budget_hook(&loaded, &options.settings)?;
    if options.settings.budget_enforce.value
        && !crate::budget::mpm_on_path(&std::env::var_os("PATH").unwrap_or_default())
    {
        printer.warn(crate::budget::NOT_ON_PATH);
    }
    for warning in settings_allowed(&parts, &loaded, &target, options)? {
        printer.warn(&warning);
    }
    desired.resources.extend(parts.resources);
    renderer.with_parts(parts.bytes);
    let mut planned = scan_and_diff(
        Some(loaded),
        target,
        desired,
        (looked.store, looked.last),
        looked.scanned,
        plan_options,
        options.system().as_ref(),
    )?;
    planned.lockfile = looked.lockfile;
    planned.lockfile_seen = looked.lockfile_seen;
    planned.plan.packages = resolution.packages;
    Ok((planned, renderer))
}

/// The resolve stage for `loaded`: its registry agents, pinned by the `mpm.lock`
/// beside it (and moved to the newest versions allowed where `update` says).
pub fn resolve(
    options: &Options,
    loaded: &Loaded,
    update: crate::resolve::Update,
    printer: &Printer,
) -> Result<crate::resolve::Resolution, Error> {
    let policy = crate::resolve::Policy {
        locked: options.locked,
        offline: options.offline,
        update,
        cache: options.env.cache_dir(),
    };
    let wants_registry = loaded
        .manifest
        .agents
        .0
        .values()
        .any(|s| s.registry.is_some());
    if !wants_registry && !options.locked && loaded.manifest.registries.is_empty() {
        // nothing to resolve, and no pin to keep
        return Ok(Default::default());
    }
    // the pins matter to agents from registries, and to `--locked`
    let pins = match wants_registry || options.locked {
        true => pins_beside(loaded, &options.env.cwd)?,
        false => Default::default(),
    };
    let mut sources = sources(options, loaded, printer)?;
    // moving pins wants the registries as they are now, not as cached
    sources.refresh = policy.update != crate::resolve::Update::Nothing;
    let resolution = crate::resolve::resolve(loaded, &pins, &policy, &mut sources);
    if let Some(warning) = sources.finish(resolution.is_ok()) {
        printer.warn(&warning);
    }
    let resolution = resolution?;
    for warning in &resolution.warnings {
        printer.warn(warning);
    }
    Ok(resolution)
}

/// Where the resolve stage reads: files, the download cache, HTTP with the
/// `http.*` settings (a progress bar only on a terminal, and not for `--json`).
pub fn sources(
    options: &Options,
    loaded: &Loaded,
    printer: &Printer,
) -> Result<crate::resolve::Sources, Error> {
    let mut policy = crate::fetch::Policy::from_options(options);
    policy.progress = !options.json && printer.stderr_is_terminal();
    Ok(crate::resolve::Sources::new(
        options.cache(Some(loaded))?,
        policy,
    ))
}

/// The registry pins of the `mpm.lock` beside the manifest.
pub fn pins_beside(
    loaded: &Loaded,
    cwd: &std::path::Path,
) -> Result<crate::lockfile::Packages, Error> {
    let path = crate::lockfile::path_beside(&loaded.dir);
    let shown = crate::paths::display(&path, cwd);
    Ok(crate::lockfile::Lockfile::read(&path, &shown)?
        .map(|(lock, _)| lock.packages)
        .unwrap_or_default())
}

/// Refuses what the target's settings files may not hold: a secret in a file git
/// tracks or would track (a project's `settings.json` always), `scope: local`
/// for the user's own settings (the client reads no local file there), a value a
/// variable of Claude Code's cannot take or a variable its scope may not set
/// ([`crate::claude_env`]); returns the warnings about the rest (a name the client
/// does not read, claude-mpm's invented ones), each naming its manifest line.
fn settings_allowed(
    parts: &desired::settings::Parts,
    loaded: &Loaded,
    target: &Target,
    options: &Options,
) -> Result<Vec<String>, Error> {
    use crate::claude_env::Scope;
    // what the target is to the client: a project's `.claude`, or a config directory
    let target_scope = claude_scope(
        &options.settings.target.value,
        target,
        options.env.home.as_deref(),
    );
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    for (address, resource) in &parts.resources {
        let at: Vec<&str> = parts.declared[address].iter().map(String::as_str).collect();
        let local = address.file() == crate::settings_file::LOCAL;
        let shown = format!("{}/{}", target.display, address.file());
        if let (crate::address::Kind::Env, Some(json)) = (address.kind(), parts.bytes.get(address))
        {
            let value: String = serde_json::from_str(json).unwrap_or_default();
            let scope = if local { Scope::Local } else { target_scope };
            let name = at.last().copied().unwrap_or_default();
            // a secret's value is never in a message, nor a number made from it
            let instead = resource
                .secret()
                .map(|var| format!("the value of the secret `${var}`, not shown"));
            let quote = match &instead {
                Some(phrase) => crate::claude_env::Quote::Instead(phrase),
                None => crate::claude_env::Quote::Value,
            };
            let literal =
                crate::manifest::settings::credential::literal(&loaded.manifest.environment, name);
            for finding in crate::claude_env::check_quoting(name, &value, scope, quote)
                .into_iter()
                .chain(literal)
            {
                match finding.severity {
                    crate::claude_env::Severity::Error => errors.push(Error::from(
                        loaded.error_at(&at, finding.message, finding.hint),
                    )),
                    crate::claude_env::Severity::Warning => {
                        let place = crate::manifest::locate(&loaded.source, &at)
                            .map(|(line, column)| format!(" ({}:{line}:{column})", loaded.display))
                            .unwrap_or_default();
                        let hint = finding.hint.map(|h| format!("; {h}")).unwrap_or_default();
                        warnings.push(format!(
                            "`{}`{place}: {}{hint}",
                            at.join("."),
                            finding.message
                        ));
                    }
                }
            }
        }
        if local && target_scope == Scope::User {
            errors.push(Error::from(loaded.error_at(
                &at,
                format!(
                    "`{}` has `scope: local`, but Claude Code reads no `settings.local.json` in a config directory like `{}`",
                    at.join("."),
                    target.display
                ),
                Some("drop `scope: local`: a config directory's `settings.json` is its user's own already (only a project's `.claude` has a local file)".into()),
            )));
            continue;
        }
        if resource.secret().is_none() {
            continue;
        }
        use crate::git::Tracking;
        let project = target_scope == Scope::Project;
        let path = target.path_of(address);
        let tracking = match crate::git::tracking(&path) {
            // a project's settings.json is meant to be committed
            Tracking::No if project && !local => Tracking::WouldTrack,
            t => t,
        };
        if tracking != Tracking::No {
            let hint = match (tracking, local, project) {
                (Tracking::Tracked, _, _) => format!(
                    "git tracks it: stop with `git rm --cached {}` and ignore it, or {}",
                    crate::paths::display(&path, &options.env.cwd),
                    if project { "use the user target (`target: user`)" } else { "keep the secret out of mpm" }
                ),
                (_, true, _) => format!(
                    "add `{}` to `.gitignore`, or use the user target",
                    address.file()
                ),
                (_, false, true) => "write it to the file git ignores with `scope: local`, or use the user target (`target: user`)".into(),
                (_, false, false) => format!(
                    "`{}` is in a git work tree: ignore `{}` there (`.gitignore`), or keep the secret out of mpm",
                    target.display,
                    address.file()
                ),
            };
            errors.push(Error::from(loaded.error_at(
                &at,
                format!(
                    "`{}` is a secret, and `{shown}` is a file git tracks or would track",
                    at.join(".")
                ),
                Some(hint),
            )));
        }
    }
    Error::collect(errors)?;
    Ok(warnings)
}

/// Whose settings the target's `settings.json` is to the client: a project's (the
/// project target, or a folder named `.claude`), or a user's.
fn claude_scope(
    spec: &crate::config::TargetSetting,
    target: &Target,
    home: Option<&std::path::Path>,
) -> crate::claude_env::Scope {
    use crate::claude_env::Scope;
    use crate::config::TargetSetting;
    match spec {
        TargetSetting::User => Scope::User,
        TargetSetting::Project => Scope::Project,
        _ if target.root.file_name().is_some_and(|n| n == ".claude")
            && home.is_none_or(|home| target.root != home.join(".claude")) =>
        {
            Scope::Project
        }
        _ => Scope::User,
    }
}

/// What a plan reads besides the manifest and its inputs.
struct Looked {
    store: Option<StateStore>,
    last: LastApplied,
    /// To print, about the state log.
    warning: Option<String>,
    lockfile: Option<std::path::PathBuf>,
    lockfile_seen: Option<crate::hash::Digest>,
    /// The paths a plan looks at whatever the agents render to: the manifest's
    /// agents and what the log and mpm.lock say mpm wrote.
    scanned: ActualState,
}

/// The state log (waiting up to `timeout` for its lock), then `mpm.lock`, then
/// the target, in the order their errors are reported.
fn look(
    options: &Options,
    target: &Target,
    lock: LockMode,
    loaded: &Loaded,
    timeout: std::time::Duration,
) -> Result<Looked, Error> {
    let (store, mut last, warning) = state_of(options, target, lock, timeout)?;
    // a plan reads no blob once it has the last entries
    if let Some(store) = &store {
        store.forget_indexes();
    }
    let lockfile = options.lockfile_of(loaded, target);
    let mut lockfile_seen = None;
    if let Some(path) = &lockfile {
        let shown = crate::paths::display(path, &options.env.cwd);
        use crate::lockfile::Lockfile;
        // the lock this state log wrote itself adds nothing to it: known by its
        // digest, not held (10 000 agents: 2 MB)
        lockfile_seen = Lockfile::digest_file(path, &shown)?;
        if lockfile_seen.is_some_and(|seen| last.lockfile != Some(seen))
            && let Some(bytes) = Lockfile::read_bytes(path, &shown)?
        {
            last.locked = Lockfile::parse(&bytes, &shown)?.files;
            lockfile_seen = Some(crate::hash::Digest::of(&bytes));
        }
    }
    let wanted: std::collections::BTreeSet<crate::address::Address> = loaded
        .manifest
        .agents
        .0
        .keys()
        .map(crate::address::Address::agent_file)
        .chain(crate::plan::recorded(&last).cloned())
        .collect();
    target.check(wanted.iter().cloned())?;
    let scanned = actual::scan(options.system().as_ref(), target, &wanted)?;
    Ok(Looked {
        store,
        last,
        warning,
        lockfile,
        lockfile_seen,
        scanned,
    })
}

/// The target's state log, when it has one, opened under its lock without
/// changing a byte of it, and what it says was last applied.
pub fn read_state(
    options: &Options,
    target: &Target,
    lock: LockMode,
    printer: &Printer,
) -> Result<(Option<StateStore>, LastApplied), Error> {
    let (store, last, warning) = state_of(options, target, lock, options.lock_timeout)?;
    if let Some(warning) = warning {
        printer.warn(&warning);
    }
    Ok((store, last))
}

/// [`read_state`], with the warning to print rather than printed.
fn state_of(
    options: &Options,
    target: &Target,
    lock: LockMode,
    timeout: std::time::Duration,
) -> Result<(Option<StateStore>, LastApplied, Option<String>), Error> {
    let (store, warning) = opened(options, target, lock, timeout)?;
    let last = match &store {
        Some(s) => s.last()?,
        None => LastApplied::default(),
    };
    Ok((store, last, warning))
}

/// Opens the state log for reading (see [`StateStore::open`]). A reader warns
/// when its `.gitignore` is gone; a writer puts it back.
pub fn open_state(
    options: &Options,
    target: &Target,
    lock: LockMode,
    printer: &Printer,
) -> Result<Option<StateStore>, Error> {
    let (store, warning) = opened(options, target, lock, options.lock_timeout)?;
    if let Some(warning) = warning {
        printer.warn(&warning);
    }
    Ok(store)
}

/// [`open_state`], with the warning returned rather than printed.
fn opened(
    options: &Options,
    target: &Target,
    lock: LockMode,
    timeout: std::time::Duration,
) -> Result<(Option<StateStore>, Option<String>), Error> {
    let store = StateStore::open(&target.state_dir, &options.command_line, timeout, lock)?;
    let warning = match &store {
        Some(s) if lock == LockMode::Shared && s.lacks_gitignore() => Some(format!(
            "`{}` is missing, so git may pick up the state log; the next `mpm apply` puts it back",
            crate::paths::display(&s.dir().join(".gitignore"), &options.env.cwd)
        )),
        _ => None,
    };
    Ok((store, warning))
}

/// The part of the pipeline shared by apply and rollback: scan, diff. What is
/// in `scanned` (the target, already looked at) is not looked at again; `state`
/// is the state log as read, and what it says was last applied.
pub fn scan_and_diff(
    loaded: Option<Arc<Loaded>>,
    target: Target,
    desired: DesiredState,
    state: (Option<StateStore>, LastApplied),
    scanned: ActualState,
    plan_options: PlanOptions,
    system: &dyn crate::system::System,
) -> Result<Planned, Error> {
    let (store, last) = state;
    let wanted = crate::plan::addresses(&desired, &last);
    let unseen: Vec<&crate::address::Address> = wanted
        .iter()
        .copied()
        .filter(|a| !scanned.paths.contains_key(*a))
        .collect();
    target.check(unseen.iter().map(|a| (*a).clone()))?;
    let mut actual = scanned;
    let seen = actual::scan(system, &target, unseen)?;
    actual.paths.extend(seen.paths);
    actual.missing.extend(seen.missing);
    // a secret's value is never seen past this point: only its keyed hash
    let secrets = desired
        .resources
        .iter()
        .filter(|(_, d)| d.secret().is_some())
        .map(|(a, _)| a)
        .chain(last.keyed());
    actual.seal(secrets, &last.secret_key);
    actual.others = actual::scan_others(system, &target, &wanted)?;
    let plan = crate::plan::diff(&desired, &actual, &last, plan_options);
    Ok(Planned {
        loaded,
        target,
        desired,
        actual,
        last,
        store,
        plan,
        lockfile: None,
        lockfile_seen: None,
    })
}

/// Stops a command whose plan (already printed) has conflicts.
pub fn stop_on_conflicts(plan: &Plan, command: &'static str, forced: bool) -> Result<(), Error> {
    let count = plan.summary().conflicts;
    if count == 0 {
        return Ok(());
    }
    // what `--force` cannot do
    let stuck = plan.conflicts().all(|r| {
        matches!(
            r.action,
            crate::plan::Action::Conflict(
                crate::plan::Conflict::NotAFile(_) | crate::plan::Conflict::Protected
            )
        )
    });
    let verb = if command == "rollback" {
        "rollback"
    } else {
        "apply"
    };
    // a secret's place keeps no value: nothing a force overwrites there comes back
    let kept = if plan.conflicts().any(|r| r.sensitive) {
        "(a secret's place keeps none)"
    } else {
        "(kept for `mpm rollback`)"
    };
    let hint = if forced || stuck {
        "each conflict above says what to do; `--force` never writes through a directory or link, nor over a settings file that is not JSON, nor deletes a protected agent".to_string()
    } else {
        format!(
            "each conflict above says what to do; `mpm {verb} --force` overwrites changes made outside mpm {kept}"
        )
    };
    Err(Error::Conflicts {
        count,
        command,
        hint,
    })
}

/// Asks before a change unless told not to; refuses without a terminal, and
/// when the plan could not be written out (a full disk: `--yes` is consent to a
/// plan that is shown, not to one that was lost).
pub fn confirm(printer: &Printer, yes: bool, what: &str) -> Result<(), Error> {
    if printer.output_lost() {
        return Err(Error::usage(
            format!("refusing to {what}: the plan could not be shown in full; nothing was changed"),
            Some(
                "make room for the output (or send it elsewhere) and run the command again"
                    .to_string(),
            ),
        ));
    }
    if yes {
        return Ok(());
    }
    if !printer.stdin_is_terminal() {
        return Err(Error::usage(
            format!("refusing to {what} without confirmation: standard input is not a terminal"),
            Some("pass `--yes` (`-y`), or save a plan with `mpm plan --out FILE` and run `mpm apply FILE`".to_string()),
        ));
    }
    if printer.confirm(&format!("\nDo you want to {what}?"))? {
        Ok(())
    } else {
        Err(Error::Cancelled(format!(
            "{what} cancelled: nothing was changed"
        )))
    }
}

/// The tail every writing command shares: the state log opened for writing
/// (created for a first apply), the plan executed, the closing line printed. A
/// failed first apply removes the state folder it created.
pub struct Execution<'a> {
    pub options: &'a Options,
    pub target: &'a Target,
    /// The state log as the plan read it (`None`: there was none).
    pub store: Option<StateStore>,
    pub last: LastApplied,
    pub context: crate::apply::Context,
    /// `Apply` or `Rollback`, for the closing line.
    pub verb: &'static str,
    /// What the plan was compared with, when a stale plan is named.
    pub plan_name: String,
    /// What the agents rendered to, to keep once the apply is done.
    pub memo: Option<desired::memo::Memo>,
    /// For a rollback: the secrets it read again from mpm's environment.
    pub secrets: &'a std::collections::BTreeMap<crate::address::Address, std::sync::Arc<str>>,
}

impl Execution<'_> {
    /// Executes `plan`; `source` produces its bytes (`None`: the state log itself,
    /// for a rollback).
    pub fn run(
        self,
        plan: &Plan,
        source: Option<&dyn Source>,
        printer: &Printer,
    ) -> Result<ExitStatus, Error> {
        let (store, last) = match self.store {
            Some(store) => (store.writable()?, self.last),
            None => {
                let store = StateStore::create(
                    &self.target.state_dir,
                    &self.options.command_line,
                    self.options.lock_timeout,
                )?;
                let mut last = store.last()?;
                // the plan's secrets were hashed with the key this new log keeps
                last.secret_key = self.last.secret_key.clone();
                (store, last)
            }
        };
        // the memo on disk while the files are written (a cache: one that cannot
        // be set aside is not kept)
        let memo = self.memo.and_then(|m| m.set_aside(store.dir()).ok());
        let system = self.options.system();
        let from_log = desired::StoreSource {
            store: &store,
            secrets: self.secrets,
        };
        let source = source.unwrap_or(&from_log);
        let outcome = crate::apply::execute(
            plan,
            source,
            self.target,
            &store,
            &last,
            system.as_ref(),
            &self.context,
        );
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(e) => {
                if store.created() && !matches!(e, Error::Apply(ref a) if a.is_pending()) {
                    store.remove_created()?;
                }
                return Err(name_stale(e, &self.plan_name));
            }
        };
        if let Some(memo) = memo {
            // a cache: failing to write it fails nothing
            let _ = memo.keep(store.dir());
        }
        if outcome.stray_temps > 0 {
            printer.note(&format!(
                "Removed {} temp file(s) left by an interrupted run.",
                outcome.stray_temps
            ));
        }
        let what = if plan.rows.iter().any(|r| r.address.is_part()) {
            "Resources"
        } else {
            "Agents"
        };
        printer.out(&format!(
            "{} complete! {what}: {} added, {} changed, {} destroyed.\n",
            self.verb, outcome.counts.added, outcome.counts.changed, outcome.counts.destroyed
        ));
        Ok(ExitStatus::Success)
    }
}

/// A dry run: the apply rehearsed against a system that writes nothing (every
/// check of a real one made), and what it would have done said.
pub fn dry_run(
    plan: &Plan,
    source: &dyn Source,
    target: &Target,
    last: &LastApplied,
    lockfile: Option<&std::path::Path>,
    options: &Options,
    printer: &Printer,
) -> Result<ExitStatus, Error> {
    if !plan.has_changes() {
        return Ok(ExitStatus::Success);
    }
    let real = options.system();
    let recording = crate::system::Recording::new(real.as_ref());
    crate::apply::rehearse(plan, source, target, last, lockfile, &recording)
        .map_err(|e| name_stale(e, "the plan shown"))?;
    let done = recording.recorded();
    let files = |n: usize| if n == 1 { "file" } else { "files" };
    let would = match (done.written.len(), done.removed.len()) {
        (0, 0) => "would only update the state log".to_string(),
        (w, 0) => format!("would write {w} {}", files(w)),
        (0, r) => format!("would remove {r} {}", files(r)),
        (w, r) => format!("would write {w} {} and remove {r}", files(w)),
    };
    printer.note(&format!(
        "Dry run: nothing was changed (the apply {would})."
    ));
    Ok(ExitStatus::Success)
}

/// A stale-plan error names the plan that went stale.
pub fn name_stale(e: Error, file: &str) -> Error {
    match e {
        Error::StalePlan { changes, .. } => Error::StalePlan {
            file: file.to_string(),
            changes,
        },
        other => other,
    }
}
