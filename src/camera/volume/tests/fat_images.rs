//! Honest FAT volumes: superfloppy and partitioned, FAT12/16/32, made by mkfs.vfat and
//! mtools or by fatfs; scanning, reading, read-only enforcement and both wipe modes.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::*;
use crate::base::config::WipeMode;
use crate::camera::volume::{FatType, Scan, VolumeError, VolumeKind};

fn check_camera_scan(scan: &Scan) {
    assert_eq!(scan.label.as_deref(), Some("SENTINEL"));
    assert_eq!(scan.device_ini.as_deref(), Some(INI));
    let mut files: Vec<(String, u64)> = scan
        .files
        .iter()
        .map(|f| (f.path.to_string(), f.size))
        .collect();
    files.sort();
    assert_eq!(
        files,
        vec![
            (format!("DCIM/20180312/{MP4_1}"), SIZES[0] as u64),
            (format!("DCIM/20180312/{NMEA_1}"), SIZES[1] as u64),
            (format!("DCIM/20180313/{MP4_2}"), SIZES[2] as u64),
        ]
    );
    let f = scan.files.iter().find(|f| f.name == MP4_2).expect("MP4_2");
    assert_eq!(f.day_dir, "20180313");
    let mut ignored: Vec<&str> = scan.ignored.iter().map(|i| i.path.as_str()).collect();
    ignored.sort();
    assert_eq!(ignored, vec!["DCIM/20180312/NESTED", "DCIM/STRAY.TXT"]);
    assert!(scan.ignored.iter().all(|i| !i.reason.is_empty()));
}

fn check_reads(volume: &mut dyn Volume) {
    let path = vpath(&format!("DCIM/20180313/{MP4_2}"));
    let mut reader = volume.open_file(&path).expect("open_file");
    let mut got = Vec::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = reader.read(&mut buf).expect("read");
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    drop(reader);
    assert!(got == pattern(3, SIZES[2]), "streamed bytes differ");
    let small = volume
        .read_small(&vpath(&format!("DCIM/20180312/{NMEA_1}")), 4096)
        .expect("read_small");
    assert_eq!(small, pattern(2, SIZES[1]));
    let err = volume.read_small(&path, 4096).unwrap_err();
    assert!(matches!(err, VolumeError::TooLarge { .. }), "{err}");
    let err = volume
        .open_file(&vpath("DCIM/20180313/NOPE.MP4"))
        .err()
        .expect("missing");
    assert!(matches!(err, VolumeError::NotFound { .. }), "{err}");
    let err = volume
        .open_file(&vpath("DCIM/../DEVICE.INI"))
        .err()
        .expect("dotdot");
    assert!(matches!(err, VolumeError::InvalidPath { .. }), "{err}");
}

fn scan_and_read(img: &Path, fat_type: FatType, offset: u64) {
    let mut volume = open(img, Access::ReadOnly);
    assert_eq!(
        volume.info().kind,
        VolumeKind::Fat {
            fat_type,
            partition_offset: offset
        }
    );
    assert_eq!(volume.info().label.as_deref(), Some("SENTINEL"));
    check_camera_scan(&volume.scan().expect("scan"));
    check_reads(volume.as_mut());
    volume.close().expect("close");
}

#[test]
fn superfloppy_fat32_is_scanned_and_read() {
    require_tools!();
    let (_t, dir) = tempdir();
    let img = dir.join("cam.img");
    camera(&img, 40 * 1024, 32, Some(1));
    scan_and_read(&img, FatType::Fat32, 0);
}

#[test]
fn superfloppy_fat16_is_scanned_and_read() {
    require_tools!();
    let (_t, dir) = tempdir();
    let img = dir.join("cam.img");
    camera(&img, 16 * 1024, 16, None);
    scan_and_read(&img, FatType::Fat16, 0);
}

#[test]
fn superfloppy_fat12_is_scanned_and_read() {
    require_tools!();
    let (_t, dir) = tempdir();
    let img = dir.join("cam.img");
    camera(&img, 4 * 1024, 12, None);
    scan_and_read(&img, FatType::Fat12, 0);
}

#[test]
fn first_mbr_partition_is_scanned_and_read() {
    require_tools!();
    let (_t, dir) = tempdir();
    let (part, disk) = (dir.join("part.img"), dir.join("disk.img"));
    camera(&part, 40 * 1024, 32, Some(1));
    with_mbr(&part, &disk, 2048, 0x0C);
    scan_and_read(&disk, FatType::Fat32, 2048 * 512);
    let (part16, disk16) = (dir.join("part16.img"), dir.join("disk16.img"));
    camera(&part16, 16 * 1024, 16, None);
    with_mbr(&part16, &disk16, 63, 0x06);
    scan_and_read(&disk16, FatType::Fat16, 63 * 512);
}

#[test]
fn volume_made_by_fatfs_is_scanned() {
    let (_t, dir) = tempdir();
    let img = dir.join("fatfs.img");
    let mut file = std::fs::File::options()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&img)
        .expect("create");
    file.set_len(64 << 20).expect("size");
    let options = fatfs::FormatVolumeOptions::new()
        .volume_label(*b"SENTINEL   ")
        .fat_type(fatfs::FatType::Fat32)
        .bytes_per_cluster(512);
    fatfs::format_volume(&mut file, options).expect("format");
    {
        let fs = fatfs::FileSystem::new(&mut file, fatfs::FsOptions::new()).expect("mount");
        let root = fs.root_dir();
        root.create_dir("DCIM").expect("DCIM");
        let day = root.create_dir("DCIM/20180312").expect("day");
        for (name, tag) in [(MP4_1, 1u8), (NMEA_1, 2u8)] {
            let mut f = day.create_file(name).expect("create");
            f.write_all(&pattern(tag, 5000)).expect("write");
        }
        root.create_file("DEVICE.INI")
            .and_then(|mut f| f.write_all(INI))
            .expect("ini");
        drop((day, root));
        fs.unmount().expect("unmount");
    }
    drop(file);
    let mut volume = open(&img, Access::ReadOnly);
    let scan = volume.scan().expect("scan");
    assert_eq!(scan.label.as_deref(), Some("SENTINEL"));
    assert_eq!(scan.device_ini.as_deref(), Some(INI));
    assert_eq!(scan.files.len(), 2);
    assert!(scan.ignored.is_empty(), "{:?}", scan.ignored);
    let bytes = volume
        .read_small(&vpath(&format!("DCIM/20180312/{MP4_1}")), 1 << 20)
        .expect("read");
    assert_eq!(bytes, pattern(1, 5000));
    volume.close().expect("close");
}

/// The access mode of the descriptors this process holds on `path`, from /proc.
fn access_modes(path: &Path) -> Vec<i32> {
    let mut modes = Vec::new();
    for entry in std::fs::read_dir("/proc/self/fd")
        .expect("fd dir")
        .flatten()
    {
        if std::fs::read_link(entry.path()).is_ok_and(|target| target == path) {
            let info = std::fs::read_to_string(format!(
                "/proc/self/fdinfo/{}",
                entry.file_name().to_string_lossy()
            ))
            .unwrap_or_default();
            if let Some(flags) = info.lines().find_map(|l| l.strip_prefix("flags:")) {
                let flags = i32::from_str_radix(flags.trim(), 8).expect("octal flags");
                modes.push(flags & libc::O_ACCMODE);
            }
        }
    }
    modes
}

#[test]
fn read_only_volume_is_never_written() {
    require_tools!();
    let (_t, dir) = tempdir();
    let img = dir.join("cam.img");
    camera(&img, 40 * 1024, 32, Some(1));
    std::fs::set_permissions(&img, std::fs::Permissions::from_mode(0o444)).expect("chmod");
    let before = std::fs::read(&img).expect("read image");
    let mut volume = open(&img, Access::ReadOnly);
    // Two descriptors (fatfs's and the ownership map's), both read-only.
    let modes = access_modes(&img);
    assert!(
        !modes.is_empty() && modes.iter().all(|&m| m == libc::O_RDONLY),
        "opened O_RDONLY only: {modes:?}"
    );
    check_camera_scan(&volume.scan().expect("scan"));
    check_reads(volume.as_mut());
    let err = volume
        .wipe(&vpath(&format!("DCIM/20180312/{MP4_1}")), WipeMode::Delete)
        .unwrap_err();
    assert!(matches!(err, VolumeError::ReadOnly { .. }), "{err}");
    volume.close().expect("close");
    assert!(
        std::fs::read(&img).expect("read image") == before,
        "image changed"
    );
}

fn wipe_one(img: &Path, mode: WipeMode) {
    let mut volume = open(img, Access::ReadWrite);
    volume
        .wipe(&vpath(&format!("DCIM/20180312/{MP4_1}")), mode)
        .expect("wipe");
    for refused in ["DEVICE.INI", "LOG/CAMERA.LOG", "DCIM/STRAY.TXT"] {
        let err = volume.wipe(&vpath(refused), mode).unwrap_err();
        assert!(matches!(err, VolumeError::NotWipeable { .. }), "{err}");
    }
    let err = volume
        .wipe(&vpath("DCIM/20180312/NESTED"), mode)
        .unwrap_err();
    assert!(matches!(err, VolumeError::NotRegular { .. }), "{err}");
    let scan = volume.scan().expect("rescan");
    assert_eq!(scan.files.len(), 2);
    assert!(scan.files.iter().all(|f| f.name != MP4_1));
    volume.close().expect("close");
    assert_eq!(mtype(img, &format!("DCIM/20180312/{MP4_1}")), None);
    assert_eq!(
        mtype(img, &format!("DCIM/20180312/{NMEA_1}")),
        Some(pattern(2, SIZES[1]))
    );
    assert_eq!(
        mtype(img, &format!("DCIM/20180313/{MP4_2}")),
        Some(pattern(3, SIZES[2]))
    );
    assert_eq!(mtype(img, "DEVICE.INI").as_deref(), Some(INI));
    assert_eq!(
        mtype(img, "DCIM/STRAY.TXT").as_deref(),
        Some(&b"not evidence"[..])
    );
    assert!(
        fsck_clean(img),
        "fsck.vfat -n found problems after the wipe"
    );
}

/// How many sectors of `image` start with bytes that start a sector of `file`: file
/// data sits in clusters, so any surviving sector of it is found at a sector boundary.
fn surviving_sectors(image: &[u8], file: &[u8]) -> usize {
    let probes: std::collections::HashSet<&[u8]> = file
        .chunks(512)
        .filter(|c| c.len() >= 32)
        .map(|c| &c[..32])
        .collect();
    image
        .chunks(512)
        .filter(|sector| probes.contains(&sector[..32]))
        .count()
}

#[test]
fn wipe_delete_removes_exactly_that_file() {
    require_tools!();
    let (_t, dir) = tempdir();
    for (name, bits, sectors) in [("f32.img", 32, Some(1)), ("f16.img", 16, Some(4))] {
        let img = dir.join(name);
        camera(&img, 40 * 1024, bits, sectors);
        wipe_one(&img, WipeMode::Delete);
    }
}

#[test]
fn wipe_overwrite_leaves_no_trace_of_the_bytes() {
    require_tools!();
    let (_t, dir) = tempdir();
    for (name, bits, sectors) in [("f32.img", 32, Some(1)), ("f16.img", 16, Some(8))] {
        let img = dir.join(name);
        camera(&img, 40 * 1024, bits, sectors);
        let secret = pattern(1, SIZES[0]);
        let before = std::fs::read(&img).expect("image");
        assert_eq!(
            surviving_sectors(&before, &secret),
            SIZES[0].div_ceil(512),
            "fixture"
        );
        wipe_one(&img, WipeMode::Overwrite);
        let after = std::fs::read(&img).expect("image");
        let left = surviving_sectors(&after, &secret);
        assert_eq!(left, 0, "{left} sectors of the wiped file remain in {name}");
    }
}

#[test]
fn wipe_delete_in_a_partition_keeps_the_table() {
    require_tools!();
    let (_t, dir) = tempdir();
    let (part, disk) = (dir.join("part.img"), dir.join("disk.img"));
    camera(&part, 40 * 1024, 32, Some(1));
    with_mbr(&part, &disk, 2048, 0x0C);
    let mbr_before = std::fs::read(&disk).expect("disk")[..2048 * 512].to_vec();
    let mut volume = open(&disk, Access::ReadWrite);
    volume
        .wipe(
            &vpath(&format!("DCIM/20180313/{MP4_2}")),
            WipeMode::Overwrite,
        )
        .expect("wipe");
    volume.close().expect("close");
    let after = std::fs::read(&disk).expect("disk");
    assert!(
        after[..2048 * 512] == mbr_before[..],
        "bytes before the partition changed"
    );
    std::fs::write(&part, &after[2048 * 512..]).expect("extract");
    assert!(fsck_clean(&part));
    assert_eq!(mtype(&part, &format!("DCIM/20180313/{MP4_2}")), None);
    assert_eq!(
        mtype(&part, &format!("DCIM/20180312/{MP4_1}")),
        Some(pattern(1, SIZES[0]))
    );
}
