//! Every filter of `search` on the register's engine: SQLite, and PostgreSQL in the
//! second pass of `scripts/test`, where SQLite's words (`+r.camera`, `COLLATE NOCASE`)
//! are not understood.

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::{SearchQuery, search};
use crate::custody::register::bench::BenchDock;
use crate::custody::register::perception::{self, Agent, Attribution};
use crate::custody::register::{Register, testing};

fn at(text: &str) -> DateTime<Utc> {
    text.parse().expect("a test time")
}

/// The stems a query finds, sorted.
fn both(register: &mut Register, q: SearchQuery) -> Vec<String> {
    let q = SearchQuery { limit: 10, ..q };
    let found = register
        .read()
        .and_then(|tx| search(&tx, &q))
        .unwrap_or_else(|e| panic!("{q:?} fails on this engine: {e}"));
    let mut stems: Vec<String> = found.into_iter().map(|r| r.stem).collect();
    stems.sort();
    stems
}

#[test]
fn every_filter_finds_its_recordings_on_the_registers_engine() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("r.sqlite");
    // Two docks, one recording each, ingested through the ingest's own calls.
    for camera in ["SNTL-00001", "SNTL-00002"] {
        let register = testing::open_at(&path).expect("the test register opens");
        let mut dock =
            BenchDock::dock(register, camera, at("2026-03-01T08:00:00Z")).expect("a camera docks");
        dock.ingest_next().expect("a recording is ingested");
        dock.undock().expect("the session closes");
    }
    let mut register = testing::open_at(&path).expect("the test register opens");
    let conn = register.connection();
    let ids: Vec<i64> = conn
        .prepare("SELECT id FROM recordings ORDER BY id")
        .and_then(|mut s| s.query_map((), |r| r.get(0)))
        .expect("the recordings are read")
        .collect::<Result<_, _>>()
        .expect("the recordings are read");
    let t = at("2026-03-01T18:00:00Z");
    for (matricule, name, brigade) in [
        ("PM-0101", "Anne Martin", "jour"),
        ("PM-0102", "Luc Petit", "VTT"),
    ] {
        let agent = Agent {
            matricule: matricule.into(),
            name: name.into(),
            brigade: brigade.into(),
            unix_user: None,
        };
        perception::insert_agent(conn, &agent, "chef-pm", t).expect("an agent is added");
    }
    for (id, agent) in ids.iter().zip(["PM-0101", "PM-0102"]) {
        let attribution = Attribution {
            agent: agent.into(),
            kind: "manual".into(),
            assignment: None,
            by: "chef-pm".into(),
            at: "2026-03-01T18:00:00.000Z".into(),
            reason: "issued by hand".into(),
        };
        perception::insert_attribution(conn, *id, &attribution).expect("attributed");
    }
    conn.execute(
        "UPDATE recordings SET flags = '[\"clock-drift\"]' WHERE id = ?1",
        params![ids[1]],
    )
    .expect("a flag is set");
    let all = both(&mut register, SearchQuery::default());
    assert_eq!(all.len(), 2, "both recordings: {all:?}");
    let (first, second) = (all[0].clone(), all[1].clone());
    let cases = [
        (
            SearchQuery {
                camera: Some("SNTL-00002".into()),
                ..Default::default()
            },
            vec![second.clone()],
        ),
        (
            SearchQuery {
                agent: Some("pm-0101".into()),
                ..Default::default()
            },
            vec![first.clone()],
        ),
        (
            SearchQuery {
                agent: Some("PETIT".into()),
                ..Default::default()
            },
            vec![second.clone()],
        ),
        (
            SearchQuery {
                brigade: Some("VTT".into()),
                ..Default::default()
            },
            vec![second.clone()],
        ),
        (
            SearchQuery {
                state: Some("wiped".into()),
                ..Default::default()
            },
            all.clone(),
        ),
        (
            SearchQuery {
                flag: Some("clock-drift".into()),
                ..Default::default()
            },
            vec![second.clone()],
        ),
        (
            SearchQuery {
                held: Some(false),
                ..Default::default()
            },
            all.clone(),
        ),
        (
            SearchQuery {
                held: Some(true),
                ..Default::default()
            },
            vec![],
        ),
        (
            SearchQuery {
                area: Some((45.0, 45.1, 5.0, 5.1)),
                ..Default::default()
            },
            all.clone(),
        ),
        (
            SearchQuery {
                camera: Some("SNTL-00001".into()),
                agent: Some("PM-0101".into()),
                start: Some(at("2026-03-01T00:00:00Z")),
                end: Some(at("2026-03-02T00:00:00Z")),
                ..Default::default()
            },
            vec![first.clone()],
        ),
    ];
    for (q, expected) in cases {
        assert_eq!(both(&mut register, q.clone()), expected, "{q:?}");
    }
}
