//! `sentinel-dockd scrub` on a real store and register filled by a real ingest, then
//! damaged the ways a disk or a person damages it: a flipped byte, a deleted file, an extra file.
#![allow(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fail the test by panicking, like the tests"
)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::*;
use sentinel_dock::app::ingest::{IngestReport, Options};
use sentinel_dock::base::config::Config;
use sentinel_dock::base::events::SCRUB_PROBLEM;

fn dockd(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sentinel-dockd"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env("SENTINEL_DOCK_LOG", "warn")
        .output()
        .unwrap()
}

/// A store and register holding the fixture camera's recordings, all confirmed.
fn ingested(dir: &Path) -> (PathBuf, IngestReport) {
    let config_path = dir.join("sentinel-dock.toml");
    fs::write(
        &config_path,
        "[store]\npath = \"store\"\nreserve = 0\n[register]\npath = \"register.sqlite\"\n",
    )
    .unwrap();
    let config = Config::load(&config_path).unwrap();
    let camera = build_dir(&CameraSpec::fixture(SERIAL), dir);
    let report = crate::common::ingest_once(&config, &camera, &Options::default()).unwrap();
    assert_eq!(report.exit_code(), 0, "{}", report.summary());
    (config_path, report)
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn recordings_of(doc: &serde_json::Value, kind: &str) -> Vec<String> {
    doc[kind]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["recording"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_clean_store_scrubs_clean_with_exit_status_0() {
    let dir = tempfile::tempdir().unwrap();
    let (config, report) = ingested(dir.path());
    let out = dockd(&config, &["scrub", "--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("exactly what the register says"),
        "{stderr}"
    );
    let doc = json(&out);
    // Every video and every sidecar was read back.
    assert_eq!(doc["files_checked"], 2 * report.recordings.len() as u64);
    for kind in ["changed", "missing", "unexpected", "unreadable"] {
        assert!(recordings_of(&doc, kind).is_empty(), "{kind}: {doc}");
    }
}

#[test]
fn a_flipped_byte_a_deleted_file_and_an_extra_file_are_each_named_by_recording() {
    let dir = tempfile::tempdir().unwrap();
    let (config, report) = ingested(dir.path());
    let (flipped, deleted) = (&report.recordings[0], &report.recordings[1]);

    // A bit rots in the first video: its size stays, its hashes change.
    let video = flipped.stored_path.clone().unwrap();
    fs::set_permissions(&video, fs::Permissions::from_mode(0o644)).unwrap();
    let mut bytes = fs::read(&video).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x10;
    fs::write(&video, bytes).unwrap();
    // The second recording's sidecar disappears.
    let sidecar = deleted.sidecar.as_ref().unwrap().stored_path.clone();
    fs::remove_file(&sidecar).unwrap();
    // A file nobody registered appears beside them.
    let stray = video
        .parent()
        .unwrap()
        .join("SNTL-00042_20180312_235959_0099.MP4");
    fs::write(&stray, b"not registered").unwrap();
    // A temp file of a copy in progress is not a problem.
    fs::write(video.parent().unwrap().join(".X.MP4.partial-1-1"), b"x").unwrap();

    let out = dockd(&config, &["scrub", "--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let doc = json(&out);
    assert_eq!(recordings_of(&doc, "changed"), vec![flipped.stem.as_str()]);
    assert_eq!(recordings_of(&doc, "missing"), vec![deleted.stem.as_str()]);
    assert_eq!(
        recordings_of(&doc, "unexpected"),
        ["SNTL-00042_20180312_235959_0099"]
    );
    assert!(recordings_of(&doc, "unreadable").is_empty());
    assert_eq!(doc["temp_files"].as_array().unwrap().len(), 1, "{doc}");
    let changed = doc["changed"][0]["detail"].as_str().unwrap();
    assert!(
        changed.contains("sha256") && changed.contains("blake3"),
        "{changed}"
    );
    assert!(!changed.contains("bytes where"), "same size: {changed}");
    assert!(
        doc["missing"][0]["path"]
            .as_str()
            .unwrap()
            .ends_with(".NMEA")
    );
    // Each problem is an alarm in the log, marked with its event (its MESSAGE_ID in the journal).
    let mark = format!("event={}", SCRUB_PROBLEM.name);
    assert_eq!(stderr.matches(&mark).count(), 3, "{stderr}");
    assert!(stderr.contains("PROBLEMS FOUND"), "{stderr}");
    assert!(stderr.contains(&flipped.stem), "{stderr}");
}

#[test]
fn a_missing_register_or_store_is_exit_status_3_with_words_to_act_on() {
    let dir = tempfile::tempdir().unwrap();
    let (config, _) = ingested(dir.path());
    fs::rename(
        dir.path().join("register.sqlite"),
        dir.path().join("moved.sqlite"),
    )
    .unwrap();
    let out = dockd(&config, &["scrub"]);
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("register") && stderr.contains("does not exist"),
        "{stderr}"
    );
    assert!(
        !dir.path().join("register.sqlite").exists(),
        "no empty register created"
    );

    fs::rename(dir.path().join("store"), dir.path().join("moved-store")).unwrap();
    let out = dockd(&config, &["scrub"]);
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("store"), "{stderr}");
    assert!(!dir.path().join("store").exists(), "scrub creates nothing");
}

#[test]
fn a_copy_renamed_into_place_before_its_commit_awaits_it_and_is_no_problem() {
    // Killed (or still running) between the rename of a copy and the commit of its row:
    // the row is still `discovered`, the camera keeps the recording, its next docking
    // finishes. A scrub beside the ingests sees this every time a copy is persisted.
    let dir = tempfile::tempdir().unwrap();
    let (config, report) = ingested(dir.path());
    let pending = &report.recordings[0];
    rewrite_history(
        &dir.path().join("register.sqlite"),
        "UPDATE recordings SET state = 'discovered', video_path = NULL, video_size = NULL,
                video_blake3 = NULL, video_sha256 = NULL, sidecar_path = NULL,
                sidecar_size = NULL, sidecar_blake3 = NULL, sidecar_sha256 = NULL
         WHERE stem = ?1",
        [&pending.stem],
    );
    let out = dockd(&config, &["scrub", "--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let doc = json(&out);
    assert!(recordings_of(&doc, "unexpected").is_empty(), "{doc}");
    let awaiting = doc["awaiting_commit"].as_array().unwrap();
    assert_eq!(awaiting.len(), 2, "video and sidecar: {doc}");
    assert!(
        awaiting
            .iter()
            .all(|p| p.as_str().unwrap().contains(&pending.stem)),
        "{doc}"
    );
    assert!(stderr.contains("awaiting their commit"), "{stderr}");

    // Without any row for it, the same file is unexpected.
    rusqlite::Connection::open(dir.path().join("register.sqlite"))
        .unwrap()
        .execute(
            "UPDATE recordings SET stem = 'SNTL-00042_20990101_000000_9999' WHERE stem = ?1",
            [&pending.stem],
        )
        .unwrap();
    let out = dockd(&config, &["scrub", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(recordings_of(&json(&out), "unexpected").len(), 2);
}
