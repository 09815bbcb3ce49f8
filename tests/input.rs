//! Input that used to get through, or through with a message that did not say what
//! was wrong (issue 6, items 2 and 9): each test is named after the defect it guards.

use crate::harness::Test;

fn long_name(n: usize) -> String {
    "a".repeat(n)
}

/// A 300-character name planned fine; apply then failed with `File name too long`
/// after recording a pack and a pending generation, and every later command failed.
#[test]
fn an_agent_name_the_file_system_refuses_is_refused_at_plan_time() {
    let name = long_name(300);
    let manifest = format!("version: 1\nagents:\n  {name}:\n    description: d\n    prompt: x\n");
    let expected = format!(
        "
        error: agent name `{}…` is 300 characters long, more than the 64 mpm allows in `agents`
         --> mpm.yaml:3:3
          |
        3 |   {name}:
          |   {}
        hint: shorten it to 64 characters or fewer: the name is the file `agents/<name>.md` and the agent's name in Claude Code, which limits its own skill names to 64
        ",
        long_name(32),
        "^".repeat(300)
    );
    let t = Test::new().manifest(&manifest);
    let ran = t.args(&["plan"]).stdout("").stderr(&expected).failure();
    // apply refuses before it records anything
    ran.then()
        .args(&["apply", "-y"])
        .stdout("")
        .stderr(&expected)
        .failure();
    // the longest name allowed plans
    let name = long_name(64);
    Test::new()
        .manifest(&format!(
            "version: 1\nagents:\n  {name}:\n    description: d\n    prompt: x\n"
        ))
        .args(&["plan"])
        .stdout(&format!(
            "
            mpm will make these changes in `.claude`:

              + {name}                   agents/{name}.md

            Plan: 1 to add, 0 to change, 0 to destroy.
            "
        ))
        .stderr("")
        .success();
}

/// Names derived from template file names get the same limit, and the file is
/// skipped with why.
#[test]
fn init_from_templates_skips_a_template_whose_name_would_be_too_long() {
    let stem = long_name(70);
    let ran = Test::new()
        .template("qa", "1.0.0", "Test.")
        .template(&stem, "1.0.0", "Long.")
        .args(&["init", "--from-templates", "templates"])
        .stdout("")
        .stderr(&format!(
            "
            warning: skipped `templates/{stem}.json`: agent name `{}…` is 70 characters long, more than the 64 mpm allows (the name comes from the file's)
            Wrote `mpm.yaml` with 1 agent. Next: `mpm plan`, then `mpm apply`.
            ",
            long_name(32)
        ))
        .success();
    assert!(ran.read("mpm.yaml").contains(&format!(
        "  # skipped templates/{stem}.json: its name is not a valid agent name\n"
    )));
}

/// A `---` line inside a multi-line value was reported as "`---` contains `---`":
/// the line, not the field, and no agent, no hint.
#[test]
fn three_dashes_in_a_multi_line_value_name_the_field_and_the_agent() {
    Test::new()
        .manifest(
            "
            version: 1
            agents:
              qa:
                prompt: x
                description: |
                  Reviews code.
                  ---
                  Use often.
            ",
        )
        .args(&["plan"])
        .stdout("")
        .stderr(
            "
            error: `agents.qa.description` contains `---`, where Claude Code would end the frontmatter and drop or cut the agent
             --> mpm.yaml:5:18
              |
            5 |     description: |
              |                  ^
            hint: write it without `---` (in the prompt, below the frontmatter, `---` is only Markdown)
            ",
        )
        .failure();
    // from a template: the template, the field and the agent
    Test::new()
        .manifest("version: 1\nagents:\n  qa: {template: templates/qa.json}\n")
        .write(
            "templates/qa.json",
            r#"{"agent_version": "1.0.0", "metadata": {"description": "Reviews code.\n---\nUse often."}, "capabilities": {}, "instructions": "x"}"#,
        )
        .args(&["plan"])
        .stdout("")
        .stderr(
            "
            error: agent `qa`: template `templates/qa.json`: `/metadata/description` contains `---`, where Claude Code would end the frontmatter and drop or cut the agent
            hint: write it without `---` (in the prompt, below the frontmatter, `---` is only Markdown); or set `description:` for agent `qa` in mpm.yaml, which overrides the template's
            ",
        )
        .failure();
    // in a ready file: the file, the line and the field
    Test::new()
        .manifest("version: 1\nagents:\n  notes: {file: notes.md}\n")
        .write(
            "notes.md",
            "---\nname: notes\ndescription: >\n  Notes.\n  --- more\n---\nBody\n",
        )
        .args(&["plan"])
        .stdout("")
        .stderr(
            "
            error: agent `notes`: `notes.md`: line 5, column 3: `description` contains `---`, where Claude Code would end the frontmatter and drop or cut the agent
            hint: write it without `---` (in the prompt, below the frontmatter, `---` is only Markdown)
            ",
        )
        .failure();
}

/// `-m DIR` said "manifest `..` not found".
#[test]
fn a_directory_given_as_the_manifest_is_said_to_be_one() {
    let t = Test::new().manifest("version: 1\n");
    let ran = t
        .current_dir("sub")
        .args(&["-m", "..", "plan"])
        .stdout("")
        .stderr(
            "
            error: manifest `..` is a directory
            hint: `--manifest` takes the file: pass `../mpm.yaml`
            ",
        )
        .failure();
    ran.then()
        .args(&["-m", "sub", "plan"])
        .stdout("")
        .stderr(
            "
            error: manifest `sub` is a directory
            hint: `--manifest` takes a file, and there is no `mpm.yaml` in `sub`; `mpm init --manifest sub/mpm.yaml` writes one
            ",
        )
        .failure();
    // init said "`sub` already exists"
    ran.then()
        .args(&["-m", "sub", "init", "--force"])
        .stdout("")
        .stderr(
            "
            error: manifest `sub` is a directory
            hint: `--manifest` names the file to write, like `sub/mpm.yaml`
            ",
        )
        .failure();
}

/// A folder of only invalid templates said "no claude-mpm templates", and not why.
#[test]
fn a_folder_of_only_invalid_templates_says_why_each_was_skipped() {
    Test::new()
        .write("t/broken.json", r#"{"agent_version": 3}"#)
        .write("t/cut.json", "{\"agent_version\": \"1.0.0\",\n")
        .write("t/Bad Name.json", "{}")
        .args(&["init", "--from-templates", "t"])
        .stdout("")
        .stderr(
            r#"
            warning: skipped `t/Bad Name.json`: `bad name` is not a valid agent name: use lower-case letters, digits and single hyphens, like `data-engineer` (the name comes from the file's)
            warning: skipped `t/broken.json`: not a claude-mpm template: `/`: "metadata" is a required property (and 2 more)
            warning: skipped `t/cut.json`: not valid JSON at line 2 column 1: EOF while parsing a value
            error: none of the 3 `*.json` files in `t` can be used: nothing to write
            hint: fix the templates named above, or point `--from-templates` at claude-mpm's `agents/templates/`
            "#,
        )
        .failure();
}

/// Control characters other than tab and newline (NUL included) reached the
/// rendered file from every source: invisible in an editor and in the plan.
#[test]
fn control_characters_in_rendered_text_are_refused() {
    // written as an escape in the manifest
    Test::new()
        .manifest("version: 1\nagents:\n  qa:\n    description: d\n    prompt: \"a\\0b\"\n")
        .args(&["plan"])
        .stdout("")
        .stderr(
            r#"
            error: `agents.qa.prompt` contains the control character U+0000
             --> mpm.yaml:5:13
              |
            5 |     prompt: "a\0b"
              |             ^^^^^^
            hint: remove it: tab and newline are the only control characters an agent file may hold (`\r` only as part of a `\r\n` line end)
            "#,
        )
        .failure();
    // as is: the YAML reader refused it with a byte offset and the caret on line 1
    Test::new()
        .manifest("version: 1\nagents:\n  qa:\n    description: a\u{7}b\n    prompt: x\n")
        .args(&["plan"])
        .stdout("")
        .stderr(
            r#"
            error: `mpm.yaml` contains the control character U+0007
             --> mpm.yaml:4:19
              |
            4 |     description: a␇b
              |                   ^^
            hint: remove it: tab and newline are the only control characters an agent file may hold (`\r` only as part of a `\r\n` line end)
            "#,
        )
        .failure();
    // in a frontmatter value of `defaults`, and in a tool name
    Test::new()
        .manifest("version: 1\ndefaults:\n  initialPrompt: \"go\\e[2J\"\n")
        .args(&["plan"])
        .stdout("")
        .stderr(
            r#"
            error: `defaults.initialPrompt` contains the control character U+001B
             --> mpm.yaml:3:18
              |
            3 |   initialPrompt: "go\e[2J"
              |                  ^^^^^^^^^
            hint: remove it: tab and newline are the only control characters an agent file may hold (`\r` only as part of a `\r\n` line end)
            "#,
        )
        .failure();
    Test::new()
        .manifest("version: 1\nagents:\n  qa:\n    description: d\n    prompt: x\n    tools: [Read, \"Ba\\ash\"]\n")
        .args(&["plan"])
        .stdout("")
        .stderr(
            r#"
            error: the tool name `Ba\u{7}sh` contains the control character U+0007 in `agents.qa.tools`
             --> mpm.yaml:6:12
              |
            6 |     tools: [Read, "Ba\ash"]
              |            ^^^^^
            hint: remove it: tab and newline are the only control characters an agent file may hold (`\r` only as part of a `\r\n` line end)
            "#,
        )
        .failure();
    // in a template's instructions, a BASE file, a ready file
    Test::new()
        .template("qa", "1.0.0", "Test.\n\u{1b}[8mhidden")
        .manifest("version: 1\nagents:\n  qa: {template: templates/qa.json}\n")
        .args(&["plan"])
        .stdout("")
        .stderr(
            r#"
            error: agent `qa`: template `templates/qa.json`: `/instructions` contains the control character U+001B (line 2, column 1)
            hint: remove it: tab and newline are the only control characters an agent file may hold (`\r` only as part of a `\r\n` line end)
            "#,
        )
        .failure();
    Test::new()
        .template("qa", "1.0.0", "Test.")
        .write("templates/BASE_ENGINEER.md", "Base\u{0}.")
        .manifest("version: 1\nagents:\n  qa: {template: templates/qa.json}\n")
        .args(&["plan"])
        .stdout("")
        .stderr(
            r#"
            error: agent `qa`: `templates/BASE_ENGINEER.md`: the file contains the control character U+0000
            hint: remove it: tab and newline are the only control characters an agent file may hold (`\r` only as part of a `\r\n` line end)
            "#,
        )
        .failure();
    Test::new()
        .manifest("version: 1\nagents:\n  notes: {file: notes.md}\n")
        .write("notes.md", "---\nname: notes\ndescription: Notes\n---\nBody\rhidden\n")
        .args(&["plan"])
        .stdout("")
        .stderr(
            r#"
            error: agent `notes`: `notes.md`: line 5, column 5: the prompt contains the control character U+000D
            hint: remove it: tab and newline are the only control characters an agent file may hold (`\r` only as part of a `\r\n` line end)
            "#,
        )
        .failure();
}

/// CRLF line ends (a template or BASE file saved on Windows) are normalised, not
/// refused: the rendered file has `\n` only.
#[test]
fn crlf_line_ends_in_templates_are_normalised() {
    let ran = Test::new()
        .template("qa", "1.0.0", "Test.\r\nCarefully.\r\n")
        .write("templates/BASE_ENGINEER.md", "Base.\r\nRules.\r\n")
        .manifest("version: 1\nagents:\n  qa: {template: templates/qa.json, description: \"Line one\\r\\nline two\"}\n")
        .args(&["apply", "-y"])
        .stdout_has("Apply complete! Agents: 1 added, 0 changed, 0 destroyed.")
        .success();
    assert_eq!(
        ran.read(".claude/agents/qa.md"),
        "---\n# managed by mpm: qa 1.0.0 from templates/qa.json; edit mpm.yaml, not this file\nname: qa\ndescription: |-\n  Line one\n  line two\nmodel: sonnet\ntools: Read, Grep\ncolor: blue\n---\nBase.\nRules.\n\n---\n\nTest.\nCarefully.\n"
    );
}

/// `tools: []` rendered `tools: ''`, which nobody reading the file takes for "no
/// tools" (the client does); and `tools:` with no value meant "all tools" to mpm but
/// "no tools" to the client.
#[test]
fn an_empty_tool_list_means_no_tools() {
    let ran = Test::new()
        .manifest("version: 1\nagents:\n  qa:\n    description: d\n    prompt: x\n    tools: []\n    disallowedTools: ''\n")
        .args(&["apply", "-y"])
        .stdout_has("Apply complete! Agents: 1 added, 0 changed, 0 destroyed.")
        .success();
    assert_eq!(
        ran.read(".claude/agents/qa.md"),
        "---\n# managed by mpm: qa (inline); edit mpm.yaml, not this file\nname: qa\ndescription: d\ntools: []\ndisallowedTools: []\n---\nx\n"
    );
    Test::new()
        .manifest("version: 1\nagents:\n  qa:\n    description: d\n    prompt: x\n    tools:\n")
        .args(&["plan"])
        .stdout("")
        .stderr(
            "
            error: `agents.qa.tools` has no value
             --> mpm.yaml:6:11
              |
            6 |     tools:
              |           ^
            hint: write `[]` for no tools, or remove the key for all tools
            ",
        )
        .failure();
}

/// `--target /` (or a manifest's `target:`, or `CLAUDE_CONFIG_DIR=/`) wrote `agents/`
/// and `.mpm/` into a system directory.
#[test]
fn a_system_directory_target_is_refused() {
    let manifest = "version: 1\nagents:\n  qa: {description: d, prompt: x}\n";
    let flag_hint = "hint: mpm would write `agents/` and `.mpm/` there; if that is really meant, pass `--allow-system-target` as well\n";
    Test::new()
        .manifest(manifest)
        .args(&["apply", "-y", "--target", "/"])
        .stdout("")
        .stderr(&format!(
            "error: the target `/` is a system directory\n{flag_hint}"
        ))
        .failure();
    // given explicitly, and said so: allowed (a plan only reads)
    Test::new()
        .manifest(manifest)
        .args(&["plan", "--target", "/", "--allow-system-target"])
        .stdout(
            "
            mpm will make these changes in `/`:

              + qa                         agents/qa.md

            Plan: 1 to add, 0 to change, 0 to destroy.
            ",
        )
        .stderr("")
        .success();
    // a link to one, and a path that normalises to one
    let t = Test::new().manifest(manifest);
    std::os::unix::fs::symlink("/etc", t.path("etc-link")).unwrap();
    let ran = t
        .args(&["plan", "--target", "etc-link"])
        .stdout("")
        .stderr(&format!(
            "error: the target `etc-link` is the system directory `/etc`\n{flag_hint}"
        ))
        .failure();
    ran.then()
        .args(&["history", "--target", "/usr/../proc/self"])
        .stdout("")
        .stderr(&format!(
            "error: the target `/proc/self` is inside `/proc`, a system directory\n{flag_hint}"
        ))
        .failure();
    // from the manifest or the environment: never, whatever the flags
    Test::new()
        .manifest("version: 1\ntarget: {path: /usr}\n")
        .args(&["plan", "--allow-system-target"])
        .stdout("")
        .stderr(
            "
            error: the target `/usr` is a system directory
             --> mpm.yaml:2:16
              |
            2 | target: {path: /usr}
              |                ^^^^
            hint: `target:` in a manifest may never name a system directory; only `--target DIR --allow-system-target` on the command line can
            ",
        )
        .failure();
    Test::new()
        .manifest("version: 1\ntarget: user\n")
        .env("CLAUDE_CONFIG_DIR", "/")
        .args(&["plan", "--allow-system-target"])
        .stdout("")
        .stderr(
            "
            error: the target `/` is a system directory
            hint: `CLAUDE_CONFIG_DIR` points there; set it to a Claude Code config directory, or pass `--target DIR --allow-system-target` if that is really meant
            ",
        )
        .failure();
}
