//! `environment:` and `settings:`: keys of settings.json as resources, merged into a
//! file full of other tools' keys, reviewed per key, rolled back per key.

use crate::harness::Test;
use serde_json::Value;

/// A settings file as a user has it: 20 keys of other tools, their own
/// `permissions.allow` rules, hooks and variables.
fn foreign_settings() -> String {
    let mut text = String::from("{\n");
    for i in 0..20 {
        text.push_str(&format!("  \"tool{i:02}\": {{\n    \"on\": {i}\n  }},\n"));
    }
    text.push_str(
        r#"  "env": {
    "USER_VAR": "mine"
  },
  "permissions": {
    "allow": [
      "Grep",
      "Bash(ls *)"
    ]
  },
  "hooks": {
    "Stop": [
      {
        "hooks": [
          {
            "type": "command",
            "command": "./my-hook.sh"
          }
        ]
      }
    ]
  },
  "statusLine": {
    "type": "command",
    "command": "my-status"
  }
}
"#,
    );
    text
}

fn manifest(model: &str, extra_env: &str) -> String {
    format!(
        "
        version: 1
        environment:
          API_TIMEOUT_MS: 600000
          CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS: 4
        {extra_env}
        settings:
          model: {model}
          permissions:
            allow: [\"Bash(npm test *)\"]
          hooks:
            PreToolUse:
              - matcher: Bash
                hooks: [{{ type: command, command: ./check.sh }}]
        "
    )
}

/// Every key of `foreign` keeps its value, and the foreign keys keep their order.
#[track_caller]
fn foreign_kept(now: &str, foreign: &str) {
    let now: Value = serde_json::from_str(now).unwrap();
    let foreign: Value = serde_json::from_str(foreign).unwrap();
    let (now, foreign) = (now.as_object().unwrap(), foreign.as_object().unwrap());
    for i in 0..20 {
        let key = format!("tool{i:02}");
        assert_eq!(now[&key], foreign[&key], "{key}");
    }
    let order: Vec<&String> = now.keys().filter(|k| foreign.contains_key(*k)).collect();
    let before: Vec<&String> = foreign.keys().collect();
    assert_eq!(order, before, "the foreign keys moved");
    assert_eq!(now["statusLine"], foreign["statusLine"]);
    assert_eq!(now["env"]["USER_VAR"], "mine");
    let allow = now["permissions"]["allow"].as_array().unwrap();
    assert_eq!(&allow[..2], &["Grep", "Bash(ls *)"]);
    assert_eq!(now["hooks"]["Stop"], foreign["hooks"]["Stop"]);
}

#[test]
fn a_settings_file_full_of_other_keys_survives_ten_applies_and_two_rollbacks() {
    let foreign = foreign_settings();
    let ran = Test::new()
        .write(".claude/settings.json", &foreign)
        .manifest(&manifest("opus", ""))
        .args(&["apply", "-y"])
        .stdout(
            r#"
            mpm will make these changes in `.claude`:

              + settings.json env.API_TIMEOUT_MS = "600000"
              + settings.json env.CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS = "4"
              + settings.json hooks.PreToolUse[] {"hooks":[{"command":"./check.sh","type":"command"}],"matcher":"Bash"}
              + settings.json model = "opus"
              + settings.json permissions.allow[] "Bash(npm test *)"

            Plan: 5 to add, 0 to change, 0 to destroy.
            Apply complete! Resources: 5 added, 0 changed, 0 destroyed.
            "#,
        )
        .success();
    let first = ran.read(".claude/settings.json");
    foreign_kept(&first, &foreign);
    let written: Value = serde_json::from_str(&first).unwrap();
    assert_eq!(written["env"]["API_TIMEOUT_MS"], "600000");
    assert_eq!(
        written["permissions"]["allow"],
        serde_json::json!(["Grep", "Bash(ls *)", "Bash(npm test *)"])
    );
    assert_eq!(written["hooks"]["PreToolUse"][0]["matcher"], "Bash");
    // a hook entry is written as the manifest orders it, not sorted
    assert!(
        first.contains(
            "\"PreToolUse\": [\n      {\n        \"matcher\": \"Bash\",\n        \"hooks\": ["
        ),
        "{first}"
    );
    // the file's own indentation and final newline
    assert!(first.starts_with("{\n  \"tool00\": {\n    \"on\": 0\n  },\n"));
    assert!(first.ends_with("}\n"));
    for i in 0..9 {
        let model = if i % 2 == 0 { "sonnet" } else { "opus" };
        ran.then()
            .manifest(&manifest(model, ""))
            .args(&["apply", "-y"])
            .stdout_any()
            .success();
        foreign_kept(&ran.read(".claude/settings.json"), &foreign);
    }
    ran.then().args(&["rollback", "-y"]).stdout_any().success();
    foreign_kept(&ran.read(".claude/settings.json"), &foreign);
    ran.then()
        .args(&["rollback", "--to", "0", "-y"])
        .stdout_any()
        .success();
    // before the first generation: the user's file, byte for byte
    assert_eq!(ran.read(".claude/settings.json"), foreign);
}

#[test]
fn an_owned_key_edited_by_hand_is_drift_with_both_values() {
    let ran = Test::new()
        .manifest(&manifest("opus", ""))
        .args(&["apply", "-y"])
        .stdout_any()
        .success();
    let text = ran
        .read(".claude/settings.json")
        .replace("\"opus\"", "\"haiku\"");
    std::fs::write(ran.path(".claude/settings.json"), text).unwrap();
    ran.then()
        .args(&["plan"])
        .stdout(
            r#"
            Conflicts (apply stops here, before any write):
              ! settings.json model  was edited outside mpm: mpm wrote "opus", it is now "haiku"
                  keep the edit: put it in mpm.yaml; drop it: `mpm apply --force` (the edited value is kept for `mpm rollback`)

            Plan: 0 to add, 0 to change, 0 to destroy.
            "#,
        )
        .stderr(
            "
            error: 1 conflict stops the plan; nothing was changed
            hint: each conflict above says what to do; `mpm apply --force` overwrites changes made outside mpm (kept for `mpm rollback`)
            ",
        )
        .failure();
    // a foreign key reformatted by the client is no edit: values are compared
    let reformatted: Value = serde_json::from_str(
        &ran.read(".claude/settings.json")
            .replace("\"haiku\"", "\"opus\""),
    )
    .unwrap();
    std::fs::write(
        ran.path(".claude/settings.json"),
        serde_json::to_string(&reformatted).unwrap(),
    )
    .unwrap();
    ran.then()
        .args(&["plan"])
        .stdout("No changes. The agents and settings in `.claude` match `mpm.yaml`.\n")
        .success();
}

#[test]
fn removing_a_variable_removes_only_it() {
    let ran = Test::new()
        .write(
            ".claude/settings.json",
            "{\n  \"env\": {\n    \"USER_VAR\": \"mine\"\n  }\n}\n",
        )
        .manifest(&manifest("opus", "  EXTRA: one"))
        .args(&["apply", "-y"])
        .stdout_any()
        .success();
    let before = ran.read(".claude/settings.json");
    ran.then()
        .manifest(&manifest("opus", ""))
        .args(&["apply", "-y"])
        .stdout(
            r#"
            mpm will make these changes in `.claude`:

              - settings.json env.EXTRA = "one"

            Plan: 0 to add, 0 to change, 1 to destroy.
            Apply complete! Resources: 0 added, 0 changed, 1 destroyed.
            "#,
        )
        .success();
    assert_eq!(
        ran.read(".claude/settings.json"),
        before.replace(",\n    \"EXTRA\": \"one\"", "")
    );
}

#[test]
fn a_secret_is_in_no_output_no_plan_and_no_state() {
    const SECRET: &str = "tok-5f3a9c2e77d1";
    let yaml = "
        version: 1
        environment:
          scope: local
          MY_TOKEN: { from_env: MPM_TEST_TOKEN, secret: true }
          PLAIN: visible
        ";
    let ran = Test::new()
        .manifest(yaml)
        .env("MPM_TEST_TOKEN", SECRET)
        .args(&["apply", "-y"])
        .stdout(
            r#"
            mpm will make these changes in `.claude`:

              + settings.local.json env.MY_TOKEN = (sensitive)
              + settings.local.json env.PLAIN = "visible"

            Plan: 2 to add, 0 to change, 0 to destroy.
            Apply complete! Resources: 2 added, 0 changed, 0 destroyed.
            "#,
        )
        .success();
    let written: Value = serde_json::from_str(&ran.read(".claude/settings.local.json")).unwrap();
    assert_eq!(written["env"]["MY_TOKEN"], SECRET);
    // a file with a secret that mpm made is the owner's alone
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(ran.path(".claude/settings.local.json"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let mut outputs = vec![ran.stdout.clone(), ran.stderr.clone()];
    let json = ran
        .then()
        .env("MPM_TEST_TOKEN", SECRET)
        .args(&["plan", "--json"])
        .stdout_any()
        .success();
    outputs.push(json.stdout.clone());
    let rotated = ran
        .then()
        .env("MPM_TEST_TOKEN", "tok-rotated-0000")
        .args(&["plan", "--out", "p.json"])
        .stdout(
            "
            mpm will make these changes in `.claude`:

              ~ settings.local.json env.MY_TOKEN = (sensitive)

            Plan: 0 to add, 1 to change, 0 to destroy.
            ",
        )
        .stderr_any()
        .success();
    outputs.push(rotated.stderr.clone());
    outputs.push(ran.read("p.json"));
    assert!(!ran.read("p.json").contains("tok-rotated-0000"));
    // the saved plan reads the secret again where it is applied
    ran.then()
        .env("MPM_TEST_TOKEN", "tok-rotated-0000")
        .args(&["apply", "p.json"])
        .stdout_any()
        .success();
    let undone = ran
        .then()
        .env("MPM_TEST_TOKEN", SECRET)
        .args(&["rollback", "-y"])
        .stdout_any()
        .success();
    outputs.push(undone.stdout.clone());
    for output in &outputs {
        assert!(!output.contains(SECRET), "{output}");
    }
    // rolled back: the variable's value now, read again
    let written: Value = serde_json::from_str(&ran.read(".claude/settings.local.json")).unwrap();
    assert_eq!(written["env"]["MY_TOKEN"], SECRET);
    for (path, bytes) in crate::harness::tree(&ran.path(".claude/.mpm")) {
        let Some(bytes) = bytes else { continue };
        for secret in [SECRET, "tok-rotated-0000"] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{} holds the secret",
                path.display()
            );
        }
    }
}

#[test]
fn rolling_back_a_secret_needs_its_variable() {
    let yaml = "
        version: 1
        environment:
          MY_TOKEN: { from_env: MPM_TEST_TOKEN, secret: true, scope: local }
        ";
    let ran = Test::new()
        .manifest(yaml)
        .env("MPM_TEST_TOKEN", "v1")
        .args(&["apply", "-y"])
        .stdout_any()
        .success();
    ran.then()
        .env("MPM_TEST_TOKEN", "v2")
        .args(&["apply", "-y"])
        .stdout_any()
        .success();
    // a secret is in no blob by design: not a damaged state log
    ran.then()
        .args(&["doctor"])
        .stdout("No problems found in `.claude`.\n")
        .success();
    let before = ran.tree();
    ran.then()
        .args(&["rollback", "-y"])
        .stderr(
            "
            error: rolling back `settings.local.json env.MY_TOKEN` needs its secret from `$MPM_TEST_TOKEN`, which is not set in mpm's environment
            hint: set `MPM_TEST_TOKEN` where mpm runs, and roll back again; nothing was changed
            ",
        )
        .failure();
    assert_eq!(ran.tree(), before);
}

#[test]
fn a_secret_is_refused_for_a_file_git_tracks_or_would_track() {
    Test::new()
        .manifest(
            "
            version: 1
            environment:
              MY_TOKEN: { from_env: MPM_TEST_TOKEN, secret: true }
            ",
        )
        .env("MPM_TEST_TOKEN", "x")
        .args(&["plan"])
        .stderr(
            "
            error: `environment.MY_TOKEN` is a secret, and `.claude/settings.json` is a file git tracks or would track
             --> mpm.yaml:3:13
              |
            3 |   MY_TOKEN: { from_env: MPM_TEST_TOKEN, secret: true }
              |             ^
            hint: write it to the file git ignores with `scope: local`, or use the user target (`target: user`)
            ",
        )
        .failure();
}

#[test]
fn a_variable_read_from_a_missing_environment_variable_writes_nothing() {
    let ran = Test::new()
        .manifest(
            "
            version: 1
            environment:
              API_KEY_HELPER_TTL_MS: { from_env: MPM_TEST_UNSET }
            agents:
              qa: { prompt: x, description: y }
            ",
        )
        .args(&["apply", "-y"])
        .stderr(
            "
            error: `environment.API_KEY_HELPER_TTL_MS` reads `$MPM_TEST_UNSET`, which is not set in mpm's environment
             --> mpm.yaml:3:38
              |
            3 |   API_KEY_HELPER_TTL_MS: { from_env: MPM_TEST_UNSET }
              |                                      ^^^^^^^^^^^^^^
            hint: set it (`export MPM_TEST_UNSET=...`) where mpm runs; nothing was written
            ",
        )
        .failure();
    assert!(!ran.exists(".claude"));
}

#[test]
fn a_settings_file_that_is_not_json_is_a_conflict_and_never_rewritten() {
    let ran = Test::new()
        .write(".claude/settings.json", "{ \"model\": \"opus\", }\n")
        .manifest("version: 1\nsettings:\n  model: sonnet\n")
        .args(&["apply", "-y", "--force"])
        .stdout(
            "
            Conflicts (apply stops here, before any write):
              ! settings.json model  cannot be set: `settings.json` is not a JSON object
                  fix `settings.json` (`mpm doctor` says where it stops parsing); mpm never rewrites a settings file it cannot read

            Plan: 0 to add, 0 to change, 0 to destroy.
            ",
        )
        .stderr_any()
        .failure();
    assert_eq!(
        ran.read(".claude/settings.json"),
        "{ \"model\": \"opus\", }\n"
    );
}

#[test]
fn a_key_someone_else_set_is_taken_over_only_with_adopt() {
    let ran = Test::new()
        .write(".claude/settings.json", "{\"model\": \"haiku\"}")
        .manifest("version: 1\nsettings:\n  model: sonnet\n")
        .args(&["plan"])
        .stdout(
            r#"
            Conflicts (apply stops here, before any write):
              ! settings.json model  is already set to "haiku", and mpm did not set it
                  `mpm apply --adopt` takes it over (its value is kept for `mpm rollback`); or remove it from the file, or from mpm.yaml

            Plan: 0 to add, 0 to change, 0 to destroy.
            "#,
        )
        .stderr_any()
        .failure();
    ran.then()
        .args(&["apply", "-y", "--adopt"])
        .stdout_any()
        .success();
    // a one-line file stays one line
    assert_eq!(ran.read(".claude/settings.json"), "{\"model\":\"sonnet\"}");
    ran.then().args(&["rollback", "-y"]).stdout_any().success();
    assert_eq!(ran.read(".claude/settings.json"), "{\"model\":\"haiku\"}");
}

#[test]
fn a_file_mpm_made_goes_when_its_last_key_does() {
    let ran = Test::new()
        .manifest("version: 1\nenvironment:\n  A: 1\n")
        .args(&["apply", "-y"])
        .stdout_any()
        .success();
    assert_eq!(
        ran.read(".claude/settings.json"),
        "{\n  \"env\": {\n    \"A\": \"1\"\n  }\n}\n"
    );
    ran.then()
        .manifest("version: 1\n")
        .args(&["apply", "-y"])
        .stdout_any()
        .success();
    assert!(!ran.exists(".claude/settings.json"));
}

#[test]
fn a_state_log_of_format_2_is_read_as_it_is_and_migrated_by_the_next_apply() {
    let ran = Test::new()
        .manifest(&crate::harness::inline_manifest(&[("alpha", "v1")]))
        .args(&["apply", "-y"])
        .stdout_any()
        .success();
    let downgrade = || {
        let db = sled::open(ran.path(".claude/.mpm/db")).unwrap();
        let meta = db.open_tree("meta").unwrap();
        meta.insert("format", "2").unwrap();
        meta.remove("secret_key").unwrap();
        db.flush().unwrap();
    };
    downgrade();
    let format = || -> String {
        let db = sled::open(ran.path(".claude/.mpm/db")).unwrap();
        let v = db
            .open_tree("meta")
            .unwrap()
            .get("format")
            .unwrap()
            .unwrap();
        String::from_utf8(v.to_vec()).unwrap()
    };
    ran.then()
        .args(&["plan"])
        .stdout("No changes. The agents in `.claude` match `mpm.yaml`.\n")
        .success();
    assert_eq!(format(), "2", "a reader migrated");
    assert!(!ran.exists(".claude/.mpm/backup-format-2"));
    ran.then()
        .manifest(&crate::harness::inline_manifest(&[("alpha", "v2")]))
        .args(&["apply", "-y"])
        .stdout_any()
        .success();
    assert_eq!(format(), "3");
    // the copy is the log as it was, and opens as format 2
    let backup = sled::open(ran.path(".claude/.mpm/backup-format-2/db")).unwrap();
    let meta = backup.open_tree("meta").unwrap();
    assert_eq!(&*meta.get("format").unwrap().unwrap(), b"2");
    assert_eq!(&*meta.get("current").unwrap().unwrap(), b"1");
    drop((meta, backup));
    assert!(ran.exists(".claude/.mpm/backup-format-2/packs/1.pack"));
    ran.then().args(&["rollback", "-y"]).stdout_any().success();
    assert!(ran.read(".claude/agents/alpha.md").contains("v1"));
}

#[test]
fn a_value_claude_code_cannot_take_is_an_error_at_its_line() {
    Test::new()
        .manifest(
            "
            version: 1
            environment:
              CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS: five
              CLAUDE_CONFIG_DIR: /elsewhere
            ",
        )
        .args(&["plan"])
        .stderr(
            "
            error: `CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS` expects a whole number of at least 1, got `five`
             --> mpm.yaml:3:41
              |
            3 |   CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS: five
              |                                         ^^^^
            hint: Claude Code's default is `20`

            error: `CLAUDE_CONFIG_DIR` cannot be set in project settings: it decides where Claude Code reads settings from
             --> mpm.yaml:4:22
              |
            4 |   CLAUDE_CONFIG_DIR: /elsewhere
              |                      ^^^^^^^^^^
            hint: set it in the user settings (`$CLAUDE_CONFIG_DIR/settings.json`, else `~/.claude/settings.json`) or in the environment Claude Code starts in, and remove it from the project settings

            error: 2 problems; nothing was changed
            ",
        )
        .failure();
}

#[test]
fn claude_mpm_names_and_typos_are_warnings_that_say_what_to_write() {
    Test::new()
        .manifest(
            "
            version: 1
            target: user
            environment:
              CLAUDE_MAX_PARALLEL_SUBAGENTS: 4
              CLAUDE_TIMEOUT: 300
              CLAUDE_CODE_SUBAGENT_MODL: haiku
              CLAUDE_CONFIG_DIR: /fine/in/user/settings
            ",
        )
        .args(&["plan"])
        .stdout_any()
        .stderr(
            r#"
            warning: `environment.CLAUDE_CODE_SUBAGENT_MODL` (mpm.yaml:6:30): `CLAUDE_CODE_SUBAGENT_MODL` is not a Claude Code variable mpm knows of (its documented ones, as of Claude Code 2.1.330): the client may ignore it; did you mean `CLAUDE_CODE_SUBAGENT_MODEL`?
            warning: `environment.CLAUDE_MAX_PARALLEL_SUBAGENTS` (mpm.yaml:4:34): `CLAUDE_MAX_PARALLEL_SUBAGENTS` is claude-mpm's name, not a variable Claude Code reads: setting it does nothing; set `CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS` instead: `"4"`
            warning: `environment.CLAUDE_TIMEOUT` (mpm.yaml:5:19): `CLAUDE_TIMEOUT` is claude-mpm's name, not a variable Claude Code reads: setting it does nothing; set `API_TIMEOUT_MS` (or `BASH_DEFAULT_TIMEOUT_MS`) instead, in milliseconds: `"300000"` for claude-mpm's `300` seconds
            "#,
        )
        .success();
}

#[test]
fn env_prints_what_a_shell_evaluates_and_keeps_secrets_out_unless_asked() {
    let yaml = "
        version: 1
        target: { path: cfg }
        environment:
          API_TIMEOUT_MS: 600000
          QUOTED: \"it's\"
          MY_TOKEN: { from_env: MPM_TEST_TOKEN, secret: true, scope: local }
        ";
    let ran = Test::new()
        .manifest(yaml)
        .args(&["env"])
        .stdout(
            "
            export CLAUDE_CONFIG_DIR='[TMP]/cfg'
            export API_TIMEOUT_MS='600000'
            export QUOTED='it'\\''s'
            # MY_TOKEN is a secret, left out (`mpm env --show-secrets` prints it)
            ",
        )
        .success();
    let before = ran.tree();
    ran.then()
        .env("MPM_TEST_TOKEN", "t0k")
        .args(&["env", "--shell", "fish", "--show-secrets"])
        .stdout(
            "
            set -gx CLAUDE_CONFIG_DIR '[TMP]/cfg'
            set -gx API_TIMEOUT_MS '600000'
            set -gx QUOTED 'it\\'s'
            set -gx MY_TOKEN 't0k'
            ",
        )
        .success();
    ran.then()
        .args(&["env", "--shell", "powershell"])
        .stdout(
            "
            $env:CLAUDE_CONFIG_DIR = '[TMP]/cfg'
            $env:API_TIMEOUT_MS = '600000'
            $env:QUOTED = 'it''s'
            # MY_TOKEN is a secret, left out (`mpm env --show-secrets` prints it)
            ",
        )
        .success();
    let json = ran.then().args(&["env", "--json"]).stdout_any().success();
    let json: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(
        json["variables"][3],
        serde_json::json!({"name": "MY_TOKEN", "value": null, "sensitive": true})
    );
    assert_eq!(ran.tree(), before, "`mpm env` wrote something");
    // the project target: the client finds `.claude` from the working directory
    Test::new()
        .manifest("version: 1\nenvironment:\n  A: 1\n")
        .args(&["env"])
        .stdout("export A='1'\n")
        .success();
}

/// An apply of an agent file and settings keys, and a manifest that changes both.
fn settings_and_an_agent() -> crate::harness::Ran {
    let ran = Test::new()
        .write(".claude/settings.json", &foreign_settings())
        .manifest(&format!(
            "{}agents:\n  qa: {{ prompt: v1, description: Tests }}\n",
            crate::harness::unindent(&manifest("opus", ""))
        ))
        .args(&["apply", "-y"])
        .stdout_any()
        .success();
    let _ = ran.then().manifest(&format!(
        "{}agents:\n  qa: {{ prompt: v2, description: Tests }}\n",
        crate::harness::unindent(&manifest("sonnet", "  EXTRA: two"))
    ));
    ran
}

#[test]
fn a_failed_apply_puts_back_the_settings_file_it_had_replaced() {
    let ran = settings_and_an_agent();
    let before = ran.tree();
    // the settings file is replaced first, then the agent file, whose rename fails
    ran.then()
        .args(&["apply", "-y"])
        .env("MPM_FAULT", "rename:2")
        .stdout_has("Plan: 1 to add, 2 to change, 0 to destroy.\n")
        .stderr(
            "
            error: apply failed: failed to replace `[TMP]/.claude/agents/qa.md`: Operation not permitted (os error 1); nothing was changed
              caused by: 1 file already replaced was put back
            hint: fix what failed and run `mpm apply` again
            ",
        )
        .failure();
    assert_eq!(ran.tree(), before);
    for fault in ["read:2", "write:1", "sync:1"] {
        ran.then()
            .args(&["apply", "-y"])
            .env("MPM_FAULT", fault)
            .stdout_any()
            .stderr_any()
            .failure();
        assert_eq!(ran.tree(), before, "{fault}");
    }
    ran.then()
        .args(&["apply", "-y"])
        .stdout_has("Apply complete! Resources: 1 added, 2 changed, 0 destroyed.\n")
        .success();
}

#[test]
fn reading_commands_write_nothing_where_settings_are_managed() {
    let ran = settings_and_an_agent();
    let before = ran.tree();
    let read_only: &[&[&str]] = &[
        &["plan"],
        &["plan", "--json"],
        &["status"],
        &["verify"],
        &["history"],
        &["apply", "--dry-run"],
        &["rollback", "--dry-run"],
        &["rollback", "--to", "0", "--dry-run"],
        &["doctor"],
        &["env"],
    ];
    for args in read_only {
        ran.then()
            .args(args)
            .stdout_any()
            .stderr_any()
            .status(match *args {
                ["verify"] => 1,
                _ => 0,
            });
        assert_eq!(ran.tree(), before, "{args:?} wrote");
    }
}

#[test]
fn a_secret_goes_to_a_local_file_only_once_git_ignores_it() {
    let yaml = "
        version: 1
        target: { path: app/.claude }
        environment:
          MY_TOKEN: { from_env: MPM_TEST_TOKEN, secret: true, scope: local }
        ";
    let t = Test::new().manifest(yaml);
    let init = std::process::Command::new("git")
        .args(["init", "-q"])
        .current_dir(t.path(""))
        .status()
        .unwrap();
    assert!(init.success());
    let ran = t
        .env("MPM_TEST_TOKEN", "x")
        .args(&["plan"])
        .stderr(
            "
            error: `environment.MY_TOKEN` is a secret, and `app/.claude/settings.local.json` is a file git tracks or would track
             --> mpm.yaml:4:13
              |
            4 |   MY_TOKEN: { from_env: MPM_TEST_TOKEN, secret: true, scope: local }
              |             ^
            hint: add `settings.local.json` to `.gitignore`, or use the user target
            ",
        )
        .failure();
    std::fs::write(ran.path(".gitignore"), "settings.local.json\n").unwrap();
    ran.then()
        .env("MPM_TEST_TOKEN", "x")
        .args(&["plan"])
        .stdout_has("  + settings.local.json env.MY_TOKEN = (sensitive)\n")
        .success();
    // ignored, but tracked all the same
    std::fs::create_dir_all(ran.path("app/.claude")).unwrap();
    std::fs::write(ran.path("app/.claude/settings.local.json"), "{}\n").unwrap();
    let add = std::process::Command::new("git")
        .args(["add", "-f", "app/.claude/settings.local.json"])
        .current_dir(ran.path(""))
        .status()
        .unwrap();
    assert!(add.success());
    ran.then()
        .env("MPM_TEST_TOKEN", "x")
        .args(&["plan"])
        .stderr_has("hint: git tracks it: stop with `git rm --cached app/.claude/settings.local.json` and ignore it, or use the user target (`target: user`)\n")
        .failure();
}

#[test]
fn mpm_lock_records_agent_files_only_and_a_clone_without_state_plans() {
    let ran = Test::new()
        .manifest(&format!(
            "{}agents:\n  qa: {{ prompt: x, description: y }}\n",
            crate::harness::unindent(&manifest(
                "opus",
                "  TOKEN: { from_env: MPM_TEST_TOKEN, secret: true, scope: local }"
            ))
        ))
        .env("MPM_TEST_TOKEN", "tok")
        .args(&["apply", "-y"])
        .stdout_any()
        .success();
    let lock = ran.read("mpm.lock");
    assert!(lock.contains("agents/qa.md"), "{lock}");
    assert!(!lock.contains("settings"), "{lock}");
    // a fresh clone has `mpm.lock` and no state log
    std::fs::remove_dir_all(ran.path(".claude/.mpm")).unwrap();
    ran.then()
        .env("MPM_TEST_TOKEN", "tok")
        .args(&["plan"])
        .stdout_has("State only (no file is written):\n")
        .success();
}

#[test]
fn a_value_the_user_had_already_stays_theirs_when_it_leaves_the_manifest() {
    let foreign = "{\n  \"a\": 1,\n  \"model\": \"opus\",\n  \"permissions\": {\n    \"allow\": [\n      \"X\",\n      \"Y\"\n    ]\n  },\n  \"z\": 2\n}\n";
    let ran = Test::new()
        .write(".claude/settings.json", foreign)
        .manifest("version: 1\nsettings:\n  model: opus\n  permissions:\n    allow: [X, Z]\n")
        .args(&["apply", "-y"])
        .stdout(
            r#"
            mpm will make these changes in `.claude`:

              + settings.json permissions.allow[] "Z"

            State only (no file is written):
              settings.json model already holds what mpm would write: recorded as mpm's
              settings.json permissions.allow[] "X" already holds what mpm would write: recorded as mpm's

            Plan: 1 to add, 0 to change, 0 to destroy.
            Apply complete! Resources: 1 added, 0 changed, 0 destroyed.
            "#,
        )
        .success();
    ran.then()
        .manifest("version: 1\nsettings: {}\n")
        .args(&["apply", "-y"])
        .stdout(
            r#"
            mpm will make these changes in `.claude`:

              - settings.json permissions.allow[] "Z"

            State only (no file is written):
              settings.json model handed back: mpm stops managing it
              settings.json permissions.allow[] "X" handed back: mpm stops managing it

            Plan: 0 to add, 0 to change, 1 to destroy.
            Apply complete! Resources: 0 added, 0 changed, 1 destroyed.
            "#,
        )
        .success();
    // only what mpm put there went
    assert_eq!(ran.read(".claude/settings.json"), foreign);
}

#[test]
fn a_hand_edit_of_a_key_that_left_the_manifest_is_kept_with_adopt() {
    let ran = Test::new()
        .manifest("version: 1\nsettings:\n  model: opus\n")
        .args(&["apply", "-y"])
        .stdout_any()
        .success();
    let edited = ran.read(".claude/settings.json").replace("opus", "haiku");
    std::fs::write(ran.path(".claude/settings.json"), &edited).unwrap();
    ran.then()
        .manifest("version: 1\n")
        .args(&["apply", "-y"])
        .stdout_has("  ! settings.json model  was edited outside mpm: mpm wrote \"opus\", it is now \"haiku\"\n")
        .stderr_any()
        .failure();
    ran.then()
        .args(&["apply", "-y", "--adopt"])
        .stdout(
            "
            State only (no file is written):
              settings.json model handed back: mpm stops managing it

            Plan: 0 to add, 0 to change, 0 to destroy.
            Apply complete! Resources: 0 added, 0 changed, 0 destroyed.
            ",
        )
        .success();
    assert_eq!(ran.read(".claude/settings.json"), edited);
}

#[test]
fn a_value_a_secret_took_over_is_not_kept_and_rollback_says_so() {
    let ran = Test::new()
        .write(".claude/settings.local.json", "{\n  \"env\": {\n    \"TOK\": \"theirs\"\n  }\n}\n")
        .manifest("version: 1\nenvironment:\n  TOK: { from_env: MPM_TEST_TOKEN, secret: true, scope: local }\n")
        .env("MPM_TEST_TOKEN", "mine")
        .args(&["plan"])
        .stdout(
            "
            Conflicts (apply stops here, before any write):
              ! settings.local.json env.TOK  is already set (value not shown), and mpm did not set it
                  `mpm apply --adopt` takes it over, but its value is not kept (mpm keeps none where a secret goes): no rollback brings it back; or remove it from the file, or from mpm.yaml

            Plan: 0 to add, 0 to change, 0 to destroy.
            ",
        )
        .stderr_any()
        .failure();
    ran.then()
        .env("MPM_TEST_TOKEN", "mine")
        .args(&["apply", "-y", "--adopt"])
        .stdout_has("  ~ settings.local.json env.TOK = (sensitive)  (the value there is not kept: mpm keeps none where a secret goes)\n")
        .success();
    let file = ran.read(".claude/settings.local.json");
    assert!(file.contains("mine") && !file.contains("theirs"));
    ran.then()
        .env("MPM_TEST_TOKEN", "mine")
        .args(&["rollback", "-y"])
        .stdout_has("No changes.")
        .stderr(
            "warning: `settings.local.json env.TOK` is left as it is: the value it had then stood where a secret goes, and mpm keeps none there\n",
        )
        .success();
    assert_eq!(ran.read(".claude/settings.local.json"), file);
    // still mpm's: leaving the manifest removes it (and the file mpm did not make stays)
    ran.then()
        .manifest("version: 1\n")
        .args(&["apply", "-y"])
        .stdout_has("  - settings.local.json env.TOK = (sensitive)\n")
        .success();
    assert!(!ran.read(".claude/settings.local.json").contains("mine"));
    for bytes in crate::harness::tree(&ran.path(".claude/.mpm"))
        .into_values()
        .flatten()
    {
        assert!(!bytes.windows(6).any(|w| w == b"theirs"));
    }
}

#[test]
fn scope_local_is_refused_where_the_client_reads_no_local_file() {
    Test::new()
        .manifest("version: 1\ntarget: { path: cfg }\nenvironment:\n  A: { value: x, scope: local }\n")
        .args(&["plan"])
        .stderr(
            "
            error: `environment.A` has `scope: local`, but Claude Code reads no `settings.local.json` in a config directory like `cfg`
             --> mpm.yaml:4:6
              |
            4 |   A: { value: x, scope: local }
              |      ^
            hint: drop `scope: local`: a config directory's `settings.json` is its user's own already (only a project's `.claude` has a local file)
            ",
        )
        .failure();
}

#[test]
fn a_hand_edit_in_the_json_plan_has_both_values() {
    let ran = Test::new()
        .manifest("version: 1\nsettings:\n  model: opus\n")
        .args(&["apply", "-y"])
        .stdout_any()
        .success();
    let text = ran.read(".claude/settings.json").replace("opus", "haiku");
    std::fs::write(ran.path(".claude/settings.json"), text).unwrap();
    let json = ran
        .then()
        .args(&["plan", "--json"])
        .stdout_any()
        .stderr_any()
        .failure();
    let plan: mpm::plan::PlanJson = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(plan.conflicts.len(), 1);
    let c = &plan.conflicts[0];
    assert_eq!(
        (c.address.as_str(), c.kind.as_str()),
        ("settings.json#/model", "edited")
    );
    assert_eq!(c.value, Some("haiku".into()));
    assert_eq!(c.recorded, Some("opus".into()));
}

#[test]
fn a_key_put_back_by_a_rollback_goes_where_it_stood() {
    let foreign = "{\n  \"a\": 1,\n  \"model\": \"haiku\",\n  \"permissions\": {\n    \"allow\": [\n      \"X\",\n      \"Y\"\n    ]\n  },\n  \"z\": 2\n}\n";
    let ran = Test::new()
        .write(".claude/settings.json", foreign)
        .manifest("version: 1\nsettings:\n  model: opus\n  permissions:\n    allow: [Y]\n")
        .args(&["apply", "-y", "--adopt"])
        .stdout_any()
        .success();
    // adopted `model` is mpm's now: leaving the manifest removes it
    ran.then()
        .manifest("version: 1\nsettings: {}\n")
        .args(&["apply", "-y"])
        .stdout_any()
        .success();
    assert_eq!(
        ran.read(".claude/settings.json"),
        "{\n  \"a\": 1,\n  \"permissions\": {\n    \"allow\": [\n      \"X\",\n      \"Y\"\n    ]\n  },\n  \"z\": 2\n}\n"
    );
    ran.then().args(&["rollback", "-y"]).stdout_any().success();
    assert_eq!(
        ran.read(".claude/settings.json"),
        foreign.replace("haiku", "opus")
    );
    ran.then()
        .args(&["rollback", "--to", "0", "-y"])
        .stdout_any()
        .success();
    assert_eq!(ran.read(".claude/settings.json"), foreign);
}

#[test]
fn a_check_of_a_secret_never_quotes_it_nor_a_number_made_from_it() {
    let ran = Test::new()
        .manifest("version: 1\nenvironment:\n  scope: local\n  CLAUDE_TIMEOUT: { from_env: MPM_S1, secret: true }\n")
        .env("MPM_S1", "417")
        .args(&["plan"])
        .stdout_any()
        .stderr(
            "warning: `environment.CLAUDE_TIMEOUT` (mpm.yaml:4:19): `CLAUDE_TIMEOUT` is claude-mpm's name, not a variable Claude Code reads: setting it does nothing; set `API_TIMEOUT_MS` (or `BASH_DEFAULT_TIMEOUT_MS`) instead, in milliseconds (claude-mpm's value was seconds: multiply it by 1000)\n",
        )
        .success();
    assert!(!ran.stderr.contains("417"));
    let ran = ran
        .then()
        .manifest("version: 1\nenvironment:\n  scope: local\n  CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS: { from_env: MPM_S2, secret: true }\n")
        .env("MPM_S2", "five-secret")
        .args(&["plan"])
        .stderr_has("error: `CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS` expects a whole number of at least 1, got the value of the secret `$MPM_S2`, not shown\n")
        .failure();
    assert!(!ran.stderr.contains("five-secret"));
}

/// Applies `manifest` to a settings file that is `before`, expecting `after`; then
/// `rollback --to 0` must give `before` back, byte for byte.
#[track_caller]
fn kept_through_apply_and_rollback(before: &[u8], manifest: &str, plan: &str, after: &[u8]) {
    let ran = Test::new()
        .write_bytes(".claude/settings.json", before)
        .manifest(manifest)
        .args(&["apply", "-y"])
        .stdout(plan)
        .success();
    assert_eq!(
        String::from_utf8_lossy(&ran.bytes(".claude/settings.json")),
        String::from_utf8_lossy(after)
    );
    ran.then()
        .args(&["rollback", "--to", "0", "-y"])
        .stdout_any()
        .success();
    assert_eq!(ran.bytes(".claude/settings.json"), before);
}

// serde_json read every number as a float: a rewrite turned the first two into
// `1.2345678901234568e+29` and `-9.223372036854776e+18`, and `1.0` into `1.0` only
// by luck of the float's formatting
#[test]
fn numbers_in_a_settings_file_keep_their_digits_through_apply_and_rollback() {
    let before = "{\n  \"big\": 123456789012345678901234567890,\n  \"low\": -9223372036854775809,\n  \"ratio\": 1.0,\n  \"price\": 0.10,\n  \"tiny\": 1.5e-7\n}\n";
    kept_through_apply_and_rollback(
        before.as_bytes(),
        "version: 1\nsettings:\n  model: sonnet\n",
        r#"
        mpm will make these changes in `.claude`:

          + settings.json model = "sonnet"

        Plan: 1 to add, 0 to change, 0 to destroy.
        Apply complete! Resources: 1 added, 0 changed, 0 destroyed.
        "#,
        before
            .replace("1.5e-7\n", "1.5e-7,\n  \"model\": \"sonnet\"\n")
            .as_bytes(),
    );
}

// the byte order mark was dropped on the first rewrite
#[test]
fn a_byte_order_mark_survives_apply_and_rollback() {
    kept_through_apply_and_rollback(
        "\u{feff}{\n  \"theme\": \"dark\"\n}\n".as_bytes(),
        "version: 1\nsettings:\n  model: sonnet\n",
        r#"
        mpm will make these changes in `.claude`:

          + settings.json model = "sonnet"

        Plan: 1 to add, 0 to change, 0 to destroy.
        Apply complete! Resources: 1 added, 0 changed, 0 destroyed.
        "#,
        "\u{feff}{\n  \"theme\": \"dark\",\n  \"model\": \"sonnet\"\n}\n".as_bytes(),
    );
}

// every `\r\n` became `\n` on the first rewrite
#[test]
fn crlf_line_ends_survive_apply_and_rollback() {
    kept_through_apply_and_rollback(
        b"{\r\n  \"theme\": \"dark\",\r\n  \"env\": {\r\n    \"MINE\": \"x\"\r\n  }\r\n}\r\n",
        "version: 1\nenvironment:\n  A: 1\n",
        r#"
        mpm will make these changes in `.claude`:

          + settings.json env.A = "1"

        Plan: 1 to add, 0 to change, 0 to destroy.
        Apply complete! Resources: 1 added, 0 changed, 0 destroyed.
        "#,
        b"{\r\n  \"theme\": \"dark\",\r\n  \"env\": {\r\n    \"MINE\": \"x\",\r\n    \"A\": \"1\"\r\n  }\r\n}\r\n",
    );
}

// a byte that is not UTF-8 was read as U+FFFD and written back as it: the user's
// bytes were gone
#[test]
fn a_settings_file_that_is_not_utf8_is_a_conflict_and_never_rewritten() {
    let before = b"{\n  \"note\": \"caf\xe9\"\n}\n";
    let ran = Test::new()
        .write_bytes(".claude/settings.json", before)
        .manifest("version: 1\nsettings:\n  model: sonnet\n")
        .args(&["apply", "-y", "--force"])
        .stdout(
            "
            Conflicts (apply stops here, before any write):
              ! settings.json model  cannot be set: `settings.json` is not UTF-8
                  save `settings.json` as UTF-8 (`mpm doctor` says where it stops parsing); mpm never rewrites a settings file it cannot read

            Plan: 0 to add, 0 to change, 0 to destroy.
            ",
        )
        .stderr_any()
        .failure();
    assert_eq!(ran.bytes(".claude/settings.json"), before);
}

// serde_json kept the last of two values of one key: a rewrite dropped the first
#[test]
fn a_settings_file_that_gives_a_key_twice_is_a_conflict_and_never_rewritten() {
    let before = "{\n  \"env\": {\n    \"MINE\": \"1\",\n    \"MINE\": \"2\"\n  }\n}\n";
    let ran = Test::new()
        .write(".claude/settings.json", before)
        .manifest("version: 1\nenvironment:\n  A: 1\n")
        .args(&["apply", "-y", "--force"])
        .stdout(
            "
            Conflicts (apply stops here, before any write):
              ! settings.json env.A  cannot be set: `settings.json` gives a key twice in one object
                  keep one of the two in `settings.json` (`mpm doctor` names the key); mpm never rewrites it: that would drop the other value

            Plan: 0 to add, 0 to change, 0 to destroy.
            ",
        )
        .stderr_any()
        .failure();
    assert_eq!(ran.read(".claude/settings.json"), before);
    ran.then()
        .args(&["doctor"])
        .stdout(
            "
            warning[settings-duplicate-key] .claude/settings.json:4:5: `env.MINE` is given twice in one object: Claude Code reads the last one, and mpm never rewrites the file (that would drop the other); hint: keep one of the two
            Found 1 warning in `.claude`.
            ",
        )
        .success();
}

/// `mpm plan` on `yaml` fails with exactly `stderr`.
#[track_caller]
fn refused(yaml: &str, stderr: &str) {
    Test::new()
        .manifest(yaml)
        .args(&["plan"])
        .stderr(stderr)
        .failure();
}

// Errors raised inside `environment:` landed on the section's first variable, and
// those of `settings:` on line 1: they were raised once the whole map was read.
#[test]
fn an_error_inside_environment_points_at_its_key_or_value_in_block_style() {
    let yaml = |c: &str| format!("version: 1\nenvironment:\n  A: 1\n  B: 2\n{c}");
    refused(
        &yaml("  C: {value: x, secret: true}\n"),
        "
        error: `environment.C` is a secret written in the manifest
         --> mpm.yaml:5:25
          |
        5 |   C: {value: x, secret: true}
          |                         ^^^^
        hint: a manifest is committed: keep the secret in mpm's environment and write `from_env: VAR`
        ",
    );
    refused(
        &yaml("  C:\n    from_env: HOME\n    secrett: true\n"),
        "
        error: unknown key `secrett` in `environment.C`
         --> mpm.yaml:7:5
          |
        7 |     secrett: true
          |     ^^^^^^^
        hint: did you mean `secret`?
        ",
    );
    refused(
        &yaml("  A: 3\n"),
        "
        error: `environment.A` is given twice
         --> mpm.yaml:5:3
          |
        5 |   A: 3
          |   ^
        hint: keep one of them
        ",
    );
    refused(
        &yaml("  C-D: x\n"),
        "
        error: `C-D` is not a variable name in `environment`
         --> mpm.yaml:5:3
          |
        5 |   C-D: x
          |   ^^^
        hint: a variable name is letters, digits and `_`, not starting with a digit
        ",
    );
    refused(
        &yaml("  C: [x]\n"),
        "
        error: `environment.C` must be a text, a number, a boolean or a map
         --> mpm.yaml:5:6
          |
        5 |   C: [x]
          |      ^^
        hint: write `NAME: value`, or `NAME: { from_env: VAR, secret: true }`
        ",
    );
}

#[test]
fn an_error_inside_environment_points_at_its_key_or_value_in_flow_style() {
    let yaml = |c: &str| format!("version: 1\nenvironment: {{A: 1, B: 2, {c}}}\n");
    refused(
        &yaml("C: {secret: true, value: x}"),
        "
        error: `environment.C` is a secret written in the manifest
         --> mpm.yaml:2:52
          |
        2 | environment: {A: 1, B: 2, C: {secret: true, value: x}}
          |                                                    ^
        hint: a manifest is committed: keep the secret in mpm's environment and write `from_env: VAR`
        ",
    );
    refused(
        &yaml("C: {from_env: HOME, secrett: true}"),
        "
        error: unknown key `secrett` in `environment.C`
         --> mpm.yaml:2:47
          |
        2 | environment: {A: 1, B: 2, C: {from_env: HOME, secrett: true}}
          |                                               ^^^^^^^
        hint: did you mean `secret`?
        ",
    );
    refused(
        &yaml("A: 3"),
        "
        error: `environment.A` is given twice
         --> mpm.yaml:2:27
          |
        2 | environment: {A: 1, B: 2, A: 3}
          |                           ^
        hint: keep one of them
        ",
    );
    refused(
        &yaml("C: {value: x, from_env: HOME}"),
        "
        error: `environment.C` has both `value` and `from_env`
         --> mpm.yaml:2:41
          |
        2 | environment: {A: 1, B: 2, C: {value: x, from_env: HOME}}
          |                                         ^^^^^^^^
        hint: keep one of them: `value` is the text, `from_env` the variable of mpm's environment to read it from
        ",
    );
}

#[test]
fn env_and_a_null_in_settings_point_at_themselves_not_at_line_1() {
    refused(
        "
        version: 1
        settings:
          model: opus
          env:
            A: 1
        ",
        "
        error: `settings.env` is not where variables go
         --> mpm.yaml:4:3
          |
        4 |   env:
          |   ^^^
        hint: declare them under `environment:`, which checks them against what Claude Code reads
        ",
    );
    refused(
        "
        version: 1
        settings: {model: opus, permissions: {allow: [Grep, null]}}
        ",
        "
        error: `settings.permissions.allow[1]` has no value
         --> mpm.yaml:2:53
          |
        2 | settings: {model: opus, permissions: {allow: [Grep, null]}}
          |                                                     ^^^^
        hint: give it a value, or remove the key: mpm never writes a null
        ",
    );
    refused(
        "
        version: 1
        settings:
          hooks:
            Stop:
        ",
        "
        error: `settings.hooks.Stop` has no value
         --> mpm.yaml:4:10
          |
        4 |     Stop:
          |          ^
        hint: give it a value, or remove the key: mpm never writes a null
        ",
    );
}

// `1.10` was written as "1.1" and `1e3` as "1000.0": YAML had read them as numbers.
#[test]
fn a_number_whose_text_would_change_is_an_error_that_says_to_quote_it() {
    refused(
        "
        version: 1
        environment:
          API_TIMEOUT_MS: 600000
          APP_VERSION: 1.10
        ",
        r#"
        error: `environment.APP_VERSION` is written `1.10`, which YAML reads as a number that mpm would write as `"1.1"`
         --> mpm.yaml:4:16
          |
        4 |   APP_VERSION: 1.10
          |                ^^^^
        hint: quote it to keep the text as written: `"1.10"`
        "#,
    );
    refused(
        "
        version: 1
        environment: {API_TIMEOUT_MS: 600000, LIMIT: {value: 1e3, scope: local}}
        ",
        r#"
        error: `environment.LIMIT` is written `1e3`, which YAML reads as a number that mpm would write as `"1000.0"`
         --> mpm.yaml:2:54
          |
        2 | environment: {API_TIMEOUT_MS: 600000, LIMIT: {value: 1e3, scope: local}}
          |                                                      ^^^
        hint: quote it to keep the text as written: `"1e3"`
        "#,
    );
    // integers and booleans come out as written, and a quoted text is a text
    Test::new()
        .manifest(
            r#"
            version: 1
            environment:
              API_TIMEOUT_MS: 600000
              DISABLE_TELEMETRY: true
              APP_VERSION: "1.10"
              RATIO: 0.5
            "#,
        )
        .args(&["plan"])
        .stdout(
            r#"
            mpm will make these changes in `.claude`:

              + settings.json env.API_TIMEOUT_MS = "600000"
              + settings.json env.APP_VERSION = "1.10"
              + settings.json env.DISABLE_TELEMETRY = "true"
              + settings.json env.RATIO = "0.5"

            Plan: 4 to add, 0 to change, 0 to destroy.
            "#,
        )
        .success();
}

#[test]
fn a_credential_written_in_the_manifest_is_a_warning_that_never_shows_it() {
    Test::new()
        .manifest(
            "
            version: 1
            target: user
            environment:
              ANTHROPIC_AUTH_TOKEN: sk-ant-oat01-abc
              GITHUB_TOKEN: { value: ghp_xyz }
              ANTHROPIC_API_KEY: { from_env: MPM_TEST_KEY, secret: true }
              MAX_THINKING_TOKENS: 8000
            ",
        )
        .env("MPM_TEST_KEY", "sk-ant-api03-def")
        .args(&["plan"])
        .stdout_any()
        .stderr(
            "
            warning: `environment.ANTHROPIC_AUTH_TOKEN` (mpm.yaml:4:25): `ANTHROPIC_AUTH_TOKEN` looks like a credential, written in the manifest as plain text: whoever reads the manifest or a plan reads it; keep it in mpm's environment and write `ANTHROPIC_AUTH_TOKEN: { from_env: VAR, secret: true }`
            warning: `environment.GITHUB_TOKEN` (mpm.yaml:5:17): `GITHUB_TOKEN` looks like a credential, written in the manifest as plain text: whoever reads the manifest or a plan reads it; keep it in mpm's environment and write `GITHUB_TOKEN: { from_env: VAR, secret: true }`
            ",
        )
        .success();
}

#[test]
fn a_value_that_looks_like_a_credential_is_shown_and_kept_as_a_secret_is() {
    let ran = Test::new()
        .write(
            ".claude/settings.local.json",
            "{\n  \"env\": {\n    \"ANTHROPIC_API_KEY\": \"sk-ant-USERSECRET\"\n  }\n}\n",
        )
        .manifest("version: 1\nenvironment:\n  scope: local\n  ANTHROPIC_API_KEY: { from_env: MPM_KEY }\n")
        .env("MPM_KEY", "sk-ant-mpmvalue")
        .args(&["plan", "--json"])
        .stdout_any()
        .stderr_has("warning: `environment.ANTHROPIC_API_KEY` (mpm.yaml:4:22): `ANTHROPIC_API_KEY` looks like a credential, read from `$MPM_KEY` without `secret: true`: mpm keeps its value in the state log and a saved plan; write `ANTHROPIC_API_KEY: { from_env: MPM_KEY, secret: true }`\n")
        .failure();
    assert!(!ran.stdout.contains("USERSECRET") && !ran.stderr.contains("USERSECRET"));
    let text = ran
        .then()
        .env("MPM_KEY", "sk-ant-mpmvalue")
        .args(&["plan"])
        .stdout_has("  ! settings.local.json env.ANTHROPIC_API_KEY  is already set (value not shown), and mpm did not set it\n")
        .stderr_any()
        .failure();
    assert!(!text.stdout.contains("USERSECRET"));
    ran.then()
        .env("MPM_KEY", "sk-ant-mpmvalue")
        .args(&["apply", "-y", "--adopt"])
        .stdout_any()
        .stderr_any()
        .success();
    for bytes in crate::harness::tree(&ran.path(".claude/.mpm"))
        .into_values()
        .flatten()
    {
        assert!(!bytes.windows(10).any(|w| w == b"USERSECRET"));
    }
}

#[test]
fn a_found_value_mpm_then_changed_is_mpms() {
    let ran = Test::new()
        .write(".claude/settings.json", "{\n  \"model\": \"opus\"\n}\n")
        .manifest("version: 1\nsettings:\n  model: opus\n")
        .args(&["apply", "-y"])
        .stdout_any()
        .success();
    ran.then()
        .manifest("version: 1\nsettings:\n  model: haiku\n")
        .args(&["apply", "-y"])
        .stdout_any()
        .success();
    // mpm wrote `haiku`: leaving the manifest takes it away (rollback brings `opus` back)
    ran.then()
        .manifest("version: 1\n")
        .args(&["apply", "-y"])
        .stdout_has("  - settings.json model = \"haiku\"\n")
        .success();
    assert_eq!(ran.read(".claude/settings.json"), "{}\n");
    ran.then()
        .args(&["rollback", "--to", "0", "-y"])
        .stdout_any()
        .success();
    assert_eq!(
        ran.read(".claude/settings.json"),
        "{\n  \"model\": \"opus\"\n}\n"
    );
}

#[test]
fn a_nul_in_a_variable_is_refused_at_its_value() {
    Test::new()
        .manifest("version: 1\nenvironment:\n  A: \"x\\0y\"\n")
        .args(&["plan"])
        .stderr(
            r#"
            error: `environment.A` holds a NUL character (`\0`), which no process environment can
             --> mpm.yaml:3:6
              |
            3 |   A: "x\0y"
              |      ^^^^^^
            hint: remove it
            "#,
        )
        .failure();
}

#[test]
fn a_hook_entry_taken_over_comes_back_as_the_file_wrote_it() {
    let foreign = "{\n  \"hooks\": {\n    \"PreToolUse\": [\n      {\n        \"matcher\": \"Bash\",\n        \"hooks\": [\n          {\n            \"type\": \"command\",\n            \"command\": \"./check.sh\",\n            \"timeout\": 5\n          }\n        ]\n      }\n    ]\n  }\n}\n";
    let ran = Test::new()
        .write(".claude/settings.json", foreign)
        .manifest("version: 1\nsettings:\n  hooks:\n    PreToolUse:\n      - matcher: Bash\n        hooks: [{ type: command, command: ./check.sh, timeout: 10 }]\n")
        .args(&["apply", "-y", "--adopt"])
        .stdout_any()
        .success();
    assert_eq!(
        ran.read(".claude/settings.json"),
        foreign.replace("5\n", "10\n")
    );
    ran.then().args(&["rollback", "-y"]).stdout_any().success();
    assert_eq!(ran.read(".claude/settings.json"), foreign);
    // the entry is the user's again: taking mpm's back needs --force
    ran.then()
        .args(&["rollback", "--to", "1", "-y", "--force"])
        .stdout_any()
        .success();
    assert_eq!(
        ran.read(".claude/settings.json"),
        foreign.replace("5\n", "10\n")
    );
    ran.then()
        .args(&["rollback", "--to", "0", "-y"])
        .stdout_any()
        .success();
    assert_eq!(ran.read(".claude/settings.json"), foreign);
}
