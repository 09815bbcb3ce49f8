//! rollback: byte for byte, forward-only history, `--to N`, conflicts, prune.

use crate::harness::{Test, inline_manifest};

#[test]
fn rollback_restores_every_path_byte_for_byte_including_forced_hand_edits() {
    let ran = Test::new()
        .manifest(&inline_manifest(&[("alpha", "v1"), ("beta", "v1")]))
        .args(&["apply", "-y"])
        .success();
    let g1_alpha = ran.bytes(".claude/agents/alpha.md");
    // a hand edit, overwritten with --force by generation 2, which also adds gamma
    let hand = b"---\nname: alpha\ndescription: hand\n---\nhand edit \xe2\x9c\x93 no newline";
    std::fs::write(ran.path(".claude/agents/alpha.md"), hand).unwrap();
    ran.then()
        .manifest(&inline_manifest(&[("alpha", "v2"), ("gamma", "v2")]))
        .args(&["apply", "-y", "--force"])
        .stdout_has("Apply complete! Agents: 1 added, 1 changed, 1 destroyed.")
        .success();
    let ran = ran
        .then()
        .args(&["rollback", "-y"])
        .stdout_has("Rollback complete! Agents: 1 added, 1 changed, 1 destroyed.")
        .success();
    assert_eq!(ran.bytes(".claude/agents/alpha.md"), hand);
    assert!(ran.read(".claude/agents/beta.md").ends_with("v1\n"));
    assert!(!ran.exists(".claude/agents/gamma.md"));
    // history only moves forward: the rollback is generation 3
    let history = ran.then().args(&["history"]).success();
    let lines: Vec<&str> = history.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", history.stdout);
    assert!(
        lines[2].starts_with('*')
            && lines[2].contains("   3  ")
            && lines[2].contains("rollback to 1"),
        "{}",
        history.stdout
    );
    // the hand edit is back, and so is mpm's record that it was edited: going to the
    // state right after generation 1 would overwrite it, so that needs --force again
    ran.then()
        .args(&["rollback", "--to", "1", "-y"])
        .stdout_has("! agents/alpha.md  was edited outside mpm")
        .failure();
    ran.then()
        .args(&["rollback", "--to", "1", "-y", "--force"])
        .success();
    assert_eq!(ran.bytes(".claude/agents/alpha.md"), g1_alpha);
    // undoing the rollback brings the hand edit back again
    ran.then().args(&["rollback", "-y"]).success();
    assert_eq!(ran.bytes(".claude/agents/alpha.md"), hand);
}

#[test]
fn rollback_to_zero_removes_what_mpm_created_and_keeps_users_files() {
    let t = Test::new()
        .manifest(&inline_manifest(&[("alpha", "v1")]))
        .write(".claude/agents/mine.md", "mine\n");
    let ran = t.args(&["apply", "-y"]).success();
    ran.then()
        .args(&["rollback", "--to", "0", "-y"])
        .stdout_has("Rolling back to the state before the first generation.")
        .success();
    assert!(!ran.exists(".claude/agents/alpha.md"));
    assert_eq!(ran.read(".claude/agents/mine.md"), "mine\n");
    ran.then()
        .args(&["plan"])
        .stdout_has("Plan: 1 to add")
        .success();
}

#[test]
fn rollback_stops_on_a_file_edited_since() {
    let ran = Test::new()
        .manifest(&inline_manifest(&[("alpha", "v1")]))
        .args(&["apply", "-y"])
        .success();
    ran.then()
        .manifest(&inline_manifest(&[("alpha", "v2")]))
        .args(&["apply", "-y"])
        .success();
    std::fs::write(ran.path(".claude/agents/alpha.md"), "edited after v2").unwrap();
    ran.then()
        .args(&["rollback", "-y"])
        .stdout_has("! agents/alpha.md  was edited outside mpm since mpm wrote it")
        .stderr_has("error: 1 conflict stops the rollback; nothing was changed")
        .failure();
    // a dry run reports the same conflict
    ran.then()
        .args(&["rollback", "--dry-run"])
        .stderr_has("error: 1 conflict stops the rollback")
        .failure();
    ran.then().args(&["rollback", "-y", "--force"]).success();
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
        .success();
    ran.then()
        .manifest(&inline_manifest(&[("alpha", "v2")]))
        .args(&["apply", "-y"])
        .success();
    let before = ran.tree();
    ran.then()
        .args(&["rollback", "--dry-run"])
        .stdout_has("~ alpha")
        .stderr("Dry run: nothing was changed.\n")
        .success();
    crate::harness::assert_same_tree(&before, &ran.tree());
}

#[test]
fn prune_keeps_the_newest_generations_and_what_they_need() {
    let ran = Test::new()
        .manifest(&inline_manifest(&[("alpha", "v1")]))
        .args(&["apply", "-y"])
        .success();
    for v in 2..=5 {
        ran.then()
            .manifest(&inline_manifest(&[("alpha", &format!("v{v}"))]))
            .args(&["apply", "-y"])
            .success();
    }
    // two file versions, and the change lists and entries of the dropped
    // generations but one (the entries before the oldest kept one stay)
    ran.then()
        .args(&["history", "prune", "--keep", "2"])
        .stdout("Pruned 3 generation(s) and 7 blob(s).\n")
        .success();
    let history = ran.then().args(&["history"]).success();
    assert_eq!(history.stdout.lines().count(), 2);
    // the kept generations still roll back byte for byte
    ran.then().args(&["rollback", "-y"]).success();
    assert!(ran.read(".claude/agents/alpha.md").ends_with("v4\n"));
    ran.then()
        .args(&["rollback", "--to", "2", "-y"])
        .stderr_has("error: generation 2 was pruned: the oldest kept is 4")
        .failure();
}

#[test]
fn generations_record_the_manifests_git_commit_and_dirty_flag() {
    let ran = Test::new()
        .manifest(&inline_manifest(&[("alpha", "v1")]))
        .args(&["plan"])
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
    ran.then().args(&["apply", "-y"]).success();
    ran.then()
        .manifest(&inline_manifest(&[("alpha", "v2")]))
        .args(&["apply", "-y"])
        .success();
    let history = ran.then().args(&["history"]).success();
    let lines: Vec<&str> = history.stdout.lines().collect();
    assert!(
        lines[0].contains(&format!("  git {}  ", &head[..10])),
        "{}",
        history.stdout
    );
    assert!(
        lines[1].contains(&format!("  git {}+dirty  ", &head[..10])),
        "{}",
        history.stdout
    );
}

#[test]
fn a_state_log_of_a_newer_format_is_refused() {
    let ran = Test::new()
        .manifest(&inline_manifest(&[("alpha", "v1")]))
        .args(&["apply", "-y"])
        .success();
    {
        let db = sled::open(ran.path(".claude/.mpm/db")).unwrap();
        db.open_tree("meta").unwrap().insert("format", "3").unwrap();
        db.flush().unwrap();
    }
    ran.then()
        .args(&["plan"])
        .stderr(
            "
            error: the state log `[TMP]/.claude/.mpm` was written by a newer mpm (state format 3; this mpm reads format 2)
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
        .success();
    for v in 2..=4 {
        ran.then()
            .manifest(&inline_manifest(&[("alpha", &format!("v{v}"))]))
            .args(&["apply", "-y"])
            .success();
    }
    ran.then()
        .args(&["history", "prune", "--keep", "0"])
        .stderr_has("error: invalid value '0' for '--keep <N>'")
        .failure();
    ran.then()
        .args(&["history", "prune", "--keep", "1"])
        .success();
    ran.then()
        .args(&["plan"])
        .stdout_has("No changes.")
        .success();
    // the one generation left can still be undone
    ran.then().args(&["rollback", "-y"]).success();
    assert!(ran.read(".claude/agents/alpha.md").ends_with("v3\n"));
    ran.then().args(&["rollback", "--to", "1", "-y"]).stderr("error: generation 1 was pruned: the oldest kept is 4\nhint: `mpm history` lists the generations there are\n").failure();
}

#[test]
fn a_broken_manifest_does_not_block_a_rollback_given_the_target() {
    let ran = Test::new()
        .manifest(&inline_manifest(&[("alpha", "v1")]))
        .args(&["apply", "-y"])
        .success();
    ran.then()
        .manifest(&inline_manifest(&[("alpha", "v2")]))
        .args(&["apply", "-y"])
        .success();
    std::fs::write(ran.path("mpm.yaml"), "version: 1\nagents: [broken\n").unwrap();
    ran.then()
        .args(&["rollback", "-y"])
        .stderr_has(
            "hint: pass `--target DIR`: history and rollback need only the target's state log\n",
        )
        .failure();
    ran.then()
        .args(&["rollback", "-y", "--target", ".claude"])
        .stdout_has("Rollback complete!")
        .success();
    assert!(ran.read(".claude/agents/alpha.md").ends_with("v1\n"));
}
