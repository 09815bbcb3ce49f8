//! Text that goes into an agent file, and the two rules it keeps: lines end in `\n`
//! (a `\r\n` from a Windows editor is normalised), and no control character but tab
//! and newline gets in. Claude Code would hand such a character to the model as is,
//! while an editor, a code review or the plan on a terminal shows nothing, or, for an
//! escape sequence, shows something else.

use crate::checked::Invalid;
use std::borrow::Cow;

/// What to do about a control character, wherever it was found.
pub const CONTROL_HINT: &str = "remove it: tab and newline are the only control characters an agent file may hold (`\\r` only as part of a `\\r\\n` line end)";

/// `s` with `\r\n` line ends made `\n`.
pub fn normalize_newlines(s: &str) -> Cow<'_, str> {
    if s.contains('\r') {
        Cow::Owned(s.replace("\r\n", "\n"))
    } else {
        Cow::Borrowed(s)
    }
}

/// A control character in a text: which, and where (1-based line and column, in
/// characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Control {
    pub ch: char,
    pub line: usize,
    pub column: usize,
}

impl Control {
    /// `the control character U+0007`, with its line when the text has several.
    pub fn describe(&self, multi_line: bool) -> String {
        let at = if multi_line {
            format!(" (line {}, column {})", self.line, self.column)
        } else {
            String::new()
        };
        format!("the control character {}{at}", code(self.ch))
    }

    /// The refusal of a value holding it, said of the value.
    pub fn refusal(&self, text: &str) -> Invalid {
        Invalid::of_value(
            format!("contains {}", self.describe(text.contains('\n'))),
            CONTROL_HINT,
        )
    }
}

/// `U+0007`.
pub fn code(c: char) -> String {
    format!("U+{:04X}", u32::from(c))
}

/// The first control character other than tab and newline; a `\r` right before a
/// `\n` is part of a line end, which is normalised, not refused.
pub fn first_control(s: &str) -> Option<Control> {
    // the common case, a byte at a time: no C0 control but tab and newline, no DEL,
    // and no 0xC2 (the lead byte of the C1 controls U+0080..U+009F, and of other
    // characters, which the slow path below tells apart)
    if s.bytes()
        .all(|b| (b >= 0x20 && b != 0x7f && b != 0xc2) || b == b'\t' || b == b'\n')
    {
        return None;
    }
    let (mut line, mut column) = (1, 0);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        column += 1;
        match c {
            '\n' => {
                line += 1;
                column = 0;
            }
            '\t' => {}
            '\r' if chars.peek() == Some(&'\n') => {}
            c if c.is_control() => {
                return Some(Control {
                    ch: c,
                    line,
                    column,
                });
            }
            _ => {}
        }
    }
    None
}

/// Refuses text holding a control character other than tab and newline.
pub fn check(s: &str) -> Result<(), Invalid> {
    match first_control(s) {
        Some(c) => Err(c.refusal(s)),
        None => Ok(()),
    }
}

/// `s` as it may be quoted in a message: control characters other than tab and
/// newline written as `\u{7}`, so an error never prints an escape sequence.
pub fn escaped(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| {
                if c.is_control() && c != '\n' && c != '\t' {
                    c.escape_unicode().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// The candidate closest to `word`, if one is close enough to be a typo of it.
pub fn closest<'a, S: AsRef<str>>(word: &str, candidates: &'a [S]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(word, c.as_ref()), c.as_ref()))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// serde_json ends its messages with ` at line L column C`; a location block
/// says that already.
pub fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_control_characters_but_not_line_ends() {
        assert_eq!(first_control("a\tb\nc\r\nd"), None);
        assert_eq!(
            first_control("ab\ncd\0"),
            Some(Control {
                ch: '\0',
                line: 2,
                column: 3
            })
        );
        assert_eq!(first_control("a\rb").map(|c| c.ch), Some('\r'));
        assert_eq!(first_control("a\u{1b}[31m").map(|c| c.column), Some(2));
        assert_eq!(first_control("\u{85}").map(|c| c.ch), Some('\u{85}'));
        assert_eq!(first_control("\u{7f}").map(|c| c.ch), Some('\u{7f}'));
    }

    #[test]
    fn line_ends_are_normalised_and_lone_returns_kept_for_the_check() {
        assert_eq!(normalize_newlines("a\r\nb\r\n"), "a\nb\n");
        assert_eq!(normalize_newlines("a\rb"), "a\rb");
    }

    #[test]
    fn messages_never_print_a_control_character() {
        assert_eq!(escaped("a\u{1b}[31m\tb"), "a\\u{1b}[31m\tb");
        assert_eq!(
            check("x\0").unwrap_err().about("`prompt`"),
            "`prompt` contains the control character U+0000"
        );
    }
}
