//! Lower bounds on when the recordings on a docked camera were made, read from the register
//! at the start of its ingest (`evidence::trusted_time::LowerBound`): independent of the
//! camera's clock and its GPS, which may both be wrong the same way.

use chrono::{DateTime, Utc};
use rusqlite::params;

use crate::custody::register::{Conn, OptionalExtension};

use super::{RegisterError, SessionId, format_time, parse_time};
use crate::camera::evidence::trusted_time::{BoundSource, LowerBound};

/// The bounds the register knows for `camera` docked at `docked_at` (the ingest `session`
/// already begun), best (latest) first is not implied: see `LowerBound::best`.
///
/// - The previous docking: the start of the latest earlier ingest of the camera that read
///   it to its end (`complete` or `attention`); a cancelled, failed or interrupted one may
///   have stopped before it saw everything, so it proves nothing.
/// - The issue: the start of the camera's first issue since that docking (or its first
///   issue ever, when it was never docked); an issue returned by hand and followed by
///   another before a docking does not empty the camera, so the first one counts.
/// - The enrolment, or the camera's first issue when the register records an earlier one
///   (the enrolment was written after the camera went into service).
pub(crate) fn lower_bounds(
    conn: &Conn,
    camera: &str,
    session: SessionId,
    docked_at: DateTime<Utc>,
) -> Result<Vec<LowerBound>, RegisterError> {
    let docked = format_time(docked_at);
    let mut bounds = Vec::new();
    let previous: Option<String> = conn.query_row(
        "SELECT max(started_at) FROM sessions
         WHERE camera = ?1 AND id < ?2 AND started_at <= ?3
           AND outcome IN ('complete', 'attention')",
        params![camera, session, docked],
        |r| r.get(0),
    )?;
    let previous = previous
        .as_deref()
        .and_then(|t| time("sessions.started_at", t));
    if let Some(at) = previous {
        bounds.push(LowerBound {
            at,
            source: BoundSource::PreviousDocking,
        });
    }
    let since = previous.map(format_time).unwrap_or_default();
    let issue: Option<String> = conn
        .query_row(
            "SELECT issued_at FROM assignments
             WHERE camera = ?1 AND issued_at >= ?2 AND issued_at <= ?3
             ORDER BY issued_at, id LIMIT 1",
            params![camera, since, docked],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(at) = issue
        .as_deref()
        .and_then(|t| time("assignments.issued_at", t))
    {
        bounds.push(LowerBound {
            at,
            source: BoundSource::Issue,
        });
    }
    let enrolled: Option<(String, Option<String>)> = conn
        .query_row(
            "SELECT e.enrolled_at,
                    (SELECT min(a.issued_at) FROM assignments a WHERE a.camera = e.serial)
             FROM enrolments e WHERE e.serial = ?1",
            params![camera],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    if let Some((enrolled, first_issue)) = enrolled {
        let enrolled = time("enrolments.enrolled_at", &enrolled);
        let first_issue = first_issue
            .as_deref()
            .and_then(|t| time("assignments.issued_at", t));
        let earliest = match (enrolled, first_issue) {
            (Some(e), Some(i)) => Some(e.min(i)),
            (e, i) => e.or(i),
        };
        if let Some(at) = earliest {
            bounds.push(LowerBound {
                at,
                source: BoundSource::Enrolment,
            });
        }
    }
    Ok(bounds)
}

/// A register time; one that does not read gives no bound (the recordings are then only
/// less protected by bounds, never deleted earlier: the collection brake still holds).
fn time(column: &str, text: &str) -> Option<DateTime<Utc>> {
    let parsed = parse_time(text);
    if parsed.is_none() {
        tracing::warn!("{column} holds {text:?}, not a time: no lower bound taken from it");
    }
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::custody::register::Register;
    use crate::custody::register::perception;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn session(reg: &mut Register, started: &str, outcome: Option<&str>) -> SessionId {
        reg.connection()
            .execute(
                "INSERT INTO cameras (serial, first_seen, last_seen)
                 VALUES ('SNTL-00042', ?1, ?1) ON CONFLICT DO NOTHING",
                params![started],
            )
            .unwrap();
        let id = reg
            .begin_session("SNTL-00042", "/dev/x", "sentinel", at(started))
            .unwrap();
        if let Some(outcome) = outcome {
            reg.finish_session(id, outcome, at(started)).unwrap();
        }
        id
    }

    fn best(reg: &mut Register, session: SessionId, docked: &str) -> Option<LowerBound> {
        let bounds = lower_bounds(reg.connection(), "SNTL-00042", session, at(docked)).unwrap();
        LowerBound::best(bounds, at(docked))
    }

    /// The perception register's rule the bounds lean on: a docking ends the issue in force,
    /// so a camera docked twice is issued again in between, and that issue is the one the
    /// second docking ends and the bound of the recordings it brings.
    #[test]
    fn a_docking_ends_the_issue_in_force_and_a_camera_docked_twice_was_issued_in_between() {
        use crate::custody::register::DockEvent;
        use crate::custody::register::perception::{Holder, assignment_at, holder_at};
        let dir = tempfile::tempdir().unwrap();
        let mut reg =
            crate::custody::register::testing::open_at(&dir.path().join("r.sqlite")).unwrap();
        let conn = reg.connection();
        perception::insert_enrolment(conn, "SNTL-00042", None, "chef", at("2026-12-01T09:00:00Z"))
            .unwrap();
        for m in ["M100", "M200"] {
            let agent = perception::Agent {
                matricule: m.into(),
                name: m.into(),
                brigade: "Jour".into(),
                unix_user: None,
            };
            perception::insert_agent(conn, &agent, "chef", at("2026-12-01T09:00:00Z")).unwrap();
        }
        perception::insert_assignment(conn, "SNTL-00042", "M100", at("2026-12-03T06:00:00Z"), "x")
            .unwrap();
        reg.record_dock_event(
            "SNTL-00042",
            DockEvent::Docked,
            "s1",
            at("2026-12-03T18:00:00Z"),
        )
        .unwrap();
        let first = session(&mut reg, "2026-12-03T18:00:01Z", Some("complete"));
        assert!(first > 0);
        reg.record_dock_event(
            "SNTL-00042",
            DockEvent::Undocked,
            "s1",
            at("2026-12-03T19:00:00Z"),
        )
        .unwrap();
        let conn = reg.connection();
        // In the dock, then on the shelf: nobody holds it until it is issued again.
        assert_eq!(
            holder_at(conn, "SNTL-00042", at("2026-12-03T20:00:00Z")).unwrap(),
            Holder::Returned(at("2026-12-03T18:00:00Z"), "docked")
        );
        perception::insert_assignment(conn, "SNTL-00042", "M200", at("2026-12-04T06:00:00Z"), "x")
            .unwrap();
        reg.record_dock_event(
            "SNTL-00042",
            DockEvent::Docked,
            "s1",
            at("2026-12-04T18:00:00Z"),
        )
        .unwrap();
        let conn = reg.connection();
        let earlier = assignment_at(conn, "SNTL-00042", at("2026-12-03T12:00:00Z"))
            .unwrap()
            .unwrap();
        assert_eq!(
            (earlier.agent.as_str(), earlier.ended()),
            ("M100", Some((at("2026-12-03T18:00:00Z"), "docked")))
        );
        let Holder::Agent(held) =
            holder_at(conn, "SNTL-00042", at("2026-12-04T12:00:00Z")).unwrap()
        else {
            panic!("M200 holds it between the dockings");
        };
        assert_eq!(
            (held.agent.as_str(), held.ended()),
            ("M200", Some((at("2026-12-04T18:00:00Z"), "docked")))
        );
        let now = session(&mut reg, "2026-12-04T18:00:01Z", None);
        let bound = best(&mut reg, now, "2026-12-04T18:00:01Z").unwrap();
        assert_eq!(
            (bound.source, bound.at),
            (BoundSource::Issue, at("2026-12-04T06:00:00Z"))
        );
    }

    #[test]
    fn a_camera_never_docked_enrolled_or_issued_has_no_bound() {
        let dir = tempfile::tempdir().unwrap();
        let mut reg =
            crate::custody::register::testing::open_at(&dir.path().join("r.sqlite")).unwrap();
        let now = session(&mut reg, "2026-12-04T18:00:00Z", None);
        assert_eq!(best(&mut reg, now, "2026-12-04T18:00:00Z"), None);
    }

    #[test]
    fn the_latest_of_docking_issue_and_enrolment_is_the_bound() {
        let dir = tempfile::tempdir().unwrap();
        let mut reg =
            crate::custody::register::testing::open_at(&dir.path().join("r.sqlite")).unwrap();
        let conn = reg.connection();
        perception::insert_enrolment(conn, "SNTL-00042", None, "chef", at("2026-06-01T09:00:00Z"))
            .unwrap();
        let agent = perception::Agent {
            matricule: "M100".into(),
            name: "Claire Martin".into(),
            brigade: "Jour".into(),
            unix_user: None,
        };
        perception::insert_agent(conn, &agent, "chef", at("2026-06-01T09:00:00Z")).unwrap();
        // Issued before its enrolment was written: in service since the issue.
        perception::insert_assignment(conn, "SNTL-00042", "M100", at("2026-05-20T06:00:00Z"), "x")
            .unwrap();
        let first = session(&mut reg, "2026-12-01T18:00:00Z", None);
        let enrolment = best(&mut reg, first, "2026-12-01T18:00:00Z").unwrap();
        assert_eq!(enrolment.source, BoundSource::Issue);
        assert_eq!(enrolment.at, at("2026-05-20T06:00:00Z"));
        reg.finish_session(first, "complete", at("2026-12-01T18:05:00Z"))
            .unwrap();
        // A failed and a cancelled docking prove nothing; the complete one does.
        session(
            &mut reg,
            "2026-12-02T18:00:00Z",
            Some("failed: store: full"),
        );
        session(&mut reg, "2026-12-03T18:00:00Z", Some("cancelled"));
        let now = session(&mut reg, "2026-12-04T18:00:00Z", None);
        let docking = best(&mut reg, now, "2026-12-04T18:00:00Z").unwrap();
        assert_eq!(
            (docking.source, docking.at),
            (BoundSource::PreviousDocking, at("2026-12-01T18:00:00Z"))
        );
        assert_eq!(
            docking.to_string(),
            "the camera's previous docking at 2026-12-01T18:00:00Z"
        );
        // Issued twice since (returned by hand between): the first issue is the bound.
        let conn = reg.connection();
        let a = perception::insert_assignment(
            conn,
            "SNTL-00042",
            "M100",
            at("2026-12-04T06:00:00Z"),
            "x",
        )
        .unwrap();
        perception::set_returned(conn, a, at("2026-12-04T10:00:00Z"), "x").unwrap();
        perception::insert_assignment(conn, "SNTL-00042", "M100", at("2026-12-04T11:00:00Z"), "x")
            .unwrap();
        let issue = best(&mut reg, now, "2026-12-04T18:00:00Z").unwrap();
        assert_eq!(
            (issue.source, issue.at),
            (BoundSource::Issue, at("2026-12-04T06:00:00Z"))
        );
        // A bound after the docking is the service's clock having jumped: not taken.
        assert_eq!(
            best(&mut reg, now, "2026-11-30T00:00:00Z").map(|b| b.source),
            Some(BoundSource::Issue)
        );
    }
}
