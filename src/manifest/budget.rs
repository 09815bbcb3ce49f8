//! `budget:` in `mpm.yaml`: what Claude Code may spend and how large agents may
//! grow. Its numbers (`daily_usd`, `warning_threshold`, `max_prompt_tokens`,
//! `max_listing_tokens`, `enforce`) are settings of mpm's configuration layers
//! (`crate::config`): read here with their checks and positions, resolved there
//! with the user file, `MPM_BUDGET_*` and `CLAUDE_AGENT_DAILY_BUDGET_USD`. `prices`
//! is this file's own: a model's price is one project's fact, not a variable's.

use crate::checked::Invalid;
use crate::config::file::{Values, top_level_keys, top_level_schema, top_level_setting};
use schemars::JsonSchema;
use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

/// The section as read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BudgetSection {
    /// The settings it sets, checked, in the order written.
    pub settings: Values,
    /// Model id (`claude-opus-5-5`) → its price, over the built-in table.
    pub prices: BTreeMap<String, ModelPrice>,
}

impl BudgetSection {
    pub fn is_empty(&self) -> bool {
        self.settings.is_empty() && self.prices.is_empty()
    }
}

/// What a model costs, in US dollars per million tokens of each kind.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelPrice {
    /// Input tokens not read from or written to the prompt cache.
    #[serde(deserialize_with = "dollars")]
    #[schemars(range(min = 0))]
    pub input: f64,
    #[serde(deserialize_with = "dollars")]
    #[schemars(range(min = 0))]
    pub output: f64,
    /// Input tokens written to the prompt cache (`cache_creation_input_tokens`).
    #[serde(deserialize_with = "dollars")]
    #[schemars(range(min = 0))]
    pub cache_write: f64,
    /// Input tokens read from the prompt cache (`cache_read_input_tokens`).
    #[serde(deserialize_with = "dollars")]
    #[schemars(range(min = 0))]
    pub cache_read: f64,
    /// Other prices for a whole request past a size, the highest threshold that a
    /// request passes applying.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tiers: Vec<PriceTier>,
}

/// The prices of a request of more than `above_input_tokens` input tokens.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceTier {
    pub above_input_tokens: u64,
    #[serde(deserialize_with = "dollars")]
    #[schemars(range(min = 0))]
    pub input: f64,
    #[serde(deserialize_with = "dollars")]
    #[schemars(range(min = 0))]
    pub output: f64,
    #[serde(deserialize_with = "dollars")]
    #[schemars(range(min = 0))]
    pub cache_write: f64,
    #[serde(deserialize_with = "dollars")]
    #[schemars(range(min = 0))]
    pub cache_read: f64,
}

/// A price: a finite number of dollars, 0 or more.
fn dollars<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let n = f64::deserialize(d)?;
    if n.is_finite() && n >= 0.0 {
        Ok(n)
    } else {
        Err(de::Error::custom(
            Invalid::of_value(
                format!("is `{n:?}`: a price is US dollars per million tokens, 0 or more"),
                "write the price as a number, like `3` or `0.30`",
            )
            .to_serde(),
        ))
    }
}

impl<'de> Deserialize<'de> for BudgetSection {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = BudgetSection;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of budget settings")
            }
            fn visit_unit<E: de::Error>(self) -> Result<BudgetSection, E> {
                Ok(BudgetSection::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<BudgetSection, A::Error> {
                let mut section = BudgetSection::default();
                let mut known = top_level_keys("budget");
                known.push("prices");
                let mut seen = Vec::new();
                while let Some(key) = map.next_key_seed(Key {
                    known: &known,
                    seen: &seen,
                })? {
                    if key == "prices" {
                        section.prices = map.next_value::<Prices>()?.0;
                    } else if !top_level_setting("budget", &key, &mut map, &mut section.settings)? {
                        // (checked by `Key`: a setting)
                        map.next_value::<de::IgnoredAny>()?;
                    }
                    seen.push(key);
                }
                Ok(section)
            }
        }
        d.deserialize_any(V)
    }
}

/// A key of `budget:`, refused while serde_yaml is at it when it is unknown or
/// given twice, so that the error points at that key, not at the section.
struct Key<'a> {
    known: &'a [&'static str],
    seen: &'a [String],
}

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = String;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        // refused inside the visitor: serde_yaml gives the key's position only to
        // an error raised while it reads the key
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a budget setting's name")
    }
    fn visit_str<E: de::Error>(self, key: &str) -> Result<String, E> {
        if self.seen.iter().any(|k| k == key) {
            return Err(E::custom(format!("`budget.{key}` is set twice")));
        }
        if !self.known.contains(&key) {
            // serde's own wording, which the manifest's errors turn into a "did you
            // mean"
            let list: Vec<String> = self.known.iter().map(|k| format!("`{k}`")).collect();
            return Err(E::custom(format!(
                "unknown field `{key}`, expected one of {}",
                list.join(", ")
            )));
        }
        Ok(key.to_string())
    }
}

/// `prices:`, refusing a model given twice (serde_yaml would keep the last).
struct Prices(BTreeMap<String, ModelPrice>);

impl<'de> Deserialize<'de> for Prices {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Prices;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of model id → price")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Prices, A::Error> {
                let mut prices = BTreeMap::new();
                while let Some(model) = map.next_key::<String>()? {
                    if model.trim().is_empty() {
                        return Err(de::Error::custom("a model id is empty"));
                    }
                    if prices.contains_key(&model) {
                        return Err(de::Error::custom(format!(
                            "the price of `{}` is given twice",
                            crate::text::escaped(&model)
                        )));
                    }
                    let price = map.next_value::<ModelPrice>()?;
                    prices.insert(model, price);
                }
                Ok(Prices(prices))
            }
        }
        d.deserialize_map(V)
    }
}

impl Serialize for BudgetSection {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = serde_json::Map::new();
        for (key, raw) in &self.settings {
            let text = match raw {
                crate::config::Raw::Text(t) | crate::config::Raw::Path(t) => t.clone(),
                crate::config::Raw::Arg(a) => a.to_string_lossy().into_owned(),
            };
            let key = key.strip_prefix("budget.").unwrap_or(key);
            map.insert(key.to_string(), text.into());
        }
        if !self.prices.is_empty() {
            map.insert(
                "prices".into(),
                serde_json::to_value(&self.prices).map_err(serde::ser::Error::custom)?,
            );
        }
        map.serialize(s)
    }
}

impl JsonSchema for BudgetSection {
    fn schema_name() -> Cow<'static, str> {
        "Budget".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let mut properties = top_level_schema("budget");
        let price = generator.subschema_for::<ModelPrice>();
        properties.insert(
            "prices".into(),
            serde_json::json!({
                "description": "Model id → US dollars per million tokens, over mpm's built-in table",
                "type": "object",
                "additionalProperties": price,
            }),
        );
        schemars::json_schema!({
            "description": "What Claude Code may spend in a day, and how large agents may grow; the user file and `MPM_BUDGET_*` variables override the numbers",
            "type": "object",
            "properties": properties,
            "additionalProperties": false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(source: &str) -> Result<BudgetSection, String> {
        crate::manifest::load::parse(source, "mpm.yaml")
            .map(|m| m.budget)
            .map_err(|e| crate::Error::from(e).render())
    }

    #[test]
    fn the_numbers_are_settings_and_the_prices_are_typed() {
        let b = read(
            "version: 1\nbudget:\n  daily_usd: 25\n  warning_threshold: 0.9\n  prices:\n    claude-x: { input: 3, output: 15, cache_write: 3.75, cache_read: 0.3 }\n",
        )
        .unwrap();
        assert_eq!(
            b.settings,
            vec![
                ("budget.daily_usd", crate::config::Raw::Text("25".into())),
                (
                    "budget.warning_threshold",
                    crate::config::Raw::Text("0.9".into())
                ),
            ]
        );
        assert_eq!(b.prices["claude-x"].cache_write, 3.75);
        assert!(b.prices["claude-x"].tiers.is_empty());
    }

    #[test]
    fn bad_values_point_at_themselves() {
        let e = read("version: 1\nbudget:\n  warning_threshold: 1.5\n").unwrap_err();
        assert!(
            e.contains("`1.5` is not a number above 0 and at most 1")
                && e.contains("mpm.yaml:3:22"),
            "{e}"
        );
        let e = read("version: 1\nbudget:\n  daily_usd: -3\n").unwrap_err();
        assert!(
            e.contains("`-3` is not an amount of US dollars above 0"),
            "{e}"
        );
        let e = read("version: 1\nbudget:\n  daly_usd: 3\n").unwrap_err();
        assert!(
            e.contains("unknown key `daly_usd`") && e.contains("did you mean `daily_usd`"),
            "{e}"
        );
        let e = read(
            "version: 1\nbudget:\n  prices:\n    m: { input: 1, output: -1, cache_write: 0, cache_read: 0 }\n",
        )
        .unwrap_err();
        assert!(
            e.contains("a price is US dollars per million tokens"),
            "{e}"
        );
        let e = read("version: 1\nbudget:\n  prices:\n    m: { input: 1 }\n").unwrap_err();
        assert!(
            e.contains("missing key `output` in `budget.prices.m`"),
            "{e}"
        );
    }

    #[test]
    fn an_unknown_or_repeated_key_points_at_itself() {
        let e =
            read("version: 1\nbudget:\n  enforce: false\n  daily_usd: 5\n  wrning_threshold: 1\n")
                .unwrap_err();
        assert!(
            e.contains("unknown key `wrning_threshold`") && e.contains("mpm.yaml:5:3"),
            "{e}"
        );
        let e = read("version: 1\nbudget:\n  enforce: false\n  daily_usd: 5\n  daily_usd: 6\n")
            .unwrap_err();
        assert!(
            e.contains("`budget.daily_usd` is set twice") && e.contains("mpm.yaml:5:3"),
            "{e}"
        );
        let e = read("version: 1\nbudget:\n  enforce: false\n  prices: {}\n  prices: {}\n")
            .unwrap_err();
        assert!(
            e.contains("`budget.prices` is set twice") && e.contains("mpm.yaml:5:3"),
            "{e}"
        );
    }

    #[test]
    fn a_price_missing_a_key_or_of_the_wrong_type_says_what_a_price_is() {
        for bad in [
            "{ input: 1 }",
            "{ input: x, output: 1, cache_write: 1, cache_read: 1 }",
        ] {
            let e = read(&format!("version: 1\nbudget:\n  prices:\n    m: {bad}\n")).unwrap_err();
            assert!(
                e.contains("budget.prices.m")
                    && e.contains("hint: a price gives `input`, `output`, `cache_write` and `cache_read` in US dollars per million tokens"),
                "{e}"
            );
        }
    }
}
