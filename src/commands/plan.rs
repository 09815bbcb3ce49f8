//! `mpm plan`: show what apply would do; `--json`, `--detailed-exitcode`, `--out`.

use super::plan_from_manifest;
use crate::Error;
use crate::cli::PlanArgs;
use crate::error::ExitStatus;
use crate::options::Options;
use crate::plan::{self, PlanOptions, SavedPlan};
use crate::printer::Printer;
use crate::state::LockMode;

pub fn run(options: &Options, args: &PlanArgs, printer: &Printer) -> Result<ExitStatus, Error> {
    run_reading(options, args, printer, &mut Vec::new())
}

/// [`run`], telling `read` the files the plan was made from once the manifest
/// rendered (`mpm watch` watches them).
pub fn run_reading(
    options: &Options,
    args: &PlanArgs,
    printer: &Printer,
    read: &mut Vec<std::path::PathBuf>,
) -> Result<ExitStatus, Error> {
    let plan_options = PlanOptions {
        force: args.takeover.force,
        adopt: args.takeover.adopt,
    };
    let (planned, renderer) = plan_from_manifest(options, plan_options, LockMode::Shared, printer)?;
    *read = planned.files_read();
    let tokens = super::Tokens::count(options, &planned, &renderer, args.tokens)?;
    let p = &planned.plan;
    if args.json {
        let counts = tokens.as_ref().map(|t| (&t.counted.tokens, &t.limits));
        let json = plan::to_json_with(p, &planned.target.root.display().to_string(), counts);
        printer.out(&(serde_json::to_string_pretty(&json).unwrap_or_default() + "\n"));
    } else {
        let compared_with = format!("`{}`", renderer.loaded().display);
        planned.show(&renderer, &compared_with, tokens.as_ref(), printer)?;
    }
    super::stop_on_conflicts(p, "plan", args.takeover.force)?;
    if let Some(tokens) = &tokens {
        tokens.check()?;
    }
    if args.out.is_some()
        && !planned.last.secret_key_kept
        && p.rows.iter().any(|r| r.secret().is_some())
    {
        return Err(Error::usage(
            "a plan with secrets cannot be saved before the target's first apply",
            Some("a saved plan checks each secret against a keyed hash, and the key is kept by the state log the first `mpm apply` creates: apply once without `--out` (or without the secrets), then save plans".to_string()),
        ));
    }
    if let Some(out) = &args.out {
        let saved = SavedPlan {
            format_version: plan::saved::SAVED_FORMAT,
            mpm_version: env!("CARGO_PKG_VERSION").into(),
            target: planned.target.root.clone(),
            state_dir: planned.target.state_dir.clone(),
            options: plan_options,
            manifest: planned.loaded.as_ref().map(|l| plan::saved::SavedInput {
                path: l.path.clone(),
                display: l.display.clone(),
                sha256: l.digest,
            }),
            inputs: planned
                .desired
                .inputs
                .iter()
                .map(|i| plan::saved::SavedInput::new(i, &options.env.cwd))
                .collect(),
            contents: p
                .rows
                .iter()
                // a secret is read again from mpm's environment when the plan is applied
                .filter(|r| r.writes() && r.secret().is_none())
                .filter_map(|r| r.after.map(|a| (r, a)))
                .map(|(r, a)| {
                    let bytes = if r.address.is_part() {
                        crate::desired::checked_part(&renderer, &r.address, &a.digest)?.0
                    } else {
                        crate::desired::checked_bytes(&renderer, &r.address, &a.digest)?
                    };
                    Ok((a.digest, String::from_utf8_lossy(&bytes).into_owned()))
                })
                .collect::<Result<_, Error>>()?,
            plan: p.clone(),
            checksum: crate::hash::Digest::of(b""),
        }
        .sealed();
        let text = serde_json::to_string_pretty(&saved).unwrap_or_default() + "\n";
        let path = options.env.cwd.join(out);
        crate::system::write_file_atomically(&path, text)?;
        printer.note(&format!(
            "Saved the plan to `{}`. Apply exactly it with: mpm apply {}",
            out.display(),
            out.display()
        ));
    }
    if let Some(tokens) = tokens {
        tokens.keep(printer);
    }
    // rows that only record state change no file: not a change to review
    Ok(if args.detailed_exitcode && p.changes_files() {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    })
}
