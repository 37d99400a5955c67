//! Hostile and broken volumes: looping cluster chains, truncation, foreign file systems,
//! random damage. Each must end in an error, quickly, never in a hang or a panic.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::raw::geo;
use super::*;
use crate::base::config::WipeMode;
use crate::camera::volume::VolumeError;

/// A FAT16 image with 512-byte clusters whose DCIM/20180312 holds `files` small files,
/// so that 14 or more of them fill its first cluster.
fn day_dir_image(dir: &Path, files: usize, file_len: usize) -> PathBuf {
    let img = dir.join("day.img");
    mkfs(&img, 16 * 1024, 16, Some(1), "SENTINEL");
    mmd(&img, "DCIM");
    mmd(&img, "DCIM/20180312");
    for i in 0..files {
        put(
            &img,
            &format!("DCIM/20180312/F{i:02}.MP4"),
            &pattern(i as u8, file_len),
        );
    }
    img
}

fn patch(img: &Path, edit: impl FnOnce(&mut Vec<u8>)) {
    let mut bytes = std::fs::read(img).expect("read image");
    edit(&mut bytes);
    std::fs::write(img, bytes).expect("write image");
}

fn loop_day_dir(img: &Path, delete_entries: bool) {
    patch(img, |bytes| {
        let g = geo(bytes);
        let first = g.first_cluster(bytes, &["DCIM", "20180312"]);
        assert!(
            g.next(bytes, first).is_some(),
            "fixture: the day directory must span clusters"
        );
        g.set_next(bytes, first, first);
        if delete_entries {
            for slot in g.cluster_slots(first) {
                bytes[slot] = 0xE5;
            }
        }
    });
}

fn assert_corrupt(err: &VolumeError, what: &str, detail: &str) {
    match err {
        VolumeError::Corrupt {
            what: w, detail: d, ..
        } => {
            assert!(w.contains(what), "what: {w}");
            assert!(d.contains(detail), "detail: {d}");
        }
        other => panic!("expected Corrupt, got {other}"),
    }
}

#[test]
fn looping_directory_is_refused_by_the_entry_cap() {
    require_tools!();
    let (_t, dir) = tempdir();
    let img = day_dir_image(&dir, 20, 10);
    loop_day_dir(&img, false);
    let started = Instant::now();
    let mut volume = open(&img, Access::ReadOnly);
    let err = volume.scan().unwrap_err();
    assert_corrupt(
        &err,
        "directory DCIM/20180312 loops or is too large",
        "entries",
    );
    let err = volume
        .open_file(&vpath("DCIM/20180312/F01.MP4"))
        .err()
        .expect("lookup");
    assert_corrupt(&err, "DCIM/20180312 loops", "entries");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(err.to_string().contains("do not wipe"), "{err}");
}

#[test]
fn looping_directory_of_deleted_entries_trips_the_read_budget() {
    require_tools!();
    let (_t, dir) = tempdir();
    let img = day_dir_image(&dir, 20, 10);
    loop_day_dir(&img, true);
    let started = Instant::now();
    let mut volume = open(&img, Access::ReadOnly);
    let err = volume.scan().unwrap_err();
    assert_corrupt(
        &err,
        "directory DCIM/20180312 loops or is too large",
        "bytes read",
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn scan_deadline_stops_a_loop_the_budget_would_allow() {
    require_tools!();
    let (_t, dir) = tempdir();
    let img = day_dir_image(&dir, 20, 10);
    loop_day_dir(&img, true);
    let profile = Profile {
        max_dir_entries: u32::MAX,
        scan_deadline_secs: 1,
        ..Profile::default()
    };
    let started = Instant::now();
    let mut volume = crate::camera::volume::open(&img, &profile, Access::ReadOnly).expect("open");
    let err = volume.scan().unwrap_err();
    assert_corrupt(&err, "took too long", "scan_deadline_secs");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn looping_or_short_file_chains_end_in_errors_or_bounded_reads() {
    require_tools!();
    let (_t, dir) = tempdir();
    let img = day_dir_image(&dir, 2, 1536);
    patch(&img, |bytes| {
        let g = geo(bytes);
        let looped = g.first_cluster(bytes, &["DCIM", "20180312", "F00.MP4"]);
        g.set_next(bytes, looped, looped);
        let short = g.first_cluster(bytes, &["DCIM", "20180312", "F01.MP4"]);
        g.set_next(bytes, short, 0xFFFF);
    });
    let mut volume = open(&img, Access::ReadWrite);
    let looped = volume
        .read_small(&vpath("DCIM/20180312/F00.MP4"), 1 << 20)
        .expect("a looping chain reads as far as the size says");
    assert_eq!(looped.len(), 1536);
    let err = volume
        .read_small(&vpath("DCIM/20180312/F01.MP4"), 1 << 20)
        .unwrap_err();
    assert_corrupt(&err, "reading DCIM/20180312/F01.MP4", "chain ends");
    // The ownership map finds both chains wrong, so neither file is wiped at all (the
    // overwrite's own short-chain check and the bounded free stay behind it).
    let started = Instant::now();
    for (file, mode) in [
        ("DCIM/20180312/F01.MP4", WipeMode::Overwrite),
        ("DCIM/20180312/F00.MP4", WipeMode::Delete),
    ] {
        match volume.wipe(&vpath(file), mode) {
            Err(VolumeError::Damaged { damage, .. }) => assert!(
                damage.contains("chain-too-short") && damage.contains("chain-loop"),
                "{damage}"
            ),
            other => panic!("{file} on a damaged volume: {other:?}"),
        }
    }
    assert!(started.elapsed() < Duration::from_secs(10));
    volume.close().expect("close");
}

#[test]
fn duplicate_names_are_ambiguous_and_never_wiped() {
    require_tools!();
    let (_t, dir) = tempdir();
    let img = day_dir_image(&dir, 3, 10);
    // F01's entry renamed F00 with the lower-case flags: two entries answer to "f00.mp4".
    patch(&img, |bytes| {
        let g = geo(bytes);
        let day = g.first_cluster(bytes, &["DCIM", "20180312"]);
        let slot = g
            .cluster_slots(day)
            .into_iter()
            .find(|&at| &bytes[at..at + 11] == b"F01     MP4")
            .expect("F01 entry");
        bytes[slot..slot + 11].copy_from_slice(b"F00     MP4");
        bytes[slot + 12] = 0x18;
    });
    let mut volume = open(&img, Access::ReadWrite);
    let scan = volume.scan().expect("scan");
    let names: Vec<&str> = scan.files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, vec!["F02.MP4"]);
    let mut ambiguous: Vec<&str> = scan
        .ignored
        .iter()
        .filter(|i| i.reason.contains("ambiguous"))
        .map(|i| i.path.as_str())
        .collect();
    ambiguous.sort();
    assert_eq!(
        ambiguous,
        vec!["DCIM/20180312/F00.MP4", "DCIM/20180312/f00.mp4"]
    );
    for name in ["F00.MP4", "f00.mp4"] {
        let path = vpath(&format!("DCIM/20180312/{name}"));
        let err = volume.wipe(&path, WipeMode::Delete).unwrap_err();
        assert!(matches!(err, VolumeError::Ambiguous { .. }), "{err}");
        let err = volume.open_file(&path).err().expect("ambiguous read");
        assert!(matches!(err, VolumeError::Ambiguous { .. }), "{err}");
    }
    volume.close().expect("close");
    assert_eq!(mtype(&img, "DCIM/20180312/F02.MP4"), Some(pattern(2, 10)));
}

#[test]
fn truncated_images_are_refused() {
    require_tools!();
    let (_t, dir) = tempdir();
    let img = dir.join("cam.img");
    camera(&img, 16 * 1024, 16, None);
    let whole = std::fs::read(&img).expect("image");
    std::fs::write(&img, &whole[..1 << 20]).expect("truncate");
    let err = crate::camera::volume::open(&img, &Profile::default(), Access::ReadOnly)
        .err()
        .expect("err");
    assert_corrupt(&err, "truncated", "holds 1048576 bytes");
    let disk = dir.join("disk.img");
    std::fs::write(&img, &whole).expect("restore");
    with_mbr(&img, &disk, 2048, 0x06);
    let bytes = std::fs::read(&disk).expect("disk");
    std::fs::write(&disk, &bytes[..bytes.len() - 4096]).expect("truncate");
    let err = crate::camera::volume::open(&disk, &Profile::default(), Access::ReadOnly)
        .err()
        .expect("err");
    assert_corrupt(&err, "truncated", "the device holds");
}

#[test]
fn foreign_or_empty_media_are_not_fat() {
    let (_t, dir) = tempdir();
    let img = dir.join("x.img");
    let mut exfat = vec![0u8; 1 << 20];
    exfat[..11].copy_from_slice(b"\xEB\x76\x90EXFAT   ");
    exfat[510..512].copy_from_slice(&[0x55, 0xAA]);
    let mut ntfs_mbr = vec![0u8; 1 << 20];
    ntfs_mbr[446 + 4] = 0x07;
    ntfs_mbr[446 + 8] = 1;
    ntfs_mbr[446 + 12] = 16;
    ntfs_mbr[510..512].copy_from_slice(&[0x55, 0xAA]);
    // An exFAT boot sector goes to the exFAT reader, which names its file system.
    std::fs::write(&img, &exfat).expect("write");
    let err = crate::camera::volume::open(&img, &Profile::default(), Access::ReadOnly)
        .err()
        .expect("refused");
    assert!(
        matches!(err, VolumeError::ExfatCorrupt { .. }),
        "exfat: {err}"
    );
    assert!(err.to_string().contains("exfat: the boot sector"), "{err}");
    assert!(!err.to_string().contains("reformat"), "{err}");
    let cases: [(&str, Vec<u8>, &str); 3] = [
        ("mbr-07", ntfs_mbr, "type 0x07 (exFAT or NTFS)"),
        (
            "random",
            pattern(9, 1 << 20),
            "neither a FAT boot sector nor an MBR",
        ),
        ("tiny", vec![0u8; 100], "holds only 100 bytes"),
    ];
    for (name, bytes, needle) in cases {
        std::fs::write(&img, bytes).expect("write");
        let err = crate::camera::volume::open(&img, &Profile::default(), Access::ReadOnly)
            .err()
            .expect("refused");
        assert!(matches!(err, VolumeError::NotFat { .. }), "{name}: {err}");
        assert!(err.to_string().contains(needle), "{name}: {err}");
        // Advice that would destroy unread evidence is never given.
        assert!(!err.to_string().contains("reformat"), "{name}: {err}");
    }
}

#[test]
fn random_damage_never_panics_or_hangs() {
    require_tools!();
    let (_t, dir) = tempdir();
    let clean = dir.join("clean.img");
    camera(&clean, 8 * 1024, 16, Some(1));
    let original = std::fs::read(&clean).expect("image");
    let g = geo(&original);
    let dirs: [&[&str]; 4] = [
        &["DCIM"],
        &["DCIM", "20180312"],
        &["DCIM", "20180313"],
        &["LOG"],
    ];
    let regions = g.metadata(&original, &dirs);
    let profile = Profile {
        scan_deadline_secs: 5,
        ..Profile::default()
    };
    let img = dir.join("damaged.img");
    let rounds = 150;
    let rng = pattern(77, rounds * 8 * 8);
    let (mut scanned, mut refused) = (0, 0);
    for round in 0..rounds {
        let mut bytes = original.clone();
        for flip in rng.chunks_exact(8).skip(round * 8).take(8) {
            let region = &regions[usize::from(flip[0]) % regions.len()];
            let at = u32::from_le_bytes([flip[1], flip[2], flip[3], flip[4]]) as usize;
            bytes[region.start + at % region.len()] ^= flip[5] | 1;
        }
        std::fs::write(&img, &bytes).expect("write");
        let started = Instant::now();
        match crate::camera::volume::open(&img, &profile, Access::ReadOnly) {
            Err(_) => refused += 1,
            Ok(mut volume) => {
                if let Ok(scan) = volume.scan() {
                    scanned += 1;
                    for file in &scan.files {
                        let _ = volume.read_small(&file.path, 4 << 20);
                    }
                }
                let _ = volume.close();
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "round {round} took too long"
        );
    }
    eprintln!("random damage: {scanned} scanned, {refused} refused of {rounds}; no panic escaped");
}

#[test]
fn entry_pointing_at_a_reserved_cluster_is_corrupt() {
    require_tools!();
    let (_t, dir) = tempdir();
    let img = day_dir_image(&dir, 2, 1536);
    patch(&img, |bytes| {
        let g = geo(bytes);
        let day = g.first_cluster(bytes, &["DCIM", "20180312"]);
        let slot = g
            .cluster_slots(day)
            .into_iter()
            .find(|&at| &bytes[at..at + 11] == b"F00     MP4")
            .expect("F00 entry");
        bytes[slot + 26..slot + 28].copy_from_slice(&1u16.to_le_bytes());
    });
    let mut volume = open(&img, Access::ReadOnly);
    let err = volume
        .read_small(&vpath("DCIM/20180312/F00.MP4"), 1 << 20)
        .unwrap_err();
    assert!(matches!(err, VolumeError::Corrupt { .. }), "{err}");
    let _ = volume.close();
}

#[test]
fn directory_without_a_first_cluster_is_not_read_as_the_root() {
    require_tools!();
    let (_t, dir) = tempdir();
    let img = day_dir_image(&dir, 2, 10);
    put(&img, "DEVICE.INI", INI);
    patch(&img, |bytes| {
        let g = geo(bytes);
        let dcim = g.first_cluster(bytes, &["DCIM"]);
        let slot = g
            .cluster_slots(dcim)
            .into_iter()
            .find(|&at| &bytes[at..at + 11] == b"20180312   ")
            .expect("day entry");
        bytes[slot + 20..slot + 22].fill(0);
        bytes[slot + 26..slot + 28].fill(0);
    });
    let mut volume = open(&img, Access::ReadWrite);
    let err = volume.scan().unwrap_err();
    assert_corrupt(
        &err,
        "directory DCIM/20180312 has no `.` entry",
        "root directory",
    );
    let err = volume
        .wipe(&vpath("DCIM/20180312/DEVICE.INI"), WipeMode::Delete)
        .unwrap_err();
    assert!(
        matches!(
            err,
            VolumeError::Corrupt { .. } | VolumeError::Damaged { .. }
        ),
        "{err}"
    );
    volume.close().expect("close");
    assert_eq!(mtype(&img, "DEVICE.INI").as_deref(), Some(INI));
}
