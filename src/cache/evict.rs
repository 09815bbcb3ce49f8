//! Which entries go when the cache is pruned or a command that wrote to it ends: a
//! function of values (each entry's size, last use, and whether it is a document
//! past its time to live) and the limits, tested as such.

use super::Limits;
use std::time::SystemTime;

/// An entry as eviction sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate<K> {
    pub key: K,
    pub bytes: u64,
    pub last_used: SystemTime,
    /// A document older than the time to live (content never expires).
    pub expired: bool,
}

/// The entries to remove, in the order to remove them: every expired document
/// first when `drop_expired` (a prune), then, expired documents before the rest
/// and the least recently used first, as many as it takes to be within both
/// limits. Ties go by key, so that the choice never depends on listing order.
pub fn victims<K: Ord>(
    entries: &[Candidate<K>],
    limits: &Limits,
    drop_expired: bool,
) -> Vec<usize> {
    let mut order: Vec<usize> = (0..entries.len()).collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (&entries[a], &entries[b]);
        (!a.expired, a.last_used, &a.key).cmp(&(!b.expired, b.last_used, &b.key))
    });
    let mut count = entries.len() as u64;
    let mut bytes: u64 = entries.iter().map(|e| e.bytes).sum();
    let mut out = Vec::new();
    for i in order {
        let over = count > limits.max_entries || bytes > limits.max_bytes;
        // expired entries come first: once one is kept, so is every one after it
        let goes = over || (drop_expired && entries[i].expired);
        if !goes {
            break;
        }
        out.push(i);
        count -= 1;
        bytes -= entries[i].bytes;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn entry(key: &str, bytes: u64, age: u64, expired: bool) -> Candidate<String> {
        Candidate {
            key: key.into(),
            bytes,
            // older: used longer ago
            last_used: UNIX_EPOCH + Duration::from_secs(1000 - age),
            expired,
        }
    }

    fn limits(max_entries: u64, max_bytes: u64) -> Limits {
        Limits {
            max_entries,
            max_bytes,
            ttl: Duration::from_secs(3600),
        }
    }

    fn keys(entries: &[Candidate<String>], victims: Vec<usize>) -> Vec<&str> {
        victims
            .into_iter()
            .map(|i| entries[i].key.as_str())
            .collect()
    }

    #[test]
    fn the_least_recently_used_go_until_the_count_fits() {
        let entries = [
            entry("new", 1, 1, false),
            entry("old", 1, 30, false),
            entry("mid", 1, 20, false),
        ];
        assert_eq!(
            keys(&entries, victims(&entries, &limits(1, 100), false)),
            ["old", "mid"]
        );
        assert_eq!(
            keys(&entries, victims(&entries, &limits(3, 100), false)),
            Vec::<&str>::new()
        );
    }

    #[test]
    fn the_least_recently_used_go_until_the_bytes_fit() {
        let entries = [
            entry("big-new", 60, 1, false),
            entry("small-old", 10, 30, false),
            entry("big-old", 50, 20, false),
        ];
        // 120 bytes, at most 70: the oldest two go (10 + 50), leaving 60
        assert_eq!(
            keys(&entries, victims(&entries, &limits(10, 70), false)),
            ["small-old", "big-old"]
        );
    }

    #[test]
    fn a_prune_drops_every_expired_document_and_a_full_cache_drops_them_first() {
        let entries = [
            entry("content-old", 1, 50, false),
            entry("index-expired", 1, 1, true),
            entry("content-new", 1, 2, false),
        ];
        // within the limits: a prune drops the expired one, a command's end nothing
        assert_eq!(
            keys(&entries, victims(&entries, &limits(10, 100), true)),
            ["index-expired"]
        );
        assert_eq!(
            keys(&entries, victims(&entries, &limits(10, 100), false)),
            Vec::<&str>::new()
        );
        // over the limits: the expired one goes before older content
        assert_eq!(
            keys(&entries, victims(&entries, &limits(2, 100), false)),
            ["index-expired"]
        );
        assert_eq!(
            keys(&entries, victims(&entries, &limits(1, 100), true)),
            ["index-expired", "content-old"]
        );
    }

    #[test]
    fn ties_in_last_use_go_by_key() {
        let entries = [entry("b", 1, 5, false), entry("a", 1, 5, false)];
        assert_eq!(
            keys(&entries, victims(&entries, &limits(1, 100), false)),
            ["a"]
        );
    }
}
