//! Paths as shown to users, and lexical normalisation.

use std::path::{Component, Path, PathBuf};

/// Removes `.` and resolves `..` lexically (no filesystem access).
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// `path` relative to `base` when that is shorter to read, else absolute.
pub fn display(path: &Path, base: &Path) -> String {
    let path = normalize(path);
    let base = normalize(base);
    let common = path
        .components()
        .zip(base.components())
        .take_while(|(a, b)| a == b)
        .count();
    if common <= 1 {
        return path.display().to_string();
    }
    let ups = base.components().count() - common;
    if ups > 2 {
        return path.display().to_string();
    }
    let mut rel = PathBuf::new();
    for _ in 0..ups {
        rel.push("..");
    }
    rel.extend(path.components().skip(common));
    if rel.as_os_str().is_empty() {
        ".".into()
    } else {
        rel.display().to_string()
    }
}

/// A path relative to `base` with `/` separators, for bookkeeping that must not
/// depend on where the repository is checked out.
pub fn portable(path: &Path, base: &Path) -> String {
    let (path, base) = (normalize(path), normalize(base));
    let common = path
        .components()
        .zip(base.components())
        .take_while(|(a, b)| a == b)
        .count();
    let mut rel = PathBuf::new();
    for _ in common..base.components().count() {
        rel.push("..");
    }
    rel.extend(path.components().skip(common));
    rel.display().to_string().replace('\\', "/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_paths_relative_to_the_working_directory() {
        assert_eq!(
            display(Path::new("/a/b/mpm.yaml"), Path::new("/a/b")),
            "mpm.yaml"
        );
        assert_eq!(
            display(Path::new("/a/mpm.yaml"), Path::new("/a/b")),
            "../mpm.yaml"
        );
        assert_eq!(display(Path::new("/x/y"), Path::new("/a/b/c/d")), "/x/y");
        assert_eq!(normalize(Path::new("/a/./b/../c")), PathBuf::from("/a/c"));
        // bookkeeping never depends on where the checkout is
        assert_eq!(
            portable(Path::new("/x/t/qa.json"), Path::new("/x/a/b/c")),
            "../../../t/qa.json"
        );
    }
}
