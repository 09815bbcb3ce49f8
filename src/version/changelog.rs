//! `CHANGELOG.md` in the [Keep a Changelog 1.1.0](https://keepachangelog.com/en/1.1.0/)
//! format, from classified commits.
//!
//! An existing file is updated, never rewritten: what a human wrote (the title and
//! intro, a released section edited by hand, the link references at the end) is kept
//! byte for byte, and only `## [Unreleased]` and the releases the file lacks are
//! generated. So running it twice changes nothing. A release written by another tool
//! (conventional-changelog's `# [6.0.0](…) (date)` for a major, `### [6.0.1](…)` for a
//! patch, `## 4.0.0 - date`, `## v4.0.0`) counts as present: it is kept, never redone.

use super::conventional::Commit;
use semver::Version;

/// The kinds of change, in the order a release lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Section {
    Added,
    Changed,
    Deprecated,
    Removed,
    Fixed,
    Security,
}

impl Section {
    pub const ALL: [Section; 6] = [
        Section::Added,
        Section::Changed,
        Section::Deprecated,
        Section::Removed,
        Section::Fixed,
        Section::Security,
    ];

    /// The `### …` heading.
    pub fn heading(self) -> &'static str {
        match self {
            Section::Added => "Added",
            Section::Changed => "Changed",
            Section::Deprecated => "Deprecated",
            Section::Removed => "Removed",
            Section::Fixed => "Fixed",
            Section::Security => "Security",
        }
    }
}

/// One line of a release, without its `- `.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub section: Section,
    pub text: String,
}

/// A version and what changed in it; `version: None` is `## [Unreleased]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub version: Option<Version>,
    /// `YYYY-MM-DD`, as the caller formats it.
    pub date: Option<String>,
    pub entries: Vec<Entry>,
}

/// The line a commit adds, or `None` when it is not notable to a user (docs, chore,
/// test, ci, style, build, refactor, …):
/// feat → Added; fix → Fixed; perf → Changed; revert → Removed; security → Security;
/// deprecate, deprecated → Deprecated; a breaking commit of any type → Changed, with
/// `**BREAKING:** ` in front and its note after when the note says more than the
/// description. The text is `**scope:** description (short_id)`.
pub fn entry(commit: &Commit, short_id: &str) -> Option<Entry> {
    let section = if commit.breaking {
        Section::Changed
    } else {
        match commit.kind.as_str() {
            "feat" => Section::Added,
            "fix" => Section::Fixed,
            "perf" => Section::Changed,
            "revert" => Section::Removed,
            "security" => Section::Security,
            "deprecate" | "deprecated" => Section::Deprecated,
            _ => return None,
        }
    };
    let mut text = String::new();
    if commit.breaking {
        text.push_str("**BREAKING:** ");
    }
    if let Some(scope) = &commit.scope {
        text.push_str(&format!("**{}:** ", one_line(scope)));
    }
    let description = one_line(&commit.description);
    text.push_str(&description);
    if commit.breaking
        && let Some(note) = &commit.breaking_note
    {
        let note = one_line(note);
        if !note.is_empty() && note != description {
            text.push_str(" — ");
            text.push_str(&note);
        }
    }
    let short_id = short_id.trim();
    if !short_id.is_empty() {
        text.push_str(&format!(" ({short_id})"));
    }
    Some(Entry { section, text })
}

const INTRO: &str = "All notable changes to this project will be documented in this file.\n\
\n\
The format is based on [Keep a Changelog](https://keepachangelog.com/en/1.1.0/),\n\
and this project adheres to [Semantic Versioning](https://semver.org/spec/v2.0.0.html).\n";

/// The new text of a changelog. `existing: None` (or an empty file) makes a new one,
/// headed `# {title}` (`Changelog`, or `Changelog of qa` for an agent's own file).
///
/// An existing file keeps everything before its first release or `## [` heading,
/// every release section it has (see `release_version` for the headings read as
/// one; any `## [` section that is neither a version nor Unreleased is kept too), and
/// the link reference definitions that end it. Its `## [Unreleased]` is replaced by
/// the generated one, put first; the releases it lacks are inserted, in the
/// `## [X.Y.Z] - date` form, before the first older version it has. Its line ends
/// (LF or CRLF) are kept.
pub fn update(existing: Option<&str>, title: &str, releases: &[Release]) -> String {
    let new_file;
    let text = match existing.filter(|e| !e.trim().is_empty()) {
        Some(existing) => existing,
        None => {
            new_file = format!("# {}\n\n{INTRO}", one_line(title));
            new_file.as_str()
        }
    };
    let newline = match text.find('\n') {
        Some(at) if text.get(..at).is_some_and(|l| l.ends_with('\r')) => "\r\n",
        _ => "\n",
    };
    let file = Parsed::of(text);

    let unreleased: Vec<&Entry> = releases
        .iter()
        .filter(|r| r.version.is_none())
        .flat_map(|r| &r.entries)
        .collect();
    let mut missing: Vec<(&Version, &Release)> = Vec::new();
    for release in releases {
        if let Some(version) = &release.version
            && !file.has(version)
            && !missing.iter().any(|(v, _)| *v == version)
        {
            missing.push((version, release));
        }
    }
    // newest first
    missing.sort_by(|a, b| b.0.cmp(a.0));
    let mut missing = missing.into_iter().peekable();

    let mut blocks = vec![Block::Generated(render("Unreleased", None, &unreleased))];
    for section in &file.sections {
        match &section.kind {
            Kind::Unreleased => continue,
            Kind::Version(version) => {
                while let Some((_, release)) = missing.next_if(|(v, _)| *v > version) {
                    blocks.push(generated(release));
                }
            }
            Kind::Other => {}
        }
        blocks.push(Block::Kept(section.text));
    }
    blocks.extend(missing.map(|(_, release)| generated(release)));

    let mut out = file.preamble.to_string();
    let mut after_generated = false;
    for block in blocks {
        match block {
            Block::Kept(kept) => {
                if after_generated {
                    end_with_blank_line(&mut out, newline);
                }
                out.push_str(kept);
                after_generated = false;
            }
            Block::Generated(lf) => {
                end_with_blank_line(&mut out, newline);
                out.push_str(&lf.replace('\n', newline));
                after_generated = true;
            }
        }
    }
    if !file.links.is_empty() {
        if after_generated {
            end_with_blank_line(&mut out, newline);
        }
        out.push_str(file.links);
    }
    out
}

enum Block<'a> {
    /// Bytes of the existing file.
    Kept(&'a str),
    /// Text made here, with `\n` line ends.
    Generated(String),
}

fn generated(release: &Release) -> Block<'static> {
    let label = release
        .version
        .as_ref()
        .map_or_else(|| "Unreleased".to_string(), Version::to_string);
    let entries: Vec<&Entry> = release.entries.iter().collect();
    Block::Generated(render(&label, release.date.as_deref(), &entries))
}

/// `## [label] - date`, then each section that has entries, blocks one blank line apart.
fn render(label: &str, date: Option<&str>, entries: &[&Entry]) -> String {
    let mut out = format!("## [{label}]");
    if let Some(date) = date.map(one_line).filter(|d| !d.is_empty()) {
        out.push_str(&format!(" - {date}"));
    }
    out.push('\n');
    for section in Section::ALL {
        let mut lines = entries.iter().filter(|e| e.section == section).peekable();
        if lines.peek().is_none() {
            continue;
        }
        out.push_str(&format!("\n### {}\n\n", section.heading()));
        for entry in lines {
            out.push_str(&format!("- {}\n", one_line(&entry.text)));
        }
    }
    out
}

/// Adds line ends until the text ends with a blank line (nothing to an empty text).
fn end_with_blank_line(out: &mut String, newline: &str) {
    if out.is_empty() {
        return;
    }
    let mut rest = out.as_str();
    let mut ends = 0;
    while ends < 2 {
        match rest.strip_suffix('\n') {
            Some(before) => {
                rest = before.strip_suffix('\r').unwrap_or(before);
                ends += 1;
            }
            None => break,
        }
    }
    for _ in ends..2 {
        out.push_str(newline);
    }
}

/// Text on one line: its lines joined by a space.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

enum Kind {
    Unreleased,
    Version(Version),
    /// A `## [` heading that names neither: kept where it is.
    Other,
}

/// A release or `## [` heading and what follows it, up to the next one or the link
/// references.
struct Chunk<'a> {
    kind: Kind,
    text: &'a str,
}

/// An existing file cut at its release and `## [` headings.
struct Parsed<'a> {
    preamble: &'a str,
    sections: Vec<Chunk<'a>>,
    /// The link reference definitions at the end, and the blank lines among them.
    links: &'a str,
}

impl<'a> Parsed<'a> {
    fn of(text: &'a str) -> Parsed<'a> {
        let mut lines: Vec<(usize, &str)> = Vec::new();
        let mut offset = 0;
        for line in text.split_inclusive('\n') {
            lines.push((offset, line));
            offset += line.len();
        }
        let mut links_start = text.len();
        for (at, line) in lines.iter().rev() {
            if is_link_definition(line) {
                links_start = *at;
            } else if !line.trim().is_empty() {
                break;
            }
        }
        // (kind, start, end) of each section
        let mut cuts: Vec<(Kind, usize, usize)> = Vec::new();
        for (at, line) in lines.iter().filter(|(at, _)| *at < links_start) {
            if let Some(kind) = heading_kind(line) {
                if let Some(last) = cuts.last_mut() {
                    last.2 = *at;
                }
                cuts.push((kind, *at, links_start));
            }
        }
        let preamble_end = cuts.first().map_or(links_start, |(_, start, _)| *start);
        Parsed {
            preamble: text.get(..preamble_end).unwrap_or_default(),
            sections: cuts
                .into_iter()
                .map(|(kind, start, end)| Chunk {
                    kind,
                    text: text.get(start..end).unwrap_or_default(),
                })
                .collect(),
            links: text.get(links_start..).unwrap_or_default(),
        }
    }

    fn has(&self, version: &Version) -> bool {
        self.sections
            .iter()
            .any(|s| matches!(&s.kind, Kind::Version(v) if v == version))
    }
}

/// The kind of a heading that starts a section: a release (`## [1.2.0] - 2024-01-01`,
/// `# [2.0.0](url) (date)`, `## v1.2.0`, …), `## [Unreleased]`, another `## [` heading;
/// `None` for any other line, which stays in the section above it.
fn heading_kind(line: &str) -> Option<Kind> {
    let line = line.trim_end();
    if let Some(version) = release_version(line) {
        return Some(Kind::Version(version));
    }
    // `## Unreleased`, as some files write it: the same section, never a second one
    if line
        .strip_prefix("## ")
        .is_some_and(|rest| rest.trim().eq_ignore_ascii_case("unreleased"))
    {
        return Some(Kind::Unreleased);
    }
    let label = line
        .strip_prefix("## [")?
        .split_once(']')
        .map(|(label, _)| label.trim());
    Some(match label {
        Some(label) if label.eq_ignore_ascii_case("unreleased") => Kind::Unreleased,
        Some(label) => match Version::parse(label.strip_prefix(['v', 'V']).unwrap_or(label)) {
            Ok(version) => Kind::Version(version),
            Err(_) => Kind::Other,
        },
        None => Kind::Other,
    })
}

/// The version of a release heading as the common changelog tools write one: at
/// level 1 to 3 (conventional-changelog puts majors at 1 and patches at 3), its text,
/// after an optional `[` and an optional `v`, starts with a semantic version followed
/// by `]`, a space, `(` or the end of the line. A title (`# Changelog`) or a
/// `### Added` does not start with a version, so it is never one.
fn release_version(line: &str) -> Option<Version> {
    let level = line.len() - line.trim_start_matches('#').len();
    if !(1..=3).contains(&level) {
        return None;
    }
    let text = line.get(level..)?.strip_prefix([' ', '\t'])?.trim_start();
    let text = text.strip_prefix('[').unwrap_or(text);
    let text = text.strip_prefix(['v', 'V']).unwrap_or(text);
    let end = text.find([']', ' ', '\t', '(']).unwrap_or(text.len());
    Version::parse(text.get(..end)?).ok()
}

/// `[label]: destination`, as CommonMark defines a link reference definition (on one line).
fn is_link_definition(line: &str) -> bool {
    line.strip_prefix('[')
        .and_then(|rest| rest.split_once("]:"))
        .is_some_and(|(label, destination)| {
            !label.trim().is_empty() && !label.contains('[') && !destination.trim().is_empty()
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::conventional::parse;

    fn line(section: Section, text: &str) -> Entry {
        Entry {
            section,
            text: text.into(),
        }
    }

    fn release(version: &str, date: &str, entries: Vec<Entry>) -> Release {
        Release {
            version: Some(Version::parse(version).unwrap()),
            date: Some(date.into()),
            entries,
        }
    }

    #[test]
    fn an_unreleased_heading_without_brackets_is_the_same_section() {
        let text = "# Changelog\n\n## Unreleased\n\n- old\n\n## [1.0.0] - 2026-01-01\n";
        let out = update(Some(text), "Changelog", &[unreleased(vec![])]);
        assert_eq!(out.matches("nreleased").count(), 1, "{out}");
        assert_eq!(update(Some(&out), "Changelog", &[unreleased(vec![])]), out);
        assert!(out.contains("## [1.0.0] - 2026-01-01\n"), "{out}");
    }

    fn unreleased(entries: Vec<Entry>) -> Release {
        Release {
            version: None,
            date: None,
            entries,
        }
    }

    fn text_of(message: &str) -> Option<(Section, String)> {
        entry(&parse(message).unwrap(), "abc1234").map(|e| (e.section, e.text))
    }

    fn history() -> Vec<Release> {
        vec![
            release(
                "1.0.0",
                "2026-01-05",
                vec![line(Section::Added, "**parser:** arrays (aaaaaaa)")],
            ),
            unreleased(vec![
                line(Section::Fixed, "a crash (ccccccc)"),
                line(Section::Added, "tables (ddddddd)"),
            ]),
            release(
                "1.1.0",
                "2026-02-01",
                vec![
                    line(Section::Fixed, "the second fix (eeeeeee)"),
                    line(Section::Added, "maps (bbbbbbb)"),
                    line(Section::Fixed, "the first fix (fffffff)"),
                ],
            ),
            release("0.9.0", "2025-12-24", vec![]),
        ]
    }

    const NEW: &str = "\
# Changelog

All notable changes to this project will be documented in this file.

The format is based on [Keep a Changelog](https://keepachangelog.com/en/1.1.0/),
and this project adheres to [Semantic Versioning](https://semver.org/spec/v2.0.0.html).

## [Unreleased]

### Added

- tables (ddddddd)

### Fixed

- a crash (ccccccc)

## [1.1.0] - 2026-02-01

### Added

- maps (bbbbbbb)

### Fixed

- the second fix (eeeeeee)
- the first fix (fffffff)

## [1.0.0] - 2026-01-05

### Added

- **parser:** arrays (aaaaaaa)

## [0.9.0] - 2025-12-24
";

    #[test]
    fn a_new_file() {
        assert_eq!(update(None, "Changelog", &history()), NEW);
        // an empty file is a new one
        assert_eq!(update(Some("\n"), "Changelog", &history()), NEW);
    }

    #[test]
    fn a_new_file_with_nothing_yet() {
        let text = update(None, "Changelog", &[]);
        assert!(
            text.ends_with("v2.0.0.html).\n\n## [Unreleased]\n"),
            "{text}"
        );
    }

    #[test]
    fn an_agents_own_title() {
        let text = update(None, "Changelog of qa", &history());
        assert_eq!(
            text,
            NEW.replacen("# Changelog\n", "# Changelog of qa\n", 1)
        );
    }

    #[test]
    fn running_twice_changes_nothing() {
        let once = update(None, "Changelog", &history());
        assert_eq!(update(Some(&once), "Changelog", &history()), once);
        let crlf = NEW.replace('\n', "\r\n");
        assert_eq!(update(Some(&crlf), "Changelog", &history()), crlf);
    }

    #[test]
    fn a_hand_edited_release_is_kept() {
        let edited = NEW.replace(
            "- **parser:** arrays (aaaaaaa)\n",
            "- **parser:** arrays, at last! See the [guide](docs/arrays.md).\n\n_Thanks to Z._\n",
        );
        assert_eq!(update(Some(&edited), "Changelog", &history()), edited);
    }

    #[test]
    fn a_missing_release_goes_between_the_two_around_it() {
        let file =
            "# My log\n\nIntro.\n\n## [2.0.0] - 2026-03-01\n\nBy hand.\n\n## [1.0.0]\n\n- one\n";
        let releases = vec![
            release("2.0.0", "2026-03-01", vec![line(Section::Added, "ignored")]),
            release(
                "1.5.0",
                "2026-02-01",
                vec![line(Section::Fixed, "x (1234567)")],
            ),
            release("1.0.0", "2026-01-01", vec![]),
            release("0.1.0", "2025-01-01", vec![]),
        ];
        let updated = update(Some(file), "Changelog", &releases);
        assert_eq!(
            updated,
            "# My log\n\nIntro.\n\n## [Unreleased]\n\n## [2.0.0] - 2026-03-01\n\nBy hand.\n\n\
             ## [1.5.0] - 2026-02-01\n\n### Fixed\n\n- x (1234567)\n\n\
             ## [1.0.0]\n\n- one\n\n## [0.1.0] - 2025-01-01\n"
        );
        assert_eq!(update(Some(&updated), "Changelog", &releases), updated);
    }

    #[test]
    fn the_preamble_and_the_link_references_are_kept() {
        let file = "\
<!-- kept -->
# Changes to the pack

Everything, by hand.
## [1.0.0] - 2026-01-01
- first
[Unreleased]: https://example.com/compare/v1.0.0...HEAD

[1.0.0]: https://example.com/releases/tag/v1.0.0
";
        let releases = vec![
            unreleased(vec![line(Section::Security, "a CVE (7654321)")]),
            release("1.0.0", "2026-01-01", vec![]),
            release("0.1.0", "2025-01-01", vec![]),
        ];
        let updated = update(Some(file), "Changelog", &releases);
        assert_eq!(
            updated,
            "\
<!-- kept -->
# Changes to the pack

Everything, by hand.

## [Unreleased]

### Security

- a CVE (7654321)

## [1.0.0] - 2026-01-01
- first

## [0.1.0] - 2025-01-01

[Unreleased]: https://example.com/compare/v1.0.0...HEAD

[1.0.0]: https://example.com/releases/tag/v1.0.0
"
        );
        assert_eq!(update(Some(&updated), "Changelog", &releases), updated);
    }

    #[test]
    fn the_unreleased_section_is_replaced_and_put_first() {
        let file = "# Changelog\n\n## [1.0.0]\n\n- one\n\n## [unreleased]\n\n- stale\n\n## [Someday]\n\nplans\n";
        let releases = vec![unreleased(vec![line(Section::Removed, "old (1111111)")])];
        assert_eq!(
            update(Some(file), "Changelog", &releases),
            "# Changelog\n\n## [Unreleased]\n\n### Removed\n\n- old (1111111)\n\n\
             ## [1.0.0]\n\n- one\n\n## [Someday]\n\nplans\n"
        );
    }

    /// `file` has release `version` (and `0.9.0`) in another tool's form: an update
    /// keeps its bytes, inserts only what it lacks, and changes nothing the second time.
    fn kept_in_its_form(file: &str, version: &str) {
        let releases = vec![
            unreleased(vec![line(Section::Added, "new (1234567)")]),
            release(
                version,
                "2026-12-01",
                vec![line(Section::Fixed, "regenerated (7777777)")],
            ),
            release("0.9.0", "2025-01-01", vec![]),
            release("0.1.0", "2024-01-01", vec![]),
        ];
        let once = update(Some(file), "Changelog", &releases);
        let (title, rest) = file.split_once("\n\n").unwrap();
        assert_eq!(
            once,
            format!(
                "{title}\n\n## [Unreleased]\n\n### Added\n\n- new (1234567)\n\n{rest}\n\
                 ## [0.1.0] - 2024-01-01\n"
            ),
            "{file}"
        );
        assert_eq!(update(Some(&once), "Changelog", &releases), once, "{file}");
    }

    #[test]
    fn releases_in_other_tools_forms_are_kept_and_not_inserted_again() {
        let after = "\n\n* a fix\n\n## 0.9.0\n\n- old\n";
        for (heading, version) in [
            (
                "# [6.0.0](https://github.com/o/r/compare/v5.0.0...v6.0.0) (2026-11-03)",
                "6.0.0",
            ),
            (
                "## [6.0.0](https://github.com/o/r/compare/v5.0.0...v6.0.0) (2026-11-03)",
                "6.0.0",
            ),
            (
                "### [6.0.1](https://github.com/o/r/compare/v6.0.0...v6.0.1) (2026-11-04)",
                "6.0.1",
            ),
            ("## 4.0.0 - 2026-11-01", "4.0.0"),
            ("## v4.0.0", "4.0.0"),
            ("## [v4.0.0] - 2026-11-01", "4.0.0"),
            ("## [4.0.0] - 2026-11-01 [YANKED]", "4.0.0"),
            ("## 4.0.0-rc.1 (2026-10-01)", "4.0.0-rc.1"),
        ] {
            kept_in_its_form(&format!("# Changelog\n\n{heading}{after}"), version);
            kept_in_its_form(&format!("# Changelog of qa\n\n{heading}{after}"), version);
        }
    }

    #[test]
    fn a_conventional_changelog_file_gets_what_it_lacks_between_its_releases() {
        let file = "\
# Changelog

# [6.0.0](https://github.com/o/r/compare/v5.0.1...v6.0.0) (2026-11-03)


### Features

* **qa:** new runner ([abc1234](https://github.com/o/r/commit/abc1234))


### BREAKING CHANGES

* **qa:** pytest is gone

### [5.0.1](https://github.com/o/r/compare/v5.0.0...v5.0.1) (2026-10-02)


### Bug Fixes

* a fix
";
        let releases = vec![
            release("6.0.0", "2026-11-03", vec![line(Section::Added, "again")]),
            release(
                "5.1.0",
                "2026-10-20",
                vec![line(Section::Added, "x (1111111)")],
            ),
            release("5.0.1", "2026-10-02", vec![line(Section::Fixed, "again")]),
        ];
        let once = update(Some(file), "Changelog", &releases);
        let (top, patch) = file.split_once("### [5.0.1]").unwrap();
        assert_eq!(
            once,
            format!(
                "{}\n\n## [Unreleased]\n\n{}\
                 ## [5.1.0] - 2026-10-20\n\n### Added\n\n- x (1111111)\n\n### [5.0.1]{patch}",
                "# Changelog",
                top.strip_prefix("# Changelog\n\n").unwrap(),
            )
        );
        assert_eq!(update(Some(&once), "Changelog", &releases), once);
    }

    #[test]
    fn what_is_not_a_release_heading() {
        for line in [
            "# Changelog",
            "# Changelog of qa",
            "## Changelog 1.0.0",
            "### Added",
            "### Bug Fixes",
            "#### 1.0.0",
            "##1.0.0",
            "## 1.0",
            "## 1.0.0.1",
            "## 1.0.0: notes",
            " ## 1.0.0",
            "- 1.0.0",
            "",
        ] {
            assert_eq!(release_version(line), None, "{line:?}");
        }
        for (line, version) in [
            ("# 1.0.0", "1.0.0"),
            ("## [1.0.0]", "1.0.0"),
            ("### V1.0.0 (2026-01-01)", "1.0.0"),
            ("##\t1.0.0+build.5", "1.0.0+build.5"),
            ("## [1.0.0](url)", "1.0.0"),
        ] {
            assert_eq!(
                release_version(line),
                Some(Version::parse(version).unwrap()),
                "{line:?}"
            );
        }
        assert!(matches!(
            heading_kind("## 2.0.0 - x\r\n"),
            Some(Kind::Version(_))
        ));
        assert!(matches!(
            heading_kind("## [Unreleased]\n"),
            Some(Kind::Unreleased)
        ));
        assert!(matches!(heading_kind("## [Someday]\n"), Some(Kind::Other)));
        assert!(heading_kind("# Changelog\n").is_none());
    }

    #[test]
    fn windows_line_ends_are_kept() {
        let file = "# Changelog\r\n\r\n## [1.0.0]\r\n\r\n- one\r\n";
        let releases = vec![
            unreleased(vec![line(Section::Added, "two (2222222)")]),
            release("0.5.0", "2025-06-01", vec![]),
        ];
        assert_eq!(
            update(Some(file), "Changelog", &releases),
            "# Changelog\r\n\r\n## [Unreleased]\r\n\r\n### Added\r\n\r\n- two (2222222)\r\n\r\n\
             ## [1.0.0]\r\n\r\n- one\r\n\r\n## [0.5.0] - 2025-06-01\r\n"
        );
    }

    #[test]
    fn an_entry_never_breaks_its_line() {
        let releases = vec![unreleased(vec![line(Section::Added, "two\nlines\r\n")])];
        assert!(update(None, "Change\nlog", &releases).contains("- two lines\n"));
        assert!(update(None, "Change\nlog", &releases).starts_with("# Change log\n"));
    }

    #[test]
    fn entries_by_type() {
        let e = |s: Section, t: &str| Some((s, t.to_string()));
        assert_eq!(
            text_of("feat(parser): arrays"),
            e(Section::Added, "**parser:** arrays (abc1234)")
        );
        assert_eq!(
            text_of("fix: a crash"),
            e(Section::Fixed, "a crash (abc1234)")
        );
        assert_eq!(
            text_of("perf: faster"),
            e(Section::Changed, "faster (abc1234)")
        );
        assert_eq!(
            text_of("revert: maps"),
            e(Section::Removed, "maps (abc1234)")
        );
        assert_eq!(
            text_of("security: a CVE"),
            e(Section::Security, "a CVE (abc1234)")
        );
        assert_eq!(
            text_of("deprecate: v1"),
            e(Section::Deprecated, "v1 (abc1234)")
        );
        assert_eq!(
            text_of("Deprecated: v1"),
            e(Section::Deprecated, "v1 (abc1234)")
        );
        for kind in ["docs", "chore", "test", "ci", "style", "build", "refactor"] {
            assert_eq!(text_of(&format!("{kind}: x")), None, "{kind}");
        }
    }

    #[test]
    fn breaking_entries() {
        let e = |t: &str| Some((Section::Changed, t.to_string()));
        assert_eq!(
            text_of("feat!: drop v1"),
            e("**BREAKING:** drop v1 (abc1234)")
        );
        assert_eq!(
            text_of("docs(api)!: x\n\nBREAKING CHANGE: the API\nis gone"),
            e("**BREAKING:** **api:** x — the API is gone (abc1234)")
        );
        assert_eq!(
            text_of("fix!: x\n\nBREAKING CHANGE: x"),
            e("**BREAKING:** x (abc1234)")
        );
        let no_id = entry(&parse("fix: x").unwrap(), "").map(|e| e.text);
        assert_eq!(no_id.as_deref(), Some("x"));
    }
}
