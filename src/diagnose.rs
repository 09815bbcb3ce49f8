//! What an error can say beyond its message: where in a user's file it is
//! ([`Location`], shown with the line and a caret), why, and what to do.
//!
//! A leaf: it imports nothing from the crate, so every domain module can describe
//! its errors here without depending on `error.rs`, where those errors meet.

use std::fmt::Write as _;

/// A position in a file a user wrote, with the text of that line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file as the user would type it (relative to the working directory).
    pub file: String,
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    /// The whole line, without its newline.
    pub text: String,
}

impl Location {
    /// Builds a location in `source` (1-based line and column).
    pub fn in_source(file: impl Into<String>, source: &str, line: usize, column: usize) -> Self {
        // a control character in the line is shown as its picture, one for one, so
        // the caret stays under it and the terminal is not told to do anything
        let text = source
            .lines()
            .nth(line.saturating_sub(1))
            .unwrap_or("")
            .chars()
            .map(visible)
            .collect();
        Location {
            file: file.into(),
            line,
            column: column.max(1),
            text,
        }
    }
}

/// What every error can say beyond its message.
pub trait Diagnose {
    fn location(&self) -> Option<&Location> {
        None
    }
    fn causes(&self) -> Vec<String> {
        Vec::new()
    }
    fn hint(&self) -> Option<String> {
        None
    }
}

/// Appends the `--> file:line:column` block: the line, and a caret under the token.
pub fn render_location(out: &mut String, loc: &Location) {
    let number = loc.line.to_string();
    let pad = " ".repeat(number.len());
    let _ = writeln!(out, "{pad}--> {}:{}:{}", loc.file, loc.line, loc.column);
    if loc.text.is_empty() {
        return;
    }
    let _ = writeln!(out, "{pad} |");
    let _ = writeln!(out, "{number} | {}", loc.text);
    let start: String = loc
        .text
        .chars()
        .take(loc.column - 1)
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    let token: Vec<char> = loc.text.chars().skip(loc.column - 1).collect();
    // a quoted value is underlined to its closing quote; a plain one to its end
    let width = match token.first() {
        Some(&q @ ('"' | '\'')) => token
            .iter()
            .skip(1)
            .position(|&c| c == q)
            .map_or(token.len(), |end| end + 2),
        _ => token
            .iter()
            .take_while(|c| !c.is_whitespace() && !matches!(c, ':' | ',' | '}' | ']'))
            .count(),
    }
    .max(1);
    let _ = writeln!(out, "{pad} | {start}{}", "^".repeat(width));
}

/// One character that shows where a control character stands in a line quoted
/// under an error (U+2400 `␀` and its neighbours, the Unicode control pictures), so
/// the caret below it stays in place.
fn visible(c: char) -> char {
    match u32::from(c) {
        n @ 0..=0x1f if c != '\t' => char::from_u32(0x2400 + n).unwrap_or('\u{fffd}'),
        0x7f => '\u{2421}',
        _ if c.is_control() && c != '\t' => '\u{fffd}',
        _ => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_location_is_shown_with_the_line_and_a_caret_under_the_token() {
        let mut out = String::new();
        let loc = Location::in_source(
            "mpm.yaml",
            "version: 1\nagents:\n  qa:\n    templat: x\n",
            4,
            5,
        );
        render_location(&mut out, &loc);
        assert_eq!(
            out,
            " --> mpm.yaml:4:5\n  |\n4 |     templat: x\n  |     ^^^^^^^\n"
        );
    }

    #[test]
    fn a_quoted_line_never_prints_a_control_character() {
        assert_eq!(visible('\0'), '␀');
        assert_eq!(visible('\u{1b}'), '␛');
        assert_eq!(visible('\t'), '\t');
    }
}
