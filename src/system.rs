//! Everything apply does to the target goes through [`System`]: the real one writes
//! atomically; [`Faulty`] fails, or dies like `kill -9`, at a chosen step, so that
//! error and crash tests are deterministic.
//!
//! Atomic and crash-safe: each file is written to a temp file in its own directory
//! (named `.mpm-tmp.<tag>.<n>`, never ending in `.md`, so Claude Code never loads
//! it), fsynced, then renamed over the target; the directory is fsynced after. The
//! fsyncs are batched: all temps (spread over threads), then all renames, then one
//! fsync per directory. A kill at any instant leaves each file old or new, never
//! torn. Nothing is ever written through a symbolic link: temps are created
//! exclusively (`O_EXCL` does not follow a link), a rename replaces a link rather
//! than what it points to, and files are opened with `O_NOFOLLOW`.

use rustix::fs::{Access, IFlags, Mode, OFlags};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

pub const DIR_MODE: u32 = 0o755;
pub const TEMP_PREFIX: &str = ".mpm-tmp.";

#[derive(Debug, Clone)]
pub struct FileWrite {
    pub path: PathBuf,
    pub content: Vec<u8>,
    pub mode: u32,
}

/// Free room on the file system that holds a directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Room {
    pub device: u64,
    pub bytes: u64,
    /// `None`: the file system does not count inodes.
    pub inodes: Option<u64>,
    pub block: u64,
}

/// The steps of writing files, each of which a [`Faulty`] system can fail.
pub trait System: Sync {
    /// Creates `path` exclusively (never over an existing file or through a link),
    /// writes `content`, sets `mode` whatever the umask, and fsyncs it.
    fn write_new(&self, path: &Path, content: &[u8], mode: u32) -> io::Result<()>;
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// Creates one directory, mode 0755 whatever the umask.
    fn create_dir(&self, dir: &Path) -> io::Result<()>;
    /// Removes an empty directory.
    fn remove_dir(&self, dir: &Path) -> io::Result<()>;
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    /// The names of the regular files in `dir` (none when it does not exist).
    fn files_in(&self, dir: &Path) -> io::Result<Vec<String>>;
    /// Whether files may be created, renamed and removed in `dir` (checked with
    /// `access(2)`, which sees a read-only mount and an immutable directory, even
    /// for root).
    fn check_dir_writable(&self, dir: &Path) -> io::Result<()>;
    /// Whether the file at `path` may be replaced or removed: an immutable or
    /// append-only file may not, whoever asks.
    fn check_replaceable(&self, path: &Path) -> io::Result<()>;
    /// The free room where `dir` is.
    fn room(&self, dir: &Path) -> io::Result<Room>;
    /// What is at `path`, and its bytes when it is a regular file: the one read of
    /// the target's files (never through a link, never waiting on a pipe).
    fn look(&self, path: &Path) -> io::Result<(crate::actual::Actual, Option<Vec<u8>>)> {
        crate::actual::read_one(path)
    }
}

/// The disk.
#[derive(Debug, Default, Clone, Copy)]
pub struct RealSystem;

impl System for RealSystem {
    fn write_new(&self, path: &Path, content: &[u8], mode: u32) -> io::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .custom_flags(no_follow())
            .open(path)?;
        file.write_all(content)?;
        file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        file.sync_all()
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }

    fn create_dir(&self, dir: &Path) -> io::Result<()> {
        std::fs::DirBuilder::new().mode(DIR_MODE).create(dir)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(DIR_MODE))
    }

    fn remove_dir(&self, dir: &Path) -> io::Result<()> {
        std::fs::remove_dir(dir)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        std::fs::File::open(dir)?.sync_all()
    }

    fn files_in(&self, dir: &Path) -> io::Result<Vec<String>> {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(with_path(e, "read directory", dir)),
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| with_path(e, "read directory", dir))?;
            if entry.file_type().is_ok_and(|t| t.is_file()) {
                names.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        Ok(names)
    }

    fn check_dir_writable(&self, dir: &Path) -> io::Result<()> {
        rustix::fs::access(dir, Access::WRITE_OK | Access::EXEC_OK)?;
        // an append-only folder takes new files but no rename over an old one
        if let Ok(fd) = rustix::fs::open(
            dir,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        ) && let Ok(flags) = rustix::fs::ioctl_getflags(&fd)
            && flags.intersects(IFlags::APPEND | IFlags::IMMUTABLE)
        {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "it is append-only or immutable (`chattr -a` or `chattr -i` lifts it)",
            ));
        }
        Ok(())
    }

    fn check_replaceable(&self, path: &Path) -> io::Result<()> {
        let fd = match rustix::fs::open(
            path,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(rustix::io::Errno::NOENT) => return Ok(()),
            Err(e) => return Err(with_path(e.into(), "open", path)),
        };
        // file systems without attributes (tmpfs on old kernels) have none to forbid
        let Ok(flags) = rustix::fs::ioctl_getflags(&fd) else {
            return Ok(());
        };
        if flags.intersects(IFlags::IMMUTABLE | IFlags::APPEND) {
            let what = if flags.contains(IFlags::IMMUTABLE) {
                "immutable"
            } else {
                "append-only"
            };
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "`{}` is {what} (`chattr -i` or `chattr -a` lifts it)",
                    path.display()
                ),
            ));
        }
        Ok(())
    }

    fn room(&self, dir: &Path) -> io::Result<Room> {
        let stat = rustix::fs::statvfs(dir).map_err(|e| with_path(e.into(), "stat", dir))?;
        let device = fs_err::metadata(dir)?.dev();
        Ok(Room {
            device,
            bytes: stat.f_bavail.saturating_mul(stat.f_frsize),
            inodes: (stat.f_files > 0).then_some(stat.f_favail),
            block: stat.f_frsize.max(1),
        })
    }
}

/// `O_NOFOLLOW`, for `OpenOptionsExt::custom_flags`.
fn no_follow() -> i32 {
    OFlags::NOFOLLOW.bits() as i32
}

/// `O_NOFOLLOW | O_NONBLOCK`: not through a link at the last component, and not
/// waiting on a named pipe planted there.
pub fn no_follow_no_wait() -> i32 {
    (OFlags::NOFOLLOW | OFlags::NONBLOCK).bits() as i32
}

/// Opens an existing file for reading without following a link at its last
/// component (the state log's packs and lock).
pub fn open_no_follow(path: &Path) -> io::Result<std::fs::File> {
    open_sized_no_follow(path).map(|(file, _)| file)
}

/// [`open_no_follow`], and the file's size.
fn open_sized_no_follow(path: &Path) -> io::Result<(std::fs::File, u64)> {
    // non-blocking, so that a named pipe planted there cannot hang the command
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(no_follow_no_wait())
        .open(path)
        .map_err(|e| link_or(e, path, "open"))?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("`{}` is not a regular file", path.display()),
        ));
    }
    Ok((file, meta.len()))
}

/// The bytes of an existing regular file, read without following a link at its
/// last component nor waiting on a named pipe.
pub fn read_no_follow(path: &Path) -> io::Result<Vec<u8>> {
    let (mut file, len) = open_sized_no_follow(path)?;
    read_sized(&mut file, len)
}

/// The whole of a file whose size was just seen to be `len`. When that size is
/// still right this is one `read` (std's `read_to_end` asks for the size again,
/// and its position, and reads once more to see the end: for thousands of small
/// files those calls were a third of a plan's reading); a file that changed size
/// since is read to its end.
pub fn read_sized(file: &mut impl io::Read, len: u64) -> io::Result<Vec<u8>> {
    let len = usize::try_from(len).unwrap_or(0);
    let mut bytes = vec![0; len + 1];
    let mut filled = 0;
    loop {
        let n = match file.read(&mut bytes[filled..]) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        filled += n;
        // a short read that gave exactly the size seen is the end of the file
        if n == 0 || (filled == len && n > 0) {
            break;
        }
        if filled == bytes.len() {
            bytes.resize(bytes.len() * 2, 0);
        }
    }
    bytes.truncate(filled);
    Ok(bytes)
}

/// The error of an open that met a symbolic link names the link.
pub fn link_or(e: io::Error, path: &Path, what: &str) -> io::Error {
    if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "`{}` is a symbolic link; mpm never writes or reads through one there",
                path.display()
            ),
        )
    } else {
        with_path(e, what, path)
    }
}

fn with_path(e: io::Error, what: &str, path: &Path) -> io::Error {
    io::Error::new(
        e.kind(),
        format!("failed to {what} `{}`: {e}", path.display()),
    )
}

/// What [`commit_files`] has done so far: on an error, what to undo.
#[derive(Debug, Default)]
pub struct Progress {
    /// Directories it created, parents first.
    pub created_dirs: Vec<PathBuf>,
    /// Files it replaced or created, in order.
    pub replaced: Vec<PathBuf>,
    pub removed: Vec<PathBuf>,
}

/// The names of one run's temp files: `.mpm-tmp.<tag>.<n>`, numbered across all
/// its batches, so that only this run's are ever removed.
#[derive(Debug)]
pub struct Temps {
    tag: String,
    next: usize,
}

impl Temps {
    pub fn new(tag: String) -> Self {
        Temps { tag, next: 0 }
    }

    fn next_names(&mut self, n: usize) -> Vec<String> {
        let names = (self.next..self.next + n)
            .map(|i| temp_name(&self.tag, i))
            .collect();
        self.next += n;
        names
    }
}

/// Writes every file atomically and removes `removals`; parents are created.
/// On an error, this batch's temps are gone and `progress` says what had been
/// done.
pub fn commit_files(
    system: &dyn System,
    writes: &[FileWrite],
    removals: &[PathBuf],
    temps: &mut Temps,
    progress: &mut Progress,
) -> io::Result<()> {
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
        create_dirs(system, dir, &mut progress.created_dirs)?;
    }
    let temps = write_temps(system, writes, temps.next_names(writes.len()))?;
    for (i, (temp, write)) in temps.iter().zip(writes).enumerate() {
        if let Err(e) = system.rename(temp, &write.path) {
            for t in &temps[i..] {
                let _ = system.remove_file(t);
            }
            return Err(with_path(e, "replace", &write.path));
        }
        progress.replaced.push(write.path.clone());
    }
    for path in removals {
        match system.remove_file(path) {
            Ok(()) => progress.removed.push(path.clone()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(with_path(e, "remove", path)),
        }
    }
    for dir in &dirs {
        system
            .sync_dir(dir)
            .map_err(|e| with_path(e, "fsync the directory", dir))?;
    }
    Ok(())
}

/// Creates `dir` and its missing parents, recording those it created.
pub fn create_dirs(system: &dyn System, dir: &Path, created: &mut Vec<PathBuf>) -> io::Result<()> {
    let missing: Vec<&Path> = dir
        .ancestors()
        .take_while(|d| fs_err::symlink_metadata(d).is_err())
        .collect();
    for d in missing.into_iter().rev() {
        match system.create_dir(d) {
            Ok(()) => created.push(d.to_path_buf()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(with_path(e, "create the directory", d)),
        }
    }
    Ok(())
}

/// Writes one file atomically, mode 0644, creating its parents (saved plans,
/// `mpm init`); bytes given owned are not copied.
pub fn write_file_atomically(path: &Path, content: impl Into<Vec<u8>>) -> io::Result<()> {
    let write = FileWrite {
        path: path.to_path_buf(),
        content: content.into(),
        mode: 0o644,
    };
    let mut temps = Temps::new(std::process::id().to_string());
    commit_files(
        &RealSystem,
        &[write],
        &[],
        &mut temps,
        &mut Progress::default(),
    )
}

/// The temp file names of a run tagged `tag`.
pub fn temp_name(tag: &str, n: usize) -> String {
    format!("{TEMP_PREFIX}{tag}.{n}")
}

/// Whether the file at `path` is one of mpm's temp files (of any run).
fn is_a_temp(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with(TEMP_PREFIX))
}

/// Whether `name` is a temp file of the run tagged `tag`.
pub fn is_temp_of(name: &str, tag: &str) -> bool {
    name.strip_prefix(TEMP_PREFIX)
        .and_then(|rest| rest.strip_prefix(tag))
        .and_then(|rest| rest.strip_prefix('.'))
        .is_some_and(all_digits)
}

/// Whether `name` has the form of the temp files of mpm 0.1's first state format
/// 2 releases, `.mpm-tmp.<pid>.<n>`, which their generations did not record.
pub fn is_old_style_temp(name: &str) -> bool {
    name.strip_prefix(TEMP_PREFIX)
        .and_then(|rest| rest.split_once('.'))
        .is_some_and(|(pid, n)| all_digits(pid) && all_digits(n))
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Writes and fsyncs every temp file, on a few threads. On error, removes the
/// temps already written and touches nothing else.
fn write_temps(
    system: &dyn System,
    writes: &[FileWrite],
    names: Vec<String>,
) -> io::Result<Vec<PathBuf>> {
    let temps: Vec<PathBuf> = writes
        .iter()
        .zip(names)
        .map(|(w, name)| w.path.with_file_name(name))
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
                scope.spawn(move || {
                    ws.iter().zip(ts).try_for_each(|(w, t)| {
                        system
                            .write_new(t, &w.content, w.mode)
                            .map_err(|e| with_path(e, "write", &w.path))
                    })
                })
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
            let _ = system.remove_file(t);
        }
        return Err(e);
    }
    Ok(temps)
}

/// One step of writing files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Write,
    Rename,
    Remove,
    CreateDir,
    SyncDir,
    /// A read of a file of the target (a scan, the check that nothing moved).
    Read,
}

/// A system that changes nothing: reads and checks go to the system it wraps, and
/// every write, rename, removal and directory it would make is only counted
/// (`apply --dry-run`, `rollback --dry-run`: the apply itself, short of the disk).
pub struct Recording<'a> {
    inner: &'a dyn System,
    done: std::sync::Mutex<Recorded>,
}

/// What a [`Recording`] system was asked to do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recorded {
    /// Files that would be written (created or replaced).
    pub written: Vec<PathBuf>,
    /// Files that would be removed.
    pub removed: Vec<PathBuf>,
    pub dirs: Vec<PathBuf>,
}

impl<'a> Recording<'a> {
    pub fn new(inner: &'a dyn System) -> Self {
        Recording {
            inner,
            done: Default::default(),
        }
    }

    pub fn recorded(&self) -> Recorded {
        self.done.lock().map(|d| d.clone()).unwrap_or_default()
    }

    fn note(&self, f: impl FnOnce(&mut Recorded)) {
        if let Ok(mut done) = self.done.lock() {
            f(&mut done);
        }
    }
}

impl System for Recording<'_> {
    fn write_new(&self, _path: &Path, _content: &[u8], _mode: u32) -> io::Result<()> {
        Ok(())
    }

    fn rename(&self, _from: &Path, to: &Path) -> io::Result<()> {
        self.note(|d| d.written.push(to.to_path_buf()));
        Ok(())
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        if !is_a_temp(path) {
            self.note(|d| d.removed.push(path.to_path_buf()));
        }
        Ok(())
    }

    fn create_dir(&self, dir: &Path) -> io::Result<()> {
        self.note(|d| {
            if !d.dirs.iter().any(|x| x == dir) {
                d.dirs.push(dir.to_path_buf());
            }
        });
        Ok(())
    }

    fn remove_dir(&self, _dir: &Path) -> io::Result<()> {
        Ok(())
    }

    fn sync_dir(&self, _dir: &Path) -> io::Result<()> {
        Ok(())
    }

    fn files_in(&self, dir: &Path) -> io::Result<Vec<String>> {
        self.inner.files_in(dir)
    }

    fn check_dir_writable(&self, dir: &Path) -> io::Result<()> {
        self.inner.check_dir_writable(dir)
    }

    fn check_replaceable(&self, path: &Path) -> io::Result<()> {
        self.inner.check_replaceable(path)
    }

    fn room(&self, dir: &Path) -> io::Result<Room> {
        self.inner.room(dir)
    }

    fn look(&self, path: &Path) -> io::Result<(crate::actual::Actual, Option<Vec<u8>>)> {
        self.inner.look(path)
    }
}

/// Where a [`Faulty`] system fails: the `at`-th call (1-based) of `step`, with the
/// error the disk would give there, or by aborting the process (a `kill -9` at
/// exactly that instant).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    pub step: Step,
    pub at: usize,
    pub abort: bool,
}

impl Fault {
    /// `write:3`, `rename:1:abort`, `sync:1`, `remove:2`, `mkdir:1`.
    pub fn parse(s: &str) -> Result<Fault, String> {
        let mut parts = s.split(':');
        let step = match parts.next() {
            Some("write") => Step::Write,
            Some("rename") => Step::Rename,
            Some("remove") => Step::Remove,
            Some("mkdir") => Step::CreateDir,
            Some("sync") => Step::SyncDir,
            Some("read") => Step::Read,
            _ => {
                return Err(format!(
                    "`{s}`: the step is write, rename, remove, mkdir, sync or read"
                ));
            }
        };
        let at = parts
            .next()
            .and_then(|n| n.parse().ok())
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("`{s}`: give the call to fail, from 1"))?;
        let abort = match parts.next() {
            None => false,
            Some("abort") => true,
            Some(other) => return Err(format!("`{s}`: `{other}` is not `abort`")),
        };
        Ok(Fault { step, at, abort })
    }

    fn error(&self) -> io::Error {
        io::Error::from(match self.step {
            Step::Write => rustix::io::Errno::NOSPC,
            Step::Rename | Step::Remove => rustix::io::Errno::PERM,
            Step::CreateDir => rustix::io::Errno::ACCESS,
            Step::SyncDir | Step::Read => rustix::io::Errno::IO,
        })
    }
}

/// A system that does what `inner` does, but fails at one step (tests).
#[derive(Debug)]
pub struct Faulty<S> {
    inner: S,
    fault: Fault,
    calls: AtomicUsize,
}

impl<S: System> Faulty<S> {
    pub fn new(inner: S, fault: Fault) -> Self {
        Faulty {
            inner,
            fault,
            calls: AtomicUsize::new(0),
        }
    }

    fn step(&self, step: Step) -> io::Result<()> {
        if step != self.fault.step {
            return Ok(());
        }
        if self.calls.fetch_add(1, Ordering::SeqCst) + 1 != self.fault.at {
            return Ok(());
        }
        if self.fault.abort {
            std::process::abort();
        }
        Err(self.fault.error())
    }
}

impl<S: System> System for Faulty<S> {
    fn write_new(&self, path: &Path, content: &[u8], mode: u32) -> io::Result<()> {
        self.step(Step::Write)?;
        self.inner.write_new(path, content, mode)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.step(Step::Rename)?;
        self.inner.rename(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        // removing a temp is cleanup, not a step that can be made to fail
        if !is_a_temp(path) {
            self.step(Step::Remove)?;
        }
        self.inner.remove_file(path)
    }

    fn create_dir(&self, dir: &Path) -> io::Result<()> {
        self.step(Step::CreateDir)?;
        self.inner.create_dir(dir)
    }

    fn remove_dir(&self, dir: &Path) -> io::Result<()> {
        self.inner.remove_dir(dir)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.step(Step::SyncDir)?;
        self.inner.sync_dir(dir)
    }

    fn files_in(&self, dir: &Path) -> io::Result<Vec<String>> {
        self.inner.files_in(dir)
    }

    fn check_dir_writable(&self, dir: &Path) -> io::Result<()> {
        self.inner.check_dir_writable(dir)
    }

    fn check_replaceable(&self, path: &Path) -> io::Result<()> {
        self.inner.check_replaceable(path)
    }

    fn room(&self, dir: &Path) -> io::Result<Room> {
        self.inner.room(dir)
    }

    fn look(&self, path: &Path) -> io::Result<(crate::actual::Actual, Option<Vec<u8>>)> {
        self.step(Step::Read)
            .map_err(|e| with_path(e, "read", path))?;
        self.inner.look(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(path: &Path, text: &str) -> FileWrite {
        FileWrite {
            path: path.to_path_buf(),
            content: text.as_bytes().to_vec(),
            mode: 0o644,
        }
    }

    #[test]
    fn writes_atomically_with_modes_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agents/a.md");
        let mut progress = Progress::default();
        let mut temps = Temps::new("t".into());
        commit_files(
            &RealSystem,
            &[one(&path, "hello")],
            &[],
            &mut temps,
            &mut progress,
        )
        .unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"hello");
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o644);
        assert_eq!(
            std::fs::metadata(dir.path().join("agents")).unwrap().mode() & 0o777,
            0o755
        );
        assert_eq!(progress.created_dirs, vec![dir.path().join("agents")]);
        let names: Vec<_> = std::fs::read_dir(dir.path().join("agents"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("a.md")]);
        commit_files(
            &RealSystem,
            &[],
            std::slice::from_ref(&path),
            &mut temps,
            &mut progress,
        )
        .unwrap();
        assert!(!path.exists());
    }

    #[test]
    fn a_failed_rename_says_what_was_replaced_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.md"), dir.path().join("b.md"));
        let faulty = Faulty::new(RealSystem, Fault::parse("rename:2").unwrap());
        let mut progress = Progress::default();
        let err = commit_files(
            &faulty,
            &[one(&a, "a"), one(&b, "b")],
            &[],
            &mut Temps::new("t".into()),
            &mut progress,
        )
        .unwrap_err();
        assert!(err.to_string().contains("Operation not permitted"), "{err}");
        assert_eq!(progress.replaced, vec![a.clone()]);
        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, vec!["a.md"]);
    }

    #[test]
    fn temps_are_told_apart_by_their_run_tag() {
        assert!(is_temp_of(".mpm-tmp.g3-ab12.0", "g3-ab12"));
        assert!(is_temp_of(&temp_name("g3-ab12", 17), "g3-ab12"));
        assert!(!is_temp_of(".mpm-tmp.notes", "g3-ab12"));
        assert!(!is_temp_of(".mpm-tmp.g3-ab12.", "g3-ab12"));
        assert!(!is_temp_of(".mpm-tmp.g3-ab12.x", "g3-ab12"));
        assert!(!is_temp_of(".mpm-tmp.g4-ab12.0", "g3-ab12"));
        assert!(is_old_style_temp(".mpm-tmp.4711.3"));
        assert!(!is_old_style_temp(".mpm-tmp.notes"));
    }

    #[test]
    fn faults_parse() {
        assert_eq!(
            Fault::parse("rename:3:abort"),
            Ok(Fault {
                step: Step::Rename,
                at: 3,
                abort: true
            })
        );
        assert!(Fault::parse("write:0").is_err());
        assert!(Fault::parse("eat:1").is_err());
    }
}
