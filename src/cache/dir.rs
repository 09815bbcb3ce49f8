//! The cache's folders, each opened once and used through its descriptor
//! (`openat`, `renameat`, `unlinkat`), never by a path built again: a link planted
//! as a folder is refused, one planted as an entry is never followed, and a write
//! is a temp file beside its entry renamed over it, so that no reader sees part of
//! one.

use super::CacheError;
use rustix::fs::{self as rfs, AtFlags, Mode, OFlags};
use rustix::io::Errno;
use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// How every temp file's name starts: `.tmp-<pid>-<random>`, unique to its process
/// and write, so that two processes never write the same temp.
pub const TEMP_PREFIX: &str = ".tmp-";

/// An open folder of the cache.
#[derive(Debug)]
pub struct Dir {
    fd: OwnedFd,
    /// For messages only.
    path: PathBuf,
}

/// What [`Dir::remove_tree`] removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Removed {
    /// Regular files but temps.
    pub entries: u64,
    pub bytes: u64,
    pub temps: u64,
}

/// A regular file of the cache, open for reading.
#[derive(Debug)]
pub struct Opened {
    pub file: std::fs::File,
    pub meta: std::fs::Metadata,
}

impl Opened {
    /// Its bytes, from the start.
    pub fn read_all(&mut self) -> std::io::Result<Vec<u8>> {
        crate::system::read_sized(&mut self.file, self.meta.len())
    }
}

const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

/// Whether opening with `O_NOFOLLOW` met a link (Linux says `ELOOP`; some systems
/// `EMLINK` or, with `O_DIRECTORY`, `ENOTDIR`).
fn is_link_error(e: Errno) -> bool {
    e == Errno::LOOP || e == Errno::MLINK
}

impl Dir {
    /// Opens `path` itself; `None` when there is nothing there. A link there is
    /// refused (the folders above it are the user's business).
    pub fn open_root(path: &Path) -> Result<Option<Dir>, CacheError> {
        match rfs::open(path, DIR_FLAGS, Mode::empty()) {
            Ok(fd) => Ok(Some(Dir {
                fd,
                path: path.to_path_buf(),
            })),
            Err(Errno::NOENT) => Ok(None),
            Err(e) if is_link_error(e) || is_symlink(path) => {
                Err(CacheError::RootLink(path.to_path_buf()))
            }
            Err(Errno::NOTDIR) => Err(CacheError::NotADirectory(path.to_path_buf())),
            Err(e) => Err(CacheError::io("open", path.to_path_buf(), e.into())),
        }
    }

    /// Creates the folder `path` (mode 0700: what registries served may be
    /// private) and its missing parents, and opens it.
    pub fn create_root(path: &Path) -> Result<Dir, CacheError> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| CacheError::io("create the directory", parent.to_path_buf(), e))?;
        }
        match rfs::mkdir(path, Mode::from_raw_mode(0o700)) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => {
                return Err(CacheError::io(
                    "create the directory",
                    path.to_path_buf(),
                    e.into(),
                ));
            }
        }
        Dir::open_root(path)?.ok_or_else(|| {
            CacheError::io(
                "open",
                path.to_path_buf(),
                std::io::ErrorKind::NotFound.into(),
            )
        })
    }

    /// The same folder, through a descriptor of its own.
    pub fn try_clone(&self) -> Result<Dir, CacheError> {
        Ok(Dir {
            fd: self
                .fd
                .try_clone()
                .map_err(|e| CacheError::io("open", self.path.clone(), e))?,
            path: self.path.clone(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn child(&self, name: impl AsRef<OsStr>) -> PathBuf {
        self.path.join(name.as_ref())
    }

    /// The folder `name` in this one; `None` when there is none.
    pub fn sub(&self, name: impl AsRef<OsStr>) -> Result<Option<Dir>, CacheError> {
        let name = name.as_ref();
        match rfs::openat(&self.fd, name, DIR_FLAGS, Mode::empty()) {
            Ok(fd) => Ok(Some(Dir {
                fd,
                path: self.child(name),
            })),
            Err(Errno::NOENT) => Ok(None),
            Err(e) if is_link_error(e) || self.is_link(name) => {
                Err(CacheError::Link(self.child(name)))
            }
            Err(Errno::NOTDIR) => Err(CacheError::NotADirectory(self.child(name))),
            Err(e) => Err(CacheError::io("open", self.child(name), e.into())),
        }
    }

    /// The folder `name` in this one, made when missing.
    pub fn sub_created(&self, name: impl AsRef<OsStr>) -> Result<Dir, CacheError> {
        let name = name.as_ref();
        if let Some(dir) = self.sub(name)? {
            return Ok(dir);
        }
        match rfs::mkdirat(&self.fd, name, Mode::from_raw_mode(0o755)) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => {
                return Err(CacheError::io(
                    "create the directory",
                    self.child(name),
                    e.into(),
                ));
            }
        }
        self.sub(name)?
            .ok_or_else(|| CacheError::NotADirectory(self.child(name)))
    }

    fn is_link(&self, name: &OsStr) -> bool {
        is_symlink(&self.child(name))
    }

    /// The regular file `name`, open for reading; `None` when there is none, or
    /// what is there is a link or not a regular file (never followed, never read).
    pub fn open_file(&self, name: impl AsRef<OsStr>) -> Result<Option<Opened>, CacheError> {
        let name = name.as_ref();
        // non-blocking: a named pipe planted there cannot hang the command
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
        let fd = match rfs::openat(&self.fd, name, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => return Ok(None),
            Err(e) if is_link_error(e) => return Ok(None),
            Err(e) => return Err(CacheError::io("open", self.child(name), e.into())),
        };
        let file = std::fs::File::from(fd);
        let meta = file
            .metadata()
            .map_err(|e| CacheError::io("read", self.child(name), e))?;
        if !meta.is_file() {
            return Ok(None);
        }
        Ok(Some(Opened { file, meta }))
    }

    /// The bytes of the regular file `name` (see [`Dir::open_file`]).
    pub fn read(&self, name: impl AsRef<OsStr>) -> Result<Option<Vec<u8>>, CacheError> {
        let name = name.as_ref();
        match self.open_file(name)? {
            Some(mut opened) => opened
                .read_all()
                .map(Some)
                .map_err(|e| CacheError::io("read", self.child(name), e)),
            None => Ok(None),
        }
    }

    /// Replaces `name` with `bytes`: a temp file of this process beside it, renamed
    /// over it. A link at `name` is replaced, never written through.
    pub fn write(&self, name: impl AsRef<OsStr>, bytes: &[u8]) -> Result<(), CacheError> {
        let name = name.as_ref();
        let temp = temp_name();
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rfs::openat(&self.fd, &temp, flags, Mode::from_raw_mode(0o644))
            .map_err(|e| CacheError::io("create", self.child(&temp), e.into()))?;
        let mut file = std::fs::File::from(fd);
        // no fsync: every entry is checked against its digest when it is read, so a
        // crash that leaves an entry short costs a download, not a wrong byte
        let written = file
            .write_all(bytes)
            .map_err(|e| CacheError::io("write", self.child(&temp), e))
            .and_then(|()| {
                rfs::renameat(&self.fd, &temp, &self.fd, name)
                    .map_err(|e| CacheError::io("replace", self.child(name), e.into()))
            });
        if written.is_err() {
            let _ = rfs::unlinkat(&self.fd, &temp, AtFlags::empty());
        }
        written
    }

    /// Removes the file (or link) `name`; whether there was one.
    pub fn remove(&self, name: impl AsRef<OsStr>) -> Result<bool, CacheError> {
        let name = name.as_ref();
        match rfs::unlinkat(&self.fd, name, AtFlags::empty()) {
            Ok(()) => Ok(true),
            Err(Errno::NOENT) => Ok(false),
            Err(e) => Err(CacheError::io("remove", self.child(name), e.into())),
        }
    }

    /// Removes `name` if it is still the file `seen` (not one another process
    /// renamed there since).
    pub fn remove_if_same(
        &self,
        name: impl AsRef<OsStr>,
        seen: &std::fs::Metadata,
    ) -> Result<(), CacheError> {
        let name = name.as_ref();
        if let Some(now) = self.open_file(name)?
            && now.meta.ino() == seen.ino()
            && now.meta.dev() == seen.dev()
        {
            self.remove(name)?;
        }
        Ok(())
    }

    /// The names in this folder (not `.` and `..`), in no particular order.
    pub fn names(&self) -> Result<Vec<OsString>, CacheError> {
        let io = |e: Errno| CacheError::io("list", self.path.clone(), e.into());
        let mut names = Vec::new();
        for entry in rfs::Dir::read_from(&self.fd).map_err(io)? {
            let entry = entry.map_err(io)?;
            let name = OsStr::from_bytes(entry.file_name().to_bytes());
            if name != "." && name != ".." {
                names.push(name.to_os_string());
            }
        }
        Ok(names)
    }

    /// Removes `name` and, when it is a folder, everything in it, never following a
    /// link (a link is removed itself); what it removed.
    pub fn remove_tree(&self, name: impl AsRef<OsStr>) -> Result<Removed, CacheError> {
        let name = name.as_ref();
        let sub = match rfs::openat(&self.fd, name, DIR_FLAGS, Mode::empty()) {
            Ok(fd) => Dir {
                fd,
                path: self.child(name),
            },
            Err(Errno::NOENT) => return Ok(Removed::default()),
            // a file, or a link to anything: itself
            Err(e) if is_link_error(e) || e == Errno::NOTDIR => {
                let mut removed = Removed::default();
                let size = self.open_file(name)?.map(|o| o.meta.len());
                if self.remove(name)? {
                    match size {
                        Some(_) if is_temp(name) => removed.temps += 1,
                        Some(bytes) => {
                            removed.entries += 1;
                            removed.bytes += bytes;
                        }
                        // a link, or not a regular file: nothing of the cache's
                        None => {}
                    }
                }
                return Ok(removed);
            }
            Err(e) => return Err(CacheError::io("open", self.child(name), e.into())),
        };
        let mut removed = Removed::default();
        for inner in sub.names()? {
            let r = sub.remove_tree(&inner)?;
            removed.entries += r.entries;
            removed.bytes += r.bytes;
            removed.temps += r.temps;
        }
        match rfs::unlinkat(&self.fd, name, AtFlags::REMOVEDIR) {
            Ok(()) | Err(Errno::NOENT) => Ok(removed),
            Err(e) => Err(CacheError::io("remove", self.child(name), e.into())),
        }
    }

    /// The file `name` open for reading and writing, made when missing (mode
    /// 0600), never through a link: the lock file.
    pub fn open_lock_file(&self, name: &str) -> Result<std::fs::File, CacheError> {
        let flags = OFlags::RDWR | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        match rfs::openat(&self.fd, name, flags, Mode::from_raw_mode(0o600)) {
            Ok(fd) => Ok(std::fs::File::from(fd)),
            Err(e) if is_link_error(e) => Err(CacheError::Link(self.child(OsStr::new(name)))),
            Err(e) => Err(CacheError::io(
                "open",
                self.child(OsStr::new(name)),
                e.into(),
            )),
        }
    }
}

fn is_symlink(path: &Path) -> bool {
    path.symlink_metadata()
        .is_ok_and(|m| m.file_type().is_symlink())
}

/// A name no other process and no other write of this one uses.
fn temp_name() -> String {
    let mut random = [0u8; 8];
    let fill = rustix::rand::getrandom(&mut random, rustix::rand::GetRandomFlags::empty());
    let random = match fill {
        Ok(8) => u64::from_le_bytes(random),
        // no randomness to be had: a counter keeps this process's names apart
        _ => {
            static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        }
    };
    format!("{TEMP_PREFIX}{}-{random:016x}", std::process::id())
}

/// Whether `name` is a temp file's.
pub fn is_temp(name: &OsStr) -> bool {
    name.as_bytes().starts_with(TEMP_PREFIX.as_bytes())
}

/// Reads the first line of `opened`, up to `limit` bytes, without reading on.
pub fn first_line(opened: &mut Opened, limit: u64) -> std::io::Result<Vec<u8>> {
    let mut line = Vec::new();
    let mut reader = std::io::BufReader::new((&opened.file).take(limit));
    std::io::BufRead::read_until(&mut reader, b'\n', &mut line)?;
    Ok(line)
}
