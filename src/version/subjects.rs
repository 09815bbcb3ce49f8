//! What has a version in a manifest: each agent whose own file carries one (a
//! template's `agent_version`, an agent file's frontmatter `version`), and the
//! pack (`release.files`).

use super::bump::{Place, Subject};
use super::edit::Locator;
use crate::Error;
use crate::manifest::{AgentSpec, Loaded};
use crate::paths;
use std::path::{Path, PathBuf};

/// A subject and its place's text as it is in the working tree.
pub struct Found {
    pub subject: Subject,
    pub text: String,
}

/// An agent that has no version of its own, and why.
pub struct Unversioned {
    pub agent: String,
    pub why: String,
    /// Its own file could carry a version and does not (a template or an agent
    /// file); else it has none to carry (inline, or from a registry).
    pub missing: bool,
}

/// The agents named (all when none is), with a version in their own file.
/// A named agent without one is an error; unnamed, it is listed.
pub fn agents(
    loaded: &Loaded,
    cwd: &Path,
    named: &[String],
) -> Result<(Vec<Found>, Vec<Unversioned>), Error> {
    let all: Vec<&str> = loaded
        .manifest
        .agents
        .0
        .keys()
        .map(|n| n.as_str())
        .collect();
    for name in named {
        if !all.contains(&name.as_str()) {
            let hint = match crate::text::closest(name, &all) {
                Some(near) => format!("did you mean `{near}`?"),
                None => format!("the manifest's agents: {}", all.join(", ")),
            };
            return Err(Error::usage(
                format!("`{name}` is not an agent of `{}`", loaded.display),
                Some(hint),
            ));
        }
    }
    let mut found = Vec::new();
    let mut unversioned = Vec::new();
    for (name, spec) in &loaded.manifest.agents.0 {
        let name = name.as_str();
        if !named.is_empty() && !named.iter().any(|n| n == name) {
            continue;
        }
        match agent(loaded, cwd, name, spec)? {
            Ok(f) => found.push(f),
            Err(u) if named.is_empty() => unversioned.push(u),
            Err(Unversioned { why, .. }) => {
                return Err(Error::usage(
                    format!("agent `{name}` has no version of its own: {why}"),
                    Some(
                        "give its template an `agent_version`, or its file a frontmatter `version`"
                            .to_string(),
                    ),
                ));
            }
        }
    }
    Ok((found, unversioned))
}

fn agent(
    loaded: &Loaded,
    cwd: &Path,
    name: &str,
    spec: &AgentSpec,
) -> Result<Result<Found, Unversioned>, Error> {
    let unversioned = |why: String, missing: bool| {
        Ok(Err(Unversioned {
            agent: name.to_string(),
            why,
            missing,
        }))
    };
    let (rel, locator) = match (&spec.template, &spec.file) {
        (Some(t), _) if spec.registry.is_none() => (t, Locator::Json("/agent_version".into())),
        (_, Some(f)) if spec.registry.is_none() => (f, Locator::Frontmatter("version".into())),
        _ if spec.registry.is_some() => {
            return unversioned("it comes from a registry, which versions it".into(), false);
        }
        _ => return unversioned("it is written inline in the manifest".into(), false),
    };
    let path = loaded.resolve(rel);
    let shown = paths::display(&path, cwd);
    let text = read(&path, &shown)?;
    if super::edit::find(&text, &locator).is_err() {
        return unversioned(format!("`{shown}` has no {}", locator.describe()), true);
    }
    let mut inputs = vec![(path.clone(), shown.clone())];
    if spec.template.is_some() {
        if let Some(base) = &loaded.manifest.defaults.base {
            let base = loaded.resolve(base);
            let shown = paths::display(&base, cwd);
            inputs.push((base, shown));
        }
        let template = crate::template::Template::read(&path, &shown)?;
        if let Some(md) = template.base_candidates().into_iter().find(|p| p.is_file()) {
            let shown = paths::display(&md, cwd);
            inputs.push((md, shown));
        }
    }
    Ok(Ok(Found {
        subject: Subject {
            name: name.to_string(),
            place: Place {
                path,
                shown,
                locator,
            },
            inputs,
        },
        text,
    }))
}

/// The pack's version files, in the order written, with their text.
pub fn pack(loaded: &Loaded, cwd: &Path) -> Result<Vec<(Place, String)>, Error> {
    let files = &loaded.manifest.release.files;
    if files.is_empty() {
        return Err(Error::usage(
            format!("`{}` names no version files", loaded.display),
            Some("add `release: { files: [VERSION] }` (or package.json, Cargo.toml, ...) to the manifest".to_string()),
        ));
    }
    // the repository's work tree, which every version file must be in (when there
    // is one): the same rule for `set`, `check` and `bump --pack`
    let root = gix::discover(&loaded.dir)
        .ok()
        .and_then(|r| r.workdir().map(Path::to_path_buf))
        .map(|w| fs_err::canonicalize(&w).unwrap_or(w));
    let mut places = Vec::new();
    for (i, file) in files.iter().enumerate() {
        let at = ["release", "files", &i.to_string()].map(str::to_string);
        let at: Vec<&str> = at.iter().map(String::as_str).collect();
        let path = loaded.resolve(&file.path);
        let shown = paths::display(&path, cwd);
        let Some(locator) = file.locator() else {
            return Err(loaded
                .error_at(
                    &at,
                    format!("mpm does not know where `{shown}` keeps its version"),
                    Some("give it a `pointer:` or a `regex:`".to_string()),
                )
                .into());
        };
        let real = crate::target::resolved(&path).unwrap_or_else(|| path.clone());
        if let Some(root) = root.as_ref().filter(|r| !real.starts_with(r)) {
            return Err(loaded
                .error_at(
                    &at,
                    format!(
                        "`{shown}` is outside the git repository at `{}`",
                        root.display()
                    ),
                    Some(
                        "a pack's version files are in its repository, where their history is"
                            .to_string(),
                    ),
                )
                .into());
        }
        if !path.exists() {
            return Err(loaded
                .error_at(
                    &at,
                    format!("the version file `{shown}` does not exist"),
                    Some(
                        "create it with the version in it, or take it out of `release.files`"
                            .to_string(),
                    ),
                )
                .into());
        }
        let text = read(&path, &shown)?;
        places.push((
            Place {
                path,
                shown,
                locator,
            },
            text,
        ));
    }
    Ok(places)
}

/// The pack as a subject: its first version file, and everything under the
/// manifest's directory.
pub fn pack_subject(loaded: &Loaded, cwd: &Path, first: &Place) -> Subject {
    Subject {
        name: "pack".to_string(),
        place: first.clone(),
        inputs: vec![(loaded.dir.clone(), paths::display(&loaded.dir, cwd))],
    }
}

fn read(path: &PathBuf, shown: &str) -> Result<String, Error> {
    let bytes = fs_err::read(path)?;
    String::from_utf8(bytes).map_err(|_| {
        Error::usage(
            format!("`{shown}` is not UTF-8 text"),
            Some("save it as UTF-8".to_string()),
        )
    })
}
