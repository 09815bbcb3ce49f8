//! Git registries and plugin marketplaces: real repositories made with the `git`
//! command line in the test's directory, read by path (in place) and by `file://`
//! URL (cloned into the cache under the test's HOME), and a marketplace folder.

use crate::harness::{Ran, Test};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs git in `dir` with nothing from the machine's configuration and fixed
/// names and times, so that the same steps give the same commits.
pub fn git(dir: &Path, args: &[&str]) -> String {
    git_on(dir, "2026-01-01T00:00:00Z", args)
}

/// The same, committing at `date` (RFC 3339).
pub fn git_on(dir: &Path, date: &str, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date)
        .output()
        .expect("the git command line");
    assert!(
        out.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A git repository in a test's directory.
pub struct Repo {
    pub path: PathBuf,
}

impl Repo {
    pub fn init(path: PathBuf) -> Repo {
        std::fs::create_dir_all(&path).unwrap();
        git(&path, &["init", "-q", "-b", "main"]);
        Repo { path }
    }

    pub fn write(&self, rel: &str, text: &str) -> &Repo {
        let p = self.path.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
        self
    }

    /// Commits everything; the new commit's id.
    pub fn commit(&self, message: &str) -> String {
        git(&self.path, &["add", "-A"]);
        git(&self.path, &["commit", "-q", "-m", message]);
        self.rev("HEAD")
    }

    pub fn tag(&self, name: &str) -> &Repo {
        git(&self.path, &["tag", name]);
        self
    }

    /// The commit `rev` is.
    pub fn rev(&self, rev: &str) -> String {
        git(&self.path, &["rev-parse", &format!("{rev}^{{commit}}")])
    }

    /// The `file://` URL of the repository.
    pub fn url(&self) -> String {
        format!("file://{}", self.path.display())
    }
}

/// An agent file.
pub fn agent(name: &str, version: Option<&str>, prompt: &str) -> String {
    let version = version
        .map(|v| format!("version: {v}\n"))
        .unwrap_or_default();
    format!("---\nname: {name}\ndescription: Use for {name} work\n{version}---\n{prompt}\n")
}

fn sha256(text: &str) -> String {
    mpm::hash::Digest::of(text.as_bytes()).hex()
}

/// The pin mpm.lock holds for `agent`.
fn pin(ran: &Ran, agent: &str) -> Value {
    let lock: Value = serde_json::from_str(&ran.read("mpm.lock")).unwrap();
    lock["packages"][agent].clone()
}

/// A repository with `agents/qa.md` tagged v1.0.0, v1.1.0 and v2.0.0.
fn tagged(t: &Test) -> Repo {
    let pack = Repo::init(t.path("pack"));
    for v in ["1.0.0", "1.1.0", "2.0.0"] {
        pack.write(
            "agents/qa.md",
            &agent("qa", None, &format!("You test ({v}).")),
        );
        pack.commit(v);
        pack.tag(&format!("v{v}"));
    }
    pack
}

fn manifest(git: &str, qa: &str) -> String {
    format!(
        "version: 1\nregistries:\n  pack: {{ git: \"{git}\" }}\nagents:\n  qa: {{ registry: pack{qa} }}\n"
    )
}

#[test]
fn a_git_registry_gives_the_newest_tag_allowed_and_mpm_update_moves_to_a_new_one() {
    let t = Test::new();
    let pack = tagged(&t);
    let ran = t
        .manifest(&manifest(&pack.url(), ", version: \"^1\""))
        .args(&["apply", "-y"])
        .stdout(
            "
            mpm will make these changes in `.claude`:

              + qa        1.1.0 (pack)     agents/qa.md

            Plan: 1 to add, 0 to change, 0 to destroy.
            Apply complete! Agents: 1 added, 0 changed, 0 destroyed.
            ",
        )
        .success();
    let v110 = agent("qa", None, "You test (1.1.0).");
    assert_eq!(ran.read(".claude/agents/qa.md"), v110);
    assert_eq!(
        pin(&ran, "qa"),
        json!({
            "registry": "pack",
            "source": format!("git {}", pack.url()),
            "name": "qa",
            "version": "1.1.0",
            "commit": pack.rev("v1.1.0"),
            "path": "agents/qa.md",
            "sha256": sha256(&v110),
        })
    );
    // a new release: the lock holds until `mpm update`
    pack.write("agents/qa.md", &agent("qa", None, "You test (1.2.0)."));
    pack.commit("1.2.0");
    pack.tag("v1.2.0");
    ran.then()
        .args(&["plan"])
        .stdout("No changes. The agents in `.claude` match `mpm.yaml`.\n")
        .success();
    ran.then()
        .args(&["update"])
        .stdout_verbatim("~ qa 1.1.0 → 1.2.0 (pack)\n")
        .stderr("Wrote `mpm.lock`.\n")
        .success();
    assert_eq!(pin(&ran, "qa")["commit"], pack.rev("v1.2.0"));
    ran.then()
        .args(&["apply", "-y"])
        .stdout(
            "
            mpm will make these changes in `.claude`:

              ~ qa        1.1.0 → 1.2.0 (pack) agents/qa.md

                --- agents/qa.md (on disk)
                +++ agents/qa.md (after apply)
                @@ -2,4 +2,4 @@
                 name: qa
                 description: Use for qa work
                 ---
                -You test (1.1.0).
                +You test (1.2.0).

            Plan: 0 to add, 1 to change, 0 to destroy.
            Apply complete! Agents: 0 added, 1 changed, 0 destroyed.
            ",
        )
        .success();
    ran.then()
        .args(&["update"])
        .stderr("`mpm.lock` is up to date: 1 agent from registries pinned.\n")
        .success();
}

#[test]
fn a_pinned_commit_is_read_from_the_clone_with_offline_and_the_remote_gone() {
    let t = Test::new();
    let pack = tagged(&t);
    let ran = t
        .manifest(&manifest(&pack.url(), ""))
        .args(&["lock"])
        .stdout_verbatim("+ qa 2.0.0 (pack)\n")
        .stderr("Wrote `mpm.lock`.\n")
        .success();
    std::fs::rename(ran.path("pack"), ran.path("pack-gone")).unwrap();
    ran.then()
        .args(&["apply", "-y", "--offline"])
        .stdout(
            "
            mpm will make these changes in `.claude`:

              + qa        2.0.0 (pack)     agents/qa.md

            Plan: 1 to add, 0 to change, 0 to destroy.
            Apply complete! Agents: 1 added, 0 changed, 0 destroyed.
            ",
        )
        .success();
    // without `--offline` too: the clone holds the pinned commit, so nothing is fetched
    ran.then()
        .args(&["plan"])
        .stdout("No changes. The agents in `.claude` match `mpm.yaml`.\n")
        .success();
    // a cache with no clone of it
    std::fs::create_dir_all(ran.path("empty-cache")).unwrap();
    ran.then()
        .env("XDG_CACHE_HOME", &ran.path("empty-cache").display().to_string())
        .args(&["plan", "--offline"])
        .stderr(
            "
            error: agent `qa`: mpm's cache holds no clone of it, and `--offline` forbids fetching `file://[TMP]/pack`
            hint: run once without `--offline` to fetch it
            ",
        )
        .failure();
    ran.then()
        .env("XDG_CACHE_HOME", &ran.path("empty-cache").display().to_string())
        .args(&["plan"])
        .stderr_has("error: cannot fetch `file://[TMP]/pack`: ")
        .stderr_has("hint: check the URL and the network; `--offline` uses what mpm.lock and mpm's clone hold\n")
        .failure();
}

#[test]
fn a_tampered_pin_is_refused_with_both_hashes_and_nothing_is_written() {
    let t = Test::new();
    let pack = tagged(&t);
    let ran = t
        .manifest(&manifest(&pack.url(), ""))
        .args(&["lock"])
        .stdout_verbatim("+ qa 2.0.0 (pack)\n")
        .stderr("Wrote `mpm.lock`.\n")
        .success();
    let real = sha256(&agent("qa", None, "You test (2.0.0)."));
    let forged = "0".repeat(64);
    let lock = ran.read("mpm.lock").replace(&real, &forged);
    std::fs::write(ran.path("mpm.lock"), lock).unwrap();
    let short = &pack.rev("v2.0.0")[..12];
    ran.then()
        .args(&["apply", "-y"])
        .stderr(&format!(
            "
            error: agent `qa`: the bytes of `agents/qa.md @ {short} in file://[TMP]/pack` have SHA-256 {real}, but mpm.lock gives {forged}
            hint: nothing was written. Either mpm.lock was edited (`git diff mpm.lock`; restore it), or the registry now serves other bytes for the version it pins (ask its maintainers why); to take what it serves now, `mpm update qa`
            "
        ))
        .failure();
}

#[test]
fn a_ref_the_repository_does_not_have_is_named_once() {
    let t = Test::new();
    let pack = tagged(&t);
    t.manifest(
        "
        version: 1
        registries:
          pack: { git: ./pack, ref: mian }
        agents:
          qa: { registry: pack }
          lint: { registry: pack }
        ",
    )
    .args(&["plan"])
    .stderr(
        "
        error: registry `pack`: the git repository `[TMP]/pack` has no branch, tag or commit `mian`
        hint: did you mean `main`?
        ",
    )
    .failure();
    drop(pack);
}

#[test]
fn a_ref_is_the_only_revision_read_and_a_branch_moves_only_with_mpm_update() {
    let t = Test::new();
    let pack = tagged(&t);
    let ran = t
        .manifest(
            "
            version: 1
            registries:
              pack: { git: ./pack, ref: main }
            agents:
              qa: { registry: pack }
            ",
        )
        .args(&["lock"])
        .stdout_verbatim("+ qa 2.0.0 (pack)\n")
        .stderr("Wrote `mpm.lock`.\n")
        .success();
    // a commit on the branch with no tag and no version of its own: the commit is its version
    pack.write("agents/qa.md", &agent("qa", None, "You test (main)."));
    let head = pack.commit("main");
    ran.then()
        .args(&["lock"])
        .stderr("`mpm.lock` is up to date: 1 agent from registries pinned.\n")
        .success();
    ran.then()
        .args(&["update", "qa"])
        .stdout_verbatim(&format!("~ qa 2.0.0 → {} (pack)\n", &head[..12]))
        .stderr("Wrote `mpm.lock`.\n")
        .success();
    assert_eq!(pin(&ran, "qa")["commit"], head);
    assert_eq!(pin(&ran, "qa")["source"], "git ./pack @ main");
}

#[test]
fn with_no_tags_the_files_own_versions_are_the_versions() {
    let t = Test::new();
    let pack = Repo::init(t.path("pack"));
    pack.write(
        "templates/data_engineer.json",
        &serde_json::to_string_pretty(&json!({
            "schema_version": "1.3.0",
            "agent_id": "data-engineer-agent",
            "agent_version": "2.3.0",
            "agent_type": "engineer",
            "metadata": {"name": "data_engineer", "description": "Use for data work", "color": "blue"},
            "capabilities": {"model": "sonnet", "tools": ["Read", "Grep"]},
            "instructions": "You move data.",
        }))
        .unwrap(),
    )
    .write("agents/notes.md", &agent("notes", Some("1.4.0"), "You take notes."))
    .write("agents/scratch.md", &agent("scratch", None, "You scribble."))
    .write("README.md", "# Agents\n");
    let head = pack.commit("agents");
    let ran = t
        .manifest(
            "
            version: 1
            registries:
              pack: { git: ./pack }
            agents:
              data-engineer: { registry: pack, version: \"^2\", model: opus }
              notes: { registry: pack, version: \"~1.4\" }
              scratch: { registry: pack }
            ",
        )
        .args(&["apply", "-y"])
        .stdout(&format!(
            "
            mpm will make these changes in `.claude`:

              + data-engineer  2.3.0 (pack)        agents/data-engineer.md
              + notes          1.4.0 (pack)        agents/notes.md
              + scratch        {} (pack) agents/scratch.md

            Plan: 3 to add, 0 to change, 0 to destroy.
            Apply complete! Agents: 3 added, 0 changed, 0 destroyed.
            ",
            &head[..12]
        ))
        .success();
    // a template from a registry is rendered, with the manifest's overrides
    assert!(
        ran.read(".claude/agents/data-engineer.md")
            .contains("model: opus\n")
    );
    assert_eq!(
        pin(&ran, "data-engineer")["path"],
        "templates/data_engineer.json"
    );
    ran.then()
        .manifest(
            "
            version: 1
            registries:
              pack: { git: ./pack }
            agents:
              scratch: { registry: pack, version: \"^1\" }
              note: { registry: pack }
            ",
        )
        .args(&["plan"])
        .stderr(&format!(
            "
            error: registry `pack` (git ./pack) has no agent `note`
            hint: did you mean `notes`? (`agent:` names the agent in the registry when it differs)

            error: agent `scratch`: registry `pack` has no version of `scratch` that `^1` allows (it has {}, a commit: the file declares no version, and no `vX.Y.Z` tag is on it)
            hint: widen the agent's `version:` requirement, or remove it to take the newest

            error: 2 problems; nothing was changed
            ",
            &head[..12]
        ))
        .failure();
}

/// A marketplace folder at `vendor/acme`: `review-tools` (plugin.json 1.2.0,
/// entry 0.9.0) and `qa-kit` (entry 1.4.0) both have a `reviewer`; `qa-kit`'s
/// `runner` has no `name`.
pub fn marketplace(t: &Test) {
    let root = t.path("vendor/acme");
    let write = |rel: &str, text: &str| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write(
        ".claude-plugin/marketplace.json",
        r#"{
  "name": "acme-tools",
  "owner": {"name": "Acme"},
  "plugins": [
    {"name": "review-tools", "source": "./plugins/review-tools", "version": "0.9.0"},
    {"name": "qa-kit", "source": "./plugins/qa-kit", "version": "1.4.0"},
    {"name": "remote", "source": {"source": "github", "repo": "acme/remote"}}
  ]
}
"#,
    );
    write(
        "plugins/review-tools/.claude-plugin/plugin.json",
        r#"{"name": "review-tools", "version": "1.2.0"}"#,
    );
    write(
        "plugins/review-tools/agents/reviewer.md",
        "---\nname: reviewer\ndescription: Reviews code\ntools: Read, Grep\n---\nYou review code.\n",
    );
    write(
        "plugins/qa-kit/agents/reviewer.md",
        "---\nname: reviewer\ndescription: Reviews tests\n---\nYou review tests.\n",
    );
    write(
        "plugins/qa-kit/agents/runner.md",
        "---\ndescription: Runs tests\n---\nYou run tests.\n",
    );
}

#[test]
fn a_marketplace_folder_offers_its_plugins_agents_by_name() {
    let t = Test::new();
    marketplace(&t);
    let ran = t
        .manifest(
            "
            version: 1
            registries:
              acme: { marketplace: ./vendor/acme }
            agents:
              reviewer: { registry: acme }
            ",
        )
        .args(&["plan"])
        .stderr(
            "
            error: agent `reviewer`: marketplace `acme` has an agent `reviewer` in 2 plugins: `review-tools`, `qa-kit`
            hint: say which with `plugin:`, like `plugin: review-tools`
            ",
        )
        .failure();
    let ran = ran
        .then()
        .manifest(
            "
            version: 1
            registries:
              acme: { marketplace: ./vendor/acme }
            agents:
              reviewer: { registry: acme, plugin: review-tools, version: \"^1.2\" }
            ",
        )
        .args(&["apply", "-y"])
        .stdout(
            "
            mpm will make these changes in `.claude`:

              + reviewer  1.2.0 (acme)     agents/reviewer.md

            Plan: 1 to add, 0 to change, 0 to destroy.
            Apply complete! Agents: 1 added, 0 changed, 0 destroyed.
            ",
        )
        .success();
    let file = "---\nname: reviewer\ndescription: Reviews code\ntools: Read, Grep\n---\nYou review code.\n";
    assert_eq!(ran.read(".claude/agents/reviewer.md"), file);
    assert_eq!(
        pin(&ran, "reviewer"),
        json!({
            "registry": "acme",
            "source": "marketplace ./vendor/acme",
            "name": "reviewer",
            "plugin": "review-tools",
            "version": "1.2.0",
            "path": "plugins/review-tools/agents/reviewer.md",
            "sha256": sha256(file),
        })
    );
    // the vendored copy edited in place: refused until `mpm update`
    let edited = file.replace("code.\n", "all code.\n");
    std::fs::write(
        ran.path("vendor/acme/plugins/review-tools/agents/reviewer.md"),
        &edited,
    )
    .unwrap();
    ran.then()
        .args(&["plan"])
        .stderr(&format!(
            "
            error: agent `reviewer`: the bytes of `[TMP]/vendor/acme/plugins/review-tools/agents/reviewer.md` have SHA-256 {}, but mpm.lock gives {}
            hint: nothing was written. Either mpm.lock was edited (`git diff mpm.lock`; restore it), or the registry now serves other bytes for the version it pins (ask its maintainers why); to take what it serves now, `mpm update reviewer`
            ",
            sha256(&edited),
            sha256(file)
        ))
        .failure();
    ran.then()
        .args(&["update", "reviewer"])
        .stdout_verbatim("~ reviewer 1.2.0 (new bytes) (acme)\n")
        .stderr("Wrote `mpm.lock`.\n")
        .success();
}

#[test]
fn a_marketplace_names_what_it_cannot_deploy() {
    let t = Test::new();
    marketplace(&t);
    t.manifest(
        "
        version: 1
        registries:
          acme: { marketplace: ./vendor/acme }
        agents:
          runner: { registry: acme }
          remote: { registry: acme, plugin: remote }
          checker: { registry: acme, plugin: revew-tools }
          old: { registry: acme, plugin: qa-kit, agent: reviewer, version: \"^2\" }
        ",
    )
    .args(&["plan"])
    .stderr(
        "
        error: agent `checker`: marketplace `acme` has no plugin `revew-tools`
        hint: did you mean `review-tools`?

        error: agent `old`: registry `acme` has no version of `reviewer` that `^2` allows (it has 1.4.0)
        hint: widen the agent's `version:` requirement, or remove it to take the newest

        error: agent `remote`: plugin `remote` of marketplace `acme` comes from a `github` source, which this mpm cannot read yet
        hint: mpm reads plugins whose `source` is a folder of the marketplace (`\"./plugins/name\"`); install this one with `claude plugin install`

        error: agent `runner`: `[TMP]/vendor/acme/plugins/qa-kit/agents/runner.md` cannot be deployed as an agent file: `name` is missing: Claude Code would skip the file silently
        hint: Claude Code loads it inside its plugin only: install the plugin there (`claude plugin install qa-kit@acme-tools`), or ask its maintainers to make it a complete agent file

        error: 4 problems; nothing was changed
        ",
    )
    .failure();
}

#[test]
fn a_marketplace_in_a_git_repository_is_read_at_its_commit() {
    let t = Test::new();
    marketplace(&t);
    let repo = Repo {
        path: t.path("vendor/acme"),
    };
    git(&repo.path, &["init", "-q", "-b", "main"]);
    let head = repo.commit("marketplace");
    let ran = t
        .manifest(&format!(
            "
            version: 1
            registries:
              acme: {{ marketplace: \"{}\" }}
            agents:
              reviewer: {{ registry: acme, plugin: qa-kit }}
            ",
            repo.url()
        ))
        .args(&["lock"])
        .stdout_verbatim("+ reviewer 1.4.0 (acme)\n")
        .stderr("Wrote `mpm.lock`.\n")
        .success();
    assert_eq!(pin(&ran, "reviewer")["commit"], head);
    assert_eq!(
        pin(&ran, "reviewer")["path"],
        "plugins/qa-kit/agents/reviewer.md"
    );
    ran.then()
        .args(&["apply", "-y", "--offline"])
        .stdout(
            "
            mpm will make these changes in `.claude`:

              + reviewer  1.4.0 (acme)     agents/reviewer.md

            Plan: 1 to add, 0 to change, 0 to destroy.
            Apply complete! Agents: 1 added, 0 changed, 0 destroyed.
            ",
        )
        .success();
}

/// A git server on 127.0.0.1 speaking git's smart HTTP protocol: each request is
/// handed to `git http-backend` (a CGI program), as a web server would. It serves
/// the repositories under `root` until dropped.
struct GitHttp {
    port: u16,
    serving: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl GitHttp {
    fn start(root: PathBuf) -> GitHttp {
        use std::sync::atomic::{AtomicBool, Ordering};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let serving = std::sync::Arc::new(AtomicBool::new(true));
        let flag = serving.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if !flag.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let root = root.clone();
                std::thread::spawn(move || {
                    let _ = serve(stream, &root);
                });
            }
        });
        GitHttp { port, serving }
    }

    fn url(&self, repo: &str) -> String {
        format!("http://127.0.0.1:{}/{repo}", self.port)
    }
}

impl Drop for GitHttp {
    fn drop(&mut self) {
        self.serving
            .store(false, std::sync::atomic::Ordering::SeqCst);
        // wakes the accepting thread, which then stops
        let _ = std::net::TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// One request: read, run through `git http-backend`, answered, closed.
fn serve(mut stream: std::net::TcpStream, root: &Path) -> std::io::Result<()> {
    use std::io::{BufRead, BufReader, Read, Write};
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut parts = request_line.split_whitespace();
    let (method, target) = (
        parts.next().unwrap_or_default().to_string(),
        parts.next().unwrap_or_default().to_string(),
    );
    let mut headers = std::collections::BTreeMap::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let mut body = Vec::new();
    if let Some(n) = headers.get("content-length") {
        body.resize(n.parse().unwrap_or(0), 0);
        reader.read_exact(&mut body)?;
    } else if headers
        .get("transfer-encoding")
        .is_some_and(|t| t == "chunked")
    {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size)?;
            let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk)?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    }
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let mut cgi = Command::new("git");
    cgi.arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("REQUEST_METHOD", &method)
        .env("PATH_INFO", path)
        .env("QUERY_STRING", query)
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    for (header, var) in [
        ("content-type", "CONTENT_TYPE"),
        ("git-protocol", "GIT_PROTOCOL"),
        ("content-encoding", "HTTP_CONTENT_ENCODING"),
    ] {
        if let Some(v) = headers.get(header) {
            cgi.env(var, v);
        }
    }
    let mut child = cgi.spawn()?;
    let mut stdin = child.stdin.take().expect("piped");
    let feeder = std::thread::spawn(move || stdin.write_all(&body));
    let out = child.wait_with_output()?;
    let _ = feeder.join();
    // the CGI answer: headers (one may be `Status:`), a blank line, the body
    let split = out
        .stdout
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4))
        .or_else(|| {
            out.stdout
                .windows(2)
                .position(|w| w == b"\n\n")
                .map(|i| (i, 2))
        });
    let (head, body) = match split {
        Some((i, n)) => (&out.stdout[..i], &out.stdout[i + n..]),
        None => (&out.stdout[..], &[][..]),
    };
    let head = String::from_utf8_lossy(head);
    let mut status = "200 OK".to_string();
    let mut response = Vec::new();
    for line in head.lines() {
        match line.split_once(':') {
            Some((k, v)) if k.eq_ignore_ascii_case("status") => status = v.trim().to_string(),
            Some(_) => response.extend_from_slice(format!("{line}\r\n").as_bytes()),
            None => {}
        }
    }
    let mut answer = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    )
    .into_bytes();
    answer.extend_from_slice(&response);
    answer.extend_from_slice(b"\r\n");
    answer.extend_from_slice(body);
    stream.write_all(&answer)?;
    stream.flush()
}

#[test]
fn a_git_registry_over_http_is_cloned_and_its_pins_read_with_the_server_gone() {
    let t = Test::new();
    let pack = tagged(&t);
    let server = GitHttp::start(t.path(""));
    let url = server.url("pack");
    let ran = t
        .manifest(&manifest(&url, ", version: \"~1.0\""))
        .args(&["lock"])
        .stdout_verbatim("+ qa 1.0.0 (pack)\n")
        .stderr("Wrote `mpm.lock`.\n")
        .success();
    assert_eq!(pin(&ran, "qa")["commit"], pack.rev("v1.0.0"));
    ran.then()
        .manifest(&manifest(&url, ", version: \"^2\""))
        .args(&["lock"])
        .stdout_verbatim("~ qa 1.0.0 → 2.0.0 (pack)\n")
        .stderr("Wrote `mpm.lock`.\n")
        .success();
    drop(server);
    ran.then()
        .args(&["apply", "-y"])
        .stdout(
            "
            mpm will make these changes in `.claude`:

              + qa        2.0.0 (pack)     agents/qa.md

            Plan: 1 to add, 0 to change, 0 to destroy.
            Apply complete! Agents: 1 added, 0 changed, 0 destroyed.
            ",
        )
        .success();
    ran.then()
        .args(&["update"])
        .stderr_has(&format!("error: cannot fetch `{url}`: "))
        .stderr_has("hint: check the URL and the network")
        .failure();
}
