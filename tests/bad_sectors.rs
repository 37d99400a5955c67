//! A camera with a few unreadable sectors inside one recording: only that recording fails
//! and stays on the camera, with its unreadable clusters named; its neighbours, whose
//! bytes sit in the same read-ahead window, are confirmed and wiped. The device is a FUSE
//! file (tests/faulty_device/faulty_device.py) that fails chosen byte ranges with EIO,
//! behind a loop device, so the real `sentinel-dockd ingest` reads a real block device.
#![allow(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fail the test by panicking, like the tests"
)]

mod common;
#[path = "hostile/fat_edit.rs"]
#[allow(dead_code)]
mod fat_edit;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use fat_edit::FatImage;
use serde_json::Value;

const PAGE: u64 = 4096;

/// A FUSE-served image behind a loop device; torn down on drop.
struct FaultyDevice {
    fuse: Child,
    mountpoint: PathBuf,
    loop_device: String,
}

impl FaultyDevice {
    fn start(image: &Path, dir: &Path, faults: &[(&str, u64, u64)]) -> FaultyDevice {
        let mountpoint = dir.join("fuse");
        fs::create_dir_all(&mountpoint).unwrap();
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/faulty_device/faulty_device.py");
        let mut cmd = Command::new("/usr/bin/python3");
        cmd.arg(script).arg(image).arg(&mountpoint);
        for (kind, start, len) in faults {
            cmd.arg(format!("--{kind}")).arg(format!("{start}:{len}"));
        }
        let fuse = cmd.stdin(Stdio::null()).spawn().unwrap();
        let file = mountpoint.join("disk.img");
        let started = Instant::now();
        while !file.exists() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "FUSE did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let out = Command::new("losetup")
            .args(["-f", "--show"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "losetup: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let loop_device = String::from_utf8(out.stdout).unwrap().trim().to_string();
        FaultyDevice {
            fuse,
            mountpoint,
            loop_device,
        }
    }
}

impl Drop for FaultyDevice {
    fn drop(&mut self) {
        let _ = Command::new("losetup")
            .args(["-d", &self.loop_device])
            .status();
        let _ = Command::new("fusermount")
            .arg("-u")
            .arg(&self.mountpoint)
            .status();
        let _ = self.fuse.kill();
        let _ = self.fuse.wait();
    }
}

fn ingest(dir: &Path, source: &str) -> (Option<i32>, Value, String) {
    let config = dir.join("sentinel-dock.toml");
    fs::write(
        &config,
        "[store]\npath = \"store\"\nreserve = 0\n[register]\npath = \"register.sqlite\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sentinel-dockd"))
        .arg("--config")
        .arg(&config)
        .args(["ingest", "--json", source])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code(),
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
#[ignore = "needs root"]
fn bad_sectors_inside_one_recording_fail_only_that_recording() {
    require_tool("losetup");
    require_tool("fusermount");
    let dir = tempfile::tempdir().unwrap();
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
    let (r0, r1) = (&spec.recordings[0], &spec.recordings[1]);
    let fat = FatImage::open(&image);
    let sidecar0 = fat.find(&r0.sidecar_path());
    let video1 = fat.find(&r1.video_path());
    let chain = fat.chain(video1.first_cluster, 100_000);
    let cluster = fat.cluster_size();
    // The written files are contiguous: r0's sidecar, then r1's video right after it.
    let contiguous = chain.windows(2).all(|w| w[1] == w[0] + 1);
    assert!(contiguous, "fixture: r1's video is not contiguous");
    let video_start = fat.cluster_offset(video1.first_cluster);
    let video_end = video_start + chain.len() as u64 * cluster;
    // One page of r1's video, 8 KiB in: within the 64 KiB window a read of r0's sidecar
    // (just before it) asks the device for, far from r1's end.
    let bad = (video_start + 2 * PAGE).next_multiple_of(PAGE);
    assert!(bad + PAGE <= video_end);
    let sidecar_at = fat.cluster_offset(sidecar0.first_cluster);
    assert!(
        bad - sidecar_at < 64 * 1024,
        "fixture: r0's sidecar is too far"
    );
    let bad_first = (bad - fat.cluster_offset(2)) / cluster + 2;
    eprintln!(
        "bad page at {bad}, cluster size {cluster}, first bad cluster {bad_first}, video from cluster {}",
        video1.first_cluster
    );
    drop(fat);

    let device = FaultyDevice::start(&image, dir.path(), &[("bad", bad, PAGE)]);
    let (code, json, stderr) = ingest(dir.path(), &device.loop_device);
    drop(device);
    let rec = |stem: &str| -> Value {
        json["recordings"]
            .as_array()
            .and_then(|a| a.iter().find(|r| r["stem"] == stem).cloned())
            .unwrap_or_else(|| panic!("{stem} not reported: {json} {stderr}"))
    };
    assert_eq!(code, Some(3), "{stderr}");
    let damaged = rec(&r1.stem);
    assert_eq!(damaged["status"], "failed", "{damaged}");
    assert_eq!(damaged["wiped"], false);
    let why = damaged["reasons"].to_string();
    assert!(
        why.contains("bad sectors") && why.contains(&format!("cluster {bad_first}")),
        "{why}"
    );
    for r in spec.recordings.iter().filter(|r| r.stem != r1.stem) {
        let n = rec(&r.stem);
        assert_eq!(n["status"], "confirmed", "{n} {stderr}");
        assert_eq!(n["wiped"], true, "{n}");
    }
    let left = list_fat_image(&image, Layout::Superfloppy);
    assert!(left.contains(&r1.video_path()), "{left:?}");
    assert!(!left.contains(&r0.video_path()), "{left:?}");
}
