//! The target: the Claude Code config directory mpm manages, where its state log
//! lives, and the path rules that keep every write inside it.

use crate::address::Address;
use crate::error::Diagnose;
use crate::manifest::TargetSpec;
use crate::paths;
use std::path::{Path, PathBuf};

/// The name of mpm's state folder inside the target.
pub const STATE_DIR: &str = ".mpm";

#[derive(Debug, Clone)]
pub struct Target {
    /// Absolute.
    pub root: PathBuf,
    /// As shown to the user.
    pub display: String,
    /// Where the state log and the lock live.
    pub state_dir: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("the target `{0}` is not a directory")]
    NotADirectory(String),
    #[error("`{path}` is a symbolic link to `{to}`, outside the target `{target}`")]
    SymlinkOutside {
        path: String,
        to: String,
        target: String,
    },
    #[error(
        "cannot tell where the user's Claude Code directory is: neither `CLAUDE_CONFIG_DIR` nor `HOME` is set"
    )]
    NoHome,
}

impl Diagnose for TargetError {
    fn hint(&self) -> Option<String> {
        Some(match self {
            TargetError::NotADirectory(_) => {
                "point `target:` in mpm.yaml or `--target` at a directory (or at a path that does not exist yet)".into()
            }
            TargetError::SymlinkOutside { .. } => {
                "mpm never writes through a link that leaves the target; replace the link with a directory".into()
            }
            TargetError::NoHome => "set `CLAUDE_CONFIG_DIR`, or pass `--target DIR`".into(),
        })
    }
}

/// What target resolution reads from the environment (resolved once, passed in).
#[derive(Debug, Clone, Default)]
pub struct Env {
    pub cwd: PathBuf,
    pub home: Option<PathBuf>,
    pub claude_config_dir: Option<PathBuf>,
}

impl Env {
    pub fn from_process() -> std::io::Result<Self> {
        let non_empty = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        Ok(Env {
            cwd: std::env::current_dir()?,
            home: non_empty("HOME"),
            claude_config_dir: non_empty("CLAUDE_CONFIG_DIR"),
        })
    }
}

impl Target {
    /// `--target` beats the manifest's `target:`; `project` is `<manifest dir>/.claude`.
    pub fn resolve(
        spec: &TargetSpec,
        manifest_dir: &Path,
        overridden: Option<&Path>,
        state_dir: Option<&Path>,
        env: &Env,
    ) -> Result<Target, TargetError> {
        let root = match (overridden, spec) {
            (Some(dir), _) => env.cwd.join(dir),
            (None, TargetSpec::Project) => manifest_dir.join(".claude"),
            (None, TargetSpec::Path { path }) => manifest_dir.join(path),
            (None, TargetSpec::User) => match (&env.claude_config_dir, &env.home) {
                (Some(dir), _) => env.cwd.join(dir),
                (None, Some(home)) => home.join(".claude"),
                (None, None) => return Err(TargetError::NoHome),
            },
        };
        let root = paths::normalize(&root);
        let state_dir = match state_dir {
            Some(dir) => paths::normalize(&env.cwd.join(dir)),
            None => root.join(STATE_DIR),
        };
        Ok(Target {
            display: paths::display(&root, &env.cwd),
            root,
            state_dir,
        })
    }

    pub fn path_of(&self, address: &Address) -> PathBuf {
        address.path_in(&self.root)
    }

    /// Refuses a target that is a file, and a directory on the way to a managed path
    /// that is a symbolic link leading outside the target. Absent is fine.
    pub fn check(&self, addresses: impl IntoIterator<Item = Address>) -> Result<(), TargetError> {
        match fs_err::metadata(&self.root) {
            Ok(m) if !m.is_dir() => return Err(TargetError::NotADirectory(self.display.clone())),
            Ok(_) => {}
            Err(_) => {
                // it will be created: everything above it that exists must be a directory
                let blocking = self
                    .root
                    .ancestors()
                    .skip(1)
                    .find(|a| a.exists())
                    .filter(|a| !a.is_dir());
                return match blocking {
                    Some(file) => Err(TargetError::NotADirectory(crate::paths::display(
                        file,
                        Path::new("."),
                    ))),
                    None => Ok(()),
                };
            }
        }
        let real_root = fs_err::canonicalize(&self.root).unwrap_or_else(|_| self.root.clone());
        let mut dirs: Vec<&str> = Vec::new();
        let addresses: Vec<Address> = addresses.into_iter().collect();
        for a in &addresses {
            if let Some(dir) = a.parent()
                && !dirs.contains(&dir)
            {
                dirs.push(dir);
            }
        }
        for dir in dirs {
            let path = Address::parse(dir)
                .map(|d| d.path_in(&self.root))
                .unwrap_or_else(|_| self.root.join(dir));
            let Ok(meta) = fs_err::symlink_metadata(&path) else {
                continue;
            };
            if meta.file_type().is_symlink() {
                let to = fs_err::canonicalize(&path).unwrap_or_else(|_| path.clone());
                if !to.starts_with(&real_root) {
                    return Err(TargetError::SymlinkOutside {
                        path: format!("{}/{dir}", self.display),
                        to: to.display().to_string(),
                        target: self.display.clone(),
                    });
                }
            } else if !meta.is_dir() {
                return Err(TargetError::NotADirectory(format!(
                    "{}/{dir}",
                    self.display
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Env {
        Env {
            cwd: "/work/p".into(),
            home: Some("/home/u".into()),
            claude_config_dir: None,
        }
    }

    #[test]
    fn resolves_each_kind_of_target() {
        let m = Path::new("/work/p");
        let t = |spec, o: Option<&str>, e: &Env| {
            Target::resolve(&spec, m, o.map(Path::new), None, e)
                .unwrap()
                .root
        };
        assert_eq!(
            t(TargetSpec::Project, None, &env()),
            PathBuf::from("/work/p/.claude")
        );
        assert_eq!(
            t(TargetSpec::User, None, &env()),
            PathBuf::from("/home/u/.claude")
        );
        let with_dir = Env {
            claude_config_dir: Some("/cfg".into()),
            ..env()
        };
        assert_eq!(t(TargetSpec::User, None, &with_dir), PathBuf::from("/cfg"));
        assert_eq!(
            t(
                TargetSpec::Path {
                    path: "out/../o".into()
                },
                None,
                &env()
            ),
            PathBuf::from("/work/p/o")
        );
        assert_eq!(
            t(TargetSpec::User, Some("x"), &env()),
            PathBuf::from("/work/p/x")
        );
        let target = Target::resolve(&TargetSpec::Project, m, None, None, &env()).unwrap();
        assert_eq!(target.state_dir, PathBuf::from("/work/p/.claude/.mpm"));
        assert_eq!(target.display, ".claude");
    }
}
