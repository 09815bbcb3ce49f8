//! `mpm rollback [--to N]`: the apply pipeline with a desired state read from the
//! state log. Recorded as a new generation: history only moves forward.

use super::{Execution, confirm, scan_and_diff};
use crate::Error;
use crate::apply::Context;
use crate::cli::RollbackArgs;
use crate::desired::{self, DesiredState, StoreSource};
use crate::error::ExitStatus;
use crate::options::Options;
use crate::plan::PlanOptions;
use crate::printer::Printer;
use crate::state::LockMode;

pub fn run(options: &Options, args: &RollbackArgs, printer: &Printer) -> Result<ExitStatus, Error> {
    let (target, lockfile) = options.target_and_lockfile()?;
    let nothing = || {
        Error::usage(
            format!(
                "nothing to roll back: no generation was applied to `{}`",
                target.display
            ),
            None,
        )
    };
    // a dry run only reads; a real one holds the lock from the plan to the commit
    let lock = if args.dry_run {
        LockMode::Shared
    } else {
        LockMode::Exclusive
    };
    let store = super::open_state(options, &target, lock, printer)?.ok_or_else(nothing)?;
    let last = store.last()?;
    let current = last.current.ok_or_else(nothing)?;
    let latest = store.generation(current)?;
    let to = match args.to {
        Some(n) if n > current => {
            return Err(Error::usage(
                format!("there is no generation {n} yet: the latest is {current}"),
                Some("`mpm history` lists the generations".to_string()),
            ));
        }
        Some(n) => {
            // a point whose generation was pruned cannot be restored reliably: the
            // bytes of what it held may be gone
            let oldest = store.generations()?.first().map_or(current, |g| g.id);
            if n < oldest && !(n == 0 && oldest == 1) {
                return Err(Error::usage(
                    format!("generation {n} was pruned: the oldest kept is {oldest}"),
                    Some("`mpm history` lists the generations there are".to_string()),
                ));
            }
            n
        }
        None => latest.record.parent.unwrap_or(0),
    };
    let mut desired: DesiredState = match args.to {
        Some(_) => desired::restore(&store, to, &last)?,
        None => desired::undo(&store, &latest, &last)?,
    };
    let secrets =
        desired::resolve_parts(&store, &mut desired, &last, &|var| std::env::var(var).ok())?;
    for warning in std::mem::take(&mut desired.warnings) {
        printer.warn(&warning);
    }
    let mut planned = scan_and_diff(
        None,
        target,
        desired,
        (None, last),
        Default::default(),
        PlanOptions {
            force: args.force,
            adopt: false,
        },
        options.system().as_ref(),
    )?;
    // the pins in mpm.lock stay as they are: a rollback puts back files, and the
    // next apply moves them to what the pins say again
    if let Some(path) = &lockfile {
        let shown = crate::paths::display(path, &options.env.cwd);
        if let Some((lock, _)) = crate::lockfile::Lockfile::read(path, &shown)? {
            planned.plan.packages = lock.packages;
        }
    }
    let what = match (args.to, to) {
        (None, _) => format!("before generation {current}"),
        (Some(_), 0) => "before the first generation".to_string(),
        (Some(_), n) => format!("right after generation {n}"),
    };
    let source = StoreSource {
        store: &store,
        secrets: &secrets,
    };
    if planned.plan.has_changes() {
        // the plan's rows carry all that is left to show and do: drop the
        // per-path records
        planned.desired = Default::default();
        planned.actual = Default::default();
        crate::memory::release_freed();
    }
    printer.out(&format!("Rolling back to the state {what}.\n\n"));
    planned.show(&source, &format!("the state {what}"), None, printer)?;
    super::stop_on_conflicts(&planned.plan, "rollback", args.force)?;
    if args.dry_run {
        return super::dry_run(
            &planned.plan,
            &source,
            &planned.target,
            &planned.last,
            lockfile.as_deref(),
            options,
            printer,
        );
    }
    if !planned.plan.has_changes() {
        return Ok(ExitStatus::Success);
    }
    confirm(printer, args.yes, "roll back")?;
    let context = Context {
        command: options.command_line.clone(),
        manifest: None,
        rollback_to: Some(to),
        lockfile,
    };
    Execution {
        options,
        target: &planned.target,
        store: Some(store),
        last: std::mem::take(&mut planned.last),
        context,
        verb: "Rollback",
        plan_name: "the plan shown".into(),
        memo: None,
        secrets: &secrets,
    }
    .run(&planned.plan, None, printer)
}
