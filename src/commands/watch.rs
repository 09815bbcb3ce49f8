//! `mpm watch`: a plan at start, and again after each burst of saves to
//! `mpm.yaml` or a file its last good plan read; `--apply` applies each one that
//! has no conflicts. Every round is a run of `mpm plan` (`mpm apply --yes`)
//! itself, so it prints exactly what that command prints, and takes the state
//! log's lock only while it runs: never while waiting.

use crate::Error;
use crate::cli::{ApplyArgs, PlanArgs, TakeoverArgs, WatchArgs};
use crate::error::ExitStatus;
use crate::options::Options;
use crate::printer::Printer;
use crate::watch::{Interest, Next, Watch};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub fn run(options: &Options, args: &WatchArgs, printer: &Printer) -> Result<ExitStatus, Error> {
    // the manifest found now is the one watched, whatever appears or goes around it
    let manifest = options.manifest_path()?;
    let options = &options.with_manifest_path(manifest.clone());
    let cwd = &options.env.cwd;
    let mut watch = Watch::start(Duration::from_millis(args.debounce))?;
    // watched before the first plan, so that a save while it runs is not missed
    let alone = std::slice::from_ref(&manifest);
    if let Some(e) = watch.set(interest(alone), cwd).into_iter().next() {
        return Err(e.into());
    }
    // the files of the last plan made: watched while an edit does not render
    let mut good: Option<Vec<PathBuf>> = None;
    loop {
        let read = round(options, args, printer);
        if printer.stdout_gone() {
            // the reader stopped reading (or the output is lost: reported at exit)
            return Ok(ExitStatus::Success);
        }
        let status = match (read, &good) {
            (Some(read), _) => {
                let status = format!("Watching {}", files(&read, "reads", cwd));
                good = Some(read);
                status
            }
            (None, Some(good)) => format!(
                "The last good plan stands; watching {}",
                files(good, "read", cwd)
            ),
            (None, None) => format!("No plan yet; watching {}", files(alone, "", cwd)),
        };
        for problem in watch.set(interest(good.as_deref().unwrap_or(alone)), cwd) {
            printer.warn(&problem.to_string());
        }
        printer.note(&format!("{status} for changes (Ctrl-C stops)."));
        let Some(changed) = next_change(&mut watch, printer) else {
            printer.note("Stopped watching.");
            return Ok(ExitStatus::Success);
        };
        printer.note(&format!(
            "\n{}; planning again.",
            what_changed(&changed, cwd)
        ));
    }
}

/// One `mpm plan` (or `mpm apply --yes`), its error printed as that command
/// prints it; the files it was made from, when the manifest rendered.
fn round(options: &Options, args: &WatchArgs, printer: &Printer) -> Option<Vec<PathBuf>> {
    // the manifest as it is now, its `mpm:` settings too
    let options = &match options.with_manifest_read_again() {
        Ok(options) => options,
        Err(e) => {
            printer.error(&e);
            return None;
        }
    };
    let takeover = TakeoverArgs {
        force: false,
        adopt: false,
    };
    let mut read = Vec::new();
    let outcome = if args.apply {
        let apply = ApplyArgs {
            plan: None,
            yes: true,
            dry_run: false,
            tokens: false,
            takeover,
        };
        super::apply::run_reading(options, &apply, printer, &mut read)
    } else {
        let plan = PlanArgs {
            json: false,
            detailed_exitcode: false,
            out: None,
            tokens: false,
            takeover,
        };
        super::plan::run_reading(options, &plan, printer, &mut read)
    };
    if let Err(e) = outcome {
        printer.error(&e);
    }
    (!read.is_empty()).then_some(read)
}

/// The files to watch: each as named, and as it is once its links are resolved
/// (a template linked from elsewhere changes there).
fn interest(files: &[PathBuf]) -> Interest {
    Interest::new(files.iter().flat_map(|f| {
        let resolved = std::fs::canonicalize(f).ok().filter(|r| r != f);
        std::iter::once(f.clone()).chain(resolved)
    }))
}

/// The next burst of changes; `None`: stop.
fn next_change(watch: &mut Watch, printer: &Printer) -> Option<Vec<PathBuf>> {
    loop {
        match watch.wait() {
            Next::Changed(changed) => return Some(changed),
            Next::Stop => return None,
            Next::Trouble(message) => printer.warn(&format!("watching for changes: {message}")),
        }
    }
}

/// "`mpm.yaml` and 2 files it reads": the manifest (first) and its inputs.
fn files(read: &[PathBuf], verb: &str, cwd: &Path) -> String {
    let manifest = read
        .first()
        .map(|m| crate::paths::display(m, cwd))
        .unwrap_or_default();
    match read.len().saturating_sub(1) {
        0 => format!("`{manifest}`"),
        1 => format!("`{manifest}` and 1 file it {verb}"),
        n => format!("`{manifest}` and {n} files it {verb}"),
    }
}

fn what_changed(changed: &[PathBuf], cwd: &Path) -> String {
    let shown = |p: &PathBuf| format!("`{}`", crate::paths::display(p, cwd));
    match changed {
        [] => "Files may have changed (the watch missed events)".to_string(),
        [one] => format!("{} changed", shown(one)),
        [one, two] => format!("{} and {} changed", shown(one), shown(two)),
        [one, rest @ ..] => format!("{} and {} other files changed", shown(one), rest.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_manifest_and_count_the_rest() {
        let cwd = Path::new("/p");
        let read: Vec<PathBuf> = ["/p/mpm.yaml", "/p/t/a.json", "/p/t/b.json"]
            .iter()
            .map(PathBuf::from)
            .collect();
        assert_eq!(files(&read[..1], "", cwd), "`mpm.yaml`");
        assert_eq!(
            files(&read[..2], "reads", cwd),
            "`mpm.yaml` and 1 file it reads"
        );
        assert_eq!(files(&read, "read", cwd), "`mpm.yaml` and 2 files it read");
        assert_eq!(what_changed(&read[1..2], cwd), "`t/a.json` changed");
        assert_eq!(
            what_changed(&read[..2], cwd),
            "`mpm.yaml` and `t/a.json` changed"
        );
        assert_eq!(
            what_changed(&read, cwd),
            "`mpm.yaml` and 2 other files changed"
        );
        assert_eq!(
            what_changed(&[], cwd),
            "Files may have changed (the watch missed events)"
        );
    }
}
