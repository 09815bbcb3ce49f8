//! `mpm version bump|check|set` and `mpm changelog`, on real git repositories made
//! here with the `git` command line: every commit form of Conventional Commits,
//! merges, reverts, whitespace-only changes, shallow and detached clones, tags.

use crate::harness::{Test, assert_same_tree, tree};
use crate::registry_git::{git, git_on};
use std::cell::Cell;
use std::path::PathBuf;

const AGENTS: &str = "
    version: 1
    agents:
      qa:
        template: templates/qa.json
      eng:
        template: templates/eng.json
      notes:
        file: agents/notes.md
      helper:
        description: Helps
        prompt: Help.
    ";

const NOTES: &str = "---\nname: notes\ndescription: Takes notes\nversion: 0.3.1 # the notes agent\n---\nTake notes.\n";

/// A repository in a test's directory, committing one day after another.
struct Repo {
    dir: PathBuf,
    day: Cell<u32>,
}

impl Repo {
    /// `git init` of everything the test wrote, committed as `message`.
    fn init(t: &Test, message: &str) -> Repo {
        let dir = t.path("");
        std::fs::write(dir.join(".gitignore"), "/home/\n/.claude/\n").unwrap();
        git(&dir, &["init", "-q", "-b", "main"]);
        git(&dir, &["config", "user.name", "Release Bot"]);
        git(&dir, &["config", "user.email", "bot@example.com"]);
        let repo = Repo {
            dir,
            day: Cell::new(1),
        };
        repo.commit(message);
        repo
    }

    fn date(&self) -> String {
        format!("2026-11-{:02}T12:00:00Z", self.day.get())
    }

    fn git(&self, args: &[&str]) -> String {
        git_on(&self.dir, &self.date(), args)
    }

    /// Commits everything as `message`, the next day.
    fn commit(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.day.set(self.day.get() + 1);
    }

    /// Replaces `from` by `to` in a file.
    fn edit(&self, path: &str, from: &str, to: &str) -> &Repo {
        let p = self.dir.join(path);
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains(from), "{path} has no {from:?}");
        std::fs::write(&p, text.replacen(from, to, 1)).unwrap();
        self
    }

    fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.dir.join(path)).unwrap()
    }
}

fn agents() -> (Test, Repo) {
    let t = Test::new()
        .template("qa", "3.5.2", "Test things.")
        .template("eng", "1.0.0", "Build things.")
        .write("agents/notes.md", NOTES)
        .manifest(AGENTS);
    let repo = Repo::init(&t, "chore: the agents");
    (t, repo)
}

/// Every form of the spec, one after another: a scoped feat; `fix(scope)!:`; a
/// `perf:`; a `BREAKING CHANGE:` footer after a body, on a `docs:` commit; one
/// commit touching two agents; a `docs:` that bumps nothing; a branch merged with
/// a merge commit (the branch's `feat` counts, the merge itself does not); a
/// commit and its revert (neither counts); a message that is no Conventional
/// Commit (listed, no bump).
fn every_form() -> (Test, Repo) {
    let (t, r) = agents();
    r.edit("templates/qa.json", "Test things.", "Test the edges.");
    r.commit("feat(qa): test the edges");
    r.edit("templates/eng.json", "Build things.", "Build things fast.");
    r.commit("fix(eng)!: drop the old build flag");
    r.edit("agents/notes.md", "Take notes.", "Take short notes.");
    r.commit("perf: shorter notes");
    r.edit("templates/qa.json", "the edges", "the edges and corners");
    r.commit("docs: explain the qa agent\n\nA longer body,\nover two lines.\n\nBREAKING CHANGE: the qa agent no longer lints");
    r.edit("templates/qa.json", "corners", "corners.").edit(
        "templates/eng.json",
        "fast.",
        "fast..",
    );
    r.commit("fix: a typo in two agents");
    r.edit("templates/qa.json", "corners..", "corners!");
    r.commit("docs(qa): wording");
    r.git(&["checkout", "-q", "-b", "topic"]);
    r.edit("templates/eng.json", "fast..", "fast, and test.");
    r.commit("feat(eng): test what it builds");
    r.git(&["checkout", "-q", "main"]);
    r.git(&[
        "merge",
        "-q",
        "--no-ff",
        "-m",
        "Merge branch 'topic'",
        "topic",
    ]);
    r.day.set(r.day.get() + 1);
    r.edit("agents/notes.md", "short notes.", "short notes in tables.");
    r.commit("feat(notes): tables");
    r.git(&["revert", "--no-edit", "HEAD"]);
    r.day.set(r.day.get() + 1);
    r.edit("templates/eng.json", "and test.", "and test it.");
    r.commit("Update eng");
    (t, r)
}

#[test]
fn every_commit_form_gives_its_bump() {
    let (t, _r) = every_form();
    let before = tree(&t.path(""));
    let ran = t
        .args(&["version", "bump", "--dry-run"])
        .stdout(
            "
            agent  file                commits                                        version
            eng    templates/eng.json  1 breaking, 1 feat, 1 fix, 1 not conventional  1.0.0 → 2.0.0
            notes  agents/notes.md     1 perf, 2 reverted                             0.3.1 → 0.3.2
            qa     templates/qa.json   1 breaking, 1 feat, 1 fix, 1 docs              3.5.2 → 4.0.0
            Dry run: nothing was written.
            ",
        )
        .stderr_has("warning: `eng`: 1 commit is not a Conventional Commit and counts as no bump: ")
        .success();
    assert_same_tree(&before, &ran.tree());
}

// The bump writes the three versions and nothing else: every other byte of each
// file is as it was (the frontmatter's comment included), and the next plan
// shows the transitions.
#[test]
fn a_bump_changes_only_the_version_bytes_and_the_plan_shows_it() {
    let (t, r) = every_form();
    let t = t.args(&["apply", "--yes"]).stdout_any().success().then();
    let qa = r.read("templates/qa.json");
    let eng = r.read("templates/eng.json");
    let t = t
        .args(&["version", "bump"])
        .stdout_has("Bumped 3 agents: `mpm plan` shows the new versions.\n")
        .stderr_any()
        .success()
        .then();
    assert_eq!(
        r.read("templates/qa.json"),
        qa.replace(
            "\"agent_version\": \"3.5.2\"",
            "\"agent_version\": \"4.0.0\""
        )
    );
    assert_eq!(
        r.read("templates/eng.json"),
        eng.replace(
            "\"agent_version\": \"1.0.0\"",
            "\"agent_version\": \"2.0.0\""
        )
    );
    assert_eq!(
        r.read("agents/notes.md"),
        NOTES
            .replace("Take notes.", "Take short notes.")
            .replace("0.3.1 #", "0.3.2 #")
    );
    let plan = t.args(&["plan"]).stdout_any().success();
    assert!(plan.stdout.contains("3.5.2 → 4.0.0"), "{}", plan.stdout);
    assert!(plan.stdout.contains("1.0.0 → 2.0.0"), "{}", plan.stdout);
    // bumped and not committed: a second bump changes nothing
    let again = plan
        .then()
        .args(&["version", "bump", "qa"])
        .stdout(
            "
            agent  file               commits                            version
            qa     templates/qa.json  1 breaking, 1 feat, 1 fix, 1 docs  4.0.0 (changed from 3.5.2, not committed)
            Nothing to bump.
            ",
        )
        .success();
    // committed, the release is the new start: nothing since
    r.commit("chore(release): bump the agents");
    again
        .then()
        .args(&["version", "bump", "qa"])
        .stdout(
            "
            agent  file               commits  version
            qa     templates/qa.json  none     4.0.0
            Nothing to bump.
            ",
        )
        .success();
}

// A template whose only change is whitespace (the same JSON value) bumps nothing.
#[test]
fn a_whitespace_only_change_bumps_nothing() {
    let (t, r) = agents();
    let qa = r.read("templates/qa.json");
    let compact: serde_json::Value = serde_json::from_str(&qa).unwrap();
    std::fs::write(r.dir.join("templates/qa.json"), compact.to_string()).unwrap();
    r.commit("fix: reformat the template");
    t.args(&["version", "bump", "qa", "--dry-run"])
        .stdout(
            "
            agent  file               commits            version
            qa     templates/qa.json  1 whitespace only  3.5.2
            Nothing to bump.
            ",
        )
        .success();
}

#[test]
fn strict_refuses_a_commit_that_does_not_parse() {
    let (t, r) = agents();
    r.edit("templates/qa.json", "Test things.", "Test more.");
    r.commit("Update qa");
    t.args(&["version", "bump", "--strict"])
        .stderr_has("error: 1 commit is not Conventional Commits (`--strict`): ")
        .stderr_has("hint: reword them as `type(scope): description`")
        .failure();
}

#[test]
fn the_json_lists_each_commit_and_how_it_counts() {
    let (t, r) = agents();
    r.edit("templates/qa.json", "Test things.", "Test more.");
    r.commit("feat(qa)!: test more");
    let ran = t
        .args(&["version", "bump", "qa", "--json", "--dry-run"])
        .stdout_any()
        .success();
    let doc: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    let v = &doc["versions"][0];
    assert_eq!(v["name"], "qa");
    assert_eq!(v["current"], "3.5.2");
    assert_eq!(v["next"], "4.0.0");
    assert_eq!(v["bump"], "major");
    assert_eq!(v["commits"][0]["type"], "feat");
    assert_eq!(v["commits"][0]["scope"], "qa");
    assert_eq!(v["commits"][0]["breaking"], true);
    assert_eq!(v["commits"][0]["counts_as"], "major");
    assert_eq!(v["commits"][0]["summary"], "feat(qa)!: test more");
}

// A shallow clone cut above the last version change is a clear error, never a
// guess; a detached HEAD bumps as of that commit.
#[test]
fn a_shallow_clone_is_refused_and_a_detached_head_works() {
    let (t, r) = agents();
    r.edit("templates/qa.json", "Test things.", "Test more.");
    r.commit("feat: test more");
    let url = format!("file://{}", r.dir.display());
    git(
        &t.path("home"),
        &["clone", "-q", "--depth", "1", &url, "shallow"],
    );
    let t = t
        .current_dir("home/shallow")
        .args(&["version", "bump", "qa"])
        .stderr(
            "
            error: the history of `templates/qa.json` is cut by a shallow clone before its version last changed
            hint: fetch the whole history (`git fetch --unshallow`; in GitHub Actions `fetch-depth: 0`)
            ",
        )
        .failure()
        .then();

    r.edit("templates/qa.json", "Test more.", "Test most.");
    r.commit("fix: test most");
    r.git(&["checkout", "-q", "--detach", "HEAD~1"]);
    t.args(&["version", "bump", "qa", "--dry-run"])
        .stdout(
            "
            agent  file               commits  version
            qa     templates/qa.json  1 feat   3.5.2 → 3.6.0
            Dry run: nothing was written.
            ",
        )
        .success();
}

#[test]
fn outside_git_and_unknown_agents_are_errors() {
    let t = Test::new()
        .template("qa", "3.5.2", "Test things.")
        .manifest("version: 1\nagents:\n  qa:\n    template: templates/qa.json\n");
    let t = t
        .args(&["version", "bump", "qa"])
        .stderr_has("is not in a git repository\n")
        .stderr_has("hint: versions come from git history")
        .failure()
        .then();
    t.args(&["version", "bump", "q"])
        .stderr_has("error: `q` is not an agent of `mpm.yaml`\nhint: did you mean `qa`?\n")
        .failure();
}

// Pre-1.0: a breaking change moves the minor version, a feature the patch.
#[test]
fn below_one_a_breaking_change_bumps_the_minor() {
    let (t, r) = agents();
    r.edit("agents/notes.md", "Take notes.", "Take notes in lists.");
    r.commit("feat!: lists");
    t.args(&["version", "bump", "notes", "--dry-run"])
        .stdout(
            "
            agent  file             commits     version
            notes  agents/notes.md  1 breaking  0.3.1 → 0.4.0
            Dry run: nothing was written.
            ",
        )
        .success();
}

const PACK: &str = "
    version: 1
    agents:
      qa:
        template: templates/qa.json
    release:
      files:
        - VERSION
        - package.json
        - { path: chart.yaml, regex: \"^version: (.*)$\" }
    ";

fn pack(version: &str) -> (Test, Repo) {
    let t = Test::new()
        .template("qa", "3.5.2", "Test things.")
        .write("VERSION", &format!("{version}\n"))
        .write(
            "package.json",
            &format!("{{\n  \"name\": \"agents\",\n  \"version\": \"{version}\",\n  \"private\": true\n}}\n"),
        )
        .write("chart.yaml", &format!("name: agents\nversion: {version}\n"))
        .manifest(PACK);
    let repo = Repo::init(&t, "chore: the pack");
    (t, repo)
}

#[test]
fn check_finds_a_file_that_disagrees() {
    let (t, r) = pack("1.2.0");
    r.git(&["tag", "-a", "v1.2.0", "-m", "Release 1.2.0"]);
    r.edit("chart.yaml", "1.2.0", "1.1.0");
    r.commit("chore: an old chart");
    t.args(&["version", "check"])
        .stdout(
            "
            file          version
            VERSION       1.2.0
            package.json  1.2.0
            chart.yaml    1.1.0
            tag v1.2.0    1.2.0
            ",
        )
        .stderr_has("error: the pack's versions disagree\n")
        .failure();
}

// `set` writes every file; `--tag` refuses until HEAD carries it; once committed,
// the annotated tag is made and `check` agrees.
#[test]
fn set_then_commit_then_tag() {
    let (t, r) = pack("1.2.0");
    let package = r.read("package.json");
    let t = t
        .args(&["version", "set", "1.3.0"])
        .stdout("VERSION: 1.3.0\npackage.json: 1.3.0\nchart.yaml: 1.3.0\n")
        .success()
        .then();
    assert_eq!(r.read("VERSION"), "1.3.0\n");
    assert_eq!(r.read("package.json"), package.replace("1.2.0", "1.3.0"));
    assert_eq!(r.read("chart.yaml"), "name: agents\nversion: 1.3.0\n");
    let t = t
        .args(&["version", "set", "1.3.0", "--tag"])
        .stderr_has("at HEAD: `--tag` tags HEAD, which must carry the version\n")
        .failure()
        .then();
    r.commit("chore(release): 1.3.0");
    let t = t
        .args(&["version", "set", "1.3.0", "--tag"])
        .stdout_has("`v1.3.0` (annotated; not pushed: `git push origin v1.3.0`)\n")
        .success()
        .then();
    assert_eq!(r.git(&["cat-file", "-t", "v1.3.0"]), "tag");
    assert_eq!(
        r.git(&["rev-parse", "v1.3.0^{commit}"]),
        r.git(&["rev-parse", "HEAD"])
    );
    let t = t
        .args(&["version", "check"])
        .stdout_has("tag v1.3.0    1.3.0\n")
        .success()
        .then();
    t.args(&["version", "set", "not-a-version"])
        .stderr_has("error: `not-a-version` is not a semantic version")
        .failure();
}

// The pack's bump counts every commit under the manifest's directory since the
// version files last changed.
#[test]
fn the_pack_bumps_from_its_commits() {
    let (t, r) = pack("1.2.0");
    r.edit("templates/qa.json", "Test things.", "Test more.");
    r.commit("feat(qa): test more");
    let t = t
        .args(&["version", "bump", "--pack"])
        .stdout(
            "
            pack  file     commits  version
            pack  VERSION  1 feat   1.2.0 → 1.3.0
            Wrote 3 version files.
            ",
        )
        .success()
        .then();
    assert_eq!(r.read("chart.yaml"), "name: agents\nversion: 1.3.0\n");
    let t = t
        .args(&["version", "bump", "--pack", "--tag"])
        .stderr_has("commit the version files first")
        .failure()
        .then();
    r.commit("chore(release): 1.3.0");
    t.args(&["version", "bump", "--pack", "--tag"])
        .stdout_has("`v1.3.0` (annotated")
        .success();
}

// The changelogs: Keep a Changelog, newest first, a second run changes nothing,
// and a hand-edited released section is kept.
#[test]
fn the_changelog_is_written_once_and_kept() {
    let (t, r) = agents();
    r.edit("templates/qa.json", "Test things.", "Test more.");
    r.commit("feat(qa): test more");
    r.edit("templates/qa.json", "3.5.2", "3.6.0");
    r.commit("chore(release): qa 3.6.0");
    r.edit("templates/qa.json", "Test more.", "Test most.");
    r.commit("fix: test most\n\nRefs: #12");
    let ran = t
        .args(&["changelog", "qa"])
        .stdout("Wrote `changelogs/qa.md`.\n")
        .success();
    let expected = "# Changelog of qa

All notable changes to this project will be documented in this file.

The format is based on [Keep a Changelog](https://keepachangelog.com/en/1.1.0/),
and this project adheres to [Semantic Versioning](https://semver.org/spec/v2.0.0.html).

## [Unreleased]

### Fixed

- test most (SHORT3)

## [3.6.0] - 2026-11-03

### Added

- **qa:** test more (SHORT2)

## [3.5.2] - 2026-11-01
";
    let text = ran.read("changelogs/qa.md");
    let short = |rev: &str| r.git(&["rev-parse", "--short=7", rev]);
    let expected = expected
        .replace("SHORT3", &short("HEAD"))
        .replace("SHORT2", &short("HEAD~2"));
    assert_eq!(text, expected);
    let before = tree(&r.dir);
    let ran = ran
        .then()
        .args(&["changelog", "qa"])
        .stdout("The changelogs are up to date.\n")
        .success();
    assert_same_tree(&before, &ran.tree());
    // a hand edit of a released section stays
    let edited = text.replace("- **qa:** test more", "- **qa:** tests more cases");
    std::fs::write(r.dir.join("changelogs/qa.md"), &edited).unwrap();
    ran.then()
        .args(&["changelog", "qa"])
        .stdout("The changelogs are up to date.\n")
        .success();
    assert_eq!(r.read("changelogs/qa.md"), edited);
}

// One file that cannot be replaced fails the command and leaves every file as it
// was (`.failure()` compares the whole tree): the first file, already replaced,
// gets its old bytes back.
#[test]
fn a_write_that_fails_halfway_changes_nothing() {
    let (t, _r) = pack("1.2.0");
    t.env("MPM_FAULT", "rename:2")
        .args(&["version", "set", "1.3.0"])
        .stderr_has("error: ")
        .failure();
}

// Cargo.toml, pyproject.toml and a JSON pointer: each keeps its format, and a
// dependency's `version` is left alone.
#[test]
fn cargo_pyproject_and_a_json_pointer_are_written_in_place() {
    let cargo = "[package]\nname = \"agents\"  # the pack\nversion = \"0.4.0\"\n\n[dependencies]\nserde = { version = \"1\" }\n";
    let pyproject = "[tool.poetry]\nname = 'agents'\nversion = '0.4.0'\n";
    let meta =
        "{\"pack\": {\"version\": \"0.4.0\", \"name\": \"agents\"},\n \"version\": \"9.9.9\"}\n";
    let t = Test::new()
        .write("Cargo.toml", cargo)
        .write("pyproject.toml", pyproject)
        .write("meta.json", meta)
        .manifest(
            "
            version: 1
            release:
              files: [Cargo.toml, pyproject.toml, { path: meta.json, pointer: /pack/version }]
            ",
        );
    let ran = t
        .args(&["version", "set", "0.5.0"])
        .stdout("Cargo.toml: 0.5.0\npyproject.toml: 0.5.0\nmeta.json: 0.5.0\n")
        .success();
    assert_eq!(
        ran.read("Cargo.toml"),
        cargo.replace("\"0.4.0\"", "\"0.5.0\"")
    );
    assert_eq!(
        ran.read("pyproject.toml"),
        pyproject.replace("0.4.0", "0.5.0")
    );
    assert_eq!(ran.read("meta.json"), meta.replace("0.4.0", "0.5.0"));
    ran.then()
        .args(&["version", "check"])
        .stdout(
            "
            file            version
            Cargo.toml      0.5.0
            pyproject.toml  0.5.0
            meta.json       0.5.0
            tag             none
            ",
        )
        .success();
}

// A version file that is a symbolic link is refused: mpm never writes through one.
#[test]
fn a_version_file_that_is_a_link_is_refused() {
    let t = Test::new()
        .write("real/VERSION", "1.0.0\n")
        .manifest("version: 1\nrelease:\n  files: [VERSION]\n");
    std::os::unix::fs::symlink("real/VERSION", t.path("VERSION")).unwrap();
    t.args(&["version", "set", "1.1.0"])
        .stderr(
            "
            error: `VERSION` is a symbolic link
            hint: mpm writes versions and changelogs only into regular files: point the manifest at the file itself
            ",
        )
        .failure();
}

// The pack's changelog: its releases are its tags; a version written in the
// version files and not tagged yet is the newest release, dated today; a breaking
// change is under Changed with its footer's note.
#[test]
fn the_pack_changelog_follows_the_tags() {
    let (t, r) = pack("1.2.0");
    r.git(&["tag", "-a", "v1.2.0", "-m", "Release 1.2.0"]);
    r.edit("templates/qa.json", "Test things.", "Test more.");
    r.commit("feat(qa)!: test more\n\nBREAKING CHANGE: qa needs a config");
    r.edit("templates/qa.json", "Test more.", "Test more!");
    r.commit("fix: a typo");
    std::fs::write(r.dir.join("README.md"), "The pack.\n").unwrap();
    r.commit("docs: nothing notable");
    let t = t
        .args(&["version", "bump", "--pack"])
        .stdout_has("pack  VERSION  1 breaking, 1 fix, 1 docs  1.2.0 → 2.0.0\n")
        .success()
        .then();
    let ran = t
        .args(&["changelog"])
        .stdout("Wrote `CHANGELOG.md`, `changelogs/qa.md`.\n")
        .success();
    let short = |rev: &str| r.git(&["rev-parse", "--short=7", rev]);
    let text = ran.read("CHANGELOG.md");
    // not tagged yet: dated today, by mpm's clock
    let (_, after) = text
        .split_once("## [Unreleased]\n\n## [2.0.0] - ")
        .expect(&text);
    assert_eq!(after.as_bytes()[10], b'\n', "{text}");
    assert!(
        text.contains(&format!(
            "### Changed\n\n- **BREAKING:** **qa:** test more — qa needs a config ({})\n\n### Fixed\n\n- a typo ({})\n\n## [1.2.0] - 2026-11-01\n",
            short("HEAD~2"),
            short("HEAD~1")
        )),
        "{text}"
    );
    assert!(!text.contains("nothing notable"), "{text}");
}

// A file named twice (a chart's `version` and `appVersion`) gets both edits.
#[test]
fn a_file_named_twice_gets_both_versions() {
    let t = Test::new()
        .write(
            "chart.yaml",
            "apiVersion: v2\nversion: 1.0.0\nappVersion: \"1.0.0\"\n",
        )
        .manifest(
            r#"
            version: 1
            release:
              files:
                - { path: chart.yaml, regex: "^version: (.*)$" }
                - { path: chart.yaml, regex: "^appVersion: \"(.*)\"$" }
            "#,
        );
    let ran = t
        .args(&["version", "set", "1.1.0"])
        .stdout("chart.yaml: 1.1.0\n")
        .success();
    assert_eq!(
        ran.read("chart.yaml"),
        "apiVersion: v2\nversion: 1.1.0\nappVersion: \"1.1.0\"\n"
    );
}

// A template moved to another folder keeps its history (as `git log --follow`):
// the feature before the move still counts, and the move is no release. A file
// deleted and added again keeps its version too.
#[test]
fn a_moved_or_re_added_template_keeps_its_history() {
    let (t, r) = agents();
    r.edit("templates/qa.json", "Test things.", "Test A.");
    r.commit("feat: A");
    std::fs::create_dir_all(r.dir.join("templates/core")).unwrap();
    r.git(&["mv", "templates/qa.json", "templates/core/qa.json"]);
    r.edit("mpm.yaml", "templates/qa.json", "templates/core/qa.json");
    r.commit("refactor: move qa");
    let eng = r.read("templates/eng.json");
    std::fs::remove_file(r.dir.join("templates/eng.json")).unwrap();
    r.commit("chore: drop eng for now");
    std::fs::write(
        r.dir.join("templates/eng.json"),
        eng.replace("Build things.", "Build more."),
    )
    .unwrap();
    r.commit("fix: eng is back");
    t.args(&["version", "bump", "--dry-run", "qa", "eng"])
        .stdout(
            "
            agent  file                    commits             version
            eng    templates/eng.json      1 fix, 1 chore      1.0.0 → 1.0.1
            qa     templates/core/qa.json  1 feat, 1 refactor  3.5.2 → 3.6.0
            Dry run: nothing was written.
            ",
        )
        .success();
}

// A revert of a revert brings the feature back (git writes `Reapply "…"`).
#[test]
fn a_reverted_revert_counts_the_feature() {
    let (t, r) = agents();
    r.edit("templates/qa.json", "Test things.", "Test B.");
    r.commit("feat: B");
    r.git(&["revert", "--no-edit", "HEAD"]);
    r.git(&["revert", "--no-edit", "HEAD"]);
    t.args(&["version", "bump", "qa", "--dry-run"])
        .stdout(
            "
            agent  file               commits             version
            qa     templates/qa.json  1 feat, 2 reverted  3.5.2 → 3.6.0
            Dry run: nothing was written.
            ",
        )
        .success();
}

// A write that fails says nothing of success: stdout stays empty.
#[test]
fn a_failed_bump_prints_no_table() {
    let (t, r) = agents();
    r.edit("templates/qa.json", "Test things.", "Test A.");
    r.commit("feat: A");
    t.env("MPM_FAULT", "rename:1")
        .args(&["version", "bump"])
        .stdout("")
        .stderr_has("error: ")
        .failure();
}

#[test]
fn version_files_missing_outside_or_unreadable_are_located_errors() {
    let (t, r) = pack("1.2.0");
    std::fs::remove_file(r.dir.join("VERSION")).unwrap();
    let t = t
        .args(&["version", "check"])
        .stderr_has("error: the version file `VERSION` does not exist\n --> mpm.yaml:")
        .stderr_has("hint: create it with the version in it, or take it out of `release.files`\n")
        .failure()
        .then();
    std::fs::write(r.dir.join("VERSION"), "v1.2.0\n").unwrap();
    let t = t
        .args(&["version", "check"])
        .stdout_any()
        .stderr_has("error: cannot read the version of `VERSION`: ")
        .failure()
        .then();
    r.edit("mpm.yaml", "- VERSION", "- ../VERSION");
    t.args(&["version", "set", "1.3.0"])
        .stderr_has("is outside the git repository at ")
        .failure();
}

// `BREAKING CHANGE:` followed by another paragraph, and one right under the body
// with no blank line: both break (as conventional-changelog reads them).
#[test]
fn a_breaking_note_anywhere_after_the_header_breaks() {
    let (t, r) = agents();
    r.edit("templates/qa.json", "Test things.", "Test new.");
    r.commit("feat(qa): new runner\n\nBREAKING CHANGE: no more pytest.\n\nMigrate by adding `runner: pytest`.");
    r.edit("templates/eng.json", "Build things.", "Build new.");
    r.commit("docs: x\n\nbody\nBREAKING CHANGE: y");
    t.args(&["version", "bump", "--dry-run", "qa", "eng"])
        .stdout(
            "
            agent  file                commits     version
            eng    templates/eng.json  1 breaking  1.0.0 → 2.0.0
            qa     templates/qa.json   1 breaking  3.5.2 → 4.0.0
            Dry run: nothing was written.
            ",
        )
        .success();
}

#[test]
fn a_changelog_that_is_a_version_file_is_refused() {
    let (t, _r) = pack("1.2.0");
    let t = t.write(
        "mpm.yaml",
        "version: 1\nrelease:\n  files: [VERSION]\n  changelog: VERSION\n",
    );
    let t = t
        .args(&["changelog"])
        .stderr(
            "
            error: the changelog `VERSION` is also a version file
             --> mpm.yaml:4:14
              |
            4 |   changelog: VERSION
              |              ^^^^^^^
            hint: give the changelog its own file, like `CHANGELOG.md`
            ",
        )
        .failure()
        .then();
    t.write("mpm.yaml", "version: 1\nrelease: 5\n")
        .args(&["version", "check"])
        .stderr_has("a map of `files`, `tag`, `changelog` and `agent_changelog`")
        .failure();
}
