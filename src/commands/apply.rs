//! `mpm apply`: plan, confirm, execute; or apply a saved plan exactly.

use super::{Execution, confirm, plan_from_manifest};
use crate::Error;
use crate::apply::{self, Context};
use crate::cli::ApplyArgs;
use crate::error::ExitStatus;
use crate::options::Options;
use crate::plan::{PlanOptions, SavedPlan};
use crate::printer::Printer;
use crate::state::LockMode;

pub fn run(options: &Options, args: &ApplyArgs, printer: &Printer) -> Result<ExitStatus, Error> {
    run_reading(options, args, printer, &mut Vec::new())
}

/// [`run`], telling `read` the files the plan was made from once the manifest
/// rendered (`mpm watch --apply` watches them).
pub fn run_reading(
    options: &Options,
    args: &ApplyArgs,
    printer: &Printer,
    read: &mut Vec<std::path::PathBuf>,
) -> Result<ExitStatus, Error> {
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
    // a dry run only reads; a real one holds the lock from the plan to the commit
    let lock = if args.dry_run {
        LockMode::Shared
    } else {
        LockMode::Exclusive
    };
    let (mut planned, renderer) = plan_from_manifest(options, plan_options, lock, printer)?;
    *read = planned.files_read();
    let tokens = super::Tokens::count(options, &planned, &renderer, args.tokens)?;
    let applied = apply_planned(
        options,
        args,
        &mut planned,
        &renderer,
        tokens.as_ref(),
        printer,
    );
    // the counts are kept only once the apply succeeded
    if let (Ok(_), Some(tokens)) = (&applied, tokens) {
        tokens.keep(printer);
    }
    applied
}

/// Shows `planned`, checks it, and executes it.
fn apply_planned(
    options: &Options,
    args: &ApplyArgs,
    planned: &mut super::Planned,
    renderer: &crate::desired::Renderer,
    tokens: Option<&super::Tokens>,
    printer: &Printer,
) -> Result<ExitStatus, Error> {
    let memo = planned
        .desired
        .memo
        .take()
        .filter(|_| options.render_memo());
    if planned.plan.has_changes() {
        // the plan's rows carry all that is left to show and do: drop the
        // per-agent records, and what the target held (each row has its digest
        // before)
        planned.desired = Default::default();
        planned.actual = Default::default();
        crate::memory::release_freed();
    }
    let compared_with = format!("`{}`", renderer.loaded().display);
    planned.show(renderer, &compared_with, tokens, printer)?;
    super::stop_on_conflicts(&planned.plan, "apply", args.takeover.force)?;
    if let Some(tokens) = tokens {
        tokens.check()?;
    }
    if args.dry_run {
        return super::dry_run(
            &planned.plan,
            renderer,
            &planned.target,
            &planned.last,
            planned.lockfile.as_deref(),
            options,
            printer,
        );
    }
    if !planned.plan.has_changes() {
        // the one this state log wrote needs no rendering to be known current
        if let Some(path) = planned.lockfile.as_ref().filter(|_| {
            planned.lockfile_seen.is_none() || planned.lockfile_seen != planned.last.lockfile
        }) {
            refresh_lockfile(path, planned, options, printer)?;
        }
        if let Some(store) = planned.store.take() {
            store.restore_gitignore()?;
            if planned.last.pending.is_some() {
                let store = store.writable()?;
                apply::finish_interrupted(
                    &store,
                    &planned.target,
                    &planned.last,
                    options.system().as_ref(),
                    planned.lockfile.as_deref(),
                )?;
            }
            // under the exclusive lock this apply holds
            super::keep_memo(memo, planned.target.state_dir.as_path());
        }
        return Ok(ExitStatus::Success);
    }
    confirm(printer, args.yes, "apply these changes")?;
    let context = Context {
        command: options.command_line.clone(),
        manifest: planned.manifest_info(),
        rollback_to: None,
        lockfile: planned.lockfile.clone(),
    };
    Execution {
        options,
        target: &planned.target,
        store: planned.store.take(),
        last: std::mem::take(&mut planned.last),
        context,
        verb: "Apply",
        plan_name: "the plan shown".into(),
        memo,
        secrets: &Default::default(),
    }
    .run(&planned.plan, Some(renderer), printer)
}

fn apply_saved(
    options: &Options,
    file: &std::path::Path,
    printer: &Printer,
) -> Result<ExitStatus, Error> {
    let shown = file.display().to_string();
    let saved = SavedPlan::read(&options.env.cwd.join(file), &shown)?;
    let elsewhere = |given: Option<(&std::path::Path, &'static str)>, planned: &std::path::Path| {
        given
            .filter(|(dir, _)| *dir != planned)
            .map(|(_, name)| name)
    };
    let moved = elsewhere(options.given_target(), &saved.target)
        .map(|name| (name, &saved.target))
        .or_else(|| {
            elsewhere(options.given_state_dir(), &saved.state_dir)
                .map(|name| (name, &saved.state_dir))
        });
    if let Some((name, planned)) = moved {
        let (made_for, hint) = match name.strip_prefix("--") {
            Some(_) => (
                format!("{name} {}", planned.display()),
                format!("drop `{name}`, or make a plan with it: `mpm plan {name} DIR --out FILE`"),
            ),
            None => (
                format!("{name}={}", planned.display()),
                format!("unset `{name}`, or make a plan with it: `{name}=DIR mpm plan --out FILE`"),
            ),
        };
        return Err(Error::usage(
            format!(
                "the saved plan `{shown}` was made for `{made_for}`; a saved plan is applied where it was made"
            ),
            Some(hint),
        ));
    }
    let target = crate::target::Target {
        display: crate::paths::display(&saved.target, &options.env.cwd),
        root: saved.target.clone(),
        state_dir: saved.state_dir.clone(),
    };
    // a saved plan is a file anyone can edit, and its checksum anyone can compute:
    // it gets the checks a manifest's target gets, and writes agent files only
    let origin = match options.given_target() {
        Some(_) => options.target_origin(),
        None => crate::target::Origin::Manifest,
    };
    options.check_not_system(&target, origin)?;
    // files are written only where agents go; a duplicate deep in `agents/` may
    // only be removed
    let agent_file = |r: &crate::plan::Row| {
        let a = r.address.as_str();
        if r.address.is_part() {
            let file = r.address.file();
            return file == crate::settings_file::SHARED || file == crate::settings_file::LOCAL;
        }
        match r.action {
            crate::plan::Action::Delete => a.starts_with("agents/") && a.ends_with(".md"),
            _ => a
                .strip_prefix("agents/")
                .and_then(|n| n.strip_suffix(".md"))
                .is_some_and(|n| crate::name::AgentName::parse(n).is_ok()),
        }
    };
    if options.given_state_dir().is_none()
        && saved.state_dir != saved.target.join(crate::target::STATE_DIR)
    {
        return Err(Error::usage(
            format!(
                "the saved plan `{shown}` keeps its state log in `{}`, outside its target",
                saved.state_dir.display()
            ),
            Some(
                "pass that folder with `--state-dir` to apply it there, or make the plan again"
                    .to_string(),
            ),
        ));
    }
    if let Some(row) = saved.plan.rows.iter().find(|r| !agent_file(r)) {
        return Err(Error::usage(
            format!(
                "the saved plan `{shown}` writes `{}`, which is not an agent file",
                row.address
            ),
            Some("mpm writes only `agents/**.md` and keys of `settings.json` and `settings.local.json` in a target: make the plan again with `mpm plan --out FILE`".to_string()),
        ));
    }
    // everything is checked against what the plan saw before anything is created
    let (store, last) = super::read_state(options, &target, LockMode::Exclusive, printer)?;
    let mut stale = saved.changed_inputs();
    if let Err(Error::StalePlan { changes, .. }) =
        apply::check_fresh(&saved.plan, &target, &last, options.system().as_ref())
    {
        stale.extend(changes);
    }
    if !stale.is_empty() {
        return Err(Error::StalePlan {
            file: shown,
            changes: stale,
        });
    }
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
        lockfile: saved_lockfile(options, &saved)?,
    };
    Execution {
        options,
        target: &target,
        store,
        last,
        context,
        verb: "Apply",
        plan_name: shown.clone(),
        memo: None,
        secrets: &Default::default(),
    }
    .run(&saved.plan, Some(&saved), printer)
}

/// A saved plan made for its manifest's own target updates that manifest's
/// `mpm.lock`.
fn saved_lockfile(
    options: &Options,
    saved: &SavedPlan,
) -> Result<Option<std::path::PathBuf>, Error> {
    let Some(manifest) = &saved.manifest else {
        return Ok(None);
    };
    let loaded = crate::manifest::load(&manifest.path, &options.env.cwd)?;
    let own = crate::target::Target::resolve(
        &loaded.manifest.target,
        &loaded.dir,
        None,
        None,
        &options.env,
    )?;
    Ok((own.root == saved.target)
        .then(|| options.lockfile_of(&loaded, &own))
        .flatten())
}

/// With nothing to apply, `mpm.lock` is still brought up to date (written when
/// missing or stale, like `Cargo.lock`).
fn refresh_lockfile(
    path: &std::path::Path,
    planned: &super::Planned,
    options: &Options,
    printer: &Printer,
) -> Result<(), Error> {
    let entries = &planned.last.entries;
    let new = crate::lockfile::Lockfile::render_of(entries, &planned.plan.packages);
    if entries.is_empty() || planned.lockfile_seen == Some(crate::hash::Digest::of(&new)) {
        return Ok(());
    }
    crate::system::write_file_atomically(path, new)?;
    printer.note(&format!(
        "Wrote `{}`.",
        crate::paths::display(path, &options.env.cwd)
    ));
    Ok(())
}
