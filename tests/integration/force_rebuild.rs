//! A dock machine lost loses nothing: its register is the force's PostgreSQL and its
//! recordings are in the S3 replica (a real SeaweedFS). A machine rebuilt from nothing
//! with the same configuration adopts a new, empty store (`sentinel-dockd adopt-store`),
//! knows its past, lists the lost store's recordings as held by the replica, and docks on.
#![allow(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fail the test by panicking, like the tests"
)]

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::common::daemon::{Daemon, config_text};
use crate::common::postgres::Postgres;
use crate::common::seaweed::{Seaweed, replica_section, write_credentials};
use crate::common::*;

/// The post's configuration: the force's register, its site, its replica, and the test's
/// user as head of service.
fn sections(url: &str, server: &Seaweed) -> Vec<(&'static str, String)> {
    let replica = replica_section(&server.endpoint(), "");
    let user = nix::unistd::User::from_uid(nix::unistd::getuid())
        .unwrap()
        .unwrap()
        .name;
    vec![
        ("access", format!("head = [\"{user}\"]")),
        ("register", format!("url = \"{url}\"")),
        ("site", "name = \"Poste Nord\"".to_string()),
        ("retention", "days = 3660".to_string()),
        (
            "replica",
            replica.trim_start_matches("[replica]\n").to_string(),
        ),
    ]
}

fn borrowed<'a>(owned: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    owned.iter().map(|(s, l)| (*s, l.as_str())).collect()
}

fn dockd(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sentinel-dockd"))
        .arg("--config")
        .arg(dir.join("sentinel-dock.toml"))
        .args(args)
        .env("SENTINEL_DOCK_LOG", "warn")
        .output()
        .unwrap()
}

fn psql_rows(pg: &Postgres, url: &str, sql: &str) -> Vec<String> {
    pg.psql(url, sql)
        .lines()
        .map(str::to_string)
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn a_dock_rebuilt_from_nothing_knows_its_past_and_finds_its_lost_store_in_the_replica() {
    let pg = Postgres::start();
    let url = pg.database("force");
    let server = Seaweed::start();
    server.create_locked_bucket();
    let owned = sections(&url, &server);

    // The first machine docks a camera; everything is committed and replicated.
    let first = tempfile::tempdir().unwrap();
    write_credentials(&first.path().join("replica.credentials"));
    let daemon = Daemon::start_in(first, &borrowed(&owned));
    let camera = build_fat_image(
        &CameraSpec::fixture(SERIAL),
        &daemon.path("cameras"),
        Layout::Superfloppy,
    );
    daemon.dock(SERIAL, &camera);
    daemon.wait_state(SERIAL, "safe-to-undock");
    let stems = psql_rows(&pg, &url, "SELECT stem FROM recordings ORDER BY stem");
    assert!(!stems.is_empty());
    let start = Instant::now();
    while psql_rows(
        &pg,
        &url,
        "SELECT recording FROM replica_queue WHERE state = 'replicated'",
    )
    .len()
        < stems.len()
    {
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "not replicated in 90 s: {}",
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // The machine is lost: its folder (store, configuration) goes with it.
    drop(daemon);

    // A new machine, the same configuration, a new empty store.
    let second = tempfile::tempdir().unwrap();
    write_credentials(&second.path().join("replica.credentials"));
    std::fs::write(
        second.path().join("sentinel-dock.toml"),
        config_text(&borrowed(&owned)),
    )
    .unwrap();
    let adopted = dockd(second.path(), &["adopt-store"]);
    let said = String::from_utf8_lossy(&adopted.stdout);
    assert!(
        adopted.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&adopted.stderr)
    );
    assert!(
        said.contains(&format!(
            "{n} recordings were in the lost store; {n} are proven in the replica",
            n = stems.len()
        )),
        "{said}"
    );
    // Adopted once: a second run has nothing to do; a store holding anything is refused.
    let again = dockd(second.path(), &["adopt-store"]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("already"));

    // Its scrub lists the lost store's recordings as held by the replica, not missing.
    let scrub = dockd(second.path(), &["scrub", "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&scrub.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&scrub.stderr)));
    assert_eq!(doc["missing"].as_array().map(Vec::len), Some(0), "{doc:#}");
    let mut held: Vec<String> = doc["held_by_replica"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["recording"].as_str().unwrap().to_string())
        .collect();
    held.dedup();
    assert_eq!(held, stems, "{doc:#}");

    // Docking continues, and the adoption is in the one audit chain, which holds.
    let daemon = Daemon::start_in(second, &borrowed(&owned));
    let other = build_fat_image(
        &CameraSpec::fixture(SERIAL_2),
        &daemon.path("cameras"),
        Layout::Superfloppy,
    );
    daemon.dock(SERIAL_2, &other);
    daemon.wait_state(SERIAL_2, "safe-to-undock");
    assert_eq!(
        psql_rows(
            &pg,
            &url,
            "SELECT count(*) FROM audit WHERE action = 'store-adopted'"
        ),
        ["1"]
    );
    let verify = daemon.dockctl(None, &["audit", "verify"]);
    assert!(
        verify.status.success(),
        "{}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
}
