//! Schema upgrades on real SQLite files: rows kept, flags and triggers set.

use super::*;

/// A register written by the first release (schema 2) keeps every row through the
/// rebuild of `recordings`, and its foreign keys still hold.
#[test]
fn a_version_2_register_upgrades_keeping_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.sqlite");
    let mut conn = Connection::open(&path).unwrap();
    conn.execute_batch(&format!("{}{}", MIGRATIONS[0], MIGRATIONS[1]))
        .unwrap();
    conn.pragma_update(None, "user_version", 2).unwrap();
    conn.execute_batch(
        "PRAGMA foreign_keys=ON;
         INSERT INTO cameras VALUES ('S', NULL, NULL, 't', 't');
         INSERT INTO sessions (id, camera, source, profile, started_at) VALUES (7, 'S', 'x', 'p', 't');
         INSERT INTO recordings (id, camera, stem, session, state, start_utc, video_size,
                                 discovered_at, updated_at)
             VALUES (3, 'S', 'S_20180312_143015_0001', 7, 'wiped', 't', 42, 't', 't');
         INSERT INTO recording_events (recording, session, at, state) VALUES (3, 7, 't', 'wiped');",
    )
    .unwrap();
    migrate(&mut conn).unwrap();
    let version: u32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, CURRENT_VERSION);
    let (stem, size): (String, i64) = conn
        .query_row(
            "SELECT stem, video_size FROM recordings WHERE id = 3",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((stem.as_str(), size), ("S_20180312_143015_0001", 42));
    conn.execute("UPDATE recordings SET state = 'purged' WHERE id = 3", [])
        .unwrap();
    let fk: bool = conn
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .unwrap();
    assert!(fk, "foreign keys are back on after the migration");
    let dangling: i64 = conn
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(dangling, 0);
    // Still refused: a state nobody knows.
    assert!(
        conn.execute("UPDATE recordings SET state = 'gone' WHERE id = 3", [])
            .is_err()
    );
}

/// Schema 7 flags the recordings that await an attribution when it upgrades a register;
/// the triggers flag each recording inserted after, and unflag it once attributed.
#[test]
fn a_version_6_register_learns_which_recordings_are_attributed() {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = Connection::open(dir.path().join("r.sqlite")).unwrap();
    conn.execute_batch(&MIGRATIONS[..6].concat()).unwrap();
    conn.pragma_update(None, "user_version", 6).unwrap();
    conn.execute_batch(
        "INSERT INTO cameras VALUES ('S', NULL, NULL, 't', 't');
         INSERT INTO sessions (id, camera, source, profile, started_at) VALUES (7, 'S', 'x', 'p', 't');
         INSERT INTO recordings (id, camera, stem, session, state, start_utc, discovered_at, updated_at)
             VALUES (1, 'S', 'S_1', 7, 'wiped', 't1', 't', 't'),
                    (2, 'S', 'S_2', 7, 'wiped', 't2', 't', 't');
         INSERT INTO agents VALUES ('M1', 'A', 'B', NULL, 't', 'x');
         INSERT INTO attributions (recording, agent, kind, attributed_by, attributed_at)
             VALUES (1, 'M1', 'manual', 'x', 't');",
    )
    .unwrap();
    migrate(&mut conn).unwrap();
    let flags = |conn: &Connection| -> Vec<i64> {
        let mut stmt = conn
            .prepare("SELECT attribution_pending FROM recordings ORDER BY id")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    assert_eq!(flags(&conn), [0, 1]);
    conn.execute(
        "INSERT INTO attributions (recording, agent, kind, attributed_by, attributed_at)
         VALUES (2, 'M1', 'automatic', 'x', 't')",
        [],
    )
    .unwrap();
    assert_eq!(flags(&conn), [0, 0]);
    conn.execute(
        "INSERT INTO recordings (id, camera, stem, session, state, start_utc, discovered_at, updated_at)
         VALUES (3, 'S', 'S_3', 7, 'discovered', 't3', 't', 't')",
        [],
    )
    .unwrap();
    assert_eq!(flags(&conn), [0, 0, 1]);
}

/// Registers already in the field gain a retention time on a clock the service trusts: a
/// camera's date stands where it could be true, a date after the docking or already past a
/// month at it (a reset clock's 2000-01-01) counts from the docking instead.
#[test]
fn a_version_7_register_counts_impossible_camera_dates_from_their_docking() {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = Connection::open(dir.path().join("r.sqlite")).unwrap();
    conn.execute_batch(&MIGRATIONS[..7].concat()).unwrap();
    conn.pragma_update(None, "user_version", 7).unwrap();
    let docked = "2026-12-04T18:00:00.000Z";
    conn.execute_batch(&format!(
        "INSERT INTO cameras VALUES ('S', NULL, NULL, 't', 't');
         INSERT INTO sessions (id, camera, source, profile, started_at) VALUES (7, 'S', 'x', 'p', '{docked}');
         INSERT INTO recordings (id, camera, stem, session, state, start_utc, end_utc, discovered_at, updated_at)
             VALUES (1, 'S', 'S_1', 7, 'wiped', '2026-12-04T08:00:00.000Z', '2026-12-04T08:05:00.000Z', '{docked}', 't'),
                    (2, 'S', 'S_2', 7, 'wiped', '2000-01-01T00:00:00.000Z', '2000-01-01T00:05:00.000Z', '{docked}', 't'),
                    (3, 'S', 'S_3', 7, 'confirmed', '2031-06-01T08:00:00.000Z', NULL, '{docked}', 't'),
                    (4, 'S', 'S_4', 7, 'quarantined', '2026-11-20T08:00:00.000Z', NULL, '{docked}', 't');"
    ))
    .unwrap();
    migrate(&mut conn).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT coalesce(retention_from, end_utc, start_utc), coalesce(time_source, 'camera')
             FROM recordings ORDER BY id",
        )
        .unwrap();
    let rows: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let row = |t: &str, s: &str| (t.to_string(), s.to_string());
    assert_eq!(
        rows,
        [
            row("2026-12-04T08:05:00.000Z", "camera"),
            row(docked, "docking"),
            row(docked, "docking"),
            row("2026-11-20T08:00:00.000Z", "camera"),
        ]
    );
    let recorded: Vec<String> = conn
        .prepare("SELECT coalesce(recorded_at, start_utc) FROM recordings ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        recorded,
        [
            "2026-12-04T08:00:00.000Z",
            docked,
            docked,
            "2026-11-20T08:00:00.000Z"
        ]
    );
    let offset: Option<i64> = conn
        .query_row(
            "SELECT clock_offset_secs FROM sessions WHERE id = 7",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        offset, None,
        "a docking before this release measured nothing"
    );
}

/// Schema 12 indexes the recordings named by the entries an earlier release wrote: each
/// stem once per entry, nothing for an entry whose list is not JSON or holds no text.
#[test]
fn a_version_11_register_indexes_the_recordings_its_audit_names() {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = Connection::open(dir.path().join("r.sqlite")).unwrap();
    conn.execute_batch(&MIGRATIONS[..11].concat()).unwrap();
    conn.pragma_update(None, "user_version", 11).unwrap();
    conn.execute_batch(
        r#"INSERT INTO audit (seq, at, author, action, recordings, prev_hash, hash) VALUES
             (1, 't', 'a', 'consultation', '["S_1"]', 'g', 'h1'),
             (2, 't', 'a', 'extraction', '["S_1","S_2","S_1"]', 'h1', 'h2'),
             (3, 't', 'a', 'consultation', 'not json', 'h2', 'h3'),
             (4, 't', 'a', 'consultation', '[7, null, "S_3"]', 'h3', 'h4');"#,
    )
    .unwrap();
    migrate(&mut conn).unwrap();
    let rows = |conn: &Connection| -> Vec<(String, i64)> {
        let mut stmt = conn
            .prepare("SELECT stem, seq FROM audit_recordings ORDER BY seq, stem")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let s = |stem: &str, seq| (stem.to_string(), seq);
    assert_eq!(
        rows(&conn),
        [s("S_1", 1), s("S_1", 2), s("S_2", 2), s("S_3", 4)]
    );
    // An entry written after the upgrade is indexed by the trigger.
    conn.execute(
        r#"INSERT INTO audit (seq, at, author, action, recordings, prev_hash, hash)
           VALUES (5, 't', 'a', 'consultation', '["S_2"]', 'h4', 'h5')"#,
        [],
    )
    .unwrap();
    assert_eq!(rows(&conn).last(), Some(&s("S_2", 5)));
}

/// A register made by the release before the camera's logs (schema 12) opens and upgrades
/// to 13 keeping its rows; a log line is then imported once per camera, log and identity.
#[test]
fn a_version_12_register_gains_the_camera_logs_and_imports_each_line_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.sqlite");
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(&MIGRATIONS[..12].concat()).unwrap();
    conn.pragma_update(None, "user_version", 12).unwrap();
    conn.execute_batch(
        "INSERT INTO cameras VALUES ('S', NULL, NULL, 't', 't');
         INSERT INTO sessions (id, camera, source, profile, started_at) VALUES (7, 'S', 'x', 'p', 't');
         INSERT INTO recordings (id, camera, stem, session, state, start_utc, discovered_at, updated_at)
             VALUES (3, 'S', 'S_1', 7, 'wiped', 't', 't', 't');",
    )
    .unwrap();
    drop(conn);
    // Opened as the service opens it: the upgrade runs there.
    let mut reg = crate::custody::register::Register::open(&path).unwrap();
    let conn = reg.connection();
    let version: u32 = conn
        .query_row("PRAGMA user_version", (), |r| r.get(0))
        .unwrap();
    assert_eq!(version, CURRENT_VERSION);
    let kept: String = conn
        .query_row("SELECT stem FROM recordings WHERE id = 3", (), |r| r.get(0))
        .unwrap();
    assert_eq!(kept, "S_1");
    conn.execute_batch(
        "INSERT INTO camera_logs (id, session, camera, kind, name, declared_size, size, blake3,
                                  sha256, path, stored_at)
             VALUES (1, 7, 'S', 'playback', 'PLAYBACK.LOG', 10, 10, 'b', 's', 'p', 't');",
    )
    .unwrap();
    let line = "INSERT OR IGNORE INTO camera_log_lines (camera, kind, line_sha256, occurrence, log,
                     line_no, text, status, recording)
                 VALUES ('S', 'playback', 'h', ?1, 1, 1, 'x', 'imported', 3)";
    assert_eq!(conn.execute(line, [1]).unwrap(), 1);
    assert_eq!(conn.execute(line, [1]).unwrap(), 0, "the same line again");
    assert_eq!(conn.execute(line, [2]).unwrap(), 1, "its second occurrence");
    let dangling: i64 = conn
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", (), |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(dangling, 0);
}

/// A register made before sites (schema 13) upgrades keeping its rows, each of them at
/// the unnamed site '' (a single-site install's), which the list of sites then names.
#[test]
fn a_version_13_register_puts_its_rows_at_the_unnamed_site() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.sqlite");
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(&MIGRATIONS[..13].concat()).unwrap();
    conn.pragma_update(None, "user_version", 13).unwrap();
    conn.execute_batch(
        "INSERT INTO cameras VALUES ('S', NULL, NULL, 't', 't');
         INSERT INTO sessions (id, camera, source, profile, started_at) VALUES (7, 'S', 'x', 'p', 't');
         INSERT INTO recordings (id, camera, stem, session, state, start_utc, discovered_at, updated_at)
             VALUES (3, 'S', 'S_1', 7, 'wiped', 't', 't', 't');
         INSERT INTO dock_events (camera, event, at) VALUES ('S', 'docked', 't');",
    )
    .unwrap();
    drop(conn);
    let mut reg = crate::custody::register::Register::open(&path).unwrap();
    let conn = reg.connection();
    for table in ["recordings", "sessions", "dock_events"] {
        let sites: Vec<String> = conn
            .prepare(&format!("SELECT site FROM {table}"))
            .unwrap()
            .query_map((), |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(sites, [""], "{table}");
    }
    let known: Vec<String> = conn
        .prepare("SELECT name FROM sites")
        .unwrap()
        .query_map((), |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(known, [""]);
}

/// A single dock's register (schema 14) keeps its store's identity through the upgrade to
/// one identity per site: the unnamed site's, so that the same store still opens.
#[test]
fn a_version_14_register_keeps_its_store_identity_as_the_unnamed_sites() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.sqlite");
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(&MIGRATIONS[..14].concat()).unwrap();
    conn.pragma_update(None, "user_version", 14).unwrap();
    conn.execute_batch(
        "INSERT INTO store_identity (id, identity, recorded_at) VALUES (1, 'store-1', 't');",
    )
    .unwrap();
    drop(conn);
    let mut reg = crate::custody::register::Register::open(&path).unwrap();
    assert_eq!(reg.store_identity().unwrap().as_deref(), Some("store-1"));
    // Another site of the same register has none yet: it records its own store.
    reg.connection().set_site("Valence").unwrap();
    assert_eq!(reg.store_identity().unwrap(), None);
    reg.record_store_identity("store-2", chrono::Utc::now())
        .unwrap();
    assert_eq!(reg.store_identity().unwrap().as_deref(), Some("store-2"));
    reg.connection().set_site("").unwrap();
    assert_eq!(reg.store_identity().unwrap().as_deref(), Some("store-1"));
}
