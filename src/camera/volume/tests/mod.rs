//! Tests on real volumes: FAT images made by `mkfs.vfat` and mtools (and by fatfs
//! itself), patched by hand where a hostile camera is needed, and real directories.

mod dir_source;
mod fat_images;
mod hostile;
mod raw;
mod throughput;

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{Access, Volume, VolumePath};
use crate::base::config::Profile;

/// Fails the calling test, naming the tool, when mtools or dosfstools are missing
/// (`scripts/install-deps` installs them).
macro_rules! require_tools {
    () => {
        $crate::camera::volume::tests::assert_tools_installed()
    };
}
pub(crate) use require_tools;

pub(super) fn assert_tools_installed() {
    for tool in ["mcopy", "mmd", "mtype", "mkfs.vfat", "fsck.vfat"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            found,
            "this test needs `{tool}` (mtools/dosfstools), which is not installed: \
             install it with scripts/install-deps (as root)"
        );
    }
}

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd
        .env("MTOOLS_SKIP_CHECK", "1")
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `mkfs.vfat -C`: a fresh image of `kib` KiB, FAT `bits`, `sectors` sectors a cluster.
pub(super) fn mkfs(img: &Path, kib: u64, bits: u8, sectors: Option<u8>, label: &str) {
    let mut cmd = Command::new("mkfs.vfat");
    cmd.args(["-C", "-F", &bits.to_string(), "-n", label]);
    if let Some(s) = sectors {
        cmd.args(["-s", &s.to_string()]);
    }
    cmd.arg(img).arg(kib.to_string());
    run(&mut cmd);
}

pub(super) fn mmd(img: &Path, dir: &str) {
    run(Command::new("mmd")
        .arg("-i")
        .arg(img)
        .arg(format!("::{dir}")));
}

/// Copies `bytes` into the image at `dest` (a volume path without `::`).
pub(super) fn put(img: &Path, dest: &str, bytes: &[u8]) {
    let host = img.with_extension("payload");
    std::fs::write(&host, bytes).expect("write payload");
    run(Command::new("mcopy")
        .arg("-i")
        .arg(img)
        .arg(&host)
        .arg(format!("::{dest}")));
    std::fs::remove_file(&host).expect("remove payload");
}

/// The bytes of a file in the image as mtools reads them, or `None` if it is absent.
pub(super) fn mtype(img: &Path, file: &str) -> Option<Vec<u8>> {
    let out = Command::new("mtype")
        .env("MTOOLS_SKIP_CHECK", "1")
        .arg("-i")
        .arg(img)
        .arg(format!("::{file}"))
        .output()
        .expect("mtype");
    out.status.success().then_some(out.stdout)
}

/// Whether `fsck.vfat -n` finds the image clean.
pub(super) fn fsck_clean(img: &Path) -> bool {
    let out = Command::new("fsck.vfat")
        .arg("-n")
        .arg(img)
        .output()
        .expect("fsck.vfat");
    if !out.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&out.stdout));
    }
    out.status.success()
}

/// Bytes no other file holds: position-dependent, so any surviving fragment is found.
pub(super) fn pattern(tag: u8, len: usize) -> Vec<u8> {
    let mut x: u32 = 0x9E37_79B9 ^ u32::from(tag);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

pub(super) const MP4_1: &str = "SNTL-00042_20180312_101500_0001.MP4";
pub(super) const NMEA_1: &str = "SNTL-00042_20180312_101500_0001.NMEA";
pub(super) const MP4_2: &str = "SNTL-00042_20180313_090000_0002.MP4";
pub(super) const INI: &[u8] = b"[device]\nserial=SNTL-00042\nmodel=S1\nfirmware=1.0\n";

/// The sizes of the three recording files the camera fixture holds.
pub(super) const SIZES: [usize; 3] = [300_000, 1_234, 2 * 1024 * 1024 + 17];

/// A camera volume as the profile describes it, plus a stray file in DCIM, a nested
/// directory in a day directory, and the camera's LOG folder.
pub(super) fn camera(img: &Path, kib: u64, bits: u8, sectors: Option<u8>) {
    mkfs(img, kib, bits, sectors, "SENTINEL");
    put(img, "DEVICE.INI", INI);
    for dir in [
        "DCIM",
        "DCIM/20180312",
        "DCIM/20180313",
        "DCIM/20180312/NESTED",
        "LOG",
    ] {
        mmd(img, dir);
    }
    put(
        img,
        &format!("DCIM/20180312/{MP4_1}"),
        &pattern(1, SIZES[0]),
    );
    put(
        img,
        &format!("DCIM/20180312/{NMEA_1}"),
        &pattern(2, SIZES[1]),
    );
    put(
        img,
        &format!("DCIM/20180313/{MP4_2}"),
        &pattern(3, SIZES[2]),
    );
    put(img, "DCIM/STRAY.TXT", b"not evidence");
    put(img, "LOG/CAMERA.LOG", b"boot ok\n");
}

/// Wraps a file-system image in a disk image whose MBR's first partition holds it.
pub(super) fn with_mbr(part: &Path, disk: &Path, lba: u32, kind: u8) {
    let bytes = std::fs::read(part).expect("read partition");
    let mut out = vec![0u8; lba as usize * 512];
    let entry = &mut out[446..462];
    entry[4] = kind;
    entry[8..12].copy_from_slice(&lba.to_le_bytes());
    entry[12..16].copy_from_slice(&((bytes.len() / 512) as u32).to_le_bytes());
    out[510] = 0x55;
    out[511] = 0xAA;
    out.extend_from_slice(&bytes);
    std::fs::write(disk, out).expect("write disk");
}

pub(super) fn open(source: &Path, access: Access) -> Box<dyn Volume> {
    super::open(source, &Profile::default(), access)
        .unwrap_or_else(|e| panic!("open {}: {e}", source.display()))
}

pub(super) fn vpath(s: &str) -> VolumePath {
    VolumePath::new(&s.split('/').collect::<Vec<_>>())
}

pub(super) fn tempdir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().to_path_buf();
    (dir, path)
}
