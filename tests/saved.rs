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
