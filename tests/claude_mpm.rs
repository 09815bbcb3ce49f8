//! The templates real claude-mpm releases ship, read unchanged: every one of
//! 4.26.4 (39), 4.0.3 (15) and 3.9.11 (14), irregular ones included. They are
//! fetched from PyPI by `scripts/fetch-claude-mpm-templates DIR` and found through
//! `MPM_CLAUDE_MPM_RELEASES=DIR`; CI always sets it, elsewhere the test says it
//! skipped.

use crate::harness::{Ran, Test, copy_dir};
use std::path::{Path, PathBuf};

pub fn releases() -> Option<PathBuf> {
    match std::env::var_os("MPM_CLAUDE_MPM_RELEASES") {
        Some(dir) => Some(PathBuf::from(dir)),
        None if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!(
                "CI must fetch claude-mpm's templates: scripts/fetch-claude-mpm-templates DIR, then MPM_CLAUDE_MPM_RELEASES=DIR"
            )
        }
        None => {
            eprintln!(
                "skipped: set MPM_CLAUDE_MPM_RELEASES (scripts/fetch-claude-mpm-templates DIR) to test real claude-mpm templates"
            );
            None
        }
    }
}

/// Migrates one release with `init --from-templates` and applies it.
pub fn migrate(releases: &Path, version: &str) -> (Ran, Vec<String>) {
    let t = Test::new();
    copy_dir(&releases.join(version).join("agents"), &t.path("agents"));
    let mut stems: Vec<String> = std::fs::read_dir(t.path("agents/templates"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .map(|e| e.path().file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    stems.sort();
    // nothing skipped: every template of the release is read
    let ran = t
        .args(&["init", "--from-templates", "agents/templates"])
        .stderr(&format!(
            "Wrote `mpm.yaml` with {} agents. Next: `mpm plan`, then `mpm apply`.\n",
            stems.len()
        ))
        .success();
    // partial: the plan lists every agent of the release (up to 39)
    ran.then()
        .args(&["apply", "-y"])
        .stdout_has(&format!(
            "Apply complete! Agents: {} added, 0 changed, 0 destroyed.",
            stems.len()
        ))
        .success();
    ran.then()
        .args(&["plan"])
        .stdout("No changes. The agents in `.claude` match `mpm.yaml`.\n")
        .success();
    let names: Vec<String> = stems
        .iter()
        .map(|s| s.to_lowercase().replace('_', "-"))
        .collect();
    for name in &names {
        let text = ran.read(&format!(".claude/agents/{name}.md"));
        assert_eq!(
            mpm::agent_file::check_ready_file(&text).map_err(|p| p.0),
            Ok(name.clone()),
            "{version} {name}"
        );
    }
    (ran, names)
}

#[test]
fn every_template_of_three_releases_migrates_and_applies() {
    let Some(releases) = releases() else { return };
    for (version, count) in [("4.26.4", 39), ("4.0.3", 15), ("3.9.11", 14)] {
        let (ran, names) = migrate(&releases, version);
        assert_eq!(names.len(), count, "{version}");
        if version == "4.26.4" {
            let manifest = ran.read("mpm.yaml");
            assert!(
                manifest.contains("model: sonnet   # the template says \"sonnet-4.5\""),
                "{manifest}"
            );
            // claude-mpm 4.26.4 dropped `tools:`; mpm keeps what the template says
            assert!(ran.read(".claude/agents/engineer.md").contains("\ntools: "));
            // BASE_QA.md opens the qa agent's prompt, as claude-mpm meant it
            let base = std::fs::read_to_string(releases.join("4.26.4/agents/BASE_QA.md")).unwrap();
            let qa = ran.read(".claude/agents/qa.md");
            let body = qa.splitn(3, "---\n").nth(2).unwrap();
            assert!(
                body.starts_with(base.trim_matches('\n')),
                "qa.md does not start with BASE_QA.md"
            );
            // base_agent.json's instructions are merged (4.26.4 never did)
            assert!(manifest.contains("base: agents/base_agent.json"));
        }
    }
}
