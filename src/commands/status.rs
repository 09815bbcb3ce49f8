//! `mpm status` (two columns, like chezmoi) and `mpm verify` (exit 0 in sync, 1 not).

use super::plan_from_manifest;
use crate::Error;
use crate::actual::Actual;
use crate::error::ExitStatus;
use crate::options::Options;
use crate::plan::{Action, PlanOptions, Row};
use crate::printer::Printer;
use crate::state::LockMode;

/// First column, changed outside mpm: `M` edited, `D` deleted, `?` a file (or a
/// settings key) mpm did not write stands where one of its goes. Second, what apply would do: `A` add, `M`
/// change, `D` destroy, `R` record or forget (state only), `!` conflict.
fn columns(row: &Row, actual: &Actual, recorded: Option<crate::hash::Digest>) -> (char, char) {
    let outside = match (recorded, actual) {
        (Some(_), Actual::Absent) => 'D',
        (Some(d), now @ (Actual::File { .. } | Actual::Value(_))) if now.digest() != Some(d) => 'M',
        (Some(_), Actual::Other(_)) => 'M',
        (None, Actual::File { .. } | Actual::Value(_) | Actual::Other(_))
            if matches!(row.action, Action::Conflict(_)) =>
        {
            '?'
        }
        _ => ' ',
    };
    let apply = match row.action {
        Action::Create => 'A',
        Action::Update => 'M',
        Action::Delete => 'D',
        Action::Record | Action::Forget => 'R',
        Action::Conflict(_) => '!',
        Action::NoOp => ' ',
    };
    (outside, apply)
}

pub fn status(options: &Options, printer: &Printer) -> Result<ExitStatus, Error> {
    let (planned, _) =
        plan_from_manifest(options, PlanOptions::default(), LockMode::Shared, printer)?;
    let mut out = String::new();
    for row in &planned.plan.rows {
        let recorded = planned.last.entries.get(&row.address).map(|e| e.digest);
        let (a, b) = columns(row, planned.actual.get(&row.address), recorded);
        if a != ' ' || b != ' ' {
            out.push_str(&format!(
                "{a}{b} {}\n",
                crate::plan::part_name(&row.address)
            ));
        }
    }
    printer.out(&out);
    Ok(ExitStatus::Success)
}

pub fn verify(options: &Options, printer: &Printer) -> Result<ExitStatus, Error> {
    let (planned, _) =
        plan_from_manifest(options, PlanOptions::default(), LockMode::Shared, printer)?;
    // a committed `mpm.lock` that no longer records what is deployed fails too:
    // the pull request changed agents without applying
    let lock_stale = planned.lockfile_seen.is_some_and(|seen| {
        seen != crate::lockfile::Lockfile::digest_of(
            planned.plan.entries_after_iter(),
            &planned.plan.packages,
        )
    });
    if !planned.plan.changes_files() && planned.plan.conflicts().next().is_none() {
        if lock_stale {
            printer.note(&format!(
                "`{}` does not record what is deployed; `mpm apply` brings it up to date",
                planned
                    .lockfile
                    .as_deref()
                    .map(|p| crate::paths::display(p, &options.env.cwd))
                    .unwrap_or_default()
            ));
            return Ok(ExitStatus::Failure);
        }
        return Ok(ExitStatus::Success);
    }
    let s = planned.plan.summary();
    let out_of_sync = s.add + s.change + s.destroy + s.conflicts;
    printer.note(&format!(
        "{out_of_sync} path{} out of sync with `{}`; `mpm plan` shows what apply would do",
        if out_of_sync == 1 { " is" } else { "s are" },
        planned
            .loaded
            .as_ref()
            .map_or("the manifest", |l| l.display.as_str())
    ));
    Ok(ExitStatus::Failure)
}
