//! The replica through the real daemon and a real SeaweedFS: the service killed with a
//! backlog resumes it after a restart (nothing lost, nothing uploaded twice); with
//! `wipe_after = "replica"` and the server down, the camera keeps everything until the
//! replica is proven, and the status shows the backlog.
#![allow(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fail the test by panicking, like the tests"
)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::common::daemon::{Daemon, config_text};
use crate::common::seaweed::{BUCKET, Seaweed, replica_section, runtime, write_credentials};
use crate::common::*;
use nix::sys::signal::Signal;
use serde_json::Value;

fn image(daemon: &Daemon) -> PathBuf {
    build_fat_image(
        &CameraSpec::fixture(SERIAL),
        &daemon.path("cameras"),
        Layout::Superfloppy,
    )
}

/// `[replica]` (and a retention whose locks end in the future) as daemon config sections.
fn sections(server: &Seaweed, extra: &str) -> Vec<(&'static str, String)> {
    let replica = replica_section(&server.endpoint(), extra);
    let body = replica.trim_start_matches("[replica]\n").to_string();
    vec![("retention", "days = 3660".to_string()), ("replica", body)]
}

fn start(server: &Seaweed, extra: &str) -> Daemon {
    let dir = tempfile::tempdir().unwrap();
    write_credentials(&dir.path().join("replica.credentials"));
    let owned = sections(server, extra);
    let extra: Vec<(&str, &str)> = owned.iter().map(|(s, l)| (*s, l.as_str())).collect();
    Daemon::start_in(dir, &extra)
}

fn count(daemon: &Daemon, state: &str) -> usize {
    daemon
        .query(&format!(
            "SELECT CAST(recording AS TEXT) FROM replica_queue WHERE state = '{state}'"
        ))
        .len()
}

/// Waits (longer than the daemon helper: retries back off) until `ready` holds.
fn wait_long(daemon: &Daemon, what: &str, ready: impl Fn(&Daemon) -> bool) {
    let start = Instant::now();
    while !ready(daemon) {
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "waited 90 s for {what}; log:\n{}",
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every version in the bucket, by key.
fn all_versions(server: &Seaweed) -> Vec<(String, String)> {
    let out = runtime()
        .block_on(
            server
                .client()
                .list_object_versions()
                .bucket(BUCKET)
                .prefix("romans/recordings/")
                .send(),
        )
        .unwrap();
    let mut v: Vec<(String, String)> = out
        .versions()
        .iter()
        .map(|v| {
            (
                v.key().unwrap_or_default().to_string(),
                v.version_id().unwrap_or_default().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

fn replica(status: &Value) -> &Value {
    &status["replica"]
}

#[test]
fn the_service_killed_with_a_backlog_resumes_it_after_a_restart_nothing_lost_or_doubled() {
    let server = Seaweed::start();
    server.create_locked_bucket();
    // Capped at 40 kB/s: the camera's 357 KiB take some 9 s, time to kill it mid-way.
    let mut daemon = start(&server, "max_bytes_per_sec = 40000");
    let camera = image(&daemon);
    daemon.dock(SERIAL, &camera);
    daemon.wait_state(SERIAL, "safe-to-undock");
    let status = daemon.wait_for("a backlog in the status", |s| {
        replica(s)["backlog"]["recordings"].as_u64().unwrap_or(0) > 0
    });
    assert_eq!(replica(&status)["bucket"], BUCKET);
    wait_long(&daemon, "one recording replicated", |d| {
        count(d, "replicated") >= 1
    });
    assert!(
        count(&daemon, "pending") >= 1,
        "a backlog remains when killed"
    );
    daemon.signal(Signal::SIGKILL);
    daemon.wait_exit(Duration::from_secs(10));

    // Restarted without the cap: the backlog is resumed from the register.
    let owned = sections(&server, "");
    let extra: Vec<(&str, &str)> = owned.iter().map(|(s, l)| (*s, l.as_str())).collect();
    daemon.write_config(&config_text(&extra));
    daemon.restart();
    wait_long(&daemon, "all four replicated", |d| {
        count(d, "replicated") == 4
    });
    let status = daemon.wait_for("an empty backlog", |s| {
        replica(s)["backlog"]["recordings"] == 0 && replica(s)["replicated"] == 4
    });
    assert!(replica(&status)["problem"].is_null(), "{status:#}");

    // Nothing doubled: one version per key, and each is the one the register holds.
    let versions = all_versions(&server);
    assert_eq!(versions.len(), 4 * 3, "{versions:?}");
    let mut keys: Vec<&String> = versions.iter().map(|(k, _)| k).collect();
    keys.dedup();
    assert_eq!(
        keys.len(),
        versions.len(),
        "one version per key: {versions:?}"
    );
    let held = daemon.query(
        "SELECT video_version FROM replica_queue UNION ALL SELECT sidecar_version FROM replica_queue
         UNION ALL SELECT manifest_version FROM replica_queue",
    );
    for (key, version) in &versions {
        assert!(held.contains(version), "{key} {version} is the register's");
    }
    let traced = daemon.query("SELECT details FROM audit WHERE action = 'replication'");
    assert_eq!(traced.len(), 4, "{traced:?}");
}

#[test]
fn wipe_after_replica_with_the_server_down_wipes_nothing_until_the_replica_is_proven() {
    let mut server = Seaweed::start();
    server.create_locked_bucket();
    server.stop();
    let daemon = start(&server, "wipe_after = \"replica\"");
    let camera = image(&daemon);
    daemon.dock(SERIAL, &camera);
    // Stored and proven locally, and still on the camera: it needs attention until the
    // replica is proven and it is docked again.
    let state = daemon.wait_state(SERIAL, "needs-attention");
    let on_camera = list_fat_image(&camera, Layout::Superfloppy);
    let videos = on_camera.iter().filter(|f| f.ends_with(".MP4")).count();
    assert_eq!(videos, 4, "nothing wiped: {on_camera:?} {state:#}");
    let status = daemon.wait_for("the replica's problem in the status", |s| {
        !replica(s)["problem"].is_null()
    });
    assert_eq!(replica(&status)["backlog"]["recordings"], 4, "{status:#}");
    assert!(
        status["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("replica")),
        "{status:#}"
    );
    assert_eq!(count(&daemon, "replicated"), 0);

    // The server is back: the queue's retry proves the replica; docking again wipes.
    server.restart();
    wait_long(&daemon, "all four replicated", |d| {
        count(d, "replicated") == 4
    });
    daemon.undock(SERIAL);
    daemon.wait_for("the camera to be taken", |s| {
        s["cameras"].as_array().is_some_and(Vec::is_empty)
    });
    daemon.dock(SERIAL, &camera);
    daemon.wait_state(SERIAL, "safe-to-undock");
    let left = list_fat_image(&camera, Layout::Superfloppy);
    assert!(!left.iter().any(|f| f.starts_with("DCIM/")), "{left:?}");
}
