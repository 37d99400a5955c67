//! Holds: a recording kept past its retention because a procedure needs it. Placed by an
//! extraction or by hand, released by hand; a recording with an active hold is never purged.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::params;

use crate::custody::register::Conn;

use super::{RecordingId, RegisterError, format_time};

/// An active hold.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Hold {
    /// Row id.
    pub id: i64,
    /// The recording held.
    pub recording: RecordingId,
    /// The procedure's reference (requisition, case number...).
    pub procedure: String,
    /// Who placed it.
    pub placed_by: String,
    /// When.
    pub placed_at: String,
    /// Why, in the placer's words.
    pub reason: String,
}

/// Places a hold; returns false when the recording is already held for this procedure.
pub fn place(
    conn: &Conn,
    recording: RecordingId,
    procedure: &str,
    by: &str,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<bool, RegisterError> {
    let added = conn.execute(
        "INSERT INTO holds (recording, procedure_ref, placed_by, placed_at, reason)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (recording, procedure_ref) WHERE released_at IS NULL DO NOTHING",
        params![recording, procedure, by, format_time(at), reason],
    )?;
    Ok(added == 1)
}

/// Releases the active hold of a procedure; returns false when there was none.
pub fn release(
    conn: &Conn,
    recording: RecordingId,
    procedure: &str,
    by: &str,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<bool, RegisterError> {
    let changed = conn.execute(
        "UPDATE holds SET released_by = ?3, released_at = ?4, release_reason = ?5
         WHERE recording = ?1 AND procedure_ref = ?2 AND released_at IS NULL",
        params![recording, procedure, by, format_time(at), reason],
    )?;
    Ok(changed == 1)
}

/// The active holds of a recording, oldest first.
pub fn active(conn: &Conn, recording: RecordingId) -> Result<Vec<Hold>, RegisterError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, recording, procedure_ref, placed_by, placed_at, reason FROM holds
         WHERE recording = ?1 AND released_at IS NULL ORDER BY id",
    )?;
    let rows = stmt.query_map(params![recording], |r| {
        Ok(Hold {
            id: r.get(0)?,
            recording: r.get(1)?,
            procedure: r.get(2)?,
            placed_by: r.get(3)?,
            placed_at: r.get(4)?,
            reason: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The procedures of every active hold, by recording: one query for a whole purge plan,
/// rather than one per recording past its retention.
pub(crate) fn active_by_recording(
    conn: &Conn,
) -> Result<HashMap<RecordingId, Vec<String>>, RegisterError> {
    let mut stmt = conn.prepare_cached(
        "SELECT recording, procedure_ref FROM holds WHERE released_at IS NULL ORDER BY id",
    )?;
    let rows = stmt.query_map((), |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
    let mut held: HashMap<RecordingId, Vec<String>> = HashMap::new();
    for row in rows {
        let (recording, procedure) = row?;
        held.entry(recording).or_default().push(procedure);
    }
    Ok(held)
}
