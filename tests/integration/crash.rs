//! Crashes: the short version of the crash harness (`scripts/crash-test` runs the long one)
//! and regression tests for what it found: a wipe cut off between a video and its sidecar,
//! or while fatfs was freeing a video's clusters, left a camera no later run could finish.
#![allow(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fail the test by panicking, like the tests"
)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;
use rusqlite::Connection;
use sentinel_dock::app::ingest::{IngestReport, Options, Status};
use sentinel_dock::base::config::Config;

use crate::common::fat_edit;
use crate::crash_test::{oneshot, run};

#[test]
fn twenty_kills_at_random_moments_lose_nothing() {
    // A new seed each run explores more; the seed is printed to replay a failure with
    // SENTINEL_CRASH_SEED=S or `scripts/crash-test --seed S`.
    let seed = run::fresh_seed();
    let work = tempfile::tempdir().unwrap();
    let opts = run::Options {
        kills: 20,
        seed,
        big_mib: 96,
        dockd: PathBuf::from(env!("CARGO_BIN_EXE_sentinel-dockd")),
        fixtures: fixtures_dir(),
        work: work.path().join("crash"),
        verbose: false,
    };
    let target = oneshot::OneShot {
        dockd: opts.dockd.clone(),
        exfat: false,
    };
    let summary = run::run(&opts, &target).unwrap();
    println!("seed {seed}");
    println!(
        "{} kills, {} violations",
        summary.kills,
        summary.violations.len()
    );
    fail_keeping_cells(seed, "crash", &opts.work, &summary.violations);
    assert!(summary.kills >= 20);
}

/// The same on an exFAT camera (mkfs.exfat, filled and listed through exfat-fuse), with
/// fewer kills and a smaller large recording: each check mounts the image.
#[test]
#[ignore = "needs root"]
fn twelve_kills_on_an_exfat_camera_lose_nothing() {
    let seed = run::fresh_seed();
    let work = tempfile::tempdir().unwrap();
    let opts = run::Options {
        kills: 12,
        seed,
        big_mib: 48,
        dockd: PathBuf::from(env!("CARGO_BIN_EXE_sentinel-dockd")),
        fixtures: fixtures_dir(),
        work: work.path().join("crash"),
        verbose: false,
    };
    let target = oneshot::OneShot {
        dockd: opts.dockd.clone(),
        exfat: true,
    };
    let summary = run::run(&opts, &target).unwrap();
    println!("seed {seed}");
    println!(
        "{} kills, {} violations",
        summary.kills,
        summary.violations.len()
    );
    fail_keeping_cells(seed, "crash-exfat", &opts.work, &summary.violations);
    assert!(summary.kills >= 12);
}

/// A fixture camera fully ingested, then docked again as it was before its wipe, with the
/// register put back to the moment between the wipe and its commit (`confirmed`).
fn camera_before_the_wipes_commit() -> (tempfile::TempDir, Config, PathBuf, CameraSpec) {
    let dir = tempfile::tempdir().unwrap();
    let text = "[store]\npath = \"store\"\nreserve = 0\n[register]\npath = \"register.sqlite\"\n";
    let config = Config::from_toml(text, dir.path()).unwrap();
    let spec = CameraSpec::fixture(SERIAL);
    let image = build_fat_image_with(
        &spec,
        dir.path(),
        Layout::Superfloppy,
        &ImageOptions {
            fat_bits: Some(16),
            size_mib: None,
        },
    );
    let pristine = fs::read(&image).unwrap();
    let first = crate::common::ingest_once(&config, &image, &Options::default()).unwrap();
    assert_eq!(first.exit_code(), 0);
    fs::write(&image, pristine).unwrap();
    back_to_confirmed(&config.register.path, &spec.recordings[0].stem);
    (dir, config, image, spec)
}

/// The register as a kill before the wipe's commit leaves it: the row still `confirmed`.
fn back_to_confirmed(register: &Path, stem: &str) {
    rewrite_history(
        register,
        "UPDATE recordings SET state = 'confirmed' WHERE stem = ?1",
        [stem],
    );
}

fn assert_wipe_finished(config: &Config, image: &Path, spec: &CameraSpec, report: &IngestReport) {
    assert_eq!(report.exit_code(), 0, "{}", report.summary());
    let r = &report.recordings[0];
    assert_eq!(r.status, Status::AlreadyStored, "{r:#?}");
    assert!(r.wiped);
    assert!(
        r.flags.iter().any(|f| f.starts_with("wipe-resumed:")),
        "{:?}",
        r.flags
    );
    let left = list_fat_image(image, Layout::Superfloppy);
    assert!(!left.iter().any(|f| f.contains("SNTL")), "{left:?}");
    let rows: i64 = Connection::open(&config.register.path)
        .unwrap()
        .query_row("SELECT count(*) FROM recordings", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows as usize, spec.recordings.len(), "no second row");
}

#[test]
fn a_wipe_cut_off_between_video_and_sidecar_is_finished_by_the_next_docking() {
    let (_dir, config, image, spec) = camera_before_the_wipes_commit();
    // The video was removed; the kill came before its sidecar was.
    let out = Command::new(tool_path("mdel").unwrap())
        .env("MTOOLS_SKIP_CHECK", "1")
        .env("MTOOLSRC", "/dev/null")
        .arg("-i")
        .arg(&image)
        .arg(format!("::/{}", spec.recordings[0].video_path()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = crate::common::ingest_once(&config, &image, &Options::default()).unwrap();
    assert_wipe_finished(&config, &image, &spec, &report);
}

#[test]
fn a_wipe_cut_off_while_freeing_a_videos_clusters_is_finished_by_the_next_docking() {
    let (_dir, config, image, spec) = camera_before_the_wipes_commit();
    // fatfs frees a chain from its start before it marks the entry deleted: the kill came
    // after the first clusters were freed.
    let fat = fat_edit::FatImage::open(&image);
    let entry = fat.find(&spec.recordings[0].video_path());
    let chain = fat.chain(entry.first_cluster, 10_000);
    for &c in &chain[..chain.len() / 2] {
        fat.set_fat(c, 0);
    }
    drop(fat);
    let report = crate::common::ingest_once(&config, &image, &Options::default()).unwrap();
    assert_wipe_finished(&config, &image, &spec, &report);
    let flag = report.recordings[0].flags.join(" ");
    assert!(flag.contains("cluster chain ends"), "{flag}");
}

/// Issue 21: the FATs disagreeing is damage, except where the first FAT marks free what
/// the copy still uses, which is what a wipe killed between its writes to the two copies
/// leaves (the first FAT is written first): that camera is still finished, not quarantined.
#[test]
fn a_wipe_cut_off_between_the_two_fat_copies_is_finished_by_the_next_docking() {
    let (_dir, config, image, spec) = camera_before_the_wipes_commit();
    let fat = fat_edit::FatImage::open(&image);
    let entry = fat.find(&spec.recordings[0].video_path());
    let chain = fat.chain(entry.first_cluster, 10_000);
    for &c in &chain[..chain.len() / 2] {
        fat.set_fat_in_copy(0, c, 0);
    }
    drop(fat);
    let report = crate::common::ingest_once(&config, &image, &Options::default()).unwrap();
    assert!(report.damage.is_empty(), "{:?}", report.damage);
    assert_wipe_finished(&config, &image, &spec, &report);
}

#[test]
fn an_unreadable_video_without_a_matching_confirmed_row_stays_a_failure() {
    let (_dir, config, image, spec) = camera_before_the_wipes_commit();
    // Same damage, but the register never confirmed this sidecar: nothing may be wiped.
    Connection::open(&config.register.path)
        .unwrap()
        .execute(
            "UPDATE recordings SET sidecar_sha256 = ?2 WHERE stem = ?1",
            [spec.recordings[0].stem.as_str(), &"0".repeat(64)],
        )
        .unwrap();
    let fat = fat_edit::FatImage::open(&image);
    let entry = fat.find(&spec.recordings[0].video_path());
    fat.set_fat(entry.first_cluster, 0);
    drop(fat);
    let report = crate::common::ingest_once(&config, &image, &Options::default()).unwrap();
    let r = &report.recordings[0];
    assert_eq!(r.status, Status::Failed, "{r:#?}");
    assert!(!r.wiped);
    assert!(list_fat_image(&image, Layout::Superfloppy).contains(&spec.recordings[0].video_path()));
}

#[test]
fn a_wipe_whose_commit_was_cut_off_is_recorded_at_the_next_docking() {
    let dir = tempfile::tempdir().unwrap();
    let text = "[store]\npath = \"store\"\nreserve = 0\n[register]\npath = \"register.sqlite\"\n";
    let config = Config::from_toml(text, dir.path()).unwrap();
    let spec = CameraSpec::fixture(SERIAL);
    let image = build_fat_image(&spec, dir.path(), Layout::Superfloppy);
    assert_eq!(
        crate::common::ingest_once(&config, &image, &Options::default())
            .unwrap()
            .exit_code(),
        0
    );
    // The camera was wiped, but the kill came before the commit saying so.
    let stem = &spec.recordings[0].stem;
    back_to_confirmed(&config.register.path, stem);
    let conn = Connection::open(&config.register.path).unwrap();
    // A camera in doubt proves nothing about what it no longer holds.
    let doubtful = Options {
        usb_serial: Some("SNTL-00042".into()),
        ..Options::default()
    };
    let mut spec_other_ini = CameraSpec::new(SERIAL);
    spec_other_ini.device_ini = Some(device_ini("SNTL-00099", FIRMWARE));
    let other = build_dir(&spec_other_ini, dir.path());
    crate::common::ingest_once(&config, &other, &doubtful).unwrap();
    let state = |conn: &Connection| -> String {
        conn.query_row(
            "SELECT state FROM recordings WHERE stem = ?1",
            [stem],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert_eq!(state(&conn), "confirmed");

    let report = crate::common::ingest_once(&config, &image, &Options::default()).unwrap();
    assert_eq!(report.exit_code(), 0, "{}", report.summary());
    assert_eq!(state(&conn), "wiped");
    let detail: String = conn
        .query_row(
            "SELECT detail FROM recording_events ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        detail.contains("the wipe's commit had been cut off"),
        "{detail}"
    );
}
