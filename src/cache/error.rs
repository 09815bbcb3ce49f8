//! What can go wrong with the cache folder, each naming the path it is about.

use crate::diagnose::Diagnose;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("failed to {action} `{}`: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// The cache folder itself is a link.
    #[error("the cache folder `{}` is a symbolic link: mpm never reads or writes its cache through a link", .0.display())]
    RootLink(PathBuf),
    /// A folder inside the cache is a link.
    #[error("`{}` is a symbolic link: mpm never reads or writes its cache through a link", .0.display())]
    Link(PathBuf),
    #[error("`{}` is not a directory", .0.display())]
    NotADirectory(PathBuf),
    /// A folder with files in it and no format file: not one mpm made, so nothing
    /// in it is touched (a `cache.dir` set to `~` must not lose `~/content`).
    #[error("`{}` is not an mpm cache: it holds other files and no `{}` file", .0.display(), super::FORMAT_FILE)]
    NotACache(PathBuf),
    #[error("the cache `{}` was written by another version of mpm (its `{}` file says `{found}`; this mpm reads `{}`)", dir.display(), super::FORMAT_FILE, super::FORMAT.trim_end())]
    Format { dir: PathBuf, found: String },
    #[error("the cache `{}` is locked by another mpm", .0.display())]
    Locked(PathBuf),
}

impl CacheError {
    pub(super) fn io(action: &'static str, path: PathBuf, source: std::io::Error) -> CacheError {
        CacheError::Io {
            action,
            path,
            source,
        }
    }
}

impl Diagnose for CacheError {
    fn causes(&self) -> Vec<String> {
        match self {
            CacheError::Locked(dir) => vec![format!(
                "waited {} s for `{}`",
                super::LOCK_PATIENCE.as_secs(),
                dir.join(super::LOCK_FILE).display()
            )],
            _ => Vec::new(),
        }
    }

    fn hint(&self) -> Option<String> {
        Some(match self {
            CacheError::Io { .. } => return None,
            CacheError::RootLink(_) => {
                "set `cache.dir` (or `MPM_CACHE_DIR`) to the folder the link points to, or remove the link".into()
            }
            CacheError::Link(_) => {
                "`mpm cache clear` removes the link (never what it points to), and the cache starts again empty".into()
            }
            CacheError::NotADirectory(_) | CacheError::NotACache(_) => {
                "set `cache.dir` (or `MPM_CACHE_DIR`) to a new or empty folder".into()
            }
            CacheError::Format { .. } => {
                "use the mpm that wrote it, or set `cache.dir` (or `MPM_CACHE_DIR`) to another folder, or remove this one".into()
            }
            CacheError::Locked(_) => {
                "another mpm is pruning or clearing the cache, or stopped while it did: let it finish, and run the command again".into()
            }
        })
    }
}
