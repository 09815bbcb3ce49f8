//! The plan as text, like Terraform's: one line per agent with `+`, `~`, `-` and the
//! version transition, unified diffs of changed files, drift and conflicts apart with
//! what to do, then `Plan: X to add, Y to change, Z to destroy.` or `No changes.`.

use super::{Action, Conflict, Drift, Plan, Row, Takeover};
use crate::Error;
use crate::address::Address;
use crate::desired::{Source, checked_bytes};
use crate::printer::{Printer, Style};
use crate::target::Target;
use crate::tokens::{PlanTokens, TokenLimits, grouped};

pub struct TextOptions<'a> {
    pub target: &'a str,
    /// What the plan is compared with, for the "No changes." line.
    pub source: &'a str,
    /// Show unified diffs of changed files.
    pub diffs: bool,
    /// The agents' token counts, and the limits they are checked against
    /// (`--tokens`, or a limit set).
    pub tokens: Option<(&'a PlanTokens, &'a TokenLimits)>,
}

/// Writes the plan as text to `out` as it goes (thousands of diffs are never held
/// at once). Diffs read the files on disk and ask `source` for the planned bytes.
/// Each section is printed only when it has something to say; the summary line
/// always is.
pub fn render_text(
    plan: &Plan,
    source: &dyn Source,
    target: &Target,
    printer: &Printer,
    opts: &TextOptions,
    out: &mut dyn std::fmt::Write,
) -> Result<(), Error> {
    let changes = rows(plan, |a| {
        matches!(a, Action::Create | Action::Update | Action::Delete)
    });
    if !changes.is_empty() {
        let tokens = opts.tokens.map(|(t, _)| t);
        write_change_lines(&changes, &plan.packages, opts.target, tokens, printer, out);
        if opts.diffs {
            write_diffs(&changes, source, target, printer, out)?;
        }
        let _ = out.write_char('\n');
    }
    let state_only = rows(plan, |a| matches!(a, Action::Record | Action::Forget));
    let (drifted, recorded): (Vec<&Row>, Vec<&Row>) =
        state_only.iter().partition(|r| r.drift.is_some());
    write_changed_outside_mpm(&drifted, out);
    write_state_only(&recorded, out);
    if plan.pending {
        write_interrupted(out);
    }
    let conflicts: Vec<&Row> = plan.conflicts().collect();
    if !conflicts.is_empty() {
        write_conflicts(&conflicts, target, printer, out);
    }
    let nothing_shown = changes.is_empty() && state_only.is_empty() && conflicts.is_empty();
    write_summary_line(plan, nothing_shown, opts, out);
    if let Some((tokens, limits)) = opts.tokens {
        write_tokens_line(tokens, limits, out);
    }
    Ok(())
}

/// The plan's rows whose action is one of `wanted`, in plan order.
fn rows(plan: &Plan, wanted: impl Fn(Action) -> bool) -> Vec<&Row> {
    plan.rows.iter().filter(|r| wanted(r.action)).collect()
}

/// `mpm will make these changes in …:` and one line per file written or removed:
/// its symbol, agent, version (or transition) and address.
fn write_change_lines(
    changes: &[&Row],
    packages: &crate::lockfile::Packages,
    target: &str,
    tokens: Option<&PlanTokens>,
    printer: &Printer,
    out: &mut dyn std::fmt::Write,
) {
    let width = changes
        .iter()
        .filter(|r| !r.address.is_part())
        .filter_map(|r| r.agent.as_ref())
        .map(String::len)
        .max()
        .unwrap_or(0)
        .max(8);
    // where an agent from a registry comes from: `2.1.0 → 2.2.0 (team)`
    let versions: Vec<String> = changes
        .iter()
        .map(|row| {
            let mut version = version_column(row);
            if let Some(p) = row.agent.as_ref().and_then(|a| packages.get(a))
                && row.action != Action::Delete
            {
                version.push_str(&format!(" ({})", p.registry));
            }
            version
        })
        .collect();
    let version_width = versions
        .iter()
        .map(|v| v.chars().count())
        .max()
        .unwrap_or(0)
        .max(16);
    // with counts, they line up after the addresses
    let address_width = match tokens {
        Some(_) => changes
            .iter()
            .filter(|r| !r.address.is_part())
            .map(|r| r.address.as_str().chars().count())
            .max()
            .unwrap_or(0),
        None => 0,
    };
    let _ = writeln!(out, "mpm will make these changes in {target}:\n");
    for (row, version) in changes.iter().zip(&versions) {
        let (symbol, style) = match row.action {
            Action::Create => ("+", Style::Add),
            Action::Update => ("~", Style::Change),
            _ => ("-", Style::Destroy),
        };
        if row.address.is_part() {
            let _ = writeln!(
                out,
                "  {} {}{}",
                printer.paint(style, symbol),
                part_line(row),
                change_note(row)
            );
            continue;
        }
        let note = change_note(row);
        let agent = row.agent.as_deref().unwrap_or("-");
        let address = match tokens.and_then(|t| t.of(&row.address)) {
            Some(counts) => format!(
                "{:<address_width$}{}",
                row.address.as_str(),
                prompt_change(counts)
            ),
            None => row.address.to_string(),
        };
        let _ = writeln!(
            out,
            "  {} {agent:<width$}  {version:<version_width$} {address}{note}",
            printer.paint(style, symbol),
        );
    }
}

/// The version a change line shows: the one removed, `a → b` for a new version,
/// else the one written.
fn version_column(row: &Row) -> String {
    match (row.action, &row.version_before, &row.version_after) {
        (Action::Delete, Some(v), _) => v.clone(),
        (Action::Update, Some(a), Some(b)) if a != b => format!("{a} → {b}"),
        (_, _, Some(v)) => v.clone(),
        (_, Some(v), None) => v.clone(),
        _ => String::new(),
    }
}

/// What a change line adds when the change takes over or restores a file.
fn change_note(row: &Row) -> &'static str {
    let part = row.address.is_part();
    match row.takeover {
        Some(_) if part && row.sensitive => {
            "  (the value there is not kept: mpm keeps none where a secret goes)"
        }
        Some(Takeover::Forced) => "  (overwrites a change made outside mpm; kept for rollback)",
        Some(Takeover::Adopted) if part => {
            "  (adopted: the value mpm did not write is kept for rollback)"
        }
        Some(Takeover::Adopted) => "  (adopted: the file mpm did not write is kept for rollback)",
        None if row.drift == Some(Drift::Deleted) && part => "  (was removed outside mpm)",
        None if row.drift == Some(Drift::Deleted) => "  (was deleted outside mpm)",
        None => "",
    }
}

/// `settings.json env.A`, `settings.json permissions.allow[] "Read"`: a part of a
/// settings file, as the plan names it (an element by its identity).
pub fn part_name(address: &Address) -> String {
    match address.part() {
        Some(crate::part::Part::Element { array, id }) => {
            format!("{} {}[] {id}", address.file(), array.dotted())
        }
        Some(part) => format!("{} {}", address.file(), part.dotted()),
        None => address.to_string(),
    }
}

/// A value as the plan shows it: canonical JSON, or `(sensitive)`.
fn shown(row: &Row, value: Option<&String>) -> String {
    match value {
        _ if row.sensitive => crate::secret::SHOWN.to_string(),
        Some(v) => v.clone(),
        None => "?".to_string(),
    }
}

/// A change to a part: `settings.json env.A = "1"`, `… = "1" → "2"`, or for an
/// array element `settings.json permissions.allow[] "Read"`.
fn part_line(row: &Row) -> String {
    let values = row.part.as_deref().cloned().unwrap_or_default();
    let is_key = matches!(row.address.part(), Some(crate::part::Part::Key(_)));
    let value = match row.action {
        Action::Create => shown(row, values.after.as_ref()),
        Action::Update => {
            let (before, after) = (
                shown(row, values.before.as_ref()),
                shown(row, values.after.as_ref()),
            );
            if before == after {
                before
            } else {
                format!("{before} → {after}")
            }
        }
        _ => shown(row, values.before.as_ref()),
    };
    let eq = if is_key { " =" } else { "" };
    let name = match row.address.part() {
        Some(part) => format!("{} {}", row.address.file(), part.dotted()),
        None => row.address.to_string(),
    };
    format!("{name}{eq} {value}")
}

/// The unified diff of each updated file, from the bytes on disk to the planned
/// ones; a file whose bytes stay says its mode changes.
fn write_diffs(
    changes: &[&Row],
    source: &dyn Source,
    target: &Target,
    printer: &Printer,
    out: &mut dyn std::fmt::Write,
) -> Result<(), Error> {
    for row in changes
        .iter()
        .filter(|r| r.action == Action::Update && !r.address.is_part())
    {
        let (Some(after), Ok(old)) = (row.after, fs_err::read(target.path_of(&row.address))) else {
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
        printer.write_diff(out, &disk_to_planned(&row.address, &old, &new));
    }
    Ok(())
}

/// The unified diff from a file's bytes on disk to the planned ones.
fn disk_to_planned(address: &Address, old: &[u8], new: &[u8]) -> String {
    let (old, new) = (String::from_utf8_lossy(old), String::from_utf8_lossy(new));
    similar::TextDiff::from_lines(old.as_ref(), new.as_ref())
        .unified_diff()
        .context_radius(3)
        .header(
            &format!("{address} (on disk)"),
            &format!("{address} (after apply)"),
        )
        .to_string()
}

/// `Changed outside mpm:`: files mpm wrote that were deleted by hand and are no
/// longer in the manifest, so mpm only forgets them.
fn write_changed_outside_mpm(drifted: &[&Row], out: &mut dyn std::fmt::Write) {
    if drifted.is_empty() {
        return;
    }
    let _ = out.write_str("Changed outside mpm:\n");
    for row in drifted {
        let (name, verb) = if row.address.is_part() {
            (part_name(&row.address), "removed from its file")
        } else {
            (row.address.to_string(), "deleted")
        };
        let _ = writeln!(
            out,
            "  {name} was {verb}, and is no longer in the manifest: mpm forgets it"
        );
    }
    let _ = out.write_char('\n');
}

/// `State only (no file is written):`: paths mpm starts or stops recording as
/// its own.
fn write_state_only(recorded: &[&Row], out: &mut dyn std::fmt::Write) {
    if recorded.is_empty() {
        return;
    }
    let _ = out.write_str("State only (no file is written):\n");
    for row in recorded {
        let what = if row.action == Action::Record {
            "already holds what mpm would write: recorded as mpm's"
        } else {
            "handed back: mpm stops managing it"
        };
        let _ = writeln!(out, "  {} {what}", part_name(&row.address));
    }
    let _ = out.write_char('\n');
}

/// The note that a pending generation is being finished.
fn write_interrupted(out: &mut dyn std::fmt::Write) {
    let _ = out.write_str("A previous apply was interrupted; files it wrote count as mpm's, and this apply finishes its work.\n\n");
}

/// `Conflicts (…):`, each with what to do; files claude-mpm deployed in the way
/// are grouped under one `--adopt` hint instead of one line each.
fn write_conflicts(
    conflicts: &[&Row],
    target: &Target,
    printer: &Printer,
    out: &mut dyn std::fmt::Write,
) {
    let _ = writeln!(
        out,
        "{}",
        printer.paint(
            Style::Conflict,
            "Conflicts (apply stops here, before any write):"
        )
    );
    let by_claude_mpm = deployed_by_claude_mpm(conflicts, target);
    for row in conflicts {
        if by_claude_mpm.iter().any(|r| r.address == row.address) {
            continue;
        }
        let Action::Conflict(kind) = row.action else {
            continue;
        };
        let (what, todo) = if row.address.is_part() {
            part_conflict_text(kind, row)
        } else {
            conflict_text(kind, row)
        };
        let _ = writeln!(
            out,
            "  {} {}  {what}",
            printer.paint(Style::Conflict, "!"),
            part_name(&row.address)
        );
        let _ = writeln!(out, "      {todo}");
    }
    if !by_claude_mpm.is_empty() {
        write_claude_mpm_in_the_way(&by_claude_mpm, printer, out);
    }
    let _ = out.write_char('\n');
}

/// The conflicts that are files claude-mpm deployed standing where mpm's agents
/// go (by their looks: this groups a hint, it never decides ownership).
fn deployed_by_claude_mpm<'a>(conflicts: &[&'a Row], target: &Target) -> Vec<&'a Row> {
    conflicts
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
        .collect()
}

/// The files claude-mpm deployed that stand where mpm's agents go, and how
/// `--adopt` takes them over.
fn write_claude_mpm_in_the_way(rows: &[&Row], printer: &Printer, out: &mut dyn std::fmt::Write) {
    let n = rows.len();
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
    for row in rows {
        let _ = writeln!(out, "      {}", row.address);
    }
    let _ = writeln!(
        out,
        "      `mpm apply --adopt` takes them over (replaced by mpm's agent, or removed where mpm's file has another name); their bytes are kept, and `mpm rollback` brings them back"
    );
}

/// `Plan: X to add, Y to change, Z to destroy.`, or `No changes.` when no
/// section above had anything to show.
fn write_summary_line(
    plan: &Plan,
    nothing_shown: bool,
    opts: &TextOptions,
    out: &mut dyn std::fmt::Write,
) {
    if nothing_shown {
        let what = if plan.rows.iter().any(|r| r.address.is_part()) {
            "agents and settings"
        } else {
            "agents"
        };
        let _ = writeln!(
            out,
            "No changes. The {what} in {} match {}.",
            opts.target, opts.source
        );
    } else {
        let s = plan.summary();
        let _ = writeln!(
            out,
            "Plan: {} to add, {} to change, {} to destroy.",
            s.add, s.change, s.destroy
        );
    }
}

/// `  1 204 → 1 388 tokens (est.)`: an agent's prompt before and after.
fn prompt_change(a: &crate::tokens::AgentTokens) -> String {
    let counts = match (a.prompt_before, a.prompt) {
        (Some(b), Some(n)) if b != n => format!("{} → {}", grouped(b), grouped(n)),
        (_, Some(n)) => grouped(n),
        (Some(b), None) => format!("{} → 0", grouped(b)),
        (None, None) => return String::new(),
    };
    format!("  {counts} tokens (est.)")
}

/// `Tokens (est.): listing 2 310 → 2 412 of 4 000; largest prompt 1 388 (qa) of
/// 2 000.`: what every session carries, and the largest delegation, after the plan.
fn write_tokens_line(tokens: &PlanTokens, limits: &TokenLimits, out: &mut dyn std::fmt::Write) {
    let of = |limit: &Option<crate::tokens::Limit>| {
        limit
            .as_ref()
            .map(|l| format!(" of {}", grouped(l.max)))
            .unwrap_or_default()
    };
    let listing = match (tokens.listing_before, tokens.listing) {
        (b, n) if b != n => format!("{} → {}", grouped(b), grouped(n)),
        (_, n) => grouped(n),
    };
    let largest = tokens
        .largest_prompt()
        .map(|(agent, n)| {
            format!(
                "; largest prompt {} ({agent}){}",
                grouped(n),
                of(&limits.prompt)
            )
        })
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "Tokens (est.): listing {listing}{}{largest}.",
        of(&limits.listing)
    );
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

/// What is wrong at a part of a settings file, and what to do: a hand edit is
/// shown as the value mpm wrote and the value there now.
fn part_conflict_text(kind: Conflict, row: &Row) -> (String, String) {
    let values = row.part.as_deref().cloned().unwrap_or_default();
    let now = shown(row, values.before.as_ref());
    let wrote = shown(row, values.recorded.as_ref());
    let file = row.address.file();
    match kind {
        Conflict::Edited if row.sensitive => (
            "was edited outside mpm since mpm wrote its secret (values not shown)".into(),
            "keep the edit: remove it from mpm.yaml, then `mpm apply --adopt` hands it back to you; drop it: `mpm apply --force` (a secret's value is never kept: the edited one is lost)".into(),
        ),
        Conflict::EditedRemoved if row.sensitive => (
            "was edited outside mpm since mpm wrote its secret (values not shown)".into(),
            "keep the edit: `mpm apply --adopt` hands it back to you as it is; remove it: `mpm apply --force` (a secret's value is never kept: the edited one is lost)".into(),
        ),
        Conflict::Edited | Conflict::EditedRemoved => (
            format!("was edited outside mpm: mpm wrote {wrote}, it is now {now}"),
            if kind == Conflict::Edited {
                "keep the edit: put it in mpm.yaml; drop it: `mpm apply --force` (the edited value is kept for `mpm rollback`)".into()
            } else {
                "keep the edit: `mpm apply --adopt` hands it back to you as it is; remove it: `mpm apply --force` (the edited value is kept for `mpm rollback`)".into()
            },
        ),
        Conflict::Unmanaged if row.sensitive => (
            "is already set (value not shown), and mpm did not set it".into(),
            "`mpm apply --adopt` takes it over, but its value is not kept (mpm keeps none where a secret goes): no rollback brings it back; or remove it from the file, or from mpm.yaml".into(),
        ),
        Conflict::Unmanaged => (
            format!("is already set to {now}, and mpm did not set it"),
            "`mpm apply --adopt` takes it over (its value is kept for `mpm rollback`); or remove it from the file, or from mpm.yaml".into(),
        ),
        Conflict::NotAFile(crate::actual::OtherKind::Unreadable) => (
            format!("cannot be set: `{file}` is not a JSON object"),
            format!("fix `{file}` (`mpm doctor` says where it stops parsing); mpm never rewrites a settings file it cannot read"),
        ),
        Conflict::NotAFile(crate::actual::OtherKind::NotUtf8) => (
            format!("cannot be set: `{file}` is not UTF-8"),
            format!("save `{file}` as UTF-8 (`mpm doctor` says where it stops parsing); mpm never rewrites a settings file it cannot read"),
        ),
        Conflict::NotAFile(crate::actual::OtherKind::DuplicateKey) => (
            format!("cannot be set: `{file}` gives a key twice in one object"),
            format!("keep one of the two in `{file}` (`mpm doctor` names the key); mpm never rewrites it: that would drop the other value"),
        ),
        Conflict::NotAFile(crate::actual::OtherKind::Blocked) => (
            "cannot be set: a key on its way holds a value that is not an object".into(),
            "make that key an object, or remove this one from mpm.yaml".into(),
        ),
        Conflict::NotAFile(what) => (
            format!("cannot be set: `{file}` is a {what}, not a file"),
            "move it away; mpm never writes through it nor removes it".into(),
        ),
        Conflict::Protected | Conflict::Duplicate => conflict_text(kind, row),
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
