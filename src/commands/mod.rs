//! One file per subcommand. Each gathers its inputs, runs the shared pipeline below,
//! and prints through the [`Printer`].

mod apply;
mod history;
mod init;
mod plan;
mod rollback;
mod status;

use crate::Error;
use crate::actual::{self, ActualState};
use crate::address::Address;
use crate::cli::{Cli, Command};
use crate::desired::{self, DesiredState};
use crate::error::ExitStatus;
use crate::manifest::Loaded;
use crate::options::Options;
use crate::plan::{Plan, PlanOptions};
use crate::printer::Printer;
use crate::state::{LastApplied, ManifestInfo, StateStore};
use crate::target::Target;
use std::collections::BTreeMap;

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
        Command::Schema => {
            printer.out(&crate::manifest::json_schema());
            Ok(ExitStatus::Success)
        }
    }
}

/// Everything a plan was made from.
pub struct Planned {
    pub loaded: Option<Loaded>,
    pub target: Target,
    pub desired: DesiredState,
    pub actual: ActualState,
    pub last: LastApplied,
    /// Open (and locked) when the target has a state log.
    pub store: Option<StateStore>,
    pub plan: Plan,
}

impl Planned {
    /// The bytes of every file the desired state holds, by digest.
    pub fn contents(&self) -> BTreeMap<crate::hash::Digest, std::sync::Arc<[u8]>> {
        self.desired
            .resources
            .values()
            .filter(|r| r.content.len() as u64 == r.size)
            .map(|r| (r.digest, r.content.clone()))
            .collect()
    }

    pub fn manifest_info(&self) -> Option<ManifestInfo> {
        self.loaded.as_ref().map(|l| ManifestInfo {
            path: l.display.clone(),
            sha256: l.digest,
            git: crate::git::describe(&l.dir),
        })
    }
}

/// manifest → desired; target → actual; state log → last applied; diff.
pub fn plan_from_manifest(
    options: &Options,
    plan_options: PlanOptions,
    printer: &Printer,
) -> Result<Planned, Error> {
    let loaded = options.load_manifest()?;
    let desired = desired::from_manifest(&loaded, &options.env.cwd)?;
    for warning in &desired.warnings {
        printer.warn(warning);
    }
    let target = options.target(&loaded)?;
    finish_plan(options, Some(loaded), target, desired, plan_options)
}

/// The part of the pipeline shared by apply and rollback: scan, read the log, diff.
pub fn finish_plan(
    options: &Options,
    loaded: Option<Loaded>,
    target: Target,
    desired: DesiredState,
    plan_options: PlanOptions,
) -> Result<Planned, Error> {
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
    scan_and_diff(loaded, target, desired, store, last, plan_options)
}

pub fn scan_and_diff(
    loaded: Option<Loaded>,
    target: Target,
    desired: DesiredState,
    store: Option<StateStore>,
    last: LastApplied,
    plan_options: PlanOptions,
) -> Result<Planned, Error> {
    let mut wanted: BTreeMap<&Address, Option<crate::hash::Digest>> = BTreeMap::new();
    for (a, r) in &desired.resources {
        wanted.insert(a, Some(r.digest));
    }
    for a in desired.retired.keys().chain(last.entries.keys()) {
        wanted.entry(a).or_insert(None);
    }
    for change in last.pending.iter().flat_map(|g| g.changes.iter()) {
        wanted.entry(&change.address).or_insert(None);
    }
    target.check(wanted.keys().map(|a| (*a).clone()))?;
    let actual = actual::scan(&target, wanted)?;
    let mut desired = desired;
    desired.release(|a| match actual.get(a) {
        actual::Actual::File { digest, mode } => Some((*digest, *mode)),
        _ => None,
    });
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
