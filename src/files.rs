//! Where the files a desired state is built from are read: the manifest, templates,
//! base templates, `BASE_*.md` files and ready agent files. Usually the disk; for
//! `mpm diff REF`, a git tree as it was at `REF` ([`crate::git::revision`]), so that
//! the same code renders both sides of a pull request.

use std::io;
use std::path::Path;

/// A read-only view of files by absolute path.
pub trait Files {
    /// The bytes of the file at `path`, or `None` when there is no file there.
    fn read(&self, path: &Path) -> io::Result<Option<Vec<u8>>>;

    /// Whether a file (not a directory) is at `path`.
    fn is_file(&self, path: &Path) -> bool;

    /// The bytes of a file that must be there; its absence is an error naming it.
    fn read_existing(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.read(path)?.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("`{}` not found", self.display(path, Path::new(""))),
            )
        })
    }

    /// `path` as messages name it, relative to `cwd` where that reads better.
    fn display(&self, path: &Path, cwd: &Path) -> String {
        crate::paths::display(path, cwd)
    }
}

/// The files on disk, as every command but `diff` reads them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Disk;

impl Files for Disk {
    fn read(&self, path: &Path) -> io::Result<Option<Vec<u8>>> {
        match read(path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn is_file(&self, path: &Path) -> bool {
        path.is_file()
    }

    // fs-err's own error, which names the path, as before this trait existed
    fn read_existing(&self, path: &Path) -> io::Result<Vec<u8>> {
        read(path)
    }
}

/// `fs_err::read` (its errors name the path) with one `read` call for a file
/// whose size does not change under it.
fn read(path: &Path) -> io::Result<Vec<u8>> {
    let mut file = fs_err::File::open(path)?;
    let len = file.metadata()?.len();
    crate::system::read_sized(&mut file, len)
}
