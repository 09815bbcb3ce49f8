//! The files a watch cares about: the manifest and every file its last good plan
//! read. Their directories are what is watched, since editors save by writing a
//! new file and renaming it over the old one (a watch on the old file would see
//! nothing more); an event counts when it names one of the files, or one of the
//! directories itself (removed, or put back by a checkout: the files in it went or
//! came with it).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Interest {
    files: BTreeSet<PathBuf>,
    dirs: BTreeSet<PathBuf>,
}

impl Interest {
    /// `files` are absolute.
    pub fn new(files: impl IntoIterator<Item = PathBuf>) -> Self {
        let files: BTreeSet<PathBuf> = files.into_iter().collect();
        let dirs = files
            .iter()
            .filter_map(|f| f.parent().map(Path::to_path_buf))
            .collect();
        Interest { files, dirs }
    }

    /// The directories to watch (each once).
    pub fn dirs(&self) -> impl Iterator<Item = &Path> {
        self.dirs.iter().map(PathBuf::as_path)
    }

    pub fn has_dir(&self, dir: &Path) -> bool {
        self.dirs.contains(dir)
    }

    /// The first of the paths an event names that the watch cares about.
    pub fn touched<'a>(&self, paths: &'a [PathBuf]) -> Option<&'a Path> {
        paths
            .iter()
            .find(|p| self.files.contains(*p) || self.dirs.contains(*p))
            .map(PathBuf::as_path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(list: &[&str]) -> Vec<PathBuf> {
        list.iter().map(PathBuf::from).collect()
    }

    #[test]
    fn the_files_directories_are_watched_and_only_their_files_count() {
        let interest = Interest::new(paths(&[
            "/p/mpm.yaml",
            "/p/templates/qa.json",
            "/p/templates/base.json",
        ]));
        let dirs: Vec<&Path> = interest.dirs().collect();
        assert_eq!(dirs, [Path::new("/p"), Path::new("/p/templates")]);
        // a save by rename names the temp file and the file it replaces
        assert_eq!(
            interest.touched(&paths(&["/p/.mpm.yaml.swp", "/p/mpm.yaml"])),
            Some(Path::new("/p/mpm.yaml"))
        );
        assert_eq!(
            interest.touched(&paths(&["/p/templates/qa.json"])),
            Some(Path::new("/p/templates/qa.json"))
        );
        // the directory itself, removed or put back
        assert_eq!(
            interest.touched(&paths(&["/p/templates"])),
            Some(Path::new("/p/templates"))
        );
        // what apply writes beside the manifest, and other files, do not count
        assert_eq!(interest.touched(&paths(&["/p/mpm.lock"])), None);
        assert_eq!(interest.touched(&paths(&["/p/.claude"])), None);
        assert_eq!(interest.touched(&paths(&["/p/templates/new.json"])), None);
        assert_eq!(interest.touched(&[]), None);
    }
}
