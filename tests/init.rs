//! init: a starter manifest, and migration from claude-mpm in one command.

use crate::harness::Test;

#[test]
fn init_writes_a_commented_starter_that_applies() {
    let ran = Test::new()
        .args(&["init"])
        .stderr("Wrote `mpm.yaml` with 1 agent. Next: `mpm plan`, then `mpm apply`.\n")
        .success();
    let text = ran.read("mpm.yaml");
    assert!(
        text.starts_with("# yaml-language-server: $schema=mpm.schema.json\n"),
        "{text}"
    );
    assert_eq!(ran.read("mpm.schema.json"), mpm::manifest::json_schema());
    ran.then()
        .args(&["apply", "-y"])
        .stdout(
            "
            mpm will make these changes in `.claude`:

              + reviewer                   agents/reviewer.md

            Plan: 1 to add, 0 to change, 0 to destroy.
            Apply complete! Agents: 1 added, 0 changed, 0 destroyed.
            ",
        )
        .success();
    ran.then()
        .args(&["init"])
        .stderr(
            "
            error: `mpm.yaml` already exists
            hint: edit it, or pass `--force` to replace it
            ",
        )
        .failure();
}

/// A folder in claude-mpm's layout with the irregular cases real releases ship.
fn claude_mpm_folder() -> Test {
    Test::new()
        .write("cm/agents/BASE_QA.md", "QA base.")
        .write("cm/agents/base_agent.json", r#"{"base_version": "0.3.1", "narrative_fields": {"instructions": "Base text."}}"#)
        .write(
            "cm/agents/templates/api_qa.json",
            r#"{"agent_version": "2.0.0", "agent_type": "qa", "metadata": {"description": "API testing", "color": "green"}, "capabilities": {"model": "sonnet", "tools": ["Read"]}, "instructions": "Test APIs."}"#,
        )
        .write(
            "cm/agents/templates/prompt-engineer.json",
            r#"{"agent_version": "1.0.0", "agent_type": "analysis", "metadata": {"description": "Prompts", "color": "indigo"}, "capabilities": {"model": "sonnet-4.5"}, "instructions": {"primary_role": "Improve prompts.", "core_focus": ["a", "b"]}}"#,
        )
        .write(
            "cm/agents/templates/local_ops_agent.json",
            r#"{"agent_version": "1.0.1", "description": "Local ops", "metadata": {}, "capabilities": {}, "tools": ["Bash"]}"#,
        )
        .write("cm/agents/templates/broken.json", r#"{"agent_version": 3}"#)
}

#[test]
fn init_from_templates_migrates_claude_mpm_in_one_command() {
    let ran = claude_mpm_folder()
        .args(&["init", "--from-templates", "cm/agents/templates"])
        .stderr(
            "
            warning: skipped `cm/agents/templates/broken.json`: not a claude-mpm template: `/`: \"metadata\" is a required property (and 2 more)
            Wrote `mpm.yaml` with 3 agents. Next: `mpm plan`, then `mpm apply`.
            ",
        )
        .success();
    insta::assert_snapshot!(ran.read("mpm.yaml"), @r#"
    # yaml-language-server: $schema=mpm.schema.json
    # Written by `mpm init --from-templates cm/agents/templates`: one agent per claude-mpm template,
    # named as claude-mpm named them (file stem, `_` -> `-`). Reference: docs/manifest.md
    version: 1

    target: project

    # BASE files found; each is prepended to the templates of its agent_type:
    #   cm/agents/BASE_QA.md

    defaults:
      base: cm/agents/base_agent.json   # claude-mpm's base instructions, now merged into every template agent

    agents:
      api-qa:
        template: cm/agents/templates/api_qa.json
      # skipped cm/agents/templates/broken.json: not a valid claude-mpm template (`mpm plan` would say why)
      local-ops-agent:
        template: cm/agents/templates/local_ops_agent.json
      prompt-engineer:
        template: cm/agents/templates/prompt-engineer.json
        model: sonnet   # the template says "sonnet-4.5", which Claude Code does not know
        color: purple   # the template says "indigo", outside Claude Code's palette
    "#);
    // the first apply succeeds
    let ran = ran
        .then()
        .args(&["apply", "-y"])
        .stdout(
            "
            mpm will make these changes in `.claude`:

              + api-qa           2.0.0            agents/api-qa.md
              + local-ops-agent  1.0.1            agents/local-ops-agent.md
              + prompt-engineer  1.0.0            agents/prompt-engineer.md

            Plan: 3 to add, 0 to change, 0 to destroy.
            Apply complete! Agents: 3 added, 0 changed, 0 destroyed.
            ",
        )
        .success();
    assert_eq!(
        ran.read(".claude/agents/api-qa.md"),
        "---\n# managed by mpm: api-qa 2.0.0 from cm/agents/templates/api_qa.json; edit mpm.yaml, not this file\nname: api-qa\ndescription: API testing\nmodel: sonnet\ntools: Read\ncolor: green\n---\nQA base.\n\n---\n\nBase text.\n\n---\n\nTest APIs.\n"
    );
    // every key of an object-valued `instructions` is kept
    assert!(ran.read(".claude/agents/prompt-engineer.md").ends_with(
        "Base text.\n\n---\n\n## Primary Role\n\nImprove prompts.\n\n## Core Focus\n\n- a\n- b\n"
    ));
    // tools at the top level, as one real template has them
    assert!(
        ran.read(".claude/agents/local-ops-agent.md")
            .contains("\ntools: Bash\n")
    );
}

/// Files as claude-mpm 4.26.4 writes them: its frontmatter keys, no `tools:`.
fn deployed_by_claude_mpm(name: &str) -> String {
    format!(
        "---\nname: {name}\ndescription: \"Use this agent when you need specialized assistance\"\nmodel: sonnet\ntype: qa\ncolor: green\ncategory: quality\nversion: \"2.0.0\"\nauthor: \"Claude MPM Team\"\n---\nOld body.\n"
    )
}

#[test]
fn a_claude_mpm_deployment_is_grouped_under_one_hint_and_adopted_with_rollback() {
    let t = claude_mpm_folder()
        .write(
            ".claude/agents/api_qa.md",
            &deployed_by_claude_mpm("api-qa"),
        )
        .write(
            ".claude/agents/api-qa.md",
            &deployed_by_claude_mpm("api-qa"),
        )
        .write(
            ".claude/agents/prompt-engineer.md",
            &deployed_by_claude_mpm("prompt-engineer"),
        )
        .write(
            ".claude/agents/mine.md",
            "---\nname: mine\ndescription: mine\n---\nMine.\n",
        );
    let ran = t
        .args(&["init", "--from-templates", "cm/agents/templates"])
        .stderr(
            "
            warning: skipped `cm/agents/templates/broken.json`: not a claude-mpm template: `/`: \"metadata\" is a required property (and 2 more)
            Wrote `mpm.yaml` with 3 agents. Next: `mpm plan`, then `mpm apply`.
            ",
        )
        .success();
    ran.then()
        .args(&["plan"])
        .stdout(
            "
            mpm will make these changes in `.claude`:

              + local-ops-agent  1.0.1            agents/local-ops-agent.md

            Conflicts (apply stops here, before any write):
              ! 3 files deployed by claude-mpm are in the way of mpm's agents:
                  agents/api-qa.md
                  agents/api_qa.md
                  agents/prompt-engineer.md
                  `mpm apply --adopt` takes them over (replaced by mpm's agent, or removed where mpm's file has another name); their bytes are kept, and `mpm rollback` brings them back

            Plan: 1 to add, 0 to change, 0 to destroy.
            ",
        )
        .stderr(
            "
            error: 3 conflicts stop the plan; nothing was changed
            hint: each conflict above says what to do; `mpm apply --force` overwrites changes made outside mpm (kept for `mpm rollback`)
            ",
        )
        .failure();
    // partial: the plan holds whole-file diffs of three claude-mpm files (70 lines);
    // the grouping of the conflicts is pinned above
    ran.then()
        .args(&["apply", "-y", "--adopt"])
        .stdout_has("Apply complete! Agents: 1 added, 2 changed, 1 destroyed.")
        .success();
    assert!(
        ran.read(".claude/agents/api-qa.md")
            .contains("# managed by mpm: api-qa 2.0.0")
    );
    // claude-mpm named the file api_qa.md and the agent api-qa: two files with one
    // name would leave the client to pick one, so the old one goes (kept for rollback)
    assert!(!ran.exists(".claude/agents/api_qa.md"));
    // the user's own agent, under its own name, is left alone
    assert_eq!(
        ran.read(".claude/agents/mine.md"),
        "---\nname: mine\ndescription: mine\n---\nMine.\n"
    );
    ran.then()
        .args(&["rollback", "-y"])
        .stdout_has("Rolling back to the state before generation 1.\n")
        .stdout_has("Rollback complete! Agents: 1 added, 2 changed, 1 destroyed.\n")
        .success();
    assert_eq!(
        ran.read(".claude/agents/api_qa.md"),
        deployed_by_claude_mpm("api-qa")
    );
    assert_eq!(
        ran.read(".claude/agents/api-qa.md"),
        deployed_by_claude_mpm("api-qa")
    );
    assert_eq!(
        ran.read(".claude/agents/prompt-engineer.md"),
        deployed_by_claude_mpm("prompt-engineer")
    );
    assert!(!ran.exists(".claude/agents/local-ops-agent.md"));
    // handed back: not mpm's any more, so the next plan asks again
    ran.then()
        .args(&["plan"])
        .stdout(
            "
            mpm will make these changes in `.claude`:

              + local-ops-agent  1.0.1            agents/local-ops-agent.md

            Conflicts (apply stops here, before any write):
              ! 3 files deployed by claude-mpm are in the way of mpm's agents:
                  agents/api-qa.md
                  agents/api_qa.md
                  agents/prompt-engineer.md
                  `mpm apply --adopt` takes them over (replaced by mpm's agent, or removed where mpm's file has another name); their bytes are kept, and `mpm rollback` brings them back

            Plan: 1 to add, 0 to change, 0 to destroy.
            ",
        )
        .stderr(
            "
            error: 3 conflicts stop the plan; nothing was changed
            hint: each conflict above says what to do; `mpm apply --force` overwrites changes made outside mpm (kept for `mpm rollback`)
            ",
        )
        .failure();
}
