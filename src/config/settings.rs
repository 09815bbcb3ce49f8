//! The table of mpm's own settings: one line each (its field, type, default, key,
//! variables, flag, the files that may set it, and what it does). The line gives
//! both the typed [`Settings`] the commands read and the [`TABLE`] that files,
//! variables, `mpm config show`, the JSON Schema and the docs are checked against.
//!
//! A later setting is one more line: `cache_max_entries: u64 = 5000; "cache.max_entries",
//! env ["MPM_CACHE_MAX_ENTRIES", "CLAUDE_AGENT_CACHE_MAX_ENTRIES"], flag None,
//! Files::BOTH, "..."` (with a [`Kind`] for `u64`).

use super::kind::{CacheDir, Fraction, Kind, Raw, StateDir, TargetSetting, Usd};
use super::{ConfigError, Layers, Origin};
use crate::checked::Invalid;
use crate::cli::ColorArg;
use std::num::{NonZeroU64, NonZeroUsize};
use std::path::Path;
use std::time::Duration;

/// Which files may set a setting, and where in `mpm.yaml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Files {
    /// The user file (`~/.config/mpm/config.yaml`).
    pub user: bool,
    pub manifest: InManifest,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InManifest {
    No,
    /// Under `mpm:`.
    Section,
    /// At the top, beside `agents:` (only `target`, which was there first).
    TopLevel,
}

impl Files {
    /// The user file, and `mpm.yaml` under `mpm:`.
    pub const BOTH: Files = Files {
        user: true,
        manifest: InManifest::Section,
    };
    /// The user file, and `mpm.yaml` at the top.
    pub const BOTH_TOP_LEVEL: Files = Files {
        user: true,
        manifest: InManifest::TopLevel,
    };
    /// `mpm.yaml` only, at the top (`budget:`): what one project's apply writes.
    pub const MANIFEST_TOP_LEVEL: Files = Files {
        user: false,
        manifest: InManifest::TopLevel,
    };
    /// The user file only: decided before `mpm.yaml` is read.
    pub const USER: Files = Files {
        user: true,
        manifest: InManifest::No,
    };
    /// `mpm.yaml` only: one project's, never every project's.
    pub const MANIFEST: Files = Files {
        user: false,
        manifest: InManifest::Section,
    };
}

/// One setting, as the table describes it.
#[derive(Debug)]
pub struct Spec {
    /// As written in the files, dotted for a section (`cache.enabled`).
    pub key: &'static str,
    /// The variables that set it, the first beating the others.
    pub env: &'static [&'static str],
    pub flag: Option<&'static str>,
    pub files: Files,
    pub doc: &'static str,
    /// What its value is, for docs and type errors.
    pub expected: &'static str,
    /// The default, as shown.
    pub default: fn() -> String,
    /// Whether a file's value is one this setting takes (checked where it is
    /// read, so that the error points at it).
    pub check: fn(&Raw) -> Result<(), Invalid>,
    /// The JSON Schema of its value in `mpm.yaml`.
    pub schema: fn() -> serde_json::Value,
}

/// A setting's effective value and where it came from.
#[derive(Debug, Clone)]
pub struct Sourced<T> {
    pub value: T,
    pub origin: Origin,
}

/// One setting as `mpm config show` prints it.
#[derive(Debug)]
pub struct Shown<'a> {
    pub key: &'static str,
    pub text: String,
    pub json: serde_json::Value,
    pub origin: &'a Origin,
}

/// `http.concurrency`'s default (a `const`: checked where it is compiled).
const EIGHT: NonZeroUsize = NonZeroUsize::new(8).unwrap();

macro_rules! settings {
    ($($field:ident: $ty:ty = $default:expr; $key:literal, env [$($env:literal),*], flag $flag:expr, $files:expr, $doc:literal;)*) => {
        /// The effective value of every setting, and where each came from.
        #[derive(Debug, Clone)]
        pub struct Settings {
            $(#[doc = $doc] pub $field: Sourced<$ty>,)*
        }

        /// Every setting, in the order `mpm config show` lists them.
        pub const TABLE: &[Spec] = &[$(Spec {
            key: $key,
            env: &[$($env),*],
            flag: $flag,
            files: $files,
            doc: $doc,
            expected: <$ty as Kind>::EXPECTED,
            default: || <$ty as Kind>::show(&$default, Path::new("/")),
            check: |raw| <$ty as Kind>::parse(raw, Path::new("/")).map(drop),
            schema: <$ty as Kind>::schema,
        },)*];

        impl Settings {
            /// Each setting from the highest layer that gives it.
            pub fn resolve(layers: &Layers) -> Result<Settings, ConfigError> {
                Ok(Settings {
                    $($field: layers.pick::<$ty>($key, || $default)?,)*
                })
            }

            /// Every setting, in the table's order.
            pub fn shown(&self, cwd: &Path) -> Vec<Shown<'_>> {
                vec![$(Shown {
                    key: $key,
                    text: self.$field.value.show(cwd),
                    json: self.$field.value.json(cwd),
                    origin: &self.$field.origin,
                },)*]
            }
        }
    };
}

settings! {
    target: TargetSetting = TargetSetting::Project; "target", env ["MPM_TARGET"], flag Some("--target"), Files::BOTH_TOP_LEVEL, "The Claude Code config directory to manage: `project` (the `.claude` folder beside `mpm.yaml`), `user` (`$CLAUDE_CONFIG_DIR`, else `~/.claude`) or a directory";
    state_dir: StateDir = StateDir(None); "state_dir", env ["MPM_STATE_DIR"], flag Some("--state-dir"), Files::MANIFEST, "Where the state log lives";
    lock_timeout: Duration = Duration::ZERO; "lock_timeout", env ["MPM_LOCK_TIMEOUT"], flag Some("--lock-timeout"), Files::BOTH, "How long to wait when another mpm holds the target's lock";
    color: ColorArg = ColorArg::Auto; "color", env ["MPM_COLOR"], flag Some("--color"), Files::USER, "When to use colour (`auto`: on a terminal, unless `NO_COLOR` is set)";
    cache_enabled: bool = true; "cache.enabled", env ["MPM_CACHE_ENABLED", "CLAUDE_AGENT_CACHE_ENABLED"], flag None, Files::BOTH, "Keep what each agent rendered to (the render memo), so that a plan renders only what changed, and keep what registries served (the download cache, `cache.dir`); `false`: every agent is rendered and every registry file fetched, still checked against its sha256";
    cache_dir: CacheDir = CacheDir(None); "cache.dir", env ["MPM_CACHE_DIR"], flag None, Files::BOTH, "Where the download cache lives (what registries served, for every project): `$XDG_CACHE_HOME/mpm`, else `~/.cache/mpm`; its bounds are `mpm.yaml`'s `cache:`";
    http_timeout: Duration = Duration::from_secs(60); "http.timeout", env ["MPM_HTTP_TIMEOUT"], flag None, Files::BOTH, "How long one HTTP request to a registry may take, from connecting to its last byte (`0s`: no limit)";
    http_connect_timeout: Duration = Duration::from_secs(10); "http.connect_timeout", env ["MPM_HTTP_CONNECT_TIMEOUT"], flag None, Files::BOTH, "How long connecting to a registry's server may take (`0s`: no limit but the system's)";
    http_retries: u32 = 3; "http.retries", env ["MPM_HTTP_RETRIES"], flag None, Files::BOTH, "How many times a request is tried again after its connection failed or the server answered 5xx";
    http_concurrency: NonZeroUsize = EIGHT; "http.concurrency", env ["MPM_HTTP_CONCURRENCY"], flag None, Files::BOTH, "How many HTTP requests mpm makes at once";
    budget_daily_usd: Option<Usd> = None; "budget.daily_usd", env ["MPM_BUDGET_DAILY_USD", "CLAUDE_AGENT_DAILY_BUDGET_USD"], flag None, Files::BOTH_TOP_LEVEL, "The most US dollars Claude Code's sessions may spend in a day (the user's local day), as `mpm usage` counts them from the transcripts; with `budget.enforce`, a prompt past it is refused (`none`: no budget)";
    budget_warning_threshold: Fraction = Fraction(0.8); "budget.warning_threshold", env ["MPM_BUDGET_WARNING_THRESHOLD"], flag None, Files::BOTH_TOP_LEVEL, "The share of `budget.daily_usd` past which `mpm usage` and the budget hook warn (`0.8`: at 80 %)";
    budget_max_prompt_tokens: Option<NonZeroU64> = None; "budget.max_prompt_tokens", env ["MPM_BUDGET_MAX_PROMPT_TOKENS"], flag None, Files::BOTH_TOP_LEVEL, "The most tokens (estimated) one agent's prompt may have: each delegation sends it whole; a plan over it fails (`none`: no limit)";
    budget_max_listing_tokens: Option<NonZeroU64> = None; "budget.max_listing_tokens", env ["MPM_BUDGET_MAX_LISTING_TOKENS"], flag None, Files::BOTH_TOP_LEVEL, "The most tokens (estimated) the agents' listing may have: every session carries every agent's description; a plan over it fails (`none`: no limit)";
    budget_enforce: bool = false; "budget.enforce", env ["MPM_BUDGET_ENFORCE"], flag None, Files::MANIFEST_TOP_LEVEL, "Install a `UserPromptSubmit` hook (an entry of the target's settings.json that mpm owns) that refuses a prompt once the day's spend reaches `budget.daily_usd`, and warns past `budget.warning_threshold`";
}

impl Spec {
    pub fn find(key: &str) -> Option<&'static Spec> {
        TABLE.iter().find(|s| s.key == key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_reads_back_as_itself() {
        for spec in TABLE {
            let shown = (spec.default)();
            // `<target>/.mpm` and `$XDG_CACHE_HOME/mpm` describe an unset
            // directory; they are no value
            if spec.key != "state_dir" && spec.key != "cache.dir" {
                assert_eq!(
                    (spec.check)(&Raw::Text(shown.clone())),
                    Ok(()),
                    "{}",
                    spec.key
                );
            }
        }
    }

    #[test]
    fn every_setting_has_an_mpm_variable_first_and_a_file_or_a_flag() {
        for spec in TABLE {
            let first = spec.env.first().copied().unwrap_or_default();
            assert_eq!(
                first,
                format!("MPM_{}", spec.key.replace('.', "_").to_uppercase()),
                "{}",
                spec.key
            );
            assert!(
                spec.files.user || spec.files.manifest != InManifest::No || spec.flag.is_some(),
                "{}",
                spec.key
            );
        }
    }
}
