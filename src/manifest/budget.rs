//! Prices per model, as `budget.prices` in `mpm.yaml` writes them (USD per million
//! tokens). (A local copy of the lead's types until `budget:` lands on main.)

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What one model costs, in USD per million tokens; `tiers` replace these prices for
/// a whole request above a size.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelPrice {
    pub input: f64,
    pub output: f64,
    pub cache_write: f64,
    pub cache_read: f64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tiers: Vec<PriceTier>,
}

/// The prices of a request whose input (its input, cache write and cache read
/// tokens) is above `above_input_tokens`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceTier {
    pub above_input_tokens: u64,
    pub input: f64,
    pub output: f64,
    pub cache_write: f64,
    pub cache_read: f64,
}
