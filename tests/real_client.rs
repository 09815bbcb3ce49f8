//! Opt-in (`MPM_REAL_CLIENT=1`): the real Claude Code client loads every agent mpm
//! writes. `../shared/tools/claude-agents-loaded DIR` (or `MPM_CLAUDE_AGENTS_LOADED`)
//! installs the client from the npm registry and prints the names it loaded.

use crate::harness::{Ran, Test};
use std::path::{Path, PathBuf};

fn tool() -> Option<PathBuf> {
    if std::env::var("MPM_REAL_CLIENT").ok().as_deref() != Some("1") {
        eprintln!("skipped: set MPM_REAL_CLIENT=1 to check with the real Claude Code client");
        return None;
    }
    let path = std::env::var_os("MPM_CLAUDE_AGENTS_LOADED")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tools/claude-agents-loaded")
        });
    assert!(path.is_file(), "no {}", path.display());
    Some(path)
}

fn loaded(tool: &Path, config_dir: &Path) -> Vec<String> {
    let out = std::process::Command::new(tool)
        .arg(config_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

fn assert_loads(tool: &Path, ran: &Ran, dir: &str) {
    let mut expected: Vec<String> = std::fs::read_dir(ran.path(&format!("{dir}/agents")))
        .unwrap()
        .flatten()
        .map(|e| {
            e.file_name()
                .to_string_lossy()
                .trim_end_matches(".md")
                .to_string()
        })
        .collect();
    expected.sort();
    assert_eq!(loaded(tool, &ran.path(dir)), expected);
}

#[test]
fn the_real_client_loads_every_agent_mpm_writes() {
    let Some(tool) = tool() else { return };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // the repository's own agents
    let t = Test::new();
    for dir in ["templates", "examples"] {
        let status = std::process::Command::new("cp")
            .arg("-r")
            .arg(root.join(dir))
            .arg(t.path(dir))
            .status()
            .unwrap();
        assert!(status.success());
    }
    std::fs::copy(root.join("mpm.yaml"), t.path("mpm.yaml")).unwrap();
    // partial: the plan text is pinned in tests/examples.rs; this test is about what
    // the client loads
    let ran = t
        .args(&["apply", "-y", "--target", "cfg"])
        .stdout_has("Apply complete! ")
        .success();
    assert_loads(&tool, &ran, "cfg");
    // every example
    for example in ["inline", "claude-mpm-layout", "ready-files", "overrides"] {
        let dir = format!("examples/{example}");
        let out = format!("out-{example}");
        ran.then()
            .current_dir(&dir)
            .args(&["apply", "-y", "--target", &format!("../../{out}")])
            .stdout_has("Apply complete! ")
            .success();
        assert_loads(&tool, &ran, &out);
    }
    // real claude-mpm templates, migrated
    if let Some(releases) = crate::claude_mpm::releases() {
        for version in ["4.26.4", "4.0.3", "3.9.11"] {
            let (ran, _) = crate::claude_mpm::migrate(&releases, version);
            assert_loads(&tool, &ran, ".claude");
        }
    }
}
