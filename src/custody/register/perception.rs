//! The perception register (registre de perception): agents, enrolled cameras, who was
//! issued which camera when, and to whom each recording is attributed.
//!
//! A camera's issue ends with its return, recorded by hand or by the daemon when the camera
//! is docked (`dock_events`): whichever comes first. A recording belongs to the agent who
//! held its camera at its start time; what cannot be decided that way needs attention.

use chrono::{DateTime, Utc};
use rusqlite::params;

use crate::custody::register::{Conn, OptionalExtension};

use super::{RecordingId, RegisterError, format_time, parse_time};

/// An agent who may be issued a camera.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Agent {
    /// The agent's service number.
    pub matricule: String,
    /// Full name.
    pub name: String,
    /// Brigade or unit.
    pub brigade: String,
    /// The agent's Unix user, when the agent also uses sentinel-dockctl.
    pub unix_user: Option<String>,
}

/// A camera enrolled in the service.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Enrolment {
    /// The camera's serial.
    pub serial: String,
    /// Its model, when given.
    pub model: Option<String>,
    /// When it was enrolled.
    pub enrolled_at: String,
    /// `in-service` or `withdrawn`.
    pub state: String,
}

/// One issue of a camera to an agent, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Assignment {
    /// Row id.
    pub id: i64,
    /// The camera's serial.
    pub camera: String,
    /// The agent's matricule.
    pub agent: String,
    /// When the camera was issued.
    pub issued_at: DateTime<Utc>,
    /// Who recorded the issue.
    pub issued_by: String,
    /// Return recorded by hand: when and by whom.
    pub returned: Option<(DateTime<Utc>, String)>,
    /// The first docking after the issue (a return recorded by the daemon).
    pub docked_at: Option<DateTime<Utc>>,
}

impl Assignment {
    /// When the issue ended (the earlier of the hand return and the docking), and how.
    pub fn ended(&self) -> Option<(DateTime<Utc>, &'static str)> {
        let by_hand = self.returned.as_ref().map(|r| (r.0, "returned by hand"));
        let by_dock = self.docked_at.map(|t| (t, "docked"));
        match (by_hand, by_dock) {
            (Some(h), Some(d)) => Some(if d.0 < h.0 { d } else { h }),
            (h, d) => h.or(d),
        }
    }
}

/// Who held a camera at a given time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Holder {
    /// The agent of this issue held it.
    Agent(Assignment),
    /// It had never been issued before that time.
    NotIssued,
    /// Its last issue had ended (the time and how), and it was not issued again.
    Returned(DateTime<Utc>, &'static str),
    /// It was recorded as docked since that time.
    Docked(DateTime<Utc>),
}

/// Adds an agent; the caller checks first that the matricule is new.
pub fn insert_agent(
    conn: &Conn,
    agent: &Agent,
    by: &str,
    at: DateTime<Utc>,
) -> Result<(), RegisterError> {
    conn.execute(
        "INSERT INTO agents (matricule, name, brigade, unix_user, added_at, added_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            agent.matricule,
            agent.name,
            agent.brigade,
            agent.unix_user,
            format_time(at),
            by
        ],
    )?;
    Ok(())
}

/// One agent by matricule.
pub fn agent(conn: &Conn, matricule: &str) -> Result<Option<Agent>, RegisterError> {
    agent_where(conn, "matricule", matricule)
}

/// The agent whose Unix user this is.
pub(crate) fn agent_by_user(conn: &Conn, user: &str) -> Result<Option<Agent>, RegisterError> {
    agent_where(conn, "unix_user", user)
}

fn agent_where(conn: &Conn, column: &str, value: &str) -> Result<Option<Agent>, RegisterError> {
    let sql = format!("SELECT matricule, name, brigade, unix_user FROM agents WHERE {column} = ?1");
    conn.query_row(&sql, params![value], |r| {
        Ok(Agent {
            matricule: r.get(0)?,
            name: r.get(1)?,
            brigade: r.get(2)?,
            unix_user: r.get(3)?,
        })
    })
    .optional()
}

/// Enrols a camera; the caller checks first that it is not enrolled.
pub fn insert_enrolment(
    conn: &Conn,
    serial: &str,
    model: Option<&str>,
    by: &str,
    at: DateTime<Utc>,
) -> Result<(), RegisterError> {
    conn.execute(
        "INSERT INTO enrolments (serial, model, enrolled_at, enrolled_by) VALUES (?1, ?2, ?3, ?4)",
        params![serial, model, format_time(at), by],
    )?;
    Ok(())
}

/// A camera's enrolment, if enrolled (the daemon ingests enrolled cameras only).
pub fn enrolment(conn: &Conn, serial: &str) -> Result<Option<Enrolment>, RegisterError> {
    conn.query_row(
        "SELECT serial, model, enrolled_at, state FROM enrolments WHERE serial = ?1",
        params![serial],
        |r| {
            Ok(Enrolment {
                serial: r.get(0)?,
                model: r.get(1)?,
                enrolled_at: r.get(2)?,
                state: r.get(3)?,
            })
        },
    )
    .optional()
}

/// Records an issue; the caller checks first that the camera is free at that time.
pub fn insert_assignment(
    conn: &Conn,
    camera: &str,
    agent: &str,
    at: DateTime<Utc>,
    by: &str,
) -> Result<i64, RegisterError> {
    conn.execute(
        "INSERT INTO assignments (camera, agent, issued_at, issued_by) VALUES (?1, ?2, ?3, ?4)",
        params![camera, agent, format_time(at), by],
    )?;
    conn.last_insert_rowid()
}

/// Records a return by hand.
pub(crate) fn set_returned(
    conn: &Conn,
    assignment: i64,
    at: DateTime<Utc>,
    by: &str,
) -> Result<(), RegisterError> {
    conn.execute(
        "UPDATE assignments SET returned_at = ?2, returned_by = ?3 WHERE id = ?1",
        params![assignment, format_time(at), by],
    )?;
    Ok(())
}

const ASSIGNMENT_COLUMNS: &str = "a.id, a.camera, a.agent, a.issued_at, a.issued_by,
    a.returned_at, a.returned_by,
    (SELECT min(d.at) FROM dock_events d
      WHERE d.camera = a.camera AND d.event = 'docked' AND d.at > a.issued_at)";

fn read_assignment(r: &crate::custody::register::Row<'_>) -> rusqlite::Result<Assignment> {
    let time = |i: usize| -> rusqlite::Result<Option<DateTime<Utc>>> {
        let text: Option<String> = r.get(i)?;
        Ok(text.as_deref().and_then(parse_time))
    };
    let issued_at = time(3)?.ok_or_else(|| {
        rusqlite::Error::InvalidColumnType(3, "issued_at".into(), rusqlite::types::Type::Text)
    })?;
    let returned_by: Option<String> = r.get(6)?;
    Ok(Assignment {
        id: r.get(0)?,
        camera: r.get(1)?,
        agent: r.get(2)?,
        issued_at,
        issued_by: r.get(4)?,
        returned: time(5)?.zip(returned_by),
        docked_at: time(7)?,
    })
}

/// The camera's last issue at or before `at`.
pub(crate) fn assignment_at(
    conn: &Conn,
    camera: &str,
    at: DateTime<Utc>,
) -> Result<Option<Assignment>, RegisterError> {
    let sql = format!(
        "SELECT {ASSIGNMENT_COLUMNS} FROM assignments a
         WHERE a.camera = ?1 AND a.issued_at <= ?2 ORDER BY a.issued_at DESC, a.id DESC LIMIT 1"
    );
    conn.query_row(&sql, params![camera, format_time(at)], read_assignment)
        .optional()
}

/// The camera's first issue after `at`, if any.
pub(crate) fn assignment_after(
    conn: &Conn,
    camera: &str,
    at: DateTime<Utc>,
) -> Result<Option<Assignment>, RegisterError> {
    let sql = format!(
        "SELECT {ASSIGNMENT_COLUMNS} FROM assignments a
         WHERE a.camera = ?1 AND a.issued_at > ?2 ORDER BY a.issued_at, a.id LIMIT 1"
    );
    conn.query_row(&sql, params![camera, format_time(at)], read_assignment)
        .optional()
}

/// Issues overlapping `[from, to)`, of one camera or one agent or all, oldest first.
pub fn assignments(
    conn: &Conn,
    camera: Option<&str>,
    agent: Option<&str>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Assignment>, RegisterError> {
    let sql = format!(
        "SELECT {ASSIGNMENT_COLUMNS} FROM assignments a
         WHERE (CAST(?1 AS TEXT) IS NULL OR a.camera = ?1)
           AND (CAST(?2 AS TEXT) IS NULL OR a.agent = ?2)
           AND a.issued_at < ?3
         ORDER BY a.issued_at, a.id"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params![camera, agent, format_time(to)], read_assignment)?;
    let all: Vec<Assignment> = rows.collect::<Result<_, _>>()?;
    // Whether an issue ended before the period depends on its docking: decided here.
    Ok(all
        .into_iter()
        .filter(|a| a.ended().is_none_or(|(end, _)| end > from))
        .collect())
}

/// Who held the camera at `at`: a docking after the issue, or a return, ends it.
pub(crate) fn holder_at(
    conn: &Conn,
    camera: &str,
    at: DateTime<Utc>,
) -> Result<Holder, RegisterError> {
    let issue = assignment_at(conn, camera, at)?;
    let dock: Option<(String, String)> = conn
        .query_row(
            "SELECT event, at FROM dock_events WHERE camera = ?1 AND at <= ?2
             ORDER BY at DESC, id DESC LIMIT 1",
            params![camera, format_time(at)],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    if let Some((event, since)) = dock
        && event == "docked"
        && let Some(since) = parse_time(&since)
        && issue.as_ref().is_none_or(|a| since >= a.issued_at)
    {
        return Ok(Holder::Docked(since));
    }
    let Some(issue) = issue else {
        return Ok(Holder::NotIssued);
    };
    match issue.ended() {
        Some((end, how)) if end <= at => Ok(Holder::Returned(end, how)),
        _ => Ok(Holder::Agent(issue)),
    }
}

/// How a recording came to be attributed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AttributionKind {
    /// From the perception register: the holder at its start time.
    Automatic,
    /// By an authorised operator, with a reason.
    Manual,
}

impl AttributionKind {
    /// The name stored in the register.
    pub fn as_str(self) -> &'static str {
        match self {
            AttributionKind::Automatic => "automatic",
            AttributionKind::Manual => "manual",
        }
    }
}

/// A recording's attribution as stored (the latest one counts).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Attribution {
    /// The agent's matricule.
    pub agent: String,
    /// `automatic` or `manual`.
    pub kind: String,
    /// The issue it was derived from, for an automatic one.
    pub assignment: Option<i64>,
    /// Who attributed it.
    pub by: String,
    /// When.
    pub at: String,
    /// Why (required for a manual one).
    pub reason: String,
}

/// Stores an attribution.
pub fn insert_attribution(
    conn: &Conn,
    recording: RecordingId,
    attribution: &Attribution,
) -> Result<(), RegisterError> {
    conn.execute(
        "INSERT INTO attributions
           (recording, agent, kind, assignment, attributed_by, attributed_at, reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            recording,
            attribution.agent,
            attribution.kind,
            attribution.assignment,
            attribution.by,
            attribution.at,
            attribution.reason
        ],
    )?;
    Ok(())
}

/// A recording's current attribution: the latest written.
pub fn attribution(
    conn: &Conn,
    recording: RecordingId,
) -> Result<Option<Attribution>, RegisterError> {
    conn.query_row(
        "SELECT agent, kind, assignment, attributed_by, attributed_at, reason
             FROM attributions WHERE recording = ?1 ORDER BY id DESC LIMIT 1",
        params![recording],
        |r| {
            Ok(Attribution {
                agent: r.get(0)?,
                kind: r.get(1)?,
                assignment: r.get(2)?,
                by: r.get(3)?,
                at: r.get(4)?,
                reason: r.get(5)?,
            })
        },
    )
    .optional()
}

/// A stored recording with no attribution yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unattributed {
    /// Register id.
    pub id: RecordingId,
    /// Camera serial.
    pub camera: String,
    /// Stem.
    pub stem: String,
    /// Start, from its name.
    pub start: DateTime<Utc>,
    /// Whether the camera's clock is trusted for it (`evidence::trusted_time`): when not,
    /// its start says nothing about who held the camera, and a person attributes it.
    pub clock_trusted: bool,
    /// The trusted time its retention counts from (its end on a clock the service trusts).
    pub trusted_end: Option<DateTime<Utc>>,
}

/// Stored recordings with no attribution yet: read from the partial index of the recordings
/// whose `attribution_pending` flag (kept by triggers) is set, so the cost follows the
/// recordings waiting, not the register's size.
pub(crate) const UNATTRIBUTED: &str = "SELECT r.id, r.camera, r.stem, r.start_utc,
       coalesce(r.time_source, 'camera'), coalesce(r.retention_from, r.end_utc, r.start_utc)
     FROM recordings r
     WHERE r.attribution_pending = 1 AND r.state != 'discovered'
       AND NOT EXISTS (SELECT 1 FROM attributions t WHERE t.recording = r.id)
     ORDER BY r.start_utc, r.id";

/// Stored recordings (any state but `discovered`) with no attribution yet, oldest first.
pub(crate) fn unattributed(conn: &Conn) -> Result<Vec<Unattributed>, RegisterError> {
    let mut stmt = conn.prepare(UNATTRIBUTED)?;
    let rows = stmt.query_map((), |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, Option<String>>(5)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, camera, stem, start, source, trusted_end) = row?;
        let start = parse_time(&start).ok_or_else(|| RegisterError::Corrupt {
            table: "recordings",
            id,
            column: "start_utc",
            value: start.clone(),
        })?;
        out.push(Unattributed {
            id,
            camera,
            stem,
            start,
            clock_trusted: source == "camera",
            trusted_end: trusted_end.as_deref().and_then(parse_time),
        });
    }
    Ok(out)
}
