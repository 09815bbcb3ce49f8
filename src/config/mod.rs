//! mpm's own settings and the layers they come from, lowest first: the built-in
//! defaults, the user file (`$XDG_CONFIG_HOME/mpm/config.yaml`, else
//! `~/.config/mpm/config.yaml`), the project's `mpm.yaml` (`target:` and `mpm:`),
//! variables (`MPM_*`, and the aliases the [`TABLE`] names), flags. Each setting
//! comes from the highest layer that gives it, and says which ([`Origin`]); a value
//! a layer gives that is not valid is an error naming where it is, never replaced
//! by a lower layer's.
//!
//! Pure but for [`read_user_file`]: the process's variables and flags are handed
//! in by `options`, which resolves everything once.

pub mod file;
pub mod kind;
mod settings;

pub use file::Section;
pub use kind::{CacheDir, Fraction, Kind, Raw, StateDir, TargetSetting, Usd};
pub use settings::{Files, InManifest, Settings, Shown, Sourced, Spec, TABLE};

use crate::checked::Invalid;
use crate::diagnose::{Diagnose, Location};
use crate::manifest::{Loaded, TargetSpec};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};

/// The file a layer was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// `~/.config/mpm/config.yaml`: every project's.
    User,
    /// `mpm.yaml`: this project's.
    Manifest,
}

/// A file's settings, and what origins and errors need to point back into it.
#[derive(Debug)]
pub struct FileLayer {
    pub kind: FileKind,
    /// As shown (relative to the working directory where shorter).
    pub display: String,
    /// What relative paths in it are relative to: its directory.
    pub base: PathBuf,
    source: Source,
    values: file::Values,
}

#[derive(Debug)]
enum Source {
    Text(String),
    /// Neither copied nor kept alive by the settings: a manifest can be large. The
    /// command that reads it holds it while its settings are shown or point into it.
    Manifest(Weak<Loaded>),
}

impl FileLayer {
    /// `f` of the file's text, while it is there to be read.
    fn with_source<R>(&self, f: impl FnOnce(&str) -> R) -> Option<R> {
        match &self.source {
            Source::Text(text) => Some(f(text)),
            Source::Manifest(loaded) => loaded.upgrade().map(|l| f(&l.source)),
        }
    }

    /// Where `key` is written in this file, as keys from the top.
    fn path_of(&self, spec: &Spec) -> Vec<&'static str> {
        let mut path: Vec<&'static str> = spec.key.split('.').collect();
        if self.kind == FileKind::Manifest && spec.files.manifest == InManifest::Section {
            path.insert(0, "mpm");
        }
        path
    }
}

/// A value given by a variable or a flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Given {
    pub key: &'static str,
    /// The variable or the flag.
    pub name: &'static str,
    pub value: OsString,
}

/// Everything a setting can come from.
#[derive(Debug, Clone, Default)]
pub struct Layers {
    /// What a variable's or a flag's relative path is relative to.
    pub cwd: PathBuf,
    pub user: Option<Arc<FileLayer>>,
    pub manifest: Option<Arc<FileLayer>>,
    pub env: Vec<Given>,
    pub flags: Vec<Given>,
}

/// Where a setting's value came from.
#[derive(Debug, Clone)]
pub enum Origin {
    Default,
    File {
        layer: Arc<FileLayer>,
        /// Keys from the top of the file (`["mpm", "lock_timeout"]`).
        path: Vec<&'static str>,
    },
    Env(&'static str),
    Flag(&'static str),
}

impl Origin {
    /// Given for this run: by a variable or a flag, not by a file or a default.
    pub fn is_given(&self) -> bool {
        matches!(self, Origin::Env(_) | Origin::Flag(_))
    }

    /// The file it is in, when it is.
    pub fn file(&self) -> Option<FileKind> {
        match self {
            Origin::File { layer, .. } => Some(layer.kind),
            _ => None,
        }
    }

    /// `default`, `mpm.yaml:3`, `env MPM_TARGET`, `flag --target`.
    pub fn describe(&self) -> String {
        match self {
            Origin::Default => "default".into(),
            Origin::File { layer, .. } => match self.location(&[]) {
                Some(at) => format!("{}:{}", layer.display, at.line),
                None => layer.display.clone(),
            },
            Origin::Env(name) => format!("env {name}"),
            Origin::Flag(name) => format!("flag {name}"),
        }
    }

    /// As `mpm config show --json` prints it.
    pub fn json(&self) -> serde_json::Value {
        match self {
            Origin::Default => serde_json::json!({ "kind": "default" }),
            Origin::File { layer, .. } => serde_json::json!({
                "kind": match layer.kind {
                    FileKind::User => "user_file",
                    FileKind::Manifest => "manifest",
                },
                "file": layer.display,
                "line": self.location(&[]).map(|at| at.line),
            }),
            Origin::Env(name) => serde_json::json!({ "kind": "env", "name": name }),
            Origin::Flag(name) => serde_json::json!({ "kind": "flag", "name": name }),
        }
    }

    /// The value's place in its file (`more`: keys below it, like `path`).
    pub fn location(&self, more: &[&str]) -> Option<Location> {
        let Origin::File { layer, path } = self else {
            return None;
        };
        let path: Vec<&str> = path.iter().copied().chain(more.iter().copied()).collect();
        layer
            .with_source(|source| {
                crate::manifest::locate(source, &path).map(|(line, column)| {
                    Location::in_source(layer.display.clone(), source, line, column)
                })
            })
            .flatten()
    }

    /// An error about the value, pointing at it when it is in a file.
    pub fn error(&self, more: &[&str], message: String, hint: Option<String>) -> ConfigError {
        ConfigError {
            message,
            location: self.location(more),
            hint,
        }
    }
}

/// A setting that cannot be read: what, where, and what to do.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ConfigError {
    pub message: String,
    pub location: Option<Location>,
    pub hint: Option<String>,
}

impl ConfigError {
    /// An invalid value of a variable or a flag.
    fn given(name: &str, invalid: Invalid) -> ConfigError {
        ConfigError {
            message: format!("invalid `{name}`: {}", invalid.about("the value")),
            location: None,
            hint: invalid.hint,
        }
    }
}

impl From<crate::manifest::ManifestError> for ConfigError {
    fn from(e: crate::manifest::ManifestError) -> ConfigError {
        ConfigError {
            message: e.to_string(),
            location: e.location().cloned(),
            hint: e.hint(),
        }
    }
}

impl Diagnose for ConfigError {
    fn location(&self) -> Option<&Location> {
        self.location.as_ref()
    }
    fn hint(&self) -> Option<String> {
        self.hint.clone()
    }
}

impl Layers {
    /// The setting `key` from the highest layer that gives it, else `default`.
    pub fn pick<T: Kind>(
        &self,
        key: &'static str,
        default: impl FnOnce() -> T,
    ) -> Result<Sourced<T>, ConfigError> {
        let given = self
            .flags
            .iter()
            .map(|g| (g, Origin::Flag(g.name)))
            .chain(self.env.iter().map(|g| (g, Origin::Env(g.name))));
        for (g, origin) in given {
            if g.key == key {
                let value = T::parse(&Raw::Arg(g.value.clone()), &self.cwd)
                    .map_err(|e| ConfigError::given(g.name, e))?;
                return Ok(Sourced { value, origin });
            }
        }
        for layer in [&self.manifest, &self.user].into_iter().flatten() {
            let Some((spec, raw)) = layer
                .values
                .iter()
                .find(|(k, _)| *k == key)
                .and_then(|(k, raw)| Some((Spec::find(k)?, raw)))
            else {
                continue;
            };
            let origin = Origin::File {
                path: layer.path_of(spec),
                layer: layer.clone(),
            };
            // checked when the file was read; here only a relative path is joined
            let value = T::parse(raw, &layer.base).map_err(|e| {
                let message = format!("{} in `{}`", e.about("the value"), key);
                origin.error(&[], message, e.hint)
            })?;
            return Ok(Sourced { value, origin });
        }
        Ok(Sourced {
            value: default(),
            origin: Origin::Default,
        })
    }
}

/// The variables that set settings, read through `get` (the first of a setting's
/// names that is set and not empty: `MPM_*` before an alias).
pub fn variables(get: impl Fn(&str) -> Option<OsString>) -> Vec<Given> {
    TABLE
        .iter()
        .filter_map(|spec| {
            spec.env.iter().find_map(|&name| {
                get(name).filter(|v| !v.is_empty()).map(|value| Given {
                    key: spec.key,
                    name,
                    value,
                })
            })
        })
        .collect()
}

/// The flags given, by setting key; a key without a flag in the table is skipped.
pub fn flags(given: impl IntoIterator<Item = (&'static str, Option<OsString>)>) -> Vec<Given> {
    given
        .into_iter()
        .filter_map(|(key, value)| {
            let spec = Spec::find(key)?;
            Some(Given {
                key: spec.key,
                name: spec.flag?,
                value: value?,
            })
        })
        .collect()
}

/// The user file: `$XDG_CONFIG_HOME/mpm/config.yaml`, else
/// `$HOME/.config/mpm/config.yaml`. A relative `XDG_CONFIG_HOME` is ignored, as
/// the XDG Base Directory specification says.
pub fn user_file(xdg_config_home: Option<OsString>, home: Option<&Path>) -> Option<PathBuf> {
    let xdg = xdg_config_home
        .map(PathBuf::from)
        .filter(|p| p.is_absolute());
    let dir = xdg.or_else(|| home.map(|h| h.join(".config")))?;
    Some(dir.join("mpm").join("config.yaml"))
}

/// Reads the user file at `path`; `None` when there is none.
pub fn read_user_file(path: &Path, cwd: &Path) -> Result<Option<FileLayer>, crate::Error> {
    let bytes = match fs_err::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let display = crate::paths::display(path, cwd);
    let source = String::from_utf8(bytes).map_err(|_| ConfigError {
        message: format!("`{display}` is not UTF-8 text"),
        location: None,
        hint: Some("save mpm's user file as UTF-8".into()),
    })?;
    let source = match source.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => source,
    };
    let values = file::parse_user_file(&source, &display)?;
    Ok(Some(FileLayer {
        kind: FileKind::User,
        display,
        base: path.parent().map(Path::to_path_buf).unwrap_or_default(),
        source: Source::Text(source),
        values,
    }))
}

/// The settings in a manifest: `target:` and `mpm:`. Whether a manifest that
/// says `project` writes it or only gets the default takes a second look at its
/// text, and only matters when a lower layer sets the target (or to show where
/// each value came from): only then, with `precise`, is it looked at.
pub fn manifest_layer(loaded: &Arc<Loaded>, precise: bool) -> FileLayer {
    let mut values: file::Values = Vec::new();
    let raw = match &loaded.manifest.target {
        TargetSpec::Project if !precise => None,
        TargetSpec::Project => crate::manifest::locate_exact(&loaded.source, &["target"])
            .map(|_| Raw::Text("project".into())),
        TargetSpec::User => Some(Raw::Text("user".into())),
        TargetSpec::Path { path } => Some(Raw::Path(path.clone())),
    };
    values.extend(raw.map(|raw| ("target", raw)));
    values.extend(loaded.manifest.mpm.0.iter().cloned());
    values.extend(loaded.manifest.budget.settings.iter().cloned());
    FileLayer {
        kind: FileKind::Manifest,
        display: loaded.display.clone(),
        base: loaded.dir.clone(),
        source: Source::Manifest(Arc::downgrade(loaded)),
        values,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn user(source: &str) -> Arc<FileLayer> {
        Arc::new(FileLayer {
            kind: FileKind::User,
            display: "config.yaml".into(),
            base: "/home/u/.config/mpm".into(),
            values: file::parse_user_file(source, "config.yaml").unwrap(),
            source: Source::Text(source.into()),
        })
    }

    fn given(key: &'static str, name: &'static str, value: &str) -> Given {
        Given {
            key,
            name,
            value: value.into(),
        }
    }

    fn layers() -> Layers {
        Layers {
            cwd: "/w".into(),
            ..Layers::default()
        }
    }

    #[test]
    fn each_layer_beats_the_ones_below() {
        let mut layers = layers();
        let pick = |l: &Layers| {
            let s = Settings::resolve(l).unwrap();
            (s.lock_timeout.value, s.lock_timeout.origin.describe())
        };
        assert_eq!(pick(&layers), (Duration::ZERO, "default".into()));
        layers.user = Some(user("color: never\nlock_timeout: 1s\n"));
        assert_eq!(
            pick(&layers),
            (Duration::from_secs(1), "config.yaml:2".into())
        );
        layers.env = vec![given("lock_timeout", "MPM_LOCK_TIMEOUT", "2s")];
        assert_eq!(
            pick(&layers),
            (Duration::from_secs(2), "env MPM_LOCK_TIMEOUT".into())
        );
        layers.flags = vec![given("lock_timeout", "--lock-timeout", "3s")];
        assert_eq!(
            pick(&layers),
            (Duration::from_secs(3), "flag --lock-timeout".into())
        );
    }

    #[test]
    fn an_invalid_value_is_an_error_even_under_a_valid_one() {
        // a higher layer wins before a lower one is read: the error is the winner's
        let mut layers = layers();
        layers.env = vec![given("lock_timeout", "MPM_LOCK_TIMEOUT", "soon")];
        let e = Settings::resolve(&layers).unwrap_err();
        assert_eq!(
            e.message,
            "invalid `MPM_LOCK_TIMEOUT`: `soon` is not a duration (like `30s`, `2m`, `500ms`)"
        );
    }

    #[test]
    fn an_mpm_variable_beats_its_alias() {
        let env = |pairs: &[(&str, &str)]| {
            let pairs: Vec<(String, OsString)> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), OsString::from(v)))
                .collect();
            variables(|name| {
                pairs
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
            })
        };
        assert_eq!(
            env(&[("CLAUDE_AGENT_CACHE_ENABLED", "false")]),
            vec![given(
                "cache.enabled",
                "CLAUDE_AGENT_CACHE_ENABLED",
                "false"
            )]
        );
        assert_eq!(
            env(&[
                ("CLAUDE_AGENT_CACHE_ENABLED", "false"),
                ("MPM_CACHE_ENABLED", "1")
            ]),
            vec![given("cache.enabled", "MPM_CACHE_ENABLED", "1")]
        );
        // empty is unset
        assert_eq!(env(&[("MPM_TARGET", "")]), vec![]);
    }

    #[test]
    fn relative_paths_are_relative_to_their_layer() {
        let mut layers = layers();
        layers.user = Some(user("target: {path: agents-home}\n"));
        let s = Settings::resolve(&layers).unwrap();
        assert_eq!(
            s.target.value,
            TargetSetting::Dir("/home/u/.config/mpm/agents-home".into())
        );
        layers.flags = flags([("target", Some("t".into())), ("state_dir", None)]);
        let s = Settings::resolve(&layers).unwrap();
        assert_eq!(s.target.value, TargetSetting::Dir("/w/t".into()));
        assert_eq!(s.state_dir.value, StateDir(None));
    }

    #[test]
    fn the_user_file_is_under_xdg_config_home_or_home() {
        let home = Some(Path::new("/home/u"));
        assert_eq!(
            user_file(Some("/x".into()), home),
            Some("/x/mpm/config.yaml".into())
        );
        assert_eq!(
            user_file(Some("rel".into()), home),
            Some("/home/u/.config/mpm/config.yaml".into())
        );
        assert_eq!(user_file(None, None), None);
    }
}
