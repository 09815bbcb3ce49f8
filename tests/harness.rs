//! A small fluent builder around the real binary, in the style of just's tests:
//! `Test::new().manifest(..).args(..).stdout(..).success()`. The chain ends by
//! asserting the exit status and returns what ran, to look at the disk or run the
//! next command in the same directory.

use std::collections::BTreeMap;
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

pub struct Test {
    dir: Rc<tempfile::TempDir>,
    cwd: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdout: Option<String>,
    stderr: Option<String>,
    stdout_has: Vec<String>,
    stderr_has: Vec<String>,
}

impl Test {
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
            stdout: None,
            stderr: None,
            stdout_has: Vec::new(),
            stderr_has: Vec::new(),
        }
    }

    /// Writes a file (text unindented) under the test directory.
    pub fn write(self, path: &str, text: &str) -> Test {
        let p = self.dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, unindent(text)).unwrap();
        self
    }

    pub fn manifest(self, text: &str) -> Test {
        self.write("mpm.yaml", text)
    }

    /// A claude-mpm template at `templates/<stem>.json`.
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

    pub fn current_dir(mut self, sub: &str) -> Test {
        self.cwd = self.dir.path().join(sub);
        std::fs::create_dir_all(&self.cwd).unwrap();
        self
    }

    /// Exact stdout (unindented).
    pub fn stdout(mut self, text: &str) -> Test {
        self.stdout = Some(unindent(text));
        self
    }

    /// Exact stderr (unindented).
    pub fn stderr(mut self, text: &str) -> Test {
        self.stderr = Some(unindent(text));
        self
    }

    pub fn stdout_has(mut self, text: &str) -> Test {
        self.stdout_has.push(text.into());
        self
    }

    pub fn stderr_has(mut self, text: &str) -> Test {
        self.stderr_has.push(text.into());
        self
    }

    pub fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    pub fn success(self) -> Ran {
        self.status(0)
    }

    /// Exit code 1; the disk must be exactly as before the command.
    pub fn failure(self) -> Ran {
        let before = tree(self.dir.path());
        let ran = self.status(1);
        let after = tree(ran.dir.path());
        assert_same_tree(&before, &after);
        ran
    }

    pub fn status(self, code: i32) -> Ran {
        let mut cmd = Command::new(BIN);
        cmd.args(&self.args)
            .current_dir(&self.cwd)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir.path().join("home"))
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(Stdio::null());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let output = cmd.output().expect("run mpm");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let show = || {
            format!(
                "mpm {:?}\n--- stdout\n{stdout}--- stderr\n{stderr}---",
                self.args
            )
        };
        assert!(!stderr.contains("panicked"), "mpm panicked\n{}", show());
        assert_eq!(output.status.code(), Some(code), "exit code\n{}", show());
        if let Some(expected) = &self.stdout {
            assert_eq!(
                &scrub(&stdout, self.dir.path()),
                expected,
                "stdout\n{}",
                show()
            );
        }
        if let Some(expected) = &self.stderr {
            assert_eq!(
                &scrub(&stderr, self.dir.path()),
                expected,
                "stderr\n{}",
                show()
            );
        }
        for s in &self.stdout_has {
            assert!(
                stdout.contains(s.as_str()),
                "stdout lacks {s:?}\n{}",
                show()
            );
        }
        for s in &self.stderr_has {
            assert!(
                stderr.contains(s.as_str()),
                "stderr lacks {s:?}\n{}",
                show()
            );
        }
        Ran {
            dir: self.dir,
            stdout,
            stderr,
        }
    }
}

/// Replaces the temp directory with `[TMP]`.
pub fn scrub(text: &str, dir: &Path) -> String {
    let real = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    text.replace(&real.display().to_string(), "[TMP]")
        .replace(&dir.display().to_string(), "[TMP]")
}

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

    pub fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    pub fn read(&self, p: &str) -> String {
        std::fs::read_to_string(self.path(p)).unwrap_or_else(|e| panic!("read {p}: {e}"))
    }

    pub fn bytes(&self, p: &str) -> Vec<u8> {
        std::fs::read(self.path(p)).unwrap_or_else(|e| panic!("read {p}: {e}"))
    }

    pub fn exists(&self, p: &str) -> bool {
        self.path(p).symlink_metadata().is_ok()
    }

    /// Every file and directory with its bytes.
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
                    } else {
                        Some(std::fs::read(&p).unwrap())
                    },
                );
            }
        }
    }
    out
}

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
