//! Recordings as the operators' commands see them: found by stem, with their stored files,
//! chosen for deletion when their retention is over, and marked purged.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, Row, params};

use super::{Digests, FileFacts, RecordingId, RecordingState, RegisterError, format_time};
use super::{insert_event, parse_time};

/// A recording with what the store holds of it.
#[derive(Debug, Clone)]
pub struct StoredRecording {
    /// Register id.
    pub id: RecordingId,
    /// Camera serial.
    pub camera: String,
    /// `<SERIAL>_<YYYYMMDD>_<HHMMSS>_<NNNN>`.
    pub stem: String,
    /// Current state.
    pub state: RecordingState,
    /// Start, from its name.
    pub start: DateTime<Utc>,
    /// End, from its sidecar's trailer, when known.
    pub end: Option<DateTime<Utc>>,
    /// The stored video.
    pub video: Option<FileFacts>,
    /// The stored sidecar.
    pub sidecar: Option<FileFacts>,
}

impl StoredRecording {
    /// Bytes in the store (video and sidecar).
    pub fn bytes(&self) -> u64 {
        [&self.video, &self.sidecar]
            .into_iter()
            .flatten()
            .map(|f| f.size)
            .sum()
    }

    /// Whether its files are in the store: stored, and not yet purged.
    pub fn in_store(&self) -> bool {
        !matches!(
            self.state,
            RecordingState::Discovered | RecordingState::Purged
        )
    }
}

const COLUMNS: &str = "id, camera, stem, state, start_utc, end_utc,
    video_size, video_blake3, video_sha256, video_path,
    sidecar_size, sidecar_blake3, sidecar_sha256, sidecar_path";

type Raw = (
    i64,
    String,
    String,
    String,
    String,
    Option<String>,
    [Option<String>; 4],
    [Option<String>; 4],
);

fn read(r: &Row<'_>) -> rusqlite::Result<Raw> {
    let size = |i: usize| -> rusqlite::Result<Option<String>> {
        Ok(r.get::<_, Option<i64>>(i)?.map(|n| n.to_string()))
    };
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        [size(6)?, r.get(7)?, r.get(8)?, r.get(9)?],
        [size(10)?, r.get(11)?, r.get(12)?, r.get(13)?],
    ))
}

fn check(raw: Raw) -> Result<StoredRecording, RegisterError> {
    let (id, camera, stem, state, start, end, video, sidecar) = raw;
    let corrupt = |column: &'static str, value: &str| RegisterError::Corrupt {
        table: "recordings",
        id,
        column,
        value: value.to_string(),
    };
    let file = |f: [Option<String>; 4], column| -> Result<Option<FileFacts>, RegisterError> {
        let [Some(size), Some(b3), Some(sha), Some(path)] = f else {
            return Ok(None);
        };
        Ok(Some(FileFacts {
            size: size.parse().map_err(|_| corrupt(column, &size))?,
            digests: Digests::from_hex(&b3, &sha).ok_or_else(|| corrupt(column, &sha))?,
            path,
        }))
    };
    Ok(StoredRecording {
        state: RecordingState::parse(&state).ok_or_else(|| corrupt("state", &state))?,
        start: parse_time(&start).ok_or_else(|| corrupt("start_utc", &start))?,
        end: match end {
            Some(e) => Some(parse_time(&e).ok_or_else(|| corrupt("end_utc", &e))?),
            None => None,
        },
        video: file(video, "video")?,
        sidecar: file(sidecar, "sidecar")?,
        id,
        camera,
        stem,
    })
}

fn query(
    conn: &Connection,
    filter: &str,
    args: impl rusqlite::Params,
) -> Result<Vec<StoredRecording>, RegisterError> {
    let sql = format!("SELECT {COLUMNS} FROM recordings WHERE {filter}");
    let mut stmt = conn.prepare(&sql)?;
    let raws: Vec<Raw> = stmt.query_map(args, read)?.collect::<Result<_, _>>()?;
    raws.into_iter().map(check).collect()
}

/// The stored rows (not `discovered`) with this stem, oldest first (more than one after a
/// store conflict).
pub fn by_stem(conn: &Connection, stem: &str) -> Result<Vec<StoredRecording>, RegisterError> {
    query(
        conn,
        "stem = ?1 AND state != 'discovered' ORDER BY id",
        params![stem],
    )
}

/// One recording by register id.
pub fn by_id(conn: &Connection, id: RecordingId) -> Result<Option<StoredRecording>, RegisterError> {
    Ok(query(conn, "id = ?1", params![id])?.into_iter().next())
}

/// Recordings in the store whose end (or start, when the end is unknown) is before
/// `cutoff`, oldest first.
pub fn expired(
    conn: &Connection,
    cutoff: DateTime<Utc>,
) -> Result<Vec<StoredRecording>, RegisterError> {
    query(
        conn,
        "state IN ('confirmed', 'quarantined', 'wiped')
         AND coalesce(end_utc, start_utc) < ?1 ORDER BY coalesce(end_utc, start_utc), id",
        params![format_time(cutoff)],
    )
}

/// Every recording whose files are in the store.
pub fn in_store(conn: &Connection) -> Result<Vec<StoredRecording>, RegisterError> {
    query(
        conn,
        "state IN ('confirmed', 'quarantined', 'wiped') ORDER BY id",
        [],
    )
}

/// Recordings that started in `[from, to)` and were stored (in any state but discovered).
pub fn started_between(
    conn: &Connection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<StoredRecording>, RegisterError> {
    query(
        conn,
        "state != 'discovered' AND start_utc >= ?1 AND start_utc < ?2 ORDER BY start_utc, id",
        params![format_time(from), format_time(to)],
    )
}

/// Recordings marked purged, for removing files a crash left behind after the commit.
pub fn purged(conn: &Connection) -> Result<Vec<StoredRecording>, RegisterError> {
    query(conn, "state = 'purged' ORDER BY id", [])
}

/// Marks a recording purged, with a state-change event; run it in the transaction that
/// also writes the deletion's audit entry.
pub fn mark_purged(
    conn: &Connection,
    id: RecordingId,
    detail: &str,
    at: DateTime<Utc>,
) -> Result<(), RegisterError> {
    let at = format_time(at);
    conn.execute(
        "UPDATE recordings SET state = 'purged', updated_at = ?2 WHERE id = ?1",
        params![id, at],
    )?;
    insert_event(conn, id, None, &at, RecordingState::Purged, detail)
}
