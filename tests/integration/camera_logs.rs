//! The camera's own logs (profile version 2) across two dockings of a real FAT image made by
//! mkfs.vfat and mtools, ingested by the real engine into a real store and SQLite register:
//! the on-camera consultations of `PLAYBACK.LOG` in the audit register, each once, by the
//! agent who held the camera (perception register); a line with a bad checksum skipped and
//! reported; the logs stored with proven hashes; `/LOG` never wiped; the chain still holds.
//!
//! The test uses the library's existing interfaces only (the audit entries, the register's
//! tables by SQL, the commands' JSON), so that it runs, and fails, against a build without
//! the feature.
#![allow(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fail the test by panicking, like the tests"
)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::desk::*;
use common::{
    CameraSpec, Layout, SERIAL, SERIAL_2, build_fat_image, list_fat_image, nmea_checksum,
    read_fat_file, sha256_hex, write_fat_file,
};
use sentinel_dock::app::ingest::{IngestReport, Options};
use sentinel_dock::custody::register::DockEvent;
use sentinel_dock::custody::register::audit::AuditEntry;

use crate::common;

const PURPOSE: &str = "consultation immédiate (L241-2)";

/// A camera log line with its checksum, as the camera writes it.
fn line(body: &str) -> String {
    format!("{body}*{:02X}", nmea_checksum(body))
}

fn video(stem: &str) -> String {
    format!("{stem}.MP4")
}

/// Three consultations on 12 March (two of A1, one of A2) and a line whose checksum is wrong.
fn playback_log() -> String {
    [
        line(&format!(
            "2018-03-12T14:40:00Z;PLAY;{};00:00:00;00:00:06",
            video(A1)
        )),
        format!(
            "2018-03-12T14:41:00Z;PLAY;{};00:00:01;00:00:03*00",
            video(A1)
        ),
        line(&format!(
            "2018-03-12T15:10:00Z;PLAY;{};00:00:00;00:00:04",
            video(A2)
        )),
        line(&format!(
            "2018-03-12T15:20:00Z;PLAY;{};00:00:02;00:00:05",
            video(A1)
        )),
    ]
    .map(|l| l + "\r\n")
    .concat()
}

fn events_log() -> String {
    [
        line("2018-03-12T06:05:00Z;POWER_ON"),
        line(&format!("2018-03-12T14:30:05Z;REC_START;{}", video(A1))),
        line(&format!(
            "2018-03-12T14:30:21Z;REC_STOP;{};123456",
            video(A1)
        )),
        line("2018-03-12T14:35:00Z;STORAGE_ERROR;write retry;sector 88"),
        line("2018-03-12T16:00:00Z;CLOCK_SET;2018-03-12T16:00:02Z"),
    ]
    .map(|l| l + "\n")
    .concat()
}

const SYSTEM_LOG: &str = "boot 2.3.1\nsensor ok\n";

/// The fixture camera SNTL-00042 with the three logs of profile version 2.
fn camera() -> CameraSpec {
    let mut spec = CameraSpec::fixture(SERIAL);
    spec.extra_files.extend([
        ("LOG/PLAYBACK.LOG".to_string(), playback_log().into_bytes()),
        ("LOG/EVENTS.LOG".to_string(), events_log().into_bytes()),
        ("LOG/SYSTEM.LOG".to_string(), SYSTEM_LOG.as_bytes().to_vec()),
    ]);
    spec
}

fn dock(d: &mut Desk, image: &Path, at: &str) -> IngestReport {
    d.register
        .record_dock_event(SERIAL, DockEvent::Docked, SERIAL, time(at))
        .unwrap();
    d.clock.set(at);
    let options = Options {
        clock: d.clock.clone(),
        ..Options::default()
    };
    crate::common::ingest_into(&d.config, image, &d.store, &options).unwrap()
}

fn on_camera(d: &mut Desk) -> Vec<AuditEntry> {
    d.audit()
        .into_iter()
        .filter(|e| e.action == "consultation" && e.purpose == PURPOSE)
        .collect()
}

/// The stored log copies of a docking, from the register: (kind, path, size, sha256, blake3).
fn stored_logs(d: &mut Desk, session: i64) -> Vec<(String, String, i64, String, String)> {
    let conn = &d.db();
    let mut stmt = conn
        .prepare(
            "SELECT kind, path, size, sha256, blake3 FROM camera_logs WHERE session = ?1 ORDER BY kind",
        )
        .unwrap();
    stmt.query_map([session], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

/// Agents M100 and M200, the camera enrolled and issued to M100 on 12 March at 06:00.
fn desk() -> Desk {
    let mut d = Desk::new("");
    d.clock.set("2018-03-12T05:00:00Z");
    for (m, name) in [("M100", "Claire Martin"), ("M200", "Paul Durand")] {
        d.ok(
            HEAD,
            &["agent", "add", m, "--name", name, "--brigade", "Jour"],
        );
    }
    d.ok(AGENT, &["camera", "enroll", SERIAL]);
    d.clock.set("2018-03-12T06:00:00Z");
    d.ok(
        AGENT,
        &["issue", SERIAL, "M100", "--at", "2018-03-12T06:00:00Z"],
    );
    d
}

#[test]
fn on_camera_consultations_are_traced_once_by_their_holder_across_two_dockings() {
    let mut d = desk();
    let image = build_fat_image(&camera(), d.dir.path(), Layout::Superfloppy);

    // First docking: the evening of the 13th ends M100's issue.
    let first = dock(&mut d, &image, "2018-03-13T10:00:00Z");
    let traced = on_camera(&mut d);
    assert_eq!(traced.len(), 3, "{traced:#?}");
    for e in &traced {
        assert_eq!(e.author, "agent M100 (on camera SNTL-00042)", "{e:?}");
        assert_eq!(e.recipients, "agent M100");
        assert!(
            e.details.contains("holder: camera time 2018-03-12T")
                && e.details
                    .contains("camera issued to agent M100 at 2018-03-12T06:00:00.000Z (issue #1)"),
            "{}",
            e.details
        );
    }
    assert_eq!(traced[0].recordings, format!("[\"{A1}\"]"));
    assert_eq!(traced[1].recordings, format!("[\"{A2}\"]"));
    assert!(traced[0].details.contains("from 00:00:00 to 00:00:06"));
    // The line with a bad checksum: reported, skipped.
    let bad: Vec<&String> = first
        .warnings
        .iter()
        .filter(|w| w.contains("PLAYBACK.LOG line 2") && w.contains("checksum"))
        .collect();
    assert_eq!(bad.len(), 1, "{:#?}", first.warnings);
    assert!(
        first
            .warnings
            .iter()
            .any(|w| w.contains("STORAGE_ERROR;write retry")),
        "a storage error is told to a person: {:#?}",
        first.warnings
    );

    // The logs are stored with the docking, their hashes proven and in the register.
    let logs = stored_logs(&mut d, first.session);
    let expected = [
        ("events", events_log().into_bytes()),
        ("playback", playback_log().into_bytes()),
        ("system", SYSTEM_LOG.as_bytes().to_vec()),
    ];
    assert_eq!(logs.len(), 3, "{logs:?}");
    for ((kind, path, size, sha256, blake3), (want_kind, bytes)) in logs.iter().zip(&expected) {
        assert_eq!(kind, want_kind);
        let stored = d.store_path(path);
        let on_disk = std::fs::read(&stored).unwrap();
        assert_eq!(&on_disk, bytes, "{path}");
        assert_eq!(*size as usize, bytes.len());
        assert_eq!(sha256, &sha256_hex(bytes));
        assert_eq!(blake3, &blake3::hash(bytes).to_hex().to_string());
        let mode = std::fs::metadata(&stored).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o444, "{path} is write-once");
        assert!(
            path.starts_with("camera-logs/2018-03-13/SNTL-00042/"),
            "{path}"
        );
    }

    // Recordings wiped, /LOG untouched.
    let left = list_fat_image(&image, Layout::Superfloppy);
    assert!(!left.iter().any(|p| p.ends_with(".MP4")), "{left:?}");
    for (name, bytes) in [
        ("LOG/PLAYBACK.LOG", playback_log().into_bytes()),
        ("LOG/EVENTS.LOG", events_log().into_bytes()),
        ("LOG/SYSTEM.LOG", SYSTEM_LOG.as_bytes().to_vec()),
    ] {
        assert_eq!(
            read_fat_file(&image, Layout::Superfloppy, name).as_deref(),
            Some(bytes.as_slice()),
            "{name} is never wiped"
        );
    }

    // Taken from the dock, issued to M200, who looks at A4 on the camera at noon: the camera
    // appends one line to its log, and the same three are read again at the next docking.
    d.register
        .record_dock_event(
            SERIAL,
            DockEvent::Undocked,
            SERIAL,
            time("2018-03-13T10:30:00Z"),
        )
        .unwrap();
    d.clock.set("2018-03-13T11:00:00Z");
    d.ok(
        AGENT,
        &["issue", SERIAL, "M200", "--at", "2018-03-13T11:00:00Z"],
    );
    let appended = format!(
        "{}{}\r\n",
        playback_log(),
        line(&format!(
            "2018-03-13T12:00:00Z;PLAY;{};00:00:00;00:00:09",
            video(A4)
        ))
    );
    write_fat_file(
        &image,
        Layout::Superfloppy,
        "LOG/PLAYBACK.LOG",
        appended.as_bytes(),
    );
    let second = dock(&mut d, &image, "2018-03-13T18:00:00Z");
    let traced = on_camera(&mut d);
    assert_eq!(
        traced.len(),
        4,
        "the three again are not written twice: {traced:#?}"
    );
    assert_eq!(traced[3].author, "agent M200 (on camera SNTL-00042)");
    assert_eq!(traced[3].recordings, format!("[\"{A4}\"]"));
    assert!(
        !second
            .warnings
            .iter()
            .any(|w| w.contains("PLAYBACK.LOG line 2")),
        "the bad line was reported once: {:#?}",
        second.warnings
    );
    let playback = stored_logs(&mut d, second.session)
        .into_iter()
        .find(|l| l.0 == "playback")
        .unwrap();
    assert_eq!(playback.3, sha256_hex(appended.as_bytes()));

    // The chain holds; the report counts them apart from the service's consultations;
    // `show` puts them in the recording's custody and lists the camera's events around it.
    d.ok(HEAD, &["audit", "verify"]);
    let report = d.ok(
        HEAD,
        &[
            "report",
            "--from",
            "2018-03-12",
            "--to",
            "2018-03-14",
            "--format",
            "json",
        ],
    );
    assert_eq!(report.data["on_camera_consultations"], 4, "{}", report.data);
    assert_eq!(report.data["consultations"]["administrative"], 0);
    let shown = d.ok(HEAD, &["show", A1]);
    let custody = shown.data["custody"].as_array().unwrap();
    let on_camera_custody = custody.iter().filter(|c| c["purpose"] == PURPOSE).count();
    assert_eq!(on_camera_custody, 2, "{custody:#?}");
    let events: Vec<&str> = shown.data["camera_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        ["REC_START", "REC_STOP", "STORAGE_ERROR"],
        "{}",
        shown.data
    );
}

/// A camera whose clock was reset dates its consultation 2000-01-01, before it was ever in
/// the service's hands: the time is not used, and the consultation goes to the one issue
/// this docking ended, saying so. A camera issued to nobody: its consultation is traced all
/// the same, by "agent unknown", flagged, and told to a person.
#[test]
fn a_reset_clock_falls_back_to_the_issue_this_docking_ended_and_no_holder_is_still_traced() {
    let mut d = desk();
    d.ok(AGENT, &["camera", "enroll", SERIAL_2]);
    let mut reset = CameraSpec::fixture(SERIAL);
    reset.extra_files.push((
        "LOG/PLAYBACK.LOG".into(),
        (line(&format!(
            "2000-01-01T00:10:00Z;PLAY;{};00:00:00;00:00:02",
            video(A1)
        )) + "\n")
            .into_bytes(),
    ));
    let image = build_fat_image(&reset, d.dir.path(), Layout::Superfloppy);
    dock(&mut d, &image, "2018-03-13T10:00:00Z");
    let traced = on_camera(&mut d);
    assert_eq!(traced.len(), 1);
    assert_eq!(traced[0].author, "agent M100 (on camera SNTL-00042)");
    assert!(
        traced[0]
            .details
            .contains("outside the camera's time out of the dock")
            && traced[0]
                .details
                .contains("attributed to the issue this docking ended"),
        "{}",
        traced[0].details
    );

    let mut unissued = CameraSpec::fixture(SERIAL_2);
    unissued.extra_files.push((
        "LOG/PLAYBACK.LOG".into(),
        (line(&format!(
            "2018-03-12T09:40:00Z;PLAY;{};00:00:00;00:00:02",
            video(B1)
        )) + "\n")
            .into_bytes(),
    ));
    let image = build_fat_image(&unissued, d.dir.path(), Layout::Superfloppy);
    d.register
        .record_dock_event(
            SERIAL_2,
            DockEvent::Docked,
            SERIAL_2,
            time("2018-03-13T10:05:00Z"),
        )
        .unwrap();
    d.clock.set("2018-03-13T10:05:00Z");
    let options = Options {
        clock: d.clock.clone(),
        ..Options::default()
    };
    let report = crate::common::ingest_into(&d.config, &image, &d.store, &options).unwrap();
    let traced = on_camera(&mut d);
    assert_eq!(traced.len(), 2, "never skipped: {traced:#?}");
    let unknown = &traced[1];
    assert_eq!(unknown.author, "agent unknown (on camera SNTL-00007)");
    assert_eq!(unknown.recordings, format!("[\"{B1}\"]"));
    assert!(
        unknown.details.starts_with("holder-unknown: "),
        "{}",
        unknown.details
    );
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("no known holder") && w.contains(B1)),
        "{:#?}",
        report.warnings
    );
    d.ok(HEAD, &["audit", "verify"]);
}

/// A log larger than `profile.max_log_bytes` (a camera that stopped truncating its logs, or a
/// hostile one) is read up to the limit only, stored as read and flagged truncated; the
/// consultations in what was read are traced, the line the limit cut is reported, not
/// trusted.
#[test]
fn a_log_larger_than_the_limit_is_read_up_to_it_stored_and_flagged_truncated() {
    let mut d = Desk::new("[profile]\nmax_log_bytes = \"1 KiB\"\n");
    d.clock.set("2018-03-12T05:00:00Z");
    d.ok(
        HEAD,
        &["agent", "add", "M100", "--name", "C", "--brigade", "Jour"],
    );
    d.ok(AGENT, &["camera", "enroll", SERIAL]);
    d.clock.set("2018-03-12T06:00:00Z");
    d.ok(
        AGENT,
        &["issue", SERIAL, "M100", "--at", "2018-03-12T06:00:00Z"],
    );
    let mut log = String::new();
    let mut minute = 0;
    while log.len() < 2048 {
        log += &line(&format!(
            "2018-03-12T15:{minute:02}:00Z;PLAY;{};00:00:00;00:00:01",
            video(A2)
        ));
        log += "\n";
        minute += 1;
    }
    let whole_lines = 1024 / log.lines().next().unwrap().len().saturating_add(1);
    let mut spec = CameraSpec::fixture(SERIAL);
    spec.extra_files
        .push(("LOG/PLAYBACK.LOG".into(), log.clone().into_bytes()));
    let image = build_fat_image(&spec, d.dir.path(), Layout::Superfloppy);
    let report = dock(&mut d, &image, "2018-03-13T10:00:00Z");

    assert_eq!(on_camera(&mut d).len(), whole_lines);
    let (size, truncated, declared): (i64, bool, i64) = d
        .db()
        .query_row(
            "SELECT size, truncated, declared_size FROM camera_logs WHERE kind = 'playback'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!((size, truncated, declared), (1024, true, log.len() as i64));
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("more than profile.max_log_bytes") && w.contains("truncated")),
        "{:#?}",
        report.warnings
    );
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains(&format!("PLAYBACK.LOG line {}", whole_lines + 1))),
        "the cut line is reported: {:#?}",
        report.warnings
    );
    assert_eq!(
        read_fat_file(&image, Layout::Superfloppy, "LOG/PLAYBACK.LOG").as_deref(),
        Some(log.as_bytes()),
        "never wiped nor cut on the camera"
    );
}

/// The same, with the real daemon and `sentinel-dockctl` run as real Unix users: the daemon
/// records each docking (the end of the issue in force), the camera is issued again between
/// its two dockings, and each on-camera consultation is traced once, by its holder.
#[test]
#[ignore = "needs root"]
fn the_daemon_traces_on_camera_consultations_once_by_their_holder_across_two_dockings() {
    use chrono::{Duration, SubsecRound, Utc};
    use common::daemon::camera;
    use common::operators::{People, start};

    let s = start("", &[]);
    let People { head, agent, .. } = &s.people;
    for (m, name) in [("M100", "Claire Martin"), ("M200", "Paul Durand")] {
        s.ok(
            head,
            &["agent", "add", m, "--name", name, "--brigade", "Jour"],
        );
    }
    s.ok(agent, &["camera", "enroll", SERIAL]);
    let now = Utc::now().trunc_subsecs(0);
    let stamp = |t: chrono::DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    // Issued before the fixture's recordings (2018): a later issue would be a lower bound
    // that makes their dates implausible (issue 21), and the camera "needs attention".
    s.ok(
        agent,
        &["issue", SERIAL, "M100", "--at", "2018-03-12T06:00:00Z"],
    );
    let plays = |at: chrono::DateTime<Utc>, stem: &str| {
        line(&format!(
            "{};PLAY;{};00:00:00;00:00:03",
            stamp(at),
            video(stem)
        )) + "\n"
    };
    let log = [
        plays(now - Duration::hours(2), A1),
        plays(now - Duration::minutes(110), A2),
        plays(now - Duration::minutes(100), A1),
    ]
    .concat();
    let mut spec = CameraSpec::fixture(SERIAL);
    spec.extra_files
        .push(("LOG/PLAYBACK.LOG".into(), log.clone().into_bytes()));
    let image = build_fat_image(&spec, &s.daemon.path("cameras"), Layout::Superfloppy);
    s.daemon.dock(SERIAL, &image);
    s.daemon.wait_state(SERIAL, "safe-to-undock");

    let traced = |s: &common::operators::Service| -> Vec<(String, String)> {
        let conn = s.daemon.register();
        let mut stmt = conn
            .prepare(
                "SELECT author, recordings FROM audit
                 WHERE action = 'consultation' AND purpose = ?1 ORDER BY seq",
            )
            .unwrap();
        stmt.query_map([PURPOSE], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let first = traced(&s);
    assert_eq!(first.len(), 3, "log:\n{}", s.daemon.log());
    assert!(
        first
            .iter()
            .all(|(author, _)| author == "agent M100 (on camera SNTL-00042)"),
        "{first:?}"
    );

    // Taken from the dock and issued to M200, who looks at A4 on the camera.
    s.daemon.undock(SERIAL);
    s.daemon.wait_for("the camera to leave the dock", |st| {
        camera(st, SERIAL).is_none()
    });
    s.ok(agent, &["issue", SERIAL, "M200"]);
    std::thread::sleep(std::time::Duration::from_secs(2));
    let seen = Utc::now().trunc_subsecs(0) - Duration::seconds(1);
    let appended = log + &plays(seen, A4);
    write_fat_file(
        &image,
        Layout::Superfloppy,
        "LOG/PLAYBACK.LOG",
        appended.as_bytes(),
    );
    s.daemon.dock(SERIAL, &image);
    s.daemon.wait_state(SERIAL, "safe-to-undock");
    let second = traced(&s);
    assert_eq!(second.len(), 4, "{second:?}\nlog:\n{}", s.daemon.log());
    assert_eq!(second[..3], first[..]);
    assert_eq!(
        second[3],
        (
            "agent M200 (on camera SNTL-00042)".to_string(),
            format!("[\"{A4}\"]")
        )
    );

    s.ok(head, &["audit", "verify"]);
    let shown: serde_json::Value =
        serde_json::from_str(&s.ok(head, &["--json", "show", A1])).unwrap();
    let on_camera = shown["custody"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["purpose"] == PURPOSE)
        .count();
    assert_eq!(on_camera, 2, "{shown:#}");
    // From yesterday: the test may run across midnight. The report's days are the
    // console's (`[console] timezone`), not UTC's: at 23:10 UTC it is already tomorrow in
    // Paris.
    let zone = sentinel_dock::base::config::Config::load(&s.daemon.config_path())
        .unwrap()
        .console
        .timezone;
    let today = Utc::now().with_timezone(&zone).date_naive();
    let (from, to) = ((today - Duration::days(1)).to_string(), today.to_string());
    let report: serde_json::Value =
        serde_json::from_str(&s.ok(head, &["--json", "report", "--from", &from, "--to", &to]))
            .unwrap();
    assert_eq!(report["on_camera_consultations"], 4, "{report:#}");

    // The console, in French: the custody timeline marks them, the report counts them apart.
    let console = common::console::Console::start(&s, head, &[]);
    let cookie = console.session();
    let page = console.get(&cookie, &format!("/recordings/{A1}")).text();
    assert_eq!(page.matches("data-on-camera").count(), 2, "{page}");
    assert!(page.contains("consultation sur la caméra"), "{page}");
    let page = console
        .get(&cookie, &format!("/report?from={from}&to={to}"))
        .text();
    assert!(
        page.contains("Consultations sur la caméra (L241-2)")
            && page.contains("<span id=\"on-camera\">4</span>"),
        "{page}"
    );
}
