//! `mpm diff REF`: the agents rendered at a git revision against the working tree,
//! in real git repositories made here with the `git` command. No target and no
//! state log exist in any of these tests: the command must need neither.

use crate::harness::{Test, tree};
use mpm::diff::DiffJson;
use std::path::Path;
use std::process::Command;

/// Runs git in `dir` as a fixed author, away from the machine's configuration.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir.join("home"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "mpm test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "mpm test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim_end().to_string()
}

/// A repository in the test's directory with everything written so far committed.
fn committed(t: Test, message: &str) -> Test {
    let dir = t.path("");
    if !dir.join(".git").exists() {
        git(&dir, &["init", "-q", "-b", "main"]);
    }
    commit(&dir, message);
    t
}

fn commit(dir: &Path, message: &str) {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "--allow-empty", "-m", message]);
}

/// Blank context lines in a diff end in a space; `·` stands for it in the expected
/// text, where an editor would strip it.
fn spaces(text: &str) -> String {
    text.replace('·', " ")
}

const TWO: &str = "version: 1\nagents:\n  qa:\n    template: templates/qa.json\n  eng:\n    template: templates/eng.json\n";

fn two_templates() -> Test {
    Test::new()
        .template("qa", "3.5.2", "Test things.")
        .template("eng", "1.0.0", "Build things.")
        .manifest(TWO)
}

// A template edited in the working tree (not committed) is `~` with its version
// transition and the diff of the rendered file, and nothing is written anywhere,
// `.git` included.
#[test]
fn a_template_change_shows_the_version_bump_and_the_diff() {
    let t = committed(two_templates(), "agents").template("qa", "3.6.0", "Test things well.");
    let before = tree(&t.path(""));
    let ran = t
        .args(&["diff", "HEAD"])
        .stdout(
            "
            Changes to the agents from `HEAD` to the working tree:

              ~ qa        3.5.2 → 3.6.0    agents/qa.md

                --- agents/qa.md (HEAD)
                +++ agents/qa.md (working tree)
                @@ -1,9 +1,9 @@
                 ---
                -# managed by mpm: qa 3.5.2 from templates/qa.json; edit mpm.yaml, not this file
                +# managed by mpm: qa 3.6.0 from templates/qa.json; edit mpm.yaml, not this file
                 name: qa
                 description: Use for qa work
                 model: sonnet
                 tools: Read, Grep
                 color: blue
                 ---
                -Test things.
                +Test things well.

            Agents: 0 added, 1 changed, 0 removed.
            ",
        )
        .stderr("")
        .status(2);
    crate::harness::assert_same_tree(&before, &ran.tree());
    assert!(!ran.exists(".claude"), "diff needs no target");
}

// An agent added by the last commit is `+`, with its whole file.
#[test]
fn an_agent_added_since_ref_is_a_plus_with_its_whole_file() {
    let t = committed(
        Test::new()
            .template("qa", "3.5.2", "Test things.")
            .manifest("version: 1\nagents:\n  qa:\n    template: templates/qa.json\n"),
        "qa",
    );
    committed(
        t.template("eng", "1.0.0", "Build things.").manifest(TWO),
        "eng",
    )
    .args(&["diff", "HEAD~1"])
    .stdout(
        "
            Changes to the agents from `HEAD~1` to the working tree:

              + eng       1.0.0            agents/eng.md

                --- /dev/null
                +++ agents/eng.md (working tree)
                @@ -0,0 +1,9 @@
                +---
                +# managed by mpm: eng 1.0.0 from templates/eng.json; edit mpm.yaml, not this file
                +name: eng
                +description: Use for eng work
                +model: sonnet
                +tools: Read, Grep
                +color: blue
                +---
                +Build things.

            Agents: 1 added, 0 changed, 0 removed.
            ",
    )
    .stderr("")
    .status(2);
}

// An agent taken out of the manifest is `-`; REF is a remote-tracking branch, as in
// CI (`origin/main`).
#[test]
fn an_agent_removed_from_the_manifest_is_a_minus() {
    let t = committed(two_templates(), "agents");
    git(
        &t.path(""),
        &["update-ref", "refs/remotes/origin/main", "HEAD"],
    );
    t.manifest("version: 1\nagents:\n  qa:\n    template: templates/qa.json\n")
        .args(&["diff", "origin/main"])
        .stdout(
            "
            Changes to the agents from `origin/main` to the working tree:

              - eng       1.0.0            agents/eng.md

                --- agents/eng.md (origin/main)
                +++ /dev/null
                @@ -1,9 +0,0 @@
                ----
                -# managed by mpm: eng 1.0.0 from templates/eng.json; edit mpm.yaml, not this file
                -name: eng
                -description: Use for eng work
                -model: sonnet
                -tools: Read, Grep
                -color: blue
                ----
                -Build things.

            Agents: 0 added, 0 changed, 1 removed.
            ",
        )
        .stderr("")
        .status(2);
}

// `enabled: false` removes the agent's file on apply: the diff says so, and why.
// REF is a tag.
#[test]
fn a_disabled_agent_is_a_minus_marked_disabled() {
    let t = committed(two_templates(), "agents");
    git(&t.path(""), &["tag", "v1"]);
    t.manifest(&TWO.replace(
        "templates/eng.json\n",
        "templates/eng.json\n    enabled: false\n",
    ))
    .args(&["diff", "v1"])
    .stdout(
        "
        Changes to the agents from `v1` to the working tree:

          - eng       1.0.0            agents/eng.md  (disabled)

            --- agents/eng.md (v1)
            +++ /dev/null
            @@ -1,9 +0,0 @@
            ----
            -# managed by mpm: eng 1.0.0 from templates/eng.json; edit mpm.yaml, not this file
            -name: eng
            -description: Use for eng work
            -model: sonnet
            -tools: Read, Grep
            -color: blue
            ----
            -Build things.

        Agents: 0 added, 0 changed, 1 removed.
        ",
    )
    .stderr("")
    .status(2);
}

// The base template is an input of every agent: changing it changes them all, each
// diff showing the shared part. REF is a full commit id.
#[test]
fn a_base_template_change_changes_every_agent() {
    let t = committed(
        two_templates()
            .write(
                "templates/base_agent.json",
                r#"{"narrative_fields": {"instructions": "Shared rules."}}"#,
            )
            .manifest(&TWO.replace(
                "agents:\n",
                "defaults:\n  base: templates/base_agent.json\nagents:\n",
            )),
        "agents",
    );
    let commit = git(&t.path(""), &["rev-parse", "HEAD"]);
    let expected = spaces(&format!(
        "
        Changes to the agents from `{commit}` to the working tree:

          ~ eng       1.0.0            agents/eng.md
          ~ qa        3.5.2            agents/qa.md

            --- agents/eng.md ({commit})
            +++ agents/eng.md (working tree)
            @@ -6,7 +6,7 @@
             tools: Read, Grep
             color: blue
             ---
            -Shared rules.
            +Shared rules, revised.
            ·
             ---
            ·

            --- agents/qa.md ({commit})
            +++ agents/qa.md (working tree)
            @@ -6,7 +6,7 @@
             tools: Read, Grep
             color: blue
             ---
            -Shared rules.
            +Shared rules, revised.
            ·
             ---
            ·

        Agents: 0 added, 2 changed, 0 removed.
        "
    ));
    t.write(
        "templates/base_agent.json",
        r#"{"narrative_fields": {"instructions": "Shared rules, revised."}}"#,
    )
    .args(&["diff", &commit])
    .stdout(&expected)
    .stderr("")
    .status(2);
}

// A `BASE_<TYPE>.md` found beside the templates is looked for in REF's tree, not on
// disk: one added since REF changes the agents of that type.
#[test]
fn a_base_file_added_since_ref_changes_its_agents() {
    committed(
        Test::new()
            .template("qa", "3.5.2", "Test things.")
            .manifest("version: 1\nagents:\n  qa:\n    template: templates/qa.json\n"),
        "qa",
    )
    .write(
        "templates/BASE_ENGINEER.md",
        "Engineers read the code first.\n",
    )
    .args(&["diff", "main"])
    .stdout(&spaces(
        "
        Changes to the agents from `main` to the working tree:

          ~ qa        3.5.2            agents/qa.md

            --- agents/qa.md (main)
            +++ agents/qa.md (working tree)
            @@ -6,4 +6,8 @@
             tools: Read, Grep
             color: blue
             ---
            +Engineers read the code first.
            +
            +---
            +
             Test things.

        Agents: 0 added, 1 changed, 0 removed.
        ",
    ))
    .stderr("")
    .status(2);
}

// Files no agent reads (a template nobody uses, a README) change nothing.
#[test]
fn a_change_only_in_a_file_no_agent_reads_is_no_change() {
    committed(two_templates().write("README.md", "Agents.\n"), "agents")
        .template("unused", "1.0.0", "Nobody uses this.")
        .write("README.md", "Our agents.\n")
        .args(&["diff", "main"])
        .stdout("No changes. The agents rendered from the working tree match `main`.\n")
        .stderr("")
        .success();
}

// The manifest is found as everywhere (here in a subdirectory, through `-m` from
// another one); its inputs are resolved against its own directory in REF's tree,
// `..` included.
#[test]
fn a_manifest_in_a_subdirectory_reads_its_inputs_relative_to_it_at_ref() {
    committed(
        Test::new().template("qa", "3.5.2", "Test things.").write(
            "config/mpm.yaml",
            "version: 1\nagents:\n  qa:\n    template: ../templates/qa.json\n",
        ),
        "agents",
    )
    .template("qa", "3.5.3", "Test things.")
    .current_dir("docs")
    .args(&["-m", "../config/mpm.yaml", "diff", "main"])
    .stdout(
        "
        Changes to the agents from `main` to the working tree:

          ~ qa        3.5.2 → 3.5.3    agents/qa.md

            --- agents/qa.md (main)
            +++ agents/qa.md (working tree)
            @@ -1,5 +1,5 @@
             ---
            -# managed by mpm: qa 3.5.2 from ../templates/qa.json; edit mpm.yaml, not this file
            +# managed by mpm: qa 3.5.3 from ../templates/qa.json; edit mpm.yaml, not this file
             name: qa
             description: Use for qa work
             model: sonnet

        Agents: 0 added, 1 changed, 0 removed.
        ",
    )
    .stderr("")
    .status(2);
}

// With no manifest at REF (the pull request that introduces mpm), every agent is
// new, and stderr says why.
#[test]
fn a_manifest_absent_at_ref_makes_every_agent_added() {
    committed(Test::new().write("README.md", "A project.\n"), "start")
        .manifest("version: 1\nagents:\n  notes:\n    description: Takes notes\n    prompt: Take notes.\n")
        .args(&["diff", "main"])
        .stdout(
            "
            Changes to the agents from `main` to the working tree:

              + notes                      agents/notes.md

                --- /dev/null
                +++ agents/notes.md (working tree)
                @@ -0,0 +1,6 @@
                +---
                +# managed by mpm: notes (inline); edit mpm.yaml, not this file
                +name: notes
                +description: Takes notes
                +---
                +Take notes.

            Agents: 1 added, 0 changed, 0 removed.
            ",
        )
        .stderr("`mpm.yaml` is not in `main`: every agent counts as added\n")
        .status(2);
}

// A manifest that was invalid at REF is an error that points into the file as it
// is at REF (`REF:path:line:column`), not into the working tree's.
#[test]
fn a_manifest_invalid_at_ref_is_located_at_ref() {
    committed(
        Test::new()
            .template("qa", "3.5.2", "Test things.")
            .manifest("version: 1\nagents:\n  qa:\n    templat: templates/qa.json\n"),
        "broken",
    )
    .manifest("version: 1\nagents:\n  qa:\n    template: templates/qa.json\n")
    .args(&["diff", "main"])
    .stdout("")
    .stderr(
        "
        error: unknown key `templat` in `agents.qa`
         --> main:mpm.yaml:4:5
          |
        4 |     templat: templates/qa.json
          |     ^^^^^^^
        hint: did you mean `template`?
        ",
    )
    .failure();
}

// A template missing at REF names the manifest's line as it was at REF, and the file
// by its place in REF.
#[test]
fn a_template_missing_at_ref_is_an_error_about_ref() {
    let t = committed(
        Test::new().manifest("version: 1\nagents:\n  qa:\n    template: templates/qa.json\n"),
        "no template yet",
    );
    t.template("qa", "3.5.2", "Test things.")
        .args(&["diff", "main"])
        .stdout("")
        .stderr(
            "
            error: template `templates/qa.json` not found
             --> main:mpm.yaml:4:15
              |
            4 |     template: templates/qa.json
              |               ^^^^^^^^^^^^^^^^^
            hint: paths in the manifest are relative to its directory, `[TMP]`
            ",
        )
        .failure();
}

#[test]
fn an_unknown_ref_is_an_error() {
    committed(two_templates(), "agents")
        .args(&["diff", "mian"])
        .stdout("")
        .stderr(
            "
            error: unknown git revision `mian`
              caused by: couldn't parse revision, input=\"mian\": Reference \"mian\" could not be found: NotFound
            hint: give a branch, tag or commit (`main`, `v1.2.0`, `HEAD~1`, `origin/main`); a shallow CI clone may need `git fetch origin main` first
            ",
        )
        .failure();
}

// `git diff A..B` takes ranges; mpm diff compares one revision with the working
// tree, and says how to get the base of a pull request instead.
#[test]
fn a_range_is_refused_with_a_hint() {
    committed(two_templates(), "agents")
        .args(&["diff", "main..HEAD"])
        .stdout("")
        .stderr(
            "
            error: `main..HEAD` is a range; `mpm diff` compares one revision with the working tree
            hint: for a pull request, give the commit it starts from: `mpm diff $(git merge-base origin/main HEAD)`
            ",
        )
        .failure();
}

#[test]
fn outside_a_repository_is_an_error() {
    two_templates()
        .args(&["diff", "main"])
        .stdout("")
        .stderr(
            "
            error: the manifest `mpm.yaml` is not in a git repository
              caused by: Could not find a git repository in \"[TMP]\" or in any of its parents: NotFound
            hint: `mpm diff REF` compares the agents with a git revision of the manifest's repository; run it in a clone, or pass `--manifest` a file in one
            ",
        )
        .failure();
}

// The pull-request comment, exactly: a table, then each diff in a fence longer than
// any backtick run inside it (a prompt's own code block would close a ``` fence),
// short diffs open, long ones collapsed.
#[test]
fn markdown_is_a_pull_request_comment() {
    let long: String = (1..=40).map(|i| format!("Step {i}.\\n")).collect();
    let manifest = format!(
        "version: 1\nagents:\n  qa:\n    template: templates/qa.json\n  steps:\n    description: Follows steps\n    prompt: \"{long}\"\n"
    );
    let t = committed(
        Test::new()
            .template("qa", "3.5.2", "Run:\n```\ncargo test\n```")
            .manifest("version: 1\nagents:\n  qa:\n    template: templates/qa.json\n"),
        "qa",
    );
    let steps: String = (1..=40).map(|i| format!("+Step {i}.\n")).collect();
    let expected = format!(
        "### mpm diff: 1 added, 1 changed, 0 removed

The agents rendered from the working tree, compared with `main`.

| agent | change | before | after |
|---|---|---|---|
| `qa` | changed | 3.5.2 | 3.6.0 |
| `steps` | added |  |  |

<details open>
<summary><code>qa</code> changed, 3.5.2 → 3.6.0</summary>

````diff
--- agents/qa.md (main)
+++ agents/qa.md (working tree)
@@ -1,5 +1,5 @@
 ---
-# managed by mpm: qa 3.5.2 from templates/qa.json; edit mpm.yaml, not this file
+# managed by mpm: qa 3.6.0 from templates/qa.json; edit mpm.yaml, not this file
 name: qa
 description: Use for qa work
 model: sonnet
@@ -8,5 +8,5 @@
 ---
 Run:
 ```
-cargo test
+cargo test --locked
 ```
````

</details>

<details>
<summary><code>steps</code> added (48 lines)</summary>

```diff
--- /dev/null
+++ agents/steps.md (working tree)
@@ -0,0 +1,45 @@
+---
+# managed by mpm: steps (inline); edit mpm.yaml, not this file
+name: steps
+description: Follows steps
+---
{steps}```

</details>
"
    );
    t.template("qa", "3.6.0", "Run:\n```\ncargo test --locked\n```")
        .manifest(&manifest)
        .args(&["diff", "main", "--format", "markdown"])
        .stdout(&expected)
        .stderr("")
        .status(2);
}

#[test]
fn markdown_without_changes_says_so() {
    committed(two_templates(), "agents")
        .args(&["diff", "main", "--format", "markdown"])
        .stdout(
            "
            ### mpm diff: no changes

            The agents rendered from the working tree match `main`.
            ",
        )
        .stderr("")
        .success();
}

// The JSON is a contract: deserialising with `deny_unknown_fields` fails on a key
// added without a format bump.
#[test]
fn json_is_a_versioned_contract() {
    let t = committed(two_templates(), "agents");
    let commit = git(&t.path(""), &["rev-parse", "HEAD"]);
    let ran = t
        .template("qa", "3.6.0", "Test things well.")
        .manifest("version: 1\nagents:\n  qa:\n    template: templates/qa.json\n  notes:\n    description: Takes notes\n    prompt: Take notes.\n")
        .args(&["diff", "main", "--json"])
        .stdout_any() // deserialised and checked field by field below
        .stderr("")
        .status(2);
    let json: DiffJson = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(json.format_version, "1.0");
    assert_eq!(json.rev, "main");
    assert_eq!(json.commit.as_deref(), Some(commit.as_str()));
    assert_eq!(json.manifest, "mpm.yaml");
    assert!(json.manifest_at_ref);
    let agents: Vec<String> = json
        .agents
        .iter()
        .map(|a| {
            format!(
                "{} {} {:?} → {:?} {}",
                a.name, a.change, a.version_before, a.version_after, a.path
            )
        })
        .collect();
    assert_eq!(
        agents,
        [
            "eng removed Some(\"1.0.0\") → None agents/eng.md",
            "notes added None → None agents/notes.md",
            "qa changed Some(\"3.5.2\") → Some(\"3.6.0\") agents/qa.md",
        ]
    );
    let qa = &json.agents[2];
    let (before, after) = (qa.sha256_before.as_ref(), qa.sha256_after.as_ref());
    assert!(before.is_some_and(|s| s.len() == 64) && after.is_some_and(|s| s.len() == 64));
    assert_ne!(before, after);
    assert_eq!(json.agents[0].sha256_after, None);
    assert_eq!(json.agents[1].sha256_before, None);
    assert!(!json.agents[0].disabled);
    assert_eq!(
        (
            json.summary.added,
            json.summary.changed,
            json.summary.removed
        ),
        (1, 1, 1)
    );
    // the sha256 of what apply would write: the same bytes plan renders
    let plan = ran
        .then()
        .args(&["plan", "--json"])
        .stdout_any()
        .stderr("")
        .success();
    let plan: mpm::plan::PlanJson = serde_json::from_str(&plan.stdout).unwrap();
    let qa_after = plan
        .resource_changes
        .iter()
        .find(|r| r.address == "agents/qa.md")
        .and_then(|r| r.change.after.as_ref())
        .map(|f| f.sha256.clone());
    assert_eq!(qa_after.as_ref(), after);
}

// A template that is a symbolic link in the repository is followed in REF's tree,
// as the disk follows it: retargeting the link changes the agent.
#[test]
fn a_symlinked_template_is_followed_at_ref() {
    let t = Test::new()
        .template("qa-1", "3.5.2", "Test things.")
        .template("qa-2", "3.6.0", "Test things.")
        .manifest("version: 1\nagents:\n  qa:\n    template: templates/qa.json\n");
    std::os::unix::fs::symlink("qa-1.json", t.path("templates/qa.json")).unwrap();
    let t = committed(t, "qa");
    std::fs::remove_file(t.path("templates/qa.json")).unwrap();
    std::os::unix::fs::symlink("qa-2.json", t.path("templates/qa.json")).unwrap();
    t.args(&["diff", "main"])
        .stdout(
            "
            Changes to the agents from `main` to the working tree:

              ~ qa        3.5.2 → 3.6.0    agents/qa.md

                --- agents/qa.md (main)
                +++ agents/qa.md (working tree)
                @@ -1,7 +1,7 @@
                 ---
                -# managed by mpm: qa 3.5.2 from templates/qa.json; edit mpm.yaml, not this file
                +# managed by mpm: qa 3.6.0 from templates/qa.json; edit mpm.yaml, not this file
                 name: qa
                -description: Use for qa-1 work
                +description: Use for qa-2 work
                 model: sonnet
                 tools: Read, Grep
                 color: blue

            Agents: 0 added, 1 changed, 0 removed.
            ",
        )
        .stderr("")
        .status(2);
}

// A template outside the repository is not under version control: both sides read
// it from disk, so it never shows as a change, and a warning says so.
#[test]
fn a_template_outside_the_repository_is_read_from_disk_with_a_warning() {
    let t = Test::new().template("qa", "3.5.2", "Test things.").write(
        "repo/mpm.yaml",
        "version: 1\nagents:\n  qa:\n    template: ../templates/qa.json\n",
    );
    let repo = t.path("repo");
    git(&repo, &["init", "-q", "-b", "main"]);
    commit(&repo, "agents");
    t.template("qa", "3.6.0", "Test things well.")
        .current_dir("repo")
        .args(&["diff", "main"])
        .stdout("No changes. The agents rendered from the working tree match `main`.\n")
        .stderr("warning: `../templates/qa.json` is outside the git repository: both sides read it from disk, so its changes are not shown\n")
        .success();
}
