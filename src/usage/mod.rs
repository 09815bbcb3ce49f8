//! Real spend, from Claude Code's own transcripts: reading them
//! ([`transcript`]), the incremental index in mpm's cache ([`index`]), the price
//! table ([`prices`]) and the reports ([`report`]). `mpm usage` and the budget
//! hook ([`spend_today`]) both read through the index.

pub mod index;
pub mod prices;
pub mod report;
pub mod transcript;

use crate::diagnose::Diagnose;
use crate::manifest::ModelPrice;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Token counts of one request or of many.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tokens {
    #[serde(rename = "input_tokens")]
    pub input: u64,
    #[serde(rename = "output_tokens")]
    pub output: u64,
    #[serde(rename = "cache_creation_input_tokens")]
    pub cache_write: u64,
    #[serde(rename = "cache_read_input_tokens")]
    pub cache_read: u64,
}

impl Tokens {
    pub fn add(&mut self, other: &Tokens) {
        self.input = self.input.saturating_add(other.input);
        self.output = self.output.saturating_add(other.output);
        self.cache_write = self.cache_write.saturating_add(other.cache_write);
        self.cache_read = self.cache_read.saturating_add(other.cache_read);
    }

    pub fn total(&self) -> u64 {
        self.input
            .saturating_add(self.output)
            .saturating_add(self.cache_write)
            .saturating_add(self.cache_read)
    }
}

/// Where a cost came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CostSource {
    /// The client's own figure (`cost-state`).
    Client,
    /// mpm's price table (built in, or `budget.prices`).
    Table,
    /// Some of each.
    Mixed,
    /// No price and no client figure: the cost is unknown.
    Unpriced,
}

impl CostSource {
    pub fn as_str(self) -> &'static str {
        match self {
            CostSource::Client => "client",
            CostSource::Table => "table",
            CostSource::Mixed => "mixed",
            CostSource::Unpriced => "unpriced",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    #[error("failed to {action} `{}`: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`{}` is a symbolic link: mpm reads transcripts only inside the config directory", .0.display())]
    ProjectsLink(PathBuf),
}

impl UsageError {
    pub fn io(action: &'static str, path: PathBuf, source: std::io::Error) -> UsageError {
        UsageError::Io {
            action,
            path,
            source,
        }
    }
}

impl Diagnose for UsageError {
    fn hint(&self) -> Option<String> {
        match self {
            UsageError::Io { .. } => None,
            UsageError::ProjectsLink(_) => {
                Some("point `--config-dir` at the directory the link's target belongs to".into())
            }
        }
    }
}

/// Today's spend, for the budget hook.
#[derive(Debug, Clone, PartialEq)]
pub struct Spend {
    /// Of the requests with a known cost.
    pub usd: f64,
    pub source: CostSource,
    /// Models of today's requests whose cost is unknown (no price, no client
    /// figure): `usd` leaves them out.
    pub unpriced_models: Vec<String>,
    /// Today's requests.
    pub requests: u64,
    pub tokens: Tokens,
    /// The local day counted.
    pub date: jiff::civil::Date,
}

/// Today's (local day) spend in `config_dir`, from the index (updated by reading only
/// appended bytes), priced with `prices` (built-in table + overrides). Never
/// panics; an index that cannot be trusted is rebuilt; it is written only when
/// `cache` is enabled.
pub fn spend_today(
    config_dir: &Path,
    cache: &crate::cache::Cache,
    overrides: &BTreeMap<String, ModelPrice>,
    now: jiff::Timestamp,
) -> Result<Spend, UsageError> {
    let tz = jiff::tz::TimeZone::system();
    let (index, _) = index::refresh(config_dir, cache, true)?;
    let table = prices::PriceTable::with_overrides(overrides);
    let today = now.to_zoned(tz.clone()).date();
    // only the sessions with a request today are priced (a copy of a request has
    // its time: both copies are today's, or neither)
    let index = today_only(index, today, &tz);
    let (priced, _) = report::price(&index, &table, &tz);
    let sum = report::total(&priced, Some(today), Some(today));
    Ok(Spend {
        usd: sum.cost_usd,
        source: sum.source(),
        unpriced_models: sum.unpriced.iter().cloned().collect(),
        requests: sum.requests,
        tokens: sum.tokens,
        date: today,
    })
}

/// The files of the sessions that have a request on `day`.
fn today_only(
    index: index::Index,
    day: jiff::civil::Date,
    tz: &jiff::tz::TimeZone,
) -> index::Index {
    let bound = |d: Option<jiff::civil::Date>| {
        d.and_then(|d| d.to_zoned(tz.clone()).ok())
            .map(|z| z.timestamp().as_millisecond())
    };
    let (Some(start), Some(end)) = (bound(Some(day)), bound(day.tomorrow().ok())) else {
        return index;
    };
    let sessions: std::collections::HashSet<&str> = index
        .files
        .iter()
        .filter(|(_, e)| e.requests.iter().any(|r| (start..end).contains(&r.1)))
        .map(|(rel, _)| transcript::session_of(rel))
        .collect();
    let keep: std::collections::HashSet<String> = index
        .files
        .keys()
        .filter(|rel| sessions.contains(transcript::session_of(rel)))
        .cloned()
        .collect();
    let mut index = index;
    index.files.retain(|rel, _| keep.contains(rel));
    index
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(id: &str, time: jiff::Timestamp, input: u64) -> String {
        format!(
            r#"{{"type":"assistant","requestId":"r{id}","timestamp":"{time}","message":{{"id":"m{id}","model":"claude-opus-5-5","usage":{{"input_tokens":{input},"output_tokens":0}}}}}}"#
        ) + "\n"
    }

    #[test]
    fn spend_today_counts_todays_requests_only_and_once() {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("projects/-p");
        std::fs::create_dir_all(&project).unwrap();
        let now = jiff::Timestamp::now();
        let yesterday = now - jiff::SignedDuration::from_hours(48);
        let today = line("1", now, 100_000);
        std::fs::write(
            project.join("a.jsonl"),
            format!("{today}{today}{}", line("2", yesterday, 1_000_000)),
        )
        .unwrap();
        // a resumed session's copy of today's request
        std::fs::write(project.join("b.jsonl"), &today).unwrap();
        let cache = crate::cache::Cache::disabled(dir.path().join("cache"), Default::default());
        let spend = spend_today(dir.path(), &cache, &BTreeMap::new(), now).unwrap();
        assert_eq!(spend.requests, 1);
        assert_eq!(spend.tokens.input, 100_000);
        assert!((spend.usd - 0.4).abs() < 1e-9, "{}", spend.usd);
        assert_eq!(spend.source, CostSource::Table);
        assert!(!dir.path().join("cache").exists());
    }
}
