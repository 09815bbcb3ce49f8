//! Every example in `examples/` is applied (not just parsed), converges, and its
//! agent files pass mpm's own check of what the client loads.

use crate::harness::{Test, copy_dir, unindent};
use std::path::Path;

/// Applies `examples/<name>` to `cfg`; `rows` are the plan's lines for its agents.
fn apply_example(name: &str, expected_agents: &[&str], rows: &str) {
    let n = expected_agents.len();
    let rows: String = unindent(rows)
        .lines()
        .map(|row| format!("  {row}\n"))
        .collect();
    let t = Test::new();
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(name),
        &t.path(""),
    );
    let ran = t
        .args(&["apply", "-y", "--target", "cfg"])
        .stdout(&format!(
            "mpm will make these changes in `cfg`:\n\n{rows}\nPlan: {n} to add, 0 to change, 0 to destroy.\nApply complete! Agents: {n} added, 0 changed, 0 destroyed.\n"
        ))
        .success();
    ran.then()
        .args(&["plan", "--target", "cfg"])
        .stdout("No changes. The agents in `cfg` match `mpm.yaml`.\n")
        .success();
    let mut names: Vec<String> = std::fs::read_dir(ran.path("cfg/agents"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let expected: Vec<String> = expected_agents.iter().map(|a| format!("{a}.md")).collect();
    assert_eq!(names, expected, "example {name}");
    for file in &names {
        let text = ran.read(&format!("cfg/agents/{file}"));
        assert_eq!(
            mpm::agent_file::check_ready_file(&text).map_err(|p| p.0),
            Ok(file.trim_end_matches(".md").to_string())
        );
    }
}

#[test]
fn example_inline() {
    apply_example(
        "inline",
        &["explainer", "reviewer"],
        "
        + explainer                   agents/explainer.md
        + reviewer                    agents/reviewer.md
        ",
    );
}

#[test]
fn example_claude_mpm_layout() {
    apply_example(
        "claude-mpm-layout",
        &["api-qa", "release-notes"],
        "
        + api-qa         2.1.0            agents/api-qa.md
        + release-notes  1.0.0            agents/release-notes.md
        ",
    );
}

#[test]
fn example_ready_files() {
    apply_example(
        "ready-files",
        &["triage"],
        "
        + triage                     agents/triage.md
        ",
    );
}

#[test]
fn example_overrides() {
    apply_example(
        "overrides",
        &["builder", "checker"],
        "
        + builder   1.4.2            agents/builder.md
        + checker   1.4.2            agents/checker.md
        ",
    );
}

#[test]
fn the_repositorys_own_manifest() {
    let t = Test::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    copy_dir(&root.join("templates"), &t.path("templates"));
    std::fs::copy(root.join("mpm.yaml"), t.path("mpm.yaml")).unwrap();
    let ran = t
        .args(&["apply", "-y"])
        .stdout(
            "
            mpm will make these changes in `.claude`:

              + data-engineer    1.0.0            agents/data-engineer.md
              + documentation    1.0.0            agents/documentation.md
              + engineer         1.0.0            agents/engineer.md
              + ops              1.0.0            agents/ops.md
              + qa               1.0.0            agents/qa.md
              + research         1.0.0            agents/research.md
              + security         1.0.0            agents/security.md
              + version-control  1.0.0            agents/version-control.md

            Plan: 8 to add, 0 to change, 0 to destroy.
            Apply complete! Agents: 8 added, 0 changed, 0 destroyed.
            ",
        )
        .success();
    let qa = ran.read(".claude/agents/qa.md");
    assert!(qa.starts_with("---\n# managed by mpm: qa 1.0.0 from templates/qa.json; edit mpm.yaml, not this file\nname: qa\n"), "{qa}");
}

#[test]
fn every_example_is_tested() {
    let tested = ["inline", "claude-mpm-layout", "ready-files", "overrides"];
    for e in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples"))
        .unwrap()
        .flatten()
    {
        let name = e.file_name().to_string_lossy().into_owned();
        assert!(
            tested.contains(&name.as_str()),
            "examples/{name} has no test in tests/examples.rs"
        );
    }
}
