//! The command line, as clap types. Doc comments are the help text.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Manage Claude Code agents the way Terraform manages infrastructure.
///
/// Describe the agents you want in `mpm.yaml`; `mpm plan` shows what would change in a
/// Claude Code config directory, `mpm apply` makes it so (atomically, recording a
/// generation), `mpm rollback` goes back.
#[derive(Debug, Parser)]
#[command(name = "mpm", version, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The manifest [default: `mpm.yaml` in the current directory or the nearest parent]
    #[arg(short = 'm', long, global = true, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// The Claude Code config directory to manage; overrides `MPM_TARGET` and the
    /// `target` setting of `mpm.yaml` and the user file
    #[arg(long, global = true, value_name = "DIR")]
    pub target: Option<PathBuf>,
    /// Let `--target` name a system directory (`/`, `/etc`, `/usr`, ...); never the
    /// manifest's `target:` or `CLAUDE_CONFIG_DIR`
    #[arg(long, global = true)]
    pub allow_system_target: bool,
    /// Where the state log lives [default: `<target>/.mpm`, or the `state_dir` setting]
    #[arg(long, global = true, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// How long to wait when another mpm holds the target's lock (`30s`, `2m`)
    /// [default: `0s`, or the `lock_timeout` setting]
    #[arg(long, global = true, value_name = "DURATION")]
    pub lock_timeout: Option<String>,
    /// When to use colour (`NO_COLOR` is honoured) [default: `auto`, or the `color`
    /// setting]
    #[arg(long, global = true, value_enum)]
    pub color: Option<ColorArg>,
    /// Fail rather than change the registry pins of `mpm.lock` (for CI)
    #[arg(long, global = true)]
    pub locked: bool,
    /// Make no network call: registry agents come from `mpm.lock` and mpm's cache
    #[arg(long, global = true)]
    pub offline: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what apply would change, without changing anything
    Plan(PlanArgs),
    /// Make the target match the manifest (or apply a saved plan)
    Apply(ApplyArgs),
    /// Two columns per path: changed outside mpm / what apply would do
    Status,
    /// Exit 0 when the target matches the manifest, 1 otherwise
    Verify,
    /// Show what the working tree changes in the agents, compared with a git revision
    /// (for reviewing a pull request; no target or state log is read)
    Diff(DiffArgs),
    /// List the generations in the state log
    History(HistoryArgs),
    /// Undo the latest generation, or return to the state right after generation N
    Rollback(RollbackArgs),
    /// Write a starter `mpm.yaml` (or one from claude-mpm templates)
    Init(InitArgs),
    /// Print the JSON Schema of `mpm.yaml`
    Schema(SchemaArgs),
    /// Print a shell completion script
    ///
    /// Save it where the shell looks for completions, for bash:
    /// `mpm completions bash > ~/.local/share/bash-completion/completions/mpm`
    Completions(CompletionsArgs),
    /// Print the man page (roff), or write one page per command with `--out DIR`
    Man(ManArgs),
    /// Plan again whenever `mpm.yaml` or a file it reads changes (`--apply`: apply too)
    ///
    /// Prints the plan at start, then again after each burst of saves, exactly as
    /// `mpm plan` prints it. An edit that breaks the manifest prints its error, and
    /// the last good plan stands until the next edit. Ctrl-C stops.
    Watch(WatchArgs),
    /// Check the target for what Claude Code would skip, shadow or misread, mpm's
    /// agents or not, and for what would stop mpm (writes nothing)
    Doctor(DoctorArgs),
    /// Print the manifest's environment for a shell to evaluate: `eval "$(mpm env)"`
    ///
    /// `CLAUDE_CONFIG_DIR` for a user or path target, then every variable of
    /// `environment:` (a secret only with `--show-secrets`). Reads nothing but the
    /// manifest and mpm's own environment; writes nothing.
    Env(EnvArgs),
    /// mpm's own settings, from defaults, the user file, `mpm.yaml`, `MPM_*`
    /// variables and flags
    Config(ConfigArgs),
    /// Resolve the agents that come from registries and pin them in `mpm.lock`
    /// (pins the manifest still allows are kept; writes nothing else)
    Lock,
    /// Move registry agents to the newest versions their requirements allow, in
    /// `mpm.lock` (all, or the agents named)
    Update(UpdateArgs),
    /// List registry agents with newer versions: pinned, allowed, newest
    Outdated(OutdatedArgs),
    /// Work with registries: `mpm registry build DIR --out OUT`
    Registry(RegistryArgs),
    /// The download cache: what registries served, kept for every project in
    /// `cache.dir` and bounded by `mpm.yaml`'s `cache:`
    Cache(CacheArgs),
    /// Real spend, from Claude Code's own transcripts: by day, week, month,
    /// session, agent or model, and today's spend against the daily budget
    ///
    /// Reads `<config dir>/projects/**/*.jsonl` (subagents included) through an
    /// index in mpm's cache that is updated by reading only appended bytes. Exit
    /// 0 under the warning threshold (or without a budget), 3 at or past it, 4 at
    /// or over the daily budget, 1 on error.
    Usage(UsageArgs),
    /// What Claude Code runs as a hook, where `mpm apply` installed one:
    /// `mpm hook budget` (with `budget.enforce`)
    Hook(HookArgs),
    /// Agent and pack versions from git history: `bump` (Conventional Commits),
    /// `check` (the pack's version files against its latest tag), `set`
    Version(VersionArgs),
    /// Write or update the changelogs (Keep a Changelog), the pack's and each
    /// agent's, from the same classified commits as `mpm version bump`
    ///
    /// Sections already in a file are kept as they are (they may have been edited
    /// by hand); missing releases are added and `[Unreleased]` is written again, so
    /// a second run changes nothing.
    Changelog(ChangelogArgs),
}

#[derive(Debug, Args)]
pub struct VersionArgs {
    #[command(subcommand)]
    pub command: VersionCommand,
}

#[derive(Debug, Subcommand)]
pub enum VersionCommand {
    /// Raise each agent's version (`agent_version`, or `version` in the frontmatter)
    /// as the commits since it last changed call for: breaking → major, `feat` →
    /// minor, `fix`/`perf`/`revert` → patch (below 1.0.0: breaking → minor, the rest
    /// → patch)
    ///
    /// Only the version's bytes in each file change. A version already changed in
    /// the working tree and not committed is not bumped again.
    Bump(BumpArgs),
    /// List every version file of `release:` and the latest release tag side by
    /// side; exit 1 when they disagree
    Check(CheckArgs),
    /// Write X.Y.Z into every version file of `release:` (`--tag`: tag HEAD, which
    /// must already carry that version)
    Set(SetArgs),
}

#[derive(Debug, Args)]
pub struct BumpArgs {
    /// The agents to bump [default: every agent with a version in its file]
    #[arg(value_name = "AGENT", conflicts_with = "pack")]
    pub agents: Vec<String>,
    /// Bump the pack's version (`release.files`) instead, from the commits under the
    /// manifest's directory
    #[arg(long)]
    pub pack: bool,
    /// With `--pack`: once HEAD carries the version, create its annotated tag
    #[arg(long, requires = "pack")]
    pub tag: bool,
    /// Print the table of what would change, and write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
    /// Fail when a commit that counts is not a Conventional Commit (else it counts
    /// as no bump and is listed)
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Print the versions as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SetArgs {
    /// The new version, `X.Y.Z`
    #[arg(value_name = "VERSION")]
    pub version: String,
    /// Create the annotated tag of the version on HEAD (HEAD's version files must
    /// already say it: commit them first)
    #[arg(long)]
    pub tag: bool,
    /// Print what would change, and write nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct ChangelogArgs {
    /// The agents whose changelogs to write [default: the pack's and every
    /// versioned agent's]
    #[arg(value_name = "AGENT")]
    pub agents: Vec<String>,
    /// Print the changes to the files, and write nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct HookArgs {
    #[command(subcommand)]
    pub hook: HookCommand,
}

#[derive(Debug, Subcommand)]
pub enum HookCommand {
    /// The `UserPromptSubmit` hook of `budget.enforce`: refuses the prompt (exit 2)
    /// once today's spend reaches the budget, warns past the threshold, and lets the
    /// prompt through, saying why, whenever it cannot tell
    ///
    /// Reads the hook's input (JSON) on stdin: the transcript's path says which
    /// Claude Code config directory to count. Reads no `mpm.yaml`.
    Budget(BudgetHookArgs),
}

#[derive(Debug, Args)]
pub struct BudgetHookArgs {
    /// The day's budget, in US dollars
    #[arg(long, value_name = "USD")]
    pub daily_usd: String,
    /// Warn past this share of it
    #[arg(long, value_name = "SHARE", default_value = "0.8")]
    pub warning_threshold: String,
    /// Model prices over the built-in table, as `budget.prices` in JSON
    #[arg(long, value_name = "JSON")]
    pub prices: Option<String>,
}

#[derive(Debug, Args)]
pub struct UsageArgs {
    /// The report: rows by local day, ISO week (with each day, the peak day, the
    /// average and the top agents and models), month, session, agent or model
    #[arg(value_enum, default_value_t = UsageReport::Daily)]
    pub report: UsageReport,
    /// From this local day on (`YYYY-MM-DD`)
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// Up to this local day, included (`YYYY-MM-DD`)
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,
    /// Print the report as JSON (a versioned format)
    #[arg(long)]
    pub json: bool,
    /// Each row's models too
    #[arg(long)]
    pub breakdown: bool,
    /// Read the transcripts of this Claude Code config directory [default: the
    /// target's; for a project target, `$CLAUDE_CONFIG_DIR`, else `~/.claude`,
    /// where the client writes them]
    #[arg(long, value_name = "DIR")]
    pub config_dir: Option<PathBuf>,
    /// Count days in this time zone (`Europe/Paris`, `UTC`) [default: `TZ`, else
    /// the system's]
    #[arg(long, value_name = "TZ")]
    pub timezone: Option<String>,
    /// Read every transcript whole, and neither read nor write the index
    #[arg(long)]
    pub no_index: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UsageReport {
    Daily,
    Weekly,
    Monthly,
    Session,
    Agent,
    Model,
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Print the JSON Schema of a registry's `index.json` instead
    #[arg(long)]
    pub index: bool,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// The agents to update (default: every agent from a registry)
    #[arg(value_name = "AGENT")]
    pub agents: Vec<String>,
}

#[derive(Debug, Args)]
pub struct OutdatedArgs {
    /// Print the list as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RegistryArgs {
    #[command(subcommand)]
    pub command: RegistryCommand,
}

#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Make a static index of a folder of claude-mpm templates (`*.json`) and
    /// agent files (`*.md`): `OUT/index.json` and a copy of every version's bytes.
    /// Versions come from `agent_version` or the frontmatter's `version`; versions
    /// already in OUT are kept, and one published with other bytes is refused
    Build(RegistryBuildArgs),
}

#[derive(Debug, Args)]
pub struct RegistryBuildArgs {
    /// The folder of templates and agent files
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// The folder to write the index and the files to (served as it is)
    #[arg(long, value_name = "OUT")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct CacheArgs {
    #[command(subcommand)]
    pub action: CacheAction,
}

#[derive(Debug, Subcommand)]
pub enum CacheAction {
    /// Print the cache's entries, bytes and limits, and its hits, misses and hit
    /// rate over every command so far (writes nothing)
    Stats(CacheStatsArgs),
    /// Remove every entry, and the hit and miss counts
    Clear,
    /// Remove expired registry indexes, then the least recently used entries until
    /// the cache is within its limits, and temp files of interrupted writes
    Prune,
}

#[derive(Debug, Args)]
pub struct CacheStatsArgs {
    /// Print the figures as JSON (a versioned format)
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct EnvArgs {
    /// The shell to write for (default: fish when `$SHELL` is fish, else POSIX sh,
    /// which bash and zsh read)
    #[arg(long, value_enum)]
    pub shell: Option<EnvShell>,
    /// Print the variables as JSON instead
    #[arg(long, conflicts_with = "shell")]
    pub json: bool,
    /// Print secrets' values too (without it they are left out, named in a comment)
    #[arg(long)]
    pub show_secrets: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EnvShell {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print the findings as JSON (a versioned format)
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Print the plan as JSON (a versioned format)
    #[arg(long)]
    pub json: bool,
    /// Exit 0 when there are no changes, 1 on error, 2 when there are changes
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Save the plan to FILE; `mpm apply FILE` applies exactly it
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Show each agent's tokens (estimates) and the listing's total
    #[arg(long)]
    pub tokens: bool,
    #[command(flatten)]
    pub takeover: TakeoverArgs,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The git revision to compare with: a branch, tag or commit (`main`, `v1.2.0`,
    /// `HEAD~1`, `origin/main`)
    #[arg(value_name = "REF")]
    pub rev: String,
    /// `text`, or `markdown` for a pull-request comment
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,
    /// Print the comparison as JSON (a versioned format)
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    Text,
    Markdown,
}

#[derive(Debug, Args, Clone, Copy)]
pub struct TakeoverArgs {
    /// Overwrite or delete files changed outside mpm (their bytes are kept for rollback)
    #[arg(long)]
    pub force: bool,
    /// Take over files mpm did not write that stand where an agent goes (kept for rollback)
    #[arg(long)]
    pub adopt: bool,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan saved by `mpm plan --out FILE`: applied exactly, without asking
    #[arg(value_name = "PLAN")]
    pub plan: Option<PathBuf>,
    /// Do not ask for confirmation
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Show the plan and stop
    #[arg(long)]
    pub dry_run: bool,
    /// Show each agent's tokens (estimates) and the listing's total in the plan
    #[arg(long, conflicts_with = "plan")]
    pub tokens: bool,
    #[command(flatten)]
    pub takeover: TakeoverArgs,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    #[command(subcommand)]
    pub action: Option<HistoryAction>,
}

#[derive(Debug, Subcommand)]
pub enum HistoryAction {
    /// Drop old generations and the blobs only they used
    Prune {
        /// How many of the newest generations to keep (at least 1: the current one)
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        keep: u64,
    },
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// Return to the state right after generation N (0: before the first)
    #[arg(long, value_name = "N")]
    pub to: Option<u64>,
    /// Do not ask for confirmation
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Show the plan and stop
    #[arg(long)]
    pub dry_run: bool,
    /// Overwrite files changed outside mpm since (their bytes are kept)
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write `mpm.1` and one page per command (`mpm-plan.1`, ...) into DIR instead
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Apply each plan that has no conflicts, without asking, as `mpm apply --yes`
    #[arg(long)]
    pub apply: bool,
    /// Plan once the files have been quiet this many milliseconds after a change
    #[arg(long, value_name = "MS", default_value_t = 200)]
    pub debounce: u64,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Write one agent per claude-mpm template in DIR (migration)
    #[arg(long, value_name = "DIR")]
    pub from_templates: Option<PathBuf>,
    /// Overwrite an existing manifest
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub action: ConfigAction,
}

#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Print every setting's effective value, one `key = value` per line
    Show(ConfigShowArgs),
}

#[derive(Debug, Args)]
pub struct ConfigShowArgs {
    /// Add where each value came from: `file:line`, `env MPM_X`, `flag --x` or
    /// `default`
    #[arg(long)]
    pub origin: bool,
    /// Print the settings as JSON (a versioned format, with the origins)
    #[arg(long)]
    pub json: bool,
}
