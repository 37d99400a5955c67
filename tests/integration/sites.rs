//! Sites (issue 23) on the real service: a post's daemon records its `[site] name` on what
//! it collects, and a head office's daemon (`[dock] enabled = false`, no dock) finds each
//! site's recordings with `search --site` and `report --site`, its status saying there is
//! no dock there. SQLite holds one store per register, so the posts are the same folder's
//! daemon restarted under each site's configuration, as a rebuilt post would be.
#![allow(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fail the test by panicking, like the tests"
)]

use std::time::Duration;

use nix::sys::signal::Signal;
use serde_json::Value;

use crate::common::daemon::{Daemon, config_text};
use crate::common::*;

fn head_access() -> String {
    let user = nix::unistd::User::from_uid(nix::unistd::getuid())
        .unwrap()
        .unwrap()
        .name;
    format!("head = [\"{user}\"]")
}

/// `sentinel-dockctl ARGS` against the daemon, which must succeed: its stdout.
fn ctl(daemon: &Daemon, args: &[&str]) -> String {
    let out = daemon.dockctl(None, args);
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json(daemon: &Daemon, args: &[&str]) -> Value {
    let mut line = vec!["--json"];
    line.extend_from_slice(args);
    serde_json::from_str(&ctl(daemon, &line)).unwrap()
}

/// Stops the daemon and starts it again under another configuration.
fn restart_as(daemon: &mut Daemon, extra: &[(&str, &str)]) {
    daemon.signal(Signal::SIGTERM);
    daemon.wait_exit(Duration::from_secs(10));
    daemon.write_config(&config_text(extra));
    daemon.restart();
}

/// The stems and sites of a search's rows.
fn rows(found: &Value) -> Vec<(String, String)> {
    found["recordings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["stem"].as_str().unwrap().to_string(),
                r["site"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_head_office_without_a_dock_finds_each_sites_recordings() {
    let access = head_access();
    let north = [
        ("access", access.as_str()),
        ("site", "name = \"Poste Nord\""),
    ];
    let mut daemon = Daemon::start(&north);
    let status = daemon.status().unwrap();
    assert_eq!(status["service"]["site"], "Poste Nord");
    assert_eq!(status["service"]["dock_enabled"], true);
    let image = build_fat_image(
        &CameraSpec::fixture(SERIAL),
        &daemon.path("cameras"),
        Layout::Superfloppy,
    );
    daemon.dock(SERIAL, &image);
    daemon.wait_state(SERIAL, "safe-to-undock");
    daemon.undock(SERIAL);

    let south = [
        ("access", access.as_str()),
        ("site", "name = \"Poste Sud\""),
    ];
    // Renamed by a reload (SIGHUP), as a post moved to another site would be.
    daemon.write_config(&config_text(&south));
    daemon.signal(Signal::SIGHUP);
    daemon.wait_for("the site Poste Sud", |s| {
        s["service"]["site"] == "Poste Sud"
    });
    let image = build_fat_image(
        &CameraSpec::fixture(SERIAL_2),
        &daemon.path("cameras"),
        Layout::Superfloppy,
    );
    daemon.dock(SERIAL_2, &image);
    daemon.wait_state(SERIAL_2, "safe-to-undock");
    daemon.undock(SERIAL_2);

    // Every row the posts wrote carries its site.
    for table in ["recordings", "sessions", "dock_events", "audit"] {
        let sites = daemon.query(&format!("SELECT DISTINCT site FROM {table} ORDER BY site"));
        assert_eq!(sites, ["Poste Nord", "Poste Sud"], "{table}");
    }
    let north_stems = daemon.query(&format!(
        "SELECT stem FROM recordings WHERE camera = '{SERIAL}' ORDER BY start_utc DESC"
    ));
    let south_stems = daemon.query(&format!(
        "SELECT stem FROM recordings WHERE camera = '{SERIAL_2}' ORDER BY start_utc DESC"
    ));
    assert!(!north_stems.is_empty() && !south_stems.is_empty());

    // The head office: no dock (its folder holds a camera nobody may touch), same register.
    let head_office = [
        ("access", access.as_str()),
        ("site", "name = \"Siège\""),
        ("dock", "enabled = false"),
    ];
    restart_as(&mut daemon, &head_office);
    let image = build_fat_image(
        &CameraSpec::fixture(SERIAL),
        &daemon.path("cameras"),
        Layout::Superfloppy,
    );
    let before = std::fs::read(&image).unwrap();
    daemon.dock(SERIAL, &image);
    let status = json(&daemon, &["status"]);
    assert_eq!(status["service"]["site"], "Siège");
    assert_eq!(status["service"]["dock_enabled"], false);
    let text = ctl(&daemon, &["status"]);
    assert!(
        text.starts_with("no dock here") && text.contains("site Siège"),
        "{text}"
    );
    // Two of the watcher's rescans: a dock would have seen the camera by now.
    std::thread::sleep(Duration::from_secs(5));
    let status = json(&daemon, &["status"]);
    assert_eq!(status["cameras"], Value::Array(vec![]), "{status}");
    assert_eq!(
        daemon.query("SELECT CAST(count(*) AS TEXT) FROM sessions"),
        ["2"]
    );
    assert_eq!(std::fs::read(&image).unwrap(), before, "untouched");

    // search --site: one site's recordings, each row naming its site.
    let found = json(&daemon, &["search", "--site", "Poste Nord"]);
    let expected: Vec<_> = north_stems
        .iter()
        .map(|s| (s.clone(), "Poste Nord".to_string()))
        .collect();
    assert_eq!(rows(&found), expected);
    assert_eq!(
        found["sites"],
        serde_json::json!(["Poste Nord", "Poste Sud"])
    );
    let all = json(&daemon, &["search"]);
    let mut sites: Vec<_> = rows(&all).into_iter().map(|(_, site)| site).collect();
    sites.dedup();
    assert_eq!(rows(&all).len(), north_stems.len() + south_stems.len());
    assert!(sites.contains(&"Poste Sud".to_string()), "{sites:?}");
    let text = ctl(&daemon, &["search", "--site", "Poste Sud"]);
    assert_eq!(text.lines().count(), south_stems.len(), "{text}");
    assert!(
        text.lines()
            .all(|l| l.contains(SERIAL_2) && l.ends_with("  Poste Sud")),
        "{text}"
    );
    assert!(
        json(&daemon, &["search", "--site", "Poste Est"])["recordings"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // A recording's own page names where it was collected.
    let shown = json(&daemon, &["show", &south_stems[0]]);
    assert_eq!(shown["site"], "Poste Sud", "{shown}");

    // report --site: one site's videos; both together make the whole.
    let videos = |site: Option<&str>| {
        let mut line = vec!["report", "--from", "2018-03-01", "--to", "2018-03-31"];
        if let Some(site) = site {
            line.extend(["--site", site]);
        }
        json(&daemon, &line)["videos"].as_u64().unwrap()
    };
    let (north, south, all) = (
        videos(Some("Poste Nord")),
        videos(Some("Poste Sud")),
        videos(None),
    );
    assert_eq!(north, north_stems.len() as u64);
    assert_eq!(south, south_stems.len() as u64);
    assert_eq!(north + south, all);
    let text = ctl(
        &daemon,
        &[
            "report",
            "--from",
            "2018-03-01",
            "--to",
            "2018-03-31",
            "--site",
            "Poste Nord",
        ],
    );
    assert!(text.contains("Poste Nord"), "{text}");

    // One chain for both sites, verified from the head office.
    let verified = json(&daemon, &["audit", "verify"]);
    assert_eq!(verified["intact"], true, "{verified}");

    // A site rewritten by hand (a recording moved to another post on paper) is found.
    let seq = daemon.query("SELECT CAST(max(seq) AS TEXT) FROM audit WHERE site = 'Poste Nord'");
    daemon
        .register()
        .execute_batch(&format!(
            "DROP TRIGGER audit_append_only;
             UPDATE audit SET site = 'Poste Sud' WHERE seq = {};",
            seq[0]
        ))
        .unwrap();
    let out = daemon.dockctl(None, &["--json", "audit", "verify"]);
    let verified: Value = serde_json::from_slice(&out.stdout).unwrap();
    let changed =
        serde_json::json!([{"problem": "changed", "seq": seq[0].parse::<i64>().unwrap()}]);
    assert_eq!(verified["verification"]["problems"], changed, "{verified}");
    assert!(!out.status.success(), "a broken chain fails the command");
}
