//! Token counts in the plan (`--tokens`, the limits), kept in the download cache.
//! Counts are `cl100k_base`'s, deterministic: the tests pin them.

use crate::harness::{Test, tree};
use mpm::plan::PlanJson;
use serde::Deserialize;

const CACHE: &str = "home/.cache/mpm";

fn manifest(qa_prompt: &str) -> String {
    format!(
        "version: 1\nagents:\n  qa:\n    description: Reviews code for bugs\n    tools: [Read, Grep]\n    prompt: {qa_prompt:?}\n  writer:\n    description: Writes the docs\n    prompt: \"You write the docs. Keep them short.\"\n"
    )
}

const QA: &str = "You are QA. Check every change twice, and say what you checked.";

#[derive(Deserialize)]
struct Stats {
    hits: u64,
    misses: u64,
}

fn stats(ran: &crate::harness::Ran) -> (u64, u64) {
    let ran = ran
        .then()
        .args(&["cache", "stats", "--json"])
        .stdout_any() // only the counts matter here
        .success();
    let s: Stats = serde_json::from_str(&ran.stdout).unwrap();
    (s.hits, s.misses)
}

#[test]
fn plan_tokens_shows_each_agents_prompt_and_the_listing() {
    let ran = Test::new()
        .manifest(&manifest(QA))
        .args(&["plan", "--tokens"])
        .stdout(
            "
            mpm will make these changes in `.claude`:

              + qa                         agents/qa.md      15 tokens (est.)
              + writer                     agents/writer.md  9 tokens (est.)

            Plan: 2 to add, 0 to change, 0 to destroy.
            Tokens (est.): listing 0 → 27; largest prompt 15 (qa).
            ",
        )
        .success();
    ran.then().args(&["apply", "-y"]).stdout_any().success();
    ran.then()
        .manifest(&manifest("You are QA."))
        .args(&["plan", "--tokens"])
        // the diff is not what this test is about
        .stdout_has("  ~ qa                         agents/qa.md  15 → 4 tokens (est.)\n")
        .stdout_has("Plan: 0 to add, 1 to change, 0 to destroy.\nTokens (est.): listing 27; largest prompt 9 (writer).\n")
        .success();
    ran.then()
        .manifest(&manifest(QA))
        .args(&["plan", "--tokens"])
        .stdout(
            "
            No changes. The agents in `.claude` match `mpm.yaml`.
            Tokens (est.): listing 27; largest prompt 15 (qa).
            ",
        )
        .success();
    // without the flag and a limit: nothing is counted
    ran.then()
        .args(&["plan"])
        .stdout("No changes. The agents in `.claude` match `mpm.yaml`.\n")
        .success();
}

#[test]
fn the_json_plan_carries_the_counts() {
    let ran = Test::new()
        .manifest(&manifest(QA))
        .args(&["plan", "--json", "--tokens"])
        .env("MPM_BUDGET_MAX_LISTING_TOKENS", "4000")
        .stdout_any() // deserialised below
        .success();
    let plan: PlanJson = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(plan.format_version, "2.2");
    let qa = plan.resource_changes[0].tokens.as_ref().unwrap();
    assert_eq!(
        (qa.prompt, qa.prompt_before, qa.listing, qa.listing_before),
        (Some(15), None, Some(15), None)
    );
    assert_eq!(qa.encoding, "cl100k_base");
    assert!(qa.estimate);
    let total = plan.tokens.unwrap();
    assert_eq!((total.listing, total.listing_before), (27, 0));
    assert_eq!(total.max_listing_tokens, Some(4000));
    assert_eq!(total.max_prompt_tokens, None);
    let largest = total.largest_prompt.unwrap();
    assert_eq!((largest.agent.as_str(), largest.tokens), ("qa", 15));
    // without counts, no key at all
    let ran = ran.then().args(&["plan", "--json"]).stdout_any().success();
    let plan: PlanJson = serde_json::from_str(&ran.stdout).unwrap();
    assert!(plan.tokens.is_none());
    assert!(plan.resource_changes[0].tokens.is_none());
}

#[test]
fn a_plan_over_max_prompt_tokens_fails_and_changes_nothing() {
    let t = Test::new().manifest(&manifest(QA));
    let before = tree(&t.path(""));
    let ran = t
        .args(&["plan"])
        .env("MPM_BUDGET_MAX_PROMPT_TOKENS", "10")
        .stdout(
            "
            mpm will make these changes in `.claude`:

              + qa                         agents/qa.md      15 tokens (est.)
              + writer                     agents/writer.md  9 tokens (est.)

            Plan: 2 to add, 0 to change, 0 to destroy.
            Tokens (est.): listing 0 → 27; largest prompt 15 (qa) of 10.
            ",
        )
        .stderr(
            "
            error: the prompt of agent `qa` is 15 tokens (est.), over `budget.max_prompt_tokens` (10)
            hint: shorten the agent's prompt, or raise the limit (`MPM_BUDGET_MAX_PROMPT_TOKENS`); counts are estimates (`docs/tokens.md`)
            ",
        )
        .failure();
    // nothing on disk, the download cache included
    assert_eq!(tree(&ran.path("")), before);
    let ran = ran
        .then()
        .args(&["apply", "-y"])
        .env("MPM_BUDGET_MAX_PROMPT_TOKENS", "5")
        .stdout_any() // the plan, as above
        .stderr(
            "
            error: the prompts of 2 agents are over `budget.max_prompt_tokens` (5)
              caused by: `qa`: 15 tokens (est.)
              caused by: `writer`: 9 tokens (est.)
            hint: shorten the agent's prompt, or raise the limit (`MPM_BUDGET_MAX_PROMPT_TOKENS`); counts are estimates (`docs/tokens.md`)
            ",
        )
        .failure();
    assert_eq!(tree(&ran.path("")), before);
}

#[test]
fn a_plan_over_both_limits_says_both() {
    Test::new()
        .manifest(&manifest(QA))
        .args(&["plan"])
        .env("MPM_BUDGET_MAX_PROMPT_TOKENS", "10")
        .env("MPM_BUDGET_MAX_LISTING_TOKENS", "20")
        .stdout_any()
        .stderr(
            "
            error: the plan is over both token limits
              caused by: the prompt of agent `qa` is 15 tokens (est.), over `budget.max_prompt_tokens` (10)
              caused by: the agent listing every session carries is 27 tokens (est.), over `budget.max_listing_tokens` (20)
            hint: shorten the agent's prompt, or raise the limit (`MPM_BUDGET_MAX_PROMPT_TOKENS`); shorten the agents' descriptions, or drop agents, or raise the limit (`MPM_BUDGET_MAX_LISTING_TOKENS`); counts are estimates (`docs/tokens.md`)
            ",
        )
        .failure();
}

#[test]
fn a_plan_over_max_listing_tokens_fails() {
    let t = Test::new().manifest(&manifest(QA));
    let before = tree(&t.path(""));
    let ran = t
        .args(&["apply", "-y"])
        .env("MPM_BUDGET_MAX_LISTING_TOKENS", "20")
        .stdout_has("Tokens (est.): listing 0 → 27 of 20; largest prompt 15 (qa).\n")
        .stderr(
            "
            error: the agent listing every session carries is 27 tokens (est.), over `budget.max_listing_tokens` (20)
            hint: shorten the agents' descriptions, or drop agents, or raise the limit (`MPM_BUDGET_MAX_LISTING_TOKENS`); counts are estimates (`docs/tokens.md`)
            ",
        )
        .failure();
    assert_eq!(tree(&ran.path("")), before);
    // within it, the apply goes ahead
    ran.then()
        .args(&["apply", "-y"])
        .env("MPM_BUDGET_MAX_LISTING_TOKENS", "27")
        .stdout_has("Apply complete! Agents: 2 added, 0 changed, 0 destroyed.\n")
        .success();
}

#[test]
fn a_no_change_plan_counts_nothing_again() {
    let ran = Test::new()
        .manifest(&manifest(QA))
        .args(&["apply", "-y"])
        .stdout_any()
        .success();
    // nothing counted yet: no lookup at all
    assert_eq!(stats(&ran), (0, 0));
    ran.then()
        .args(&["plan", "--tokens"])
        .stdout_any()
        .success();
    // the first plan with counts counts both agents
    assert_eq!(stats(&ran), (0, 2));
    assert_eq!(
        std::fs::read_dir(ran.path(CACHE).join("tokens"))
            .unwrap()
            .count(),
        2
    );
    ran.then()
        .args(&["plan", "--tokens"])
        .stdout_any()
        .success();
    ran.then()
        .args(&["plan"])
        .env("MPM_BUDGET_MAX_PROMPT_TOKENS", "1000")
        .stdout_any()
        .success();
    // every later one finds both in the cache
    assert_eq!(stats(&ran), (4, 2));
}

#[test]
fn with_the_cache_disabled_counts_are_made_every_time_and_kept_nowhere() {
    let ran = Test::new()
        .manifest(&manifest(QA))
        .args(&["plan", "--tokens"])
        .env("MPM_CACHE_ENABLED", "false")
        .stdout_has("Tokens (est.): listing 0 → 27; largest prompt 15 (qa).\n")
        .success();
    assert!(!ran.exists(CACHE));
}

/// What Claude Code 2.1.330 lists for agents mpm wrote is the text mpm counts
/// (`src/tokens/listing.rs`): read from the client's own request.
#[test]
#[ignore = "runs the real Claude Code client: MPM_REAL_CLIENT=1"]
fn the_listing_mpm_counts_is_what_the_client_sends() {
    let session = crate::real_client::tool("claude-session", "MPM_CLAUDE_SESSION");
    let ran = Test::new()
        .manifest(&format!(
            "{}  lister:\n    description: \"Lists: things\"\n    disallowedTools: [Write, Edit]\n    prompt: \"\\nBody after a blank line.\\n\"\n  none:\n    description: No tools\n    tools: []\n    prompt: Nothing.\n",
            manifest(QA)
        ))
        .args(&["apply", "-y"])
        .stdout_any()
        .success();
    let project = ran.path("project");
    std::fs::create_dir_all(&project).unwrap();
    let requests = ran.path("requests.jsonl");
    let status = std::process::Command::new(session)
        .args(["--delegate", "lister", "--requests"])
        .arg(&requests)
        .arg(ran.path(".claude"))
        .arg(&project)
        .arg("hello")
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let log = std::fs::read_to_string(&requests).unwrap();
    let sent: serde_json::Value = serde_json::from_str(log.lines().next().unwrap()).unwrap();
    let text = find_listing(&sent).expect("the agent listing in the first request");
    for name in ["lister", "none", "qa", "writer"] {
        let file = std::fs::read_to_string(ran.path(&format!(".claude/agents/{name}.md"))).unwrap();
        let texts = mpm::tokens::texts(&file).unwrap();
        assert!(
            text.contains(&texts.listing),
            "{name}: {:?} not in {text:?}",
            texts.listing
        );
    }
    // the subagent's system prompt carries the prompt mpm counts
    let file = std::fs::read_to_string(ran.path(".claude/agents/lister.md")).unwrap();
    let prompt = mpm::tokens::texts(&file).unwrap().prompt;
    assert!(
        log.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|r| r["system"].as_str().map(str::to_string))
            .any(|s| s.contains(&format!("SDK.\n{prompt}\n\n"))),
        "no subagent request carries {prompt:?}"
    );
}

/// The text of the first string in `value` that holds the agent listing.
fn find_listing(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) if s.contains("Available agent types") => Some(s.clone()),
        serde_json::Value::Array(items) => items.iter().find_map(find_listing),
        serde_json::Value::Object(map) => map.values().find_map(find_listing),
        _ => None,
    }
}

#[test]
fn a_limit_from_the_manifest_is_pointed_at() {
    let ran = Test::new()
        .manifest(&format!("{}budget:\n  max_prompt_tokens: 12\n", manifest(QA)))
        .args(&["plan"])
        .stdout_has("Tokens (est.): listing 0 → 27; largest prompt 15 (qa) of 12.\n")
        .stderr(
            "
            error: the prompt of agent `qa` is 15 tokens (est.), over `budget.max_prompt_tokens` (12)
              --> mpm.yaml:11:22
               |
            11 |   max_prompt_tokens: 12
               |                      ^^
            hint: shorten the agent's prompt, or raise the limit (`budget.max_prompt_tokens` in mpm.yaml:11); counts are estimates (`docs/tokens.md`)
            ",
        )
        .failure();
    // a variable sets it for one run
    ran.then()
        .args(&["plan"])
        .env("MPM_BUDGET_MAX_PROMPT_TOKENS", "15")
        .stdout_has("largest prompt 15 (qa) of 15.\n")
        .success();
}

#[test]
fn a_plan_saved_with_counts_applies_as_any_other() {
    let ran = Test::new()
        .manifest(&manifest(QA))
        .args(&["plan", "--tokens", "--out", "plan.json"])
        .stdout_has("Tokens (est.): listing 0 → 27; largest prompt 15 (qa).\n")
        .stderr("Saved the plan to `plan.json`. Apply exactly it with: mpm apply plan.json\n")
        .success();
    ran.then()
        .args(&["apply", "plan.json"])
        .stdout_has("Apply complete! Agents: 2 added, 0 changed, 0 destroyed.\n")
        .success();
}

#[test]
fn a_cache_folder_that_is_not_mpms_costs_the_counts_not_the_plan() {
    let ran = Test::new()
        .manifest(&manifest(QA))
        .write("home/.cache/mpm/notes.txt", "mine")
        .args(&["plan", "--tokens"])
        .stdout_has("Tokens (est.): listing 0 → 27; largest prompt 15 (qa).\n")
        .stderr("warning: the token counts were not kept in the download cache: `[TMP]/home/.cache/mpm` is not an mpm cache: it holds other files and no `format` file\n")
        .success();
    assert_eq!(ran.read("home/.cache/mpm/notes.txt"), "mine");
}
