//! `sentinel-dockd ingest` as an operator runs it: exit statuses, JSON output, errors.
#![allow(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fail the test by panicking, like the tests"
)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::*;

fn dockd(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sentinel-dockd"))
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .unwrap()
}

fn write_config(dir: &Path, extra: &str) -> PathBuf {
    let path = dir.join("sentinel-dock.toml");
    fs::write(
        &path,
        format!("[store]\npath = \"store\"\nreserve = 0\n[register]\npath = \"register.sqlite\"\n{extra}"),
    )
    .unwrap();
    path
}

#[test]
fn json_output_describes_every_recording_and_exit_status_is_0() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "");
    let spec = CameraSpec::fixture(SERIAL);
    let image = build_fat_image(&spec, dir.path(), Layout::Superfloppy);
    let out = dockd(
        &config,
        &[
            "ingest",
            "--json",
            "--serial",
            SERIAL,
            image.to_str().unwrap(),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("safe to undock"), "{stderr}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["camera"]["serial"], SERIAL);
    assert_eq!(doc["camera"]["model"], MODEL);
    assert_eq!(doc["camera"]["firmware"], FIRMWARE);
    let recordings = doc["recordings"].as_array().unwrap();
    assert_eq!(recordings.len(), spec.recordings.len());
    for (r, rec) in recordings.iter().zip(&spec.recordings) {
        assert_eq!(r["file_name"], format!("{}.MP4", rec.stem));
        assert_eq!(r["status"], "confirmed");
        assert_eq!(r["wiped"], true);
        assert_eq!(r["size"], rec.video.len() as u64);
        assert_eq!(r["sha256"], sha256_hex(&rec.video));
        assert_eq!(r["blake3"].as_str().unwrap().len(), 64);
        let stored = PathBuf::from(r["stored_path"].as_str().unwrap());
        assert!(stored.is_absolute() && stored.exists());
        assert!(r["flags"].is_array() && r["reasons"].as_array().unwrap().is_empty());
    }
    assert!(doc["ignored"].as_array().unwrap().is_empty());
}

#[test]
fn a_quarantined_recording_makes_exit_status_1() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "");
    let mut spec = CameraSpec::fixture(SERIAL);
    let rec = &mut spec.recordings[0];
    let text = String::from_utf8(rec.sidecar.clone()).unwrap();
    let without_trailer: String = text
        .lines()
        .take(text.lines().count() - 1)
        .map(|l| format!("{l}\n"))
        .collect();
    rec.sidecar = without_trailer.into_bytes();
    let image = build_fat_image(&spec, dir.path(), Layout::Superfloppy);
    let out = dockd(&config, &["ingest", "--json", image.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["recordings"][0]["status"], "quarantined");
    assert_eq!(doc["recordings"][0]["wiped"], false);
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs attention"));
}

#[test]
fn a_bad_configuration_is_exit_status_2_and_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "[wipe]\nmode = \"shred\"\n");
    let out = dockd(&config, &["ingest", "/nonexistent"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("shred") && stderr.contains("mode"),
        "{stderr}"
    );

    let out = dockd(
        &dir.path().join("missing.toml"),
        &["ingest", "/nonexistent"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.toml"));
}

#[test]
fn an_unreadable_source_is_exit_status_3() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "");
    let out = dockd(
        &config,
        &[
            "ingest",
            dir.path().join("no-such-camera").to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no-such-camera"), "{stderr}");
}

#[test]
fn a_full_store_is_exit_status_3_and_the_camera_is_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "").to_path_buf();
    let text = fs::read_to_string(&config)
        .unwrap()
        .replace("reserve = 0", "reserve = \"1000 TB\"");
    fs::write(&config, text).unwrap();
    let image = build_fat_image(
        &CameraSpec::fixture(SERIAL),
        dir.path(),
        Layout::Superfloppy,
    );
    let before = fs::read(&image).unwrap();
    let out = dockd(&config, &["ingest", image.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("too full"));
    assert_eq!(fs::read(&image).unwrap(), before);
}
