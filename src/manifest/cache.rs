//! `cache:` in `mpm.yaml`: how large the download cache may grow and how long a
//! registry index stays fresh. Each number is checked while it is read, so that an
//! error points at it.

use crate::checked::Invalid;
use schemars::JsonSchema;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

/// Bounds of the download cache (`cache.dir`, shared by every project of the
/// user): what registries served is kept there, the least recently used going
/// first. Commands that write to it enforce these limits when they end.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CacheSection {
    /// At most this many entries (agent files and registry indexes); default 5000.
    #[serde(default = "default_entries", deserialize_with = "whole")]
    #[schemars(range(min = 1))]
    pub max_entries: u64,
    /// At most this many megabytes (1 MB = 1 000 000 bytes); default 500.
    #[serde(default = "default_size_mb", deserialize_with = "whole")]
    #[schemars(range(min = 1))]
    pub max_size_mb: u64,
    /// Hours a registry index is used without asking its server again (`0.5`:
    /// half an hour); default 24. Agent files, kept by their SHA-256, never expire.
    #[serde(default = "default_ttl_hours", deserialize_with = "hours")]
    #[schemars(extend("exclusiveMinimum" = 0, "maximum" = 876_000))]
    pub ttl_hours: f64,
}

impl Default for CacheSection {
    /// The framework guide's: 5000 entries, 500 MB, 24 h.
    fn default() -> CacheSection {
        CacheSection {
            max_entries: default_entries(),
            max_size_mb: default_size_mb(),
            ttl_hours: default_ttl_hours(),
        }
    }
}

impl CacheSection {
    pub fn is_default(&self) -> bool {
        *self == CacheSection::default()
    }
}

fn default_entries() -> u64 {
    5000
}

fn default_size_mb() -> u64 {
    500
}

fn default_ttl_hours() -> f64 {
    24.0
}

/// A whole number above zero.
fn whole<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    struct V;
    impl Visitor<'_> for V {
        type Value = u64;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a whole number above 0")
        }
        fn visit_u64<E: de::Error>(self, n: u64) -> Result<u64, E> {
            match n {
                0 => Err(refused("0", "a whole number above 0")),
                n => Ok(n),
            }
        }
        fn visit_i64<E: de::Error>(self, n: i64) -> Result<u64, E> {
            match u64::try_from(n) {
                Ok(n) => self.visit_u64(n),
                Err(_) => Err(refused(&n.to_string(), "a whole number above 0")),
            }
        }
        fn visit_f64<E: de::Error>(self, n: f64) -> Result<u64, E> {
            Err(refused(&format!("{n:?}"), "a whole number above 0"))
        }
    }
    d.deserialize_any(V)
}

/// A number of hours above zero, and not too many to count.
fn hours<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    struct V;
    impl Visitor<'_> for V {
        type Value = f64;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a number of hours above 0")
        }
        fn visit_u64<E: de::Error>(self, n: u64) -> Result<f64, E> {
            in_range(n as f64, &n.to_string())
        }
        fn visit_i64<E: de::Error>(self, n: i64) -> Result<f64, E> {
            in_range(n as f64, &n.to_string())
        }
        fn visit_f64<E: de::Error>(self, n: f64) -> Result<f64, E> {
            // `{:?}`: `1e300`, not three hundred digits
            in_range(n, &format!("{n:?}"))
        }
    }
    /// A century is plenty, and far from what a duration cannot hold.
    fn in_range<E: de::Error>(n: f64, shown: &str) -> Result<f64, E> {
        if n > 0.0 && n <= 876_000.0 {
            Ok(n)
        } else {
            Err(refused(shown, "a number of hours above 0 (at most 876000)"))
        }
    }
    d.deserialize_any(V)
}

fn refused<E: de::Error>(value: &str, expected: &str) -> E {
    E::custom(
        Invalid::of_value(
            format!("is `{value}`: it must be {expected}"),
            "leave it out for the default (`max_entries: 5000`, `max_size_mb: 500`, `ttl_hours: 24`)",
        )
        .to_serde(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(source: &str) -> Result<CacheSection, String> {
        crate::manifest::load::parse(source, "mpm.yaml")
            .map(|m| m.cache)
            .map_err(|e| crate::Error::from(e).render())
    }

    #[test]
    fn every_limit_has_the_framework_guides_default() {
        assert_eq!(read("version: 1\n"), Ok(CacheSection::default()));
        assert_eq!(
            read("version: 1\ncache:\n  max_entries: 100\n  ttl_hours: 0.5\n"),
            Ok(CacheSection {
                max_entries: 100,
                max_size_mb: 500,
                ttl_hours: 0.5
            })
        );
    }

    #[test]
    fn a_limit_that_is_not_above_zero_points_at_itself() {
        assert_eq!(
            read("version: 1\ncache:\n  max_entries: 0\n").unwrap_err(),
            "error: `cache.max_entries` is `0`: it must be a whole number above 0\n --> mpm.yaml:3:16\n  |\n3 |   max_entries: 0\n  |                ^\nhint: leave it out for the default (`max_entries: 5000`, `max_size_mb: 500`, `ttl_hours: 24`)\n"
        );
        for (bad, shown) in [
            ("max_size_mb: -5", "`cache.max_size_mb` is `-5`"),
            ("max_size_mb: 1.5", "`cache.max_size_mb` is `1.5`"),
            ("ttl_hours: 0", "`cache.ttl_hours` is `0`"),
            ("ttl_hours: -1", "`cache.ttl_hours` is `-1`"),
            ("ttl_hours: .nan", "`cache.ttl_hours` is `NaN`"),
            ("ttl_hours: 1e300", "`cache.ttl_hours` is `1e300`"),
        ] {
            let e = read(&format!("version: 1\ncache:\n  {bad}\n")).unwrap_err();
            assert!(e.starts_with(&format!("error: {shown}")), "{bad}: {e}");
            assert!(e.contains(" --> mpm.yaml:3:"), "{bad}: {e}");
        }
        let e = read("version: 1\ncache:\n  max_entry: 5\n").unwrap_err();
        assert!(e.contains("unknown key `max_entry` in `cache`"), "{e}");
        assert!(e.contains("did you mean `max_entries`?"), "{e}");
    }
}
