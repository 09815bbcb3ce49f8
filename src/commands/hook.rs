//! `mpm hook budget`: the `UserPromptSubmit` hook `budget.enforce` installs. The
//! decision is `budget::hook`'s; here are its inputs (stdin, the arguments, the
//! usage index) and its outputs, exactly as the client reads them.

use crate::Error;
use crate::budget::Daily;
use crate::budget::hook::{self, Input, Outcome, Spent};
use crate::cli::{BudgetHookArgs, HookArgs, HookCommand};
use crate::config::{Fraction, Kind, Raw, Usd};
use crate::error::ExitStatus;
use crate::manifest::ModelPrice;
use crate::options::Options;
use crate::printer::Printer;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// The most of the hook's input read: it carries the prompt, which may be long.
const INPUT_MAX: u64 = 64 << 20;

pub fn run(options: &Options, args: &HookArgs, printer: &Printer) -> Result<ExitStatus, Error> {
    let HookCommand::Budget(args) = &args.hook;
    let outcome = match budget_of(args) {
        Ok((daily, prices)) => {
            let spent = read_input().and_then(|input| spent_today(options, &input, &prices));
            hook::decide(&daily, spent)
        }
        Err(why) => hook::decide(&unbounded(), Err(why)),
    };
    Ok(print(printer, &outcome))
}

/// A hook that could not run (its settings, its options): the prompt goes, and
/// the user is told why.
pub fn failed(printer: &Printer, error: &Error) -> ExitStatus {
    let why = error.render();
    let why = why
        .trim_end()
        .strip_prefix("error: ")
        .unwrap_or(why.trim_end());
    print(printer, &hook::decide(&unbounded(), Err(why.to_string())))
}

/// No budget: for a hook that has none to decide on.
fn unbounded() -> Daily {
    Daily {
        usd: f64::INFINITY,
        warning_threshold: 1.0,
    }
}

/// What the hook prints, and its exit status.
pub fn print(printer: &Printer, outcome: &Outcome) -> ExitStatus {
    printer.out(&outcome.stdout);
    if !outcome.stderr.is_empty() {
        printer.note(outcome.stderr.trim_end());
    }
    match outcome.code {
        2 => ExitStatus::Refused,
        _ => ExitStatus::Success,
    }
}

/// The budget on the hook's command line, checked as the settings are.
fn budget_of(args: &BudgetHookArgs) -> Result<(Daily, BTreeMap<String, ModelPrice>), String> {
    let base = Path::new("/");
    let usd = Usd::parse(&Raw::Arg(args.daily_usd.clone().into()), base)
        .map_err(|e| format!("`--daily-usd`: {}", e.about("the value")))?;
    let threshold = Fraction::parse(&Raw::Arg(args.warning_threshold.clone().into()), base)
        .map_err(|e| format!("`--warning-threshold`: {}", e.about("the value")))?;
    let prices = match &args.prices {
        Some(json) => serde_json::from_str(json).map_err(|e| prices_error(&e))?,
        None => BTreeMap::new(),
    };
    Ok((
        Daily {
            usd: usd.0,
            warning_threshold: threshold.0,
        },
        prices,
    ))
}

/// What is wrong with `--prices`, as the settings say it: a check's own message and
/// hint (never its markers), and where in the JSON.
fn prices_error(e: &serde_json::Error) -> String {
    let checked = crate::checked::Invalid::from_serde(&crate::text::strip_position(&e.to_string()));
    let hint = checked
        .hint
        .as_deref()
        .map(|h| format!("; {h}"))
        .unwrap_or_default();
    format!(
        "`--prices` (line {}, column {}): {}{hint}",
        e.line(),
        e.column(),
        crate::text::escaped(&checked.about("the value"))
    )
}

/// The client's JSON on stdin; what cannot be read says why (the prompt is then
/// let through: the hook does not guess whose directory to count).
fn read_input() -> Result<Input, String> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .take(INPUT_MAX)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("the hook's input could not be read: {e}"))?;
    parse_input(&bytes)
}

fn parse_input(bytes: &[u8]) -> Result<Input, String> {
    serde_json::from_slice(bytes).map_err(|e| {
        format!(
            "the hook's input is not the JSON object Claude Code sends ({})",
            crate::text::escaped(&e.to_string())
        )
    })
}

fn spent_today(
    options: &Options,
    input: &Input,
    prices: &BTreeMap<String, ModelPrice>,
) -> Result<Spent, String> {
    let config_dir = hook::config_dir(input)?;
    let cache = options.cache(None).map_err(|e| e.to_string())?;
    let spend = crate::usage::spend_today(&config_dir, &cache, prices, jiff::Timestamp::now())
        .map_err(|e| e.to_string())?;
    Ok(Spent {
        usd: spend.usd,
        unpriced: spend.unpriced_models,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(prices: &str) -> BudgetHookArgs {
        BudgetHookArgs {
            daily_usd: "5".into(),
            warning_threshold: "0.8".into(),
            prices: Some(prices.into()),
        }
    }

    #[test]
    fn input_that_is_not_the_clients_json_says_so() {
        assert_eq!(
            parse_input(b"not json").unwrap_err(),
            "the hook's input is not the JSON object Claude Code sends (expected ident at line 1 column 2)"
        );
        let input = parse_input(br#"{"transcript_path":"/c/projects/p/s.jsonl","prompt":"hi"}"#);
        assert_eq!(
            input.unwrap().transcript_path,
            Some("/c/projects/p/s.jsonl".into())
        );
    }

    #[test]
    fn a_bad_price_says_what_is_wrong_without_the_checks_markers() {
        let why = budget_of(&args(
            r#"{"m":{"input":-1,"output":0,"cache_write":0,"cache_read":0}}"#,
        ))
        .unwrap_err();
        assert_eq!(
            why,
            "`--prices` (line 1, column 16): the value is `-1.0`: a price is US dollars per million tokens, 0 or more; write the price as a number, like `3` or `0.30`"
        );
        let why = budget_of(&args("{")).unwrap_err();
        assert_eq!(
            why,
            "`--prices` (line 1, column 1): EOF while parsing an object"
        );
    }
}
