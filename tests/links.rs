//! Never write through a link. With `.claude/.mpm/lock` replaced by a symbolic link
//! to another file, every command, `mpm plan` included, overwrote that file with
//! the lock text. Each path mpm creates or writes, in the state folder and in the
//! target, is planted here as a link to a file outside: the command fails naming
//! the link, and the file outside keeps its bytes.

use crate::harness::{Ran, Test, inline_manifest};

const OUTSIDE: &str = "outside/precious.txt";

fn applied() -> Ran {
    let ran = Test::new()
        .manifest(&inline_manifest(&[("alpha", "Do alpha.")]))
        .write(OUTSIDE, "precious\n")
        .args(&["apply", "-y"])
        .stdout_any() // pinned by the apply tests
        .success();
    // a change to apply, so that an apply gets as far as writing
    ran.then()
        .manifest(&inline_manifest(&[("alpha", "Do alpha, better.")]))
        .args(&["plan"])
        .stdout_any()
        .success();
    ran
}

/// Replaces `rel` (file or folder) by a link to the file outside.
fn plant(ran: &Ran, rel: &str) {
    let path = ran.path(rel);
    if path.is_dir() {
        std::fs::remove_dir_all(&path).unwrap();
    } else {
        let _ = std::fs::remove_file(&path);
    }
    std::os::unix::fs::symlink(ran.path(OUTSIDE), &path).unwrap();
}

fn assert_outside_untouched(ran: &Ran) {
    assert_eq!(ran.read(OUTSIDE), "precious\n");
}

fn state_link_error(rel: &str, hint: &str) -> String {
    format!(
        "error: `[TMP]/{rel}` is a symbolic link: mpm never writes or reads through a link in its state directory\nhint: {hint}\n"
    )
}

const RECREATED: &str = "remove the link: mpm makes a new one there";
const KEPT: &str = "put the file or folder the link points to in its place, or point `--state-dir` at a directory without links";

#[test]
fn a_lock_file_planted_as_a_link_is_never_written_by_any_command() {
    let ran = applied();
    plant(&ran, ".claude/.mpm/lock");
    for args in [
        &["plan"][..],
        &["status"],
        &["verify"],
        &["history"],
        &["rollback", "--dry-run"],
        &["apply", "-y"],
        &["rollback", "-y"],
        &["history", "prune", "--keep", "1"],
    ] {
        ran.then()
            .args(args)
            .stderr(&state_link_error(".claude/.mpm/lock", RECREATED))
            .failure();
        assert_outside_untouched(&ran);
    }
}

#[test]
fn a_gitignore_planted_as_a_link_is_never_written() {
    let ran = applied();
    plant(&ran, ".claude/.mpm/.gitignore");
    ran.then()
        .args(&["apply", "-y"])
        .stdout_has("Plan: 0 to add, 1 to change, 0 to destroy.")
        .stderr(&state_link_error(".claude/.mpm/.gitignore", RECREATED))
        .failure();
    assert_outside_untouched(&ran);
}

#[test]
fn sleds_files_planted_as_links_are_never_opened() {
    for rel in [
        ".claude/.mpm/db/conf",
        ".claude/.mpm/db/db",
        ".claude/.mpm/db",
    ] {
        let ran = applied();
        plant(&ran, rel);
        for args in [&["plan"][..], &["apply", "-y"], &["history"]] {
            ran.then()
                .args(args)
                .stderr(&state_link_error(rel, KEPT))
                .failure();
            assert_outside_untouched(&ran);
        }
    }
}

#[test]
fn a_pack_or_the_packs_folder_planted_as_a_link_is_never_written() {
    // the pack the next apply would write: refused when the apply gets there
    let ran = applied();
    plant(&ran, ".claude/.mpm/packs/2.pack");
    ran.then()
        .args(&["apply", "-y"])
        .stdout_has("Plan: 0 to add, 1 to change, 0 to destroy.")
        .stderr(&state_link_error(".claude/.mpm/packs/2.pack", KEPT))
        .failure();
    assert_outside_untouched(&ran);
    // a pack that holds the state, and the folder: refused as soon as read
    for rel in [".claude/.mpm/packs/1.pack", ".claude/.mpm/packs"] {
        let ran = applied();
        plant(&ran, rel);
        for args in [&["plan"][..], &["apply", "-y"]] {
            ran.then()
                .args(args)
                .stderr(&state_link_error(rel, KEPT))
                .failure();
            assert_outside_untouched(&ran);
        }
    }
}

#[test]
fn a_state_folder_planted_as_a_link_is_refused() {
    let ran = applied();
    std::fs::rename(ran.path(".claude/.mpm"), ran.path("elsewhere")).unwrap();
    std::os::unix::fs::symlink(ran.path("elsewhere"), ran.path(".claude/.mpm")).unwrap();
    for args in [&["plan"][..], &["apply", "-y"]] {
        ran.then()
            .args(args)
            .stderr(&state_link_error(".claude/.mpm", KEPT))
            .failure();
    }
}

#[test]
fn an_agent_file_planted_as_a_link_is_a_conflict_never_written_through() {
    let ran = applied();
    plant(&ran, ".claude/agents/alpha.md");
    ran.then()
        .args(&["apply", "-y", "--force"])
        .stdout_has("! agents/alpha.md  is a symbolic link, not a file")
        .stderr_has("error: 1 conflict stops the apply; nothing was changed")
        .failure();
    assert_outside_untouched(&ran);
}

#[test]
fn an_agents_folder_planted_as_a_link_out_of_the_target_is_refused() {
    let ran = applied();
    std::fs::remove_dir_all(ran.path(".claude/agents")).unwrap();
    std::os::unix::fs::symlink(ran.path("outside"), ran.path(".claude/agents")).unwrap();
    ran.then()
        .args(&["apply", "-y"])
        .stderr(
            "
            error: `.claude/agents` is a symbolic link to `[TMP]/outside`, outside the target `.claude`
            hint: mpm never writes through a link that leaves the target; replace the link with a directory
            ",
        )
        .failure();
    assert_outside_untouched(&ran);
    assert_eq!(
        std::fs::read_dir(ran.path("outside")).unwrap().count(),
        1,
        "something was written outside"
    );
}

/// A named pipe planted as the lock file hung every read-only command.
#[test]
fn a_lock_file_planted_as_a_named_pipe_is_refused_not_waited_on() {
    let ran = applied();
    std::fs::remove_file(ran.path(".claude/.mpm/lock")).unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg(ran.path(".claude/.mpm/lock"))
        .status()
        .unwrap();
    assert!(status.success());
    for args in [&["plan"][..], &["history"], &["apply", "-y"]] {
        ran.then()
            .args(args)
            .stderr_has("/.claude/.mpm/lock` is not a regular file\n")
            .failure();
    }
}

/// A hard link planted as the lock file was written through: its holder line
/// went into the file it shared with.
#[test]
fn a_lock_file_planted_as_a_hard_link_is_never_written() {
    let ran = applied();
    std::fs::remove_file(ran.path(".claude/.mpm/lock")).unwrap();
    std::fs::hard_link(ran.path(OUTSIDE), ran.path(".claude/.mpm/lock")).unwrap();
    ran.then()
        .args(&["apply", "-y"])
        .stderr_has("/.claude/.mpm/lock` has other hard links: mpm never writes a file of its state directory that is also elsewhere\n")
        .failure();
    assert_outside_untouched(&ran);
}

/// A named pipe planted as `mpm.lock` hung a rollback after it had replaced
/// files: every read of the lock file opens it without waiting.
#[test]
fn a_lock_file_of_the_manifest_planted_as_a_named_pipe_hangs_nothing() {
    let ran = applied();
    ran.then().args(&["apply", "-y"]).stdout_any().success();
    std::fs::remove_file(ran.path("mpm.lock")).unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg(ran.path("mpm.lock"))
        .status()
        .unwrap();
    assert!(status.success());
    for args in [&["plan"][..], &["rollback", "-y"]] {
        ran.then()
            .args(args)
            .stdout_any()
            .stderr_has("/mpm.lock` is not a regular file")
            .failure();
    }
}

/// A reader looks at `mpm.lock` and the target on a second thread while the
/// agents render; its errors keep their order: the lock file's before the
/// target's.
#[test]
fn a_broken_lock_file_is_reported_before_a_link_in_the_target() {
    let ran = applied();
    std::fs::write(ran.path("mpm.lock"), "garbage\n").unwrap();
    std::fs::remove_dir_all(ran.path(".claude/agents")).unwrap();
    std::os::unix::fs::symlink(ran.path("outside"), ran.path(".claude/agents")).unwrap();
    ran.then()
        .args(&["plan"])
        .stderr_has("`mpm.lock` is not a valid mpm lock file")
        .failure();
}
