//! `mpm lock`, `mpm update` and `mpm outdated`: the registry pins of `mpm.lock`.

use crate::Error;
use crate::cli::{OutdatedArgs, UpdateArgs};
use crate::error::ExitStatus;
use crate::lockfile::{self, Lockfile};
use crate::manifest::Loaded;
use crate::options::Options;
use crate::printer::Printer;
use crate::resolve::{Resolution, Update};
use std::collections::BTreeSet;

/// Resolves what changed and writes the pins.
pub fn lock(options: &Options, printer: &Printer) -> Result<ExitStatus, Error> {
    let loaded = options.load_manifest()?;
    let resolution = super::resolve(options, &loaded, Update::Nothing, printer)?;
    write_pins(options, &loaded, &resolution, printer)
}

/// Moves the agents named (or all) to the newest versions allowed.
pub fn update(
    options: &Options,
    args: &UpdateArgs,
    printer: &Printer,
) -> Result<ExitStatus, Error> {
    let loaded = options.load_manifest()?;
    let from_registries: Vec<&str> = loaded
        .manifest
        .agents
        .0
        .iter()
        .filter(|(_, s)| s.registry.is_some())
        .map(|(n, _)| n.as_str())
        .collect();
    for agent in &args.agents {
        if !from_registries.contains(&agent.as_str()) {
            let hint = match crate::text::closest(agent, &from_registries) {
                Some(near) => format!("did you mean `{near}`?"),
                None if from_registries.is_empty() => {
                    "no agent of the manifest comes from a registry".into()
                }
                None => format!("agents from registries: {}", from_registries.join(", ")),
            };
            return Err(Error::usage(
                format!("`{agent}` is not an agent from a registry in the manifest"),
                Some(hint),
            ));
        }
    }
    let update = match args.agents.is_empty() {
        true => Update::All,
        false => Update::Agents(args.agents.iter().cloned().collect::<BTreeSet<_>>()),
    };
    let resolution = super::resolve(options, &loaded, update, printer)?;
    write_pins(options, &loaded, &resolution, printer)
}

/// Writes the resolution's pins into the `mpm.lock` beside the manifest, keeping
/// its record of files, and says what changed.
fn write_pins(
    options: &Options,
    loaded: &Loaded,
    resolution: &Resolution,
    printer: &Printer,
) -> Result<ExitStatus, Error> {
    let path = lockfile::path_beside(&loaded.dir);
    let shown = crate::paths::display(&path, &options.env.cwd);
    // an apply writes mpm.lock too: the target's lock keeps the two apart (held
    // until the file is written)
    let target = options.target(loaded)?;
    let _held = super::open_state(options, &target, crate::state::LockMode::Exclusive, printer)?;
    let existing = Lockfile::read(&path, &shown)?;
    let pinned = resolution.packages.len();
    if resolution.changes.is_empty() {
        printer.note(&format!(
            "`{shown}` is up to date: {pinned} agent{} from registries pinned.",
            if pinned == 1 { "" } else { "s" }
        ));
        return Ok(ExitStatus::Success);
    }
    for change in &resolution.changes {
        printer.out(&format!("{}\n", change.line()));
    }
    let mut lock = existing.map(|(lock, _)| lock).unwrap_or_default();
    lock.packages = resolution.packages.clone();
    crate::system::write_file_atomically(&path, lock.render())?;
    printer.note(&format!("Wrote `{shown}`."));
    Ok(ExitStatus::Success)
}

/// One line of `mpm outdated`.
#[derive(Debug, serde::Serialize)]
struct Outdated {
    agent: String,
    registry: String,
    /// In mpm.lock (`None`: not pinned yet).
    pinned: Option<String>,
    /// The newest the manifest's requirement allows.
    allowed: String,
    /// The newest there is.
    latest: Option<String>,
}

pub fn outdated(
    options: &Options,
    args: &OutdatedArgs,
    printer: &Printer,
) -> Result<ExitStatus, Error> {
    let loaded = options.load_manifest()?;
    let pins = super::pins_beside(&loaded, &options.env.cwd)?;
    // `--locked` is about writing the lock, which this never does
    let mut unlocked = options.clone();
    unlocked.locked = false;
    let newest = super::resolve(&unlocked, &loaded, Update::All, printer)?;
    let rows: Vec<Outdated> = newest
        .packages
        .iter()
        .map(|(agent, allowed)| Outdated {
            agent: agent.clone(),
            registry: allowed.registry.clone(),
            pinned: pins.get(agent).map(|p| p.version.clone()),
            allowed: allowed.version.clone(),
            latest: newest.latest.get(agent).cloned(),
        })
        .filter(|r| r.pinned.as_ref() != Some(&r.allowed) || r.latest.as_ref() != Some(&r.allowed))
        .collect();
    if args.json {
        let mut text = serde_json::to_string_pretty(&rows).unwrap_or_default();
        text.push('\n');
        printer.out(&text);
        return Ok(ExitStatus::Success);
    }
    if rows.is_empty() {
        printer.note("Every agent from a registry is at the newest version there is.");
        return Ok(ExitStatus::Success);
    }
    let mut table = vec![["agent", "pinned", "allowed", "latest", "registry"].map(String::from)];
    table.extend(rows.iter().map(|r| {
        [
            r.agent.clone(),
            r.pinned.clone().unwrap_or_else(|| "-".into()),
            r.allowed.clone(),
            r.latest.clone().unwrap_or_else(|| "-".into()),
            r.registry.clone(),
        ]
    }));
    let out = crate::table::columns(&table);
    printer.out(&out);
    Ok(ExitStatus::Success)
}
