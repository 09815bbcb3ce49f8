//! `mpm config show`: every setting's effective value, one `key = value` per line
//! in the table's order; `--origin` adds where each came from, `--json` prints them
//! as versioned JSON. Reads the layers the options were resolved from; writes
//! nothing.

use crate::Error;
use crate::cli::{ConfigAction, ConfigArgs, ConfigShowArgs};
use crate::config::Shown;
use crate::error::ExitStatus;
use crate::options::Options;
use crate::printer::Printer;
use std::fmt::Write as _;

/// The JSON's version; minor versions only add keys.
const FORMAT_VERSION: &str = "1.0";

pub fn run(options: &Options, args: &ConfigArgs, printer: &Printer) -> Result<ExitStatus, Error> {
    match &args.action {
        ConfigAction::Show(show) => {
            let shown = options.settings.shown(&options.env.cwd);
            let text = match show.json {
                true => json(&shown),
                false => text(&shown, show),
            };
            printer.out(&text);
            Ok(ExitStatus::Success)
        }
    }
}

/// `key = value`, and `  # origin` with `--origin`.
fn text(shown: &[Shown<'_>], args: &ConfigShowArgs) -> String {
    let mut out = String::new();
    for s in shown {
        let _ = write!(out, "{} = {}", s.key, s.text);
        if args.origin {
            let _ = write!(out, "  # {}", s.origin.describe());
        }
        out.push('\n');
    }
    out
}

fn json(shown: &[Shown<'_>]) -> String {
    let settings: Vec<serde_json::Value> = shown
        .iter()
        .map(|s| {
            serde_json::json!({
                "key": s.key,
                "value": s.json,
                "origin": s.origin.json(),
            })
        })
        .collect();
    let doc = serde_json::json!({
        "format_version": FORMAT_VERSION,
        "mpm_version": env!("CARGO_PKG_VERSION"),
        "settings": settings,
    });
    let mut out = serde_json::to_string_pretty(&doc).unwrap_or_default();
    out.push('\n');
    out
}
