//! Every row of the three-state table, with plain values.

use super::*;
use crate::desired::{Owner, Retired};
use crate::state::{Change, Entry, FileVersion, Generation};

fn addr() -> Address {
    Address::parse("agents/qa.md").unwrap()
}

fn desired(bytes: &str) -> DesiredState {
    let mut d = DesiredState::default();
    let owner = Owner {
        agent: Some("qa".into()),
        version: Some("1.0.0".into()),
        source: "templates/qa.json".into(),
    };
    d.resources
        .insert(addr(), DesiredResource::new(bytes.as_bytes(), owner, false));
    d
}

fn actual(bytes: Option<&str>) -> ActualState {
    let mut a = ActualState::default();
    if let Some(b) = bytes {
        a.paths.insert(
            addr(),
            Actual::File {
                digest: Digest::of(b.as_bytes()),
                mode: 0o644,
            },
        );
    }
    a
}

fn last(bytes: Option<&str>) -> LastApplied {
    let mut l = LastApplied::default();
    if let Some(b) = bytes {
        l.entries.insert(
            addr(),
            Entry::file(
                Digest::of(b.as_bytes()),
                0o644,
                b.len() as u64,
                Some("qa".into()),
                Some("1.0.0".into()),
                false,
            ),
        );
    }
    l
}

fn action(d: &DesiredState, a: &ActualState, l: &LastApplied) -> Option<Action> {
    diff(d, a, l, PlanOptions::default())
        .rows
        .first()
        .map(|r| r.action)
}

#[test]
fn present_absent_is_a_create() {
    assert_eq!(
        action(&desired("new"), &actual(None), &last(None)),
        Some(Action::Create)
    );
    // also when mpm wrote it and someone deleted it: created again, drift noted
    let plan = diff(
        &desired("new"),
        &actual(None),
        &last(Some("new")),
        PlanOptions::default(),
    );
    assert_eq!(plan.rows[0].action, Action::Create);
    assert_eq!(plan.rows[0].drift, Some(Drift::Deleted));
}

#[test]
fn present_equal_is_a_no_op_or_a_record() {
    assert_eq!(
        action(&desired("x"), &actual(Some("x")), &last(Some("x"))),
        Some(Action::NoOp)
    );
    // in sync but not recorded: record it
    assert_eq!(
        action(&desired("x"), &actual(Some("x")), &last(None)),
        Some(Action::Record)
    );
    // in sync, recorded with older bytes (a hand edit that matches the new desired)
    assert_eq!(
        action(&desired("x"), &actual(Some("x")), &last(Some("old"))),
        Some(Action::Record)
    );
}

#[test]
fn present_changed_manifest_is_an_update() {
    assert_eq!(
        action(&desired("new"), &actual(Some("old")), &last(Some("old"))),
        Some(Action::Update)
    );
}

#[test]
fn present_edited_outside_is_a_conflict_unless_forced() {
    let (d, a, l) = (desired("new"), actual(Some("edited")), last(Some("old")));
    assert_eq!(action(&d, &a, &l), Some(Action::Conflict(Conflict::Edited)));
    let forced = diff(
        &d,
        &a,
        &l,
        PlanOptions {
            force: true,
            adopt: false,
        },
    );
    assert_eq!(
        (forced.rows[0].action, forced.rows[0].takeover),
        (Action::Update, Some(Takeover::Forced))
    );
    // --adopt is about files mpm never wrote, not hand edits
    assert_eq!(
        diff(
            &d,
            &a,
            &l,
            PlanOptions {
                force: false,
                adopt: true
            }
        )
        .rows[0]
            .action,
        Action::Conflict(Conflict::Edited)
    );
}

#[test]
fn someone_elses_file_in_the_way_is_a_conflict_unless_adopted() {
    let (d, a, l) = (desired("new"), actual(Some("theirs")), last(None));
    assert_eq!(
        action(&d, &a, &l),
        Some(Action::Conflict(Conflict::Unmanaged))
    );
    let adopted = diff(
        &d,
        &a,
        &l,
        PlanOptions {
            force: false,
            adopt: true,
        },
    );
    assert_eq!(
        (adopted.rows[0].action, adopted.rows[0].takeover),
        (Action::Update, Some(Takeover::Adopted))
    );
}

#[test]
fn removed_from_the_manifest_is_a_delete() {
    assert_eq!(
        action(
            &DesiredState::default(),
            &actual(Some("x")),
            &last(Some("x"))
        ),
        Some(Action::Delete)
    );
}

#[test]
fn removed_but_edited_is_a_conflict_unless_forced() {
    let (d, a, l) = (
        DesiredState::default(),
        actual(Some("edited")),
        last(Some("x")),
    );
    assert_eq!(
        action(&d, &a, &l),
        Some(Action::Conflict(Conflict::EditedRemoved))
    );
    assert_eq!(
        diff(
            &d,
            &a,
            &l,
            PlanOptions {
                force: true,
                adopt: false
            }
        )
        .rows[0]
            .action,
        Action::Delete
    );
}

#[test]
fn a_file_mpm_never_recorded_is_never_touched() {
    assert_eq!(
        action(
            &DesiredState::default(),
            &actual(Some("users")),
            &last(None)
        ),
        None
    );
    // not even with --force
    assert!(
        diff(
            &DesiredState::default(),
            &actual(Some("u")),
            &last(None),
            PlanOptions {
                force: true,
                adopt: true
            }
        )
        .rows
        .is_empty()
    );
}

#[test]
fn removed_and_already_gone_is_forgotten() {
    let plan = diff(
        &DesiredState::default(),
        &actual(None),
        &last(Some("x")),
        PlanOptions::default(),
    );
    assert_eq!(
        (plan.rows[0].action, plan.rows[0].drift),
        (Action::Forget, Some(Drift::Deleted))
    );
}

#[test]
fn a_protected_agent_is_never_deleted() {
    let mut l = last(Some("x"));
    l.entries.get_mut(&addr()).unwrap().protect = true;
    let forced = PlanOptions {
        force: true,
        adopt: false,
    };
    assert_eq!(
        diff(&DesiredState::default(), &actual(Some("x")), &l, forced).rows[0].action,
        Action::Conflict(Conflict::Protected)
    );
    // declared `enabled: false, protect: true`
    let mut d = DesiredState::default();
    d.retired.insert(
        addr(),
        Retired {
            agent: "qa".into(),
            protect: true,
        },
    );
    assert_eq!(
        action(&d, &actual(Some("x")), &last(Some("x"))),
        Some(Action::Conflict(Conflict::Protected))
    );
    // the manifest's word wins over the recorded flag
    d.retired.insert(
        addr(),
        Retired {
            agent: "qa".into(),
            protect: false,
        },
    );
    assert_eq!(action(&d, &actual(Some("x")), &l), Some(Action::Delete));
}

#[test]
fn a_directory_or_link_in_the_way_is_refused_even_forced() {
    let mut a = ActualState::default();
    a.paths
        .insert(addr(), Actual::Other(OtherKind::SymbolicLink));
    let p = diff(
        &desired("x"),
        &a,
        &last(None),
        PlanOptions {
            force: true,
            adopt: true,
        },
    );
    assert_eq!(
        p.rows[0].action,
        Action::Conflict(Conflict::NotAFile(OtherKind::SymbolicLink))
    );
}

fn pending(after: Option<&str>) -> Generation {
    Generation::with_changes(vec![Change {
        address: addr(),
        action: "update".into(),
        before: None,
        after: after.map(|b| FileVersion {
            digest: Digest::of(b.as_bytes()),
            mode: 0o644,
        }),
        managed: true,
        agent: Some("qa".into()),
        version_before: None,
        version_after: None,
        secret_before: None,
        secret_after: None,
        before_withheld: false,
        position: None,
        before_text: None,
        after_text: None,
    }])
}

#[test]
fn a_file_written_by_a_killed_run_is_mpms_own() {
    // the manifest changed after the kill: the killed run's file is updated, no conflict
    let mut l = last(Some("old"));
    l.pending = Some(pending(Some("killed-run")));
    assert_eq!(
        action(&desired("newer"), &actual(Some("killed-run")), &l),
        Some(Action::Update)
    );
    // a new file the killed run created, then removed from the manifest: deleted
    let mut l = last(None);
    l.pending = Some(pending(Some("killed-run")));
    assert_eq!(
        action(&DesiredState::default(), &actual(Some("killed-run")), &l),
        Some(Action::Delete)
    );
    // a file that matches neither is still someone else's
    assert_eq!(
        action(&desired("newer"), &actual(Some("other")), &l),
        Some(Action::Conflict(Conflict::Unmanaged))
    );
}

#[test]
fn a_rollback_hands_a_file_back_without_managing_it() {
    let mut d = desired("users");
    d.resources.get_mut(&addr()).unwrap().record = crate::desired::Record::Released;
    // mpm wrote "ours" over the user's file; rolling back writes the user's bytes back
    assert_eq!(
        action(&d, &actual(Some("ours")), &last(Some("ours"))),
        Some(Action::Update)
    );
    // already the user's bytes: just forget it
    assert_eq!(
        action(&d, &actual(Some("users")), &last(Some("ours"))),
        Some(Action::Forget)
    );
}

#[test]
fn summary_counts_like_terraform() {
    let p = diff(
        &desired("new"),
        &actual(None),
        &last(None),
        PlanOptions::default(),
    );
    assert_eq!(
        p.summary(),
        Summary {
            add: 1,
            ..Summary::default()
        }
    );
    assert!(p.has_changes() && p.changes_files());
}

/// What `mpm.lock` records counts as mpm's where the state log is absent (a
/// fresh clone of a project whose agents are committed).
fn locked(bytes: &str) -> LastApplied {
    let mut l = LastApplied::default();
    l.locked.insert(
        addr(),
        crate::lockfile::Locked {
            agent: Some("qa".into()),
            version: Some("1.0.0".into()),
            sha256: Digest::of(bytes.as_bytes()),
        },
    );
    l
}

#[test]
fn the_lock_file_tells_mpms_files_from_hand_edits_without_a_state_log() {
    // the committed file is what mpm wrote: a manifest change updates it
    let plan = diff(
        &desired("v2"),
        &actual(Some("v1")),
        &locked("v1"),
        PlanOptions::default(),
    );
    assert_eq!(plan.rows[0].action, Action::Update);
    assert_eq!(plan.rows[0].version_before.as_deref(), Some("1.0.0"));
    // it is not: a hand edit
    assert_eq!(
        action(&desired("v2"), &actual(Some("edited")), &locked("v1")),
        Some(Action::Conflict(Conflict::Edited))
    );
    // it matches: recorded, no file written
    assert_eq!(
        action(&desired("v1"), &actual(Some("v1")), &locked("v1")),
        Some(Action::Record)
    );
    // removed from the manifest: deleted
    assert_eq!(
        action(&DesiredState::default(), &actual(Some("v1")), &locked("v1")),
        Some(Action::Delete)
    );
}

/// What is held once per managed path: at 10 000 agents, each 8 bytes is 80 KB.
/// What only a part of a settings file has is boxed, so that an agent file pays a
/// pointer for it.
#[test]
#[cfg(target_pointer_width = "64")]
fn what_is_held_per_managed_path_stays_narrow() {
    assert!(size_of::<Row>() <= 296, "{}", size_of::<Row>());
    assert!(size_of::<Entry>() <= 104, "{}", size_of::<Entry>());
    let resource = size_of::<crate::desired::DesiredResource>();
    assert!(resource <= 144, "{resource}");
    assert!(size_of::<Actual>() <= 40, "{}", size_of::<Actual>());
}
