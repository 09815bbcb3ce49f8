//! One file per subcommand. Each gathers its inputs, runs the shared pipeline below,
//! and prints through the [`Printer`].

mod apply;
mod config;
mod diff;
mod history;
mod init;
mod plan;
mod rollback;
mod status;

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
        Command::Config(args) => config::run(options, &args, printer),
        Command::Schema => {
            printer.out(&crate::manifest::json_schema());
            Ok(ExitStatus::Success)
        }
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
        printer: &Printer,
    ) -> Result<(), Error> {
        let opts = TextOptions {
            target: &format!("`{}`", self.target.display),
            source: compared_with,
            diffs: true,
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
    let render = || {
        // `cache.enabled: false`: every agent is rendered, and nothing is kept
        let memo = match options.render_memo() {
            true => desired::memo::Memo::read(&target.state_dir),
            false => desired::memo::Memo::default(),
        };
        desired::from_manifest(loaded.clone(), &options.env.cwd, memo)
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
    let (desired, renderer) = built?;
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
    let mut planned = scan_and_diff(
        Some(loaded),
        target,
        desired,
        looked.store,
        looked.last,
        looked.scanned,
        plan_options,
    )?;
    planned.lockfile = looked.lockfile;
    planned.lockfile_seen = looked.lockfile_seen;
    Ok((planned, renderer))
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
    let lockfile = options.lockfile_of(loaded, target);
    let mut lockfile_seen = None;
    if let Some(path) = &lockfile {
        let shown = crate::paths::display(path, &options.env.cwd);
        if let Some(bytes) = crate::lockfile::Lockfile::read_bytes(path, &shown)? {
            let digest = crate::hash::Digest::of(&bytes);
            // the lock this state log wrote itself adds nothing to it: not parsed
            if last.lockfile != Some(digest) {
                last.locked = crate::lockfile::Lockfile::parse(&bytes, &shown)?.files;
            }
            lockfile_seen = Some(digest);
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
    let scanned = actual::scan(target, &wanted)?;
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
/// in `scanned` (the target, already looked at) is not looked at again.
pub fn scan_and_diff(
    loaded: Option<Arc<Loaded>>,
    target: Target,
    desired: DesiredState,
    store: Option<StateStore>,
    last: LastApplied,
    scanned: ActualState,
    plan_options: PlanOptions,
) -> Result<Planned, Error> {
    let wanted = crate::plan::addresses(&desired, &last);
    let unseen: Vec<&crate::address::Address> = wanted
        .iter()
        .copied()
        .filter(|a| !scanned.paths.contains_key(*a))
        .collect();
    target.check(unseen.iter().map(|a| (*a).clone()))?;
    let mut actual = scanned;
    actual.paths.extend(actual::scan(&target, unseen)?.paths);
    actual.others = actual::scan_others(&target, &wanted)?;
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
    let hint = if forced {
        "move the paths named above out of the way; `--force` never writes through a directory or link, nor deletes a protected agent"
    } else {
        "each conflict above says what to do; `mpm apply --force` overwrites changes made outside mpm (kept for `mpm rollback`)"
    };
    Err(Error::Conflicts {
        count,
        command,
        hint: hint.into(),
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
                let last = store.last()?;
                (store, last)
            }
        };
        // the memo as bytes, a third of its size in memory, while the files are written
        let memo = self.memo.map(|m| m.to_bytes());
        let system = self.options.system();
        let from_log = desired::StoreSource(&store);
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
        if let Some(bytes) = memo {
            // a cache: failing to write it fails nothing
            let _ = desired::memo::Memo::write_bytes(&bytes, store.dir());
        }
        if outcome.stray_temps > 0 {
            printer.note(&format!(
                "Removed {} temp file(s) left by an interrupted run.",
                outcome.stray_temps
            ));
        }
        printer.out(&format!(
            "{} complete! Agents: {} added, {} changed, {} destroyed.\n",
            self.verb, outcome.counts.added, outcome.counts.changed, outcome.counts.destroyed
        ));
        Ok(ExitStatus::Success)
    }
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
