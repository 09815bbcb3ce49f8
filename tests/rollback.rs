//! rollback: byte for byte, forward-only history, `--to N`, conflicts, prune.

use crate::harness::{Test, inline_manifest, unindent};

/// What `mpm plan` shows for `alpha` alone on an empty target.
const ALPHA_PLANNED: &str = "
    mpm will make these changes in `.claude`:

      + alpha                      agents/alpha.md

    Plan: 1 to add, 0 to change, 0 to destroy.
    ";

/// What `mpm apply -y` prints for `alpha` alone on an empty target.
const ALPHA_APPLIED: &str = "
    mpm will make these changes in `.claude`:

      + alpha                      agents/alpha.md

    Plan: 1 to add, 0 to change, 0 to destroy.
    Apply complete! Agents: 1 added, 0 changed, 0 destroyed.
    ";

/// The plan that takes inline agent `alpha`'s prompt from `from` to `to`.
fn alpha_plan(from: &str, to: &str) -> String {
    unindent(&format!(
        "
        mpm will make these changes in `.claude`:

          ~ alpha                      agents/alpha.md

            --- agents/alpha.md (on disk)
            +++ agents/alpha.md (after apply)
            @@ -3,4 +3,4 @@
             name: alpha
             description: Use for alpha work
             ---
            -{from}
            +{to}

        Plan: 0 to add, 1 to change, 0 to destroy.
        "
    ))
}

/// What `mpm apply -y` prints when it takes `alpha` from `from` to `to`.
fn alpha_applied(from: &str, to: &str) -> String {
    alpha_plan(from, to) + "Apply complete! Agents: 0 added, 1 changed, 0 destroyed.\n"
}

/// What `mpm rollback -y` prints when undoing `generation` takes `alpha` from
/// `from` back to `to`.
fn alpha_rolled_back(generation: u32, from: &str, to: &str) -> String {
    format!(
        "Rolling back to the state before generation {generation}.\n\n{}Rollback complete! Agents: 0 added, 1 changed, 0 destroyed.\n",
        alpha_plan(from, to)
    )
}

#[test]
fn rollback_restores_every_path_byte_for_byte_including_forced_hand_edits() {
    let ran = Test::new()
        .manifest(&inline_manifest(&[("alpha", "v1"), ("beta", "v1")]))
        .args(&["apply", "-y"])
        .stdout(
            "
            mpm will make these changes in `.claude`:

              + alpha                      agents/alpha.md
              + beta                       agents/beta.md

            Plan: 2 to add, 0 to change, 0 to destroy.
            Apply complete! Agents: 2 added, 0 changed, 0 destroyed.
            ",
        )
        .success();
    let g1_alpha = ran.bytes(".claude/agents/alpha.md");
    // a hand edit, overwritten with --force by generation 2, which also adds gamma
    let hand = b"---\nname: alpha\ndescription: hand\n---\nhand edit \xe2\x9c\x93 no newline";
    std::fs::write(ran.path(".claude/agents/alpha.md"), hand).unwrap();
    ran.then()
        .manifest(&inline_manifest(&[("alpha", "v2"), ("gamma", "v2")]))
        .args(&["apply", "-y", "--force"])
        .stdout(
            "
            mpm will make these changes in `.claude`:

              ~ alpha                      agents/alpha.md  (overwrites a change made outside mpm; kept for rollback)
              - beta                       agents/beta.md
              + gamma                      agents/gamma.md

                --- agents/alpha.md (on disk)
                +++ agents/alpha.md (after apply)
                @@ -1,5 +1,6 @@
                 ---
                +# managed by mpm: alpha (inline); edit mpm.yaml, not this file
                 name: alpha
                -description: hand
                +description: Use for alpha work
                 ---
                -hand edit ✓ no newline
                \\ No newline at end of file
                +v2

            Plan: 1 to add, 1 to change, 1 to destroy.
            Apply complete! Agents: 1 added, 1 changed, 1 destroyed.
            ",
        )
        .success();
    let ran = ran
        .then()
        .args(&["rollback", "-y"])
        .stdout(
            "
            Rolling back to the state before generation 2.

            mpm will make these changes in `.claude`:

              ~ alpha                      agents/alpha.md
              + beta                       agents/beta.md
              - gamma                      agents/gamma.md

                --- agents/alpha.md (on disk)
                +++ agents/alpha.md (after apply)
                @@ -1,6 +1,5 @@
                 ---
                -# managed by mpm: alpha (inline); edit mpm.yaml, not this file
                 name: alpha
                -description: Use for alpha work
                +description: hand
                 ---
                -v2
                +hand edit ✓ no newline
                \\ No newline at end of file

            Plan: 1 to add, 1 to change, 1 to destroy.
            Rollback complete! Agents: 1 added, 1 changed, 1 destroyed.
            ",
        )
        .success();
    assert_eq!(ran.bytes(".claude/agents/alpha.md"), hand);
    assert!(ran.read(".claude/agents/beta.md").ends_with("v1\n"));
    assert!(!ran.exists(".claude/agents/gamma.md"));
    // history only moves forward: the rollback is generation 3
    ran.then()
        .args(&["history"])
        .stdout(
            "
                1  [TIME]  apply          +2 ~0 -0  mpm apply -y
                2  [TIME]  apply          +1 ~1 -1  mpm apply -y --force
            *   3  [TIME]  rollback to 1  +1 ~1 -1  mpm rollback -y
            ",
        )
        .success();
    // the hand edit is back, and so is mpm's record that it was edited: going to the
    // state right after generation 1 would overwrite it, so that needs --force again
    ran.then()
        .args(&["rollback", "--to", "1", "-y"])
        .stdout(
            "
            Rolling back to the state right after generation 1.

            Conflicts (apply stops here, before any write):
              ! agents/alpha.md  was edited outside mpm since mpm wrote it
                  keep the edit: put it in the agent's source; drop it: `mpm apply --force` (the edited file is kept for `mpm rollback`)

            Plan: 0 to add, 0 to change, 0 to destroy.
            ",
        )
        .stderr(
            "
            error: 1 conflict stops the rollback; nothing was changed
            hint: each conflict above says what to do; `mpm rollback --force` overwrites changes made outside mpm (kept for `mpm rollback`)
            ",
        )
        .failure();
    ran.then()
        .args(&["rollback", "--to", "1", "-y", "--force"])
        .stdout(
            "
            Rolling back to the state right after generation 1.

            mpm will make these changes in `.claude`:

              ~ alpha                      agents/alpha.md  (overwrites a change made outside mpm; kept for rollback)

                --- agents/alpha.md (on disk)
                +++ agents/alpha.md (after apply)
                @@ -1,5 +1,6 @@
                 ---
                +# managed by mpm: alpha (inline); edit mpm.yaml, not this file
                 name: alpha
                -description: hand
                +description: Use for alpha work
                 ---
                -hand edit ✓ no newline
                \\ No newline at end of file
                +v1

            Plan: 0 to add, 1 to change, 0 to destroy.
            Rollback complete! Agents: 0 added, 1 changed, 0 destroyed.
            ",
        )
        .success();
    assert_eq!(ran.bytes(".claude/agents/alpha.md"), g1_alpha);
    // undoing the rollback brings the hand edit back again
    ran.then()
        .args(&["rollback", "-y"])
        .stdout(
            "
            Rolling back to the state before generation 4.

            mpm will make these changes in `.claude`:

              ~ alpha                      agents/alpha.md

                --- agents/alpha.md (on disk)
                +++ agents/alpha.md (after apply)
                @@ -1,6 +1,5 @@
                 ---
                -# managed by mpm: alpha (inline); edit mpm.yaml, not this file
                 name: alpha
                -description: Use for alpha work
                +description: hand
                 ---
                -v1
                +hand edit ✓ no newline
                \\ No newline at end of file

            Plan: 0 to add, 1 to change, 0 to destroy.
            Rollback complete! Agents: 0 added, 1 changed, 0 destroyed.
            ",
        )
        .success();
    assert_eq!(ran.bytes(".claude/agents/alpha.md"), hand);
}

#[test]
fn rollback_to_zero_removes_what_mpm_created_and_keeps_users_files() {
    let t = Test::new()
        .manifest(&inline_manifest(&[("alpha", "v1")]))
        .write(".claude/agents/mine.md", "mine\n");
    let ran = t.args(&["apply", "-y"]).stdout(ALPHA_APPLIED).success();
    ran.then()
        .args(&["rollback", "--to", "0", "-y"])
        .stdout(
            "
            Rolling back to the state before the first generation.

            mpm will make these changes in `.claude`:

              - alpha                      agents/alpha.md

            Plan: 0 to add, 0 to change, 1 to destroy.
            Rollback complete! Agents: 0 added, 0 changed, 1 destroyed.
            ",
        )
        .success();
    assert!(!ran.exists(".claude/agents/alpha.md"));
    assert_eq!(ran.read(".claude/agents/mine.md"), "mine\n");
    ran.then().args(&["plan"]).stdout(ALPHA_PLANNED).success();
}

#[test]
fn rollback_stops_on_a_file_edited_since() {
    let ran = Test::new()
        .manifest(&inline_manifest(&[("alpha", "v1")]))
        .args(&["apply", "-y"])
        .stdout(ALPHA_APPLIED)
        .success();
    ran.then()
        .manifest(&inline_manifest(&[("alpha", "v2")]))
        .args(&["apply", "-y"])
        .stdout(&alpha_applied("v1", "v2"))
        .success();
    std::fs::write(ran.path(".claude/agents/alpha.md"), "edited after v2").unwrap();
    ran.then()
        .args(&["rollback", "-y"])
        .stdout(
            "
            Rolling back to the state before generation 2.

            Conflicts (apply stops here, before any write):
              ! agents/alpha.md  was edited outside mpm since mpm wrote it
                  keep the edit: put it in the agent's source; drop it: `mpm apply --force` (the edited file is kept for `mpm rollback`)

            Plan: 0 to add, 0 to change, 0 to destroy.
            ",
        )
        .stderr(
            "
            error: 1 conflict stops the rollback; nothing was changed
            hint: each conflict above says what to do; `mpm rollback --force` overwrites changes made outside mpm (kept for `mpm rollback`)
            ",
        )
        .failure();
    // a dry run reports the same conflict
    ran.then()
        .args(&["rollback", "--dry-run"])
        .stdout(
            "
            Rolling back to the state before generation 2.

            Conflicts (apply stops here, before any write):
              ! agents/alpha.md  was edited outside mpm since mpm wrote it
                  keep the edit: put it in the agent's source; drop it: `mpm apply --force` (the edited file is kept for `mpm rollback`)

            Plan: 0 to add, 0 to change, 0 to destroy.
            ",
        )
        .stderr(
            "
            error: 1 conflict stops the rollback; nothing was changed
            hint: each conflict above says what to do; `mpm rollback --force` overwrites changes made outside mpm (kept for `mpm rollback`)
            ",
        )
        .failure();
    ran.then()
        .args(&["rollback", "-y", "--force"])
        .stdout(
            "
            Rolling back to the state before generation 2.

            mpm will make these changes in `.claude`:

              ~ alpha                      agents/alpha.md  (overwrites a change made outside mpm; kept for rollback)

                --- agents/alpha.md (on disk)
                +++ agents/alpha.md (after apply)
                @@ -1 +1,6 @@
                -edited after v2
                \\ No newline at end of file
                +---
                +# managed by mpm: alpha (inline); edit mpm.yaml, not this file
                +name: alpha
                +description: Use for alpha work
                +---
                +v1

            Plan: 0 to add, 1 to change, 0 to destroy.
            Rollback complete! Agents: 0 added, 1 changed, 0 destroyed.
            ",
        )
        .success();
    assert!(ran.read(".claude/agents/alpha.md").ends_with("v1\n"));
}

#[test]
fn rollback_with_nothing_to_roll_back() {
    Test::new()
        .manifest(&inline_manifest(&[("alpha", "v1")]))
        .args(&["rollback", "-y"])
        .stderr(
            "
            error: nothing to roll back: no generation was applied to `.claude`
            ",
        )
        .failure();
}

#[test]
fn dry_run_shows_the_plan_only() {
    let ran = Test::new()
        .manifest(&inline_manifest(&[("alpha", "v1")]))
        .args(&["apply", "-y"])
        .stdout(ALPHA_APPLIED)
        .success();
    ran.then()
        .manifest(&inline_manifest(&[("alpha", "v2")]))
        .args(&["apply", "-y"])
        .stdout(&alpha_applied("v1", "v2"))
        .success();
    let before = ran.tree();
    ran.then()
        .args(&["rollback", "--dry-run"])
        .stderr("Dry run: nothing was changed (the apply would write 1 file).\n")
        .stdout(
            "
            Rolling back to the state before generation 2.

            mpm will make these changes in `.claude`:

              ~ alpha                      agents/alpha.md

                --- agents/alpha.md (on disk)
                +++ agents/alpha.md (after apply)
                @@ -3,4 +3,4 @@
                 name: alpha
                 description: Use for alpha work
                 ---
                -v2
                +v1

            Plan: 0 to add, 1 to change, 0 to destroy.
            ",
        )
        .success();
    crate::harness::assert_same_tree(&before, &ran.tree());
}

#[test]
fn prune_keeps_the_newest_generations_and_what_they_need() {
    let ran = Test::new()
        .manifest(&inline_manifest(&[("alpha", "v1")]))
        .args(&["apply", "-y"])
        .stdout(ALPHA_APPLIED)
        .success();
    for v in 2..=5 {
        ran.then()
            .manifest(&inline_manifest(&[("alpha", &format!("v{v}"))]))
            .args(&["apply", "-y"])
            .stdout(&alpha_applied(&format!("v{}", v - 1), &format!("v{v}")))
            .success();
    }
    // two file versions, and the change lists and entries of the dropped
    // generations but one (the entries before the oldest kept one stay)
    ran.then()
        .args(&["history", "prune", "--keep", "2"])
        .stdout("Pruned 3 generation(s) and 7 blob(s).\n")
        .success();
    ran.then()
        .args(&["history"])
        .stdout(
            "
                4  [TIME]  apply          +0 ~1 -0  mpm apply -y
            *   5  [TIME]  apply          +0 ~1 -0  mpm apply -y
            ",
        )
        .success();
    // the kept generations still roll back byte for byte
    ran.then()
        .args(&["rollback", "-y"])
        .stdout(&alpha_rolled_back(5, "v5", "v4"))
        .success();
    assert!(ran.read(".claude/agents/alpha.md").ends_with("v4\n"));
    ran.then()
        .args(&["rollback", "--to", "2", "-y"])
        .stderr(
            "
            error: generation 2 was pruned: the oldest kept is 4
            hint: `mpm history` lists the generations there are
            ",
        )
        .failure();
}

#[test]
fn generations_record_the_manifests_git_commit_and_dirty_flag() {
    let ran = Test::new()
        .manifest(&inline_manifest(&[("alpha", "v1")]))
        .args(&["plan"])
        .stdout(ALPHA_PLANNED)
        .success();
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(ran.path(""))
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@e")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@e")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    std::fs::write(ran.path(".gitignore"), ".claude/\nhome/\n").unwrap();
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-qm", "agents"]);
    let head = git(&["rev-parse", "HEAD"]);
    ran.then()
        .args(&["apply", "-y"])
        .stdout(ALPHA_APPLIED)
        .success();
    ran.then()
        .manifest(&inline_manifest(&[("alpha", "v2")]))
        .args(&["apply", "-y"])
        .stdout(&alpha_applied("v1", "v2"))
        .success();
    let commit = &head[..10];
    ran.then()
        .args(&["history"])
        .stdout(&format!(
            "
                1  [TIME]  apply          +1 ~0 -0  git {commit}  mpm apply -y
            *   2  [TIME]  apply          +0 ~1 -0  git {commit}+dirty  mpm apply -y
            "
        ))
        .success();
}

#[test]
fn a_state_log_of_a_newer_format_is_refused() {
    let ran = Test::new()
        .manifest(&inline_manifest(&[("alpha", "v1")]))
        .args(&["apply", "-y"])
        .stdout(ALPHA_APPLIED)
        .success();
    {
        let db = sled::open(ran.path(".claude/.mpm/db")).unwrap();
        db.open_tree("meta").unwrap().insert("format", "4").unwrap();
        db.flush().unwrap();
    }
    ran.then()
        .args(&["plan"])
        .stderr(
            "
            error: the state log `[TMP]/.claude/.mpm` was written by a newer mpm (state format 4; this mpm reads format 3)
            hint: upgrade mpm to the version that wrote this state log
            ",
        )
        .failure();
}

#[test]
fn prune_never_breaks_the_target_and_the_oldest_kept_generation_can_be_undone() {
    let ran = Test::new()
        .manifest(&inline_manifest(&[("alpha", "v1")]))
        .args(&["apply", "-y"])
        .stdout(ALPHA_APPLIED)
        .success();
    for v in 2..=4 {
        ran.then()
            .manifest(&inline_manifest(&[("alpha", &format!("v{v}"))]))
            .args(&["apply", "-y"])
            .stdout(&alpha_applied(&format!("v{}", v - 1), &format!("v{v}")))
            .success();
    }
    ran.then()
        .args(&["history", "prune", "--keep", "0"])
        .stderr(
            "
            error: invalid value '0' for '--keep <N>': 0 is not in 1..18446744073709551615

            For more information, try '--help'.
            ",
        )
        .failure();
    ran.then()
        .args(&["history", "prune", "--keep", "1"])
        .stdout("Pruned 3 generation(s) and 7 blob(s).\n")
        .success();
    ran.then()
        .args(&["plan"])
        .stdout("No changes. The agents in `.claude` match `mpm.yaml`.\n")
        .success();
    // the one generation left can still be undone
    ran.then()
        .args(&["rollback", "-y"])
        .stdout(&alpha_rolled_back(4, "v4", "v3"))
        .success();
    assert!(ran.read(".claude/agents/alpha.md").ends_with("v3\n"));
    ran.then()
        .args(&["rollback", "--to", "1", "-y"])
        .stderr(
            "
            error: generation 1 was pruned: the oldest kept is 4
            hint: `mpm history` lists the generations there are
            ",
        )
        .failure();
}

#[test]
fn a_broken_manifest_does_not_block_a_rollback_given_the_target() {
    let ran = Test::new()
        .manifest(&inline_manifest(&[("alpha", "v1")]))
        .args(&["apply", "-y"])
        .stdout(ALPHA_APPLIED)
        .success();
    ran.then()
        .manifest(&inline_manifest(&[("alpha", "v2")]))
        .args(&["apply", "-y"])
        .stdout(&alpha_applied("v1", "v2"))
        .success();
    std::fs::write(ran.path("mpm.yaml"), "version: 1\nagents: [broken\n").unwrap();
    ran.then()
        .args(&["rollback", "-y"])
        .stderr(
            "
            error: invalid type: sequence, expected a map of agent names to agents in `agents`
             --> mpm.yaml:2:9
              |
            2 | agents: [broken
              |         ^^^^^^^
            hint: pass `--target DIR`: history, rollback and doctor need only the target
            ",
        )
        .failure();
    // its settings cannot be known: said, not silently dropped
    ran.then()
        .args(&["rollback", "-y", "--target", ".claude"])
        .stdout(&alpha_rolled_back(2, "v2", "v1"))
        .stderr("warning: `mpm.yaml` cannot be read, so its settings are not used: invalid type: sequence, expected a map of agent names to agents in `agents`\n")
        .success();
    assert!(ran.read(".claude/agents/alpha.md").ends_with("v1\n"));
}
