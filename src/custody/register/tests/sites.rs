//! Sites (issue 23): each connection writes its daemon's site into the rows it inserts,
//! the audit chain covers it, and the search and the report filter by it.

use super::*;
use crate::custody::register::search::{self, SearchQuery};

/// One recording collected by a connection at `site`, confirmed, with its dock event.
fn collect(path: &std::path::Path, site: &str, stem: &str, start: &str) {
    let mut reg = crate::custody::register::testing::open_at(path).unwrap();
    reg.set_site(site).unwrap();
    let now = at("2026-11-26T06:00:00Z");
    let serial = stem.split('_').next().unwrap().to_string();
    reg.upsert_camera(
        &CameraIdentity {
            serial: serial.clone(),
            ..Default::default()
        },
        now,
    )
    .unwrap();
    reg.record_dock_event(&serial, DockEvent::Docked, &serial, now)
        .unwrap();
    let session = reg.begin_session(&serial, "src", "p", now).unwrap();
    let id = reg
        .insert_discovered(session, &serial, stem, at(start), now)
        .unwrap();
    reg.record_stored(
        id,
        session,
        RecordingState::Confirmed,
        &facts(&format!("recordings/{stem}.MP4")),
        now,
    )
    .unwrap();
}

fn column(reg: &Register, sql: &str) -> Vec<String> {
    reg.conn
        .prepare(sql)
        .unwrap()
        .query_map((), |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn the_rows_a_connection_writes_carry_its_site() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.sqlite");
    collect(
        &path,
        "",
        "SNTL-00001_20261125_080000_0001",
        "2026-11-25T08:00:00Z",
    );
    collect(
        &path,
        "Poste Nord",
        "SNTL-00002_20261125_090000_0001",
        "2026-11-25T09:00:00Z",
    );
    let reg = crate::custody::register::testing::open_at(&path).unwrap();
    let by_id = |table: &str| column(&reg, &format!("SELECT site FROM {table} ORDER BY id"));
    assert_eq!(by_id("recordings"), ["", "Poste Nord"]);
    assert_eq!(by_id("sessions"), ["", "Poste Nord"]);
    assert_eq!(by_id("dock_events"), ["", "Poste Nord"]);
    // Each collection's audit entry was written at its site, and the chain holds.
    let trail = audit::entries(&reg.conn, 0).unwrap();
    let sites: Vec<_> = trail.iter().map(|e| e.site.as_str()).collect();
    assert_eq!(sites, ["", "Poste Nord"]);
    assert!(audit::verify(&reg.conn, None).unwrap().is_intact());
    assert_eq!(search::sites(&reg.conn).unwrap(), ["", "Poste Nord"]);
}

#[test]
fn the_search_finds_one_sites_recordings_and_names_each_rows_site() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.sqlite");
    collect(
        &path,
        "Nord",
        "SNTL-00001_20261125_080000_0001",
        "2026-11-25T08:00:00Z",
    );
    collect(
        &path,
        "Sud",
        "SNTL-00002_20261125_090000_0001",
        "2026-11-25T09:00:00Z",
    );
    collect(
        &path,
        "Nord",
        "SNTL-00001_20261125_100000_0002",
        "2026-11-25T10:00:00Z",
    );
    let reg = crate::custody::register::testing::open_at(&path).unwrap();
    let find = |site: Option<&str>| {
        let q = SearchQuery {
            site: site.map(str::to_string),
            limit: 10,
            ..SearchQuery::default()
        };
        search::search(&reg.conn, &q)
            .unwrap()
            .into_iter()
            .map(|r| (r.stem, r.site))
            .collect::<Vec<_>>()
    };
    let pair = |stem: &str, site: &str| (stem.to_string(), site.to_string());
    assert_eq!(
        find(Some("Nord")),
        [
            pair("SNTL-00001_20261125_100000_0002", "Nord"),
            pair("SNTL-00001_20261125_080000_0001", "Nord"),
        ]
    );
    assert_eq!(
        find(Some("Sud")),
        [pair("SNTL-00002_20261125_090000_0001", "Sud")]
    );
    assert!(find(Some("Est")).is_empty());
    assert_eq!(find(None).len(), 3);
    // The report's totals of one site.
    let day = |site| {
        stored::started_by_day(
            &reg.conn,
            at("2026-11-25T00:00:00Z"),
            at("2026-11-26T00:00:00Z"),
            chrono_tz::UTC,
            site,
        )
        .unwrap()
        .iter()
        .map(|(_, t)| t.recordings)
        .sum::<u64>()
    };
    assert_eq!((day(None), day(Some("Nord")), day(Some("Sud"))), (3, 2, 1));
    let store = |site| {
        stored::in_store_totals_at(&reg.conn, site)
            .unwrap()
            .recordings
    };
    assert_eq!((store("Nord"), store("Sud"), store("")), (2, 1, 0));
}

/// One site's totals per day fall on the same local days as the whole register's: its
/// query names each quarter of an hour its own (portable) way.
#[test]
fn a_sites_days_are_the_whole_registers_days() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.sqlite");
    for (i, minute) in ["07", "22", "37", "52"].iter().enumerate() {
        let start = format!("2026-11-25T18:{minute}:00Z");
        let stem = format!("SNTL-00001_20261125_18{minute}00_000{}", i + 1);
        collect(&path, "Nord", &stem, &start);
    }
    let reg = crate::custody::register::testing::open_at(&path).unwrap();
    // Kolkata's midnight is 18:30 UTC: its day changes between the quarters 18:15 and
    // 18:30, which therefore must be named right.
    for tz in [
        chrono_tz::Europe::Paris,
        chrono_tz::America::Cayenne,
        chrono_tz::Asia::Kolkata,
    ] {
        let days = |site| {
            stored::started_by_day(
                &reg.conn,
                at("2026-11-24T00:00:00Z"),
                at("2026-11-28T00:00:00Z"),
                tz,
                site,
            )
            .unwrap()
            .into_iter()
            .map(|(day, t)| (day, t.recordings))
            .collect::<Vec<_>>()
        };
        assert_eq!(days(Some("Nord")), days(None), "{tz}");
        assert_eq!(days(Some("Nord")).iter().map(|d| d.1).sum::<u64>(), 4);
    }
    let kolkata = stored::started_by_day(
        &reg.conn,
        at("2026-11-24T00:00:00Z"),
        at("2026-11-28T00:00:00Z"),
        chrono_tz::Asia::Kolkata,
        Some("Nord"),
    )
    .unwrap();
    let split: Vec<_> = kolkata
        .iter()
        .map(|(d, t)| (d.to_string(), t.recordings))
        .collect();
    assert_eq!(
        split,
        [("2026-11-25".to_string(), 2), ("2026-11-26".to_string(), 2)]
    );
}

/// A force's docks share the register, each with its own store: what a dock does to its
/// store (scrub, purge, replicate, count its use) reads its own site's recordings only,
/// while searches and consultations see the whole force's.
#[test]
fn each_dock_answers_for_its_own_stores_recordings_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.sqlite");
    collect(
        &path,
        "Nord",
        "SNTL-00001_20261101_080000_0001",
        "2026-11-01T08:00:00Z",
    );
    collect(
        &path,
        "Sud",
        "SNTL-00002_20261101_090000_0001",
        "2026-11-01T09:00:00Z",
    );
    let mut sud = crate::custody::register::testing::open_at(&path).unwrap();
    sud.set_site("Sud").unwrap();
    let ids = |reg: &Register, stem_of: &[RecordingId]| -> Vec<String> {
        stem_of
            .iter()
            .map(|id| reg.recording(*id).unwrap().unwrap().stem)
            .collect()
    };
    let files = sud.recordings_with_files().unwrap();
    assert_eq!(ids(&sud, &files), ["SNTL-00002_20261101_090000_0001"]);
    let tx = sud.read().unwrap();
    let expired: Vec<String> = stored::expired(&tx, at("2027-01-01T00:00:00Z"))
        .unwrap()
        .into_iter()
        .map(|r| r.stem)
        .collect();
    assert_eq!(expired, ["SNTL-00002_20261101_090000_0001"]);
    let due = replica::ReplicaQueue::due(&tx, at("2027-01-01T00:00:00Z"), 10).unwrap();
    assert_eq!(replica::ReplicaQueue::backlog(&tx).unwrap().recordings, 1);
    assert_eq!(stored::this_site(&tx).unwrap(), "Sud");
    drop(tx);
    assert_eq!(ids(&sud, &due), ["SNTL-00002_20261101_090000_0001"]);
    // The search is the force's.
    let tx = sud.read().unwrap();
    let every = SearchQuery {
        limit: 10,
        ..SearchQuery::default()
    };
    assert_eq!(search::search(&tx, &every).unwrap().len(), 2);
    drop(tx);
    // A recording left in flight at Nord (the camera taken there mid-ingest) and found
    // again at Sud is Sud's from then on.
    let mut nord = crate::custody::register::testing::open_at(&path).unwrap();
    nord.set_site("Nord").unwrap();
    let now = at("2026-11-26T07:00:00Z");
    let stem = "SNTL-00001_20261102_080000_0001";
    let s = nord.begin_session("SNTL-00001", "src", "p", now).unwrap();
    let id = nord
        .insert_discovered(s, "SNTL-00001", stem, at("2026-11-02T08:00:00Z"), now)
        .unwrap();
    let s = sud.begin_session("SNTL-00001", "src", "p", now).unwrap();
    let again = sud
        .insert_discovered(s, "SNTL-00001", stem, at("2026-11-02T08:00:00Z"), now)
        .unwrap();
    assert_eq!(again, id, "one row in flight");
    assert!(ids(&sud, &sud.recordings_with_files().unwrap()).contains(&stem.to_string()));
    assert!(!ids(&nord, &nord.recordings_with_files().unwrap()).contains(&stem.to_string()));
}
