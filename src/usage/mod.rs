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
    let (priced, _) = report::price(&index, &table, &tz);
    let today = now.to_zoned(tz).date();
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
