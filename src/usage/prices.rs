//! The price table: data (`prices.json`, with its source and date), tiers
//! included, overridden per model by `budget.prices` in `mpm.yaml`.

use crate::manifest::ModelPrice;
use crate::usage::Tokens;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The built-in table, as measured.
const BUILT_IN: &str = include_str!("prices.json");

/// A price table: model id → price, and where it came from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceTable {
    /// How `models` were found (measured against the client).
    pub source: String,
    pub date: String,
    pub client_version: String,
    pub models: BTreeMap<String, ModelPrice>,
    /// How `list_models` were found (Anthropic's list prices, not measured).
    #[serde(default)]
    pub list_source: String,
    #[serde(default)]
    pub list_date: String,
    /// Older models at their list prices; a measured price wins.
    #[serde(default)]
    pub list_models: BTreeMap<String, ModelPrice>,
}

impl PriceTable {
    /// The table built into mpm.
    pub fn built_in() -> PriceTable {
        // checked by a unit test: the data file always parses
        let mut table: PriceTable = serde_json::from_str(BUILT_IN).unwrap_or_else(|_| PriceTable {
            source: "none".into(),
            date: String::new(),
            client_version: String::new(),
            models: BTreeMap::new(),
            list_source: String::new(),
            list_date: String::new(),
            list_models: BTreeMap::new(),
        });
        for (model, price) in &table.list_models {
            if !table.models.contains_key(model) {
                table.models.insert(model.clone(), price.clone());
            }
        }
        table
    }

    /// The built-in table with `overrides` (`budget.prices`) replacing whole models.
    pub fn with_overrides(overrides: &BTreeMap<String, ModelPrice>) -> PriceTable {
        let mut table = PriceTable::built_in();
        for (model, price) in overrides {
            table.models.insert(model.clone(), price.clone());
        }
        table
    }

    /// The price of `model`: its own id, else the id without a date suffix
    /// (`claude-sonnet-4-5-20250929` → `claude-sonnet-4-5`).
    pub fn price(&self, model: &str) -> Option<&ModelPrice> {
        self.models
            .get(model)
            .or_else(|| self.models.get(without_date(model)?))
    }

    /// What one request of `model` with these tokens costs; `None` when the model
    /// has no price.
    pub fn cost(&self, model: &str, tokens: &Tokens) -> Option<f64> {
        Some(request_cost(self.price(model)?, tokens))
    }
}

/// `claude-x-4-5-20250929` → `claude-x-4-5`.
fn without_date(model: &str) -> Option<&str> {
    let (head, tail) = model.rsplit_once('-')?;
    (tail.len() == 8 && tail.bytes().all(|b| b.is_ascii_digit())).then_some(head)
}

/// One request's cost. A tier prices the whole request once its input (input,
/// cache write and cache read tokens: what the client counts, measured) is above
/// the tier's bound; the highest such tier wins.
pub fn request_cost(price: &ModelPrice, t: &Tokens) -> f64 {
    let size = t
        .input
        .saturating_add(t.cache_write)
        .saturating_add(t.cache_read);
    let (input, output, cache_write, cache_read) = price
        .tiers
        .iter()
        .filter(|tier| size > tier.above_input_tokens)
        .max_by_key(|tier| tier.above_input_tokens)
        .map_or(
            (
                price.input,
                price.output,
                price.cache_write,
                price.cache_read,
            ),
            |tier| (tier.input, tier.output, tier.cache_write, tier.cache_read),
        );
    (t.input as f64 * input
        + t.output as f64 * output
        + t.cache_write as f64 * cache_write
        + t.cache_read as f64 * cache_read)
        / 1_000_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(input: u64, output: u64, cache_write: u64, cache_read: u64) -> Tokens {
        Tokens {
            input,
            output,
            cache_write,
            cache_read,
        }
    }

    #[test]
    fn the_built_in_table_parses_and_says_where_it_comes_from() {
        let table: PriceTable = serde_json::from_str(BUILT_IN).unwrap();
        assert_eq!(table.client_version, "2.1.330");
        assert!(table.models.contains_key("claude-opus-5-5"));
    }

    #[test]
    fn the_reference_check_of_opus_5_5_is_exact() {
        // 1 002 in + 500 cache write + 3 000 cache read + 20 out → $0.007508
        let cost = PriceTable::built_in()
            .cost("claude-opus-5-5", &tokens(1002, 20, 500, 3000))
            .unwrap();
        assert!((cost - 0.007508).abs() < 1e-12, "{cost}");
    }

    #[test]
    fn haiku_5_5_changes_price_for_the_whole_request_above_100_000_input_tokens() {
        let table = PriceTable::built_in();
        let at = |t: Tokens| table.cost("claude-haiku-5-5", &t).unwrap();
        assert!((at(tokens(100_000, 0, 0, 0)) - 0.01).abs() < 1e-12);
        assert!((at(tokens(100_001, 0, 0, 0)) - 0.0500005).abs() < 1e-12);
        // the bound counts cache tokens too (seen: 50 000 in + 60 000 cache read)
        assert!((at(tokens(50_000, 0, 0, 60_000)) - 0.028).abs() < 1e-12);
        assert!((at(tokens(50_000, 100, 60_000, 0)) - 0.06275).abs() < 1e-12);
    }

    #[test]
    fn a_dated_model_id_takes_its_models_price_and_an_unknown_one_none() {
        let table = PriceTable::built_in();
        assert!(table.price("claude-sonnet-4-5-20250929").is_some());
        // a list price, for a model not measured
        assert_eq!(table.price("claude-opus-4-1-20250805").unwrap().input, 15.0);
        assert!(table.price("claude-unknown-9").is_none());
        assert!(table.price("claude-sonnet-4-5-2025").is_none());
    }

    #[test]
    fn an_override_replaces_a_model() {
        let mut overrides = BTreeMap::new();
        let price = ModelPrice {
            input: 1.0,
            output: 1.0,
            cache_write: 1.0,
            cache_read: 1.0,
            tiers: vec![],
        };
        overrides.insert("claude-haiku-5-5".to_string(), price);
        let table = PriceTable::with_overrides(&overrides);
        let cost = table
            .cost("claude-haiku-5-5", &tokens(200_000, 0, 0, 0))
            .unwrap();
        assert!((cost - 0.2).abs() < 1e-12);
    }

    #[test]
    fn sonnet_4_has_no_long_context_tier_as_the_client_prices_it() {
        // Claude Code 2.1.330's `total_cost_usd` for this request: $0.5865003
        let cost = PriceTable::built_in()
            .cost("claude-sonnet-4", &tokens(150_000, 1000, 30_000, 30_001))
            .unwrap();
        assert!((cost - 0.5865003).abs() < 1e-12, "{cost}");
        let cost = PriceTable::built_in()
            .cost("claude-sonnet-4", &tokens(1_000_000, 0, 0, 0))
            .unwrap();
        assert!((cost - 3.0).abs() < 1e-12, "{cost}");
    }
}
