//! The cache against real folders in a temp directory, and, for concurrency, a
//! second process (this test binary again, running [`worker`]).

use super::*;
use std::path::Path;

fn limits(max_entries: u64, max_bytes: u64, ttl: Duration) -> Limits {
    Limits {
        max_entries,
        max_bytes,
        ttl,
    }
}

const HOUR: Duration = Duration::from_secs(3600);

fn cache_in(tmp: &tempfile::TempDir) -> Cache {
    Cache::at(tmp.path().join("mpm"), Limits::default())
}

/// The path of the content entry of `bytes` under `root`.
fn content_path(root: &Path, bytes: &[u8]) -> PathBuf {
    let hex = Digest::of(bytes).hex();
    root.join("content/sha256").join(&hex[..2]).join(hex)
}

fn document_path(root: &Path, url: &str) -> PathBuf {
    root.join("documents")
        .join(Digest::of(url.as_bytes()).hex())
}

/// Makes the entry at `path` last used `secs` seconds ago.
fn used_ago(path: &Path, secs: u64) {
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::now() - Duration::from_secs(secs))
        .unwrap();
}

/// Every file and folder under `root`, relative, sorted.
fn tree(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            out.push(p.strip_prefix(root).unwrap().display().to_string());
            if e.file_type().unwrap().is_dir() {
                stack.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The resolver fetches with bounded concurrency: one cache serves its tasks.
#[test]
fn a_cache_can_be_shared_between_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<Cache>();
}

#[test]
fn the_cache_is_in_xdg_cache_home_else_in_the_home() {
    let home = Some(Path::new("/home/u"));
    assert_eq!(default_dir(None, home), Some("/home/u/.cache/mpm".into()));
    assert_eq!(
        default_dir(Some(Path::new("/c")), home),
        Some("/c/mpm".into())
    );
    assert_eq!(
        default_dir(Some(Path::new("rel")), home),
        Some("/home/u/.cache/mpm".into())
    );
    assert_eq!(default_dir(None, None), None);
}

#[test]
fn nothing_is_created_until_the_first_write() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = cache_in(&tmp);
    assert_eq!(cache.content(&Digest::of(b"x")).unwrap(), None);
    assert_eq!(
        cache.document("https://r.example/index.json").unwrap(),
        None
    );
    let stats = cache.stats().unwrap();
    assert_eq!(
        (stats.entries, stats.bytes, stats.hits, stats.misses),
        (0, 0, 0, 2)
    );
    assert_eq!(cache.prune().unwrap(), Pruned::default());
    assert_eq!(cache.clear().unwrap(), Pruned::default());
    cache.finish().unwrap();
    assert!(!tmp.path().join("mpm").exists());
    // the first write makes the folder an mpm cache
    let cache = cache_in(&tmp);
    cache.put_content(b"agent").unwrap();
    cache.finish().unwrap();
    let root = tmp.path().join("mpm");
    assert_eq!(
        std::fs::read_to_string(root.join("format")).unwrap(),
        "mpm-cache 1\n"
    );
    assert!(
        std::fs::read_to_string(root.join("CACHEDIR.TAG"))
            .unwrap()
            .starts_with("Signature: 8a477f597d28d172789f06886806bc55\n")
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(root.metadata().unwrap().permissions().mode() & 0o777, 0o700);
    assert_eq!(
        std::fs::read(content_path(&root, b"agent")).unwrap(),
        b"agent"
    );
}

#[test]
fn content_is_kept_by_its_digest_and_never_goes_stale() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = Cache::at(
        tmp.path().join("mpm"),
        limits(10, 1000, Duration::from_nanos(1)),
    );
    let digest = cache.put_content(b"---\nname: qa\n---\n").unwrap();
    assert_eq!(digest, Digest::of(b"---\nname: qa\n---\n"));
    used_ago(
        &content_path(cache.dir(), b"---\nname: qa\n---\n"),
        10 * 24 * 3600,
    );
    assert_eq!(
        cache.content(&digest).unwrap().as_deref(),
        Some(&b"---\nname: qa\n---\n"[..])
    );
    assert_eq!(cache.content(&Digest::of(b"other")).unwrap(), None);
    let stats = cache.stats().unwrap();
    assert_eq!((stats.hits, stats.misses), (1, 1));
}

#[test]
fn documents_go_stale_after_the_ttl_and_a_304_makes_them_fresh() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = Cache::at(tmp.path().join("mpm"), limits(10, 1000, HOUR));
    let url = "https://agents.example.com/index.json";
    let two_hours_ago = SystemTime::now() - 2 * HOUR;
    cache
        .write_document(
            url,
            b"{\"agents\":{}}",
            Some("\"v1\"".into()),
            two_hours_ago,
        )
        .unwrap();
    let stale = cache.document(url).unwrap().unwrap();
    assert_eq!(stale.bytes, b"{\"agents\":{}}");
    assert_eq!(stale.etag.as_deref(), Some("\"v1\""));
    assert!(!stale.fresh);
    assert_eq!(
        stale
            .fetched
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
        two_hours_ago
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis()
    );
    cache.revalidated(url).unwrap();
    let fresh = cache.document(url).unwrap().unwrap();
    assert!(fresh.fresh);
    assert_eq!((fresh.bytes, fresh.etag), (stale.bytes, stale.etag));
    // a stale document is a miss (the network was needed), a fresh one a hit
    let stats = cache.stats().unwrap();
    assert_eq!((stats.hits, stats.misses), (1, 1));
    // a new fetch replaces it
    cache.put_document(url, b"{}", None).unwrap();
    let replaced = cache.document(url).unwrap().unwrap();
    assert_eq!(
        (replaced.bytes.as_slice(), replaced.etag, replaced.fresh),
        (&b"{}"[..], None, true)
    );
    // one fetched "in the future" (the clock was set back since) is not fresh
    cache
        .write_document(url, b"{}", None, SystemTime::now() + HOUR)
        .unwrap();
    assert!(!cache.document(url).unwrap().unwrap().fresh);
    // a 304 for what is no longer cached changes nothing
    cache
        .revalidated("https://elsewhere.example/index.json")
        .unwrap();
    assert_eq!(
        cache
            .document("https://elsewhere.example/index.json")
            .unwrap(),
        None
    );
}

#[test]
fn a_damaged_entry_is_never_served_but_removed_and_missed() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = cache_in(&tmp);
    let agent = b"---\nname: qa\ndescription: d\n---\nDo qa.\n";
    let digest = cache.put_content(agent).unwrap();
    let path = content_path(cache.dir(), agent);
    // truncated, as by a crash or a full disk
    std::fs::write(&path, &agent[..10]).unwrap();
    assert_eq!(cache.content(&digest).unwrap(), None);
    assert!(!path.exists());
    // tampered with, same size
    cache.put_content(agent).unwrap();
    let mut tampered = agent.to_vec();
    tampered[5] = b'X';
    std::fs::write(&path, &tampered).unwrap();
    assert_eq!(cache.content(&digest).unwrap(), None);
    assert!(!path.exists());
    // a document whose bytes or header were changed
    let url = "https://r.example/index.json";
    cache.put_document(url, b"{\"a\":1}", None).unwrap();
    let doc = document_path(cache.dir(), url);
    let text = std::fs::read_to_string(&doc).unwrap();
    std::fs::write(&doc, text.replace("{\"a\":1}", "{\"a\":2}")).unwrap();
    assert_eq!(cache.document(url).unwrap(), None);
    assert!(!doc.exists());
    cache.put_document(url, b"{}", None).unwrap();
    std::fs::write(&doc, "not a header\n{}").unwrap();
    assert_eq!(cache.document(url).unwrap(), None);
    assert!(!doc.exists());
    // another URL's document where this one's should be
    cache
        .put_document("https://other.example/i.json", b"{}", None)
        .unwrap();
    std::fs::rename(
        document_path(cache.dir(), "https://other.example/i.json"),
        &doc,
    )
    .unwrap();
    assert_eq!(cache.document(url).unwrap(), None);
    let stats = cache.stats().unwrap();
    assert_eq!((stats.hits, stats.misses), (0, 5));
}

#[test]
fn the_least_recently_used_go_when_a_command_that_wrote_ends_over_the_count() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = Cache::at(tmp.path().join("mpm"), limits(2, 1_000_000, HOUR));
    for (bytes, ago) in [(&b"a"[..], 30), (b"b", 20), (b"c", 10)] {
        cache.put_content(bytes).unwrap();
        used_ago(&content_path(cache.dir(), bytes), ago);
    }
    // a hit makes `a` the most recently used: `b` is now the oldest
    assert!(cache.content(&Digest::of(b"a")).unwrap().is_some());
    let root = cache.dir().to_path_buf();
    cache.finish().unwrap();
    assert!(content_path(&root, b"a").exists());
    assert!(!content_path(&root, b"b").exists());
    assert!(content_path(&root, b"c").exists());
    // a command that only read enforces nothing
    let small = Cache::at(root.clone(), limits(1, 1_000_000, HOUR));
    assert!(small.content(&Digest::of(b"c")).unwrap().is_some());
    small.finish().unwrap();
    assert_eq!(
        Cache::at(root, Limits::default()).stats().unwrap().entries,
        2
    );
}

#[test]
fn the_least_recently_used_go_when_a_command_that_wrote_ends_over_the_size() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = Cache::at(tmp.path().join("mpm"), limits(100, 10, HOUR));
    cache.put_content(b"older!").unwrap();
    used_ago(&content_path(cache.dir(), b"older!"), 60);
    cache.put_content(b"newer!").unwrap();
    let root = cache.dir().to_path_buf();
    cache.finish().unwrap();
    assert!(!content_path(&root, b"older!").exists());
    assert!(content_path(&root, b"newer!").exists());
    let stats = Cache::at(root, Limits::default()).stats().unwrap();
    assert_eq!((stats.entries, stats.bytes), (1, 6));
}

#[test]
fn prune_drops_expired_documents_then_the_oldest_and_leftover_temps() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("mpm");
    let cache = Cache::at(root.clone(), limits(2, 1_000_000, HOUR));
    cache
        .write_document(
            "https://old.example/i.json",
            b"{}",
            None,
            SystemTime::now() - 2 * HOUR,
        )
        .unwrap();
    cache
        .put_document("https://new.example/i.json", b"{}", None)
        .unwrap();
    for (bytes, ago) in [(&b"a"[..], 30), (b"b", 20), (b"c", 10)] {
        cache.put_content(bytes).unwrap();
        used_ago(&content_path(&root, bytes), ago);
    }
    // writes a killed process left behind
    let prefix_dir = content_path(&root, b"a").parent().unwrap().to_path_buf();
    std::fs::write(prefix_dir.join(".tmp-4000000-00000000000000aa"), b"half").unwrap();
    std::fs::write(
        root.join("documents/.tmp-4000000-00000000000000bb"),
        b"half",
    )
    .unwrap();
    drop(cache);
    let cache = Cache::at(root.clone(), limits(2, 1_000_000, HOUR));
    let pruned = cache.prune().unwrap();
    assert_eq!(
        pruned,
        Pruned {
            removed: 3,
            expired: 1,
            bytes: pruned.bytes,
            temps: 2,
            entries_left: 2,
            bytes_left: pruned.bytes_left,
        }
    );
    assert!(!document_path(&root, "https://old.example/i.json").exists());
    assert!(!content_path(&root, b"a").exists());
    assert!(!content_path(&root, b"b").exists());
    assert!(content_path(&root, b"c").exists());
    assert!(document_path(&root, "https://new.example/i.json").exists());
    assert_eq!(cache.stats().unwrap().bytes, pruned.bytes_left);
    // within the limits now: nothing more to do
    assert_eq!(
        cache.prune().unwrap(),
        Pruned {
            entries_left: 2,
            bytes_left: pruned.bytes_left,
            ..Pruned::default()
        }
    );
}

#[test]
fn clear_removes_every_entry_and_the_counts_and_keeps_an_empty_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = cache_in(&tmp);
    cache.put_content(b"one").unwrap();
    cache.put_content(b"two!").unwrap();
    cache
        .put_document("https://r.example/i.json", b"{}", None)
        .unwrap();
    assert!(cache.content(&Digest::of(b"one")).unwrap().is_some());
    let root = cache.dir().to_path_buf();
    cache.finish().unwrap();
    std::fs::write(root.join(".tmp-4000000-00000000000000cc"), b"x").unwrap();
    let cache = Cache::at(root.clone(), Limits::default());
    let doc_bytes = std::fs::metadata(document_path(&root, "https://r.example/i.json"))
        .unwrap()
        .len();
    assert_eq!(
        cache.clear().unwrap(),
        Pruned {
            removed: 3,
            bytes: 3 + 4 + doc_bytes,
            temps: 1,
            ..Pruned::default()
        }
    );
    assert_eq!(tree(&root), ["CACHEDIR.TAG", "format", "lock"]);
    let stats = cache.stats().unwrap();
    assert_eq!((stats.entries, stats.hits, stats.misses), (0, 0, 0));
}

#[test]
fn hits_and_misses_of_every_command_add_up() {
    let tmp = tempfile::tempdir().unwrap();
    let first = cache_in(&tmp);
    assert_eq!(first.stats().unwrap().hit_rate(), None);
    let digest = Digest::of(b"agent");
    assert_eq!(first.content(&digest).unwrap(), None);
    first.put_content(b"agent").unwrap();
    assert!(first.content(&digest).unwrap().is_some());
    first.finish().unwrap();
    let second = cache_in(&tmp);
    for _ in 0..3 {
        assert!(second.content(&digest).unwrap().is_some());
    }
    // this command's own lookups are in its figures before it ends
    assert_eq!(second.stats().unwrap().hits, 4);
    second.finish().unwrap();
    let stats = cache_in(&tmp).stats().unwrap();
    assert_eq!((stats.hits, stats.misses, stats.lookups()), (4, 1, 5));
    assert_eq!(stats.hit_rate(), Some(0.8));
    // damaged counts start again rather than failing a command
    std::fs::write(tmp.path().join("mpm/stats.json"), b"{").unwrap();
    assert_eq!(cache_in(&tmp).stats().unwrap().lookups(), 0);
}

#[test]
fn a_disabled_cache_reads_and_keeps_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = Cache::disabled(tmp.path().join("mpm"), Limits::default());
    assert_eq!(cache.put_content(b"x").unwrap(), Digest::of(b"x"));
    cache
        .put_document("https://r.example/i.json", b"{}", None)
        .unwrap();
    assert_eq!(cache.content(&Digest::of(b"x")).unwrap(), None);
    assert_eq!(cache.document("https://r.example/i.json").unwrap(), None);
    cache.finish().unwrap();
    assert!(!tmp.path().join("mpm").exists());
}

#[test]
fn a_cache_folder_that_is_a_link_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("elsewhere")).unwrap();
    std::os::unix::fs::symlink(tmp.path().join("elsewhere"), tmp.path().join("mpm")).unwrap();
    let cache = cache_in(&tmp);
    for result in [
        cache.put_content(b"x").map(drop),
        cache.content(&Digest::of(b"x")).map(drop),
        cache.stats().map(drop),
        cache.clear().map(drop),
    ] {
        assert!(matches!(result, Err(CacheError::RootLink(_))), "{result:?}");
    }
    assert!(tree(&tmp.path().join("elsewhere")).is_empty());
}

#[test]
fn links_inside_the_cache_are_never_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("secret"), b"agent").unwrap();
    let cache = cache_in(&tmp);
    cache.put_content(b"seed").unwrap();
    let root = cache.dir().to_path_buf();
    // an entry that is a link to a file holding exactly the bytes asked for: a miss
    let entry = content_path(&root, b"agent");
    std::fs::create_dir_all(entry.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(outside.join("secret"), &entry).unwrap();
    assert_eq!(cache.content(&Digest::of(b"agent")).unwrap(), None);
    assert_eq!(cache.stats().unwrap().entries, 1);
    // writing it replaces the link, not the file it points to
    cache.put_content(b"agent").unwrap();
    assert!(!entry.symlink_metadata().unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read(outside.join("secret")).unwrap(), b"agent");
    // a folder of the cache that is a link is refused; clear removes the link only
    std::fs::rename(root.join("documents"), tmp.path().join("gone")).ok();
    std::os::unix::fs::symlink(&outside, root.join("documents")).unwrap();
    let cache = Cache::at(root.clone(), Limits::default());
    let refused = cache.document("https://r.example/i.json");
    assert!(matches!(refused, Err(CacheError::Link(_))), "{refused:?}");
    assert!(matches!(cache.stats(), Err(CacheError::Link(_))));
    assert!(matches!(
        cache.put_document("https://r.example/i.json", b"{}", None),
        Err(CacheError::Link(_))
    ));
    cache.clear().unwrap();
    assert!(!root.join("documents").exists());
    assert_eq!(tree(&outside), ["secret"]);
}

#[test]
fn a_folder_that_is_not_an_mpm_cache_is_never_written_or_cleared() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("home");
    std::fs::create_dir_all(root.join("content")).unwrap();
    std::fs::write(root.join("content/notes.txt"), b"mine").unwrap();
    let cache = Cache::at(root.clone(), Limits::default());
    assert!(matches!(
        cache.put_content(b"x"),
        Err(CacheError::NotACache(_))
    ));
    assert!(matches!(cache.clear(), Err(CacheError::NotACache(_))));
    assert!(matches!(cache.stats(), Err(CacheError::NotACache(_))));
    assert_eq!(tree(&root), ["content", "content/notes.txt"]);
    // an empty folder becomes one
    std::fs::create_dir(tmp.path().join("empty")).unwrap();
    let cache = Cache::at(tmp.path().join("empty"), Limits::default());
    cache.put_content(b"x").unwrap();
    assert!(tmp.path().join("empty/format").exists());
}

#[test]
fn a_cache_of_another_format_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("mpm");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(root.join("format"), "mpm-cache 2\n").unwrap();
    let e = cache_in(&tmp).content(&Digest::of(b"x")).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "the cache `{}` was written by another version of mpm (its `format` file says `mpm-cache 2`; this mpm reads `mpm-cache 1`)",
            root.display()
        )
    );
}

/// What each process does in [`two_processes_share_one_cache`]: puts 60 entries
/// (half of them the other process's too), looks each up, and ends.
const LOOKUPS_PER_PROCESS: u64 = 120;

fn work(root: &Path, me: &str, other: &str, other_gone: &mut dyn FnMut() -> bool) {
    // both start together: each says it is ready and waits for the other
    let meeting = root.parent().unwrap();
    std::fs::write(meeting.join(format!("{me}.ready")), b"").unwrap();
    while !meeting.join(format!("{other}.ready")).exists() {
        assert!(!other_gone(), "the {other} ended before it started");
        std::thread::sleep(Duration::from_millis(1));
    }
    let cache = Cache::at(root.to_path_buf(), limits(50, 1_000_000, HOUR));
    for i in 0..60u64 {
        // shared entries are the same bytes for both; own ones differ
        let bytes = match i % 2 {
            0 => format!("shared agent {i}\n").repeat(50),
            _ => format!("{me}'s agent {i}\n").repeat(50),
        };
        let digest = Digest::of(bytes.as_bytes());
        if let Some(found) = cache.content(&digest).unwrap() {
            assert_eq!(found, bytes.as_bytes());
        }
        cache.put_content(bytes.as_bytes()).unwrap();
        let found = cache.content(&digest).unwrap();
        // it may have been evicted by the other process's end meanwhile, never wrong
        assert!(found.is_none_or(|f| f == bytes.as_bytes()));
    }
    cache.finish().unwrap();
}

/// The second process: does nothing unless started by the test below.
#[test]
fn worker() {
    if let Some(root) = std::env::var_os("MPM_CACHE_TEST_WORKER") {
        work(Path::new(&root), "child", "parent", &mut || false);
    }
}

// Both processes also make the cache at once: one of them used to see the folder
// between the other's `format` and `CACHEDIR.TAG` and call it not mpm's.
#[test]
fn two_processes_share_one_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("mpm");
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "cache::tests::worker",
            "--test-threads=1",
            "--quiet",
        ])
        .env("MPM_CACHE_TEST_WORKER", &root)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // meanwhile a reader that looks at the raw files: none is ever seen in part
    let done = std::sync::atomic::AtomicBool::new(false);
    /// Stops the reader however the test ends.
    struct Stop<'a>(&'a std::sync::atomic::AtomicBool);
    impl Drop for Stop<'_> {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    let status = std::thread::scope(|scope| {
        let stop = Stop(&done);
        scope.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                for path in tree(&root) {
                    let name = path.rsplit('/').next().unwrap_or_default();
                    if path.starts_with("content/sha256/")
                        && is_hex(std::ffi::OsStr::new(name), 64)
                        && let Ok(bytes) = std::fs::read(root.join(&path))
                    {
                        assert_eq!(Digest::of(&bytes).hex(), name, "a partial entry was seen");
                    }
                }
            }
        });
        work(&root, "parent", "child", &mut || {
            child.try_wait().unwrap().is_some()
        });
        let status = child.wait().unwrap();
        drop(stop);
        status
    });
    assert!(status.success(), "the child failed");
    let cache = Cache::at(root.clone(), limits(50, 1_000_000, HOUR));
    let stats = cache.stats().unwrap();
    // no process's counts were lost to the other's
    assert_eq!(stats.lookups(), 2 * LOOKUPS_PER_PROCESS);
    // the last to end enforced the limit; every entry is whole
    assert!(stats.entries <= 50, "{stats:?}");
    let pruned = cache.prune().unwrap();
    assert_eq!(pruned.temps, 0);
    assert_eq!(pruned.removed, 0);
    for path in tree(&root) {
        let name = path.rsplit('/').next().unwrap_or_default();
        if path.starts_with("content/sha256/") && is_hex(std::ffi::OsStr::new(name), 64) {
            assert_eq!(
                Digest::of(&std::fs::read(root.join(&path)).unwrap()).hex(),
                name
            );
        }
    }
}
