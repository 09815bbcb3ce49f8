//! The desired state from a manifest: templates merged with their BASE file and base
//! template, ready files checked and copied, inline agents rendered.

use super::memo::{self, Memo, Memoized};
use super::{AgentError, DesiredResource, DesiredState, Input, Owner, Retired, Source};
use crate::Error;
use crate::address::Address;
use crate::agent_file::{self, Color, Frontmatter, Model, ToolList};
use crate::checked::Invalid;
use crate::files::{Disk, Files};
use crate::hash::Digest;
use crate::manifest::{AgentSpec, FrontmatterFields, Loaded};
use crate::name::AgentName;
use crate::paths;
use crate::template::{self, BaseTemplate, Field, Template, TemplateError};
use crate::text;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Claude Code's built-in agents whose names fit the safe form: an agent of that
/// name replaces the built-in one.
const BUILT_IN: &[&str] = &["claude", "general-purpose", "statusline-setup"];

/// Reads each input file once, however many agents use it. A template only one
/// agent uses is not kept once that agent is rendered: with thousands of agents,
/// holding every parsed template would dominate memory.
struct Sources {
    loaded: Arc<Loaded>,
    cwd: PathBuf,
    /// Where input files are read: the disk, or a git tree for `mpm diff`.
    files: Box<dyn Files>,
    templates: HashMap<PathBuf, Arc<Template>>,
    /// Templates more than one agent uses.
    shared: HashSet<PathBuf>,
    base_files: HashMap<PathBuf, Arc<str>>,
    /// The input files read, with their digests (keyed by the path's bytes:
    /// ordering `Path`s compares their components, a tenth of a no-change plan).
    inputs: HashMap<std::ffi::OsString, Digest>,
    /// What the last apply rendered, by inputs; `None` once the build is done, so
    /// that rendering for bytes renders.
    memo: Option<Memo>,
    /// The memo's keys this build found and used, or rendered and added.
    used: crate::hash::DigestSet,
    /// The digest of each input file read (`None`: no file there).
    /// (Keyed by the path's bytes: hashing a `Path` walks its components.)
    digests: HashMap<std::ffi::OsString, Option<Digest>>,
    /// The bytes of the template just hashed, for its parse on a memo miss.
    last_read: Option<(PathBuf, Vec<u8>)>,
    /// Whether an agent was rendered (not found in the memo).
    rendered: bool,
    /// Whether the desired state is being built; after that, rendering for bytes
    /// notes no inputs, and keeps the digest of no template only one agent uses
    /// (10 000 of each: 3 MB held through an apply, for nothing).
    building: bool,
    /// The manifest's `defaults`, as a memo key part.
    defaults_json: Vec<u8>,
    /// The registry agents' verified bytes, by agent.
    resolved: Arc<std::collections::BTreeMap<String, crate::resolve::Resolved>>,
}

impl Sources {
    /// The digest of the file at `path` (`None`: there is none), read once.
    fn digest_of(&mut self, path: &Path) -> Result<Option<Digest>, Error> {
        if let Some(d) = self.digests.get(path.as_os_str()) {
            return Ok(*d);
        }
        let bytes = self.files.read(path)?;
        let digest = bytes.as_deref().map(Digest::of);
        self.digests.insert(path.as_os_str().to_owned(), digest);
        if let Some(bytes) = bytes {
            self.last_read = Some((path.to_path_buf(), bytes));
        }
        Ok(digest)
    }

    /// The digest of an agent's template file (`None`: there is none). Once the
    /// build is done, one only that agent uses is not kept: rendering for bytes
    /// reads it once more at most.
    fn template_digest(&mut self, path: &Path) -> Result<Option<Digest>, Error> {
        if self.building || self.shared.contains(path) {
            return self.digest_of(path);
        }
        let bytes = self.files.read(path)?;
        let digest = bytes.as_deref().map(Digest::of);
        self.last_read = bytes.map(|bytes| (path.to_path_buf(), bytes));
        Ok(digest)
    }

    /// The memoized rendering of `key`, if its `BASE_*.md` lookup still gives the
    /// same answer; notes the inputs it was made from.
    fn memoized(
        &mut self,
        key: &Digest,
        inputs: &[(PathBuf, Digest)],
    ) -> Result<Option<Memoized>, Error> {
        let Some(memo) = self.memo.take() else {
            return Ok(None);
        };
        let found = self.hit(&memo, key, inputs);
        self.memo = Some(memo);
        found
    }

    fn hit(
        &mut self,
        memo: &Memo,
        key: &Digest,
        inputs: &[(PathBuf, Digest)],
    ) -> Result<Option<Memoized>, Error> {
        let Some((hit, probed)) = memo.get(key) else {
            return Ok(None);
        };
        for (path, expected) in &probed {
            if self.digest_of(path)? != *expected {
                return Ok(None);
            }
        }
        for (path, digest) in inputs {
            self.note_input(path, *digest);
        }
        for (path, digest) in probed.iter().filter_map(|(p, d)| d.map(|d| (p, d))) {
            self.note_input(path, digest);
        }
        self.used.insert(*key);
        Ok(Some(hit.clone()))
    }

    fn note_input(&mut self, path: &Path, digest: Digest) {
        if self.building && !self.inputs.contains_key(path.as_os_str()) {
            self.inputs.insert(path.as_os_str().to_owned(), digest);
        }
    }

    /// The inputs noted, in the order of their paths.
    fn take_inputs(&mut self) -> Vec<Input> {
        let mut inputs: Vec<(std::ffi::OsString, Digest)> = self.inputs.drain().collect();
        inputs.sort_unstable_by(|a, b| a.0.as_encoded_bytes().cmp(b.0.as_encoded_bytes()));
        inputs
            .into_iter()
            .map(|(path, digest)| Input {
                path: path.into(),
                digest,
            })
            .collect()
    }

    fn display(&self, path: &Path) -> String {
        self.files.display(path, &self.cwd)
    }

    fn template(&mut self, path: &Path) -> Result<Arc<Template>, Error> {
        if let Some(t) = self.templates.get(path) {
            return Ok(t.clone());
        }
        let t = match self.last_read.take() {
            Some((read, bytes)) if read == path => {
                Template::parse(&bytes, path, &self.display(path))?
            }
            _ => Template::read_from(&*self.files, path, &self.display(path))?,
        };
        let t = Arc::new(t);
        self.note_input(path, t.digest);
        if self.shared.contains(path) {
            self.templates.insert(path.to_path_buf(), t.clone());
        }
        Ok(t)
    }

    fn base_file(&mut self, path: &Path) -> Result<Arc<str>, Error> {
        if let Some(t) = self.base_files.get(path) {
            return Ok(t.clone());
        }
        let bytes = self.files.read_existing(path)?;
        self.note_input(path, Digest::of(&bytes));
        let text = String::from_utf8_lossy(&bytes);
        // a byte order mark is not part of the prompt
        let text: Arc<str> = text.strip_prefix('\u{feff}').unwrap_or(&text).into();
        self.base_files.insert(path.to_path_buf(), text.clone());
        Ok(text)
    }

    /// `relative` as the manifest wrote it, made portable, for bookkeeping.
    fn source_name(&self, path: &Path) -> String {
        paths::portable(path, &self.loaded.dir)
    }
}

/// Renders agents from a manifest: once for the plan, and again, one at a time, as
/// the [`Source`] of the bytes apply writes and diffs show.
pub struct Renderer {
    sources: RefCell<Sources>,
    base: Option<BaseTemplate>,
    defaults: FrontmatterFields,
    /// The values of the settings parts, resolved (secrets too: memory only).
    parts: std::collections::BTreeMap<Address, Arc<str>>,
}

impl Renderer {
    pub fn loaded(&self) -> Arc<Loaded> {
        self.sources.borrow().loaded.clone()
    }

    /// The settings parts' values, once they are resolved.
    pub fn with_parts(&mut self, parts: std::collections::BTreeMap<Address, Arc<str>>) {
        self.parts = parts;
    }
}

impl Source for Renderer {
    fn bytes(&self, address: &Address, _digest: &Digest) -> Result<Vec<u8>, Error> {
        if address.is_part() {
            return match self.parts.get(address) {
                Some(json) => Ok(json.as_bytes().to_vec()),
                None => Err(Error::StalePlan {
                    file: "plan".into(),
                    changes: vec![format!("`{address}` is no longer in the manifest")],
                }),
            };
        }
        let loaded = self.loaded();
        let name = address
            .as_str()
            .strip_prefix("agents/")
            .and_then(|n| n.strip_suffix(".md"));
        let agent = name
            .and_then(|n| AgentName::parse(n).ok())
            .and_then(|n| loaded.manifest.agents.0.get_key_value(&n));
        let Some((name, spec)) = agent else {
            return Err(Error::StalePlan {
                file: "plan".into(),
                changes: vec![format!("`{address}` is no longer in the manifest")],
            });
        };
        // the build gave its memo away: this renders, whatever the memo said
        let mut sources = self.sources.borrow_mut();
        let (_, bytes) = build_agent(
            &mut sources,
            name,
            spec,
            &self.defaults,
            self.base.as_ref(),
            &mut Vec::new(),
        )?;
        Ok(bytes)
    }
}

/// Builds the desired state from a loaded manifest, and the renderer that produces
/// its bytes. Every problem is reported, not just the first.
/// `memo` is what the last apply rendered: an agent whose inputs did not change is
/// not rendered again.
pub fn from_manifest(
    loaded: Arc<Loaded>,
    cwd: &Path,
    memo: Memo,
    resolved: Arc<Resolved>,
) -> Result<(DesiredState, Renderer), Error> {
    // with a memo, most agents need only their templates' digests: read and hash
    // them all at once, on a few threads (a cold build reads each as it renders)
    let digests = if memo.is_empty() {
        HashMap::new()
    } else {
        let mut paths: Vec<PathBuf> = loaded
            .manifest
            .agents
            .0
            .values()
            .filter(|s| s.enabled)
            .filter_map(|s| s.template.as_ref().map(|rel| loaded.resolve(rel)))
            .collect();
        paths.sort();
        paths.dedup();
        let read = crate::parallel::map(&paths, |p| match Disk.read(p) {
            Ok(bytes) => Some(bytes.as_deref().map(Digest::of)),
            // the one at a time read says what is wrong
            Err(_) => None,
        });
        paths
            .into_iter()
            .zip(read)
            .filter_map(|(p, d)| d.map(|d| (p.into_os_string(), d)))
            .collect()
    };
    build(loaded, cwd, Box::new(Disk), memo, digests, resolved)
}

/// The registry agents' bytes, by agent name.
pub type Resolved = std::collections::BTreeMap<String, crate::resolve::Resolved>;

/// [`from_manifest`] with the inputs read from `files` (for `mpm diff`: a git tree).
pub fn from_files(
    loaded: Arc<Loaded>,
    cwd: &Path,
    files: Box<dyn Files>,
    memo: Memo,
    resolved: Arc<Resolved>,
) -> Result<(DesiredState, Renderer), Error> {
    build(loaded, cwd, files, memo, HashMap::new(), resolved)
}

/// Builds the desired state; `digests` are input files already read and hashed.
fn build(
    loaded: Arc<Loaded>,
    cwd: &Path,
    files: Box<dyn Files>,
    memo: Memo,
    digests: HashMap<std::ffi::OsString, Option<Digest>>,
    resolved: Arc<Resolved>,
) -> Result<(DesiredState, Renderer), Error> {
    let mut uses: HashMap<PathBuf, usize> = HashMap::new();
    for spec in loaded.manifest.agents.0.values().filter(|s| s.enabled) {
        if let Some(rel) = &spec.template {
            *uses.entry(loaded.resolve(rel)).or_default() += 1;
        }
    }
    let mut sources = Sources {
        loaded: loaded.clone(),
        cwd: cwd.to_path_buf(),
        files,
        templates: HashMap::new(),
        shared: uses
            .into_iter()
            .filter(|(_, n)| *n > 1)
            .map(|(p, _)| p)
            .collect(),
        base_files: HashMap::new(),
        inputs: HashMap::new(),
        memo: Some(memo),
        used: Default::default(),
        digests,
        last_read: None,
        rendered: false,
        building: true,
        defaults_json: serde_json::to_vec(&loaded.manifest.defaults).unwrap_or_default(),
        resolved,
    };
    sources.note_input(&loaded.path, loaded.digest);
    let manifest = &loaded.manifest;
    let mut errors = Vec::new();
    let mut state = DesiredState::default();

    let base = match &manifest.defaults.base {
        None => None,
        Some(rel) => {
            let path = loaded.resolve(rel);
            if sources.files.is_file(&path) {
                match BaseTemplate::read_from(&*sources.files, &path, &sources.display(&path)) {
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
                    &loaded,
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
        if BUILT_IN.contains(&name.as_str()) && spec.enabled {
            state.warnings.push(format!(
                "agent `{name}` replaces Claude Code's built-in agent of that name"
            ));
        }
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
            Ok((resource, _bytes)) => {
                state.resources.insert(address, resource);
            }
            Err(Error::Many(many)) => errors.extend(many),
            Err(e) => errors.push(e),
        }
    }
    Error::collect(errors)?;
    state.inputs = sources.take_inputs();
    // the memo for the next plan: what was used of this one, and what was rendered;
    // `None` when that is this one (nothing is written). The renderer keeps none:
    // rendering for bytes renders.
    let used = std::mem::take(&mut sources.used);
    // rendering for bytes reads what it needs again
    sources.digests = HashMap::new();
    sources.building = false;
    state.memo = match sources.memo.take() {
        Some(memo) if !sources.rendered && memo.len() == used.len() => None,
        Some(mut memo) => {
            memo.retain(|k| used.contains(k));
            Some(memo)
        }
        None => None,
    };
    Ok((
        state,
        Renderer {
            sources: RefCell::new(sources),
            base,
            defaults,
            parts: Default::default(),
        },
    ))
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
) -> Result<(DesiredResource, Vec<u8>), Error> {
    let loaded = sources.loaded.clone();
    let n = name.as_str();
    let given: Vec<&str> = [
        ("template", spec.template.is_some()),
        ("file", spec.file.is_some()),
        ("prompt", spec.prompt.is_some()),
        ("registry", spec.registry.is_some()),
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
                    Some("give it one of `template:`, `file:`, `prompt:` or `registry:`".into()),
                )
                .into());
        }
        [_] => {}
        [first, second, ..] => {
            return Err(loaded
                .error_at(
                    &["agents", n, second],
                    format!("agent `{n}` has more than one source (`{first}` and `{second}`)"),
                    Some(
                        "keep exactly one of `template:`, `file:`, `prompt:` or `registry:`".into(),
                    ),
                )
                .into());
        }
    }
    if spec.registry.is_some() {
        from_registry(sources, name, spec, defaults, base, warnings)
    } else if let Some(rel) = &spec.template {
        let path = loaded.resolve(rel);
        let digest = match sources.digests.get(path.as_os_str()) {
            Some(known) => *known,
            None if sources.files.is_file(&path) => sources.template_digest(&path)?,
            None => None,
        };
        let Some(digest) = digest else {
            return Err(not_found(
                &loaded,
                &["agents", n, "template"],
                "template",
                rel,
            ));
        };
        let source = sources.source_name(&path);
        let key = memo::key(&[
            b"template",
            n.as_bytes(),
            &serde_json::to_vec(spec).unwrap_or_default(),
            &sources.defaults_json,
            base.map(|b| b.digest).unwrap_or(Digest::of(b"")).as_bytes(),
            digest.as_bytes(),
            manifest_name(&loaded).as_bytes(),
            source.as_bytes(),
            sources.cwd.as_os_str().as_encoded_bytes(),
        ]);
        if let Some(hit) = sources.memoized(&key, &[(path.clone(), digest)])? {
            return Ok(remembered(hit, n, source, spec, warnings));
        }
        let t = sources.template(&path)?;
        let mut own = Vec::new();
        let (resource, bytes, probed) =
            from_template(sources, name, spec, defaults, base, &t, &mut own)?;
        remember(sources, key, &resource, probed, &own);
        warnings.extend(own);
        Ok((resource, bytes))
    } else if let Some(rel) = &spec.file {
        let path = loaded.resolve(rel);
        if !sources.files.is_file(&path) {
            return Err(not_found(
                &loaded,
                &["agents", n, "file"],
                "agent file",
                rel,
            ));
        }
        from_file(sources, name, spec, &path)
    } else {
        let key = memo::key(&[
            b"inline",
            n.as_bytes(),
            &serde_json::to_vec(spec).unwrap_or_default(),
            &sources.defaults_json,
            manifest_name(&loaded).as_bytes(),
        ]);
        if let Some(hit) = sources.memoized(&key, &[])? {
            return Ok(remembered(hit, n, "inline".into(), spec, warnings));
        }
        let (resource, bytes) = from_inline(sources, name, spec, defaults)?;
        remember(sources, key, &resource, Vec::new(), &[]);
        Ok((resource, bytes))
    }
}

/// An agent as the memo has it (its bytes are rendered when they are wanted).
fn remembered(
    hit: Memoized,
    agent: &str,
    source: String,
    spec: &AgentSpec,
    warnings: &mut Vec<String>,
) -> (DesiredResource, Vec<u8>) {
    warnings.extend(hit.warnings);
    let resource = DesiredResource {
        digest: hit.digest,
        size: hit.size,
        mode: super::FILE_MODE,
        owner: Owner {
            agent: Some(agent.to_string()),
            version: hit.version,
            source,
        },
        record: super::Record::Written,
        protect: spec.protect,
        part: None,
    };
    (resource, Vec::new())
}

/// Keeps what an agent rendered to for the next plan.
fn remember(
    sources: &mut Sources,
    key: Digest,
    resource: &DesiredResource,
    probed: memo::Probed,
    warnings: &[String],
) {
    // rendering again for the bytes (the memo put aside) keeps nothing new
    let Some(memo) = sources.memo.as_mut() else {
        return;
    };
    sources.rendered = true;
    memo.insert(
        key,
        resource.digest,
        resource.size,
        resource.owner.version.clone(),
        probed,
        warnings.to_vec(),
    );
    sources.used.insert(key);
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
) -> Result<(DesiredResource, Vec<u8>, memo::Probed), Error> {
    let loaded = sources.loaded.clone();
    let n = name.as_str();
    let version = match &t.agent_version {
        // the registry's version, which the resolve stage checked
        _ if t.origin.is_some() => None,
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
    if let Some(req) = spec.version.as_ref().filter(|_| t.origin.is_none()) {
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
    if spec.description.is_none()
        && let Some(f) = &t.description
    {
        agent_file::check_frontmatter_value(&f.value).map_err(|e| AgentError {
            agent: n.to_string(),
            message: format!(
                "template `{}`: {}",
                t.display,
                e.about(&format!("`{}`", f.pointer))
            ),
            hint: Some(format!(
                "{}; or set `description:` for agent `{n}` in mpm.yaml, which overrides the template's",
                e.hint.unwrap_or_default()
            )),
        })?;
    }
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
    // the manifest's fields win; the template fills the rest, checked
    let mut fields = fields;
    if fields.model.is_none() {
        fields.model = checked(t, name, &t.model, "model", Model::parse, "sonnet")?;
    }
    if fields.color.is_none() {
        fields.color = checked(t, name, &t.color, "color", Color::parse, "blue")?;
    }
    let tool_list =
        |f: &Option<Field<Vec<String>>>, key: &str| -> Result<Option<ToolList>, TemplateError> {
            let Some(f) = f else { return Ok(None) };
            ToolList::parse(f.value.clone())
                .map(Some)
                .map_err(|problem| TemplateError::Value {
                    file: t.display.clone(),
                    pointer: f.pointer.to_string(),
                    value: f.value.join(", "),
                    problem: problem.message,
                    hint: format!("set `{key}:` for agent `{n}` in mpm.yaml"),
                })
        };
    if fields.tools.is_none() {
        fields.tools = tool_list(&t.tools, "tools")?;
    }
    if fields.disallowed_tools.is_none() {
        fields.disallowed_tools = tool_list(&t.disallowed_tools, "disallowedTools")?;
    }
    // every part of the prompt, checked where it comes from
    let in_file = |file: &str, what: &str, check: Result<(), Invalid>| {
        check.map_err(|e| AgentError {
            agent: n.to_string(),
            message: format!("{file}: {}", e.about(what)),
            hint: e.hint,
        })
    };
    let template_file = format!("template `{}`", t.display);
    if let Some(text) = &t.instructions {
        in_file(&template_file, "`/instructions`", text::check(text))?;
    }
    // the BASE file the template picks: the first candidate there is
    let mut probed = Vec::new();
    let mut found = None;
    for candidate in t.base_candidates() {
        let digest = sources.digest_of(&candidate)?;
        probed.push((candidate.clone(), digest));
        if digest.is_some() {
            found = Some(candidate);
            break;
        }
    }
    let base_md = match found {
        Some(p) => {
            let text = sources.base_file(&p)?;
            let shown = format!("`{}`", paths::display(&p, &sources.cwd));
            in_file(&shown, "the file", text::check(&text))?;
            Some(text)
        }
        None => None,
    };
    if let Some(b) = base {
        let shown = format!("base template `{}`", b.display);
        in_file(&shown, "`instructions`", text::check(&b.instructions))?;
    }
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
    let frontmatter = frontmatter(name, description, fields);
    let (source, version) = match &t.origin {
        Some(origin) => (
            format!("registry {}", origin.registry),
            Some(origin.version.clone()),
        ),
        None => (sources.source_name(&t.path), version.map(|v| v.to_string())),
    };
    let comment = format!(
        "managed by mpm: {n}{} from {source}; edit {}, not this file",
        version
            .as_deref()
            .map(|v| format!(" {v}"))
            .unwrap_or_default(),
        manifest_name(&loaded)
    );
    let owner = Owner {
        agent: Some(n.to_string()),
        version,
        source,
    };
    let (resource, bytes) = rendered(&frontmatter, &comment, &body, owner, spec.protect)?;
    Ok((resource, bytes, probed))
}

/// Renders an agent file; what cannot be rendered as the client reads it is an error
/// about the agent.
fn rendered(
    frontmatter: &Frontmatter,
    comment: &str,
    body: &str,
    owner: Owner,
    protect: bool,
) -> Result<(DesiredResource, Vec<u8>), Error> {
    let content = agent_file::render(frontmatter, comment, body).map_err(|e| AgentError {
        agent: owner.agent.clone().unwrap_or_default(),
        message: e.to_string(),
        hint: e.hint(),
    })?;
    Ok((DesiredResource::new(&content, owner, protect), content))
}

fn frontmatter(name: &AgentName, description: String, f: FrontmatterFields) -> Frontmatter {
    Frontmatter {
        name: name.clone(),
        description,
        model: f.model,
        tools: f.tools,
        disallowed_tools: f.disallowed_tools,
        color: f.color,
        permission_mode: f.permission_mode,
        max_turns: f.max_turns,
        skills: f.skills,
        effort: f.effort,
        memory: f.memory,
        background: f.background,
        isolation: f.isolation,
        initial_prompt: f.initial_prompt,
    }
}

fn manifest_name(loaded: &Loaded) -> String {
    loaded
        .path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| "mpm.yaml".into())
}

/// An agent from a registry: its verified bytes, a claude-mpm template (merged and
/// rendered as a template on disk is) or a ready agent file (checked, copied).
fn from_registry(
    sources: &mut Sources,
    name: &AgentName,
    spec: &AgentSpec,
    defaults: &FrontmatterFields,
    base: Option<&BaseTemplate>,
    warnings: &mut Vec<String>,
) -> Result<(DesiredResource, Vec<u8>), Error> {
    let n = name.as_str();
    let Some(resolved) = sources.resolved.get(n).cloned() else {
        return Err(AgentError {
            agent: n.to_string(),
            message: "was not resolved from its registry".into(),
            hint: Some("run `mpm lock` to resolve it".into()),
        }
        .into());
    };
    let package = &resolved.package;
    let source = format!("registry {}", package.registry);
    let template = resolved.bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    if !template {
        let file = ReadyFile {
            bytes: resolved.bytes.to_vec(),
            shown: resolved.shown.clone(),
            source,
            version: Some(package.version.clone()),
            from_registry: true,
        };
        return from_ready_file(sources, name, spec, file);
    }
    let key = memo::key(&[
        b"registry",
        n.as_bytes(),
        &serde_json::to_vec(spec).unwrap_or_default(),
        &sources.defaults_json,
        base.map(|b| b.digest).unwrap_or(Digest::of(b"")).as_bytes(),
        package.sha256.as_bytes(),
        package.version.as_bytes(),
        manifest_name(&sources.loaded).as_bytes(),
        source.as_bytes(),
    ]);
    if let Some(hit) = sources.memoized(&key, &[])? {
        return Ok(remembered(hit, n, source, spec, warnings));
    }
    let mut t = Template::parse(&resolved.bytes, Path::new(""), &resolved.shown)?;
    t.origin = Some(template::Origin {
        registry: package.registry.clone(),
        version: package.version.clone(),
    });
    let mut own = Vec::new();
    let (resource, bytes, probed) =
        from_template(sources, name, spec, defaults, base, &t, &mut own)?;
    remember(sources, key, &resource, probed, &own);
    warnings.extend(own);
    Ok((resource, bytes))
}

fn from_file(
    sources: &mut Sources,
    name: &AgentName,
    spec: &AgentSpec,
    path: &Path,
) -> Result<(DesiredResource, Vec<u8>), Error> {
    let bytes = sources.files.read_existing(path)?;
    sources.note_input(path, Digest::of(&bytes));
    // its frontmatter `version`, as `mpm version bump` writes it, for the plan's
    // `0.3.1 → 0.3.2`
    let version = agent_file::declared(&bytes, "version")
        .and_then(|v| semver::Version::parse(v.trim()).ok())
        .map(|v| v.to_string());
    let file = ReadyFile {
        bytes,
        shown: sources.display(path),
        source: sources.source_name(path),
        version,
        from_registry: false,
    };
    from_ready_file(sources, name, spec, file)
}

/// A ready agent file's bytes, where they are from.
struct ReadyFile {
    bytes: Vec<u8>,
    shown: String,
    /// For bookkeeping: `agents/notes.md`, `registry team`.
    source: String,
    /// A registry's version of it, or its own frontmatter `version`.
    version: Option<String>,
    from_registry: bool,
}

fn from_ready_file(
    sources: &mut Sources,
    name: &AgentName,
    spec: &AgentSpec,
    file: ReadyFile,
) -> Result<(DesiredResource, Vec<u8>), Error> {
    let loaded = sources.loaded.clone();
    let n = name.as_str();
    let from_registry = file.from_registry;
    let overridden = [
        ("description", spec.description.is_some()),
        // for a registry agent, the requirement on the registry's versions
        ("version", spec.version.is_some() && !from_registry),
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
                Some(match from_registry {
                    true => "the registry's agent file is deployed as it is; a template from a registry takes overrides".into(),
                    false => format!("edit `{}` itself", spec.file.as_deref().unwrap_or_default()),
                }),
            )
            .into());
    }
    let ReadyFile {
        bytes,
        shown,
        source,
        version,
        ..
    } = file;
    let text = std::str::from_utf8(&bytes).map_err(|_| AgentError {
        agent: n.to_string(),
        message: format!("`{shown}` is not UTF-8 text"),
        hint: None,
    })?;
    let found = agent_file::check_ready_file(text).map_err(|p| AgentError {
        agent: n.to_string(),
        message: format!("`{shown}`: {}", p.0),
        hint: Some(p.1.unwrap_or_else(|| {
            "fix the file; Claude Code reads `name`, `description`, `model`, `tools` and `color` from its frontmatter"
                .into()
        })),
    })?;
    if found != n {
        return Err(AgentError {
            agent: n.to_string(),
            message: format!(
                "`{shown}` names itself `{found}`, and Claude Code knows agents by that name"
            ),
            hint: Some(format!(
                "{}rename the agent to `{found}` in the manifest",
                if from_registry {
                    String::new()
                } else {
                    format!("set `name: {n}` in the file, or ")
                }
            )),
        }
        .into());
    }
    let resource = DesiredResource::new(
        &bytes,
        Owner {
            agent: Some(n.to_string()),
            version,
            source,
        },
        spec.protect,
    );
    Ok((resource, bytes))
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
) -> Result<(DesiredResource, Vec<u8>), Error> {
    let loaded = sources.loaded.clone();
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
    let frontmatter = frontmatter(name, description, fields);
    let comment = format!(
        "managed by mpm: {n} (inline); edit {}, not this file",
        manifest_name(&loaded)
    );
    let owner = Owner {
        agent: Some(n.to_string()),
        version: None,
        source: "inline".into(),
    };
    rendered(
        &frontmatter,
        &comment,
        spec.prompt.as_deref().unwrap_or_default(),
        owner,
        spec.protect,
    )
}
