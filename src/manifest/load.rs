//! Finding, reading and parsing `mpm.yaml`, and turning serde_yaml's errors into
//! errors that name `file:line:column`, show the line, and hint at the fix.

use super::Manifest;
use crate::checked::Invalid;
use crate::diagnose::{Diagnose, Location};
use crate::files::{Disk, Files};
use crate::hash::Digest;
use crate::paths;
use crate::text;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "mpm.yaml";

/// A manifest as read: the typed value and what errors need to point back into it.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub manifest: Manifest,
    /// Absolute path.
    pub path: PathBuf,
    /// The directory paths in the manifest are relative to.
    pub dir: PathBuf,
    /// The path as shown to the user (relative to the working directory).
    pub display: String,
    pub source: String,
    pub digest: Digest,
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("no `{FILE_NAME}` in `{}` or any parent directory", dir.display())]
    NotFound { dir: PathBuf },
    #[error("{message}")]
    Invalid {
        message: String,
        location: Option<Location>,
        hint: Option<String>,
    },
}

impl ManifestError {
    /// The same error with one more thing to try.
    pub fn with_hint(self, more: &str) -> ManifestError {
        let hint = self
            .hint()
            .map_or(more.to_string(), |h| format!("{h}; or {more}"));
        match self {
            ManifestError::Invalid {
                message, location, ..
            } => ManifestError::Invalid {
                message,
                location,
                hint: Some(hint),
            },
            not_found => ManifestError::Invalid {
                message: not_found.to_string(),
                location: None,
                hint: Some(hint),
            },
        }
    }
}

impl Diagnose for ManifestError {
    fn location(&self) -> Option<&Location> {
        match self {
            ManifestError::Invalid { location, .. } => location.as_ref(),
            ManifestError::NotFound { .. } => None,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            ManifestError::NotFound { .. } => {
                Some("run `mpm init` to write one, or pass `--manifest FILE`".into())
            }
            ManifestError::Invalid { hint, .. } => hint.clone(),
        }
    }
}

/// The nearest `mpm.yaml`: in `start` or the closest parent.
pub fn find(start: &Path) -> Result<PathBuf, ManifestError> {
    start
        .ancestors()
        .map(|dir| dir.join(FILE_NAME))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| ManifestError::NotFound {
            dir: start.to_path_buf(),
        })
}

/// Reads and parses the manifest at `path` (absolute).
pub fn load(path: &Path, cwd: &Path) -> Result<Loaded, crate::Error> {
    load_from(&Disk, path, cwd)
}

/// Reads and parses the manifest at `path` (absolute) in `files`; errors name it as
/// `files` displays it.
pub fn load_from(files: &dyn Files, path: &Path, cwd: &Path) -> Result<Loaded, crate::Error> {
    let bytes = files.read_existing(path)?;
    let display = files.display(path, cwd);
    let source = String::from_utf8(bytes).map_err(|_| ManifestError::Invalid {
        message: format!("`{display}` is not UTF-8 text"),
        location: None,
        hint: Some("save the manifest as UTF-8".into()),
    })?;
    // a byte order mark is not YAML content
    let source = source
        .strip_prefix('\u{feff}')
        .map(str::to_string)
        .unwrap_or(source);
    let manifest = parse(&source, &display)?;
    Ok(Loaded {
        manifest,
        dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
        display,
        digest: Digest::of(source.as_bytes()),
        path: path.to_path_buf(),
        source,
    })
}

/// Parses manifest text; `file` names it in errors.
pub fn parse(source: &str, file: &str) -> Result<Manifest, ManifestError> {
    if source
        .trim()
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Err(ManifestError::Invalid {
            message: format!("`{file}` is empty"),
            location: None,
            hint: Some("start from `mpm init`, or write `version: 1` and an `agents:` map".into()),
        });
    }
    let manifest: Manifest =
        serde_yaml::from_str(source).map_err(|e| from_yaml_error(&e, source, file))?;
    super::settings::written::check(source, &manifest.environment)
        .map_err(|e| from_yaml_error(&e, source, file))?;
    Ok(manifest)
}

impl Loaded {
    /// An error about the value at `path` (keys from the top, like
    /// `["agents", "qa", "template"]`), pointing at it in the file.
    pub fn error_at(
        &self,
        path: &[&str],
        message: impl Into<String>,
        hint: Option<String>,
    ) -> ManifestError {
        let location = super::locate(&self.source, path).map(|(line, column)| {
            Location::in_source(self.display.clone(), &self.source, line, column)
        });
        ManifestError::Invalid {
            message: message.into(),
            location,
            hint,
        }
    }

    /// A path written in the manifest, made absolute.
    pub fn resolve(&self, relative: &str) -> PathBuf {
        paths::normalize(&self.dir.join(relative))
    }
}

/// The hint of a price in `budget.prices` that is not one (a key missing, a value
/// of the wrong type): what a whole price looks like.
fn price_hint(context: Option<&str>) -> Option<String> {
    context
        .filter(|c| c.starts_with("budget.prices."))
        .map(|_| {
            "a price gives `input`, `output`, `cache_write` and `cache_read` in US dollars per million tokens, like `{ input: 3, output: 15, cache_write: 3.75, cache_read: 0.3 }`".to_string()
        })
}

pub(crate) fn from_yaml_error(e: &serde_yaml::Error, source: &str, file: &str) -> ManifestError {
    let location = e
        .location()
        .map(|l| Location::in_source(file, source, l.line(), l.column()));
    let mut text = e.to_string();
    if let Some(l) = e.location() {
        let suffix = format!(" at line {} column {}", l.line(), l.column());
        if let Some(i) = text.find(&suffix) {
            text.truncate(i);
        }
    }
    // serde_yaml puts the key path first: `agents.qa: unknown field ...`
    let (context, detail) = match text.split_once(": ") {
        Some((path, rest)) if !path.contains(' ') && !path.is_empty() => {
            (Some(path.to_string()), rest.to_string())
        }
        _ => (None, text.clone()),
    };
    let within = context
        .as_deref()
        .map(|c| format!(" in `{c}`"))
        .unwrap_or_default();
    // a check of mpm's own, with its hint
    let checked = Invalid::from_serde(&detail);
    let (message, hint) = if checked.hint.is_some() || checked.of_value {
        let message = match &context {
            Some(c) if checked.of_value => checked.about(&format!("`{c}`")),
            Some(c) if names_place(&checked.message, c) => checked.message,
            _ => format!("{}{within}", checked.about("a value")),
        };
        (message, checked.hint)
    } else if let Some(at) = raw_control(&detail, source) {
        return ManifestError::Invalid {
            message: format!("`{file}` contains {}", at.describe(false)),
            location: Some(Location::in_source(file, source, at.line, at.column)),
            hint: Some(text::CONTROL_HINT.into()),
        };
    } else if detail.contains("more than one document") {
        (
            format!("`{file}` holds more than one YAML document"),
            Some("keep one document: remove the `---` line that starts the second".to_string()),
        )
    } else if detail.starts_with("invalid type: unit value") && context.is_some() {
        let what = context.as_deref().unwrap_or_default();
        let hint = match what.strip_prefix("agents.") {
            Some(agent) if !agent.contains('.') => {
                "give the agent a source: `template:`, `file:`, `prompt:` or `registry:`"
                    .to_string()
            }
            _ => "give it a value, or remove the key".to_string(),
        };
        (format!("`{what}` is empty"), Some(hint))
    } else if let Some(rest) = detail.strip_prefix("unknown field ") {
        let (key, expected) = split_expected(rest);
        let hint = suggest(&key, &expected);
        (format!("unknown key `{key}`{within}"), hint)
    } else if let Some(rest) = detail.strip_prefix("unknown variant ") {
        let (value, expected) = split_expected(rest);
        (
            format!("unknown value `{value}`{within}"),
            suggest(&value, &expected),
        )
    } else if let Some(rest) = detail.strip_prefix("missing field ") {
        let key = rest.trim_matches('`').to_string();
        let hint = (key == "version")
            .then(|| "add `version: 1` as the first line".to_string())
            .or_else(|| price_hint(context.as_deref()));
        (format!("missing key `{key}`{within}"), hint)
    } else if context.is_none()
        && [
            "did not find expected",
            "while parsing",
            "while scanning",
            "found character",
            "mapping values are not allowed",
            "could not find expected",
            "found unexpected",
            "tab character",
        ]
        .iter()
        .any(|s| detail.contains(s))
    {
        (
            format!("{detail}{within}"),
            Some("check the indentation and quoting around that line".to_string()),
        )
    } else {
        (format!("{detail}{within}"), price_hint(context.as_deref()))
    };
    ManifestError::Invalid {
        message,
        location,
        hint,
    }
}

/// Whether `message` names the key path `context` or one it is in, as
/// `` `environment.A` is a secret ... `` does for `environment.A.secret`: then it
/// says where it is already.
fn names_place(message: &str, context: &str) -> bool {
    context
        .match_indices(['.', '['])
        .map(|(i, _)| &context[..i])
        .chain([context])
        .any(|path| {
            ['`', '.', '[']
                .iter()
                .any(|after| message.contains(&format!("`{path}{after}")))
        })
}

/// A raw control character, which the YAML reader refuses with a byte offset
/// (`control characters are not allowed at position 43`) and no line.
fn raw_control(detail: &str, source: &str) -> Option<text::Control> {
    let offset: usize = detail
        .strip_prefix("control characters are not allowed at position ")?
        .trim()
        .parse()
        .ok()?;
    let before = source.get(..offset)?;
    let ch = source.get(offset..)?.chars().next()?;
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    Some(text::Control { ch, line, column })
}

/// Splits "`x`, expected one of `a`, `b`" into ("x", ["a", "b"]).
fn split_expected(rest: &str) -> (String, Vec<String>) {
    let mut ticks = rest.split('`').skip(1).step_by(2).map(str::to_string);
    let first = ticks.next().unwrap_or_default();
    (first, ticks.collect())
}

fn suggest(word: &str, candidates: &[String]) -> Option<String> {
    match text::closest(word, candidates) {
        Some(c) => Some(format!("did you mean `{c}`?")),
        None if !candidates.is_empty() => Some(format!(
            "expected one of {}",
            candidates
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(source: &str) -> String {
        let e = parse(source, "mpm.yaml").unwrap_err();
        crate::Error::from(e).render()
    }

    #[test]
    fn unknown_keys_get_a_did_you_mean_and_a_caret() {
        assert_eq!(
            err("version: 1\nagents:\n  qa:\n    templat: t.json\n"),
            "error: unknown key `templat` in `agents.qa`\n --> mpm.yaml:4:5\n  |\n4 |     templat: t.json\n  |     ^^^^^^^\nhint: did you mean `template`?\n"
        );
    }

    #[test]
    fn a_release_file_mpm_cannot_read_says_how_to_name_its_version() {
        assert_eq!(
            err("version: 1\nrelease:\n  files: [VERSION, chart.yaml]\n"),
            "error: mpm does not know where `chart.yaml` keeps its version in `release.files[1]`\n --> mpm.yaml:3:20\n  |\n3 |   files: [VERSION, chart.yaml]\n  |                    ^^^^^^^^^^\nhint: say where: `{ path: chart.yaml, regex: \"^version: (.*)$\" }`, or `{ path: chart.yaml, pointer: /version }` for JSON\n"
        );
        assert!(
            err("version: 1\nrelease:\n  tag: release\n").contains("must contain `{version}` once")
        );
    }

    #[test]
    fn a_name_given_twice_is_refused() {
        assert!(
            err("version: 1\nagents:\n  qa: {prompt: x}\n  qa: {prompt: y}\n")
                .contains("agent `qa` is defined twice")
        );
    }

    #[test]
    fn bad_values_are_located() {
        let e = err("version: 1\nagents:\n  qa:\n    template: t.json\n    model: sonnet-4.5\n");
        assert!(e.contains("unknown model `sonnet-4.5`"), "{e}");
        assert!(e.contains("mpm.yaml:5:12"), "{e}");
        assert!(err("version: 2\n").contains("unsupported manifest version 2"));
        assert!(err("agents: {}\n").contains("missing key `version`"));
        assert!(err("# nothing\n").contains("is empty"));
    }
}
