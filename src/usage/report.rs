//! From the index to reports: each request counted once, priced, attributed to its
//! local day, session, agent and model, and summed into rows. Pure: values in,
//! values out.
//!
//! Cost: each request is priced with the table (tiers included). Where the session's
//! transcript has the client's own figure (`cost-state`, per model, subagents
//! included), the table's cost of that model's requests in the session is scaled
//! so that they sum to the client's figure exactly; a model the table has no price
//! for takes its share of the client's figure by tokens. Without a `cost-state`
//! the table's cost stands; without either, the request's cost is unknown.

use crate::usage::index::Index;
use crate::usage::prices::PriceTable;
use crate::usage::transcript;
use crate::usage::{CostSource, Tokens};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// One request, counted once and priced.
#[derive(Debug, Clone, PartialEq)]
pub struct Priced<'a> {
    pub ts_ms: i64,
    pub date: Date,
    pub session: &'a str,
    pub agent: &'a str,
    pub model: &'a str,
    pub tokens: Tokens,
    /// `None`: no price for the model and no client figure.
    pub cost: Option<f64>,
    pub source: CostSource,
}

/// What pricing found beside the requests.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Found {
    /// Requests seen more than once (same `message.id` and `requestId`).
    pub duplicates: u64,
    pub malformed: u64,
}

/// Every request of `index`, each (`message.id`, `requestId`) once (the first
/// file in path order keeps it: a main session before its subagents), priced with
/// `table` and the sessions' `cost-state`s, on its day in `tz`.
pub fn price<'a>(index: &'a Index, table: &PriceTable, tz: &TimeZone) -> (Vec<Priced<'a>>, Found) {
    let mut found = Found::default();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    // the client's figures, by session and model
    let mut client: HashMap<&str, &BTreeMap<String, f64>> = HashMap::new();
    for (rel, entry) in &index.files {
        found.malformed += entry.malformed;
        let session = transcript::session_of(rel);
        if let Some(state) = &entry.cost_state {
            client.insert(session, &state.models);
        }
        for (key, ts_ms, model, tokens) in entry.requests() {
            if let Some(key) = key
                && !seen.insert(key)
            {
                found.duplicates += 1;
                continue;
            }
            out.push(Priced {
                ts_ms,
                date: local_date(ts_ms, tz),
                session,
                agent: &entry.agent,
                model,
                tokens,
                cost: table.cost(model, &tokens),
                source: CostSource::Table,
            });
        }
    }
    // per session and model: the table's sum and the tokens, to scale to the client's
    let mut sums: HashMap<(&str, &str), (f64, bool, u64)> = HashMap::new();
    for p in &out {
        let sum = sums.entry((p.session, p.model)).or_default();
        sum.0 += p.cost.unwrap_or(0.0);
        sum.1 |= p.cost.is_none();
        // a transcript's counts are anyone's numbers: they never overflow
        sum.2 = sum.2.saturating_add(p.tokens.total());
    }
    for p in &mut out {
        let Some(&client_usd) = client.get(p.session).and_then(|m| m.get(p.model)) else {
            continue;
        };
        let Some(&(table_usd, unpriced, tokens)) = sums.get(&(p.session, p.model)) else {
            continue;
        };
        p.cost = match (p.cost, unpriced) {
            (Some(cost), false) if table_usd > 0.0 => Some(cost * client_usd / table_usd),
            _ if tokens > 0 => Some(client_usd * p.tokens.total() as f64 / tokens as f64),
            _ => Some(0.0),
        };
        p.source = CostSource::Client;
    }
    (out, found)
}

/// The local day of a time.
pub fn local_date(ts_ms: i64, tz: &TimeZone) -> Date {
    jiff::Timestamp::from_millisecond(ts_ms)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_zoned(tz.clone())
        .date()
}

/// A report's rows are by this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    Day,
    Week,
    Month,
    Session,
    Agent,
    Model,
}

/// The sums of some requests.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sum {
    pub tokens: Tokens,
    /// Of the requests with a known cost.
    pub cost_usd: f64,
    pub requests: u64,
    pub client: bool,
    pub table: bool,
    /// Models of requests whose cost is unknown.
    pub unpriced: BTreeSet<String>,
    pub first_ms: Option<i64>,
    pub last_ms: Option<i64>,
}

impl Sum {
    pub fn add(&mut self, p: &Priced) {
        self.tokens.add(&p.tokens);
        self.requests = self.requests.saturating_add(1);
        match p.cost {
            Some(cost) => {
                self.cost_usd += cost;
                match p.source {
                    CostSource::Client => self.client = true,
                    _ => self.table = true,
                }
            }
            None => {
                self.unpriced.insert(p.model.to_string());
            }
        }
        self.first_ms = Some(self.first_ms.map_or(p.ts_ms, |f| f.min(p.ts_ms)));
        self.last_ms = Some(self.last_ms.map_or(p.ts_ms, |l| l.max(p.ts_ms)));
    }

    pub fn source(&self) -> CostSource {
        match (self.client, self.table) {
            (true, true) => CostSource::Mixed,
            (true, false) => CostSource::Client,
            (false, true) => CostSource::Table,
            (false, false) if self.unpriced.is_empty() => CostSource::Table,
            (false, false) => CostSource::Unpriced,
        }
    }

    /// `None` when no request of it has a known cost but some have none.
    pub fn cost(&self) -> Option<f64> {
        match (self.client || self.table, self.unpriced.is_empty()) {
            (false, false) => None,
            _ => Some(self.cost_usd),
        }
    }
}

/// One row of a report.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The day, week (`2026-W49`), month, session, agent or model.
    pub key: String,
    pub sum: Sum,
    /// The same, by model (for `--breakdown`).
    pub models: BTreeMap<String, Sum>,
    /// The agents of the row, for a session report.
    pub agents: BTreeSet<String>,
    /// By local day (a weekly report's days).
    pub days: BTreeMap<Date, Sum>,
}

/// The rows by `by`, of the requests within `since..=until` (local days), sorted by
/// key (time for days, weeks and months; cost, highest first, for the others).
pub fn rows(priced: &[Priced], by: By, since: Option<Date>, until: Option<Date>) -> Vec<Row> {
    let mut rows: BTreeMap<String, Row> = BTreeMap::new();
    for p in priced.iter().filter(|p| within(p.date, since, until)) {
        let key = key_of(p, by);
        let row = rows.entry(key.clone()).or_insert_with(|| Row {
            key,
            sum: Sum::default(),
            models: BTreeMap::new(),
            agents: BTreeSet::new(),
            days: BTreeMap::new(),
        });
        row.sum.add(p);
        row.models.entry(p.model.to_string()).or_default().add(p);
        row.agents.insert(p.agent.to_string());
        row.days.entry(p.date).or_default().add(p);
    }
    let mut rows: Vec<Row> = rows.into_values().collect();
    if matches!(by, By::Session | By::Agent | By::Model) {
        rows.sort_by(|a, b| {
            b.sum
                .cost_usd
                .total_cmp(&a.sum.cost_usd)
                .then_with(|| a.key.cmp(&b.key))
        });
    }
    rows
}

pub fn within(date: Date, since: Option<Date>, until: Option<Date>) -> bool {
    since.is_none_or(|s| date >= s) && until.is_none_or(|u| date <= u)
}

fn key_of(p: &Priced, by: By) -> String {
    match by {
        By::Day => p.date.to_string(),
        By::Week => iso_week(p.date),
        By::Month => format!("{:04}-{:02}", p.date.year(), p.date.month()),
        By::Session => p.session.to_string(),
        By::Agent => p.agent.to_string(),
        By::Model => p.model.to_string(),
    }
}

/// `2026-W49`.
pub fn iso_week(date: Date) -> String {
    let week = date.iso_week_date();
    format!("{:04}-W{:02}", week.year(), week.week())
}

/// The sum of every request within the range.
pub fn total(priced: &[Priced], since: Option<Date>, until: Option<Date>) -> Sum {
    let mut sum = Sum::default();
    for p in priced.iter().filter(|p| within(p.date, since, until)) {
        sum.add(p);
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::index::FileEntry;
    use crate::usage::transcript::CostState;

    fn entry(agent: &str, requests: Vec<crate::usage::index::Row>) -> FileEntry {
        FileEntry {
            dev: 0,
            ino: 0,
            read: 0,
            mtime_ns: 0,
            ctime_ns: 0,
            tail: crate::hash::Digest::of(b""),
            agent: agent.into(),
            models: vec!["claude-opus-5-5".into(), "claude-sonnet-5-5".into()],
            requests,
            cost_state: None,
            malformed: 0,
        }
    }

    const DAY: i64 = 86_400_000;

    #[test]
    fn a_duplicate_counts_once_and_the_client_figure_scales_the_table() {
        let mut index = Index::default();
        let mut main = entry(
            "main",
            vec![
                (Some(1), 0, 0, 1000, 0, 0, 0),
                (Some(1), 0, 0, 1000, 0, 0, 0),
            ],
        );
        main.cost_state = Some(CostState {
            total_usd: 0.008 + 0.002,
            models: [
                ("claude-opus-5-5".to_string(), 0.008),
                ("claude-sonnet-5-5".to_string(), 0.002),
            ]
            .into_iter()
            .collect(),
        });
        index.files.insert("-p/s.jsonl".into(), main);
        index.files.insert(
            "-p/s/subagents/agent-a.jsonl".into(),
            entry(
                "qa",
                vec![
                    (Some(2), DAY, 1, 1000, 0, 0, 0),
                    (Some(1), 0, 0, 1000, 0, 0, 0),
                ],
            ),
        );
        let (priced, found) = price(&index, &PriceTable::built_in(), &TimeZone::UTC);
        assert_eq!(found.duplicates, 2);
        assert_eq!(priced.len(), 2);
        // the table says $0.004 for 1000 opus tokens; the client $0.008
        assert!((priced[0].cost.unwrap() - 0.008).abs() < 1e-12);
        assert_eq!(priced[0].source, CostSource::Client);
        let agents = rows(&priced, By::Agent, None, None);
        assert_eq!(agents[0].key, "main");
        assert_eq!(agents[1].key, "qa");
        let days = rows(&priced, By::Day, None, Some(Date::constant(1970, 1, 1)));
        assert_eq!(days.len(), 1);
        assert_eq!(days[0].sum.tokens.input, 1000);
    }

    #[test]
    fn an_unknown_model_without_a_client_figure_has_no_cost() {
        let mut index = Index::default();
        let mut e = entry("main", vec![(None, 0, 0, 10, 0, 0, 0)]);
        e.models = vec!["claude-unknown".into()];
        index.files.insert("-p/s.jsonl".into(), e);
        let (priced, _) = price(&index, &PriceTable::built_in(), &TimeZone::UTC);
        let sum = total(&priced, None, None);
        assert_eq!(sum.cost(), None);
        assert_eq!(sum.source(), CostSource::Unpriced);
        assert!(sum.unpriced.contains("claude-unknown"));
    }

    #[test]
    fn weeks_are_iso_weeks() {
        assert_eq!(iso_week(Date::constant(2026, 12, 2)), "2026-W49");
        assert_eq!(iso_week(Date::constant(2027, 1, 1)), "2026-W53");
    }

    #[test]
    fn huge_token_counts_saturate_instead_of_overflowing() {
        let mut index = Index::default();
        let max = u64::MAX;
        index.files.insert(
            "-p/s.jsonl".into(),
            entry(
                "main",
                vec![
                    (Some(1), 0, 0, max, max, 0, 0),
                    (Some(2), 0, 0, max, 0, 0, 0),
                ],
            ),
        );
        let (priced, _) = price(&index, &PriceTable::built_in(), &TimeZone::UTC);
        let sum = total(&priced, None, None);
        assert_eq!(sum.tokens.input, max);
        assert_eq!(sum.tokens.total(), max);
        assert!(sum.cost_usd.is_finite());
    }
}
