//! The crate's error type, its one rendering, and the exit codes.
//!
//! Domain modules return their own typed errors carrying the path, agent or line they
//! are about; they meet here. Rendering follows one shape:
//! `error: <what>`, an optional `--> file:line:column` block with the line and a caret,
//! `caused by:` lines, then `hint: <what to do>`.

use std::fmt::Write as _;
use std::process::ExitCode;

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
            .map(crate::text::visible)
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

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Manifest(Box<crate::manifest::ManifestError>),
    #[error(transparent)]
    Template(Box<crate::template::TemplateError>),
    #[error(transparent)]
    Agent(Box<crate::desired::AgentError>),
    #[error(transparent)]
    Target(Box<crate::target::TargetError>),
    #[error(transparent)]
    State(Box<crate::state::StateError>),
    #[error(transparent)]
    Apply(Box<crate::apply::ApplyError>),
    #[error(transparent)]
    Lockfile(Box<crate::lockfile::LockfileError>),
    #[error(transparent)]
    Git(Box<crate::git::GitError>),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// A command used wrongly, in a way clap cannot see.
    #[error("{message}")]
    Usage {
        message: String,
        hint: Option<String>,
    },
    /// Several independent problems, all reported.
    #[error("{} problems", .0.len())]
    Many(Vec<Error>),
    /// The plan (already printed) has conflicts.
    #[error("{count} conflict{} stop{} the {command}; nothing was changed", plural(*count), if *count == 1 { "s" } else { "" })]
    Conflicts {
        count: usize,
        command: &'static str,
        hint: String,
    },
    /// A saved plan no longer describes the world.
    #[error("the saved plan `{file}` is stale: {} changed since it was made", plural_noun(changes.len(), "thing"))]
    StalePlan { file: String, changes: Vec<String> },
    #[error("{0}")]
    Cancelled(String),
}

/// Domain errors are boxed so that `Result<_, Error>` stays small on the happy path.
macro_rules! boxed_from {
    ($($variant:ident($ty:ty)),* $(,)?) => {
        $(impl From<$ty> for Error {
            fn from(e: $ty) -> Self {
                Error::$variant(Box::new(e))
            }
        })*
    };
}

boxed_from!(
    Manifest(crate::manifest::ManifestError),
    Template(crate::template::TemplateError),
    Agent(crate::desired::AgentError),
    Target(crate::target::TargetError),
    State(crate::state::StateError),
    Apply(crate::apply::ApplyError),
    Lockfile(crate::lockfile::LockfileError),
    Git(crate::git::GitError),
);

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn plural_noun(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", plural(n))
}

impl Error {
    pub fn usage(message: impl Into<String>, hint: impl Into<Option<String>>) -> Self {
        Error::Usage {
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// Folds a list of errors: none is `Ok`, one is itself, more are `Many`.
    pub fn collect(mut errors: Vec<Error>) -> Result<(), Error> {
        match errors.len() {
            0 => Ok(()),
            1 => Err(errors.remove(0)),
            _ => Err(Error::Many(errors)),
        }
    }

    fn diagnose(&self) -> Option<&dyn Diagnose> {
        match self {
            Error::Manifest(e) => Some(e.as_ref()),
            Error::Template(e) => Some(e.as_ref()),
            Error::Agent(e) => Some(e.as_ref()),
            Error::Target(e) => Some(e.as_ref()),
            Error::State(e) => Some(e.as_ref()),
            Error::Apply(e) => Some(e.as_ref()),
            Error::Lockfile(e) => Some(e.as_ref()),
            Error::Git(e) => Some(e.as_ref()),
            _ => None,
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Usage { hint, .. } => hint.clone(),
            Error::Conflicts { hint, .. } => Some(hint.clone()),
            Error::StalePlan { .. } => {
                Some("run `mpm plan --out FILE` again and review the new plan".into())
            }
            Error::Io(_) => None,
            other => other.diagnose().and_then(Diagnose::hint),
        }
    }

    /// The whole rendering, without colour.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Error::Many(errors) = self {
            for (i, e) in errors.iter().enumerate() {
                if i > 0 {
                    out.push('\n');
                }
                out.push_str(&e.render());
            }
            let _ = writeln!(
                out,
                "\nerror: {} problems; nothing was changed",
                errors.len()
            );
            return out;
        }
        let _ = writeln!(out, "error: {self}");
        if let Some(loc) = self.diagnose().and_then(Diagnose::location) {
            render_location(&mut out, loc);
        }
        let mut causes = self.diagnose().map(Diagnose::causes).unwrap_or_default();
        if let Error::StalePlan { changes, .. } = self {
            causes.extend(changes.iter().cloned());
        }
        if let Error::Io(e) = self {
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                causes.push(s.to_string());
                source = s.source();
            }
        }
        for cause in causes {
            let _ = writeln!(out, "  caused by: {cause}");
        }
        if let Some(hint) = self.hint() {
            let _ = writeln!(out, "hint: {hint}");
        }
        out
    }
}

fn render_location(out: &mut String, loc: &Location) {
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

/// What a command reports when it did not fail: Terraform's numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0
    Success,
    /// 1: the command ran and found something wrong (`verify` out of sync).
    Failure,
    /// 2: `plan --detailed-exitcode` found changes.
    Changes,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        match status {
            ExitStatus::Success => ExitCode::SUCCESS,
            ExitStatus::Failure => ExitCode::from(1),
            ExitStatus::Changes => ExitCode::from(2),
        }
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
}
