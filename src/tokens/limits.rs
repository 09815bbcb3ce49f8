//! The token limits (`budget.max_prompt_tokens`, `budget.max_listing_tokens`) and
//! the check of a plan's counts against them. Pure: counts and limits in, the
//! error out.

use super::{PlanTokens, grouped};
use crate::config::Origin;
use crate::diagnose::{Diagnose, Location};

/// One limit, and where it was set.
#[derive(Debug, Clone)]
pub struct Limit {
    pub max: u64,
    pub origin: Origin,
}

/// The limits a plan is checked against; `None`: not set.
#[derive(Debug, Clone, Default)]
pub struct TokenLimits {
    /// Each agent's prompt.
    pub prompt: Option<Limit>,
    /// The listing of all agents: what every session carries.
    pub listing: Option<Limit>,
}

impl TokenLimits {
    pub fn any(&self) -> bool {
        self.prompt.is_some() || self.listing.is_some()
    }
}

/// Which limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Prompt,
    Listing,
}

impl Which {
    pub fn setting(self) -> &'static str {
        match self {
            Which::Prompt => "budget.max_prompt_tokens",
            Which::Listing => "budget.max_listing_tokens",
        }
    }
}

/// A plan over a limit: nothing is written.
#[derive(Debug, thiserror::Error)]
#[error("{}", message(self))]
pub struct BudgetError {
    pub which: Which,
    pub max: u64,
    /// The agents over it with their prompts' counts, largest first; for the
    /// listing, its total (`agent` empty).
    pub over: Vec<(String, u64)>,
    /// The setting's place in its file, when it is in one.
    pub location: Option<Location>,
    /// `budget.max_prompt_tokens` in `mpm.yaml`, `MPM_BUDGET_MAX_PROMPT_TOKENS`.
    pub set_by: String,
    /// The listing's limit, when the prompts are over theirs and it is over too:
    /// both are said, so that one fix does not reveal the other.
    pub also: Option<Box<BudgetError>>,
}

fn message(e: &BudgetError) -> String {
    match &e.also {
        Some(_) => "the plan is over both token limits".to_string(),
        None => one(e),
    }
}

/// What is over one limit.
fn one(e: &BudgetError) -> String {
    let max = grouped(e.max);
    match (e.which, e.over.as_slice()) {
        (Which::Listing, [(_, total), ..]) => format!(
            "the agent listing every session carries is {} tokens (est.), over `{}` ({max})",
            grouped(*total),
            e.which.setting()
        ),
        (_, [(agent, n)]) => format!(
            "the prompt of agent `{agent}` is {} tokens (est.), over `{}` ({max})",
            grouped(*n),
            e.which.setting()
        ),
        (_, over) => format!(
            "the prompts of {} agents are over `{}` ({max})",
            over.len(),
            e.which.setting()
        ),
    }
}

impl Diagnose for BudgetError {
    fn location(&self) -> Option<&Location> {
        self.location.as_ref()
    }

    fn causes(&self) -> Vec<String> {
        let agents = |e: &BudgetError| -> Vec<String> {
            match (e.which, e.over.len()) {
                (Which::Prompt, n) if n > 1 => e
                    .over
                    .iter()
                    .map(|(agent, n)| format!("`{agent}`: {} tokens (est.)", grouped(*n)))
                    .collect(),
                _ => Vec::new(),
            }
        };
        match &self.also {
            None => agents(self),
            Some(also) => {
                let mut prompts = one(self);
                let named = agents(self);
                if !named.is_empty() {
                    prompts = format!("{prompts}: {}", named.join(", "));
                }
                vec![prompts, one(also)]
            }
        }
    }

    fn hint(&self) -> Option<String> {
        let fix = |e: &BudgetError| {
            let what = match e.which {
                Which::Prompt => "shorten the agent's prompt",
                Which::Listing => "shorten the agents' descriptions, or drop agents",
            };
            format!("{what}, or raise the limit ({})", e.set_by)
        };
        let mut fixes = vec![fix(self)];
        fixes.extend(self.also.as_deref().map(fix));
        Some(format!(
            "{}; counts are estimates (`docs/tokens.md`)",
            fixes.join("; ")
        ))
    }
}

/// Where a limit was set, as a hint names it.
fn set_by(which: Which, origin: &Origin) -> String {
    match origin {
        Origin::Env(var) => format!("`{var}`"),
        Origin::Flag(flag) => format!("`{flag}`"),
        Origin::File { .. } => format!("`{}` in {}", which.setting(), origin.describe()),
        Origin::Default => format!("`{}`", which.setting()),
    }
}

fn error(which: Which, limit: &Limit, over: Vec<(String, u64)>) -> BudgetError {
    BudgetError {
        which,
        max: limit.max,
        over,
        location: limit.origin.location(&[]),
        set_by: set_by(which, &limit.origin),
        also: None,
    }
}

/// Checks the counts after the plan (deleted agents are not counted) against
/// the limits: the prompt limit's error first, with the listing's in it when both
/// are over.
pub fn check(tokens: &PlanTokens, limits: &TokenLimits) -> Result<(), Box<BudgetError>> {
    let prompts = limits.prompt.as_ref().and_then(|limit| {
        let mut over: Vec<(String, u64)> = tokens
            .agents
            .iter()
            .filter_map(|a| a.prompt.map(|n| (a.agent.clone(), n)))
            .filter(|(_, n)| *n > limit.max)
            .collect();
        over.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        (!over.is_empty()).then(|| error(Which::Prompt, limit, over))
    });
    let listing = limits
        .listing
        .as_ref()
        .filter(|limit| tokens.listing > limit.max)
        .map(|limit| error(Which::Listing, limit, vec![(String::new(), tokens.listing)]));
    match (prompts, listing) {
        (None, None) => Ok(()),
        (Some(mut prompts), listing) => {
            if prompts.location.is_none() {
                prompts.location = listing.as_ref().and_then(|l| l.location.clone());
            }
            prompts.also = listing.map(Box::new);
            Err(Box::new(prompts))
        }
        (None, Some(listing)) => Err(Box::new(listing)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::AgentTokens;

    fn agent(name: &str, prompt: Option<u64>, listing: Option<u64>) -> AgentTokens {
        AgentTokens {
            address: crate::address::Address::parse(&format!("agents/{name}.md")).unwrap(),
            agent: name.into(),
            prompt,
            prompt_before: None,
            listing,
            listing_before: None,
        }
    }

    fn plan(agents: Vec<AgentTokens>) -> PlanTokens {
        PlanTokens::new(agents)
    }

    fn limits(prompt: Option<u64>, listing: Option<u64>) -> TokenLimits {
        let limit = |max| Limit {
            max,
            origin: Origin::Env("MPM_BUDGET_X"),
        };
        TokenLimits {
            prompt: prompt.map(limit),
            listing: listing.map(limit),
        }
    }

    #[test]
    fn within_the_limits_passes_and_a_deleted_agent_is_not_counted() {
        let p = plan(vec![
            agent("a", Some(10), Some(5)),
            agent("gone", None, None),
        ]);
        assert!(check(&p, &limits(Some(10), Some(5))).is_ok());
        assert!(check(&p, &TokenLimits::default()).is_ok());
    }

    #[test]
    fn prompts_over_the_limit_are_named_largest_first() {
        let p = plan(vec![
            agent("a", Some(11), Some(1)),
            agent("b", Some(2000), Some(1)),
            agent("c", Some(3), Some(1)),
        ]);
        let e = check(&p, &limits(Some(10), None)).unwrap_err();
        assert_eq!(e.which, Which::Prompt);
        assert_eq!(e.over, vec![("b".into(), 2000), ("a".into(), 11)]);
        assert_eq!(
            e.to_string(),
            "the prompts of 2 agents are over `budget.max_prompt_tokens` (10)"
        );
        assert_eq!(
            e.causes(),
            vec!["`b`: 2 000 tokens (est.)", "`a`: 11 tokens (est.)"]
        );
        assert_eq!(
            e.hint().unwrap(),
            "shorten the agent's prompt, or raise the limit (`MPM_BUDGET_X`); counts are estimates (`docs/tokens.md`)"
        );
    }

    #[test]
    fn the_listing_total_over_its_limit_fails() {
        let p = plan(vec![
            agent("a", Some(1), Some(600)),
            agent("b", Some(1), Some(500)),
        ]);
        let e = check(&p, &limits(None, Some(1000))).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the agent listing every session carries is 1 100 tokens (est.), over `budget.max_listing_tokens` (1 000)"
        );
    }

    #[test]
    fn both_limits_over_are_both_said() {
        let p = plan(vec![
            agent("a", Some(11), Some(600)),
            agent("b", Some(20), Some(500)),
        ]);
        let e = check(&p, &limits(Some(10), Some(1000))).unwrap_err();
        assert_eq!(e.to_string(), "the plan is over both token limits");
        assert_eq!(
            e.causes(),
            vec![
                "the prompts of 2 agents are over `budget.max_prompt_tokens` (10): `b`: 20 tokens (est.), `a`: 11 tokens (est.)",
                "the agent listing every session carries is 1 100 tokens (est.), over `budget.max_listing_tokens` (1 000)",
            ]
        );
        assert_eq!(
            e.hint().unwrap(),
            "shorten the agent's prompt, or raise the limit (`MPM_BUDGET_X`); shorten the agents' descriptions, or drop agents, or raise the limit (`MPM_BUDGET_X`); counts are estimates (`docs/tokens.md`)"
        );
    }
}
