//! The register's schema, as numbered migrations applied in order inside one transaction.
//!
//! `PRAGMA user_version` holds the number of the last migration applied. A migration is
//! never edited once released: a change is a new migration.

use rusqlite::{Connection, TransactionBehavior};

use super::{Conn, RegisterError, Tx};

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
    // 3: recordings may become `purged`. SQLite cannot alter a CHECK, so the table is
    // rebuilt (https://sqlite.org/lang_altertable.html, "other kinds of table schema
    // changes"); `migrate` turns foreign keys off around it and checks them before commit.
    // The state stays in one column because the register is the truth: a purged recording
    // keeps its row, hashes and paths, and every reader sees its state without a join.
    r#"
    CREATE TABLE recordings_rebuilt (
        id              INTEGER PRIMARY KEY,
        camera          TEXT NOT NULL REFERENCES cameras(serial),
        stem            TEXT NOT NULL,
        session         INTEGER NOT NULL REFERENCES sessions(id),
        state           TEXT NOT NULL CHECK (state IN
                            ('discovered', 'confirmed', 'quarantined', 'wiped', 'purged')),
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
    INSERT INTO recordings_rebuilt (id, camera, stem, session, state, start_utc, end_utc,
        prerecord_secs, duration_secs, video_size, video_blake3, video_sha256, video_path,
        sidecar_size, sidecar_blake3, sidecar_sha256, sidecar_path, gps_fixes, gps_no_fix,
        gps_first_at, gps_first_lat, gps_first_lon, gps_last_at, gps_last_lat, gps_last_lon,
        gps_min_lat, gps_max_lat, gps_min_lon, gps_max_lon, flags, reasons, discovered_at,
        updated_at)
    SELECT id, camera, stem, session, state, start_utc, end_utc,
        prerecord_secs, duration_secs, video_size, video_blake3, video_sha256, video_path,
        sidecar_size, sidecar_blake3, sidecar_sha256, sidecar_path, gps_fixes, gps_no_fix,
        gps_first_at, gps_first_lat, gps_first_lon, gps_last_at, gps_last_lat, gps_last_lon,
        gps_min_lat, gps_max_lat, gps_min_lon, gps_max_lon, flags, reasons, discovered_at,
        updated_at
    FROM recordings;
    DROP TABLE recordings;
    ALTER TABLE recordings_rebuilt RENAME TO recordings;
    CREATE INDEX recordings_by_stem ON recordings(camera, stem);
    CREATE INDEX recordings_by_start ON recordings(start_utc);
    "#,
    // 4: the perception register: agents, enrolled cameras, who was issued which camera
    // when, and to whom each recording is attributed.
    r#"
    CREATE TABLE agents (
        matricule   TEXT PRIMARY KEY,
        name        TEXT NOT NULL,
        brigade     TEXT NOT NULL,
        unix_user   TEXT UNIQUE,
        added_at    TEXT NOT NULL,
        added_by    TEXT NOT NULL
    ) STRICT;

    CREATE TABLE enrolments (
        serial       TEXT PRIMARY KEY,
        model        TEXT,
        enrolled_at  TEXT NOT NULL,
        enrolled_by  TEXT NOT NULL,
        state        TEXT NOT NULL DEFAULT 'in-service'
                         CHECK (state IN ('in-service', 'withdrawn'))
    ) STRICT;

    CREATE TABLE assignments (
        id           INTEGER PRIMARY KEY,
        camera       TEXT NOT NULL REFERENCES enrolments(serial),
        agent        TEXT NOT NULL REFERENCES agents(matricule),
        issued_at    TEXT NOT NULL,
        issued_by    TEXT NOT NULL,
        returned_at  TEXT,
        returned_by  TEXT
    ) STRICT;
    CREATE INDEX assignments_by_camera ON assignments(camera, issued_at);
    CREATE INDEX assignments_by_agent ON assignments(agent, issued_at);

    CREATE TABLE attributions (
        id             INTEGER PRIMARY KEY,
        recording      INTEGER NOT NULL REFERENCES recordings(id),
        agent          TEXT NOT NULL REFERENCES agents(matricule),
        kind           TEXT NOT NULL CHECK (kind IN ('automatic', 'manual')),
        assignment     INTEGER REFERENCES assignments(id),
        attributed_by  TEXT NOT NULL,
        attributed_at  TEXT NOT NULL,
        reason         TEXT NOT NULL DEFAULT ''
    ) STRICT;
    CREATE INDEX attributions_by_recording ON attributions(recording, id);
    "#,
    // 5: holds: a recording kept past its retention for a procedure.
    r#"
    CREATE TABLE holds (
        id              INTEGER PRIMARY KEY,
        recording       INTEGER NOT NULL REFERENCES recordings(id),
        procedure_ref   TEXT NOT NULL,
        placed_by       TEXT NOT NULL,
        placed_at       TEXT NOT NULL,
        reason          TEXT NOT NULL DEFAULT '',
        released_by     TEXT,
        released_at     TEXT,
        release_reason  TEXT
    ) STRICT;
    CREATE UNIQUE INDEX holds_active ON holds(recording, procedure_ref)
        WHERE released_at IS NULL;
    "#,
    // 6: the audit register: append-only and hash-chained. The triggers stop accidents
    // (an UPDATE or DELETE by hand), not an attacker: the chain and the head logged to the
    // journal are what detect a rewrite. Only expiry deletes, while `audit_expiring` holds
    // a row inside its own transaction.
    r#"
    CREATE TABLE audit (
        seq         INTEGER PRIMARY KEY,
        at          TEXT NOT NULL,
        author      TEXT NOT NULL,
        action      TEXT NOT NULL,
        purpose     TEXT NOT NULL DEFAULT '',
        recipients  TEXT NOT NULL DEFAULT '',
        recordings  TEXT NOT NULL DEFAULT '[]',
        details     TEXT NOT NULL DEFAULT '',
        prev_hash   TEXT NOT NULL,
        hash        TEXT NOT NULL
    ) STRICT;
    CREATE INDEX audit_by_action ON audit(action, at);

    CREATE TABLE audit_anchor (
        id                 INTEGER PRIMARY KEY CHECK (id = 1),
        last_dropped_seq   INTEGER NOT NULL,
        last_dropped_hash  TEXT NOT NULL
    ) STRICT;

    CREATE TABLE audit_expiring (id INTEGER PRIMARY KEY CHECK (id = 1)) STRICT;

    CREATE TRIGGER audit_append_only BEFORE UPDATE ON audit
    BEGIN
        SELECT RAISE(ABORT, 'the audit register is append-only');
    END;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
        WHEN NOT EXISTS (SELECT 1 FROM audit_expiring)
    BEGIN
        SELECT RAISE(ABORT, 'the audit register is append-only; entries leave only by expiry');
    END;
    "#,
    // 7: the register at scale (a million recordings, `docs/performance.md`). Indexes
    // that cover the status's 30-day total, the report's year and the store's totals
    // (sizes inside the index, so no row is read), the purge's expiry order, commands
    // naming a recording by stem. And which recordings still await an attribution, kept
    // by triggers inside the transactions that insert a recording or attribute it, so
    // that finding the few still to attribute (at each ingest, report and day) does not
    // probe every recording. The flag says "pending" rather than "attributed" so that
    // this upgrade writes only the few rows pending, not a million: a long migration at
    // start could outlast systemd's start timeout, and be rolled back at each restart.
    r#"
    DROP INDEX recordings_by_start;
    CREATE INDEX recordings_by_start_sizes
        ON recordings(start_utc, state, video_size, sidecar_size);
    CREATE INDEX recordings_by_discovery
        ON recordings(discovered_at, state, video_size, sidecar_size);
    CREATE INDEX recordings_by_expiry ON recordings(coalesce(end_utc, start_utc), id)
        WHERE state IN ('confirmed', 'quarantined', 'wiped');
    CREATE INDEX recordings_by_stem_only ON recordings(stem);

    ALTER TABLE recordings ADD COLUMN attribution_pending INTEGER NOT NULL DEFAULT 0
        CHECK (attribution_pending IN (0, 1));
    UPDATE recordings SET attribution_pending = 1
        WHERE NOT EXISTS (SELECT 1 FROM attributions t WHERE t.recording = recordings.id);
    CREATE TRIGGER recordings_await_attribution AFTER INSERT ON recordings
    BEGIN
        UPDATE recordings SET attribution_pending = 1 WHERE id = NEW.id;
    END;
    CREATE TRIGGER attributions_end_waiting AFTER INSERT ON attributions
    BEGIN
        UPDATE recordings SET attribution_pending = 0
            WHERE id = NEW.recording AND attribution_pending = 1;
    END;
    CREATE INDEX recordings_unattributed ON recordings(start_utc, id)
        WHERE attribution_pending = 1 AND state != 'discovered';
    "#,
    // One owner, and no going back (issue 9). The store's identity, recorded at its first
    // opening, so that an empty folder where the store's disk should be mounted is refused.
    // The state machine in SQL, so that no writer (another process, a hand edit, a future
    // bug) can move a recording backwards: `wiped` is final on the camera's side (a wipe
    // recorded again, when a camera shows a wiped recording once more, is no step back),
    // and only the purge follows it. One in-flight row per recording, and no second stored row with
    // the same content while the session that stored the first is still running: these
    // are triggers rather than UNIQUE indexes because registers in the field may already
    // hold such rows (races before this version, copies made again after a damaged stored
    // copy); they are left as they are, and only new ones are refused.
    r#"
    CREATE TABLE store_identity (
        id           INTEGER PRIMARY KEY CHECK (id = 1),
        identity     TEXT NOT NULL,
        recorded_at  TEXT NOT NULL
    ) STRICT;

    CREATE TRIGGER recordings_state_machine BEFORE UPDATE OF state ON recordings
        WHEN NOT ((OLD.state = 'discovered' AND NEW.state IN ('confirmed', 'quarantined'))
               OR (OLD.state = 'confirmed' AND NEW.state IN ('wiped', 'purged'))
               OR (OLD.state = 'wiped' AND NEW.state IN ('wiped', 'purged'))
               OR (OLD.state = 'quarantined' AND NEW.state = 'purged'))
    BEGIN
        SELECT RAISE(ABORT, 'recording state change refused: it does not follow the state machine');
    END;

    CREATE TRIGGER recordings_one_in_flight BEFORE INSERT ON recordings
        WHEN NEW.state = 'discovered' AND EXISTS (SELECT 1 FROM recordings o
            WHERE o.camera = NEW.camera AND o.stem = NEW.stem AND o.state = 'discovered')
    BEGIN
        SELECT RAISE(ABORT, 'recording already discovered: one row per recording in flight');
    END;

    CREATE TRIGGER recordings_one_per_content BEFORE UPDATE OF state ON recordings
        WHEN OLD.state = 'discovered' AND EXISTS (SELECT 1 FROM recordings o
            JOIN sessions s ON s.id = o.session
            WHERE o.id != NEW.id AND o.camera = NEW.camera AND o.stem = NEW.stem
              AND o.state != 'discovered' AND o.session != NEW.session
              AND s.finished_at IS NULL
              AND o.video_sha256 IS NEW.video_sha256 AND o.sidecar_sha256 IS NEW.sidecar_sha256)
    BEGIN
        SELECT RAISE(ABORT, 'recording already stored by another ingest running at the same time');
    END;
    "#,
    // 9: camera clocks (evidence::trusted_time). Each recording keeps the time its
    // retention counts from, its start on the same clock (what reports count by day),
    // which clock gave them and the camera's offset from GPS; each docking (session) keeps
    // the camera's measured offset. NULL in the new columns means "the camera's date", so
    // that this upgrade writes only the rows whose date cannot be true or was already past
    // a month's retention at their docking (a reset clock's 2000-01-01: they count from
    // their docking), not a million rows (62 to 135 s measured, beyond systemd's start
    // timeout; this way about 20 s, mostly the two index builds). The purge and the
    // reports read expression indexes over the trusted times.
    r#"
    ALTER TABLE recordings ADD COLUMN retention_from TEXT;
    ALTER TABLE recordings ADD COLUMN time_source TEXT
        CHECK (time_source IN ('camera', 'gps', 'docking'));
    ALTER TABLE recordings ADD COLUMN clock_offset_secs INTEGER;
    ALTER TABLE recordings ADD COLUMN recorded_at TEXT;
    UPDATE recordings SET time_source = 'docking', retention_from = discovered_at,
            recorded_at = discovered_at
        WHERE coalesce(end_utc, start_utc) > discovered_at
            OR julianday(discovered_at) - julianday(coalesce(end_utc, start_utc)) > 31;
    DROP INDEX recordings_by_expiry;
    CREATE INDEX recordings_by_retention
        ON recordings(coalesce(retention_from, end_utc, start_utc), id)
        WHERE state IN ('confirmed', 'quarantined', 'wiped');
    DROP INDEX recordings_by_start_sizes;
    CREATE INDEX recordings_by_recorded_sizes
        ON recordings(coalesce(recorded_at, start_utc), state, video_size, sidecar_size);

    ALTER TABLE sessions ADD COLUMN clock_offset_secs INTEGER;
    ALTER TABLE sessions ADD COLUMN clock_offset_basis TEXT
        CHECK (clock_offset_basis IN ('gps', 'docking'));
    ALTER TABLE sessions ADD COLUMN clock_wrong INTEGER CHECK (clock_wrong IN (0, 1));
    "#,
    // The S3 replica's queue (src/replica/): one row per recording to replicate, kept
    // across restarts; 'replicated' once HEAD and a read-back GET proved every object,
    // with their version ids and retain-until. `replica_anchors`: the audit chain heads
    // written to the bucket.
    r#"
    CREATE TABLE replica_queue (
        recording       INTEGER PRIMARY KEY REFERENCES recordings(id),
        state           TEXT NOT NULL CHECK (state IN
                            ('pending', 'replicated', 'expired', 'deleted')),
        queued_at       TEXT NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt    TEXT NOT NULL,
        last_error      TEXT NOT NULL DEFAULT '',
        video_key       TEXT,
        video_version   TEXT,
        sidecar_key     TEXT,
        sidecar_version TEXT,
        manifest_key    TEXT,
        manifest_version TEXT,
        retain_until    TEXT,
        legal_hold      INTEGER NOT NULL DEFAULT 0 CHECK (legal_hold IN (0, 1)),
        locks_dirty     INTEGER NOT NULL DEFAULT 0 CHECK (locks_dirty IN (0, 1)),
        replicated_at   TEXT
    ) STRICT;
    CREATE INDEX replica_queue_due ON replica_queue(state, next_attempt);
    CREATE INDEX replica_queue_expiry ON replica_queue(retain_until)
        WHERE state = 'replicated';
    CREATE INDEX replica_queue_dirty ON replica_queue(recording) WHERE locks_dirty = 1;

    -- Queued inside the transaction that confirms the recording, so that no crash can
    -- lose one; recordings confirmed before this migration are queued by the uploader's
    -- first pass (not here: a long migration at start could outlast systemd's timeout).
    CREATE TRIGGER replica_enqueue AFTER UPDATE OF state ON recordings
        WHEN NEW.state = 'confirmed' AND OLD.state != 'confirmed'
    BEGIN
        INSERT OR IGNORE INTO replica_queue (recording, state, queued_at, next_attempt)
            VALUES (NEW.id, 'pending', NEW.updated_at, NEW.updated_at);
    END;
    -- A hold placed or released: the uploader sets or clears the legal hold.
    CREATE TRIGGER replica_hold_placed AFTER INSERT ON holds
    BEGIN
        UPDATE replica_queue SET locks_dirty = 1 WHERE recording = NEW.recording;
    END;
    CREATE TRIGGER replica_hold_released AFTER UPDATE OF released_at ON holds
    BEGIN
        UPDATE replica_queue SET locks_dirty = 1 WHERE recording = NEW.recording;
    END;

    CREATE TABLE replica_anchors (
        id          INTEGER PRIMARY KEY,
        at          TEXT NOT NULL,
        occasion    TEXT NOT NULL,
        audit_seq   INTEGER NOT NULL,
        audit_hash  TEXT NOT NULL,
        key         TEXT NOT NULL,
        version     TEXT NOT NULL
    ) STRICT;
    "#,
    // Anonymised derivatives for training (`sentinel-dockctl anonymise`): each one's files
    // in the store's derived/ with their hashes, its voice key, and the reviewer's decision.
    // A voice key is never reused: UNIQUE (pitch, formant).
    r#"
    CREATE TABLE derivatives (
        id              INTEGER PRIMARY KEY,
        recording       INTEGER NOT NULL REFERENCES recordings(id),
        made_at         TEXT NOT NULL,
        made_by         TEXT NOT NULL,
        audit_seq       INTEGER NOT NULL,
        video_path      TEXT NOT NULL UNIQUE,
        video_size      INTEGER NOT NULL,
        video_blake3    TEXT NOT NULL,
        video_sha256    TEXT NOT NULL,
        manifest_path   TEXT NOT NULL UNIQUE,
        manifest_size   INTEGER NOT NULL,
        manifest_blake3 TEXT NOT NULL,
        manifest_sha256 TEXT NOT NULL,
        model_sha256    TEXT NOT NULL,
        voice           TEXT NOT NULL CHECK (voice IN ('mask', 'mute', 'keep')),
        pitch           REAL,
        formant         REAL,
        accepted_at     TEXT,
        accepted_by     TEXT,
        accept_reason   TEXT,
        UNIQUE (pitch, formant)
    );
    CREATE INDEX derivatives_by_recording ON derivatives(recording, id);
    "#,
    // 12: the console's pages at a million recordings. `search` walks the start-time
    // index backwards and stops at a page; schema 8 dropped the index it walked
    // (recordings_by_start_sizes), and every search sorted the whole register (1.1 s).
    // `audit_recordings`: which audit entries name which recording, so that a recording's
    // custody (`show`) reads an index instead of every entry's JSON list (3.1 s). Kept by
    // triggers, so that no writer of the audit can forget it; an entry whose list is not
    // JSON names nothing here (the chain's verification is what reports it).
    r#"
    CREATE INDEX recordings_by_start ON recordings(start_utc, id);

    CREATE TABLE audit_recordings (
        stem    TEXT NOT NULL,
        seq     INTEGER NOT NULL,
        PRIMARY KEY (stem, seq)
    ) WITHOUT ROWID, STRICT;
    CREATE INDEX audit_recordings_by_seq ON audit_recordings(seq);

    INSERT OR IGNORE INTO audit_recordings (stem, seq)
        SELECT j.value, audit.seq
        FROM audit, json_each(CASE WHEN json_valid(audit.recordings)
                                   THEN audit.recordings ELSE '[]' END) j
        WHERE j.type = 'text';

    CREATE TRIGGER audit_recordings_named AFTER INSERT ON audit
    BEGIN
        INSERT OR IGNORE INTO audit_recordings (stem, seq)
            SELECT j.value, NEW.seq
            FROM json_each(CASE WHEN json_valid(NEW.recordings)
                                THEN NEW.recordings ELSE '[]' END) j
            WHERE j.type = 'text';
    END;
    -- Expiry is the only deletion the audit allows; what it drops leaves the index too.
    CREATE TRIGGER audit_recordings_expired AFTER DELETE ON audit
    BEGIN
        DELETE FROM audit_recordings WHERE seq = OLD.seq;
    END;
    "#,
    // 13: the camera's own logs (profile version 2). Each docking's copy of each log file,
    // stored and proven like a recording (`camera_logs`); and each line of PLAYBACK.LOG and
    // EVENTS.LOG imported once, identified by its content (the SHA-256 of its bytes and its
    // occurrence among identical lines): the camera appends to its logs, so the next docking
    // reads the same lines again. A rejected line is kept too, so it is reported once.
    // `audit_seq` is the consultation entry an on-camera playback was written as.
    r#"
    CREATE TABLE camera_logs (
        id             INTEGER PRIMARY KEY,
        session        INTEGER NOT NULL REFERENCES sessions(id),
        camera         TEXT NOT NULL,
        kind           TEXT NOT NULL CHECK (kind IN ('playback', 'events', 'system')),
        name           TEXT NOT NULL,
        declared_size  INTEGER NOT NULL,
        size           INTEGER NOT NULL,
        truncated      INTEGER NOT NULL DEFAULT 0 CHECK (truncated IN (0, 1)),
        blake3         TEXT NOT NULL,
        sha256         TEXT NOT NULL,
        path           TEXT NOT NULL,
        lines          INTEGER NOT NULL DEFAULT 0,
        new_lines      INTEGER NOT NULL DEFAULT 0,
        rejected       INTEGER NOT NULL DEFAULT 0,
        stored_at      TEXT NOT NULL,
        UNIQUE (session, kind)
    ) STRICT;
    CREATE INDEX camera_logs_by_camera ON camera_logs(camera, session);

    CREATE TABLE camera_log_lines (
        id           INTEGER PRIMARY KEY,
        camera       TEXT NOT NULL,
        kind         TEXT NOT NULL CHECK (kind IN ('playback', 'events')),
        line_sha256  TEXT NOT NULL,
        occurrence   INTEGER NOT NULL CHECK (occurrence >= 1),
        log          INTEGER NOT NULL REFERENCES camera_logs(id),
        line_no      INTEGER NOT NULL,
        text         TEXT NOT NULL,
        status       TEXT NOT NULL CHECK (status IN ('imported', 'rejected')),
        camera_time  TEXT,
        event        TEXT,
        stem         TEXT,
        recording    INTEGER REFERENCES recordings(id),
        detail       TEXT NOT NULL DEFAULT '',
        audit_seq    INTEGER,
        UNIQUE (camera, kind, line_sha256, occurrence)
    ) STRICT;
    CREATE INDEX camera_log_lines_by_stem ON camera_log_lines(stem) WHERE stem IS NOT NULL;
    CREATE INDEX camera_log_lines_by_time ON camera_log_lines(camera, camera_time);
    "#,
    // 14: sites (issue 23): the rows a daemon writes carry its `[site] name` ('' for a
    // single-site install), which the INSERTs take from the connection's `site()`
    // (`Register::set_site`): a column default may not call a function. `sites` lists the
    // sites recordings were collected at, so that the console's choice of sites reads a
    // handful of rows, not a million recordings. `recordings_by_site` serves the report of
    // one site as `recordings_by_recorded_sizes` serves the whole register's.
    r#"
    ALTER TABLE recordings ADD COLUMN site TEXT NOT NULL DEFAULT '';
    ALTER TABLE sessions ADD COLUMN site TEXT NOT NULL DEFAULT '';
    ALTER TABLE dock_events ADD COLUMN site TEXT NOT NULL DEFAULT '';
    ALTER TABLE audit ADD COLUMN site TEXT NOT NULL DEFAULT '';
    CREATE INDEX recordings_by_site
        ON recordings(site, coalesce(recorded_at, start_utc), state, video_size, sidecar_size);

    CREATE TABLE sites (
        name  TEXT PRIMARY KEY
    ) STRICT;
    INSERT INTO sites (name) SELECT '' WHERE EXISTS (SELECT 1 FROM recordings)
        ON CONFLICT DO NOTHING;
    CREATE TRIGGER sites_named AFTER INSERT ON recordings
    BEGIN
        INSERT INTO sites (name) VALUES (NEW.site) ON CONFLICT DO NOTHING;
    END;
    "#,
    // 15: each site's store (issue 23): a force's docks share one register and each has
    // its own store, so the store's identity is recorded per site ('' for a single-site
    // install, whose recorded identity is kept).
    r#"
    CREATE TABLE store_identities (
        site         TEXT PRIMARY KEY,
        identity     TEXT NOT NULL,
        recorded_at  TEXT NOT NULL
    ) STRICT;
    INSERT INTO store_identities (site, identity, recorded_at)
        SELECT '', identity, recorded_at FROM store_identity;
    DROP TABLE store_identity;
    "#,
];

/// The migrations, for tests that build a register as an earlier release left it.
#[cfg(test)]
pub(super) const MIGRATIONS_FOR_TESTS: &[&str] = MIGRATIONS;

/// The schema version this build writes.
pub const CURRENT_VERSION: u32 = MIGRATIONS.len() as u32;

/// Brings the schema up to `CURRENT_VERSION`, refusing a register made by a newer build.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), RegisterError> {
    if version(conn)? == CURRENT_VERSION {
        return Ok(());
    }
    // A table rebuild drops a table others refer to; foreign keys cannot be switched off
    // inside a transaction, so they are off around it and checked before the commit.
    conn.pragma_update(None, "foreign_keys", false)?;
    let applied = apply(conn);
    conn.pragma_update(None, "foreign_keys", true)?;
    applied
}

fn version(conn: &Connection) -> Result<u32, RegisterError> {
    let found: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > CURRENT_VERSION {
        return Err(RegisterError::TooNew {
            found,
            supported: CURRENT_VERSION,
        });
    }
    Ok(found)
}

fn apply(conn: &mut Connection) -> Result<(), RegisterError> {
    // Two processes may create or upgrade the register at once: the write lock is taken
    // first (waiting for the other), and the version read again under it, so that the
    // second finds the work done instead of creating the tables again.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found = version(&tx)?;
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as u32 + 1)?;
    }
    let dangling: i64 = tx.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
        r.get(0)
    })?;
    if dangling > 0 {
        return Err(RegisterError::Migration { dangling });
    }
    tx.commit()?;
    Ok(())
}

/// The register on PostgreSQL as SQLite's migrations leave it at [`POSTGRES_BASE`].
const POSTGRES_SCHEMA: &str = include_str!("schema/postgres.sql");
/// The version `POSTGRES_SCHEMA` stands for.
const POSTGRES_BASE: u32 = 15;
/// PostgreSQL's twin of each SQLite migration after [`POSTGRES_BASE`], in order.
const POSTGRES_MIGRATIONS: &[&str] = &[];
const _: () = assert!(POSTGRES_BASE + POSTGRES_MIGRATIONS.len() as u32 == CURRENT_VERSION);

/// Creates or upgrades a PostgreSQL register, once however many daemons start at once:
/// each takes the register's write lock first (a transaction-scoped advisory lock), then
/// reads the version under it, so that the others find the work done.
pub(crate) fn migrate_postgres(conn: &Conn) -> Result<(), RegisterError> {
    let tx = Tx::begin(conn, true)?;
    // Asked first, not `CREATE TABLE IF NOT EXISTS`, which tells every connection's log
    // that the table exists.
    let made: bool = tx.query_row(
        "SELECT to_regclass('register_schema') IS NOT NULL",
        (),
        |r| r.get(0),
    )?;
    if !made {
        tx.execute_batch(
            "CREATE TABLE register_schema (
                id       bigint PRIMARY KEY CHECK (id = 1),
                version  bigint NOT NULL
            )",
        )?;
    }
    let found: Option<u32> = tx
        .query_row(
            "SELECT version FROM register_schema WHERE id = 1",
            (),
            |r| r.get(0),
        )
        .map(Some)
        .or_else(|e| match e {
            RegisterError::Sql(rusqlite::Error::QueryReturnedNoRows) => Ok(None),
            e => Err(e),
        })?;
    let from = match found {
        Some(v) if v > CURRENT_VERSION => {
            return Err(RegisterError::TooNew {
                found: v,
                supported: CURRENT_VERSION,
            });
        }
        Some(v) if v == CURRENT_VERSION => return tx.commit(),
        Some(v) => v,
        None => {
            tx.execute_batch(POSTGRES_SCHEMA)?;
            POSTGRES_BASE
        }
    };
    for sql in POSTGRES_MIGRATIONS
        .iter()
        .skip(from.saturating_sub(POSTGRES_BASE) as usize)
    {
        tx.execute_batch(sql)?;
    }
    tx.execute(
        "INSERT INTO register_schema (id, version) VALUES (1, ?1)
         ON CONFLICT (id) DO UPDATE SET version = excluded.version",
        [CURRENT_VERSION],
    )?;
    tx.commit()
}

#[cfg(test)]
mod tests;
