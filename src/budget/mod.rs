//! The daily budget: where a day's spend stands against `budget.daily_usd`, and
//! the `UserPromptSubmit` hook that `budget.enforce` installs, through which Claude
//! Code itself stops new prompts once the day's budget is spent.
//!
//! The hook is an entry of the target's `settings.json` that mpm owns, like any
//! element of `settings:`: it runs `mpm hook budget` with the budget written on its
//! command line, so that the plan shows a changed budget as a changed hook and the
//! hook reads no manifest (it runs in whatever directory the session is in).

pub mod hook;

use crate::config::Settings;
use crate::manifest::ModelPrice;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// How long the client lets the hook run before it gives up on it (and lets the
/// prompt through): reading months of transcripts the first time takes a few
/// seconds; later runs read only what was appended.
pub const HOOK_TIMEOUT_SECS: u64 = 30;

/// A daily budget: at most `usd` a day, with a warning past `warning_threshold`
/// of it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Daily {
    pub usd: f64,
    pub warning_threshold: f64,
}

/// Where a spend stands against a budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Under,
    /// At or past the warning threshold, below the budget.
    Warning,
    /// At or past the budget.
    Over,
}

impl Daily {
    /// The budget the settings give, if any.
    pub fn of(settings: &Settings) -> Option<Daily> {
        settings.budget_daily_usd.value.map(|usd| Daily {
            usd: usd.0,
            warning_threshold: settings.budget_warning_threshold.value.0,
        })
    }

    pub fn standing(&self, spent_usd: f64) -> Standing {
        if spent_usd >= self.usd {
            Standing::Over
        } else if spent_usd >= self.usd * self.warning_threshold {
            Standing::Warning
        } else {
            Standing::Under
        }
    }

    /// `$4.10 of $5.00 (82 %)`.
    pub fn describe(&self, spent_usd: f64) -> String {
        format!(
            "{} of {} ({:.0} %)",
            dollars(spent_usd),
            dollars(self.usd),
            spent_usd / self.usd * 100.0
        )
    }
}

/// `$4.10`; below a cent, `$0.0042`.
pub fn dollars(usd: f64) -> String {
    if usd != 0.0 && usd.abs() < 0.01 {
        format!("${usd:.4}")
    } else {
        format!("${usd:.2}")
    }
}

impl Standing {
    pub fn as_str(self) -> &'static str {
        match self {
            Standing::Under => "ok",
            Standing::Warning => "warning",
            Standing::Over => "over",
        }
    }
}

/// The command the hook runs: `mpm hook budget --daily-usd 5 --warning-threshold
/// 0.8`, and `--prices JSON` when the manifest overrides prices (quoted for the
/// shell the client runs it with).
pub fn hook_command(daily: &Daily, prices: &BTreeMap<String, ModelPrice>) -> String {
    let mut command = format!(
        "mpm hook budget --daily-usd {} --warning-threshold {}",
        daily.usd, daily.warning_threshold
    );
    if !prices.is_empty() {
        let json = serde_json::to_string(prices).unwrap_or_default();
        command.push_str(" --prices ");
        command.push_str(&shell_quoted(&json));
    }
    command
}

/// `text` as one word of a POSIX shell: in single quotes, each `'` closed, escaped
/// and opened again.
fn shell_quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// The element of `hooks.UserPromptSubmit` that runs the hook.
pub fn hook_entry(daily: &Daily, prices: &BTreeMap<String, ModelPrice>) -> Value {
    json!({
        "hooks": [{
            "type": "command",
            "command": hook_command(daily, prices),
            "timeout": HOOK_TIMEOUT_SECS,
        }]
    })
}

/// Whether a command named `mpm` is on `path` (a `PATH` value): what the hook's
/// shell will run. Without one, the client reports the hook as failing and lets
/// every prompt through.
pub fn mpm_on_path(path: &std::ffi::OsStr) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::env::split_paths(path).any(|dir| {
        std::fs::metadata(dir.join("mpm"))
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

/// The warning of a plan that installs the hook where `mpm` is not on `PATH`.
pub const NOT_ON_PATH: &str = "`budget.enforce`: there is no `mpm` on PATH here, and the hook Claude Code runs is `mpm hook budget`: put mpm on the PATH Claude Code runs with, or prompts will not be held to the budget";

#[cfg(test)]
mod tests {
    use super::*;

    const FIVE: Daily = Daily {
        usd: 5.0,
        warning_threshold: 0.8,
    };

    #[test]
    fn a_spend_is_under_past_the_warning_or_over() {
        assert_eq!(FIVE.standing(0.0), Standing::Under);
        assert_eq!(FIVE.standing(3.99), Standing::Under);
        assert_eq!(FIVE.standing(4.0), Standing::Warning);
        assert_eq!(FIVE.standing(4.99), Standing::Warning);
        assert_eq!(FIVE.standing(5.0), Standing::Over);
        assert_eq!(FIVE.describe(4.1), "$4.10 of $5.00 (82 %)");
        assert_eq!(dollars(0.0042), "$0.0042");
        assert_eq!(dollars(0.0), "$0.00");
    }

    #[test]
    fn the_hook_carries_the_budget_on_its_command_line() {
        assert_eq!(
            hook_command(&FIVE, &BTreeMap::new()),
            "mpm hook budget --daily-usd 5 --warning-threshold 0.8"
        );
        let price = ModelPrice {
            input: 1.0,
            output: 2.0,
            cache_write: 0.0,
            cache_read: 0.5,
            tiers: vec![],
        };
        let prices = BTreeMap::from([("it's".to_string(), price)]);
        assert_eq!(
            hook_command(&FIVE, &prices),
            r#"mpm hook budget --daily-usd 5 --warning-threshold 0.8 --prices '{"it'\''s":{"input":1.0,"output":2.0,"cache_write":0.0,"cache_read":0.5}}'"#
        );
    }
}
