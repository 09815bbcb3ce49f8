//! apply: every row of the three-state table through the real binary, ownership,
//! idempotence, confirmation, modes.

use crate::harness::{Test, full_disk, inline_manifest};
use std::os::unix::fs::MetadataExt;

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
fn creates_files_with_modes_and_no_temp_left() {
    let ran = Test::new()
        .manifest(&two())
        .args(&["apply", "-y"])
        .stdout(TWO_APPLIED)
        .success();
    assert_eq!(
        ran.read(".claude/agents/alpha.md"),
        "---\n# managed by mpm: alpha (inline); edit mpm.yaml, not this file\nname: alpha\ndescription: Use for alpha work\n---\nDo alpha.\n"
    );
    assert_eq!(
        std::fs::metadata(ran.path(".claude/agents/alpha.md"))
            .unwrap()
            .mode()
            & 0o777,
        0o644
    );
    assert_eq!(
        std::fs::metadata(ran.path(".claude/agents"))
            .unwrap()
            .mode()
            & 0o777,
        0o755
    );
    let names: Vec<String> = std::fs::read_dir(ran.path(".claude/agents"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| n.ends_with(".md") && !n.starts_with('.')),
        "{names:?}"
    );
    assert_eq!(ran.read(".claude/.mpm/.gitignore"), "*\n");
}

#[test]
fn a_second_apply_writes_nothing_not_even_a_generation() {
    let ran = Test::new()
        .manifest(&two())
        .args(&["apply", "-y"])
        .stdout(TWO_APPLIED)
        .success();
    let before = ran.tree();
    let mtime = std::fs::metadata(ran.path(".claude/agents/alpha.md"))
        .unwrap()
        .mtime_nsec();
    ran.then()
        .args(&["apply", "-y"])
        .stdout("No changes. The agents in `.claude` match `mpm.yaml`.\n")
        .success();
    crate::harness::assert_same_tree(&before, &ran.tree());
    assert_eq!(
        std::fs::metadata(ran.path(".claude/agents/alpha.md"))
            .unwrap()
            .mtime_nsec(),
        mtime
    );
    // one generation: the second apply recorded none
    ran.then()
        .args(&["history"])
        .stdout("*   1  [TIME]  apply          +2 ~0 -0  mpm apply -y\n")
        .success();
}

#[test]
fn manifest_change_updates_with_version_transition_and_diff() {
    let ran = Test::new()
        .template("qa", "3.5.2", "Test things.")
        .manifest("version: 1\nagents:\n  qa:\n    template: templates/qa.json\n")
        .args(&["apply", "-y"])
        .stdout(
            "
            mpm will make these changes in `.claude`:

              + qa        3.5.2            agents/qa.md

            Plan: 1 to add, 0 to change, 0 to destroy.
            Apply complete! Agents: 1 added, 0 changed, 0 destroyed.
            ",
        )
        .success();
    let ran = ran
        .then()
        .template("qa", "3.5.3", "Test things well.")
        .args(&["plan"])
        .stdout(
            "
            mpm will make these changes in `.claude`:

              ~ qa        3.5.2 → 3.5.3    agents/qa.md

                --- agents/qa.md (on disk)
                +++ agents/qa.md (after apply)
                @@ -1,9 +1,9 @@
                 ---
                -# managed by mpm: qa 3.5.2 from templates/qa.json; edit mpm.yaml, not this file
                +# managed by mpm: qa 3.5.3 from templates/qa.json; edit mpm.yaml, not this file
                 name: qa
                 description: Use for qa work
                 model: sonnet
                 tools: Read, Grep
                 color: blue
                 ---
                -Test things.
                +Test things well.

            Plan: 0 to add, 1 to change, 0 to destroy.
            ",
        )
        .success();
    ran.then()
        .args(&["apply", "-y"])
        .stdout(
            "
            mpm will make these changes in `.claude`:

              ~ qa        3.5.2 → 3.5.3    agents/qa.md

                --- agents/qa.md (on disk)
                +++ agents/qa.md (after apply)
                @@ -1,9 +1,9 @@
                 ---
                -# managed by mpm: qa 3.5.2 from templates/qa.json; edit mpm.yaml, not this file
                +# managed by mpm: qa 3.5.3 from templates/qa.json; edit mpm.yaml, not this file
                 name: qa
                 description: Use for qa work
                 model: sonnet
                 tools: Read, Grep
                 color: blue
                 ---
                -Test things.
                +Test things well.

            Plan: 0 to add, 1 to change, 0 to destroy.
            Apply complete! Agents: 0 added, 1 changed, 0 destroyed.
            ",
        )
        .success();
    assert!(
        ran.read(".claude/agents/qa.md")
            .ends_with("Test things well.\n")
    );
}

#[test]
fn a_hand_edit_is_a_conflict_that_stops_everything_before_any_write() {
    let ran = Test::new()
        .manifest(&two())
        .args(&["apply", "-y"])
        .stdout(TWO_APPLIED)
        .success();
    std::fs::write(ran.path(".claude/agents/alpha.md"), "hand edit\n").unwrap();
    let ran = ran
        .then()
        .manifest(&inline_manifest(&[
            ("alpha", "Alpha v2."),
            ("beta", "Beta v2."),
        ]))
        .args(&["apply", "-y"])
        .stdout(
            "
            mpm will make these changes in `.claude`:

              ~ beta                       agents/beta.md

                --- agents/beta.md (on disk)
                +++ agents/beta.md (after apply)
                @@ -3,4 +3,4 @@
                 name: beta
                 description: Use for beta work
                 ---
                -Do beta.
                +Beta v2.

            Conflicts (apply stops here, before any write):
              ! agents/alpha.md  was edited outside mpm since mpm wrote it
                  keep the edit: put it in the agent's source; drop it: `mpm apply --force` (the edited file is kept for `mpm rollback`)

            Plan: 0 to add, 1 to change, 0 to destroy.
            ",
        )
        .stderr(
            "
            error: 1 conflict stops the apply; nothing was changed
            hint: each conflict above says what to do; `mpm apply --force` overwrites changes made outside mpm (kept for `mpm rollback`)
            ",
        )
        .failure();
    // beta was not updated either: the conflict stopped the whole apply
    assert!(ran.read(".claude/agents/beta.md").ends_with("Do beta.\n"));
    let ran = ran
        .then()
        .args(&["apply", "-y", "--force"])
        .stdout(
            "
            mpm will make these changes in `.claude`:

              ~ alpha                      agents/alpha.md  (overwrites a change made outside mpm; kept for rollback)
              ~ beta                       agents/beta.md

                --- agents/alpha.md (on disk)
                +++ agents/alpha.md (after apply)
                @@ -1 +1,6 @@
                -hand edit
                +---
                +# managed by mpm: alpha (inline); edit mpm.yaml, not this file
                +name: alpha
                +description: Use for alpha work
                +---
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
            Apply complete! Agents: 0 added, 2 changed, 0 destroyed.
            ",
        )
        .success();
    assert!(ran.read(".claude/agents/alpha.md").ends_with("Alpha v2.\n"));
}

#[test]
fn a_users_own_agent_is_never_touched() {
    let t = Test::new().manifest(&two()).write(
        ".claude/agents/mine.md",
        "---\nname: mine\ndescription: my own\n---\nMine.\n",
    );
    let ran = t.args(&["apply", "-y"]).stdout(TWO_APPLIED).success();
    assert_eq!(
        ran.read(".claude/agents/mine.md"),
        "---\nname: mine\ndescription: my own\n---\nMine.\n"
    );
    // all agents leave the manifest: mpm deletes its own files, never the user's
    let ran = ran
        .then()
        .manifest("version: 1\nagents: {}\n")
        .args(&["apply", "-y"])
        .stdout(
            "
            mpm will make these changes in `.claude`:

              - alpha                      agents/alpha.md
              - beta                       agents/beta.md

            Plan: 0 to add, 0 to change, 2 to destroy.
            Apply complete! Agents: 0 added, 0 changed, 2 destroyed.
            ",
        )
        .success();
    assert!(!ran.exists(".claude/agents/alpha.md") && !ran.exists(".claude/agents/beta.md"));
    assert_eq!(
        ran.read(".claude/agents/mine.md"),
        "---\nname: mine\ndescription: my own\n---\nMine.\n"
    );
    // not even --force touches it
    ran.then()
        .args(&["apply", "-y", "--force"])
        .stdout("No changes. The agents in `.claude` match `mpm.yaml`.\n")
        .success();
    assert!(ran.exists(".claude/agents/mine.md"));
}

#[test]
fn a_users_file_where_an_agent_goes_is_a_conflict_until_adopted() {
    let t = Test::new().manifest(&two()).write(
        ".claude/agents/alpha.md",
        "---\nname: alpha\ndescription: theirs\n---\nTheirs.\n",
    );
    let ran = t
        .args(&["apply", "-y"])
        .stdout(
            "
            mpm will make these changes in `.claude`:

              + beta                       agents/beta.md

            Conflicts (apply stops here, before any write):
              ! agents/alpha.md  exists, and mpm did not write it
                  `mpm apply --adopt` takes it over (its bytes are kept for `mpm rollback`); or move it away

            Plan: 1 to add, 0 to change, 0 to destroy.
            ",
        )
        .stderr(
            "
            error: 1 conflict stops the apply; nothing was changed
            hint: each conflict above says what to do; `mpm apply --force` overwrites changes made outside mpm (kept for `mpm rollback`)
            ",
        )
        .failure();
    let ran = ran
        .then()
        .args(&["apply", "-y", "--adopt"])
        .stdout(
            "
            mpm will make these changes in `.claude`:

              ~ alpha                      agents/alpha.md  (adopted: the file mpm did not write is kept for rollback)
              + beta                       agents/beta.md

                --- agents/alpha.md (on disk)
                +++ agents/alpha.md (after apply)
                @@ -1,5 +1,6 @@
                 ---
                +# managed by mpm: alpha (inline); edit mpm.yaml, not this file
                 name: alpha
                -description: theirs
                +description: Use for alpha work
                 ---
                -Theirs.
                +Do alpha.

            Plan: 1 to add, 1 to change, 0 to destroy.
            Apply complete! Agents: 1 added, 1 changed, 0 destroyed.
            ",
        )
        .success();
    assert!(ran.read(".claude/agents/alpha.md").ends_with("Do alpha.\n"));
    // rollback gives the user's bytes back
    ran.then()
        .args(&["rollback", "-y"])
        .stdout(
            "
            Rolling back to the state before generation 1.

            mpm will make these changes in `.claude`:

              ~ alpha                      agents/alpha.md
              - beta                       agents/beta.md

                --- agents/alpha.md (on disk)
                +++ agents/alpha.md (after apply)
                @@ -1,6 +1,5 @@
                 ---
                -# managed by mpm: alpha (inline); edit mpm.yaml, not this file
                 name: alpha
                -description: Use for alpha work
                +description: theirs
                 ---
                -Do alpha.
                +Theirs.

            Plan: 0 to add, 1 to change, 1 to destroy.
            Rollback complete! Agents: 0 added, 1 changed, 1 destroyed.
            ",
        )
        .success();
    assert_eq!(
        ran.read(".claude/agents/alpha.md"),
        "---\nname: alpha\ndescription: theirs\n---\nTheirs.\n"
    );
    assert!(!ran.exists(".claude/agents/beta.md"));
}

#[test]
fn a_file_already_matching_is_recorded_without_a_write() {
    let first = Test::new()
        .manifest(&two())
        .args(&["apply", "-y"])
        .stdout(TWO_APPLIED)
        .success();
    let bytes = first.bytes(".claude/agents/alpha.md");
    let t = Test::new().manifest(&two());
    std::fs::create_dir_all(t.path(".claude/agents")).unwrap();
    std::fs::write(t.path(".claude/agents/alpha.md"), &bytes).unwrap();
    t.args(&["apply", "-y"])
        .stdout(
            "
            mpm will make these changes in `.claude`:

              + beta                       agents/beta.md

            State only (no file is written):
              agents/alpha.md already holds what mpm would write: recorded as mpm's

            Plan: 1 to add, 0 to change, 0 to destroy.
            Apply complete! Agents: 1 added, 0 changed, 0 destroyed.
            ",
        )
        .success();
}

#[test]
fn removed_but_edited_is_a_conflict() {
    let ran = Test::new()
        .manifest(&two())
        .args(&["apply", "-y"])
        .stdout(TWO_APPLIED)
        .success();
    std::fs::write(ran.path(".claude/agents/beta.md"), "edited\n").unwrap();
    let ran = ran
        .then()
        .manifest(&inline_manifest(&[("alpha", "Do alpha.")]))
        .args(&["apply", "-y"])
        .stdout(
            "
            Conflicts (apply stops here, before any write):
              ! agents/beta.md  is no longer in the manifest, but was edited since mpm wrote it
                  keep it: move it out of the way; delete it: `mpm apply --force` (kept for `mpm rollback`)

            Plan: 0 to add, 0 to change, 0 to destroy.
            ",
        )
        .stderr(
            "
            error: 1 conflict stops the apply; nothing was changed
            hint: each conflict above says what to do; `mpm apply --force` overwrites changes made outside mpm (kept for `mpm rollback`)
            ",
        )
        .failure();
    ran.then()
        .args(&["apply", "-y", "--force"])
        .stdout(
            "
            mpm will make these changes in `.claude`:

              - beta                       agents/beta.md  (overwrites a change made outside mpm; kept for rollback)

            Plan: 0 to add, 0 to change, 1 to destroy.
            Apply complete! Agents: 0 added, 0 changed, 1 destroyed.
            ",
        )
        .success();
    assert!(!ran.exists(".claude/agents/beta.md"));
}

#[test]
fn deleted_outside_mpm_is_written_again_or_forgotten() {
    let ran = Test::new()
        .manifest(&two())
        .args(&["apply", "-y"])
        .stdout(TWO_APPLIED)
        .success();
    std::fs::remove_file(ran.path(".claude/agents/alpha.md")).unwrap();
    std::fs::remove_file(ran.path(".claude/agents/beta.md")).unwrap();
    let ran = ran
        .then()
        .manifest(&inline_manifest(&[("alpha", "Do alpha.")]))
        .args(&["apply", "-y"])
        .stdout(
            "
            mpm will make these changes in `.claude`:

              + alpha                      agents/alpha.md  (was deleted outside mpm)

            Changed outside mpm:
              agents/beta.md was deleted, and is no longer in the manifest: mpm forgets it

            Plan: 1 to add, 0 to change, 0 to destroy.
            Apply complete! Agents: 1 added, 0 changed, 0 destroyed.
            ",
        )
        .success();
    assert!(ran.exists(".claude/agents/alpha.md"));
    ran.then()
        .args(&["plan"])
        .stdout("No changes. The agents in `.claude` match `mpm.yaml`.\n")
        .success();
}

#[test]
fn disabled_and_protected_agents() {
    let ran = Test::new()
        .manifest(&two())
        .args(&["apply", "-y"])
        .stdout(TWO_APPLIED)
        .success();
    let m = two().replace(
        "    prompt: \"Do beta.\"\n",
        "    prompt: \"Do beta.\"\n    enabled: false\n",
    );
    let ran = ran
        .then()
        .manifest(&m)
        .args(&["apply", "-y"])
        .stdout(
            "
            mpm will make these changes in `.claude`:

              - beta                       agents/beta.md

            Plan: 0 to add, 0 to change, 1 to destroy.
            Apply complete! Agents: 0 added, 0 changed, 1 destroyed.
            ",
        )
        .success();
    assert!(!ran.exists(".claude/agents/beta.md"));
    let ran = ran
        .then()
        .manifest(&two().replace(
            "    prompt: \"Do beta.\"\n",
            "    prompt: \"Do beta.\"\n    protect: true\n",
        ))
        .args(&["apply", "-y"])
        .stdout(
            "
            mpm will make these changes in `.claude`:

              + beta                       agents/beta.md

            Plan: 1 to add, 0 to change, 0 to destroy.
            Apply complete! Agents: 1 added, 0 changed, 0 destroyed.
            ",
        )
        .success();
    ran.then()
        .manifest(&inline_manifest(&[("alpha", "Do alpha.")]))
        .args(&["apply", "-y", "--force"])
        .stdout(
            "
            Conflicts (apply stops here, before any write):
              ! agents/beta.md  agent `beta` is protected, and this plan would delete it
                  to delete it, first set `protect: false` and apply, then remove it

            Plan: 0 to add, 0 to change, 0 to destroy.
            ",
        )
        .stderr(
            "
            error: 1 conflict stops the apply; nothing was changed
            hint: each conflict above says what to do; `--force` never writes through a directory or link, nor over a settings file that is not JSON, nor deletes a protected agent
            ",
        )
        .failure();
}

#[test]
fn without_a_terminal_apply_asks_for_yes() {
    Test::new()
        .manifest(&two())
        .args(&["apply"])
        .stderr(
            "
            error: refusing to apply these changes without confirmation: standard input is not a terminal
            hint: pass `--yes` (`-y`), or save a plan with `mpm plan --out FILE` and run `mpm apply FILE`
            ",
        )
        .stdout(TWO_PLANNED)
        .status(1);
}

#[test]
fn a_yes_piped_into_apply_is_not_a_confirmation() {
    // `yes | mpm apply` must not approve a plan nobody saw: only a terminal answers
    Test::new()
        .manifest(&two())
        .args(&["apply"])
        .stdin("yes\n")
        .stdout(TWO_PLANNED)
        .stderr(
            "
            error: refusing to apply these changes without confirmation: standard input is not a terminal
            hint: pass `--yes` (`-y`), or save a plan with `mpm plan --out FILE` and run `mpm apply FILE`
            ",
        )
        .failure();
}

#[test]
fn dry_run_changes_nothing() {
    let t = Test::new().manifest(&two());
    let ran = t
        .args(&["apply", "--dry-run"])
        .stderr("Dry run: nothing was changed (the apply would write 2 files).\n")
        .stdout(TWO_PLANNED)
        .success();
    assert!(!ran.exists(".claude"));
}

#[test]
fn user_target_from_claude_config_dir_and_target_override() {
    let ran = Test::new()
        .manifest(&format!("{}target: user\n", two()))
        .env("CLAUDE_CONFIG_DIR", "cfg")
        .args(&["apply", "-y"])
        .stdout(
            "
            mpm will make these changes in `cfg`:

              + alpha                      agents/alpha.md
              + beta                       agents/beta.md

            Plan: 2 to add, 0 to change, 0 to destroy.
            Apply complete! Agents: 2 added, 0 changed, 0 destroyed.
            ",
        )
        .success();
    assert!(ran.exists("cfg/agents/alpha.md"));
    let ran = ran
        .then()
        .args(&["apply", "-y"])
        .stdout(
            "
            mpm will make these changes in `home/.claude`:

              + alpha                      agents/alpha.md
              + beta                       agents/beta.md

            Plan: 2 to add, 0 to change, 0 to destroy.
            Apply complete! Agents: 2 added, 0 changed, 0 destroyed.
            ",
        )
        .success(); // HOME/.claude without CLAUDE_CONFIG_DIR
    assert!(ran.exists("home/.claude/agents/alpha.md"));
    let ran = ran
        .then()
        .args(&["apply", "-y", "--target", "elsewhere"])
        .stdout(
            "
            mpm will make these changes in `elsewhere`:

              + alpha                      agents/alpha.md
              + beta                       agents/beta.md

            Plan: 2 to add, 0 to change, 0 to destroy.
            Apply complete! Agents: 2 added, 0 changed, 0 destroyed.
            ",
        )
        .success();
    assert!(ran.exists("elsewhere/agents/beta.md"));
}

#[test]
fn manifest_is_found_in_a_parent_directory() {
    let ran = Test::new()
        .manifest(&two())
        .current_dir("sub/dir")
        .args(&["apply", "-y"])
        .stdout(
            "
            mpm will make these changes in `../../.claude`:

              + alpha                      agents/alpha.md
              + beta                       agents/beta.md

            Plan: 2 to add, 0 to change, 0 to destroy.
            Apply complete! Agents: 2 added, 0 changed, 0 destroyed.
            ",
        )
        .success();
    assert!(ran.exists(".claude/agents/alpha.md"));
    ran.then()
        .args(&["-m", "mpm.yaml", "plan"])
        .stdout("No changes. The agents in `.claude` match `mpm.yaml`.\n")
        .success();
}

#[test]
fn template_agents_merge_base_file_and_base_template() {
    let ran = Test::new()
        .template("eng", "1.0.0", "Engineer rules.")
        .write("BASE_ENGINEER.md", "Base for engineers.")
        .write("templates/base_agent.json", r#"{"narrative_fields": {"instructions": "Shared rules."}}"#)
        .manifest("version: 1\ndefaults:\n  base: templates/base_agent.json\n  model: opus\nagents:\n  eng:\n    template: templates/eng.json\n    tools: [Read]\n")
        .args(&["apply", "-y"])
        .stdout(
            "
            mpm will make these changes in `.claude`:

              + eng       1.0.0            agents/eng.md

            Plan: 1 to add, 0 to change, 0 to destroy.
            Apply complete! Agents: 1 added, 0 changed, 0 destroyed.
            ",
        )
        .success();
    assert_eq!(
        ran.read(".claude/agents/eng.md"),
        "---\n# managed by mpm: eng 1.0.0 from templates/eng.json; edit mpm.yaml, not this file\nname: eng\ndescription: Use for eng work\nmodel: opus\ntools: Read\ncolor: blue\n---\nBase for engineers.\n\n---\n\nShared rules.\n\n---\n\nEngineer rules.\n"
    );
}

#[test]
fn ready_files_are_copied_byte_for_byte() {
    let text = "---\nname: notes\ndescription: \"Notes: keep them\"\ntools: [Read]\n---\nBody\r\nwith CRLF\n";
    let t = Test::new().manifest("version: 1\nagents:\n  notes:\n    file: agents/notes.md\n");
    std::fs::create_dir_all(t.path("agents")).unwrap();
    std::fs::write(t.path("agents/notes.md"), text).unwrap();
    let ran = t
        .args(&["apply", "-y"])
        .stdout(
            "
            mpm will make these changes in `.claude`:

              + notes                      agents/notes.md

            Plan: 1 to add, 0 to change, 0 to destroy.
            Apply complete! Agents: 1 added, 0 changed, 0 destroyed.
            ",
        )
        .success();
    assert_eq!(ran.read(".claude/agents/notes.md"), text);
}

#[test]
fn status_and_verify() {
    let ran = Test::new()
        .manifest(&two())
        .args(&["verify"])
        .stderr("2 paths are out of sync with `mpm.yaml`; `mpm plan` shows what apply would do\n")
        .status(1);
    ran.then()
        .args(&["apply", "-y"])
        .stdout(TWO_APPLIED)
        .success();
    ran.then().args(&["verify"]).stdout("").stderr("").success();
    ran.then().args(&["status"]).stdout("").success();
    std::fs::write(ran.path(".claude/agents/alpha.md"), "edit\n").unwrap();
    std::fs::remove_file(ran.path(".claude/agents/beta.md")).unwrap();
    ran.then()
        .manifest(&inline_manifest(&[
            ("alpha", "Do alpha."),
            ("beta", "Do beta."),
            ("gamma", "g"),
        ]))
        .args(&["status"])
        .stdout("M! agents/alpha.md\nDA agents/beta.md\n A agents/gamma.md\n")
        .success();
    ran.then()
        .args(&["verify"])
        .stderr("3 paths are out of sync with `mpm.yaml`; `mpm plan` shows what apply would do\n")
        .status(1);
}

#[test]
fn another_file_declaring_an_agents_name_is_a_conflict() {
    let t = Test::new().manifest(&two()).write(
        ".claude/agents/old/alpha-copy.md",
        "---\nname: alpha\ndescription: mine\n---\nMine.\n",
    );
    let ran = t
        .args(&["apply", "-y"])
        .stdout(
            "
            mpm will make these changes in `.claude`:

              + alpha                      agents/alpha.md
              + beta                       agents/beta.md

            Conflicts (apply stops here, before any write):
              ! agents/old/alpha-copy.md  also names itself `alpha`, an agent mpm writes: Claude Code would load only one
                  `mpm apply --adopt` removes it (its bytes are kept for `mpm rollback`); or rename one of the agents

            Plan: 2 to add, 0 to change, 0 to destroy.
            ",
        )
        .stderr(
            "
            error: 1 conflict stops the apply; nothing was changed
            hint: each conflict above says what to do; `mpm apply --force` overwrites changes made outside mpm (kept for `mpm rollback`)
            ",
        )
        .failure();
    let ran = ran
        .then()
        .args(&["apply", "-y", "--adopt"])
        .stdout(
            "
            mpm will make these changes in `.claude`:

              + alpha                      agents/alpha.md
              + beta                       agents/beta.md
              - alpha                      agents/old/alpha-copy.md  (adopted: the file mpm did not write is kept for rollback)

            Plan: 2 to add, 0 to change, 1 to destroy.
            Apply complete! Agents: 2 added, 0 changed, 1 destroyed.
            ",
        )
        .success();
    assert!(!ran.exists(".claude/agents/old/alpha-copy.md"));
    ran.then()
        .args(&["rollback", "-y"])
        .stdout(
            "
            Rolling back to the state before generation 1.

            mpm will make these changes in `.claude`:

              - alpha                      agents/alpha.md
              - beta                       agents/beta.md
              + alpha                      agents/old/alpha-copy.md

            Plan: 1 to add, 0 to change, 2 to destroy.
            Rollback complete! Agents: 1 added, 0 changed, 2 destroyed.
            ",
        )
        .success();
    assert_eq!(
        ran.read(".claude/agents/old/alpha-copy.md"),
        "---\nname: alpha\ndescription: mine\n---\nMine.\n"
    );
}

#[test]
fn directories_are_0755_whatever_the_umask() {
    let t = Test::new().manifest(&two());
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("umask 077 && {} apply -y", crate::harness::BIN))
        .current_dir(t.path(""))
        .env("HOME", t.path("home"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for dir in [".claude", ".claude/agents", ".claude/.mpm"] {
        assert_eq!(
            std::fs::metadata(t.path(dir)).unwrap().mode() & 0o777,
            0o755,
            "{dir}"
        );
    }
    assert_eq!(
        std::fs::metadata(t.path(".claude/agents/alpha.md"))
            .unwrap()
            .mode()
            & 0o777,
        0o644
    );
}

#[test]
fn an_agent_named_like_a_built_in_is_a_warning() {
    Test::new()
        .manifest(&inline_manifest(&[("general-purpose", "x")]))
        .args(&["plan"])
        .stderr(
            "warning: agent `general-purpose` replaces Claude Code's built-in agent of that name\n",
        )
        .stdout(
            "
            mpm will make these changes in `.claude`:

              + general-purpose                   agents/general-purpose.md

            Plan: 1 to add, 0 to change, 0 to destroy.
            ",
        )
        .success();
}

#[test]
fn an_apply_whose_plan_is_lost_to_a_full_disk_applies_nothing() {
    // the plan could not be written: `-y` consents to a plan that was shown
    let ran = Test::new()
        .manifest(&two())
        .args(&["apply", "-y"])
        .stdout_file(full_disk())
        .stderr(
            "
            error: refusing to apply these changes: the plan could not be shown in full; nothing was changed
            hint: make room for the output (or send it elsewhere) and run the command again
            error: cannot write to standard output: No space left on device (os error 28)
            ",
        )
        .failure();
    assert!(!ran.exists(".claude"));
}
