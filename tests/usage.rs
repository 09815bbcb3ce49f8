//! `mpm usage`: spend from transcripts cut from real Claude Code 2.1.330 sessions
//! (`tests/fixtures/usage/`, see its README), with the client's own figures beside
//! them (`client.json`).

use crate::harness::{Ran, Test};
use serde::Deserialize;
use serde_json::Value;
use std::path::Path;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/usage");
const PROJECT: &str = "cfg/projects/-home-dev-proj";
/// The delegated session (2026-12-02): main + the `qa` subagent, one duplicated line.
const DELEGATED: &str = "07c26ca9-f8b5-4421-8dc3-6d43eaab5c81";
/// A haiku 5.5 session past its 100 000 tier (2026-12-01), ending with a half-written line.
const TIERED: &str = "361458e5-ce92-475b-aee1-5e08cf444cdb";
/// A haiku 5.5 session without its `cost-state` (2026-11-30): priced by the table.
const TABLE_ONLY: &str = "79928e1b-1beb-4ed6-9427-20ace8849210";

/// A test directory holding the fixtures' config dir at `cfg`.
fn with_fixtures() -> Test {
    let mut t = Test::new();
    for file in files(&Path::new(FIXTURES).join("cfg")) {
        let rel = file
            .strip_prefix(FIXTURES)
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        t = t.write_bytes(&rel, &std::fs::read(&file).unwrap());
    }
    t.env("TZ", "UTC")
}

fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn client() -> Value {
    serde_json::from_slice(&std::fs::read(format!("{FIXTURES}/client.json")).unwrap()).unwrap()
}

fn json(ran: &Ran) -> Value {
    serde_json::from_str(&ran.stdout).expect("mpm usage --json prints JSON")
}

/// An `assistant` line as the client writes it, at `time`.
fn assistant(id: &str, time: &str, model: &str, input: u64, output: u64) -> String {
    format!(
        r#"{{"parentUuid":null,"isSidechain":false,"message":{{"id":"msg_{id}","type":"message","role":"assistant","model":"{model}","content":[{{"type":"text","text":"Done."}}],"stop_reason":"end_turn","usage":{{"input_tokens":{input},"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":{output},"service_tier":"standard"}}}},"requestId":"req_{id}","type":"assistant","uuid":"u-{id}","timestamp":"{time}","sessionId":"s","version":"2.1.330"}}"#
    ) + "\n"
}

fn now() -> String {
    jiff::Timestamp::now().to_string()
}

fn append(ran: &Ran, path: &str, text: &str) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(ran.path(path))
        .unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

#[test]
fn daily_sums_every_token_once_and_prices_from_the_client_where_it_can() {
    with_fixtures()
        .args(&["usage", "--config-dir", "cfg"])
        .stdout(
            "
            Date          Input  Output  Cache write  Cache read  Total tokens  Cost (USD)  Source
            2026-11-30   50,000     100       60,000           0       110,100     $0.0628  table
            2026-12-01  101,000     100            0       1,000       102,100     $0.0508  client
            2026-12-02    4,800     320        1,200      20,000        26,320     $0.0312  client
            Total       155,800     520       61,200      21,000       238,520     $0.1447  mixed
            ",
        )
        .success();
}

#[test]
fn each_sessions_cost_is_the_clients_total_cost_usd_within_a_tenth_of_a_percent() {
    let ran = with_fixtures()
        .args(&["usage", "session", "--json", "--config-dir", "cfg"])
        .stdout_any()
        .success();
    let doc = json(&ran);
    let client = client();
    let rows = doc["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    for row in rows {
        let id = row["session_id"].as_str().unwrap();
        let want = client[id]["total_cost_usd"].as_f64().unwrap();
        let got = row["cost_usd"].as_f64().unwrap();
        assert!(
            (got - want).abs() <= want * 0.001,
            "{id}: {got} vs the client's {want}"
        );
        // and the tokens are the client's, exactly
        let mut sums = [0u64; 4];
        for usage in client[id]["modelUsage"].as_object().unwrap().values() {
            for (i, key) in [
                "inputTokens",
                "outputTokens",
                "cacheCreationInputTokens",
                "cacheReadInputTokens",
            ]
            .iter()
            .enumerate()
            {
                sums[i] += usage[key].as_u64().unwrap();
            }
        }
        let mine = [
            "input_tokens",
            "output_tokens",
            "cache_creation_input_tokens",
            "cache_read_input_tokens",
        ]
        .map(|k| row[k].as_u64().unwrap());
        assert_eq!(mine, sums, "{id}");
    }
    // the session without a cost-state is priced by the table, tiers included
    let table_only = rows.iter().find(|r| r["session_id"] == TABLE_ONLY).unwrap();
    assert_eq!(table_only["cost_source"], "table");
}

#[test]
fn the_agent_report_gives_the_subagent_its_own_cost() {
    with_fixtures()
        .args(&[
            "usage",
            "agent",
            "--config-dir",
            "cfg",
            "--since",
            "2026-12-02",
        ])
        .stdout(
            "
            Agent  Input  Output  Cache write  Cache read  Total tokens  Cost (USD)  Source
            main   3,600     240          900      15,000        19,740     $0.0267  client
            qa     1,200      80          300       5,000         6,580     $0.0044  client
            Total  4,800     320        1,200      20,000        26,320     $0.0312  client
            ",
        )
        .success();
}

#[test]
fn a_message_on_two_lines_counts_once_and_a_half_written_last_line_not_at_all() {
    let ran = with_fixtures()
        .args(&["usage", "--json", "--config-dir", "cfg"])
        .stdout_any()
        .success();
    let doc = json(&ran);
    assert_eq!(doc["notes"]["duplicate_requests"], 1);
    assert_eq!(doc["notes"]["partial_lines"], 1);
    assert_eq!(doc["notes"]["malformed_lines"], 0);
    assert_eq!(doc["total"]["requests"], 6);
    // the line is finished: now it counts, and only its bytes are read
    let path = format!("{PROJECT}/{TIERED}.jsonl");
    let text = std::fs::read_to_string(ran.path(&path)).unwrap();
    let tail = &text[text.rfind('\n').unwrap() + 1..];
    let whole = assistant(
        "tail",
        "2026-12-01T08:00:00.000Z",
        "claude-haiku-5-5",
        1000,
        10,
    );
    let rest = &whole[tail.len()..];
    append(&ran, &path, rest);
    let again = ran
        .then()
        .env("TZ", "UTC")
        .args(&["usage", "--json", "--config-dir", "cfg"])
        .stdout_any()
        .success();
    let doc = json(&again);
    assert_eq!(doc["notes"]["partial_lines"], 0);
    assert_eq!(doc["total"]["requests"], 7);
    assert_eq!(doc["index"]["files_appended"], 1);
    assert_eq!(doc["index"]["files_read"], 0);
    assert_eq!(doc["index"]["bytes_read"], whole.len() as u64);
}

#[test]
fn since_and_until_keep_the_days_between_them() {
    with_fixtures()
        .args(&[
            "usage",
            "--config-dir",
            "cfg",
            "--since",
            "2026-12-01",
            "--until",
            "2026-12-01",
        ])
        .stdout(
            "
            Date          Input  Output  Cache write  Cache read  Total tokens  Cost (USD)  Source
            2026-12-01  101,000     100            0       1,000       102,100     $0.0508  client
            Total       101,000     100            0       1,000       102,100     $0.0508  client
            ",
        )
        .success();
    with_fixtures()
        .args(&["usage", "--config-dir", "cfg", "--since", "2026-12-03"])
        .stdout("No usage in the transcripts for these days.\n")
        .success();
    with_fixtures()
        .args(&[
            "usage",
            "--config-dir",
            "cfg",
            "--since",
            "2026-12-03",
            "--until",
            "2026-12-01",
        ])
        .stderr(
            "
            error: `--since 2026-12-03` is after `--until 2026-12-01`
            hint: give the earlier day to `--since`
            ",
        )
        .failure();
    with_fixtures()
        .args(&["usage", "--config-dir", "cfg", "--since", "yesterday"])
        .stderr(
            "
            error: `--since yesterday` is not a day
            hint: write it `YYYY-MM-DD`, e.g. `2026-12-01`
            ",
        )
        .failure();
    // a day with a time after it is not a day either: the time would be dropped
    with_fixtures()
        .args(&[
            "usage",
            "--config-dir",
            "cfg",
            "--until",
            "2026-12-01T00:00",
        ])
        .stderr(
            "
            error: `--until 2026-12-01T00:00` is not a day
            hint: write it `YYYY-MM-DD`, e.g. `2026-12-01`
            ",
        )
        .failure();
}

#[test]
fn a_tz_that_names_no_zone_is_a_warning() {
    let ran = with_fixtures()
        .env("TZ", "garbage")
        .args(&["usage", "--config-dir", "cfg"])
        .stdout_any()
        .stderr_any()
        .success();
    assert!(
        ran.stderr
            .starts_with("warning: the time zone of `TZ` could not be read (")
            && ran.stderr.ends_with("; fix `TZ` or pass `--timezone`\n"),
        "{}",
        ran.stderr
    );
}

#[test]
fn days_are_the_users_local_days() {
    // 07:22 UTC on 2026-12-02 is still 2026-12-01 in Honolulu (UTC-10)
    with_fixtures()
        .env("TZ", "Pacific/Honolulu")
        .args(&["usage", "--config-dir", "cfg", "--until", "2026-12-01"])
        .stdout_has("2026-12-01    4,800")
        .success();
    with_fixtures()
        .args(&[
            "usage",
            "--config-dir",
            "cfg",
            "--timezone",
            "Pacific/Honolulu",
            "--until",
            "2026-12-01",
        ])
        .stdout_has("2026-12-01    4,800")
        .success();
}

#[test]
fn the_weekly_report_has_each_day_the_peak_the_average_and_the_top_agents() {
    with_fixtures()
        // the average is over the week's days up to `--until` (or today)
        .args(&["usage", "weekly", "--config-dir", "cfg", "--until", "2026-12-02"])
        .stdout(
            "
            Week 2026-W49 (2026-11-30 to 2026-12-06)
              2026-11-30 Mon       $0.0628       110,100 tokens
              2026-12-01 Tue       $0.0508       102,100 tokens
              2026-12-02 Wed       $0.0312        26,320 tokens
              Total                $0.1447       238,520 tokens  (mixed)
              Peak day: 2026-11-30 ($0.0628)
              Average per day: $0.0482
              Top agents: main $0.1402, qa $0.0044
              Top models: claude-haiku-5-5 $0.1135, claude-opus-5-5 $0.0267, claude-sonnet-5-5 $0.0044
            ",
        )
        .success();
}

/// `mpm usage daily --json`, read back with every key known: a key added or lost
/// fails here.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "read to check the shape")]
struct Doc {
    format_version: String,
    report: String,
    config_dir: String,
    timezone: String,
    since: Option<String>,
    until: Option<String>,
    rows: Vec<DayRow>,
    total: Sums,
    budget: Option<Budget>,
    prices: Prices,
    notes: Notes,
    index: Index,
}

/// A row: its day and the sums (no `#[serde(flatten)]`: it reads numbers as maps
/// with serde_json's `arbitrary_precision`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "read to check the shape")]
struct DayRow {
    date: String,
    input_tokens: u64,
    output_tokens: u64,
    cache_creation_input_tokens: u64,
    cache_read_input_tokens: u64,
    total_tokens: u64,
    requests: u64,
    cost_usd: Option<f64>,
    cost_source: String,
    unpriced_models: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "read to check the shape")]
struct Sums {
    input_tokens: u64,
    output_tokens: u64,
    cache_creation_input_tokens: u64,
    cache_read_input_tokens: u64,
    total_tokens: u64,
    requests: u64,
    cost_usd: Option<f64>,
    cost_source: String,
    unpriced_models: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "read to check the shape")]
struct Budget {
    daily_usd: f64,
    warning_threshold: f64,
    date: String,
    today_usd: f64,
    today_cost_source: String,
    state: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "read to check the shape")]
struct Prices {
    source: String,
    date: String,
    client_version: String,
    list_source: String,
    list_date: String,
    list_models: Vec<String>,
    overridden: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "read to check the shape")]
struct Notes {
    transcripts: u64,
    malformed_lines: u64,
    duplicate_requests: u64,
    partial_lines: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "read to check the shape")]
struct Index {
    reused: bool,
    rebuilt: bool,
    files: u64,
    files_read: u64,
    files_appended: u64,
    bytes_read: u64,
    partial_lines: u64,
    saved: bool,
}

#[test]
fn the_json_is_a_versioned_document_of_known_keys() {
    let ran = with_fixtures()
        .env("MPM_BUDGET_DAILY_USD", "5")
        .args(&["usage", "--json", "--config-dir", "cfg"])
        .stdout_any()
        .success();
    let doc: Doc = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(doc.format_version, "1.0");
    assert_eq!(doc.report, "daily");
    assert_eq!(doc.rows.len(), 3);
    assert_eq!(doc.rows[2].date, "2026-12-02");
    assert_eq!(doc.rows[2].cost_source, "client");
    assert_eq!(doc.total.input_tokens, 155_800);
    assert_eq!(doc.total.cost_source, "mixed");
    let total = doc.total.cost_usd.unwrap();
    assert!(
        (total - (0.03115 + 0.0508 + 0.06275)).abs() < 1e-9,
        "{total}"
    );
    let budget = doc.budget.unwrap();
    assert_eq!((budget.daily_usd, budget.warning_threshold), (5.0, 0.8));
    assert_eq!(budget.state, "ok");
    assert_eq!(doc.prices.client_version, "2.1.330");
    assert_eq!(doc.notes.transcripts, 4);
    // the first run made the index
    assert!(!doc.index.reused && doc.index.saved);
    assert_eq!(doc.index.files_read, 4);
}

/// A config dir with one session today of `input` opus 5.5 tokens ($4 per million).
fn spent_today(input: u64) -> Test {
    Test::new().write(
        "cfg/projects/-p/today.jsonl",
        &assistant("t1", &now(), "claude-opus-5-5", input, 0),
    )
}

#[test]
fn exit_3_at_the_warning_threshold_and_4_at_the_budget() {
    // $0.40 spent today
    spent_today(100_000)
        .env("MPM_BUDGET_DAILY_USD", "1")
        .args(&["usage", "--config-dir", "cfg"])
        .stdout_has("today: $0.40 of $1.00 (40 %)\n")
        .success();
    spent_today(100_000)
        .env("MPM_BUDGET_DAILY_USD", "0.5")
        .args(&["usage", "--config-dir", "cfg"])
        .stdout_has("today: $0.40 of $0.50 (80 %): past the warning threshold (80 %)\n")
        .status(3);
    spent_today(100_000)
        .env("CLAUDE_AGENT_DAILY_BUDGET_USD", "0.4")
        .args(&["usage", "--config-dir", "cfg"])
        .stdout_has("today: $0.40 of $0.40 (100 %): over budget\n")
        .status(4);
    // an error is 1, whatever was spent
    spent_today(100_000)
        .env("MPM_BUDGET_DAILY_USD", "0.4")
        .args(&[
            "usage",
            "--config-dir",
            "cfg",
            "--timezone",
            "Nowhere/Atlantis",
        ])
        .stderr_any()
        .failure();
}

#[test]
fn a_second_run_reads_only_what_was_appended() {
    let ran = with_fixtures()
        .args(&["usage", "--json", "--config-dir", "cfg"])
        .stdout_any()
        .success();
    let new_session = assistant(
        "n1",
        "2026-12-02T09:00:00.000Z",
        "claude-opus-5-5",
        1000,
        10,
    );
    std::fs::write(ran.path(&format!("{PROJECT}/new.jsonl")), &new_session).unwrap();
    let appended = assistant(
        "n2",
        "2026-12-02T09:01:00.000Z",
        "claude-opus-5-5",
        2000,
        20,
    );
    append(&ran, &format!("{PROJECT}/{DELEGATED}.jsonl"), &appended);
    let again = ran
        .then()
        .env("TZ", "UTC")
        .args(&["usage", "--json", "--config-dir", "cfg"])
        .stdout_any()
        .success();
    let doc = json(&again);
    assert_eq!(doc["index"]["reused"], true);
    assert_eq!(doc["index"]["files_read"], 1, "the new file, whole");
    // the appended file and the one whose last line is still being written
    assert_eq!(doc["index"]["files_appended"], 2);
    let tail = 300;
    assert_eq!(
        doc["index"]["bytes_read"],
        (new_session.len() + appended.len() + tail) as u64
    );
    assert_eq!(doc["total"]["input_tokens"], 155_800 + 3000);
}

#[test]
fn a_transcript_cut_short_and_rewritten_is_read_again_whole() {
    let ran = with_fixtures()
        .args(&["usage", "--json", "--config-dir", "cfg"])
        .stdout_any()
        .success();
    let path = ran.path(&format!("{PROJECT}/{TABLE_ONLY}.jsonl"));
    std::fs::write(
        &path,
        assistant("r1", "2026-11-30T10:00:00.000Z", "claude-opus-5-5", 10, 0),
    )
    .unwrap();
    let again = ran
        .then()
        .env("TZ", "UTC")
        .args(&["usage", "--json", "--config-dir", "cfg"])
        .stdout_any()
        .success();
    let doc = json(&again);
    assert_eq!(doc["index"]["files_read"], 1);
    assert_eq!(doc["rows"][0]["input_tokens"], 10);
    assert_eq!(doc["rows"][0]["cost_source"], "table");
}

/// The one usage index in the test's cache.
fn index_file(ran: &Ran) -> std::path::PathBuf {
    let dir = ran.path("home/.cache/mpm/usage");
    let mut found: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    found.remove(0)
}

#[test]
fn a_damaged_index_is_rebuilt_with_the_same_result() {
    let ran = with_fixtures()
        .args(&["usage", "--config-dir", "cfg"])
        .stdout_any()
        .success();
    let first = ran.stdout.clone();
    let index = index_file(&ran);
    let mut bytes = std::fs::read(&index).unwrap();
    // a token count changed in place: the length holds, the checksum does not
    let at = bytes.len() / 2;
    bytes[at] = if bytes[at] == b'1' { b'2' } else { b'1' };
    std::fs::write(&index, &bytes).unwrap();
    let again = ran
        .then()
        .env("TZ", "UTC")
        .args(&["usage", "--json", "--config-dir", "cfg"])
        .stdout_any()
        .success();
    let doc = json(&again);
    assert_eq!(doc["index"]["rebuilt"], true);
    assert_eq!(doc["index"]["files_read"], 4);
    std::fs::write(&index, b"not an index").unwrap();
    ran.then()
        .env("TZ", "UTC")
        .args(&["usage", "--config-dir", "cfg"])
        .stdout(&first)
        .success();
}

#[test]
fn with_the_cache_disabled_no_index_is_written() {
    let ran = with_fixtures()
        .env("MPM_CACHE_ENABLED", "false")
        .args(&["usage", "--config-dir", "cfg"])
        .stdout_any()
        .success();
    assert!(!ran.path("home/.cache/mpm").exists());
    let ran = with_fixtures()
        .args(&["usage", "--no-index", "--config-dir", "cfg"])
        .stdout_any()
        .success();
    assert!(!ran.path("home/.cache/mpm").exists());
}

#[test]
fn cache_stats_counts_the_index_and_clear_removes_it() {
    let ran = with_fixtures()
        .args(&["usage", "--config-dir", "cfg"])
        .stdout_any()
        .success();
    let index = index_file(&ran);
    let size = std::fs::metadata(&index).unwrap().len();
    ran.then()
        .args(&["cache", "stats", "--json"])
        .stdout_has(&format!("\"entries\": 1,\n  \"bytes\": {size},"))
        .success();
    ran.then().args(&["cache", "clear"]).stdout_any().success();
    assert!(!index.exists());
}

#[test]
fn a_line_that_is_not_json_is_skipped_and_counted() {
    let text = assistant("a", "2026-12-02T10:00:00.000Z", "claude-opus-5-5", 1000, 0)
        + "{\"type\":\"assistant\",\"message\":{\"id\":\"x\"\n"
        + &assistant("b", "2026-12-02T10:00:01.000Z", "claude-opus-5-5", 1000, 0);
    Test::new()
        .write("cfg/projects/-p/s.jsonl", &text)
        .env("TZ", "UTC")
        .args(&["usage", "--config-dir", "cfg"])
        .stdout(
            "
            Date        Input  Output  Cache write  Cache read  Total tokens  Cost (USD)  Source
            2026-12-02  2,000       0            0           0         2,000     $0.0080  table
            Total       2,000       0            0           0         2,000     $0.0080  table
            ",
        )
        .stderr("warning: skipped 1 line(s) of transcripts that could not be read (not JSON, or a usage line whose time or token counts do not parse)\n")
        .success();
}

#[test]
fn a_usage_line_whose_time_does_not_parse_is_skipped_and_counted() {
    let text = assistant("a", "2026-12-02T10:00:00.000Z", "claude-opus-5-5", 1000, 0)
        + &assistant("b", "12/02/2026 10:00", "claude-opus-5-5", 5000, 0);
    Test::new()
        .write("cfg/projects/-p/s.jsonl", &text)
        .env("TZ", "UTC")
        .args(&["usage", "--config-dir", "cfg"])
        .stdout(
            "
            Date        Input  Output  Cache write  Cache read  Total tokens  Cost (USD)  Source
            2026-12-02  1,000       0            0           0         1,000     $0.0040  table
            Total       1,000       0            0           0         1,000     $0.0040  table
            ",
        )
        .stderr("warning: skipped 1 line(s) of transcripts that could not be read (not JSON, or a usage line whose time or token counts do not parse)\n")
        .success();
}

#[test]
fn a_model_without_a_price_has_an_unknown_cost_never_zero() {
    Test::new()
        .write(
            "cfg/projects/-p/s.jsonl",
            &assistant("a", "2026-12-02T10:00:00.000Z", "claude-mystery-9", 1000, 0),
        )
        .env("TZ", "UTC")
        .args(&["usage", "model", "--config-dir", "cfg"])
        .stdout(
            "
            Model             Input  Output  Cache write  Cache read  Total tokens  Cost (USD)  Source
            claude-mystery-9  1,000       0            0           0         1,000     unknown  unpriced
            Total             1,000       0            0           0         1,000     unknown  unpriced
            ",
        )
        .stderr("warning: no price for `claude-mystery-9` and no cost from the client: their cost is unknown and not in the sums; add them to `budget.prices` in `mpm.yaml`\n")
        .success();
}

#[test]
fn control_characters_from_the_transcripts_are_shown_escaped() {
    Test::new()
        .write(
            "cfg/projects/-p/s.jsonl",
            &assistant("a", "2026-12-02T10:00:00.000Z", r"claude-\u001b[2Jx", 1000, 0),
        )
        .write(
            "cfg/projects/-p/s/subagents/agent-1.jsonl",
            &assistant("b", "2026-12-02T10:00:00.000Z", "claude-opus-5-5", 1000, 0),
        )
        .write(
            "cfg/projects/-p/s/subagents/agent-1.meta.json",
            r#"{"agentType":"qa\u0007\t"}"#,
        )
        .env("TZ", "UTC")
        .args(&["usage", "session", "--breakdown", "--config-dir", "cfg"])
        .stdout(
            r"
            Session                    Input  Output  Cache write  Cache read  Total tokens   Cost (USD)  Source
            -p/s (main, qa\u{7}\u{9})  2,000       0            0           0         2,000  $0.0040 + ?  table
              claude-\u{1b}[2Jx        1,000       0            0           0         1,000      unknown  unpriced
              claude-opus-5-5          1,000       0            0           0         1,000      $0.0040  table
            Total                      2,000       0            0           0         2,000  $0.0040 + ?  table
            ",
        )
        .stderr("warning: no price for `claude-\\u{1b}[2Jx` and no cost from the client: their cost is unknown and not in the sums; add them to `budget.prices` in `mpm.yaml`\n")
        .success();
}

#[test]
fn without_a_manifest_the_user_config_dir_is_read_and_a_link_is_never_followed() {
    let t = Test::new().write(
        "claude-home/projects/-p/s.jsonl",
        &assistant("a", "2026-12-02T10:00:00.000Z", "claude-opus-5-5", 1000, 0),
    );
    let ran = t
        .env("TZ", "UTC")
        .args(&["usage", "--json"])
        .stdout_any()
        .stderr("`home/.claude` does not exist: Claude Code has written no transcripts there yet\n")
        .success();
    // `CLAUDE_CONFIG_DIR` unset: `~/.claude`, which has nothing
    assert_eq!(json(&ran)["rows"], serde_json::json!([]));
    let dir = ran.path("claude-home");
    let ran = ran
        .then()
        .env("TZ", "UTC")
        .env("CLAUDE_CONFIG_DIR", dir.to_str().unwrap())
        .args(&["usage", "--json"])
        .stdout_any()
        .success();
    assert_eq!(json(&ran)["total"]["input_tokens"], 1000);
    // a link to transcripts elsewhere is not followed
    std::os::unix::fs::symlink(
        ran.path("claude-home/projects/-p"),
        ran.path("claude-home/projects/-q"),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        ran.path("claude-home/projects/-p/s.jsonl"),
        ran.path("claude-home/projects/-p/t.jsonl"),
    )
    .unwrap();
    let ran = ran
        .then()
        .env("TZ", "UTC")
        .env("CLAUDE_CONFIG_DIR", dir.to_str().unwrap())
        .args(&["usage", "--json"])
        .stdout_any()
        .success();
    assert_eq!(json(&ran)["total"]["input_tokens"], 1000);
    assert_eq!(json(&ran)["notes"]["transcripts"], 1);
}

#[test]
fn a_config_dir_given_that_does_not_exist_is_an_error() {
    Test::new()
        .args(&["usage", "--config-dir", "nowhere"])
        .stderr(
            "
            error: `--config-dir nowhere`: there is no such directory
            hint: give the Claude Code config directory whose transcripts to read (the one holding `projects/`), like `~/.claude`
            ",
        )
        .failure();
}

#[test]
fn a_project_target_reads_the_user_config_dir_and_says_so() {
    Test::new()
        .manifest("version: 1\ntarget: project\n")
        .write(
            "home/.claude/projects/-p/s.jsonl",
            &assistant("a", "2026-12-02T10:00:00.000Z", "claude-opus-5-5", 1000, 0),
        )
        .env("TZ", "UTC")
        .args(&["usage"])
        .stdout_has("2026-12-02  1,000")
        .stderr("The target is a project (`target: project`): Claude Code writes its transcripts to the user config directory, so these are `home/.claude`'s.\n")
        .success();
}

#[test]
fn the_manifests_budget_and_prices_apply() {
    // `budget.prices` replaces opus 5.5's price: $40 per million input tokens, so
    // 100 000 tokens are $4.00, past 80 % of `daily_usd: 4.5`
    spent_today(100_000)
        .manifest(
            "
            version: 1
            target: { path: cfg }
            budget:
              daily_usd: 4.5
              prices:
                claude-opus-5-5: { input: 40, output: 20, cache_write: 5, cache_read: 0.2 }
            ",
        )
        .args(&["usage"])
        .stdout_has("today: $4.00 of $4.50 (89 %): past the warning threshold (80 %)\n")
        .status(3);
    // a variable beats the file; the threshold too
    spent_today(100_000)
        .manifest("version: 1\ntarget: { path: cfg }\nbudget:\n  daily_usd: 1\n")
        .env("MPM_BUDGET_DAILY_USD", "10")
        .env("MPM_BUDGET_WARNING_THRESHOLD", "0.01")
        .args(&["usage", "--json"])
        .stdout_has("\"state\": \"warning\"")
        .status(3);
}

#[test]
fn a_path_target_is_the_config_dir_read() {
    let ran = with_fixtures()
        .args(&["usage", "--json", "--target", "cfg"])
        .stdout_any()
        .success();
    assert_eq!(json(&ran)["total"]["input_tokens"], 155_800);
    let ran = with_fixtures()
        .manifest("version: 1\ntarget: { path: cfg }\n")
        .args(&["usage", "--json"])
        .stdout_any()
        .success();
    assert_eq!(json(&ran)["total"]["input_tokens"], 155_800);
}
