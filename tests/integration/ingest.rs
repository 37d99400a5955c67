//! The verified ingestion of one camera, end to end, on real FAT images made by mkfs.vfat
//! and mtools, real folders, a real SQLite register and a real store.
#![allow(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fail the test by panicking, like the tests"
)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::common::*;
use rusqlite::Connection;
use sentinel_dock::app::ingest::{
    self, IngestError, IngestReport, Options, RecordingReport, Status,
};
use sentinel_dock::base::config::Config;
use sentinel_dock::custody::store::StoreFaults;

/// A fresh store, register and configuration in a temporary folder.
struct Bench {
    dir: tempfile::TempDir,
    config: Config,
}

impl Bench {
    fn new() -> Bench {
        Bench::with("")
    }

    fn with(extra_toml: &str) -> Bench {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "[store]\npath = \"store\"\nreserve = 0\n[register]\npath = \"register.sqlite\"\n{extra_toml}"
        );
        let config = Config::from_toml(&text, dir.path()).unwrap();
        Bench { dir, config }
    }

    fn image(&self, spec: &CameraSpec, layout: Layout) -> PathBuf {
        build_fat_image(spec, self.dir.path(), layout)
    }

    fn ingest(&self, source: &Path) -> IngestReport {
        self.ingest_with(source, &Options::default()).unwrap()
    }

    fn ingest_with(&self, source: &Path, options: &Options) -> Result<IngestReport, IngestError> {
        ingest_once(&self.config, source, options)
    }

    fn store(&self) -> PathBuf {
        self.config.store.path.clone()
    }

    /// Every visible file under the store, relative to its root.
    fn stored_files(&self) -> Vec<String> {
        let mut out = Vec::new();
        walk(&self.store(), &self.store(), &mut out);
        out.sort();
        out
    }

    fn register(&self) -> Connection {
        Connection::open(&self.config.register.path).unwrap()
    }

    fn states(&self) -> Vec<(String, String)> {
        let conn = self.register();
        let mut stmt = conn
            .prepare("SELECT stem, state FROM recordings ORDER BY stem, id")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries {
        let path = e.unwrap().path();
        if path.is_dir() {
            walk(root, &path, out);
        } else if !is_store_owner_file(root, &path) {
            out.push(
                path.strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
}

fn by_stem<'a>(report: &'a IngestReport, stem: &str) -> &'a RecordingReport {
    report
        .recordings
        .iter()
        .find(|r| r.stem == stem)
        .unwrap_or_else(|| panic!("{stem} not in report: {report:#?}"))
}

fn reason_codes(r: &RecordingReport) -> Vec<String> {
    r.reasons.iter().map(|x| x.code.clone()).collect()
}

/// Checks a report where every recording was confirmed and wiped, against the camera, the store and the register.
fn assert_all_confirmed_and_wiped(bench: &Bench, spec: &CameraSpec, report: &IngestReport) {
    assert_eq!(report.exit_code(), 0, "{}", report.summary());
    assert_eq!(report.recordings.len(), spec.recordings.len());
    for rec in &spec.recordings {
        let r = by_stem(report, &rec.stem);
        assert_eq!(r.status, Status::Confirmed, "{r:#?}");
        assert!(r.wiped);
        assert_eq!(r.sha256.as_deref(), Some(sha256_hex(&rec.video).as_str()));
        let stored = r.stored_path.as_ref().unwrap();
        assert!(stored.is_absolute());
        assert_eq!(fs::read(stored).unwrap(), rec.video, "stored bytes differ");
        assert_eq!(
            fs::metadata(stored).unwrap().permissions().mode() & 0o777,
            0o444
        );
        let sidecar = r.sidecar.as_ref().unwrap();
        assert_eq!(fs::read(&sidecar.stored_path).unwrap(), rec.sidecar);
        let expected_dir = format!(
            "recordings/{}-{}-{}/{}",
            &rec.day()[..4],
            &rec.day()[4..6],
            &rec.day()[6..],
            spec.serial
        );
        assert!(
            stored.starts_with(bench.store().join(&expected_dir)),
            "{}",
            stored.display()
        );
    }
    assert!(
        bench.states().iter().all(|(_, s)| s == "wiped"),
        "{:?}",
        bench.states()
    );
    assert!(!bench.stored_files().iter().any(|f| f.contains(".partial-")));
}

#[test]
fn a_superfloppy_camera_is_stored_proven_and_wiped_leaving_everything_else() {
    let bench = Bench::new();
    let spec = CameraSpec::fixture(SERIAL);
    let image = bench.image(&spec, Layout::Superfloppy);
    let report = bench.ingest(&image);
    assert_all_confirmed_and_wiped(&bench, &spec, &report);
    assert_eq!(report.camera.serial, SERIAL);
    assert_eq!(report.camera.firmware.as_deref(), Some(FIRMWARE));

    let left = list_fat_image(&image, Layout::Superfloppy);
    assert!(left.iter().any(|f| f == "DEVICE.INI"), "{left:?}");
    assert!(left.iter().any(|f| f.starts_with("LOG/")), "{left:?}");
    assert!(
        !left
            .iter()
            .any(|f| f.starts_with("DCIM/") && f.contains("SNTL")),
        "{left:?}"
    );
    assert_fsck_clean(&image, Layout::Superfloppy);
}

#[test]
fn a_partitioned_fat32_camera_is_ingested_the_same() {
    let bench = Bench::new();
    let spec = CameraSpec::fixture(SERIAL_2);
    let image = build_fat_image_with(
        &spec,
        bench.dir.path(),
        Layout::Partitioned,
        &ImageOptions {
            fat_bits: Some(32),
            size_mib: Some(64),
        },
    );
    let report = bench.ingest(&image);
    assert_all_confirmed_and_wiped(&bench, &spec, &report);
    assert_fsck_clean(&image, Layout::Partitioned);
}

#[test]
fn a_mounted_directory_is_a_first_class_source() {
    let bench = Bench::new();
    let spec = CameraSpec::fixture(SERIAL);
    let root = build_dir(&spec, bench.dir.path());
    let report = bench.ingest(&root);
    assert_all_confirmed_and_wiped(&bench, &spec, &report);
    assert!(root.join("DEVICE.INI").exists());
    assert!(root.join("LOG").read_dir().unwrap().next().is_some());
    for rec in &spec.recordings {
        assert!(!root.join(rec.video_path()).exists());
        assert!(!root.join(rec.sidecar_path()).exists());
    }
}

fn assert_fsck_clean(image: &Path, layout: Layout) {
    if layout == Layout::Partitioned {
        return; // fsck.vfat reads whole-disk volumes only; mtools listed the partition above
    }
    let fsck = tool_path("fsck.vfat").expect("fsck.vfat: install it with scripts/install-deps");
    let out = std::process::Command::new(fsck)
        .arg("-n")
        .arg(image)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "fsck.vfat -n: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// A camera whose first fixture recording is altered by `alter`; the others stay good.
fn camera_with_one_bad(alter: impl FnOnce(&mut Recording)) -> (CameraSpec, String) {
    let mut spec = CameraSpec::fixture(SERIAL);
    let first = &mut spec.recordings[0];
    alter(first);
    let stem = first.stem.clone();
    (spec, stem)
}

/// The fixture sidecar's spec, so that one field can be changed and the whole re-rendered.
fn spec_of(rec: &Recording) -> SidecarSpec {
    let text = String::from_utf8(rec.sidecar.clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let body = |l: &str| {
        l.trim_start_matches('$')
            .split('*')
            .next()
            .unwrap()
            .to_string()
    };
    let header: Vec<String> = body(lines[0]).split(',').map(String::from).collect();
    let trailer: Vec<String> = body(lines[lines.len() - 1])
        .split(',')
        .map(String::from)
        .collect();
    SidecarSpec {
        serial: header[3].clone(),
        firmware: header[4].clone(),
        video_name: header[5].clone(),
        start: header[6].parse().unwrap(),
        prerecord: header[7].parse().unwrap(),
        end: Some(trailer[2].parse().unwrap()),
        video_size: trailer[3].parse().unwrap(),
        video_sha256: trailer[4].clone(),
        fixes: lines[1..lines.len() - 1].iter().map(|l| body(l)).collect(),
        crlf: text.contains("\r\n"),
    }
}

/// Ingests a camera with one bad recording and checks it alone is quarantined, kept on the
/// camera, stored in quarantine with its hashes, and that the others are confirmed and wiped.
fn assert_only_that_one_quarantined(spec: &CameraSpec, stem: &str, code: &str) {
    let bench = Bench::new();
    let image = bench.image(spec, Layout::Superfloppy);
    let report = bench.ingest(&image);
    assert_eq!(report.exit_code(), 1, "{}", report.summary());
    let bad = by_stem(&report, stem);
    assert_eq!(bad.status, Status::Quarantined, "{bad:#?}");
    assert!(!bad.wiped);
    assert!(
        reason_codes(bad).iter().any(|c| c == code),
        "expected {code}: {:?}",
        bad.reasons
    );
    let stored = bad
        .stored_path
        .as_ref()
        .expect("a quarantined video is stored");
    assert!(
        stored.starts_with(bench.store().join("quarantine")),
        "{}",
        stored.display()
    );
    let rec = spec.recordings.iter().find(|r| r.stem == stem).unwrap();
    assert_eq!(fs::read(stored).unwrap(), rec.video);
    assert!(
        bench
            .stored_files()
            .iter()
            .any(|f| f.ends_with(&format!("{stem}.reasons.txt")))
    );

    let left = list_fat_image(&image, Layout::Superfloppy);
    assert!(left.contains(&rec.video_path()), "{left:?}");
    assert!(left.contains(&rec.sidecar_path()), "{left:?}");
    for other in report.recordings.iter().filter(|r| r.stem != stem) {
        assert_eq!(other.status, Status::Confirmed, "{other:#?}");
        assert!(other.wiped);
    }
    let states = bench.states();
    assert!(
        states.contains(&(stem.to_string(), "quarantined".to_string())),
        "{states:?}"
    );
}

#[test]
fn rule_1_a_bad_sidecar_checksum_quarantines() {
    let (spec, stem) = camera_with_one_bad(|r| {
        let mut text = String::from_utf8(r.sidecar.clone()).unwrap();
        // Change one character of the second line's content but not its checksum.
        let second = text.find('\n').unwrap() + 1;
        let comma = second + text[second..].find(',').unwrap();
        text.replace_range(comma + 1..comma + 2, "9");
        r.sidecar = text.into_bytes();
    });
    assert_only_that_one_quarantined(&spec, &stem, "sidecar-checksum");
}

#[test]
fn rule_1_a_missing_trailer_quarantines() {
    let (spec, stem) = camera_with_one_bad(|r| {
        let mut s = spec_of(r);
        s.end = None;
        r.sidecar = s.render();
    });
    assert_only_that_one_quarantined(&spec, &stem, "sidecar-no-trailer");
}

#[test]
fn rule_1_a_header_naming_another_camera_quarantines() {
    let (spec, stem) = camera_with_one_bad(|r| {
        let mut s = spec_of(r);
        s.serial = "SNTL-00099".into();
        r.sidecar = s.render();
    });
    assert_only_that_one_quarantined(&spec, &stem, "sidecar-serial");
}

#[test]
fn rule_1_a_header_naming_another_video_quarantines() {
    let (spec, stem) = camera_with_one_bad(|r| {
        let mut s = spec_of(r);
        s.video_name = "SNTL-00042_20180312_143015_0009.MP4".into();
        r.sidecar = s.render();
    });
    assert_only_that_one_quarantined(&spec, &stem, "sidecar-file-name");
}

#[test]
fn rule_2_a_duration_that_disagrees_with_the_sidecar_quarantines() {
    let (spec, stem) = camera_with_one_bad(|r| {
        let mut s = spec_of(r);
        s.end = s.end.map(|e| e + chrono::TimeDelta::seconds(5));
        r.sidecar = s.render();
    });
    assert_only_that_one_quarantined(&spec, &stem, "duration-mismatch");
}

#[test]
fn rule_2_a_truncated_video_quarantines_even_when_its_sidecar_agrees() {
    let (spec, stem) = camera_with_one_bad(|r| {
        r.video.truncate(r.video.len() / 2);
        let mut s = spec_of(r);
        s.video_size = r.video.len() as u64;
        s.video_sha256 = sha256_hex(&r.video);
        r.sidecar = s.render();
    });
    assert_only_that_one_quarantined(&spec, &stem, "bmff-truncated");
}

#[test]
fn rule_3_a_size_that_disagrees_with_the_trailer_quarantines() {
    let (spec, stem) = camera_with_one_bad(|r| {
        let mut s = spec_of(r);
        s.video_size += 1;
        r.sidecar = s.render();
    });
    assert_only_that_one_quarantined(&spec, &stem, "size-mismatch");
}

#[test]
fn rule_3_a_sha256_that_disagrees_with_the_trailer_quarantines() {
    let (spec, stem) = camera_with_one_bad(|r| {
        let mut s = spec_of(r);
        s.video_sha256 = "0".repeat(64);
        r.sidecar = s.render();
    });
    assert_only_that_one_quarantined(&spec, &stem, "sha256-mismatch");
}

#[test]
fn a_video_without_sidecar_is_quarantined_and_kept() {
    let mut spec = CameraSpec::fixture(SERIAL);
    let rec = spec.recordings.remove(0);
    spec.extra_files.push((rec.video_path(), rec.video.clone()));
    let bench = Bench::new();
    let image = bench.image(&spec, Layout::Superfloppy);
    let report = bench.ingest(&image);
    let r = by_stem(&report, &rec.stem);
    assert_eq!(r.status, Status::Quarantined);
    assert!(
        reason_codes(r).contains(&"sidecar-missing".to_string()),
        "{:?}",
        r.reasons
    );
    assert!(list_fat_image(&image, Layout::Superfloppy).contains(&rec.video_path()));
}

#[test]
fn hostile_and_foreign_names_are_reported_never_used_and_never_wiped() {
    let mut spec = CameraSpec::fixture(SERIAL);
    let good = &spec.recordings[0];
    let day = good.day().to_string();
    let hostile = [
        format!("DCIM/{day}/SNTL-00042_{day}_120000_0009.mp4"), // wrong case of extension
        format!("DCIM/{day}/SNTL-00042_{day}_143015_0000.MP4"), // sequence 0000
        format!("DCIM/{day}/SNTL-00042_{day}_250000_0005.MP4"), // hour 25
        format!("DCIM/{day}/sntl 00042 evil.MP4"),
        format!("DCIM/{day}/..hidden.MP4"),
        format!("DCIM/{day}/con.txt"),
        "DCIM/20180399/SNTL-00042_20180399_120000_0006.MP4".to_string(), // no such day
        "DCIM/20180314/SNTL-00042_20180312_120000_0007.MP4".to_string(), // filed under another day
        "DCIM/README.TXT".to_string(),
        format!("DCIM/{day}/NESTED/SNTL-00042_{day}_120000_0008.MP4"),
    ];
    for path in &hostile {
        spec.extra_files
            .push((path.clone(), b"not evidence".to_vec()));
    }
    let bench = Bench::new();
    let image = bench.image(&spec, Layout::Superfloppy);
    let report = bench.ingest(&image);
    assert_eq!(
        report.exit_code(),
        1,
        "ignored names need a person's attention"
    );
    assert!(
        report.ignored.len() >= hostile.len() - 1,
        "{:#?}",
        report.ignored
    );
    for r in &report.recordings {
        assert_eq!(r.status, Status::Confirmed, "{r:#?}");
    }
    let left = list_fat_image(&image, Layout::Superfloppy);
    for path in &hostile {
        assert!(
            left.contains(path),
            "{path} was removed from the camera: {left:?}"
        );
    }
    // Nothing but the fixtures' recordings reached the store.
    for f in bench.stored_files() {
        let name = Path::new(&f)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let stem = name.split('.').next().unwrap();
        assert!(
            spec.recordings.iter().any(|r| r.stem == stem),
            "unexpected stored file {f}"
        );
    }
}

#[test]
fn a_disagreeing_usb_serial_and_device_ini_wipes_nothing() {
    let bench = Bench::new();
    let spec = CameraSpec::fixture(SERIAL);
    let image = bench.image(&spec, Layout::Superfloppy);
    let before = fs::read(&image).unwrap();
    let options = Options {
        usb_serial: Some("SNTL-00099".into()),
        ..Options::default()
    };
    let report = bench.ingest_with(&image, &options).unwrap();
    assert_eq!(report.exit_code(), 1);
    for r in &report.recordings {
        assert_eq!(r.status, Status::Quarantined);
        assert!(
            reason_codes(r).contains(&"camera-identity".to_string()),
            "{:?}",
            r.reasons
        );
    }
    assert_eq!(
        fs::read(&image).unwrap(),
        before,
        "the camera must be untouched"
    );
}

#[test]
fn a_camera_without_any_identity_is_refused_before_anything_is_copied() {
    let bench = Bench::new();
    let mut spec = CameraSpec::fixture(SERIAL);
    spec.device_ini = None;
    let image = bench.image(&spec, Layout::Superfloppy);
    let err = bench.ingest_with(&image, &Options::default()).unwrap_err();
    let text = sentinel_dock::base::error::chain(&err);
    assert!(text.contains("--serial"), "{text}");
    assert!(bench.stored_files().is_empty());
}

/// Flips one byte of the stored copy on disk after it is written, `times` times.
struct FlipAfterWrite {
    remaining: AtomicU32,
}

impl StoreFaults for FlipAfterWrite {
    fn after_write(&self, temp: &Path) -> std::io::Result<()> {
        let left = self.remaining.load(Ordering::SeqCst);
        if left == 0 || !temp.to_string_lossy().contains(".MP4") {
            return Ok(());
        }
        self.remaining.store(left - 1, Ordering::SeqCst);
        let mut bytes = fs::read(temp)?;
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x01;
        fs::write(temp, bytes)
    }
}

#[test]
fn a_copy_corrupted_before_read_back_is_never_trusted_nor_wiped() {
    let bench = Bench::new();
    let mut spec = CameraSpec::fixture(SERIAL);
    spec.recordings.truncate(1);
    let stem = spec.recordings[0].stem.clone();
    let image = bench.image(&spec, Layout::Superfloppy);
    let faults = Arc::new(FlipAfterWrite {
        remaining: AtomicU32::new(u32::MAX),
    });
    let report =
        ingest_faulty_store(&bench.config, &image, Some(faults), &Options::default()).unwrap();
    let r = by_stem(&report, &stem);
    assert_eq!(r.status, Status::Failed, "{r:#?}");
    assert!(!r.wiped);
    assert_eq!(report.exit_code(), 3);
    // The technician is told what happened and what to check.
    let why = sentinel_dock::app::ingest::joined_reasons(&r.reasons);
    assert!(
        why.contains("read back from disk differs from the camera's bytes"),
        "{why}"
    );
    assert!(
        why.contains("check the RAID and the machine's memory"),
        "{why}"
    );
    assert!(list_fat_image(&image, Layout::Superfloppy).contains(&spec.recordings[0].video_path()));
    let videos: Vec<_> = bench
        .stored_files()
        .into_iter()
        .filter(|f| f.contains(".MP4"))
        .collect();
    assert!(videos.is_empty(), "no unproven copy may stay: {videos:?}");
    assert_eq!(bench.states(), [(stem, "discovered".to_string())]);
}

#[test]
fn a_copy_corrupted_once_is_copied_again_from_the_camera_and_confirmed() {
    let bench = Bench::new();
    let spec = CameraSpec::fixture(SERIAL);
    let image = bench.image(&spec, Layout::Superfloppy);
    let faults = Arc::new(FlipAfterWrite {
        remaining: AtomicU32::new(1),
    });
    let report =
        ingest_faulty_store(&bench.config, &image, Some(faults), &Options::default()).unwrap();
    assert_all_confirmed_and_wiped(&bench, &spec, &report);
}

#[test]
fn a_rerun_after_a_cut_off_wipe_stores_nothing_twice_and_finishes_the_wipe() {
    let bench = Bench::new();
    let spec = CameraSpec::fixture(SERIAL);
    let image = bench.image(&spec, Layout::Superfloppy);
    let untouched = fs::read(&image).unwrap();
    let first = bench.ingest(&image);
    assert_all_confirmed_and_wiped(&bench, &spec, &first);
    let stored = bench.stored_files();

    // As if the wipe had never reached the camera: the same volume docks again.
    fs::write(&image, &untouched).unwrap();
    let again = bench.ingest(&image);
    assert_eq!(again.exit_code(), 0, "{}", again.summary());
    for r in &again.recordings {
        assert_eq!(r.status, Status::AlreadyStored, "{r:#?}");
        assert!(r.wiped);
    }
    assert_eq!(bench.stored_files(), stored, "nothing stored twice");
    assert_eq!(
        bench.states().len(),
        spec.recordings.len(),
        "one register row per recording"
    );
    assert!(
        !list_fat_image(&image, Layout::Superfloppy)
            .iter()
            .any(|f| f.contains("SNTL"))
    );
}

#[test]
fn a_rerun_of_a_quarantined_camera_stores_nothing_twice() {
    let (spec, stem) = camera_with_one_bad(|r| {
        let mut s = spec_of(r);
        s.end = None;
        r.sidecar = s.render();
    });
    let bench = Bench::new();
    let image = bench.image(&spec, Layout::Superfloppy);
    bench.ingest(&image);
    let stored = bench.stored_files();
    let again = bench.ingest(&image);
    assert_eq!(by_stem(&again, &stem).status, Status::Quarantined);
    assert_eq!(bench.stored_files(), stored);
    assert_eq!(bench.states().len(), spec.recordings.len());
}

#[test]
fn same_name_other_content_is_a_conflict_both_kept_nothing_wiped() {
    let bench = Bench::new();
    let spec = CameraSpec::fixture(SERIAL);
    let first = bench.ingest(&bench.image(&spec, Layout::Superfloppy));
    assert_eq!(first.exit_code(), 0);

    // A second camera volume reusing the first stem for other bytes (a reset sequence counter).
    let mut other = CameraSpec::fixture(SERIAL);
    other.recordings.truncate(1);
    let rec = &mut other.recordings[0];
    let original = rec.video.clone();
    rec.video.extend_from_slice(&[0u8; 16]); // a `free`-less tail: other bytes, same name
    let mut s = spec_of(rec);
    s.video_size = rec.video.len() as u64;
    s.video_sha256 = sha256_hex(&rec.video);
    rec.sidecar = s.render();
    let rec = rec.clone();
    let image = bench.image(&other, Layout::Superfloppy);
    let report = bench.ingest(&image);
    let r = &report.recordings[0];
    assert!(!r.wiped, "{r:#?}");
    assert_eq!(r.status, Status::Quarantined);
    let first_copy = by_stem(&first, &rec.stem).stored_path.clone().unwrap();
    assert_eq!(
        fs::read(first_copy).unwrap(),
        original,
        "the first copy is intact"
    );
    assert_eq!(
        fs::read(r.stored_path.as_ref().unwrap()).unwrap(),
        rec.video
    );
    assert!(list_fat_image(&image, Layout::Superfloppy).contains(&rec.video_path()));
}

#[test]
fn a_store_without_room_copies_and_wipes_nothing() {
    let bench = Bench::with("");
    let mut config = bench.config.clone();
    config.store.reserve = sentinel_dock::base::config::ByteSize(u64::MAX / 2);
    let spec = CameraSpec::fixture(SERIAL);
    let image = bench.image(&spec, Layout::Superfloppy);
    let before = fs::read(&image).unwrap();
    let err = ingest_once(&config, &image, &Options::default()).unwrap_err();
    assert!(matches!(err, IngestError::NoRoom { .. }), "{err}");
    assert!(err.to_string().contains("store.reserve"), "{err}");
    assert!(bench.stored_files().is_empty());
    assert_eq!(fs::read(&image).unwrap(), before);
}

#[test]
fn overwrite_mode_leaves_no_trace_of_the_video_on_the_camera() {
    let bench = Bench::with("[wipe]\nmode = \"overwrite\"\n");
    let spec = CameraSpec::fixture(SERIAL);
    let image = bench.image(&spec, Layout::Superfloppy);
    let report = bench.ingest(&image);
    assert_all_confirmed_and_wiped(&bench, &spec, &report);
    let bytes = fs::read(&image).unwrap();
    for rec in &spec.recordings {
        let probe = &rec.video[rec.video.len() / 2..rec.video.len() / 2 + 64];
        assert!(
            !bytes.windows(64).any(|w| w == probe),
            "{}'s bytes remain",
            rec.stem
        );
    }
}

#[test]
fn a_fragmented_mp4_is_confirmed_from_its_fragments() {
    let bench = Bench::new();
    let mut spec = CameraSpec::fixture(SERIAL);
    spec.recordings.retain(|r| r.stem.ends_with("_0004"));
    assert_eq!(
        spec.recordings.len(),
        1,
        "fixture _0004 is the fragmented one"
    );
    let report = bench.ingest(&bench.image(&spec, Layout::Superfloppy));
    assert_all_confirmed_and_wiped(&bench, &spec, &report);
}

/// Cancels the ingest from inside the store's writer: as if the camera were pulled mid-copy.
struct CancelDuringCopy(ingest::Cancel);

impl StoreFaults for CancelDuringCopy {
    fn after_write(&self, _temp: &Path) -> std::io::Result<()> {
        self.0.cancel();
        Ok(())
    }
}

#[test]
fn a_cancelled_ingest_wipes_nothing_leaves_no_partial_file_and_the_next_run_finishes() {
    let bench = Bench::new();
    let spec = CameraSpec::fixture(SERIAL);
    let image = bench.image(&spec, Layout::Superfloppy);
    let before = fs::read(&image).unwrap();
    let cancel = ingest::Cancel::new();
    let progress = ingest::Progress::new();
    let options = Options {
        cancel: cancel.clone(),
        progress: Some(progress.clone()),
        ..Options::default()
    };
    let faults = Arc::new(CancelDuringCopy(cancel));
    let err = ingest_faulty_store(&bench.config, &image, Some(faults), &options).unwrap_err();
    assert!(matches!(err, IngestError::Cancelled), "{err}");
    assert_eq!(fs::read(&image).unwrap(), before, "nothing wiped");
    assert!(!bench.stored_files().iter().any(|f| f.contains(".partial-")));
    assert!(progress.snapshot().bytes_done > 0);
    let outcome: String = bench
        .register()
        .query_row("SELECT outcome FROM sessions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(outcome, "cancelled");

    // What was committed before the cancel is recognised; the rest is copied now.
    let report = bench.ingest(&image);
    assert_eq!(report.exit_code(), 0, "{}", report.summary());
    assert!(
        report
            .recordings
            .iter()
            .any(|r| r.status == Status::AlreadyStored)
    );
    assert!(
        report
            .recordings
            .iter()
            .any(|r| r.status == Status::Confirmed)
    );
    assert!(report.recordings.iter().all(|r| r.wiped));
    let videos = bench
        .stored_files()
        .into_iter()
        .filter(|f| f.ends_with(".MP4"))
        .count();
    assert_eq!(videos, spec.recordings.len(), "each video stored once");
}

#[test]
fn a_sidecar_without_its_video_is_stored_in_quarantine_and_kept() {
    let mut spec = CameraSpec::fixture(SERIAL);
    let rec = spec.recordings.remove(0);
    spec.extra_files
        .push((rec.sidecar_path(), rec.sidecar.clone()));
    let bench = Bench::new();
    let image = bench.image(&spec, Layout::Superfloppy);
    let report = bench.ingest(&image);
    assert_eq!(report.exit_code(), 1);
    let r = by_stem(&report, &rec.stem);
    assert_eq!(r.status, Status::Quarantined, "{r:#?}");
    assert_eq!(r.file_name, format!("{}.NMEA", rec.stem));
    assert!(
        reason_codes(r).contains(&"video-missing".to_string()),
        "{:?}",
        r.reasons
    );
    let sidecar = r.sidecar.as_ref().expect("the sidecar is stored");
    assert!(
        sidecar
            .stored_path
            .starts_with(bench.store().join("quarantine"))
    );
    assert_eq!(fs::read(&sidecar.stored_path).unwrap(), rec.sidecar);
    assert!(list_fat_image(&image, Layout::Superfloppy).contains(&rec.sidecar_path()));
}
