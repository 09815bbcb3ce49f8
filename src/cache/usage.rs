//! The `usage/` area: one incremental index of transcripts per Claude Code config
//! directory ([`crate::usage::index`]), named by the SHA-256 of the directory's
//! canonical path. Written like every entry (a temp renamed over it, under the
//! shared lock); the index checks itself when read, so a damaged one is rebuilt.

use super::{Cache, CacheError};
use std::sync::atomic::Ordering;

/// The area's folder.
pub const FOLDER: &str = "usage";

impl Cache {
    /// The index named `name` (64 hex digits), when the cache is enabled and has it.
    pub fn usage_index(&self, name: &str) -> Result<Option<Vec<u8>>, CacheError> {
        if !self.enabled || !super::is_hex(name.as_ref(), 64) {
            return Ok(None);
        }
        let Some(root) = self.for_reading()? else {
            return Ok(None);
        };
        let Some(folder) = root.sub(FOLDER)? else {
            return Ok(None);
        };
        let Some(mut opened) = folder.open_file(name)? else {
            return Ok(None);
        };
        let bytes = opened
            .read_all()
            .map_err(|e| CacheError::io("read", folder.path().join(name), e))?;
        Ok(Some(bytes))
    }

    /// Replaces the index named `name`; nothing when the cache is disabled.
    pub fn put_usage_index(&self, name: &str, bytes: &[u8]) -> Result<(), CacheError> {
        if !self.enabled || !super::is_hex(name.as_ref(), 64) {
            return Ok(());
        }
        let (root, _lock) = self.for_writing()?;
        root.sub_created(FOLDER)?.write(name, bytes)?;
        self.wrote.store(true, Ordering::Relaxed);
        Ok(())
    }
}
