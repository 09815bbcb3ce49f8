//! `mpm init`: a commented starter manifest, or, with `--from-templates DIR`, one
//! entry per claude-mpm template (migration in one command). The manifest written is
//! checked with the same code `mpm plan` uses before it is written.

use crate::Error;
use crate::agent_file::{Color, Model};
use crate::cli::InitArgs;
use crate::error::ExitStatus;
use crate::manifest;
use crate::name::AgentName;
use crate::options::Options;
use crate::paths;
use crate::printer::Printer;
use crate::template::{BaseTemplate, Template, TemplateError};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const SCHEMA_FILE: &str = "mpm.schema.json";

const STARTER: &str = r#"# yaml-language-server: $schema=mpm.schema.json
# mpm manifest: the agents Claude Code should have. `mpm plan` shows what would
# change, `mpm apply` makes it so, `mpm rollback` goes back. Reference: docs/manifest.md
version: 1

# project: the .claude folder beside this file; user: $CLAUDE_CONFIG_DIR, else
# ~/.claude; or { path: some/dir }. `--target DIR` overrides it.
target: project

# Applied to every agent unless the agent says otherwise.
defaults:
  model: sonnet
  # base: templates/base_agent.json   # claude-mpm base instructions for template agents

agents:
  # The key is the agent's name: agents/<name>.md, frontmatter `name`.
  reviewer:
    description: Reviews a diff for bugs, risky changes and missing tests. Use after code changes.
    tools: [Read, Grep, Glob, Bash]
    prompt: |
      You review code changes. Read the diff and the code around it before judging.
      Report, most important first: bugs, behaviour changes the author may not intend,
      missing or weak tests, and risky operations. Quote file and line for each point.
      Say plainly when you find nothing worth changing.
  # engineer:
  #   template: templates/engineer.json   # a claude-mpm JSON template
  #   version: ">=1.0"                     # semver requirement on its agent_version
  #   model: opus                          # frontmatter overrides
  # notes:
  #   file: agents/notes.md                # a ready Claude Code agent file, copied
  # old-helper:
  #   template: templates/old.json
  #   enabled: false                       # declared, not deployed
  #   protect: true                        # a plan that would delete it fails instead

# What Claude Code runs with: the `env` of the target's settings.json, checked
# against the variables the client reads (docs/settings.md).
# environment:
#   API_TIMEOUT_MS: 600000
#   CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS: 4
#   MY_TOKEN: { from_env: MY_TOKEN, secret: true, scope: local }   # never printed nor stored

# Other keys of settings.json, merged: mpm owns only what it writes.
# settings:
#   permissions:
#     allow: ["Bash(npm test *)"]
"#;

pub fn run(options: &Options, args: &InitArgs, printer: &Printer) -> Result<ExitStatus, Error> {
    let path = options
        .manifest
        .clone()
        .unwrap_or_else(|| options.env.cwd.join(manifest::load::FILE_NAME));
    let shown = paths::display(&path, &options.env.cwd);
    if path.is_dir() {
        return Err(options.manifest_is_a_directory(&path, true));
    }
    if path.exists() && !args.force {
        return Err(Error::usage(
            format!("`{shown}` already exists"),
            Some("edit it, or pass `--force` to replace it".to_string()),
        ));
    }
    let dir = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| options.env.cwd.clone());
    let (text, count) = match &args.from_templates {
        None => (STARTER.to_string(), 1),
        Some(templates) => from_templates(
            &options.env.cwd.join(templates),
            &dir,
            &options.env.cwd,
            printer,
        )?,
    };
    // the manifest must plan: check it with the real pipeline before writing it
    let parsed = manifest::load::parse(&text, &shown)?;
    let loaded = manifest::Loaded {
        manifest: parsed,
        path: path.clone(),
        dir: dir.clone(),
        display: shown.clone(),
        digest: crate::hash::Digest::of(text.as_bytes()),
        source: text.clone(),
    };
    crate::desired::from_manifest(
        std::sync::Arc::new(loaded),
        &options.env.cwd,
        Default::default(),
        Default::default(),
    )?;
    crate::system::write_file_atomically(&path, text.as_bytes())?;
    let schema = dir.join(SCHEMA_FILE);
    if !schema.exists() {
        crate::system::write_file_atomically(&schema, manifest::json_schema().as_bytes())?;
    }
    printer.note(&format!(
        "Wrote `{shown}` with {count} agent{}. Next: `mpm plan`, then `mpm apply`.",
        if count == 1 { "" } else { "s" }
    ));
    Ok(ExitStatus::Success)
}

/// The manifest for a folder of claude-mpm templates: (text, agents). Each template
/// left out is warned about at once, with why, so the reasons are there even when
/// none is left.
fn from_templates(
    dir: &Path,
    manifest_dir: &Path,
    cwd: &Path,
    printer: &Printer,
) -> Result<(String, usize), Error> {
    let shown_dir = paths::display(dir, cwd);
    if !dir.is_dir() {
        return Err(Error::usage(
            format!("`{shown_dir}` is not a directory"),
            Some("pass the folder holding the `*.json` templates".to_string()),
        ));
    }
    let mut files: Vec<PathBuf> = fs_err::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json") && p.is_file())
        .collect();
    files.sort();
    let base = [
        dir.join("base_agent.json"),
        dir.parent()
            .map(|p| p.join("base_agent.json"))
            .unwrap_or_default(),
    ]
    .into_iter()
    .find(|p| p.is_file() && BaseTemplate::read(p, "base").is_ok());
    let rel = |p: &Path| paths::portable(p, manifest_dir);
    let mut out = String::new();
    let _ = writeln!(out, "# yaml-language-server: $schema={SCHEMA_FILE}");
    let _ = writeln!(
        out,
        "# Written by `mpm init --from-templates {}`: one agent per claude-mpm template,",
        rel(dir)
    );
    let _ = writeln!(
        out,
        "# named as claude-mpm named them (file stem, `_` -> `-`). Reference: docs/manifest.md"
    );
    let _ = writeln!(out, "version: 1\n\ntarget: project\n");
    let mut base_files: Vec<String> = Vec::new();
    for d in [Some(dir), dir.parent()].into_iter().flatten() {
        if let Ok(entries) = fs_err::read_dir(d) {
            let mut names: Vec<String> = entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("BASE_") && n.ends_with(".md"))
                .collect();
            names.sort();
            base_files.extend(names.into_iter().map(|n| rel(&d.join(n))));
        }
    }
    if !base_files.is_empty() {
        let _ = writeln!(
            out,
            "# BASE files found; each is prepended to the templates of its agent_type:"
        );
        for b in &base_files {
            let _ = writeln!(out, "#   {b}");
        }
        out.push('\n');
    }
    match &base {
        Some(b) => {
            let _ = writeln!(
                out,
                "defaults:\n  base: {}   # claude-mpm's base instructions, now merged into every template agent\n",
                yaml_str(&rel(b))
            );
        }
        None => out.push_str("defaults: {}\n\n"),
    }
    out.push_str("agents:\n");
    let mut count = 0;
    let mut skipped = 0;
    let mut skip = |file: &str, why: String| {
        skipped += 1;
        printer.warn(&format!("skipped `{file}`: {why}"));
    };
    for file in files {
        if base.as_ref() == Some(&file) {
            continue;
        }
        let stem = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let shown = paths::display(&file, cwd);
        let name = match AgentName::from_template_stem(&stem) {
            Ok(n) => n,
            Err(e) => {
                skip(
                    &shown,
                    format!("{} (the name comes from the file's)", e.message),
                );
                let _ = writeln!(
                    out,
                    "  # skipped {}: its name is not a valid agent name",
                    rel(&file)
                );
                continue;
            }
        };
        let template = match Template::read(&file, &shown) {
            Ok(t) => t,
            Err(e) => {
                skip(&shown, why_not_a_template(&e));
                let _ = writeln!(
                    out,
                    "  # skipped {}: not a valid claude-mpm template (`mpm plan` would say why)",
                    rel(&file)
                );
                continue;
            }
        };
        count += 1;
        let _ = writeln!(out, "  {name}:\n    template: {}", yaml_str(&rel(&file)));
        if let Some(m) = &template.model
            && Model::parse(&m.value).is_err()
        {
            let fixed = closest_model(&m.value);
            let _ = writeln!(
                out,
                "    model: {fixed}   # the template says {:?}, which Claude Code does not know",
                m.value
            );
        }
        if let Some(c) = &template.color
            && Color::parse(&c.value).is_err()
        {
            let fixed = closest_color(&c.value);
            let _ = writeln!(
                out,
                "    color: {fixed}   # the template says {:?}, outside Claude Code's palette",
                c.value
            );
        }
        if template
            .description
            .as_ref()
            .is_none_or(|d| d.value.trim().is_empty())
        {
            let _ = writeln!(
                out,
                "    description: {}   # the template has none; Claude Code needs one",
                yaml_str(&format!("{name} agent"))
            );
        }
    }
    if count == 0 && skipped > 0 {
        return Err(Error::usage(
            format!(
                "none of the {skipped} `*.json` file{} in `{shown_dir}` can be used: nothing to write",
                if skipped == 1 { "" } else { "s" }
            ),
            Some("fix the templates named above, or point `--from-templates` at claude-mpm's `agents/templates/`".to_string()),
        ));
    }
    if count == 0 {
        return Err(Error::usage(
            format!("no claude-mpm templates (`*.json`) in `{shown_dir}`"),
            Some("claude-mpm keeps them in `agents/templates/` of its package".to_string()),
        ));
    }
    Ok((out, count))
}

/// Why a file is not a template mpm can read, in one line: the first problem (a
/// schema check finds them all; `mpm plan` on the manifest lists every one).
fn why_not_a_template(e: &Error) -> String {
    match e {
        Error::Template(t) => match t.as_ref() {
            TemplateError::Json {
                message, location, ..
            } => {
                let at = location
                    .as_ref()
                    .map(|l| format!(" at line {} column {}", l.line, l.column))
                    .unwrap_or_default();
                format!("not valid JSON{at}: {message}")
            }
            TemplateError::Schema { file, violations } => {
                let first = violations.first().map_or("", |v| {
                    v.strip_prefix(file.as_str())
                        .and_then(|v| v.strip_prefix(": "))
                        .unwrap_or(v)
                });
                let more = match violations.len() {
                    0 | 1 => String::new(),
                    n => format!(" (and {} more)", n - 1),
                };
                format!("not a claude-mpm template: {first}{more}")
            }
            other => other.to_string(),
        },
        other => other.to_string(),
    }
}

fn yaml_str(s: &str) -> String {
    serde_yaml::to_string(s)
        .map(|y| y.trim_end().to_string())
        .unwrap_or_else(|_| format!("{s:?}"))
}

/// The alias a refused model most likely meant (`sonnet-4.5` → `sonnet`).
fn closest_model(value: &str) -> &'static str {
    let v = value.to_lowercase();
    ["opus", "haiku", "sonnet"]
        .into_iter()
        .find(|m| v.contains(m))
        .unwrap_or("sonnet")
}

fn closest_color(value: &str) -> &'static str {
    match value.to_lowercase().as_str() {
        "indigo" | "violet" | "magenta" | "purple" => "purple",
        "teal" | "turquoise" | "aqua" => "cyan",
        "gold" | "amber" => "yellow",
        "crimson" | "maroon" => "red",
        "lime" | "olive" => "green",
        "rose" | "fuchsia" => "pink",
        _ => "blue",
    }
}
