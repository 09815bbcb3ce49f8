//! `mpm completions SHELL`: a completion script made from the clap definitions in
//! `cli.rs`, on stdout, so that it never falls behind the commands.

use crate::Error;
use crate::cli::{Cli, CompletionsArgs};
use crate::error::ExitStatus;
use crate::printer::Printer;
use clap::CommandFactory;

pub fn run(args: &CompletionsArgs, printer: &Printer) -> Result<ExitStatus, Error> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "mpm", &mut script);
    printer.out(&String::from_utf8_lossy(&script));
    Ok(ExitStatus::Success)
}
