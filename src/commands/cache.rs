//! `mpm cache stats|clear|prune`: the download cache ([`crate::cache`]) in the
//! `cache.dir` folder, bounded by the manifest's `cache:` section when there is a
//! manifest (the defaults otherwise). `stats` writes nothing, not even the folder;
//! `clear` and `prune` say what they removed. They work on the folder whatever
//! `cache.enabled` says: that setting only decides whether other commands use it.

use crate::Error;
use crate::cache::{Cache, Limits, Pruned, Stats};
use crate::cli::{CacheAction, CacheArgs};
use crate::error::ExitStatus;
use crate::options::Options;
use crate::printer::Printer;
use std::path::Path;

/// The JSON's version; minor versions only add keys.
const FORMAT_VERSION: &str = "1.0";
/// Below this many lookups the hit rate says nothing yet (a cache warming up).
const WARM_AFTER: u64 = 50;
/// The framework guide's: aim above 80 %, warn below 60 %.
const TARGET: f64 = 0.80;
const WARN_BELOW: f64 = 0.60;

pub fn run(options: &Options, args: &CacheArgs, printer: &Printer) -> Result<ExitStatus, Error> {
    let limits = crate::options::cache_limits(options.manifest_if_found());
    let cache = Cache::at(options.cache_dir()?, limits);
    let shown = shown_dir(cache.dir(), options);
    match &args.action {
        CacheAction::Stats(stats_args) => {
            let stats = cache.stats()?;
            match stats_args.json {
                true => printer.out(&json(&stats)),
                false => printer.out(&text(&stats, &shown)),
            }
            if let Some(warning) = low_hit_rate(&stats) {
                printer.warn(&warning);
            }
        }
        CacheAction::Prune if !cache.exists()? => {
            printer.out(&format!(
                "Nothing to prune: there is no cache in {shown} yet.\n"
            ));
        }
        CacheAction::Prune => {
            let pruned = cache.prune()?;
            printer.out(&pruned_text(&pruned, cache.limits(), &shown));
        }
        CacheAction::Clear if !cache.exists()? => {
            printer.out(&format!(
                "Nothing to clear: there is no cache in {shown} yet.\n"
            ));
        }
        CacheAction::Clear => {
            let lookups = cache.stats()?.lookups();
            let cleared = cache.clear()?;
            printer.out(&cleared_text(&cleared, lookups, &shown));
        }
    }
    Ok(ExitStatus::Success)
}

/// `~/...` under the home, else as other paths are shown.
fn shown_dir(dir: &Path, options: &Options) -> String {
    match options
        .env
        .home
        .as_deref()
        .map(|home| dir.strip_prefix(home))
    {
        Some(Ok(rest)) if rest.as_os_str().is_empty() => "~".into(),
        Some(Ok(rest)) => format!("~/{}", rest.display()),
        _ => crate::paths::display(dir, &options.env.cwd),
    }
}

/// Two lines: what the cache holds, and how well it served.
fn text(stats: &Stats, shown: &str) -> String {
    let rate = match stats.hit_rate() {
        Some(rate) => format!("hit rate {}", percent(rate)),
        None => "no hit rate yet".into(),
    };
    format!(
        "Cache {shown}: {}, {} (limits: {})\nHits {}, misses {}: {rate}\n",
        entries(stats.entries),
        bytes(stats.bytes),
        limits(&stats.limits),
        stats.hits,
        stats.misses,
    )
}

fn json(stats: &Stats) -> String {
    let doc = serde_json::json!({
        "format_version": FORMAT_VERSION,
        "mpm_version": env!("CARGO_PKG_VERSION"),
        "dir": stats.dir.display().to_string(),
        "entries": stats.entries,
        "bytes": stats.bytes,
        "hits": stats.hits,
        "misses": stats.misses,
        "hit_rate": stats.hit_rate(),
        "limits": {
            "max_entries": stats.limits.max_entries,
            "max_bytes": stats.limits.max_bytes,
            "ttl_seconds": stats.limits.ttl.as_secs(),
        },
    });
    let mut out = serde_json::to_string_pretty(&doc).unwrap_or_default();
    out.push('\n');
    out
}

/// The warning the framework guide asks for when a warm cache serves less than
/// 60 % of lookups, with the likelier reason.
fn low_hit_rate(stats: &Stats) -> Option<String> {
    let rate = stats.hit_rate()?;
    if stats.lookups() < WARM_AFTER || rate >= WARN_BELOW {
        return None;
    }
    // within a tenth of a limit: entries are evicted before they are used again
    let near = |have: u64, max: u64| have.saturating_mul(10) >= max.saturating_mul(9);
    let why = if near(stats.entries, stats.limits.max_entries)
        || near(stats.bytes, stats.limits.max_bytes)
    {
        "the cache is at its limits, so entries are evicted before they are used again; raise `cache.max_entries` or `cache.max_size_mb` in `mpm.yaml`"
    } else {
        "most lookups found nothing to use: registry indexes older than `cache.ttl_hours` are fetched again, and new versions are fetched once each; raise `cache.ttl_hours` in `mpm.yaml` if indexes expire between runs, or run `mpm cache clear` to count afresh after such a change"
    };
    Some(format!(
        "the cache's hit rate is {} over {} lookups, below {} (aim for more than {} once it is warm): {why}",
        percent(rate),
        stats.lookups(),
        percent(WARN_BELOW),
        percent(TARGET),
    ))
}

fn pruned_text(pruned: &Pruned, bounds: &Limits, shown: &str) -> String {
    let mut out = if pruned.removed == 0 {
        format!("Nothing to prune in {shown}.\n")
    } else {
        let oldest = pruned.removed - pruned.expired;
        let why: Vec<String> = [
            (
                pruned.expired,
                "expired registry index",
                "expired registry indexes",
            ),
            (oldest, "least recently used", "least recently used"),
        ]
        .iter()
        .filter(|(n, _, _)| *n > 0)
        .map(|(n, one, many)| format!("{n} {}", if *n == 1 { one } else { many }))
        .collect();
        format!(
            "Pruned {shown}: removed {}, {} ({}).\n",
            entries(pruned.removed),
            bytes(pruned.bytes),
            why.join(", ")
        )
    };
    out.push_str(&temps(pruned.temps));
    out.push_str(&format!(
        "Left: {}, {} (limits: {}).\n",
        entries(pruned.entries_left),
        bytes(pruned.bytes_left),
        limits(bounds)
    ));
    out
}

fn cleared_text(cleared: &Pruned, lookups: u64, shown: &str) -> String {
    let mut out = format!(
        "Cleared {shown}: removed {}, {}, and the counts of {}.\n",
        entries(cleared.removed),
        bytes(cleared.bytes),
        plural(lookups, "lookup", "lookups"),
    );
    out.push_str(&temps(cleared.temps));
    out
}

fn temps(n: u64) -> String {
    match n {
        0 => String::new(),
        1 => "Removed 1 temp file left by an interrupted write.\n".into(),
        n => format!("Removed {n} temp files left by interrupted writes.\n"),
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn entries(n: u64) -> String {
    plural(n, "entry", "entries")
}

/// `5000 entries, 500 MB, 24 h`.
fn limits(limits: &Limits) -> String {
    format!(
        "{}, {}, {}",
        entries(limits.max_entries),
        bytes(limits.max_bytes),
        duration(limits.ttl)
    )
}

/// `980 B`, `12.3 kB`, `1.2 MB`, `500 MB` (1 MB = 1 000 000 bytes, as the limit).
fn bytes(n: u64) -> String {
    const UNITS: [(u64, &str); 4] = [
        (1_000_000_000_000, "TB"),
        (1_000_000_000, "GB"),
        (1_000_000, "MB"),
        (1_000, "kB"),
    ];
    for (size, unit) in UNITS {
        if n >= size {
            let value = format!("{:.1}", n as f64 / size as f64);
            let value = value.strip_suffix(".0").unwrap_or(&value);
            return format!("{value} {unit}");
        }
    }
    format!("{n} B")
}

/// `24 h`, `30 min`, `90 s`.
fn duration(d: std::time::Duration) -> String {
    let secs = d.as_secs();
    if d.subsec_nanos() != 0 || secs == 0 {
        let value = format!("{:.2}", d.as_secs_f64());
        return format!("{} s", value.trim_end_matches('0').trim_end_matches('.'));
    }
    match secs {
        s if s % 3600 == 0 => format!("{} h", s / 3600),
        s if s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

/// `80.0 %`.
fn percent(rate: f64) -> String {
    format!("{:.1} %", rate * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn sizes_and_times_read_as_the_limits_are_written() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(999), "999 B");
        assert_eq!(bytes(12_345), "12.3 kB");
        assert_eq!(bytes(1_234_567), "1.2 MB");
        assert_eq!(bytes(500_000_000), "500 MB");
        assert_eq!(duration(Duration::from_secs(86_400)), "24 h");
        assert_eq!(duration(Duration::from_secs(1800)), "30 min");
        assert_eq!(duration(Duration::from_secs(90)), "90 s");
        assert_eq!(duration(Duration::from_millis(360)), "0.36 s");
        assert_eq!(percent(0.8), "80.0 %");
    }

    fn stats(entries: u64, hits: u64, misses: u64) -> Stats {
        Stats {
            dir: "/c".into(),
            entries,
            bytes: 10,
            hits,
            misses,
            limits: Limits::default(),
        }
    }

    #[test]
    fn a_low_hit_rate_is_worth_a_warning_only_once_the_cache_is_warm() {
        assert_eq!(low_hit_rate(&stats(10, 0, 0)), None);
        // cold: too few lookups to say
        assert_eq!(low_hit_rate(&stats(10, 1, 48)), None);
        assert_eq!(low_hit_rate(&stats(10, 30, 20)), None);
        let low = low_hit_rate(&stats(10, 29, 21)).unwrap();
        assert!(low.starts_with("the cache's hit rate is 58.0 % over 50 lookups, below 60.0 % (aim for more than 80.0 % once it is warm): most lookups"), "{low}");
        let full = low_hit_rate(&stats(4500, 10, 90)).unwrap();
        assert!(full.contains("the cache is at its limits"), "{full}");
    }
}
