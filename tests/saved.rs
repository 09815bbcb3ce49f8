//! Saved plans (`mpm plan --out FILE`, `mpm apply FILE`): defects found in review.

use crate::harness::{Test, inline_manifest};

fn two() -> String {
    inline_manifest(&[("alpha", "Do alpha."), ("beta", "Do beta.")])
}

/// `--state-dir` was silently ignored when applying a saved plan: the plan's own
/// state folder was used. Now a different one is refused, naming both.
#[test]
fn a_saved_plan_refuses_another_state_dir() {
    let ran = Test::new()
        .manifest(&two())
        .args(&["plan", "--out", "p.json"])
        .stdout_any()
        .stderr("Saved the plan to `p.json`. Apply exactly it with: mpm apply p.json\n")
        .success();
    ran.then()
        .args(&["apply", "p.json", "--state-dir", "elsewhere"])
        .stderr(
            "
            error: the saved plan `p.json` was made for `--state-dir [TMP]/.claude/.mpm`; a saved plan is applied where it was made
            hint: drop `--state-dir`, or make a plan with it: `mpm plan --state-dir DIR --out FILE`
            ",
        )
        .failure();
    // the same folder, spelled out, is fine
    ran.then()
        .args(&["apply", "p.json", "--state-dir", ".claude/.mpm"])
        .stdout("Apply complete! Agents: 2 added, 0 changed, 0 destroyed.\n")
        .success();
}

/// A stale plan for a target without a state log created `.mpm` and an empty pack
/// before refusing: a refused command writes nothing (`.failure()` compares the
/// whole tree).
#[test]
fn a_stale_saved_plan_creates_no_state_folder() {
    let ran = Test::new()
        .manifest(&two())
        .args(&["plan", "--out", "p.json"])
        .stdout_any()
        .stderr("Saved the plan to `p.json`. Apply exactly it with: mpm apply p.json\n")
        .success();
    // the target moved on since the plan; the manifest did not
    std::fs::create_dir_all(ran.path(".claude/agents")).unwrap();
    std::fs::write(ran.path(".claude/agents/alpha.md"), "mine\n").unwrap();
    ran.then()
        .args(&["apply", "p.json"])
        .stderr(
            "
            error: the saved plan `p.json` is stale: 1 thing changed since it was made
              caused by: `agents/alpha.md` changed since the plan was made
            hint: run `mpm plan --out FILE` again and review the new plan
            ",
        )
        .failure();
    assert!(!ran.exists(".claude/.mpm"));
}

/// The same with a state log: no new pack, no pending generation.
#[test]
fn a_stale_saved_plan_adds_nothing_to_the_state_log() {
    let ran = Test::new()
        .manifest(&two())
        .args(&["apply", "-y"])
        .stdout_any()
        .success();
    ran.then()
        .manifest(&inline_manifest(&[
            ("alpha", "Do more."),
            ("beta", "Do beta."),
        ]))
        .args(&["plan", "--out", "p.json"])
        .stdout_any()
        .stderr("Saved the plan to `p.json`. Apply exactly it with: mpm apply p.json\n")
        .success();
    std::fs::write(ran.path(".claude/agents/alpha.md"), "edited\n").unwrap();
    ran.then()
        .args(&["apply", "p.json"])
        .stderr(
            "
            error: the saved plan `p.json` is stale: 1 thing changed since it was made
              caused by: `agents/alpha.md` changed since the plan was made
            hint: run `mpm plan --out FILE` again and review the new plan
            ",
        )
        .failure();
}

/// A saved plan is a file anyone can edit, and its checksum anyone can compute: a
/// forged one wrote outside `agents/`, into a system directory, through a link.
fn forged(ran: &crate::harness::Ran, edit: impl Fn(&mut serde_json::Value)) {
    let mut plan: serde_json::Value = serde_json::from_str(&ran.read("p.json")).unwrap();
    edit(&mut plan);
    let body = serde_json::json!([
        plan["target"],
        plan["state_dir"],
        plan["options"],
        plan["manifest"],
        plan["inputs"],
        plan["plan"],
        plan["contents"]
    ]);
    let digest = {
        use sha2::Digest as _;
        let d = sha2::Sha256::digest(serde_json::to_vec(&body).unwrap());
        d.iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    plan["checksum"] = serde_json::Value::String(digest);
    std::fs::write(
        ran.path("p.json"),
        serde_json::to_string_pretty(&plan).unwrap(),
    )
    .unwrap();
}

fn planned() -> crate::harness::Ran {
    Test::new()
        .manifest(&two())
        .args(&["plan", "--out", "p.json"])
        .stdout_any()
        .stderr("Saved the plan to `p.json`. Apply exactly it with: mpm apply p.json\n")
        .success()
}

#[test]
fn a_forged_saved_plan_writes_nothing_but_agent_files() {
    let ran = planned();
    forged(&ran, |p| {
        p["plan"]["rows"][0]["address"] = "r/forged.md".into();
    });
    ran.then()
        .args(&["apply", "p.json"])
        .stderr(
            "
            error: the saved plan `p.json` writes `r/forged.md`, which is not an agent file
            hint: mpm writes only `agents/**.md` and keys of `settings.json` and `settings.local.json` in a target: make the plan again with `mpm plan --out FILE`
            ",
        )
        .failure();
}

#[test]
fn a_forged_saved_plan_for_a_system_directory_is_refused() {
    let ran = planned();
    forged(&ran, |p| {
        p["target"] = "/etc".into();
        p["state_dir"] = "/etc/.mpm".into();
    });
    ran.then()
        .args(&["apply", "p.json"])
        .stderr_has("error: the target `/etc` is a system directory")
        .failure();
    assert!(!std::path::Path::new("/etc/agents/alpha.md").exists());
}

#[test]
fn a_saved_plan_does_not_write_through_a_link_made_after_it() {
    let ran = planned();
    std::fs::create_dir_all(ran.path("outside")).unwrap();
    std::fs::create_dir_all(ran.path(".claude")).unwrap();
    std::os::unix::fs::symlink(ran.path("outside"), ran.path(".claude/agents")).unwrap();
    ran.then()
        .args(&["apply", "p.json"])
        .stderr(
            "
            error: `.claude/agents` is a symbolic link to `[TMP]/outside`, outside the target `.claude`
            hint: mpm never writes through a link that leaves the target; replace the link with a directory
            ",
        )
        .failure();
    assert_eq!(std::fs::read_dir(ran.path("outside")).unwrap().count(), 0);
}

#[test]
fn a_saved_plan_that_is_not_a_regular_file_is_refused() {
    Test::new()
        .args(&["apply", "/dev/zero"])
        .stderr(
            "
            error: `/dev/zero` is not a saved mpm plan: it is not a regular file
            hint: make one with `mpm plan --out FILE`
            ",
        )
        .failure();
    Test::new()
        .args(&["apply", "nothing.json"])
        .stderr(
            "
            error: saved plan `nothing.json` not found
            hint: make one with `mpm plan --out FILE`, or check the path
            ",
        )
        .failure();
}

/// A forged plan wrote a nested `agents/sub/x.md` (which mpm never writes), and
/// one named a state folder in `/etc`.
#[test]
fn a_forged_saved_plan_writes_only_where_agents_go_and_keeps_its_state_in_the_target() {
    let ran = planned();
    forged(&ran, |p| {
        p["plan"]["rows"][0]["address"] = "agents/sub/x.md".into();
    });
    ran.then()
        .args(&["apply", "p.json"])
        .stderr_has(
            "error: the saved plan `p.json` writes `agents/sub/x.md`, which is not an agent file\n",
        )
        .failure();
    let ran = planned();
    forged(&ran, |p| {
        p["state_dir"] = "/etc/mpm-state".into();
    });
    ran.then()
        .args(&["apply", "p.json"])
        .stderr(
            "
            error: the saved plan `p.json` keeps its state log in `/etc/mpm-state`, outside its target
            hint: pass that folder with `--state-dir` to apply it there, or make the plan again
            ",
        )
        .failure();
}
