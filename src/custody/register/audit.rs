//! The audit register (R241-14): every collection, wipe, consultation, extraction,
//! attribution, hold, release, deletion, refusal and scrub, append-only and hash-chained.
//!
//! Each entry's hash is SHA-256 over a canonical encoding of its fields and the previous
//! entry's hash, so changing, inserting or removing a row breaks the chain where it was
//! done ([`verify`]). Anyone who can write the database can also recompute every hash from
//! the edit onward: that is why the head is written to the journal ([`log_head`]), outside
//! the database, each day and at each extraction. Entries older than three years expire
//! ([`expire`]) behind an anchor and a checkpoint entry that keep the rest verifiable.

mod expire;
mod verify;

use chrono::{DateTime, Utc};
use rusqlite::params;

use crate::custody::register::{Conn, OptionalExtension};
use sha2::{Digest, Sha256};

use super::{RegisterError, format_time};
use crate::base::events;

pub(crate) use expire::{Checkpoint, expire};
pub(crate) use verify::Verification;
pub use verify::verify;

/// The author of the entries the service writes by itself (ingest, wipe, purge...).
pub const SERVICE_AUTHOR: &str = "sentinel-dockd";

/// The `prev_hash` of the first entry ever written.
pub(crate) const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Separates this encoding from any other use of SHA-256 over the same bytes.
const DOMAIN: &[u8] = b"sentinel-dock audit entry v1\n";

/// What an audit entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// A recording stored (confirmed or quarantined) from a camera.
    Collection,
    /// A recording removed from its camera once proven stored.
    Wipe,
    /// A recording handed to a caller to be seen (written before the file is handed).
    Consultation,
    /// An extraction asked for (written before any byte is copied).
    Extraction,
    /// An extraction written, made durable and verified.
    ExtractionCompleted,
    /// An act traced by an earlier entry did not complete.
    Failure,
    /// A recording attributed to an agent, automatically or by hand.
    Attribution,
    /// A recording placed on hold for a procedure.
    Hold,
    /// A hold released.
    Release,
    /// A recording deleted from the store at the end of its retention.
    Deletion,
    /// A caller refused for lack of a role.
    Refusal,
    /// An agent, a camera, an issue or a return written to the perception register.
    Perception,
    /// Entries older than the audit retention dropped behind a checkpoint.
    Expiry,
    /// The store read back and compared with the register (a person's or the weekly one).
    Scrub,
    /// A recording copied to the S3 replica and proven there (HEAD and read-back).
    Replication,
    /// A replica object version deleted once its retain-until had passed.
    ReplicaDeletion,
    /// The replica's objects checked against the register (HEAD, or read back).
    ReplicaScrub,
    /// An anonymised derivative for training asked for (written before the original is read).
    Anonymisation,
    /// An anonymised derivative made, stored and read back.
    AnonymisationCompleted,
    /// An anonymised derivative accepted by its reviewer (training may then see it).
    AnonymisationAccepted,
    /// A new, empty store recorded as a site's in place of a lost one (a dock rebuilt).
    StoreAdopted,
}

impl Action {
    /// The name stored in the register.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Collection => "collection",
            Action::Wipe => "wipe",
            Action::Consultation => "consultation",
            Action::Extraction => "extraction",
            Action::ExtractionCompleted => "extraction-completed",
            Action::Failure => "failure",
            Action::Attribution => "attribution",
            Action::Hold => "hold",
            Action::Release => "release",
            Action::Deletion => "deletion",
            Action::Refusal => "refusal",
            Action::Perception => "perception",
            Action::Expiry => "expiry",
            Action::Scrub => "scrub",
            Action::Replication => "replication",
            Action::ReplicaDeletion => "replica-deletion",
            Action::ReplicaScrub => "replica-scrub",
            Action::Anonymisation => "anonymisation",
            Action::AnonymisationCompleted => "anonymisation-completed",
            Action::AnonymisationAccepted => "anonymisation-accepted",
            Action::StoreAdopted => "store-adopted",
        }
    }
}

/// An entry to append; its time, sequence number and hashes are set by [`append`].
#[derive(Debug, Clone)]
pub struct NewEntry {
    /// Who did it: a Unix user (with the agent's matricule when known), or the service.
    pub author: String,
    /// What was done.
    pub action: Action,
    /// Why: administrative, judicial, disciplinary, training, or empty.
    pub purpose: String,
    /// For whom: the OPJ and service, the recipient, or empty.
    pub recipients: String,
    /// The recordings concerned, by stem.
    pub recordings: Vec<String>,
    /// Everything else a reader needs: references, hashes, paths, outcome.
    pub details: String,
}

impl NewEntry {
    /// An entry with no purpose, recipients or recordings.
    pub fn new(author: &str, action: Action, details: impl Into<String>) -> NewEntry {
        NewEntry {
            author: author.to_string(),
            action,
            purpose: String::new(),
            recipients: String::new(),
            recordings: Vec::new(),
            details: details.into(),
        }
    }

    /// The same entry about these recordings.
    pub fn about(mut self, recordings: &[String]) -> NewEntry {
        self.recordings = recordings.to_vec();
        self
    }
}

/// An entry as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditEntry {
    /// Position in the chain, from 1, never reused.
    pub seq: i64,
    /// When, RFC 3339 UTC.
    pub at: String,
    /// Who.
    pub author: String,
    /// What (an [`Action`] name).
    pub action: String,
    /// Why.
    pub purpose: String,
    /// For whom.
    pub recipients: String,
    /// The recordings concerned, as a JSON list of stems.
    pub recordings: String,
    /// The rest.
    pub details: String,
    /// The previous entry's hash (or the anchor's, or [`GENESIS`]).
    pub prev_hash: String,
    /// SHA-256 of this entry's canonical encoding, lower-case hex.
    pub hash: String,
    /// The site whose daemon wrote it ('' for a single-site install: then not shown).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub site: String,
}

impl AuditEntry {
    /// The hash this entry's fields call for, whatever its `hash` column says.
    pub(crate) fn computed_hash(&self) -> String {
        let mut h = Sha256::new();
        h.update(DOMAIN);
        for field in [
            &self.at,
            &self.author,
            &self.action,
            &self.purpose,
            &self.recipients,
            &self.recordings,
            &self.details,
            &self.prev_hash,
        ] {
            // Length-prefixed, so no two different entries encode to the same bytes.
            h.update((field.len() as u64).to_be_bytes());
            h.update(field.as_bytes());
        }
        // Only when named: every entry written before sites, or at a single site, keeps
        // the hash it was written with; a named site is covered like any other field.
        if !self.site.is_empty() {
            h.update((self.site.len() as u64).to_be_bytes());
            h.update(self.site.as_bytes());
        }
        hex(&h.finalize())
    }
}

/// The last entry of the chain: what the journal is given to compare with later.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Head {
    /// Its sequence number (0 for an empty chain).
    pub seq: i64,
    /// Its hash ([`GENESIS`] for an empty chain).
    pub hash: String,
}

impl std::fmt::Display for Head {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.seq, self.hash)
    }
}

/// Appends an entry. Call it inside the transaction of the act it traces, opened with
/// `BEGIN IMMEDIATE` (`Register::write`), so that two writers cannot fork the chain.
pub fn append(
    conn: &Conn,
    entry: &NewEntry,
    at: DateTime<Utc>,
) -> Result<AuditEntry, RegisterError> {
    let last = head(conn)?;
    // The connection's site (`Register::set_site`): hashed, so read before the insert.
    let site: String = conn
        .prepare_cached("SELECT site()")?
        .query_row((), |r| r.get(0))?;
    let mut stored = AuditEntry {
        seq: last.seq + 1,
        at: format_time(at),
        author: entry.author.clone(),
        action: entry.action.as_str().to_string(),
        purpose: entry.purpose.clone(),
        recipients: entry.recipients.clone(),
        recordings: serde_json::to_string(&entry.recordings).unwrap_or_else(|_| "[]".into()),
        details: entry.details.clone(),
        prev_hash: last.hash,
        hash: String::new(),
        site,
    };
    stored.hash = stored.computed_hash();
    // Cached: a purge or an attribution run appends thousands of entries in a row.
    conn.prepare_cached(
        "INSERT INTO audit (seq, at, author, action, purpose, recipients, recordings, details,
                            prev_hash, hash, site)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        stored.seq,
        stored.at,
        stored.author,
        stored.action,
        stored.purpose,
        stored.recipients,
        stored.recordings,
        stored.details,
        stored.prev_hash,
        stored.hash,
        stored.site
    ])?;
    Ok(stored)
}

/// The chain's head: the last entry, else the expiry anchor, else the genesis.
pub fn head(conn: &Conn) -> Result<Head, RegisterError> {
    let last = conn
        .prepare_cached("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")?
        .query_row((), |r| {
            Ok(Head {
                seq: r.get(0)?,
                hash: r.get(1)?,
            })
        })
        .optional()?;
    match last {
        Some(h) => Ok(h),
        None => Ok(anchor(conn)?.unwrap_or_else(genesis)),
    }
}

/// Where the chain starts after an expiry: the last dropped entry's seq and hash.
pub fn anchor(conn: &Conn) -> Result<Option<Head>, RegisterError> {
    conn.query_row(
        "SELECT last_dropped_seq, last_dropped_hash FROM audit_anchor WHERE id = 1",
        (),
        |r| {
            Ok(Head {
                seq: r.get(0)?,
                hash: r.get(1)?,
            })
        },
    )
    .optional()
}

fn genesis() -> Head {
    Head {
        seq: 0,
        hash: GENESIS.to_string(),
    }
}

/// Every entry in chain order, or those from `from_seq` on.
pub fn entries(conn: &Conn, from_seq: i64) -> Result<Vec<AuditEntry>, RegisterError> {
    let mut all = Vec::new();
    each_entry(conn, from_seq, |e| {
        all.push(e);
        true
    })?;
    Ok(all)
}

/// Calls `each` with every entry in chain order from `from_seq` on, one at a time, until
/// it returns false: three million entries are walked without being held in memory.
pub(crate) fn each_entry(
    conn: &Conn,
    from_seq: i64,
    mut each: impl FnMut(AuditEntry) -> bool,
) -> Result<(), RegisterError> {
    conn.for_each(
        "SELECT seq, at, author, action, purpose, recipients, recordings, details, prev_hash, hash,
                site
         FROM audit WHERE seq >= ?1 ORDER BY seq",
        params![from_seq],
        |r| {
            let entry = AuditEntry {
                seq: r.get(0)?,
                at: r.get(1)?,
                author: r.get(2)?,
                action: r.get(3)?,
                purpose: r.get(4)?,
                recipients: r.get(5)?,
                recordings: r.get(6)?,
                details: r.get(7)?,
                prev_hash: r.get(8)?,
                hash: r.get(9)?,
                site: r.get(10)?,
            };
            Ok(each(entry))
        },
    )
}

/// How many entries of an action were written in `[from, to)`, per purpose; at one site
/// only when `site` names one.
pub(crate) fn count_by_purpose(
    conn: &Conn,
    action: Action,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    site: Option<&str>,
) -> Result<Vec<(String, u64)>, RegisterError> {
    let mut stmt = conn.prepare_cached(
        "SELECT purpose, count(*) FROM audit WHERE action = ?1 AND at >= ?2 AND at < ?3
         AND (CAST(?4 AS TEXT) IS NULL OR site = ?4)
         GROUP BY purpose ORDER BY purpose",
    )?;
    let rows = stmt.query_map(
        params![action.as_str(), format_time(from), format_time(to), site],
        |r| Ok((r.get(0)?, r.get::<_, i64>(1)?.max(0) as u64)),
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The newest entry of one action, if any: (sequence, time as stored, author, details).
pub(crate) fn latest_of(
    conn: &Conn,
    action: Action,
) -> Result<Option<(i64, String, String, String)>, RegisterError> {
    conn.query_row(
        "SELECT seq, at, author, details FROM audit WHERE action = ?1
             ORDER BY seq DESC LIMIT 1",
        [action.as_str()],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )
    .optional()
}

/// The sequence number of the newest entry of one action, if any.
pub(crate) fn last_seq_of(conn: &Conn, action: Action) -> Result<Option<i64>, RegisterError> {
    conn.query_row(
        "SELECT max(seq) FROM audit WHERE action = ?1",
        params![action.as_str()],
        |r| r.get(0),
    )
}

/// Writes the chain's head to the log (journal field `MESSAGE_ID` = `AUDIT_HEAD`), so a
/// rewritten database cannot match what was logged outside it. The daemon calls it daily;
/// each extraction calls it too.
pub fn log_head(conn: &Conn, occasion: &str) -> Result<Head, RegisterError> {
    let head = head(conn)?;
    tracing::info!(
        message_id = events::AUDIT_HEAD.id,
        event = events::AUDIT_HEAD.name,
        audit_seq = head.seq,
        audit_hash = %head.hash,
        occasion,
        "audit chain head {head} ({occasion})"
    );
    Ok(head)
}

/// Lower-case hex (written by hand: `audit verify` turns three million hashes into hex).
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        text.push(char::from(DIGITS[usize::from(b >> 4)]));
        text.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    text
}

#[cfg(test)]
mod tests;
