//! mpm: a declarative reconciler for Claude Code agent environments.
//!
//! Every command is one pipeline: manifest → desired state; target → actual state;
//! state log → last applied; [`plan::diff`] (pure) → plan; [`apply::execute`] →
//! files written atomically and a new generation. See `docs/concepts.md`.

pub mod actual;
pub mod address;
pub mod agent_file;
pub mod apply;
pub mod budget;
pub mod cache;
pub mod checked;
pub mod claude_env;
pub mod cli;
pub mod commands;
pub mod config;
pub mod desired;
pub mod diagnose;
pub mod diff;
pub mod doctor;
pub mod error;
pub mod fetch;
pub mod files;
pub mod git;
pub mod hash;
pub mod last_applied;
pub mod lockfile;
pub mod manifest;
pub mod memory;
pub mod name;
pub mod options;
pub mod parallel;
pub mod part;
pub mod paths;
pub mod plan;
pub mod printer;
pub mod registry;
pub mod resolve;
pub mod secret;
pub mod settings_file;
pub mod state;
pub mod system;
pub mod table;
pub mod target;
pub mod template;
pub mod text;
pub mod tokens;
pub mod unique_keys;
pub mod usage;
pub mod version;
pub mod watch;

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
            let printed = e.print();
            if e.use_stderr() {
                return ExitCode::from(1);
            }
            // `--help` and `--version` go to stdout, and are held to its rules
            return match printed {
                Err(io) if io.kind() != std::io::ErrorKind::BrokenPipe => {
                    printer::Printer::plain().stdout_error(&printer::StdoutError(io));
                    ExitCode::from(1)
                }
                _ => ExitCode::SUCCESS,
            };
        }
    };
    // a hook that fails must never refuse a prompt: it says why and lets it through
    let is_hook = matches!(cli.command, cli::Command::Hook(_));
    let (printer, outcome) =
        match options::Options::resolve(&cli.global, &cli.command, command_line) {
            Ok(options) => {
                let printer = printer::Printer::new(options.colors);
                for warning in &options.warnings {
                    printer.warn(warning);
                }
                let outcome = commands::run(cli.command, &options, &printer);
                (printer, outcome)
            }
            // the colours are known even when the rest is not
            Err(options::Unresolved { error, colors }) => {
                (printer::Printer::new(colors), Err(error))
            }
        };
    let code = match outcome {
        Ok(status) => status.into(),
        Err(e) if is_hook => commands::hook::failed(&printer, &e).into(),
        Err(e) => {
            printer.error(&e);
            ExitCode::from(1)
        }
    };
    // output that never reached stdout (a full disk) fails the command, whatever it
    // did; a reader that closed the pipe early does not
    match printer.finish() {
        Ok(()) => code,
        Err(e) => {
            printer.stdout_error(&e);
            ExitCode::from(1)
        }
    }
}
