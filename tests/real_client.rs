//! The real Claude Code client loads every agent mpm writes. Ignored unless asked
//! for (`MPM_REAL_CLIENT=1 scripts/test`, which CI does): `claude-agents-loaded DIR`
//! (`../shared/tools/` beside the clone, or `MPM_CLAUDE_AGENTS_LOADED`) installs the
//! client from the npm registry and prints the names it loaded. Asked to run, the
//! test fails when the client cannot run: a check that did not happen is not a pass.

use crate::harness::{Ran, Test};
use std::path::{Path, PathBuf};

fn tool() -> PathBuf {
    let path = std::env::var_os("MPM_CLAUDE_AGENTS_LOADED")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tools/claude-agents-loaded")
        });
    assert!(
        path.is_file(),
        "the real-client test needs `claude-agents-loaded` at `{}` (or set MPM_CLAUDE_AGENTS_LOADED)",
        path.display()
    );
    path
}

fn loaded(tool: &Path, config_dir: &Path) -> Vec<String> {
    let out = std::process::Command::new(tool)
        .arg(config_dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{}`: {e}", tool.display()));
    // exit 2: the client could not run (no node or npm, install failed, timeout)
    assert!(
        out.status.success(),
        "the real Claude Code client did not run ({}):\n{}",
        out.status,
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
    assert_eq!(
        loaded(tool, &ran.path(dir)),
        expected,
        "the agents the real client loaded from `{dir}`"
    );
}

#[test]
#[ignore = "needs the real Claude Code client: MPM_REAL_CLIENT=1 scripts/test"]
fn the_real_client_loads_every_agent_mpm_writes() {
    let tool = tool();
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
    let releases = crate::claude_mpm::releases().expect(
        "the real-client test loads claude-mpm's templates too: run it through scripts/test",
    );
    for version in ["4.26.4", "4.0.3", "3.9.11"] {
        let (ran, _) = crate::claude_mpm::migrate(&releases, version);
        assert_loads(&tool, &ran, ".claude");
    }
}
