//! A camera volume mounted on a directory: the same scan, symbolic links and special
//! files reported rather than followed, the same wipe rules.

use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::Path;

use super::*;
use crate::base::config::WipeMode;
use crate::camera::volume::{VolumeError, VolumeKind};

/// The camera fixture as a directory tree, plus the things only a host file system has.
fn mounted_camera(root: &Path, outside: &Path) {
    let day = root.join("DCIM/20180312");
    std::fs::create_dir_all(day.join("NESTED")).expect("mkdir");
    std::fs::create_dir_all(root.join("DCIM/20180313")).expect("mkdir");
    std::fs::create_dir_all(root.join("LOG")).expect("mkdir");
    std::fs::write(root.join("DEVICE.INI"), INI).expect("ini");
    std::fs::write(day.join(MP4_1), pattern(1, SIZES[0])).expect("mp4");
    std::fs::write(day.join(NMEA_1), pattern(2, SIZES[1])).expect("nmea");
    std::fs::write(root.join("DCIM/20180313").join(MP4_2), pattern(3, SIZES[2])).expect("mp4");
    std::fs::write(root.join("DCIM/STRAY.TXT"), b"not evidence").expect("stray");
    std::fs::write(outside.join("secret"), b"host file").expect("secret");
    symlink(outside.join("secret"), day.join("LINK.MP4")).expect("symlink");
    symlink(outside, root.join("DCIM/20180314")).expect("dir symlink");
    nix::unistd::mkfifo(&day.join("PIPE.MP4"), nix::sys::stat::Mode::S_IRWXU).expect("fifo");
    std::fs::write(day.join(OsStr::from_bytes(b"BAD\xff\x1b.MP4")), b"x").expect("bad name");
    std::fs::write(day.join("dup.mp4"), b"1").expect("dup");
    std::fs::write(day.join("DUP.MP4"), b"2").expect("dup");
}

fn reason_of<'s>(scan: &'s crate::camera::volume::Scan, path: &str) -> &'s str {
    scan.ignored
        .iter()
        .find(|i| i.path == path)
        .map(|i| i.reason.as_str())
        .unwrap_or_else(|| panic!("{path} not ignored: {:?}", scan.ignored))
}

#[test]
fn mounted_directory_is_scanned_without_following_links() {
    let (_t, dir) = tempdir();
    let (root, outside) = (dir.join("mnt"), dir.join("outside"));
    std::fs::create_dir_all(&outside).expect("mkdir");
    mounted_camera(&root, &outside);
    let mut volume = open(&root, Access::ReadOnly);
    assert_eq!(volume.info().kind, VolumeKind::Directory);
    let scan = volume.scan().expect("scan");
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
    assert!(reason_of(&scan, "DCIM/20180312/LINK.MP4").contains("symbolic link"));
    assert!(reason_of(&scan, "DCIM/20180314").contains("symbolic link"));
    assert!(reason_of(&scan, "DCIM/20180312/PIPE.MP4").contains("FIFO"));
    assert!(reason_of(&scan, "DCIM/20180312/NESTED").contains("directory"));
    assert!(reason_of(&scan, "DCIM/STRAY.TXT").contains("directly in DCIM"));
    assert!(reason_of(&scan, "DCIM/20180312/BAD\\xff\\u{1b}.MP4").contains("UTF-8"));
    assert!(reason_of(&scan, "DCIM/20180312/dup.mp4").contains("ambiguous"));
    assert!(reason_of(&scan, "DCIM/20180312/DUP.MP4").contains("ambiguous"));
    assert_eq!(scan.ignored.len(), 8, "{:?}", scan.ignored);
    volume.close().expect("close");
}

#[test]
fn mounted_directory_reads_files_and_refuses_links() {
    let (_t, dir) = tempdir();
    let (root, outside) = (dir.join("mnt"), dir.join("outside"));
    std::fs::create_dir_all(&outside).expect("mkdir");
    mounted_camera(&root, &outside);
    let mut volume = open(&root, Access::ReadOnly);
    let mut reader = volume
        .open_file(&vpath(&format!("DCIM/20180313/{MP4_2}")))
        .expect("open");
    let mut got = Vec::new();
    reader.read_to_end(&mut got).expect("read");
    drop(reader);
    assert!(got == pattern(3, SIZES[2]));
    let small = volume
        .read_small(&vpath(&format!("DCIM/20180312/{NMEA_1}")), 4096)
        .expect("small");
    assert_eq!(small, pattern(2, SIZES[1]));
    for (path, expect_regular) in [
        ("DCIM/20180312/LINK.MP4", true),
        ("DCIM/20180314/secret", true),
        ("DCIM/20180312/PIPE.MP4", true),
    ] {
        let err = volume.open_file(&vpath(path)).err().expect("refused");
        assert_eq!(
            matches!(err, VolumeError::NotRegular { .. }),
            expect_regular,
            "{path}: {err}"
        );
    }
    let err = volume
        .open_file(&vpath("DCIM/../../outside/secret"))
        .err()
        .expect("dotdot");
    assert!(matches!(err, VolumeError::InvalidPath { .. }), "{err}");
    let err = volume
        .read_small(&vpath(&format!("DCIM/20180312/{MP4_1}")), 10)
        .unwrap_err();
    assert!(matches!(err, VolumeError::TooLarge { .. }), "{err}");
    let err = volume
        .wipe(&vpath(&format!("DCIM/20180312/{MP4_1}")), WipeMode::Delete)
        .unwrap_err();
    assert!(matches!(err, VolumeError::ReadOnly { .. }), "{err}");
    assert!(root.join("DCIM/20180312").join(MP4_1).exists());
}

#[test]
fn mounted_directory_wipes_exactly_one_file() {
    let (_t, dir) = tempdir();
    let (root, outside) = (dir.join("mnt"), dir.join("outside"));
    std::fs::create_dir_all(&outside).expect("mkdir");
    mounted_camera(&root, &outside);
    let day = root.join("DCIM/20180312");
    // A second name for the inode shows what the overwrite left in its blocks.
    let witness = dir.join("witness");
    std::fs::hard_link(day.join(MP4_1), &witness).expect("link");
    let mut volume = open(&root, Access::ReadWrite);
    volume
        .wipe(
            &vpath(&format!("DCIM/20180312/{MP4_1}")),
            WipeMode::Overwrite,
        )
        .expect("overwrite");
    volume
        .wipe(&vpath(&format!("DCIM/20180312/{NMEA_1}")), WipeMode::Delete)
        .expect("delete");
    for (path, kind) in [
        ("DCIM/20180312/LINK.MP4", "symlink"),
        ("DCIM/20180312/PIPE.MP4", "fifo"),
        ("DCIM/20180312/dup.mp4", "ambiguous"),
        ("DCIM/20180312/NESTED", "directory"),
        ("LOG/CAMERA.LOG", "outside DCIM"),
    ] {
        let err = volume.wipe(&vpath(path), WipeMode::Delete).unwrap_err();
        let expected = match kind {
            "ambiguous" => matches!(err, VolumeError::Ambiguous { .. }),
            "outside DCIM" => matches!(err, VolumeError::NotWipeable { .. }),
            _ => matches!(err, VolumeError::NotRegular { .. }),
        };
        assert!(expected, "{path}: {err}");
    }
    volume.close().expect("close");
    let kept = std::fs::read(&witness).expect("witness");
    assert_eq!(kept.len(), SIZES[0]);
    assert!(kept.iter().all(|&b| b == 0), "overwrite left bytes behind");
    assert!(!day.join(MP4_1).exists() && !day.join(NMEA_1).exists());
    assert!(std::fs::symlink_metadata(day.join("LINK.MP4")).is_ok());
    assert_eq!(
        std::fs::read(outside.join("secret")).expect("secret"),
        b"host file"
    );
    assert_eq!(
        std::fs::read(root.join("DCIM/20180313").join(MP4_2)).expect("other"),
        pattern(3, SIZES[2])
    );
}
