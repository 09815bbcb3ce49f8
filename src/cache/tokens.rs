//! Token counts, the cache's third kind of entry: what an agent file counts to
//! (its prompt and its line in the client's agent listing) for one encoding, so
//! that a plan whose agents did not change tokenizes nothing (see `crate::tokens`).
//!
//! `tokens/<hex>`: `<hex>` is the key the caller gives (a SHA-256 over the counted
//! file's digest and the encoding); the file is one line of JSON, `{"encoding",
//! "prompt", "listing", "file", "sha256"}`: `file` is the SHA-256 of the file
//! counted, `sha256` that of the rest (see `check_of`), as the usage index guards
//! itself. Never stale (the key names the text), bounded by the same limits as the
//! other entries; an entry that does not parse, is of another encoding or another
//! file, or whose `sha256` does not match, is removed and is a miss (counted again,
//! written again).

use super::{Cache, CacheError, Kind, Listing, candidate, is_hex};
use crate::hash::Digest;
use serde::{Deserialize, Serialize};
use std::sync::atomic::Ordering;

/// The folder of the token counts.
pub(super) const FOLDER: &str = "tokens";

/// What one agent file counts to, in one encoding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenEntry {
    pub encoding: String,
    pub prompt: u64,
    pub listing: u64,
}

/// A [`TokenEntry`] as the cache keeps it.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    encoding: String,
    prompt: u64,
    listing: u64,
    file: Digest,
    sha256: Digest,
}

/// The SHA-256 that guards an entry: over its counts, encoding and the file counted.
fn check_of(entry: &TokenEntry, file: &Digest) -> Digest {
    Digest::of(
        format!(
            "{}\0{}\0{}\0{}",
            entry.encoding,
            entry.prompt,
            entry.listing,
            file.hex()
        )
        .as_bytes(),
    )
}

impl Cache {
    /// The counts of the file whose SHA-256 is `file`, kept under `key` for
    /// `encoding`; a hit or a miss.
    pub fn tokens(
        &self,
        key: &Digest,
        file: &Digest,
        encoding: &str,
    ) -> Result<Option<TokenEntry>, CacheError> {
        if !self.enabled {
            return Ok(None);
        }
        self.counted(self.read_tokens(key, file, encoding), Option::is_some)
    }

    fn read_tokens(
        &self,
        key: &Digest,
        file: &Digest,
        encoding: &str,
    ) -> Result<Option<TokenEntry>, CacheError> {
        let Some(root) = self.for_reading()? else {
            return Ok(None);
        };
        let Some(dir) = root.sub(FOLDER)? else {
            return Ok(None);
        };
        let name = key.hex();
        let Some(mut opened) = dir.open_file(&name)? else {
            return Ok(None);
        };
        let bytes = opened
            .read_all()
            .map_err(|e| CacheError::io("read", dir.path().join(&name), e))?;
        let entry = serde_json::from_slice::<Stored>(&bytes).ok().and_then(|s| {
            let entry = TokenEntry {
                encoding: s.encoding,
                prompt: s.prompt,
                listing: s.listing,
            };
            let whole = s.file == *file && s.sha256 == check_of(&entry, file);
            (whole && entry.encoding == encoding).then_some(entry)
        });
        match entry {
            Some(entry) => {
                super::used(&opened.file);
                Ok(Some(entry))
            }
            None => {
                dir.remove_if_same(&name, &opened.meta)?;
                Ok(None)
            }
        }
    }

    /// Keeps `entry`, the counts of the file whose SHA-256 is `file`, under `key`.
    pub fn put_tokens(
        &self,
        key: &Digest,
        file: &Digest,
        entry: &TokenEntry,
    ) -> Result<(), CacheError> {
        if !self.enabled {
            return Ok(());
        }
        let (root, _lock) = self.for_writing()?;
        let stored = Stored {
            encoding: entry.encoding.clone(),
            prompt: entry.prompt,
            listing: entry.listing,
            file: *file,
            sha256: check_of(entry, file),
        };
        let mut line = serde_json::to_vec(&stored).unwrap_or_default();
        line.push(b'\n');
        root.sub_created(FOLDER)?.write(key.hex(), &line)?;
        self.wrote.store(true, Ordering::Relaxed);
        Ok(())
    }
}

/// Adds the token entries under `root` to `listing` (for stats and eviction).
pub(super) fn list(root: &super::Dir, listing: &mut Listing) -> Result<(), CacheError> {
    let Some(tokens) = root.sub(FOLDER)? else {
        return Ok(());
    };
    let names = tokens.names()?;
    let at = listing.add_folder(tokens, &names);
    let folder = &listing.folders[at];
    for name in names.iter().filter(|n| is_hex(n, 64)) {
        if let Some(opened) = folder.open_file(name)? {
            let entry = candidate(Kind::Tokens, name.clone(), at, &opened.meta, false);
            listing.entries.push(entry);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::Limits;

    fn file() -> Digest {
        Digest::of(b"agent file")
    }

    fn entry(prompt: u64) -> TokenEntry {
        TokenEntry {
            encoding: "cl100k_base".into(),
            prompt,
            listing: 7,
        }
    }

    #[test]
    fn a_kept_count_is_a_hit_then_stats_see_it() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::at(dir.path().join("c"), Limits::default());
        let key = Digest::of(b"k");
        assert_eq!(cache.tokens(&key, &file(), "cl100k_base").unwrap(), None);
        cache.put_tokens(&key, &file(), &entry(12)).unwrap();
        assert_eq!(
            cache.tokens(&key, &file(), "cl100k_base").unwrap(),
            Some(entry(12))
        );
        let stats = cache.stats().unwrap();
        assert_eq!((stats.entries, stats.hits, stats.misses), (1, 1, 1));
    }

    #[test]
    fn another_encodings_or_a_damaged_entry_is_a_miss_and_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::at(dir.path().join("c"), Limits::default());
        let key = Digest::of(b"k");
        cache.put_tokens(&key, &file(), &entry(12)).unwrap();
        assert_eq!(cache.tokens(&key, &file(), "o200k_base").unwrap(), None);
        assert_eq!(cache.stats().unwrap().entries, 0);
        let path = dir.path().join("c").join(FOLDER).join(key.hex());
        cache.put_tokens(&key, &file(), &entry(12)).unwrap();
        std::fs::write(&path, b"{\"encoding\":").unwrap();
        assert_eq!(cache.tokens(&key, &file(), "cl100k_base").unwrap(), None);
        assert!(!path.exists());
    }

    #[test]
    fn a_disabled_cache_keeps_no_count() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::disabled(dir.path().join("c"), Limits::default());
        let key = Digest::of(b"k");
        cache.put_tokens(&key, &file(), &entry(12)).unwrap();
        assert_eq!(cache.tokens(&key, &file(), "cl100k_base").unwrap(), None);
        assert!(!dir.path().join("c").exists());
    }

    #[test]
    fn clear_and_the_entry_limit_reach_token_counts() {
        let dir = tempfile::tempdir().unwrap();
        let limits = Limits {
            max_entries: 1,
            ..Limits::default()
        };
        let cache = Cache::at(dir.path().join("c"), limits);
        cache
            .put_tokens(&Digest::of(b"a"), &file(), &entry(1))
            .unwrap();
        cache
            .put_tokens(&Digest::of(b"b"), &file(), &entry(2))
            .unwrap();
        let pruned = cache.prune().unwrap();
        assert_eq!((pruned.removed, pruned.entries_left), (1, 1));
        assert_eq!(cache.clear().unwrap().removed, 1);
        assert_eq!(cache.stats().unwrap().entries, 0);
    }

    #[test]
    fn an_entry_changed_on_disk_or_of_another_file_is_a_miss_and_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::at(dir.path().join("c"), Limits::default());
        let key = Digest::of(b"k");
        let path = dir.path().join("c").join(FOLDER).join(key.hex());
        cache.put_tokens(&key, &file(), &entry(12)).unwrap();
        // whole JSON, a count changed: its sha256 no longer matches
        let text = std::fs::read_to_string(&path).unwrap();
        let changed = text.replace("\"prompt\":12", "\"prompt\":1");
        assert_ne!(changed, text);
        std::fs::write(&path, changed).unwrap();
        assert_eq!(cache.tokens(&key, &file(), "cl100k_base").unwrap(), None);
        assert!(!path.exists());
        // the counts of another file under this key
        cache
            .put_tokens(&key, &Digest::of(b"other"), &entry(12))
            .unwrap();
        assert_eq!(cache.tokens(&key, &file(), "cl100k_base").unwrap(), None);
        assert!(!path.exists());
        // an entry of before the check: a miss
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(
            &path,
            "{\"encoding\":\"cl100k_base\",\"prompt\":12,\"listing\":7}\n",
        )
        .unwrap();
        assert_eq!(cache.tokens(&key, &file(), "cl100k_base").unwrap(), None);
    }
}
