//! A failed apply changes nothing. With the disk full between file batches, one
//! file made immutable, or `agents/` not writable, an apply stopped with some
//! agents new and some old, and the next plan claimed "a previous apply was
//! interrupted". Now what can be checked is checked before the first write, and a
//! write that fails anyway puts back every file already replaced; `.failure()`
//! checks that the whole tree is as before.
//!
//! The faults are injected with `MPM_FAULT=<step>:<n>` (debug builds): the n-th
//! write, rename, removal, directory creation or directory fsync fails with the
//! error the disk would give. The tests marked `as root` use the real thing:
//! `chattr +i` and a small tmpfs.

use crate::harness::{Ran, Test, inline_manifest};

fn agents(version: &str, n: usize, bytes: usize) -> String {
    let body = "x".repeat(bytes);
    let agents: Vec<(String, String)> = (0..n)
        .map(|i| (format!("agent-{i:02}"), format!("{version} {body}")))
        .collect();
    let refs: Vec<(&str, &str)> = agents
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    inline_manifest(&refs)
}

/// Three agents applied; the manifest changes all three.
fn three_to_change() -> Ran {
    let ran = Test::new()
        .manifest(&agents("v1", 3, 10))
        .args(&["apply", "-y"])
        .stdout_any()
        .success();
    ran.then()
        .manifest(&agents("v2", 3, 10))
        .args(&["plan"])
        .stdout_any()
        .success();
    ran
}

/// The plan stays what it was: no "interrupted" run, no new generation.
fn assert_as_before(ran: &Ran, changed: usize) {
    ran.then()
        .args(&["plan"])
        .stdout_has(&format!(
            "Plan: 0 to add, {changed} to change, 0 to destroy.\n"
        ))
        .success();
    let plan = ran.then().args(&["plan"]).stdout_any().success();
    assert!(!plan.stdout.contains("interrupted"), "{}", plan.stdout);
    let history = ran.then().args(&["history"]).stdout_any().success();
    assert_eq!(history.stdout.lines().count(), 1, "{}", history.stdout);
}

#[test]
fn a_failed_rename_puts_back_every_file_already_replaced() {
    let ran = three_to_change();
    ran.then()
        .args(&["apply", "-y"])
        .env("MPM_FAULT", "rename:3")
        .stdout_has("Plan: 0 to add, 3 to change, 0 to destroy.\n")
        .stderr(
            "
            error: apply failed: failed to replace `[TMP]/.claude/agents/agent-02.md`: Operation not permitted (os error 1); nothing was changed
              caused by: 2 files already replaced were put back
            hint: fix what failed and run `mpm apply` again
            ",
        )
        .failure();
    assert_as_before(&ran, 3);
    // and the next apply, without the fault, goes through
    ran.then()
        .args(&["apply", "-y"])
        .stdout_has("Apply complete! Agents: 0 added, 3 changed, 0 destroyed.\n")
        .success();
}

#[test]
fn a_disk_full_at_a_temp_write_changes_nothing() {
    let ran = three_to_change();
    ran.then()
        .args(&["apply", "-y"])
        .env("MPM_FAULT", "write:2")
        .stdout_has("Plan: 0 to add, 3 to change, 0 to destroy.\n")
        .stderr_has("error: apply failed: failed to write `")
        .stderr_has("/.claude/agents/agent-0")
        .stderr_has(": No space left on device (os error 28); nothing was changed\nhint: fix what failed and run `mpm apply` again\n")
        .failure();
    assert_as_before(&ran, 3);
}

#[test]
fn a_failed_directory_fsync_puts_back_the_whole_batch() {
    let ran = three_to_change();
    ran.then()
        .args(&["apply", "-y"])
        .env("MPM_FAULT", "sync:1")
        .stdout_has("Plan: 0 to add, 3 to change, 0 to destroy.\n")
        .stderr(
            "
            error: apply failed: failed to fsync the directory `[TMP]/.claude/agents`: Input/output error (os error 5); nothing was changed
              caused by: 3 files already replaced were put back
            hint: fix what failed and run `mpm apply` again
            ",
        )
        .failure();
    assert_as_before(&ran, 3);
}

/// Disk full between file batches: the first batch (2 MiB) was already in place.
#[test]
fn a_disk_full_in_the_second_batch_puts_back_the_first() {
    let ran = Test::new()
        .manifest(&agents("v1", 30, 100_000))
        .args(&["apply", "-y"])
        .stdout_any()
        .success();
    ran.then()
        .manifest(&agents("v2", 30, 100_000))
        .args(&["plan"])
        .stdout_any()
        .success();
    let failed = ran
        .then()
        .args(&["apply", "-y"])
        .env("MPM_FAULT", "write:25")
        .stdout_has("Plan: 0 to add, 30 to change, 0 to destroy.\n")
        .stderr_has("No space left on device (os error 28); nothing was changed\n")
        .failure();
    // 2 MiB of 100 kB files: the first batch held 21 of them
    assert!(
        failed
            .stderr
            .contains("  caused by: 21 files already replaced were put back\n"),
        "{}",
        failed.stderr
    );
    assert_as_before(&ran, 30);
}

#[test]
fn a_failed_removal_puts_back_the_files_written_before_it() {
    let ran = Test::new()
        .manifest(&agents("v1", 3, 10))
        .args(&["apply", "-y"])
        .stdout_any()
        .success();
    // one agent changes, two go
    ran.then()
        .manifest(&agents("v2", 1, 10))
        .args(&["apply", "-y"])
        .env("MPM_FAULT", "remove:2")
        .stdout_has("Plan: 0 to add, 1 to change, 2 to destroy.\n")
        .stderr(
            "
            error: apply failed: failed to remove `[TMP]/.claude/agents/agent-02.md`: Operation not permitted (os error 1); nothing was changed
              caused by: 2 files already replaced were put back
            hint: fix what failed and run `mpm apply` again
            ",
        )
        .failure();
    ran.then()
        .args(&["plan"])
        .stdout_has("Plan: 0 to add, 1 to change, 2 to destroy.\n")
        .success();
}

/// A first apply that fails leaves no state folder and no `agents/` behind.
#[test]
fn a_failed_first_apply_leaves_nothing_behind() {
    let ran = Test::new().manifest(&agents("v1", 2, 10));
    let ran = ran
        .args(&["apply", "-y"])
        .env("MPM_FAULT", "rename:2")
        .stdout_has("Plan: 2 to add, 0 to change, 0 to destroy.\n")
        .stderr(
            "
            error: apply failed: failed to replace `[TMP]/.claude/agents/agent-01.md`: Operation not permitted (os error 1); nothing was changed
              caused by: 1 file already replaced was put back
            hint: fix what failed and run `mpm apply` again
            ",
        )
        .failure();
    assert!(!ran.exists(".claude"), "{:?}", ran.tree().keys());
}

#[test]
fn a_directory_that_cannot_be_created_changes_nothing() {
    Test::new()
        .manifest(&agents("v1", 2, 10))
        .args(&["apply", "-y"])
        .env("MPM_FAULT", "mkdir:1")
        .stdout_has("Plan: 2 to add, 0 to change, 0 to destroy.\n")
        .stderr(
            "
            error: apply failed: failed to create the directory `[TMP]/.claude/agents`: Permission denied (os error 13); nothing was changed
            hint: fix what failed and run `mpm apply` again
            ",
        )
        .failure();
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout == b"0\n")
}

fn chattr(flag: &str, path: &std::path::Path) {
    let status = std::process::Command::new("chattr")
        .arg(flag)
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success(), "chattr {flag} {}", path.display());
}

#[test]
#[ignore = "as root: chattr"]
fn as_root_an_immutable_file_is_found_before_the_first_write() {
    assert!(is_root(), "run as root");
    let ran = three_to_change();
    chattr("+i", &ran.path(".claude/agents/agent-01.md"));
    // a dry run is the apply against a system that writes nothing: it finds it too
    ran.then()
        .args(&["apply", "--dry-run"])
        .stdout_has("Plan: 0 to add, 3 to change, 0 to destroy.\n")
        .stderr(
            "
            error: cannot apply: `.claude/agents/agent-01.md` cannot be replaced: `[TMP]/.claude/agents/agent-01.md` is immutable (`chattr -i` or `chattr -a` lifts it); nothing was changed
            hint: make the file writable, or move it away, and apply again
            ",
        )
        .failure();
    let failed = ran
        .then()
        .args(&["apply", "-y"])
        .stdout_has("Plan: 0 to add, 3 to change, 0 to destroy.\n")
        .stderr(
            "
            error: cannot apply: `.claude/agents/agent-01.md` cannot be replaced: `[TMP]/.claude/agents/agent-01.md` is immutable (`chattr -i` or `chattr -a` lifts it); nothing was changed
            hint: make the file writable, or move it away, and apply again
            ",
        )
        .failure();
    chattr("-i", &failed.path(".claude/agents/agent-01.md"));
    assert_as_before(&ran, 3);
}

#[test]
#[ignore = "as root: chattr"]
fn as_root_an_agents_folder_that_is_not_writable_is_found_before_the_first_write() {
    assert!(is_root(), "run as root");
    let ran = three_to_change();
    chattr("+i", &ran.path(".claude/agents"));
    let failed = ran
        .then()
        .args(&["apply", "-y"])
        .stdout_has("Plan: 0 to add, 3 to change, 0 to destroy.\n")
        .stderr(
            "
            error: cannot apply: `.claude/agents` is not writable: Operation not permitted (os error 1); nothing was changed
            hint: make it writable (`chmod u+w`, `chattr -i`, or a read-write mount) and apply again
            ",
        )
        .failure();
    chattr("-i", &failed.path(".claude/agents"));
    assert_as_before(&ran, 3);
}

/// A real small file system: the room for the new files is checked before the
/// first write, and then they fit.
#[test]
#[ignore = "as root: mounts a tmpfs"]
fn as_root_a_full_file_system_is_found_before_the_first_write() {
    assert!(is_root(), "run as root");
    let ran = Test::new()
        .manifest(&agents("v1", 3, 10))
        .args(&["plan"])
        .stdout_any()
        .success();
    let small = ran.path("small");
    std::fs::create_dir(&small).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"])
        .arg(&small)
        .status()
        .unwrap();
    assert!(mounted.success());
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(small.clone());
    // the state log elsewhere, so that only the agents need room on the tmpfs
    ran.then()
        .manifest(&agents("v1", 3, 10))
        .args(&["apply", "-y", "--target", "small", "--state-dir", "state"])
        .stdout_any()
        .success();
    ran.then()
        .manifest(&agents("v2", 3, 100_000))
        .args(&["apply", "-y", "--target", "small", "--state-dir", "state"])
        .stdout_has("Plan: 0 to add, 3 to change, 0 to destroy.\n")
        .stderr(
            "
            error: cannot apply: not enough free space for `small/agents` (312 KiB needed, 244 KiB free); nothing was changed
            hint: free some space and apply again
            ",
        )
        .status(1);
    ran.then()
        .manifest(&agents("v2", 3, 50_000))
        .args(&["apply", "-y", "--target", "small", "--state-dir", "state"])
        .stdout_has("Apply complete! Agents: 0 added, 3 changed, 0 destroyed.\n")
        .success();
}

/// An apply that failed after a killed one dropped the killed run's record: the
/// file the killed run had written became a conflict ("edited outside mpm").
#[test]
fn a_failed_apply_after_a_killed_one_keeps_the_killed_run_to_finish() {
    let ran = three_to_change();
    let killed = std::process::Command::new(crate::harness::BIN)
        .args(["apply", "-y"])
        .current_dir(ran.path(""))
        .env("HOME", ran.path("home"))
        .env("MPM_FAULT", "rename:2:abort")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(killed.code().is_none(), "did not die at the fault");
    ran.then()
        .manifest(&agents("v3", 3, 10))
        .args(&["apply", "-y"])
        .env("MPM_FAULT", "rename:1")
        .stdout_any()
        .stderr_has("; nothing was changed\n")
        .failure();
    ran.then()
        .args(&["apply", "-y"])
        .stdout_has("A previous apply was interrupted")
        .stdout_has("Apply complete! Agents: 0 added, 3 changed, 0 destroyed.\n")
        .stderr_any() // the temp files the kill left, counted
        .success();
}

/// `mpm.lock` kept the new digests when the fsync of its folder failed, though
/// the apply said nothing was changed.
#[test]
fn a_failure_after_mpm_lock_was_written_puts_it_back() {
    let ran = Test::new()
        .manifest(&agents("v1", 2, 10))
        .args(&["apply", "-y"])
        .stdout_any()
        .success();
    let lock = ran.read("mpm.lock");
    // the second directory fsync is mpm.lock's folder (the first: agents/)
    ran.then()
        .manifest(&agents("v2", 2, 10))
        .args(&["apply", "-y"])
        .env("MPM_FAULT", "sync:2")
        .stdout_any()
        .stderr(
            "
            error: apply failed: failed to fsync the directory `[TMP]`: Input/output error (os error 5); nothing was changed
              caused by: 2 files already replaced were put back
            hint: fix what failed and run `mpm apply` again
            ",
        )
        .failure();
    assert_eq!(ran.read("mpm.lock"), lock);
}

/// The same, with an `mpm.lock` that is not the one mpm wrote (reformatted by
/// hand): it cannot be rendered again from the state log, so the apply keeps it
/// in its pack, and puts back exactly its bytes.
#[test]
fn a_failure_after_a_hand_edited_mpm_lock_was_written_puts_back_its_bytes() {
    let ran = Test::new()
        .manifest(&agents("v1", 2, 10))
        .args(&["apply", "-y"])
        .stdout_any()
        .success();
    let edited = ran.read("mpm.lock").replace("  ", "\t");
    std::fs::write(ran.path("mpm.lock"), &edited).unwrap();
    ran.then()
        .manifest(&agents("v2", 2, 10))
        .args(&["apply", "-y"])
        .env("MPM_FAULT", "sync:2")
        .stdout_any()
        .stderr_has("nothing was changed")
        .failure();
    assert_eq!(ran.read("mpm.lock"), edited);
}

/// A failed first apply into a state folder that was there, empty, left a new
/// state log in it.
#[test]
fn a_failed_first_apply_into_an_empty_state_folder_leaves_it_empty() {
    Test::new()
        .manifest(&agents("v1", 2, 10))
        .write(".claude/.mpm/.keep", "")
        .args(&["apply", "-y"])
        .env("MPM_FAULT", "write:1")
        .stdout_any()
        .stderr_has("; nothing was changed\n")
        .failure();
}

/// A failed rollback said "apply failed" and that `mpm apply` was the way on.
#[test]
fn a_failed_rollback_says_rollback() {
    let ran = three_to_change();
    ran.then().args(&["apply", "-y"]).stdout_any().success();
    ran.then()
        .args(&["rollback", "-y"])
        .env("MPM_FAULT", "rename:2")
        .stdout_any()
        .stderr_has("error: rollback failed: failed to replace `")
        .stderr_has("hint: fix what failed and run `mpm rollback` again\n")
        .failure();
}

/// `chattr +i` on `mpm.lock`, and `chattr +a` on `agents/`, were found only after
/// agent files had been replaced (and put back).
#[test]
#[ignore = "as root: chattr"]
fn as_root_an_immutable_lock_file_or_an_append_only_folder_is_found_before_the_first_write() {
    assert!(is_root(), "run as root");
    let ran = three_to_change();
    chattr("+i", &ran.path("mpm.lock"));
    let failed = ran
        .then()
        .args(&["apply", "-y"])
        .stdout_any()
        .stderr_has("error: cannot apply: `mpm.lock` cannot be replaced: ")
        .failure();
    chattr("-i", &failed.path("mpm.lock"));
    chattr("+a", &ran.path(".claude/agents"));
    let failed = ran
        .then()
        .args(&["apply", "-y"])
        .stdout_any()
        .stderr_has(
            "error: cannot apply: `.claude/agents` is not writable: it is append-only or immutable",
        )
        .failure();
    chattr("-a", &failed.path(".claude/agents"));
    assert_as_before(&ran, 3);
}

/// An apply whose manifest does not render stops before the state log: its lock
/// file keeps the last writer's holder line (a reader's look at the log runs
/// beside the rendering; a writer's does not).
#[test]
fn an_apply_whose_manifest_does_not_render_leaves_the_state_folder_alone() {
    let ran = Test::new()
        .manifest(&agents("v1", 2, 10))
        .args(&["apply", "-y"])
        .stdout_any()
        .success();
    let holder = ran.read(".claude/.mpm/lock");
    ran.then()
        .write(
            "mpm.yaml",
            "
            version: 1
            agents:
              qa:
                template: templates/missing.json
            ",
        )
        .args(&["apply", "-y"])
        .stderr_has("template `templates/missing.json` not found")
        .failure();
    assert_eq!(ran.read(".claude/.mpm/lock"), holder);
}
