//! The `mpm.yaml` model (version 1): typed with serde, described with schemars.
//!
//! Values are checked while they are read, so that serde_yaml attaches the
//! `line:column` of the offending value to the error; checks that need more than one
//! value (one source per agent, files that must exist) point back into the file with
//! [`locate`].

pub mod budget;
mod cache;
pub mod load;
mod locate;
pub mod registries;
pub mod release;
pub mod settings;

pub use budget::{BudgetSection, ModelPrice, PriceTier};
pub use cache::CacheSection;
pub use load::{Loaded, ManifestError, find, load};
pub use locate::{locate, locate_exact};
pub use release::ReleaseSection;

use crate::agent_file;
use crate::agent_file::{Color, Effort, Isolation, Memory, Model, PermissionMode, ToolList};
use crate::checked::deserialize_checked;
use crate::name::{AgentName, NAME_MAX_LEN, NAME_PATTERN};
use crate::text;
use schemars::JsonSchema;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

/// One Claude Code config directory's desired state.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "mpm.yaml",
    description = "The desired state of one Claude Code config directory (mpm manifest, version 1)"
)]
pub struct Manifest {
    /// The manifest format version. Always `1`.
    pub version: ManifestVersion,
    /// Where the agents go: `project` (the `.claude` folder beside this file), `user`
    /// (`$CLAUDE_CONFIG_DIR`, else `~/.claude`) or `{ path: DIR }`. `--target` overrides it.
    #[serde(default)]
    pub target: TargetSpec,
    /// mpm's own settings for this project (`lock_timeout`, `state_dir`,
    /// `cache.enabled`, `cache.dir`, `http.*`); `MPM_*` variables and flags override them.
    #[serde(default, skip_serializing_if = "crate::config::Section::is_empty")]
    pub mpm: crate::config::Section,
    /// Values applied to every agent unless the agent says otherwise.
    #[serde(default)]
    pub defaults: Defaults,
    /// The agents, by name. The name is the file (`agents/<name>.md`) and the
    /// frontmatter `name`.
    #[serde(default)]
    pub agents: Agents,
    /// Variables for Claude Code's sessions, tools and hooks: the `env` object of
    /// the target's settings file (`scope: local`: settings.local.json).
    #[serde(default, skip_serializing_if = "settings::Environment::is_empty")]
    pub environment: settings::Environment,
    /// Other keys of the target's settings.json, merged key by key.
    #[serde(default, skip_serializing_if = "settings::Settings::is_empty")]
    pub settings: settings::Settings,
    /// Shared sources of agents, by name: a static JSON index, a git repository or
    /// a Claude Code plugin marketplace. An agent uses one with `registry: NAME`.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub registries: registries::Registries,
    /// Bounds of the download cache: `max_entries`, `max_size_mb`, `ttl_hours`.
    #[serde(default, skip_serializing_if = "CacheSection::is_default")]
    pub cache: CacheSection,
    /// What Claude Code may spend in a day (`daily_usd`, `warning_threshold`,
    /// `enforce`), how large agents may grow (`max_prompt_tokens`,
    /// `max_listing_tokens`), and model prices over the built-in table (`prices`).
    #[serde(default, skip_serializing_if = "BudgetSection::is_empty")]
    pub budget: BudgetSection,
    /// The pack's own version: the files that carry it (`files`), its git tag
    /// (`tag`, default `v{version}`) and the changelogs (`changelog`,
    /// `agent_changelog`). `mpm version` and `mpm changelog` read it.
    #[serde(default, skip_serializing_if = "ReleaseSection::is_default")]
    pub release: ReleaseSection,
}

/// `version: 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ManifestVersion(u32);

impl<'de> Deserialize<'de> for ManifestVersion {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match u32::deserialize(d)? {
            1 => Ok(ManifestVersion(1)),
            n => Err(de::Error::custom(format!(
                "unsupported manifest version {n}: this mpm reads version 1"
            ))),
        }
    }
}

impl JsonSchema for ManifestVersion {
    fn schema_name() -> Cow<'static, str> {
        "ManifestVersion".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "const": 1 })
    }
}

/// Where the target directory is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TargetSpec {
    /// `<dir of mpm.yaml>/.claude`
    #[default]
    Project,
    /// `$CLAUDE_CONFIG_DIR`, else `~/.claude`
    User,
    /// A directory, relative to the manifest.
    Path { path: String },
}

impl Serialize for TargetSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            TargetSpec::Project => s.serialize_str("project"),
            TargetSpec::User => s.serialize_str("user"),
            TargetSpec::Path { path } => {
                let mut map = s.serialize_map(Some(1))?;
                map.serialize_entry("path", path)?;
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for TargetSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        const EXPECTED: &str = "`project`, `user` or `{ path: DIR }`";
        impl<'de> Visitor<'de> for V {
            type Value = TargetSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(EXPECTED)
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<TargetSpec, E> {
                match s {
                    "project" => Ok(TargetSpec::Project),
                    "user" => Ok(TargetSpec::User),
                    _ => Err(E::custom(format!(
                        "unknown target `{s}`: expected {EXPECTED}"
                    ))),
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TargetSpec, A::Error> {
                let mut path = None;
                while let Some(key) = map.next_key::<String>()? {
                    if key != "path" {
                        return Err(de::Error::unknown_field(&key, &["path"]));
                    }
                    path = Some(map.next_value::<String>()?);
                }
                match path {
                    Some(p) if !p.is_empty() => Ok(TargetSpec::Path { path: p }),
                    _ => Err(de::Error::custom(format!("expected {EXPECTED}"))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for TargetSpec {
    fn schema_name() -> Cow<'static, str> {
        "TargetSpec".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let mut schema = target_values();
        schema["description"] = "`project` (<dir of mpm.yaml>/.claude), `user` ($CLAUDE_CONFIG_DIR, else ~/.claude) or { path: DIR }".into();
        schemars::Schema::try_from(schema).unwrap_or_default()
    }
}

/// What a target may be written as, in a schema: `project`, `user`, `{ path: DIR }`.
pub fn target_values() -> serde_json::Value {
    serde_json::json!({
        "anyOf": [
            { "enum": ["project", "user"] },
            {
                "type": "object",
                "properties": { "path": { "type": "string", "minLength": 1 } },
                "required": ["path"],
                "additionalProperties": false
            }
        ]
    })
}

/// Declares a struct with the frontmatter fields a manifest may set, after its own.
macro_rules! with_frontmatter_fields {
    ($(#[$meta:meta])* pub struct $name:ident { $($(#[$fmeta:meta])* pub $field:ident: $ty:ty,)* }) => {
        $(#[$meta])*
        pub struct $name {
            $($(#[$fmeta])* pub $field: $ty,)*
            /// `sonnet`, `opus`, `haiku`, `inherit` or a full model id.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub model: Option<Model>,
            /// Tools the agent may use (absent: all tools; `[]`: none).
            #[serde(default, deserialize_with = "ToolList::deserialize_present", skip_serializing_if = "Option::is_none")]
            #[schemars(with = "ToolList")]
            pub tools: Option<ToolList>,
            /// Tools the agent may not use (`[]`: none, the same as absent).
            #[serde(default, rename = "disallowedTools", deserialize_with = "ToolList::deserialize_present", skip_serializing_if = "Option::is_none")]
            #[schemars(with = "ToolList")]
            pub disallowed_tools: Option<ToolList>,
            /// red, blue, green, yellow, purple, orange, pink or cyan.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub color: Option<Color>,
            #[serde(default, rename = "permissionMode", skip_serializing_if = "Option::is_none")]
            pub permission_mode: Option<PermissionMode>,
            /// A positive number of turns.
            #[serde(default, rename = "maxTurns", skip_serializing_if = "Option::is_none")]
            pub max_turns: Option<std::num::NonZeroU32>,
            #[serde(default, deserialize_with = "frontmatter_texts", skip_serializing_if = "Option::is_none")]
            pub skills: Option<Vec<String>>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub effort: Option<Effort>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub memory: Option<Memory>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub background: Option<bool>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub isolation: Option<Isolation>,
            #[serde(default, rename = "initialPrompt", deserialize_with = "frontmatter_text", skip_serializing_if = "Option::is_none")]
            pub initial_prompt: Option<String>,
        }

        impl $name {
            /// The frontmatter fields this entry sets.
            pub fn frontmatter(&self) -> FrontmatterFields {
                FrontmatterFields {
                    model: self.model.clone(),
                    tools: self.tools.clone(),
                    disallowed_tools: self.disallowed_tools.clone(),
                    color: self.color.clone(),
                    permission_mode: self.permission_mode,
                    max_turns: self.max_turns.map(std::num::NonZeroU32::get),
                    skills: self.skills.clone(),
                    effort: self.effort,
                    memory: self.memory,
                    background: self.background,
                    isolation: self.isolation,
                    initial_prompt: self.initial_prompt.clone(),
                }
            }
        }
    };
}

/// The frontmatter fields a manifest entry can set, gathered from either an agent
/// or `defaults`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FrontmatterFields {
    pub model: Option<Model>,
    pub tools: Option<ToolList>,
    pub disallowed_tools: Option<ToolList>,
    pub color: Option<Color>,
    pub permission_mode: Option<PermissionMode>,
    pub max_turns: Option<u32>,
    pub skills: Option<Vec<String>>,
    pub effort: Option<Effort>,
    pub memory: Option<Memory>,
    pub background: Option<bool>,
    pub isolation: Option<Isolation>,
    pub initial_prompt: Option<String>,
}

impl FrontmatterFields {
    /// `self` where set, else `fallback`.
    pub fn or(self, fallback: FrontmatterFields) -> FrontmatterFields {
        FrontmatterFields {
            model: self.model.or(fallback.model),
            tools: self.tools.or(fallback.tools),
            disallowed_tools: self.disallowed_tools.or(fallback.disallowed_tools),
            color: self.color.or(fallback.color),
            permission_mode: self.permission_mode.or(fallback.permission_mode),
            max_turns: self.max_turns.or(fallback.max_turns),
            skills: self.skills.or(fallback.skills),
            effort: self.effort.or(fallback.effort),
            memory: self.memory.or(fallback.memory),
            background: self.background.or(fallback.background),
            isolation: self.isolation.or(fallback.isolation),
            initial_prompt: self.initial_prompt.or(fallback.initial_prompt),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == FrontmatterFields::default()
    }
}

with_frontmatter_fields! {
    /// Applied to every agent unless the agent says otherwise.
    #[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    pub struct Defaults {
        /// A claude-mpm base template (`base_agent.json`) whose instructions open every
        /// template agent's prompt.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub base: Option<String>,
    }
}

with_frontmatter_fields! {
    /// One agent: exactly one source (`template`, `file`, `prompt` or `registry`),
    /// then overrides.
    #[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    pub struct AgentSpec {
        /// A claude-mpm JSON template, relative to the manifest.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub template: Option<String>,
        /// A ready Claude Code agent file (Markdown), validated and copied as is.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub file: Option<String>,
        /// A registry declared under `registries:`; the agent is the one of this
        /// name there (or `agent:`), at the newest version `version` allows, pinned
        /// in mpm.lock.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub registry: Option<registries::RegistryName>,
        /// For a marketplace registry: the plugin the agent is in.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub plugin: Option<String>,
        /// The agent's name in its registry, when it is deployed under another.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub agent: Option<String>,
        /// An inline agent's system prompt (needs `description`).
        #[serde(default, deserialize_with = "body_text", skip_serializing_if = "Option::is_none")]
        pub prompt: Option<String>,
        /// When Claude should use the agent (required for inline agents; overrides a
        /// template's).
        #[serde(default, deserialize_with = "frontmatter_text", skip_serializing_if = "Option::is_none")]
        pub description: Option<String>,
        /// A semver requirement on the template's `agent_version`, or on the
        /// versions a registry offers, like `>=3.5` or `^2.1`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(with = "Option<String>")]
        pub version: Option<semver::VersionReq>,
        /// `false`: declared but not deployed (deleted if mpm wrote it).
        #[serde(default = "yes", skip_serializing_if = "is_true")]
        pub enabled: bool,
        /// `true`: a plan that would delete this agent fails instead.
        #[serde(default, skip_serializing_if = "is_false")]
        pub protect: bool,
    }
}

/// Text a manifest puts into the frontmatter, checked while it is read (so the error
/// points at it): no control character, no `---`.
struct FrontmatterText(String);

impl<'de> Deserialize<'de> for FrontmatterText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_checked(d, |s: &str| {
            agent_file::check_frontmatter_value(s).map(|()| FrontmatterText(s.to_string()))
        })
    }
}

/// Text that becomes an agent's prompt, checked while it is read: no control character.
struct BodyText(String);

impl<'de> Deserialize<'de> for BodyText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_checked(d, |s: &str| {
            text::check(s).map(|()| BodyText(s.to_string()))
        })
    }
}

fn frontmatter_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<FrontmatterText>::deserialize(d)?.map(|t| t.0))
}

fn frontmatter_texts<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    Ok(Option::<Vec<FrontmatterText>>::deserialize(d)?
        .map(|v| v.into_iter().map(|t| t.0).collect()))
}

fn body_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<BodyText>::deserialize(d)?.map(|t| t.0))
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The agents map. Unlike a plain map it refuses a name given twice.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(transparent)]
pub struct Agents(pub BTreeMap<AgentName, AgentSpec>);

impl<'de> Deserialize<'de> for Agents {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Agents;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of agent names to agents")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Agents, E> {
                Ok(Agents::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Agents, A::Error> {
                // built at once from a list: inserted one by one in order, a B-tree
                // leaves every node half empty (10 000 agents: 5.6 MB, not 3)
                let mut seen = std::collections::HashSet::new();
                let mut agents = Vec::new();
                while let Some(name) = map.next_key_seed(NewName(&seen))? {
                    let spec = map.next_value::<AgentSpec>()?;
                    seen.insert(name.as_str().to_string());
                    agents.push((name, spec));
                }
                Ok(Agents(agents.into_iter().collect()))
            }
        }
        d.deserialize_any(V)
    }
}

/// Reads an agent name that is not in the map yet; the error is raised while the
/// deserializer points at the second occurrence.
struct NewName<'a>(&'a std::collections::HashSet<String>);

impl<'de> de::DeserializeSeed<'de> for NewName<'_> {
    type Value = AgentName;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<AgentName, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for NewName<'_> {
    type Value = AgentName;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an agent name")
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<AgentName, E> {
        let name = AgentName::parse(s).map_err(|e| E::custom(e.to_serde()))?;
        if self.0.contains(name.as_str()) {
            return Err(E::custom(format!("agent `{name}` is defined twice")));
        }
        Ok(name)
    }
}

impl JsonSchema for Agents {
    fn schema_name() -> Cow<'static, str> {
        "Agents".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let spec = generator.subschema_for::<AgentSpec>();
        schemars::json_schema!({
            "type": "object",
            "propertyNames": { "pattern": NAME_PATTERN, "maxLength": NAME_MAX_LEN },
            "additionalProperties": spec
        })
    }
}

/// The JSON Schema of `mpm.yaml`, as checked in at `schema/mpm.schema.json`.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(Manifest);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
