//! `mpm man`: the man page made from the clap definitions in `cli.rs`, on stdout;
//! `--out DIR` writes it and one page per command (`mpm-plan.1`,
//! `mpm-history-prune.1`, ...), the form packagers install into `man1/`.

use crate::Error;
use crate::cli::{Cli, ManArgs};
use crate::error::ExitStatus;
use crate::options::Options;
use crate::printer::Printer;
use clap::CommandFactory;

/// One man page: its file name (`mpm-plan.1`) and its roff text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub file_name: String,
    pub roff: Vec<u8>,
}

pub fn run(options: &Options, args: &ManArgs, printer: &Printer) -> Result<ExitStatus, Error> {
    let cmd = command();
    let Some(dir) = &args.out else {
        let top = page(&cmd)?;
        printer.out(&String::from_utf8_lossy(&top.roff));
        return Ok(ExitStatus::Success);
    };
    let pages = pages(&cmd)?;
    let dir = options.env.cwd.join(dir);
    for page in &pages {
        crate::system::write_file_atomically(&dir.join(&page.file_name), page.roff.as_slice())?;
    }
    printer.note(&format!(
        "Wrote {} man pages to `{}`.",
        pages.len(),
        crate::paths::display(&dir, &options.env.cwd)
    ));
    Ok(ExitStatus::Success)
}

/// mpm's commands as the pages describe them: built (so that each command knows
/// its full name, `mpm-plan`, and the global options), without `help`, which
/// `man` replaces.
fn command() -> clap::Command {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// The page of `cmd` alone.
fn page(cmd: &clap::Command) -> std::io::Result<Page> {
    let version = cmd.get_version().unwrap_or_default();
    let man = clap_mangen::Man::new(cmd.clone()).source(format!("mpm {version}"));
    let mut roff = Vec::new();
    man.render(&mut roff)?;
    Ok(Page {
        file_name: man.get_filename(),
        roff,
    })
}

/// The page of `cmd` and of every command below it, parents first.
fn pages(cmd: &clap::Command) -> std::io::Result<Vec<Page>> {
    let mut all = vec![page(cmd)?];
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        all.extend(pages(sub)?);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_has_a_page_named_after_its_full_name() {
        let names: Vec<String> = pages(&command())
            .unwrap()
            .into_iter()
            .map(|p| p.file_name)
            .collect();
        assert_eq!(names[0], "mpm.1");
        for name in [
            "mpm-plan.1",
            "mpm-history.1",
            "mpm-history-prune.1",
            "mpm-man.1",
        ] {
            assert!(names.iter().any(|n| n == name), "{name} in {names:?}");
        }
        assert!(!names.iter().any(|n| n.contains("help")), "{names:?}");
    }
}
