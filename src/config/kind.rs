//! The kinds of value a setting takes: how each is read from a file, a variable or
//! a flag, how it is shown, and its JSON Schema. One type per kind; a new setting
//! of a kind that exists needs nothing here.

use crate::checked::Invalid;
use crate::cli::ColorArg;
use crate::paths;
use serde_json::{Value, json};
use std::ffi::OsString;
use std::num::{NonZeroU64, NonZeroUsize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A value as a layer gave it, before it is read as its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Raw {
    /// A scalar in a YAML file (`30s`, `true`, `5`), as text.
    Text(String),
    /// `{ path: DIR }` in a YAML file.
    Path(String),
    /// An environment variable's or a flag's value.
    Arg(OsString),
}

impl Raw {
    /// The text of a scalar or an argument; `{ path: DIR }` has none.
    fn text(&self) -> Result<&str, Invalid> {
        match self {
            Raw::Text(s) => Ok(s),
            Raw::Arg(os) => os
                .to_str()
                .ok_or_else(|| Invalid::from("the value is not UTF-8 text".to_string())),
            Raw::Path(_) => Err(Invalid::from("expected one value, not a map".to_string())),
        }
    }
}

/// What every kind of setting can do.
pub trait Kind: Sized + Clone + std::fmt::Debug {
    /// What the value is, for docs and type errors (`a duration like 30s`).
    const EXPECTED: &'static str;
    /// Reads a value; a relative path is relative to `base` (the file's directory,
    /// or the working directory for a variable or a flag).
    fn parse(raw: &Raw, base: &Path) -> Result<Self, Invalid>;
    /// As `mpm config show` prints it (paths relative to `cwd` where shorter).
    fn show(&self, cwd: &Path) -> String;
    /// As `mpm config show --json` prints it.
    fn json(&self, cwd: &Path) -> Value {
        Value::String(self.show(cwd))
    }
    /// The JSON Schema of the value in `mpm.yaml`.
    fn schema() -> Value;
}

/// Where the agents go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetSetting {
    /// The `.claude` folder beside the manifest.
    Project,
    /// `$CLAUDE_CONFIG_DIR`, else `~/.claude`.
    User,
    /// A directory (absolute).
    Dir(PathBuf),
}

impl Kind for TargetSetting {
    const EXPECTED: &'static str = "`project`, `user` or `{ path: DIR }`";

    fn parse(raw: &Raw, base: &Path) -> Result<Self, Invalid> {
        match raw {
            Raw::Text(s) if s == "project" => Ok(TargetSetting::Project),
            Raw::Text(s) if s == "user" => Ok(TargetSetting::User),
            Raw::Text(s) => Err(Invalid::new(
                format!(
                    "unknown target `{}`: expected {}",
                    crate::text::escaped(s),
                    Self::EXPECTED
                ),
                format!(
                    "a directory is written `{{ path: {} }}`",
                    crate::text::escaped(s)
                ),
            )),
            Raw::Path(p) if p.is_empty() => {
                Err(Invalid::from(format!("expected {}", Self::EXPECTED)))
            }
            Raw::Path(p) => Ok(TargetSetting::Dir(paths::normalize(&base.join(p)))),
            // a variable or a flag names a directory, as `--target` always did
            Raw::Arg(os) => Ok(TargetSetting::Dir(paths::normalize(&base.join(os)))),
        }
    }

    fn show(&self, cwd: &Path) -> String {
        match self {
            TargetSetting::Project => "project".into(),
            TargetSetting::User => "user".into(),
            TargetSetting::Dir(dir) => shown_dir(dir, cwd),
        }
    }

    fn schema() -> Value {
        crate::manifest::target_values()
    }
}

/// A directory as shown: never one that reads like `project` or `user`.
fn shown_dir(dir: &Path, cwd: &Path) -> String {
    let shown = paths::display(dir, cwd);
    if shown == "project" || shown == "user" {
        format!("./{shown}")
    } else {
        shown
    }
}

/// Where the state log lives; `None`: `<target>/.mpm`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StateDir(pub Option<PathBuf>);

/// A directory, relative to `base`.
fn directory(raw: &Raw, base: &Path) -> Result<PathBuf, Invalid> {
    let path = match raw {
        Raw::Arg(os) => PathBuf::from(os),
        other => PathBuf::from(other.text()?),
    };
    if path.as_os_str().is_empty() {
        return Err(Invalid::from("expected a directory".to_string()));
    }
    Ok(paths::normalize(&base.join(path)))
}

impl Kind for StateDir {
    const EXPECTED: &'static str = "a directory";

    fn parse(raw: &Raw, base: &Path) -> Result<Self, Invalid> {
        directory(raw, base).map(|dir| StateDir(Some(dir)))
    }

    fn show(&self, cwd: &Path) -> String {
        match &self.0 {
            Some(dir) => paths::display(dir, cwd),
            None => format!("<target>/{}", crate::target::STATE_DIR),
        }
    }

    fn json(&self, cwd: &Path) -> Value {
        match &self.0 {
            Some(dir) => Value::String(paths::display(dir, cwd)),
            None => Value::Null,
        }
    }

    fn schema() -> Value {
        json!({ "type": "string", "minLength": 1 })
    }
}

/// Where the download cache lives; `None`: `$XDG_CACHE_HOME/mpm`, else
/// `~/.cache/mpm` ([`crate::options::Options::cache_dir`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CacheDir(pub Option<PathBuf>);

impl Kind for CacheDir {
    const EXPECTED: &'static str = "a directory";

    fn parse(raw: &Raw, base: &Path) -> Result<Self, Invalid> {
        directory(raw, base).map(|dir| CacheDir(Some(dir)))
    }

    fn show(&self, cwd: &Path) -> String {
        match &self.0 {
            Some(dir) => paths::display(dir, cwd),
            None => "$XDG_CACHE_HOME/mpm".into(),
        }
    }

    fn json(&self, cwd: &Path) -> Value {
        match &self.0 {
            Some(dir) => Value::String(paths::display(dir, cwd)),
            None => Value::Null,
        }
    }

    fn schema() -> Value {
        json!({ "type": "string", "minLength": 1 })
    }
}

impl Kind for Duration {
    const EXPECTED: &'static str = "a duration like `30s`, `2m` or `500ms`";

    fn parse(raw: &Raw, _: &Path) -> Result<Self, Invalid> {
        crate::state::parse_duration(raw.text()?).map_err(Invalid::from)
    }

    fn show(&self, _: &Path) -> String {
        let ms = self.as_millis();
        if Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX)) != *self {
            return format!("{}s", self.as_secs_f64());
        }
        match ms {
            0 => "0s".into(),
            ms if ms % 3_600_000 == 0 => format!("{}h", ms / 3_600_000),
            ms if ms % 60_000 == 0 => format!("{}m", ms / 60_000),
            ms if ms % 1000 == 0 => format!("{}s", ms / 1000),
            ms => format!("{ms}ms"),
        }
    }

    fn schema() -> Value {
        json!({
            "anyOf": [
                { "type": "string", "pattern": "^\\s*[0-9]+(\\.[0-9]+)?(ms|s|m|h)?\\s*$" },
                { "type": "number", "minimum": 0 }
            ]
        })
    }
}

impl Kind for ColorArg {
    const EXPECTED: &'static str = "`auto`, `always` or `never`";

    fn parse(raw: &Raw, _: &Path) -> Result<Self, Invalid> {
        match raw.text()? {
            "auto" => Ok(ColorArg::Auto),
            "always" => Ok(ColorArg::Always),
            "never" => Ok(ColorArg::Never),
            other => Err(Invalid::from(format!(
                "unknown colour choice `{}`: expected {}",
                crate::text::escaped(other),
                Self::EXPECTED
            ))),
        }
    }

    fn show(&self, _: &Path) -> String {
        match self {
            ColorArg::Auto => "auto",
            ColorArg::Always => "always",
            ColorArg::Never => "never",
        }
        .into()
    }

    fn schema() -> Value {
        json!({ "enum": ["auto", "always", "never"] })
    }
}

impl Kind for bool {
    const EXPECTED: &'static str = "`true` or `false`";

    /// The words people write in variables too (`CLAUDE_AGENT_CACHE_ENABLED=1`).
    fn parse(raw: &Raw, _: &Path) -> Result<Self, Invalid> {
        let text = raw.text()?;
        match text.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" => Ok(true),
            "false" | "no" | "off" | "0" => Ok(false),
            _ => Err(Invalid::from(format!(
                "`{}` is not `true` or `false` (nor `yes`/`no`, `on`/`off`, `1`/`0`)",
                crate::text::escaped(text)
            ))),
        }
    }

    fn show(&self, _: &Path) -> String {
        self.to_string()
    }

    fn json(&self, _: &Path) -> Value {
        Value::Bool(*self)
    }

    fn schema() -> Value {
        json!({ "type": "boolean" })
    }
}

/// The text of a whole number (`3`, not `3.0` or `-1`), trimmed as a YAML scalar is.
fn whole(raw: &Raw) -> Result<(&str, Option<u64>), Invalid> {
    let text = raw.text()?.trim();
    let n = if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse::<u64>().ok()
    } else {
        None
    };
    Ok((text, n))
}

/// A whole number 1 or more that `fit` takes (a count of `http.concurrency`, of
/// tokens).
fn above_zero<T>(raw: &Raw, fit: impl FnOnce(NonZeroU64) -> Option<T>) -> Result<T, Invalid> {
    let (text, n) = whole(raw)?;
    n.and_then(NonZeroU64::new).and_then(fit).ok_or_else(|| {
        Invalid::from(format!(
            "`{}` is not a whole number, 1 or more",
            crate::text::escaped(text)
        ))
    })
}

/// How many times (`http.retries`): 0 is a value.
impl Kind for u32 {
    const EXPECTED: &'static str = "a whole number, 0 or more";

    fn parse(raw: &Raw, _: &Path) -> Result<Self, Invalid> {
        let (text, n) = whole(raw)?;
        n.and_then(|n| u32::try_from(n).ok()).ok_or_else(|| {
            Invalid::from(format!(
                "`{}` is not {}",
                crate::text::escaped(text),
                Self::EXPECTED
            ))
        })
    }

    fn show(&self, _: &Path) -> String {
        self.to_string()
    }

    fn json(&self, _: &Path) -> Value {
        Value::from(*self)
    }

    fn schema() -> Value {
        json!({ "type": "integer", "minimum": 0, "maximum": u32::MAX })
    }
}

/// How many at once (`http.concurrency`): 0 would do nothing, ever.
impl Kind for NonZeroUsize {
    const EXPECTED: &'static str = "a whole number, 1 or more";

    fn parse(raw: &Raw, _: &Path) -> Result<Self, Invalid> {
        above_zero(raw, |n| NonZeroUsize::try_from(n).ok())
    }

    fn show(&self, _: &Path) -> String {
        self.to_string()
    }

    fn json(&self, _: &Path) -> Value {
        Value::from(self.get())
    }

    fn schema() -> Value {
        json!({ "type": "integer", "minimum": 1 })
    }
}

/// A number of US dollars above zero (`budget.daily_usd`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usd(pub f64);

/// The most dollars a setting takes: far past any day's spend, and where an `f64`
/// still holds every cent.
const USD_MAX: f64 = 1e9;

impl Kind for Usd {
    const EXPECTED: &'static str = "an amount of US dollars above 0, like `25` or `2.50`";

    fn parse(raw: &Raw, _: &Path) -> Result<Self, Invalid> {
        let text = raw.text()?.trim();
        // `$25` is how people write it; the sign is not part of the number
        let number = text.strip_prefix('$').unwrap_or(text);
        match number.parse::<f64>() {
            Ok(n) if n.is_finite() && n > 0.0 && n <= USD_MAX => Ok(Usd(n)),
            _ => Err(Invalid::from(format!(
                "`{}` is not {}",
                crate::text::escaped(text),
                Self::EXPECTED
            ))),
        }
    }

    fn show(&self, _: &Path) -> String {
        self.0.to_string()
    }

    fn json(&self, _: &Path) -> Value {
        json!(self.0)
    }

    fn schema() -> Value {
        json!({ "type": "number", "exclusiveMinimum": 0, "maximum": USD_MAX })
    }
}

/// A share above 0 and at most 1 (`budget.warning_threshold`: `0.8` is 80 %).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fraction(pub f64);

impl Kind for Fraction {
    const EXPECTED: &'static str = "a number above 0 and at most 1, like `0.8`";

    fn parse(raw: &Raw, _: &Path) -> Result<Self, Invalid> {
        let text = raw.text()?.trim();
        match text.parse::<f64>() {
            Ok(n) if n > 0.0 && n <= 1.0 => Ok(Fraction(n)),
            _ => Err(Invalid::new(
                format!("`{}` is not {}", crate::text::escaped(text), Self::EXPECTED),
                "a share of the budget: `0.8` warns at 80 %".to_string(),
            )),
        }
    }

    fn show(&self, _: &Path) -> String {
        self.0.to_string()
    }

    fn json(&self, _: &Path) -> Value {
        json!(self.0)
    }

    fn schema() -> Value {
        json!({ "type": "number", "exclusiveMinimum": 0, "maximum": 1 })
    }
}

/// How many tokens at most (`budget.max_prompt_tokens`).
impl Kind for NonZeroU64 {
    const EXPECTED: &'static str = "a whole number, 1 or more";

    fn parse(raw: &Raw, _: &Path) -> Result<Self, Invalid> {
        above_zero(raw, Some)
    }

    fn show(&self, _: &Path) -> String {
        self.to_string()
    }

    fn json(&self, _: &Path) -> Value {
        Value::from(self.get())
    }

    fn schema() -> Value {
        json!({ "type": "integer", "minimum": 1 })
    }
}

/// A limit that may be unset: `none` (the default) is no limit, so that a variable
/// can lift one a file sets (`MPM_BUDGET_DAILY_USD=none`).
impl<T: Kind> Kind for Option<T> {
    const EXPECTED: &'static str = T::EXPECTED;

    fn parse(raw: &Raw, base: &Path) -> Result<Self, Invalid> {
        match raw {
            Raw::Text(t) if t.trim() == "none" => Ok(None),
            Raw::Arg(a) if a.to_str().is_some_and(|t| t.trim() == "none") => Ok(None),
            raw => T::parse(raw, base).map(Some).map_err(|mut e| {
                e.hint
                    .get_or_insert_with(|| "`none` sets no limit".to_string());
                e
            }),
        }
    }

    fn show(&self, cwd: &Path) -> String {
        match self {
            Some(v) => v.show(cwd),
            None => "none".into(),
        }
    }

    fn json(&self, cwd: &Path) -> Value {
        match self {
            Some(v) => v.json(cwd),
            None => Value::Null,
        }
    }

    fn schema() -> Value {
        json!({ "anyOf": [T::schema(), { "const": "none" }] })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Raw {
        Raw::Text(s.into())
    }

    fn arg(s: &str) -> Raw {
        Raw::Arg(s.into())
    }

    #[test]
    fn a_target_is_a_word_in_a_file_and_a_directory_elsewhere() {
        let base = Path::new("/p");
        assert_eq!(
            TargetSetting::parse(&text("user"), base),
            Ok(TargetSetting::User)
        );
        assert_eq!(
            TargetSetting::parse(&Raw::Path("out/../o".into()), base),
            Ok(TargetSetting::Dir("/p/o".into()))
        );
        // `user` from a variable is a folder named so, as `--target user` is
        assert_eq!(
            TargetSetting::parse(&arg("user"), base),
            Ok(TargetSetting::Dir("/p/user".into()))
        );
        let e = TargetSetting::parse(&text("elsewhere"), base).unwrap_err();
        assert_eq!(
            e.message,
            "unknown target `elsewhere`: expected `project`, `user` or `{ path: DIR }`"
        );
        assert_eq!(TargetSetting::Dir("/p/user".into()).show(base), "./user");
    }

    #[test]
    fn durations_are_shown_in_their_largest_whole_unit() {
        for (given, shown) in [
            ("0", "0s"),
            ("90s", "90s"),
            ("120", "2m"),
            ("1.5s", "1500ms"),
            ("2h", "2h"),
        ] {
            let d = Duration::parse(&text(given), Path::new("/")).unwrap();
            assert_eq!(d.show(Path::new("/")), shown, "{given}");
            // what is shown reads back as the same duration
            assert_eq!(Duration::parse(&text(shown), Path::new("/")), Ok(d));
        }
        assert!(Duration::parse(&text("soon"), Path::new("/")).is_err());
        assert!(Duration::parse(&Raw::Path("x".into()), Path::new("/")).is_err());
    }

    #[test]
    fn switches_and_colours_take_only_their_words() {
        assert_eq!(bool::parse(&arg("1"), Path::new("/")), Ok(true));
        assert_eq!(bool::parse(&text("False"), Path::new("/")), Ok(false));
        assert!(bool::parse(&arg("maybe"), Path::new("/")).is_err());
        assert_eq!(
            ColorArg::parse(&arg("never"), Path::new("/")),
            Ok(ColorArg::Never)
        );
        assert!(ColorArg::parse(&arg("blue"), Path::new("/")).is_err());
        let not_utf8 = Raw::Arg(std::os::unix::ffi::OsStringExt::from_vec(vec![0xff]));
        assert!(ColorArg::parse(&not_utf8, Path::new("/")).is_err());
    }

    #[test]
    fn counts_are_whole_numbers() {
        let base = Path::new("/");
        assert_eq!(u32::parse(&text("0"), base), Ok(0));
        assert_eq!(u32::parse(&arg(" 12 "), base), Ok(12));
        for bad in ["-1", "1.5", "three", "", "4294967296"] {
            let e = u32::parse(&text(bad), base).unwrap_err();
            assert_eq!(
                e.message,
                format!("`{bad}` is not a whole number, 0 or more"),
                "{bad}"
            );
        }
        assert_eq!(
            NonZeroUsize::parse(&arg("8"), base),
            Ok(NonZeroUsize::new(8).unwrap())
        );
        let e = NonZeroUsize::parse(&text("0"), base).unwrap_err();
        assert_eq!(e.message, "`0` is not a whole number, 1 or more");
        assert_eq!(NonZeroUsize::new(8).unwrap().json(base), json!(8));
        assert_eq!(3u32.show(base), "3");
    }

    #[test]
    fn an_unset_state_dir_is_shown_as_its_default() {
        assert_eq!(StateDir(None).show(Path::new("/")), "<target>/.mpm");
        assert_eq!(StateDir(None).json(Path::new("/")), Value::Null);
        assert_eq!(
            StateDir::parse(&arg("s"), Path::new("/w")),
            Ok(StateDir(Some("/w/s".into())))
        );
    }
}
