//! What can go wrong reading a git registry or a marketplace.

use crate::diagnose::Diagnose;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// A repository, a clone in the cache, or an object in one that cannot be read.
    #[error("cannot read the git repository `{shown}`: {message}")]
    Repository { shown: String, message: String },
    /// Fetching a URL's repository into the cache failed.
    #[error("cannot fetch `{url}`: {message}")]
    Fetch { url: String, message: String },
    #[error(
        "registry `{registry}`: the git repository `{shown}` has no branch, tag or commit `{reference}`"
    )]
    NoSuchRef {
        registry: String,
        shown: String,
        reference: String,
        /// A branch or tag that is close.
        near: Option<String>,
    },
    #[error("agent `{agent}`: the commit {commit} that mpm.lock pins is not in `{shown}`")]
    NoSuchCommit {
        agent: String,
        commit: String,
        shown: String,
    },
    #[error("agent `{agent}`: `{path}` is not in `{shown}` at commit {commit}")]
    NoSuchFile {
        agent: String,
        path: String,
        shown: String,
        commit: String,
    },
    #[error("registry `{registry}` has {} agents named `{name}` at {at}: {}", paths.len(), paths.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", "))]
    TwoAgents {
        registry: String,
        name: String,
        at: String,
        paths: Vec<String>,
    },
    #[error("agent `{agent}`: {what}, and `--offline` forbids fetching `{url}`")]
    Offline {
        agent: String,
        url: String,
        what: String,
    },
    #[error("`{shown}` is not a Claude Code plugin marketplace: {message}")]
    NotAMarketplace { shown: String, message: String },
    #[error("agent `{agent}`: marketplace `{registry}` has no plugin `{plugin}`")]
    NoSuchPlugin {
        agent: String,
        registry: String,
        plugin: String,
        near: Option<String>,
        plugins: Vec<String>,
    },
    #[error(
        "agent `{agent}`: plugin `{plugin}` of marketplace `{registry}` comes from a `{kind}` source, which this mpm cannot read yet"
    )]
    PluginSource {
        agent: String,
        registry: String,
        plugin: String,
        kind: String,
    },
    #[error("agent `{agent}`: marketplace `{registry}` has an agent `{name}` in {} plugins: {}", plugins.len(), plugins.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", "))]
    Ambiguous {
        agent: String,
        registry: String,
        name: String,
        plugins: Vec<String>,
    },
    #[error("agent `{agent}`: `{shown}` cannot be deployed as an agent file: {message}")]
    NotAFile {
        agent: String,
        shown: String,
        message: String,
        plugin: String,
        registry: String,
    },
    #[error("mpm.lock pins agent `{agent}` at `{path}`, which is not a path inside its registry")]
    BadPath { agent: String, path: String },
}

impl Diagnose for RegistryError {
    fn hint(&self) -> Option<String> {
        Some(match self {
            RegistryError::Repository { .. } => "check the registry's `git:` (or `marketplace:`) in mpm.yaml".into(),
            RegistryError::Fetch { .. } => "check the URL and the network; `--offline` uses what mpm.lock and mpm's clone hold".into(),
            RegistryError::NoSuchRef { near: Some(near), .. } => format!("did you mean `{near}`?"),
            RegistryError::NoSuchRef { .. } => "give `ref:` a branch, a tag or a commit of the repository, or remove it to read its HEAD (and its `v1.2.3` tags)".into(),
            RegistryError::NoSuchCommit { agent, .. } => format!("the repository lost that commit (a force push?): nothing was written. To take what it holds now, `mpm update {agent}`"),
            RegistryError::NoSuchFile { agent, .. } => format!("mpm.lock names a file that commit does not hold: restore mpm.lock from git, or `mpm update {agent}`"),
            RegistryError::TwoAgents { .. } => "an agent's name is its frontmatter `name` (a template's: its file name); rename or remove one of them in the repository".into(),
            RegistryError::Offline { .. } => "run once without `--offline` to fetch it".into(),
            RegistryError::NotAMarketplace { .. } => "give `marketplace:` the folder holding `.claude-plugin/marketplace.json` (or a git URL of one)".into(),
            RegistryError::NoSuchPlugin { near: Some(near), .. } => format!("did you mean `{near}`?"),
            RegistryError::NoSuchPlugin { plugins, .. } if plugins.is_empty() => "the marketplace lists no plugin".into(),
            RegistryError::NoSuchPlugin { plugins, .. } => format!("its plugins: {}", plugins.join(", ")),
            RegistryError::PluginSource { .. } => "mpm reads plugins whose `source` is a folder of the marketplace (`\"./plugins/name\"`); install this one with `claude plugin install`".into(),
            RegistryError::Ambiguous { plugins, .. } => format!("say which with `plugin:`, like `plugin: {}`", plugins.first().map(String::as_str).unwrap_or_default()),
            RegistryError::NotAFile { plugin, registry, .. } => format!("Claude Code loads it inside its plugin only: install the plugin there (`claude plugin install {plugin}@{registry}`), or ask its maintainers to make it a complete agent file"),
            RegistryError::BadPath { agent, .. } => format!("restore mpm.lock from git, or `mpm update {agent}`"),
        })
    }
}
