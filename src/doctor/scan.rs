//! Reading the target for the checks: what is there, as values. Reads only: no
//! file is opened for writing, no folder created. A file the client would follow a
//! link to is read through it, as the client would; a named pipe or device where a
//! file should be is never opened (reading it could wait forever).

use super::modes::{self, What};
use super::withheld::Secrets;
use super::{Finding, Severity, agents};
use crate::claude_env::Scope;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

pub enum Kind {
    Missing,
    NotADirectory,
    Directory,
}

pub fn kind_of(path: &Path) -> Kind {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => Kind::Directory,
        Ok(_) => Kind::NotADirectory,
        Err(_) => Kind::Missing,
    }
}

/// One `.md` file of an agents folder.
pub struct AgentFile {
    pub path: PathBuf,
    pub shown: String,
    /// The file name without `.md`.
    pub stem: String,
    pub text: String,
}

#[derive(Default)]
pub struct Agents {
    /// The `.md` files that could be read, by path.
    pub files: Vec<AgentFile>,
    /// What is wrong with the folder and the files that could not be read.
    pub findings: Vec<Finding>,
}

/// Every file of an agents folder and its sub-folders (the client scans them
/// too), sorted by path. A missing folder has none.
pub fn agents(dir: &Path, shown: &dyn Fn(&Path) -> String) -> Agents {
    let mut out = Agents::default();
    walk(dir, shown, &mut out);
    out.files.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

fn walk(dir: &Path, shown: &dyn Fn(&Path) -> String, out: &mut Agents) {
    let Ok(meta) = std::fs::metadata(dir) else {
        return;
    };
    if !meta.is_dir() {
        return;
    }
    out.findings.extend(modes::writable_by_others(
        dir,
        &shown(dir),
        meta.permissions().mode(),
        What::Agents,
    ));
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            out.findings.push(Finding::new(
                Severity::Error,
                "agent-unreadable",
                dir,
                format!("the folder cannot be read: {e}: Claude Code cannot load its agents"),
                Some(format!("`chmod u+rx {}`", shown(dir))),
            ));
            return;
        }
    };
    let mut entries: Vec<std::fs::DirEntry> = entries.flatten().collect();
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            walk(&path, shown, out);
            continue;
        }
        // a link to a file is loaded; a link to a folder is not followed (no loops)
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".md") else {
            out.findings
                .extend(agents::never_loaded(&name).map(|p| p.of(&path)));
            continue;
        };
        let file_shown = shown(&path);
        if let Some(f) = modes::unreadable_agent(&path, &file_shown, meta.permissions().mode()) {
            out.findings.push(f);
            continue;
        }
        match std::fs::read(&path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => out.files.push(AgentFile {
                    path,
                    shown: file_shown,
                    stem: stem.to_string(),
                    text,
                }),
                Err(_) => out.findings.push(Finding::new(
                    Severity::Error,
                    "agent-unreadable",
                    &path,
                    "the file is not UTF-8 text: Claude Code cannot read it as an agent",
                    Some("save it as UTF-8".to_string()),
                )),
            },
            Err(e) => out.findings.push(Finding::new(
                Severity::Error,
                "agent-unreadable",
                &path,
                format!("the file cannot be read: {e}"),
                Some(format!(
                    "`chmod u+r {file_shown}`, or fix what the error names"
                )),
            )),
        }
    }
}

/// A settings file's problems, `secrets` unquoted; none when it does not exist.
pub fn settings(
    path: &Path,
    scope: Scope,
    secrets: &Secrets,
    shown: &dyn Fn(&Path) -> String,
) -> Vec<Finding> {
    let Ok(meta) = std::fs::metadata(path) else {
        return Vec::new();
    };
    let mut found: Vec<Finding> = modes::writable_by_others(
        path,
        &shown(path),
        meta.permissions().mode(),
        What::Settings,
    )
    .into_iter()
    .collect();
    if !meta.is_file() {
        found.push(Finding::new(
            Severity::Error,
            "settings-unreadable",
            path,
            "not a regular file: Claude Code cannot read settings from it",
            Some("put a JSON file there, or remove what is there".to_string()),
        ));
        return found;
    }
    match std::fs::read(path) {
        Ok(bytes) => found.extend(super::settings::check(path, &bytes, scope, secrets)),
        Err(e) => found.push(Finding::new(
            Severity::Error,
            "settings-unreadable",
            path,
            format!("the file cannot be read: {e}"),
            Some("make it readable by the user who runs Claude Code".to_string()),
        )),
    }
    found
}
