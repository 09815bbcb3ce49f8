//! The desired state: every managed path with the exact bytes it should hold, built
//! from the manifest (templates merged with their base, ready files, inline agents)
//! or, for a rollback, from the state log.

use crate::Error;
use crate::address::Address;
use crate::agent_file::{self, Color, Frontmatter, Model, ToolList};
use crate::error::Diagnose;
use crate::hash::Digest;
use crate::manifest::{AgentSpec, FrontmatterFields, Loaded};
use crate::name::AgentName;
use crate::paths;
use crate::template::{self, BaseTemplate, Field, Template, TemplateError};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const FILE_MODE: u32 = 0o644;

/// Who a managed path belongs to, for the plan and the state log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub agent: String,
    /// The template's `agent_version`, when there is one.
    pub version: Option<String>,
    /// `templates/qa.json`, `agents/notes.md` or `inline`.
    pub source: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DesiredResource {
    pub content: Arc<[u8]>,
    pub digest: Digest,
    pub mode: u32,
    pub owner: Owner,
    /// What the state log records for the path afterwards.
    pub record: Record,
    pub protect: bool,
}

/// What mpm records about a path once it holds the desired bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// These bytes, as mpm's own (every apply).
    Written,
    /// Nothing: the path goes back to whoever had it before mpm (a rollback of a
    /// takeover).
    Released,
    /// This earlier entry (undoing a generation that overwrote a hand edit: the
    /// edit comes back, and so does mpm's knowledge that it was edited).
    As(crate::state::Entry),
}

impl DesiredResource {
    pub fn new(content: Vec<u8>, owner: Owner, protect: bool) -> Self {
        DesiredResource {
            digest: Digest::of(&content),
            content: content.into(),
            mode: FILE_MODE,
            owner,
            record: Record::Written,
            protect,
        }
    }
}

/// An agent declared with `enabled: false`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retired {
    pub agent: String,
    pub protect: bool,
}

/// A file the desired state was built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub path: PathBuf,
    pub display: String,
    pub digest: Digest,
}

#[derive(Debug, Clone, Default)]
pub struct DesiredState {
    pub resources: BTreeMap<Address, DesiredResource>,
    pub retired: BTreeMap<Address, Retired>,
    pub inputs: Vec<Input>,
    pub warnings: Vec<String>,
}

/// A problem with one agent that is not at a place in the manifest.
#[derive(Debug, thiserror::Error)]
#[error("agent `{agent}`: {message}")]
pub struct AgentError {
    pub agent: String,
    pub message: String,
    pub hint: Option<String>,
}

impl Diagnose for AgentError {
    fn hint(&self) -> Option<String> {
        self.hint.clone()
    }
}

/// Reads each input file once, however many agents use it.
struct Sources<'a> {
    loaded: &'a Loaded,
    cwd: &'a Path,
    templates: HashMap<PathBuf, Arc<Template>>,
    base_files: HashMap<PathBuf, Arc<str>>,
    inputs: BTreeMap<PathBuf, Input>,
}

impl Sources<'_> {
    fn note_input(&mut self, path: &Path, digest: Digest) {
        self.inputs
            .entry(path.to_path_buf())
            .or_insert_with(|| Input {
                path: path.to_path_buf(),
                display: paths::display(path, self.cwd),
                digest,
            });
    }

    fn template(&mut self, path: &Path) -> Result<Arc<Template>, Error> {
        if let Some(t) = self.templates.get(path) {
            return Ok(t.clone());
        }
        let t = Arc::new(Template::read(path, &paths::display(path, self.cwd))?);
        self.note_input(path, t.digest);
        self.templates.insert(path.to_path_buf(), t.clone());
        Ok(t)
    }

    fn base_file(&mut self, path: &Path) -> Result<Arc<str>, Error> {
        if let Some(t) = self.base_files.get(path) {
            return Ok(t.clone());
        }
        let bytes = fs_err::read(path)?;
        self.note_input(path, Digest::of(&bytes));
        let text: Arc<str> = String::from_utf8_lossy(&bytes).into();
        self.base_files.insert(path.to_path_buf(), text.clone());
        Ok(text)
    }

    /// `relative` as the manifest wrote it, made portable, for bookkeeping.
    fn source_name(&self, path: &Path) -> String {
        paths::portable(path, &self.loaded.dir)
    }
}

/// Builds the desired state from a loaded manifest. Every problem is reported, not
/// just the first.
pub fn from_manifest(loaded: &Loaded, cwd: &Path) -> Result<DesiredState, Error> {
    let mut sources = Sources {
        loaded,
        cwd,
        templates: HashMap::new(),
        base_files: HashMap::new(),
        inputs: BTreeMap::new(),
    };
    sources.note_input(&loaded.path, loaded.digest);
    let manifest = &loaded.manifest;
    let mut errors = Vec::new();
    let mut state = DesiredState::default();

    let base = match &manifest.defaults.base {
        None => None,
        Some(rel) => {
            let path = loaded.resolve(rel);
            if path.is_file() {
                match BaseTemplate::read(&path, &paths::display(&path, cwd)) {
                    Ok(b) => {
                        sources.note_input(&path, b.digest);
                        Some(b)
                    }
                    Err(e) => {
                        errors.push(e);
                        None
                    }
                }
            } else {
                errors.push(not_found(
                    loaded,
                    &["defaults", "base"],
                    "base template",
                    rel,
                ));
                None
            }
        }
    };
    let defaults = manifest.defaults.frontmatter();

    for (name, spec) in &manifest.agents.0 {
        let address = Address::agent_file(name);
        if !spec.enabled {
            state.retired.insert(
                address,
                Retired {
                    agent: name.to_string(),
                    protect: spec.protect,
                },
            );
            continue;
        }
        match build_agent(
            &mut sources,
            name,
            spec,
            &defaults,
            base.as_ref(),
            &mut state.warnings,
        ) {
            Ok(resource) => {
                state.resources.insert(address, resource);
            }
            Err(Error::Many(many)) => errors.extend(many),
            Err(e) => errors.push(e),
        }
    }
    Error::collect(errors)?;
    state.inputs = sources.inputs.into_values().collect();
    Ok(state)
}

fn not_found(loaded: &Loaded, at: &[&str], what: &str, rel: &str) -> Error {
    loaded
        .error_at(
            at,
            format!("{what} `{rel}` not found"),
            Some(format!(
                "paths in the manifest are relative to its directory, `{}`",
                loaded.dir.display()
            )),
        )
        .into()
}

fn build_agent(
    sources: &mut Sources,
    name: &AgentName,
    spec: &AgentSpec,
    defaults: &FrontmatterFields,
    base: Option<&BaseTemplate>,
    warnings: &mut Vec<String>,
) -> Result<DesiredResource, Error> {
    let loaded = sources.loaded;
    let n = name.as_str();
    let given: Vec<&str> = [
        ("template", spec.template.is_some()),
        ("file", spec.file.is_some()),
        ("prompt", spec.prompt.is_some()),
    ]
    .into_iter()
    .filter_map(|(k, set)| set.then_some(k))
    .collect();
    match given.as_slice() {
        [] => {
            return Err(loaded
                .error_at(
                    &["agents", n],
                    format!("agent `{n}` has no source"),
                    Some("give it one of `template:`, `file:` or `prompt:`".into()),
                )
                .into());
        }
        [_] => {}
        [first, second, ..] => {
            return Err(loaded
                .error_at(
                    &["agents", n, second],
                    format!("agent `{n}` has more than one source (`{first}` and `{second}`)"),
                    Some("keep exactly one of `template:`, `file:` or `prompt:`".into()),
                )
                .into());
        }
    }
    if let Some(rel) = &spec.template {
        let path = loaded.resolve(rel);
        if !path.is_file() {
            return Err(not_found(
                loaded,
                &["agents", n, "template"],
                "template",
                rel,
            ));
        }
        let t = sources.template(&path)?;
        from_template(sources, name, spec, defaults, base, &t, warnings)
    } else if let Some(rel) = &spec.file {
        let path = loaded.resolve(rel);
        if !path.is_file() {
            return Err(not_found(loaded, &["agents", n, "file"], "agent file", rel));
        }
        from_file(sources, name, spec, &path)
    } else {
        from_inline(sources, name, spec, defaults)
    }
}

/// A template value the client would take silently and never check is refused,
/// unless the manifest sets that field for the agent.
fn checked<T>(
    t: &Template,
    agent: &AgentName,
    field: &Option<Field<String>>,
    key: &str,
    parse: fn(&str) -> Result<T, String>,
    example: &str,
) -> Result<Option<T>, TemplateError> {
    let Some(f) = field else { return Ok(None) };
    parse(&f.value).map(Some).map_err(|problem| TemplateError::Value {
        file: t.display.clone(),
        pointer: f.pointer.to_string(),
        value: f.value.clone(),
        problem: format!("Claude Code would accept without a word and never use as meant ({problem})"),
        hint: format!("set `{key}: {example}` for agent `{agent}` in mpm.yaml; that overrides the template's value"),
    })
}

fn from_template(
    sources: &mut Sources,
    name: &AgentName,
    spec: &AgentSpec,
    defaults: &FrontmatterFields,
    base: Option<&BaseTemplate>,
    t: &Template,
    warnings: &mut Vec<String>,
) -> Result<DesiredResource, Error> {
    let loaded = sources.loaded;
    let n = name.as_str();
    let version = match &t.agent_version {
        None => None,
        Some(f) => Some(
            semver::Version::parse(&f.value).map_err(|e| TemplateError::Value {
                file: t.display.clone(),
                pointer: f.pointer.to_string(),
                value: f.value.clone(),
                problem: format!("is not a semantic version ({e})"),
                hint: "write it as X.Y.Z, like `1.0.0`".into(),
            })?,
        ),
    };
    if let Some(req) = &spec.version {
        let ok = version.as_ref().is_some_and(|v| req.matches(v));
        if !ok {
            let found = version
                .as_ref()
                .map_or("no `agent_version`".to_string(), |v| format!("version {v}"));
            return Err(loaded
                .error_at(
                    &["agents", n, "version"],
                    format!(
                        "agent `{n}` requires version `{req}`, but `{}` has {found}",
                        t.display
                    ),
                    Some(
                        "update the template, or change the agent's `version:` requirement".into(),
                    ),
                )
                .into());
        }
    }
    let fields = spec.frontmatter().or(defaults.clone());
    let description = match spec
        .description
        .clone()
        .or_else(|| t.description.as_ref().map(|f| f.value.clone()))
    {
        Some(d) if !d.trim().is_empty() => d,
        _ => {
            return Err(AgentError {
                agent: n.to_string(),
                message: format!(
                    "template `{}` has no description, and Claude Code skips an agent without one",
                    t.display
                ),
                hint: Some(format!("add `description: ...` to agent `{n}` in mpm.yaml")),
            }
            .into());
        }
    };
    let model = match fields.model {
        Some(m) => Some(m),
        None => checked(t, name, &t.model, "model", Model::parse, "sonnet")?,
    };
    let color = match fields.color {
        Some(c) => Some(c),
        None => checked(t, name, &t.color, "color", Color::parse, "blue")?,
    };
    let tool_list = |f: &Option<Field<Vec<String>>>| -> Result<Option<ToolList>, TemplateError> {
        let Some(f) = f else { return Ok(None) };
        ToolList::parse(f.value.clone())
            .map(Some)
            .map_err(|problem| TemplateError::Value {
                file: t.display.clone(),
                pointer: f.pointer.to_string(),
                value: f.value.join(", "),
                problem,
                hint: format!("set `tools:` for agent `{n}` in mpm.yaml"),
            })
    };
    let tools = match fields.tools {
        Some(x) => Some(x),
        None => tool_list(&t.tools)?,
    };
    let disallowed_tools = match fields.disallowed_tools {
        Some(x) => Some(x),
        None => tool_list(&t.disallowed_tools)?,
    };
    let base_md = match t.base_file() {
        Some(p) => Some(sources.base_file(&p)?),
        None => None,
    };
    let body = template::join_prompt(
        [
            base_md.as_deref(),
            base.map(|b| b.instructions.as_str()),
            t.instructions.as_deref(),
        ]
        .into_iter()
        .flatten(),
    );
    if body.trim().is_empty() {
        warnings.push(format!(
            "agent `{n}`: template `{}` has no instructions; its prompt is empty",
            t.display
        ));
    }
    let frontmatter = Frontmatter {
        name: name.clone(),
        description,
        model,
        tools,
        disallowed_tools,
        color,
        permission_mode: fields.permission_mode,
        max_turns: fields.max_turns,
        skills: fields.skills,
        effort: fields.effort,
        memory: fields.memory,
        background: fields.background,
        isolation: fields.isolation,
        initial_prompt: fields.initial_prompt,
    };
    let source = sources.source_name(&t.path);
    let version = version.map(|v| v.to_string());
    let comment = format!(
        "managed by mpm: {n}{} from {source}; edit {}, not this file",
        version
            .as_deref()
            .map(|v| format!(" {v}"))
            .unwrap_or_default(),
        manifest_name(loaded)
    );
    let content = agent_file::render(&frontmatter, &comment, &body).map_err(|e| AgentError {
        agent: n.to_string(),
        message: format!("cannot render: {e}"),
        hint: None,
    })?;
    Ok(DesiredResource::new(
        content,
        Owner {
            agent: n.to_string(),
            version,
            source,
        },
        spec.protect,
    ))
}

fn manifest_name(loaded: &Loaded) -> String {
    loaded
        .path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| "mpm.yaml".into())
}

fn from_file(
    sources: &mut Sources,
    name: &AgentName,
    spec: &AgentSpec,
    path: &Path,
) -> Result<DesiredResource, Error> {
    let loaded = sources.loaded;
    let n = name.as_str();
    let overridden = [
        ("description", spec.description.is_some()),
        ("version", spec.version.is_some()),
    ]
    .into_iter()
    .chain(frontmatter_keys_set(&spec.frontmatter()))
    .find(|(_, set)| *set);
    if let Some((key, _)) = overridden {
        return Err(loaded
            .error_at(
                &["agents", n, key],
                format!(
                    "agent `{n}` comes from a ready file, so `{key}` cannot be set in the manifest"
                ),
                Some(format!(
                    "edit `{}` itself",
                    spec.file.as_deref().unwrap_or_default()
                )),
            )
            .into());
    }
    let bytes = fs_err::read(path)?;
    sources.note_input(path, Digest::of(&bytes));
    let shown = paths::display(path, sources.cwd);
    let text = std::str::from_utf8(&bytes).map_err(|_| AgentError {
        agent: n.to_string(),
        message: format!("`{shown}` is not UTF-8 text"),
        hint: None,
    })?;
    let found = agent_file::check_ready_file(text).map_err(|p| AgentError {
        agent: n.to_string(),
        message: format!("`{shown}`: {}", p.0),
        hint: Some(
            "fix the file; Claude Code reads `name`, `description`, `model`, `tools` and `color` from its frontmatter"
                .into(),
        ),
    })?;
    if found != n {
        return Err(AgentError {
            agent: n.to_string(),
            message: format!(
                "`{shown}` names itself `{found}`, and Claude Code knows agents by that name"
            ),
            hint: Some(format!(
                "set `name: {n}` in the file, or rename the agent to `{found}` in the manifest"
            )),
        }
        .into());
    }
    let source = sources.source_name(path);
    Ok(DesiredResource::new(
        bytes,
        Owner {
            agent: n.to_string(),
            version: None,
            source,
        },
        spec.protect,
    ))
}

fn frontmatter_keys_set(f: &FrontmatterFields) -> impl Iterator<Item = (&'static str, bool)> {
    [
        ("model", f.model.is_some()),
        ("tools", f.tools.is_some()),
        ("disallowedTools", f.disallowed_tools.is_some()),
        ("color", f.color.is_some()),
        ("permissionMode", f.permission_mode.is_some()),
        ("maxTurns", f.max_turns.is_some()),
        ("skills", f.skills.is_some()),
        ("effort", f.effort.is_some()),
        ("memory", f.memory.is_some()),
        ("background", f.background.is_some()),
        ("isolation", f.isolation.is_some()),
        ("initialPrompt", f.initial_prompt.is_some()),
    ]
    .into_iter()
}

fn from_inline(
    sources: &mut Sources,
    name: &AgentName,
    spec: &AgentSpec,
    defaults: &FrontmatterFields,
) -> Result<DesiredResource, Error> {
    let loaded = sources.loaded;
    let n = name.as_str();
    if spec.version.is_some() {
        return Err(loaded
            .error_at(
                &["agents", n, "version"],
                format!("agent `{n}` is inline, and `version` applies only to templates"),
                Some("remove `version:`".into()),
            )
            .into());
    }
    let description = match &spec.description {
        Some(d) if !d.trim().is_empty() => d.clone(),
        _ => {
            return Err(loaded
                .error_at(
                    &["agents", n],
                    format!("inline agent `{n}` needs a `description`"),
                    Some("add `description:` saying when Claude should use the agent".into()),
                )
                .into());
        }
    };
    let fields = spec.frontmatter().or(defaults.clone());
    let frontmatter = Frontmatter {
        name: name.clone(),
        description,
        model: fields.model,
        tools: fields.tools,
        disallowed_tools: fields.disallowed_tools,
        color: fields.color,
        permission_mode: fields.permission_mode,
        max_turns: fields.max_turns,
        skills: fields.skills,
        effort: fields.effort,
        memory: fields.memory,
        background: fields.background,
        isolation: fields.isolation,
        initial_prompt: fields.initial_prompt,
    };
    let comment = format!(
        "managed by mpm: {n} (inline); edit {}, not this file",
        manifest_name(loaded)
    );
    let content = agent_file::render(
        &frontmatter,
        &comment,
        spec.prompt.as_deref().unwrap_or_default(),
    )
    .map_err(|e| AgentError {
        agent: n.to_string(),
        message: format!("cannot render: {e}"),
        hint: None,
    })?;
    Ok(DesiredResource::new(
        content,
        Owner {
            agent: n.to_string(),
            version: None,
            source: "inline".into(),
        },
        spec.protect,
    ))
}

fn blob(
    store: &crate::state::StateStore,
    digest: &Digest,
    address: &Address,
) -> Result<Arc<[u8]>, Error> {
    match store.blob(digest)? {
        Some(bytes) => Ok(bytes.into()),
        None => Err(crate::state::StateError::Corrupt {
            dir: std::path::PathBuf::from("state log"),
            detail: format!(
                "the bytes of `{address}` ({}) are missing; were they pruned?",
                digest.short()
            ),
        }
        .into()),
    }
}

fn from_entry(
    store: &crate::state::StateStore,
    address: &Address,
    entry: &crate::state::Entry,
    source: &str,
) -> Result<DesiredResource, Error> {
    Ok(DesiredResource {
        content: blob(store, &entry.digest, address)?,
        digest: entry.digest,
        mode: entry.mode,
        owner: Owner {
            agent: entry.agent.clone().unwrap_or_default(),
            version: entry.version.clone(),
            source: source.to_string(),
        },
        record: Record::Written,
        protect: entry.protect,
    })
}

/// The desired state that undoes generation `latest`: every path it touched goes
/// back to its pre-image, byte for byte (a hand edit that `--force` overwrote
/// included), and mpm's records go back to what they were before it.
pub fn undo(
    store: &crate::state::StateStore,
    latest: &crate::state::Generation,
    last: &crate::state::LastApplied,
) -> Result<DesiredState, Error> {
    let previous = store.snapshot(latest.parent.unwrap_or(0))?;
    let mut state = DesiredState::default();
    for (address, entry) in &last.entries {
        state.resources.insert(
            address.clone(),
            from_entry(store, address, entry, "the current generation")?,
        );
    }
    for change in &latest.changes {
        state.resources.remove(&change.address);
        let Some(before) = change.before else {
            continue;
        };
        let recorded = previous.get(&change.address);
        let owner = Owner {
            agent: change
                .agent
                .clone()
                .or_else(|| recorded.and_then(|e| e.agent.clone()))
                .unwrap_or_default(),
            version: change.version_before.clone(),
            source: format!("before generation {}", latest.id),
        };
        let record = match recorded {
            Some(e) if e.digest == before.digest && e.mode == before.mode => Record::Written,
            Some(e) => Record::As(e.clone()),
            None => Record::Released,
        };
        state.resources.insert(
            change.address.clone(),
            DesiredResource {
                content: blob(store, &before.digest, &change.address)?,
                digest: before.digest,
                mode: before.mode,
                owner,
                protect: recorded.is_some_and(|e| e.protect),
                record,
            },
        );
    }
    Ok(state)
}

/// The desired state of `rollback --to N`: the managed paths as mpm wrote them right
/// after generation `to` (0: before the first). A path mpm took over after `to` gets
/// back the bytes it had before (its pre-image) and is handed back.
pub fn restore(
    store: &crate::state::StateStore,
    to: u64,
    last: &crate::state::LastApplied,
) -> Result<DesiredState, Error> {
    let snapshot = store.snapshot(to)?;
    let later: Vec<crate::state::Generation> = store
        .generations()?
        .into_iter()
        .filter(|g| g.id > to)
        .collect();
    let mut state = DesiredState::default();
    let source = if to == 0 {
        "before generation 1".to_string()
    } else {
        format!("generation {to}")
    };
    for (address, entry) in &snapshot {
        state
            .resources
            .insert(address.clone(), from_entry(store, address, entry, &source)?);
    }
    let mut touched: Vec<&Address> = last.entries.keys().collect();
    touched.extend(
        later
            .iter()
            .flat_map(|g| g.changes.iter().map(|c| &c.address)),
    );
    for address in touched {
        if state.resources.contains_key(address) {
            continue;
        }
        // the first later generation that touched it knows what was there right after `to`
        let first = later
            .iter()
            .flat_map(|g| g.changes.iter())
            .find(|c| &c.address == address);
        if let Some(before) = first.and_then(|c| c.before) {
            let owner = Owner {
                agent: first.and_then(|c| c.agent.clone()).unwrap_or_default(),
                version: None,
                source: "its owner before mpm".into(),
            };
            state.resources.insert(
                address.clone(),
                DesiredResource {
                    content: blob(store, &before.digest, address)?,
                    digest: before.digest,
                    mode: before.mode,
                    owner,
                    record: Record::Released,
                    protect: false,
                },
            );
        }
    }
    Ok(state)
}
