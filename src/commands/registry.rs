//! `mpm registry build DIR --out OUT`.

use crate::Error;
use crate::cli::{RegistryArgs, RegistryCommand};
use crate::error::ExitStatus;
use crate::printer::Printer;

pub fn run(args: &RegistryArgs, printer: &Printer) -> Result<ExitStatus, Error> {
    match &args.command {
        RegistryCommand::Build(build) => {
            let built = crate::registry::build::build(&build.dir, &build.out)?;
            for warning in &built.skipped {
                printer.warn(warning);
            }
            printer.out(&format!(
                "Built `{}`: {} agent{}, {} version{} ({} new).\n",
                build.out.join("index.json").display(),
                built.agents,
                if built.agents == 1 { "" } else { "s" },
                built.versions,
                if built.versions == 1 { "" } else { "s" },
                built.added
            ));
            Ok(ExitStatus::Success)
        }
    }
}
