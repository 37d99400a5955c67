//! The register's schema, as numbered migrations applied in order inside one transaction.
//!
//! `PRAGMA user_version` holds the number of the last migration applied. A migration is
//! never edited once released: a change is a new migration.

use rusqlite::Connection;

use super::RegisterError;

/// Each entry moves the schema from version `index` to `index + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: cameras, ingest sessions, recordings and their state changes.
    r#"
    CREATE TABLE cameras (
        serial      TEXT PRIMARY KEY,
        model       TEXT,
        firmware    TEXT,
        first_seen  TEXT NOT NULL,
        last_seen   TEXT NOT NULL
    ) STRICT;

    CREATE TABLE sessions (
        id           INTEGER PRIMARY KEY,
        camera       TEXT NOT NULL REFERENCES cameras(serial),
        source       TEXT NOT NULL,
        profile      TEXT NOT NULL,
        started_at   TEXT NOT NULL,
        finished_at  TEXT,
        outcome      TEXT
    ) STRICT;

    CREATE TABLE recordings (
        id              INTEGER PRIMARY KEY,
        camera          TEXT NOT NULL REFERENCES cameras(serial),
        stem            TEXT NOT NULL,
        session         INTEGER NOT NULL REFERENCES sessions(id),
        state           TEXT NOT NULL CHECK (state IN
                            ('discovered', 'confirmed', 'quarantined', 'wiped')),
        start_utc       TEXT NOT NULL,
        end_utc         TEXT,
        prerecord_secs  INTEGER,
        duration_secs   REAL,
        video_size      INTEGER,
        video_blake3    TEXT,
        video_sha256    TEXT,
        video_path      TEXT,
        sidecar_size    INTEGER,
        sidecar_blake3  TEXT,
        sidecar_sha256  TEXT,
        sidecar_path    TEXT,
        gps_fixes       INTEGER,
        gps_no_fix      INTEGER,
        gps_first_at    TEXT,
        gps_first_lat   REAL,
        gps_first_lon   REAL,
        gps_last_at     TEXT,
        gps_last_lat    REAL,
        gps_last_lon    REAL,
        gps_min_lat     REAL,
        gps_max_lat     REAL,
        gps_min_lon     REAL,
        gps_max_lon     REAL,
        flags           TEXT NOT NULL DEFAULT '[]',
        reasons         TEXT NOT NULL DEFAULT '[]',
        discovered_at   TEXT NOT NULL,
        updated_at      TEXT NOT NULL
    ) STRICT;
    CREATE INDEX recordings_by_stem ON recordings(camera, stem);
    CREATE INDEX recordings_by_start ON recordings(start_utc);

    CREATE TABLE recording_events (
        id         INTEGER PRIMARY KEY,
        recording  INTEGER NOT NULL REFERENCES recordings(id),
        session    INTEGER REFERENCES sessions(id),
        at         TEXT NOT NULL,
        state      TEXT NOT NULL,
        detail     TEXT NOT NULL DEFAULT ''
    ) STRICT;
    CREATE INDEX recording_events_by_recording ON recording_events(recording);
    "#,
    // 2: when each camera was docked and undocked (its return and issue times).
    r#"
    CREATE TABLE dock_events (
        id       INTEGER PRIMARY KEY,
        camera   TEXT NOT NULL,
        event    TEXT NOT NULL CHECK (event IN ('docked', 'undocked')),
        at       TEXT NOT NULL,
        slot     TEXT NOT NULL DEFAULT ''
    ) STRICT;
    CREATE INDEX dock_events_by_camera ON dock_events(camera, at);
    "#,
];

/// The schema version this build writes.
pub const CURRENT_VERSION: u32 = MIGRATIONS.len() as u32;

/// Brings the schema up to `CURRENT_VERSION`, refusing a register made by a newer build.
pub fn migrate(conn: &mut Connection) -> Result<(), RegisterError> {
    let found: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > CURRENT_VERSION {
        return Err(RegisterError::TooNew {
            found,
            supported: CURRENT_VERSION,
        });
    }
    let tx = conn.transaction()?;
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as u32 + 1)?;
    }
    tx.commit()?;
    Ok(())
}
