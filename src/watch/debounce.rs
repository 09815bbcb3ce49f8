//! One plan per burst of saves: an editor, `git checkout` or a formatter writes
//! several files, or one file several times, within a few milliseconds. A change
//! makes a plan due once the watched files have been quiet for the window; every
//! change before then pushes it back.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Debounce {
    window: Duration,
    /// When the burst under way is over, if nothing changes before.
    due: Option<Instant>,
    /// The files it changed, each once, in the order they first changed.
    changed: Vec<PathBuf>,
}

impl Debounce {
    pub fn new(window: Duration) -> Self {
        Debounce {
            window,
            due: None,
            changed: Vec::new(),
        }
    }

    /// `path` changed at `now` (`None`: something may have; the watch lost track).
    pub fn changed(&mut self, now: Instant, path: Option<&Path>) {
        self.due = Some(now + self.window);
        if let Some(path) = path
            && !self.changed.iter().any(|p| p == path)
        {
            self.changed.push(path.to_path_buf());
        }
    }

    /// How long to wait for the next change: `None` while nothing is pending (as
    /// long as it takes), zero once the burst is over.
    pub fn wait(&self, now: Instant) -> Option<Duration> {
        self.due.map(|due| due.saturating_duration_since(now))
    }

    /// The files the burst changed, once it is over; the next burst starts afresh.
    pub fn take(&mut self, now: Instant) -> Option<Vec<PathBuf>> {
        match self.due {
            Some(due) if due <= now => {
                self.due = None;
                Some(std::mem::take(&mut self.changed))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_burst_is_one_plan_due_a_window_after_its_last_change() {
        let start = Instant::now();
        let (a, b) = (Path::new("/p/mpm.yaml"), Path::new("/p/t/qa.json"));
        let mut d = Debounce::new(ms(200));
        assert_eq!(d.wait(start), None);
        assert_eq!(d.take(start), None);
        d.changed(start, Some(a));
        d.changed(start + ms(150), Some(b));
        d.changed(start + ms(300), Some(a));
        // each change pushed the plan back: due at 300 + 200
        assert_eq!(d.wait(start + ms(400)), Some(ms(100)));
        assert_eq!(d.take(start + ms(499)), None);
        assert_eq!(
            d.take(start + ms(500)),
            Some(vec![a.to_path_buf(), b.to_path_buf()])
        );
        // over: nothing pending, and the next burst names only its own files
        assert_eq!(d.wait(start + ms(500)), None);
        assert_eq!(d.take(start + ms(900)), None);
        d.changed(start + ms(1000), None);
        assert_eq!(d.wait(start + ms(1300)), Some(Duration::ZERO));
        assert_eq!(d.take(start + ms(1300)), Some(vec![]));
    }

    #[test]
    fn a_zero_window_plans_at_the_first_change() {
        let start = Instant::now();
        let mut d = Debounce::new(Duration::ZERO);
        d.changed(start, Some(Path::new("/p/mpm.yaml")));
        assert_eq!(d.wait(start), Some(Duration::ZERO));
        assert_eq!(d.take(start), Some(vec![PathBuf::from("/p/mpm.yaml")]));
    }
}
