//! Waiting for the next plan of `mpm watch`: the directories of the files of
//! [`Interest`] watched through `notify` (inotify on Linux), their events
//! filtered to those files and gathered into bursts ([`Debounce`]), and SIGINT
//! and SIGTERM turned into one more event ([`signals`]), so that a stop request
//! is taken between two plans, never in the middle of one. What runs between two
//! waits (the plan) is the command's.

mod debounce;
mod interest;
mod signals;

pub use debounce::Debounce;
pub use interest::Interest;

use crate::diagnose::Diagnose;
use notify::Watcher as _;
use notify::event::{AccessKind, AccessMode, EventKind};
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("cannot watch for changes: {cause}")]
    Start { cause: String },
    #[error("cannot watch `{dir}` for changes: {cause}")]
    Dir { dir: String, cause: String },
}

impl Diagnose for WatchError {
    fn hint(&self) -> Option<String> {
        Some(match self {
            WatchError::Start { .. } => "on Linux each watching program takes one inotify instance: stop one, or raise `fs.inotify.max_user_instances` (sysctl)".into(),
            WatchError::Dir { .. } => "`mpm watch` watches the directory of each file a plan reads; on Linux their number is limited by `fs.inotify.max_user_watches` (sysctl)".into(),
        })
    }
}

/// What ends a wait, as the threads that see it send it.
#[derive(Debug)]
enum Event {
    /// Something happened to these paths.
    Paths(Vec<PathBuf>),
    /// The watch lost events (a full queue): anything may have changed.
    Rescan,
    /// The watch reported a problem.
    Failed(String),
    /// SIGINT or SIGTERM.
    Stop,
}

impl Event {
    /// The event a notification is, if it can say a file changed.
    fn of(notification: notify::Result<notify::Event>) -> Option<Event> {
        match notification {
            Ok(e) if e.need_rescan() => Some(Event::Rescan),
            Ok(e) if may_change(&e.kind) => Some(Event::Paths(e.paths)),
            Ok(_) => None,
            Err(e) => Some(Event::Failed(e.to_string())),
        }
    }
}

/// Whether an event of this kind may have changed a file's bytes. Opening and
/// reading do not: a plan reads every file it watches, and would set off the next.
fn may_change(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
    }
}

/// Why a wait ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// A burst of changes is over: these files changed (none named: the watch lost
    /// track, anything may have).
    Changed(Vec<PathBuf>),
    /// SIGINT or SIGTERM.
    Stop,
    /// The watch reported a problem; it goes on.
    Trouble(String),
}

pub struct Watch {
    watcher: notify::RecommendedWatcher,
    events: mpsc::Receiver<Event>,
    interest: Interest,
    debounce: Debounce,
}

impl Watch {
    /// Starts watching (nothing yet: see [`Watch::set`]), with bursts of `window`.
    /// From here on SIGINT and SIGTERM end a wait instead of the process, and a
    /// second one ends the process at once (as a kill would: a plan has nothing
    /// to undo, and an apply cut short is finished by the next, as after any kill).
    /// Call before any other thread starts.
    pub fn start(window: Duration) -> Result<Watch, WatchError> {
        let (events_in, events) = mpsc::channel();
        let stop = events_in.clone();
        signals::forward(move |signal, count| {
            if count > 1 {
                std::process::exit(128 + signal);
            }
            let _ = stop.send(Event::Stop);
        })
        .map_err(|e| WatchError::Start {
            cause: e.to_string(),
        })?;
        let watcher = notify::recommended_watcher(move |n| {
            if let Some(event) = Event::of(n) {
                let _ = events_in.send(event);
            }
        })
        .map_err(|e| WatchError::Start {
            cause: e.to_string(),
        })?;
        Ok(Watch {
            watcher,
            events,
            interest: Interest::default(),
            debounce: Debounce::new(window),
        })
    }

    /// Watches what `interest` names from now on. Every directory is watched
    /// again, so that one removed and put back since is watched as it is now; a
    /// directory that is not there is skipped (its files are missing, which the
    /// plan said). Returns the directories that could not be watched, named as
    /// seen from `cwd`.
    pub fn set(&mut self, interest: Interest, cwd: &std::path::Path) -> Vec<WatchError> {
        // those no longer wanted first: a directory reached through a link shares
        // its watch with the one it names, which may be wanted still
        for dir in self.interest.dirs().filter(|d| !interest.has_dir(d)) {
            let _ = self.watcher.unwatch(dir);
        }
        let failed = interest
            .dirs()
            .filter_map(|dir| {
                let e = self
                    .watcher
                    .watch(dir, notify::RecursiveMode::NonRecursive)
                    .err()?;
                if matches!(e.kind, notify::ErrorKind::PathNotFound) || !dir.is_dir() {
                    return None;
                }
                Some(WatchError::Dir {
                    dir: crate::paths::display(dir, cwd),
                    cause: e.to_string(),
                })
            })
            .collect();
        self.interest = interest;
        failed
    }

    /// Waits for a burst of changes to the files of interest to be over, for a
    /// stop, or for trouble.
    pub fn wait(&mut self) -> Next {
        loop {
            if let Some(changed) = self.debounce.take(Instant::now()) {
                return Next::Changed(changed);
            }
            let event = match self.debounce.wait(Instant::now()) {
                // the watcher and the signal thread hold senders for as long as
                // the watch lives: a channel closed is a watch that ended
                None => self.events.recv().unwrap_or(Event::Stop),
                Some(wait) => match self.events.recv_timeout(wait) {
                    Ok(event) => event,
                    Err(mpsc::RecvTimeoutError::Timeout) => continue,
                    Err(mpsc::RecvTimeoutError::Disconnected) => Event::Stop,
                },
            };
            match event {
                Event::Stop => return Next::Stop,
                Event::Failed(message) => return Next::Trouble(message),
                Event::Rescan => self.debounce.changed(Instant::now(), None),
                Event::Paths(paths) => {
                    if let Some(path) = self.interest.touched(&paths) {
                        self.debounce.changed(Instant::now(), Some(path));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, DataChange, ModifyKind, RenameMode};

    #[test]
    fn opening_and_reading_are_no_change_but_a_write_or_rename_is() {
        assert!(!may_change(&EventKind::Access(AccessKind::Open(
            AccessMode::Any
        ))));
        assert!(!may_change(&EventKind::Access(AccessKind::Close(
            AccessMode::Read
        ))));
        assert!(may_change(&EventKind::Access(AccessKind::Close(
            AccessMode::Write
        ))));
        assert!(may_change(&EventKind::Modify(ModifyKind::Data(
            DataChange::Any
        ))));
        assert!(may_change(&EventKind::Modify(ModifyKind::Name(
            RenameMode::To
        ))));
        assert!(may_change(&EventKind::Create(CreateKind::File)));
        assert!(may_change(&EventKind::Any));
    }
}
