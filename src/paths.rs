//! Paths as shown to users, and lexical normalisation.

use std::path::{Component, Path, PathBuf};

/// Removes `.` and resolves `..` lexically (no filesystem access).
pub fn normalize(path: &Path) -> PathBuf {
    if is_normal(path) {
        return path.to_path_buf();
    }
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

/// Whether `path` is already what [`normalize`] makes of it: no `.` or `..`
/// part, no doubled or trailing `/` (a byte scan: walking the components of
/// every template's path was a tenth of a no-change plan).
fn is_normal(path: &Path) -> bool {
    let bytes = path.as_os_str().as_encoded_bytes();
    !bytes.is_empty()
        && !bytes.ends_with(b"/")
        && bytes
            .split(|&b| b == b'/')
            .enumerate()
            .all(|(i, part)| (i == 0 || !part.is_empty()) && part != b"." && part != b"..")
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
    // the common case, a normal path inside a normal base, without a walk
    if is_normal(path) && is_normal(base) {
        let rest = path
            .as_os_str()
            .as_encoded_bytes()
            .strip_prefix(base.as_os_str().as_encoded_bytes())
            .and_then(|r| r.strip_prefix(b"/"));
        if let Some(rest) = rest {
            return String::from_utf8_lossy(rest).replace('\\', "/");
        }
    }
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

    #[test]
    fn the_byte_scan_agrees_with_the_walk_over_components() {
        let walk = |p: &Path| {
            let mut out = PathBuf::new();
            for c in p.components() {
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
        };
        for p in [
            "/a/b.json",
            "a/b",
            "a",
            "/",
            "//a",
            "/a//b",
            "a/",
            "./a",
            "a/.",
            "a/./b",
            "a/..",
            "../a",
            "/a/b/../../..",
            ".hidden/.x",
            "a/..b/c.",
            "",
            ".",
            "..",
        ] {
            assert_eq!(normalize(Path::new(p)), walk(Path::new(p)), "{p:?}");
        }
        let slow = |path: &Path, base: &Path| {
            portable(
                &PathBuf::from("/.").join(path),
                &PathBuf::from("/.").join(base),
            )
        };
        for (p, base) in [
            ("/x/t/qa.json", "/x"),
            ("/x/t/qa.json", "/x/t"),
            ("/xy/t.json", "/x"),
            ("/x/a\\b.json", "/x"),
            ("/x", "/x"),
            ("/x/t", "/x/t/u"),
        ] {
            let (p, base) = (Path::new(p), Path::new(base));
            assert_eq!(portable(p, base), slow(p, base), "{p:?} in {base:?}");
        }
    }
}
