//! Test helpers: camera volumes built from the committed fixtures or from parts, by tools
//! that are not the project's code (mkfs.vfat and mtools for FAT images), so a bug in the
//! project's FAT or sidecar code cannot hide itself in the test data.
//!
#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a panic, with its message, is how a test fails"
)]

pub mod console;
pub mod daemon;
mod exfat;
mod fat;
pub mod fat_edit;
mod one_shot;
pub mod operators;
pub mod postgres;
pub mod seaweed;
mod sidecar;
pub mod users;

pub use exfat::{
    ExfatOptions, Mounted, RawExfat, build_exfat_image, cluster_bytes, free_bytes, fsck_exfat,
    list_exfat_image, read_exfat_file,
};
pub use fat::{
    ImageOptions, Layout, PARTITION_OFFSET, build_fat_image, build_fat_image_with, list_fat_dirs,
    list_fat_image, read_fat_file, write_fat_file,
};
pub use one_shot::{ingest_faulty_store, ingest_into, ingest_once};
pub use sidecar::{SidecarSpec, gps_fixes, nmea_checksum, nmea_line};

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

/// umockdev testbeds run one at a time (field notes: they interfere when run together),
/// those of `usb_identity.rs` and of `udev_rule.rs` alike.
pub static UMOCKDEV: Mutex<()> = Mutex::new(());

/// The fixtures' camera, and the firmware and model its `DEVICE.INI` names.
pub const SERIAL: &str = "SNTL-00042";
pub const FIRMWARE: &str = "2.3.1";
pub const MODEL: &str = "SENTINEL-BWC2";
/// The second fixture camera (firmware 2.2.0), for tests with several cameras.
pub const SERIAL_2: &str = "SNTL-00007";

/// Whether `path` is one of the files the store's owner keeps in its root (the lock and
/// the identity): not stored evidence, and not a temp file.
pub fn is_store_owner_file(root: &Path, path: &Path) -> bool {
    use sentinel_dock::custody::store::{IDENTITY_FILE, LOCK_FILE};
    path.parent() == Some(root)
        && path
            .file_name()
            .is_some_and(|n| n == LOCK_FILE || n == IDENTITY_FILE)
}

/// Rewrites a register's history the way a kill between two steps leaves it (a row still
/// `confirmed`, or back to `discovered`): the register refuses such changes itself
/// (trigger `recordings_state_machine`), so the trigger is set aside for this one
/// statement, inside one transaction, then put back.
pub fn rewrite_history(register: &Path, sql: &str, params: impl rusqlite::Params) {
    let mut conn = rusqlite::Connection::open(register).unwrap();
    let tx = conn.transaction().unwrap();
    let trigger: String = tx
        .query_row(
            "SELECT sql FROM sqlite_master WHERE name = 'recordings_state_machine'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    tx.execute_batch("DROP TRIGGER recordings_state_machine")
        .unwrap();
    tx.execute(sql, params).unwrap();
    tx.execute_batch(&trigger).unwrap();
    tx.commit().unwrap();
}

/// `fixtures/` at the crate's root.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// The fixture folder of one camera, laid out as its volume: `fixtures/cameras/<serial>`.
pub fn fixture_camera_dir(serial: &str) -> PathBuf {
    fixtures_dir().join("cameras").join(serial)
}

/// Where an external tool is, searching `PATH` and the sbin folders (`mkfs.vfat` lives in
/// `/usr/sbin`, which a non-root `PATH` often lacks).
pub fn tool_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/local/sbin", "/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| {
            use std::os::unix::fs::PermissionsExt;
            fs::metadata(candidate)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Panics with a message that says how to get the tool, when it is not installed.
pub fn require_tool(name: &str) {
    if tool_path(name).is_none() {
        panic!(
            "this test needs `{name}`, which is not installed: \
             install it with scripts/install-deps (as root)"
        );
    }
}

/// Lower-case hex SHA-256, as the sidecar's trailer writes it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One recording as a camera stores it: `DCIM/<day>/<stem>.MP4` and `<stem>.NMEA`, the day
/// folder being the stem's date (`<SERIAL>_<YYYYMMDD>_<HHMMSS>_<NNNN>`). To put a recording
/// anywhere else, or only half of it, use `CameraSpec::extra_files`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recording {
    pub stem: String,
    pub video: Vec<u8>,
    pub sidecar: Vec<u8>,
}

impl Recording {
    /// The day folder: the stem's second `_`-separated field.
    pub fn day(&self) -> &str {
        self.stem
            .split('_')
            .nth(1)
            .unwrap_or_else(|| panic!("recording stem {:?} has no _<YYYYMMDD>_ day", self.stem))
    }

    /// `DCIM/<day>/<stem>.MP4`, as on the volume.
    pub fn video_path(&self) -> String {
        format!("DCIM/{}/{}.MP4", self.day(), self.stem)
    }

    /// `DCIM/<day>/<stem>.NMEA`, as on the volume.
    pub fn sidecar_path(&self) -> String {
        format!("DCIM/{}/{}.NMEA", self.day(), self.stem)
    }
}

/// The recordings of a fixture camera, sorted by stem.
pub fn fixture_recordings(serial: &str) -> Vec<Recording> {
    let dcim = fixture_camera_dir(serial).join("DCIM");
    let days = fs::read_dir(&dcim).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (regenerate with scripts/make-fixtures)",
            dcim.display()
        )
    });
    let mut recordings = Vec::new();
    for day in days {
        let day = day.unwrap().path();
        for entry in fs::read_dir(&day).unwrap() {
            let video_path = entry.unwrap().path();
            if video_path.extension().is_none_or(|e| e != "MP4") {
                continue;
            }
            let stem = video_path.file_stem().unwrap().to_str().unwrap().to_owned();
            let sidecar_path = video_path.with_extension("NMEA");
            recordings.push(Recording {
                stem,
                video: fs::read(&video_path).unwrap(),
                sidecar: fs::read(&sidecar_path)
                    .unwrap_or_else(|e| panic!("{}: {e}", sidecar_path.display())),
            });
        }
    }
    assert!(
        !recordings.is_empty(),
        "no fixture recordings in {}",
        dcim.display()
    );
    recordings.sort_by(|a, b| a.stem.cmp(&b.stem));
    recordings
}

/// `DEVICE.INI` as the fixtures' cameras write it.
pub fn device_ini(serial: &str, firmware: &str) -> String {
    format!("[device]\nserial={serial}\nmodel={MODEL}\nfirmware={firmware}\n")
}

/// Everything on one camera volume.
#[derive(Debug, Clone)]
pub struct CameraSpec {
    pub serial: String,
    /// `/DEVICE.INI`; `None` for a volume without one.
    pub device_ini: Option<String>,
    pub recordings: Vec<Recording>,
    /// Any other file: (path on the volume with `/` separators, e.g. `DCIM/README.TXT`;
    /// its bytes). Parent folders are created. See `fat.rs` for the names mtools can write.
    pub extra_files: Vec<(String, Vec<u8>)>,
    /// The FAT volume label (`SENTINEL`); empty for none (mkfs writes `NO NAME`).
    pub label: String,
}

impl CameraSpec {
    /// An empty camera: `DEVICE.INI` for `serial` (firmware 2.3.1), no recordings.
    pub fn new(serial: &str) -> CameraSpec {
        CameraSpec {
            serial: serial.to_owned(),
            device_ini: Some(device_ini(serial, FIRMWARE)),
            recordings: Vec::new(),
            extra_files: Vec::new(),
            label: "SENTINEL".to_owned(),
        }
    }

    /// A fixture camera as committed: its `DEVICE.INI`, recordings and `LOG/` files.
    pub fn fixture(serial: &str) -> CameraSpec {
        let root = fixture_camera_dir(serial);
        let ini = root.join("DEVICE.INI");
        let mut extra_files = Vec::new();
        for entry in fs::read_dir(root.join("LOG")).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap();
            extra_files.push((format!("LOG/{name}"), fs::read(&path).unwrap()));
        }
        extra_files.sort();
        CameraSpec {
            serial: serial.to_owned(),
            device_ini: Some(
                fs::read_to_string(&ini).unwrap_or_else(|e| panic!("{}: {e}", ini.display())),
            ),
            recordings: fixture_recordings(serial),
            extra_files,
            label: "SENTINEL".to_owned(),
        }
    }

    /// Every file of the volume with its path, in the order they are written:
    /// `DEVICE.INI`, each recording's video then sidecar, the extra files.
    pub fn files(&self) -> Vec<(String, Vec<u8>)> {
        let mut files = Vec::new();
        if let Some(ini) = &self.device_ini {
            files.push(("DEVICE.INI".to_owned(), ini.clone().into_bytes()));
        }
        for r in &self.recordings {
            files.push((r.video_path(), r.video.clone()));
            files.push((r.sidecar_path(), r.sidecar.clone()));
        }
        files.extend(self.extra_files.iter().cloned());
        files
    }

    /// The serial made safe for a host file name.
    fn file_stem(&self) -> String {
        self.serial
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    }
}

/// A folder laid out like the mounted camera volume, `dir/camera-<serial>`, replaced if it
/// exists. Panics on a path that would leave it (absolute, empty or `..` components).
pub fn build_dir(spec: &CameraSpec, dir: &Path) -> PathBuf {
    let root = dir.join(format!("camera-{}", spec.file_stem()));
    if root.exists() {
        fs::remove_dir_all(&root).unwrap();
    }
    fs::create_dir_all(&root).unwrap();
    for (path, bytes) in spec.files() {
        let parts: Vec<&str> = path.split('/').collect();
        assert!(
            parts
                .iter()
                .all(|p| !p.is_empty() && *p != "." && *p != ".."),
            "build_dir: {path:?} is not a plain relative path"
        );
        let target = parts.iter().fold(root.clone(), |p, part| p.join(part));
        fs::create_dir_all(target.parent().unwrap()).unwrap();
        fs::write(&target, bytes).unwrap_or_else(|e| panic!("{}: {e}", target.display()));
    }
    root
}

/// Fails a crash-harness test on any violation, first moving its cells to
/// `$TMPDIR/sentinel-<label>-<seed>` so that whoever reads the CI log can inspect them.
pub fn fail_keeping_cells(seed: u64, label: &str, work: &Path, violations: &[String]) {
    if violations.is_empty() {
        return;
    }
    let kept = std::env::temp_dir().join(format!("sentinel-{label}-{seed}"));
    let _ = fs::rename(work, &kept);
    panic!(
        "seed {seed}: {} violation(s), cells kept in {}:\n{}",
        violations.len(),
        kept.display(),
        violations.join("\n")
    );
}
