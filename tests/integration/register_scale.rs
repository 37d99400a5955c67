//! The register at scale, in small: `examples/fill_register` (what `scripts/bench --register`
//! fills a million-recording register with) writes a register that holds together and whose
//! audit chain verifies; the report's totals counted by SQLite agree with the recordings
//! read one by one; a purge of several batches deletes, traces and removes each recording.
#![allow(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fail the test by panicking, like the tests"
)]

#[path = "../../examples/fill_register/fill.rs"]
mod fill;

use std::path::Path;

use crate::desk::*;
use sentinel_dock::custody::register::audit;
use sentinel_dock::custody::register::stored::{self, StoredRecording};

use crate::common;

const RECORDINGS: u64 = 10_000;
/// More than two purge batches (500 a transaction).
const DUE: u64 = 1_200;

/// A desk whose register is filled for its clock's now, with the due files in its store.
fn filled() -> (Desk, fill::Summary) {
    let d = Desk::new("[retention]\ndays = 360\n");
    let plan = fill::Plan {
        recordings: RECORDINGS,
        cameras: 8,
        due: DUE,
        retention_days: 360,
        now: time("2018-03-15T10:00:00Z"),
        seed: 7,
        store: Some(d.config.store.path.clone()),
    };
    d.clock.set("2018-03-15T10:00:00Z");
    let summary = fill::fill(&d.register_path(), &plan).expect("fill");
    (d, summary)
}

fn count(d: &mut Desk, sql: &str) -> i64 {
    d.db().query_row(sql, [], |r| r.get(0)).unwrap()
}

fn files_under(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .map(|e| e.unwrap().path())
        .filter(|p| !common::is_store_owner_file(dir, p))
        .map(|p| if p.is_dir() { files_under(&p) } else { 1 })
        .sum()
}

#[test]
fn a_filled_register_holds_together_and_its_chain_verifies() {
    let (mut d, s) = filled();
    assert_eq!((s.recordings, s.due, s.files), (RECORDINGS, DUE, 2 * DUE));
    let conn = &d.conn();
    let v = audit::verify(conn, None).unwrap();
    assert!(v.is_intact(), "{}", v.describe());
    assert_eq!(v.entries as i64, s.audit_entries);
    // Each recording: a collection and an attribution, and a wipe unless quarantined.
    assert!(s.audit_entries > 2 * RECORDINGS as i64 + 9_000, "{s:?}");
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", (), |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    assert_eq!(
        count(&mut d, "SELECT count(*) FROM pragma_foreign_key_check"),
        0
    );
    assert_eq!(
        count(
            &mut d,
            "SELECT count(*) FROM recordings WHERE state IN ('wiped', 'quarantined')"
        ),
        RECORDINGS as i64
    );
    assert_eq!(
        count(
            &mut d,
            "SELECT count(*) FROM recordings WHERE attribution_pending = 1"
        ),
        0
    );
    assert_eq!(files_under(&d.config.store.path), 2 * DUE as usize);
    // The operators see it as the daemon would: the due ones, the held ones kept.
    let plan = d.ok(HEAD, &["purge", "--dry-run"]);
    let delete = plan.data["delete"].as_array().unwrap().len() as u64;
    let held = plan.data["held"].as_array().unwrap().len() as u64;
    assert_eq!((delete + held, held), (DUE, s.held_due));
}

#[test]
fn the_report_counted_by_sqlite_agrees_with_the_recordings_read_one_by_one() {
    let (mut d, s) = filled();
    let first = s.first_day.unwrap();
    let last = first + chrono::Days::new(365);
    let report = d.ok(
        HEAD,
        &[
            "report",
            "--from",
            &first.to_string(),
            "--to",
            &last.to_string(),
        ],
    );
    let (start, end) = (
        first.and_hms_opt(0, 0, 0).unwrap().and_utc(),
        (last + chrono::Days::new(1))
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc(),
    );
    let conn = &d.conn();
    let period = stored::started_between(conn, start, end).unwrap();
    let in_store = stored::in_store(conn).unwrap();
    let videos = |rows: &[StoredRecording]| rows.iter().filter(|r| r.video.is_some()).count();
    let bytes = |rows: &[StoredRecording]| rows.iter().map(StoredRecording::bytes).sum::<u64>();
    let data = &report.data;
    assert_eq!(data["videos"], videos(&period) as u64);
    assert_eq!(data["bytes"], bytes(&period));
    assert_eq!(data["videos_in_store"], videos(&in_store) as u64);
    assert_eq!(data["bytes_in_store"], bytes(&in_store));
    let days: std::collections::BTreeSet<_> = period.iter().map(|r| r.start.date_naive()).collect();
    assert_eq!(
        data["days_of_use"],
        days.len() as u64,
        "every day had shifts"
    );
    assert!(period.len() as u64 > RECORDINGS / 2, "{}", period.len());
}

#[test]
fn a_purge_of_several_batches_deletes_traces_and_removes_each_recording() {
    let (mut d, s) = filled();
    let done = d.ok(HEAD, &["purge"]);
    let deleted: Vec<String> = done.data["deleted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(deleted.len() as u64, DUE - s.held_due);
    assert_eq!(
        done.data["problems"].as_array().unwrap().len(),
        0,
        "{}",
        done.message
    );
    assert_eq!(
        count(
            &mut d,
            "SELECT count(*) FROM recordings WHERE state = 'purged'"
        ),
        deleted.len() as i64
    );
    // One deletion entry per recording, each naming it, and the chain still holds.
    let entries: Vec<_> = d
        .audit()
        .into_iter()
        .filter(|e| e.action == "deletion")
        .collect();
    assert_eq!(entries.len(), deleted.len());
    for (entry, stem) in entries.iter().zip(&deleted) {
        assert_eq!(entry.recordings, format!("[\"{stem}\"]"));
        assert!(
            entry.details.contains("deleted from the store"),
            "{}",
            entry.details
        );
    }
    let v = audit::verify(&d.conn(), None).unwrap();
    assert!(v.is_intact(), "{}", v.describe());
    // Only the held recordings' files stay; emptied folders are pruned.
    assert_eq!(files_under(&d.config.store.path), 2 * s.held_due as usize);
    let again = d.ok(HEAD, &["purge"]);
    assert_eq!(again.data["deleted"].as_array().unwrap().len(), 0);
}

/// Every page of a search, in order, for the console.
fn all_pages(d: &mut Desk, filters: &[&str]) -> Vec<String> {
    let mut stems = Vec::new();
    for page in 1.. {
        let p = page.to_string();
        let mut line = vec!["search", "--per-page", "200", "--page", &p];
        line.extend_from_slice(filters);
        let reply = d.ok(HEAD, &line);
        let found: sentinel_dock::app::api::replies::Found =
            sentinel_dock::app::api::replies::decode(&reply.data).unwrap();
        stems.extend(found.recordings.into_iter().map(|r| r.stem));
        if !found.more {
            break;
        }
    }
    stems
}

fn stems_where(d: &mut Desk, sql_where: &str) -> Vec<String> {
    let sql = format!(
        "SELECT r.stem FROM recordings r WHERE {sql_where} ORDER BY r.start_utc DESC, r.id DESC"
    );
    let conn = &d.conn();
    let mut s = conn.prepare(&sql).unwrap();
    s.query_map((), |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn the_consoles_search_finds_what_each_filter_names_and_nothing_else() {
    let (mut d, _) = filled();
    // Each expectation is written against the register's tables directly, not through the
    // search's own query.
    let by_agent = stems_where(
        &mut d,
        "(SELECT agent FROM attributions t WHERE t.recording = r.id ORDER BY t.id DESC LIMIT 1) = 'PM-0105'",
    );
    assert!(!by_agent.is_empty());
    assert_eq!(all_pages(&mut d, &["--agent", "PM-0105"]), by_agent);
    let by_brigade = stems_where(
        &mut d,
        "(SELECT g.brigade FROM attributions t JOIN agents g ON g.matricule = t.agent WHERE t.recording = r.id ORDER BY t.id DESC LIMIT 1) = 'VTT'",
    );
    assert_eq!(all_pages(&mut d, &["--brigade", "VTT"]), by_brigade);
    let held = stems_where(
        &mut d,
        "r.id IN (SELECT recording FROM holds WHERE released_at IS NULL)",
    );
    assert!(!held.is_empty());
    assert_eq!(all_pages(&mut d, &["--held", "true"]), held);
    // 200 m around a point: every recording whose GPS box comes that close (a box test in
    // degrees, 1° of latitude = 111,320 m, longitude scaled by the cosine).
    let (lat, lon, m) = (45.0434_f64, 5.0517_f64, 200.0);
    let (dlat, dlon) = (m / 111_320.0, m / (111_320.0 * lat.to_radians().cos()));
    let near = stems_where(
        &mut d,
        &format!(
            "r.gps_max_lat >= {} AND r.gps_min_lat <= {} AND r.gps_max_lon >= {} AND r.gps_min_lon <= {}",
            lat - dlat,
            lat + dlat,
            lon - dlon,
            lon + dlon
        ),
    );
    assert!(!near.is_empty() && near.len() < 1000, "{}", near.len());
    assert_eq!(
        all_pages(&mut d, &["--near", "45.0434,5.0517", "--radius", "200"]),
        near
    );
    let camera = stems_where(&mut d, "r.camera = 'SNTL-00003'");
    assert!(!camera.is_empty());
    assert_eq!(all_pages(&mut d, &["--camera", "SNTL-00003"]), camera);
    let quarantined = stems_where(&mut d, "r.state = 'quarantined'");
    assert_eq!(all_pages(&mut d, &["--state", "quarantined"]), quarantined);
}
