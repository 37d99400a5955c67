//! A short, seeded mutation fuzzer for CI, where cargo-fuzz's toolchain and sanitizer
//! builds would cost minutes: the same properties as the `fuzz/` targets (no panic, no
//! hang, bounded output), checked on mutations of the fixtures for a few seconds each.
//! `scripts/fuzz` runs the real coverage-guided fuzzers for as long as wanted.
#![allow(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fail the test by panicking, like the tests"
)]

use std::fs;
use std::io::Read;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::*;
use sentinel_dock::base::config::Profile;
use sentinel_dock::camera::evidence::{
    BmffLimits, BoxWalker, RecordingName, check_reader, escape_name, parse_day_dir, sidecar,
};
use sentinel_dock::camera::volume::{self, Access};

/// Time given to each target; the whole file stays near 30 s.
const BUDGET: Duration = Duration::from_secs(6);

/// Seeded mutations: bit flips, byte sets, interesting values, chunk copies, cuts, inserts.
struct Mutator(u64);

impl Mutator {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// An offset, half the time within the first `hot` bytes (headers, FATs, directories).
    fn offset(&mut self, len: usize, hot: usize) -> usize {
        if self.next().is_multiple_of(2) {
            self.below(len.min(hot))
        } else {
            self.below(len)
        }
    }

    fn mutate(&mut self, data: &mut Vec<u8>, hot: usize) {
        for _ in 0..1 + self.below(8) {
            if data.is_empty() {
                data.push(0);
            }
            let at = self.offset(data.len(), hot);
            match self.below(7) {
                0 => data[at] ^= 1 << self.below(8),
                1 => data[at] = self.next() as u8,
                2 => {
                    let v: [u8; 4] = [0, 0xFF, 0x7F, 0x80].map(|b| b ^ (self.next() as u8 & 1));
                    let end = (at + 4).min(data.len());
                    data[at..end].copy_from_slice(&v[..end - at]);
                }
                3 => {
                    let value =
                        [0u32, 1, 7, 8, 0xFFFF_FFFF, 0x7FFF_FFFF, 0x0FFF_FFF7][self.below(7)];
                    let end = (at + 4).min(data.len());
                    data[at..end].copy_from_slice(&value.to_be_bytes()[..end - at]);
                }
                4 => {
                    let from = self.below(data.len());
                    let n = self.below(64).min(data.len() - from).min(data.len() - at);
                    data.copy_within(from..from + n, at);
                }
                5 => {
                    let n = self.below(64).min(data.len() - at);
                    data.drain(at..at + n);
                }
                _ => {
                    let n = self.below(64);
                    let byte = self.next() as u8;
                    data.splice(at..at, std::iter::repeat_n(byte, n));
                }
            }
        }
    }
}

/// Mutates `seeds` for `BUDGET`, calling `check` on each input; returns the executions.
fn fuzz(name: &str, seeds: &[Vec<u8>], hot: usize, mut check: impl FnMut(&[u8])) -> u64 {
    let seed = 0x5EED ^ name.len() as u64;
    let mut m = Mutator(seed);
    let started = Instant::now();
    let mut runs = 0u64;
    for s in seeds {
        check(s);
    }
    while started.elapsed() < BUDGET {
        let mut input = seeds[m.below(seeds.len())].clone();
        m.mutate(&mut input, hot);
        check(&input);
        runs += 1;
    }
    println!("fuzz-smoke {name}: {runs} executions in {BUDGET:?} (seed {seed})");
    assert!(runs > 50, "{name}: too few executions to mean anything");
    runs
}

fn fixture_files(ext: &str) -> Vec<Vec<u8>> {
    fixture_recordings(SERIAL)
        .into_iter()
        .chain(fixture_recordings(SERIAL_2))
        .map(|r| if ext == "MP4" { r.video } else { r.sidecar })
        .collect()
}

#[test]
fn the_bmff_walker_never_panics_and_chunking_never_changes_its_report() {
    let limits = BmffLimits {
        max_meta_box_bytes: 1 << 16,
        max_boxes: 4096,
    };
    // The HEVC fixture too, so that mutations reach the other codecs' sample entries.
    let mut seeds = fixture_files("MP4");
    let codecs = fixtures_dir().join("codecs");
    for entry in std::fs::read_dir(&codecs).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "MP4") {
            seeds.push(std::fs::read(path).unwrap());
        }
    }
    fuzz("bmff", &seeds, 4096, |data| {
        let whole = check_reader(data, limits).expect("reading a slice cannot fail");
        let chunk = usize::from(data.first().copied().unwrap_or(1)).max(1);
        let mut walker = BoxWalker::new(limits);
        for piece in data.chunks(chunk) {
            walker.feed(piece);
        }
        assert_eq!(walker.finish(), whole);
        assert!(whole.codec_flags().iter().all(|f| f.len() < 4096));
    });
}

#[test]
fn the_sidecar_parser_never_panics_and_bounds_its_report() {
    let profile = Profile::default();
    fuzz("sidecar", &fixture_files("NMEA"), 256, |data| {
        let report = sidecar::parse(&profile, data);
        assert!(report.problems.len() <= 201 && report.flags.len() <= 32);
        for p in &report.problems {
            assert!(!p.to_string().chars().any(char::is_control), "{p}");
        }
    });
}

#[test]
fn names_never_panic_and_accepted_names_round_trip() {
    let profile = Profile::default();
    let seeds: Vec<Vec<u8>> = fixture_recordings(SERIAL)
        .iter()
        .flat_map(|r| {
            [
                format!("{}.MP4", r.stem),
                format!("{}.NMEA", r.stem),
                r.day().to_string(),
            ]
        })
        .map(String::into_bytes)
        .collect();
    fuzz("name", &seeds, 64, |data| {
        let Ok(text) = std::str::from_utf8(data) else {
            return;
        };
        match RecordingName::parse(&profile, text) {
            Ok((name, kind)) => assert_eq!(name.file_name(&profile, kind), text),
            Err(e) => assert!(!e.to_string().chars().any(char::is_control), "{e}"),
        }
        if let Some(day) = parse_day_dir(text) {
            assert_eq!(day.format("%Y%m%d").to_string(), text);
        }
        assert!(
            escape_name(text)
                .chars()
                .all(|c| c.is_ascii() && !c.is_control())
        );
    });
}

/// A 192 KiB FAT12 camera volume made by mkfs.vfat and mtools: small enough to mutate well.
fn small_fat_image(dir: &Path) -> Vec<u8> {
    require_tool("mkfs.vfat");
    let image = dir.join("seed.img");
    let mkfs = Command::new(tool_path("mkfs.vfat").unwrap())
        .args(["-C", "-F", "12", "-n", "SENTINEL"])
        .arg(&image)
        .arg("192")
        .output()
        .unwrap();
    assert!(mkfs.status.success());
    let mut spec = CameraSpec::new(SERIAL);
    let mut rec = fixture_recordings(SERIAL).remove(0);
    rec.video.truncate(6000);
    spec.recordings.push(rec);
    let staged = build_dir(&spec, dir);
    let entries: Vec<_> = fs::read_dir(&staged)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let out = Command::new(tool_path("mcopy").unwrap())
        .env("MTOOLS_SKIP_CHECK", "1")
        .env("MTOOLSRC", "/dev/null")
        .arg("-s")
        .arg("-i")
        .arg(&image)
        .args(&entries)
        .arg("::/")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    fs::read(&image).unwrap()
}

#[test]
fn the_volume_reader_survives_mutated_disk_images_within_its_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let seed = small_fat_image(dir.path());
    let path = dir.path().join("input.img");
    let profile = Profile {
        max_dir_entries: 512,
        scan_deadline_secs: 1,
        ..Profile::default()
    };
    fuzz("volume", &[seed], 16 * 1024, |data| {
        fs::write(&path, data).unwrap();
        let started = Instant::now();
        if let Ok(mut v) = volume::open(&path, &profile, Access::ReadOnly) {
            if let Ok(scan) = v.scan() {
                for file in &scan.files {
                    let _ = v.read_small(&file.path, 1 << 16);
                    if let Ok(mut r) = v.open_file(&file.path) {
                        let mut sink = [0u8; 1 << 16];
                        while let Ok(n) = r.read(&mut sink) {
                            if n == 0 {
                                break;
                            }
                        }
                    }
                }
            }
            let _ = v.close();
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "one image took {:?}",
            started.elapsed()
        );
    });
}

/// A 256 KiB exFAT camera volume made by mkfs.exfat (4 KiB clusters), holding a short
/// recording when exfat-fuse can mount it (root), else empty.
fn small_exfat_image(dir: &Path) -> Vec<u8> {
    require_tool("mkfs.exfat");
    let image = dir.join("seed-exfat.img");
    fs::File::create(&image)
        .unwrap()
        .set_len(256 << 10)
        .unwrap();
    let mkfs = Command::new(tool_path("mkfs.exfat").unwrap())
        .args(["-c", "4K", "-b", "4K", "-L", "SENTINEL"])
        .arg(&image)
        .output()
        .unwrap();
    assert!(
        mkfs.status.success(),
        "{}",
        String::from_utf8_lossy(&mkfs.stderr)
    );
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 && tool_path("mount.exfat-fuse").is_some() {
        let mut spec = CameraSpec::new(SERIAL);
        let mut rec = fixture_recordings(SERIAL).remove(0);
        rec.video.truncate(6000);
        spec.recordings.push(rec);
        let mounted = Mounted::new(&image);
        for (path, bytes) in spec.files() {
            let target = path.split('/').fold(mounted.dir.clone(), |p, c| p.join(c));
            fs::create_dir_all(target.parent().unwrap()).unwrap();
            fs::write(&target, bytes).unwrap();
        }
    } else {
        eprintln!("exfat seed: not root, so the seed volume holds no files");
    }
    fs::read(&image).unwrap()
}

#[test]
fn the_exfat_reader_survives_mutated_disk_images_within_its_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let seed = small_exfat_image(dir.path());
    let path = dir.path().join("input-exfat.img");
    let profile = Profile {
        max_dir_entries: 512,
        scan_deadline_secs: 1,
        ..Profile::default()
    };
    fuzz("exfat", &[seed], 32 * 1024, |data| {
        fs::write(&path, data).unwrap();
        let started = Instant::now();
        // Read-write: the wipe path meets the hostile volume too (on a throwaway copy).
        if let Ok(mut v) = volume::open(&path, &profile, Access::ReadWrite) {
            if let Ok(scan) = v.scan() {
                for file in &scan.files {
                    let _ = v.read_small(&file.path, 1 << 16);
                    if let Ok(mut r) = v.open_file(&file.path) {
                        let mut sink = [0u8; 1 << 16];
                        while let Ok(n) = r.read(&mut sink) {
                            if n == 0 {
                                break;
                            }
                        }
                    }
                    let _ = v.wipe(&file.path, sentinel_dock::base::config::WipeMode::Overwrite);
                }
            }
            let _ = v.close();
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "one image took {:?}",
            started.elapsed()
        );
    });
}
