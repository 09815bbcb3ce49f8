//! One file per subcommand. Each gathers its inputs, runs the shared pipeline below,
//! and prints through the [`Printer`].

mod apply;
mod diff;
mod history;
mod init;
mod plan;
mod rollback;
mod status;

use crate::Error;
use crate::actual::{self, ActualState};
use crate::address::Address;
use crate::cli::{Cli, Command};
use crate::desired::{self, DesiredState, Renderer, Source};
use crate::error::ExitStatus;
use crate::manifest::Loaded;
use crate::options::Options;
use crate::plan::{Plan, PlanOptions, TextOptions};
use crate::printer::Printer;
use crate::state::{LastApplied, ManifestInfo, StateStore};
use crate::target::Target;
use std::collections::BTreeSet;
use std::sync::Arc;

pub fn run(cli: Cli, command_line: String, printer: &Printer) -> Result<ExitStatus, Error> {
    let options = Options::resolve(&cli.global, command_line)?;
    match cli.command {
        Command::Plan(args) => plan::run(&options, &args, printer),
        Command::Apply(args) => apply::run(&options, &args, printer),
        Command::Status => status::status(&options, printer),
        Command::Verify => status::verify(&options, printer),
        Command::History(args) => history::run(&options, &args, printer),
        Command::Rollback(args) => rollback::run(&options, &args, printer),
        Command::Init(args) => init::run(&options, &args, printer),
        Command::Diff(args) => diff::run(&options, &args, printer),
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
/// renderer produces the bytes of the planned files when they are needed.
pub fn plan_from_manifest(
    options: &Options,
    plan_options: PlanOptions,
    printer: &Printer,
) -> Result<(Planned, Renderer), Error> {
    let loaded = Arc::new(options.load_manifest()?);
    let (desired, renderer) = desired::from_manifest(loaded.clone(), &options.env.cwd)?;
    for warning in &desired.warnings {
        printer.warn(warning);
    }
    let target = options.target(&loaded)?;
    let (store, last) = read_state(options, &target)?;
    let planned = scan_and_diff(Some(loaded), target, desired, store, last, plan_options)?;
    Ok((planned, renderer))
}

/// The target's state log, when it has one, opened (under its lock) without
/// creating anything, and what it says was last applied.
pub fn read_state(
    options: &Options,
    target: &Target,
) -> Result<(Option<StateStore>, LastApplied), Error> {
    let store = StateStore::open(
        &target.state_dir,
        &options.command_line,
        options.lock_timeout,
        false,
    )?;
    let last = match &store {
        Some(s) => s.last()?,
        None => LastApplied::default(),
    };
    Ok((store, last))
}

/// The part of the pipeline shared by apply and rollback: scan, diff.
pub fn scan_and_diff(
    loaded: Option<Arc<Loaded>>,
    target: Target,
    desired: DesiredState,
    store: Option<StateStore>,
    last: LastApplied,
    plan_options: PlanOptions,
) -> Result<Planned, Error> {
    let mut wanted: BTreeSet<&Address> = desired
        .resources
        .keys()
        .chain(desired.retired.keys())
        .chain(last.entries.keys())
        .collect();
    wanted.extend(
        last.pending
            .iter()
            .flat_map(|g| g.changes.iter().map(|c| &c.address)),
    );
    target.check(wanted.iter().map(|a| (*a).clone()))?;
    let mut actual = actual::scan(&target, wanted.iter().copied())?;
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

/// Asks before a change unless told not to; refuses without a terminal.
pub fn confirm(printer: &Printer, yes: bool, what: &str) -> Result<(), Error> {
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

/// The line that closes an apply or a rollback.
pub fn complete_line(counts: &crate::state::Counts, verb: &str) -> String {
    format!(
        "{verb} complete! Agents: {} added, {} changed, {} destroyed.\n",
        counts.added, counts.changed, counts.destroyed
    )
}
