//! `mpm doctor`: one planted problem per test, the exact line it gives; a clean
//! target says so and exits 0; an error exits 1; `--json` is a versioned
//! contract; and the doctor writes nothing, not even the state folder.
//!
//! Files are written here with explicit modes (0644, folders 0755), so that the
//! umask of whoever runs the tests plants no group-writable folder.

use crate::harness::{BIN, Ran, Test, inline_manifest, tree};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Writes `bytes` as is (no unindenting: a leading blank line is the point of
/// some tests) with mode 0644, its new folders 0755.
fn plant(root: &Path, path: &str, bytes: &str) {
    let p = root.join(path);
    let mut missing = Vec::new();
    let mut dir = p.parent().unwrap();
    while !dir.exists() {
        missing.push(dir.to_path_buf());
        dir = dir.parent().unwrap();
    }
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    for d in missing {
        chmod(&d, 0o755);
    }
    std::fs::write(&p, bytes).unwrap();
    chmod(&p, 0o644);
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

const GOOD: &str = "---\nname: qa\ndescription: Use for tests\n---\nTest things.\n";

/// A test directory holding these files.
fn planted(files: &[(&str, &str)]) -> Test {
    let t = Test::new();
    for (path, text) in files {
        plant(&t.path(""), path, text);
    }
    t
}

/// `mpm doctor --target .claude` on a project folder holding these files.
fn doctor(files: &[(&str, &str)]) -> Test {
    doctor_of(".claude", files)
}

/// `mpm doctor --target <target>`.
fn doctor_of(target: &str, files: &[(&str, &str)]) -> Test {
    planted(files).args(&["doctor", "--target", target])
}

/// One agent file with this text.
fn agent(text: &str) -> Test {
    doctor(&[(".claude/agents/qa.md", text)])
}

#[test]
fn a_clean_target_has_no_problems_and_exits_0() {
    let ran = Test::new()
        .manifest(&inline_manifest(&[
            ("alpha", "Do alpha."),
            ("beta", "Do beta."),
        ]))
        .args(&["apply", "-y"])
        .stdout_any()
        .success();
    let before = ran.tree();
    ran.then()
        .args(&["doctor"])
        .stdout("No problems found in `.claude`.\n")
        .success();
    assert!(ran.tree() == before, "the doctor wrote");
    // agents mpm never wrote are looked at too, and a target without a state log
    // gets none
    agent(GOOD)
        .stdout("No problems found in `.claude`.\n")
        .success();
}

#[test]
fn a_file_without_frontmatter_is_skipped_by_the_client() {
    agent("name: qa\ndescription: x\n")
        .stdout(
            "
            error[agent-no-frontmatter] .claude/agents/qa.md: the file does not start with a `---` line: Claude Code skips it silently; hint: start it with its frontmatter: `---`, `name: qa`, `description: <when to use it>`, `---`
            Found 1 error in `.claude`.
            ",
        )
        .failure();
}

#[test]
fn a_blank_line_before_the_frontmatter_is_named() {
    agent(&format!("\n{GOOD}"))
        .stdout(
            "
            error[agent-blank-before-frontmatter] .claude/agents/qa.md: a blank line comes before the first `---`: Claude Code skips the file silently; hint: remove the blank lines above `---`: it must be the first line
            Found 1 error in `.claude`.
            ",
        )
        .failure();
}

#[test]
fn a_file_without_a_name_or_description_is_skipped() {
    agent("---\ndescription: x\n---\n")
        .stdout(
            "
            error[agent-no-name] .claude/agents/qa.md: `name` is missing: Claude Code skips the file silently; hint: add `name: qa` to its frontmatter
            Found 1 error in `.claude`.
            ",
        )
        .failure();
    agent("---\nname: qa\n---\nBody\n")
        .stdout(
            "
            error[agent-no-description] .claude/agents/qa.md: `description` is missing or empty: Claude Code skips the file; hint: add a `description:` saying when Claude should use the agent
            Found 1 error in `.claude`.
            ",
        )
        .failure();
}

#[test]
fn frontmatter_that_is_not_yaml_is_named_with_its_line() {
    agent("---\nname: qa\ndescription: x\ntools: [Read\nmodel: haiku\n---\n")
        .stdout(
            "
            error[agent-invalid-yaml] .claude/agents/qa.md: the frontmatter is not valid YAML (line 5, column 6): did not find expected ',' or ']': Claude Code skips the file; hint: fix the YAML at that line
            Found 1 error in `.claude`.
            ",
        )
        .failure();
}

#[test]
fn bad_names_a_colon_skipped_upper_case_loaded_as_written() {
    agent("---\nname: tools:qa\ndescription: x\n---\n")
        .stdout(
            "
            error[agent-bad-name] .claude/agents/qa.md: the name `tools:qa` contains `:`, which Claude Code keeps for plugins: 2.1.330 skips the file (2.1.197 loaded it); hint: rename it, like `tools-qa`
            Found 1 error in `.claude`.
            ",
        )
        .failure();
    agent("---\nname: QA Bot\ndescription: x\n---\n")
        .stdout(
            "
            warning[agent-unsafe-name] .claude/agents/qa.md: `QA Bot` is not a valid agent name: use lower-case letters, digits and single hyphens, like `data-engineer`: Claude Code loads it as written, mpm would refuse it; hint: rename it in the frontmatter and the file name
            Found 1 warning in `.claude`.
            ",
        )
        .success();
}

#[test]
fn a_value_the_client_never_checks_is_a_warning() {
    agent("---\nname: qa\ndescription: x\nmodel: gpt-4\n---\n")
        .stdout(
            "
            warning[agent-unchecked] .claude/agents/qa.md: unknown model `gpt-4`: Claude Code knows `sonnet`, `opus`, `haiku`, `inherit` or a full model id like `claude-sonnet-4-5` (Claude Code loads the file and never says)
            Found 1 warning in `.claude`.
            ",
        )
        .success();
}

#[test]
fn two_files_declaring_one_name_are_an_error() {
    doctor(&[
        (".claude/agents/qa.md", GOOD),
        (".claude/agents/team/tester.md", GOOD),
    ])
    .stdout(
        "
        error[agent-duplicate-name] .claude/agents/qa.md: 2 files declare the agent `qa`: `.claude/agents/qa.md`, `.claude/agents/team/tester.md`; Claude Code loads one of them, by no documented rule; hint: rename or remove all but one
        Found 1 error in `.claude`.
        ",
    )
    .failure();
}

#[test]
fn a_project_agent_hiding_a_user_agent_is_a_warning() {
    let shadow = "---\nname: qa\ndescription: The user's own\n---\n";
    doctor(&[
        (".claude/agents/qa.md", GOOD),
        ("home/.claude/agents/tester.md", shadow),
    ])
    .stdout(
        "
        warning[agent-shadows-user] .claude/agents/qa.md: the agent `qa` hides the user's agent of the same name in `home/.claude/agents/tester.md`: Claude Code loads the project's; hint: rename one of them if both are meant to be used
        Found 1 warning in `.claude`.
        ",
    )
    .success();
    // `CLAUDE_CONFIG_DIR` is where the user's agents are, when set
    doctor(&[
        (".claude/agents/qa.md", GOOD),
        ("cfg/agents/qa.md", shadow),
        ("home/.claude/agents/qa.md", shadow),
    ])
    .env("CLAUDE_CONFIG_DIR", "cfg")
    .stdout_has("in `cfg/agents/qa.md`")
    .success();
}

#[test]
fn an_agent_named_like_a_built_in_replaces_it() {
    agent("---\nname: general-purpose\ndescription: Mine\n---\n")
        .stdout(
            "
            warning[agent-replaces-builtin] .claude/agents/qa.md: `general-purpose` is the name of one of Claude Code's built-in agents: this file replaces it; hint: rename it, unless replacing the built-in agent is meant
            Found 1 warning in `.claude`.
            ",
        )
        .success();
}

#[test]
fn files_the_client_never_loads_for_their_name() {
    doctor(&[
        (".claude/agents/qa.markdown", GOOD),
        (".claude/agents/README", "notes"),
        (".claude/agents/.gitkeep", ""),
        (".claude/agents/notes.txt", ""),
    ])
    .stdout(
        "
        warning[agent-not-loaded] .claude/agents/README: Claude Code never loads a file without an extension: it reads only `.md` files; hint: rename it to `README.md` if it is an agent
        warning[agent-not-loaded] .claude/agents/qa.markdown: Claude Code never loads a `.markdown` file: it reads only `.md` files; hint: rename it to `qa.md` if it is an agent
        Found 2 warnings in `.claude`.
        ",
    )
    .success();
}

#[test]
fn an_agent_its_owner_cannot_read_is_an_error() {
    let t = agent(GOOD);
    chmod(&t.path(".claude/agents/qa.md"), 0o044);
    t.stdout(
        "
        error[agent-unreadable] .claude/agents/qa.md: the file has mode 0044: its owner cannot read it, so Claude Code skips it; hint: `chmod u+r .claude/agents/qa.md`
        Found 1 error in `.claude`.
        ",
    )
    .failure();
}

#[test]
fn an_agents_folder_others_may_write_is_named() {
    let t = agent(GOOD);
    chmod(&t.path(".claude/agents"), 0o775);
    t.stdout(
        "
        warning[agents-dir-writable] .claude/agents: writable by its group (mode 0775): any of them can add an agent Claude Code will load; hint: `chmod g-w .claude/agents`
        Found 1 warning in `.claude`.
        ",
    )
    .success();
}

#[test]
fn settings_that_are_not_json_are_named_by_line_and_column() {
    doctor(&[(
        ".claude/settings.json",
        "{\n  \"env\": {\n    \"A\": \"1\"\n    \"B\": \"2\"\n  }\n}\n",
    )])
    .stdout(
        "
        error[settings-invalid-json] .claude/settings.json:4:5: not valid JSON: expected `,` or `}`: Claude Code cannot read the settings in it; hint: fix the JSON there
        Found 1 error in `.claude`.
        ",
    )
    .failure();
}

#[test]
fn a_value_the_client_cannot_use_is_an_error_at_its_line() {
    doctor(&[(
        ".claude/settings.json",
        "{\n  \"env\": {\n    \"MY_TOKEN\": \"abc\",\n    \"CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS\": \"five\"\n  }\n}\n",
    )])
    .stdout(
        "
        error[env-invalid-value] .claude/settings.json:4:5: `CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS` expects a whole number of at least 1, got `five`; hint: Claude Code's default is `20`
        Found 1 error in `.claude`.
        ",
    )
    .failure();
}

#[test]
fn claude_config_dir_in_local_settings_is_refused() {
    doctor(&[(
        ".claude/settings.local.json",
        "{\"env\": {\"CLAUDE_CONFIG_DIR\": \"/cfg\"}}\n",
    )])
    .stdout(
        "
        error[env-wrong-scope] .claude/settings.local.json:1:10: `CLAUDE_CONFIG_DIR` cannot be set in local settings: it decides where Claude Code reads settings from; hint: set it in the user settings (`$CLAUDE_CONFIG_DIR/settings.json`, else `~/.claude/settings.json`) or in the environment Claude Code starts in, and remove it from the local settings
        Found 1 error in `.claude`.
        ",
    )
    .failure();
    // in the user's own settings it is fine
    doctor_of(
        "home/.claude",
        &[(
            "home/.claude/settings.json",
            "{\"env\": {\"CLAUDE_CONFIG_DIR\": \"/cfg\"}}\n",
        )],
    )
    .stdout("No problems found in `home/.claude`.\n")
    .success();
}

#[test]
fn claude_mpms_variables_are_named_with_what_to_set_instead() {
    doctor(&[(
        ".claude/settings.json",
        "{\n  \"env\": {\n    \"CLAUDE_MAX_PARALLEL_SUBAGENTS\": \"3\",\n    \"CLAUDE_TIMEOUT\": \"300\"\n  }\n}\n",
    )])
    .stdout(
        "
        warning[env-claude-mpm] .claude/settings.json:3:5: `CLAUDE_MAX_PARALLEL_SUBAGENTS` is claude-mpm's name, not a variable Claude Code reads: setting it does nothing; hint: set `CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS` instead: `\"3\"`
        warning[env-claude-mpm] .claude/settings.json:4:5: `CLAUDE_TIMEOUT` is claude-mpm's name, not a variable Claude Code reads: setting it does nothing; hint: set `API_TIMEOUT_MS` (or `BASH_DEFAULT_TIMEOUT_MS`) instead, in milliseconds: `\"300000\"` for claude-mpm's `300` seconds
        Found 2 warnings in `.claude`.
        ",
    )
    .success();
}

#[test]
fn a_misspelled_variable_gets_the_name_it_was_meant_to_be() {
    doctor_of(
        "home/.claude",
        &[(
            "home/.claude/settings.json",
            "{\"env\": {\"CLAUDE_CODE_MAX_CONCURENT_SUBAGENTS\": \"4\"}}\n",
        )],
    )
    .stdout(
        "
        warning[env-unknown] home/.claude/settings.json:1:10: `CLAUDE_CODE_MAX_CONCURENT_SUBAGENTS` is not a Claude Code variable mpm knows of (its documented ones, as of Claude Code 2.1.330): the client may ignore it; hint: did you mean `CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS`?
        Found 1 warning in `home/.claude`.
        ",
    )
    .success();
}

#[test]
fn a_settings_file_every_user_may_write_is_an_error() {
    let t = doctor(&[(".claude/settings.json", "{}\n")]);
    chmod(&t.path(".claude/settings.json"), 0o666);
    t.stdout(
        "
        error[settings-writable] .claude/settings.json: writable by every user (mode 0666): any of them can change the settings Claude Code runs with, hooks included; hint: `chmod o-w .claude/settings.json`
        Found 1 error in `.claude`.
        ",
    )
    .failure();
}

#[test]
fn a_claude_config_dir_elsewhere_means_the_agents_are_not_discovered() {
    doctor_of("home/.claude", &[("home/.claude/agents/qa.md", GOOD)])
        .env("CLAUDE_CONFIG_DIR", "cfg")
        .stdout(
            "
            warning[config-dir-elsewhere] home/.claude: `CLAUDE_CONFIG_DIR` is `cfg`: Claude Code started in this environment reads its user agents and settings there, not in the target `home/.claude`; hint: set `CLAUDE_CONFIG_DIR=[TMP]/home/.claude` where Claude Code starts, or unset it to use `~/.claude`
            Found 1 warning in `home/.claude`.
            ",
        )
        .success();
    // `target: user` is `$CLAUDE_CONFIG_DIR` itself: nothing to say
    planted(&[("cfg/agents/qa.md", GOOD)])
        .env("CLAUDE_CONFIG_DIR", "cfg")
        .write("mpm.yaml", "version: 1\ntarget: user\nagents: {}\n")
        .args(&["doctor"])
        .stdout("No problems found in `cfg`.\n")
        .success();
}

#[test]
fn a_path_target_the_client_never_reads_says_how_to_make_it() {
    doctor_of("out", &[("out/agents/qa.md", GOOD)])
        .stdout(
            "
            warning[target-not-read] out: Claude Code does not look in `out`: it reads the user's agents from `~/.claude` (`$CLAUDE_CONFIG_DIR` when set) and a project's from its `.claude` folder; hint: start Claude Code with `CLAUDE_CONFIG_DIR=[TMP]/out`, or use `target: user` or `target: project`
            Found 1 warning in `out`.
            ",
        )
        .success();
}

#[test]
fn a_target_that_does_not_exist_yet() {
    Test::new()
        .args(&["doctor", "--target", ".claude"])
        .stdout(
            "
            warning[target-missing] .claude: the target `.claude` does not exist: Claude Code finds no agents there; hint: `mpm apply` creates it
            Found 1 warning in `.claude`.
            ",
        )
        .success();
}

fn applied() -> Ran {
    Test::new()
        .manifest(&inline_manifest(&[("alpha", "v1")]))
        .args(&["apply", "-y"])
        .stdout_any()
        .success()
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string()
}

#[test]
fn a_lock_held_by_a_live_process_is_named_and_the_log_left_for_later() {
    let ran = applied();
    let lock = ran.path(".claude/.mpm/lock");
    // this test process is the live holder, as an `mpm apply` would be
    let held = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&lock)
        .unwrap();
    held.lock().unwrap();
    let pid = std::process::id();
    let host = host();
    std::fs::write(
        &lock,
        format!("pid={pid}\nhost={host}\ncommand=mpm apply\nsince=2026-01-02T03:04:05Z\n"),
    )
    .unwrap();
    ran.then()
        .args(&["doctor"])
        .stdout(&format!(
            "
            warning[state-locked] .claude/.mpm: another mpm, pid {pid} on {host} (`mpm apply`, since [TIME]) holds the state log's lock: the log was not checked; hint: let it finish, then run `mpm doctor` again
            Found 1 warning in `.claude`.
            "
        ))
        .success();
    drop(held);
}

#[test]
fn an_interrupted_apply_whose_lock_names_a_process_that_is_gone() {
    let ran = Test::new()
        .manifest(&inline_manifest(&[("alpha", "v1"), ("beta", "v1")]))
        .args(&["plan"])
        .stdout_any()
        .success();
    // killed for real between two renames (`MPM_FAULT`, as tests/crash.rs does)
    let status = std::process::Command::new(BIN)
        .args(["apply", "-y"])
        .current_dir(ran.path(""))
        .env_clear()
        .env("HOME", ran.path("home"))
        .env("MPM_FAULT", "rename:1:abort")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.code(), None, "the apply was not killed");
    let lock = ran.read(".claude/.mpm/lock");
    let pid = lock.lines().find_map(|l| l.strip_prefix("pid=")).unwrap();
    let host = host();
    ran.then()
        .args(&["doctor"])
        .stdout(&format!(
            "
            warning[state-interrupted] .claude/.mpm: generation 1 (`mpm apply -y`, since [TIME]) never finished: pid {pid} on {host}, which held the lock, is gone; hint: run `mpm apply` again: it finishes that generation (the lock died with the process, so nothing is stuck)
            Found 1 warning in `.claude`.
            "
        ))
        .success();
}

#[test]
fn a_blob_with_other_bytes_than_its_sha256_is_named() {
    let ran = applied();
    let v1 = mpm::hash::Digest::of(&ran.bytes(".claude/agents/alpha.md")).short();
    ran.then()
        .manifest(&inline_manifest(&[("alpha", "v2")]))
        .args(&["apply", "-y"])
        .stdout_any()
        .success();
    // the first generation's copy of alpha, one byte changed
    let pack = ran.path(".claude/.mpm/packs/1.pack");
    let mut bytes = std::fs::read(&pack).unwrap();
    let at = bytes.windows(4).position(|w| w == b"\nv1\n").unwrap();
    bytes[at + 1] = b'V';
    std::fs::write(&pack, bytes).unwrap();
    ran.then()
        .args(&["doctor"])
        .stdout(&format!(
            "
            error[state-missing-blob] .claude/.mpm: the state log `[TMP]/.claude/.mpm` lacks the bytes of `agents/alpha.md` after generation 1; blob {v1}; `[TMP]/.claude/.mpm/packs/1.pack` holds other bytes than its index says; hint: if only old generations need it, `mpm history prune --keep N` drops them; otherwise move the state folder aside and run `mpm apply --adopt` to record the files again (history is lost); docs/concepts.md says more under \"A damaged state log\"
            Found 1 error in `.claude`.
            "
        ))
        .failure();
}

#[test]
fn a_state_folder_without_its_gitignore() {
    let ran = applied();
    std::fs::remove_file(ran.path(".claude/.mpm/.gitignore")).unwrap();
    ran.then()
        .args(&["doctor"])
        .stdout(
            "
            warning[state-gitignore-missing] .claude/.mpm/.gitignore: the state folder's `.gitignore` is missing, so git may pick up the state log; hint: the next `mpm apply` puts it back
            Found 1 warning in `.claude`.
            ",
        )
        .success();
}

#[test]
fn json_is_a_versioned_contract() {
    let ran = doctor(&[
        (".claude/agents/qa.md", "---\nname: qa\n---\n"),
        (
            ".claude/settings.json",
            "{\"env\": {\"CLAUDE_TIMEOUT\": \"30\"}}",
        ),
    ])
    .args(&["--json"])
    // read back below: the exact text holds the temp directory and mpm's version
    .stdout_any()
    .failure();
    // deny_unknown_fields: a key added without a format bump fails here
    let doc: mpm::doctor::render::DoctorJson = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(doc.format_version, "1.0");
    assert_eq!(doc.target, ran.path(".claude").display().to_string());
    assert_eq!(
        (doc.summary.errors, doc.summary.warnings),
        (1, 1),
        "{doc:?}"
    );
    let first = &doc.findings[0];
    assert_eq!(
        (first.severity.as_str(), first.code.as_str()),
        ("error", "agent-no-description")
    );
    assert_eq!(
        first.path,
        ran.path(".claude/agents/qa.md").display().to_string()
    );
    assert_eq!((first.line, first.column), (None, None));
    let second = &doc.findings[1];
    assert_eq!(
        (second.severity.as_str(), second.code.as_str()),
        ("warning", "env-claude-mpm")
    );
    assert_eq!((second.line, second.column), (Some(1), Some(10)));
    assert_eq!(
        second.hint.as_deref(),
        Some(
            "set `API_TIMEOUT_MS` (or `BASH_DEFAULT_TIMEOUT_MS`) instead, in milliseconds: `\"30000\"` for claude-mpm's `30` seconds"
        )
    );
    // a clean target is an empty list
    let clean = agent(GOOD).args(&["--json"]).stdout_any().success();
    let doc: mpm::doctor::render::DoctorJson = serde_json::from_str(&clean.stdout).unwrap();
    assert!(doc.findings.is_empty());
}

#[test]
fn the_doctor_writes_nothing_not_even_the_state_folder() {
    // every kind of problem at once, state log included
    let ran = applied();
    for (path, text) in [
        (".claude/agents/bad.md", "\n---\nname: x\n---\n"),
        (".claude/agents/qa.markdown", GOOD),
        (
            ".claude/settings.json",
            "{\"env\": {\"CLAUDE_TIMEOUT\": \"1\"}",
        ),
    ] {
        plant(&ran.path(""), path, text);
    }
    std::fs::remove_file(ran.path(".claude/.mpm/.gitignore")).unwrap();
    let before = tree(&ran.path(""));
    let db_before = sled_files(&ran.path(".claude/.mpm/db"));
    for args in [&["doctor"][..], &["doctor", "--json"]] {
        ran.then().args(args).stdout_any().failure();
        assert!(tree(&ran.path("")) == before, "`mpm {args:?}` wrote");
        assert!(
            sled_files(&ran.path(".claude/.mpm/db")) == db_before,
            "`mpm {args:?}` changed the database"
        );
    }
    // a target without a state log gets no state folder
    let t = agent(GOOD).stdout_any().success();
    assert!(!t.exists(".claude/.mpm"));
}

/// sled's files with their bytes (the harness's tree leaves them out).
fn sled_files(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.push((e.path(), std::fs::read(e.path()).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn without_a_manifest_the_doctor_asks_for_a_target() {
    Test::new()
        .args(&["doctor"])
        .stderr_has("hint: ")
        .stderr_has("pass `--target DIR`: history, rollback and doctor need only the target\n")
        .failure();
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout == b"0\n")
}

#[test]
#[ignore = "as root: runs mpm as another user"]
fn as_root_a_lock_file_another_user_may_not_write_stops_the_next_apply() {
    assert!(is_root(), "run as root");
    let ran = applied();
    // readable by all, writable by root only (the temp folder is 0700)
    let status = std::process::Command::new("chmod")
        .args(["-R", "a+rX"])
        .arg(ran.path(""))
        .status()
        .unwrap();
    assert!(status.success());
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(BIN)
        .arg("doctor")
        .current_dir(ran.path(""))
        .env_clear()
        .env("HOME", ran.path("home"))
        .env("NO_COLOR", "1")
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .unwrap();
    let stdout = crate::harness::scrub(&String::from_utf8_lossy(&out.stdout), &ran.path(""));
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert_eq!(
        stdout,
        "error[state-lock-unwritable] .claude/.mpm/lock: the lock file belongs to uid 0 and you may not write it: `mpm apply` here fails with `Permission denied`; hint: remove it as its owner (`sudo rm .claude/.mpm/lock`): no process holds it, and mpm makes a new one\n\
         Found 1 error in `.claude`.\n"
    );
}

#[test]
fn values_the_client_reads_otherwise_than_meant() {
    doctor(&[(
        ".claude/settings.json",
        "{\"env\": {\n  \"DISABLE_TELEMETRY\": 1,\n  \"BASH_DEFAULT_TIMEOUT_MS\": \"300\",\n  \"CLAUDE_CODE_MAX_SUBAGENTS_PER_SESSION\": \"5\"\n}}\n",
    )])
    .stdout(
        "
        warning[env-not-string] .claude/settings.json:2:3: `DISABLE_TELEMETRY` is a number, not a string: settings files give every variable a string; hint: write `\"DISABLE_TELEMETRY\": \"1\"`
        warning[env-unit] .claude/settings.json:3:3: `BASH_DEFAULT_TIMEOUT_MS` is `300` milliseconds, under a second; hint: the value is in milliseconds: for 300 seconds write `300000`
        warning[env-no-op] .claude/settings.json:4:3: `CLAUDE_CODE_MAX_SUBAGENTS_PER_SESSION` does nothing since Claude Code 2.1.224; hint: remove it
        Found 3 warnings in `.claude`.
        ",
    )
    .success();
}

#[test]
fn settings_that_are_json_but_not_settings() {
    doctor(&[(".claude/settings.json", "{\"env\": [\"A=1\"]}\n")])
        .stdout(
            "
            error[settings-not-object] .claude/settings.json:1:2: `env` is not a JSON object: Claude Code reads it as variable names mapped to strings; hint: write it as `\"env\": {\"NAME\": \"value\"}`
            Found 1 error in `.claude`.
            ",
        )
        .failure();
}

#[test]
fn a_target_that_is_a_file() {
    doctor_of("out", &[("out", "")])
        .stdout(
            "
            warning[target-not-read] out: Claude Code does not look in `out`: it reads the user's agents from `~/.claude` (`$CLAUDE_CONFIG_DIR` when set) and a project's from its `.claude` folder; hint: start Claude Code with `CLAUDE_CONFIG_DIR=[TMP]/out`, or use `target: user` or `target: project`
            error[target-not-a-directory] out: the target `out` is not a directory; hint: point `target:` in mpm.yaml or `--target` at a Claude Code config directory
            Found 1 error and 1 warning in `out`.
            ",
        )
        .failure();
}

#[test]
fn a_state_log_that_cannot_be_opened_is_an_error() {
    let ran = applied();
    let db = ran.path(".claude/.mpm/db");
    std::fs::rename(&db, ran.path("elsewhere")).unwrap();
    std::os::unix::fs::symlink(ran.path("elsewhere"), &db).unwrap();
    ran.then()
        .args(&["doctor"])
        .stdout(
            "
            error[state-unreadable] .claude/.mpm: `[TMP]/.claude/.mpm/db` is a symbolic link: mpm never writes or reads through a link in its state directory; hint: put the file or folder the link points to in its place, or point `--state-dir` at a directory without links
            Found 1 error in `.claude`.
            ",
        )
        .failure();
}

/// `mpm doctor` with these arguments, then with `--json`, each exiting 1: the
/// text is `expected`, and neither says `value` on stdout or stderr.
#[track_caller]
fn says_without(ran: &Ran, args: &[&str], value: &str, expected: &str) {
    let text = ran
        .then()
        .args(&["doctor"])
        .args(args)
        .stdout(expected)
        .failure();
    let json = ran
        .then()
        .args(&["doctor", "--json"])
        .args(args)
        .stdout_any()
        .failure();
    for said in [&text.stdout, &text.stderr, &json.stdout, &json.stderr] {
        assert!(
            !said.contains(value),
            "the doctor printed `{value}`:\n{said}"
        );
    }
    let doc: mpm::doctor::render::DoctorJson = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(doc.findings.len(), text.stdout.lines().count() - 1);
}

/// A hostile review: the doctor checked the value of a secret mpm wrote, and
/// quoted it, `--json` too.
#[test]
fn a_secret_mpm_applied_with_a_bad_value_is_named_not_quoted() {
    const SECRET: &str = "proxy.corp:8080/HUNTERTOKEN";
    let ran = Test::new()
        .manifest(
            "
            version: 1
            environment:
              scope: local
              ANTHROPIC_BASE_URL: { from_env: S, secret: true }
            ",
        )
        .env("S", "https://proxy.corp:8080")
        .args(&["apply", "-y"])
        .stdout_any()
        .success();
    // mpm refuses such a value (without quoting it); the file can still get one
    let file = ran
        .read(".claude/settings.local.json")
        .replace("https://proxy.corp:8080", SECRET);
    std::fs::write(ran.path(".claude/settings.local.json"), file).unwrap();
    says_without(
        &ran,
        &[],
        "HUNTERTOKEN",
        "
        error[env-invalid-value] .claude/settings.local.json:3:5: `ANTHROPIC_BASE_URL` expects a URL starting with `http://` or `https://`, got the value of the secret `$S`, not shown; hint: give `S` a value that fits where mpm runs, then run `mpm apply`
        Found 1 error in `.claude`.
        ",
    );
}

/// The doctor reads files mpm never wrote: a value whose name or form looks like a
/// credential's is not quoted there either; any other still is.
#[test]
fn a_credential_in_a_file_mpm_does_not_manage_is_not_quoted() {
    let ran = planted(&[(
        ".claude/settings.local.json",
        "{\"env\": {\n  \"GITHUB_TOKEN\": 8675309,\n  \"ANTHROPIC_MODEL\": \"sk-ant-api03 8675309\",\n  \"CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS\": \"x\"\n}}\n",
    )])
    .args(&["doctor", "--target", ".claude"])
    .stdout_any()
    .failure();
    says_without(
        &ran,
        &["--target", ".claude"],
        "8675309",
        "
        warning[env-not-string] .claude/settings.local.json:2:3: `GITHUB_TOKEN` is a number, not a string: settings files give every variable a string; hint: write it in quotes: `\"GITHUB_TOKEN\": \"<value>\"`
        error[env-invalid-value] .claude/settings.local.json:3:3: `ANTHROPIC_MODEL` expects a model alias or id, one word like `sonnet` or `claude-sonnet-4-5`, got a value not shown, as it looks like a credential
        error[env-invalid-value] .claude/settings.local.json:4:3: `CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS` expects a whole number of at least 1, got `x`; hint: Claude Code's default is `20`
        Found 2 errors and 1 warning in `.claude`.
        ",
    );
}

/// While another mpm holds the state log, the doctor cannot tell its secrets:
/// it quotes no value at all.
#[test]
fn with_the_state_log_locked_no_value_is_quoted() {
    let ran = applied();
    plant(
        &ran.path(""),
        ".claude/settings.json",
        "{\"env\": {\"DISABLE_TELEMETRY\": \"HUNTER2\"}}\n",
    );
    // this test process is the holder, as an `mpm apply` would be
    let held = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(ran.path(".claude/.mpm/lock"))
        .unwrap();
    held.lock().unwrap();
    says_without(
        &ran,
        &[],
        "HUNTER2",
        "
        error[env-invalid-value] .claude/settings.json:1:10: `DISABLE_TELEMETRY` expects `1` or `true` to turn it on (`0` or `false`: off), got a value not shown, as the state log could not be read to tell whether it is a secret
        warning[state-locked] .claude/.mpm: another process holds the state log's lock: the log was not checked; hint: let it finish, then run `mpm doctor` again
        Found 1 error and 1 warning in `.claude`.
        ",
    );
    drop(held);
}
