//! mpm's own settings come from layers, lowest first: defaults, the user file
//! (`$XDG_CONFIG_HOME/mpm/config.yaml`, else `~/.config/mpm/config.yaml`; the
//! harness points `HOME` into the test directory), `mpm.yaml`, `MPM_*` variables,
//! flags. `mpm config show --origin` says which layer each value came from; every
//! command uses the values.

use crate::harness::{Test, inline_manifest};
use serde::Deserialize;

const SHOW: &[&str] = &["config", "show", "--origin"];
const USER_FILE: &str = "home/.config/mpm/config.yaml";

#[test]
fn each_layer_overrides_the_one_below() {
    let ran = Test::new()
        .manifest("version: 1\n")
        .args(SHOW)
        .stdout(
            "
            target = project  # default
            state_dir = <target>/.mpm  # default
            lock_timeout = 0s  # default
            color = auto  # default
            cache.enabled = true  # default
            cache.dir = $XDG_CACHE_HOME/mpm  # default
            http.timeout = 1m  # default
            http.connect_timeout = 10s  # default
            http.retries = 3  # default
            http.concurrency = 8  # default
            budget.daily_usd = none  # default
            budget.warning_threshold = 0.8  # default
            budget.max_prompt_tokens = none  # default
            budget.max_listing_tokens = none  # default
            budget.enforce = false  # default
            ",
        )
        .success();
    ran.then()
        .write(USER_FILE, "# mine\ntarget: user\nlock_timeout: 1s\n")
        .args(SHOW)
        .stdout(
            "
            target = user  # home/.config/mpm/config.yaml:2
            state_dir = <target>/.mpm  # default
            lock_timeout = 1s  # home/.config/mpm/config.yaml:3
            color = auto  # default
            cache.enabled = true  # default
            cache.dir = $XDG_CACHE_HOME/mpm  # default
            http.timeout = 1m  # default
            http.connect_timeout = 10s  # default
            http.retries = 3  # default
            http.concurrency = 8  # default
            budget.daily_usd = none  # default
            budget.warning_threshold = 0.8  # default
            budget.max_prompt_tokens = none  # default
            budget.max_listing_tokens = none  # default
            budget.enforce = false  # default
            ",
        )
        .success();
    ran.then()
        .manifest("version: 1\ntarget: { path: out/.claude }\nmpm:\n  lock_timeout: 2m\n")
        .args(SHOW)
        .stdout(
            "
            target = out/.claude  # mpm.yaml:2
            state_dir = <target>/.mpm  # default
            lock_timeout = 2m  # mpm.yaml:4
            color = auto  # default
            cache.enabled = true  # default
            cache.dir = $XDG_CACHE_HOME/mpm  # default
            http.timeout = 1m  # default
            http.connect_timeout = 10s  # default
            http.retries = 3  # default
            http.concurrency = 8  # default
            budget.daily_usd = none  # default
            budget.warning_threshold = 0.8  # default
            budget.max_prompt_tokens = none  # default
            budget.max_listing_tokens = none  # default
            budget.enforce = false  # default
            ",
        )
        .success();
    ran.then()
        .env("MPM_TARGET", "from-env")
        .env("MPM_LOCK_TIMEOUT", "3s")
        .args(SHOW)
        .stdout(
            "
            target = from-env  # env MPM_TARGET
            state_dir = <target>/.mpm  # default
            lock_timeout = 3s  # env MPM_LOCK_TIMEOUT
            color = auto  # default
            cache.enabled = true  # default
            cache.dir = $XDG_CACHE_HOME/mpm  # default
            http.timeout = 1m  # default
            http.connect_timeout = 10s  # default
            http.retries = 3  # default
            http.concurrency = 8  # default
            budget.daily_usd = none  # default
            budget.warning_threshold = 0.8  # default
            budget.max_prompt_tokens = none  # default
            budget.max_listing_tokens = none  # default
            budget.enforce = false  # default
            ",
        )
        .success();
    ran.then()
        .env("MPM_TARGET", "from-env")
        .env("MPM_LOCK_TIMEOUT", "3s")
        .args(SHOW)
        .args(&["--target", "from-flag", "--lock-timeout", "500ms"])
        .stdout(
            "
            target = from-flag  # flag --target
            state_dir = <target>/.mpm  # default
            lock_timeout = 500ms  # flag --lock-timeout
            color = auto  # default
            cache.enabled = true  # default
            cache.dir = $XDG_CACHE_HOME/mpm  # default
            http.timeout = 1m  # default
            http.connect_timeout = 10s  # default
            http.retries = 3  # default
            http.concurrency = 8  # default
            budget.daily_usd = none  # default
            budget.warning_threshold = 0.8  # default
            budget.max_prompt_tokens = none  # default
            budget.max_listing_tokens = none  # default
            budget.enforce = false  # default
            ",
        )
        .success();
    // without `--origin`: the values alone
    ran.then()
        .args(&["config", "show"])
        .stdout(
            "
            target = out/.claude
            state_dir = <target>/.mpm
            lock_timeout = 2m
            color = auto
            cache.enabled = true
            cache.dir = $XDG_CACHE_HOME/mpm
            http.timeout = 1m
            http.connect_timeout = 10s
            http.retries = 3
            http.concurrency = 8
            budget.daily_usd = none
            budget.warning_threshold = 0.8
            budget.max_prompt_tokens = none
            budget.max_listing_tokens = none
            budget.enforce = false
            ",
        )
        .success();
}

#[test]
fn xdg_config_home_is_where_the_user_file_is_when_set() {
    let t = Test::new().write("xdg/mpm/config.yaml", "lock_timeout: 7s\n");
    let xdg = t.path("xdg").display().to_string();
    t.write(USER_FILE, "lock_timeout: 1s\n")
        .env("XDG_CONFIG_HOME", &xdg)
        .args(SHOW)
        .stdout(
            "
            target = project  # default
            state_dir = <target>/.mpm  # default
            lock_timeout = 7s  # xdg/mpm/config.yaml:1
            color = auto  # default
            cache.enabled = true  # default
            cache.dir = $XDG_CACHE_HOME/mpm  # default
            http.timeout = 1m  # default
            http.connect_timeout = 10s  # default
            http.retries = 3  # default
            http.concurrency = 8  # default
            budget.daily_usd = none  # default
            budget.warning_threshold = 0.8  # default
            budget.max_prompt_tokens = none  # default
            budget.max_listing_tokens = none  # default
            budget.enforce = false  # default
            ",
        )
        .success();
}

#[test]
fn the_effective_target_and_state_dir_are_the_ones_plan_and_apply_use() {
    let agents = inline_manifest(&[("alpha", "Do alpha.")]);
    // the user file's target, where mpm.yaml says none
    let ran = Test::new()
        .write(USER_FILE, "target: user\n")
        .manifest(&agents)
        .args(&["plan"])
        .stdout(
            "
            mpm will make these changes in `home/.claude`:

              + alpha                      agents/alpha.md

            Plan: 1 to add, 0 to change, 0 to destroy.
            ",
        )
        .success();
    // mpm.yaml's beats it
    ran.then()
        .manifest(&format!("target: project\n{agents}"))
        .args(&["plan"])
        .stdout_has("mpm will make these changes in `.claude`:\n")
        .success();
    // a variable beats both, and mpm.yaml's state dir is where the log goes
    ran.then()
        .manifest(&format!(
            "target: project\nmpm:\n  state_dir: state\n{agents}"
        ))
        .env("MPM_TARGET", "elsewhere")
        .args(&["apply", "-y"])
        .stdout_has("Apply complete! Agents: 1 added, 0 changed, 0 destroyed.\n")
        .success();
    assert!(
        ran.read("elsewhere/agents/alpha.md")
            .ends_with("Do alpha.\n")
    );
    assert!(ran.exists("state/db"));
    assert!(!ran.exists(".claude") && !ran.exists("home/.claude"));
    // history reads the same log, given the same settings
    ran.then()
        .env("MPM_TARGET", "elsewhere")
        .args(&["history"])
        .stdout_has("apply")
        .success();
}

#[test]
fn history_and_rollback_given_the_target_by_a_variable_need_no_readable_manifest() {
    let ran = Test::new()
        .manifest(&inline_manifest(&[("alpha", "v1")]))
        .args(&["apply", "-y"])
        .stdout_any()
        .success();
    ran.then()
        .manifest(&inline_manifest(&[("alpha", "v2")]))
        .args(&["apply", "-y"])
        .stdout_any()
        .success();
    std::fs::write(ran.path("mpm.yaml"), "version: 1\nagents: [broken\n").unwrap();
    ran.then()
        .env("MPM_TARGET", ".claude")
        .args(&["rollback", "-y"])
        .stdout_has("Rollback complete! Agents: 0 added, 1 changed, 0 destroyed.\n")
        .stderr("warning: `mpm.yaml` cannot be read, so its settings are not used: invalid type: sequence, expected a map of agent names to agents in `agents`\n")
        .success();
    assert!(ran.read(".claude/agents/alpha.md").ends_with("v1\n"));
}

#[test]
fn an_invalid_value_names_its_origin_in_each_layer() {
    Test::new()
        .manifest("version: 1\n")
        .write(USER_FILE, "target: user\nlock_timeout: soon\n")
        .args(&["plan"])
        .stderr(
            "
            error: `soon` is not a duration (like `30s`, `2m`, `500ms`) in `lock_timeout`
             --> home/.config/mpm/config.yaml:2:15
              |
            2 | lock_timeout: soon
              |               ^^^^
            ",
        )
        .failure();
    Test::new()
        .manifest("version: 1\nmpm:\n  lock_timeout: 5 minutes\n")
        .args(&["plan"])
        .stderr(
            "
            error: `5 minutes` is not a duration (like `30s`, `2m`, `500ms`) in `mpm.lock_timeout`
             --> mpm.yaml:3:17
              |
            3 |   lock_timeout: 5 minutes
              |                 ^
            ",
        )
        .failure();
    Test::new()
        .manifest("version: 1\nmpm:\n  lock_timeout: 5s\n")
        .env("MPM_LOCK_TIMEOUT", "soon")
        .args(&["plan"])
        .stderr(
            "error: invalid `MPM_LOCK_TIMEOUT`: `soon` is not a duration (like `30s`, `2m`, `500ms`)\n",
        )
        .failure();
    Test::new()
        .manifest("version: 1\n")
        .env("MPM_LOCK_TIMEOUT", "5s")
        .args(&["plan", "--lock-timeout", "soon"])
        .stderr(
            "error: invalid `--lock-timeout`: `soon` is not a duration (like `30s`, `2m`, `500ms`)\n",
        )
        .failure();
    // a target in a file is a word or `{ path: DIR }`, as in mpm.yaml
    Test::new()
        .manifest("version: 1\n")
        .write(USER_FILE, "target: ~/agents\n")
        .args(&["config", "show"])
        .stderr(
            "
            error: unknown target `~/agents`: expected `project`, `user` or `{ path: DIR }` in `target`
             --> home/.config/mpm/config.yaml:1:9
              |
            1 | target: ~/agents
              |         ^^^^^^^^
            hint: a directory is written `{ path: ~/agents }`
            ",
        )
        .failure();
    // a bad colour is printed without colour, and fails even `mpm schema`
    Test::new()
        .env("MPM_COLOR", "sometimes")
        .args(&["schema"])
        .stderr("error: invalid `MPM_COLOR`: unknown colour choice `sometimes`: expected `auto`, `always` or `never`\n")
        .failure();
}

#[test]
fn unknown_keys_in_the_user_file_get_a_did_you_mean() {
    Test::new()
        .manifest("version: 1\n")
        .write(USER_FILE, "lock_timout: 30s\n")
        .args(&["plan"])
        .stderr(
            "
            error: unknown key `lock_timout`
             --> home/.config/mpm/config.yaml:1:1
              |
            1 | lock_timout: 30s
              | ^^^^^^^^^^^
            hint: did you mean `lock_timeout`?
            ",
        )
        .failure();
    Test::new()
        .write(USER_FILE, "cache:\n  enable: false\n")
        .args(&["config", "show"])
        .stderr(
            "
            error: unknown key `enable` in `cache`
             --> home/.config/mpm/config.yaml:2:3
              |
            2 |   enable: false
              |   ^^^^^^
            hint: did you mean `enabled`?
            ",
        )
        .failure();
}

#[test]
fn a_setting_in_the_wrong_file_says_where_it_goes() {
    // every project sharing one state log would be each other's drift
    Test::new()
        .write(USER_FILE, "state_dir: /var/lib/mpm\n")
        .args(&["config", "show"])
        .stderr(
            "
            error: unknown key `state_dir`
             --> home/.config/mpm/config.yaml:1:1
              |
            1 | state_dir: /var/lib/mpm
              | ^^^^^^^^^
            hint: `state_dir` belongs to one project, not to every project: set it under `mpm:` in its `mpm.yaml`, or with `MPM_STATE_DIR` or `--state-dir`
            ",
        )
        .failure();
    Test::new()
        .manifest("version: 1\nmpm:\n  color: always\n")
        .args(&["plan"])
        .stderr(
            "
            error: unknown key `color` in `mpm`
             --> mpm.yaml:3:3
              |
            3 |   color: always
              |   ^^^^^
            hint: `color` is decided before `mpm.yaml` is read: set it in the user file (`~/.config/mpm/config.yaml`), or with `MPM_COLOR` or `--color`
            ",
        )
        .failure();
}

#[test]
fn a_target_from_the_user_file_or_a_variable_is_never_a_system_directory() {
    Test::new()
        .manifest("version: 1\n")
        .write(USER_FILE, "target: { path: /etc }\n")
        .args(&["plan", "--allow-system-target"])
        .stderr(
            "
            error: the target `/etc` is a system directory
             --> home/.config/mpm/config.yaml:1:17
              |
            1 | target: { path: /etc }
              |                 ^^^^
            hint: `target:` in mpm's user file may never name a system directory; only `--target DIR --allow-system-target` on the command line can
            ",
        )
        .failure();
    Test::new()
        .manifest("version: 1\n")
        .env("MPM_TARGET", "/usr")
        .args(&["plan", "--allow-system-target"])
        .stderr(
            "
            error: the target `/usr` is a system directory
            hint: `MPM_TARGET` points there; only `--target DIR --allow-system-target` on the command line may name a system directory
            ",
        )
        .failure();
}

#[test]
fn the_framework_guides_cache_variable_is_an_alias_and_the_mpm_name_beats_it() {
    let agents = inline_manifest(&[("alpha", "Do alpha.")]);
    let ran = Test::new()
        .manifest(&agents)
        .env("CLAUDE_AGENT_CACHE_ENABLED", "false")
        .args(&["config", "show", "--origin"])
        .stdout_has("cache.enabled = false  # env CLAUDE_AGENT_CACHE_ENABLED\n")
        .success();
    // without the cache, nothing is kept of what the agents rendered to
    ran.then()
        .env("CLAUDE_AGENT_CACHE_ENABLED", "false")
        .args(&["apply", "-y"])
        .stdout_has("Apply complete! Agents: 1 added, 0 changed, 0 destroyed.\n")
        .success();
    assert!(!ran.exists(".claude/.mpm/render-memo.json"));
    ran.then()
        .env("CLAUDE_AGENT_CACHE_ENABLED", "false")
        .env("MPM_CACHE_ENABLED", "true")
        .args(&["config", "show", "--origin"])
        .stdout_has("cache.enabled = true  # env MPM_CACHE_ENABLED\n")
        .success();
    ran.then()
        .manifest(&inline_manifest(&[("alpha", "Do alpha, better.")]))
        .env("CLAUDE_AGENT_CACHE_ENABLED", "false")
        .env("MPM_CACHE_ENABLED", "true")
        .args(&["apply", "-y"])
        .stdout_has("Apply complete! Agents: 0 added, 1 changed, 0 destroyed.\n")
        .success();
    assert!(ran.exists(".claude/.mpm/render-memo.json"));
}

#[test]
fn the_http_settings_come_from_every_layer_and_take_only_their_values() {
    Test::new()
        .write(USER_FILE, "http:\n  timeout: 30s\n  retries: 5\n")
        .manifest("version: 1\nmpm:\n  http:\n    retries: 0\n    concurrency: 2\n")
        .env("MPM_HTTP_CONNECT_TIMEOUT", "3")
        .args(SHOW)
        .stdout_has(
            "http.timeout = 30s  # home/.config/mpm/config.yaml:2
http.connect_timeout = 3s  # env MPM_HTTP_CONNECT_TIMEOUT
http.retries = 0  # mpm.yaml:4
http.concurrency = 2  # mpm.yaml:5
",
        )
        .success();
    Test::new()
        .manifest("version: 1\n")
        .env("MPM_HTTP_CONCURRENCY", "0")
        .args(SHOW)
        .stderr("error: invalid `MPM_HTTP_CONCURRENCY`: `0` is not a whole number, 1 or more\n")
        .failure();
    Test::new()
        .write(USER_FILE, "http:\n  retries: -1\n")
        .args(SHOW)
        .stderr(
            "
            error: `-1` is not a whole number, 0 or more in `http.retries`
             --> home/.config/mpm/config.yaml:2:12
              |
            2 |   retries: -1
              |            ^^
            ",
        )
        .failure();
}

#[test]
fn the_colour_setting_of_the_user_file_beats_no_color() {
    // NO_COLOR (set by the harness) only silences `auto`, as no-color.org asks:
    // a configuration file that says otherwise wins
    Test::new()
        .manifest(&inline_manifest(&[("alpha", "Do alpha.")]))
        .write(USER_FILE, "color: always\n")
        .args(&["plan"])
        .stdout_has("\u{1b}[32m+\u{1b}[0m alpha")
        .success();
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ShowJson {
    format_version: String,
    mpm_version: String,
    settings: Vec<SettingJson>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingJson {
    key: String,
    value: serde_json::Value,
    origin: OriginJson,
}

#[derive(Deserialize, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
struct OriginJson {
    kind: String,
    #[serde(default)]
    file: Option<String>,
    #[serde(default)]
    line: Option<usize>,
    #[serde(default)]
    name: Option<String>,
}

#[test]
fn config_show_json_is_a_versioned_format_with_the_origins() {
    let ran = Test::new()
        .manifest("version: 1\nmpm:\n  cache:\n    enabled: false\n")
        .write(USER_FILE, "lock_timeout: 90s\n")
        .env("MPM_STATE_DIR", "state")
        .args(&["config", "show", "--json"])
        .stdout_any()
        .success();
    // deny_unknown_fields: a key added without a format bump fails here
    let shown: ShowJson = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(shown.format_version, "1.0");
    assert_eq!(shown.mpm_version, env!("CARGO_PKG_VERSION"));
    let keys: Vec<&str> = shown.settings.iter().map(|s| s.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "target",
            "state_dir",
            "lock_timeout",
            "color",
            "cache.enabled",
            "cache.dir",
            "http.timeout",
            "http.connect_timeout",
            "http.retries",
            "http.concurrency",
            "budget.daily_usd",
            "budget.warning_threshold",
            "budget.max_prompt_tokens",
            "budget.max_listing_tokens",
            "budget.enforce",
        ]
    );
    let values: Vec<&serde_json::Value> = shown.settings.iter().map(|s| &s.value).collect();
    assert_eq!(
        values,
        [
            &serde_json::json!("project"),
            &serde_json::json!("state"),
            &serde_json::json!("90s"),
            &serde_json::json!("auto"),
            &serde_json::json!(false),
            &serde_json::Value::Null,
            &serde_json::json!("1m"),
            &serde_json::json!("10s"),
            &serde_json::json!(3),
            &serde_json::json!(8),
            &serde_json::Value::Null,
            &serde_json::json!(0.8),
            &serde_json::Value::Null,
            &serde_json::Value::Null,
            &serde_json::json!(false),
        ]
    );
    let origin =
        |kind: &str, file: Option<&str>, line: Option<usize>, name: Option<&str>| OriginJson {
            kind: kind.into(),
            file: file.map(Into::into),
            line,
            name: name.map(Into::into),
        };
    let origins: Vec<&OriginJson> = shown.settings.iter().map(|s| &s.origin).collect();
    assert_eq!(
        origins,
        [
            &origin("default", None, None, None),
            &origin("env", None, None, Some("MPM_STATE_DIR")),
            &origin(
                "user_file",
                Some("home/.config/mpm/config.yaml"),
                Some(1),
                None
            ),
            &origin("default", None, None, None),
            &origin("manifest", Some("mpm.yaml"), Some(4), None),
            &origin("default", None, None, None),
            &origin("default", None, None, None),
            &origin("default", None, None, None),
            &origin("default", None, None, None),
            &origin("default", None, None, None),
            &origin("default", None, None, None),
            &origin("default", None, None, None),
            &origin("default", None, None, None),
            &origin("default", None, None, None),
            &origin("default", None, None, None),
        ]
    );
}
