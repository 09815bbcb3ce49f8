//! `budget:`: its numbers as settings of every layer, and `budget.enforce`: the
//! `UserPromptSubmit` hook apply installs as an entry of settings.json mpm owns.

use crate::harness::Test;

/// The hook runs `mpm` from the PATH Claude Code has: this one.
fn mpm_on_path(test: Test) -> Test {
    let dir = std::path::Path::new(env!("CARGO_BIN_EXE_mpm"))
        .parent()
        .unwrap();
    let path = std::env::var("PATH").unwrap_or_default();
    test.env("PATH", &format!("{}:{path}", dir.display()))
}

const ENFORCED: &str = "
    version: 1
    target: { path: cfg }
    budget:
      daily_usd: 5
      enforce: true
    settings:
      hooks:
        UserPromptSubmit:
          - hooks: [{ type: command, command: ./mine.sh }]
    agents:
      qa: { prompt: Test things., description: QA }
    ";

#[test]
fn enforce_installs_the_hook_beside_the_users_own_and_shows_it_in_the_plan() {
    let ran = mpm_on_path(Test::new())
        .manifest(ENFORCED)
        .args(&["plan"])
        .stdout(
            r#"
            mpm will make these changes in `cfg`:

              + qa                         agents/qa.md
              + settings.json hooks.UserPromptSubmit[] {"hooks":[{"command":"./mine.sh","type":"command"}]}
              + settings.json hooks.UserPromptSubmit[] {"hooks":[{"command":"mpm hook budget --daily-usd 5 --warning-threshold 0.8","timeout":30,"type":"command"}]}

            Plan: 3 to add, 0 to change, 0 to destroy.
            "#,
        )
        .success();
    let ran = mpm_on_path(ran.then())
        .args(&["apply", "-y"])
        .stdout_any()
        .success();
    let settings: serde_json::Value = serde_json::from_str(&ran.read("cfg/settings.json")).unwrap();
    assert_eq!(
        settings["hooks"]["UserPromptSubmit"],
        serde_json::json!([
            {"hooks": [{"type": "command", "command": "./mine.sh"}]},
            {"hooks": [{"type": "command", "command": "mpm hook budget --daily-usd 5 --warning-threshold 0.8", "timeout": 30}]}
        ])
    );
    // a budget raised is a hook replaced, in review as in the file; the user's stays
    let raised = ENFORCED.replace("daily_usd: 5", "daily_usd: 12.5");
    let ran = mpm_on_path(ran.then())
        .manifest(&raised)
        .args(&["apply", "-y"])
        .stdout(
            r#"
            mpm will make these changes in `cfg`:

              + settings.json hooks.UserPromptSubmit[] {"hooks":[{"command":"mpm hook budget --daily-usd 12.5 --warning-threshold 0.8","timeout":30,"type":"command"}]}
              - settings.json hooks.UserPromptSubmit[] {"hooks":[{"command":"mpm hook budget --daily-usd 5 --warning-threshold 0.8","timeout":30,"type":"command"}]}

            Plan: 1 to add, 0 to change, 1 to destroy.
            Apply complete! Resources: 1 added, 0 changed, 1 destroyed.
            "#,
        )
        .success();
    // rollback returns the budget that was
    let ran = ran.then().args(&["rollback", "-y"]).stdout_any().success();
    let settings: serde_json::Value = serde_json::from_str(&ran.read("cfg/settings.json")).unwrap();
    assert_eq!(
        settings["hooks"]["UserPromptSubmit"][1]["hooks"][0]["command"],
        "mpm hook budget --daily-usd 5 --warning-threshold 0.8"
    );
    // off: the hook goes, the user's own stays
    let off = raised.replace("enforce: true", "enforce: false");
    let ran = ran
        .then()
        .manifest(&off)
        .args(&["apply", "-y"])
        .stdout_any()
        .success();
    let settings: serde_json::Value = serde_json::from_str(&ran.read("cfg/settings.json")).unwrap();
    assert_eq!(
        settings["hooks"]["UserPromptSubmit"],
        serde_json::json!([{"hooks": [{"type": "command", "command": "./mine.sh"}]}])
    );
}

#[test]
fn the_hook_takes_the_budget_of_the_highest_layer_and_the_manifests_prices() {
    mpm_on_path(Test::new())
        .manifest(
            "
            version: 1
            target: { path: cfg }
            budget:
              daily_usd: 5
              warning_threshold: 0.5
              enforce: true
              prices:
                claude-x: { input: 3, output: 15, cache_write: 3.75, cache_read: 0.3 }
            ",
        )
        .env("CLAUDE_AGENT_DAILY_BUDGET_USD", "20")
        .args(&["plan"])
        .stdout(
            r#"
            mpm will make these changes in `cfg`:

              + settings.json hooks.UserPromptSubmit[] {"hooks":[{"command":"mpm hook budget --daily-usd 20 --warning-threshold 0.5 --prices '{\"claude-x\":{\"input\":3.0,\"output\":15.0,\"cache_write\":3.75,\"cache_read\":0.3}}'","timeout":30,"type":"command"}]}

            Plan: 1 to add, 0 to change, 0 to destroy.
            "#,
        )
        .success();
}

#[test]
fn enforce_without_a_daily_budget_points_at_enforce() {
    Test::new()
        .manifest("version: 1\nbudget:\n  max_prompt_tokens: 4000\n  enforce: true\n")
        .args(&["plan"])
        .stderr(
            "
            error: `budget.enforce` is on, but there is no `budget.daily_usd` to enforce
             --> mpm.yaml:4:12
              |
            4 |   enforce: true
              |            ^^^^
            hint: set `daily_usd` in `budget:` (or `MPM_BUDGET_DAILY_USD`), or turn `enforce` off
            ",
        )
        .failure();
}

#[test]
fn budget_numbers_come_from_every_layer_with_their_origin() {
    Test::new()
        .write(
            "home/.config/mpm/config.yaml",
            "budget:\n  daily_usd: 9\n  warning_threshold: 0.9\n",
        )
        .manifest("version: 1\nbudget:\n  daily_usd: 5\n  max_listing_tokens: 3000\n")
        .env("MPM_BUDGET_MAX_PROMPT_TOKENS", "1200")
        .args(&["config", "show", "--origin"])
        .stdout_has(
            "budget.daily_usd = 5  # mpm.yaml:3
budget.warning_threshold = 0.9  # home/.config/mpm/config.yaml:3
budget.max_prompt_tokens = 1200  # env MPM_BUDGET_MAX_PROMPT_TOKENS
budget.max_listing_tokens = 3000  # mpm.yaml:4
budget.enforce = false  # default
",
        )
        .success();
    // the framework guide's variable is an alias; `none` lifts a file's budget
    Test::new()
        .manifest("version: 1\nbudget:\n  daily_usd: 5\n")
        .env("CLAUDE_AGENT_DAILY_BUDGET_USD", "100.0")
        .args(&["config", "show", "--origin"])
        .stdout_has("budget.daily_usd = 100  # env CLAUDE_AGENT_DAILY_BUDGET_USD\n")
        .success();
    Test::new()
        .manifest("version: 1\nbudget:\n  daily_usd: 5\n")
        .env("MPM_BUDGET_DAILY_USD", "none")
        .args(&["config", "show", "--origin"])
        .stdout_has("budget.daily_usd = none  # env MPM_BUDGET_DAILY_USD\n")
        .success();
    Test::new()
        .manifest("version: 1\n")
        .env("CLAUDE_AGENT_DAILY_BUDGET_USD", "lots")
        .args(&["config", "show"])
        .stderr(
            "
            error: invalid `CLAUDE_AGENT_DAILY_BUDGET_USD`: `lots` is not an amount of US dollars above 0, like `25` or `2.50`
            hint: `none` sets no limit
            ",
        )
        .failure();
}

#[test]
fn a_budget_key_in_the_wrong_place_says_where_it_goes() {
    Test::new()
        .manifest("version: 1\nmpm:\n  budget:\n    daily_usd: 3\n")
        .args(&["plan"])
        .stderr(
            "
            error: unknown key `budget` in `mpm`
             --> mpm.yaml:3:3
              |
            3 |   budget:
              |   ^^^^^^
            hint: `budget:` is a top-level section of `mpm.yaml`, not part of `mpm:`
            ",
        )
        .failure();
    Test::new()
        .write("home/.config/mpm/config.yaml", "budget:\n  enforce: true\n")
        .manifest("version: 1\n")
        .args(&["plan"])
        .stderr(
            "
            error: unknown key `enforce` in `budget`
             --> home/.config/mpm/config.yaml:2:3
              |
            2 |   enforce: true
              |   ^^^^^^^
            hint: `budget.enforce` belongs to one project, not to every project: set `enforce` in the `budget:` section of its `mpm.yaml`, or with `MPM_BUDGET_ENFORCE`
            ",
        )
        .failure();
    Test::new()
        .manifest("version: 1\nbudget:\n  warning_threshold: 80%\n")
        .args(&["plan"])
        .stderr(
            "
            error: `80%` is not a number above 0 and at most 1, like `0.8` in `budget.warning_threshold`
             --> mpm.yaml:3:22
              |
            3 |   warning_threshold: 80%
              |                      ^^^
            hint: a share of the budget: `0.8` warns at 80 %
            ",
        )
        .failure();
}

#[test]
fn a_plan_that_installs_the_hook_warns_when_mpm_is_not_on_path() {
    Test::new()
        .manifest("version: 1\ntarget: { path: cfg }\nbudget: { daily_usd: 5, enforce: true }\n")
        .env("PATH", "/nonexistent")
        .args(&["plan"])
        .stdout_any()
        .stderr("warning: `budget.enforce`: there is no `mpm` on PATH here, and the hook Claude Code runs is `mpm hook budget`: put mpm on the PATH Claude Code runs with, or prompts will not be held to the budget\n")
        .success();
}

/// A transcript line of one request to claude-opus-5-5 ($4 per million input
/// tokens), made now.
fn request_now(id: &str, input_tokens: u64) -> String {
    let now = jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%S%.3fZ");
    format!(
        r#"{{"type":"assistant","timestamp":"{now}","sessionId":"s1","requestId":"req_{id}","isSidechain":false,"message":{{"id":"msg_{id}","model":"claude-opus-5-5","usage":{{"input_tokens":{input_tokens},"output_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}}}}}}"#
    ) + "\n"
}

/// The hook as the client runs it in a session of `cfg`, with today's spend
/// written there.
fn hook(spent_input_tokens: &[u64]) -> Test {
    let lines: String = spent_input_tokens
        .iter()
        .enumerate()
        .map(|(i, n)| request_now(&i.to_string(), *n))
        .collect();
    let t = Test::new().write_bytes("cfg/projects/-w-p/s1.jsonl", lines.as_bytes());
    let input = serde_json::json!({
        "session_id": "s2",
        "transcript_path": t.path("cfg/projects/-w-p/s2.jsonl"),
        "hook_event_name": "UserPromptSubmit",
        "prompt": "hi",
    });
    t.stdin(&input.to_string()).args(&[
        "hook",
        "budget",
        "--daily-usd",
        "1",
        "--warning-threshold",
        "0.5",
    ])
}

#[test]
fn the_hook_is_silent_under_the_threshold() {
    hook(&[100_000]).success();
}

#[test]
fn the_hook_warns_past_the_threshold() {
    hook(&[100_000, 50_000])
        .stdout(r#"{"systemMessage":"mpm: $0.60 of $1.00 (60 %) of today's budget spent; prompts stop at $1.00"}
"#)
        .success();
}

#[test]
fn the_hook_refuses_at_the_budget_with_how_to_raise_it() {
    hook(&[250_000])
        .stderr(
            "
            mpm: today's budget is spent: $1.00 of $1.00 (100 %). This prompt was not sent.
            To go on today, raise `budget.daily_usd` in the mpm.yaml that manages this Claude Code directory and run `mpm apply` (or turn `budget.enforce` off); the budget starts again at midnight.
            ",
        )
        .status(2);
}

#[test]
fn a_hook_whose_input_names_no_config_dir_lets_the_prompt_through_and_says_why() {
    // however much `~/.claude` holds, it may be another session's: not guessed
    let t = Test::new().write_bytes(
        "home/.claude/projects/-w-p/s1.jsonl",
        request_now("1", 10_000_000).as_bytes(),
    );
    t.stdin("not json")
        .args(&["hook", "budget", "--daily-usd", "1"])
        .stdout(r#"{"systemMessage":"mpm: the daily budget could not be checked, so this prompt was let through: the hook's input is not the JSON object Claude Code sends (expected ident at line 1 column 2)"}
"#)
        .success()
        .then()
        .stdin(r#"{"prompt":"hi"}"#)
        .args(&["hook", "budget", "--daily-usd", "1"])
        .stdout(r#"{"systemMessage":"mpm: the daily budget could not be checked, so this prompt was let through: the hook's input has no `transcript_path`, which says which Claude Code directory to count"}
"#)
        .success()
        .then()
        .stdin(r#"{"transcript_path":"/tmp/odd/s.jsonl"}"#)
        .args(&["hook", "budget", "--daily-usd", "1"])
        .stdout(r#"{"systemMessage":"mpm: the daily budget could not be checked, so this prompt was let through: the transcript path `/tmp/odd/s.jsonl` is not in a Claude Code directory's `projects/` folder"}
"#)
        .success();
}

#[test]
fn a_hook_that_cannot_count_lets_the_prompt_through_and_says_why() {
    // the transcripts' folder is a link out of the config directory: never followed
    let t = Test::new().write("elsewhere/x/s.jsonl", "");
    std::fs::create_dir_all(t.path("cfg")).unwrap();
    std::os::unix::fs::symlink(t.path("elsewhere"), t.path("cfg/projects")).unwrap();
    let input = serde_json::json!({ "transcript_path": t.path("cfg/projects/x/s.jsonl") });
    let ran = t
        .stdin(&input.to_string())
        .args(&["hook", "budget", "--daily-usd", "1"])
        .stdout_any()
        .success();
    assert!(
        ran.stdout.starts_with(
            r#"{"systemMessage":"mpm: the daily budget could not be checked, so this prompt was let through: "#
        ),
        "{}",
        ran.stdout
    );
    // so do a bad argument and a bad setting of the client's environment
    Test::new()
        .stdin("{}")
        .args(&["hook", "budget", "--daily-usd", "1", "--prices", "{"])
        .stdout_has(
            "could not be checked, so this prompt was let through: `--prices` (line 1, column 1): EOF while parsing",
        )
        .success();
    Test::new()
        .stdin("not json")
        .env("MPM_CACHE_ENABLED", "perhaps")
        .args(&["hook", "budget", "--daily-usd", "1"])
        .stdout_has(
            "could not be checked, so this prompt was let through: invalid `MPM_CACHE_ENABLED`",
        )
        .success();
}
