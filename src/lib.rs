//! mpm: a declarative reconciler for Claude Code agent environments.
//!
//! Every command is one pipeline: manifest → desired state; target → actual state;
//! state log → last applied; [`plan::diff`] (pure) → plan; [`apply::execute`] →
//! files written atomically and a new generation. See `docs/concepts.md`.

pub mod actual;
pub mod address;
pub mod agent_file;
pub mod apply;
pub mod cli;
pub mod commands;
pub mod desired;
pub mod diff;
pub mod error;
pub mod files;
pub mod git;
pub mod hash;
pub mod manifest;
pub mod name;
pub mod options;
pub mod paths;
pub mod plan;
pub mod printer;
pub mod state;
pub mod system;
pub mod target;
pub mod template;

pub use error::{Error, ExitStatus};

use clap::Parser;
use std::ffi::OsString;
use std::process::ExitCode;

/// Runs mpm with these arguments; the exit code is decided here only.
pub fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let args: Vec<OsString> = args.into_iter().collect();
    // recorded in generations and the lock file
    let command_line = std::iter::once("mpm".into())
        .chain(
            args.iter()
                .skip(1)
                .map(|a| a.to_string_lossy().into_owned()),
        )
        .collect::<Vec<String>>()
        .join(" ");
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let printer = printer::Printer::new(match cli.global.color {
        cli::ColorArg::Auto => printer::ColorChoice::Auto,
        cli::ColorArg::Always => printer::ColorChoice::Always,
        cli::ColorArg::Never => printer::ColorChoice::Never,
    });
    match commands::run(cli, command_line, &printer) {
        Ok(status) => status.into(),
        Err(e) => {
            printer.error(&e);
            ExitCode::from(1)
        }
    }
}
