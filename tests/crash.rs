//! kill -9 at any instant of an apply: every agent file is whole (old or new
//! bytes), and the next `mpm apply` converges without `--force`, also when the
//! manifest changed in between.

use crate::harness::{BIN, Ran, Test, inline_manifest};
use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const AGENTS: usize = 1500;

fn manifest(version: &str) -> String {
    let body = "Follow the checklist, verify each step, and report what you changed. ".repeat(25);
    let agents: Vec<(String, String)> = (0..AGENTS)
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
        .stdout_any() // 1500 agents: the plan is long, and checked elsewhere
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

fn apply_killed_after(ran: &Ran, delay: Duration) {
    let mut child = Command::new(BIN)
        .args(["apply", "-y"])
        .current_dir(ran.path(""))
        .env("HOME", ran.path("home"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(delay);
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
}

/// How long a whole apply of v2 over v1 takes here, to spread kills over it.
fn time_one_apply() -> Duration {
    let probe = Test::new()
        .manifest(&manifest("v1"))
        .args(&["apply", "-y"])
        .stdout_any()
        .success();
    probe
        .then()
        .manifest(&manifest("v2"))
        .args(&["plan"])
        .stdout_any()
        .success();
    let start = Instant::now();
    probe.then().args(&["apply", "-y"]).stdout_any().success();
    start.elapsed()
}

#[test]
fn kill_9_at_many_instants_of_a_large_apply() {
    let v1 = rendered("v1");
    let v2 = rendered("v2");
    let v3 = rendered("v3");
    let whole = time_one_apply();

    for (i, fraction) in [0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95, 1.1]
        .into_iter()
        .enumerate()
    {
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
        apply_killed_after(&ran, whole.mul_f64(fraction));
        let (now, temps): (BTreeMap<_, _>, BTreeMap<_, _>) = files(&ran)
            .into_iter()
            .partition(|(name, _)| name.ends_with(".md"));
        // a killed run may leave temp files, never one Claude Code would load
        assert!(
            temps.keys().all(|t| t.starts_with(".mpm-tmp.")),
            "kill #{i}: {:?}",
            temps.keys()
        );
        assert_eq!(now.len(), AGENTS, "kill #{i}: an agent file is missing");
        for (name, bytes) in &now {
            assert!(
                bytes == &v1[name] || bytes == &v2[name],
                "kill #{i}: {name} is torn"
            );
        }
        let committed = ran
            .then()
            .args(&["history"])
            .stdout_any() // one or two generations, depending on the kill
            .success()
            .stdout
            .lines()
            .count()
            == 2;
        // half the time the manifest changes before the next run
        let (next, expected) = if i % 2 == 0 { ("v2", &v2) } else { ("v3", &v3) };
        let recovered = ran
            .then()
            .manifest(&manifest(next))
            .args(&["apply", "-y"])
            .stdout_any()
            .stderr_any() // how many temp files it removed depends on the kill
            .success();
        assert!(
            !recovered.stdout.contains("Conflicts"),
            "kill #{i}: {}",
            recovered.stdout
        );
        assert_eq!(&files(&ran), expected, "kill #{i}: did not converge");
        ran.then()
            .args(&["plan"])
            .stdout_has("No changes.")
            .success();
        let temps: Vec<_> = std::fs::read_dir(ran.path(".claude/agents"))
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(".mpm-tmp."))
            .collect();
        assert!(temps.is_empty(), "kill #{i}: stray temp files left");
        // undoing the recovery returns to the last committed state, never to the
        // half-applied one the kill left
        ran.then().args(&["rollback", "-y"]).stdout_any().success();
        let expected_back = if committed && next == "v3" { &v2 } else { &v1 };
        assert_eq!(
            &files(&ran),
            expected_back,
            "kill #{i}: rollback after recovery"
        );
    }
}

#[test]
fn a_killed_runs_leftovers_are_cleared_when_nothing_is_left_to_do() {
    let whole = time_one_apply();
    // find an instant at which a kill leaves temp files behind
    let ran = [
        0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.65, 0.95, 0.4, 0.55, 0.72, 0.78, 0.88, 0.92, 0.45,
        0.35,
    ]
    .into_iter()
    .find_map(|fraction| {
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
        apply_killed_after(&ran, whole.mul_f64(fraction));
        files(&ran)
            .keys()
            .any(|n| n.starts_with(".mpm-tmp."))
            .then_some(ran)
    })
    .expect("no kill landed while temp files existed");
    // back to v1: whatever the killed run did is undone or moot, and its leftovers go
    ran.then()
        .manifest(&manifest("v1"))
        .args(&["apply", "-y"])
        .stdout_any()
        .stderr_any() // how many temp files it removed depends on the kill
        .success();
    ran.then()
        .args(&["apply", "-y"])
        .stdout_has("No changes.")
        .success();
    assert!(
        files(&ran).keys().all(|n| n.ends_with(".md")),
        "leftovers remain"
    );
}
