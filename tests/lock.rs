//! The lock: one writer per target; a second command fails at once naming the
//! holder, or waits with `--lock-timeout`; the lock dies with its process.
//!
//! The holder is a real `mpm apply` waiting at its confirmation prompt on a
//! pseudo-terminal (`script`), so nothing here depends on timing.

use crate::harness::{BIN, Ran, Test, inline_manifest};
use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Starts `mpm apply` on a pseudo-terminal; it shows the plan and waits for an
/// answer, holding the target's lock.
fn holder(ran: &Ran) -> Child {
    Command::new("script")
        .args(["-qec", &format!("{BIN} apply"), "/dev/null"])
        .current_dir(ran.path(""))
        .env("HOME", ran.path("home"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("script(1) from util-linux")
}

/// Waits until the lock file names a holder that is not `pid`.
fn wait_for_holder(ran: &Ran) -> String {
    let start = Instant::now();
    loop {
        let text = std::fs::read_to_string(ran.path(".claude/.mpm/lock")).unwrap_or_default();
        if text.contains("command=mpm apply\n")
            && !text.contains(&format!("pid={}\n", std::process::id()))
        {
            // stderr says whether the holder has the lock yet: read below
            let probe = ran.then().args(&["plan"]).stderr_any().status(1);
            if probe.stderr.contains("locked") {
                return text
                    .lines()
                    .find_map(|l| l.strip_prefix("pid="))
                    .unwrap()
                    .to_string();
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the holder never took the lock: {text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn applied() -> Ran {
    let ran = Test::new()
        .manifest(&inline_manifest(&[("alpha", "v1")]))
        .args(&["apply", "-y"])
        .stdout(
            "
            mpm will make these changes in `.claude`:

              + alpha                      agents/alpha.md

            Plan: 1 to add, 0 to change, 0 to destroy.
            Apply complete! Agents: 1 added, 0 changed, 0 destroyed.
            ",
        )
        .success();
    ran.then()
        .manifest(&inline_manifest(&[("alpha", "v2")]))
        .args(&["plan"])
        .stdout(
            "
            mpm will make these changes in `.claude`:

              ~ alpha                      agents/alpha.md

                --- agents/alpha.md (on disk)
                +++ agents/alpha.md (after apply)
                @@ -3,4 +3,4 @@
                 name: alpha
                 description: Use for alpha work
                 ---
                -v1
                +v2

            Plan: 0 to add, 1 to change, 0 to destroy.
            ",
        )
        .success()
}

#[test]
fn a_second_writer_fails_at_once_naming_the_holder_and_the_lock_dies_with_kill_9() {
    let ran = applied();
    let mut child = holder(&ran);
    let pid = wait_for_holder(&ran);
    let lock = ran.read(".claude/.mpm/lock");
    let host = lock
        .lines()
        .find_map(|l| l.strip_prefix("host="))
        .expect("the lock file names its host");
    ran.then()
        .args(&["apply", "-y"])
        .stderr(&format!(
            "
            error: the target is locked by another mpm: pid {pid} on {host} (`mpm apply`, since [TIME])
              caused by: lock file `[TMP]/.claude/.mpm/lock`
            hint: wait for it to finish, or pass `--lock-timeout 60s` to wait; the lock is released when that process exits
            "
        ))
        .status(1);
    // waiting a little, then giving up, says how long it waited
    ran.then()
        .args(&["apply", "-y", "--lock-timeout", "300ms"])
        .stderr(&format!(
            "
            error: the target is locked by another mpm: pid {pid} on {host} (`mpm apply`, since [TIME])
              caused by: waited 0.3 s for `[TMP]/.claude/.mpm/lock`
            hint: wait for it to finish, or pass `--lock-timeout 60s` to wait; the lock is released when that process exits
            "
        ))
        .status(1);
    // kill -9 the holder: its lock goes with it
    Command::new("kill").args(["-9", &pid]).status().unwrap();
    let _ = child.wait();
    ran.then()
        .args(&["apply", "-y"])
        .stdout(
            "
            mpm will make these changes in `.claude`:

              ~ alpha                      agents/alpha.md

                --- agents/alpha.md (on disk)
                +++ agents/alpha.md (after apply)
                @@ -3,4 +3,4 @@
                 name: alpha
                 description: Use for alpha work
                 ---
                -v1
                +v2

            Plan: 0 to add, 1 to change, 0 to destroy.
            Apply complete! Agents: 0 added, 1 changed, 0 destroyed.
            ",
        )
        .success();
    assert!(ran.read(".claude/agents/alpha.md").ends_with("v2\n"));
}

#[test]
fn the_lock_timeout_comes_from_the_settings_layers() {
    let ran = applied();
    let mut child = holder(&ran);
    let pid = wait_for_holder(&ran);
    let waited =
        |seconds: &str| format!("  caused by: waited {seconds} s for `[TMP]/.claude/.mpm/lock`\n");
    let agents = inline_manifest(&[("alpha", "v2")]);
    // the user file's
    ran.then()
        .write("home/.config/mpm/config.yaml", "lock_timeout: 200ms\n")
        .args(&["apply", "-y"])
        .stderr_has(&waited("0.2"))
        .status(1);
    // mpm.yaml's beats it
    let with_timeout = agents.replacen(
        "version: 1\n",
        "version: 1\nmpm:\n  lock_timeout: 300ms\n",
        1,
    );
    ran.then()
        .manifest(&with_timeout)
        .args(&["apply", "-y"])
        .stderr_has(&waited("0.3"))
        .status(1);
    // and a variable beats that
    ran.then()
        .env("MPM_LOCK_TIMEOUT", "100ms")
        .args(&["apply", "-y"])
        .stderr_has(&waited("0.1"))
        .status(1);
    Command::new("kill").args(["-9", &pid]).status().unwrap();
    let _ = child.wait();
}

#[test]
fn a_writer_with_a_timeout_waits_for_the_holder_to_finish() {
    let ran = applied();
    let mut child = holder(&ran);
    wait_for_holder(&ran);
    let waiter = Command::new(BIN)
        .args(["apply", "-y", "--lock-timeout", "60s"])
        .current_dir(ran.path(""))
        .env("HOME", ran.path("home"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // the holder's user answers "no": it exits without writing, the waiter goes on
    child.stdin.take().unwrap().write_all(b"no\n").unwrap();
    let _ = child.wait();
    let out = waiter.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(ran.read(".claude/agents/alpha.md").ends_with("v2\n"));
}

#[test]
fn confirmation_on_a_terminal_accepts_only_yes() {
    let ran = applied();
    let mut child = holder(&ran);
    child.stdin.take().unwrap().write_all(b"yes\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Do you want to apply these changes?"),
        "{text}"
    );
    assert!(
        text.contains("Apply complete! Agents: 0 added, 1 changed, 0 destroyed."),
        "{text}"
    );
    assert!(ran.read(".claude/agents/alpha.md").ends_with("v2\n"));
}

#[test]
fn two_applies_at_once_never_interleave() {
    let agents: Vec<(String, String)> = (0..400)
        .map(|i| (format!("a{i:03}"), format!("prompt {i}")))
        .collect();
    let refs: Vec<(&str, &str)> = agents
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let ran = Test::new()
        .manifest(&inline_manifest(&refs))
        .args(&["plan"])
        // partial: 400 rows
        .stdout_has("\nPlan: 400 to add, 0 to change, 0 to destroy.\n")
        .success();
    let spawn = || {
        Command::new(BIN)
            .args(["apply", "-y"])
            .current_dir(ran.path(""))
            .env("HOME", ran.path("home"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let outs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
    let ok = outs.iter().filter(|o| o.status.success()).count();
    assert!(ok >= 1);
    for o in outs.iter().filter(|o| !o.status.success()) {
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("locked by another mpm")
                || err.contains("changed since the plan was made"),
            "{err}"
        );
    }
    ran.then()
        .args(&["plan"])
        .stdout("No changes. The agents in `.claude` match `mpm.yaml`.\n")
        .success();
    // one generation: the apply that lost the race wrote none
    ran.then()
        .args(&["history"])
        .stdout("*   1  [TIME]  apply          +400 ~0 -0  mpm apply -y\n")
        .success();
}

/// A reader looks at the state log while the agents render, but not by waiting
/// for a writer's lock: a manifest that does not render says so at once, even
/// with a long `--lock-timeout`.
#[test]
fn a_manifest_error_is_not_kept_waiting_for_a_writers_lock() {
    let ran = applied();
    let mut child = holder(&ran);
    wait_for_holder(&ran);
    let started = Instant::now();
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
        .args(&["plan", "--lock-timeout", "60s"])
        .stderr_has("template `templates/missing.json` not found")
        .failure();
    // not a measure of speed: waiting for the lock would take the whole minute
    assert!(started.elapsed() < Duration::from_secs(30));
    child.stdin.take().unwrap().write_all(b"no\n").unwrap();
    let _ = child.wait();
}
