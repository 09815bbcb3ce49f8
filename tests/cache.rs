//! `mpm cache stats|clear|prune` on the download cache. Until the resolver fills
//! it, the tests write entries themselves in the documented layout (see
//! `src/cache/mod.rs` and docs/cli.md): a `format` file, `content/sha256/ab/<hex>`,
//! `documents/<sha256 of the URL>` (a JSON header line, then the bytes),
//! `stats.json`.

use crate::harness::{BIN, Test};
use serde::Deserialize;
use std::path::Path;
use std::time::{Duration, SystemTime};

const CACHE: &str = "home/.cache/mpm";

fn hex(bytes: &[u8]) -> String {
    mpm::hash::Digest::of(bytes).hex()
}

/// Makes `root` an mpm cache (format 1).
fn cache_at(root: &Path) {
    std::fs::create_dir_all(root).unwrap();
    std::fs::write(root.join("format"), "mpm-cache 1\n").unwrap();
}

/// Sets when the entry at `path` was last used.
fn used_ago(path: &Path, secs: u64) {
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::now() - Duration::from_secs(secs))
        .unwrap();
}

/// Writes a content entry, last used `secs` ago; its path.
fn content(root: &Path, bytes: &[u8], secs: u64) -> std::path::PathBuf {
    let hex = hex(bytes);
    let path = root.join("content/sha256").join(&hex[..2]).join(&hex);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, bytes).unwrap();
    used_ago(&path, secs);
    path
}

/// Writes a document fetched `fetched_ms` after the epoch; its file's size.
fn document(root: &Path, url: &str, body: &[u8], fetched_ms: u64) -> u64 {
    let header = serde_json::json!({
        "url": url,
        "etag": "\"v1\"",
        "fetched_ms": fetched_ms,
        "size": body.len(),
        "sha256": hex(body),
    });
    let mut file = serde_json::to_vec(&header).unwrap();
    file.push(b'\n');
    file.extend_from_slice(body);
    let path = root.join("documents").join(hex(url.as_bytes()));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, &file).unwrap();
    file.len() as u64
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn counts(root: &Path, hits: u64, misses: u64) {
    std::fs::write(
        root.join("stats.json"),
        format!("{{\"hits\":{hits},\"misses\":{misses}}}"),
    )
    .unwrap();
}

#[test]
fn stats_of_a_cache_not_made_yet_says_so_and_makes_nothing() {
    let ran = Test::new()
        .args(&["cache", "stats"])
        .stdout(
            "
            Cache ~/.cache/mpm: 0 entries, 0 B (limits: 5000 entries, 500 MB, 24 h)
            Hits 0, misses 0: no hit rate yet
            ",
        )
        .success();
    assert!(!ran.exists("home/.cache"));
    ran.then()
        .args(&["cache", "prune"])
        .stdout("Nothing to prune: there is no cache in ~/.cache/mpm yet.\n")
        .success();
    ran.then()
        .args(&["cache", "clear"])
        .stdout("Nothing to clear: there is no cache in ~/.cache/mpm yet.\n")
        .success();
    assert!(!ran.exists("home/.cache"));
}

#[test]
fn stats_counts_the_entries_and_every_commands_hits_and_writes_nothing() {
    let t = Test::new();
    let root = t.path(CACHE);
    cache_at(&root);
    let doc = document(
        &root,
        "https://agents.example.com/index.json",
        b"{}",
        now_ms(),
    );
    content(&root, &[b'a'; 1000], 10);
    // 201 000 bytes in all
    content(&root, &vec![b'b'; 200_000 - doc as usize], 10);
    counts(&root, 40, 10);
    let before = crate::harness::tree(&t.path(""));
    let ran = t
        .args(&["cache", "stats"])
        .stdout(
            "
            Cache ~/.cache/mpm: 3 entries, 201 kB (limits: 5000 entries, 500 MB, 24 h)
            Hits 40, misses 10: hit rate 80.0 %
            ",
        )
        .success();
    crate::harness::assert_same_tree(&before, &ran.tree());
}

/// `mpm cache stats --json`, read back field by field: a key added without a
/// format bump fails here.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct StatsJson {
    format_version: String,
    mpm_version: String,
    dir: String,
    entries: u64,
    bytes: u64,
    hits: u64,
    misses: u64,
    hit_rate: Option<f64>,
    limits: LimitsJson,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct LimitsJson {
    max_entries: u64,
    max_bytes: u64,
    ttl_seconds: u64,
}

#[test]
fn stats_json_is_a_versioned_object() {
    let t = Test::new()
        .manifest("version: 1\ncache:\n  max_entries: 10\n  max_size_mb: 2\n  ttl_hours: 0.5\n");
    let root = t.path(CACHE);
    cache_at(&root);
    content(&root, b"agent", 1);
    counts(&root, 3, 1);
    let ran = t
        .args(&["cache", "stats", "--json"])
        .stdout(&format!(
            r#"
            {{
              "format_version": "1.0",
              "mpm_version": "{}",
              "dir": "[TMP]/home/.cache/mpm",
              "entries": 1,
              "bytes": 5,
              "hits": 3,
              "misses": 1,
              "hit_rate": 0.75,
              "limits": {{
                "max_entries": 10,
                "max_bytes": 2000000,
                "ttl_seconds": 1800
              }}
            }}
            "#,
            env!("CARGO_PKG_VERSION")
        ))
        .success();
    let read: StatsJson = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(read.hit_rate, Some(0.75));
    // before any lookup the rate is null, not 0
    Test::new()
        .args(&["cache", "stats", "--json"])
        .stdout_has("\"hit_rate\": null,")
        .success();
}

#[test]
fn a_warm_cache_that_misses_most_lookups_warns_on_stderr() {
    let t = Test::new();
    cache_at(&t.path(CACHE));
    counts(&t.path(CACHE), 20, 80);
    t.args(&["cache", "stats"])
        .stdout(
            "
            Cache ~/.cache/mpm: 0 entries, 0 B (limits: 5000 entries, 500 MB, 24 h)
            Hits 20, misses 80: hit rate 20.0 %
            ",
        )
        .stderr("warning: the cache's hit rate is 20.0 % over 100 lookups, below 60.0 % (aim for more than 80.0 % once it is warm): most lookups found nothing to use: registry indexes older than `cache.ttl_hours` are fetched again, and new versions are fetched once each; raise `cache.ttl_hours` in `mpm.yaml` if indexes expire between runs, or run `mpm cache clear` to count afresh after such a change\n")
        .success();
    // at its limits: the limits are the likelier reason
    let t = Test::new().manifest("version: 1\ncache:\n  max_entries: 2\n");
    let root = t.path(CACHE);
    cache_at(&root);
    content(&root, b"one", 1);
    content(&root, b"two", 1);
    counts(&root, 20, 80);
    t.args(&["cache", "stats", "--json"])
        .stdout_any()
        .stderr_has("the cache is at its limits, so entries are evicted before they are used again; raise `cache.max_entries` or `cache.max_size_mb` in `mpm.yaml`\n")
        .success();
}

#[test]
fn prune_drops_expired_indexes_the_least_recently_used_and_leftover_temps() {
    let t = Test::new().manifest("version: 1\ncache:\n  max_entries: 2\n");
    let root = t.path(CACHE);
    cache_at(&root);
    // fetched in 1970: long past its 24 hours
    let old = document(&root, "https://old.example/index.json", b"{}", 0);
    let oldest = content(&root, b"used 300 s ago", 300);
    let kept = [
        content(&root, b"used 200 s ago", 200),
        content(&root, b"used 100 s ago", 100),
    ];
    std::fs::write(
        oldest
            .parent()
            .unwrap()
            .join(".tmp-4000000-00000000000000aa"),
        b"half",
    )
    .unwrap();
    let ran = t
        .args(&["cache", "prune"])
        .stdout(&format!(
            "
            Pruned ~/.cache/mpm: removed 2 entries, {} B (1 expired registry index, 1 least recently used).
            Removed 1 temp file left by an interrupted write.
            Left: 2 entries, 28 B (limits: 2 entries, 500 MB, 24 h).
            ",
            old + 14
        ))
        .success();
    assert!(!oldest.exists());
    assert!(kept.iter().all(|p| p.exists()));
    let documents = std::fs::read_dir(ran.path("home/.cache/mpm/documents")).unwrap();
    assert_eq!(documents.count(), 0);
    ran.then()
        .args(&["cache", "prune"])
        .stdout(
            "
            Nothing to prune in ~/.cache/mpm.
            Left: 2 entries, 28 B (limits: 2 entries, 500 MB, 24 h).
            ",
        )
        .success();
}

#[test]
fn clear_removes_every_entry_and_the_counts() {
    let t = Test::new();
    let root = t.path(CACHE);
    cache_at(&root);
    content(&root, b"agent", 1);
    let doc = document(&root, "https://r.example/index.json", b"{}", now_ms());
    counts(&root, 40, 10);
    let ran = t
        .args(&["cache", "clear"])
        .stdout(&format!(
            "Cleared ~/.cache/mpm: removed 2 entries, {} B, and the counts of 50 lookups.\n",
            5 + doc
        ))
        .success();
    let mut left: Vec<String> = std::fs::read_dir(ran.path(CACHE))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["format", "lock"]);
    ran.then()
        .args(&["cache", "stats"])
        .stdout(
            "
            Cache ~/.cache/mpm: 0 entries, 0 B (limits: 5000 entries, 500 MB, 24 h)
            Hits 0, misses 0: no hit rate yet
            ",
        )
        .success();
}

#[test]
fn the_cache_is_in_xdg_cache_home_or_where_cache_dir_says() {
    let t = Test::new();
    let xdg = t.path("xdg").display().to_string();
    let ran = t
        .env("XDG_CACHE_HOME", &xdg)
        .args(&["cache", "stats"])
        .stdout_has("Cache xdg/mpm: 0 entries")
        .success();
    // a relative XDG_CACHE_HOME is ignored, as the specification says
    ran.then()
        .env("XDG_CACHE_HOME", "relative")
        .args(&["cache", "stats"])
        .stdout_has("Cache ~/.cache/mpm: 0 entries")
        .success();
    ran.then()
        .write(
            "home/.config/mpm/config.yaml",
            "cache:\n  dir: ../../shared-cache\n",
        )
        .args(&["cache", "stats"])
        .stdout_has("Cache ~/shared-cache: 0 entries")
        .success();
    ran.then()
        .env("MPM_CACHE_DIR", "from-env")
        .args(&["config", "show", "--origin"])
        .stdout_has("cache.dir = from-env  # env MPM_CACHE_DIR\n")
        .success();
}

#[test]
fn a_cache_folder_that_is_a_link_or_not_mpms_is_refused() {
    let t = Test::new().write("real/keep.txt", "mine\n");
    std::os::unix::fs::symlink(t.path("real"), t.path("link")).unwrap();
    let link = t.path("link").display().to_string();
    let ran = t
        .env("MPM_CACHE_DIR", &link)
        .args(&["cache", "clear"])
        .stderr(
            "
            error: the cache folder `[TMP]/link` is a symbolic link: mpm never reads or writes its cache through a link
            hint: set `cache.dir` (or `MPM_CACHE_DIR`) to the folder the link points to, or remove the link
            ",
        )
        .failure();
    // a folder of other files: `cache.dir: ~` must not lose `~/content`
    ran.then()
        .write("home/content/notes.txt", "mine\n")
        .env("MPM_CACHE_DIR", &ran.path("home").display().to_string())
        .args(&["cache", "clear"])
        .stderr(
            "
            error: `[TMP]/home` is not an mpm cache: it holds other files and no `format` file
            hint: set `cache.dir` (or `MPM_CACHE_DIR`) to a new or empty folder
            ",
        )
        .failure();
}

#[test]
fn a_limit_that_is_not_above_zero_is_an_error_at_its_line() {
    Test::new()
        .manifest("version: 1\ncache:\n  max_size_mb: 0\n")
        .args(&["cache", "stats"])
        .stderr(
            "
            error: `cache.max_size_mb` is `0`: it must be a whole number above 0
             --> mpm.yaml:3:16
              |
            3 |   max_size_mb: 0
              |                ^
            hint: leave it out for the default (`max_entries: 5000`, `max_size_mb: 500`, `ttl_hours: 24`)
            ",
        )
        .failure();
}

/// The `removed N entries` of a prune's output (0 for `Nothing to prune`).
fn removed(stdout: &str) -> u64 {
    stdout
        .split_once("removed ")
        .and_then(|(_, rest)| rest.split(' ').next())
        .map_or(0, |n| n.parse().unwrap())
}

#[test]
fn two_prunes_and_two_stats_at_once_share_one_cache() {
    let t = Test::new().manifest("version: 1\ncache:\n  max_entries: 20\n");
    let root = t.path(CACHE);
    cache_at(&root);
    for i in 0..120u64 {
        content(&root, format!("agent {i}").as_bytes(), 1000 - i);
    }
    let spawn = |args: &[&str]| {
        std::process::Command::new(BIN)
            .args(args)
            .current_dir(t.path(""))
            .env_clear()
            .env("HOME", t.path("home"))
            .env("NO_COLOR", "1")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let running = [
        spawn(&["cache", "prune"]),
        spawn(&["cache", "stats"]),
        spawn(&["cache", "prune"]),
        spawn(&["cache", "stats", "--json"]),
    ];
    let outputs: Vec<std::process::Output> = running
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    for out in &outputs {
        assert!(out.status.success(), "{out:?}");
        assert!(out.stderr.is_empty(), "{out:?}");
    }
    // each entry was removed by exactly one of them, and what is left fits
    let prunes = [&outputs[0], &outputs[2]];
    let total: u64 = prunes
        .iter()
        .map(|o| removed(&String::from_utf8_lossy(&o.stdout)))
        .sum();
    assert_eq!(total, 100);
    t.args(&["cache", "stats"])
        .stdout_has("Cache ~/.cache/mpm: 20 entries, ")
        .success();
}
