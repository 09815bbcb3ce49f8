//! The plan as text, like Terraform's: one line per agent with `+`, `~`, `-` and the
//! version transition, unified diffs of changed files, drift and conflicts apart with
//! what to do, then `Plan: X to add, Y to change, Z to destroy.` or `No changes.`.

use super::{Action, Conflict, Drift, Plan, Row, Takeover};
use crate::Error;
use crate::desired::{Source, checked_bytes};
use crate::printer::{Printer, Style};
use crate::target::Target;

pub struct TextOptions<'a> {
    pub target: &'a str,
    /// What the plan is compared with, for the "No changes." line.
    pub source: &'a str,
    /// Show unified diffs of changed files.
    pub diffs: bool,
}

/// Writes the plan as text to `out` as it goes (thousands of diffs are never held
/// at once). Diffs read the files on disk and ask `source` for the planned bytes.
pub fn render_text(
    plan: &Plan,
    source: &dyn Source,
    target: &Target,
    printer: &Printer,
    opts: &TextOptions,
    out: &mut dyn std::fmt::Write,
) -> Result<(), Error> {
    let changes: Vec<&Row> = plan
        .rows
        .iter()
        .filter(|r| matches!(r.action, Action::Create | Action::Update | Action::Delete))
        .collect();
    let width = changes
        .iter()
        .filter_map(|r| r.agent.as_ref())
        .map(String::len)
        .max()
        .unwrap_or(0)
        .max(8);
    if !changes.is_empty() {
        let _ = writeln!(out, "mpm will make these changes in {}:\n", opts.target);
        for row in &changes {
            let (symbol, style) = match row.action {
                Action::Create => ("+", Style::Add),
                Action::Update => ("~", Style::Change),
                _ => ("-", Style::Destroy),
            };
            let version = match (row.action, &row.version_before, &row.version_after) {
                (Action::Delete, Some(v), _) => v.clone(),
                (Action::Update, Some(a), Some(b)) if a != b => format!("{a} → {b}"),
                (_, _, Some(v)) => v.clone(),
                (_, Some(v), None) => v.clone(),
                _ => String::new(),
            };
            let note = match row.takeover {
                Some(Takeover::Forced) => {
                    "  (overwrites a change made outside mpm; kept for rollback)"
                }
                Some(Takeover::Adopted) => {
                    "  (adopted: the file mpm did not write is kept for rollback)"
                }
                None if row.drift == Some(Drift::Deleted) => "  (was deleted outside mpm)",
                None => "",
            };
            let agent = row.agent.as_deref().unwrap_or("-");
            let _ = writeln!(
                out,
                "  {} {agent:<width$}  {version:<16} {}{note}",
                printer.paint(style, symbol),
                row.address
            );
        }
        if opts.diffs {
            for row in changes.iter().filter(|r| r.action == Action::Update) {
                let (Some(after), Ok(old)) =
                    (row.after, fs_err::read(target.path_of(&row.address)))
                else {
                    continue;
                };
                let new = checked_bytes(source, &row.address, &after.digest)?;
                if old == new {
                    let _ = writeln!(
                        out,
                        "\n  {}: same bytes, mode set to {:04o}",
                        row.address, after.mode
                    );
                    continue;
                }
                let (old, new) = (String::from_utf8_lossy(&old), String::from_utf8_lossy(&new));
                let diff = similar::TextDiff::from_lines(old.as_ref(), new.as_ref());
                let text = diff
                    .unified_diff()
                    .context_radius(3)
                    .header(
                        &format!("{} (on disk)", row.address),
                        &format!("{} (after apply)", row.address),
                    )
                    .to_string();
                let _ = writeln!(out);
                for line in text.lines() {
                    let style = match line.as_bytes().first() {
                        Some(b'+') if !line.starts_with("+++") => Some(Style::Add),
                        Some(b'-') if !line.starts_with("---") => Some(Style::Destroy),
                        Some(b'@') => Some(Style::Dim),
                        _ => None,
                    };
                    let line = match style {
                        Some(s) => printer.paint(s, line),
                        None => line.to_string(),
                    };
                    let _ = writeln!(out, "    {line}");
                }
            }
        }
        let _ = out.write_char('\n');
    }

    let state_only: Vec<&Row> = plan
        .rows
        .iter()
        .filter(|r| matches!(r.action, Action::Record | Action::Forget))
        .collect();
    let drifted: Vec<&Row> = state_only
        .iter()
        .copied()
        .filter(|r| r.drift.is_some())
        .collect();
    let recorded: Vec<&Row> = state_only
        .iter()
        .copied()
        .filter(|r| r.drift.is_none())
        .collect();
    if !drifted.is_empty() {
        let _ = out.write_str("Changed outside mpm:\n");
        for row in &drifted {
            let _ = writeln!(
                out,
                "  {} was deleted, and is no longer in the manifest: mpm forgets it",
                row.address
            );
        }
        let _ = out.write_char('\n');
    }
    if !recorded.is_empty() {
        let _ = out.write_str("State only (no file is written):\n");
        for row in &recorded {
            let what = if row.action == Action::Record {
                "already holds what mpm would write: recorded as mpm's"
            } else {
                "handed back: mpm stops managing it"
            };
            let _ = writeln!(out, "  {} {what}", row.address);
        }
        let _ = out.write_char('\n');
    }
    if plan.pending {
        let _ = out.write_str("A previous apply was interrupted; files it wrote count as mpm's, and this apply finishes its work.\n\n");
    }

    let conflicts: Vec<&Row> = plan.conflicts().collect();
    if !conflicts.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            printer.paint(
                Style::Conflict,
                "Conflicts (apply stops here, before any write):"
            )
        );
        let by_claude_mpm: Vec<&Row> = conflicts
            .iter()
            .copied()
            .filter(|r| {
                matches!(
                    r.action,
                    Action::Conflict(Conflict::Unmanaged | Conflict::Duplicate)
                )
            })
            .filter(|r| {
                fs_err::read(target.path_of(&r.address)).is_ok_and(|b| looks_like_claude_mpm(&b))
            })
            .collect();
        for row in &conflicts {
            if by_claude_mpm.iter().any(|r| r.address == row.address) {
                continue;
            }
            let Action::Conflict(kind) = row.action else {
                continue;
            };
            let (what, todo) = conflict_text(kind, row);
            let _ = writeln!(
                out,
                "  {} {}  {what}",
                printer.paint(Style::Conflict, "!"),
                row.address
            );
            let _ = writeln!(out, "      {todo}");
        }
        if !by_claude_mpm.is_empty() {
            let n = by_claude_mpm.len();
            let (files, verb) = if n == 1 {
                ("file", "is")
            } else {
                ("files", "are")
            };
            let _ = writeln!(
                out,
                "  {} {n} {files} deployed by claude-mpm {verb} in the way of mpm's agents:",
                printer.paint(Style::Conflict, "!"),
            );
            for row in &by_claude_mpm {
                let _ = writeln!(out, "      {}", row.address);
            }
            let _ = writeln!(
                out,
                "      `mpm apply --adopt` takes them over (replaced by mpm's agent, or removed where mpm's file has another name); their bytes are kept, and `mpm rollback` brings them back"
            );
        }
        let _ = out.write_char('\n');
    }

    let s = plan.summary();
    if changes.is_empty() && state_only.is_empty() && conflicts.is_empty() {
        let _ = writeln!(
            out,
            "No changes. The agents in {} match {}.",
            opts.target, opts.source
        );
    } else {
        let _ = writeln!(
            out,
            "Plan: {} to add, {} to change, {} to destroy.",
            s.add, s.change, s.destroy
        );
    }
    Ok(())
}

fn conflict_text(kind: Conflict, row: &Row) -> (String, String) {
    match kind {
        Conflict::Edited => (
            "was edited outside mpm since mpm wrote it".into(),
            "keep the edit: put it in the agent's source; drop it: `mpm apply --force` (the edited file is kept for `mpm rollback`)".into(),
        ),
        Conflict::Unmanaged => (
            "exists, and mpm did not write it".into(),
            "`mpm apply --adopt` takes it over (its bytes are kept for `mpm rollback`); or move it away".into(),
        ),
        Conflict::EditedRemoved => (
            "is no longer in the manifest, but was edited since mpm wrote it".into(),
            "keep it: move it out of the way; delete it: `mpm apply --force` (kept for `mpm rollback`)".into(),
        ),
        Conflict::Protected => (
            format!("agent `{}` is protected, and this plan would delete it", row.agent.as_deref().unwrap_or("?")),
            "to delete it, first set `protect: false` and apply, then remove it".into(),
        ),
        Conflict::Duplicate => (
            format!("also names itself `{}`, an agent mpm writes: Claude Code would load only one", row.agent.as_deref().unwrap_or("?")),
            "`mpm apply --adopt` removes it (its bytes are kept for `mpm rollback`); or rename one of the agents".into(),
        ),
        Conflict::NotAFile(what) => (
            format!("is a {what}, not a file"),
            "move it away; mpm never writes through it nor removes it".into(),
        ),
    }
}

/// Whether a file looks like one claude-mpm deployed (for grouping a hint only:
/// ownership is never decided by content).
pub fn looks_like_claude_mpm(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(bytes);
    let head: String = text.lines().take(40).collect::<Vec<_>>().join("\n");
    head.contains("author: claude-mpm")
        || head.contains("Claude MPM")
        || (head.contains("\ntype: ")
            && head.contains("\nversion: ")
            && head.contains("\ncategory: "))
}
