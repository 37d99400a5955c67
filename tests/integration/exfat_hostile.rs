//! Hostile exFAT volumes, without root: empty volumes made by `mkfs.exfat`, then damaged
//! by hand where a camera (or an attacker) could. Each is refused or reported as damage,
//! within the deadline, and never panics.
#![allow(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fail the test by panicking, like the tests"
)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::*;
use sentinel_dock::base::config::Profile;
use sentinel_dock::camera::volume::{self, Access, VolumeError};

fn empty_volume(dir: &Path) -> PathBuf {
    require_tool("mkfs.exfat");
    let image = dir.join("empty.exfat.img");
    fs::File::create(&image).unwrap().set_len(8 << 20).unwrap();
    let out = Command::new(tool_path("mkfs.exfat").unwrap())
        .args(["-c", "4K", "-L", "SENTINEL"])
        .arg(&image)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    image
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes(b[i..i + 4].try_into().unwrap())
}

/// Opens and scans within 5 s, returning the error or the damage codes.
fn outcome(image: &Path) -> Result<Vec<&'static str>, VolumeError> {
    let profile = Profile {
        scan_deadline_secs: 2,
        ..Profile::default()
    };
    let started = Instant::now();
    let result = volume::open(image, &profile, Access::ReadOnly).and_then(|mut v| {
        let scan = v.scan()?;
        Ok(scan.damage.iter().map(|d| d.code).collect())
    });
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    result
}

#[test]
fn an_empty_mkfs_exfat_volume_opens_clean_with_its_label() {
    let dir = tempfile::tempdir().unwrap();
    let image = empty_volume(dir.path());
    let mut v = volume::open(&image, &Profile::default(), Access::ReadOnly).unwrap();
    assert_eq!(v.info().label.as_deref(), Some("SENTINEL"));
    let scan = v.scan().unwrap();
    assert!(scan.damage.is_empty() && scan.files.is_empty(), "{scan:?}");
}

#[test]
fn a_root_directory_chain_that_loops_is_refused_in_time() {
    let dir = tempfile::tempdir().unwrap();
    let image = empty_volume(dir.path());
    let mut b = fs::read(&image).unwrap();
    let shift = u32::from(b[108]);
    let fat = (u32_at(&b, 80) << shift) as usize;
    let root = u32_at(&b, 96);
    let at = fat + 4 * root as usize;
    b[at..at + 4].copy_from_slice(&root.to_le_bytes());
    fs::write(&image, &b).unwrap();
    let err = outcome(&image).unwrap_err();
    assert!(matches!(err, VolumeError::ExfatCorrupt { .. }), "{err}");
    assert!(err.to_string().contains("chain-loop"), "{err}");
    assert!(err.to_string().contains("fsck.exfat -n"), "{err}");
}

#[test]
fn a_damaged_main_boot_region_is_read_through_the_backup_as_damage() {
    let dir = tempfile::tempdir().unwrap();
    let image = empty_volume(dir.path());
    let mut b = fs::read(&image).unwrap();
    b[100] ^= 0xFF; // the serial number: only the boot checksum can tell
    fs::write(&image, &b).unwrap();
    assert_eq!(outcome(&image).unwrap(), vec!["boot-checksum"]);
    let sector = 1usize << b[108];
    b[12 * sector + 100] ^= 0xFF; // and the backup's too
    fs::write(&image, &b).unwrap();
    let err = outcome(&image).unwrap_err();
    assert!(err.to_string().contains("boot checksum"), "{err}");
}

#[test]
fn a_cluster_heap_past_the_device_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let image = empty_volume(dir.path());
    let b = fs::read(&image).unwrap();
    fs::write(&image, &b[..b.len() / 2]).unwrap();
    let err = outcome(&image).unwrap_err();
    assert!(matches!(err, VolumeError::ExfatCorrupt { .. }), "{err}");
    assert!(!err.to_string().contains("reformat"), "{err}");
}

#[test]
fn leaked_clusters_that_no_deleted_set_explains_are_damage() {
    let dir = tempfile::tempdir().unwrap();
    let image = empty_volume(dir.path());
    let mut b = fs::read(&image).unwrap();
    let shift = u32::from(b[108]);
    let cluster_shift = shift + u32::from(b[109]);
    let heap = (u32_at(&b, 88) << shift) as usize;
    let root = heap + ((u32_at(&b, 96) as usize - 2) << cluster_shift);
    let entry = (0..16)
        .map(|i| root + 32 * i)
        .find(|&e| b[e] == 0x81)
        .unwrap();
    let bitmap = heap + ((u32_at(&b, entry + 20) as usize - 2) << cluster_shift);
    b[bitmap + 100] = 0xFF; // eight clusters allocated, owned by nothing
    fs::write(&image, &b).unwrap();
    assert_eq!(outcome(&image).unwrap(), vec!["bitmap-mismatch"]);
}

#[test]
fn an_exfat_volume_in_the_first_mbr_partition_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let volume_bytes = fs::read(empty_volume(dir.path())).unwrap();
    let offset = PARTITION_OFFSET as usize;
    let mut disk = vec![0u8; offset];
    disk[446 + 4] = 0x07;
    disk[446 + 8..446 + 12].copy_from_slice(&((offset / 512) as u32).to_le_bytes());
    disk[446 + 12..446 + 16].copy_from_slice(&((volume_bytes.len() / 512) as u32).to_le_bytes());
    disk[510..512].copy_from_slice(&[0x55, 0xAA]);
    disk.extend_from_slice(&volume_bytes);
    let image = dir.path().join("disk.img");
    fs::write(&image, &disk).unwrap();
    let v = volume::open(&image, &Profile::default(), Access::ReadOnly).unwrap();
    assert_eq!(
        v.info().kind,
        sentinel_dock::camera::volume::VolumeKind::Exfat {
            partition_offset: PARTITION_OFFSET
        }
    );
    assert_eq!(outcome(&image).unwrap(), Vec::<&str>::new());
}

/// Clusters of 32 MiB (the largest exFAT allows): the root directory is one cluster, larger
/// than a small profile's directory cap, and is still read, not refused as too large.
#[test]
fn a_volume_with_32_mib_clusters_opens_under_a_small_directory_cap() {
    require_tool("mkfs.exfat");
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("big-clusters.img");
    fs::File::create(&image).unwrap().set_len(1 << 30).unwrap();
    let out = Command::new(tool_path("mkfs.exfat").unwrap())
        .args(["-c", "32M"])
        .arg(&image)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let profile = Profile {
        max_dir_entries: 512,
        ..Profile::default()
    };
    let mut v = volume::open(&image, &profile, Access::ReadOnly).unwrap();
    let scan = v.scan().unwrap();
    assert!(scan.damage.is_empty(), "{:?}", scan.damage);
}
