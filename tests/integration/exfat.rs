//! exFAT cameras end to end: volumes made by `mkfs.exfat` and filled through `exfat-fuse`
//! (tools nobody here wrote), ingested by us, then checked by `fsck.exfat -n` and by
//! mounting them again. Root only (loop devices, FUSE).
#![allow(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fail the test by panicking, like the tests"
)]

use std::fs;
use std::io::Read;
use std::path::Path;

use crate::common::*;
use sentinel_dock::app::ingest::{IngestReport, Options, Status};
use sentinel_dock::base::config::{Config, Profile, WipeMode};
use sentinel_dock::camera::volume::{self, Access, VolumeKind, VolumePath};
use sha2::{Digest, Sha256};

struct Bench {
    dir: tempfile::TempDir,
    config: Config,
}

impl Bench {
    fn with(extra_toml: &str) -> Bench {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "[store]\npath = \"store\"\nreserve = 0\n[register]\npath = \"register.sqlite\"\n{extra_toml}"
        );
        let config = Config::from_toml(&text, dir.path()).unwrap();
        Bench { dir, config }
    }

    fn ingest(&self, source: &Path) -> IngestReport {
        crate::common::ingest_once(&self.config, source, &Options::default()).unwrap()
    }
}

fn vpath(p: &str) -> VolumePath {
    VolumePath::new(&p.split('/').collect::<Vec<_>>())
}

/// The fixture camera plus files whose names only the volume's up-case table compares
/// (accented and Cyrillic lower case), left alone by the ingest and read back after it.
fn camera() -> CameraSpec {
    let mut spec = CameraSpec::fixture(SERIAL);
    spec.extra_files
        .push(("LOG/journal-été-ß.txt".into(), b"accents\n".to_vec()));
    spec.extra_files
        .push(("LOG/журнал.txt".into(), b"cyrillic\n".to_vec()));
    spec.extra_files
        .push(("NOTES.TXT".into(), b"not a recording\n".to_vec()));
    spec
}

fn assert_confirmed_and_wiped(spec: &CameraSpec, report: &IngestReport) {
    assert_eq!(report.exit_code(), 0, "{}", report.summary());
    assert_eq!(
        report.recordings.len(),
        spec.recordings.len(),
        "{}",
        report.summary()
    );
    for r in &report.recordings {
        assert_eq!(r.status, Status::Confirmed, "{r:#?}");
        assert!(r.wiped, "{r:#?}");
        let rec = spec.recordings.iter().find(|x| x.stem == r.stem).unwrap();
        assert_eq!(
            fs::read(r.stored_path.as_ref().unwrap()).unwrap(),
            rec.video
        );
    }
}

/// After a full wipe: fsck clean, recordings gone and their clusters free again (fsck.exfat
/// does not count lost clusters, exfat-fuse's free space does), every other file byte for byte.
fn assert_only_recordings_gone(image: &Path, spec: &CameraSpec, free_before: u64) {
    let cluster = cluster_bytes(image);
    let freed: u64 = spec
        .recordings
        .iter()
        .map(|r| {
            (r.video.len() as u64).div_ceil(cluster) + (r.sidecar.len() as u64).div_ceil(cluster)
        })
        .sum::<u64>()
        * cluster;
    assert_eq!(
        free_bytes(image),
        free_before + freed,
        "the wiped files' clusters are not all free"
    );
    let (clean, report) = fsck_exfat(image);
    assert!(clean, "fsck.exfat -n after the wipe:\n{report}");
    let files = list_exfat_image(image);
    for rec in &spec.recordings {
        assert!(
            !files.contains(&rec.video_path()),
            "{} still there",
            rec.video_path()
        );
        assert!(
            !files.contains(&rec.sidecar_path()),
            "{} still there",
            rec.sidecar_path()
        );
    }
    let mounted = Mounted::new(image);
    let kept: Vec<(String, Vec<u8>)> = spec
        .extra_files
        .iter()
        .cloned()
        .chain(
            spec.device_ini
                .clone()
                .map(|i| ("DEVICE.INI".to_string(), i.into_bytes())),
        )
        .collect();
    for (path, bytes) in kept {
        let got = fs::read(mounted.dir.join(&path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(got, bytes, "{path} changed");
    }
}

#[test]
#[ignore = "needs root"]
fn an_exfat_camera_is_ingested_confirmed_and_wiped_leaving_everything_else() {
    let bench = Bench::with("");
    let spec = camera();
    let image = build_exfat_image(&spec, bench.dir.path(), &ExfatOptions::default());
    let v = volume::open(&image, &Profile::default(), Access::ReadOnly).unwrap();
    assert_eq!(
        v.info().kind,
        VolumeKind::Exfat {
            partition_offset: 0
        }
    );
    assert_eq!(v.info().label.as_deref(), Some("SENTINEL"));
    drop(v);
    assert!(
        chained(&image, &spec).contains(&false),
        "no contiguous (NoFatChain) recording"
    );
    let free_before = free_bytes(&image);
    let report = bench.ingest(&image);
    assert_confirmed_and_wiped(&spec, &report);
    assert_only_recordings_gone(&image, &spec, free_before);
}

#[test]
#[ignore = "needs root"]
fn a_fragmented_exfat_camera_in_overwrite_mode_leaves_no_trace_of_its_videos() {
    let bench = Bench::with("[wipe]\nmode = \"overwrite\"\n");
    let spec = camera();
    let options = ExfatOptions {
        fragment: true,
        cluster_kib: Some(4),
        ..ExfatOptions::default()
    };
    let image = build_exfat_image(&spec, bench.dir.path(), &options);
    assert!(
        chained(&image, &spec).contains(&true),
        "no fragmented (FAT-chained) recording"
    );
    let free_before = free_bytes(&image);
    let report = bench.ingest(&image);
    assert_confirmed_and_wiped(&spec, &report);
    assert_only_recordings_gone(&image, &spec, free_before);
    let raw = fs::read(&image).unwrap();
    for rec in &spec.recordings {
        let probe = &rec.video[rec.video.len() / 2..rec.video.len() / 2 + 64];
        assert!(
            !raw.windows(64).any(|w| w == probe),
            "{} left bytes on the camera",
            rec.stem
        );
    }
}

/// A camera's two names that differ only in case as this volume's up-case table says are
/// both refused, never one picked; `exfat-fuse` refuses to create them, so the second is
/// renamed on the raw image (its set checksum and name hash recomputed by the test).
#[test]
#[ignore = "needs root"]
fn the_up_case_table_decides_which_names_are_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = CameraSpec::new(SERIAL);
    spec.extra_files
        .push(("DCIM/20240101/é.MP4".into(), b"one".to_vec()));
    spec.extra_files
        .push(("DCIM/20240101/x.MP4".into(), b"two".to_vec()));
    let image = build_exfat_image(&spec, dir.path(), &ExfatOptions::default());
    let mut raw = RawExfat::read(&image);
    let entry = raw.file_entry("x.MP4");
    // x -> É: the same name as é through the up-case table, another name byte for byte.
    raw.bytes[entry + 66..entry + 68].copy_from_slice(&0xC9u16.to_le_bytes());
    let hash = name_hash(&"É.MP4".encode_utf16().collect::<Vec<_>>());
    raw.bytes[entry + 36..entry + 38].copy_from_slice(&hash.to_le_bytes());
    let sum = set_checksum(&raw.bytes[entry..entry + 96]);
    raw.bytes[entry + 2..entry + 4].copy_from_slice(&sum.to_le_bytes());
    raw.write(&image);
    let mut v = volume::open(&image, &Profile::default(), Access::ReadOnly).unwrap();
    let scan = v.scan().unwrap();
    assert!(scan.damage.is_empty(), "{:?}", scan.damage);
    assert!(scan.files.is_empty(), "{:?}", scan.files);
    assert_eq!(scan.ignored.len(), 2, "{:?}", scan.ignored);
    assert!(scan.ignored.iter().all(|i| i.reason.contains("ambiguous")));
}

/// For each recording's video, whether its clusters are chained through the FAT
/// (NoFatChain clear), as exfat-fuse wrote them.
fn chained(image: &Path, spec: &CameraSpec) -> Vec<bool> {
    let raw = RawExfat::read(image);
    spec.recordings
        .iter()
        .map(|r| raw.bytes[raw.file_entry(&format!("{}.MP4", r.stem)) + 33] & 0x02 == 0)
        .collect()
}

fn set_checksum(set: &[u8]) -> u16 {
    set.iter()
        .enumerate()
        .filter(|(i, _)| *i != 2 && *i != 3)
        .fold(0u16, |s, (_, &b)| {
            s.rotate_right(1).wrapping_add(u16::from(b))
        })
}

/// NameHash for names whose up-case is plain Latin-1 (what these tests use).
fn name_hash(name: &[u16]) -> u16 {
    let up = |u: u16| match u {
        0x61..=0x7A => u - 0x20,
        0xE0..=0xFE if u != 0xF7 => u - 0x20,
        _ => u,
    };
    name.iter()
        .flat_map(|&u| up(u).to_le_bytes())
        .fold(0u16, |h, b| h.rotate_right(1).wrapping_add(u16::from(b)))
}

#[test]
#[ignore = "needs root"]
fn a_damaged_set_checksum_wipes_nothing_and_writes_nothing() {
    let bench = Bench::with("");
    let spec = camera();
    let image = build_exfat_image(&spec, bench.dir.path(), &ExfatOptions::default());
    let mut raw = RawExfat::read(&image);
    let name = format!("{}.NMEA", spec.recordings[0].stem);
    let entry = raw.file_entry(&name);
    raw.bytes[entry + 8] ^= 0x01; // a timestamp bit: only the SetChecksum can tell
    raw.write(&image);
    let before = fs::read(&image).unwrap();
    let mut v = volume::open(&image, &Profile::default(), Access::ReadOnly).unwrap();
    let scan = v.scan().unwrap();
    assert!(
        scan.damage.iter().any(|d| d.code == "set-checksum"),
        "{:?}",
        scan.damage
    );
    drop(v);
    let report = bench.ingest(&image);
    assert!(
        report.recordings.iter().all(|r| !r.wiped),
        "{}",
        report.summary()
    );
    assert!(
        fs::read(&image).unwrap() == before,
        "the damaged volume was written to"
    );
}

#[test]
#[ignore = "needs root"]
fn a_bitmap_that_disagrees_with_a_chain_wipes_nothing_and_writes_nothing() {
    let bench = Bench::with("");
    let spec = camera();
    let image = build_exfat_image(&spec, bench.dir.path(), &ExfatOptions::default());
    let mut raw = RawExfat::read(&image);
    let entry = raw.file_entry(&format!("{}.MP4", spec.recordings[0].stem));
    let index = (raw.first_cluster(entry) - 2) as usize;
    let bitmap = raw.bitmap_offset();
    raw.bytes[bitmap + index / 8] &= !(1 << (index % 8));
    raw.write(&image);
    let before = fs::read(&image).unwrap();
    let mut v = volume::open(&image, &Profile::default(), Access::ReadWrite).unwrap();
    let scan = v.scan().unwrap();
    assert!(
        scan.damage.iter().any(|d| d.code == "bitmap-mismatch"),
        "{:?}",
        scan.damage
    );
    let err = v.wipe(&scan.files[0].path, WipeMode::Delete).unwrap_err();
    assert!(err.to_string().contains("exfat volume is damaged"), "{err}");
    v.close().unwrap();
    let report = bench.ingest(&image);
    assert!(
        report.recordings.iter().all(|r| !r.wiped),
        "{}",
        report.summary()
    );
    assert!(
        fs::read(&image).unwrap() == before,
        "the damaged volume was written to"
    );
}

/// The state a wipe cut off after its entry set was marked not in use (and before the
/// bitmap was freed) leaves: lost clusters (which `fsck.exfat -n` 1.2.0 does not count).
/// The next docking recognises them as those files' and frees them.
#[test]
#[ignore = "needs root"]
fn a_cut_off_wipe_is_finished_at_the_next_docking() {
    let bench = Bench::with("");
    let spec = camera();
    let image = build_exfat_image(
        &spec,
        bench.dir.path(),
        &ExfatOptions {
            fragment: true,
            cluster_kib: Some(4),
            ..ExfatOptions::default()
        },
    );
    let free_before = free_bytes(&image);
    let mut raw = RawExfat::read(&image);
    let cut = &spec.recordings[0];
    for name in [format!("{}.MP4", cut.stem), format!("{}.NMEA", cut.stem)] {
        let entry = raw.file_entry(&name);
        let count = 1 + usize::from(raw.bytes[entry + 1]);
        for k in 0..count {
            raw.bytes[entry + 32 * k] &= 0x7F;
        }
    }
    raw.bytes[106] |= 0x02; // VolumeDirty, as the wipe's first step leaves it
    raw.write(&image);
    assert_eq!(
        free_bytes(&image),
        free_before,
        "the cut-off state keeps the clusters allocated"
    );
    let report = bench.ingest(&image);
    assert_eq!(report.exit_code(), 0, "{}", report.summary());
    let rest = CameraSpec {
        recordings: spec.recordings[1..].to_vec(),
        ..spec.clone()
    };
    assert_confirmed_and_wiped(&rest, &report);
    assert_only_recordings_gone(&image, &spec, free_before);
    assert_eq!(
        fs::read(&image).unwrap()[106] & 0x02,
        0,
        "VolumeDirty left set"
    );
}

/// exFAT has no 4 GiB limit: a recording over 4 GiB is read whole (its SHA-256 against
/// the bytes written) and wiped. Volume level: an MP4 this large would take ffmpeg minutes.
#[test]
#[ignore = "needs root"]
fn a_recording_over_4_gib_is_read_whole_and_wiped() {
    let dir = tempfile::tempdir().unwrap();
    let size: u64 = (4 << 30) + 12345;
    let mut spec = CameraSpec::new(SERIAL);
    spec.extra_files
        .push(("LOG/keep.txt".into(), b"kept\n".to_vec()));
    let options = ExfatOptions {
        size_mib: Some(4200),
        ..ExfatOptions::default()
    };
    let image = build_exfat_image(&spec, dir.path(), &options);
    // One pseudo-random MiB, each copy stamped with its index: order and position count.
    let mut block: Vec<u8> = (0..1u32 << 18)
        .flat_map(|i| i.wrapping_mul(2_654_435_761).to_le_bytes())
        .collect();
    let mut written = Sha256::new();
    {
        let mounted = Mounted::new(&image);
        let day = mounted.dir.join("DCIM/20240101");
        fs::create_dir_all(&day).unwrap();
        let mut f = std::io::BufWriter::with_capacity(
            4 << 20,
            fs::File::create(day.join("BIG.MP4")).unwrap(),
        );
        let (mut left, mut n) = (size, 0u64);
        while left > 0 {
            block[..8].copy_from_slice(&n.to_le_bytes());
            let len = left.min(block.len() as u64) as usize;
            std::io::Write::write_all(&mut f, &block[..len]).unwrap();
            written.update(&block[..len]);
            left -= len as u64;
            n += 1;
        }
    }
    let mut v = volume::open(&image, &Profile::default(), Access::ReadWrite).unwrap();
    let scan = v.scan().unwrap();
    assert!(scan.damage.is_empty(), "{:?}", scan.damage);
    assert_eq!(scan.files.len(), 1);
    assert_eq!(scan.files[0].size, size);
    {
        let mut reader = v.open_file(&vpath("DCIM/20240101/BIG.MP4")).unwrap();
        let mut read = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut total = 0u64;
        loop {
            let got = reader.read(&mut buf).unwrap();
            if got == 0 {
                break;
            }
            read.update(&buf[..got]);
            total += got as u64;
        }
        assert_eq!(total, size);
        assert!(
            read.finalize() == written.finalize(),
            "the bytes read differ from those written"
        );
    }
    v.wipe(&vpath("DCIM/20240101/BIG.MP4"), WipeMode::Delete)
        .unwrap();
    v.close().unwrap();
    let (clean, report) = fsck_exfat(&image);
    assert!(clean, "{report}");
    assert_eq!(read_exfat_file(&image, "DCIM/20240101/BIG.MP4"), None);
    assert_eq!(
        read_exfat_file(&image, "LOG/keep.txt").as_deref(),
        Some(&b"kept\n"[..])
    );
}
