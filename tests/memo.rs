//! The render memo: a no-change plan renders nothing, because each agent's
//! rendered digest is kept under the digest of its inputs. These tests change each
//! kind of input and check that the next plan sees it.

use crate::harness::{Ran, Test};

const MANIFEST: &str = "
    version: 1
    defaults:
      model: sonnet
    agents:
      qa:
        template: templates/qa.json
      notes:
        description: Takes notes
        prompt: Take notes.
    ";

fn applied() -> Ran {
    Test::new()
        .template("qa", "1.0.0", "Test things.")
        .manifest(MANIFEST)
        .args(&["apply", "-y"])
        .stdout_any()
        .success()
}

fn no_changes(ran: &Ran) {
    ran.then()
        .args(&["plan"])
        .stdout("No changes. The agents in `.claude` match `mpm.yaml`.\n")
        .success();
}

fn changes(ran: &Ran, line: &str) {
    ran.then()
        .args(&["plan", "--detailed-exitcode"])
        .stdout_has(line)
        .status(2);
}

#[test]
fn an_apply_keeps_what_each_agent_rendered_to() {
    let ran = applied();
    let memo: serde_json::Value =
        serde_json::from_str(&ran.read(".claude/.mpm/render-memo.json")).unwrap();
    assert_eq!(memo["entries"].as_array().map(Vec::len), Some(2), "{memo}");
    no_changes(&ran);
}

#[test]
fn a_template_edited_and_edited_back_is_planned_right_each_time() {
    let ran = applied();
    let original = ran.read("templates/qa.json");
    std::fs::write(
        ran.path("templates/qa.json"),
        original.replace("Test things.", "Test more things."),
    )
    .unwrap();
    changes(&ran, "  ~ qa        1.0.0            agents/qa.md\n");
    std::fs::write(ran.path("templates/qa.json"), &original).unwrap();
    no_changes(&ran);
}

#[test]
fn a_base_file_that_appears_beside_the_template_is_seen() {
    let ran = applied();
    // the template's folder is looked at before the one above it
    std::fs::write(ran.path("BASE_ENGINEER.md"), "Above.\n").unwrap();
    changes(&ran, "  ~ qa ");
    ran.then().args(&["apply", "-y"]).stdout_any().success();
    std::fs::write(ran.path("templates/BASE_ENGINEER.md"), "Beside.\n").unwrap();
    let plan = ran.then().args(&["plan"]).stdout_any().success();
    assert!(plan.stdout.contains("+Beside."), "{}", plan.stdout);
    assert!(plan.stdout.contains("-Above."), "{}", plan.stdout);
}

#[test]
fn a_change_of_defaults_or_of_an_inline_agent_is_seen() {
    let ran = applied();
    ran.then()
        .manifest(&MANIFEST.replace("model: sonnet", "model: haiku"))
        .args(&["plan", "--detailed-exitcode"])
        .stdout_has("Plan: 0 to add, 2 to change, 0 to destroy.\n")
        .status(2);
    ran.then()
        .manifest(&MANIFEST.replace("Take notes.", "Take short notes."))
        .args(&["plan", "--detailed-exitcode"])
        .stdout_has("Plan: 0 to add, 1 to change, 0 to destroy.\n")
        .status(2);
}

/// The memo is really what a no-change plan goes by (so that it renders
/// nothing); a memo damaged by hand makes a wrong plan, which apply then refuses
/// as stale rather than write bytes nobody reviewed.
#[test]
fn a_no_change_plan_goes_by_the_memo_and_apply_checks_what_it_renders() {
    let ran = applied();
    let path = ran.path(".claude/.mpm/render-memo.json");
    let mut memo: serde_json::Value =
        serde_json::from_str(&ran.read(".claude/.mpm/render-memo.json")).unwrap();
    for entry in memo["entries"].as_array_mut().unwrap() {
        entry[1]["digest"] = "0".repeat(64).into();
    }
    std::fs::write(&path, memo.to_string()).unwrap();
    let plan = ran
        .then()
        .args(&["plan", "--json", "--detailed-exitcode"])
        .stdout_any()
        .status(2);
    assert!(plan.stdout.contains("\"change\": 2"), "{}", plan.stdout);
    // rendering them for the diff finds the memo wrong: nothing is written
    ran.then()
        .args(&["apply", "-y"])
        .stdout_any()
        .stderr_has("error: the plan is stale: 1 thing changed since it was made\n")
        .failure();
    // a memo that cannot be read is no memo
    std::fs::write(&path, "{").unwrap();
    no_changes(&ran);
    // nor is one another mpm wrote
    memo["mpm"] = "0.0.0".into();
    std::fs::write(&path, memo.to_string()).unwrap();
    no_changes(&ran);
}
