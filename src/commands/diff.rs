//! `mpm diff REF`: the agents rendered from the manifest and its inputs as they are
//! at a git revision and as they are in the working tree, compared. Reads no target
//! and no state log, and writes nothing.

use crate::Error;
use crate::cli::{DiffArgs, DiffFormat};
use crate::desired::{self, DesiredState, Source};
use crate::diff::{self, Compared, NoSource, Side};
use crate::error::ExitStatus;
use crate::files::Files;
use crate::git::AtRevision;
use crate::manifest;
use crate::options::Options;
use crate::printer::Printer;
use std::sync::Arc;

const WORKING_TREE: &str = "working tree";

pub fn run(options: &Options, args: &DiffArgs, printer: &Printer) -> Result<ExitStatus, Error> {
    let cwd = &options.env.cwd;
    let path = options.manifest_path()?;
    // REF first: a mistyped one is reported before anything is rendered
    let at_rev = AtRevision::open(&path, &args.rev, cwd)?;
    let commit = at_rev.commit();
    let manifest_in_tree = at_rev.tree_path(&path).unwrap_or_default();

    let loaded = Arc::new(manifest::load(&path, cwd)?);
    let resolved = super::resolve(options, &loaded, crate::resolve::Update::Nothing, printer)?;
    let (after, after_source) =
        desired::from_manifest(loaded, cwd, Default::default(), Arc::new(resolved.agents))?;
    for warning in &after.warnings {
        printer.warn(warning);
    }

    // a manifest new in the working tree: there were no agents at REF
    let manifest_at_ref = at_rev.is_file(&path);
    let outside = at_rev.outside();
    let (before, before_source): (DesiredState, Box<dyn Source>) = if manifest_at_ref {
        let loaded = Arc::new(manifest::load::load_from(&at_rev, &path, cwd)?);
        let resolved = resolved_at(&loaded, &at_rev, options, printer)?;
        let (state, renderer) =
            desired::from_files(loaded, cwd, Box::new(at_rev), Default::default(), resolved)?;
        (state, Box::new(renderer))
    } else {
        printer.note(&format!(
            "`{manifest_in_tree}` is not in `{}`: every agent counts as added",
            args.rev
        ));
        (DesiredState::default(), Box::new(NoSource))
    };

    for path in outside.borrow().iter() {
        printer.warn(&format!(
            "`{}` is outside the git repository: both sides read it from disk, so its changes are not shown",
            crate::paths::display(path, cwd)
        ));
    }

    let changes = diff::compare(&before, &after);
    let before = Side {
        source: before_source.as_ref(),
        label: &args.rev,
    };
    let after = Side {
        source: &after_source,
        label: WORKING_TREE,
    };
    if args.json {
        let json = diff::to_json(
            &changes,
            Compared {
                rev: &args.rev,
                commit,
                manifest: manifest_in_tree,
                manifest_at_ref,
            },
        );
        printer.out(&(serde_json::to_string_pretty(&json).unwrap_or_default() + "\n"));
    } else {
        match args.format {
            DiffFormat::Text => diff::render_text(
                &changes,
                &before,
                &after,
                &args.rev,
                printer,
                &mut printer.out_writer(),
            )?,
            DiffFormat::Markdown => {
                printer.out(&diff::render_markdown(
                    &changes, &before, &after, &args.rev,
                )?);
            }
        }
    }
    Ok(if changes.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Changes
    })
}

/// The registry agents of the manifest at REF, pinned by the `mpm.lock` at REF.
fn resolved_at(
    loaded: &manifest::Loaded,
    at_rev: &AtRevision,
    options: &Options,
    printer: &Printer,
) -> Result<Arc<desired::Resolved>, Error> {
    if !loaded
        .manifest
        .agents
        .0
        .values()
        .any(|s| s.registry.is_some())
    {
        return Ok(Default::default());
    }
    let path = crate::lockfile::path_beside(&loaded.dir);
    let pins = match at_rev.read(&path)? {
        Some(bytes) => crate::lockfile::Lockfile::parse(&bytes, "mpm.lock (at REF)")?.packages,
        None => Default::default(),
    };
    // what REF pinned is what it deployed: no pin of it is changed here
    let policy = crate::resolve::Policy {
        locked: false,
        offline: options.offline,
        update: crate::resolve::Update::Nothing,
        cache: options.env.cache_dir(),
    };
    let mut sources = super::sources(options, loaded, printer)?;
    let resolution = crate::resolve::resolve(loaded, &pins, &policy, &mut sources);
    if let Some(warning) = sources.finish(resolution.is_ok()) {
        printer.warn(&warning);
    }
    let resolution = resolution?;
    for warning in &resolution.warnings {
        printer.warn(warning);
    }
    Ok(Arc::new(resolution.agents))
}
