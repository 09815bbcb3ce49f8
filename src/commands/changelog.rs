//! `mpm changelog [AGENT…]`: Keep a Changelog files from the classified commits
//! ([`crate::version`]): the pack's (`release.changelog`; its releases are its tags)
//! and each agent's (`release.agent_changelog`; its releases are the commits that
//! changed its version). A version bumped in the working tree and not committed
//! yet is the newest release, dated today.

use crate::Error;
use crate::cli::ChangelogArgs;
use crate::error::ExitStatus;
use crate::git::history::{Commit, History};
use crate::manifest::Loaded;
use crate::options::Options;
use crate::paths;
use crate::printer::Printer;
use crate::version::bump::{self, Counted};
use crate::version::changelog::{self, Release};
use crate::version::subjects;
use crate::version::write::{self, Change};
use std::path::Path;

pub fn run(
    options: &Options,
    args: &ChangelogArgs,
    printer: &Printer,
) -> Result<ExitStatus, Error> {
    let loaded = options.load_manifest()?;
    let cwd = &options.env.cwd;
    let history = History::open(&loaded.dir)?;
    let today = jiff::Zoned::now().strftime("%Y-%m-%d").to_string();
    let mut changes = Vec::new();
    if args.agents.is_empty() {
        let release = &loaded.manifest.release;
        let path = loaded.resolve(&release.changelog);
        if release
            .files
            .iter()
            .any(|f| loaded.resolve(&f.path) == path)
        {
            return Err(loaded
                .error_at(
                    &["release", "changelog"],
                    format!(
                        "the changelog `{}` is also a version file",
                        release.changelog
                    ),
                    Some("give the changelog its own file, like `CHANGELOG.md`".to_string()),
                )
                .into());
        }
        let releases = pack_releases(&loaded, cwd, &history, &today)?;
        changes.extend(change(&path, cwd, "Changelog", &releases)?);
    }
    let (found, _) = subjects::agents(&loaded, cwd, &args.agents)?;
    for f in &found {
        let place = &f.subject.place;
        let names = bump::follow(&history, history.relative(&place.path)?)?;
        let inputs = bump::inputs_of(&history, &f.subject, &names)?;
        let mut tips: Vec<(Option<semver::Version>, Option<String>, &Commit)> =
            bump::releases(&history, place, &names)?
                .into_iter()
                .map(|(v, c)| (Some(v), Some(c.date()), c))
                .collect();
        // bumped in the working tree and not committed yet: the newest release
        let current = bump::version_in(&f.text, place)?;
        let pending = bump::committed_version(&history, place)?
            .filter(|committed| *committed != current)
            .map(|_| current);
        let releases = sections(&history, &inputs, &mut tips, pending, &today)?;
        let name = &f.subject.name;
        let path = loaded.resolve(
            &loaded
                .manifest
                .release
                .agent_changelog
                .replace("{agent}", name),
        );
        changes.extend(change(
            &path,
            cwd,
            &format!("Changelog of {name}"),
            &releases,
        )?);
    }
    let mut out = String::new();
    if changes.is_empty() {
        out.push_str("The changelogs are up to date.\n");
    } else if args.dry_run {
        for c in &changes {
            let diff = similar::TextDiff::from_lines(c.old.as_deref().unwrap_or(""), &c.new)
                .unified_diff()
                .context_radius(3)
                .header(
                    &if c.old.is_some() {
                        c.shown.clone()
                    } else {
                        "/dev/null".into()
                    },
                    &c.shown,
                )
                .to_string();
            out.push_str(&c.shown);
            out.push(':');
            printer.write_diff(&mut out, &diff);
        }
        write::check(&changes)?;
        out.push_str("Dry run: nothing was written.\n");
    } else {
        write::write_all(&*options.system(), &changes)?;
        let shown: Vec<String> = changes.iter().map(|c| format!("`{}`", c.shown)).collect();
        out.push_str(&format!("Wrote {}.\n", shown.join(", ")));
    }
    printer.out(&out);
    Ok(ExitStatus::Success)
}

/// The pack's releases are its tags of the tag format reachable from HEAD, and a
/// version in the version files newer than the newest tag.
fn pack_releases(
    loaded: &Loaded,
    cwd: &Path,
    history: &History,
    today: &str,
) -> Result<Vec<Release>, Error> {
    let release = &loaded.manifest.release;
    let reachable = history.reachable(history.head());
    let mut tagged: Vec<(semver::Version, &Commit)> = history
        .tags()?
        .into_iter()
        .filter(|(_, at)| history.reaches(&reachable, at))
        .filter_map(|(t, at)| Some((release.version_of_tag(&t)?, history.commit(&at)?)))
        .collect();
    tagged.sort_by(|a, b| b.0.cmp(&a.0));
    let newest = tagged.first().map(|(v, _)| v.clone());
    let mut pending = None;
    if !release.files.is_empty() {
        let places = subjects::pack(loaded, cwd)?;
        if let Some((place, text)) = places.first() {
            let v = bump::version_in(text, place)?;
            if newest.as_ref().is_none_or(|n| v > *n) {
                pending = Some(v);
            }
        }
    }
    // everything under the manifest's directory
    let shown = paths::display(&loaded.dir, cwd);
    let inputs = [(history.relative(&loaded.dir)?, shown.as_str())];
    let mut tips: Vec<(Option<semver::Version>, Option<String>, &Commit)> = tagged
        .into_iter()
        .map(|(v, c)| (Some(v), Some(c.date()), c))
        .collect();
    sections(history, &inputs, &mut tips, pending, today)
}

/// One release per tip (newest first), each holding the commits since the next
/// older tip, and the unreleased commits first: under `[Unreleased]`, or under
/// `pending` (a version written and not released yet), dated today.
fn sections<'h>(
    history: &'h History,
    inputs: &[(String, &str)],
    tips: &mut Vec<(Option<semver::Version>, Option<String>, &'h Commit)>,
    pending: Option<semver::Version>,
    today: &str,
) -> Result<Vec<Release>, Error> {
    let head = history.head();
    let unreleased_date = pending.as_ref().map(|_| today.to_string());
    tips.insert(0, (pending, unreleased_date, head));
    let mut releases = Vec::new();
    for (i, (version, date, tip)) in tips.iter().enumerate() {
        let base = tips.get(i + 1).map(|(_, _, c)| *c);
        // HEAD itself released: nothing is unreleased
        let empty = i == 0 && base.is_some_and(|b| b.id == tip.id);
        let changes = match empty {
            true => Vec::new(),
            false => bump::changes_between(history, tip, base, inputs)?,
        };
        let entries = changes
            .iter()
            .filter(|c| matches!(c.counted, Counted::Bump(_)))
            .filter_map(|c| changelog::entry(c.parsed.as_ref()?, &c.short))
            .collect();
        releases.push(Release {
            version: version.clone(),
            date: date.clone(),
            entries,
        });
    }
    Ok(releases)
}

/// The file's new text, when it differs from what is there.
fn change(
    path: &Path,
    cwd: &Path,
    title: &str,
    releases: &[Release],
) -> Result<Option<Change>, Error> {
    let shown = paths::display(path, cwd);
    if path.is_dir() {
        return Err(Error::usage(
            format!("the changelog `{shown}` is a directory"),
            Some("name a file in `release.changelog` or `release.agent_changelog`".to_string()),
        ));
    }
    let old = match fs_err::read(path) {
        Ok(bytes) => Some(String::from_utf8(bytes).map_err(|_| {
            Error::usage(
                format!("`{shown}` is not UTF-8 text"),
                Some("save it as UTF-8, or move it away and run again".to_string()),
            )
        })?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e.into()),
    };
    let new = changelog::update(old.as_deref(), title, releases);
    if old.as_deref() == Some(new.as_str()) {
        return Ok(None);
    }
    Ok(Some(Change {
        path: path.to_path_buf(),
        shown,
        old,
        new,
    }))
}
