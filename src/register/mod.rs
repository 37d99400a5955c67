//! The SQLite register: cameras, ingest sessions, recordings and every state change.
//!
//! The register is the truth the daemon resumes from after a crash, so every state change
//! is one committed transaction, in WAL mode with `synchronous=FULL` (durable per commit
//! across power loss; `NORMAL` is not).

mod schema;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::digest::Digests;

pub use schema::CURRENT_VERSION;

/// Why the register could not be opened, read or written.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    /// The file could not be opened or set up.
    #[error(
        "cannot open the register {path}: {source} (check that its folder exists and belongs to the service user)"
    )]
    Open {
        /// The register file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// The file was written by a newer sentinel-dock.
    #[error(
        "the register's schema is version {found}, newer than this build supports ({supported}): install the newer sentinel-dock, or restore a backup"
    )]
    TooNew {
        /// The version in the file.
        found: u32,
        /// The newest version this build knows.
        supported: u32,
    },
    /// A query failed (disk full, file locked, corrupt database...).
    #[error("register query failed: {0}")]
    Sql(#[from] rusqlite::Error),
    /// A stored value does not parse (the database was edited by hand?).
    #[error("register row {table}#{id} holds an unreadable {column}: `{value}`")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// The row.
        id: i64,
        /// The column.
        column: &'static str,
        /// What it holds.
        value: String,
    },
}

/// Where a recording is in its way through the system; the register stores it by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordingState {
    /// Seen on a camera; not yet proven stored.
    Discovered,
    /// Stored, read back with matching hashes, and all integrity rules hold: may be wiped.
    Confirmed,
    /// Stored with its hashes, but an integrity rule failed: never wiped automatically.
    Quarantined,
    /// Confirmed, then removed from the camera.
    Wiped,
}

impl RecordingState {
    /// The name stored in the register.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordingState::Discovered => "discovered",
            RecordingState::Confirmed => "confirmed",
            RecordingState::Quarantined => "quarantined",
            RecordingState::Wiped => "wiped",
        }
    }

    fn parse(text: &str) -> Option<RecordingState> {
        Some(match text {
            "discovered" => RecordingState::Discovered,
            "confirmed" => RecordingState::Confirmed,
            "quarantined" => RecordingState::Quarantined,
            "wiped" => RecordingState::Wiped,
            _ => return None,
        })
    }
}

/// A camera arriving at or leaving the dock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DockEvent {
    /// Its link appeared in the dock directory: the end of a shift (a return).
    Docked,
    /// Its link disappeared: taken from the dock (an issue, once attributed).
    Undocked,
}

impl DockEvent {
    /// The name stored in the register.
    pub fn as_str(self) -> &'static str {
        match self {
            DockEvent::Docked => "docked",
            DockEvent::Undocked => "undocked",
        }
    }
}

/// Row id of an ingest session.
pub type SessionId = i64;
/// Row id of a recording.
pub type RecordingId = i64;

/// What the camera says about itself.
#[derive(Debug, Clone, Default)]
pub struct CameraIdentity {
    /// The camera's serial (USB serial string or `DEVICE.INI`).
    pub serial: String,
    /// Model from `DEVICE.INI`.
    pub model: Option<String>,
    /// Firmware from `DEVICE.INI`.
    pub firmware: Option<String>,
}

/// A stored file: its size, hashes and place relative to the store's root.
#[derive(Debug, Clone)]
pub struct FileFacts {
    /// Bytes.
    pub size: u64,
    /// BLAKE3 and SHA-256 of the bytes read from the camera (equal to the read-back).
    pub digests: Digests,
    /// Path relative to the store's root.
    pub path: String,
}

/// Position fixes of a recording, summarised.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GpsSummary {
    /// Fixes with a position.
    pub fixes: u32,
    /// Seconds reported without a fix.
    pub no_fix: u32,
    /// First fix: time, latitude, longitude.
    pub first: Option<(DateTime<Utc>, f64, f64)>,
    /// Last fix: time, latitude, longitude.
    pub last: Option<(DateTime<Utc>, f64, f64)>,
    /// Bounding box: min latitude, max latitude, min longitude, max longitude.
    pub bbox: Option<(f64, f64, f64, f64)>,
}

/// Everything learnt about a recording once its copy is proven, committed in one transaction.
#[derive(Debug, Clone)]
pub struct StoredFacts {
    /// End of the recording from the sidecar's trailer, when present.
    pub end: Option<DateTime<Utc>>,
    /// Pre-recording seconds from the sidecar's header, when present.
    pub prerecord_secs: Option<u32>,
    /// Duration of the video from its ISO BMFF structure, when readable.
    pub duration_secs: Option<f64>,
    /// The stored video, when the camera had one.
    pub video: Option<FileFacts>,
    /// The stored sidecar, when the camera had one.
    pub sidecar: Option<FileFacts>,
    /// Position fixes.
    pub gps: GpsSummary,
    /// Reported, not blocking (fixes out of window...).
    pub flags: Vec<String>,
    /// Why the recording is quarantined (empty when confirmed).
    pub reasons: Vec<String>,
}

/// A recording as the register knows it.
#[derive(Debug, Clone)]
pub struct RecordingRow {
    /// Row id.
    pub id: RecordingId,
    /// Camera serial.
    pub camera: String,
    /// `<SERIAL>_<YYYYMMDD>_<HHMMSS>_<NNNN>`.
    pub stem: String,
    /// Current state.
    pub state: RecordingState,
    /// The stored video's size and hashes, once stored.
    pub video: Option<FileFacts>,
    /// The stored sidecar's size and hashes, once stored.
    pub sidecar: Option<FileFacts>,
    /// Reported flags.
    pub flags: Vec<String>,
    /// Quarantine reasons.
    pub reasons: Vec<String>,
}

/// The register, open on one SQLite file.
pub struct Register {
    conn: Connection,
}

/// Formats a time the way every register column holds it: RFC 3339, UTC, milliseconds.
pub fn format_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

impl Register {
    /// Opens (creating if needed) the register and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Register, RegisterError> {
        let open_err = |source| RegisterError::Open {
            path: path.to_path_buf(),
            source,
        };
        let mut conn = Connection::open(path).map_err(open_err)?;
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(open_err)?;
        // The pragmas are per connection: set them on every open, before anything else.
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(open_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(open_err(rusqlite::Error::InvalidParameterName(format!(
                "journal_mode is {mode}, WAL is required"
            ))));
        }
        conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;")
            .map_err(open_err)?;
        schema::migrate(&mut conn)?;
        Ok(Register { conn })
    }

    /// Records that a camera was seen, creating it on first sight.
    pub fn upsert_camera(
        &mut self,
        camera: &CameraIdentity,
        at: DateTime<Utc>,
    ) -> Result<(), RegisterError> {
        let at = format_time(at);
        self.conn.execute(
            "INSERT INTO cameras (serial, model, firmware, first_seen, last_seen)
             VALUES (?1, ?2, ?3, ?4, ?4)
             ON CONFLICT(serial) DO UPDATE SET
                model = coalesce(excluded.model, model),
                firmware = coalesce(excluded.firmware, firmware),
                last_seen = excluded.last_seen",
            params![camera.serial, camera.model, camera.firmware, at],
        )?;
        Ok(())
    }

    /// Opens an ingest session for a camera and a source.
    pub fn begin_session(
        &mut self,
        camera: &str,
        source: &str,
        profile: &str,
        at: DateTime<Utc>,
    ) -> Result<SessionId, RegisterError> {
        self.conn.execute(
            "INSERT INTO sessions (camera, source, profile, started_at) VALUES (?1, ?2, ?3, ?4)",
            params![camera, source, profile, format_time(at)],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Closes an ingest session with its outcome (`complete`, `attention`, `failed: ...`).
    pub fn finish_session(
        &mut self,
        session: SessionId,
        outcome: &str,
        at: DateTime<Utc>,
    ) -> Result<(), RegisterError> {
        self.conn.execute(
            "UPDATE sessions SET finished_at = ?2, outcome = ?3 WHERE id = ?1",
            params![session, format_time(at), outcome],
        )?;
        Ok(())
    }

    /// The recordings of a camera with this stem, oldest first (more than one after a conflict).
    pub fn recordings_by_stem(
        &self,
        camera: &str,
        stem: &str,
    ) -> Result<Vec<RecordingRow>, RegisterError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, camera, stem, state, video_size, video_blake3, video_sha256, video_path,
                    sidecar_size, sidecar_blake3, sidecar_sha256, sidecar_path, flags, reasons
             FROM recordings WHERE camera = ?1 AND stem = ?2 ORDER BY id",
        )?;
        let rows = stmt.query_map(params![camera, stem], read_row)?;
        rows.map(|r| r?.into_row()).collect()
    }

    /// The recordings of a camera in one state, oldest first.
    pub fn recordings_in_state(
        &self,
        camera: &str,
        state: RecordingState,
    ) -> Result<Vec<RecordingRow>, RegisterError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, camera, stem, state, video_size, video_blake3, video_sha256, video_path,
                    sidecar_size, sidecar_blake3, sidecar_sha256, sidecar_path, flags, reasons
             FROM recordings WHERE camera = ?1 AND state = ?2 ORDER BY id",
        )?;
        let rows = stmt.query_map(params![camera, state.as_str()], read_row)?;
        rows.map(|r| r?.into_row()).collect()
    }

    /// One recording by id.
    pub fn recording(&self, id: RecordingId) -> Result<Option<RecordingRow>, RegisterError> {
        self.conn
            .query_row(
                "SELECT id, camera, stem, state, video_size, video_blake3, video_sha256, video_path,
                        sidecar_size, sidecar_blake3, sidecar_sha256, sidecar_path, flags, reasons
                 FROM recordings WHERE id = ?1",
                params![id],
                read_row,
            )
            .optional()?
            .map(RawRow::into_row)
            .transpose()
    }

    /// Records a recording seen on a camera, before anything is copied.
    pub fn insert_discovered(
        &mut self,
        session: SessionId,
        camera: &str,
        stem: &str,
        start: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<RecordingId, RegisterError> {
        let tx = self.conn.transaction()?;
        let at = format_time(at);
        tx.execute(
            "INSERT INTO recordings (camera, stem, session, state, start_utc, discovered_at, updated_at)
             VALUES (?1, ?2, ?3, 'discovered', ?4, ?5, ?5)",
            params![camera, stem, session, format_time(start), at],
        )?;
        let id = tx.last_insert_rowid();
        insert_event(&tx, id, Some(session), &at, RecordingState::Discovered, "")?;
        tx.commit()?;
        Ok(id)
    }

    /// Commits a proven copy: the recording becomes `confirmed` or `quarantined` with its facts.
    pub fn record_stored(
        &mut self,
        id: RecordingId,
        session: SessionId,
        state: RecordingState,
        facts: &StoredFacts,
        at: DateTime<Utc>,
    ) -> Result<(), RegisterError> {
        let tx = self.conn.transaction()?;
        let at = format_time(at);
        let video = facts.video.as_ref();
        let sidecar = facts.sidecar.as_ref();
        let gps = &facts.gps;
        let first = gps.first;
        let last = gps.last;
        let bbox = gps.bbox;
        tx.execute(
            "UPDATE recordings SET state = ?2, end_utc = ?3, prerecord_secs = ?4, duration_secs = ?5,
                video_size = ?6, video_blake3 = ?7, video_sha256 = ?8, video_path = ?9,
                sidecar_size = ?10, sidecar_blake3 = ?11, sidecar_sha256 = ?12, sidecar_path = ?13,
                gps_fixes = ?14, gps_no_fix = ?15,
                gps_first_at = ?16, gps_first_lat = ?17, gps_first_lon = ?18,
                gps_last_at = ?19, gps_last_lat = ?20, gps_last_lon = ?21,
                gps_min_lat = ?22, gps_max_lat = ?23, gps_min_lon = ?24, gps_max_lon = ?25,
                flags = ?26, reasons = ?27, updated_at = ?28
             WHERE id = ?1",
            params![
                id,
                state.as_str(),
                facts.end.map(format_time),
                facts.prerecord_secs,
                facts.duration_secs,
                video.map(|f| f.size as i64),
                video.map(|f| f.digests.blake3_hex()),
                video.map(|f| f.digests.sha256_hex()),
                video.map(|f| f.path.clone()),
                sidecar.map(|f| f.size as i64),
                sidecar.map(|f| f.digests.blake3_hex()),
                sidecar.map(|f| f.digests.sha256_hex()),
                sidecar.map(|f| f.path.clone()),
                gps.fixes,
                gps.no_fix,
                first.map(|f| format_time(f.0)),
                first.map(|f| f.1),
                first.map(|f| f.2),
                last.map(|f| format_time(f.0)),
                last.map(|f| f.1),
                last.map(|f| f.2),
                bbox.map(|b| b.0),
                bbox.map(|b| b.1),
                bbox.map(|b| b.2),
                bbox.map(|b| b.3),
                json_list(&facts.flags),
                json_list(&facts.reasons),
                at,
            ],
        )?;
        let detail = facts.reasons.join("; ");
        insert_event(&tx, id, Some(session), &at, state, &detail)?;
        tx.commit()?;
        Ok(())
    }

    /// Records a state change with no new facts (e.g. `wiped`), with a detail for the trace.
    pub fn record_state(
        &mut self,
        id: RecordingId,
        session: SessionId,
        state: RecordingState,
        detail: &str,
        at: DateTime<Utc>,
    ) -> Result<(), RegisterError> {
        let tx = self.conn.transaction()?;
        let at = format_time(at);
        tx.execute(
            "UPDATE recordings SET state = ?2, updated_at = ?3 WHERE id = ?1",
            params![id, state.as_str(), at],
        )?;
        insert_event(&tx, id, Some(session), &at, state, detail)?;
        tx.commit()?;
        Ok(())
    }

    /// Records a camera docked or undocked at a dock slot (the link's name).
    pub fn record_dock_event(
        &mut self,
        camera: &str,
        event: DockEvent,
        slot: &str,
        at: DateTime<Utc>,
    ) -> Result<(), RegisterError> {
        self.conn.execute(
            "INSERT INTO dock_events (camera, event, at, slot) VALUES (?1, ?2, ?3, ?4)",
            params![camera, event.as_str(), format_time(at), slot],
        )?;
        Ok(())
    }

    /// A camera's dock events, oldest first: (event, time, slot).
    pub fn dock_events(
        &self,
        camera: &str,
    ) -> Result<Vec<(String, String, String)>, RegisterError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT event, at, slot FROM dock_events WHERE camera = ?1 ORDER BY at, id",
        )?;
        let rows = stmt.query_map(params![camera], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The underlying connection, for modules of the register that own their own tables.
    pub fn connection(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// The state changes of one recording, oldest first: (time, state, detail).
    pub fn events(&self, id: RecordingId) -> Result<Vec<(String, String, String)>, RegisterError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT at, state, detail FROM recording_events WHERE recording = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map(params![id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

fn insert_event(
    tx: &rusqlite::Transaction<'_>,
    recording: RecordingId,
    session: Option<SessionId>,
    at: &str,
    state: RecordingState,
    detail: &str,
) -> Result<(), RegisterError> {
    tx.execute(
        "INSERT INTO recording_events (recording, session, at, state, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![recording, session, at, state.as_str(), detail],
    )?;
    Ok(())
}

fn json_list(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}

/// A row as SQLite returns it, before its text columns are checked.
struct RawRow {
    id: i64,
    camera: String,
    stem: String,
    state: String,
    video: RawFile,
    sidecar: RawFile,
    flags: String,
    reasons: String,
}

type RawFile = (Option<i64>, Option<String>, Option<String>, Option<String>);

fn read_row(r: &Row<'_>) -> rusqlite::Result<RawRow> {
    Ok(RawRow {
        id: r.get(0)?,
        camera: r.get(1)?,
        stem: r.get(2)?,
        state: r.get(3)?,
        video: (r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?),
        sidecar: (r.get(8)?, r.get(9)?, r.get(10)?, r.get(11)?),
        flags: r.get(12)?,
        reasons: r.get(13)?,
    })
}

impl RawRow {
    fn into_row(self) -> Result<RecordingRow, RegisterError> {
        let id = self.id;
        let corrupt = |column: &'static str, value: &str| RegisterError::Corrupt {
            table: "recordings",
            id,
            column,
            value: value.to_string(),
        };
        let state =
            RecordingState::parse(&self.state).ok_or_else(|| corrupt("state", &self.state))?;
        let file =
            |raw: RawFile, column: &'static str| -> Result<Option<FileFacts>, RegisterError> {
                match raw {
                    (Some(size), Some(b3), Some(sha), Some(path)) => {
                        let digests =
                            Digests::from_hex(&b3, &sha).ok_or_else(|| corrupt(column, &b3))?;
                        let size =
                            u64::try_from(size).map_err(|_| corrupt(column, &size.to_string()))?;
                        Ok(Some(FileFacts {
                            size,
                            digests,
                            path,
                        }))
                    }
                    _ => Ok(None),
                }
            };
        let list = |text: &str, column: &'static str| -> Result<Vec<String>, RegisterError> {
            serde_json::from_str(text).map_err(|_| corrupt(column, text))
        };
        Ok(RecordingRow {
            id,
            camera: self.camera,
            stem: self.stem,
            state,
            video: file(self.video, "video")?,
            sidecar: file(self.sidecar, "sidecar")?,
            flags: list(&self.flags, "flags")?,
            reasons: list(&self.reasons, "reasons")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::Hasher;

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
        }
    }

    #[test]
    fn a_recording_goes_discovered_confirmed_wiped_with_one_event_each() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("register.sqlite");
        let mut reg = Register::open(&path).unwrap();
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
        let reg = Register::open(&path).unwrap();
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
    }

    #[test]
    fn dock_events_are_kept_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut reg = Register::open(&dir.path().join("r.sqlite")).unwrap();
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
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap();
        assert_eq!(sync, 2, "synchronous must be FULL");
        let mode: String = reg
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn a_newer_schema_is_refused_with_advice() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.sqlite");
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", CURRENT_VERSION + 1)
            .unwrap();
        drop(conn);
        let err = Register::open(&path).err().expect("must refuse");
        assert!(err.to_string().contains("newer"), "{err}");
    }

    #[test]
    fn an_unknown_state_written_by_hand_is_reported_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let mut reg = Register::open(&dir.path().join("r.sqlite")).unwrap();
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
        assert!(err.to_string().contains("flags"), "{err}");
    }
}
