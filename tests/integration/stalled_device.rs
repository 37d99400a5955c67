//! A camera whose device stops answering in the middle of a recording: the real daemon
//! gives up on it after `ingest.read_timeout`, shows its slot "not responding",
//! answers `status` all along, wipes nothing, and still stops on SIGTERM although the
//! stuck read never returns. The camera is a FUSE file (tests/faulty_device) that never
//! answers reads of one page, docked as a disk image: a FAT volume (mkfs.vfat, mtools),
//! or an exFAT one (mkfs.exfat, exfat-fuse) stalled in a recording or at its boot sector,
//! beside a healthy camera that is ingested and wiped meanwhile.
#![allow(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fail the test by panicking, like the tests"
)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::daemon::{Daemon, event_mark};
use crate::common::fat_edit::FatImage;
use crate::common::*;
use nix::sys::signal::Signal;
use sentinel_dock::base::events;

/// The FUSE server; killed and unmounted on drop.
struct Fuse {
    child: Child,
    mountpoint: std::path::PathBuf,
}

impl Drop for Fuse {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = Command::new("fusermount")
            .arg("-u")
            .arg(&self.mountpoint)
            .status();
    }
}

fn serve_stalling(image: &Path, mountpoint: &Path, start: u64, len: u64) -> Fuse {
    fs::create_dir_all(mountpoint).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/integration/faulty_device/faulty_device.py");
    let child = Command::new("/usr/bin/python3")
        .arg(script)
        .arg(image)
        .arg(mountpoint)
        .arg("--stall")
        .arg(format!("{start}:{len}"))
        .arg("--cached")
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !mountpoint.join("disk.img").exists() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "FUSE did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Fuse {
        child,
        mountpoint: mountpoint.to_path_buf(),
    }
}

#[test]
#[ignore = "needs root"]
fn a_read_that_never_returns_marks_the_camera_not_responding_and_wipes_nothing() {
    require_tool("fusermount");
    let mut daemon = Daemon::start(&[("ingest", "read_timeout = \"2 s\"")]);
    let spec = CameraSpec::fixture(SERIAL);
    let work = tempfile::tempdir().unwrap();
    let image = build_fat_image_with(
        &spec,
        work.path(),
        Layout::Superfloppy,
        &ImageOptions {
            fat_bits: Some(16),
            size_mib: None,
        },
    );
    // One page in the middle of the second recording's video never answers.
    let fat = FatImage::open(&image);
    let video = fat.find(&spec.recordings[1].video_path());
    let stall = (fat.cluster_offset(video.first_cluster) + 16 * 1024).next_multiple_of(4096);
    drop(fat);
    let before = list_fat_image(&image, Layout::Superfloppy);
    let fuse = serve_stalling(&image, &work.path().join("fuse"), stall, 4096);

    daemon.dock(SERIAL, &fuse.mountpoint.join("disk.img"));
    let waited = Instant::now();
    let cam = daemon.wait_state(SERIAL, "not-responding");
    assert!(
        waited.elapsed() < Duration::from_secs(20),
        "{:?}",
        waited.elapsed()
    );
    assert!(cam["waited_secs"].as_u64().is_some_and(|s| s >= 2), "{cam}");
    daemon.wait_log(&event_mark(events::CAMERA_NOT_RESPONDING));

    // The service answers while the read is still stuck, and says so in words.
    let out = daemon.dockctl(None, &["status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("not responding"), "{text}");
    assert!(daemon.status().is_ok());

    // Nothing was wiped: the camera still holds every file it held.
    assert_eq!(list_fat_image(&image, Layout::Superfloppy), before);
    let wiped = daemon.query("SELECT CAST(COUNT(*) AS TEXT) FROM recordings WHERE state = 'wiped'");
    assert_eq!(wiped, vec!["0".to_string()]);

    daemon.signal(Signal::SIGTERM);
    let (exit, took) = daemon.wait_exit(Duration::from_secs(15));
    assert!(exit.success(), "{exit:?}\n{}", daemon.log());
    assert!(took < Duration::from_secs(15), "{took:?}");
    drop(fuse);
}

/// The fixture camera `serial` on an exFAT volume made by mkfs.exfat, in `dir`.
fn exfat_camera(serial: &str, dir: &Path) -> (CameraSpec, PathBuf) {
    let spec = CameraSpec::fixture(serial);
    let image = build_exfat_image(&spec, dir, &ExfatOptions::default());
    (spec, image)
}

/// The page of `image` holding byte 16 KiB of `video`, found by its bytes.
fn page_inside(image: &Path, video: &[u8]) -> u64 {
    let bytes = fs::read(image).unwrap();
    let needle = &video[16 * 1024..16 * 1024 + 64];
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap();
    (at as u64).next_multiple_of(4096)
}

fn sha256_of(path: &Path) -> String {
    sha256_hex(&fs::read(path).unwrap())
}

/// Docks `image` (served by `fuse`) and a healthy FAT camera of `SERIAL_2`; the stalled
/// one is reported not responding and keeps every byte, the healthy one is ingested and
/// wiped meanwhile, and the daemon still stops on SIGTERM.
fn stalled_beside_a_healthy_camera(image: &Path, fuse: Fuse, work: &Path) {
    let mut daemon = Daemon::start(&[("ingest", "read_timeout = \"2 s\"")]);
    let before = sha256_of(image);
    let healthy = CameraSpec::fixture(SERIAL_2);
    let healthy_image = build_fat_image(&healthy, work, Layout::Superfloppy);

    daemon.dock(SERIAL, &fuse.mountpoint.join("disk.img"));
    daemon.dock(SERIAL_2, &healthy_image);
    let waited = Instant::now();
    let cam = daemon.wait_state(SERIAL, "not-responding");
    assert!(
        waited.elapsed() < Duration::from_secs(20),
        "{:?}",
        waited.elapsed()
    );
    assert!(cam["waited_secs"].as_u64().is_some_and(|s| s >= 2), "{cam}");
    daemon.wait_log(&event_mark(events::CAMERA_NOT_RESPONDING));

    // The other camera goes on: ingested, proven and wiped while the first one hangs.
    daemon.wait_state(SERIAL_2, "safe-to-undock");
    let wiped = daemon.query(&format!(
        "SELECT stem FROM recordings WHERE camera = '{SERIAL_2}' AND state = 'wiped' ORDER BY stem"
    ));
    let expected: Vec<String> = healthy.recordings.iter().map(|r| r.stem.clone()).collect();
    assert_eq!(wiped, expected);
    let out = daemon.dockctl(None, &["status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("not responding"), "{text}");

    // Nothing of the stalled camera was wiped, or written at all.
    let wiped = daemon.query(&format!(
        "SELECT CAST(COUNT(*) AS TEXT) FROM recordings WHERE camera = '{SERIAL}' AND state = 'wiped'"
    ));
    assert_eq!(wiped, vec!["0".to_string()]);
    assert_eq!(sha256_of(image), before);

    daemon.signal(Signal::SIGTERM);
    let (exit, took) = daemon.wait_exit(Duration::from_secs(15));
    assert!(exit.success(), "{exit:?}\n{}", daemon.log());
    assert!(took < Duration::from_secs(15), "{took:?}");
    drop(fuse);
}

#[test]
#[ignore = "needs root"]
fn an_exfat_camera_whose_read_never_returns_is_not_responding_and_the_others_go_on() {
    require_tool("fusermount");
    let work = tempfile::tempdir().unwrap();
    let (spec, image) = exfat_camera(SERIAL, work.path());
    // One page in the middle of the second recording's video never answers.
    let stall = page_inside(&image, &spec.recordings[1].video);
    let fuse = serve_stalling(&image, &work.path().join("fuse"), stall, 4096);
    stalled_beside_a_healthy_camera(&image, fuse, work.path());
}

#[test]
#[ignore = "needs root"]
fn an_exfat_camera_stalled_at_its_boot_sector_is_not_responding() {
    require_tool("fusermount");
    let work = tempfile::tempdir().unwrap();
    let (_, image) = exfat_camera(SERIAL, work.path());
    // The very first read, the boot sector, never answers.
    let fuse = serve_stalling(&image, &work.path().join("fuse"), 0, 4096);
    stalled_beside_a_healthy_camera(&image, fuse, work.path());
}

#[test]
#[ignore = "needs root"]
fn a_fat_camera_stalled_at_its_boot_sector_is_not_responding() {
    require_tool("fusermount");
    let work = tempfile::tempdir().unwrap();
    let spec = CameraSpec::fixture(SERIAL);
    let image = build_fat_image(&spec, work.path(), Layout::Superfloppy);
    // The first read of any camera (is it exFAT?) never answers.
    let fuse = serve_stalling(&image, &work.path().join("fuse"), 0, 4096);
    stalled_beside_a_healthy_camera(&image, fuse, work.path());
}
