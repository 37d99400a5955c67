//! The replica queue in the register (`replica_queue`): what is still to replicate, what
//! each attempt already wrote (so that a retry or a restart adopts it rather than upload
//! it again under a new version), and the backlog the status shows.

use chrono::{DateTime, Duration, Utc};
use rusqlite::params;

use crate::custody::register::{Conn, OptionalExtension};

use super::{RecordingId, RegisterError, format_time, parse_time};

/// Where a recording is in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueState {
    /// Still to upload or to prove.
    Pending,
    /// Uploaded and proven.
    Replicated,
    /// Its retention ended before it could be replicated: nothing is uploaded.
    Expired,
    /// Its versions were deleted from the replica after their retain-until.
    Deleted,
}

impl QueueState {
    /// The name stored in the register.
    pub fn as_str(self) -> &'static str {
        match self {
            QueueState::Pending => "pending",
            QueueState::Replicated => "replicated",
            QueueState::Expired => "expired",
            QueueState::Deleted => "deleted",
        }
    }

    fn parse(text: &str) -> Option<QueueState> {
        [
            QueueState::Pending,
            QueueState::Replicated,
            QueueState::Expired,
            QueueState::Deleted,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// The three objects of a recording in the replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The MP4.
    Video,
    /// The NMEA sidecar.
    Sidecar,
    /// The JSON manifest.
    Manifest,
}

impl Part {
    /// All three, in upload order.
    pub const ALL: [Part; 3] = [Part::Video, Part::Sidecar, Part::Manifest];

    fn column(self) -> &'static str {
        match self {
            Part::Video => "video",
            Part::Sidecar => "sidecar",
            Part::Manifest => "manifest",
        }
    }
}

/// A queue row.
#[derive(Debug, Clone)]
pub struct QueueRow {
    /// The recording.
    pub recording: RecordingId,
    /// Its state in the queue.
    pub state: QueueState,
    /// Attempts made so far.
    pub attempts: u32,
    /// The last attempt's error.
    pub last_error: String,
    /// Key and version of the video, sidecar and manifest, once written.
    pub objects: [Option<(String, String)>; 3],
    /// The lock's retain-until, once replicated.
    pub retain_until: Option<DateTime<Utc>>,
    /// Whether the legal hold is on.
    pub legal_hold: bool,
}

impl QueueRow {
    /// Key and version of one object, once written.
    pub fn object(&self, part: Part) -> Option<&(String, String)> {
        self.objects[part as usize].as_ref()
    }
}

/// What is still to replicate.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Backlog {
    /// Recordings pending.
    pub recordings: u64,
    /// Their bytes (video and sidecar).
    pub bytes: u64,
    /// When the oldest was queued.
    pub oldest: Option<DateTime<Utc>>,
    /// The last attempt's error, when the oldest has failed.
    pub last_error: Option<String>,
}

/// The queue's SQL, over a register connection.
pub struct ReplicaQueue;

impl ReplicaQueue {
    /// Queues every stored recording not yet queued (those confirmed before the queue
    /// existed; later ones are queued by the trigger that confirms them).
    pub fn queue_unqueued(conn: &Conn, now: DateTime<Utc>) -> Result<usize, RegisterError> {
        let at = format_time(now);
        conn.execute(
            "INSERT INTO replica_queue (recording, state, queued_at, next_attempt)
             SELECT id, 'pending', ?1, ?1 FROM recordings r
             WHERE state IN ('confirmed', 'wiped') AND site = site()
               AND NOT EXISTS (SELECT 1 FROM replica_queue q WHERE q.recording = r.id)
             ON CONFLICT DO NOTHING",
            params![at],
        )
    }

    /// This site's recordings whose next attempt is due, oldest first (each dock replicates
    /// from its own store).
    pub fn due(
        conn: &Conn,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<RecordingId>, RegisterError> {
        let mut stmt = conn.prepare_cached(
            "SELECT q.recording FROM replica_queue q JOIN recordings r ON r.id = q.recording
             WHERE q.state = 'pending' AND q.next_attempt <= ?1 AND r.site = site()
             ORDER BY q.next_attempt, q.recording LIMIT ?2",
        )?;
        let ids = stmt
            .query_map(params![format_time(now), limit], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(ids)
    }

    /// When the next pending attempt is due.
    pub(crate) fn next_due(conn: &Conn) -> Result<Option<DateTime<Utc>>, RegisterError> {
        let at: Option<String> = conn.query_row(
            "SELECT min(q.next_attempt) FROM replica_queue q JOIN recordings r ON r.id = q.recording
             WHERE q.state = 'pending' AND r.site = site()",
            (),
            |r| r.get(0),
        )?;
        Ok(at.as_deref().and_then(parse_time))
    }

    /// One row.
    pub fn row(conn: &Conn, recording: RecordingId) -> Result<Option<QueueRow>, RegisterError> {
        let row = conn
            .query_row(
                "SELECT state, attempts, last_error, video_key, video_version, sidecar_key,
                        sidecar_version, manifest_key, manifest_version, retain_until, legal_hold
                 FROM replica_queue WHERE recording = ?1",
                params![recording],
                |r| {
                    let pair = |k: usize| -> rusqlite::Result<Option<(String, String)>> {
                        Ok(
                            match (
                                r.get::<_, Option<String>>(k)?,
                                r.get::<_, Option<String>>(k + 1)?,
                            ) {
                                (Some(key), Some(version)) => Some((key, version)),
                                _ => None,
                            },
                        )
                    };
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, u32>(1)?,
                        r.get::<_, String>(2)?,
                        [pair(3)?, pair(5)?, pair(7)?],
                        r.get::<_, Option<String>>(9)?,
                        r.get::<_, bool>(10)?,
                    ))
                },
            )
            .optional()?;
        let Some((state, attempts, last_error, objects, retain, legal_hold)) = row else {
            return Ok(None);
        };
        let state = QueueState::parse(&state).ok_or_else(|| RegisterError::Corrupt {
            table: "replica_queue",
            id: recording,
            column: "state",
            value: state.clone(),
        })?;
        Ok(Some(QueueRow {
            recording,
            state,
            attempts,
            last_error,
            objects,
            retain_until: retain.as_deref().and_then(parse_time),
            legal_hold,
        }))
    }

    /// Keeps what a PUT wrote, before anything else: a crash after it adopts the version.
    pub fn wrote(
        conn: &Conn,
        recording: RecordingId,
        part: Part,
        key: &str,
        version: &str,
    ) -> Result<(), RegisterError> {
        let c = part.column();
        conn.execute(
            &format!(
                "UPDATE replica_queue SET {c}_key = ?2, {c}_version = ?3 WHERE recording = ?1"
            ),
            params![recording, key, version],
        )?;
        Ok(())
    }

    /// An attempt failed: the next waits longer (5 s doubling, at most 10 minutes).
    pub fn failed(
        conn: &Conn,
        recording: RecordingId,
        now: DateTime<Utc>,
        error: &str,
    ) -> Result<DateTime<Utc>, RegisterError> {
        let attempts: u32 = conn.query_row(
            "SELECT attempts FROM replica_queue WHERE recording = ?1",
            params![recording],
            |r| r.get(0),
        )?;
        let next = now + backoff(attempts + 1);
        conn.execute(
            "UPDATE replica_queue SET attempts = attempts + 1, next_attempt = ?2, last_error = ?3
             WHERE recording = ?1",
            params![recording, format_time(next), error],
        )?;
        Ok(next)
    }

    /// Proven: replicated with this lock.
    pub fn replicated(
        conn: &Conn,
        recording: RecordingId,
        retain_until: DateTime<Utc>,
        legal_hold: bool,
        now: DateTime<Utc>,
    ) -> Result<(), RegisterError> {
        conn.execute(
            "UPDATE replica_queue SET state = 'replicated', retain_until = ?2, legal_hold = ?3,
                 replicated_at = ?4, last_error = ''
             WHERE recording = ?1",
            params![
                recording,
                format_time(retain_until),
                legal_hold,
                format_time(now)
            ],
        )?;
        Ok(())
    }

    /// Moves a row to `state`.
    pub(crate) fn set_state(
        conn: &Conn,
        recording: RecordingId,
        state: QueueState,
    ) -> Result<(), RegisterError> {
        conn.execute(
            "UPDATE replica_queue SET state = ?2 WHERE recording = ?1",
            params![recording, state.as_str()],
        )?;
        Ok(())
    }

    /// Whether the recording's replica is proven.
    pub(crate) fn is_replicated(
        conn: &Conn,
        recording: RecordingId,
    ) -> Result<bool, RegisterError> {
        let state: Option<String> = conn
            .query_row(
                "SELECT state FROM replica_queue WHERE recording = ?1",
                params![recording],
                |r| r.get(0),
            )
            .optional()?;
        Ok(state.as_deref() == Some(QueueState::Replicated.as_str()))
    }

    /// What is still to replicate.
    pub fn backlog(conn: &Conn) -> Result<Backlog, RegisterError> {
        let (recordings, bytes, oldest): (i64, i64, Option<String>) = conn.query_row(
            "SELECT count(*), coalesce(sum(coalesce(r.video_size, 0) + coalesce(r.sidecar_size, 0)), 0),
                    min(q.queued_at)
             FROM replica_queue q JOIN recordings r ON r.id = q.recording
             WHERE q.state = 'pending' AND r.site = site()",
            (),
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let last_error: Option<String> = conn
            .query_row(
                "SELECT q.last_error FROM replica_queue q JOIN recordings r ON r.id = q.recording
                 WHERE q.state = 'pending' AND q.last_error != '' AND r.site = site()
                 ORDER BY q.queued_at LIMIT 1",
                (),
                |r| r.get(0),
            )
            .optional()?;
        Ok(Backlog {
            recordings: recordings.max(0) as u64,
            bytes: bytes.max(0) as u64,
            oldest: oldest.as_deref().and_then(parse_time),
            last_error,
        })
    }

    /// Replicated rows whose legal hold must follow a hold placed or released.
    pub(crate) fn dirty_locks(conn: &Conn) -> Result<Vec<RecordingId>, RegisterError> {
        let mut stmt = conn.prepare_cached(
            "SELECT q.recording FROM replica_queue q JOIN recordings r ON r.id = q.recording
             WHERE q.locks_dirty = 1 AND q.state = 'replicated' AND r.site = site()",
        )?;
        let ids = stmt
            .query_map((), |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(ids)
    }

    /// The legal hold now set on every version.
    pub(crate) fn locks_synced(
        conn: &Conn,
        recording: RecordingId,
        legal_hold: bool,
    ) -> Result<(), RegisterError> {
        conn.execute(
            "UPDATE replica_queue SET legal_hold = ?2, locks_dirty = 0 WHERE recording = ?1",
            params![recording, legal_hold],
        )?;
        Ok(())
    }

    /// Replicated recordings the local purge has deleted, whose retain-until has passed and
    /// that no legal hold keeps: their versions may go.
    pub(crate) fn deletable(
        conn: &Conn,
        now: DateTime<Utc>,
    ) -> Result<Vec<RecordingId>, RegisterError> {
        let mut stmt = conn.prepare_cached(
            "SELECT q.recording FROM replica_queue q JOIN recordings r ON r.id = q.recording
             WHERE q.state = 'replicated' AND q.retain_until <= ?1 AND q.legal_hold = 0
               AND q.locks_dirty = 0 AND r.state = 'purged' AND r.site = site()
             ORDER BY q.retain_until",
        )?;
        let ids = stmt
            .query_map(params![format_time(now)], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(ids)
    }
}

/// The replica's count of this site's proven recordings, for the status.
pub(crate) fn replicated_count(conn: &Conn) -> Result<i64, RegisterError> {
    conn.query_row(
        "SELECT count(*) FROM replica_queue q JOIN recordings r ON r.id = q.recording
         WHERE q.state = 'replicated' AND r.site = site()",
        (),
        |r| r.get(0),
    )
}

/// Every recording of this site whose replica is proven, by id: what a replica scrub reads
/// back (each site checks the objects it wrote).
pub(crate) fn replicated_recordings(conn: &Conn) -> Result<Vec<RecordingId>, RegisterError> {
    let mut stmt = conn.prepare(
        "SELECT q.recording FROM replica_queue q JOIN recordings r ON r.id = q.recording
         WHERE q.state = 'replicated' AND r.site = site() ORDER BY q.recording",
    )?;
    let ids = stmt
        .query_map((), |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(ids)
}

/// What a recording's manifest names beside its stored facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ManifestFacts {
    /// Its ingest session.
    pub session: Option<i64>,
    /// Its attributions, oldest first, as (agent, kind, time as stored).
    pub attributions: Vec<(String, String, String)>,
}

/// The session and attributions a recording's manifest names.
pub(crate) fn manifest_facts(
    conn: &Conn,
    recording: RecordingId,
) -> Result<ManifestFacts, RegisterError> {
    let session: Option<i64> = conn.query_row(
        "SELECT session FROM recordings WHERE id = ?1",
        params![recording],
        |r| r.get(0),
    )?;
    let mut stmt = conn.prepare_cached(
        "SELECT agent, kind, attributed_at FROM attributions WHERE recording = ?1 ORDER BY id",
    )?;
    let attribution = stmt
        .query_map(params![recording], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<Result<_, _>>()?;
    Ok(ManifestFacts {
        session,
        attributions: attribution,
    })
}

/// An anchor of the audit chain's head, written and proven in the bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AnchorRecord<'a> {
    /// When it was written.
    pub at: DateTime<Utc>,
    /// Why: `daily` or `extraction`.
    pub occasion: &'a str,
    /// The head's sequence number.
    pub audit_seq: i64,
    /// The head's hash.
    pub audit_hash: &'a str,
    /// The object's key.
    pub key: &'a str,
    /// The object's version.
    pub version: &'a str,
}

/// Records an anchor the bucket now keeps.
pub(crate) fn record_anchor(conn: &Conn, a: &AnchorRecord<'_>) -> Result<(), RegisterError> {
    conn.execute(
        "INSERT INTO replica_anchors (at, occasion, audit_seq, audit_hash, key, version)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            format_time(a.at),
            a.occasion,
            a.audit_seq,
            a.audit_hash,
            a.key,
            a.version
        ],
    )?;
    Ok(())
}

/// The last anchor recorded: (time as stored, the head's sequence number).
pub(crate) fn last_anchor(conn: &Conn) -> Result<Option<(String, i64)>, RegisterError> {
    conn.query_row(
        "SELECT at, audit_seq FROM replica_anchors ORDER BY id DESC LIMIT 1",
        (),
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
}

/// The wait before attempt `n + 1`: 5 s doubling, at most 10 minutes.
fn backoff(attempts: u32) -> Duration {
    let secs = 5i64.saturating_mul(1 << attempts.saturating_sub(1).min(10));
    Duration::seconds(secs.min(600))
}

#[cfg(test)]
mod tests {
    use super::backoff;

    #[test]
    fn the_backoff_doubles_up_to_ten_minutes() {
        let secs: Vec<i64> = [1, 2, 3, 8, 30]
            .iter()
            .map(|&n| backoff(n).num_seconds())
            .collect();
        assert_eq!(secs, [5, 10, 20, 600, 600]);
    }
}
