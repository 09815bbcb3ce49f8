//! Writing the files `mpm version` and `mpm changelog` change: each atomically,
//! with its mode kept, and all or none: when one fails, those already replaced get
//! their old bytes back, so a failing command leaves the files as they were.

use crate::Error;
use crate::system::{self, FileWrite, Progress, System, Temps};
use std::io;
use std::path::PathBuf;

/// One file's new text, and what it had (`None`: it is new).
pub struct Change {
    pub path: PathBuf,
    pub shown: String,
    pub old: Option<String>,
    pub new: String,
}

pub fn write_all(system: &dyn System, changes: &[Change]) -> Result<(), Error> {
    let mut writes = Vec::new();
    for c in changes {
        writes.push(FileWrite {
            path: c.path.clone(),
            content: c.new.clone().into_bytes(),
            mode: mode_of(c)?,
        });
    }
    let mut temps = Temps::new(std::process::id().to_string());
    let mut progress = Progress::default();
    let Err(e) = system::commit_files(system, &writes, &[], &mut temps, &mut progress) else {
        return Ok(());
    };
    // put back what was replaced: the old bytes, or no file
    let mut back = Vec::new();
    let mut remove = Vec::new();
    for (c, w) in changes.iter().zip(&writes) {
        if !progress.replaced.contains(&c.path) {
            continue;
        }
        match &c.old {
            Some(old) => back.push(FileWrite {
                path: w.path.clone(),
                content: old.clone().into_bytes(),
                mode: w.mode,
            }),
            None => remove.push(c.path.clone()),
        }
    }
    let _ = system::commit_files(system, &back, &remove, &mut temps, &mut Progress::default());
    for dir in progress.created_dirs.iter().rev() {
        let _ = system.remove_dir(dir);
    }
    Err(e.into())
}

/// What [`write_all`] would refuse before it writes (`--dry-run`).
pub fn check(changes: &[Change]) -> Result<(), Error> {
    changes.iter().try_for_each(|c| mode_of(c).map(|_| ()))
}

/// The file's own permission bits (0644 for a new file). A symbolic link is
/// refused: replacing it would cut the link, and writing through it could reach
/// outside the repository.
fn mode_of(c: &Change) -> Result<u32, Error> {
    use std::os::unix::fs::PermissionsExt;
    match fs_err::symlink_metadata(&c.path) {
        Ok(m) if m.file_type().is_symlink() => Err(Error::usage(
            format!("`{}` is a symbolic link", c.shown),
            Some("mpm writes versions and changelogs only into regular files: point the manifest at the file itself".to_string()),
        )),
        Ok(m) => Ok(m.permissions().mode() & 0o7777),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0o644),
        Err(e) => Err(e.into()),
    }
}
