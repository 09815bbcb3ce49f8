//! The real Claude Code client loads and runs what mpm writes. Ignored unless asked
//! for (`MPM_REAL_CLIENT=1 scripts/test`, which CI does). Two tools, found beside the
//! clone in `../shared/tools/` or through a variable: `claude-agents-loaded DIR`
//! (`MPM_CLAUDE_AGENTS_LOADED`) installs the client from the npm registry and prints
//! the names it loaded; `claude-session` (`MPM_CLAUDE_SESSION`) runs one real session
//! against a fake model, in a config dir mpm wrote, and logs the requests the client
//! made. Asked to run, a test fails when the client cannot run: a check that did not
//! happen is not a pass.

use crate::harness::{Ran, Test};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A tool of `../shared/tools/`, or the file `var` names.
pub fn tool(name: &str, var: &str) -> PathBuf {
    let path = std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/tools")
            .join(name)
    });
    assert!(
        path.is_file(),
        "the real-client tests need `{name}` at `{}` (or set {var})",
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
    let tool = tool("claude-agents-loaded", "MPM_CLAUDE_AGENTS_LOADED");
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

#[test]
#[ignore = "needs the real Claude Code client: MPM_REAL_CLIENT=1 scripts/test"]
fn the_real_client_loads_agents_from_an_index_a_git_repository_and_a_marketplace() {
    use crate::registry_git::{Repo, agent, marketplace};
    let tool = tool("claude-agents-loaded", "MPM_CLAUDE_AGENTS_LOADED");
    let t = Test::new().write(
        "published/release-bot.md",
        &agent("release-bot", Some("2.1.0"), "You cut releases."),
    );
    let pack = Repo::init(t.path("pack"));
    pack.write("agents/qa.md", &agent("qa", None, "You test."));
    pack.commit("qa");
    pack.tag("v1.0.0");
    marketplace(&t);
    let ran = t
        .args(&["registry", "build", "published", "--out", "registry"])
        .stdout("Built `registry/index.json`: 1 agent, 1 version (1 new).\n")
        .success();
    let ran = ran
        .then()
        .manifest(&format!(
            "
            version: 1
            target: {{ path: cfg }}
            registries:
              team: {{ index: ./registry/index.json }}
              pack: {{ git: \"{}\" }}
              acme: {{ marketplace: ./vendor/acme }}
            agents:
              release-bot: {{ registry: team, version: \"^2\" }}
              qa: {{ registry: pack }}
              reviewer: {{ registry: acme, plugin: review-tools }}
            ",
            pack.url()
        ))
        .args(&["apply", "-y"])
        .stdout(
            "
            mpm will make these changes in `cfg`:

              + qa           1.0.0 (pack)     agents/qa.md
              + release-bot  2.1.0 (team)     agents/release-bot.md
              + reviewer     1.2.0 (acme)     agents/reviewer.md

            Plan: 3 to add, 0 to change, 0 to destroy.
            Apply complete! Agents: 3 added, 0 changed, 0 destroyed.
            ",
        )
        .success();
    assert_eq!(
        loaded(&tool, &ran.path("cfg")),
        ["qa", "release-bot", "reviewer"],
        "the agents the real client loaded, one from each kind of registry"
    );
}

/// What one real session left: the client ran in `cfg` (the config dir mpm wrote) and
/// the empty project dir `proj`, against a fake model (see `claude-session`).
struct Session {
    /// The client's own JSON result.
    result: Value,
    /// Every request the client made to the model: `model`, `system`, `tools`
    /// (names), `messages`.
    requests: Vec<Value>,
}

fn session(ran: &Ran, options: &[&str], prompt: &str) -> Session {
    session_with_path(ran, options, prompt, None)
}

/// [`session`], the client's PATH being `path` when given.
fn session_with_path(ran: &Ran, options: &[&str], prompt: &str, path: Option<&str>) -> Session {
    let tool = tool("claude-session", "MPM_CLAUDE_SESSION");
    let project = ran.path("proj");
    std::fs::create_dir_all(&project).unwrap();
    let log = ran.path("requests.jsonl");
    let mut command = std::process::Command::new(&tool);
    if let Some(path) = path {
        command.env("PATH", path);
    }
    let out = command
        .args(options)
        .arg("--requests")
        .arg(&log)
        .arg(ran.path("cfg"))
        .arg(&project)
        .arg(prompt)
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{}`: {e}", tool.display()));
    // exit 2: the client could not run (no node, npm, unshare or ip; install failed)
    assert!(
        out.status.success(),
        "the real Claude Code session did not run ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let result: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "the client's result is not JSON ({e}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    assert_eq!(result["is_error"], false, "the session failed: {result}");
    let requests = ran
        .read("requests.jsonl")
        .lines()
        .map(|line| serde_json::from_str(line).expect("a request the fake model logged"))
        .collect();
    Session { result, requests }
}

/// A file the client's Bash tool or a hook was to write under the test directory.
#[track_caller]
fn written_in_session(ran: &Ran, path: &str, by: &str) -> String {
    std::fs::read_to_string(ran.path(path))
        .unwrap_or_else(|e| panic!("{by} did not write `{path}` ({e}): it did not run"))
}

#[test]
#[ignore = "needs the real Claude Code client: MPM_REAL_CLIENT=1 scripts/test"]
fn a_variable_and_a_secret_mpm_puts_in_env_reach_a_bash_tool_of_the_real_client() {
    const SECRET: &str = "tok-real-client-8d2e41";
    let ran = Test::new()
        .manifest(
            "
            version: 1
            target: { path: cfg }
            environment:
              MPM_CHECK_PLAIN: plain-value
              MPM_CHECK_SECRET: { from_env: MPM_TEST_SECRET, secret: true }
            ",
        )
        .env("MPM_TEST_SECRET", SECRET)
        .args(&["apply", "-y"])
        .stdout(
            r#"
            mpm will make these changes in `cfg`:

              + settings.json env.MPM_CHECK_PLAIN = "plain-value"
              + settings.json env.MPM_CHECK_SECRET = (sensitive)

            Plan: 2 to add, 0 to change, 0 to destroy.
            Apply complete! Resources: 2 added, 0 changed, 0 destroyed.
            "#,
        )
        .success();
    for output in [&ran.stdout, &ran.stderr] {
        assert!(!output.contains(SECRET), "{output}");
    }
    // the client starts with a cleared environment (`env -i`): what reaches its
    // tools came from the settings.json mpm wrote
    let seen = ran.path("bash-env.txt");
    session(
        &ran,
        &["--bash", &format!("env > '{}'", seen.display())],
        "Show me the environment.",
    );
    let seen = written_in_session(&ran, "bash-env.txt", "the Bash tool the client ran");
    let mut ours: Vec<&str> = seen
        .lines()
        .filter(|l| l.starts_with("MPM_CHECK_"))
        .collect();
    ours.sort_unstable();
    assert_eq!(
        ours,
        [
            "MPM_CHECK_PLAIN=plain-value".to_string(),
            format!("MPM_CHECK_SECRET={SECRET}")
        ]
    );
}

#[test]
#[ignore = "needs the real Claude Code client: MPM_REAL_CLIENT=1 scripts/test"]
fn a_hook_mpm_puts_in_settings_runs_in_the_real_client() {
    let t = Test::new();
    let marker = t.path("hook-input.json");
    let ran = t
        .manifest(&format!(
            "
            version: 1
            target: {{ path: cfg }}
            settings:
              hooks:
                UserPromptSubmit:
                  - hooks: [{{ type: command, command: \"cat > '{}'\" }}]
            ",
            marker.display()
        ))
        .args(&["apply", "-y"])
        .stdout(
            r#"
            mpm will make these changes in `cfg`:

              + settings.json hooks.UserPromptSubmit[] {"hooks":[{"command":"cat > '[TMP]/hook-input.json'","type":"command"}]}

            Plan: 1 to add, 0 to change, 0 to destroy.
            Apply complete! Resources: 1 added, 0 changed, 0 destroyed.
            "#,
        )
        .success();
    let session = session(&ran, &[], "Check the hook.");
    // the hook's stdin: the event, for this prompt of this session
    let input = written_in_session(&ran, "hook-input.json", "the UserPromptSubmit hook");
    let input: Value = serde_json::from_str(&input).expect("the hook's input is JSON");
    assert_eq!(input["hook_event_name"], "UserPromptSubmit");
    assert_eq!(input["prompt"], "Check the hook.");
    assert_eq!(input["session_id"], session.result["session_id"]);
}

#[test]
#[ignore = "needs the real Claude Code client: MPM_REAL_CLIENT=1 scripts/test"]
fn an_agent_mpm_writes_reaches_the_model_with_its_prompt_model_and_tools_only() {
    let ran = Test::new()
        .manifest(
            r#"
            version: 1
            target: { path: cfg }
            agents:
              reviewer:
                description: Use for review work
                prompt: "You review code.\n\nYou only read: never edit a file."
                model: haiku
                tools: [Read, Grep]
            "#,
        )
        .args(&["apply", "-y"])
        .stdout(
            "
            mpm will make these changes in `cfg`:

              + reviewer                   agents/reviewer.md

            Plan: 1 to add, 0 to change, 0 to destroy.
            Apply complete! Agents: 1 added, 0 changed, 0 destroyed.
            ",
        )
        .success();
    let file = ran.read("cfg/agents/reviewer.md");
    let (_, body) = file
        .split_once("\n---\n")
        .expect("an agent file mpm wrote has frontmatter");
    let body = body.trim_end();
    let session = session(&ran, &["--delegate", "reviewer"], "Review the code.");
    assert_eq!(
        session.result["subagent_stats"]["by_type"],
        serde_json::json!({"reviewer": 1}),
        "the client started mpm's agent"
    );
    let requests: Vec<&Value> = session
        .requests
        .iter()
        .filter(|r| r["system"].as_str().is_some_and(|s| s.contains(body)))
        .collect();
    let [request] = requests[..] else {
        panic!(
            "one request should carry the agent's body, {} did: {:#?}",
            requests.len(),
            session.requests
        );
    };
    // two lines of the client's (a billing header, "You are a Claude agent, built on
    // Anthropic's Claude Agent SDK."), then the body; the client appends its own
    // notes for subagents after it
    let system = request["system"].as_str().unwrap_or_default();
    let after_client_lines = system.splitn(3, '\n').nth(2).unwrap_or_default();
    assert!(
        after_client_lines == body || after_client_lines.starts_with(&format!("{body}\n")),
        "the agent's body is not its system prompt:\n{system}"
    );
    // aliases resolve to the client's current model of the family (2.1.330:
    // `haiku` → `claude-haiku-5-5`, see the reference's claude-code-sessions.md)
    let model = request["model"].as_str().unwrap_or_default();
    assert!(
        model.starts_with("claude-haiku-"),
        "`model: haiku` reached the model as `{model}`"
    );
    let mut tools: Vec<&str> = request["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    tools.sort_unstable();
    assert_eq!(tools, ["Grep", "Read"], "the agent's tools, and only those");
}

/// `mpm usage` against what a real session wrote: the tokens are the client's
/// `modelUsage`, exactly; the cost is its `total_cost_usd` within 0.1 %; the agent
/// mpm wrote gets its own row, with the subagent's model's figures.
#[test]
#[ignore = "needs the real Claude Code client: MPM_REAL_CLIENT=1 scripts/test"]
fn mpm_usage_counts_a_real_sessions_tokens_and_cost_as_the_client_does() {
    let ran = Test::new()
        .manifest(
            "
            version: 1
            target: { path: cfg }
            agents:
              qa:
                description: Use for QA work
                prompt: You check the work.
                model: haiku
            ",
        )
        .args(&["apply", "-y"])
        .stdout_any()
        .success();
    // past haiku 5.5's 100 000 tier, cache tokens counted
    let usage = r#"{"input_tokens":60000,"output_tokens":700,"cache_creation_input_tokens":30000,"cache_read_input_tokens":20000}"#;
    let session = session(&ran, &["--delegate", "qa", "--usage", usage], "Check it.");
    let out = ran
        .then()
        .args(&["usage", "session", "--json", "--config-dir", "cfg"])
        .stdout_any()
        .success();
    let doc: Value = serde_json::from_str(&out.stdout).unwrap();
    let [row] = doc["rows"].as_array().unwrap().as_slice() else {
        panic!("one session: {doc:#}");
    };
    assert_eq!(row["session_id"], session.result["session_id"]);
    let model_usage = session.result["modelUsage"].as_object().unwrap();
    let sum = |key: &str| -> u64 { model_usage.values().map(|m| m[key].as_u64().unwrap()).sum() };
    assert_eq!(row["input_tokens"], sum("inputTokens"));
    assert_eq!(row["output_tokens"], sum("outputTokens"));
    assert_eq!(
        row["cache_creation_input_tokens"],
        sum("cacheCreationInputTokens")
    );
    assert_eq!(row["cache_read_input_tokens"], sum("cacheReadInputTokens"));
    let want = session.result["total_cost_usd"].as_f64().unwrap();
    let got = row["cost_usd"].as_f64().unwrap();
    assert!(
        (got - want).abs() <= want * 0.001,
        "mpm ${got}, the client ${want}"
    );
    let agents = ran
        .then()
        .args(&[
            "usage",
            "agent",
            "--json",
            "--breakdown",
            "--config-dir",
            "cfg",
        ])
        .stdout_any()
        .success();
    let doc: Value = serde_json::from_str(&agents.stdout).unwrap();
    let qa = doc["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["agent"] == "qa")
        .unwrap_or_else(|| panic!("no row for the agent `qa`: {doc:#}"));
    let [model] = qa["models"].as_array().unwrap().as_slice() else {
        panic!("the agent used one model: {qa:#}");
    };
    let name = model["model"].as_str().unwrap();
    assert!(name.starts_with("claude-haiku-"), "{name}");
    let client = model_usage[name]["costUSD"].as_f64().unwrap();
    let mine = qa["cost_usd"].as_f64().unwrap();
    assert!(
        (mine - client).abs() <= client * 0.001,
        "qa: mpm ${mine}, the client ${client}"
    );
    assert_eq!(qa["input_tokens"], model_usage[name]["inputTokens"]);
    // with the client's figure removed, the price table alone gives the same cost
    let projects = ran.path("cfg/projects");
    for entry in walk(&projects) {
        if entry.extension().is_some_and(|e| e == "jsonl") {
            let text = std::fs::read_to_string(&entry).unwrap();
            let kept: String = text
                .lines()
                .filter(|l| !l.contains("\"type\":\"cost-state\""))
                .map(|l| format!("{l}\n"))
                .collect();
            std::fs::write(&entry, kept).unwrap();
        }
    }
    let table = ran
        .then()
        .args(&["usage", "session", "--json", "--config-dir", "cfg"])
        .stdout_any()
        .success();
    let doc: Value = serde_json::from_str(&table.stdout).unwrap();
    assert_eq!(doc["total"]["cost_source"], "table");
    let got = doc["total"]["cost_usd"].as_f64().unwrap();
    assert!(
        (got - want).abs() <= want * 0.001,
        "the table: ${got}, the client ${want}"
    );
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// One session with the budget hook: `mpm` on the client's PATH, mpm's cache in
/// the test directory (kept from session to session, as a user's is), the fake
/// model reporting `input_tokens` of input on every request.
fn budget_session(ran: &Ran, input_tokens: u64, prompt: &str) -> Session {
    let bin = Path::new(env!("CARGO_BIN_EXE_mpm")).parent().unwrap();
    let usage = serde_json::json!({
        "input_tokens": input_tokens, "output_tokens": 0,
        "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
    });
    let cache = format!("XDG_CACHE_HOME={}", ran.path("cache").display());
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // each session's own requests
    let _ = std::fs::remove_file(ran.path("requests.jsonl"));
    let options = ["--env", &cache, "--usage", &usage.to_string()];
    session_with_path(ran, &options, prompt, Some(&path))
}

/// The messages the budget hook showed in the sessions of `cfg` (the client keeps
/// them in the transcript, as `hook_system_message` attachments).
fn hook_messages(ran: &Ran) -> Vec<String> {
    let mut messages = Vec::new();
    for file in transcripts(&ran.path("cfg/projects")) {
        for line in std::fs::read_to_string(&file).unwrap().lines() {
            let Ok(v) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            if v["attachment"]["type"] == "hook_system_message" {
                messages.push(
                    v["attachment"]["content"]
                        .as_str()
                        .unwrap_or("")
                        .to_string(),
                );
            }
        }
    }
    messages
}

fn transcripts(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(transcripts(&path));
        } else if path.extension().is_some_and(|e| e == "jsonl") {
            out.push(path);
        }
    }
    out.sort();
    out
}

fn enforced(ran_in: Test, daily_usd: &str) -> Ran {
    let bin = Path::new(env!("CARGO_BIN_EXE_mpm")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    ran_in
        .manifest(&format!(
            "
            version: 1
            target: {{ path: cfg }}
            budget:
              daily_usd: {daily_usd}
              warning_threshold: 0.5
              enforce: true
            "
        ))
        .env("PATH", &path)
        .args(&["apply", "-y"])
        .stdout_any()
        .success()
}

#[test]
#[ignore = "needs the real Claude Code client: MPM_REAL_CLIENT=1 scripts/test"]
fn the_budget_hook_warns_past_the_threshold_and_lets_the_prompt_through() {
    let ran = enforced(Test::new(), "1");
    // 150 000 input tokens of claude-opus-5-5 (the client's default): $0.60
    let first = budget_session(&ran, 150_000, "First prompt.");
    assert_eq!(first.result["total_cost_usd"], 0.6, "{}", first.result);
    assert_eq!(
        hook_messages(&ran),
        Vec::<String>::new(),
        "under 50 %: silent"
    );
    let second = budget_session(&ran, 1_000, "Second prompt.");
    assert_eq!(second.requests.len(), 1, "the prompt reached the model");
    assert_eq!(
        hook_messages(&ran),
        ["mpm: $0.60 of $1.00 (60 %) of today's budget spent; prompts stop at $1.00"]
    );
}

#[test]
#[ignore = "needs the real Claude Code client: MPM_REAL_CLIENT=1 scripts/test"]
fn the_budget_hook_refuses_a_prompt_once_the_day_is_spent_and_not_the_next_day() {
    let ran = enforced(Test::new(), "1");
    // the day's first prompt goes: nothing was spent before it
    let first = budget_session(&ran, 300_000, "Spend it all.");
    assert_eq!(first.requests.len(), 1);
    assert_eq!(first.result["total_cost_usd"], 1.2, "{}", first.result);
    // now $1.20 of $1.00 is spent: the client sends nothing
    let refused = budget_session(&ran, 1_000, "One more.");
    assert_eq!(refused.requests.len(), 0, "the fake model got a request");
    assert_eq!(refused.result["num_turns"], 0);
    assert_eq!(refused.result["total_cost_usd"], 0);
    let said = refused.result["result"].as_str().unwrap_or_default();
    assert!(
        said.contains(
            "mpm: today's budget is spent: $1.20 of $1.00 (120 %). This prompt was not sent."
        ) && said.contains("raise `budget.daily_usd`"),
        "{said}"
    );
    // the next day: the sessions so far moved back 24 hours, as if made yesterday
    for file in transcripts(&ran.path("cfg/projects")) {
        let text = std::fs::read_to_string(&file).unwrap();
        std::fs::write(&file, a_day_earlier(&text)).unwrap();
    }
    let next_day = budget_session(&ran, 1_000, "A new day.");
    assert_eq!(
        next_day.requests.len(),
        1,
        "the next day's prompt was refused"
    );
    assert_eq!(hook_messages(&ran), Vec::<String>::new());
}

/// Every `"timestamp":"…Z"` of a transcript, 24 hours earlier.
fn a_day_earlier(text: &str) -> String {
    const KEY: &str = "\"timestamp\":\"";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(KEY) {
        let start = at + KEY.len();
        out.push_str(&rest[..start]);
        let end = start + rest[start..].find('"').unwrap();
        let ts: jiff::Timestamp = rest[start..end].parse().expect("a transcript timestamp");
        let earlier = ts - jiff::SignedDuration::from_hours(24);
        out.push_str(&earlier.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string());
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}
