//! The camera's own logs in the register (schema 13): each docking's stored copy of each log
//! file, and each line of `PLAYBACK.LOG` and `EVENTS.LOG` imported once, identified by its
//! content (its bytes' SHA-256 and its occurrence among identical lines).

use chrono::{DateTime, Utc};
use rusqlite::params;

use crate::custody::register::{Conn, OptionalExtension};

use super::{RecordingId, RegisterError, SessionId, format_time};
use crate::base::digest::Digests;
use crate::camera::evidence::camera_log::LineId;

/// Which of the camera's logs a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogKind {
    /// `PLAYBACK.LOG`: the wearer's consultations on the camera (L241-2 CSI).
    Playback,
    /// `EVENTS.LOG`: power, recordings, clock set, storage errors, battery.
    Events,
    /// `SYSTEM.LOG`: anything else the firmware writes; copied, not parsed.
    System,
}

impl LogKind {
    /// Every kind, in the order a docking reads them.
    pub const ALL: [LogKind; 3] = [LogKind::Playback, LogKind::Events, LogKind::System];

    /// The name the register stores, and the store's file names use.
    pub fn as_str(self) -> &'static str {
        match self {
            LogKind::Playback => "playback",
            LogKind::Events => "events",
            LogKind::System => "system",
        }
    }
}

/// One docking's copy of one log file, to record.
#[derive(Debug, Clone)]
pub(crate) struct NewLog<'a> {
    /// The docking.
    pub session: SessionId,
    /// The camera's serial.
    pub camera: &'a str,
    /// Which log.
    pub kind: LogKind,
    /// Its name on the camera (the profile's).
    pub name: &'a str,
    /// The size its directory entry declares.
    pub declared_size: u64,
    /// The bytes read and stored (less than declared when the file was too large).
    pub size: u64,
    /// Whether only its first bytes were read (larger than `profile.max_log_bytes`).
    pub truncated: bool,
    /// The stored copy's hashes (proven by read-back).
    pub digests: Digests,
    /// The stored copy, relative to the store's root.
    pub path: &'a str,
}

/// Records a stored log copy; returns its row id.
pub(crate) fn insert_log(
    conn: &Conn,
    log: &NewLog<'_>,
    at: DateTime<Utc>,
) -> Result<i64, RegisterError> {
    conn.execute(
        "INSERT INTO camera_logs (session, camera, kind, name, declared_size, size, truncated,
                                  blake3, sha256, path, stored_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            log.session,
            log.camera,
            log.kind.as_str(),
            log.name,
            i64::try_from(log.declared_size).unwrap_or(i64::MAX),
            i64::try_from(log.size).unwrap_or(i64::MAX),
            log.truncated,
            log.digests.blake3_hex(),
            log.digests.sha256_hex(),
            log.path,
            format_time(at),
        ],
    )?;
    conn.last_insert_rowid()
}

/// Records how many lines a stored log held, how many were new, how many were rejected.
pub(crate) fn set_log_counts(
    conn: &Conn,
    log: i64,
    lines: u64,
    new_lines: u64,
    rejected: u64,
) -> Result<(), RegisterError> {
    conn.execute(
        "UPDATE camera_logs SET lines = ?2, new_lines = ?3, rejected = ?4 WHERE id = ?1",
        params![
            log,
            i64::try_from(lines).unwrap_or(i64::MAX),
            i64::try_from(new_lines).unwrap_or(i64::MAX),
            i64::try_from(rejected).unwrap_or(i64::MAX)
        ],
    )?;
    Ok(())
}

/// One line to import.
#[derive(Debug, Clone)]
pub(crate) struct NewLine<'a> {
    /// The camera's serial.
    pub camera: &'a str,
    /// `Playback` or `Events`.
    pub kind: LogKind,
    /// Its identity across dockings.
    pub id: &'a LineId,
    /// The stored log copy it was read from.
    pub log: i64,
    /// Its line number in that copy.
    pub line_no: u32,
    /// The line (printable ASCII), or its escaped form when rejected.
    pub text: &'a str,
    /// `None` when imported, else why it was rejected.
    pub rejected: Option<&'a str>,
    /// Its time on the camera's clock, when it has one.
    pub camera_time: Option<DateTime<Utc>>,
    /// Its event's name.
    pub event: Option<&'a str>,
    /// The recording it names, by stem, when it names a recording's video.
    pub stem: Option<&'a str>,
    /// That recording's register row, when the register holds it.
    pub recording: Option<RecordingId>,
}

/// Imports a line unless the same line (content and occurrence) was imported at an earlier
/// docking; returns its new row id, or `None` when it is not new.
pub(crate) fn insert_line(conn: &Conn, line: &NewLine<'_>) -> Result<Option<i64>, RegisterError> {
    let changed = conn
        .prepare_cached(
            "INSERT INTO camera_log_lines (camera, kind, line_sha256, occurrence, log,
                 line_no, text, status, camera_time, event, stem, recording, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
             ON CONFLICT DO NOTHING",
        )?
        .execute(params![
            line.camera,
            line.kind.as_str(),
            line.id.sha256,
            line.id.occurrence,
            line.log,
            line.line_no,
            line.text,
            if line.rejected.is_some() {
                "rejected"
            } else {
                "imported"
            },
            line.camera_time.map(format_time),
            line.event,
            line.stem,
            line.recording,
            line.rejected.unwrap_or_default(),
        ])?;
    if changed == 1 {
        conn.last_insert_rowid().map(Some)
    } else {
        Ok(None)
    }
}

/// The identities of a camera's lines of one log already in the register, read in one
/// range of the unique index: a docking then touches the register only for new lines
/// (a full 1 MiB log is some 12,000 lines, nearly all seen before).
pub(crate) fn known_lines(
    conn: &Conn,
    camera: &str,
    kind: LogKind,
) -> Result<std::collections::HashSet<LineId>, RegisterError> {
    let mut stmt = conn.prepare_cached(
        "SELECT line_sha256, occurrence FROM camera_log_lines WHERE camera = ?1 AND kind = ?2",
    )?;
    let rows = stmt.query_map(params![camera, kind.as_str()], |r| {
        Ok(LineId {
            sha256: r.get(0)?,
            occurrence: r.get(1)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Notes the audit entry a playback line was written as, and how it was attributed.
pub(crate) fn set_line_audit(
    conn: &Conn,
    line: i64,
    seq: i64,
    detail: &str,
) -> Result<(), RegisterError> {
    conn.execute(
        "UPDATE camera_log_lines SET audit_seq = ?2, detail = ?3 WHERE id = ?1",
        params![line, seq, detail],
    )?;
    Ok(())
}

/// The register row of a camera's recording by stem: a stored row before an in-flight one,
/// the latest first.
pub(crate) fn recording_id(
    conn: &Conn,
    camera: &str,
    stem: &str,
) -> Result<Option<RecordingId>, RegisterError> {
    conn.query_row(
        "SELECT id FROM recordings WHERE camera = ?1 AND stem = ?2
             ORDER BY state = 'discovered', id DESC LIMIT 1",
        params![camera, stem],
        |r| r.get(0),
    )
    .optional()
}

/// One imported line of `EVENTS.LOG`, as `show` lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct CameraLogEvent {
    /// Its time on the camera's clock (RFC 3339, UTC).
    pub camera_time: String,
    /// Its event's name.
    pub event: String,
    /// The line as the camera wrote it.
    pub line: String,
}

/// The events the camera logged about one recording: the lines naming its video, and its
/// camera's clock settings, storage errors and power changes within `around` of it (on the
/// camera's clock, which dates the recording too).
pub(crate) fn events_around(
    conn: &Conn,
    camera: &str,
    stem: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<CameraLogEvent>, RegisterError> {
    let mut stmt = conn.prepare_cached(
        "SELECT camera_time, event, text FROM camera_log_lines
         WHERE kind = 'events' AND status = 'imported' AND camera = ?1 AND stem = ?2
         UNION
         SELECT camera_time, event, text FROM camera_log_lines
         WHERE kind = 'events' AND status = 'imported' AND camera = ?1
           AND camera_time >= ?3 AND camera_time <= ?4
           AND event IN ('CLOCK_SET', 'STORAGE_ERROR', 'POWER_ON', 'POWER_OFF')
         ORDER BY 1, 3",
    )?;
    let rows = stmt.query_map(
        params![camera, stem, format_time(from), format_time(to)],
        |r| {
            Ok(CameraLogEvent {
                camera_time: r.get::<_, Option<String>>(0)?.unwrap_or_default(),
                event: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                line: r.get(2)?,
            })
        },
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}
