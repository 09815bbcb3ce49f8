//! `mpm doctor`: every check of [`crate::doctor`] on the target, one line per
//! finding (or JSON); exit 1 when one is an error.

use crate::Error;
use crate::cli::DoctorArgs;
use crate::doctor::{self, Severity, Subject};
use crate::error::ExitStatus;
use crate::options::Options;
use crate::printer::Printer;

pub fn run(options: &Options, args: &DoctorArgs, printer: &Printer) -> Result<ExitStatus, Error> {
    let (target, _) = options.target_and_lockfile()?;
    let findings = doctor::examine(&Subject {
        target: &target,
        env: &options.env,
        lock_timeout: options.lock_timeout,
        command_line: &options.command_line,
    });
    printer.out(&if args.json {
        doctor::render::json(&findings, &target.root)
    } else {
        doctor::render::text(&findings, &target.display, &options.env.cwd)
    });
    Ok(if findings.iter().any(|f| f.severity == Severity::Error) {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}
