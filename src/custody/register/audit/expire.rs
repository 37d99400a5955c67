//! Expiry: entries older than the audit retention dropped behind an anchor and a
//! checkpoint entry, so that what stays still verifies.

use chrono::{DateTime, Utc};
use rusqlite::params;

use crate::custody::register::Conn;
use sha2::{Digest, Sha256};

use super::{Action, Head, NewEntry, SERVICE_AUTHOR, append, each_entry, hex, verify};
use crate::custody::register::{RegisterError, format_time};

/// What an expiry dropped: the checkpoint written in its place.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Checkpoint {
    /// First and last sequence numbers dropped.
    pub dropped: (i64, i64),
    /// The last dropped entry's hash: the chain's new anchor.
    pub anchor_hash: String,
    /// SHA-256 over the dropped entries' hashes, in order: a fingerprint of what went.
    pub dropped_digest: String,
    /// The checkpoint entry appended to the chain.
    pub entry_seq: i64,
}

/// Drops the entries written before `cutoff` (a prefix of the chain), after checking the
/// whole chain: expiring a broken chain would hide the break. Run it in an IMMEDIATE
/// transaction; `at` is now.
pub(crate) fn expire(
    conn: &Conn,
    cutoff: DateTime<Utc>,
    at: DateTime<Utc>,
) -> Result<Option<Checkpoint>, RegisterError> {
    let check = verify(conn, None)?;
    if !check.problems.is_empty() {
        return Err(RegisterError::ChainBroken {
            problems: check.describe(),
        });
    }
    let cutoff = format_time(cutoff);
    // The prefix written before the cutoff, read one entry at a time: usually none.
    let mut digest = Sha256::new();
    let mut count = 0usize;
    let mut first: Option<Head> = None;
    let mut last: Option<Head> = None;
    each_entry(conn, 0, |e| {
        if e.at >= cutoff {
            return false;
        }
        digest.update(e.hash.as_bytes());
        count += 1;
        let here = Head {
            seq: e.seq,
            hash: e.hash,
        };
        first.get_or_insert_with(|| here.clone());
        last = Some(here);
        true
    })?;
    let (Some(first), Some(last)) = (first, last) else {
        return Ok(None);
    };
    let dropped_digest = hex(&digest.finalize());
    conn.execute("INSERT INTO audit_expiring (id) VALUES (1)", ())?;
    conn.execute("DELETE FROM audit WHERE seq <= ?1", params![last.seq])?;
    conn.execute("DELETE FROM audit_expiring", ())?;
    conn.execute(
        "INSERT INTO audit_anchor (id, last_dropped_seq, last_dropped_hash) VALUES (1, ?1, ?2)
         ON CONFLICT(id) DO UPDATE SET last_dropped_seq = excluded.last_dropped_seq,
                                       last_dropped_hash = excluded.last_dropped_hash",
        params![last.seq, last.hash],
    )?;
    let details = serde_json::json!({
        "dropped_first_seq": first.seq,
        "dropped_last_seq": last.seq,
        "dropped_count": count,
        "anchor_hash": last.hash,
        "dropped_digest": dropped_digest,
        "written_before": cutoff,
    });
    let entry = append(
        conn,
        &NewEntry::new(SERVICE_AUTHOR, Action::Expiry, details.to_string()),
        at,
    )?;
    Ok(Some(Checkpoint {
        dropped: (first.seq, last.seq),
        anchor_hash: last.hash.clone(),
        dropped_digest,
        entry_seq: entry.seq,
    }))
}
