//! Bad input: each error's text pinned, exit code 1, no panic, nothing on disk
//! changed (`.failure()` compares the whole tree before and after).

use crate::harness::Test;

#[test]
fn malformed_yaml() {
    Test::new()
        .manifest("version: 1\nagents:\n  qa:\n   template: x\n    model: y\n")
        .args(&["plan"])
        .stderr(
            "
            error: mapping values are not allowed in this context
             --> mpm.yaml:5:10
              |
            5 |     model: y
              |          ^
            hint: check the indentation and quoting around that line
            ",
        )
        .failure();
}

#[test]
fn unknown_key_with_did_you_mean() {
    Test::new()
        .manifest("version: 1\nagents:\n  qa:\n    templat: templates/qa.json\n")
        .args(&["plan"])
        .stderr(
            "
            error: unknown key `templat` in `agents.qa`
             --> mpm.yaml:4:5
              |
            4 |     templat: templates/qa.json
              |     ^^^^^^^
            hint: did you mean `template`?
            ",
        )
        .failure();
}

#[test]
fn a_release_tag_without_its_version() {
    Test::new()
        .manifest("version: 1\nrelease:\n  tag: release\n")
        .args(&["plan"])
        .stderr(
            "
            error: `release.tag` must contain `{version}` once
             --> mpm.yaml:3:8
              |
            3 |   tag: release
              |        ^^^^^^^
            hint: write it like `v{version}` or `pack-{version}`
            ",
        )
        .failure();
}

#[test]
fn missing_template() {
    Test::new()
        .manifest("version: 1\nagents:\n  qa:\n    template: templates/nope.json\n")
        .args(&["plan"])
        .stderr(
            "
            error: template `templates/nope.json` not found
             --> mpm.yaml:4:15
              |
            4 |     template: templates/nope.json
              |               ^^^^^^^^^^^^^^^^^^^
            hint: paths in the manifest are relative to its directory, `[TMP]`
            ",
        )
        .failure();
}

#[test]
fn template_that_is_not_json() {
    Test::new()
        .manifest("version: 1\nagents:\n  qa:\n    template: templates/qa.json\n")
        .write(
            "templates/qa.json",
            "{\n  \"agent_version\": \"1.0.0\",\n}\n",
        )
        .args(&["plan"])
        .stderr(
            "
            error: template `templates/qa.json` is not valid JSON: trailing comma
             --> templates/qa.json:3:1
              |
            3 | }
              | ^
            hint: fix the JSON syntax; `jq . FILE` shows the same error
            ",
        )
        .failure();
}

#[test]
fn template_that_violates_the_schema_reports_every_pointer() {
    Test::new()
        .manifest("version: 1\nagents:\n  qa:\n    template: templates/qa.json\n")
        .write(
            "templates/qa.json",
            r#"{"agent_version": "1.2", "metadata": {"description": 7}, "capabilities": {"tools": "Read"}}"#,
        )
        .args(&["plan"])
        .stderr(
            r#"
            error: template `templates/qa.json` does not match the claude-mpm template schema (3 problems)
              caused by: templates/qa.json: `/agent_version`: "1.2" does not match "^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$"
              caused by: templates/qa.json: `/metadata/description`: 7 is not of type "string"
              caused by: templates/qa.json: `/capabilities/tools`: "Read" is not of type "array"
            hint: `schema/agent-template.schema.json` describes the format mpm reads
            "#,
        )
        .failure();
}

#[test]
fn template_model_claude_code_does_not_know() {
    Test::new()
        .manifest("version: 1\nagents:\n  prompt-engineer:\n    template: templates/pe.json\n")
        .write(
            "templates/pe.json",
            r#"{"agent_version": "1.0.0", "metadata": {"description": "d"}, "capabilities": {"model": "sonnet-4.5"}, "instructions": "x"}"#,
        )
        .args(&["plan"])
        .stderr(
            "
            error: template `templates/pe.json`: `/capabilities/model` is `sonnet-4.5`, which Claude Code would accept without a word and never use as meant (unknown model `sonnet-4.5`: Claude Code knows `sonnet`, `opus`, `haiku`, `inherit` or a full model id like `claude-sonnet-4-5`)
            hint: set `model: sonnet` for agent `prompt-engineer` in mpm.yaml; that overrides the template's value
            ",
        )
        .failure();
}

#[test]
fn a_manifest_override_accepts_such_a_template() {
    Test::new()
        .manifest("version: 1\nagents:\n  prompt-engineer:\n    template: templates/pe.json\n    model: sonnet\n")
        .write(
            "templates/pe.json",
            r#"{"agent_version": "1.0.0", "metadata": {"description": "d"}, "capabilities": {"model": "sonnet-4.5"}, "instructions": "x"}"#,
        )
        .args(&["plan"])
        .stdout(
            "
            mpm will make these changes in `.claude`:

              + prompt-engineer  1.0.0            agents/prompt-engineer.md

            Plan: 1 to add, 0 to change, 0 to destroy.
            ",
        )
        .success();
}

fn bad_name(name: &str, column: usize) {
    let line = format!("  {name:?}:");
    Test::new()
        .manifest(&format!("version: 1\nagents:\n{line}\n    prompt: x\n    description: d\n"))
        .args(&["plan"])
        .stderr(&format!(
            "error: `{name}` is not a valid agent name: use lower-case letters, digits and single hyphens, like `data-engineer` in `agents`\n --> mpm.yaml:3:{column}\n  |\n3 | {line}\n  | {}{}\n",
            " ".repeat(column - 1),
            "^".repeat(format!("{name:?}").len()),
        ))
        .failure();
}

#[test]
fn bad_agent_names() {
    bad_name("../x", 3);
    bad_name("A B", 3);
    bad_name("x:y", 3);
}

#[test]
fn duplicate_names() {
    Test::new()
        .manifest("version: 1\nagents:\n  qa: {prompt: x, description: d}\n  qa: {prompt: y, description: d}\n")
        .args(&["plan"])
        .stderr(
            "
            error: agent `qa` is defined twice in `agents`
             --> mpm.yaml:4:3
              |
            4 |   qa: {prompt: y, description: d}
              |   ^^
            ",
        )
        .failure();
}

#[test]
fn two_sources_for_one_agent() {
    Test::new()
        .manifest("version: 1\nagents:\n  qa:\n    prompt: x\n    description: d\n    file: a.md\n")
        .args(&["plan"])
        .stderr(
            "
            error: agent `qa` has more than one source (`file` and `prompt`)
             --> mpm.yaml:4:13
              |
            4 |     prompt: x
              |             ^
            hint: keep exactly one of `template:`, `file:`, `prompt:` or `registry:`
            ",
        )
        .failure();
}

#[test]
fn version_requirement_not_met() {
    Test::new()
        .template("qa", "3.4.0", "Test.")
        .manifest(
            "version: 1\nagents:\n  qa:\n    template: templates/qa.json\n    version: '>=3.5'\n",
        )
        .args(&["plan"])
        .stderr(
            "
            error: agent `qa` requires version `>=3.5`, but `templates/qa.json` has version 3.4.0
             --> mpm.yaml:5:14
              |
            5 |     version: '>=3.5'
              |              ^^^^^^^
            hint: update the template, or change the agent's `version:` requirement
            ",
        )
        .failure();
}

#[test]
fn target_that_is_a_file() {
    Test::new()
        .manifest("version: 1\ntarget: {path: out}\nagents:\n  qa: {prompt: x, description: d}\n")
        .write("out", "I am a file\n")
        .args(&["apply", "-y"])
        .stderr(
            "
            error: the target `out` is not a directory
            hint: point `target:` in mpm.yaml or `--target` at a directory (or at a path that does not exist yet)
            ",
        )
        .failure();
}

#[test]
fn symlink_in_the_target_leading_outside() {
    let t = Test::new().manifest("version: 1\nagents:\n  qa: {prompt: x, description: d}\n");
    std::fs::create_dir_all(t.path("elsewhere")).unwrap();
    std::fs::create_dir_all(t.path(".claude")).unwrap();
    std::os::unix::fs::symlink(t.path("elsewhere"), t.path(".claude/agents")).unwrap();
    t.args(&["apply", "-y"])
        .stderr(
            "
            error: `.claude/agents` is a symbolic link to `[TMP]/elsewhere`, outside the target `.claude`
            hint: mpm never writes through a link that leaves the target; replace the link with a directory
            ",
        )
        .failure();
}

#[test]
fn symlink_where_an_agent_goes_is_a_conflict_even_forced() {
    let t = Test::new().manifest("version: 1\nagents:\n  qa: {prompt: x, description: d}\n");
    std::fs::create_dir_all(t.path(".claude/agents")).unwrap();
    std::fs::write(t.path("secret"), "keep").unwrap();
    std::os::unix::fs::symlink(t.path("secret"), t.path(".claude/agents/qa.md")).unwrap();
    let ran = t
        .args(&["apply", "-y", "--force"])
        .stdout(
            "
            Conflicts (apply stops here, before any write):
              ! agents/qa.md  is a symbolic link, not a file
                  move it away; mpm never writes through it nor removes it

            Plan: 0 to add, 0 to change, 0 to destroy.
            ",
        )
        .stderr(
            "
            error: 1 conflict stops the apply; nothing was changed
            hint: each conflict above says what to do; `--force` never writes through a directory or link, nor over a settings file that is not JSON, nor deletes a protected agent
            ",
        )
        .failure();
    assert_eq!(ran.read("secret"), "keep");
}

#[test]
fn ready_file_the_client_would_skip() {
    Test::new()
        .manifest("version: 1\nagents:\n  notes:\n    file: notes.md\n")
        .write("notes.md", "name: notes\n---\nno frontmatter start\n")
        .args(&["plan"])
        .stderr(
            "
            error: agent `notes`: `notes.md`: the file does not start with a `---` line: Claude Code would skip it silently
            hint: fix the file; Claude Code reads `name`, `description`, `model`, `tools` and `color` from its frontmatter
            ",
        )
        .failure();
}

#[test]
fn several_problems_are_all_reported() {
    Test::new()
        .manifest("version: 1\nagents:\n  a:\n    template: nope.json\n  b:\n    file: nope.md\n")
        .args(&["plan"])
        .stderr(
            "
            error: template `nope.json` not found
             --> mpm.yaml:4:15
              |
            4 |     template: nope.json
              |               ^^^^^^^^^
            hint: paths in the manifest are relative to its directory, `[TMP]`

            error: agent file `nope.md` not found
             --> mpm.yaml:6:11
              |
            6 |     file: nope.md
              |           ^^^^^^^
            hint: paths in the manifest are relative to its directory, `[TMP]`

            error: 2 problems; nothing was changed
            ",
        )
        .failure();
}

#[test]
fn no_manifest() {
    Test::new()
        .args(&["plan"])
        .stderr(
            "
            error: no `mpm.yaml` in `[TMP]` or any parent directory
            hint: run `mpm init` to write one, or pass `--manifest FILE`
            ",
        )
        .failure();
}

#[test]
fn usage_errors_exit_1() {
    Test::new()
        .args(&["plan", "--bogus"])
        .stderr(
            "
            error: unexpected argument '--bogus' found

            Usage: mpm plan [OPTIONS]

            For more information, try '--help'.
            ",
        )
        .failure();
}

#[test]
fn not_utf8_and_empty_manifests() {
    Test::new()
        .write("mpm.yaml", "")
        .args(&["plan"])
        .stderr(
            "
            error: `mpm.yaml` is empty
            hint: start from `mpm init`, or write `version: 1` and an `agents:` map
            ",
        )
        .failure();
    let t = Test::new();
    std::fs::write(t.path("mpm.yaml"), b"version: 1\n\xff\xfe\n").unwrap();
    t.args(&["plan"])
        .stderr(
            "
            error: `mpm.yaml` is not UTF-8 text
            hint: save the manifest as UTF-8
            ",
        )
        .failure();
}

#[test]
fn ready_file_with_an_unquoted_colon() {
    Test::new()
        .manifest("version: 1\nagents:\n  notes:\n    file: notes.md\n")
        .write("notes.md", "---\nname: notes\ndescription: Notes: keep them\n---\nBody\n")
        .args(&["plan"])
        .stderr(
            "
            error: agent `notes`: `notes.md`: the frontmatter is not valid YAML at line 3 column 19: mapping values are not allowed in this context (quote a value that contains `: `; Claude Code guesses at such a line, other readers refuse it)
            hint: fix the file; Claude Code reads `name`, `description`, `model`, `tools` and `color` from its frontmatter
            ",
        )
        .failure();
}

#[test]
fn a_lock_timeout_too_long_to_represent() {
    Test::new()
        .manifest("version: 1\n")
        .args(&["plan", "--lock-timeout", "99999999999999999999h"])
        .stderr("error: invalid `--lock-timeout`: `99999999999999999999h` is not a duration mpm can wait (like `30s`, `2m`, `500ms`)\n")
        .failure();
}

#[test]
fn three_dashes_in_a_description_are_refused() {
    Test::new()
        .manifest("version: 1\nagents:\n  qa: {prompt: x, description: '---'}\n")
        .args(&["plan"])
        .stderr(
            "
            error: `agents.qa.description` contains `---`, where Claude Code would end the frontmatter and drop or cut the agent
             --> mpm.yaml:3:32
              |
            3 |   qa: {prompt: x, description: '---'}
              |                                ^^^^^
            hint: write it without `---` (in the prompt, below the frontmatter, `---` is only Markdown)
            ",
        )
        .failure();
}

#[test]
fn a_byte_order_mark_is_not_content() {
    let t = Test::new().template("qa", "1.0.0", "Test.");
    let template = std::fs::read(t.path("templates/qa.json")).unwrap();
    std::fs::write(
        t.path("templates/qa.json"),
        [b"\xef\xbb\xbf".as_slice(), &template].concat(),
    )
    .unwrap();
    std::fs::write(
        t.path("mpm.yaml"),
        "\u{feff}version: 1\nagents:\n  qa: {template: templates/qa.json}\n",
    )
    .unwrap();
    t.args(&["plan"])
        .stdout(
            "
            mpm will make these changes in `.claude`:

              + qa        1.0.0            agents/qa.md

            Plan: 1 to add, 0 to change, 0 to destroy.
            ",
        )
        .success();
}

#[test]
fn more_than_one_document() {
    Test::new()
        .manifest("version: 1\n---\nversion: 1\n")
        .args(&["plan"])
        .stderr(
            "
            error: `mpm.yaml` holds more than one YAML document
            hint: keep one document: remove the `---` line that starts the second
            ",
        )
        .failure();
}

#[test]
fn an_empty_agent() {
    Test::new()
        .manifest("version: 1\nagents:\n  qa:\n")
        .args(&["plan"])
        .stderr(
            "
            error: agent `qa` has no source
             --> mpm.yaml:3:6
              |
            3 |   qa:
              |      ^
            hint: give it one of `template:`, `file:`, `prompt:` or `registry:`
            ",
        )
        .failure();
}

#[test]
fn a_bad_tool_list_points_at_the_value() {
    Test::new()
        .manifest("version: 1\nagents:\n  qa:\n    prompt: x\n    description: d\n    tools: \"Read,,Bash\"\n")
        .args(&["plan"])
        .stderr(
            "
            error: a tool name is empty (two commas in a row?) in `agents.qa.tools`
             --> mpm.yaml:6:12
              |
            6 |     tools: \"Read,,Bash\"
              |            ^^^^^^^^^^^^
            ",
        )
        .failure();
}

#[test]
fn a_bad_version_requirement_gets_no_syntax_hint() {
    Test::new()
        .manifest("version: 1\nagents:\n  qa:\n    template: t.json\n    version: '>>1'\n")
        .args(&["plan"])
        .stderr(
            "
            error: unexpected character '>' while parsing major version number in `agents.qa.version`
             --> mpm.yaml:5:14
              |
            5 |     version: '>>1'
              |              ^^^^^
            ",
        )
        .failure();
}

#[test]
fn a_target_below_a_file() {
    Test::new()
        .manifest("version: 1\nagents:\n  qa: {prompt: x, description: d}\n")
        .write("file", "x")
        .args(&["apply", "-y", "--target", "file/sub"])
        .stderr(
            "
            error: the target `[TMP]/file` is not a directory
            hint: point `target:` in mpm.yaml or `--target` at a directory (or at a path that does not exist yet)
            ",
        )
        .failure();
}

/// An error message echoed a template path holding an escape sequence as it was:
/// the terminal, not the reader, got the `ESC[31m`.
#[test]
fn a_control_character_in_a_path_is_shown_not_sent_to_the_terminal() {
    Test::new()
        .manifest("version: 1\nagents:\n  qa:\n    template: \"\\e[31mRED.json\"\n")
        .args(&["plan"])
        .stderr(
            r#"
            error: template `\u{1b}[31mRED.json` not found
             --> mpm.yaml:4:15
              |
            4 |     template: "\e[31mRED.json"
              |               ^^^^^^^^^^^^^^^^
            hint: paths in the manifest are relative to its directory, `[TMP]`
            "#,
        )
        .failure();
}
