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
            let spent = spent_today(options, &read_input(), &prices);
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
        Some(json) => serde_json::from_str(json).map_err(|e| format!("`--prices`: {e}"))?,
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

/// The client's JSON on stdin; what cannot be read is no input (the config
/// directory is then the client's default).
fn read_input() -> Input {
    let mut bytes = Vec::new();
    match std::io::stdin().take(INPUT_MAX).read_to_end(&mut bytes) {
        Ok(_) => serde_json::from_slice(&bytes).unwrap_or_default(),
        Err(_) => Input::default(),
    }
}

fn spent_today(
    options: &Options,
    input: &Input,
    prices: &BTreeMap<String, ModelPrice>,
) -> Result<Spent, String> {
    let config_dir = hook::config_dir(
        input,
        options.env.claude_config_dir.clone(),
        options.env.home.as_deref(),
    )
    .ok_or("there is no Claude Code config directory: no transcript path, no `CLAUDE_CONFIG_DIR` and no `HOME`")?;
    let cache = options.cache(None).map_err(|e| e.to_string())?;
    let spend = crate::usage::spend_today(&config_dir, &cache, prices, jiff::Timestamp::now())
        .map_err(|e| e.to_string())?;
    Ok(Spent {
        usd: spend.usd,
        unpriced: spend.unpriced_models,
    })
}
