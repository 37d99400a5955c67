//! A camera whose FAT volume is damaged (files cross-linked, a folder chain that loops, a
//! chain too short for its file) is read whole and stored in quarantine, and nothing on it
//! is wiped: what stays on the camera stays as it was, for a person to decide. Each case is
//! a volume made by mkfs.vfat and mtools, edited by hand, given to the real
//! `sentinel-dockd ingest --json`.
#![allow(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fail the test by panicking, like the tests"
)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::fat_edit::FatImage;
use crate::common::*;
use sentinel_dock::base::config::{Profile, WipeMode};
use sentinel_dock::camera::volume::{self, Access, VolumeError, VolumePath};
use serde_json::Value;

/// What one run of `sentinel-dockd ingest --json` did.
struct Run {
    code: Option<i32>,
    json: Value,
    stderr: String,
}

impl Run {
    fn recording(&self, stem: &str) -> &Value {
        self.json["recordings"]
            .as_array()
            .and_then(|a| a.iter().find(|r| r["stem"] == stem))
            .unwrap_or_else(|| panic!("{stem} not reported: {}", self.json))
    }

    fn codes(&self, stem: &str) -> Vec<String> {
        self.recording(stem)["reasons"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|r| r["code"].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn damage(&self) -> String {
        self.json["damage"].to_string()
    }
}

fn ingest(dir: &Path, image: &Path, mode: &str) -> Run {
    let config = dir.join("sentinel-dock.toml");
    fs::write(
        &config,
        format!(
            "[store]\npath = \"store\"\nreserve = 0\n[register]\npath = \"register.sqlite\"\n[wipe]\nmode = \"{mode}\"\n"
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sentinel-dockd"))
        .arg("--config")
        .arg(&config)
        .args(["ingest", "--json"])
        .arg(image)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    Run {
        code: out.status.code(),
        json: serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn image_of(spec: &CameraSpec, dir: &Path) -> PathBuf {
    build_fat_image_with(
        spec,
        dir,
        Layout::Superfloppy,
        &ImageOptions {
            fat_bits: Some(16),
            size_mib: None,
        },
    )
}

/// What `fsck.vfat -n` (read-only check) says about the image, without its timing line.
fn fsck(image: &Path) -> String {
    require_tool("fsck.vfat");
    let out = Command::new(tool_path("fsck.vfat").unwrap())
        .arg("-n")
        .arg(image)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Asserts every recording is stored in quarantine with `volume-damaged`, none wiped.
fn assert_all_kept_in_quarantine(run: &Run, spec: &CameraSpec) {
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    for r in &spec.recordings {
        let rec = run.recording(&r.stem);
        assert_eq!(rec["status"], "quarantined", "{}", run.json);
        assert_eq!(rec["wiped"], false, "{} was wiped", r.stem);
        assert!(
            run.codes(&r.stem).iter().any(|c| c == "volume-damaged"),
            "{:?}",
            run.codes(&r.stem)
        );
        let stored = rec["stored_path"].as_str().unwrap_or("");
        assert!(stored.contains("/quarantine/"), "{stored}");
        assert!(Path::new(stored).is_file(), "{stored} not stored");
    }
    let warnings = run.json["warnings"].to_string();
    assert!(
        warnings.contains("damaged") && warnings.contains("nothing was wiped"),
        "{warnings}"
    );
}

/// r1's video is cross-linked onto r0's chain. Before the fix r0 was confirmed and wiped,
/// which freed (delete) or zeroed (overwrite) the clusters r1 still points at.
fn cross_linked_files_keep_both_on_the_camera(mode: &str) {
    let dir = tempfile::tempdir().unwrap();
    let spec = CameraSpec::fixture(SERIAL);
    let image = image_of(&spec, dir.path());
    let (r0, r1) = (&spec.recordings[0], &spec.recordings[1]);
    let fat = FatImage::open(&image);
    let e0 = fat.find(&r0.video_path());
    fat.set_first_cluster(&fat.find(&r1.video_path()), e0.first_cluster);
    drop(fat);
    let second_before = read_fat_file(&image, Layout::Superfloppy, &r1.video_path()).unwrap();
    let fsck_before = fsck(&image);
    let bytes_before = fs::read(&image).unwrap();

    let run = ingest(dir.path(), &image, mode);
    assert_all_kept_in_quarantine(&run, &spec);
    let damage = run.damage();
    assert!(
        damage.contains("cross-linked")
            && damage.contains(&r0.video_path())
            && damage.contains(&r1.video_path())
            && damage.contains(&e0.first_cluster.to_string()),
        "{damage}"
    );
    let r1_reasons = run.recording(&r1.stem)["reasons"].to_string();
    assert!(r1_reasons.contains(&r1.video_path()), "{r1_reasons}");

    let second_after = read_fat_file(&image, Layout::Superfloppy, &r1.video_path()).unwrap();
    assert!(
        second_after == second_before,
        "the second file no longer reads back byte for byte"
    );
    assert!(
        read_fat_file(&image, Layout::Superfloppy, &r0.video_path()).as_deref()
            == Some(&r0.video[..]),
        "the first file was touched"
    );
    assert_eq!(fsck(&image), fsck_before, "fsck.vfat sees new damage");
    assert!(
        fs::read(&image).unwrap() == bytes_before,
        "the camera is only read"
    );
}

#[test]
fn cross_linked_files_are_both_kept_on_the_camera_in_delete_mode() {
    cross_linked_files_keep_both_on_the_camera("delete");
}

#[test]
fn cross_linked_files_are_both_kept_on_the_camera_in_overwrite_mode() {
    cross_linked_files_keep_both_on_the_camera("overwrite");
}

#[test]
fn a_day_folder_whose_chain_loops_after_its_last_entry_is_found_damaged_and_not_wiped() {
    let dir = tempfile::tempdir().unwrap();
    let spec = CameraSpec::fixture(SERIAL);
    let image = image_of(&spec, dir.path());
    let day = format!("DCIM/{}", spec.recordings[0].day());
    let fat = FatImage::open(&image);
    let chain = fat.chain(fat.find(&day).first_cluster, 1000);
    // The folder's entries end with their end mark, so a lister stops in time; its chain
    // comes back to its first cluster, which freeing a file of it may then corrupt.
    fat.set_fat(*chain.last().unwrap(), chain[0]);
    drop(fat);
    let before = fs::read(&image).unwrap();
    let run = ingest(dir.path(), &image, "delete");
    let in_day: Vec<&Recording> = spec
        .recordings
        .iter()
        .filter(|r| r.video_path().starts_with(&day))
        .collect();
    assert!(!in_day.is_empty());
    assert_all_kept_in_quarantine(&run, &spec);
    let damage = run.damage();
    assert!(
        damage.contains("chain-loop") && damage.contains(&day),
        "{damage}"
    );
    assert!(
        fs::read(&image).unwrap() == before,
        "the camera is only read"
    );
}

#[test]
fn a_chain_too_short_for_its_file_size_is_found_damaged_and_nothing_is_wiped() {
    let dir = tempfile::tempdir().unwrap();
    let spec = CameraSpec::fixture(SERIAL);
    let image = image_of(&spec, dir.path());
    let r0 = &spec.recordings[0];
    let fat = FatImage::open(&image);
    let e0 = fat.find(&r0.video_path());
    let chain = fat.chain(e0.first_cluster, 100_000);
    assert!(chain.len() > 2);
    fat.set_fat(chain[chain.len() - 2], 0xFFFF); // ends one cluster early
    drop(fat);
    let before = fs::read(&image).unwrap();
    let run = ingest(dir.path(), &image, "delete");
    // The short video cannot be read whole: it fails and stays; every other is quarantined.
    assert_eq!(run.recording(&r0.stem)["status"], "failed", "{}", run.json);
    for r in &spec.recordings[1..] {
        assert_eq!(run.recording(&r.stem)["status"], "quarantined");
        assert!(run.codes(&r.stem).iter().any(|c| c == "volume-damaged"));
        assert_eq!(run.recording(&r.stem)["wiped"], false);
    }
    let damage = run.damage();
    assert!(
        damage.contains("chain-too-short") && damage.contains(&r0.video_path()),
        "{damage}"
    );
    assert!(
        fs::read(&image).unwrap() == before,
        "the camera is only read"
    );
}

#[test]
fn the_wipe_step_refuses_a_damaged_volume_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let spec = CameraSpec::fixture(SERIAL);
    let image = image_of(&spec, dir.path());
    let (r0, r1) = (&spec.recordings[0], &spec.recordings[1]);
    let fat = FatImage::open(&image);
    let e0 = fat.find(&r0.video_path());
    fat.set_first_cluster(&fat.find(&r1.video_path()), e0.first_cluster);
    drop(fat);
    let before = fs::read(&image).unwrap();
    let profile = Profile::default();
    let path = VolumePath::new(&r0.video_path().split('/').collect::<Vec<_>>());
    for mode in [WipeMode::Delete, WipeMode::Overwrite] {
        // Not scanned first: the volume maps itself before its first wipe.
        let mut v = volume::open(&image, &profile, Access::ReadWrite).unwrap();
        match v.wipe(&path, mode) {
            Err(VolumeError::Damaged { damage, .. }) => {
                assert!(damage.contains("cross-linked"), "{damage}")
            }
            other => panic!("a damaged volume was wiped: {other:?}"),
        }
        v.close().unwrap();
    }
    assert!(fs::read(&image).unwrap() == before, "nothing was written");
}

/// Issue 21: the two FATs disagreeing on a cluster the first marks in use is damage, as a
/// cross-link is: which copy is right cannot be known. Before, only the first was read.
#[test]
fn fat_copies_that_disagree_are_found_damaged_and_nothing_is_wiped() {
    for second in ["another cluster", "free"] {
        let dir = tempfile::tempdir().unwrap();
        let spec = CameraSpec::fixture(SERIAL);
        let image = image_of(&spec, dir.path());
        let fat = FatImage::open(&image);
        let first = fat.find(&spec.recordings[1].video_path()).first_cluster;
        let next = fat.fat(first);
        let value = if second == "free" { 0 } else { next + 7 };
        fat.set_fat_in_copy(1, first, value);
        drop(fat);
        let before = fs::read(&image).unwrap();
        let run = ingest(dir.path(), &image, "delete");
        assert_all_kept_in_quarantine(&run, &spec);
        let damage = run.damage();
        assert!(
            damage.contains("fat-copies-differ") && damage.contains(&first.to_string()),
            "{second}: {damage}"
        );
        assert!(
            fs::read(&image).unwrap() == before,
            "the camera is only read"
        );
    }
}

/// Issue 21: FAT[0] must repeat the boot sector's media byte (then all ones); one that
/// does not is not a table this volume's formatter wrote.
#[test]
fn a_fat_whose_first_entry_does_not_hold_the_media_byte_is_found_damaged() {
    let dir = tempfile::tempdir().unwrap();
    let spec = CameraSpec::fixture(SERIAL);
    let image = image_of(&spec, dir.path());
    let fat = FatImage::open(&image);
    assert_eq!(
        fat.fat(0),
        0xFFF8,
        "fixture: mkfs.vfat's FAT[0] for media 0xF8"
    );
    fat.set_fat(0, 0xFFF0); // both copies agree, on the wrong media byte
    drop(fat);
    let before = fs::read(&image).unwrap();
    let run = ingest(dir.path(), &image, "delete");
    assert_all_kept_in_quarantine(&run, &spec);
    let damage = run.damage();
    assert!(
        damage.contains("fat-reserved-entry") && damage.contains("FAT[0]"),
        "{damage}"
    );
    assert!(
        fs::read(&image).unwrap() == before,
        "the camera is only read"
    );
}

/// FAT[1]'s clean-shutdown and no-error bits (FAT16) may be cleared by a camera that was
/// switched off mid-write: that alone is no damage, and the camera is collected as usual.
#[test]
fn fat1_with_its_flag_bits_cleared_is_no_damage() {
    let dir = tempfile::tempdir().unwrap();
    let spec = CameraSpec::fixture(SERIAL);
    let image = image_of(&spec, dir.path());
    let fat = FatImage::open(&image);
    fat.set_fat(1, 0x3FFF);
    drop(fat);
    let run = ingest(dir.path(), &image, "delete");
    assert_eq!(run.code, Some(0), "{} {}", run.json, run.stderr);
    assert_eq!(run.damage(), "[]");
}
