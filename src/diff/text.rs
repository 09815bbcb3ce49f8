//! `mpm diff` as text, in the plan's style: one line per agent with `+`, `~`, `-`
//! and the version transition, then the unified diff of each agent file, then a
//! count.

use super::{AgentChange, Change, Side, summary, unified_diff};
use crate::Error;
use crate::printer::{Printer, Style};

/// Writes the comparison to `out` as it goes: thousands of diffs are never held at
/// once. `rev` is REF as given.
pub fn render_text(
    changes: &[AgentChange],
    before: &Side,
    after: &Side,
    rev: &str,
    printer: &Printer,
    out: &mut dyn std::fmt::Write,
) -> Result<(), Error> {
    if changes.is_empty() {
        let _ = writeln!(
            out,
            "No changes. The agents rendered from the working tree match `{rev}`."
        );
        return Ok(());
    }
    let _ = writeln!(
        out,
        "Changes to the agents from `{rev}` to the working tree:\n"
    );
    let width = changes
        .iter()
        .map(|c| c.agent.len())
        .max()
        .unwrap_or(0)
        .max(8);
    for c in changes {
        let style = match c.change {
            Change::Added => Style::Add,
            Change::Changed => Style::Change,
            Change::Removed => Style::Destroy,
        };
        let note = if c.disabled { "  (disabled)" } else { "" };
        let _ = writeln!(
            out,
            "  {} {:<width$}  {:<16} {}{note}",
            printer.paint(style, c.change.symbol()),
            c.agent,
            c.versions(),
            c.address
        );
    }
    for c in changes {
        printer.write_diff(out, &unified_diff(c, before, after)?);
    }
    let s = summary(changes);
    let _ = writeln!(
        out,
        "\nAgents: {} added, {} changed, {} removed.",
        s.added, s.changed, s.removed
    );
    Ok(())
}
