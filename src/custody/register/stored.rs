//! Recordings as the operators' commands see them: found by stem, with their stored files,
//! chosen for deletion when their retention is over, and marked purged.

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::params;

use crate::custody::register::{Conn, OptionalExtension, Row};

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
    /// The trusted time its retention counts from (`evidence::trusted_time`), once stored.
    pub retention_from: Option<DateTime<Utc>>,
    /// Which clock gave `retention_from`: `camera`, `gps` or `docking`.
    pub time_source: Option<String>,
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
    sidecar_size, sidecar_blake3, sidecar_sha256, sidecar_path,
    coalesce(retention_from, end_utc, start_utc), coalesce(time_source, 'camera')";

type Raw = (
    i64,
    String,
    String,
    String,
    String,
    Option<String>,
    [Option<String>; 4],
    [Option<String>; 4],
    [Option<String>; 2],
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
        [r.get(14)?, r.get(15)?],
    ))
}

fn check(raw: Raw) -> Result<StoredRecording, RegisterError> {
    let (id, camera, stem, state, start, end, video, sidecar, [retention_from, time_source]) = raw;
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
        retention_from: match retention_from {
            Some(t) => Some(parse_time(&t).ok_or_else(|| corrupt("retention_from", &t))?),
            None => None,
        },
        time_source,
        video: file(video, "video")?,
        sidecar: file(sidecar, "sidecar")?,
        id,
        camera,
        stem,
    })
}

fn query(
    conn: &Conn,
    filter: &str,
    args: impl super::Args,
) -> Result<Vec<StoredRecording>, RegisterError> {
    let sql = format!("SELECT {COLUMNS} FROM recordings WHERE {filter}");
    let mut stmt = conn.prepare_cached(&sql)?;
    let raws: Vec<Raw> = stmt.query_map(args, read)?.collect::<Result<_, _>>()?;
    raws.into_iter().map(check).collect()
}

/// The stored rows (not `discovered`) with this stem, oldest first (more than one after a
/// store conflict).
pub fn by_stem(conn: &Conn, stem: &str) -> Result<Vec<StoredRecording>, RegisterError> {
    query(conn, BY_STEM, params![stem])
}

/// The filter of [`by_stem`] (index `recordings_by_stem_only`).
pub(crate) const BY_STEM: &str = "stem = ?1 AND state != 'discovered' ORDER BY id";

/// The filter of [`expired`]: the terms of the partial index `recordings_by_retention`, so
/// the purge reads the recordings due, not every recording. The time is the trusted one
/// (`evidence::trusted_time`), never the camera's date alone. This site's only: each
/// dock purges its own store.
pub(crate) const EXPIRED: &str = "state IN ('confirmed', 'quarantined', 'wiped')
    AND coalesce(retention_from, end_utc, start_utc) < ?1 AND site = site()
    ORDER BY coalesce(retention_from, end_utc, start_utc), id";

/// One recording by register id.
pub(crate) fn by_id(
    conn: &Conn,
    id: RecordingId,
) -> Result<Option<StoredRecording>, RegisterError> {
    Ok(query(conn, "id = ?1", params![id])?.into_iter().next())
}

/// Recordings in the store whose retention counts from before `cutoff` (their trusted
/// end), oldest first.
pub fn expired(conn: &Conn, cutoff: DateTime<Utc>) -> Result<Vec<StoredRecording>, RegisterError> {
    query(conn, EXPIRED, params![format_time(cutoff)])
}

/// The recordings in the store collected by this service after `since` (their row's
/// `discovered_at`, on the service's clock), by id: the few the collection brake keeps,
/// read from the index `recordings_by_discovery`.
pub(crate) fn collected_since(
    conn: &Conn,
    since: DateTime<Utc>,
) -> Result<std::collections::BTreeMap<RecordingId, DateTime<Utc>>, RegisterError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, discovered_at FROM recordings
         WHERE discovered_at > ?1 AND state IN ('confirmed', 'quarantined', 'wiped')",
    )?;
    let rows = stmt.query_map(params![format_time(since)], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut out = std::collections::BTreeMap::new();
    for row in rows {
        let (id, text) = row?;
        let at = parse_time(&text).ok_or_else(|| RegisterError::Corrupt {
            table: "recordings",
            id,
            column: "discovered_at",
            value: text.clone(),
        })?;
        out.insert(id, at);
    }
    Ok(out)
}

/// Every recording whose files are in the store.
pub fn in_store(conn: &Conn) -> Result<Vec<StoredRecording>, RegisterError> {
    query(
        conn,
        "state IN ('confirmed', 'quarantined', 'wiped') ORDER BY id",
        (),
    )
}

/// Recordings that started in `[from, to)` on a clock the service trusts (their camera's,
/// GPS time, or their docking: `evidence::trusted_time`) and were stored (in any state but
/// discovered).
pub fn started_between(
    conn: &Conn,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<StoredRecording>, RegisterError> {
    query(
        conn,
        "state != 'discovered' AND coalesce(recorded_at, start_utc) >= ?1
         AND coalesce(recorded_at, start_utc) < ?2 ORDER BY coalesce(recorded_at, start_utc), id",
        params![format_time(from), format_time(to)],
    )
}

/// How many recordings, videos and bytes a set of stored recordings holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Totals {
    /// Recordings.
    pub recordings: u64,
    /// Of them, those with a stored video.
    pub videos: u64,
    /// Their bytes in the store, video and sidecar ([`StoredRecording::bytes`]).
    pub bytes: u64,
}

impl std::ops::AddAssign for Totals {
    fn add_assign(&mut self, other: Totals) {
        self.recordings += other.recordings;
        self.videos += other.videos;
        self.bytes += other.bytes;
    }
}

// Counted by SQLite from the covering indexes of schema 7, without reading a row: a file's
// size, hashes and path are written together from one value (`Register::record_stored`),
// so a size that is not NULL is a stored file, as `StoredRecording::video` says.

/// Recordings, videos and bytes: the columns of every totals query below.
macro_rules! totals {
    () => {
        "count(*), count(video_size),
    coalesce(sum(coalesce(video_size, 0) + coalesce(sidecar_size, 0)), 0)"
    };
}

/// The quarter of an hour a recording started in (UTC, on the trusted clock), named by a
/// CASE in the SQL both engines speak, and its totals: the head of the totals per day.
macro_rules! quarter_totals {
    () => {
        concat!(
            "SELECT substr(coalesce(recorded_at, start_utc), 1, 14)
    || CASE WHEN substr(coalesce(recorded_at, start_utc), 15, 2) < '15' THEN '00'
            WHEN substr(coalesce(recorded_at, start_utc), 15, 2) < '30' THEN '15'
            WHEN substr(coalesce(recorded_at, start_utc), 15, 2) < '45' THEN '30'
            ELSE '45' END,
    ",
            totals!(),
            "
    FROM recordings WHERE "
        )
    };
}

/// The stored recordings that started in `[?1, ?2)`, by quarter: the tail of the totals
/// per day.
macro_rules! in_period_by_quarter {
    () => {
        "state != 'discovered'
    AND coalesce(recorded_at, start_utc) >= ?1 AND coalesce(recorded_at, start_utc) < ?2
    GROUP BY 1 ORDER BY 1"
    };
}

/// The totals of the recordings in the store (see [`in_store`]).
pub(crate) const IN_STORE_TOTALS: &str = concat!(
    "SELECT ",
    totals!(),
    "
    FROM recordings WHERE state IN ('confirmed', 'quarantined', 'wiped')"
);

/// [`IN_STORE_TOTALS`] at one site (`?1`), on `recordings_by_site`.
pub(crate) const IN_STORE_TOTALS_AT: &str = concat!(
    "SELECT ",
    totals!(),
    "
    FROM recordings WHERE site = ?1 AND state IN ('confirmed', 'quarantined', 'wiped')"
);

/// [`STARTED_BY_DAY`] at one site (`?3`), on `recordings_by_site`.
pub(crate) const STARTED_BY_DAY_AT: &str =
    concat!(quarter_totals!(), "site = ?3 AND ", in_period_by_quarter!());

/// The totals of the recordings stored that started in `[?1, ?2)`, per quarter of an hour
/// (UTC), on the trusted clock (a reset camera's recordings of today count today, not in
/// 2000).
pub(crate) const STARTED_BY_DAY: &str = concat!(quarter_totals!(), in_period_by_quarter!());

fn read_totals(r: &Row<'_>, first: usize) -> rusqlite::Result<(i64, i64, i64)> {
    Ok((r.get(first)?, r.get(first + 1)?, r.get(first + 2)?))
}

fn check_totals((recordings, videos, bytes): (i64, i64, i64)) -> Result<Totals, RegisterError> {
    let count = |n: i64, column: &'static str| {
        u64::try_from(n).map_err(|_| RegisterError::Corrupt {
            table: "recordings",
            id: 0,
            column,
            value: n.to_string(),
        })
    };
    Ok(Totals {
        recordings: count(recordings, "id")?,
        videos: count(videos, "video_size")?,
        bytes: count(bytes, "video_size + sidecar_size")?,
    })
}

/// What the store holds now: its recordings, videos and bytes.
pub(crate) fn in_store_totals(conn: &Conn) -> Result<Totals, RegisterError> {
    check_totals(conn.query_row(IN_STORE_TOTALS, (), |r| read_totals(r, 0))?)
}

/// [`in_store_totals`] of one site's recordings.
pub(crate) fn in_store_totals_at(conn: &Conn, site: &str) -> Result<Totals, RegisterError> {
    check_totals(conn.query_row(IN_STORE_TOTALS_AT, [site], |r| read_totals(r, 0))?)
}

/// Totals of the recordings that started in `[from, to)`, by calendar day in `tz` (the
/// report's days are the operator's, not UTC's). SQLite sums them by quarter of an hour,
/// which every time zone's offset is a multiple of; each quarter then falls on its local
/// day here, so that a year is a few thousand rows, never a row a recording. At one site
/// only when `site` names one.
pub(crate) fn started_by_day(
    conn: &Conn,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    tz: chrono_tz::Tz,
    site: Option<&str>,
) -> Result<Vec<(NaiveDate, Totals)>, RegisterError> {
    let quarter = |r: &Row<'_>| Ok((r.get::<_, String>(0)?, read_totals(r, 1)?));
    let (from, to) = (format_time(from), format_time(to));
    let rows: Vec<(String, (i64, i64, i64))> = match site {
        None => conn
            .prepare_cached(STARTED_BY_DAY)?
            .query_map(params![from, to], quarter)?
            .collect::<Result<_, _>>()?,
        Some(site) => conn
            .prepare_cached(STARTED_BY_DAY_AT)?
            .query_map(params![from, to, site], quarter)?
            .collect::<Result<_, _>>()?,
    };
    let mut out: Vec<(NaiveDate, Totals)> = Vec::new();
    for (quarter, totals) in rows {
        let start =
            chrono::NaiveDateTime::parse_from_str(&quarter, "%Y-%m-%dT%H:%M").map_err(|_| {
                RegisterError::Corrupt {
                    table: "recordings",
                    id: 0,
                    column: "recorded_at",
                    value: quarter.clone(),
                }
            })?;
        let day = start.and_utc().with_timezone(&tz).date_naive();
        let totals = check_totals(totals)?;
        match out.last_mut() {
            Some((last, sum)) if *last == day => *sum += totals,
            _ => out.push((day, totals)),
        }
    }
    Ok(out)
}

/// The site this connection writes as (`[site] name`; '' for a single-site install).
pub fn this_site(conn: &Conn) -> Result<String, RegisterError> {
    conn.query_row("SELECT site()", (), |r| r.get(0))
}

/// The site a recording was collected at ('' for the unnamed site), if the row exists.
pub fn site_of(conn: &Conn, id: RecordingId) -> Result<Option<String>, RegisterError> {
    conn.query_row("SELECT site FROM recordings WHERE id = ?1", [id], |r| {
        r.get(0)
    })
    .optional()
}

/// Recordings marked purged, for removing files a crash left behind after the commit.
pub fn purged(conn: &Conn) -> Result<Vec<StoredRecording>, RegisterError> {
    query(conn, "state = 'purged' AND site = site() ORDER BY id", ())
}

/// Marks a recording purged, with a state-change event; run it in the transaction that
/// also writes the deletion's audit entry.
pub(crate) fn mark_purged(
    conn: &Conn,
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
