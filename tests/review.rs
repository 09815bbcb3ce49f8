//! Code review from a fresh clone. The state log is ignored by git, so a clone of a
//! project whose `.claude/agents/*.md` are committed had none: `plan
//! --detailed-exitcode` exited 2 though every file matched, and a pull request
//! that changed a template showed each changed agent as a conflict ("mpm did not
//! write it") with no diff. `mpm.lock`, committed beside `mpm.yaml`, records what
//! mpm deployed; the clone recognises mpm's files by it.

use crate::harness::{Ran, Test};
use std::process::Command;

fn git(dir: &std::path::Path, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A project with two template agents applied and committed (agents, manifest,
/// templates, lock file), and a clone of it in `clone/`.
fn cloned() -> Ran {
    let ran = Test::new()
        .template("qa", "1.0.0", "Test things.")
        .template("docs", "1.0.0", "Write docs.")
        .manifest(
            "
            version: 1
            agents:
              qa:
                template: templates/qa.json
              docs:
                template: templates/docs.json
            ",
        )
        .args(&["apply", "-y"])
        .stdout_any()
        .success();
    let origin = ran.path("");
    git(&origin, &["init", "-q", "-b", "main"]);
    git(&origin, &["add", "-A"]);
    git(&origin, &["commit", "-qm", "agents"]);
    git(
        &origin,
        &["clone", "-q", &origin.display().to_string(), "clone"],
    );
    assert!(
        !ran.exists("clone/.claude/.mpm"),
        "the state log was committed"
    );
    assert!(
        ran.exists("clone/mpm.lock"),
        "the lock file was not committed"
    );
    ran
}

#[test]
fn a_fresh_clone_whose_committed_agents_match_has_no_changes_to_review() {
    let ran = cloned();
    ran.then()
        .current_dir("clone")
        .args(&["plan", "--detailed-exitcode"])
        .stdout(
            "
            State only (no file is written):
              agents/docs.md already holds what mpm would write: recorded as mpm's
              agents/qa.md already holds what mpm would write: recorded as mpm's

            Plan: 0 to add, 0 to change, 0 to destroy.
            ",
        )
        .success();
    ran.then()
        .current_dir("clone")
        .args(&["verify"])
        .stdout_any()
        .success();
}

#[test]
fn a_pull_request_changing_a_template_shows_the_agent_as_changed_with_its_diff() {
    let ran = cloned();
    ran.then()
        .template("qa", "1.1.0", "Test things twice.")
        .args(&["plan"])
        .stdout_any()
        .success();
    std::fs::copy(
        ran.path("templates/qa.json"),
        ran.path("clone/templates/qa.json"),
    )
    .unwrap();
    ran.then()
        .current_dir("clone")
        .args(&["plan", "--detailed-exitcode"])
        .stdout(
            "
            mpm will make these changes in `.claude`:

              ~ qa        1.0.0 → 1.1.0    agents/qa.md

                --- agents/qa.md (on disk)
                +++ agents/qa.md (after apply)
                @@ -1,9 +1,9 @@
                 ---
                -# managed by mpm: qa 1.0.0 from templates/qa.json; edit mpm.yaml, not this file
                +# managed by mpm: qa 1.1.0 from templates/qa.json; edit mpm.yaml, not this file
                 name: qa
                 description: Use for qa work
                 model: sonnet
                 tools: Read, Grep
                 color: blue
                 ---
                -Test things.
                +Test things twice.

            State only (no file is written):
              agents/docs.md already holds what mpm would write: recorded as mpm's

            Plan: 0 to add, 1 to change, 0 to destroy.
            ",
        )
        .status(2);
    // CI fails the pull request until the committed agents are applied
    ran.then()
        .current_dir("clone")
        .args(&["verify"])
        .stderr("1 path is out of sync with `mpm.yaml`; `mpm plan` shows what apply would do\n")
        .status(1);
    // applying in the clone brings the agents and the lock file up to date
    ran.then()
        .current_dir("clone")
        .args(&["apply", "-y"])
        .stdout_has("Apply complete! Agents: 0 added, 1 changed, 0 destroyed.\n")
        .success();
    let lock = ran.read("clone/mpm.lock");
    assert!(lock.contains("\"version\": \"1.1.0\""), "{lock}");
}

#[test]
fn a_hand_edit_of_a_committed_agent_is_told_from_a_manifest_change() {
    let ran = cloned();
    let path = ran.path("clone/.claude/agents/docs.md");
    let edited = std::fs::read_to_string(&path).unwrap() + "A hand edit.\n";
    std::fs::write(&path, edited).unwrap();
    ran.then()
        .current_dir("clone")
        .args(&["plan"])
        .stdout_has(
            "  ! agents/docs.md  was edited outside mpm since mpm wrote it\n",
        )
        .stderr("error: 1 conflict stops the plan; nothing was changed\nhint: each conflict above says what to do; `mpm apply --force` overwrites changes made outside mpm (kept for `mpm rollback`)\n")
        .failure();
}

#[test]
fn a_removed_agent_is_deleted_in_a_fresh_clone() {
    let ran = cloned();
    std::fs::write(
        ran.path("clone/mpm.yaml"),
        "version: 1\nagents:\n  qa:\n    template: templates/qa.json\n",
    )
    .unwrap();
    ran.then()
        .current_dir("clone")
        .args(&["plan", "--detailed-exitcode"])
        .stdout_has("  - docs      1.0.0            agents/docs.md\n")
        .status(2);
}

#[test]
fn the_lock_file_is_written_only_for_the_manifests_own_target_and_only_when_it_changes() {
    let ran = cloned();
    let lock = ran.read("mpm.lock");
    assert!(
        lock.starts_with("{\n  \"version\": 1,\n  \"files\": {\n    \"agents/docs.md\": {\n      \"agent\": \"docs\",\n      \"version\": \"1.0.0\",\n      \"sha256\": \""),
        "{lock}"
    );
    let before = std::fs::metadata(ran.path("mpm.lock"))
        .unwrap()
        .modified()
        .unwrap();
    ran.then()
        .args(&["apply", "-y"])
        .stdout("No changes. The agents in `.claude` match `mpm.yaml`.\n")
        .success();
    assert_eq!(
        std::fs::metadata(ran.path("mpm.lock"))
            .unwrap()
            .modified()
            .unwrap(),
        before
    );
    // another target is not what the lock file records
    ran.then()
        .template("qa", "1.1.0", "Test things twice.")
        .args(&["apply", "-y", "--target", "elsewhere"])
        .stdout_has("Apply complete! Agents: 2 added, 0 changed, 0 destroyed.\n")
        .success();
    assert_eq!(ran.read("mpm.lock"), lock);
    // a missing one is written again, even by an apply with nothing else to do
    std::fs::remove_file(ran.path("clone/mpm.lock")).unwrap();
    ran.then()
        .current_dir("clone")
        .args(&["apply", "-y"])
        .stdout_has("Apply complete! Agents: 0 added, 0 changed, 0 destroyed.\n")
        .success();
    assert_eq!(ran.read("clone/mpm.lock"), lock);
    std::fs::remove_file(ran.path("clone/mpm.lock")).unwrap();
    ran.then()
        .current_dir("clone")
        .args(&["apply", "-y"])
        .stdout("No changes. The agents in `.claude` match `mpm.yaml`.\n")
        .stderr("Wrote `mpm.lock`.\n")
        .success();
    assert_eq!(ran.read("clone/mpm.lock"), lock);
}

#[test]
fn a_broken_lock_file_is_located_with_a_way_out() {
    let ran = cloned();
    std::fs::write(
        ran.path("clone/mpm.lock"),
        "{\n  \"version\": 1,\n  \"files\": 3\n}\n",
    )
    .unwrap();
    ran.then()
        .current_dir("clone")
        .args(&["plan"])
        .stderr(
            "
            error: `mpm.lock` is not a valid mpm lock file: invalid type: integer `3`, expected a map
             --> mpm.lock:3:12
              |
            3 |   \"files\": 3
              |            ^
            hint: `mpm apply` writes this file: restore it from git (`git checkout mpm.lock`), or delete it and mpm writes a new one
            ",
        )
        .failure();
}

/// A committed `mpm.lock` is a file anyone can edit in a pull request: one that
/// claimed `settings.json` made apply delete it. It may speak for mpm's agent
/// files only.
#[test]
fn a_lock_file_naming_a_file_that_is_not_an_agent_is_refused() {
    let ran = cloned();
    std::fs::write(
        ran.path("clone/.claude/settings.json"),
        "{\"theme\":\"dark\"}\n",
    )
    .unwrap();
    let lock = ran.read("clone/mpm.lock").replace(
        "\"files\": {",
        "\"files\": {\n    \"settings.json\": {\n      \"agent\": null,\n      \"sha256\": \"6a5e8ba2e5c3e0e5a1c1c1e8f8f0f1e6d3c0b3a1e2f4d5c6b7a8e9f0a1b2c3d4\"\n    },",
    );
    std::fs::write(ran.path("clone/mpm.lock"), lock).unwrap();
    ran.then()
        .current_dir("clone")
        .args(&["apply", "-y"])
        .stderr(
            "
            error: `mpm.lock` names `settings.json`, which is not an agent file mpm writes
            hint: mpm writes only `agents/<name>.md` and records only those; restore the file from git (`git checkout mpm.lock`), or delete it and mpm writes a new one
            ",
        )
        .failure();
    assert_eq!(
        ran.read("clone/.claude/settings.json"),
        "{\"theme\":\"dark\"}\n"
    );
}

/// A pull request that removed an agent and its file but kept it in `mpm.lock`
/// passed `verify`: the committed record was stale.
#[test]
fn verify_fails_when_the_committed_lock_file_is_stale() {
    let ran = cloned();
    std::fs::write(
        ran.path("clone/mpm.yaml"),
        "version: 1\nagents:\n  qa:\n    template: templates/qa.json\n",
    )
    .unwrap();
    std::fs::remove_file(ran.path("clone/.claude/agents/docs.md")).unwrap();
    ran.then()
        .current_dir("clone")
        .args(&["verify"])
        .stderr("`mpm.lock` does not record what is deployed; `mpm apply` brings it up to date\n")
        .status(1);
}
