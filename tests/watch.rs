//! `mpm watch`: the real binary as a child process in a temp directory, its
//! output read as it comes. Every wait is for output (with a generous limit),
//! never for a time, and no assertion is about a duration: where a test checks
//! that something did *not* happen (a second plan for one burst), it gives it
//! ample time to happen first, and then reads the whole output exactly.
//!
//! Saves are made by rename, as editors make them, so that each is one event;
//! the burst test also writes in place.

use crate::harness::{BIN, Ran, Test, inline_manifest, scrub, unindent};
use rustix::process::{Pid, Signal, kill_process};
use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long any one wait may take before the test fails: far more than a plan
/// takes on a loaded machine.
const LIMIT: Duration = Duration::from_secs(120);
/// Printed at the end of every round.
const ROUND_OVER: &str = "(Ctrl-C stops).\n";

/// A running `mpm watch`, and what it printed so far.
struct Watching {
    child: Child,
    dir: std::rc::Rc<tempfile::TempDir>,
    chunks: mpsc::Receiver<(bool, Vec<u8>)>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl Watching {
    /// `mpm ARGS` in the directory of `ran`, as the harness runs the binary.
    fn start(ran: &Ran, args: &[&str]) -> Watching {
        let mut child = Command::new(BIN)
            .args(args)
            .current_dir(ran.path(""))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", ran.path("home"))
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run mpm watch");
        let (send, chunks) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        let err = child.stderr.take().unwrap();
        for (is_out, mut pipe) in [
            (true, Box::new(out) as Box<dyn Read + Send>),
            (false, Box::new(err)),
        ] {
            let send = send.clone();
            std::thread::spawn(move || {
                let mut buf = [0; 8192];
                while let Ok(n @ 1..) = pipe.read(&mut buf) {
                    if send.send((is_out, buf[..n].to_vec())).is_err() {
                        return;
                    }
                }
            });
        }
        Watching {
            child,
            dir: ran.dir.clone(),
            chunks,
            stdout: Vec::new(),
            stderr: Vec::new(),
        }
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    fn show(&self) -> String {
        format!(
            "--- stdout\n{}--- stderr\n{}---",
            String::from_utf8_lossy(&self.stdout),
            self.stderr()
        )
    }

    /// Reads output until `done` says so.
    #[track_caller]
    fn read_until(&mut self, what: &str, done: impl Fn(&Watching) -> bool) {
        let start = Instant::now();
        while !done(self) {
            let left = LIMIT.saturating_sub(start.elapsed());
            match self.chunks.recv_timeout(left) {
                Ok((true, bytes)) => self.stdout.extend(bytes),
                Ok((false, bytes)) => self.stderr.extend(bytes),
                Err(_) => panic!("mpm watch: no {what}\n{}", self.show()),
            }
        }
    }

    /// Waits until `n` rounds (plans, or errors) are over in all.
    #[track_caller]
    fn rounds(&mut self, n: usize) {
        self.read_until(&format!("round {n}"), |w| {
            w.stderr().matches(ROUND_OVER).count() >= n
        });
    }

    /// Sends `signal`; waits for the exit, which must be 0, and returns the whole
    /// output, scrubbed.
    #[track_caller]
    fn stop_with(mut self, signal: Signal) -> (String, String) {
        kill_process(Pid::from_child(&self.child), signal).unwrap();
        // its last words, then its exit
        self.read_until("exit", |w| w.stderr().ends_with("Stopped watching.\n"));
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                start.elapsed() < LIMIT,
                "mpm watch did not exit\n{}",
                self.show()
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        // what it printed last
        while let Ok((is_out, bytes)) = self.chunks.recv_timeout(LIMIT) {
            if is_out {
                self.stdout.extend(bytes);
            } else {
                self.stderr.extend(bytes);
            }
        }
        assert_eq!(status.code(), Some(0), "exit code\n{}", self.show());
        let dir = self.dir.path().to_path_buf();
        (
            scrub(&String::from_utf8_lossy(&self.stdout), &dir),
            scrub(&self.stderr(), &dir),
        )
    }

    #[track_caller]
    fn stop(self) -> (String, String) {
        self.stop_with(Signal::INT)
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        // a test that failed halfway leaves no process behind
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Saves `text` (unindented) at `path` under the test directory as editors do:
/// a new file renamed over the old.
#[track_caller]
fn save(ran: &Ran, path: &str, text: &str) {
    let to = ran.path(path);
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    let temp = to.with_file_name(".save.tmp");
    std::fs::write(&temp, unindent(text)).unwrap();
    std::fs::rename(&temp, &to).unwrap();
}

/// A claude-mpm template, as the harness writes them.
fn template(version: &str) -> String {
    serde_json::to_string_pretty(&serde_json::json!({
        "schema_version": "1.3.0",
        "agent_id": "qa-agent",
        "agent_version": version,
        "agent_type": "engineer",
        "metadata": {"name": "qa", "description": "Use for qa work", "color": "blue"},
        "capabilities": {"model": "sonnet", "tools": ["Read", "Grep"]},
        "instructions": "Test things.",
    }))
    .unwrap()
}

/// What `mpm plan` prints in the test's directory now.
#[track_caller]
fn plan_now(ran: &Ran) -> String {
    let planned = ran
        .then()
        .args(&["plan"])
        .stdout_any() // the output of `mpm watch` is compared with it
        .success();
    scrub(&planned.stdout, ran.dir.path())
}

const ALPHA: &str = "
    mpm will make these changes in `.claude`:

      + alpha                      agents/alpha.md

    Plan: 1 to add, 0 to change, 0 to destroy.
    ";

#[test]
fn a_burst_of_saves_is_planned_once() {
    let ran = Test::new()
        .manifest("version: 1\nagents:\n  qa:\n    template: templates/qa.json\n")
        .template("qa", "1.0.0", "Test things.")
        .args(&["plan"])
        .stdout(
            "
            mpm will make these changes in `.claude`:

              + qa        1.0.0            agents/qa.md

            Plan: 1 to add, 0 to change, 0 to destroy.
            ",
        )
        .success();
    let first = plan_now(&ran);
    let mut watch = Watching::start(&ran, &["watch", "--debounce", "2000"]);
    watch.rounds(1);
    // the template written in place twice, then the manifest saved by rename:
    // well inside the window
    std::fs::write(ran.path("templates/qa.json"), template("1.1.0")).unwrap();
    std::fs::write(ran.path("templates/qa.json"), template("1.2.0")).unwrap();
    save(
        &ran,
        "mpm.yaml",
        &(inline_manifest(&[("notes", "Take notes.")])
            + "  qa:\n    template: templates/qa.json\n"),
    );
    watch.rounds(2);
    // twice the window: a second plan for the same burst would be out by now
    std::thread::sleep(Duration::from_secs(4));
    let (stdout, stderr) = watch.stop();
    let second = plan_now(&ran);
    assert_eq!(
        second,
        unindent(
            "
            mpm will make these changes in `.claude`:

              + notes                      agents/notes.md
              + qa        1.2.0            agents/qa.md

            Plan: 2 to add, 0 to change, 0 to destroy.
            "
        )
    );
    assert_eq!(stdout, first + &second);
    assert_eq!(
        stderr,
        unindent(
            "
            Watching `mpm.yaml` and 1 file it reads for changes (Ctrl-C stops).

            `templates/qa.json` and `mpm.yaml` changed; planning again.
            Watching `mpm.yaml` and 1 file it reads for changes (Ctrl-C stops).
            Stopped watching.
            "
        )
    );
}

#[test]
fn an_invalid_edit_prints_its_error_and_the_last_good_plan_stands() {
    let ran = Test::new()
        .manifest(&inline_manifest(&[("alpha", "v1")]))
        .args(&["plan"])
        .stdout(ALPHA)
        .success();
    let mut watch = Watching::start(&ran, &["watch", "--debounce", "300"]);
    watch.rounds(1);
    // each error is the one `mpm plan` prints
    let mut errors = Vec::new();
    for broken in [
        "version: 1\nagents: [\n",
        "version: 1\nagents:\n  qa:\n    template: templates/missing.json\n",
    ] {
        save(&ran, "mpm.yaml", broken);
        watch.rounds(errors.len() + 2);
        let planned = ran.then().args(&["plan"]).stderr_any().failure();
        errors.push(scrub(&planned.stderr, ran.dir.path()));
    }
    save(
        &ran,
        "mpm.yaml",
        &inline_manifest(&[("alpha", "v2"), ("beta", "v1")]),
    );
    watch.rounds(4);
    let (stdout, stderr) = watch.stop();
    assert_eq!(stdout, unindent(ALPHA) + &plan_now(&ran));
    assert_eq!(
        stderr,
        unindent(
            "
            Watching `mpm.yaml` for changes (Ctrl-C stops).

            `mpm.yaml` changed; planning again.
            error: invalid type: sequence, expected a map of agent names to agents in `agents`
             --> mpm.yaml:2:9
              |
            2 | agents: [
              |         ^
            The last good plan stands; watching `mpm.yaml` for changes (Ctrl-C stops).

            `mpm.yaml` changed; planning again.
            error: template `templates/missing.json` not found
             --> mpm.yaml:4:15
              |
            4 |     template: templates/missing.json
              |               ^^^^^^^^^^^^^^^^^^^^^^
            hint: paths in the manifest are relative to its directory, `[TMP]`
            The last good plan stands; watching `mpm.yaml` for changes (Ctrl-C stops).

            `mpm.yaml` changed; planning again.
            Watching `mpm.yaml` for changes (Ctrl-C stops).
            Stopped watching.
            "
        )
    );
    for error in &errors {
        assert!(stderr.contains(error.as_str()), "{error}");
    }
}

#[test]
fn a_template_the_manifest_comes_to_name_is_watched() {
    let ran = Test::new()
        .manifest(&inline_manifest(&[("alpha", "v1")]))
        .args(&["plan"])
        .stdout(ALPHA)
        .success();
    let mut watch = Watching::start(&ran, &["watch", "--debounce", "300"]);
    watch.rounds(1);
    // not read by any plan yet: not watched
    save(&ran, "templates/qa.json", &template("1.0.0"));
    save(
        &ran,
        "mpm.yaml",
        &(inline_manifest(&[("alpha", "v1")]) + "  qa:\n    template: templates/qa.json\n"),
    );
    watch.rounds(2);
    let second = plan_now(&ran);
    save(&ran, "templates/qa.json", &template("1.1.0"));
    watch.rounds(3);
    let (stdout, stderr) = watch.stop();
    assert_eq!(stdout, unindent(ALPHA) + &second + &plan_now(&ran));
    assert!(second.contains("+ qa        1.0.0"), "{second}");
    assert!(
        stdout.ends_with(
            "1.1.0            agents/qa.md\n\nPlan: 2 to add, 0 to change, 0 to destroy.\n"
        ),
        "{stdout}"
    );
    assert_eq!(
        stderr,
        unindent(
            "
            Watching `mpm.yaml` for changes (Ctrl-C stops).

            `mpm.yaml` changed; planning again.
            Watching `mpm.yaml` and 1 file it reads for changes (Ctrl-C stops).

            `templates/qa.json` changed; planning again.
            Watching `mpm.yaml` and 1 file it reads for changes (Ctrl-C stops).
            Stopped watching.
            "
        )
    );
}

#[test]
fn sigint_and_sigterm_stop_it_with_exit_0_and_no_lock_held() {
    for signal in [Signal::INT, Signal::TERM] {
        let ran = Test::new()
            .manifest(&inline_manifest(&[("alpha", "v1")]))
            .args(&["plan"])
            .stdout(ALPHA)
            .success();
        let mut watch = Watching::start(&ran, &["watch"]);
        watch.rounds(1);
        // waiting, it holds no lock: an apply goes through at once (the default
        // `--lock-timeout` is 0s), and what it writes beside the manifest
        // (`mpm.lock`) and in the target is no change to plan again for
        ran.then()
            .args(&["apply", "-y"])
            .stdout_has("Apply complete! Agents: 1 added, 0 changed, 0 destroyed.\n")
            .success();
        let (stdout, stderr) = watch.stop_with(signal);
        assert_eq!(stdout, unindent(ALPHA));
        assert_eq!(
            stderr,
            "Watching `mpm.yaml` for changes (Ctrl-C stops).\nStopped watching.\n"
        );
        save(&ran, "mpm.yaml", &inline_manifest(&[("alpha", "v2")]));
        ran.then()
            .args(&["apply", "-y"])
            .stdout_has("Apply complete! Agents: 0 added, 1 changed, 0 destroyed.\n")
            .success();
    }
}

#[test]
fn apply_applies_each_plan_without_conflicts() {
    let ran = Test::new()
        .manifest(&inline_manifest(&[("alpha", "v1")]))
        .args(&["plan"])
        .stdout(ALPHA)
        .success();
    let mut watch = Watching::start(&ran, &["watch", "--apply", "--debounce", "300"]);
    watch.rounds(1);
    assert!(ran.read(".claude/agents/alpha.md").ends_with("\nv1\n"));
    save(&ran, "mpm.yaml", &inline_manifest(&[("alpha", "v2")]));
    watch.rounds(2);
    assert!(ran.read(".claude/agents/alpha.md").ends_with("\nv2\n"));
    // a hand edit is a conflict: shown, and not overwritten
    std::fs::write(ran.path(".claude/agents/alpha.md"), "edited by hand\n").unwrap();
    save(&ran, "mpm.yaml", &inline_manifest(&[("alpha", "v3")]));
    watch.rounds(3);
    assert_eq!(ran.read(".claude/agents/alpha.md"), "edited by hand\n");
    let (stdout, stderr) = watch.stop();
    assert_eq!(
        stdout,
        unindent(
            "
            mpm will make these changes in `.claude`:

              + alpha                      agents/alpha.md

            Plan: 1 to add, 0 to change, 0 to destroy.
            Apply complete! Agents: 1 added, 0 changed, 0 destroyed.
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
            Conflicts (apply stops here, before any write):
              ! agents/alpha.md  was edited outside mpm since mpm wrote it
                  keep the edit: put it in the agent's source; drop it: `mpm apply --force` (the edited file is kept for `mpm rollback`)

            Plan: 0 to add, 0 to change, 0 to destroy.
            "
        )
    );
    assert_eq!(
        stderr,
        unindent(
            "
            Watching `mpm.yaml` for changes (Ctrl-C stops).

            `mpm.yaml` changed; planning again.
            Watching `mpm.yaml` for changes (Ctrl-C stops).

            `mpm.yaml` changed; planning again.
            error: 1 conflict stops the apply; nothing was changed
            hint: each conflict above says what to do; `mpm apply --force` overwrites changes made outside mpm (kept for `mpm rollback`)
            Watching `mpm.yaml` for changes (Ctrl-C stops).
            Stopped watching.
            "
        )
    );
}

#[test]
fn without_a_manifest_it_fails_at_once_as_plan_does() {
    let ran = Test::new()
        .args(&["plan"])
        .stderr_any() // compared with `mpm watch`'s below
        .failure();
    let error = scrub(&ran.stderr, ran.dir.path());
    assert!(
        error.starts_with("error: no `mpm.yaml` in `[TMP]`"),
        "{error}"
    );
    ran.then().args(&["watch"]).stderr(&error).failure();
}
