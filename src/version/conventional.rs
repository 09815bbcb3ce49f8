//! Commit messages read as [Conventional Commits 1.0.0](https://www.conventionalcommits.org/en/v1.0.0/),
//! and the bump each one calls for.
//!
//! The message is read as git stores it after its own cleanup: CRLF line ends and
//! trailing whitespace are forgiven, leading and trailing blank lines ignored, and a
//! line starting with `#` is text (git already dropped its comments). Everything is
//! case-insensitive except `BREAKING CHANGE`, as the spec says, so `FEAT:` is a feature
//! and a `Breaking Change:` line breaks nothing.

/// A message that follows the spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// The type, lower-cased (`feat`, `fix`, …).
    pub kind: String,
    /// As written, without its parentheses.
    pub scope: Option<String>,
    /// A `!` before the colon, or any line after the header that starts with
    /// `BREAKING CHANGE: ` or `BREAKING-CHANGE: `, footer or not: conventional-changelog
    /// and semantic-release read a body's last line that way too, and a missed major
    /// costs more than a needless one.
    pub breaking: bool,
    /// The first breaking line's text, with the lines below it up to a blank line or
    /// the next footer token; or the description when only `!` says it.
    pub breaking_note: Option<String>,
    pub description: String,
    /// The paragraphs between the header and the footers, as written.
    pub body: Option<String>,
    pub footers: Vec<Footer>,
}

/// `Token: value` or `Token #value`; a value runs until the next token, as the spec
/// says: its lines below the token are joined by `\n`, its paragraphs by `\n\n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Footer {
    /// As written (`Refs`, `Reviewed-by`, `BREAKING CHANGE`).
    pub token: String,
    /// For the `#` form the `#` is kept (`Refs #123` → `#123`), so that it reads
    /// like `Refs: #123`.
    pub value: String,
}

/// Why a message is not a Conventional Commit: a commit that says nothing the
/// spec can read bumps nothing, and the caller lists it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a Conventional Commit: {reason}")]
pub struct NotConventional {
    pub reason: String,
}

impl NotConventional {
    fn new(reason: impl Into<String>) -> NotConventional {
        NotConventional {
            reason: reason.into(),
        }
    }
}

/// How much a change moves a version. Ordered, so the largest of a history wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bump {
    None,
    Patch,
    Minor,
    Major,
}

impl Commit {
    /// Breaking → major; `feat` → minor; `fix`, `perf`, `revert` → patch; any other
    /// type (docs, chore, …) changes nothing a user of the version sees.
    pub fn bump(&self) -> Bump {
        if self.breaking {
            return Bump::Major;
        }
        match self.kind.as_str() {
            "feat" => Bump::Minor,
            "fix" | "perf" | "revert" => Bump::Patch,
            _ => Bump::None,
        }
    }
}

const NO_HEADER: &str = "no `type: description` header";

/// Reads one commit message.
pub fn parse(message: &str) -> Result<Commit, NotConventional> {
    let lines = cleaned_lines(message);
    let Some((header, rest)) = lines.split_first() else {
        return Err(NotConventional::new("the message is empty"));
    };
    let header = parse_header(header)?;
    if let Some(second) = rest.first()
        && !second.is_empty()
    {
        return Err(NotConventional::new(
            "the body does not start one blank line after the header",
        ));
    }
    let (body, footer_lines) = split_footers(rest);
    let footers = parse_footers(footer_lines);
    let breaking_line = breaking_line(rest);
    let breaking = header.bang || breaking_line.is_some();
    let breaking_note = match breaking_line {
        Some(note) => Some(note),
        None if header.bang => Some(header.description.clone()),
        None => None,
    };
    let body = trim_blank_lines(body);
    Ok(Commit {
        kind: header.kind,
        scope: header.scope,
        breaking,
        breaking_note,
        description: header.description,
        body: (!body.is_empty()).then(|| body.join("\n")),
        footers,
    })
}

/// The id of the commit this one reverts, lower-cased: for git's own revert (`Revert "…"`
/// or `Reapply "…"`, `This reverts commit <id>.`) and for a `revert:` commit that says it in its body
/// or in a `Refs` footer (the first id when it lists several). Ids of 7 to 64 hex
/// digits are taken (an abbreviated id, SHA-1 or SHA-256): the caller resolves them.
pub fn reverted_commit(message: &str) -> Option<String> {
    if is_git_revert(message) {
        return this_reverts(message);
    }
    let commit = parse(message).ok()?;
    if commit.kind != "revert" {
        return None;
    }
    this_reverts(message).or_else(|| {
        commit
            .footers
            .iter()
            .filter(|f| f.token.eq_ignore_ascii_case("refs"))
            .find_map(|f| {
                let first = f.value.split([',', ' ', '\n']).find(|s| !s.is_empty())?;
                hex_id(first.trim_start_matches('#'))
            })
    })
}

/// git's own revert header, `Revert "<subject>"`, or `Reapply "<subject>"`, which git
/// 2.43 and later write for a revert of a revert (a revert of that is
/// `Revert "Reapply "…""`, and older gits nest `Revert "Revert "…""`): not a
/// Conventional Commit, but the caller counts it as a fix and follows the chain
/// with [`reverted_commit`].
pub fn is_git_revert(message: &str) -> bool {
    cleaned_lines(message).first().is_some_and(|header| {
        ["Revert \"", "Reapply \""].iter().any(|opening| {
            header.len() > opening.len() && header.starts_with(opening) && header.ends_with('"')
        })
    })
}

/// The lines without their line ends and trailing whitespace, leading and trailing
/// blank lines dropped.
fn cleaned_lines(message: &str) -> Vec<&str> {
    let lines: Vec<&str> = message.split('\n').map(str::trim_end).collect();
    let start = lines.iter().position(|l| !l.is_empty());
    let end = lines.iter().rposition(|l| !l.is_empty());
    match (start, end) {
        (Some(start), Some(end)) => lines.get(start..=end).unwrap_or_default().to_vec(),
        _ => Vec::new(),
    }
}

fn trim_blank_lines<'a>(lines: &'a [&'a str]) -> &'a [&'a str] {
    let start = lines
        .iter()
        .position(|l| !l.is_empty())
        .unwrap_or(lines.len());
    let end = lines
        .iter()
        .rposition(|l| !l.is_empty())
        .map_or(start, |e| e + 1);
    lines.get(start..end).unwrap_or_default()
}

struct Header {
    kind: String,
    scope: Option<String>,
    bang: bool,
    description: String,
}

/// `type(scope)!: description`.
fn parse_header(line: &str) -> Result<Header, NotConventional> {
    let kind_len = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .unwrap_or(line.len());
    let (kind, mut rest) = line.split_at(kind_len);
    if kind.is_empty() {
        return Err(NotConventional::new(NO_HEADER));
    }
    let mut scope = None;
    if let Some(after) = rest.strip_prefix('(') {
        let Some(close) = after.find(')') else {
            return Err(NotConventional::new("the scope is not closed"));
        };
        let (inside, after) = after.split_at(close);
        if inside.trim().is_empty() {
            return Err(NotConventional::new("the scope is empty"));
        }
        if inside.contains('(') {
            return Err(NotConventional::new("the scope is not closed"));
        }
        scope = Some(inside.to_string());
        rest = after.get(1..).unwrap_or_default();
    }
    let bang = match rest.strip_prefix('!') {
        Some(after) => {
            rest = after;
            true
        }
        None => false,
    };
    let Some(after_colon) = rest.strip_prefix(':') else {
        return Err(NotConventional::new(NO_HEADER));
    };
    let Some(description) = after_colon.strip_prefix(' ') else {
        return Err(NotConventional::new(if after_colon.is_empty() {
            "empty description"
        } else {
            "no space after the colon"
        }));
    };
    let description = description.trim();
    if description.is_empty() {
        return Err(NotConventional::new("empty description"));
    }
    Ok(Header {
        kind: kind.to_ascii_lowercase(),
        scope,
        bang,
        description: description.to_string(),
    })
}

/// The body and the footers: the footers start at the first paragraph that starts
/// with a `Token: value` line and run to the end (a later paragraph without a token
/// continues the footer above it), so a token line inside a body paragraph stays body.
fn split_footers<'a>(lines: &'a [&'a str]) -> (&'a [&'a str], &'a [&'a str]) {
    let mut after_blank = true;
    let start = lines
        .iter()
        .position(|line| {
            let starts_footers = after_blank && footer_line(line).is_some();
            after_blank = line.is_empty();
            starts_footers
        })
        .unwrap_or(lines.len());
    lines.split_at(start)
}

fn parse_footers(lines: &[&str]) -> Vec<Footer> {
    let mut footers: Vec<Footer> = Vec::new();
    let mut after_blank = false;
    for line in lines {
        match (footer_line(line), footers.last_mut()) {
            (Some((token, value)), _) => footers.push(Footer {
                token: token.to_string(),
                value: value.to_string(),
            }),
            (None, _) if line.is_empty() => {}
            // a value goes on until the next token, paragraphs included
            (None, Some(last)) => {
                last.value.push_str(if after_blank { "\n\n" } else { "\n" });
                last.value.push_str(line.trim());
            }
            (None, None) => {}
        }
        after_blank = line.is_empty();
    }
    footers
}

/// The note of the first line after the header that starts with `BREAKING CHANGE: `
/// or `BREAKING-CHANGE: ` (upper case, as the spec's rule 16 says), in a footer or
/// not: its text and the lines below it up to a blank line or the next footer token.
fn breaking_line(lines: &[&str]) -> Option<String> {
    let (at, value) = lines.iter().enumerate().find_map(|(at, line)| {
        let says = ["BREAKING CHANGE: ", "BREAKING-CHANGE: "]
            .iter()
            .any(|token| line.starts_with(token));
        Some((at, footer_line(line).filter(|_| says)?.1))
    })?;
    let below = lines.get(at + 1..).unwrap_or_default();
    let mut note = vec![value];
    note.extend(
        below
            .iter()
            .take_while(|line| !line.is_empty() && footer_line(line).is_none())
            .map(|line| line.trim()),
    );
    Some(note.join("\n"))
}

/// `Token: value` or `Token #value`: the token is a word with `-` for spaces, or
/// `BREAKING CHANGE`, and the value is not empty.
fn footer_line(line: &str) -> Option<(&str, &str)> {
    let token_len = if line.starts_with("BREAKING CHANGE") {
        "BREAKING CHANGE".len()
    } else {
        line.find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .unwrap_or(line.len())
    };
    let (token, rest) = line.split_at(token_len);
    if token.is_empty() {
        return None;
    }
    let value = if let Some(value) = rest.strip_prefix(": ") {
        value.trim()
    } else if rest.starts_with(" #") {
        rest.trim()
    } else {
        return None;
    };
    (!value.is_empty() && value != "#").then_some((token, value))
}

/// The id after `This reverts commit ` anywhere in the message.
fn this_reverts(message: &str) -> Option<String> {
    const SAYS: &str = "This reverts commit ";
    message.match_indices(SAYS).find_map(|(at, _)| {
        let after = message.get(at + SAYS.len()..)?;
        let id: &str = after
            .split(|c: char| !c.is_ascii_hexdigit())
            .next()
            .unwrap_or_default();
        hex_id(id)
    })
}

fn hex_id(s: &str) -> Option<String> {
    ((7..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| s.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(message: &str) -> Commit {
        match parse(message) {
            Ok(commit) => commit,
            Err(e) => panic!("{message:?}: {e}"),
        }
    }

    fn reason(message: &str) -> String {
        match parse(message) {
            Ok(commit) => panic!("{message:?} parsed: {commit:?}"),
            Err(e) => e.reason,
        }
    }

    fn footer(token: &str, value: &str) -> Footer {
        Footer {
            token: token.into(),
            value: value.into(),
        }
    }

    const ID: &str = "0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn a_feature() {
        assert_eq!(
            ok("feat: x"),
            Commit {
                kind: "feat".into(),
                scope: None,
                breaking: false,
                breaking_note: None,
                description: "x".into(),
                body: None,
                footers: vec![],
            }
        );
        assert_eq!(ok("feat: x").bump(), Bump::Minor);
    }

    #[test]
    fn a_scope() {
        let c = ok("feat(parser): add arrays");
        assert_eq!(c.scope.as_deref(), Some("parser"));
        assert_eq!(c.description, "add arrays");
        assert!(!c.breaking);
    }

    #[test]
    fn a_bang_breaks_and_its_note_is_the_description() {
        let c = ok("feat!: drop Node 6");
        assert!(c.breaking);
        assert_eq!(c.breaking_note.as_deref(), Some("drop Node 6"));
        assert_eq!(c.bump(), Bump::Major);

        let c = ok("fix(scope)!: x");
        assert_eq!(
            (c.kind.as_str(), c.scope.as_deref(), c.breaking),
            ("fix", Some("scope"), true)
        );
        assert_eq!(c.bump(), Bump::Major);
    }

    #[test]
    fn a_bang_and_a_footer_the_note_is_the_footer() {
        let c = ok("feat(api)!: new auth\n\nBREAKING CHANGE: tokens are required");
        assert!(c.breaking);
        assert_eq!(c.breaking_note.as_deref(), Some("tokens are required"));
        assert_eq!(c.body, None);
        assert_eq!(
            c.footers,
            vec![footer("BREAKING CHANGE", "tokens are required")]
        );
    }

    #[test]
    fn a_breaking_footer_after_a_body_of_paragraphs() {
        let c = ok("feat: allow config to extend\n\
             \n\
             First paragraph of the body.\n\
             It has two lines.\n\
             \n\
             Second paragraph: with a colon.\n\
             \n\
             BREAKING CHANGE: `extends` now extends other configs\n\
             Reviewed-by: Z");
        assert!(c.breaking);
        assert_eq!(c.bump(), Bump::Major);
        assert_eq!(
            c.body.as_deref(),
            Some(
                "First paragraph of the body.\nIt has two lines.\n\nSecond paragraph: with a colon."
            )
        );
        assert_eq!(
            c.footers,
            vec![
                footer("BREAKING CHANGE", "`extends` now extends other configs"),
                footer("Reviewed-by", "Z"),
            ]
        );
        assert_eq!(
            c.breaking_note.as_deref(),
            Some("`extends` now extends other configs")
        );
    }

    #[test]
    fn the_hyphenated_breaking_token_is_a_synonym() {
        let c = ok("fix: x\n\nBREAKING-CHANGE: the old flag is gone");
        assert!(c.breaking);
        assert_eq!(c.breaking_note.as_deref(), Some("the old flag is gone"));
    }

    #[test]
    fn a_footer_value_on_several_lines() {
        let c = ok(
            "fix: x\n\nBREAKING CHANGE: the first line\n  and the second\nRefs: #1\n\nAcked-by: A\nand B",
        );
        assert_eq!(
            c.footers,
            vec![
                footer("BREAKING CHANGE", "the first line\nand the second"),
                footer("Refs", "#1"),
                footer("Acked-by", "A\nand B"),
            ]
        );
        assert_eq!(c.body, None);
        assert_eq!(
            c.breaking_note.as_deref(),
            Some("the first line\nand the second")
        );
    }

    #[test]
    fn a_paragraph_without_a_token_continues_the_footer_above() {
        let c = ok("feat(qa): new runner\n\n\
             BREAKING CHANGE: the qa agent no longer runs pytest.\n\n\
             Migrate by adding `runner: pytest`.\n");
        assert!(c.breaking);
        assert_eq!(c.bump(), Bump::Major);
        assert_eq!(c.body, None);
        assert_eq!(
            c.footers,
            vec![footer(
                "BREAKING CHANGE",
                "the qa agent no longer runs pytest.\n\nMigrate by adding `runner: pytest`."
            )]
        );
        // the note is its first paragraph: a changelog line, not the migration guide
        assert_eq!(
            c.breaking_note.as_deref(),
            Some("the qa agent no longer runs pytest.")
        );
        // after a body, with more footers, and blank lines git did not squeeze
        let c = ok("fix: x\n\nWhy.\n\nRefs: #1\n\n\nmore on #1\nand on\n\nAcked-by: A");
        assert_eq!(c.body.as_deref(), Some("Why."));
        assert_eq!(
            c.footers,
            vec![
                footer("Refs", "#1\n\nmore on #1\nand on"),
                footer("Acked-by", "A")
            ]
        );
        assert!(!c.breaking);
    }

    #[test]
    fn a_breaking_line_anywhere_after_the_header_breaks() {
        // no blank line before it: conventional-changelog and semantic-release say major
        let c = ok("docs: x\n\nbody\nBREAKING CHANGE: y");
        assert!(c.breaking);
        assert_eq!(c.bump(), Bump::Major);
        assert_eq!(c.breaking_note.as_deref(), Some("y"));
        assert_eq!(c.body.as_deref(), Some("body\nBREAKING CHANGE: y"));
        assert!(c.footers.is_empty());
        // in the middle of the body; the note stops at a blank line or a token
        let c = ok("fix: x\n\nintro\nBREAKING-CHANGE: y\n  z\n\nmore prose");
        assert!(c.breaking);
        assert_eq!(c.breaking_note.as_deref(), Some("y\nz"));
        let c = ok("fix: x\n\nintro\nBREAKING CHANGE: y\nRefs: #1");
        assert_eq!(c.breaking_note.as_deref(), Some("y"));
        // the first breaking line with a value gives the note
        let c = ok("fix: x\n\nBREAKING CHANGE: #\nBREAKING CHANGE: y");
        assert_eq!(c.breaking_note.as_deref(), Some("y"));
        // exactly at the start of the line, upper case, with the space, and a value
        for message in [
            "fix: x\n\nbody\n  BREAKING CHANGE: y",
            "fix: x\n\nbody\nBreaking Change: y",
            "fix: x\n\nbody\nBREAKING CHANGE:y",
            "fix: x\n\nbody\nBREAKING CHANGE: ",
            "fix: x\n\nbody, see BREAKING CHANGE: y",
        ] {
            let c = ok(message);
            assert!(!c.breaking, "{message:?}");
            assert_eq!(c.bump(), Bump::Patch, "{message:?}");
        }
        // the header is not a line after the header
        assert_eq!(reason("BREAKING CHANGE: y"), NO_HEADER);
    }

    #[test]
    fn the_hash_form_of_a_footer() {
        let c = ok("fix: x\n\nRefs #123\nCloses #7");
        assert_eq!(
            c.footers,
            vec![footer("Refs", "#123"), footer("Closes", "#7")]
        );
        assert_eq!(c.body, None);
    }

    #[test]
    fn bumps_by_type() {
        assert_eq!(ok("perf: faster").bump(), Bump::Patch);
        assert_eq!(ok("fix: x").bump(), Bump::Patch);
        assert_eq!(ok("revert: x").bump(), Bump::Patch);
        assert_eq!(ok("docs: x").bump(), Bump::None);
        assert_eq!(ok("chore(deps): x").bump(), Bump::None);
        assert_eq!(ok("docs!: x").bump(), Bump::Major);
        assert!(Bump::None < Bump::Patch && Bump::Patch < Bump::Minor && Bump::Minor < Bump::Major);
    }

    #[test]
    fn types_are_case_insensitive() {
        assert_eq!(ok("FIX: x").kind, "fix");
        assert_eq!(ok("FIX: x").bump(), Bump::Patch);
        assert_eq!(ok("Feat: x").bump(), Bump::Minor);
        assert_eq!(ok("Feat(Parser): x").scope.as_deref(), Some("Parser"));
    }

    #[test]
    fn breaking_change_must_be_upper_case() {
        // with a space it is no token at all: body text
        let c = ok("feat: x\n\nbreaking change: x");
        assert!(!c.breaking);
        assert_eq!(c.body.as_deref(), Some("breaking change: x"));
        assert_eq!(c.bump(), Bump::Minor);

        let c = ok("feat: x\n\nBreaking Change: x");
        assert!(!c.breaking);
        // hyphenated it is a footer, but not a breaking one
        let c = ok("feat: x\n\nBreaking-Change: x");
        assert!(!c.breaking);
        assert_eq!(c.footers, vec![footer("Breaking-Change", "x")]);
        // nor is a header whose type has a space
        assert_eq!(reason("breaking change: x"), NO_HEADER);
    }

    #[test]
    fn the_footers_start_at_the_first_paragraph_that_starts_with_a_token() {
        let c = ok(
            "fix: x\n\nProse.\n\nBREAKING CHANGE: really\nNote: a footer\n\nThe last paragraph is prose.",
        );
        assert!(c.breaking);
        assert_eq!(c.body.as_deref(), Some("Prose."));
        assert_eq!(
            c.footers,
            vec![
                footer("BREAKING CHANGE", "really"),
                footer("Note", "a footer\n\nThe last paragraph is prose."),
            ]
        );
        // a token line inside a paragraph that starts with prose is body
        let c = ok("fix: x\n\nSome prose.\nRefs: #1");
        assert!(c.footers.is_empty());
        assert_eq!(c.body.as_deref(), Some("Some prose.\nRefs: #1"));
    }

    #[test]
    fn not_conventional() {
        assert_eq!(reason("feat:x"), "no space after the colon");
        assert_eq!(reason("feat: "), "empty description");
        assert_eq!(reason("feat:"), "empty description");
        assert_eq!(reason("feat(): x"), "the scope is empty");
        assert_eq!(reason("feat(parser: x"), "the scope is not closed");
        assert_eq!(reason("Merge branch 'x'"), NO_HEADER);
        assert_eq!(reason("Revert \"feat: x\""), NO_HEADER);
        assert_eq!(reason("feat (parser): x"), NO_HEADER);
        assert_eq!(reason("feat(a)(b): x"), NO_HEADER);
        assert_eq!(reason(": x"), NO_HEADER);
        assert_eq!(reason("féat: x"), NO_HEADER);
        assert_eq!(reason("feat(ü"), "the scope is not closed");
        assert_eq!(ok("feat(ü)!: ✓\n\nÜ: ✓").footers, vec![]);
        assert_eq!(reason(""), "the message is empty");
        assert_eq!(reason("\n \n"), "the message is empty");
        assert_eq!(
            reason("feat: x\nno blank line"),
            "the body does not start one blank line after the header"
        );
        assert_eq!(
            parse("feat:x").unwrap_err().to_string(),
            "not a Conventional Commit: no space after the colon"
        );
    }

    #[test]
    fn lenient_where_git_is() {
        let c =
            ok("\r\nfeat(a)!: x  \r\n\r\nbody line \r\n# not a comment\r\n\r\nRefs: #1\r\n\r\n");
        assert_eq!(c.description, "x");
        assert_eq!(c.body.as_deref(), Some("body line\n# not a comment"));
        assert_eq!(c.footers, vec![footer("Refs", "#1")]);
    }

    #[test]
    fn git_reverts() {
        let message = format!("Revert \"feat: x\"\n\nThis reverts commit {ID}.\n");
        assert!(is_git_revert(&message));
        assert_eq!(reverted_commit(&message).as_deref(), Some(ID));
        assert!(parse(&message).is_err());
        // a revert of a merge says more
        let message = format!(
            "Revert \"Merge branch 'x'\"\n\nThis reverts commit {}, reversing\nchanges made to abcdef1.\n",
            ID.to_uppercase()
        );
        assert_eq!(reverted_commit(&message).as_deref(), Some(ID));
        assert!(!is_git_revert("Revert"));
        assert!(!is_git_revert("Revert \""));
        assert!(!is_git_revert("revert: x"));
        assert!(!is_git_revert("Reverted \"x\""));
    }

    #[test]
    fn git_reverts_of_reverts() {
        // git 2.43 and later
        let message = format!("Reapply \"feat: B\"\n\nThis reverts commit {ID}.\n");
        assert!(is_git_revert(&message));
        assert_eq!(reverted_commit(&message).as_deref(), Some(ID));
        assert!(parse(&message).is_err());
        // and a revert of that
        let message = format!("Revert \"Reapply \"feat: B\"\"\n\nThis reverts commit {ID}.\n");
        assert!(is_git_revert(&message));
        assert_eq!(reverted_commit(&message).as_deref(), Some(ID));
        // older gits nest the header
        let message = format!("Revert \"Revert \"feat: B\"\"\n\nThis reverts commit {ID}.\n");
        assert!(is_git_revert(&message));
        assert_eq!(reverted_commit(&message).as_deref(), Some(ID));
        // an edited body: the id is found wherever the sentence is
        let message =
            format!("Reapply \"feat: B\"\n\nThe bug in B is fixed.\n\nThis reverts commit {ID}.");
        assert_eq!(reverted_commit(&message).as_deref(), Some(ID));
        assert_eq!(reverted_commit("Reapply \"feat: B\"\n\nNo id here."), None);
        assert!(!is_git_revert("Reapply"));
        assert!(!is_git_revert("Reapply \""));
        assert!(!is_git_revert("Reapply feat: B"));
        assert!(!is_git_revert("reapply: x"));
    }

    #[test]
    fn conventional_reverts() {
        assert_eq!(
            reverted_commit("revert: the noodle incident\n\nRefs: 676104e, a215868").as_deref(),
            Some("676104e")
        );
        assert_eq!(
            reverted_commit(&format!("revert(api): x\n\nThis reverts commit {ID}.")).as_deref(),
            Some(ID)
        );
        assert_eq!(reverted_commit("revert: x\n\nRefs #123"), None);
        assert_eq!(reverted_commit("revert: x"), None);
        // only a revert reverts
        assert_eq!(reverted_commit("fix: x\n\nRefs: 676104e"), None);
        assert_eq!(
            reverted_commit(&format!("fix: x\n\nThis reverts commit {ID}.")),
            None
        );
        assert_eq!(reverted_commit("Merge branch 'x'"), None);
    }
}
