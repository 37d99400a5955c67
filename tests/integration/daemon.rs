//! The service end to end: the real `sentinel-dockd` process on a temporary dock folder,
//! camera volumes (real FAT images from mkfs.vfat and mtools) linked in and out as udev
//! does, real signals, the real control socket and `sentinel-dockctl`, a real register.
#![allow(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fail the test by panicking, like the tests"
)]

use std::fs;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::daemon::{Daemon, PATIENCE, camera, config_text, event_mark};
use crate::common::*;
use nix::sys::signal::Signal;
use sentinel_dock::base::events;

/// About 64 KiB/s: the fixture camera SNTL-00042 (357 KiB) takes some 6 s to read.
const SLOW: (&str, &str) = ("simulate", "read_bytes_per_sec = 65536");

fn image(daemon: &Daemon, serial: &str) -> PathBuf {
    build_fat_image(
        &CameraSpec::fixture(serial),
        &daemon.path("cameras"),
        Layout::Superfloppy,
    )
}

/// What remains on a camera's volume: its files, as mtools lists them.
fn files_on(image: &Path) -> Vec<String> {
    list_fat_image(image, Layout::Superfloppy)
}

fn no_temp_files(daemon: &Daemon) {
    let temps: Vec<String> = daemon
        .stored_files()
        .into_iter()
        .filter(|f| f.rsplit('/').next().is_some_and(|n| n.starts_with('.')))
        .collect();
    assert!(
        temps.is_empty(),
        "partial copies left in the store: {temps:?}"
    );
}

fn dockctl(daemon: &Daemon, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sentinel-dockctl"))
        .arg("--config")
        .arg(daemon.config_path())
        .args(args)
        .output()
        .unwrap()
}

const DEGRADED_MDSTAT: &str = "Personalities : [raid1]
md0 : active raid1 sdb1[1](F) sda1[0]
      976630464 blocks super 1.2 [2/1] [U_]

unused devices: <none>
";

#[test]
fn cameras_docked_together_are_ingested_wiped_recorded_and_shown_by_dockctl() {
    let daemon = Daemon::start(&[]);
    fs::write(daemon.path("mdstat"), DEGRADED_MDSTAT).unwrap();
    let cameras = [SERIAL, SERIAL_2].map(|s| (s, image(&daemon, s)));
    for (serial, image) in &cameras {
        daemon.dock(serial, image);
    }
    for (serial, image) in &cameras {
        let state = daemon.wait_state(serial, "safe-to-undock");
        let expected = fixture_recordings(serial);
        assert_eq!(state["recordings"], expected.len());
        // Only the camera's own files stay: DEVICE.INI and its logs.
        let left = files_on(image);
        assert!(!left.iter().any(|f| f.starts_with("DCIM/")), "{left:?}");
        assert!(left.contains(&"DEVICE.INI".to_string()), "{left:?}");
        for r in &expected {
            let stored = daemon.path("store").join("recordings").join(format!(
                "{}-{}-{}/{serial}/{}.MP4",
                &r.day()[..4],
                &r.day()[4..6],
                &r.day()[6..],
                r.stem
            ));
            assert_eq!(fs::read(&stored).unwrap(), r.video, "{}", stored.display());
        }
    }
    let states = daemon.query("SELECT DISTINCT state FROM recordings");
    assert_eq!(states, ["wiped"]);
    no_temp_files(&daemon);

    // sentinel-dockctl, against the running daemon.
    let out = dockctl(&daemon, &["status", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["cameras"].as_array().unwrap().len(), 2);
    assert_eq!(doc["service"]["max_parallel"], 4);
    assert!(doc["store"]["free_bytes"].as_u64().unwrap() > 0);
    assert!(doc["store"]["recent_bytes"].as_u64().unwrap() > 0);
    assert!(doc["store"]["days_left"].as_u64().is_some());
    assert_eq!(doc["raid"][0]["name"], "md0");
    assert_eq!(doc["raid"][0]["degraded"], true);
    assert!(
        doc["warnings"][0].as_str().unwrap().contains("md0"),
        "{doc}"
    );
    let out = dockctl(&daemon, &["status"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("2 cameras docked"), "{text}");
    assert!(
        text.contains(&format!(
            "{SERIAL}  safe to undock (4 recordings stored and wiped)"
        )),
        "{text}"
    );
    assert!(
        text.contains("WARNING: RAID array md0 is degraded"),
        "{text}"
    );
    assert!(text.contains("lasts about"), "{text}");
    daemon.wait_event(events::RAID_DEGRADED);

    // Taken from the dock: the register has each camera's return and issue.
    for (serial, _) in &cameras {
        daemon.undock(serial);
    }
    daemon.wait_for("both cameras to be undocked", |s| {
        s["cameras"].as_array().is_some_and(Vec::is_empty)
    });
    let events = daemon.query(&format!(
        "SELECT event FROM dock_events WHERE camera = '{SERIAL}' ORDER BY id"
    ));
    assert_eq!(events, ["docked", "undocked"]);
}

#[test]
fn a_camera_pulled_mid_copy_keeps_everything_and_docking_again_finishes() {
    let daemon = Daemon::start(&[SLOW]);
    let pulled = image(&daemon, SERIAL);
    let other = image(&daemon, SERIAL_2);
    let before = fs::read(&pulled).unwrap();
    daemon.dock(SERIAL, &pulled);
    daemon.dock(SERIAL_2, &other);
    daemon.wait_bytes(SERIAL, 100_000);
    daemon.undock(SERIAL);
    daemon.wait_for("the pulled camera to leave the status", |s| {
        camera(s, SERIAL).is_none()
    });
    // The other camera is not held up by the pulled one.
    daemon.wait_state(SERIAL_2, "safe-to-undock");
    let start = Instant::now();
    while daemon.query(&format!(
        "SELECT outcome FROM sessions WHERE camera = '{SERIAL}' AND outcome IS NOT NULL"
    )) != ["cancelled"]
    {
        assert!(
            start.elapsed() < PATIENCE,
            "no cancelled session:\n{}",
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        fs::read(&pulled).unwrap(),
        before,
        "nothing wiped, nothing written"
    );
    no_temp_files(&daemon);
    let wiped = daemon.query(&format!(
        "SELECT stem FROM recordings WHERE camera = '{SERIAL}' AND state = 'wiped'"
    ));
    assert!(wiped.is_empty(), "{wiped:?}");

    // Docked again: what was proven is recognised, the rest copied, everything wiped.
    daemon.dock(SERIAL, &pulled);
    daemon.wait_state(SERIAL, "safe-to-undock");
    let left = files_on(&pulled);
    assert!(
        !left
            .iter()
            .any(|f| f.ends_with(".MP4") || f.ends_with(".NMEA")),
        "{left:?}"
    );
    let videos = daemon
        .stored_files()
        .into_iter()
        .filter(|f| f.contains(SERIAL) && f.ends_with(".MP4"))
        .count();
    assert_eq!(
        videos,
        fixture_recordings(SERIAL).len(),
        "each video stored once"
    );
    let events = daemon.query(&format!(
        "SELECT event FROM dock_events WHERE camera = '{SERIAL}' ORDER BY id"
    ));
    assert_eq!(events, ["docked", "undocked", "docked"]);
    daemon.wait_event(events::INGEST_CANCELLED);
}

#[test]
fn sigterm_mid_copy_exits_0_promptly_wipes_nothing_unproven_and_a_restart_finishes() {
    let mut daemon = Daemon::start(&[SLOW]);
    let image = image(&daemon, SERIAL);
    let before = fs::read(&image).unwrap();
    daemon.dock(SERIAL, &image);
    daemon.wait_bytes(SERIAL, 100_000);
    daemon.signal(Signal::SIGTERM);
    let (status, took) = daemon.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{}", daemon.log());
    eprintln!("SIGTERM mid-copy: exited in {took:?}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert_eq!(fs::read(&image).unwrap(), before, "nothing wiped");
    no_temp_files(&daemon);
    assert_eq!(
        daemon.query("SELECT outcome FROM sessions"),
        ["cancelled"],
        "the session is closed as cancelled"
    );
    assert!(
        daemon
            .query("SELECT stem FROM recordings WHERE state = 'wiped'")
            .is_empty()
    );
    assert!(
        !daemon.path("control.sock").exists(),
        "the socket is removed"
    );
    let log = daemon.log();
    assert!(log.contains(&event_mark(events::SERVICE_STOPPING)), "{log}");

    // Started again with the camera still docked: it is taken as docked and finished.
    daemon.restart();
    daemon.wait_state(SERIAL, "safe-to-undock");
    assert!(!files_on(&image).iter().any(|f| f.starts_with("DCIM/")));
    let states = daemon.query("SELECT DISTINCT state FROM recordings");
    assert_eq!(states, ["wiped"]);
}

#[test]
fn sighup_applies_a_good_configuration_and_keeps_the_old_one_when_bad() {
    let daemon = Daemon::start(&[]);
    daemon.write_config(&config_text(&[("ingest", "max_parallel = 2")]));
    daemon.signal(Signal::SIGHUP);
    daemon.wait_for("max_parallel 2", |s| s["service"]["max_parallel"] == 2);
    daemon.wait_event(events::CONFIG_RELOADED);

    daemon.write_config(&config_text(&[("ingest", "max_parallel = 0")]));
    daemon.signal(Signal::SIGHUP);
    daemon.wait_event(events::CONFIG_REJECTED);
    assert!(
        daemon.log().contains("ingest.max_parallel"),
        "{}",
        daemon.log()
    );
    daemon.write_config("[store\nnot toml");
    daemon.signal(Signal::SIGHUP);
    let start = Instant::now();
    while daemon
        .log()
        .matches(&event_mark(events::CONFIG_REJECTED))
        .count()
        < 2
    {
        assert!(start.elapsed() < PATIENCE, "{}", daemon.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = daemon.status().expect("still serving");
    assert_eq!(
        status["service"]["max_parallel"], 2,
        "the previous configuration stays"
    );

    // And it still works: a camera docked now is ingested.
    let image = image(&daemon, SERIAL_2);
    daemon.dock(SERIAL_2, &image);
    daemon.wait_state(SERIAL_2, "safe-to-undock");
}

/// Reads notify datagrams until `done` says enough; returns them all.
fn read_notifications(socket: &UnixDatagram, done: impl Fn(&[String]) -> bool) -> Vec<String> {
    let mut seen = Vec::new();
    let start = Instant::now();
    let mut buf = vec![0u8; 4096];
    while !done(&seen) {
        assert!(start.elapsed() < PATIENCE, "notifications so far: {seen:?}");
        if let Ok(n) = socket.recv(&mut buf) {
            seen.extend(
                String::from_utf8_lossy(&buf[..n])
                    .lines()
                    .map(str::to_string),
            );
        }
    }
    seen
}

#[test]
fn ready_status_watchdog_and_stopping_reach_the_notify_socket() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let notify = path.to_str().unwrap();
    // 400 ms: keep-alives every 200 ms.
    let mut daemon = Daemon::start_with_env(
        &[],
        &[("NOTIFY_SOCKET", notify), ("WATCHDOG_USEC", "400000")],
    );
    let seen = read_notifications(&socket, |seen| {
        seen.iter().filter(|l| *l == "WATCHDOG=1").count() >= 3
    });
    let ready = seen.iter().position(|l| l == "READY=1").expect("READY=1");
    let status = seen
        .iter()
        .position(|l| l.starts_with("STATUS="))
        .expect("STATUS=");
    assert!(seen[status].contains("no camera docked"), "{seen:?}");
    assert!(ready < seen.iter().rposition(|l| l == "WATCHDOG=1").unwrap());

    let image = image(&daemon, SERIAL_2);
    daemon.dock(SERIAL_2, &image);
    read_notifications(&socket, |seen| {
        seen.iter()
            .any(|l| l == "STATUS=1 docked · 1 safe to undock")
    });
    daemon.signal(Signal::SIGTERM);
    read_notifications(&socket, |seen| seen.iter().any(|l| l == "STOPPING=1"));
    assert_eq!(daemon.wait_exit(Duration::from_secs(10)).0.code(), Some(0));
}

#[test]
fn links_to_a_fifo_or_a_directory_are_refused_and_unenrolled_cameras_left_alone() {
    let daemon = Daemon::start(&[("dock", "enrolled = [\"SNTL-00042\"]\nenrolled_only = true")]);
    let fifo = daemon.path("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    daemon.dock("FIFO-1", &fifo);
    daemon.dock("DIR-1", &daemon.path("cameras"));
    let stranger = image(&daemon, SERIAL_2);
    let before = fs::read(&stranger).unwrap();
    daemon.dock(SERIAL_2, &stranger);

    let status = daemon.wait_for("two refused links", |s| {
        s["refused_links"].as_array().is_some_and(|l| l.len() == 2)
    });
    let reasons: Vec<&str> = status["refused_links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["reason"].as_str().unwrap())
        .collect();
    assert!(
        reasons.iter().any(|r| r.contains("a directory")),
        "{reasons:?}"
    );
    assert!(reasons.iter().any(|r| r.contains("FIFO")), "{reasons:?}");
    daemon.wait_event(events::LINK_REFUSED);

    daemon.wait_state(SERIAL_2, "not-enrolled");
    daemon.wait_event(events::CAMERA_NOT_ENROLLED);
    assert_eq!(fs::read(&stranger).unwrap(), before, "left untouched");
    assert!(daemon.query("SELECT camera FROM sessions").is_empty());

    // Withdrawn refusals leave the status.
    daemon.undock("FIFO-1");
    daemon.wait_for("one refused link", |s| {
        s["refused_links"].as_array().is_some_and(|l| l.len() == 1)
    });
}

#[test]
fn idle_callers_cannot_use_up_the_daemon() {
    use std::io::Read;
    use std::os::unix::net::UnixStream;
    let daemon = Daemon::start(&[]);
    let socket = daemon.path("control.sock");
    let held: Vec<UnixStream> = (0..40)
        .map(|_| UnixStream::connect(&socket).unwrap())
        .collect();
    // Beyond the daemon's limit, a connection is closed at once.
    let mut extra = UnixStream::connect(&socket).unwrap();
    // Generous: under a loaded CI machine the daemon may take seconds to reach this
    // connection; one left hanging still fails.
    extra
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut byte = [0u8; 1];
    assert_eq!(
        extra.read(&mut byte).unwrap(),
        0,
        "closed, not left hanging"
    );
    drop(held);
    daemon.wait_for("the daemon to answer again", |_| true);
    daemon.wait_log("connections already open");
}

#[test]
fn a_damaged_recording_keeps_its_camera_in_needs_attention() {
    let daemon = Daemon::start(&[]);
    let mut spec = CameraSpec::fixture(SERIAL_2);
    // One flipped byte: the video no longer matches its sidecar's SHA-256.
    let damaged = spec.recordings[0].clone();
    spec.recordings[0].video[2000] ^= 0x40;
    let image = build_fat_image(&spec, &daemon.path("cameras"), Layout::Superfloppy);
    daemon.dock(SERIAL_2, &image);
    let state = daemon.wait_state(SERIAL_2, "needs-attention");
    assert_eq!(state["quarantined"], 1);
    assert_eq!(state["left_on_camera"], 1);
    let left = files_on(&image);
    assert!(left.contains(&damaged.video_path()), "{left:?}");
    assert!(
        !left.contains(&spec.recordings[1].video_path()),
        "the sound one is wiped"
    );
    daemon.wait_event(events::RECORDING_QUARANTINED);
    daemon.wait_event(events::CAMERA_ATTENTION);

    let text = String::from_utf8(dockctl(&daemon, &["status"]).stdout).unwrap();
    assert!(
        text.contains("needs attention: 1 recording quarantined"),
        "{text}"
    );

    // --watch keeps answering, one JSON document a line, until it is stopped.
    let mut watch = Command::new(env!("CARGO_BIN_EXE_sentinel-dockctl"))
        .arg("--config")
        .arg(daemon.config_path())
        .args(["status", "--json", "--watch"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(watch.stdout.take().unwrap()));
    for _ in 0..2 {
        let line = lines.next().expect("another document").unwrap();
        let doc: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(doc["cameras"][0]["state"], "needs-attention");
    }
    watch.kill().unwrap();
    watch.wait().unwrap();
}
