//! Claude Code's transcripts: finding them under `<config>/projects/` and reading the
//! lines that carry usage (`assistant`) and the client's own cost (`cost-state`).
//!
//! A line is parsed only when it may matter (it holds `"assistant"` or
//! `"cost-state"`), into small borrowed structs with only the fields used. A final
//! line without its newline that does not parse is a line still being written: it
//! is left for the next read, not an error. A line in the middle that is not a JSON
//! object is skipped and counted.

use crate::usage::{Tokens, UsageError};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The agent name of the main session's requests (not a subagent's).
pub const MAIN_AGENT: &str = "main";
/// The agent name of a subagent file whose `agent-<id>.meta.json` is missing or
/// says no `agentType`.
pub const UNKNOWN_AGENT: &str = "(unknown subagent)";

/// One request to the model, as a transcript line records it.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The hash of (`message.id`, `requestId`); `None` when either is missing
    /// (such a line is counted every time, as ccusage does).
    pub key: Option<u64>,
    /// Milliseconds since the Unix epoch (UTC).
    pub ts_ms: i64,
    pub model: String,
    pub tokens: Tokens,
}

/// The client's own figure: a `cost-state` line (cumulative for the session so
/// far, subagents included).
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, Deserialize)]
pub struct CostState {
    pub total_usd: f64,
    /// Model → USD.
    pub models: BTreeMap<String, f64>,
}

/// What a read of some bytes of a transcript found.
#[derive(Debug, Default)]
pub struct Parsed {
    pub requests: Vec<Request>,
    /// The last `cost-state` line, when there was one.
    pub cost_state: Option<CostState>,
    /// Lines in the middle that are not JSON objects, or usage lines that do not
    /// parse (a token count that is not a whole number, a time that is missing or
    /// not one): skipped.
    pub malformed: u64,
    /// How many bytes were read up to the end of the last complete line.
    pub consumed: usize,
    /// The bytes ended with a line still being written (left for the next read).
    pub partial: bool,
}

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    timestamp: Option<Cow<'a, str>>,
    #[serde(rename = "requestId", borrow)]
    request_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    message: Option<Message<'a>>,
    #[serde(rename = "totalCostUSD")]
    total_cost_usd: Option<f64>,
    #[serde(rename = "modelUsage", borrow)]
    model_usage: Option<BTreeMap<Cow<'a, str>, ModelUsage>>,
}

#[derive(Deserialize)]
struct Message<'a> {
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    model: Option<Cow<'a, str>>,
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Usage {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    cache_creation_input_tokens: Option<u64>,
    cache_read_input_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct ModelUsage {
    #[serde(rename = "costUSD")]
    cost_usd: Option<f64>,
}

/// The model of requests the client made up itself (no API call): not counted.
const SYNTHETIC: &str = "<synthetic>";

/// Reads the lines of `bytes` (a transcript from some offset on: the start of a
/// line).
pub fn parse(bytes: &[u8]) -> Parsed {
    // valid UTF-8 (the usual case) is checked once, and its lines found with the
    // standard library's fast search; otherwise byte by byte, line by line
    let text = std::str::from_utf8(bytes).ok();
    let mut parsed = Parsed::default();
    let mut at = 0;
    while at < bytes.len() {
        let end = match text {
            Some(text) => text[at..].find('\n'),
            None => bytes[at..].iter().position(|&b| b == b'\n'),
        };
        let (line, next, complete) = match end {
            Some(end) => (&bytes[at..at + end], at + end + 1, true),
            None => (&bytes[at..], bytes.len(), false),
        };
        let line = match text {
            // a line of valid UTF-8 ends at a newline, a character boundary
            Some(text) => Ok(&text[at..at + line.len()]),
            None => std::str::from_utf8(line).map_err(|_| ()),
        };
        match line.and_then(|line| read_line(line, &mut parsed)) {
            Ok(()) => parsed.consumed = next,
            // a final line still being written: left for the next read
            Err(()) if !complete => {
                parsed.partial = true;
                break;
            }
            Err(()) => {
                parsed.malformed += 1;
                parsed.consumed = next;
            }
        }
        at = next;
    }
    parsed
}

/// One line (without its newline); `Err` when it is not a whole JSON object or a
/// usage line that does not parse.
fn read_line(line: &str, parsed: &mut Parsed) -> Result<(), ()> {
    let text = line.trim_ascii();
    if text.is_empty() {
        return Ok(());
    }
    if !text.starts_with('{') || !text.ends_with('}') {
        return Err(());
    }
    let usage = text.contains("\"assistant\"");
    let cost = !usage && text.contains("\"cost-state\"");
    if !usage && !cost {
        return Ok(());
    }
    let parsed_line: Line = serde_json::from_str(text).map_err(|_| ())?;
    match parsed_line.kind.as_deref() {
        Some("assistant") => {
            if let Some(request) = request(&parsed_line)? {
                parsed.requests.push(request);
            }
        }
        Some("cost-state") => {
            let models = parsed_line
                .model_usage
                .unwrap_or_default()
                .into_iter()
                .filter_map(|(model, usage)| Some((model.into_owned(), usage.cost_usd?)))
                .collect();
            parsed.cost_state = Some(CostState {
                total_usd: parsed_line.total_cost_usd.unwrap_or_default(),
                models,
            });
        }
        _ => {}
    }
    Ok(())
}

/// The request of an `assistant` line: `None` when it has no usage (or is the
/// client's own); `Err` when its usage has no time that parses, which cannot be
/// put on a day and would be lost unseen.
fn request(line: &Line) -> Result<Option<Request>, ()> {
    let Some(message) = line.message.as_ref() else {
        return Ok(None);
    };
    let Some(usage) = message.usage.as_ref() else {
        return Ok(None);
    };
    let model = message.model.as_deref().unwrap_or("(no model)");
    if model == SYNTHETIC {
        return Ok(None);
    }
    let ts_ms = line
        .timestamp
        .as_deref()
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .ok_or(())?
        .as_millisecond();
    let key = match (message.id.as_deref(), line.request_id.as_deref()) {
        (Some(id), Some(request)) => Some(key_of(id, request)),
        _ => None,
    };
    Ok(Some(Request {
        key,
        ts_ms,
        model: model.to_string(),
        tokens: Tokens {
            input: usage.input_tokens.unwrap_or(0),
            output: usage.output_tokens.unwrap_or(0),
            cache_write: usage.cache_creation_input_tokens.unwrap_or(0),
            cache_read: usage.cache_read_input_tokens.unwrap_or(0),
        },
    }))
}

/// The dedup key of (`message.id`, `requestId`): the first 8 bytes of a SHA-256, so
/// that the index keeps 8 bytes a request whatever the ids' lengths.
pub fn key_of(message_id: &str, request_id: &str) -> u64 {
    use sha2::Digest as _;
    let mut hasher = sha2::Sha256::new();
    hasher.update(message_id.as_bytes());
    hasher.update([0]);
    hasher.update(request_id.as_bytes());
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(first)
}

/// A transcript found under `projects/`.
#[derive(Debug, Clone)]
pub struct Found {
    /// Its path under `projects/`, with `/`.
    pub rel: String,
    pub path: PathBuf,
    pub meta: std::fs::Metadata,
}

/// Every `*.jsonl` under `<config_dir>/projects/`, sorted by path, subagent files
/// included. Links are never followed (a link to a file or a folder is skipped);
/// `projects` itself being a link is an error.
pub fn find(config_dir: &Path) -> Result<Vec<Found>, UsageError> {
    let projects = config_dir.join("projects");
    match std::fs::symlink_metadata(&projects) {
        Ok(meta) if meta.file_type().is_symlink() => {
            return Err(UsageError::ProjectsLink(projects));
        }
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => return Ok(Vec::new()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(UsageError::io("read", projects, e)),
    }
    let mut found = Vec::new();
    let mut folders = vec![(projects, String::new())];
    while let Some((dir, rel)) = folders.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            // a folder removed while walking is simply gone
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(UsageError::io("read", dir, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| UsageError::io("read", dir.clone(), e))?;
            let Ok(file_type) = entry.file_type() else {
                continue;
            };
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                continue;
            };
            let child_rel = match rel.is_empty() {
                true => name.to_string(),
                false => format!("{rel}/{name}"),
            };
            if file_type.is_dir() {
                folders.push((entry.path(), child_rel));
            } else if file_type.is_file() && name.ends_with(".jsonl") {
                let path = entry.path();
                match std::fs::symlink_metadata(&path) {
                    Ok(meta) => found.push(Found {
                        rel: child_rel,
                        path,
                        meta,
                    }),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(UsageError::io("read", path, e)),
                }
            }
        }
    }
    found.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(found)
}

/// The session a transcript belongs to: `<slug>/<session-id>` for the main file
/// and for the subagent files under `<slug>/<session-id>/subagents/`.
pub fn session_of(rel: &str) -> &str {
    match rel.find("/subagents/") {
        Some(at) => &rel[..at],
        None => rel.strip_suffix(".jsonl").unwrap_or(rel),
    }
}

/// Whether `rel` is a subagent's transcript.
pub fn is_subagent(rel: &str) -> bool {
    rel.contains("/subagents/")
}

#[derive(Deserialize)]
struct Meta {
    #[serde(rename = "agentType")]
    agent_type: Option<String>,
}

/// The agent of the transcript at `path` (`rel` under `projects/`): [`MAIN_AGENT`]
/// for a main session, else the `agentType` of the `agent-<id>.meta.json` beside
/// it ([`UNKNOWN_AGENT`] without one). A meta file that is a link is not read.
pub fn agent_of(rel: &str, path: &Path) -> String {
    if !is_subagent(rel) {
        return MAIN_AGENT.to_string();
    }
    let meta = path.with_extension("meta.json");
    let regular = std::fs::symlink_metadata(&meta).is_ok_and(|m| m.is_file());
    regular
        .then(|| std::fs::read(&meta).ok())
        .flatten()
        .and_then(|bytes| serde_json::from_slice::<Meta>(&bytes).ok())
        .and_then(|m| m.agent_type)
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| UNKNOWN_AGENT.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ASSISTANT: &str = r#"{"parentUuid":"p","isSidechain":false,"message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-opus-5-5","content":[{"type":"text","text":"Done."}],"usage":{"input_tokens":1200,"cache_creation_input_tokens":300,"cache_read_input_tokens":5000,"output_tokens":80}},"requestId":"req_1","type":"assistant","uuid":"u","timestamp":"2026-12-02T07:22:45.881Z"}"#;

    #[test]
    fn an_assistant_line_gives_its_request() {
        let parsed = parse(format!("{ASSISTANT}\n").as_bytes());
        assert_eq!(parsed.requests.len(), 1);
        let r = &parsed.requests[0];
        assert_eq!(r.model, "claude-opus-5-5");
        assert_eq!(r.tokens.input, 1200);
        assert_eq!(r.tokens.cache_read, 5000);
        assert_eq!(r.ts_ms, 1_796_196_165_881);
        assert_eq!(r.key, Some(key_of("msg_1", "req_1")));
        assert_eq!(parsed.consumed, ASSISTANT.len() + 1);
    }

    #[test]
    fn a_half_written_last_line_is_left_for_later_and_a_broken_middle_one_counted() {
        let text = format!(
            "{ASSISTANT}\n{{\"type\":\"user\n{ASSISTANT}\n{}",
            &ASSISTANT[..50]
        );
        let parsed = parse(text.as_bytes());
        assert_eq!(parsed.requests.len(), 2);
        assert_eq!(parsed.malformed, 1);
        assert!(parsed.partial);
        assert_eq!(parsed.consumed, text.len() - 50);
    }

    #[test]
    fn a_line_that_is_not_utf_8_is_skipped_and_the_others_still_read() {
        let mut bytes = format!("{ASSISTANT}\n").into_bytes();
        bytes.extend_from_slice(b"{\"type\":\"user\",\"x\":\"\xff\"}\n");
        bytes.extend_from_slice(format!("{ASSISTANT}\n").as_bytes());
        let parsed = parse(&bytes);
        assert_eq!(parsed.requests.len(), 2);
        assert_eq!(parsed.malformed, 1);
        assert_eq!(parsed.consumed, bytes.len());
    }

    #[test]
    fn a_last_line_without_newline_that_parses_counts() {
        let parsed = parse(ASSISTANT.as_bytes());
        assert_eq!(parsed.requests.len(), 1);
        assert!(!parsed.partial);
        assert_eq!(parsed.consumed, ASSISTANT.len());
    }

    #[test]
    fn synthetic_messages_and_other_lines_are_not_counted() {
        let synthetic = ASSISTANT.replace("claude-opus-5-5", "<synthetic>");
        let user = r#"{"type":"user","message":{"role":"user","content":"hi"}}"#;
        let parsed = parse(format!("{synthetic}\n{user}\n").as_bytes());
        assert!(parsed.requests.is_empty());
        assert_eq!(parsed.malformed, 0);
    }

    #[test]
    fn the_last_cost_state_is_kept() {
        let cost = |usd: f64| {
            format!(
                r#"{{"type":"cost-state","sessionId":"s","totalCostUSD":{usd},"modelUsage":{{"claude-opus-5-5":{{"inputTokens":1,"costUSD":{usd}}}}}}}"#
            )
        };
        let parsed = parse(format!("{}\n{}\n", cost(0.5), cost(0.75)).as_bytes());
        let state = parsed.cost_state.unwrap();
        assert_eq!(state.total_usd, 0.75);
        assert_eq!(state.models["claude-opus-5-5"], 0.75);
    }

    #[test]
    fn sessions_and_agents_of_paths() {
        assert_eq!(session_of("-p/abc.jsonl"), "-p/abc");
        assert_eq!(session_of("-p/abc/subagents/agent-1.jsonl"), "-p/abc");
        assert!(is_subagent("-p/abc/subagents/agent-1.jsonl"));
        assert_eq!(agent_of("-p/abc.jsonl", Path::new("/nowhere")), MAIN_AGENT);
        assert_eq!(
            agent_of(
                "-p/abc/subagents/agent-1.jsonl",
                Path::new("/nowhere/agent-1.jsonl")
            ),
            UNKNOWN_AGENT
        );
    }

    #[test]
    fn a_usage_line_without_a_time_that_parses_is_counted_as_malformed() {
        let bad = ASSISTANT.replace("2026-12-02T07:22:45.881Z", "yesterday");
        let none = ASSISTANT.replace(r#","timestamp":"2026-12-02T07:22:45.881Z""#, "");
        assert_ne!(none, ASSISTANT);
        let negative = ASSISTANT.replace(r#""output_tokens":80"#, r#""output_tokens":-1"#);
        let parsed = parse(format!("{bad}\n{none}\n{negative}\n{ASSISTANT}\n").as_bytes());
        assert_eq!(parsed.requests.len(), 1);
        assert_eq!(parsed.malformed, 3);
    }
}
