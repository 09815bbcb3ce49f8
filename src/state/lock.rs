//! One OS lock per target (`flock` on `<state dir>/lock`): exclusive for a command
//! that writes, shared for one that only reads, so that readers never see a write
//! half done and never block each other. It dies with its process, `kill -9`
//! included, so a crashed run never leaves the target "stuck". A writer names
//! itself in the file so that a second command can say who it waits for; a reader
//! writes nothing, and where it cannot open the lock file (a directory it may read
//! but not write, with no lock file yet) it reads without one.

use super::StateError;
use std::fs::TryLockError;
use std::io::{Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

pub const LOCK_FILE: &str = "lock";

/// A held lock; released on drop. `None` inside: a reader that found no lock file.
#[derive(Debug)]
pub struct Lock {
    _file: Option<std::fs::File>,
}

/// Who holds a lock, as its holder wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub pid: String,
    pub host: String,
    pub command: String,
    pub since: String,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pid {} on {} (`{}`, since {})",
            self.pid, self.host, self.command, self.since
        )
    }
}

/// Shared for readers, exclusive for writers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    Shared,
    Exclusive,
}

/// Takes the lock in `dir` (which must exist), waiting up to `timeout`.
pub fn acquire(
    dir: &Path,
    command: &str,
    timeout: Duration,
    mode: LockMode,
) -> Result<Lock, StateError> {
    let path = dir.join(LOCK_FILE);
    super::refuse_link(&path)?;
    let mut options = std::fs::OpenOptions::new();
    // not through a link, and not waiting on a named pipe planted there
    options
        .read(true)
        .custom_flags(crate::system::no_follow_no_wait());
    if mode == LockMode::Exclusive {
        options.write(true).create(true).truncate(false).mode(0o644);
    }
    let mut file = match options.open(&path) {
        Ok(f) => f,
        Err(e)
            if mode == LockMode::Shared
                && matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied
                ) =>
        {
            return Ok(Lock { _file: None });
        }
        Err(e) => return Err(super::open_error(e, &path)),
    };
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(StateError::NotAFile(path));
    }
    if mode == LockMode::Exclusive {
        // its holder line is written in place
        super::refuse_hard_link(&path, &meta)?;
    }
    let start = Instant::now();
    loop {
        let tried = match mode {
            LockMode::Shared => file.try_lock_shared(),
            LockMode::Exclusive => file.try_lock(),
        };
        match tried {
            Ok(()) => break,
            Err(TryLockError::WouldBlock) => {
                if start.elapsed() >= timeout {
                    let holder = read_holder(&path).map(Box::new);
                    return Err(StateError::Locked {
                        path,
                        holder,
                        waited: timeout,
                    });
                }
                std::thread::sleep(
                    Duration::from_millis(50)
                        .min(timeout.saturating_sub(start.elapsed()))
                        .max(Duration::from_millis(1)),
                );
            }
            Err(TryLockError::Error(e)) => return Err(StateError::Io(e)),
        }
    }
    if mode == LockMode::Exclusive {
        let info = format!(
            "pid={}\nhost={}\ncommand={}\nsince={}\n",
            std::process::id(),
            host_name(),
            command,
            super::now_string()
        );
        let io = |e: std::io::Error| {
            StateError::Io(std::io::Error::new(
                e.kind(),
                format!("failed to write `{}`: {e}", path.display()),
            ))
        };
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        file.write_all(info.as_bytes()).map_err(io)?;
    }
    Ok(Lock { _file: Some(file) })
}

/// The holder a writer recorded, if that process still runs: a lock held by
/// readers only names nobody.
fn read_holder(path: &Path) -> Option<Holder> {
    let holder = recorded_holder(path)?;
    if holder.is_gone() {
        return None;
    }
    Some(holder)
}

/// The writer the lock file at `path` names, live or not (read without following
/// a link).
pub fn recorded_holder(path: &Path) -> Option<Holder> {
    let mut text = String::new();
    crate::system::open_no_follow(path)
        .ok()?
        .read_to_string(&mut text)
        .ok()?;
    let field = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(k).and_then(|r| r.strip_prefix('=')))
            .map(str::to_string)
    };
    Some(Holder {
        pid: field("pid")?,
        host: field("host")?,
        command: field("command")?,
        since: field("since")?,
    })
}

impl Holder {
    /// Whether the process is known to be gone: on this host, and not running
    /// (one elsewhere cannot be looked at).
    pub fn is_gone(&self) -> bool {
        let valid_pid = !self.pid.is_empty() && self.pid.bytes().all(|b| b.is_ascii_digit());
        self.host == host_name() && valid_pid && !Path::new("/proc").join(&self.pid).exists()
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown host".into())
}

/// Parses `--lock-timeout`: `30s`, `2m`, `500ms`, or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, unit) = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map_or((s, ""), |i| s.split_at(i));
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (like `30s`, `2m`, `500ms`)"))?;
    let seconds = match unit {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => {
            return Err(format!(
                "`{s}` is not a duration (like `30s`, `2m`, `500ms`)"
            ));
        }
    };
    Duration::try_from_secs_f64(seconds)
        .map_err(|_| format!("`{s}` is not a duration mpm can wait (like `30s`, `2m`, `500ms`)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_terraforms() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("5"), Ok(Duration::from_secs(5)));
        assert!(parse_duration("soon").is_err());
        // too long to represent: an error, not a panic
        assert!(parse_duration("99999999999999999999h").is_err());
    }
}
