//! The register never goes backwards (issue 9): two connections on one real SQLite file,
//! as two processes would hold them; the state machine enforced by SQL itself; a register
//! from the field, duplicates included, upgraded.

use crate::base::digest::Hasher;
use crate::custody::register::*;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("test time")
}

const CAMERA: &str = "SNTL-00042";
const STEM: &str = "SNTL-00042_20180312_143015_0001";

fn facts() -> StoredFacts {
    let mut h = Hasher::new();
    h.update(b"video");
    StoredFacts {
        end: None,
        prerecord_secs: None,
        duration_secs: None,
        video: Some(FileFacts {
            size: 5,
            digests: h.finish(),
            path: "recordings/x.MP4".into(),
        }),
        sidecar: None,
        gps: GpsSummary::default(),
        flags: vec![],
        reasons: vec![],
        clock: None,
    }
}

fn open_two() -> (tempfile::TempDir, Register, Register) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("register.sqlite");
    let mut a = testing::open_at(&path).expect("open a");
    let b = testing::open_at(&path).expect("open b");
    let now = at("2026-11-26T06:00:00Z");
    let cam = CameraIdentity {
        serial: CAMERA.into(),
        ..Default::default()
    };
    a.upsert_camera(&cam, now).expect("camera");
    (dir, a, b)
}

fn session(reg: &mut Register) -> SessionId {
    reg.begin_session(CAMERA, "/dev/sdb", "p", at("2026-11-26T06:00:00Z"))
        .expect("session")
}

#[test]
fn two_sessions_share_the_row_in_flight_and_only_the_first_stores_it() {
    let (_dir, mut a, mut b) = open_two();
    let (sa, sb) = (session(&mut a), session(&mut b));
    let now = at("2026-11-26T06:00:01Z");
    let start = at("2018-03-12T14:30:15Z");
    let ra = a
        .insert_discovered(sa, CAMERA, STEM, start, now)
        .expect("a");
    let rb = b
        .insert_discovered(sb, CAMERA, STEM, start, now)
        .expect("b");
    assert_eq!(ra, rb, "one row for one recording in flight");

    a.record_stored(ra, sa, RecordingState::Confirmed, &facts(), now)
        .expect("a stores");
    a.record_state(ra, sa, RecordingState::Wiped, "wiped", now)
        .expect("a wipes");
    let err = b
        .record_stored(rb, sb, RecordingState::Confirmed, &facts(), now)
        .expect_err("b must not move a wiped recording back");
    assert!(
        matches!(
            err,
            RegisterError::StateRefused {
                to: "confirmed",
                ..
            }
        ),
        "{err}"
    );
    assert!(
        crate::base::error::chain(&err).contains("wiped already"),
        "{err}"
    );
    let rows = a.recordings_by_stem(CAMERA, STEM).expect("rows");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].state, RecordingState::Wiped);
    let states: Vec<String> = a
        .events(ra)
        .expect("events")
        .into_iter()
        .map(|e| e.1)
        .collect();
    assert_eq!(states, ["discovered", "confirmed", "wiped"]);
}

#[test]
fn a_second_row_with_the_same_content_is_refused_while_the_first_session_runs() {
    let (_dir, mut a, mut b) = open_two();
    let (sa, sb) = (session(&mut a), session(&mut b));
    let now = at("2026-11-26T06:00:01Z");
    let start = at("2018-03-12T14:30:15Z");
    let ra = a
        .insert_discovered(sa, CAMERA, STEM, start, now)
        .expect("a");
    a.record_stored(ra, sa, RecordingState::Confirmed, &facts(), now)
        .expect("a stores");
    // b read the register before a's row existed, and made its own.
    let rb = b
        .insert_discovered(sb, CAMERA, STEM, start, now)
        .expect("b");
    assert_ne!(ra, rb);
    let err = b
        .record_stored(rb, sb, RecordingState::Confirmed, &facts(), now)
        .expect_err("one row per recording");
    assert!(
        crate::base::error::chain(&err).contains("another ingest"),
        "{err}"
    );
    // Once a's session is over, the same content may be stored again (a copy made
    // again after the stored one was found damaged).
    a.finish_session(sa, "complete", now).expect("finish");
    b.record_stored(rb, sb, RecordingState::Confirmed, &facts(), now)
        .expect("stored again after a damaged copy");
}

#[test]
fn the_state_machine_is_enforced_by_sql_whoever_writes() {
    let (_dir, mut a, _b) = open_two();
    let s = session(&mut a);
    let now = at("2026-11-26T06:00:01Z");
    let id = a
        .insert_discovered(s, CAMERA, STEM, at("2018-03-12T14:30:15Z"), now)
        .expect("row");
    let set = |reg: &mut Register, state: &str| {
        reg.connection().execute(
            "UPDATE recordings SET state = ?2 WHERE id = ?1",
            params![id, state],
        )
    };
    for refused in ["wiped", "purged", "discovered"] {
        assert!(set(&mut a, refused).is_err(), "discovered -> {refused}");
    }
    set(&mut a, "confirmed").expect("discovered -> confirmed");
    for refused in ["discovered", "quarantined", "confirmed"] {
        assert!(set(&mut a, refused).is_err(), "confirmed -> {refused}");
    }
    set(&mut a, "wiped").expect("confirmed -> wiped");
    set(&mut a, "wiped").expect("a wipe recorded again");
    for refused in ["discovered", "confirmed", "quarantined"] {
        let err = set(&mut a, refused).expect_err("wiped is final");
        assert!(
            crate::base::error::chain(&err).contains("state machine"),
            "{err}"
        );
    }
    set(&mut a, "purged").expect("wiped -> purged");
    for refused in ["discovered", "confirmed", "quarantined", "wiped"] {
        assert!(set(&mut a, refused).is_err(), "purged -> {refused}");
    }
    let err = a
        .record_state(id, s, RecordingState::Wiped, "", now)
        .expect_err("purged is final: a typed refusal");
    assert!(matches!(err, RegisterError::StateRefused { .. }), "{err}");
}

#[test]
fn a_version_7_register_with_duplicates_upgrades_keeping_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("r.sqlite");
    {
        let conn = rusqlite::Connection::open(&path).expect("open");
        for sql in &schema::MIGRATIONS_FOR_TESTS[..7] {
            conn.execute_batch(sql).expect("old schema");
        }
        conn.pragma_update(None, "user_version", 7)
            .expect("version");
        // What the races of the earlier code left: two rows in flight, two stored rows
        // with the same content, and a wiped row that went back to confirmed.
        conn.execute_batch(
            "INSERT INTO cameras VALUES ('S', NULL, NULL, 't', 't');
             INSERT INTO sessions (id, camera, source, profile, started_at) VALUES (1, 'S', 'x', 'p', 't');
             INSERT INTO recordings (camera, stem, session, state, start_utc, video_sha256, discovered_at, updated_at) VALUES
                ('S', 'a', 1, 'discovered', 't', NULL, 't', 't'),
                ('S', 'a', 1, 'discovered', 't', NULL, 't', 't'),
                ('S', 'b', 1, 'confirmed', 't', 'h', 't', 't'),
                ('S', 'b', 1, 'confirmed', 't', 'h', 't', 't');",
        )
        .expect("old rows");
    }
    let mut reg = Register::open(&path).expect("upgrades");
    let n: i64 = reg
        .connection()
        .query_row("SELECT count(*) FROM recordings", (), |r| r.get(0))
        .expect("count");
    assert_eq!(n, 4, "rows kept as they are");
    assert_eq!(reg.store_identity().expect("identity"), None);
    // A new third row in flight for `a` is refused by the trigger, whoever inserts it.
    let err = reg
        .connection()
        .execute(
            "INSERT INTO recordings (camera, stem, session, state, start_utc, discovered_at, updated_at)
             VALUES ('S', 'a', 1, 'discovered', 't', 't', 't')",
            (),
        )
        .expect_err("one row in flight");
    assert!(
        crate::base::error::chain(&err).contains("in flight"),
        "{err}"
    );
}

#[test]
fn the_store_identity_is_recorded_once() {
    let (_dir, mut a, mut b) = open_two();
    let now = at("2026-11-26T06:00:01Z");
    a.record_store_identity("one", now).expect("first");
    b.record_store_identity("two", now).expect("ignored");
    assert_eq!(b.store_identity().expect("read").as_deref(), Some("one"));
}

#[test]
fn opening_a_register_in_a_missing_folder_says_so() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("missing").join("register.sqlite");
    let err = Register::open(&path).err().expect("refused");
    let text = err.to_string();
    assert!(text.contains("does not exist"), "{text}");
    assert!(!text.contains("belongs to the service user"), "{text}");
}
