//! `mpm registry build DIR --out OUT`: a static index of a folder of claude-mpm
//! templates and agent files. `OUT/index.json` lists every version, and each
//! version's bytes are copied to `OUT/agents/<name>/<version>.<ext>`, so that OUT
//! can be served as it is. The same inputs give the same bytes; versions already
//! in OUT are kept, and a version is never published twice with other bytes.

use super::index::{FORMAT, Index, IndexVersion};
use crate::Error;
use crate::diagnose::Diagnose;
use crate::hash::Digest;
use crate::name::AgentName;
use std::path::{Path, PathBuf};

/// What a build did.
#[derive(Debug, Default)]
pub struct Built {
    pub agents: usize,
    pub versions: usize,
    /// Versions new in this build.
    pub added: usize,
    /// Files of DIR that are not agents, and why.
    pub skipped: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(
        "version {version} of `{agent}` is already in `{index}` with other bytes (SHA-256 {published}; `{file}` has {found})"
    )]
    Republished {
        agent: String,
        version: String,
        index: String,
        file: String,
        published: Digest,
        found: Digest,
    },
    #[error("`{first}` and `{second}` are both version {version} of `{agent}`, with other bytes")]
    Twice {
        agent: String,
        version: String,
        first: String,
        second: String,
    },
    #[error("`{0}` is not a folder")]
    NotADirectory(String),
}

impl Diagnose for BuildError {
    fn hint(&self) -> Option<String> {
        Some(match self {
            BuildError::Republished { .. } => "a published version never changes (mpm.lock pins its SHA-256): raise the version (`agent_version`, or `version:` in the frontmatter)".into(),
            BuildError::Twice { .. } => "give one of them another version, or remove it".into(),
            BuildError::NotADirectory(_) => "give the folder holding the templates and agent files".into(),
        })
    }
}

/// One agent version found in DIR.
struct Found {
    name: String,
    version: semver::Version,
    file: PathBuf,
    bytes: Vec<u8>,
    ext: &'static str,
    description: Option<String>,
    model: Option<String>,
    tags: Vec<String>,
}

pub fn build(dir: &Path, out: &Path) -> Result<Built, Error> {
    if !dir.is_dir() {
        return Err(Error::from(BuildError::NotADirectory(
            dir.display().to_string(),
        )));
    }
    let index_path = out.join("index.json");
    let shown_index = index_path.display().to_string();
    let mut index = match crate::files::Files::read(&crate::files::Disk, &index_path)? {
        Some(bytes) => Index::parse(&bytes, &shown_index)?,
        None => Index {
            format: FORMAT,
            agents: Default::default(),
        },
    };
    let mut built = Built::default();
    let mut files = Vec::new();
    walk(dir, out, &mut files)?;
    files.sort();
    let mut found: Vec<Found> = Vec::new();
    for file in files {
        match read_agent(&file)? {
            Ok(f) => found.push(f),
            Err(why) => built
                .skipped
                .push(format!("`{}` skipped: {why}", file.display())),
        }
    }
    let mut errors = Vec::new();
    let mut writes: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    for (i, f) in found.iter().enumerate() {
        let version = f.version.to_string();
        let sha256 = Digest::of(&f.bytes);
        if let Some(other) = found[..i]
            .iter()
            .find(|o| o.name == f.name && o.version == f.version)
        {
            if Digest::of(&other.bytes) != sha256 {
                errors.push(Error::from(BuildError::Twice {
                    agent: f.name.clone(),
                    version,
                    first: other.file.display().to_string(),
                    second: f.file.display().to_string(),
                }));
            }
            continue;
        }
        let versions = &mut index.agents.entry(f.name.clone()).or_default().versions;
        if let Some(published) = versions.get(&version) {
            if published.sha256 != sha256 {
                errors.push(Error::from(BuildError::Republished {
                    agent: f.name.clone(),
                    version,
                    index: shown_index.clone(),
                    file: f.file.display().to_string(),
                    published: published.sha256,
                    found: sha256,
                }));
            }
            continue;
        }
        let url = format!("agents/{}/{version}.{}", f.name, f.ext);
        writes.push((out.join(&url), f.bytes.clone()));
        versions.insert(
            version,
            IndexVersion {
                url,
                sha256,
                size: f.bytes.len() as u64,
                description: f.description.clone(),
                model: f.model.clone(),
                tags: f.tags.clone(),
                yanked: false,
            },
        );
        built.added += 1;
    }
    Error::collect(errors)?;
    // the files first, the index that names them last
    fs_err::create_dir_all(out)?;
    for (path, bytes) in writes {
        if let Some(parent) = path.parent() {
            fs_err::create_dir_all(parent)?;
        }
        crate::system::write_file_atomically(&path, bytes)?;
    }
    crate::system::write_file_atomically(&index_path, index.render())?;
    built.agents = index.agents.len();
    built.versions = index.agents.values().map(|a| a.versions.len()).sum();
    Ok(built)
}

/// The files under `dir`, hidden ones and `out` left out.
fn walk(dir: &Path, out: &Path, files: &mut Vec<PathBuf>) -> Result<(), Error> {
    for entry in fs_err::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') || path == out {
            continue;
        }
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(&path, out, files)?;
        } else if kind.is_file() {
            files.push(path);
        }
    }
    Ok(())
}

/// The agent version a file is, or why it is not one.
fn read_agent(file: &Path) -> Result<Result<Found, String>, Error> {
    let ext = match file.extension().and_then(|e| e.to_str()) {
        Some("json") => "json",
        Some("md") => "md",
        _ => {
            return Ok(Err(
                "neither a template (`.json`) nor an agent file (`.md`)".into(),
            ));
        }
    };
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if stem == "base_agent" || stem.starts_with("BASE_") {
        return Ok(Err("a base file, not an agent".into()));
    }
    let bytes = fs_err::read(file)?;
    let shown = file.display().to_string();
    if ext == "json" {
        let t = match crate::template::Template::parse(&bytes, file, &shown) {
            Ok(t) => t,
            Err(e) => return Ok(Err(e.to_string())),
        };
        let Ok(name) = AgentName::from_template_stem(&stem) else {
            return Ok(Err(format!("`{stem}` does not make an agent name")));
        };
        let Some(version) = &t.agent_version else {
            return Ok(Err("it has no `agent_version`".into()));
        };
        let Ok(version) = semver::Version::parse(&version.value) else {
            return Ok(Err(format!(
                "`agent_version` `{}` is not a semantic version",
                version.value
            )));
        };
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        let tags = json
            .pointer("/metadata/tags")
            .and_then(serde_json::Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|t| t.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        return Ok(Ok(Found {
            name: name.to_string(),
            version,
            file: file.to_path_buf(),
            ext,
            description: t.description.map(|f| f.value),
            model: t.model.map(|f| f.value),
            tags,
            bytes,
        }));
    }
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) => t,
        Err(_) => return Ok(Err("not UTF-8 text".into())),
    };
    let name = match crate::agent_file::check_ready_file(text) {
        Ok(name) => name,
        Err(p) => return Ok(Err(p.0)),
    };
    let Some(version) = crate::agent_file::declared(&bytes, "version") else {
        return Ok(Err("its frontmatter has no `version`".into()));
    };
    let Ok(version) = semver::Version::parse(&version) else {
        return Ok(Err(format!(
            "`version` `{version}` is not a semantic version"
        )));
    };
    Ok(Ok(Found {
        name,
        version,
        file: file.to_path_buf(),
        ext,
        description: crate::agent_file::declared(&bytes, "description"),
        model: crate::agent_file::declared(&bytes, "model"),
        tags: Vec::new(),
        bytes,
    }))
}
