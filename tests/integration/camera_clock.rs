//! Camera clocks: a camera whose clock was reset (2000-01-01), runs ahead (2031) or drifts
//! (3 h off GPS) loses nothing early. Retention counts from GPS time or the docking, the
//! recordings are flagged and left for a person to attribute, and the camera's offset is
//! in the register, the status and the journal. Real FAT images (mkfs.vfat, mtools), real
//! MP4s from the fixtures, the real ingest, commands, and daemon.
#![allow(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fail the test by panicking, like the tests"
)]

use std::time::Instant;

use crate::desk::*;
use chrono::{DateTime, Duration, Utc};
use common::daemon::{Daemon, PATIENCE};
use common::*;
use nix::sys::signal::Signal;
use sentinel_dock::app::commands::{daily, purge_due};
use sentinel_dock::app::ingest::{IngestReport, Options};
use sentinel_dock::base::events;
use serde_json::Value;

use crate::common;

/// The docking in the register tests, on the service's clock.
const DOCKED: &str = "2026-12-04T18:00:00Z";

/// A recording the camera dates `camera_start`, made of the fixture A1 (6 s of real MP4),
/// with one RMC and one GGA a second from `gps_start` when the camera saw satellites.
fn recording(
    serial: &str,
    seq: u32,
    camera_start: &str,
    gps_start: Option<DateTime<Utc>>,
) -> Recording {
    let fixture = fixture_recordings(SERIAL)
        .into_iter()
        .find(|r| r.stem == A1)
        .unwrap();
    let start = time(camera_start);
    let stem = format!("{serial}_{}_{seq:04}", start.format("%Y%m%d_%H%M%S"));
    let mut sidecar = SidecarSpec::for_video(serial, &stem, &fixture.video, 6);
    sidecar.fixes = gps_start.map_or_else(Vec::new, |t| gps_fixes(t, 6));
    Recording {
        stem,
        video: fixture.video,
        sidecar: sidecar.render(),
    }
}

fn camera_with(serial: &str, recordings: Vec<Recording>) -> CameraSpec {
    CameraSpec {
        recordings,
        ..CameraSpec::new(serial)
    }
}

/// Ingests a real FAT image of `spec` at the desk's clock.
fn ingest_image(d: &Desk, spec: &CameraSpec) -> (IngestReport, Value) {
    let image = build_fat_image(spec, d.dir.path(), Layout::Superfloppy);
    let options = Options {
        clock: d.clock.clone(),
        ..Options::default()
    };
    let report = crate::common::ingest_into(&d.config, &image, &d.store, &options).unwrap();
    let json = serde_json::to_value(&report).unwrap();
    for r in &report.recordings {
        assert!(r.wiped, "{}: proven, so wiped: {:?}", r.stem, r.reasons);
    }
    (report, json)
}

fn flags(json: &Value, stem: &str) -> Vec<String> {
    json["recordings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["stem"] == stem)
        .unwrap_or_else(|| panic!("{stem} not reported"))["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect()
}

fn has_flag(json: &Value, stem: &str, code: &str) -> bool {
    flags(json, stem)
        .iter()
        .any(|f| f.starts_with(&format!("{code}:")))
}

/// The register's trusted time and its clock for a recording.
fn retention_from(d: &mut Desk, stem: &str) -> (String, String) {
    d.db()
        .query_row(
            "SELECT retention_from, time_source FROM recordings WHERE stem = ?1",
            [stem],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
}

/// The camera's offset recorded at its last docking: seconds, basis, wrong.
fn session_clock(d: &mut Desk, serial: &str) -> (i64, String, bool) {
    d.db()
        .query_row(
            "SELECT clock_offset_secs, clock_offset_basis, clock_wrong FROM sessions
             WHERE camera = ?1 ORDER BY id DESC LIMIT 1",
            [serial],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap()
}

fn due(d: &mut Desk) -> Vec<String> {
    let plan = d.ok(AGENT, &["purge", "--dry-run"]);
    plan.data["delete"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

fn attributed(d: &mut Desk, stem: &str) -> i64 {
    d.db()
        .query_row(
            "SELECT count(*) FROM attributions t JOIN recordings r ON r.id = t.recording
             WHERE r.stem = ?1",
            [stem],
            |r| r.get(0),
        )
        .unwrap()
}

fn secs(from: &str, to: &str) -> i64 {
    (time(to) - time(from)).num_seconds()
}

#[test]
fn a_reset_clock_with_or_without_gps_loses_nothing_to_the_next_purge() {
    let mut d = Desk::new("[retention]\nmax_purge_share = 1.0\n");
    d.clock.set(DOCKED);
    // Made this morning; a dead clock battery dated them 2000-01-01.
    let today = |hms: &str| Some(time(&format!("2026-12-04T{hms}Z")));
    let with_gps = camera_with(
        "SNTL-00042",
        vec![
            recording("SNTL-00042", 1, "2000-01-01T00:00:00Z", today("08:00:00")),
            recording("SNTL-00042", 2, "2000-01-01T00:10:00Z", today("08:10:00")),
        ],
    );
    let without_gps = camera_with(
        "SNTL-00043",
        vec![
            recording("SNTL-00043", 1, "2000-01-01T00:00:00Z", None),
            recording("SNTL-00043", 2, "2000-01-01T00:10:00Z", None),
        ],
    );
    let (_, gps_report) = ingest_image(&d, &with_gps);
    let (_, blind_report) = ingest_image(&d, &without_gps);
    let gps_stems: Vec<String> = with_gps.recordings.iter().map(|r| r.stem.clone()).collect();
    let blind_stems: Vec<String> = without_gps
        .recordings
        .iter()
        .map(|r| r.stem.clone())
        .collect();

    // Nothing is due: not by `purge`, not by the daily upkeep.
    assert_eq!(due(&mut d), Vec::<String>::new(), "due at their docking");
    let done = d.ok(HEAD, &["purge"]);
    assert_eq!(
        done.data["deleted"],
        serde_json::json!([]),
        "{}",
        done.message
    );
    let upkeep = daily(&mut d.context()).unwrap();
    assert_eq!(upkeep.data["purge"]["deleted"], serde_json::json!([]));
    for stem in gps_stems.iter().chain(&blind_stems) {
        assert_eq!(d.state(stem), "wiped", "{stem} kept in the store");
        assert!(d.video_path(stem).exists(), "{stem}'s file kept");
    }

    // Flagged, and the camera's offset told and recorded.
    for stem in &gps_stems {
        assert!(
            has_flag(&gps_report, stem, "clock-drift"),
            "{stem}: {:?}",
            flags(&gps_report, stem)
        );
        assert_eq!(retention_from(&mut d, stem).1, "gps");
    }
    for stem in &blind_stems {
        assert!(
            has_flag(&blind_report, stem, "clock-behind"),
            "{stem}: {:?}",
            flags(&blind_report, stem)
        );
        assert_eq!(
            retention_from(&mut d, stem),
            (
                "2026-12-04T18:00:00.000Z".to_string(),
                "docking".to_string()
            )
        );
    }
    // The camera's clock minus GPS time: the median of its two recordings.
    let gps_offset = secs("2026-12-04T08:10:00Z", "2000-01-01T00:10:00Z");
    assert_eq!(gps_report["clock"]["offset_secs"], gps_offset);
    assert_eq!(gps_report["clock"]["basis"], "gps");
    assert_eq!(
        session_clock(&mut d, "SNTL-00042"),
        (gps_offset, "gps".into(), true)
    );
    // Without fixes, against the docking: its latest recording's end.
    let docking_offset = secs(DOCKED, "2000-01-01T00:10:06Z");
    assert_eq!(blind_report["clock"]["offset_secs"], docking_offset);
    assert_eq!(
        session_clock(&mut d, "SNTL-00043"),
        (docking_offset, "docking".into(), true)
    );
    let warnings = blind_report["warnings"].to_string();
    assert!(
        warnings.contains("camera SNTL-00043's clock is wrong: 26 year(s)"),
        "{warnings}"
    );

    // The activity report counts them on the day they were made, not in 2000.
    let today = d.ok(
        HEAD,
        &["report", "--from", "2026-12-04", "--to", "2026-12-04"],
    );
    assert_eq!(today.data["videos"], 4, "{}", today.message);

    // Due a retention after their true end (GPS), or after their docking (no fix).
    d.clock.set("2027-01-03T12:00:00Z");
    assert_eq!(due(&mut d), gps_stems);
    d.clock.set("2027-01-03T18:00:01Z");
    let mut all = gps_stems.clone();
    all.extend(blind_stems.iter().cloned());
    assert_eq!(due(&mut d), all);
    let upkeep = purge_due(&mut d.context()).unwrap();
    assert_eq!(upkeep.data["deleted"].as_array().unwrap().len(), 4);
    let trace = d
        .audit()
        .into_iter()
        .rfind(|e| e.action == "deletion")
        .unwrap();
    assert!(
        trace
            .details
            .contains("counted from 2026-12-04T18:00:00.000Z by the docking clock"),
        "{}",
        trace.details
    );
}

#[test]
fn a_recording_dated_2031_is_clock_ahead_attributed_by_hand_and_kept_from_its_docking() {
    let mut d = Desk::new("[retention]\nmax_purge_share = 1.0\n");
    d.clock.set("2026-12-04T06:30:00Z");
    d.ok(
        HEAD,
        &[
            "agent",
            "add",
            "M100",
            "--name",
            "Claire Martin",
            "--brigade",
            "Jour",
        ],
    );
    d.ok(AGENT, &["camera", "enroll", "SNTL-00042"]);
    d.ok(
        AGENT,
        &[
            "issue",
            "SNTL-00042",
            "M100",
            "--at",
            "2026-12-04T06:00:00Z",
        ],
    );
    d.clock.set(DOCKED);
    let sound = recording(
        "SNTL-00042",
        1,
        "2026-12-04T09:00:00Z",
        Some(time("2026-12-04T09:00:00Z")),
    );
    let ahead = recording("SNTL-00042", 2, "2031-06-01T08:00:00Z", None);
    let (sound_stem, ahead_stem) = (sound.stem.clone(), ahead.stem.clone());
    let (_, report) = ingest_image(&d, &camera_with("SNTL-00042", vec![sound, ahead]));

    assert!(
        has_flag(&report, &ahead_stem, "clock-ahead"),
        "{:?}",
        flags(&report, &ahead_stem)
    );
    assert!(
        flags(&report, &sound_stem).is_empty(),
        "{:?}",
        flags(&report, &sound_stem)
    );
    assert_eq!(
        retention_from(&mut d, &ahead_stem),
        (
            "2026-12-04T18:00:00.000Z".to_string(),
            "docking".to_string()
        )
    );
    assert_eq!(retention_from(&mut d, &sound_stem).1, "camera");
    assert!(
        report["warnings"]
            .to_string()
            .contains("SNTL-00042's clock is wrong")
    );

    // The sound recording goes to the agent; the one dated 2031 waits for a person.
    let attention = d.ok(
        HEAD,
        &[
            "register",
            "print",
            "--view",
            "attention",
            "--format",
            "json",
        ],
    );
    assert_eq!(attributed(&mut d, &sound_stem), 1);
    assert_eq!(
        attributed(&mut d, &ahead_stem),
        0,
        "not attributed to whoever holds it in 2031"
    );
    let rows = attention.data["rows"].as_array().unwrap();
    let why = rows
        .iter()
        .find(|r| r["recording"] == ahead_stem.as_str())
        .unwrap_or_else(|| panic!("{ahead_stem} needs attention: {rows:?}"))["why"]
        .as_str()
        .unwrap();
    assert!(why.contains("clock is not trusted"), "{why}");

    // Retention from the docking: due 30 days after it, not in 2031.
    d.clock.set("2027-01-03T17:59:00Z");
    assert!(!due(&mut d).contains(&ahead_stem));
    d.clock.set("2027-01-03T18:00:01Z");
    assert!(due(&mut d).contains(&ahead_stem));
}

#[test]
fn a_camera_clock_three_hours_ahead_of_gps_is_clock_drift_counted_from_gps_time() {
    let mut d = Desk::new("[retention]\nmax_purge_share = 1.0\n");
    d.clock.set(DOCKED);
    // The satellites say 09:00, the camera 12:00.
    let drifting = recording(
        "SNTL-00042",
        1,
        "2026-12-04T12:00:00Z",
        Some(time("2026-12-04T09:00:00Z")),
    );
    let stem = drifting.stem.clone();
    let (_, report) = ingest_image(&d, &camera_with("SNTL-00042", vec![drifting]));

    let drift = flags(&report, &stem);
    assert!(
        drift.iter().any(|f| f.starts_with("clock-drift:")
            && f.contains("3 h 0 min ahead of GPS time (offset +10800 s)")),
        "{drift:?}"
    );
    assert_eq!(report["clock"]["offset_secs"], 10800);
    assert_eq!(
        session_clock(&mut d, "SNTL-00042"),
        (10800, "gps".into(), true)
    );
    // The first fix plus the recording's 16 s (10 s of pre-recording and 6 s).
    assert_eq!(
        retention_from(&mut d, &stem),
        ("2026-12-04T09:00:16.000Z".to_string(), "gps".to_string())
    );
    d.ok(AGENT, &["register", "print", "--view", "attention"]);
    assert_eq!(attributed(&mut d, &stem), 0);

    // Due a retention after 09:00:16 by GPS, hours before the camera's 12:00:06.
    d.clock.set("2027-01-03T09:00:15Z");
    assert!(due(&mut d).is_empty());
    d.clock.set("2027-01-03T10:00:00Z");
    assert_eq!(due(&mut d), [stem]);
}

/// Waits until the daemon's log holds `needle` at least `times` times.
fn wait_log_count(daemon: &Daemon, needle: &str, times: usize) {
    let start = Instant::now();
    while daemon.log().matches(needle).count() < times {
        assert!(
            start.elapsed() < PATIENCE,
            "waited for {times} × {needle:?}:\n{}",
            daemon.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// The story on the real service: a sound camera's old recordings and a reset
/// camera's made today, docked, wiped; the service restarts, and its start-up upkeep
/// purges only what is really past its retention. The collection brake is off here, so
/// that the trusted times alone are what keeps the reset camera's recordings
/// (`tests/lying_clocks.rs` has the brake).
#[test]
fn the_services_start_up_upkeep_purges_nothing_of_a_reset_camera() {
    let mut daemon = Daemon::start(&[(
        "retention",
        "max_purge_share = 1.0\nmin_days_after_collection = 0",
    )]);
    let now = Utc::now();
    let made = |minutes: i64| Some(now - Duration::minutes(minutes));
    let cameras = [
        CameraSpec::fixture(SERIAL_2),
        camera_with(
            "SNTL-00042",
            vec![
                recording("SNTL-00042", 1, "2000-01-01T00:00:00Z", made(120)),
                recording("SNTL-00042", 2, "2000-01-01T00:10:00Z", made(110)),
            ],
        ),
        camera_with(
            "SNTL-00043",
            vec![
                recording("SNTL-00043", 1, "2000-01-01T00:00:00Z", None),
                recording("SNTL-00043", 2, "2000-01-01T00:10:00Z", None),
            ],
        ),
    ];
    for spec in &cameras {
        let image = build_fat_image(spec, &daemon.path("cameras"), Layout::Superfloppy);
        daemon.dock(&spec.serial, &image);
    }
    daemon.wait_state(SERIAL_2, "safe-to-undock");
    for (serial, basis) in [("SNTL-00042", "gps"), ("SNTL-00043", "docking")] {
        let state = daemon.wait_state(serial, "needs-attention");
        let offset = state["clock"]["offset_secs"].as_i64().unwrap();
        assert!(offset < -26 * 365 * 86_400, "{serial}: {state}");
        assert_eq!(state["clock"]["basis"], basis, "{state}");
        assert_eq!(state["left_on_camera"], 0, "proven and wiped: {state}");
        let recorded = daemon.query(&format!(
            "SELECT clock_offset_secs || ' ' || clock_offset_basis FROM sessions WHERE camera = '{serial}'"
        ));
        assert_eq!(recorded, [format!("{offset} {basis}")]);
    }
    daemon.wait_event(events::CAMERA_CLOCK);
    let text = daemon.dockctl(None, &["status"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("camera SNTL-00043's clock is wrong: 26 year(s)"),
        "{text}"
    );
    let json = daemon.dockctl(None, &["status", "--json"]);
    let json: Value = serde_json::from_slice(&json.stdout).unwrap();
    let shown = common::daemon::camera(&json, "SNTL-00042").unwrap();
    assert_eq!(shown["clock"]["serial"], "SNTL-00042", "{shown}");
    assert_eq!(shown["clock"]["basis"], "gps", "{shown}");
    assert_eq!(shown["clock"]["wrong"], true, "{shown}");
    let flagged = daemon.query(
        "SELECT stem FROM recordings WHERE flags LIKE '%clock-%' AND state = 'wiped' ORDER BY stem",
    );
    assert_eq!(flagged.len(), 4, "{flagged:?}");

    daemon.signal(Signal::SIGTERM);
    daemon.wait_exit(PATIENCE);
    daemon.restart();
    wait_log_count(&daemon, "daily upkeep", 2);
    // The sound camera's recordings of 2018 are past their retention; the reset ones are not.
    let states =
        daemon.query("SELECT camera || ' ' || state FROM recordings ORDER BY camera, stem");
    assert_eq!(
        states,
        [
            "SNTL-00007 purged",
            "SNTL-00007 purged",
            "SNTL-00042 wiped",
            "SNTL-00042 wiped",
            "SNTL-00043 wiped",
            "SNTL-00043 wiped",
        ],
        "log:\n{}",
        daemon.log()
    );
    let stored: Vec<String> = daemon
        .stored_files()
        .into_iter()
        .filter(|f| f.ends_with(".MP4"))
        .collect();
    assert_eq!(stored.len(), 4, "{stored:?}");
}
