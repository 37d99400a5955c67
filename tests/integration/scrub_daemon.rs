//! The scrub through the daemon: `sentinel-dockctl scrub` run as real Unix users (roles by
//! SO_PEERCRED) on a store the real daemon filled from a real FAT image, then damaged as a
//! disk or a person damages it (a flipped byte, a deleted file, an extra file); each run
//! traced in the audit register, its problems an alarm in the log, a warning in the status
//! and the `STATUS=` line until a later scrub finds none, across a restart too. And the
//! scrub the daemon runs by itself, `[scrub] every_days` after the last one.
//!
//! The role tests create users and run programs as them, which needs root: they are
//! `#[ignore = "needs root"]`, run by `scripts/test` as root with `--include-ignored`.
#![allow(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fail the test by panicking, like the tests"
)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::daemon::{Daemon, PATIENCE, event_mark};
use crate::common::operators::{People, start_with_env};
use crate::common::*;
use chrono::Utc;
use nix::sys::signal::Signal;
use sentinel_dock::base::events::SCRUB_PROBLEM;
use sentinel_dock::custody::register::Register;
use sentinel_dock::custody::register::audit::{self, Action, NewEntry};
use serde_json::Value;

/// The recordings a scrub problem list names.
fn named(doc: &Value, kind: &str) -> Vec<String> {
    doc[kind]
        .as_array()
        .unwrap_or_else(|| panic!("{kind} in {doc}"))
        .iter()
        .map(|p| p["recording"].as_str().unwrap().to_string())
        .collect()
}

/// Notifications sent to the socket so far, until `done` holds.
fn notifications(socket: &UnixDatagram, done: impl Fn(&[String]) -> bool) -> Vec<String> {
    let mut seen = Vec::new();
    let start = Instant::now();
    let mut buf = vec![0u8; 4096];
    while !done(&seen) {
        assert!(start.elapsed() < PATIENCE, "notifications so far: {seen:?}");
        if let Ok(n) = socket.recv(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            seen.extend(text.lines().map(str::to_string));
        }
    }
    seen
}

/// A stored file made writable, so that the test can damage it as root would.
fn writable(path: &Path) {
    fs::set_permissions(path, fs::Permissions::from_mode(0o644)).unwrap();
}

#[test]
#[ignore = "needs root"]
fn a_flipped_byte_a_deleted_file_and_an_extra_file_are_named_traced_and_shown_until_a_clean_scrub()
{
    let dir = tempfile::tempdir().unwrap();
    let notify_path = dir.path().join("notify.sock");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    // No scrub by the service itself here: each one is asked for.
    let mut s = start_with_env(
        "",
        &[("scrub", "every_days = 0")],
        &[("NOTIFY_SOCKET", notify_path.to_str().unwrap())],
    );
    s.dock(&[SERIAL]);
    let People {
        tech,
        head,
        stranger,
        ..
    } = &s.people;
    let recordings = CameraSpec::fixture(SERIAL).recordings;
    let (flipped, deleted) = (&recordings[0].stem, &recordings[1].stem);

    // Clean: exit status 0, traced, no warning.
    let out = s.ok(tech, &["scrub"]);
    assert!(out.contains("exactly what the register says"), "{out}");
    let status: Value = serde_json::from_str(&s.ok(tech, &["--json", "status"])).unwrap();
    assert_eq!(status["last_scrub"]["problems"], 0, "{status}");
    assert_eq!(status["last_scrub"]["author"], "sdtest-tech");
    s.refused(stranger, &["scrub"]);

    // Damage the store: a bit rots in one video, a sidecar is deleted, a stray file appears.
    let video = s.stored_video(flipped);
    let sidecar = s.stored_video(deleted).with_extension("NMEA");
    let (video_bytes, sidecar_bytes) = (fs::read(&video).unwrap(), fs::read(&sidecar).unwrap());
    let mut rotten = video_bytes.clone();
    rotten[video_bytes.len() / 2] ^= 0x10;
    writable(&video);
    fs::write(&video, &rotten).unwrap();
    fs::remove_file(&sidecar).unwrap();
    let stray = video.with_file_name("SNTL-00042_20180312_235959_0099.MP4");
    fs::write(&stray, b"not registered").unwrap();

    let out = s.ctl(tech, &["--json", "scrub"]);
    assert_eq!(out.code, 1, "problems found: {}{}", out.stdout, out.stderr);
    let doc: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(named(&doc, "changed"), [flipped.as_str()], "{doc}");
    assert_eq!(named(&doc, "missing"), [deleted.as_str()], "{doc}");
    assert_eq!(
        named(&doc, "unexpected"),
        ["SNTL-00042_20180312_235959_0099"]
    );
    assert_eq!(doc["problems"], 3);

    // The audit entry: who, the counts, the problems by recording name.
    let seq = doc["audit_seq"].as_i64().unwrap();
    let (author, details, stems): (String, String, String) = s
        .daemon
        .register()
        .query_row(
            "SELECT author, details, recordings FROM audit WHERE seq = ?1 AND action = 'scrub'",
            [seq],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(author, "sdtest-tech");
    assert!(
        details.starts_with("3 problem(s): 1 changed, 1 missing, 1 unexpected, 0 unreadable"),
        "{details}"
    );
    for stem in [
        flipped,
        deleted,
        &"SNTL-00042_20180312_235959_0099".to_string(),
    ] {
        assert!(
            stems.contains(stem.as_str()) && details.contains(stem.as_str()),
            "{stem}: {details}"
        );
    }
    // The alarm in the log, one per problem, marked with its event (MESSAGE_ID in the journal).
    assert_eq!(
        s.daemon.log().matches(&event_mark(SCRUB_PROBLEM)).count(),
        3,
        "{}",
        s.daemon.log()
    );
    // The status: a warning for people, the count for programs, and systemd's line.
    let text = s.ok(tech, &["status"]);
    assert!(
        text.contains("WARNING: scrub: 3 problems found at"),
        "{text}"
    );
    assert!(text.contains(&format!("(audit entry #{seq})")), "{text}");
    notifications(&notify, |seen| {
        seen.iter()
            .any(|l| l.starts_with("STATUS=SCRUB: 3 PROBLEMS · 1 docked"))
    });

    // A restart forgets nothing: the audit register still holds the last scrub.
    s.daemon.signal(Signal::SIGTERM);
    s.daemon.wait_exit(Duration::from_secs(10));
    s.daemon.restart();
    let text = s.ok(head, &["status"]);
    assert!(
        text.contains("WARNING: scrub: 3 problems found at"),
        "{text}"
    );

    // Restored from a backup: the next scrub is clean and clears the warning.
    fs::write(&video, &video_bytes).unwrap();
    fs::write(&sidecar, &sidecar_bytes).unwrap();
    for f in [&video, &sidecar] {
        fs::set_permissions(f, fs::Permissions::from_mode(0o444)).unwrap();
    }
    fs::remove_file(&stray).unwrap();
    let out = s.ok(head, &["scrub"]);
    assert!(out.contains("exactly what the register says"), "{out}");
    let status: Value = serde_json::from_str(&s.ok(tech, &["--json", "status"])).unwrap();
    assert_eq!(status["last_scrub"]["problems"], 0, "{status}");
    assert_eq!(status["last_scrub"]["author"], "sdtest-head");
    assert!(
        !status["warnings"].to_string().contains("scrub"),
        "{status}"
    );
    let scrubs = s.count("SELECT count(*) FROM audit WHERE action = 'scrub'");
    assert_eq!(scrubs, 3, "each run traced once");
}

/// A daemon on a register whose last scrub was `days_ago` days ago (none: never scrubbed).
fn daemon_last_scrubbed(days_ago: Option<i64>, extra: &[(&str, &str)]) -> Daemon {
    let dir = tempfile::tempdir().unwrap();
    if let Some(days) = days_ago {
        let mut register = Register::open(&dir.path().join("register.sqlite")).unwrap();
        let tx = register.write().unwrap();
        let entry = NewEntry::new(
            "technicien",
            Action::Scrub,
            "0 problem(s): 0 changed, 0 missing, 0 unexpected, 0 unreadable",
        );
        audit::append(&tx, &entry, Utc::now() - chrono::Duration::days(days)).unwrap();
        tx.commit().unwrap();
    }
    Daemon::start_in(dir, extra)
}

fn service_scrubs(daemon: &Daemon) -> usize {
    daemon
        .query("SELECT author FROM audit WHERE action = 'scrub'")
        .iter()
        .filter(|a| *a == "sentinel-dockd")
        .count()
}

#[test]
fn the_service_scrubs_by_itself_every_days_after_the_last_scrub() {
    // Never scrubbed: once started. Then not again on a restart within the week.
    let mut d = daemon_last_scrubbed(None, &[]);
    d.wait_log("scrub by sentinel-dockd: the store holds exactly what the register says");
    assert_eq!(service_scrubs(&d), 1);
    let status = d.wait_for("the scrub in the status", |s| !s["last_scrub"].is_null());
    assert_eq!(status["last_scrub"]["author"], "sentinel-dockd");
    d.signal(Signal::SIGTERM);
    d.wait_exit(Duration::from_secs(10));
    d.restart();
    d.wait_log("daily upkeep");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(service_scrubs(&d), 1, "{}", d.log());

    // Last scrubbed 8 days ago by a person: due, so it runs at once.
    let d = daemon_last_scrubbed(Some(8), &[]);
    d.wait_log("scrub by sentinel-dockd");
    assert_eq!(service_scrubs(&d), 1);
    // Yesterday: not yet. And `every_days = 0`: never by itself.
    for (days, extra) in [(Some(1), ""), (None, "every_days = 0")] {
        let d = daemon_last_scrubbed(days, &[("scrub", extra)]);
        d.wait_log("daily upkeep");
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(service_scrubs(&d), 0, "{days:?} {extra}: {}", d.log());
    }
}
