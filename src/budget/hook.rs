//! `mpm hook budget`: what the `UserPromptSubmit` hook decides, from the hook's
//! input (the JSON the client writes to its stdin) and the day's spend.
//!
//! The client's rules for a command hook: exit 2 refuses the prompt (it is never
//! sent; stderr is shown to the user); exit 0 lets it through, and a JSON object on
//! stdout with `systemMessage` shows that message to the user. A hook that cannot
//! tell must never lock anyone out: every failure lets the prompt through and says
//! why.

use super::{Daily, Standing, dollars};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// What the client tells a `UserPromptSubmit` hook (the fields mpm reads).
#[derive(Debug, Default, Deserialize)]
pub struct Input {
    /// `<config>/projects/<slug>/<session>.jsonl`: says which config directory the
    /// session writes its transcripts to.
    #[serde(default)]
    pub transcript_path: Option<PathBuf>,
}

/// The day's spend, as the usage index tells it.
#[derive(Debug, Clone, PartialEq)]
pub struct Spent {
    pub usd: f64,
    /// Models seen today whose price is unknown: their spend is not in `usd`.
    pub unpriced: Vec<String>,
}

/// What the hook does: its exit code and what it prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// 0: the prompt goes through; 2: it is refused.
    pub code: u8,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    fn through() -> Outcome {
        Outcome {
            code: 0,
            stdout: String::new(),
            stderr: String::new(),
        }
    }

    /// Through, with `message` shown to the user.
    fn through_saying(message: &str) -> Outcome {
        let json = serde_json::json!({ "systemMessage": message });
        Outcome {
            code: 0,
            stdout: format!("{json}\n"),
            stderr: String::new(),
        }
    }
}

/// The config directory of the session: the one above `projects/` in the
/// transcript's path (`<config>/projects/<slug>/<session>.jsonl`). Claude Code
/// always sends that path; without it, or with one elsewhere, the directory is not
/// guessed (`$CLAUDE_CONFIG_DIR` or `~/.claude` may be another session's): the
/// error says why, and the prompt is let through.
pub fn config_dir(input: &Input) -> Result<PathBuf, String> {
    let Some(transcript) = input.transcript_path.as_deref() else {
        return Err(
            "the hook's input has no `transcript_path`, which says which Claude Code directory to count"
                .to_string(),
        );
    };
    transcript
        .parent()
        .and_then(Path::parent)
        .filter(|projects| projects.file_name().is_some_and(|n| n == "projects"))
        .and_then(Path::parent)
        .filter(|dir| dir.is_absolute())
        .map(Path::to_path_buf)
        .ok_or_else(|| {
            format!(
                "the transcript path `{}` is not in a Claude Code directory's `projects/` folder",
                crate::text::escaped(&transcript.display().to_string())
            )
        })
}

/// The hook's decision on today's spend in `config_dir` (`spent`: an error says
/// why it could not be read).
pub fn decide(daily: &Daily, spent: Result<Spent, String>) -> Outcome {
    let spent = match spent {
        Ok(spent) => spent,
        Err(why) => {
            return Outcome::through_saying(&format!(
                "mpm: the daily budget could not be checked, so this prompt was let through: {why}"
            ));
        }
    };
    let unpriced = match spent.unpriced.as_slice() {
        [] => String::new(),
        models => format!(
            " (not counting {}: mpm has no price for it; add it to `budget.prices`)",
            models
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    match daily.standing(spent.usd) {
        Standing::Under if unpriced.is_empty() => Outcome::through(),
        Standing::Under => Outcome::through_saying(&format!(
            "mpm: {} of today's budget spent{unpriced}",
            daily.describe(spent.usd)
        )),
        Standing::Warning => Outcome::through_saying(&format!(
            "mpm: {} of today's budget spent{unpriced}; prompts stop at {}",
            daily.describe(spent.usd),
            dollars(daily.usd)
        )),
        Standing::Over => Outcome {
            code: 2,
            stdout: String::new(),
            stderr: format!(
                "mpm: today's budget is spent: {}{unpriced}. This prompt was not sent.\n\
                 To go on today, raise `budget.daily_usd` in the mpm.yaml that manages this \
                 Claude Code directory and run `mpm apply` (or turn `budget.enforce` off); \
                 the budget starts again at midnight.\n",
                daily.describe(spent.usd)
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIVE: Daily = Daily {
        usd: 5.0,
        warning_threshold: 0.8,
    };

    fn spent(usd: f64) -> Result<Spent, String> {
        Ok(Spent {
            usd,
            unpriced: vec![],
        })
    }

    #[test]
    fn under_the_threshold_the_hook_says_nothing() {
        assert_eq!(decide(&FIVE, spent(1.0)), Outcome::through());
    }

    #[test]
    fn past_the_threshold_it_warns_and_lets_the_prompt_through() {
        let out = decide(&FIVE, spent(4.1));
        assert_eq!(out.code, 0);
        assert_eq!(
            out.stdout,
            "{\"systemMessage\":\"mpm: $4.10 of $5.00 (82 %) of today's budget spent; prompts stop at $5.00\"}\n"
        );
    }

    #[test]
    fn over_the_budget_it_refuses_the_prompt_saying_how_to_raise_it() {
        let out = decide(&FIVE, spent(5.25));
        assert_eq!(out.code, 2);
        assert!(out.stdout.is_empty());
        assert!(
            out.stderr.starts_with(
                "mpm: today's budget is spent: $5.25 of $5.00 (105 %). This prompt was not sent.\nTo go on today, raise `budget.daily_usd`"
            ),
            "{}",
            out.stderr
        );
    }

    #[test]
    fn a_failure_lets_the_prompt_through_and_says_why() {
        let out = decide(&FIVE, Err("`/c/projects` cannot be read".into()));
        assert_eq!(out.code, 0);
        assert!(out.stdout.contains(
            "could not be checked, so this prompt was let through: `/c/projects` cannot be read"
        ));
    }

    #[test]
    fn models_without_a_price_are_named() {
        let out = decide(
            &FIVE,
            Ok(Spent {
                usd: 1.0,
                unpriced: vec!["claude-new".into()],
            }),
        );
        assert_eq!(out.code, 0);
        assert!(
            out.stdout.contains("(not counting `claude-new`"),
            "{}",
            out.stdout
        );
    }

    #[test]
    fn the_config_directory_is_above_the_transcripts_projects_folder_and_never_guessed() {
        let input = |path: &str| Input {
            transcript_path: Some(path.into()),
        };
        assert_eq!(
            config_dir(&input("/h/cfg/projects/-w-p/abc.jsonl")),
            Ok("/h/cfg".into())
        );
        assert_eq!(
            config_dir(&input("/tmp/odd/abc.jsonl")),
            Err("the transcript path `/tmp/odd/abc.jsonl` is not in a Claude Code directory's `projects/` folder".into())
        );
        assert!(config_dir(&input("projects/-w-p/abc.jsonl")).is_err());
        assert_eq!(
            config_dir(&Input::default()),
            Err("the hook's input has no `transcript_path`, which says which Claude Code directory to count".into())
        );
    }
}
