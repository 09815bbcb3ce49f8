//! Everything apply does to the disk goes through [`System`]: the real one writes
//! atomically, a recording one only remembers (for `--dry-run`).
//!
//! Atomic and crash-safe: each file is written to a temp file in its own directory
//! (named `.mpm-tmp.*`, never ending in `.md`, so Claude Code never loads it), fsynced,
//! then renamed over the target; the directory is fsynced after. The fsyncs are
//! batched: all temps (spread over threads), then all renames, then one fsync per
//! directory. A kill at any instant leaves each file old or new, never torn. Tests
//! can put a system that fails at a chosen step in its place.

use fs_err::os::unix::fs::OpenOptionsExt;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const DIR_MODE: u32 = 0o755;
pub const TEMP_PREFIX: &str = ".mpm-tmp.";

#[derive(Debug, Clone)]
pub struct FileWrite {
    pub path: PathBuf,
    pub content: Arc<[u8]>,
    pub mode: u32,
}

pub trait System {
    /// Writes every file atomically and removes `removals`; parents are created.
    fn commit_files(&mut self, writes: &[FileWrite], removals: &[PathBuf]) -> io::Result<()>;

    /// Removes temp files a killed run left in `dirs`; returns how many.
    fn remove_stray_temps(&mut self, dirs: &[PathBuf]) -> io::Result<usize>;
}

/// The disk.
#[derive(Debug, Default)]
pub struct RealSystem;

impl System for RealSystem {
    fn commit_files(&mut self, writes: &[FileWrite], removals: &[PathBuf]) -> io::Result<()> {
        let mut dirs: Vec<PathBuf> = writes
            .iter()
            .filter_map(|w| w.path.parent().map(Path::to_path_buf))
            .collect();
        dirs.extend(
            removals
                .iter()
                .filter_map(|p| p.parent().map(Path::to_path_buf)),
        );
        dirs.sort();
        dirs.dedup();
        for dir in &dirs {
            create_dirs(dir)?;
        }
        let temps = write_temps(writes)?;
        for (temp, write) in temps.iter().zip(writes) {
            if let Err(e) = fs_err::rename(temp, &write.path) {
                for t in &temps {
                    let _ = std::fs::remove_file(t);
                }
                return Err(e);
            }
        }
        for path in removals {
            match fs_err::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        for dir in &dirs {
            fs_err::File::open(dir)?.sync_all()?;
        }
        Ok(())
    }

    fn remove_stray_temps(&mut self, dirs: &[PathBuf]) -> io::Result<usize> {
        let mut removed = 0;
        for dir in dirs {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            for entry in entries.flatten() {
                if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX)
                    && entry.file_type().is_ok_and(|t| t.is_file())
                {
                    fs_err::remove_file(entry.path())?;
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }
}

/// Creates `dir` and its missing parents, mode 0755 whatever the umask.
pub fn create_dirs(dir: &Path) -> io::Result<()> {
    let missing: Vec<&Path> = dir.ancestors().take_while(|d| !d.exists()).collect();
    for d in missing.into_iter().rev() {
        match std::fs::DirBuilder::new().mode(DIR_MODE).create(d) {
            Ok(()) => fs_err::set_permissions(d, std::fs::Permissions::from_mode(DIR_MODE))?,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("failed to create directory `{}`: {e}", d.display()),
                ));
            }
        }
    }
    Ok(())
}

/// Writes one file atomically, mode 0644 (saved plans, `mpm init`).
pub fn write_file_atomically(path: &Path, content: &[u8]) -> io::Result<()> {
    RealSystem.commit_files(
        &[FileWrite {
            path: path.to_path_buf(),
            content: Arc::from(content),
            mode: 0o644,
        }],
        &[],
    )
}

/// Writes and fsyncs every temp file, on a few threads. On error, removes the
/// temps already written and touches nothing else.
fn write_temps(writes: &[FileWrite]) -> io::Result<Vec<PathBuf>> {
    let pid = std::process::id();
    let temps: Vec<PathBuf> = writes
        .iter()
        .enumerate()
        .map(|(i, w)| w.path.with_file_name(format!("{TEMP_PREFIX}{pid}.{i}")))
        .collect();
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 8)
        .min(writes.len().max(1));
    let chunk = writes.len().div_ceil(threads).max(1);
    let results: Vec<io::Result<()>> = std::thread::scope(|scope| {
        let handles: Vec<_> = writes
            .chunks(chunk)
            .zip(temps.chunks(chunk))
            .map(|(ws, ts)| {
                scope.spawn(move || ws.iter().zip(ts).try_for_each(|(w, t)| write_one(t, w)))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(io::Error::other("writer thread panicked")))
            })
            .collect()
    });
    if let Some(Err(e)) = results.into_iter().find(Result::is_err) {
        for t in &temps {
            let _ = std::fs::remove_file(t);
        }
        return Err(e);
    }
    Ok(temps)
}

fn write_one(temp: &Path, write: &FileWrite) -> io::Result<()> {
    let mut file = fs_err::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(write.mode)
        .open(temp)?;
    file.write_all(&write.content)?;
    // the umask must not decide the mode
    file.file()
        .set_permissions(std::fs::Permissions::from_mode(write.mode))?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn writes_atomically_with_modes_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agents/a.md");
        let writes = vec![FileWrite {
            path: path.clone(),
            content: Arc::from(&b"hello"[..]),
            mode: 0o644,
        }];
        RealSystem.commit_files(&writes, &[]).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"hello");
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o644);
        assert_eq!(
            std::fs::metadata(dir.path().join("agents")).unwrap().mode() & 0o777,
            0o755
        );
        let names: Vec<_> = std::fs::read_dir(dir.path().join("agents"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("a.md")]);
        RealSystem
            .commit_files(&[], std::slice::from_ref(&path))
            .unwrap();
        assert!(!path.exists());
    }

    #[test]
    fn stray_temps_are_removed_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".mpm-tmp.1.0"), "x").unwrap();
        std::fs::write(dir.path().join("keep.md"), "x").unwrap();
        assert_eq!(
            RealSystem
                .remove_stray_temps(&[dir.path().to_path_buf()])
                .unwrap(),
            1
        );
        assert!(dir.path().join("keep.md").exists());
    }
}
