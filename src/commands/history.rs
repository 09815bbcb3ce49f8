//! `mpm history` (one line per generation) and `mpm history prune --keep N`.

use crate::Error;
use crate::cli::{HistoryAction, HistoryArgs};
use crate::error::ExitStatus;
use crate::options::Options;
use crate::printer::Printer;
use crate::state::LockMode;

pub fn run(options: &Options, args: &HistoryArgs, printer: &Printer) -> Result<ExitStatus, Error> {
    let target = options.target_without_manifest()?;
    let lock = match args.action {
        Some(HistoryAction::Prune { .. }) => LockMode::Exclusive,
        None => LockMode::Shared,
    };
    let Some(store) = super::open_state(options, &target, lock, printer)? else {
        printer.note(&format!(
            "No generations yet: nothing was applied to `{}`.",
            target.display
        ));
        return Ok(ExitStatus::Success);
    };
    match &args.action {
        Some(HistoryAction::Prune { keep }) => {
            let store = store.writable()?;
            let (generations, blobs) = store.prune(usize::try_from(*keep).unwrap_or(usize::MAX))?;
            printer.out(&format!(
                "Pruned {generations} generation(s) and {blobs} blob(s).\n"
            ));
        }
        None => {
            // the records alone: a generation whose blobs are damaged is still listed
            let current = store.current()?;
            let mut out = String::new();
            for g in store.generations()? {
                let kind = match g.rollback_to {
                    Some(to) => format!("rollback to {to}"),
                    None => "apply".to_string(),
                };
                let git = g
                    .manifest
                    .as_ref()
                    .and_then(|m| m.git.as_ref())
                    .map(|git| {
                        format!(
                            "  git {}{}",
                            &git.commit[..git.commit.len().min(10)],
                            if git.dirty { "+dirty" } else { "" }
                        )
                    })
                    .unwrap_or_default();
                out.push_str(&format!(
                    "{}{:>4}  {}  {:<14} +{} ~{} -{}{}  {}\n",
                    if Some(g.id) == current { '*' } else { ' ' },
                    g.id,
                    g.time,
                    kind,
                    g.counts.added,
                    g.counts.changed,
                    g.counts.destroyed,
                    git,
                    g.command
                ));
            }
            if out.is_empty() {
                printer.note("No generations yet.");
            }
            printer.out(&out);
        }
    }
    Ok(ExitStatus::Success)
}
