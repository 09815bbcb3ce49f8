//! Secrets: values that are never printed, never stored, and never kept in a plan.
//! What mpm keeps of one is a keyed hash (HMAC-SHA-256, with a key of the state
//! log's own), to tell whether the value in a settings file is still the one it
//! wrote, without a digest anyone could test guesses against.

use crate::hash::Digest;
use sha2::{Digest as _, Sha256};

/// What is printed, in the plan and its JSON, in place of a secret.
pub const SHOWN: &str = "(sensitive)";

/// The key of a state log's keyed hashes.
#[derive(Clone, PartialEq, Eq)]
pub struct Key([u8; 32]);

impl Key {
    pub fn from_bytes(bytes: &[u8]) -> Option<Key> {
        Some(Key(bytes.try_into().ok()?))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// HMAC-SHA-256 (RFC 2104) of `bytes`.
    pub fn digest(&self, bytes: &[u8]) -> Digest {
        const BLOCK: usize = 64;
        let mut inner = [0x36u8; BLOCK];
        let mut outer = [0x5cu8; BLOCK];
        for (i, k) in self.0.iter().enumerate() {
            inner[i] ^= k;
            outer[i] ^= k;
        }
        let first = Sha256::new()
            .chain_update(inner)
            .chain_update(bytes)
            .finalize();
        let mac: [u8; 32] = Sha256::new()
            .chain_update(outer)
            .chain_update(first)
            .finalize()
            .into();
        Digest::from_bytes(&mac).unwrap_or_else(|| Digest::of(b""))
    }
}

/// A new random key, for a target whose state log does not exist yet (its first
/// apply keeps it).
impl Default for Key {
    fn default() -> Self {
        let mut bytes = [0u8; 32];
        // the kernel's generator does not fail for 32 bytes once booted; were it to,
        // a key mixed from the time and the process is still unguessable enough to
        // keep hashes apart, and the hashes are never shown
        if rustix::rand::getrandom(&mut bytes, rustix::rand::GetRandomFlags::empty()).is_err() {
            let seed = format!("{:?}{}", std::time::SystemTime::now(), std::process::id());
            bytes = *Digest::of(seed.as_bytes()).as_bytes();
        }
        Key(bytes)
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(..)")
    }
}

const CREDENTIAL_WORDS: &[&str] = &[
    "TOKEN",
    "KEY",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "PASS",
    "AUTH",
    "APIKEY",
    "CREDENTIAL",
    "CREDENTIALS",
];

/// A name with a credential's word in it (any case, words split at anything but a
/// letter or digit: `MAX_THINKING_TOKENS` is a count, `GITHUB_TOKEN` is not), or a
/// value in a credential's form. Hiding a harmless value costs only a vaguer
/// message; quoting a credential cannot be undone.
pub fn looks_like_credential(name: &str, value: &str) -> bool {
    let named = name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|word| {
            CREDENTIAL_WORDS
                .iter()
                .any(|w| word.eq_ignore_ascii_case(w))
        });
    let after_scheme = value.split_once("://").map_or(value, |(_, rest)| rest);
    let userinfo = after_scheme
        .split_once('@')
        .is_some_and(|(before, _)| before.contains(':'));
    named || value.starts_with("sk-ant-") || userinfo
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_keyed_hash_is_hmac_sha256() {
        // RFC 4231, test case 2 has a short key; this one pads a 32-byte key
        let key = Key([0x0b; 32]);
        assert_eq!(
            key.digest(b"Hi There").hex(),
            "198a607eb44bfbc69903a0f1cf2bbdc5ba0aa3f3d9ae3c1c7a3b1696a0b68cf7"
        );
        assert_ne!(Key::default().digest(b"x"), Key::default().digest(b"x"));
    }
}
