//! Claude Code plugin marketplaces as registries: `.claude-plugin/marketplace.json`
//! in a folder or a git repository lists plugins; the agents of a plugin whose
//! `source` is a folder of the marketplace (`"./plugins/review-tools"`) are agents
//! mpm deploys by name, as `.claude/agents/<name>.md`.
//!
//! A plugin's agents are the files its `plugin.json` `agents` lists (a file or a
//! list; it replaces the scan, as in the client), else every `agents/**/*.md`.
//! An agent's name is its frontmatter `name`, else its file's stem (the client's
//! rule). A plugin's version is its `plugin.json` `version`, else the
//! marketplace entry's `version`, else (in a git repository) the commit's first 12
//! hex digits, else `unknown`; only a semantic version meets a `version:`
//! requirement.

use super::error::RegistryError;
use super::git::{GitRepo, is_inside, short};
use crate::Error;
use crate::hash::Digest;
use crate::name::AgentName;
use gix::ObjectId;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const MANIFEST: &str = ".claude-plugin/marketplace.json";
const PLUGIN_MANIFEST: &str = ".claude-plugin/plugin.json";

/// Where a marketplace's files are.
pub enum Root {
    /// A folder, read as it is on disk.
    Dir(PathBuf),
    /// A git repository at one commit.
    Git(Box<GitRepo>, ObjectId),
}

/// One plugin of a marketplace.
#[derive(Debug, Clone)]
struct Plugin {
    name: String,
    /// Its folder from the marketplace's root (`plugins/review-tools`), or the
    /// kind of its source when that is not a folder of the marketplace.
    dir: Result<String, String>,
    /// The entry's own `version` and `agents`.
    version: Option<String>,
    agents: Option<Value>,
}

/// One agent a marketplace offers.
#[derive(Debug, Clone)]
pub struct MarketOffer {
    pub plugin: String,
    pub version: String,
    pub semver: Option<semver::Version>,
    /// From the marketplace's root.
    pub path: String,
    pub sha256: Digest,
    pub commit: Option<ObjectId>,
}

/// A marketplace, its `marketplace.json` read.
pub struct Marketplace {
    root: Root,
    shown: String,
    /// marketplace.json's `name`: what the client knows it by.
    name: String,
    plugins: Vec<Plugin>,
}

impl Marketplace {
    pub fn open(root: Root, shown: String) -> Result<Marketplace, Error> {
        let not = |message: String| {
            Error::from(RegistryError::NotAMarketplace {
                shown: shown.clone(),
                message,
            })
        };
        let bytes = read(&root, MANIFEST)?.ok_or_else(|| not(format!("it has no `{MANIFEST}`")))?;
        let doc: Value = serde_json::from_slice(&bytes)
            .map_err(|e| not(format!("`{MANIFEST}` is not JSON: {e}")))?;
        let Some(entries) = doc.get("plugins").and_then(Value::as_array) else {
            return Err(not(format!("`{MANIFEST}` has no `plugins` list")));
        };
        let plugin_root = doc
            .pointer("/metadata/pluginRoot")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let mut plugins = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            let Some(name) = entry.get("name").and_then(Value::as_str) else {
                return Err(not(format!("`{MANIFEST}`: plugin {} has no `name`", i + 1)));
            };
            let dir = match entry.get("source") {
                Some(Value::String(s)) => folder(plugin_root, s).ok_or_else(|| {
                    format!("`{}`, outside the marketplace", crate::text::escaped(s))
                }),
                Some(Value::Object(o)) => Err(o
                    .get("source")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown")
                    .to_string()),
                _ => Err("missing".to_string()),
            };
            plugins.push(Plugin {
                name: name.to_string(),
                dir,
                version: entry
                    .get("version")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                agents: entry.get("agents").cloned(),
            });
        }
        Ok(Marketplace {
            name: doc
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("marketplace")
                .to_string(),
            root,
            shown,
            plugins,
        })
    }

    /// Agent `name` (of `plugin`, when given) and the agent names of the plugins
    /// searched (for a near miss). `registry` and `agent` are for messages.
    pub fn offers(
        &self,
        registry: &str,
        agent: &str,
        name: &str,
        plugin: Option<&str>,
    ) -> Result<(Vec<MarketOffer>, Vec<String>), Error> {
        let searched: Vec<&Plugin> = match plugin {
            Some(wanted) => {
                let Some(p) = self.plugins.iter().find(|p| p.name == wanted) else {
                    let names: Vec<&str> = self.plugins.iter().map(|p| p.name.as_str()).collect();
                    return Err(RegistryError::NoSuchPlugin {
                        agent: agent.to_string(),
                        registry: registry.to_string(),
                        plugin: wanted.to_string(),
                        near: crate::text::closest(wanted, &names).map(str::to_string),
                        plugins: names.iter().map(|n| n.to_string()).collect(),
                    }
                    .into());
                };
                if let Err(kind) = &p.dir {
                    return Err(RegistryError::PluginSource {
                        agent: agent.to_string(),
                        registry: registry.to_string(),
                        plugin: p.name.clone(),
                        kind: kind.clone(),
                    }
                    .into());
                }
                vec![p]
            }
            None => self.plugins.iter().filter(|p| p.dir.is_ok()).collect(),
        };
        let mut names = Vec::new();
        let mut found: Vec<(&Plugin, String)> = Vec::new();
        for p in searched {
            let agents = self.agents_of(p)?;
            if let Some(path) = agents.get(name) {
                found.push((p, path.clone()));
            }
            names.extend(agents.into_keys());
        }
        names.sort();
        names.dedup();
        let (p, path) = match found.as_slice() {
            [] => return Ok((Vec::new(), names)),
            [one] => one.clone(),
            many => {
                return Err(RegistryError::Ambiguous {
                    agent: agent.to_string(),
                    registry: registry.to_string(),
                    name: name.to_string(),
                    plugins: many.iter().map(|(p, _)| p.name.clone()).collect(),
                }
                .into());
            }
        };
        let bytes = read(&self.root, &path)?.unwrap_or_default();
        self.deployable(agent, &p.name, &path, &bytes)?;
        let version = self.version_of(p)?;
        Ok((
            vec![MarketOffer {
                plugin: p.name.clone(),
                semver: semver::Version::parse(&version).ok(),
                version,
                path,
                sha256: Digest::of(&bytes),
                commit: match &self.root {
                    Root::Git(_, commit) => Some(*commit),
                    Root::Dir(_) => None,
                },
            }],
            names,
        ))
    }

    /// Refuses a plugin agent the client would skip as a file of its own.
    pub fn deployable(
        &self,
        agent: &str,
        plugin: &str,
        path: &str,
        bytes: &[u8],
    ) -> Result<(), Error> {
        let problem = match std::str::from_utf8(bytes) {
            Ok(text) => crate::agent_file::check_ready_file(text).err().map(|p| p.0),
            Err(_) => Some("it is not UTF-8 text".into()),
        };
        match problem {
            None => Ok(()),
            Some(message) => Err(RegistryError::NotAFile {
                agent: agent.to_string(),
                shown: self.shown_file(path),
                message,
                plugin: plugin.to_string(),
                registry: self.name.clone(),
            }
            .into()),
        }
    }

    /// A file of the marketplace, as messages name it.
    pub fn shown_file(&self, path: &str) -> String {
        match &self.root {
            Root::Dir(dir) => dir.join(path).display().to_string(),
            Root::Git(repo, commit) => {
                format!("{path} @ {} in {}", short(*commit), repo.shown())
            }
        }
    }

    /// plugin.json `version` › the entry's › the commit › `unknown`.
    fn version_of(&self, p: &Plugin) -> Result<String, Error> {
        let own = self
            .plugin_json(p)?
            .and_then(|j| j.get("version").and_then(Value::as_str).map(str::to_string));
        Ok(own
            .or_else(|| p.version.clone())
            .or_else(|| match &self.root {
                Root::Git(_, commit) => Some(short(*commit)),
                Root::Dir(_) => None,
            })
            .unwrap_or_else(|| "unknown".into()))
    }

    fn plugin_json(&self, p: &Plugin) -> Result<Option<Value>, Error> {
        let Ok(dir) = &p.dir else { return Ok(None) };
        let path = join(dir, PLUGIN_MANIFEST);
        let Some(bytes) = read(&self.root, &path)? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            RegistryError::NotAMarketplace {
                shown: self.shown.clone(),
                message: format!("`{path}` is not JSON: {e}"),
            }
            .into()
        })
    }

    /// A plugin's agents: name → path from the marketplace's root.
    fn agents_of(&self, p: &Plugin) -> Result<BTreeMap<String, String>, Error> {
        let Ok(dir) = &p.dir else {
            return Ok(BTreeMap::new());
        };
        let listed = self
            .plugin_json(p)?
            .and_then(|j| j.get("agents").cloned())
            .or_else(|| p.agents.clone());
        let mut files = Vec::new();
        match listed {
            Some(listed) => {
                let paths: Vec<&str> = match &listed {
                    Value::String(s) => vec![s.as_str()],
                    Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                    _ => Vec::new(),
                };
                for rel in paths {
                    let Some(rel) = folder("", rel) else { continue };
                    let path = join(dir, &rel);
                    if rel.ends_with(".md") {
                        files.push(path);
                    } else {
                        files.extend(list(&self.root, &path)?);
                    }
                }
            }
            None => files.extend(list(&self.root, &join(dir, "agents"))?),
        }
        let mut agents = BTreeMap::new();
        for path in files {
            if !path.ends_with(".md") {
                continue;
            }
            let Some(bytes) = read(&self.root, &path)? else {
                continue;
            };
            let stem = path
                .rsplit('/')
                .next()
                .unwrap_or(&path)
                .trim_end_matches(".md");
            let name = crate::agent_file::declared_name(&bytes)
                .filter(|n| AgentName::parse(n).is_ok())
                .unwrap_or_else(|| stem.to_string());
            agents.entry(name).or_insert(path);
        }
        Ok(agents)
    }
}

/// The marketplace folder `path` names: itself, or the folder holding it when
/// it is the `.claude-plugin/marketplace.json` file (Claude Code's `file` source).
pub fn root_of(path: PathBuf) -> PathBuf {
    let names_it = path.ends_with(MANIFEST) && path.is_file();
    match path.parent().and_then(Path::parent) {
        Some(root) if names_it => root.to_path_buf(),
        _ => path,
    }
}

/// The bytes of a file of the folder marketplace `dir` (a pin's `path`), and the
/// file as messages name it.
pub fn read_in_dir(dir: &Path, agent: &str, path: &str) -> Result<(Vec<u8>, String), Error> {
    if !is_inside(path) {
        return Err(RegistryError::BadPath {
            agent: agent.to_string(),
            path: path.to_string(),
        }
        .into());
    }
    let shown = dir.join(path).display().to_string();
    match read(&Root::Dir(dir.to_path_buf()), path)? {
        Some(bytes) => Ok((bytes, shown)),
        None => Err(crate::resolve::ResolveError::Read {
            shown,
            message: "no such file".into(),
        }
        .into()),
    }
}

/// `./plugins/x` (or `x` under `pluginRoot`) as a folder from the root, if it is
/// inside the marketplace.
fn folder(plugin_root: &str, source: &str) -> Option<String> {
    let joined = match source.strip_prefix("./") {
        Some(rest) => rest.to_string(),
        None if source == "." => String::new(),
        None => join(plugin_root.trim_start_matches("./"), source),
    };
    let parts: Vec<&str> = joined
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.contains(&"..") {
        return None;
    }
    Some(parts.join("/"))
}

fn join(dir: &str, rel: &str) -> String {
    match dir {
        "" => rel.to_string(),
        dir => format!("{}/{rel}", dir.trim_end_matches('/')),
    }
}

/// A file of the marketplace (`None`: there is none).
fn read(root: &Root, path: &str) -> Result<Option<Vec<u8>>, Error> {
    match root {
        Root::Dir(dir) => match fs_err::read(dir.join(path)) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(e.into()),
        },
        Root::Git(repo, commit) => repo.file_at(*commit, path),
    }
}

/// The files under a folder of the marketplace, sorted, hidden ones left out.
fn list(root: &Root, dir: &str) -> Result<Vec<String>, Error> {
    let mut files = match root {
        Root::Dir(base) => {
            let mut files = Vec::new();
            walk(base, dir, &mut files)?;
            files
        }
        Root::Git(repo, commit) => repo.files_under(*commit, dir)?,
    };
    files.retain(|f| !f.split('/').any(|p| p.starts_with('.')));
    files.sort();
    Ok(files)
}

fn walk(base: &Path, dir: &str, files: &mut Vec<String>) -> Result<(), Error> {
    let entries = match fs_err::read_dir(base.join(dir)) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = join(dir, &name);
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(base, &path, files)?;
        } else if kind.is_file() {
            files.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_sources_stay_inside_the_marketplace() {
        assert_eq!(folder("", "./plugins/x").as_deref(), Some("plugins/x"));
        assert_eq!(folder("./plugins", "x").as_deref(), Some("plugins/x"));
        assert_eq!(folder("", "./").as_deref(), Some(""));
        assert_eq!(folder("", "./a/../../b"), None);
    }
}
