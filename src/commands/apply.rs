//! `mpm apply`: plan, confirm, execute; or apply a saved plan exactly.

use super::{complete_line, confirm, plan_from_manifest};
use crate::Error;
use crate::apply::{self, Context};
use crate::cli::ApplyArgs;
use crate::error::ExitStatus;
use crate::options::Options;
use crate::plan::{PlanOptions, SavedPlan};
use crate::printer::Printer;
use crate::state::StateStore;
use crate::system::RealSystem;

pub fn run(options: &Options, args: &ApplyArgs, printer: &Printer) -> Result<ExitStatus, Error> {
    if let Some(file) = &args.plan {
        if args.dry_run || args.takeover.force || args.takeover.adopt {
            return Err(Error::usage(
                "a saved plan is applied exactly as it was made: `--dry-run`, `--force` and `--adopt` do not apply to it",
                Some("`mpm plan --out FILE` with the options you want makes a new one; reading the plan file shows what it does".to_string()),
            ));
        }
        return apply_saved(options, file, printer);
    }
    let plan_options = PlanOptions {
        force: args.takeover.force,
        adopt: args.takeover.adopt,
    };
    let (mut planned, renderer) = plan_from_manifest(options, plan_options, printer)?;
    let compared_with = format!("`{}`", renderer.loaded().display);
    planned.show(&renderer, &compared_with, printer)?;
    super::stop_on_conflicts(&planned.plan, "apply", args.takeover.force)?;
    if !planned.plan.has_changes() {
        if let Some(store) = &planned.store {
            apply::finish_interrupted(store, &planned.target, &planned.last, &mut RealSystem)?;
        }
        return Ok(ExitStatus::Success);
    }
    if args.dry_run {
        printer.note("Dry run: nothing was changed.");
        return Ok(ExitStatus::Success);
    }
    // the plan's rows carry all that is left to do: drop the per-agent records
    planned.desired = Default::default();
    confirm(printer, args.yes, "apply these changes")?;
    // the plan read the state under the lock it still holds; a state log created
    // just now is read afresh, and the plan checked against it
    let (store, last) = match planned.store.take() {
        Some(store) => (store, std::mem::take(&mut planned.last)),
        None => {
            let store = open_for_writing(options, &planned.target.state_dir)?;
            let last = store.last()?;
            (store, last)
        }
    };
    let context = Context {
        command: options.command_line.clone(),
        manifest: planned.manifest_info(),
        rollback_to: None,
    };
    let outcome = apply::execute(
        &planned.plan,
        &renderer,
        &planned.target,
        &store,
        &last,
        &mut RealSystem,
        &context,
    )
    .map_err(|e| rename_stale(e, "the plan shown"))?;
    if outcome.stray_temps > 0 {
        printer.note(&format!(
            "Removed {} temp file(s) left by an interrupted run.",
            outcome.stray_temps
        ));
    }
    printer.out(&complete_line(&outcome.counts, "Apply"));
    Ok(ExitStatus::Success)
}

pub fn open_for_writing(options: &Options, dir: &std::path::Path) -> Result<StateStore, Error> {
    StateStore::open(dir, &options.command_line, options.lock_timeout, true)?.ok_or_else(|| {
        Error::usage(
            format!("cannot create the state log in `{}`", dir.display()),
            None,
        )
    })
}

pub fn rename_stale(e: Error, file: &str) -> Error {
    match e {
        Error::StalePlan { changes, .. } => Error::StalePlan {
            file: file.to_string(),
            changes,
        },
        other => other,
    }
}

fn apply_saved(
    options: &Options,
    file: &std::path::Path,
    printer: &Printer,
) -> Result<ExitStatus, Error> {
    let shown = file.display().to_string();
    let saved = SavedPlan::read(&options.env.cwd.join(file), &shown)?;
    if let Some(t) = &options.target
        && crate::paths::normalize(&options.env.cwd.join(t)) != saved.target
    {
        return Err(Error::usage(
            format!(
                "the saved plan `{shown}` is for `{}`, not `{}`",
                saved.target.display(),
                t.display()
            ),
            Some("drop `--target`, or make a plan for that target".to_string()),
        ));
    }
    let target = crate::target::Target {
        display: crate::paths::display(&saved.target, &options.env.cwd),
        root: saved.target.clone(),
        state_dir: saved.state_dir.clone(),
    };
    let mut stale = saved.changed_inputs();
    if !stale.is_empty() {
        // refuse without creating or writing anything
        let (_store, last) = super::read_state(options, &target)?;
        if let Err(Error::StalePlan { changes, .. }) =
            apply::check_fresh(&saved.plan, &target, &last)
        {
            stale.extend(changes);
        }
        return Err(Error::StalePlan {
            file: shown,
            changes: stale,
        });
    }
    let store = open_for_writing(options, &target.state_dir)?;
    let last = store.last()?;
    if !saved.plan.has_changes() {
        printer.out("No changes. Nothing to apply.\n");
        return Ok(ExitStatus::Success);
    }
    let context = Context {
        command: options.command_line.clone(),
        manifest: saved.manifest.as_ref().map(|m| crate::state::ManifestInfo {
            path: m.display.clone(),
            sha256: m.sha256,
            git: m.path.parent().and_then(crate::git::describe),
        }),
        rollback_to: None,
    };
    let outcome = apply::execute(
        &saved.plan,
        &saved,
        &target,
        &store,
        &last,
        &mut RealSystem,
        &context,
    )
    .map_err(|e| rename_stale(e, &shown))?;
    printer.out(&complete_line(&outcome.counts, "Apply"));
    Ok(ExitStatus::Success)
}
