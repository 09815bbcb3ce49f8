//! A kill at any step of an apply: every agent file is whole (old or new bytes),
//! and the next `mpm apply` converges without `--force`, also when the manifest
//! changed in between; undoing that apply returns to the last committed state.
//!
//! The kills are deterministic: `MPM_FAULT=<step>:<n>:abort` makes the binary abort
//! (no destructor, no cleanup: what `kill -9` does) at exactly the n-th write,
//! rename, removal or directory fsync. One test also kills a real apply with
//! SIGKILL from outside, at whatever instant it has reached.

use crate::harness::{BIN, Ran, Test, inline_manifest};
use std::collections::BTreeMap;
use std::process::{Command, Stdio};

/// Enough bytes for two write batches (2 MiB each).
const AGENTS: usize = 120;

fn manifest(version: &str) -> String {
    let body = "Follow the checklist, verify each step, and report what you changed. ".repeat(350);
    let agents: Vec<(String, String)> = (0..AGENTS)
        // v3 drops the last ten agents: the plan deletes files too
        .filter(|i| version != "v3" || *i < AGENTS - 10)
        .map(|i| (format!("agent-{i:04}"), format!("{version} {i} {body}")))
        .collect();
    let refs: Vec<(&str, &str)> = agents
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    inline_manifest(&refs)
}

/// The exact files each manifest version renders to, from a clean apply elsewhere.
fn rendered(version: &str) -> BTreeMap<String, Vec<u8>> {
    let ran = Test::new()
        .manifest(&manifest(version))
        .args(&["apply", "-y"])
        .stdout_any()
        .success();
    files(&ran)
}

fn files(ran: &Ran) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(ran.path(".claude/agents"))
        .map(|d| {
            d.flatten()
                .map(|e| {
                    (
                        e.file_name().to_string_lossy().into_owned(),
                        std::fs::read(e.path()).unwrap(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn apply(ran: &Ran) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(["apply", "-y"])
        .current_dir(ran.path(""))
        .env_clear()
        .env("HOME", ran.path("home"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

/// Runs `mpm apply -y`, aborted at `fault`; returns whether it died there.
fn apply_aborted_at(ran: &Ran, fault: &str) -> bool {
    let status = apply(ran).env("MPM_FAULT", fault).status().unwrap();
    !status.success() && status.code().is_none()
}

/// v1 applied, the manifest changed to v2, and the apply of v2 killed by `kill`;
/// then checks the files, recovers to `next`, checks, and rolls back.
fn killed_and_recovered(
    label: &str,
    kill: impl FnOnce(&Ran),
    next: &str,
    all: &BTreeMap<&str, BTreeMap<String, Vec<u8>>>,
) {
    let ran = Test::new()
        .manifest(&manifest("v1"))
        .args(&["apply", "-y"])
        .stdout_any()
        .success();
    ran.then()
        .manifest(&manifest("v2"))
        .args(&["plan"])
        .stdout_any()
        .success();
    kill(&ran);
    let (v1, v2) = (&all["v1"], &all["v2"]);
    let (now, temps): (BTreeMap<_, _>, BTreeMap<_, _>) = files(&ran)
        .into_iter()
        .partition(|(name, _)| name.ends_with(".md"));
    // a killed run may leave temp files, never one Claude Code would load
    assert!(
        temps.keys().all(|t| t.starts_with(".mpm-tmp.")),
        "{label}: {:?}",
        temps.keys()
    );
    assert_eq!(now.len(), AGENTS, "{label}: an agent file is missing");
    for (name, bytes) in &now {
        assert!(
            bytes == &v1[name] || bytes == &v2[name],
            "{label}: {name} is torn"
        );
    }
    let committed = ran
        .then()
        .args(&["history"])
        .stdout_any()
        .success()
        .stdout
        .lines()
        .count()
        == 2;
    let recovered = ran
        .then()
        .manifest(&manifest(next))
        .args(&["apply", "-y"])
        .stdout_any()
        // "Removed N temp file(s) ..." when the kill left some: checked below
        .stderr_any()
        .success();
    assert!(
        !recovered.stdout.contains("Conflicts"),
        "{label}: {}",
        recovered.stdout
    );
    assert_eq!(&files(&ran), &all[next], "{label}: did not converge");
    ran.then()
        .args(&["plan"])
        .stdout_has("No changes.")
        .success();
    // undoing the recovery returns to the last committed state, never to the
    // half-applied one the kill left
    ran.then().args(&["rollback", "-y"]).stdout_any().success();
    let back = if committed && next != "v2" { v2 } else { v1 };
    assert_eq!(&files(&ran), back, "{label}: rollback after recovery");
}

#[test]
fn a_kill_at_any_step_of_an_apply_leaves_whole_files_and_converges() {
    let all: BTreeMap<&str, _> = ["v1", "v2", "v3"]
        .into_iter()
        .map(|v| (v, rendered(v)))
        .collect();
    // every kind of step, in the first and the second batch, and the last
    let steps = [
        "write:1",
        "write:70",
        "rename:1",
        "rename:60",
        "rename:120",
        "sync:1",
        "sync:2",
    ];
    for (i, step) in steps.into_iter().enumerate() {
        let fault = format!("{step}:abort");
        // half the time the manifest changes before the next run
        let next = if i % 2 == 0 { "v2" } else { "v3" };
        killed_and_recovered(
            &fault,
            |ran| assert!(apply_aborted_at(ran, &fault), "{fault}: did not die there"),
            next,
            &all,
        );
    }
}

#[test]
fn a_real_kill_9_in_the_middle_of_an_apply() {
    let all: BTreeMap<&str, _> = ["v1", "v2", "v3"]
        .into_iter()
        .map(|v| (v, rendered(v)))
        .collect();
    killed_and_recovered(
        "SIGKILL",
        |ran| {
            let mut child = apply(ran).spawn().unwrap();
            // wherever it is by then: the checks hold at any instant
            std::thread::sleep(std::time::Duration::from_millis(60));
            let _ = child.kill();
            let _ = child.wait();
        },
        "v3",
        &all,
    );
}

/// A user's file named like a temp was deleted as "a temp file left by an
/// interrupted run" when no run had been interrupted; after a real interruption,
/// only the temps that run's pending generation names may go.
#[test]
fn only_the_killed_runs_own_temp_files_are_removed() {
    let ran = Test::new()
        .manifest(&manifest("v1"))
        .args(&["apply", "-y"])
        .stdout_any()
        .success();
    let theirs = [".mpm-tmp.notes", ".mpm-tmp.123.4"];
    for name in theirs {
        std::fs::write(ran.path(&format!(".claude/agents/{name}")), "mine").unwrap();
    }
    // nothing was interrupted: nothing is removed
    ran.then()
        .manifest(&manifest("v2"))
        .args(&["apply", "-y"])
        .stdout_any()
        .success();
    ran.then()
        .manifest(&manifest("v1"))
        .args(&["plan"])
        .stdout_any()
        .success();
    assert!(apply_aborted_at(&ran, "rename:3:abort"));
    let left: Vec<String> = files(&ran)
        .into_keys()
        .filter(|n| n.starts_with(".mpm-tmp.") && !theirs.contains(&n.as_str()))
        .collect();
    // the temps of the first batch, all but the two renamed before the kill
    assert!(left.len() > 10, "{left:?}");
    ran.then()
        .args(&["apply", "-y"])
        .stderr(&format!(
            "Removed {} temp file(s) left by an interrupted run.\n",
            left.len()
        ))
        .stdout_any()
        .success();
    for name in theirs {
        assert_eq!(ran.read(&format!(".claude/agents/{name}")), "mine");
    }
    let temps: Vec<String> = files(&ran)
        .into_keys()
        .filter(|n| n.starts_with(".mpm-tmp."))
        .collect();
    assert_eq!(temps, vec![".mpm-tmp.123.4", ".mpm-tmp.notes"]);
}

/// The temp file of `mpm.lock` that a killed run left beside `mpm.yaml`, in the
/// repository, was never removed: only the target's folders were looked at.
#[test]
fn a_killed_runs_temp_of_mpm_lock_is_removed_too() {
    let ran = Test::new()
        .manifest(&inline_manifest(&[("alpha", "a"), ("beta", "b")]))
        .args(&["plan"])
        .stdout_any()
        .success();
    // two agents, then mpm.lock: the third rename is the lock's
    assert!(apply_aborted_at(&ran, "rename:3:abort"));
    let temps = |ran: &Ran| -> Vec<String> {
        std::fs::read_dir(ran.path(""))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".mpm-tmp."))
            .collect()
    };
    assert_eq!(temps(&ran).len(), 1, "{:?}", temps(&ran));
    ran.then()
        .args(&["apply", "-y"])
        .stdout_any()
        .stderr("Removed 1 temp file(s) left by an interrupted run.\n")
        .success();
    assert_eq!(temps(&ran), Vec::<String>::new());
}
