//! Token counts of the agents in a plan: each agent's prompt (what a delegation
//! sends) and its line in the agent listing (what every session sends), before and
//! after the plan, and the limits they are checked against. Estimates: Claude's
//! tokenizer is not public, the counts are `cl100k_base`'s ([`tokenizer`]).
//!
//! Counts are kept in the download cache by the digest of the agent file counted
//! (which the plan has without reading or rendering anything), so a plan whose
//! agents did not change tokenizes nothing and never builds the tokenizer. A
//! count is kept only once the command succeeds ([`Counted::keep`]).

mod limits;
mod listing;
mod tokenizer;

pub use limits::{BudgetError, Limit, TokenLimits, Which, check};
pub use listing::{Texts, texts};
pub use tokenizer::ENCODING;

use crate::Error;
use crate::address::{Address, Kind};
use crate::cache::{Cache, TokenEntry};
use crate::desired::{Source, checked_bytes};
use crate::hash::Digest;
use crate::plan::{Action, Plan};
use crate::target::Target;
use std::collections::HashMap;

/// Bumped whenever what is counted changes (the listing's format, the trimming of
/// the prompt): old counts are then never hit.
const KEY_FORMAT: &str = "mpm-tokens 1";

/// One agent's counts; `None`: absent on that side of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentTokens {
    pub address: Address,
    pub agent: String,
    pub prompt: Option<u64>,
    pub prompt_before: Option<u64>,
    pub listing: Option<u64>,
    pub listing_before: Option<u64>,
}

/// The counts of a plan's agents, in plan order, and the listing's totals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanTokens {
    pub agents: Vec<AgentTokens>,
    /// The listing of the agents after the plan: the sum of their lines.
    pub listing: u64,
    pub listing_before: u64,
}

impl PlanTokens {
    pub fn new(agents: Vec<AgentTokens>) -> PlanTokens {
        // counts from the cache are read, not trusted: they never overflow
        let sum = |counts: &mut dyn Iterator<Item = u64>| counts.fold(0u64, u64::saturating_add);
        let listing = sum(&mut agents.iter().filter_map(|a| a.listing));
        let listing_before = sum(&mut agents.iter().filter_map(|a| a.listing_before));
        PlanTokens {
            agents,
            listing,
            listing_before,
        }
    }

    /// The counts of the agent at `address` (the agents are in plan order: by
    /// address).
    pub fn of(&self, address: &Address) -> Option<&AgentTokens> {
        self.agents
            .binary_search_by(|a| a.address.cmp(address))
            .ok()
            .map(|i| &self.agents[i])
    }

    /// The largest prompt after the plan, and its agent.
    pub fn largest_prompt(&self) -> Option<(&str, u64)> {
        self.agents
            .iter()
            .filter_map(|a| a.prompt.map(|n| (a.agent.as_str(), n)))
            .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(a.0)))
    }
}

/// `1 204`: a count as the plan shows it, in groups of three digits.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// The counts of a plan, and what the command keeps of them if it succeeds.
pub struct Counted {
    pub tokens: PlanTokens,
    cache: Cache,
    /// Counts made in this command, by key and the file counted: kept by
    /// [`Counted::keep`].
    made: Vec<(Digest, Digest, TokenEntry)>,
}

impl Counted {
    /// The end of a command that succeeded: the counts it made go into the cache
    /// (with its hits and misses). A cache that cannot be written fails nothing:
    /// the message says why.
    pub fn keep(self) -> Option<String> {
        let kept = (|| {
            for (key, file, entry) in &self.made {
                self.cache.put_tokens(key, file, entry)?;
            }
            self.cache.finish()
        })();
        kept.err()
            .map(|e| format!("the token counts were not kept in the download cache: {e}"))
    }
}

/// The cache key of `file`'s counts.
fn key(file: &Digest) -> Digest {
    Digest::of(format!("{KEY_FORMAT}\0{ENCODING}\0{}", file.hex()).as_bytes())
}

/// Counts the agents of `plan`: the files after it from `source` (checked against
/// the plan's digests), the files before it from the target, each only when the
/// cache has no count for it.
pub fn count(
    plan: &Plan,
    source: &dyn Source,
    target: &Target,
    cache: Cache,
) -> Result<Counted, Error> {
    let rows: Vec<_> = plan
        .rows
        .iter()
        .filter(|r| r.address.kind() == Kind::AgentFile)
        .filter(|r| !matches!(r.action, Action::Conflict(_)))
        .collect();
    let after = |r: &crate::plan::Row| match r.action {
        Action::Delete | Action::Forget => None,
        _ => r.after.map(|s| s.digest),
    };
    // each file once: its digest, where it is, and whether it is on disk (the
    // file before the plan) or the source's (one the plan writes)
    let mut files: Vec<(Digest, &Address, bool)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for row in &rows {
        let sides = [(row.before.map(|s| s.digest), true), (after(row), false)];
        for (digest, on_disk) in sides {
            if let Some(digest) = digest.filter(|d| seen.insert(*d)) {
                files.push((digest, &row.address, on_disk));
            }
        }
    }
    // a cache that cannot be read is a miss (and the warning of `keep` says why it
    // cannot be written either); looked up on a few threads: each is a file read
    let kept = crate::parallel::map(&files, |(digest, _, _)| {
        cache.tokens(&key(digest), digest, ENCODING).ok().flatten()
    });
    let mut found: HashMap<Digest, Option<TokenEntry>> = HashMap::with_capacity(files.len());
    // the files with no count yet, and their text
    let mut texts: Vec<(Digest, String)> = Vec::new();
    for ((digest, address, on_disk), entry) in files.iter().zip(kept) {
        if entry.is_some() {
            found.insert(*digest, entry);
            continue;
        }
        let bytes = match on_disk {
            true => fs_err::read(target.path_of(address))
                .ok()
                .filter(|b| Digest::of(b) == *digest),
            false => Some(checked_bytes(source, address, digest)?),
        };
        // (changed since the scan, or not text: not counted)
        if let Some(text) = bytes.and_then(|b| String::from_utf8(b).ok()) {
            texts.push((*digest, text));
        }
    }
    let counted = crate::parallel::map(&texts, |(_, text)| {
        let t = listing::texts(text)?;
        Some(TokenEntry {
            encoding: ENCODING.into(),
            prompt: tokenizer::count(&t.prompt)?,
            listing: tokenizer::count(&t.listing)?,
        })
    });
    let mut made = Vec::new();
    for ((digest, _), entry) in texts.iter().zip(counted) {
        if let Some(entry) = entry {
            made.push((key(digest), *digest, entry.clone()));
            found.insert(*digest, Some(entry));
        }
    }
    let entry = |d: Option<Digest>| d.and_then(|d| found.get(&d).cloned().flatten());
    let agents = rows
        .iter()
        .map(|row| {
            let (before, after) = (entry(row.before.map(|s| s.digest)), entry(after(row)));
            AgentTokens {
                address: row.address.clone(),
                agent: row.agent.clone().unwrap_or_else(|| row.address.to_string()),
                prompt: after.as_ref().map(|e| e.prompt),
                prompt_before: before.as_ref().map(|e| e.prompt),
                listing: after.as_ref().map(|e| e.listing),
                listing_before: before.as_ref().map(|e| e.listing),
            }
        })
        .collect();
    Ok(Counted {
        tokens: PlanTokens::new(agents),
        cache,
        made,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_grouped_by_three_digits() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1204), "1 204");
        assert_eq!(grouped(1_234_567), "1 234 567");
    }

    #[test]
    fn the_key_changes_with_the_file() {
        assert_ne!(key(&Digest::of(b"a")), key(&Digest::of(b"b")));
    }
}
