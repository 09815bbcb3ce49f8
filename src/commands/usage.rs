//! `mpm usage [daily|weekly|monthly|session|agent|model]`: real spend from Claude
//! Code's transcripts ([`crate::usage`]), as a table or JSON, and today's spend
//! against the daily budget, with exit codes a cron job or CI can alert on (3: at
//! or past the warning threshold, 4: at or over the budget).

use crate::Error;
use crate::budget::{Daily, Standing};
use crate::cache::{Cache, Limits};
use crate::cli::{UsageArgs, UsageReport};
use crate::config::TargetSetting;
use crate::error::ExitStatus;
use crate::manifest::ModelPrice;
use crate::options::Options;
use crate::printer::Printer;
use crate::usage::Tokens;
use crate::usage::index::{self, Refresh};
use crate::usage::prices::PriceTable;
use crate::usage::report::{self, By, Priced, Row, Sum};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

/// The JSON's version; minor versions only add keys.
const FORMAT_VERSION: &str = "1.0";

pub fn run(options: &Options, args: &UsageArgs, printer: &Printer) -> Result<ExitStatus, Error> {
    let (config_dir, redirected) = config_dir(options, args)?;
    let tz = timezone(args.timezone.as_deref(), printer)?;
    let since = day(args.since.as_deref(), "--since")?;
    let until = day(args.until.as_deref(), "--until")?;
    if let (Some(s), Some(u)) = (since, until)
        && s > u
    {
        return Err(Error::usage(
            format!("`--since {s}` is after `--until {u}`"),
            Some("give the earlier day to `--since`".to_string()),
        ));
    }
    // no folder for the cache (no `HOME`): every transcript is read, nothing kept
    let cache = options
        .cache(options.manifest_if_found())
        .unwrap_or_else(|_| Cache::disabled(PathBuf::new(), Limits::default()));
    let shown_dir = crate::paths::display(&config_dir, &options.env.cwd);
    if !config_dir.is_dir() {
        // a directory asked for by name is a typo until shown otherwise; the default
        // one is only a client that has not run yet
        if args.config_dir.is_some() {
            return Err(Error::usage(
                format!(
                    "`--config-dir {}`: there is no such directory",
                    shown(&shown_dir)
                ),
                Some("give the Claude Code config directory whose transcripts to read (the one holding `projects/`), like `~/.claude`".to_string()),
            ));
        }
        printer.note(&format!(
            "`{}` does not exist: Claude Code has written no transcripts there yet",
            shown(&shown_dir)
        ));
    }
    let (index, refresh) = index::refresh(&config_dir, &cache, !args.no_index)?;
    // a cache: failing to bound it fails nothing
    let _ = cache.finish();
    let overrides = price_overrides(options);
    let table = PriceTable::with_overrides(&overrides);
    let (priced, found) = report::price(&index, &table, &tz);
    let today = jiff::Timestamp::now().to_zoned(tz.clone()).date();
    let budget = Daily::of(&options.settings);
    let today_sum = report::total(&priced, Some(today), Some(today));
    let state = budget.map(|b| b.standing(today_sum.cost_usd));
    let by = by(args.report);
    let rows = report::rows(&priced, by, since, until);
    let total = report::total(&priced, since, until);
    if let Some(from) = redirected {
        printer.note(&format!(
            "The target is a project ({from}): Claude Code writes its transcripts to the user config directory, so these are `{}`'s.",
            shown(&shown_dir)
        ));
    }
    if found.malformed > 0 {
        printer.warn(&format!(
            "skipped {} line(s) of transcripts that could not be read (not JSON, or a usage line whose time or token counts do not parse)",
            found.malformed
        ));
    }
    if !total.unpriced.is_empty() {
        let models: Vec<String> = total
            .unpriced
            .iter()
            .map(|m| format!("`{}`", shown(m)))
            .collect();
        printer.warn(&format!(
            "no price for {} and no cost from the client: their cost is unknown and not in the sums; add them to `budget.prices` in `mpm.yaml`",
            models.join(", ")
        ));
    }
    let context = Context {
        report: args.report,
        by,
        tz: &tz,
        today,
        since,
        until,
        breakdown: args.breakdown,
    };
    if args.json {
        let doc = json_doc(
            &context,
            &JsonParts {
                priced: &priced,
                config_dir: &config_dir,
                rows: &rows,
                total: &total,
                budget,
                today: &today_sum,
                state,
                table: &table,
                overrides: &overrides,
                found: &found,
                refresh: &refresh,
            },
        );
        let mut out = serde_json::to_string_pretty(&doc).unwrap_or_default();
        out.push('\n');
        printer.out(&out);
    } else {
        let mut out = match args.report {
            UsageReport::Weekly => weekly_text(&context, &rows, &priced),
            _ => table_text(&context, &rows, &total),
        };
        if let (Some(b), Some(state)) = (budget, state) {
            let _ = writeln!(
                out,
                "today: {}{}",
                b.describe(today_sum.cost_usd),
                match state {
                    Standing::Under => String::new(),
                    Standing::Warning => format!(
                        ": past the warning threshold ({:.0} %)",
                        b.warning_threshold * 100.0
                    ),
                    Standing::Over => ": over budget".to_string(),
                }
            );
        }
        printer.out(&out);
    }
    Ok(match state {
        Some(Standing::Over) => ExitStatus::OverBudget,
        Some(Standing::Warning) => ExitStatus::BudgetWarning,
        _ => ExitStatus::Success,
    })
}

/// Which config directory's transcripts: `--config-dir`, else the target's; for a
/// project target the user config directory, where the client writes them (and
/// what the target was, to say so).
fn config_dir(options: &Options, args: &UsageArgs) -> Result<(PathBuf, Option<String>), Error> {
    if let Some(dir) = &args.config_dir {
        return Ok((crate::paths::normalize(&options.env.cwd.join(dir)), None));
    }
    let user = || {
        options
            .env
            .claude_config_dir
            .clone()
            .or_else(|| options.env.home.as_ref().map(|h| h.join(".claude")))
            .map(|d| crate::paths::normalize(&options.env.cwd.join(d)))
            .ok_or_else(|| {
                Error::usage(
                    "there is no user config directory: neither `CLAUDE_CONFIG_DIR` nor `HOME` is set",
                    Some("pass `--config-dir DIR`".to_string()),
                )
            })
    };
    match &options.settings.target.value {
        TargetSetting::Dir(dir) => Ok((dir.clone(), None)),
        TargetSetting::User => Ok((user()?, None)),
        // without a manifest there is no project: the user's own directory is meant
        TargetSetting::Project if options.manifest_if_found().is_none() => Ok((user()?, None)),
        TargetSetting::Project => Ok((user()?, Some("`target: project`".to_string()))),
    }
}

fn timezone(name: Option<&str>, printer: &Printer) -> Result<TimeZone, Error> {
    match name {
        // without `TZ`, the system's zone (UTC when it has none)
        None if std::env::var_os("TZ").is_none() => Ok(TimeZone::system()),
        // a `TZ` that names no zone would put every request on another day unseen
        None => TimeZone::try_system().or_else(|e| {
            let fallback = TimeZone::system();
            printer.warn(&format!(
                "the time zone of `TZ` could not be read ({}): days are counted in `{}`; fix `TZ` or pass `--timezone`",
                crate::text::escaped(&e.to_string()),
                fallback.iana_name().unwrap_or("UTC")
            ));
            Ok(fallback)
        }),
        Some(name) => TimeZone::get(name).map_err(|e| {
            Error::usage(
                format!("unknown time zone `{name}`: {e}"),
                Some("name one of the system's (`UTC`, `Europe/Paris`), or leave `--timezone` out for `TZ`, else the system's".to_string()),
            )
        }),
    }
}

/// A local day, written `YYYY-MM-DD` and nothing else (jiff would read a time
/// after it too, and drop it unseen).
fn day(text: Option<&str>, flag: &str) -> Result<Option<Date>, Error> {
    text.map(|t| {
        let shaped = t.len() == 10
            && t.bytes().enumerate().all(|(i, b)| match i {
                4 | 7 => b == b'-',
                _ => b.is_ascii_digit(),
            });
        shaped
            .then(|| t.parse::<Date>().ok())
            .flatten()
            .ok_or_else(|| {
                Error::usage(
                    format!("`{flag} {}` is not a day", shown(t)),
                    Some("write it `YYYY-MM-DD`, e.g. `2026-12-01`".to_string()),
                )
            })
    })
    .transpose()
}

fn by(report: UsageReport) -> By {
    match report {
        UsageReport::Daily => By::Day,
        UsageReport::Weekly => By::Week,
        UsageReport::Monthly => By::Month,
        UsageReport::Session => By::Session,
        UsageReport::Agent => By::Agent,
        UsageReport::Model => By::Model,
    }
}

/// `budget.prices` of `mpm.yaml`, when there is one.
fn price_overrides(options: &Options) -> BTreeMap<String, ModelPrice> {
    options
        .manifest_if_found()
        .map(|l| l.manifest.budget.prices.clone())
        .unwrap_or_default()
}

struct Context<'a> {
    report: UsageReport,
    by: By,
    tz: &'a TimeZone,
    today: Date,
    since: Option<Date>,
    until: Option<Date>,
    breakdown: bool,
}

fn usd(v: f64) -> String {
    if v.abs() >= 1.0 {
        format!("${v:.2}")
    } else {
        format!("${v:.4}")
    }
}

fn cost_text(sum: &Sum) -> String {
    match (sum.cost(), sum.unpriced.is_empty()) {
        (None, _) => "unknown".to_string(),
        (Some(c), true) => usd(c),
        (Some(c), false) => format!("{} + ?", usd(c)),
    }
}

/// A name from the transcripts (a model, an agent, a project folder) as the text
/// shows it: every control character escaped (`\u{1b}`), tab and newline too, so
/// a transcript can neither send a terminal escape nor break a table's line.
fn shown(name: &str) -> String {
    name.chars()
        .map(|c| match c.is_control() {
            true => c.escape_unicode().to_string(),
            false => c.to_string(),
        })
        .collect()
}

/// `1234567` → `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn first_column(by: By) -> &'static str {
    match by {
        By::Day => "Date",
        By::Week => "Week",
        By::Month => "Month",
        By::Session => "Session",
        By::Agent => "Agent",
        By::Model => "Model",
    }
}

/// A table like ccusage's: one line per row, then the total.
fn table_text(ctx: &Context, rows: &[Row], total: &Sum) -> String {
    let mut lines: Vec<[String; 8]> = vec![[
        first_column(ctx.by).to_string(),
        "Input".into(),
        "Output".into(),
        "Cache write".into(),
        "Cache read".into(),
        "Total tokens".into(),
        "Cost (USD)".into(),
        "Source".into(),
    ]];
    let line = |key: String, sum: &Sum| -> [String; 8] {
        [
            shown(&key),
            thousands(sum.tokens.input),
            thousands(sum.tokens.output),
            thousands(sum.tokens.cache_write),
            thousands(sum.tokens.cache_read),
            thousands(sum.tokens.total()),
            cost_text(sum),
            sum.source().as_str().to_string(),
        ]
    };
    for row in rows {
        let mut key = row.key.clone();
        if ctx.by == By::Session && !row.agents.is_empty() {
            let agents: Vec<&str> = row.agents.iter().map(String::as_str).collect();
            key = format!("{key} ({})", agents.join(", "));
        }
        lines.push(line(key, &row.sum));
        if ctx.breakdown {
            for (model, sum) in &row.models {
                lines.push(line(format!("  {model}"), sum));
            }
        }
    }
    lines.push(line("Total".to_string(), total));
    if rows.is_empty() {
        return "No usage in the transcripts for these days.\n".to_string();
    }
    render(&lines)
}

/// Columns padded: the first to the left, the numbers to the right.
fn render(lines: &[[String; 8]]) -> String {
    let mut widths = [0usize; 8];
    for line in lines {
        for (w, cell) in widths.iter_mut().zip(line) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for line in lines {
        let mut text = String::new();
        for (i, (cell, w)) in line.iter().zip(widths).enumerate() {
            let pad = w - cell.chars().count();
            match i {
                0 => {
                    text.push_str(cell);
                    text.push_str(&" ".repeat(pad));
                }
                7 => {
                    text.push_str("  ");
                    text.push_str(cell);
                }
                _ => {
                    text.push_str("  ");
                    text.push_str(&" ".repeat(pad));
                    text.push_str(cell);
                }
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    }
    out
}

/// The days of the ISO week holding `date`.
fn week_days(date: Date) -> (Date, Date) {
    let offset = i64::from(date.weekday().to_monday_zero_offset());
    let start = date
        .checked_sub(jiff::Span::new().days(offset))
        .unwrap_or(date);
    let end = start
        .checked_add(jiff::Span::new().days(6))
        .unwrap_or(start);
    (start, end)
}

/// The days of a week counted for its average: those within `--since`/`--until`
/// and not after today.
fn counted_days(ctx: &Context, start: Date, end: Date) -> i64 {
    let mut from = start;
    if let Some(s) = ctx.since {
        from = from.max(s);
    }
    let mut to = end.min(ctx.today);
    if let Some(u) = ctx.until {
        to = to.min(u);
    }
    if to < from {
        return 1;
    }
    from.until(to)
        .map(|span| i64::from(span.get_days()) + 1)
        .unwrap_or(1)
        .max(1)
}

/// The top `n` keys by cost of the requests of a week.
fn top<'a>(
    priced: &'a [Priced],
    ctx: &Context,
    week: &str,
    key: impl Fn(&Priced<'a>) -> &'a str,
) -> Vec<(String, f64)> {
    let mut by: BTreeMap<&str, f64> = BTreeMap::new();
    for p in priced.iter().filter(|p| {
        report::within(p.date, ctx.since, ctx.until) && report::iso_week(p.date) == week
    }) {
        *by.entry(key(p)).or_default() += p.cost.unwrap_or(0.0);
    }
    let mut top: Vec<(String, f64)> = by.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    top.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    top.truncate(3);
    top
}

struct Week {
    start: Date,
    end: Date,
    peak: Option<(Date, f64)>,
    average: f64,
    agents: Vec<(String, f64)>,
    models: Vec<(String, f64)>,
}

fn week_of(ctx: &Context, row: &Row, priced: &[Priced]) -> Week {
    let first = row.days.keys().next().copied().unwrap_or(ctx.today);
    let (start, end) = week_days(first);
    let peak = row
        .days
        .iter()
        .map(|(d, s)| (*d, s.cost_usd))
        .max_by(|a, b| a.1.total_cmp(&b.1).then_with(|| b.0.cmp(&a.0)));
    let average = row.sum.cost_usd / counted_days(ctx, start, end) as f64;
    Week {
        start,
        end,
        peak,
        average,
        agents: top(priced, ctx, &row.key, |p| p.agent),
        models: top(priced, ctx, &row.key, |p| p.model),
    }
}

/// The seed's weekly report: per ISO week, each day's spend, the week's total, the
/// peak day, the average per day, and the top agents and models.
fn weekly_text(ctx: &Context, rows: &[Row], priced: &[Priced]) -> String {
    if rows.is_empty() {
        return "No usage in the transcripts for these days.\n".to_string();
    }
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let week = week_of(ctx, row, priced);
        let _ = writeln!(out, "Week {} ({} to {})", row.key, week.start, week.end);
        for (date, sum) in &row.days {
            let _ = writeln!(
                out,
                "  {:<14}  {:>12}  {:>12} tokens",
                format!("{date} {}", weekday(*date)),
                cost_text(sum),
                thousands(sum.tokens.total())
            );
        }
        let _ = writeln!(
            out,
            "  {:<14}  {:>12}  {:>12} tokens  ({})",
            "Total",
            cost_text(&row.sum),
            thousands(row.sum.tokens.total()),
            row.sum.source().as_str()
        );
        if let Some((date, cost)) = week.peak {
            let _ = writeln!(out, "  Peak day: {date} ({})", usd(cost));
        }
        let _ = writeln!(out, "  Average per day: {}", usd(week.average));
        let list = |top: &[(String, f64)]| {
            top.iter()
                .map(|(k, v)| format!("{} {}", shown(k), usd(*v)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(out, "  Top agents: {}", list(&week.agents));
        let _ = writeln!(out, "  Top models: {}", list(&week.models));
    }
    out
}

fn weekday(date: Date) -> &'static str {
    use jiff::civil::Weekday::*;
    match date.weekday() {
        Monday => "Mon",
        Tuesday => "Tue",
        Wednesday => "Wed",
        Thursday => "Thu",
        Friday => "Fri",
        Saturday => "Sat",
        Sunday => "Sun",
    }
}

struct JsonParts<'a> {
    priced: &'a [Priced<'a>],
    config_dir: &'a std::path::Path,
    rows: &'a [Row],
    total: &'a Sum,
    budget: Option<Daily>,
    today: &'a Sum,
    state: Option<Standing>,
    table: &'a PriceTable,
    overrides: &'a BTreeMap<String, ModelPrice>,
    found: &'a report::Found,
    refresh: &'a Refresh,
}

fn sum_json(sum: &Sum) -> serde_json::Map<String, Value> {
    let Tokens {
        input,
        output,
        cache_write,
        cache_read,
    } = sum.tokens;
    let mut map = serde_json::Map::new();
    map.insert("input_tokens".into(), input.into());
    map.insert("output_tokens".into(), output.into());
    map.insert("cache_creation_input_tokens".into(), cache_write.into());
    map.insert("cache_read_input_tokens".into(), cache_read.into());
    map.insert("total_tokens".into(), sum.tokens.total().into());
    map.insert("requests".into(), sum.requests.into());
    map.insert("cost_usd".into(), json!(sum.cost()));
    map.insert("cost_source".into(), sum.source().as_str().into());
    map.insert(
        "unpriced_models".into(),
        json!(sum.unpriced.iter().collect::<Vec<_>>()),
    );
    map
}

fn key_name(by: By) -> &'static str {
    match by {
        By::Day => "date",
        By::Week => "week",
        By::Month => "month",
        By::Session => "session",
        By::Agent => "agent",
        By::Model => "model",
    }
}

fn time_json(ms: Option<i64>) -> Value {
    ms.and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
        .map_or(Value::Null, |t| Value::String(t.to_string()))
}

fn row_json(ctx: &Context, row: &Row, priced: &[Priced]) -> Value {
    let mut map = serde_json::Map::new();
    map.insert(key_name(ctx.by).into(), row.key.clone().into());
    map.extend(sum_json(&row.sum));
    match ctx.by {
        By::Session => {
            let (project, id) = row.key.split_once('/').unwrap_or(("", &row.key));
            map.insert("project".into(), project.into());
            map.insert("session_id".into(), id.into());
            map.insert("agents".into(), json!(row.agents));
            map.insert("first".into(), time_json(row.sum.first_ms));
            map.insert("last".into(), time_json(row.sum.last_ms));
        }
        By::Week => {
            let week = week_of(ctx, row, priced);
            map.insert("start".into(), week.start.to_string().into());
            map.insert("end".into(), week.end.to_string().into());
            let days: Vec<Value> = row
                .days
                .iter()
                .map(|(d, s)| {
                    let mut day = serde_json::Map::new();
                    day.insert("date".into(), d.to_string().into());
                    day.extend(sum_json(s));
                    Value::Object(day)
                })
                .collect();
            map.insert("days".into(), days.into());
            map.insert(
                "peak_day".into(),
                week.peak.map_or(
                    Value::Null,
                    |(d, c)| json!({"date": d.to_string(), "cost_usd": c}),
                ),
            );
            map.insert("average_per_day_usd".into(), json!(week.average));
            let list = |top: Vec<(String, f64)>, name: &str| -> Value {
                top.into_iter()
                    .map(|(k, v)| json!({name: k, "cost_usd": v}))
                    .collect::<Vec<_>>()
                    .into()
            };
            map.insert("top_agents".into(), list(week.agents, "agent"));
            map.insert("top_models".into(), list(week.models, "model"));
        }
        _ => {}
    }
    if ctx.breakdown {
        let models: Vec<Value> = row
            .models
            .iter()
            .map(|(m, s)| {
                let mut model = serde_json::Map::new();
                model.insert("model".into(), m.clone().into());
                model.extend(sum_json(s));
                Value::Object(model)
            })
            .collect();
        map.insert("models".into(), models.into());
    }
    Value::Object(map)
}

fn json_doc(ctx: &Context, parts: &JsonParts) -> Value {
    let rows: Vec<Value> = parts
        .rows
        .iter()
        .map(|r| row_json(ctx, r, parts.priced))
        .collect();
    let budget = match (parts.budget, parts.state) {
        (Some(b), Some(state)) => json!({
            "daily_usd": b.usd,
            "warning_threshold": b.warning_threshold,
            "date": ctx.today.to_string(),
            "today_usd": parts.today.cost_usd,
            "today_cost_source": parts.today.source().as_str(),
            "state": state.as_str(),
        }),
        _ => Value::Null,
    };
    json!({
        "format_version": FORMAT_VERSION,
        "report": report_name(ctx.report),
        "config_dir": parts.config_dir.display().to_string(),
        "timezone": ctx.tz.iana_name().unwrap_or("system"),
        "since": ctx.since.map(|d| d.to_string()),
        "until": ctx.until.map(|d| d.to_string()),
        "rows": rows,
        "total": Value::Object(sum_json(parts.total)),
        "budget": budget,
        "prices": {
            "source": parts.table.source,
            "date": parts.table.date,
            "client_version": parts.table.client_version,
            "list_source": parts.table.list_source,
            "list_date": parts.table.list_date,
            "list_models": parts.table.list_models.keys().collect::<Vec<_>>(),
            "overridden": parts.overrides.keys().collect::<Vec<_>>(),
        },
        "notes": {
            "transcripts": parts.refresh.files,
            "malformed_lines": parts.found.malformed,
            "duplicate_requests": parts.found.duplicates,
            "partial_lines": parts.refresh.partial_lines,
        },
        "index": parts.refresh,
    })
}

fn report_name(report: UsageReport) -> &'static str {
    match report {
        UsageReport::Daily => "daily",
        UsageReport::Weekly => "weekly",
        UsageReport::Monthly => "monthly",
        UsageReport::Session => "session",
        UsageReport::Agent => "agent",
        UsageReport::Model => "model",
    }
}
