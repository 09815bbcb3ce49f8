//! plan: the JSON contract, `--detailed-exitcode`, saved plans and stale plans.

use crate::harness::{Test, full_disk, inline_manifest};
use mpm::plan::PlanJson;

fn two() -> String {
    inline_manifest(&[("alpha", "Do alpha."), ("beta", "Do beta.")])
}

/// What `mpm plan` shows for [`two`] on an empty target.
const TWO_PLANNED: &str = "
    mpm will make these changes in `.claude`:

      + alpha                      agents/alpha.md
      + beta                       agents/beta.md

    Plan: 2 to add, 0 to change, 0 to destroy.
    ";

/// What `mpm apply -y` prints for [`two`] on an empty target.
const TWO_APPLIED: &str = "
    mpm will make these changes in `.claude`:

      + alpha                      agents/alpha.md
      + beta                       agents/beta.md

    Plan: 2 to add, 0 to change, 0 to destroy.
    Apply complete! Agents: 2 added, 0 changed, 0 destroyed.
    ";

#[test]
fn json_is_a_versioned_contract() {
    let ran = Test::new()
        .manifest(&two())
        .args(&["plan", "--json"])
        // checked by deserialising it below: the exact text carries mpm's version and
        // content hashes that change with any rendering change
        .stdout_any()
        .success();
    // deny_unknown_fields: a key added without a format bump fails here
    let plan: PlanJson = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(plan.format_version, "2.2");
    assert_eq!(plan.resource_changes.len(), 2);
    assert_eq!(plan.resource_changes[0].address, "agents/alpha.md");
    assert_eq!(plan.resource_changes[0].kind, "agent_file");
    assert_eq!(plan.resource_changes[0].change.actions, vec!["create"]);
    assert!(plan.resource_changes[0].change.before.is_none());
    assert_eq!(
        plan.resource_changes[0].change.after.as_ref().unwrap().mode,
        Some("0644".into())
    );
    assert_eq!(
        (plan.summary.add, plan.summary.change, plan.summary.destroy),
        (2, 0, 0)
    );

    ran.then()
        .args(&["apply", "-y"])
        .stdout(TWO_APPLIED)
        .success();
    std::fs::write(ran.path(".claude/agents/beta.md"), "edited").unwrap();
    let ran = ran
        .then()
        .args(&["plan", "--json"])
        .stdout_any() // deserialised and checked below
        .stderr(
            "
            error: 1 conflict stops the plan; nothing was changed
            hint: each conflict above says what to do; `mpm apply --force` overwrites changes made outside mpm (kept for `mpm rollback`)
            ",
        )
        .status(1);
    let plan: PlanJson = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(plan.resource_changes[0].change.actions, vec!["no-op"]);
    assert_eq!(plan.conflicts.len(), 1);
    assert_eq!(plan.conflicts[0].kind, "edited");
}

#[test]
fn detailed_exitcode_is_terraforms() {
    let ran = Test::new()
        .manifest(&two())
        .args(&["plan", "--detailed-exitcode"])
        .stdout(TWO_PLANNED)
        .status(2);
    ran.then()
        .args(&["apply", "-y"])
        .stdout(TWO_APPLIED)
        .success();
    ran.then()
        .args(&["plan", "--detailed-exitcode"])
        .stdout("No changes. The agents in `.claude` match `mpm.yaml`.\n")
        .status(0);
    ran.then()
        .manifest("version: 1\nagents:\n  Bad Name: {}\n")
        .args(&["plan", "--detailed-exitcode"])
        .stderr(
            "
            error: `Bad Name` is not a valid agent name: use lower-case letters, digits and single hyphens, like `data-engineer` in `agents`
             --> mpm.yaml:3:3
              |
            3 |   Bad Name: {}
              |   ^^^
            ",
        )
        .status(1);
}

#[test]
fn a_saved_plan_is_applied_exactly_without_asking() {
    let ran = Test::new()
        .manifest(&two())
        .args(&["plan", "--out", "tfplan"])
        .stderr("Saved the plan to `tfplan`. Apply exactly it with: mpm apply tfplan\n")
        .stdout(TWO_PLANNED)
        .success();
    // no terminal, no -y: a saved plan needs neither
    let ran = ran
        .then()
        .args(&["apply", "tfplan"])
        .stdout("Apply complete! Agents: 2 added, 0 changed, 0 destroyed.\n")
        .success();
    assert!(ran.read(".claude/agents/alpha.md").ends_with("Do alpha.\n"));
    ran.then()
        .args(&["plan"])
        .stdout("No changes. The agents in `.claude` match `mpm.yaml`.\n")
        .success();
}

#[test]
fn a_stale_saved_plan_names_everything_that_changed() {
    let ran = Test::new()
        .manifest(&two())
        .args(&["apply", "-y"])
        .stdout(TWO_APPLIED)
        .success();
    let ran = ran
        .then()
        .manifest(&inline_manifest(&[
            ("alpha", "Alpha v2."),
            ("beta", "Beta v2."),
        ]))
        .args(&["plan", "--out", "p.json"])
        .stdout(
            "
            mpm will make these changes in `.claude`:

              ~ alpha                      agents/alpha.md
              ~ beta                       agents/beta.md

                --- agents/alpha.md (on disk)
                +++ agents/alpha.md (after apply)
                @@ -3,4 +3,4 @@
                 name: alpha
                 description: Use for alpha work
                 ---
                -Do alpha.
                +Alpha v2.

                --- agents/beta.md (on disk)
                +++ agents/beta.md (after apply)
                @@ -3,4 +3,4 @@
                 name: beta
                 description: Use for beta work
                 ---
                -Do beta.
                +Beta v2.

            Plan: 0 to add, 2 to change, 0 to destroy.
            ",
        )
        .stderr("Saved the plan to `p.json`. Apply exactly it with: mpm apply p.json\n")
        .success();
    std::fs::write(ran.path(".claude/agents/alpha.md"), "edited meanwhile").unwrap();
    std::fs::write(ran.path("mpm.yaml"), two()).unwrap();
    ran.then()
        .args(&["apply", "p.json"])
        .stderr(
            "
            error: the saved plan `p.json` is stale: 2 things changed since it was made
              caused by: `mpm.yaml` changed
              caused by: `agents/alpha.md` changed since the plan was made
            hint: run `mpm plan --out FILE` again and review the new plan
            ",
        )
        .failure();
}

#[test]
fn a_saved_plan_is_stale_once_another_apply_ran() {
    let ran = Test::new()
        .manifest(&two())
        .args(&["plan", "--out", "p.json"])
        .stdout(TWO_PLANNED)
        .stderr("Saved the plan to `p.json`. Apply exactly it with: mpm apply p.json\n")
        .success();
    ran.then()
        .args(&["apply", "-y"])
        .stdout(TWO_APPLIED)
        .success();
    ran.then()
        .args(&["apply", "p.json"])
        .stderr(
            "
            error: the saved plan `p.json` is stale: 3 things changed since it was made
              caused by: the state log changed since the plan was made (serial 0 → 1)
              caused by: `agents/alpha.md` changed since the plan was made
              caused by: `agents/beta.md` changed since the plan was made
            hint: run `mpm plan --out FILE` again and review the new plan
            ",
        )
        .failure();
}

#[test]
fn a_plan_file_that_is_not_one() {
    Test::new()
        .write("p.json", "{\"hello\": 1}")
        .args(&["apply", "p.json"])
        .stderr(
            "
            error: `p.json` is not a saved mpm plan
            hint: make one with `mpm plan --out FILE`
            ",
        )
        .failure();
}

#[test]
fn plan_piped_into_a_reader_that_stops_early_is_a_quiet_success() {
    // `mpm plan | head` is a normal exit (ripgrep's rule). The old test piped 16 KiB,
    // which fits in the pipe's buffer, so mpm never met the closed pipe, and `sh`
    // without pipefail hid mpm's exit code anyway. Here the plan is several times
    // 64 KiB (text and JSON), the reader takes one byte and leaves, and the
    // pipeline's status is mpm's.
    let names: Vec<String> = (0..3000).map(|i| format!("agent-{i:04}")).collect();
    let agents: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "x")).collect();
    let t = Test::new().manifest(&inline_manifest(&agents));
    for args in ["plan", "plan --json"] {
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!(
                "set -o pipefail; {} {args} | head -c1",
                crate::harness::BIN
            ))
            .current_dir(t.path(""))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", t.path("home"))
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "mpm {args}: {stderr}");
        assert_eq!(stderr, "", "mpm {args}");
        let first = if args == "plan" { "m" } else { "{" };
        assert_eq!(String::from_utf8_lossy(&out.stdout), first, "mpm {args}");
    }
    // the output really is more than a pipe holds
    let ran = t
        .args(&["plan"])
        .stdout_has("\nPlan: 3000 to add, 0 to change, 0 to destroy.\n")
        .success();
    assert!(
        ran.stdout.len() > 2 * 64 * 1024,
        "{} bytes",
        ran.stdout.len()
    );
}

#[test]
fn a_saved_plan_takes_no_dry_run_or_takeover_options() {
    let ran = Test::new()
        .manifest(&two())
        .args(&["plan", "--out", "p.json"])
        .stdout(TWO_PLANNED)
        .stderr("Saved the plan to `p.json`. Apply exactly it with: mpm apply p.json\n")
        .success();
    ran.then()
        .args(&["apply", "--dry-run", "p.json"])
        .stderr(
            "
            error: a saved plan is applied exactly as it was made: `--dry-run`, `--force` and `--adopt` do not apply to it
            hint: `mpm plan --out FILE` with the options you want makes a new one; reading the plan file shows what it does
            ",
        )
        .failure();
    assert!(!ran.exists(".claude"));
}

#[test]
fn a_saved_plan_edited_by_hand_is_refused() {
    let ran = Test::new()
        .manifest(&two())
        .args(&["plan", "--out", "p.json"])
        .stdout(TWO_PLANNED)
        .stderr("Saved the plan to `p.json`. Apply exactly it with: mpm apply p.json\n")
        .success();
    let text = ran
        .read("p.json")
        .replace("Do alpha.", "Do something else.");
    std::fs::write(ran.path("p.json"), text).unwrap();
    ran.then()
        .args(&["apply", "p.json"])
        .stderr(
            "
            error: `p.json` was changed after `mpm plan --out` saved it
            hint: make the plan again; a saved plan is applied exactly as it was reviewed
            ",
        )
        .failure();
}

#[test]
fn a_stale_plan_on_a_fresh_target_creates_nothing() {
    let ran = Test::new()
        .manifest(&two())
        .args(&["plan", "--out", "p.json"])
        .stdout(TWO_PLANNED)
        .stderr("Saved the plan to `p.json`. Apply exactly it with: mpm apply p.json\n")
        .success();
    std::fs::write(
        ran.path("mpm.yaml"),
        inline_manifest(&[("alpha", "changed")]),
    )
    .unwrap();
    ran.then()
        .args(&["apply", "p.json"])
        .stderr(
            "
            error: the saved plan `p.json` is stale: 1 thing changed since it was made
              caused by: `mpm.yaml` changed
            hint: run `mpm plan --out FILE` again and review the new plan
            ",
        )
        .failure();
    assert!(!ran.exists(".claude"));
}

/// What mpm says when stdout is a full disk.
const STDOUT_FULL: &str =
    "error: cannot write to standard output: No space left on device (os error 28)\n";

#[test]
fn plan_json_to_a_full_disk_is_an_error_not_a_silent_success() {
    // `mpm plan --json > plan.json` on a full disk exited 0 and left a 0-byte file
    Test::new()
        .manifest(&two())
        .args(&["plan", "--json"])
        .stdout_file(full_disk())
        .stderr(STDOUT_FULL)
        .failure();
}

#[test]
fn plan_to_a_full_disk_is_an_error_not_a_silent_success() {
    // the text plan is streamed in 64 KiB chunks; a lost chunk, the first or the
    // last, is as much an error as a lost short plan
    Test::new()
        .manifest(&two())
        .args(&["plan"])
        .stdout_file(full_disk())
        .stderr(STDOUT_FULL)
        .failure();
    let names: Vec<String> = (0..3000).map(|i| format!("agent-{i:04}")).collect();
    let agents: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "x")).collect();
    Test::new()
        .manifest(&inline_manifest(&agents))
        .args(&["plan", "--detailed-exitcode"])
        .stdout_file(full_disk())
        .stderr(STDOUT_FULL)
        .failure();
}

#[test]
fn help_to_a_full_disk_is_an_error_not_a_silent_success() {
    Test::new()
        .args(&["--help"])
        .stdout_file(full_disk())
        .stderr(STDOUT_FULL)
        .failure();
}

#[test]
fn a_command_with_nothing_to_print_is_not_failed_by_a_full_disk() {
    // only output that is lost is an error: a plan with no changes prints one line,
    // `status` in sync prints nothing
    let ran = Test::new()
        .manifest(&two())
        .args(&["apply", "-y"])
        .stdout(TWO_APPLIED)
        .success();
    ran.then()
        .args(&["status"])
        .stdout_file(full_disk())
        .success();
    ran.then()
        .args(&["plan"])
        .stdout_file(full_disk())
        .stderr(STDOUT_FULL)
        .failure();
}
