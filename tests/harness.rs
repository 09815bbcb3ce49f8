//! A small fluent builder around the real binary, in the style of just's tests:
//! `Test::new().manifest(..).args(..).stdout(..).success()`. The chain ends by
//! asserting the exit status and returns what ran, to look at the disk or run the
//! next command in the same directory.
//!
//! Both streams are checked exactly, with the temp directory and times scrubbed: a
//! stream the test says nothing about must be empty. `stdout_has`/`stderr_has`
//! check a part, and `stdout_any`/`stderr_any` opt out, for output that is too long
//! or not stable enough to pin (say why where you use them).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::rc::Rc;

pub const BIN: &str = env!("CARGO_BIN_EXE_mpm");

/// Removes the common leading indentation and a first newline, so expected text can
/// be written indented in the test.
pub fn unindent(text: &str) -> String {
    let text = text.strip_prefix('\n').unwrap_or(text);
    let indent = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut out: String = text
        .lines()
        .map(|l| {
            if l.len() >= indent {
                &l[indent..]
            } else {
                l.trim_start()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    if text.ends_with('\n') {
        out.push('\n');
    }
    // a final line holding only the closing indentation
    if out.ends_with("\n\n") && !text.trim_end_matches(' ').ends_with("\n\n") {
        out.pop();
    }
    out
}

/// What a test expects of one output stream. Saying nothing means the stream must be
/// empty: output nobody looked at is how a stray warning or a doubled line slips in.
#[derive(Default)]
struct Expected {
    exact: Option<String>,
    has: Vec<String>,
    /// The test chose not to check this stream (`stdout_any`/`stderr_any`).
    any: bool,
}

impl Expected {
    #[track_caller]
    fn check(&self, stream: &str, actual: &str, show: &dyn Fn() -> String) {
        match &self.exact {
            Some(expected) => assert_eq!(actual, expected, "{stream}\n{}", show()),
            None if self.has.is_empty() && !self.any => assert!(
                actual.is_empty(),
                "{stream} should be empty (assert it with `.{stream}(..)`, or opt out with `.{stream}_any()`)\n{}",
                show()
            ),
            None => {}
        }
        for s in &self.has {
            assert!(
                actual.contains(s.as_str()),
                "{stream} lacks {s:?}\n{}",
                show()
            );
        }
    }
}

/// A command to run: dropping it unrun is a test that checks nothing.
#[must_use = "a Test does nothing until `.success()`, `.failure()` or `.status(n)` runs it"]
pub struct Test {
    dir: Rc<tempfile::TempDir>,
    cwd: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdin: Option<Vec<u8>>,
    stdout_file: Option<File>,
    stdout: Expected,
    stderr: Expected,
}

impl Test {
    #[track_caller]
    pub fn new() -> Test {
        let dir = Rc::new(tempfile::tempdir().expect("temp dir"));
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        Test::in_dir(dir)
    }

    /// A command in an existing test directory.
    fn in_dir(dir: Rc<tempfile::TempDir>) -> Test {
        Test {
            cwd: dir.path().to_path_buf(),
            dir,
            args: Vec::new(),
            env: Vec::new(),
            stdin: None,
            stdout_file: None,
            stdout: Expected::default(),
            stderr: Expected::default(),
        }
    }

    /// Writes a file (text unindented) under the test directory.
    #[track_caller]
    pub fn write(self, path: &str, text: &str) -> Test {
        let p = self.dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, unindent(text)).unwrap();
        self
    }

    /// Writes a file as these bytes (a byte order mark, `\r\n`, bytes that are not
    /// UTF-8: what [`Test::write`] would change).
    #[track_caller]
    pub fn write_bytes(self, path: &str, bytes: &[u8]) -> Test {
        let p = self.dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
        self
    }

    #[track_caller]
    pub fn manifest(self, text: &str) -> Test {
        self.write("mpm.yaml", text)
    }

    /// A claude-mpm template at `templates/<stem>.json`.
    #[track_caller]
    pub fn template(self, stem: &str, version: &str, instructions: &str) -> Test {
        let json = serde_json::json!({
            "schema_version": "1.3.0",
            "agent_id": format!("{stem}-agent"),
            "agent_version": version,
            "agent_type": "engineer",
            "metadata": {"name": stem, "description": format!("Use for {stem} work"), "color": "blue"},
            "capabilities": {"model": "sonnet", "tools": ["Read", "Grep"]},
            "instructions": instructions,
        });
        let p = self.dir.path().join(format!("templates/{stem}.json"));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, serde_json::to_string_pretty(&json).unwrap()).unwrap();
        self
    }

    pub fn args(mut self, args: &[&str]) -> Test {
        self.args.extend(args.iter().map(|s| s.to_string()));
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Test {
        self.env.push((key.into(), value.into()));
        self
    }

    #[track_caller]
    pub fn current_dir(mut self, sub: &str) -> Test {
        self.cwd = self.dir.path().join(sub);
        std::fs::create_dir_all(&self.cwd).unwrap();
        self
    }

    /// Feeds this text (as is, not unindented) on standard input; without it stdin is
    /// empty (`/dev/null`).
    pub fn stdin(mut self, text: &str) -> Test {
        self.stdin = Some(text.as_bytes().to_vec());
        self
    }

    /// Sends standard output to this file instead of capturing it (`/dev/full` for a
    /// full disk); the stdout the test sees is then empty.
    pub fn stdout_file(mut self, file: File) -> Test {
        self.stdout_file = Some(file);
        self
    }

    /// Exact stdout (unindented).
    pub fn stdout(mut self, text: &str) -> Test {
        self.stdout.exact = Some(unindent(text));
        self
    }

    /// Exact stdout, as written (not unindented): for output whose every line is
    /// indented, like `mpm lock`'s `  + qa 1.0.0 (team)`.
    pub fn stdout_verbatim(mut self, text: &str) -> Test {
        self.stdout.exact = Some(text.to_string());
        self
    }

    /// Exact stderr (unindented).
    pub fn stderr(mut self, text: &str) -> Test {
        self.stderr.exact = Some(unindent(text));
        self
    }

    /// stdout contains this text (and may hold anything else).
    pub fn stdout_has(mut self, text: &str) -> Test {
        self.stdout.has.push(text.into());
        self
    }

    /// stderr contains this text (and may hold anything else).
    pub fn stderr_has(mut self, text: &str) -> Test {
        self.stderr.has.push(text.into());
        self
    }

    /// stdout is not checked; say at the call why it cannot be.
    pub fn stdout_any(mut self) -> Test {
        self.stdout.any = true;
        self
    }

    /// stderr is not checked; say at the call why it cannot be.
    pub fn stderr_any(mut self) -> Test {
        self.stderr.any = true;
        self
    }

    pub fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    #[track_caller]
    pub fn success(self) -> Ran {
        self.status(0)
    }

    /// Exit code 1; the disk must be exactly as before the command.
    #[track_caller]
    pub fn failure(self) -> Ran {
        let before = tree(self.dir.path());
        let ran = self.status(1);
        let after = tree(ran.dir.path());
        assert_same_tree(&before, &after);
        ran
    }

    #[track_caller]
    pub fn status(self, code: i32) -> Ran {
        let mut cmd = Command::new(BIN);
        cmd.args(&self.args)
            .current_dir(&self.cwd)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir.path().join("home"))
            .env("NO_COLOR", "1")
            .stdout(match self.stdout_file {
                Some(file) => Stdio::from(file),
                None => Stdio::piped(),
            })
            .stderr(Stdio::piped())
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            });
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("run mpm");
        // written from another thread so that a child that fills its stdout pipe
        // before reading all of stdin cannot deadlock the test
        let feeder = match (child.stdin.take(), self.stdin) {
            (Some(mut pipe), Some(bytes)) => Some(std::thread::spawn(move || {
                // the child may exit without reading it all; that is its business
                let _ = pipe.write_all(&bytes);
            })),
            _ => None,
        };
        let output = child.wait_with_output().expect("wait for mpm");
        if let Some(feeder) = feeder {
            feeder.join().expect("stdin feeder");
        }
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let args = &self.args;
        let show = || {
            format!(
                "mpm {args:?}\n--- stdout\n{}--- stderr\n{}---",
                shorten(&stdout),
                shorten(&stderr)
            )
        };
        assert!(!stderr.contains("panicked"), "mpm panicked\n{}", show());
        assert_eq!(output.status.code(), Some(code), "exit code\n{}", show());
        self.stdout
            .check("stdout", &scrub(&stdout, self.dir.path()), &show);
        self.stderr
            .check("stderr", &scrub(&stderr, self.dir.path()), &show);
        Ran {
            dir: self.dir,
            stdout,
            stderr,
        }
    }
}

/// `/dev/full`, to give a command as its stdout: every write fails with ENOSPC, as
/// on a full disk.
#[track_caller]
pub fn full_disk() -> File {
    std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full")
}

/// Long output cut to its start and end, so that a failure stays readable.
fn shorten(text: &str) -> String {
    const KEEP: usize = 2000;
    if text.len() <= 2 * KEEP {
        return text.to_string();
    }
    // (`floor_char_boundary` is newer than the crate's rust-version)
    let mut head = KEEP;
    while !text.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = text.len() - KEEP;
    while !text.is_char_boundary(tail) {
        tail += 1;
    }
    format!(
        "{}\n[... {} bytes left out ...]\n{}",
        &text[..head],
        tail - head,
        &text[tail..]
    )
}

/// Replaces the temp directory with `[TMP]` and every UTC time mpm prints
/// (`2026-01-02T03:04:05Z`) with `[TIME]`: what a test compares must not depend on
/// where or when it ran.
pub fn scrub(text: &str, dir: &Path) -> String {
    let real = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let text = text
        .replace(&real.display().to_string(), "[TMP]")
        .replace(&dir.display().to_string(), "[TMP]");
    scrub_times(&text)
}

fn scrub_times(text: &str) -> String {
    // `jiff::Timestamp`'s Display: digits in these places, at whole seconds
    const SHAPE: &[u8] = b"dddd-dd-ddTdd:dd:ddZ";
    let fits = |at: &[u8]| {
        at.len() >= SHAPE.len()
            && SHAPE.iter().zip(at).all(|(&want, &got)| match want {
                b'd' => got.is_ascii_digit(),
                _ => got == want,
            })
    };
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if fits(&bytes[i..]) {
            out.push_str(&text[start..i]);
            out.push_str("[TIME]");
            i += SHAPE.len();
            start = i;
        } else {
            i += 1;
        }
    }
    out.push_str(&text[start..]);
    out
}

/// A command that ran and passed its checks: its output (unscrubbed) and its
/// directory, to look at the disk or to run the next command there.
pub struct Ran {
    pub dir: Rc<tempfile::TempDir>,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    /// A new command in the same directory.
    pub fn then(&self) -> Test {
        Test::in_dir(self.dir.clone())
    }

    #[must_use]
    pub fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    #[must_use]
    #[track_caller]
    pub fn read(&self, p: &str) -> String {
        match std::fs::read_to_string(self.path(p)) {
            Ok(text) => text,
            Err(e) => panic!("read {p}: {e}"),
        }
    }

    #[must_use]
    #[track_caller]
    pub fn bytes(&self, p: &str) -> Vec<u8> {
        match std::fs::read(self.path(p)) {
            Ok(bytes) => bytes,
            Err(e) => panic!("read {p}: {e}"),
        }
    }

    /// Whether anything (a link included) is at `p`; assert on it.
    #[must_use]
    pub fn exists(&self, p: &str) -> bool {
        self.path(p).symlink_metadata().is_ok()
    }

    /// Every file and directory with its bytes.
    #[must_use]
    pub fn tree(&self) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
        tree(self.dir.path())
    }
}

pub fn tree(root: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap().to_path_buf();
            let ft = e.file_type().unwrap();
            // sled rewrites its own files whenever it opens the database; what it
            // holds is checked through mpm's commands instead
            if rel.ends_with(".mpm/db") {
                out.insert(rel, None);
                continue;
            }
            if ft.is_dir() {
                out.insert(rel, None);
                stack.push(p);
            } else if ft.is_symlink() {
                out.insert(
                    rel,
                    Some(
                        std::fs::read_link(&p)
                            .unwrap()
                            .display()
                            .to_string()
                            .into_bytes(),
                    ),
                );
            } else {
                let in_db = rel.components().any(|c| c.as_os_str() == "db");
                let is_lock = rel.file_name().is_some_and(|n| n == "lock");
                out.insert(
                    rel,
                    if in_db || is_lock {
                        Some(Vec::new())
                    } else if !ft.is_file() {
                        // a named pipe a test planted: its name is what counts
                        Some(b"(not a regular file)".to_vec())
                    } else {
                        Some(std::fs::read(&p).unwrap())
                    },
                );
            }
        }
    }
    out
}

#[track_caller]
pub fn assert_same_tree(
    before: &BTreeMap<PathBuf, Option<Vec<u8>>>,
    after: &BTreeMap<PathBuf, Option<Vec<u8>>>,
) {
    let keys: std::collections::BTreeSet<_> = before.keys().chain(after.keys()).collect();
    for k in keys {
        assert_eq!(
            before.get(k),
            after.get(k),
            "the failing command changed `{}`",
            k.display()
        );
    }
}

/// A manifest with these inline agents (name → prompt).
pub fn inline_manifest(agents: &[(&str, &str)]) -> String {
    let mut m = String::from("version: 1\nagents:\n");
    for (name, prompt) in agents {
        m.push_str(&format!(
            "  {name}:\n    description: Use for {name} work\n    prompt: {prompt:?}\n"
        ));
    }
    m
}

/// Copies a directory tree.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

#[test]
fn times_are_scrubbed_and_nothing_else() {
    assert_eq!(
        scrub_times("*   1  2026-01-02T03:04:05Z  apply\nsince 2026-01-02T03:04:05Z)"),
        "*   1  [TIME]  apply\nsince [TIME])"
    );
    // not the shape of a time: left alone
    assert_eq!(
        scrub_times("2026-01-02 03:04:05Z → 1.2.3"),
        "2026-01-02 03:04:05Z → 1.2.3"
    );
}
