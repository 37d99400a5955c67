//! The register on real SQLite files: states, events, pragmas, schema guards.

use super::*;
use crate::base::digest::Hasher;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("test time")
}

fn facts(path: &str) -> StoredFacts {
    let mut h = Hasher::new();
    h.update(b"video");
    StoredFacts {
        end: Some(at("2018-03-12T14:31:00Z")),
        prerecord_secs: Some(10),
        duration_secs: Some(45.0),
        video: Some(FileFacts {
            size: 5,
            digests: h.finish(),
            path: path.into(),
        }),
        sidecar: None,
        gps: GpsSummary {
            fixes: 3,
            no_fix: 1,
            first: Some((at("2018-03-12T14:30:16Z"), 45.04, 5.05)),
            last: Some((at("2018-03-12T14:30:18Z"), 45.05, 5.06)),
            bbox: Some((45.04, 45.05, 5.05, 5.06)),
        },
        flags: vec!["fix out of window".into()],
        reasons: vec![],
        clock: None,
    }
}

#[test]
fn a_recording_goes_discovered_confirmed_wiped_with_one_event_each() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("register.sqlite");
    let mut reg = testing::open_at(&path).unwrap();
    let cam = CameraIdentity {
        serial: "SNTL-00042".into(),
        model: Some("BWC2".into()),
        firmware: None,
    };
    let now = at("2026-11-26T06:00:00Z");
    reg.upsert_camera(&cam, now).unwrap();
    let session = reg
        .begin_session("SNTL-00042", "/dev/sdb", "sentinel-v1", now)
        .unwrap();
    let stem = "SNTL-00042_20180312_143015_0001";
    let id = reg
        .insert_discovered(session, "SNTL-00042", stem, at("2018-03-12T14:30:15Z"), now)
        .unwrap();
    reg.record_stored(
        id,
        session,
        RecordingState::Confirmed,
        &facts("recordings/x.MP4"),
        now,
    )
    .unwrap();
    reg.record_state(id, session, RecordingState::Wiped, "", now)
        .unwrap();
    reg.finish_session(session, "complete", now).unwrap();
    drop(reg);

    // Reopened: the facts survived, and the migration is not applied twice.
    let reg = testing::open_at(&path).unwrap();
    let rows = reg.recordings_by_stem("SNTL-00042", stem).unwrap();
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row.state, RecordingState::Wiped);
    assert_eq!(row.video.as_ref().unwrap().path, "recordings/x.MP4");
    assert_eq!(
        row.video.as_ref().unwrap().digests,
        facts("").video.unwrap().digests
    );
    assert_eq!(row.flags, vec!["fix out of window".to_string()]);
    let states: Vec<_> = reg.events(id).unwrap().into_iter().map(|e| e.1).collect();
    assert_eq!(states, ["discovered", "confirmed", "wiped"]);
    // The collection and the wipe are traced in the audit chain, naming the recording.
    let trail = audit::entries(&reg.conn, 0).unwrap();
    let actions: Vec<_> = trail.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["collection", "wipe"]);
    assert!(trail.iter().all(|e| e.recordings.contains(stem)));
    assert!(trail[0].details.contains("recordings/x.MP4"));
    assert!(audit::verify(&reg.conn, None).unwrap().is_intact());
}

#[test]
fn dock_events_are_kept_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut reg = testing::open_at(&dir.path().join("r.sqlite")).unwrap();
    reg.record_dock_event("S", DockEvent::Docked, "S", at("2026-11-26T06:00:00Z"))
        .unwrap();
    reg.record_dock_event("S", DockEvent::Undocked, "S", at("2026-11-26T06:05:00Z"))
        .unwrap();
    let events: Vec<_> = reg
        .dock_events("S")
        .unwrap()
        .into_iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(events, ["docked", "undocked"]);
}

#[test]
fn durability_pragmas_are_set() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Register::open(&dir.path().join("r.sqlite")).unwrap();
    let sync: i64 = reg
        .conn
        .query_row("PRAGMA synchronous", (), |r| r.get(0))
        .unwrap();
    assert_eq!(sync, 2, "synchronous must be FULL");
    let mode: String = reg
        .conn
        .query_row("PRAGMA journal_mode", (), |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn a_newer_schema_is_refused_with_advice() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.sqlite");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", CURRENT_VERSION + 1)
        .unwrap();
    drop(conn);
    let err = Register::open(&path).err().expect("must refuse");
    assert!(crate::base::error::chain(&err).contains("newer"), "{err}");
}

#[test]
fn an_unknown_state_written_by_hand_is_reported_not_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let mut reg = testing::open_at(&dir.path().join("r.sqlite")).unwrap();
    let now = at("2026-11-26T06:00:00Z");
    reg.upsert_camera(
        &CameraIdentity {
            serial: "S".into(),
            ..Default::default()
        },
        now,
    )
    .unwrap();
    let s = reg.begin_session("S", "src", "p", now).unwrap();
    let id = reg.insert_discovered(s, "S", "stem", now, now).unwrap();
    reg.conn
        .execute(
            "UPDATE recordings SET flags = 'nonsense' WHERE id = ?1",
            [id],
        )
        .unwrap();
    let err = reg.recording(id).unwrap_err();
    assert!(crate::base::error::chain(&err).contains("flags"), "{err}");
}

/// The queries that must stay fast with a million recordings (docs/performance.md) read
/// an index, never every row: a changed query or a lost index shows here, not at a dock.
#[test]
fn the_queries_run_at_scale_read_indexes_not_every_recording() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Register::open(&dir.path().join("r.sqlite")).unwrap();
    let filtered = |filter: &str| format!("SELECT id FROM recordings WHERE {filter}");
    let queries = [
        ("status: 30-day total", usage::STORED_SINCE.to_string()),
        ("report: store totals", stored::IN_STORE_TOTALS.to_string()),
        ("report: totals per day", stored::STARTED_BY_DAY.to_string()),
        (
            "report: a site's store totals",
            stored::IN_STORE_TOTALS_AT.to_string(),
        ),
        (
            "report: a site's totals per day",
            stored::STARTED_BY_DAY_AT.to_string(),
        ),
        ("purge: expired", filtered(stored::EXPIRED)),
        ("commands: by stem", filtered(stored::BY_STEM)),
        ("attribution: pending", perception::UNATTRIBUTED.to_string()),
    ];
    for (what, sql) in queries {
        let count = reg.conn.parameter_count(&sql);
        let unbound = vec![rusqlite::types::Null; count];
        let plan = super::query_plan(&reg.conn, &sql, &unbound);
        // A SCAN reads every entry of what it scans: only a narrow covering index, or a
        // partial index holding just the rows wanted, may be scanned.
        let partial = ["recordings_unattributed", "recordings_by_retention"];
        for step in plan.iter().filter(|s| s.starts_with("SCAN")) {
            assert!(
                step.contains("COVERING INDEX") || partial.iter().any(|p| step.contains(p)),
                "{what}: `{step}` reads every recording\n{sql}"
            );
        }
        assert!(
            plan.iter().any(|s| s.contains("INDEX recordings_")),
            "{what}: no index of recordings used: {plan:?}"
        );
    }
}

mod door;
mod sites;
mod state_machine;
