//! `mpm version bump|check|set`: agent and pack versions from git history
//! ([`crate::version`]). Writes only the version's bytes of each file, all files or
//! none; `--tag` creates an annotated tag and nothing else (no commit, no push).

use crate::Error;
use crate::cli::{BumpArgs, CheckArgs, SetArgs, VersionArgs, VersionCommand};
use crate::error::ExitStatus;
use crate::git::history::{History, HistoryError};
use crate::manifest::Loaded;
use crate::options::Options;
use crate::printer::Printer;
use crate::version::bump::{self, Counted, Place, Planned, Standing};
use crate::version::conventional::Bump;
use crate::version::edit;
use crate::version::subjects;
use crate::version::write::{self, Change};
use serde_json::{Value, json};
use std::fmt::Write as _;

/// The JSON's version; minor versions only add keys.
const FORMAT_VERSION: &str = "1.0";

pub fn run(options: &Options, args: &VersionArgs, printer: &Printer) -> Result<ExitStatus, Error> {
    let loaded = options.load_manifest()?;
    match &args.command {
        VersionCommand::Bump(a) if a.pack => bump_pack(options, &loaded, a, printer),
        VersionCommand::Bump(a) => bump_agents(options, &loaded, a, printer),
        VersionCommand::Check(a) => check(options, &loaded, a, printer),
        VersionCommand::Set(a) => set(options, &loaded, a, printer),
    }
}

fn bump_agents(
    options: &Options,
    loaded: &Loaded,
    args: &BumpArgs,
    printer: &Printer,
) -> Result<ExitStatus, Error> {
    let cwd = &options.env.cwd;
    let (found, unversioned) = subjects::agents(loaded, cwd, &args.agents)?;
    let history = History::open(&loaded.dir)?;
    let mut planned = Vec::new();
    let mut changes = Vec::new();
    for f in &found {
        let p = bump::plan(&history, &f.subject, &f.text)?;
        if p.standing == Standing::Committed && p.changes_version() {
            changes.push(change(&f.subject.place, &f.text, &p.next)?);
        }
        planned.push(p);
    }
    finish(
        &*options.system(),
        args,
        printer,
        &planned,
        &changes,
        "agent",
    )?;
    if !args.json {
        for u in unversioned.iter().filter(|u| u.missing) {
            printer.note(&format!("`{}` has no version: {}", u.agent, u.why));
        }
    }
    Ok(ExitStatus::Success)
}

fn bump_pack(
    options: &Options,
    loaded: &Loaded,
    args: &BumpArgs,
    printer: &Printer,
) -> Result<ExitStatus, Error> {
    let cwd = &options.env.cwd;
    let places = subjects::pack(loaded, cwd)?;
    let version = agreed(&places)?;
    let Some((first, _)) = places.first() else {
        return Ok(ExitStatus::Success);
    };
    let history = History::open(&loaded.dir)?;
    let subject = subjects::pack_subject(loaded, cwd, first);
    let planned = bump::plan(&history, &subject, &places[0].1)?;
    if args.tag {
        return tag_pack(loaded, &history, &places, &planned, &version, printer);
    }
    let changes = match planned.standing == Standing::Committed && planned.changes_version() {
        true => changes(&places, &planned.next)?,
        false => Vec::new(),
    };
    let planned = [planned];
    finish(
        &*options.system(),
        args,
        printer,
        &planned,
        &changes,
        "pack",
    )?;
    Ok(ExitStatus::Success)
}

/// `--pack --tag`: tags HEAD once it carries the version the commits call for.
fn tag_pack(
    loaded: &Loaded,
    history: &History,
    places: &[(Place, String)],
    planned: &Planned,
    version: &semver::Version,
    printer: &Printer,
) -> Result<ExitStatus, Error> {
    let tag = loaded.manifest.release.tag_of(version);
    if planned.standing == Standing::Committed && planned.changes_version() {
        return Err(Error::usage(
            format!(
                "HEAD's version is {version} and its commits since call for {}: tag a release once HEAD carries it",
                planned.next
            ),
            Some(format!(
                "`mpm version bump --pack`, commit the version files, then `mpm version bump --pack --tag` tags `{}`",
                loaded.manifest.release.tag_of(&planned.next)
            )),
        ));
    }
    committed(history, places, version)?;
    make_tag(history, &tag, version, printer)
}

/// Every version file at HEAD says `version`, as the working tree does.
fn committed(
    history: &History,
    places: &[(Place, String)],
    version: &semver::Version,
) -> Result<(), Error> {
    for (place, _) in places {
        let at_head = bump::committed_version(history, place)?;
        if at_head.as_ref() != Some(version) {
            let found = at_head.map_or("no version".to_string(), |v| v.to_string());
            return Err(Error::usage(
                format!(
                    "`{}` says {version} in the working tree and {found} at HEAD: `--tag` tags HEAD, which must carry the version",
                    place.shown
                ),
                Some("commit the version files first (mpm never commits for you), then run it again with `--tag`".to_string()),
            ));
        }
    }
    Ok(())
}

fn make_tag(
    history: &History,
    tag: &str,
    version: &semver::Version,
    printer: &Printer,
) -> Result<ExitStatus, Error> {
    let head = history.head();
    if let Some((_, at)) = history.tags()?.into_iter().find(|(t, _)| t == tag) {
        if at == head.id {
            printer.out(&format!("`{tag}` already tags HEAD ({})\n", head.short()));
            return Ok(ExitStatus::Success);
        }
        return Err(HistoryError::TagExists {
            tag: tag.to_string(),
        }
        .into());
    }
    history.tag(tag, &format!("Release {version}\n"))?;
    printer.out(&format!(
        "Tagged {} `{tag}` (annotated; not pushed: `git push origin {tag}`)\n",
        head.short()
    ));
    Ok(ExitStatus::Success)
}

fn check(
    options: &Options,
    loaded: &Loaded,
    args: &CheckArgs,
    printer: &Printer,
) -> Result<ExitStatus, Error> {
    let places = subjects::pack(loaded, &options.env.cwd)?;
    let mut rows: Vec<(String, Result<semver::Version, String>)> = Vec::new();
    for (place, text) in &places {
        let v = bump::version_in(text, place).map_err(|e| e.to_string());
        rows.push((place.shown.clone(), v));
    }
    let release = &loaded.manifest.release;
    let latest = match History::open(&loaded.dir) {
        Ok(history) => {
            if history.is_shallow() {
                printer.warn("this clone is shallow: tags on commits below its boundary are not seen (`git fetch --unshallow`)");
            }
            latest_tag(&history, release)?
        }
        Err(HistoryError::NotARepository { .. }) | Err(HistoryError::NoCommit { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    let mut versions: Vec<&semver::Version> =
        rows.iter().filter_map(|(_, v)| v.as_ref().ok()).collect();
    if let Some((_, v)) = &latest {
        versions.push(v);
    }
    let unreadable = rows.iter().any(|(_, v)| v.is_err());
    let agree = !unreadable && versions.windows(2).all(|w| w[0] == w[1]);
    if args.json {
        let files: Vec<Value> = rows
            .iter()
            .map(|(file, v)| match v {
                Ok(v) => json!({ "file": file, "version": v.to_string() }),
                Err(e) => json!({ "file": file, "version": null, "error": e }),
            })
            .collect();
        let tag = latest
            .as_ref()
            .map(|(t, v)| json!({ "name": t, "version": v.to_string() }));
        let doc =
            json!({ "format_version": FORMAT_VERSION, "files": files, "tag": tag, "agree": agree });
        printer.out(&(serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"));
    } else {
        let mut table: Vec<[String; 2]> = vec![["file".into(), "version".into()]];
        for (file, v) in &rows {
            let shown = match v {
                Ok(v) => v.to_string(),
                Err(e) => format!("unreadable: {e}"),
            };
            table.push([file.clone(), shown]);
        }
        match &latest {
            Some((t, v)) => table.push([format!("tag {t}"), v.to_string()]),
            None => table.push(["tag".into(), "none".into()]),
        }
        printer.out(&crate::table::columns(&table));
    }
    if agree {
        return Ok(ExitStatus::Success);
    }
    if let Some((file, Err(e))) = rows.iter().find(|(_, v)| v.is_err()) {
        return Err(Error::usage(
            format!("cannot read the version of `{file}`: {e}"),
            Some(
                "write it as X.Y.Z, like `1.0.0` (`mpm version set X.Y.Z` writes every file)"
                    .to_string(),
            ),
        ));
    }
    Err(Error::usage(
        "the pack's versions disagree",
        Some(match latest {
            Some(_) if !unreadable => "make them one with `mpm version set X.Y.Z`; a version newer than the tag is tagged with `mpm version set X.Y.Z --tag` once committed".to_string(),
            _ => "make them one with `mpm version set X.Y.Z`".to_string(),
        }),
    ))
}

/// The highest release version among the tags of the tag format on commits
/// reachable from HEAD.
fn latest_tag(
    history: &History,
    release: &crate::manifest::ReleaseSection,
) -> Result<Option<(String, semver::Version)>, Error> {
    let reachable = history.reachable(history.head());
    Ok(history
        .tags()?
        .into_iter()
        .filter(|(_, at)| history.reaches(&reachable, at))
        .filter_map(|(t, _)| release.version_of_tag(&t).map(|v| (t, v)))
        .max_by(|a, b| a.1.cmp(&b.1)))
}

fn set(
    options: &Options,
    loaded: &Loaded,
    args: &SetArgs,
    printer: &Printer,
) -> Result<ExitStatus, Error> {
    let version = semver::Version::parse(args.version.trim()).map_err(|e| {
        Error::usage(
            format!("`{}` is not a semantic version ({e})", args.version),
            Some("write it as X.Y.Z, like `1.4.0` or `2.0.0-rc.1`".to_string()),
        )
    })?;
    let places = subjects::pack(loaded, &options.env.cwd)?;
    let changes = changes(&places, &version)?;
    if args.tag {
        if !changes.is_empty() {
            return Err(Error::usage(
                format!(
                    "the version files do not say {version} yet: `--tag` tags HEAD, which must carry the version"
                ),
                Some(format!(
                    "`mpm version set {version}`, commit the version files, then `mpm version set {version} --tag`"
                )),
            ));
        }
        let history = History::open(&loaded.dir)?;
        committed(&history, &places, &version)?;
        let tag = loaded.manifest.release.tag_of(&version);
        return make_tag(&history, &tag, &version, printer);
    }
    let mut out = String::new();
    for c in &changes {
        let _ = writeln!(out, "{}: {version}", c.shown);
    }
    if changes.is_empty() {
        let _ = writeln!(out, "Every version file already says {version}.");
    } else if args.dry_run {
        write::check(&changes)?;
        let _ = writeln!(out, "Dry run: nothing was written.");
    } else {
        write::write_all(&*options.system(), &changes)?;
    }
    printer.out(&out);
    Ok(ExitStatus::Success)
}

/// The one version every file says.
fn agreed(places: &[(Place, String)]) -> Result<semver::Version, Error> {
    let mut seen: Option<(String, semver::Version)> = None;
    for (place, text) in places {
        let v = bump::version_in(text, place)?;
        match &seen {
            Some((first, w)) if *w != v => {
                return Err(Error::usage(
                    format!("`{first}` says {w} and `{}` says {v}", place.shown),
                    Some(
                        "`mpm version check` lists them; `mpm version set X.Y.Z` makes them one"
                            .to_string(),
                    ),
                ));
            }
            Some(_) => {}
            None => seen = Some((place.shown.clone(), v)),
        }
    }
    seen.map(|(_, v)| v)
        .ok_or_else(|| Error::usage("no version files", None))
}

/// Each file's new text with `next` at every place of it that does not say it
/// already: a file named twice (a chart's `version` and `appVersion`) gets both.
fn changes(places: &[(Place, String)], next: &semver::Version) -> Result<Vec<Change>, Error> {
    let mut out: Vec<Change> = Vec::new();
    for (place, text) in places {
        if bump::version_in(text, place).ok().as_ref() == Some(next) {
            continue;
        }
        match out.iter_mut().find(|c| c.path == place.path) {
            Some(c) => c.new = change(place, &c.new, next)?.new,
            None => out.push(change(place, text, next)?),
        }
    }
    Ok(out)
}

fn change(place: &Place, text: &str, next: &semver::Version) -> Result<Change, Error> {
    let new = edit::replace(text, &place.locator, &next.to_string()).map_err(|error| {
        Error::from(bump::BumpError::Edit {
            file: place.shown.clone(),
            error,
        })
    })?;
    Ok(Change {
        path: place.path.clone(),
        shown: place.shown.clone(),
        old: Some(text.to_string()),
        new,
    })
}

/// `--strict`: a commit that counts and is not a Conventional Commit fails the run.
fn strict(args: &BumpArgs, planned: &[Planned]) -> Result<(), Error> {
    if !args.strict {
        return Ok(());
    }
    let mut bad = Vec::new();
    for p in planned {
        for c in &p.changes {
            if let Counted::NotConventional(why) = &c.counted {
                bad.push(format!("{} {} ({}: {why})", c.short, c.summary, p.name));
            }
        }
    }
    if bad.is_empty() {
        return Ok(());
    }
    Err(Error::usage(
        format!(
            "{} not Conventional Commits (`--strict`): {}",
            match bad.len() {
                1 => "1 commit is".to_string(),
                n => format!("{n} commits are"),
            },
            bad.join("; ")
        ),
        Some("reword them as `type(scope): description` (`git rebase -i` before they are pushed), or run without `--strict`, where they count as no bump".to_string()),
    ))
}

/// Prints the table (or JSON), warns of commits that did not parse (fails on them
/// with `--strict`), and writes.
fn finish(
    system: &dyn crate::system::System,
    args: &BumpArgs,
    printer: &Printer,
    planned: &[Planned],
    changes: &[Change],
    noun: &str,
) -> Result<(), Error> {
    strict(args, planned)?;
    // written before anything is said of it: a write that fails says only that
    match args.dry_run {
        true => write::check(changes)?,
        false if !changes.is_empty() => write::write_all(system, changes)?,
        false => {}
    }
    if args.json {
        let doc = json!({
            "format_version": FORMAT_VERSION,
            "dry_run": args.dry_run,
            "versions": planned.iter().map(to_json).collect::<Vec<_>>(),
        });
        printer.out(&(serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"));
    } else {
        let mut table: Vec<[String; 4]> = vec![[
            noun.into(),
            "file".into(),
            "commits".into(),
            "version".into(),
        ]];
        for p in planned {
            table.push([p.name.clone(), p.file.clone(), by_kind(p), transition(p)]);
        }
        let mut out = crate::table::columns(&table);
        let bumped = changes.len();
        let _ = match (bumped, args.dry_run) {
            (0, _) => writeln!(out, "Nothing to bump."),
            (_, true) => writeln!(out, "Dry run: nothing was written."),
            (_, false) if noun == "pack" => writeln!(
                out,
                "Wrote {} version file{}.",
                bumped,
                if bumped == 1 { "" } else { "s" }
            ),
            (_, false) => writeln!(
                out,
                "Bumped {} agent{}: `mpm plan` shows the new versions.",
                bumped,
                if bumped == 1 { "" } else { "s" }
            ),
        };
        printer.out(&out);
        for p in planned {
            let odd: Vec<String> = p
                .changes
                .iter()
                .filter(|c| matches!(c.counted, Counted::NotConventional(_)))
                .map(|c| format!("{} {}", c.short, c.summary))
                .collect();
            if !odd.is_empty() {
                // a few by name; `--json` lists every one
                const SHOWN: usize = 3;
                let more = match odd.len().saturating_sub(SHOWN) {
                    0 => String::new(),
                    n => format!("; and {n} more (`--json` lists them)"),
                };
                printer.warn(&format!(
                    "`{}`: {} not a Conventional Commit and count{} as no bump: {}{more}",
                    p.name,
                    match odd.len() {
                        1 => "1 commit is".to_string(),
                        n => format!("{n} commits are"),
                    },
                    if odd.len() == 1 { "s" } else { "" },
                    odd[..odd.len().min(SHOWN)].join("; ")
                ));
            }
        }
    }
    Ok(())
}

fn transition(p: &Planned) -> String {
    match &p.standing {
        Standing::Pending { committed } => {
            format!("{} (changed from {committed}, not committed)", p.current)
        }
        Standing::New => format!("{} (not committed yet)", p.current),
        Standing::Committed if p.changes_version() => format!("{} → {}", p.current, p.next),
        Standing::Committed => p.current.to_string(),
    }
}

/// `2 feat, 1 fix, 1 not conventional`, the bumping kinds first.
fn by_kind(p: &Planned) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    let mut add = |kind: String| match counts.iter_mut().find(|(k, _)| *k == kind) {
        Some((_, n)) => *n += 1,
        None => counts.push((kind, 1)),
    };
    for c in &p.changes {
        add(kind_of(c));
    }
    let rank = |k: &str| match k {
        "breaking" => 0,
        "feat" => 1,
        "fix" => 2,
        "perf" => 3,
        "revert" => 4,
        "reverted" => 6,
        "whitespace only" => 7,
        "not conventional" => 8,
        _ => 5,
    };
    counts.sort_by(|a, b| rank(&a.0).cmp(&rank(&b.0)).then(a.0.cmp(&b.0)));
    if counts.is_empty() {
        return "none".into();
    }
    counts
        .iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn kind_of(c: &bump::Change) -> String {
    match (&c.counted, &c.parsed) {
        (Counted::Reverted, _) => "reverted".into(),
        (Counted::WhitespaceOnly, _) => "whitespace only".into(),
        (Counted::NotConventional(_), _) => "not conventional".into(),
        (Counted::Bump(_), Some(p)) if p.breaking => "breaking".into(),
        (Counted::Bump(_), Some(p)) => p.kind.clone(),
        (Counted::Bump(_), None) => "revert".into(),
    }
}

fn bump_name(b: Bump) -> &'static str {
    match b {
        Bump::None => "none",
        Bump::Patch => "patch",
        Bump::Minor => "minor",
        Bump::Major => "major",
    }
}

fn to_json(p: &Planned) -> Value {
    let (standing, committed) = match &p.standing {
        Standing::Committed => ("committed", None),
        Standing::Pending { committed } => ("pending", Some(committed.to_string())),
        Standing::New => ("new", None),
    };
    let commits: Vec<Value> = p
        .changes
        .iter()
        .map(|c| {
            let (counted, reason) = match &c.counted {
                Counted::Bump(b) => (bump_name(*b), None),
                Counted::NotConventional(why) => ("not_conventional", Some(why.clone())),
                Counted::WhitespaceOnly => ("whitespace_only", None),
                Counted::Reverted => ("reverted", None),
            };
            json!({
                "id": c.id.to_string(),
                "summary": c.summary,
                "date": c.date,
                "file": c.input,
                "type": c.parsed.as_ref().map(|p| p.kind.clone()),
                "scope": c.parsed.as_ref().and_then(|p| p.scope.clone()),
                "breaking": c.parsed.as_ref().is_some_and(|p| p.breaking),
                "counts_as": counted,
                "reason": reason,
            })
        })
        .collect();
    json!({
        "name": p.name,
        "file": p.file,
        "current": p.current.to_string(),
        "next": p.next.to_string(),
        "bump": bump_name(p.bump),
        "standing": standing,
        "committed": committed,
        "since": p.since,
        "commits": commits,
    })
}
