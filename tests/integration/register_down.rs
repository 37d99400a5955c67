//! The register's PostgreSQL server unreachable while the real `sentinel-dockd` runs: a
//! real PostgreSQL 15 killed (`pg_ctl stop -m immediate`, as a crash) and started again,
//! real FAT camera images docked. A dock copies and proves but commits nothing and wipes
//! nothing, says "register unreachable" (status text and JSON, the camera's card, a
//! journal event), answers commands with that reason, and resumes by itself.
#![allow(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fail the test by panicking, like the tests"
)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::daemon::{Daemon, camera, event_mark};
use crate::common::postgres::Postgres;
use crate::common::*;
use crate::desk::command;
use sentinel_dock::app::control::client::Client;
use sentinel_dock::app::control::protocol::{ErrorCode, Request, Response};
use sentinel_dock::base::events;

/// About 64 KiB/s: the fixture camera SNTL-00042 (357 KiB, 4 recordings) takes some 6 s.
const SLOW: (&str, &str) = ("simulate", "read_bytes_per_sec = 65536");

fn image(daemon: &Daemon, serial: &str) -> PathBuf {
    build_fat_image(
        &CameraSpec::fixture(serial),
        &daemon.path("cameras"),
        Layout::Superfloppy,
    )
}

fn files_on(image: &Path) -> Vec<String> {
    list_fat_image(image, Layout::Superfloppy)
}

fn recordings_on(image: &Path) -> usize {
    files_on(image)
        .iter()
        .filter(|f| f.starts_with("DCIM/") && f.ends_with(".MP4"))
        .count()
}

/// Waits until the status says the register is unreachable, and the journal event is out.
fn wait_unreachable(daemon: &Daemon) -> serde_json::Value {
    let status = daemon.wait_for("the register to be unreachable", |s| {
        s["register"]["state"] == "unreachable"
    });
    daemon.wait_event(events::REGISTER_UNREACHABLE);
    status
}

fn dockctl_text(daemon: &Daemon, args: &[&str]) -> (bool, String, String) {
    let out = daemon.dockctl(None, args);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_camera_docked_while_the_register_is_down_waits_untouched_then_is_ingested_by_itself() {
    let pg = Postgres::start();
    let url = pg.database("register");
    let daemon = Daemon::start_on(&url, &[]);
    let image = image(&daemon, SERIAL);
    let before = files_on(&image);

    pg.kill();
    let status = wait_unreachable(&daemon);
    // The server is named, without a password: its socket folder and database.
    let server = status["register"]["server"].as_str().unwrap();
    assert!(
        server.contains("PostgreSQL database register")
            && server.contains(&pg.dir().display().to_string()),
        "{status:#}"
    );
    daemon.dock(SERIAL, &image);
    let card = daemon.wait_state(SERIAL, "register-unreachable");
    assert!(
        card["error"]
            .as_str()
            .unwrap()
            .contains("the register is unreachable"),
        "{card:#}"
    );
    let (_, text, _) = dockctl_text(&daemon, &["status"]);
    assert!(
        text.lines()
            .any(|l| l.starts_with("REGISTER UNREACHABLE PostgreSQL database register")),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{SERIAL}  register unreachable: the camera keeps its recordings; ingest resumes when the register answers"
        )),
        "{text}"
    );
    // Tried again every few seconds, never more than once a second, and never touched.
    std::thread::sleep(Duration::from_secs(4));
    let tries = daemon
        .log()
        .matches(&format!(
            "the camera in slot {SERIAL} waits for the register"
        ))
        .count();
    assert!(
        (2..=5).contains(&tries),
        "{tries} tries in 4 s:\n{}",
        daemon.log()
    );
    assert_eq!(files_on(&image), before, "the camera was touched");
    assert!(
        daemon.stored_files().is_empty(),
        "{:?}",
        daemon.stored_files()
    );
    assert_eq!(
        daemon
            .log()
            .matches(&event_mark(events::REGISTER_UNREACHABLE))
            .count(),
        1,
        "one event when it became unreachable:\n{}",
        daemon.log()
    );

    pg.restart();
    let card = daemon.wait_state(SERIAL, "safe-to-undock");
    assert_eq!(card["recordings"], fixture_recordings(SERIAL).len());
    daemon.wait_event(events::REGISTER_REACHABLE);
    assert_eq!(daemon.status().unwrap()["register"]["state"], "reachable");
    // One event each way: the supervisor's own connection, stale after the restart, was
    // renewed before use instead of reporting a second loss.
    for kind in [events::REGISTER_UNREACHABLE, events::REGISTER_REACHABLE] {
        assert_eq!(
            daemon.log().matches(&event_mark(kind)).count(),
            1,
            "{}:\n{}",
            kind.name,
            daemon.log()
        );
    }
    assert_eq!(recordings_on(&image), 0, "{:?}", files_on(&image));
    assert_eq!(
        pg.psql(
            &url,
            "SELECT state, count(*) FROM recordings GROUP BY state"
        ),
        format!("wiped|{}", fixture_recordings(SERIAL).len())
    );
    // The docking, held while the register was down, is recorded with its time.
    assert_eq!(
        pg.psql(
            &url,
            &format!("SELECT event FROM dock_events WHERE camera = '{SERIAL}' ORDER BY id")
        ),
        "docked"
    );
}

#[test]
fn postgresql_killed_mid_ingest_loses_nothing_stores_nothing_twice_and_wipes_after_the_commits() {
    let pg = Postgres::start();
    let url = pg.database("register");
    let daemon = Daemon::start_on(&url, &[SLOW]);
    let image = image(&daemon, SERIAL);
    let expected = fixture_recordings(SERIAL);
    daemon.dock(SERIAL, &image);
    // Killed with the second recording being read: the first is committed by then.
    daemon.wait_bytes(SERIAL, 150 << 10);
    let killed_at = chrono::Utc::now()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        .to_string();
    pg.kill();

    let card = daemon.wait_state(SERIAL, "register-unreachable");
    wait_unreachable(&daemon);
    assert!(
        card["error"]
            .as_str()
            .unwrap()
            .contains("the register is unreachable"),
        "{card:#}"
    );
    // Nothing wiped; the copy in progress finished and was proven: it stays in the store
    // (uncommitted), and no partial copy is left.
    assert_eq!(recordings_on(&image), expected.len());
    let stored_while_down = daemon.stored_files();
    println!("stored while the register was down: {stored_while_down:?}");
    assert!(
        !stored_while_down
            .iter()
            .any(|f| f.rsplit('/').next().is_some_and(|n| n.starts_with('.'))),
        "{stored_while_down:?}"
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(recordings_on(&image), expected.len(), "wiped while down");

    pg.restart();
    daemon.wait_state(SERIAL, "safe-to-undock");
    assert_eq!(recordings_on(&image), 0, "{:?}", files_on(&image));
    // Beside the recordings committed before the loss, the copies proven but not committed
    // stayed in the store: at least the one whose commit failed.
    let committed_before: usize = pg
        .psql(
            &url,
            &format!(
                "SELECT count(*) FROM recording_events WHERE state = 'confirmed' AND at < '{killed_at}'"
            ),
        )
        .parse()
        .unwrap();
    let videos_while_down = stored_while_down
        .iter()
        .filter(|f| f.ends_with(".MP4"))
        .count();
    assert!(
        videos_while_down > committed_before,
        "{committed_before} committed before the loss; stored then: {stored_while_down:?}"
    );
    // Every recording committed exactly once, and wiped.
    let rows = pg.psql(
        &url,
        "SELECT stem, state, count(*) OVER (PARTITION BY stem) FROM recordings ORDER BY stem",
    );
    let want: Vec<String> = expected
        .iter()
        .map(|r| format!("{}|wiped|1", r.stem))
        .collect();
    assert_eq!(rows.lines().collect::<Vec<_>>(), want);
    // The store holds exactly the registered files: none unregistered, none twice.
    let registered: BTreeSet<String> = pg
        .psql(
            &url,
            "SELECT video_path FROM recordings UNION ALL SELECT sidecar_path FROM recordings",
        )
        .lines()
        .map(str::to_string)
        .collect();
    let stored: BTreeSet<String> = daemon.stored_files().into_iter().collect();
    assert_eq!(stored, registered);
    assert_eq!(stored.len(), 2 * expected.len());
    for r in &expected {
        let path = daemon.path("store").join("recordings").join(format!(
            "{}-{}-{}/{SERIAL}/{}.MP4",
            &r.day()[..4],
            &r.day()[4..6],
            &r.day()[6..],
            r.stem
        ));
        assert_eq!(std::fs::read(&path).unwrap(), r.video, "{}", path.display());
    }
    // Each recording was wiped after its commit, in the register's own history.
    assert_eq!(
        pg.psql(
            &url,
            "SELECT count(*) FROM recordings r WHERE NOT EXISTS (
                SELECT 1 FROM recording_events c JOIN recording_events w
                    ON w.recording = c.recording AND w.id > c.id
                WHERE c.recording = r.id AND c.state = 'confirmed' AND w.state = 'wiped')"
        ),
        "0",
        "{}",
        pg.psql(
            &url,
            "SELECT recording, state, at FROM recording_events ORDER BY id"
        )
    );
}

#[test]
fn a_command_while_the_register_is_down_answers_the_reason_and_works_again_after() {
    let pg = Postgres::start();
    let url = pg.database("register");
    let user = nix::unistd::User::from_uid(nix::unistd::getuid())
        .unwrap()
        .unwrap()
        .name;
    let access = format!("head = [\"{user}\"]");
    let daemon = Daemon::start_on(&url, &[("access", access.as_str())]);
    let (ok, _, stderr) = dockctl_text(&daemon, &["search", "--json"]);
    assert!(ok, "{stderr}");

    pg.kill();
    wait_unreachable(&daemon);
    let (ok, _, stderr) = dockctl_text(&daemon, &["search", "--json"]);
    assert!(!ok);
    assert!(
        stderr.contains("the register is unreachable (PostgreSQL database register on")
            && stderr.contains("nothing was committed and nothing is wiped until it answers"),
        "{stderr}"
    );
    // The daemon says why it cannot answer: unavailable, not a failed command.
    let mut client = Client::connect(&daemon.path("control.sock")).unwrap();
    let (response, _) = client
        .call(&Request::Command(command(&["search"])))
        .unwrap();
    match response {
        Response::Error(e) => {
            assert_eq!(e.code, ErrorCode::Unavailable, "{}", e.message);
            assert!(
                e.message.contains("the register is unreachable"),
                "{}",
                e.message
            );
        }
        other => panic!("{other:?}"),
    }
    let status = daemon.status().unwrap();
    assert!(camera(&status, SERIAL).is_none());
    assert_eq!(status["register"]["state"], "unreachable", "{status:#}");

    pg.restart();
    daemon.wait_for("the register to answer again", |s| {
        s["register"]["state"] == "reachable"
    });
    // The desk's connection was renewed: the first command after works.
    let (ok, stdout, stderr) = dockctl_text(&daemon, &["search", "--json"]);
    assert!(ok, "{stderr}");
    assert!(stdout.trim_start().starts_with('[') || stdout.trim_start().starts_with('{'));
}
