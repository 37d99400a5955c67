//! The force (issue 23): one PostgreSQL 15, one SeaweedFS, two dock daemons (posts A and
//! B: each its own store folder and `[replica] prefix`) and a third daemon as the head
//! office, all real processes on one register. Cameras docked at both posts are searched,
//! consulted (from the replica once a post's store lost the file), audited and attributed
//! from the head office; a camera enrolled and issued at the head office and docked at B
//! is returned at B and its recordings are its agent's.
#![allow(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fail the test by panicking, like the tests"
)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::common::daemon::{Daemon, config_text_on};
use crate::common::postgres::Postgres;
use crate::common::seaweed::{BUCKET, Seaweed, write_credentials};
use crate::common::*;
use crate::desk::{A1, A2, B1, B2};
use serde_json::Value;

/// The lines that make a daemon post `name` of the force.
fn post(name: &str) -> Vec<(&'static str, String)> {
    vec![("site", format!("name = \"{name}\""))]
}

/// The lines that make a daemon the head office: its site, and no dock.
fn head_office() -> Vec<(&'static str, String)> {
    vec![
        ("site", "name = \"siege\"".into()),
        ("dock", "enabled = false".into()),
    ]
}

/// A daemon of the force: the register in `url`, the replica in `server` under `prefix`,
/// the test's user as head of service, plus its `site` (see `post`); each has its own
/// store, whose identity the register keeps per site.
fn start(url: &str, server: &Seaweed, prefix: &str, site: Vec<(&'static str, String)>) -> Daemon {
    let dir = tempfile::tempdir().unwrap();
    write_credentials(&dir.path().join("replica.credentials"));
    let user = nix::unistd::User::from_uid(nix::unistd::getuid())
        .unwrap()
        .unwrap()
        .name;
    let mut sections: Vec<(&'static str, String)> = vec![
        ("access", format!("head = [\"{user}\"]")),
        ("retention", "days = 3660".into()),
        (
            "replica",
            format!(
                "endpoint = \"{}\"\nbucket = \"{BUCKET}\"\ncredentials = \"replica.credentials\"\nprefix = \"{prefix}\"",
                server.endpoint()
            ),
        ),
    ];
    sections.extend(site);
    let extra: Vec<(&str, &str)> = sections.iter().map(|(s, l)| (*s, l.as_str())).collect();
    Daemon::start_text(dir, &config_text_on(url, &extra), &[])
}

fn image(daemon: &Daemon, serial: &str) -> PathBuf {
    build_fat_image(
        &CameraSpec::fixture(serial),
        &daemon.path("cameras"),
        Layout::Superfloppy,
    )
}

/// `sentinel-dockctl ARGS` against `daemon`; its standard output, or a panic with its error.
fn ok(daemon: &Daemon, args: &[&str]) -> String {
    let out = daemon.dockctl(None, args);
    assert!(
        out.status.success(),
        "sentinel-dockctl {args:?}: {}\nlog:\n{}",
        String::from_utf8_lossy(&out.stderr),
        daemon.log()
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json(daemon: &Daemon, args: &[&str]) -> Value {
    let text = ok(daemon, args);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?}: {e}: {text}"))
}

/// Polls `ready` (on the shared register) until it holds, for up to 90 s.
fn wait_until(what: &str, ready: impl Fn() -> bool, log: impl Fn() -> String) {
    let start = Instant::now();
    while !ready() {
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "waited 90 s for {what}:\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn two_posts_and_a_head_office_on_one_register_search_consult_audit_and_attribute_across_sites() {
    let pg = Postgres::start();
    let url = pg.database("force");
    let server = Seaweed::start();
    server.create_locked_bucket();
    let head = start(&url, &server, "siege", head_office());
    let post_a = start(&url, &server, "post-a", post("A"));
    let post_b = start(&url, &server, "post-b", post("B"));

    // The perception register is the force's: enrolled and issued at the head office.
    ok(
        &head,
        &[
            "agent",
            "add",
            "M300",
            "--name",
            "Léa Roux",
            "--brigade",
            "Nuit",
        ],
    );
    ok(&head, &["camera", "enroll", SERIAL_2]);
    ok(
        &head,
        &["issue", SERIAL_2, "M300", "--at", "2018-03-11T06:00:00Z"],
    );

    let camera_a = image(&post_a, SERIAL);
    let camera_b = image(&post_b, SERIAL_2);
    post_a.dock(SERIAL, &camera_a);
    post_b.dock(SERIAL_2, &camera_b);
    post_a.wait_state(SERIAL, "safe-to-undock");
    post_b.wait_state(SERIAL_2, "safe-to-undock");

    // From the head office: the recordings of both posts.
    let found = json(&head, &["search", "--json", "--per-page", "100"]);
    let text = found.to_string();
    let all: Vec<String> = fixture_recordings(SERIAL)
        .into_iter()
        .chain(fixture_recordings(SERIAL_2))
        .map(|r| r.stem)
        .collect();
    for stem in &all {
        assert!(text.contains(stem.as_str()), "{stem} not found: {found:#}");
    }
    for site in ["A", "B"] {
        assert!(
            text.contains(&format!("\"site\":\"{site}\"")),
            "no row of site {site}: {found:#}"
        );
    }

    // Returned at B by its docking, its recordings attributed to the agent who held it
    // (read in the register itself: `register print` is the perception tests' business).
    let log = || format!("B:\n{}\nhead:\n{}", post_b.log(), head.log());
    let attributed = format!(
        "SELECT r.stem || ':' || a.agent || ':' || a.kind FROM attributions a
         JOIN recordings r ON r.id = a.recording WHERE r.camera = '{SERIAL_2}' ORDER BY r.stem"
    );
    wait_until(
        "B's recordings attributed to M300",
        || pg.psql(&url, &attributed).lines().count() == 2,
        log,
    );
    assert_eq!(
        pg.psql(&url, &attributed),
        format!("{B1}:M300:automatic\n{B2}:M300:automatic")
    );
    // The docking at B is the camera's return (the issue ends there), and the
    // attributions are made under the issue given at the head office.
    assert_eq!(
        pg.psql(
            &url,
            &format!(
                "SELECT count(*) FROM dock_events d JOIN assignments a ON a.camera = d.camera
                 WHERE d.camera = '{SERIAL_2}' AND d.event = 'docked' AND d.at > a.issued_at"
            )
        ),
        "1"
    );
    assert_eq!(
        pg.psql(
            &url,
            &format!(
                "SELECT count(*) FROM attributions t JOIN assignments a ON a.id = t.assignment
                 WHERE a.camera = '{SERIAL_2}' AND a.agent = 'M300'"
            )
        ),
        "2"
    );

    // Every recording replicated, each under its post's prefix.
    wait_until(
        "every recording replicated",
        || {
            pg.psql(
                &url,
                "SELECT count(*) FROM replica_queue WHERE state = 'replicated'",
            ) == all.len().to_string()
        },
        || {
            format!(
                "{}\nA:\n{}\nB:\n{}",
                pg.psql(&url, "SELECT recording, state FROM replica_queue"),
                post_a.log(),
                post_b.log()
            )
        },
    );

    // Post A's store loses A1: the head office serves it from the replica, byte for byte.
    let video = pg.psql(
        &url,
        &format!("SELECT video_path FROM recordings WHERE stem = '{A1}'"),
    );
    std::fs::remove_file(post_a.path("store").join(&video)).unwrap();
    let out = head.path("A1.mp4");
    ok(
        &head,
        &[
            "consult",
            "--purpose",
            "judicial",
            "--reason",
            "PV 2018/42",
            "--out",
            out.to_str().unwrap(),
            A1,
        ],
    );
    let expected = fixture_recordings(SERIAL)
        .into_iter()
        .find(|r| r.stem == A1)
        .unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), expected.video);

    // One audit chain: entries written by post A (a hold), post B (its attributions) and
    // the head office (the perception register, the consultation), verified there.
    ok(
        &post_a,
        &["hold", "--procedure", "P-1", "--reason", "inquiry", A2],
    );
    for (action, count) in [("hold", 1), ("consultation", 1)] {
        assert_eq!(
            pg.psql(
                &url,
                &format!("SELECT count(*) FROM audit WHERE action = '{action}'")
            ),
            count.to_string()
        );
    }
    assert!(
        pg.psql(
            &url,
            "SELECT count(*) FROM audit WHERE action = 'attribution'"
        )
        .parse::<u32>()
        .unwrap()
            >= 2
    );
    assert_eq!(
        pg.psql(
            &url,
            "SELECT string_agg(DISTINCT site, ',' ORDER BY site) FROM audit"
        ),
        "A,B,siege"
    );
    let verified = ok(&head, &["audit", "verify"]);
    assert!(!verified.trim().is_empty());
}
