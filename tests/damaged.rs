//! A damaged state log has a way out. With a pack deleted or truncated, every
//! command, `history` included, failed with a raw `No such file or directory` and
//! no hint. Now the commands that do not need the missing bytes keep working, and
//! those that do name the generation and the blob, and say how to recover.

use crate::harness::{Ran, Test, inline_manifest};

/// Three generations, each changing `alpha`; each apply writes pack N.
fn three_generations() -> Ran {
    let ran = Test::new()
        .manifest(&inline_manifest(&[("alpha", "v1")]))
        .args(&["apply", "-y"])
        .stdout_any()
        .success();
    for v in ["v2", "v3"] {
        ran.then()
            .manifest(&inline_manifest(&[("alpha", v)]))
            .args(&["apply", "-y"])
            .stdout_any()
            .success();
    }
    ran
}

fn history_lines(ran: &Ran) -> usize {
    ran.then()
        .args(&["history"])
        .stdout_any()
        .success()
        .stdout
        .lines()
        .count()
}

#[test]
fn a_missing_pack_of_the_current_generation_is_named_and_history_still_works() {
    let ran = three_generations();
    std::fs::remove_file(ran.path(".claude/.mpm/packs/3.pack")).unwrap();
    assert_eq!(history_lines(&ran), 3);
    let failed = ran
        .then()
        .args(&["plan"])
        .stderr_has("/.claude/.mpm` lacks the managed paths right after generation 3\n")
        .stderr_has("/.claude/.mpm/packs/3.pack` is missing\n")
        .stderr_has("hint: if only old generations need it, `mpm history prune --keep N` drops them; otherwise move the state folder aside and run `mpm apply --adopt`")
        .failure();
    assert!(
        failed.stderr.contains("  caused by: blob "),
        "{}",
        failed.stderr
    );
}

#[test]
fn a_truncated_pack_is_named_as_cut_short() {
    let ran = three_generations();
    let pack = ran.path(".claude/.mpm/packs/3.pack");
    let len = std::fs::metadata(&pack).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&pack)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    ran.then()
        .args(&["plan"])
        .stderr_has("/.claude/.mpm/packs/3.pack` is cut short\n")
        .failure();
    assert_eq!(history_lines(&ran), 3);
}

#[test]
fn an_old_generations_missing_pack_stops_only_what_needs_it_and_is_pruned_away() {
    let ran = three_generations();
    std::fs::remove_file(ran.path(".claude/.mpm/packs/1.pack")).unwrap();
    // what does not need generation 1's bytes works
    ran.then()
        .args(&["plan"])
        .stdout("No changes. The agents in `.claude` match `mpm.yaml`.\n")
        .success();
    ran.then()
        .args(&["rollback", "--dry-run"])
        .stdout_has("Plan: 0 to add, 1 to change, 0 to destroy.\n")
        .stderr("Dry run: nothing was changed (the apply would write 1 file).\n")
        .success();
    // what does names it
    ran.then()
        .args(&["rollback", "--to", "1", "-y"])
        .stderr_has("/.claude/.mpm` lacks the managed paths right after generation 1\n")
        .stderr_has("/.claude/.mpm/packs/1.pack` is missing\n")
        .failure();
    // the way out the hint gives
    ran.then()
        .args(&["history", "prune", "--keep", "1"])
        .stdout("Pruned 2 generation(s) and 4 blob(s).\n")
        .success();
    assert_eq!(history_lines(&ran), 1);
    ran.then()
        .args(&["rollback", "-y"])
        .stdout_has("Rollback complete! Agents: 0 added, 1 changed, 0 destroyed.\n")
        .success();
    assert!(ran.read(".claude/agents/alpha.md").ends_with("v2\n"));
}

#[test]
fn a_missing_gitignore_is_named_by_readers_and_put_back_by_writers() {
    let ran = three_generations();
    std::fs::remove_file(ran.path(".claude/.mpm/.gitignore")).unwrap();
    ran.then()
        .args(&["plan"])
        .stdout("No changes. The agents in `.claude` match `mpm.yaml`.\n")
        .stderr("warning: `.claude/.mpm/.gitignore` is missing, so git may pick up the state log; the next `mpm apply` puts it back\n")
        .success();
    assert!(!ran.exists(".claude/.mpm/.gitignore"));
    ran.then()
        .manifest(&inline_manifest(&[("alpha", "v4")]))
        .args(&["apply", "-y"])
        .stdout_has("Apply complete! Agents: 0 added, 1 changed, 0 destroyed.\n")
        .success();
    assert_eq!(ran.read(".claude/.mpm/.gitignore"), "*\n");
}

/// A pack a killed apply or prune left (no index names it) made every later
/// prune fail with a raw "File exists".
#[test]
fn a_pack_left_by_a_killed_run_does_not_stop_a_prune() {
    let ran = three_generations();
    std::fs::write(ran.path(".claude/.mpm/packs/4.pack"), "junk").unwrap();
    ran.then()
        .args(&["history", "prune", "--keep", "1"])
        .stdout("Pruned 2 generation(s) and 4 blob(s).\n")
        .success();
    // the leftover went (its number may be used again by the pack prune wrote)
    assert!(
        !ran.exists(".claude/.mpm/packs/4.pack")
            || ran.bytes(".claude/.mpm/packs/4.pack") != b"junk"
    );
    assert_eq!(history_lines(&ran), 1);
    ran.then()
        .args(&["rollback", "-y"])
        .stdout_has("Rollback complete! Agents: 0 added, 1 changed, 0 destroyed.\n")
        .success();
}

/// A prune that needed bytes a damaged pack had lost dropped generations before
/// it failed: it now reads every byte it keeps first, and changes nothing.
#[test]
fn a_prune_that_cannot_keep_what_it_must_changes_nothing() {
    let ran = three_generations();
    // pack 2 holds v2, which generation 3's undo needs
    std::fs::remove_file(ran.path(".claude/.mpm/packs/2.pack")).unwrap();
    ran.then()
        .args(&["history", "prune", "--keep", "1"])
        .stderr_has("/.claude/.mpm/packs/2.pack` is missing\n")
        .failure();
    assert_eq!(history_lines(&ran), 3);
}

/// Readers said "the next `mpm apply` puts it back", but an apply with nothing
/// to do did not.
#[test]
fn an_apply_with_nothing_to_do_puts_back_a_missing_gitignore() {
    let ran = three_generations();
    std::fs::remove_file(ran.path(".claude/.mpm/.gitignore")).unwrap();
    ran.then()
        .args(&["apply", "-y"])
        .stdout("No changes. The agents in `.claude` match `mpm.yaml`.\n")
        .success();
    assert_eq!(ran.read(".claude/.mpm/.gitignore"), "*\n");
}

/// sled leaves an empty `snap.*.generating` when the disk fills while it opens the
/// database; it then took it for damage, for good: every command said the state
/// log could not be read.
#[test]
fn an_unfinished_snapshot_of_sleds_is_not_taken_for_damage() {
    let ran = three_generations();
    std::fs::write(
        ran.path(".claude/.mpm/db/snap.0000000000000001.generating"),
        "",
    )
    .unwrap();
    assert_eq!(history_lines(&ran), 3);
    ran.then()
        .manifest(&inline_manifest(&[("alpha", "v4")]))
        .args(&["apply", "-y"])
        .stdout_has("Apply complete! Agents: 0 added, 1 changed, 0 destroyed.\n")
        .success();
    assert_eq!(history_lines(&ran), 4);
}
