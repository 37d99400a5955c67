//! A camera behind a real block device: a loop device over a FAT image made by mkfs.vfat
//! and mtools. Needs root (`#[ignore = "needs root"]`, run as root by `scripts/test`).
#![allow(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fail the test by panicking, like the tests"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;
use sentinel_dock::app::ingest::{Options, Status};
use sentinel_dock::base::config::Config;

/// A loop device attached to an image, detached when dropped.
struct Loop(PathBuf);

impl Loop {
    fn attach(image: &Path) -> Loop {
        require_tool("losetup");
        let out = Command::new("losetup")
            .args(["-f", "--show"])
            .arg(image)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "losetup refused (this test needs root): {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        Loop(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = Command::new("losetup").arg("-d").arg(&self.0).status();
    }
}

#[test]
#[ignore = "needs root"]
fn a_camera_on_a_block_device_is_ingested_and_wiped() {
    for layout in [Layout::Superfloppy, Layout::Partitioned] {
        let dir = tempfile::tempdir().unwrap();
        let text =
            "[store]\npath = \"store\"\nreserve = 0\n[register]\npath = \"register.sqlite\"\n";
        let config = Config::from_toml(text, dir.path()).unwrap();
        let spec = CameraSpec::fixture(SERIAL);
        let image = build_fat_image(&spec, dir.path(), layout);
        let report = {
            let device = Loop::attach(&image);
            let meta = std::fs::metadata(&device.0).unwrap();
            assert!(std::os::unix::fs::FileTypeExt::is_block_device(
                &meta.file_type()
            ));
            crate::common::ingest_once(&config, &device.0, &Options::default()).unwrap()
        };
        assert_eq!(report.exit_code(), 0, "{}", report.summary());
        assert_eq!(report.recordings.len(), spec.recordings.len());
        assert!(
            report
                .recordings
                .iter()
                .all(|r| r.status == Status::Confirmed && r.wiped)
        );
        let left = list_fat_image(&image, layout);
        assert!(!left.iter().any(|f| f.contains("SNTL")), "{left:?}");
        assert!(left.iter().any(|f| f.starts_with("LOG/")), "{left:?}");
    }
}
