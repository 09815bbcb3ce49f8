//! Read-only commands write nothing. `plan`, `status`, `verify`, `history` and the
//! dry runs failed for a user who may read the state folder but not write it
//! (`Permission denied` on the lock file), and even when they worked they rewrote
//! the lock file, grew sled's file from 2 KB to 512 KB, added a snapshot, and on a
//! corrupt database zeroed part of it. Here every byte of the directory, state
//! folder and lock included, is compared before and after.

use crate::harness::{BIN, Ran, Test, inline_manifest};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const READ_ONLY: &[&[&str]] = &[
    &["plan"],
    &["plan", "--json"],
    &["plan", "--detailed-exitcode"],
    &["status"],
    &["verify"],
    &["history"],
    &["rollback", "--dry-run"],
    &["rollback", "--to", "1", "--dry-run"],
    &["apply", "--dry-run"],
    &["doctor"],
    &["doctor", "--json"],
    &["env"],
    &["env", "--json"],
    &["config", "show", "--origin"],
    &["config", "show", "--json"],
    &["cache", "stats"],
    &["cache", "stats", "--json"],
];

/// Every file under `root` with its bytes, and every folder: nothing left out.
fn bytes(root: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap().to_path_buf();
            if e.file_type().unwrap().is_dir() {
                out.insert(rel, None);
                stack.push(p);
            } else {
                out.insert(rel, Some(std::fs::read(&p).unwrap()));
            }
        }
    }
    out
}

/// Two generations, and a manifest changed since: every read-only command has
/// something to show.
fn two_generations() -> Ran {
    let ran = Test::new()
        .manifest(&inline_manifest(&[("alpha", "Do alpha.")]))
        .args(&["apply", "-y"])
        .stdout_any()
        .success();
    ran.then()
        .manifest(&inline_manifest(&[
            ("alpha", "Do alpha."),
            ("beta", "Do beta."),
        ]))
        .args(&["apply", "-y"])
        .stdout_any()
        .success();
    ran.then()
        .manifest(&inline_manifest(&[("beta", "Do beta, better.")]))
        .args(&["plan"])
        .stdout_any()
        .success();
    ran
}

#[test]
fn read_only_commands_change_no_byte_of_the_state_folder_or_the_target() {
    let ran = two_generations();
    let before = bytes(ran.path("").as_path());
    for args in READ_ONLY {
        let code = if args.contains(&"--detailed-exitcode") {
            2
        } else if args == &["verify"] {
            1
        } else {
            0
        };
        // what each prints is pinned elsewhere; here only the bytes on disk count
        ran.then().args(args).stdout_any().stderr_any().status(code);
        let after = bytes(ran.path("").as_path());
        for (path, was) in &before {
            assert_eq!(
                after.get(path),
                Some(was),
                "`mpm {}` changed `{}`",
                args.join(" "),
                path.display()
            );
        }
        assert_eq!(
            after.keys().collect::<Vec<_>>(),
            before.keys().collect::<Vec<_>>(),
            "`mpm {}` added or removed files",
            args.join(" ")
        );
    }
}

#[test]
fn a_corrupt_database_is_reported_and_left_as_it_was() {
    let ran = two_generations();
    let db = ran.path(".claude/.mpm/db/db");
    let mut data = std::fs::read(&db).unwrap();
    let end = data.len().min(4096);
    data[..end].fill(0);
    std::fs::write(&db, &data).unwrap();
    let before = bytes(ran.path("").as_path());
    for args in [&["plan"][..], &["history"], &["status"]] {
        ran.then()
            .args(args)
            .stderr_has("/.claude/.mpm` cannot be read: ")
            .stderr_has("hint: move the state folder aside and run `mpm apply --adopt`")
            .failure();
        assert!(
            bytes(ran.path("").as_path()) == before,
            "`mpm {args:?}` wrote"
        );
    }
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout == b"0\n")
}

/// Runs mpm as `nobody`, who may read the directory but not write in it.
fn as_nobody(ran: &Ran, args: &[&str]) -> std::process::Output {
    std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(BIN)
        .args(args)
        .current_dir(ran.path(""))
        .env_clear()
        .env("HOME", ran.path("home"))
        .env("NO_COLOR", "1")
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .unwrap()
}

/// A dry run rehearses the apply, so where the apply would be refused (the
/// folders are not writable) it says so, and fails as the apply would, having
/// written nothing.
fn refused_as_an_apply_would_be(args: &[&str], code: Option<i32>, stderr: &str) -> bool {
    args.contains(&"--dry-run")
        && code == Some(1)
        && stderr.starts_with("error: cannot apply: `.claude/agents` is not writable: ")
        && stderr.contains("; nothing was changed\n")
}

#[test]
#[ignore = "as root: runs mpm as another user"]
fn as_root_a_user_who_may_only_read_the_state_runs_every_read_only_command() {
    assert!(is_root(), "run as root");
    let ran = two_generations();
    // readable by all, writable by root only (the temp folder is 0700)
    let status = std::process::Command::new("chmod")
        .args(["-R", "a+rX"])
        .arg(ran.path(""))
        .status()
        .unwrap();
    assert!(status.success());
    let before = bytes(ran.path("").as_path());
    for args in READ_ONLY {
        let out = as_nobody(&ran, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            (matches!(out.status.code(), Some(0..=2)) && !stderr.contains("error"))
                || refused_as_an_apply_would_be(args, out.status.code(), &stderr),
            "`mpm {}` as nobody: {stderr}",
            args.join(" ")
        );
        assert!(
            bytes(ran.path("").as_path()) == before,
            "`mpm {}` as nobody wrote",
            args.join(" ")
        );
    }
    // what they print is what root sees
    let plan = as_nobody(&ran, &["plan"]);
    let root = ran.then().args(&["plan"]).stdout_any().success();
    assert_eq!(String::from_utf8_lossy(&plan.stdout), root.stdout);
    // a writer is refused, naming the lock file it cannot open
    let apply = as_nobody(&ran, &["apply", "-y"]);
    assert_eq!(apply.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&apply.stderr).contains("Permission denied"),
        "{}",
        String::from_utf8_lossy(&apply.stderr)
    );
    assert!(
        bytes(ran.path("").as_path()) == before,
        "the refused apply wrote"
    );
}

#[test]
#[ignore = "as root: mounts a read-only bind mount"]
fn as_root_read_only_commands_work_on_a_read_only_mount() {
    assert!(is_root(), "run as root");
    let ran = two_generations();
    let ro = tempfile::tempdir().unwrap();
    let mount = |args: &[&str]| {
        let status = std::process::Command::new("mount")
            .args(args)
            .status()
            .unwrap();
        assert!(status.success(), "mount {args:?}");
    };
    let (src, dst) = (
        ran.path("").display().to_string(),
        ro.path().display().to_string(),
    );
    mount(&["--bind", &src, &dst]);
    struct Unmount(String);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(dst.clone());
    mount(&["-o", "remount,bind,ro", &dst]);
    for args in READ_ONLY {
        let out = std::process::Command::new(BIN)
            .args(*args)
            .current_dir(ro.path())
            .env_clear()
            .env("HOME", ran.path("home"))
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            (matches!(out.status.code(), Some(0..=2)) && !stderr.contains("error"))
                || refused_as_an_apply_would_be(args, out.status.code(), &stderr),
            "`mpm {}` on a read-only mount: {stderr}",
            args.join(" ")
        );
    }
}
