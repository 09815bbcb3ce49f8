//! One exclusive OS lock per target (`flock` on `<state dir>/lock`). It dies with its
//! process, `kill -9` included, so a crashed run never leaves the target "stuck".
//! The file names the holder so that a second command can say who it waits for.

use super::StateError;
use std::fs::TryLockError;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub const LOCK_FILE: &str = "lock";

/// A held lock; released on drop.
#[derive(Debug)]
pub struct Lock {
    _file: fs_err::File,
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

/// Takes the lock in `dir` (created if `create`), waiting up to `timeout`.
/// Returns `Ok(None)` when `dir` does not exist and `create` is false.
pub fn acquire(
    dir: &Path,
    command: &str,
    timeout: Duration,
    create: bool,
) -> Result<Option<Lock>, StateError> {
    if !dir.is_dir() {
        if !create {
            return Ok(None);
        }
        super::create_state_dir(dir)?;
    }
    let path = dir.join(LOCK_FILE);
    let mut file = fs_err::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)?;
    let start = Instant::now();
    loop {
        match file.file().try_lock() {
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
    let info = format!(
        "pid={}\nhost={}\ncommand={}\nsince={}\n",
        std::process::id(),
        host_name(),
        command,
        super::now_string()
    );
    file.set_len(0)?;
    file.rewind()?;
    file.write_all(info.as_bytes())?;
    Ok(Some(Lock { _file: file }))
}

fn read_holder(path: &PathBuf) -> Option<Holder> {
    let mut text = String::new();
    std::fs::File::open(path)
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
