//! The crate's error type, its one rendering, and the exit codes.
//!
//! Domain modules return their own typed errors carrying the path, agent or line they
//! are about, and say more through [`Diagnose`] (in the leaf `diagnose.rs`, so that
//! they need nothing from here); they meet here. Rendering follows one shape:
//! `error: <what>`, an optional `--> file:line:column` block with the line and a caret,
//! `caused by:` lines, then `hint: <what to do>`.

use crate::diagnose::{Diagnose, render_location};
use std::fmt::Write as _;
use std::process::ExitCode;

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
    Watch(Box<crate::watch::WatchError>),
    #[error(transparent)]
    Config(Box<crate::config::ConfigError>),
    #[error(transparent)]
    Resolve(Box<crate::resolve::ResolveError>),
    #[error(transparent)]
    Index(Box<crate::registry::index::IndexError>),
    #[error(transparent)]
    Build(Box<crate::registry::build::BuildError>),
    #[error(transparent)]
    Cache(Box<crate::cache::CacheError>),
    #[error(transparent)]
    Fetch(Box<crate::fetch::FetchError>),
    #[error(transparent)]
    Registry(Box<crate::registry::RegistryError>),
    #[error(transparent)]
    Spend(Box<crate::usage::UsageError>),
    #[error(transparent)]
    Tokens(Box<crate::tokens::BudgetError>),
    #[error(transparent)]
    Version(Box<crate::version::bump::BumpError>),
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
    #[error("{} is stale: {} changed since it was made", stale_what(file), plural_noun(changes.len(), "thing"))]
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
    Watch(crate::watch::WatchError),
    Config(crate::config::ConfigError),
    Resolve(crate::resolve::ResolveError),
    Index(crate::registry::index::IndexError),
    Build(crate::registry::build::BuildError),
    Fetch(crate::fetch::FetchError),
    Cache(crate::cache::CacheError),
    Registry(crate::registry::RegistryError),
    Spend(crate::usage::UsageError),
    Tokens(crate::tokens::BudgetError),
    Version(crate::version::bump::BumpError),
);

impl From<crate::git::history::HistoryError> for Error {
    fn from(e: crate::git::history::HistoryError) -> Self {
        Error::from(crate::version::bump::BumpError::from(e))
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// A plan made in this run is "the plan"; a saved one is named.
fn stale_what(file: &str) -> String {
    match file {
        "plan" | "the plan shown" => "the plan".to_string(),
        file => format!("the saved plan `{file}`"),
    }
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
            Error::Watch(e) => Some(e.as_ref()),
            Error::Config(e) => Some(e.as_ref()),
            Error::Resolve(e) => Some(e.as_ref()),
            Error::Index(e) => Some(e.as_ref()),
            Error::Build(e) => Some(e.as_ref()),
            Error::Fetch(e) => Some(e.as_ref()),
            Error::Cache(e) => Some(e.as_ref()),
            Error::Registry(e) => Some(e.as_ref()),
            Error::Spend(e) => Some(e.as_ref()),
            Error::Tokens(e) => Some(e.as_ref()),
            Error::Version(e) => Some(e.as_ref()),
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
        // a name or a path from input may hold control characters: an error message
        // shows them, it does not send them to the terminal
        self.render_raw()
            .chars()
            .map(|c| match c {
                '\n' | '\t' => c.to_string(),
                c if c.is_control() => format!("\\u{{{:x}}}", u32::from(c)),
                c => c.to_string(),
            })
            .collect()
    }

    fn render_raw(&self) -> String {
        let mut out = String::new();
        if let Error::Many(errors) = self {
            for (i, e) in errors.iter().enumerate() {
                if i > 0 {
                    out.push('\n');
                }
                out.push_str(&e.render_raw());
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

/// What a command reports when it did not fail: Terraform's numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0
    Success,
    /// 1: the command ran and found something wrong (`verify` out of sync).
    Failure,
    /// 2: `plan --detailed-exitcode` found changes.
    Changes,
    /// 2: `hook budget`: the prompt is refused (what the client reads a hook's 2 as).
    Refused,
    /// 3: `usage`: today's spend is at or past the budget's warning threshold.
    BudgetWarning,
    /// 4: `usage`: today's spend is at or over the daily budget.
    OverBudget,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        match status {
            ExitStatus::Success => ExitCode::SUCCESS,
            ExitStatus::Failure => ExitCode::from(1),
            ExitStatus::Changes | ExitStatus::Refused => ExitCode::from(2),
            ExitStatus::BudgetWarning => ExitCode::from(3),
            ExitStatus::OverBudget => ExitCode::from(4),
        }
    }
}
