//! A camera with a few unreadable sectors inside one recording: only that recording fails
//! and stays on the camera, with its unreadable clusters named; its neighbours, whose
//! bytes sit in the same read-ahead window, are confirmed and wiped. The device is a FUSE
//! file (tests/integration/faulty_device/faulty_device.py) that fails chosen byte ranges with EIO,
//! behind a loop device, so the real `sentinel-dockd ingest` reads a real block device.
#![allow(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fail the test by panicking, like the tests"
)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::fat_edit::FatImage;
use crate::common::*;
use serde_json::Value;

const PAGE: u64 = 4096;

/// A FUSE-served image behind a loop device; torn down on drop.
struct FaultyDevice {
    fuse: Child,
    mountpoint: PathBuf,
    loop_device: String,
}

impl FaultyDevice {
    fn start(image: &Path, dir: &Path, faults: &[(&str, u64, u64)]) -> FaultyDevice {
        let mountpoint = dir.join("fuse");
        fs::create_dir_all(&mountpoint).unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/integration/faulty_device/faulty_device.py");
        let mut cmd = Command::new("/usr/bin/python3");
        cmd.arg(script).arg(image).arg(&mountpoint);
        for (kind, start, len) in faults {
            cmd.arg(format!("--{kind}")).arg(format!("{start}:{len}"));
        }
        let fuse = cmd.stdin(Stdio::null()).spawn().unwrap();
        let file = mountpoint.join("disk.img");
        let started = Instant::now();
        while !file.exists() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "FUSE did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let out = Command::new("losetup")
            .args(["-f", "--show"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "losetup: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let loop_device = String::from_utf8(out.stdout).unwrap().trim().to_string();
        FaultyDevice {
            fuse,
            mountpoint,
            loop_device,
        }
    }
}

impl Drop for FaultyDevice {
    fn drop(&mut self) {
        let _ = Command::new("losetup")
            .args(["-d", &self.loop_device])
            .status();
        let _ = Command::new("fusermount")
            .arg("-u")
            .arg(&self.mountpoint)
            .status();
        let _ = self.fuse.kill();
        let _ = self.fuse.wait();
    }
}

fn ingest(dir: &Path, source: &str) -> (Option<i32>, Value, String) {
    let config = dir.join("sentinel-dock.toml");
    fs::write(
        &config,
        "[store]\npath = \"store\"\nreserve = 0\n[register]\npath = \"register.sqlite\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sentinel-dockd"))
        .arg("--config")
        .arg(&config)
        .args(["ingest", "--json", source])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code(),
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
#[ignore = "needs root"]
fn bad_sectors_inside_one_recording_fail_only_that_recording() {
    require_tool("losetup");
    require_tool("fusermount");
    let dir = tempfile::tempdir().unwrap();
    let spec = CameraSpec::fixture(SERIAL);
    let image = build_fat_image_with(
        &spec,
        dir.path(),
        Layout::Superfloppy,
        &ImageOptions {
            fat_bits: Some(16),
            size_mib: None,
        },
    );
    let (r0, r1) = (&spec.recordings[0], &spec.recordings[1]);
    let fat = FatImage::open(&image);
    let sidecar0 = fat.find(&r0.sidecar_path());
    let video1 = fat.find(&r1.video_path());
    let chain = fat.chain(video1.first_cluster, 100_000);
    let cluster = fat.cluster_size();
    // The written files are contiguous: r0's sidecar, then r1's video right after it.
    let contiguous = chain.windows(2).all(|w| w[1] == w[0] + 1);
    assert!(contiguous, "fixture: r1's video is not contiguous");
    let video_start = fat.cluster_offset(video1.first_cluster);
    let video_end = video_start + chain.len() as u64 * cluster;
    // One page of r1's video, 8 KiB in: within the 64 KiB window a read of r0's sidecar
    // (just before it) asks the device for, far from r1's end.
    let bad = (video_start + 2 * PAGE).next_multiple_of(PAGE);
    assert!(bad + PAGE <= video_end);
    let sidecar_at = fat.cluster_offset(sidecar0.first_cluster);
    assert!(
        bad - sidecar_at < 64 * 1024,
        "fixture: r0's sidecar is too far"
    );
    let bad_first = (bad - fat.cluster_offset(2)) / cluster + 2;
    eprintln!(
        "bad page at {bad}, cluster size {cluster}, first bad cluster {bad_first}, video from cluster {}",
        video1.first_cluster
    );
    drop(fat);

    let device = FaultyDevice::start(&image, dir.path(), &[("bad", bad, PAGE)]);
    let (code, json, stderr) = ingest(dir.path(), &device.loop_device);
    drop(device);
    let rec = |stem: &str| -> Value {
        json["recordings"]
            .as_array()
            .and_then(|a| a.iter().find(|r| r["stem"] == stem).cloned())
            .unwrap_or_else(|| panic!("{stem} not reported: {json} {stderr}"))
    };
    assert_eq!(code, Some(3), "{stderr}");
    let damaged = rec(&r1.stem);
    assert_eq!(damaged["status"], "failed", "{damaged}");
    assert_eq!(damaged["wiped"], false);
    let why = damaged["reasons"].to_string();
    assert!(
        why.contains("bad sectors") && why.contains(&format!("cluster {bad_first}")),
        "{why}"
    );
    for r in spec.recordings.iter().filter(|r| r.stem != r1.stem) {
        let n = rec(&r.stem);
        assert_eq!(n["status"], "confirmed", "{n} {stderr}");
        assert_eq!(n["wiped"], true, "{n}");
    }
    let left = list_fat_image(&image, Layout::Superfloppy);
    assert!(left.contains(&r1.video_path()), "{left:?}");
    assert!(!left.contains(&r0.video_path()), "{left:?}");
}

/// Where the one bad sector of a camera sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spot {
    /// Halfway through r1's video.
    Video,
    /// In the last sector that holds bytes of r0's sidecar (at 512-byte clusters its page
    /// also holds the first clusters of r1's video).
    Sidecar,
    /// The first sector of the second day's folder.
    Folder,
    /// The sector of the first FAT that holds the entry of r1's video's first cluster.
    Fat,
}

const SECTOR: u64 = 512;

/// A camera in clusters of `cluster` bytes: FAT32 at 512 bytes (as a camera formats a
/// small card), FAT16 above, sized for a few thousand clusters; made by mkfs.vfat + mtools.
fn camera_with_clusters(spec: &CameraSpec, dir: &Path, cluster: u64) -> PathBuf {
    for tool in ["mkfs.vfat", "mmd", "mcopy"] {
        require_tool(tool);
    }
    let image = dir.join(format!("camera-{cluster}.img"));
    let (bits, mib) = if cluster == 512 {
        ("32", 34)
    } else {
        ("16", (cluster / 128).max(16))
    };
    let out = Command::new(tool_path("mkfs.vfat").unwrap())
        .args(["-C", "--invariant", "-F", bits, "-n", &spec.label, "-s"])
        .arg((cluster / 512).to_string())
        .arg(&image)
        .arg((mib * 1024).to_string())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let staged = dir.join("staged");
    let mut made: Vec<String> = Vec::new();
    for (path, bytes) in spec.files() {
        let parts: Vec<&str> = path.split('/').collect();
        for depth in 1..parts.len() {
            let folder = parts[..depth].join("/");
            if !made.contains(&folder) {
                mtools("mmd", &image, &[&format!("::/{folder}")]);
                made.push(folder);
            }
        }
        fs::write(&staged, bytes).unwrap();
        mtools(
            "mcopy",
            &image,
            &[staged.to_str().unwrap(), &format!("::/{path}")],
        );
    }
    image
}

fn mtools(tool: &str, image: &Path, args: &[&str]) {
    let out = Command::new(tool_path(tool).unwrap())
        .arg("-i")
        .arg(image)
        .args(args)
        .env("MTOOLS_SKIP_CHECK", "1")
        .env("MTOOLSRC", "/dev/null")
        .env("LC_ALL", "C.UTF-8")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{tool} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The byte offset of the bad sector for `spot` on `image`.
fn bad_sector(image: &Path, spec: &CameraSpec, spot: Spot) -> u64 {
    let fat = FatImage::open(image);
    let (r0, r1) = (&spec.recordings[0], &spec.recordings[1]);
    let contiguous_start = |path: &str| {
        let e = fat.find(path);
        let chain = fat.chain(e.first_cluster, 100_000);
        assert!(
            chain.windows(2).all(|w| w[1] == w[0] + 1),
            "fixture: {path} is not contiguous"
        );
        (e.first_cluster, fat.cluster_offset(e.first_cluster))
    };
    match spot {
        Spot::Video => {
            let (_, start) = contiguous_start(&r1.video_path());
            start + (r1.video.len() as u64 / 2) / SECTOR * SECTOR
        }
        Spot::Sidecar => {
            let (_, start) = contiguous_start(&r0.sidecar_path());
            start + (r0.sidecar.len() as u64 - 1) / SECTOR * SECTOR
        }
        Spot::Folder => {
            let day = format!("DCIM/{}", spec.recordings[2].day());
            fat.cluster_offset(fat.find(&day).first_cluster)
        }
        Spot::Fat => {
            let (first, _) = contiguous_start(&r1.video_path());
            fat.fat_entry_offset(first) / SECTOR * SECTOR
        }
    }
}

fn assert_no_panic(what: &str, json: &Value, stderr: &str) {
    for text in [json.to_string(), stderr.to_string()] {
        assert!(
            !text.contains("panicked"),
            "{what}: a panic reached the report or the log: {text}"
        );
    }
}

/// Issue 21: with the O_DIRECT read-ahead windows in place, one bad sector fails only what
/// owns it, at every cluster size a camera may use. Before the fix a failed window left a
/// cache slot without its bytes, and the next read in its range panicked inside fatfs
/// (`range end index 65536 out of range`), failing every later recording.
#[test]
#[ignore = "needs root"]
fn one_bad_sector_fails_only_its_owner_at_every_cluster_size() {
    require_tool("losetup");
    require_tool("fusermount");
    let dir = tempfile::tempdir().unwrap();
    let spec = CameraSpec::fixture(SERIAL);
    let stems: Vec<&str> = spec.recordings.iter().map(|r| r.stem.as_str()).collect();
    let day2 = format!("DCIM/{}", spec.recordings[2].day());
    assert!(
        spec.recordings[..2]
            .iter()
            .all(|r| !r.video_path().starts_with(&day2))
            && spec.recordings[2..]
                .iter()
                .all(|r| r.video_path().starts_with(&day2)),
        "fixture: r0 and r1 on one day, r2 and r3 on the next"
    );
    for cluster in [512u64, 1024, 2048, 4096, 8192, 16384, 32768] {
        let pristine = camera_with_clusters(&spec, dir.path(), cluster);
        for spot in [Spot::Video, Spot::Sidecar, Spot::Folder, Spot::Fat] {
            let case = format!("{cluster}-byte clusters, bad sector in the {spot:?}");
            let work = dir.path().join(format!("{cluster}-{spot:?}"));
            fs::create_dir_all(&work).unwrap();
            let image = work.join("camera.img");
            let copied = Command::new("cp")
                .arg("--sparse=always")
                .arg(&pristine)
                .arg(&image)
                .status()
                .unwrap();
            assert!(copied.success());
            let bad = bad_sector(&image, &spec, spot);
            let before = fs::read(&image).unwrap();
            let device = FaultyDevice::start(&image, &work, &[("bad", bad, SECTOR)]);
            let (code, json, stderr) = ingest(&work, &device.loop_device);
            drop(device);
            eprintln!("{case}: bad sector at byte {bad}, exit {code:?}");
            assert_no_panic(&case, &json, &stderr);
            let rec = |stem: &str| -> Option<Value> {
                json["recordings"]
                    .as_array()
                    .and_then(|a| a.iter().find(|r| r["stem"] == stem).cloned())
            };
            let left = list_fat_image(&image, Layout::Superfloppy);
            let kept =
                |r: &Recording| left.contains(&r.video_path()) && left.contains(&r.sidecar_path());
            let owner_failed = |owner: &Recording| {
                assert_eq!(code, Some(3), "{case}: {json} {stderr}");
                let o = rec(&owner.stem).unwrap_or_else(|| panic!("{case}: {json}"));
                assert_eq!(o["status"], "failed", "{case}: {o}");
                assert_eq!(o["wiped"], false, "{case}: {o}");
                assert!(
                    o["reasons"].to_string().contains("bad sectors"),
                    "{case}: {o}"
                );
                assert!(kept(owner), "{case}: {left:?}");
                for r in spec.recordings.iter().filter(|r| r.stem != owner.stem) {
                    let n = rec(&r.stem).unwrap_or_else(|| panic!("{case}: {json}"));
                    assert_eq!(n["status"], "confirmed", "{case}: {} {n} {stderr}", r.stem);
                    assert_eq!(n["wiped"], true, "{case}: {n}");
                    assert!(!left.contains(&r.video_path()), "{case}: {left:?}");
                }
            };
            match spot {
                Spot::Video => owner_failed(&spec.recordings[1]),
                Spot::Sidecar => owner_failed(&spec.recordings[0]),
                Spot::Folder => {
                    // The other day's recordings are confirmed and wiped; this day's are
                    // neither read nor wiped, and the folder is named with why.
                    assert_eq!(code, Some(1), "{case}: {json} {stderr}");
                    for r in &spec.recordings[..2] {
                        let n = rec(&r.stem).unwrap_or_else(|| panic!("{case}: {json}"));
                        assert_eq!(n["status"], "confirmed", "{case}: {n} {stderr}");
                        assert_eq!(n["wiped"], true, "{case}: {n} {}", json["warnings"]);
                    }
                    for r in &spec.recordings[2..] {
                        assert!(
                            rec(&r.stem).is_none_or(|n| n["wiped"] == false),
                            "{case}: {json}"
                        );
                        assert!(kept(r), "{case}: {} gone: {left:?}", r.stem);
                    }
                    let ignored = json["ignored"].to_string();
                    assert!(
                        ignored.contains(&day2) && ignored.contains("could not read this folder"),
                        "{case}: {ignored}"
                    );
                }
                Spot::Fat => {
                    // Without its FAT no file's clusters are known: the camera is kept
                    // whole, nothing written to it, and the reason names the FAT.
                    assert_ne!(code, Some(0), "{case}: {json} {stderr}");
                    assert!(
                        fs::read(&image).unwrap() == before,
                        "{case}: the camera was written to"
                    );
                    let said = format!("{json} {stderr}");
                    assert!(
                        said.contains("FAT") && said.contains("bad sectors"),
                        "{case}: {said}"
                    );
                    for stem in &stems {
                        assert!(
                            rec(stem).is_none_or(|n| n["wiped"] == false),
                            "{case}: {json}"
                        );
                    }
                }
            }
        }
    }
}
