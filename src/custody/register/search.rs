//! `search`'s query: recordings by period, camera, agent, brigade, state, flag, hold,
//! place and site, newest first, one page (plus one row, so that "is there a next page" costs
//! nothing; no total is counted, docs/performance.md).

use crate::custody::register::{Conn, EngineKind};
use chrono::{DateTime, Utc};
use rusqlite::types::Value;

use super::{RegisterError, format_time};

/// What a search asks for; `None` filters nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchQuery {
    /// Recordings that started at or after this instant.
    pub start: Option<DateTime<Utc>>,
    /// Recordings that started before this instant.
    pub end: Option<DateTime<Utc>>,
    /// One camera's serial.
    pub camera: Option<String>,
    /// The agent attributed last: a matricule given whole (any case) finds that agent
    /// only; otherwise any agent whose matricule or name contains the text (any case).
    pub agent: Option<String>,
    /// That agent's brigade.
    pub brigade: Option<String>,
    /// The recording's state.
    pub state: Option<String>,
    /// A flag the recording carries.
    pub flag: Option<String>,
    /// Held (`true`) or not held (`false`).
    pub held: Option<bool>,
    /// A box (min lat, max lat, min lon, max lon) the recording's GPS box must meet.
    pub area: Option<(f64, f64, f64, f64)>,
    /// The site it was collected at ('' for the unnamed site of a single-site install).
    pub site: Option<String>,
    /// The most rows returned.
    pub limit: u32,
    /// Rows skipped first (earlier pages).
    pub offset: u64,
}

/// A recording found.
#[derive(Debug, Clone, PartialEq)]
pub struct FoundRow {
    /// Its stem.
    pub stem: String,
    /// Its camera's serial.
    pub camera: String,
    /// Its state.
    pub state: String,
    /// When it started, as stored.
    pub start: String,
    /// When it ended, as stored.
    pub end: Option<String>,
    /// The video's size.
    pub size: Option<u64>,
    /// Its flags.
    pub flags: Vec<String>,
    /// The agent attributed last.
    pub agent: Option<String>,
    /// That agent's brigade.
    pub brigade: Option<String>,
    /// Whether a hold is active on it.
    pub held: bool,
    /// The site it was collected at ('' when unnamed).
    pub site: String,
}

/// The recordings the query finds, newest first, at most `limit`.
pub fn search(conn: &Conn, q: &SearchQuery) -> Result<Vec<FoundRow>, RegisterError> {
    let (sql, params) = sql(q, conn.kind());
    let mut statement = conn.prepare(&sql)?;
    let rows = statement
        .query_map(&params, |r| {
            let flags: String = r.get(6)?;
            Ok(FoundRow {
                stem: r.get(0)?,
                camera: r.get(1)?,
                state: r.get(2)?,
                start: r.get(3)?,
                end: r.get(4)?,
                size: r.get::<_, Option<i64>>(5)?.map(|n| n.max(0) as u64),
                flags: serde_json::from_str(&flags).unwrap_or_default(),
                agent: r.get(7)?,
                brigade: r.get(8)?,
                held: r.get(9)?,
                site: r.get(10)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The sites recordings were collected at, in order of name ('' for the unnamed site).
pub fn sites(conn: &Conn) -> Result<Vec<String>, RegisterError> {
    let mut stmt = conn.prepare_cached("SELECT name FROM sites ORDER BY name")?;
    let names = stmt.query_map((), |r| r.get(0))?;
    Ok(names.collect::<Result<_, _>>()?)
}

/// The agent filter: the matricule itself (exactly as the command line always found it);
/// a whole matricule in another case; else a part of a matricule or of a name, without
/// regard to case (SQLite's `lower` folds ASCII letters only: "é" matches "é", not "É").
const AGENT: &str = " AND (t.agent = ?N OR t.agent IN (SELECT matricule FROM agents WHERE
    CASE WHEN EXISTS (SELECT 1 FROM agents WHERE lower(matricule) = lower(?N))
         THEN lower(matricule) = lower(?N)
         ELSE instr(lower(matricule), lower(?N)) > 0 OR instr(lower(name), lower(?N)) > 0
    END))";

/// The query's SQL and its parameters, in the words of the register's engine.
fn sql(q: &SearchQuery, engine: EngineKind) -> (String, Vec<Value>) {
    let mut sql = String::from(
        "SELECT r.stem, r.camera, r.state, r.start_utc, r.end_utc, r.video_size, r.flags,
                t.agent, g.brigade,
                EXISTS (SELECT 1 FROM holds h WHERE h.recording = r.id AND h.released_at IS NULL),
                r.site
         FROM recordings r
         LEFT JOIN attributions t ON t.id =
             (SELECT max(id) FROM attributions WHERE recording = r.id)
         LEFT JOIN agents g ON g.matricule = t.agent
         WHERE r.start_utc >= ?1 AND r.start_utc < ?2",
    );
    // The few held recordings as a set SQLite can start from (holds are rare).
    match q.held {
        Some(true) => {
            sql.push_str(" AND r.id IN (SELECT recording FROM holds WHERE released_at IS NULL)")
        }
        Some(false) => {
            sql.push_str(" AND r.id NOT IN (SELECT recording FROM holds WHERE released_at IS NULL)")
        }
        None => {}
    }
    // Open ends are the register's first and last possible days: format_time of chrono's
    // MIN/MAX would carry a sign, which sorts before every stored time.
    let text = |t: Option<DateTime<Utc>>, open: &str| t.map_or(open.to_string(), format_time);
    let mut params: Vec<Value> = vec![
        Value::Text(text(q.start, "0001-01-01T00:00:00Z")),
        Value::Text(text(q.end, "9999-12-31T00:00:00Z")),
    ];
    let mut filter = |clause: &str, value: Value| {
        params.push(value);
        sql.push_str(&clause.replace("?N", &format!("?{}", params.len())));
    };
    if let Some(camera) = &q.camera {
        // SQLite stays on the start-time index (newest first, stopping at a page) when the
        // camera's column is an expression (`|| ''`), rather than the camera's index, which
        // would sort a camera's whole history. PostgreSQL's index (camera, start_utc, id)
        // walks a camera's history newest first.
        let clause = match engine {
            EngineKind::Sqlite => " AND r.camera || '' = ?N",
            EngineKind::Postgres => " AND r.camera = ?N",
        };
        filter(clause, Value::Text(camera.clone()));
    }
    if let Some(agent) = &q.agent {
        filter(AGENT, Value::Text(agent.trim().to_string()));
    }
    if let Some(brigade) = &q.brigade {
        filter(" AND g.brigade = ?N", Value::Text(brigade.clone()));
    }
    if let Some(site) = &q.site {
        // As the camera's: on the start-time index, a page of one site's recordings. An
        // expression keeps SQLite off `recordings_by_site` (which would sort the site's
        // whole history); `||` rather than `+`, which PostgreSQL refuses on text.
        filter(" AND r.site || '' = ?N", Value::Text(site.clone()));
    }
    if let Some(state) = &q.state {
        filter(" AND r.state = ?N", Value::Text(state.clone()));
    }
    if let Some(flag) = &q.flag {
        filter(
            " AND EXISTS (SELECT 1 FROM json_each(r.flags) f WHERE f.value = ?N)",
            Value::Text(flag.clone()),
        );
    }
    if let Some((min_lat, max_lat, min_lon, max_lon)) = q.area {
        filter(" AND r.gps_max_lat >= ?N", Value::Real(min_lat));
        filter(" AND r.gps_min_lat <= ?N", Value::Real(max_lat));
        filter(" AND r.gps_max_lon >= ?N", Value::Real(min_lon));
        filter(" AND r.gps_min_lon <= ?N", Value::Real(max_lon));
    }
    sql.push_str(&format!(
        " ORDER BY r.start_utc DESC, r.id DESC LIMIT {} OFFSET {}",
        q.limit, q.offset
    ));
    (sql, params)
}

/// The query's plan as SQLite would run it, for tests that guard its indexes.
#[cfg(test)]
pub(crate) fn plan(register: &mut super::Register, q: &SearchQuery) -> Vec<String> {
    let (sql, params) = sql(q, EngineKind::Sqlite);
    super::query_plan(register.connection(), &sql, &params)
}

#[cfg(test)]
mod tests;
