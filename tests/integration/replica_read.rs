//! Reading from the S3 replica (a real SeaweedFS) a recording the local store no longer
//! holds: `consult` hands back the replica's bytes, `extract` makes a bag the reference
//! validator accepts; a replica object that is not the register's recording (the register
//! pointed at another object) serves nothing, raises `replica-mismatch` and is traced;
//! `scrub` lists such recordings as held by the replica, not missing.
#![allow(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fail the test by panicking, like the tests"
)]

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::sync::{Arc, Mutex};

use crate::common::seaweed::{Seaweed, replica_section, runtime, write_credentials};
use crate::common::{require_tool, sha256_hex};
use crate::desk::*;
use chrono::Utc;
use sentinel_dock::base::events;
use sentinel_dock::custody::register::stored;
use sentinel_dock::replica::{Bucket, QueueState, ReplicaQueue, Uploader};

/// A desk with both fixture cameras, every recording replicated to `server`.
fn replicated_desk(server: &Seaweed) -> Desk {
    let mut d = Desk::with_fixtures(&format!(
        "[retention]\ndays = 3660\n{}",
        replica_section(&server.endpoint(), "")
    ));
    write_credentials(&d.dir.path().join("replica.credentials"));
    let bucket = Bucket::connect(&d.config.replica).unwrap();
    let config = d.config.clone();
    for _ in 0..3 {
        runtime()
            .block_on(Uploader::new(&bucket, &config).pass(&mut d.register, Utc::now()))
            .unwrap();
    }
    for stem in [A1, A2, B1] {
        let id = stored::by_stem(&d.conn(), stem).unwrap()[0].id;
        let q = ReplicaQueue::row(&d.conn(), id).unwrap().unwrap();
        assert_eq!(
            q.state,
            QueueState::Replicated,
            "{stem}: {}",
            server.death_report()
        );
    }
    d
}

/// Deletes the local store's video and sidecar of `stem`; their paths.
fn lose_locally(d: &mut Desk, stem: &str) -> Vec<PathBuf> {
    let row = stored::by_stem(&d.conn(), stem).unwrap()[0].clone();
    let mut gone = Vec::new();
    for facts in [row.video, row.sidecar].into_iter().flatten() {
        let path = d.store_path(&facts.path);
        fs::remove_file(&path).unwrap();
        gone.push(path);
    }
    gone
}

fn consult(d: &mut Desk, stem: &str) -> Result<sentinel_dock::app::commands::Reply, String> {
    d.run(
        AGENT,
        &[
            "consult",
            "--purpose",
            "judicial",
            "--reason",
            "PV 2018/42",
            stem,
        ],
    )
    .map_err(|e| e.to_string())
}

fn extract(d: &mut Desk, stem: &str) -> Result<sentinel_dock::app::commands::Reply, String> {
    let out = d.dir.path().join("usb-key");
    fs::create_dir_all(&out).unwrap();
    let to = out.to_str().unwrap().to_string();
    d.run(
        AGENT,
        &[
            "extract",
            "--purpose",
            "judicial",
            "--requisition",
            "PV-2018-0042",
            "--opj",
            "Dupont, Commissariat de Romans",
            "--requisition-date",
            "2018-03-14",
            "--to",
            &to,
            stem,
        ],
    )
    .map_err(|e| e.to_string())
}

fn bagit_validate(bag: &Path) -> (bool, String) {
    require_tool("bagit.py");
    let out = Process::new("bagit.py")
        .arg("--validate")
        .arg(bag)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The log lines written while `f` runs on this thread.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn logged<T>(f: impl FnOnce() -> T) -> (T, String) {
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .finish();
    let out = tracing::subscriber::with_default(subscriber, f);
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    (out, text)
}

#[test]
fn a_recording_gone_from_the_local_store_is_consulted_and_extracted_from_the_replica() {
    let server = Seaweed::start();
    server.create_locked_bucket();
    let mut d = replicated_desk(&server);
    let row = stored::by_stem(&d.conn(), A2).unwrap()[0].clone();
    let video = row.video.clone().unwrap();
    let local = fs::read(d.store_path(&video.path)).unwrap();
    lose_locally(&mut d, A2);

    let (reply, log) = logged(|| consult(&mut d, A2));
    let reply = reply.unwrap();
    let mut file = reply.file.expect("an open file");
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).unwrap();
    assert_eq!(sha256_hex(&bytes), video.digests.sha256_hex());
    assert_eq!(
        bytes, local,
        "the replica's bytes are the stored recording's"
    );
    assert!(
        std::io::Write::write_all(&mut file, b"x").is_err(),
        "read-only"
    );
    assert!(log.contains("read from the replica"), "{log}");
    let entry = d.audit().pop().unwrap();
    assert_eq!(entry.action, "consultation");

    // The bag made from the replica validates like one made from the local store.
    let reply = extract(&mut d, A2).unwrap();
    let bag = PathBuf::from(reply.data["bag"].as_str().unwrap());
    let (valid, text) = bagit_validate(&bag);
    assert!(valid, "bagit.py --validate: {text}");
    let copied = fs::read_dir(bag.join("data").join(&row.camera))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "MP4"))
        .unwrap();
    assert_eq!(fs::read(copied).unwrap(), local);
}

#[test]
fn a_replica_object_that_is_not_the_recording_serves_nothing_raises_an_alarm_and_is_traced() {
    let server = Seaweed::start();
    server.create_locked_bucket();
    let mut d = replicated_desk(&server);
    // The register's object for A1's video now names B1's video: a real, locked object
    // of the bucket, but not the recording the register proved for A1.
    let a1 = stored::by_stem(&d.conn(), A1).unwrap()[0].id;
    let b1 = stored::by_stem(&d.conn(), B1).unwrap()[0].id;
    let (key, version) = ReplicaQueue::row(&d.conn(), b1).unwrap().unwrap().objects[0]
        .clone()
        .unwrap();
    d.sqlite3(&format!(
        "UPDATE replica_queue SET video_key = '{key}', video_version = '{version}' WHERE recording = {a1}"
    ));
    lose_locally(&mut d, A1);
    let before = d.audit().len();

    let (consulted, log) = logged(|| consult(&mut d, A1));
    let why = consulted.expect_err("nothing served");
    assert!(
        why.contains("not the recording the register proved"),
        "{why}"
    );
    assert!(
        log.contains(&format!("message_id=\"{}\"", events::REPLICA_MISMATCH.id)),
        "the alarm: {log}"
    );
    let trail = d.audit();
    assert_eq!(trail[before].action, "consultation", "traced first");
    assert_eq!(trail[before + 1].action, "failure");
    assert!(
        trail[before + 1]
            .details
            .contains("not the recording the register proved"),
        "{:?}",
        trail[before + 1]
    );

    // No bag either, and the failure traced.
    let (extracted, log) = logged(|| extract(&mut d, A1));
    let why = extracted.expect_err("no bag");
    assert!(
        why.contains("not the recording the register proved"),
        "{why}"
    );
    assert!(log.contains(events::REPLICA_MISMATCH.id), "{log}");
    let left: Vec<_> = fs::read_dir(d.dir.path().join("usb-key"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "no bag left: {left:?}");
    let last = d.audit().pop().unwrap();
    assert_eq!(last.action, "failure");
    assert!(
        last.details
            .contains("not the recording the register proved")
    );
}

#[test]
fn scrub_lists_a_recording_only_the_replica_holds_as_held_by_the_replica_not_missing() {
    let server = Seaweed::start();
    server.create_locked_bucket();
    let mut d = replicated_desk(&server);
    lose_locally(&mut d, A1);
    // B1's replica is not proven (back in the queue): its loss is missing.
    let b1 = stored::by_stem(&d.conn(), B1).unwrap()[0].id;
    d.sqlite3(&format!(
        "UPDATE replica_queue SET state = 'pending' WHERE recording = {b1}"
    ));
    lose_locally(&mut d, B1);

    let reply = d.run(TECH, &["scrub"]).unwrap();
    let doc = &reply.data;
    let held: Vec<&str> = doc["held_by_replica"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["recording"].as_str().unwrap())
        .collect();
    assert_eq!(held, [A1, A1], "video and sidecar: {doc:#}");
    let missing: Vec<&str> = doc["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["recording"].as_str().unwrap())
        .collect();
    assert_eq!(missing, [B1, B1], "{doc:#}");
    assert!(
        reply.message.contains("held by the replica"),
        "{}",
        reply.message
    );
    assert!(
        doc["held_by_replica"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("romans/recordings/")
    );
}

/// The console's player (real daemon, real `sentinel-dockctl console`, real HTTP): a
/// recording the dock's store lost is played, whole and by ranges, from the replica.
#[test]
#[ignore = "needs root"]
fn the_consoles_player_plays_a_recording_the_local_store_lost_from_the_replica() {
    use crate::common::console::{Console, csrf};
    use crate::common::operators::{People, start};
    use crate::common::seaweed::BUCKET;

    let server = Seaweed::start();
    server.create_locked_bucket();
    let creds = tempfile::tempdir().unwrap();
    let path = write_credentials(&creds.path().join("replica.credentials"));
    let replica = format!(
        "endpoint = \"{}\"\nbucket = \"{BUCKET}\"\ncredentials = \"{}\"\nprefix = \"romans\"",
        server.endpoint(),
        path.display()
    );
    let s = start(
        "",
        &[("retention", "days = 3660"), ("replica", replica.as_str())],
    );
    let People { head, .. } = &s.people;
    s.dock(&[crate::common::SERIAL]);
    let start_wait = std::time::Instant::now();
    while s
        .daemon
        .query("SELECT CAST(COUNT(*) AS TEXT) FROM replica_queue WHERE state = 'replicated'")
        != ["4"]
    {
        assert!(
            start_wait.elapsed() < std::time::Duration::from_secs(90),
            "not replicated in 90 s: {}",
            s.daemon.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let stored = crate::common::fixture_recordings(crate::common::SERIAL)[0].clone();
    let stem = stored.stem.as_str();
    let video_path = s
        .daemon
        .query(&format!(
            "SELECT video_path FROM recordings WHERE stem = '{stem}'"
        ))
        .remove(0);
    fs::remove_file(s.daemon.path("store").join(&video_path)).unwrap();

    let console = Console::start(&s, head, &[]);
    let cookie = console.session();
    let page = console.get(&cookie, &format!("/recordings/{stem}")).text();
    let opened = console.post(
        &cookie,
        &format!("/recordings/{stem}/consult"),
        &[
            ("csrf", &csrf(&page)),
            ("purpose", "judicial"),
            ("reason", "PV 12"),
        ],
    );
    assert_eq!(opened.status, 303, "{}", opened.text());
    let whole = console.get(&cookie, &format!("/recordings/{stem}/video"));
    assert_eq!(whole.status, 200);
    assert_eq!(sha256_hex(&whole.body), sha256_hex(&stored.video));
    let part = crate::common::console::http(
        console.addr,
        "GET",
        &format!("/recordings/{stem}/video"),
        Some(&cookie),
        &[("range", "bytes=100-199")],
        "",
    );
    assert_eq!(part.status, 206);
    assert_eq!(part.body, stored.video[100..200]);
    assert!(
        s.daemon.log().contains("read from the replica"),
        "{}",
        s.daemon.log()
    );
}
