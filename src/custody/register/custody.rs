//! What `show RECORDING` reads about one recording: the facts the ingest measured, its
//! state changes and the audit entries that name it (its custody timeline).

use rusqlite::params;

use crate::custody::register::{Conn, OptionalExtension};

use super::{RecordingId, RegisterError};

/// The facts the ingest measured on one recording.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct MeasuredFacts {
    /// Seconds recorded before the trigger, when the camera says.
    pub prerecord_secs: Option<i64>,
    /// The video's duration, when measured.
    pub duration_secs: Option<f64>,
    /// The flags raised on it.
    pub flags: Vec<String>,
    /// Why each flag was raised (JSON, as the ingest wrote them).
    pub reasons: Vec<serde_json::Value>,
}

/// One step of a recording's custody: a state change (no audit sequence) or an audit entry.
#[derive(Debug, Clone, PartialEq)]
pub struct CustodyRow {
    /// The audit entry's sequence number; `None` for a state change.
    pub audit_seq: Option<i64>,
    /// When, as stored.
    pub at: String,
    /// Who (the service for a state change).
    pub author: String,
    /// The action, or the state reached.
    pub action: String,
    /// The purpose given (empty for a state change).
    pub purpose: String,
    /// The details.
    pub details: String,
}

/// The facts of a recording; empty ones when it has no row (it was named a moment ago).
pub(crate) fn measured_facts(conn: &Conn, id: RecordingId) -> Result<MeasuredFacts, RegisterError> {
    let row = conn
        .query_row(
            "SELECT prerecord_secs, duration_secs, flags, reasons FROM recordings WHERE id = ?1",
            params![id],
            |r| {
                Ok((
                    r.get::<_, Option<i64>>(0)?,
                    r.get::<_, Option<f64>>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            },
        )
        .optional()?;
    let (prerecord, duration, flags, reasons) =
        row.unwrap_or((None, None, "[]".into(), "[]".into()));
    Ok(MeasuredFacts {
        prerecord_secs: prerecord,
        duration_secs: duration,
        flags: serde_json::from_str(&flags).unwrap_or_default(),
        reasons: serde_json::from_str(&reasons).unwrap_or_default(),
    })
}

/// The state changes of a recording, oldest first, as custody steps by the service.
pub(crate) fn state_changes(
    conn: &Conn,
    id: RecordingId,
) -> Result<Vec<CustodyRow>, RegisterError> {
    let mut s = conn.prepare(
        "SELECT at, state, detail FROM recording_events WHERE recording = ?1 ORDER BY id",
    )?;
    let rows = s.query_map(params![id], |r| {
        Ok(CustodyRow {
            at: r.get(0)?,
            action: r.get(1)?,
            author: "sentinel-dockd".into(),
            purpose: String::new(),
            details: r.get(2)?,
            audit_seq: None,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The audit entries naming one recording, through the index the triggers keep (schema 12).
const CUSTODY: &str = "SELECT audit.seq, at, author, action, purpose, details
     FROM audit_recordings JOIN audit ON audit.seq = audit_recordings.seq
     WHERE audit_recordings.stem = ?1
     ORDER BY audit.seq";

/// The audit entries that name a recording by its stem, in the chain's order.
pub fn audit_entries(conn: &Conn, stem: &str) -> Result<Vec<CustodyRow>, RegisterError> {
    let mut s = conn.prepare_cached(CUSTODY)?;
    let rows = s.query_map(params![stem], |r| {
        Ok(CustodyRow {
            audit_seq: Some(r.get(0)?),
            at: r.get(1)?,
            author: r.get(2)?,
            action: r.get(3)?,
            purpose: r.get(4)?,
            details: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::custody::register::audit::{Action, NewEntry, append, expire};
    use crate::custody::register::{Register, query_plan};

    fn at(s: &str) -> chrono::DateTime<chrono::Utc> {
        s.parse().expect("test time")
    }

    /// A recording's custody reads the index of stems, never every audit entry's JSON:
    /// at a million recordings that scan took seconds a page (docs/performance.md).
    #[test]
    fn the_custody_of_a_recording_reads_an_index_not_every_entry() {
        let dir = tempfile::tempdir().unwrap();
        let mut reg = Register::open(&dir.path().join("r.sqlite")).unwrap();
        let conn = reg.connection();
        let plan = query_plan(conn, CUSTODY, ["S_1"]);
        assert!(
            !plan.iter().any(|s| s.starts_with("SCAN")),
            "the custody query scans: {plan:?}"
        );
        assert!(
            plan.iter()
                .any(|s| s.contains("audit_recordings") && s.contains("PRIMARY KEY")),
            "{plan:?}"
        );
    }

    /// Every entry naming a recording is found, in order, whoever wrote it; an entry naming
    /// two is found for both; expiry takes what it drops out of the index too.
    #[test]
    fn custody_follows_the_audit_through_appends_and_expiry() {
        let dir = tempfile::tempdir().unwrap();
        let mut reg =
            crate::custody::register::testing::open_at(&dir.path().join("r.sqlite")).unwrap();
        let entries = [
            ("2023-01-01T00:00:00Z", vec!["S_1"]),
            ("2023-02-01T00:00:00Z", vec!["S_2"]),
            ("2024-01-01T00:00:00Z", vec!["S_1", "S_2"]),
            ("2024-02-01T00:00:00Z", vec![]),
        ];
        for (when, stems) in &entries {
            let tx = reg.write().unwrap();
            let stems: Vec<String> = stems.iter().map(|s| s.to_string()).collect();
            let entry = NewEntry::new("chef-pm", Action::Consultation, *when).about(&stems);
            append(&tx, &entry, at(when)).unwrap();
            tx.commit().unwrap();
        }
        let seqs = |conn: &Conn, stem: &str| -> Vec<i64> {
            audit_entries(conn, stem)
                .unwrap()
                .iter()
                .filter_map(|e| e.audit_seq)
                .collect()
        };
        assert_eq!(seqs(reg.connection(), "S_1"), [1, 3]);
        assert_eq!(seqs(reg.connection(), "S_2"), [2, 3]);
        assert!(seqs(reg.connection(), "S_3").is_empty());
        let tx = reg.write().unwrap();
        expire(&tx, at("2023-06-01T00:00:00Z"), at("2026-06-01T00:00:00Z"))
            .unwrap()
            .expect("two entries are older");
        tx.commit().unwrap();
        assert_eq!(seqs(reg.connection(), "S_1"), [3]);
        assert_eq!(seqs(reg.connection(), "S_2"), [3]);
        let left: i64 = reg
            .connection()
            .query_row(
                "SELECT count(*) FROM audit_recordings WHERE seq <= 2",
                (),
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(left, 0, "expired entries left in the index");
    }
}
