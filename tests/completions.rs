//! `mpm completions SHELL` and `mpm man`: made from the clap definitions, so each
//! names every command; printed to stdout, with no manifest needed and nothing
//! written.

use crate::harness::Test;
use clap::CommandFactory;

/// mpm's commands, from the same definitions the binary parses with.
fn commands() -> Vec<String> {
    let names: Vec<String> = mpm::cli::Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    // the list the checks below walk is the real one, not an empty one
    for name in ["plan", "apply", "rollback", "completions", "man"] {
        assert!(names.iter().any(|n| n == name), "{name} in {names:?}");
    }
    names
}

/// The test directory as a fresh [`Test`] leaves it: a command that wrote
/// nothing leaves it so.
fn untouched(ran: &crate::harness::Ran) {
    let paths: Vec<_> = ran.tree().into_keys().collect();
    assert_eq!(paths, vec![std::path::PathBuf::from("home")]);
}

#[test]
fn the_bash_script_completes_every_command() {
    let ran = Test::new()
        .args(&["completions", "bash"])
        // a generated script of hundreds of lines: its parts are checked below
        .stdout_any()
        .success();
    assert!(ran.stdout.starts_with("_mpm() {\n"), "{}", ran.stdout);
    assert!(ran.stdout.contains("complete -F _mpm"), "{}", ran.stdout);
    for name in commands() {
        assert!(
            ran.stdout.contains(&format!("mpm,{name})")),
            "`mpm {name}` is not completed"
        );
    }
    untouched(&ran);
}

#[test]
fn every_shell_gets_a_script_without_a_manifest() {
    for (shell, opening) in [
        ("bash", "_mpm() {"),
        ("zsh", "#compdef mpm"),
        ("fish", "# Print an optspec for argparse"),
        ("powershell", "using namespace System.Management.Automation"),
        ("elvish", "use builtin;"),
    ] {
        let ran = Test::new()
            .args(&["completions", shell])
            .stdout_any() // generated; its first line is checked below
            .success();
        assert!(
            ran.stdout.trim_start().starts_with(opening),
            "{shell}: {}",
            ran.stdout
        );
        untouched(&ran);
    }
}

#[test]
fn an_unknown_shell_is_refused_naming_the_ones_there_are() {
    Test::new()
        .args(&["completions", "tcsh"])
        .stderr(
            "
            error: invalid value 'tcsh' for '<SHELL>'
              [possible values: bash, elvish, fish, powershell, zsh]

              tip: a similar value exists: 'zsh'

            For more information, try '--help'.
            ",
        )
        .failure();
}

#[test]
fn the_man_page_has_a_name_and_every_command() {
    let ran = Test::new()
        .args(&["man"])
        .stdout_any() // roff of a few hundred lines: its parts are checked below
        .success();
    let page = &ran.stdout;
    assert!(page.contains("\n.TH mpm 1  \"mpm "), "{page}");
    assert!(
        page.contains("\n.SH NAME\nmpm \\- Manage Claude Code agents the way Terraform manages infrastructure\n"),
        "{page}"
    );
    let listed = page
        .split_once("\n.SH SUBCOMMANDS\n")
        .map(|(_, rest)| rest)
        .unwrap_or_else(|| panic!("no SUBCOMMANDS section: {page}"));
    for name in commands() {
        assert!(
            listed.contains(&format!("\nmpm\\-{name}(1)\n")),
            "`mpm {name}` is not in the man page"
        );
    }
    untouched(&ran);
}

#[test]
fn man_out_writes_one_page_per_command() {
    // `mpm.1`, a page per command but `help`, and one per command of a command
    let nested: Vec<String> = mpm::cli::Cli::command()
        .get_subcommands()
        .flat_map(|c| {
            let parent = c.get_name().to_string();
            c.get_subcommands()
                .filter(|s| s.get_name() != "help")
                .map(move |s| format!("mpm-{parent}-{}.1", s.get_name()))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        nested.iter().any(|n| n == "mpm-history-prune.1"),
        "{nested:?}"
    );
    let pages = commands().iter().filter(|c| *c != "help").count() + 1 + nested.len();
    let ran = Test::new()
        .args(&["man", "--out", "share/man/man1"])
        .stderr(&format!("Wrote {pages} man pages to `share/man/man1`.\n"))
        .success();
    let mut written: Vec<String> = std::fs::read_dir(ran.path("share/man/man1"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    let mut expected: Vec<String> = commands()
        .into_iter()
        .filter(|c| c != "help")
        .map(|c| format!("mpm-{c}.1"))
        .chain(std::iter::once("mpm.1".to_string()))
        .chain(nested)
        .collect();
    expected.sort();
    assert_eq!(written, expected);
    let plan = ran.read("share/man/man1/mpm-plan.1");
    assert!(
        plan.contains("\n.SH NAME\nmpm\\-plan \\- Show what apply would change"),
        "{plan}"
    );
    // the global options are on every command's page
    assert!(plan.contains("\\fB\\-\\-manifest\\fR"), "{plan}");
}
