//! The target: the Claude Code config directory mpm manages, where its state log
//! lives, and the path rules that keep every write inside it.

use crate::address::Address;
use crate::diagnose::Diagnose;
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
    #[error("the target `{target}` {}", system.describe(target))]
    SystemDirectory {
        target: String,
        system: SystemDir,
        origin: Origin,
    },
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
            TargetError::SystemDirectory { origin, .. } => match origin {
                Origin::Flag => "mpm would write `agents/` and `.mpm/` there; if that is really meant, pass `--allow-system-target` as well".into(),
                Origin::Manifest => "`target:` in a manifest may never name a system directory; only `--target DIR --allow-system-target` on the command line can".into(),
                Origin::ClaudeConfigDir => "`CLAUDE_CONFIG_DIR` points there; set it to a Claude Code config directory, or pass `--target DIR --allow-system-target` if that is really meant".into(),
                Origin::Home => "`HOME` points there; set `CLAUDE_CONFIG_DIR`, or pass `--target DIR`".into(),
                Origin::UserFile => "`target:` in mpm's user file may never name a system directory; only `--target DIR --allow-system-target` on the command line can".into(),
                Origin::Variable(name) => format!("`{name}` points there; only `--target DIR --allow-system-target` on the command line may name a system directory"),
            },
        })
    }
}

/// Where a target's path came from: it decides whether a system directory may be it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// `--target DIR` on the command line.
    Flag,
    /// The manifest's `target:` (`project` or `{ path: DIR }`).
    Manifest,
    /// `target: user`, from `$CLAUDE_CONFIG_DIR`.
    ClaudeConfigDir,
    /// `target: user`, as `~/.claude`.
    Home,
    /// `target:` in mpm's user file (`~/.config/mpm/config.yaml`).
    UserFile,
    /// A variable (`MPM_TARGET`).
    Variable(&'static str),
}

impl Origin {
    pub fn of(spec: &TargetSpec, overridden: bool, env: &Env) -> Origin {
        match spec {
            _ if overridden => Origin::Flag,
            TargetSpec::User if env.claude_config_dir.is_some() => Origin::ClaudeConfigDir,
            TargetSpec::User => Origin::Home,
            TargetSpec::Project | TargetSpec::Path { .. } => Origin::Manifest,
        }
    }
}

/// Directories no Claude Code config directory should be: writing `agents/` and
/// `.mpm/` into them is a mistake (a `--target` typo, an unset variable in
/// `CLAUDE_CONFIG_DIR=$X/`). Only these paths themselves: `/etc/claude-code/.claude`,
/// where Claude Code reads managed agents, is a fine target.
const SYSTEM_DIRS: &[&str] = &[
    "/",
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/home",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/media",
    "/mnt",
    "/opt",
    "/proc",
    "/root",
    "/run",
    "/sbin",
    "/snap",
    "/srv",
    "/sys",
    "/tmp",
    "/usr",
    "/usr/bin",
    "/usr/include",
    "/usr/lib",
    "/usr/lib32",
    "/usr/lib64",
    "/usr/libexec",
    "/usr/local",
    "/usr/local/bin",
    "/usr/local/lib",
    "/usr/local/sbin",
    "/usr/local/share",
    "/usr/sbin",
    "/usr/share",
    "/usr/src",
    "/var",
    "/var/cache",
    "/var/lib",
    "/var/log",
    "/var/mail",
    "/var/opt",
    "/var/run",
    "/var/spool",
    "/var/tmp",
    "/nix",
    "/nix/store",
    // macOS
    "/Applications",
    "/Library",
    "/System",
    "/Users",
    "/Volumes",
    "/cores",
    "/private",
    "/private/etc",
    "/private/tmp",
    "/private/var",
];

/// Kernel file systems: nothing in them, at any depth, is a config directory.
const SYSTEM_TREES: &[&str] = &["/boot", "/dev", "/proc", "/sys"];

/// The system directory a target is, or lies in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemDir {
    pub path: PathBuf,
    /// Below a kernel file system rather than the directory itself.
    pub inside: bool,
}

impl SystemDir {
    fn describe(&self, target: &str) -> String {
        let path = self.path.display();
        if self.inside {
            format!("is inside `{path}`, a system directory")
        } else if Path::new(target) == self.path {
            "is a system directory".into()
        } else {
            format!("is the system directory `{path}`")
        }
    }
}

/// The rule, on an absolute path (normalised, or with links resolved): the system
/// directory it is or lies in.
pub fn system_directory(path: &Path) -> Option<SystemDir> {
    if let Some(dir) = SYSTEM_DIRS.iter().map(Path::new).find(|d| path == *d) {
        return Some(SystemDir {
            path: dir.to_path_buf(),
            inside: false,
        });
    }
    SYSTEM_TREES
        .iter()
        .map(Path::new)
        .find(|d| path.starts_with(d))
        .map(|d| SystemDir {
            path: d.to_path_buf(),
            inside: true,
        })
}

/// Refuses a target that is a system directory, as written (`normalized`) or with its
/// links resolved (`canonical`), unless it came from `--target` with
/// `--allow-system-target`.
pub fn check_not_system(
    normalized: &Path,
    canonical: Option<&Path>,
    display: &str,
    origin: Origin,
    allowed: bool,
) -> Result<(), TargetError> {
    if allowed && origin == Origin::Flag {
        return Ok(());
    }
    let found = system_directory(normalized).or_else(|| canonical.and_then(system_directory));
    match found {
        Some(system) => Err(TargetError::SystemDirectory {
            target: display.to_string(),
            system,
            origin,
        }),
        None => Ok(()),
    }
}

/// `path` with its links resolved: the nearest part of it that exists, resolved, and
/// the rest as written.
pub fn resolved(path: &Path) -> Option<PathBuf> {
    let mut rest = Vec::new();
    for base in path.ancestors() {
        if let Ok(real) = fs_err::canonicalize(base) {
            let mut out = real;
            out.extend(rest.iter().rev());
            return Some(paths::normalize(&out));
        }
        rest.push(base.file_name()?);
    }
    None
}

/// What target resolution reads from the environment (resolved once, passed in).
#[derive(Debug, Clone, Default)]
pub struct Env {
    pub cwd: PathBuf,
    pub home: Option<PathBuf>,
    pub claude_config_dir: Option<PathBuf>,
    /// `XDG_CACHE_HOME`, where the download cache goes by default.
    pub cache_home: Option<PathBuf>,
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
            // the XDG spec: a relative path is to be ignored
            cache_home: non_empty("XDG_CACHE_HOME").filter(|p| p.is_absolute()),
        })
    }

    /// mpm's cache folder: `$XDG_CACHE_HOME/mpm`, else `~/.cache/mpm`.
    pub fn cache_dir(&self) -> Option<PathBuf> {
        match (&self.cache_home, &self.home) {
            (Some(dir), _) => Some(dir.join("mpm")),
            (None, Some(home)) => Some(home.join(".cache").join("mpm")),
            (None, None) => None,
        }
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
            cache_home: None,
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

    #[test]
    fn system_directories_are_refused_unless_given_with_the_flag() {
        let check = |path: &str, canonical: Option<&str>, origin, allowed| {
            check_not_system(
                Path::new(path),
                canonical.map(Path::new),
                path,
                origin,
                allowed,
            )
            .map_err(|e| e.to_string())
        };
        for dir in ["/", "/etc", "/usr", "/usr/local", "/var", "/proc", "/tmp"] {
            assert_eq!(
                check(dir, None, Origin::Flag, false),
                Err(format!("the target `{dir}` is a system directory"))
            );
            assert_eq!(check(dir, None, Origin::Flag, true), Ok(()));
            for origin in [Origin::Manifest, Origin::ClaudeConfigDir, Origin::Home] {
                assert!(check(dir, None, origin, true).is_err(), "{dir} {origin:?}");
            }
        }
        // below a kernel file system, at any depth
        assert_eq!(
            check("/proc/self/cwd", None, Origin::Manifest, false),
            Err("the target `/proc/self/cwd` is inside `/proc`, a system directory".into())
        );
        // a link to one is one
        assert_eq!(
            check("/home/u/link", Some("/etc"), Origin::Flag, false),
            Err("the target `/home/u/link` is the system directory `/etc`".into())
        );
        // what lies below the others is not: managed agents live in /etc/claude-code
        for fine in [
            "/etc/claude-code/.claude",
            "/home/u/.claude",
            "/usr/local/x",
            "/.claude",
        ] {
            assert_eq!(check(fine, None, Origin::Manifest, false), Ok(()), "{fine}");
        }
        let user = |dir: Option<&str>| Env {
            claude_config_dir: dir.map(PathBuf::from),
            ..env()
        };
        assert_eq!(
            Origin::of(&TargetSpec::User, false, &user(Some("/"))),
            Origin::ClaudeConfigDir
        );
        assert_eq!(
            Origin::of(&TargetSpec::User, false, &user(None)),
            Origin::Home
        );
        assert_eq!(
            Origin::of(&TargetSpec::User, true, &user(Some("/"))),
            Origin::Flag
        );
        assert_eq!(
            Origin::of(&TargetSpec::Project, false, &env()),
            Origin::Manifest
        );
    }
}
