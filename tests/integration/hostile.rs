//! Hand-made hostile cameras, each given to the real `sentinel-dockd ingest --json`: FAT
//! chains that cross or loop, directories that loop, absurd sizes, 10,000 files, names no
//! host may use, MP4 boxes that lie, a 1 GB sidecar, identities that disagree. Each must be
//! refused or ingested safely, with a clear report, within 20 s and 256 MiB of memory
//! (the child's peak RSS, from wait4), and nothing unproven may leave the camera.
#![allow(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fail the test by panicking, like the tests"
)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::fat_edit::FatImage;
use crate::common::*;
use serde_json::Value;

const TIME_BOUND: Duration = Duration::from_secs(20);
const RSS_BOUND_KIB: i64 = 256 * 1024;

/// What one run of the binary did.
struct Run {
    code: Option<i32>,
    json: Value,
    stderr: String,
    elapsed: Duration,
    max_rss_kib: i64,
}

impl Run {
    fn recording(&self, stem: &str) -> &Value {
        self.json["recordings"]
            .as_array()
            .and_then(|a| a.iter().find(|r| r["stem"] == stem))
            .unwrap_or_else(|| panic!("{stem} not reported: {}", self.json))
    }

    fn status(&self, stem: &str) -> String {
        self.recording(stem)["status"].as_str().unwrap().to_string()
    }

    fn reasons(&self, stem: &str) -> String {
        self.recording(stem)["reasons"].to_string()
    }

    fn ignored(&self) -> Vec<(String, String)> {
        self.json["ignored"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|i| {
                        (
                            i["path"].as_str().unwrap().into(),
                            i["reason"].as_str().unwrap().into(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Runs `sentinel-dockd ingest --json [--serial S] SOURCE` in `dir`, measuring its time and
/// peak memory, and asserts both bounds (a watchdog kills it past 60 s).
fn ingest(dir: &Path, source: &Path, serial: Option<&str>) -> Run {
    let config = dir.join("sentinel-dock.toml");
    fs::write(
        &config,
        "[store]\npath = \"store\"\nreserve = 0\n[register]\npath = \"register.sqlite\"\n",
    )
    .unwrap();
    let (out, err) = (dir.join("out.json"), dir.join("err.txt"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sentinel-dockd"));
    cmd.arg("--config").arg(&config).args(["ingest", "--json"]);
    if let Some(s) = serial {
        cmd.args(["--serial", s]);
    }
    let started = Instant::now();
    let mut child = cmd
        .arg(source)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(fs::File::create(&out).unwrap())
        .stderr(fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    // ru_maxrss would count the test process's memory, shared with the child until its
    // exec: read the child's own high-water mark from /proc while it runs instead.
    let mut max_rss_kib = 0;
    let status = loop {
        max_rss_kib = max_rss_kib.max(vm_hwm_kib(child.id()));
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap(); // not yet reaped: the pid is still this child's
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = started.elapsed();
    let code = status.code();
    let run = Run {
        code,
        json: serde_json::from_slice(&fs::read(&out).unwrap()).unwrap_or(Value::Null),
        stderr: fs::read_to_string(&err).unwrap(),
        elapsed,
        max_rss_kib,
    };
    eprintln!(
        "{}: exit {:?} in {:.2} s, peak RSS {} MiB",
        source.display(),
        run.code,
        run.elapsed.as_secs_f64(),
        run.max_rss_kib / 1024
    );
    assert!(
        run.code.is_some(),
        "killed after 60 s or by a signal: {}",
        run.stderr
    );
    assert!(
        run.elapsed < TIME_BOUND,
        "took {:?}: {}",
        run.elapsed,
        run.stderr
    );
    assert!(
        run.max_rss_kib < RSS_BOUND_KIB,
        "peak RSS {} KiB",
        run.max_rss_kib
    );
    assert!(
        !run.stderr.contains('\u{1b}'),
        "a raw escape reached the terminal"
    );
    run
}

/// The peak resident memory of a running process (`VmHWM`), 0 once it is gone.
fn vm_hwm_kib(pid: u32) -> i64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn image_of(spec: &CameraSpec, dir: &Path) -> PathBuf {
    build_fat_image_with(
        spec,
        dir,
        Layout::Superfloppy,
        &ImageOptions {
            fat_bits: Some(16),
            size_mib: None,
        },
    )
}

fn on_image(image: &Path, path: &str) -> bool {
    list_fat_image(image, Layout::Superfloppy)
        .iter()
        .any(|p| p == path)
}

/// Every stored file's name stems from one of the camera's recordings: nothing else is stored.
fn assert_only_recordings_stored(dir: &Path, spec: &CameraSpec) {
    let mut stack = vec![dir.join("store")];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = e.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if is_store_owner_file(&dir.join("store"), &path) {
                continue;
            }
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let stem = name.split('.').next().unwrap();
            assert!(
                spec.recordings.iter().any(|r| r.stem == stem),
                "unexpected stored file {}",
                path.display()
            );
        }
    }
}

#[test]
fn fat_chains_that_cross_or_loop_are_never_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let spec = CameraSpec::fixture(SERIAL);
    let image = image_of(&spec, dir.path());
    let fat = FatImage::open(&image);
    let [r0, r1, r2, r3] = [0, 1, 2, 3].map(|i| spec.recordings[i].clone());
    // r1's video is cross-linked onto r0's chain: it reads as r0's bytes.
    let e0 = fat.find(&r0.video_path());
    let e1 = fat.find(&r1.video_path());
    fat.set_first_cluster(&e1, e0.first_cluster);
    // r2's chain loops in its middle: its third cluster leads back to its second.
    let e2 = fat.find(&r2.video_path());
    let c2 = fat.chain(e2.first_cluster, 1000);
    fat.set_fat(c2[2], c2[1]);
    // r3's chain loops from its end to its start: the bytes are right, freeing must stop.
    let e3 = fat.find(&r3.video_path());
    let c3 = fat.chain(e3.first_cluster, 1000);
    fat.set_fat(*c3.last().unwrap(), c3[0]);
    drop(fat);

    let run = ingest(dir.path(), &image, None);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    for bad in [&r1, &r2] {
        assert!(
            run.reasons(&bad.stem).contains("sha256-mismatch"),
            "{}",
            run.reasons(&bad.stem)
        );
    }
    // The ownership map finds the volume damaged: every recording is stored in
    // quarantine, even those whose bytes are right, and nothing is wiped.
    for r in [&r0, &r1, &r2, &r3] {
        assert_eq!(run.status(&r.stem), "quarantined", "{}", run.json);
        assert!(
            run.reasons(&r.stem).contains("\"volume-damaged\""),
            "{}",
            run.reasons(&r.stem)
        );
        assert_eq!(run.recording(&r.stem)["wiped"], false);
        assert!(on_image(&image, &r.video_path()), "{} wiped", r.stem);
    }
    let damage = run.json["damage"].to_string();
    assert!(
        damage.contains("cross-linked") && damage.contains(&r1.video_path()),
        "{damage}"
    );
    assert!(
        damage.contains("chain-loop") && damage.contains(&r3.video_path()),
        "{damage}"
    );
    assert_only_recordings_stored(dir.path(), &spec);
}

#[test]
fn a_fat_directory_whose_chain_loops_is_refused_whole() {
    let dir = tempfile::tempdir().unwrap();
    let spec = CameraSpec::fixture(SERIAL);
    let image = image_of(&spec, dir.path());
    let fat = FatImage::open(&image);
    let day = fat.find("DCIM/20180312");
    let chain = fat.chain(day.first_cluster, 1000);
    // No end-of-directory mark (free slots become deleted ones), and the chain loops:
    // listing it never ends by itself.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&image)
        .unwrap();
    use std::os::unix::fs::FileExt;
    let cluster = fat.cluster_size() as usize;
    for &c in &chain {
        let mut buf = vec![0u8; cluster];
        file.read_exact_at(&mut buf, fat.cluster_offset(c)).unwrap();
        for slot in buf.chunks_exact_mut(32).filter(|s| s[0] == 0) {
            slot[0] = 0xE5;
        }
        file.write_all_at(&buf, fat.cluster_offset(c)).unwrap();
    }
    fat.set_fat(*chain.last().unwrap(), chain[0]);
    drop(fat);
    let before = fs::read(&image).unwrap();
    let run = ingest(dir.path(), &image, None);
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    assert!(run.stderr.contains("DCIM/20180312"), "{}", run.stderr);
    assert!(
        run.stderr.contains("loops or is too large"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("do not wipe it automatically"),
        "{}",
        run.stderr
    );
    assert!(
        fs::read(&image).unwrap() == before,
        "the camera is only read"
    );
}

#[test]
fn fat_directories_that_point_back_at_their_parents_are_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = CameraSpec::fixture(SERIAL);
    spec.extra_files
        .push(("DCIM/20180320/KEEP.TXT".into(), b"x".to_vec()));
    let image = image_of(&spec, dir.path());
    let fat = FatImage::open(&image);
    let dcim = fat.find("DCIM");
    let looped = fat.find("DCIM/20180320");
    fat.set_first_cluster(&looped, dcim.first_cluster); // DCIM/20180320 is DCIM again
    drop(fat);
    let before = fs::read(&image).unwrap();
    let run = ingest(dir.path(), &image, None);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    // DCIM's clusters are claimed twice: the volume is damaged, nothing is wiped.
    for r in &spec.recordings {
        assert_eq!(run.status(&r.stem), "quarantined");
        assert_eq!(run.recording(&r.stem)["wiped"], false);
    }
    // mdir cannot list this volume (it follows the loop): compare the bytes instead.
    assert!(
        fs::read(&image).unwrap() == before,
        "the camera is only read"
    );
    let damage = run.json["damage"].to_string();
    assert!(
        damage.contains("cross-linked") && damage.contains("DCIM/20180320"),
        "{damage}"
    );
    let ignored = run.ignored();
    assert!(
        ignored
            .iter()
            .any(|(p, why)| p.starts_with("DCIM/20180320/")
                && why.contains("directory inside a day directory")),
        "{ignored:?}"
    );
}

#[test]
fn absurd_fat_sizes_are_refused_without_being_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let spec = CameraSpec::fixture(SERIAL);
    let image = image_of(&spec, dir.path());
    let fat = FatImage::open(&image);
    let (r0, r1) = (&spec.recordings[0], &spec.recordings[1]);
    fat.set_size(&fat.find(&r0.video_path()), u32::MAX); // a 4 GiB video on a 34 MiB volume
    fat.set_size(&fat.find(&r1.sidecar_path()), 1 << 30); // a 1 GiB sidecar
    drop(fat);
    let run = ingest(dir.path(), &image, None);
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    assert_eq!(run.status(&r0.stem), "failed");
    let why = run.reasons(&r0.stem);
    assert!(
        why.contains("cluster chain ends") && why.contains("damaged"),
        "{why}"
    );
    assert_eq!(run.status(&r1.stem), "quarantined");
    let why = run.reasons(&r1.stem);
    assert!(
        why.contains("1073741824 bytes") && why.contains("max_sidecar_bytes"),
        "{why}"
    );
    assert!(on_image(&image, &r0.video_path()) && on_image(&image, &r1.sidecar_path()));
    // Sizes past their chains make the volume damaged: the sound recording is kept too.
    let r2 = &spec.recordings[2];
    assert_eq!(run.status(&r2.stem), "quarantined");
    assert!(
        run.reasons(&r2.stem).contains("chain-too-short"),
        "{}",
        run.reasons(&r2.stem)
    );
    assert!(on_image(&image, &r2.video_path()));
}

#[test]
fn ten_thousand_files_on_a_fat_volume_are_listed_within_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let spec = CameraSpec::fixture(SERIAL);
    let image = image_of(&spec, dir.path());
    // One mcopy for all of them: mtools writes the names, not the project's code.
    let staged = dir.path().join("many");
    fs::create_dir(&staged).unwrap();
    let names: Vec<PathBuf> = (0..10_000)
        .map(|i| {
            let p = staged.join(format!("J{i:04}.TXT"));
            fs::write(&p, b"j").unwrap();
            p
        })
        .collect();
    let out = Command::new(tool_path("mcopy").unwrap())
        .env("MTOOLS_SKIP_CHECK", "1")
        .env("MTOOLSRC", "/dev/null")
        .arg("-i")
        .arg(&image)
        .args(&names)
        .arg("::/DCIM/20180312/")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = ingest(dir.path(), &image, None);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert_eq!(run.ignored().len(), 10_000);
    for r in &spec.recordings {
        assert_eq!(run.recording(&r.stem)["wiped"], true);
    }
    assert!(
        on_image(&image, "DCIM/20180312/J9999.TXT"),
        "only recordings are wiped"
    );
}

#[test]
fn names_no_host_may_use_are_escaped_reported_and_never_used() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = CameraSpec::fixture(SERIAL);
    spec.extra_files.push((
        "DCIM/20180312/SNTL-00042_20180312_120000_0009.MP4".into(),
        b"x".to_vec(),
    ));
    spec.extra_files.push((
        "DCIM/20180312/SNTL-00042_20180312_120000_0008.MP4".into(),
        b"y".to_vec(),
    ));
    let image = image_of(&spec, dir.path());
    let fat = FatImage::open(&image);
    // Long names rewritten the way mtools never would: a path separator, a control character.
    let slash: Vec<u16> = "../..".encode_utf16().collect();
    fat.set_long_name_start(
        &fat.find("DCIM/20180312/SNTL-00042_20180312_120000_0009.MP4"),
        &slash,
    );
    fat.set_long_name_start(
        &fat.find("DCIM/20180312/SNTL-00042_20180312_120000_0008.MP4"),
        &[
            0x1b,
            u16::from(b'['),
            u16::from(b'3'),
            u16::from(b'1'),
            u16::from(b'm'),
        ],
    );
    drop(fat);
    let run = ingest(dir.path(), &image, None);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let ignored = run.ignored();
    assert!(
        ignored
            .iter()
            .any(|(p, why)| p.contains("\\u{2f}") && why.contains("`/`")),
        "{ignored:?}"
    );
    assert!(
        ignored.iter().any(|(p, _)| p.contains("\\u{1b}")),
        "{ignored:?}"
    );
    assert_only_recordings_stored(dir.path(), &spec);

    // The same on a mounted folder, where Linux allows nearly any byte in a name.
    let dir = tempfile::tempdir().unwrap();
    let root = build_dir(&CameraSpec::fixture(SERIAL), dir.path());
    let day = root.join("DCIM/20180312");
    let hostile = [
        "\u{1b}[31mRED.MP4",
        "a\\..\\..\\etc.MP4",
        "CON",
        "NUL.MP4",
        "AUX.NMEA",
        "COM1",
        "LPT1.MP4",
        "line\nbreak.MP4",
        "SNTL-00042_20180312_143015_0009\u{202e}4PM.MP4",
    ];
    for name in hostile {
        fs::write(day.join(name), b"not evidence").unwrap();
    }
    fs::create_dir(root.join("DCIM/2018\n0312")).unwrap();
    fs::write(
        root.join("DCIM/2018\n0312/SNTL-00042_20180312_120000_0007.MP4"),
        b"filed under a day folder with a line break in its name",
    )
    .unwrap();
    let run = ingest(dir.path(), &root, None);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let ignored = run.ignored();
    assert_eq!(ignored.len(), hostile.len() + 1, "{ignored:?}");
    for (path, _) in &ignored {
        assert!(
            !path.chars().any(|c| c.is_control() || c == '\u{202e}'),
            "{path:?}"
        );
    }
    for name in hostile {
        assert!(day.join(name).exists(), "{name:?} was removed");
    }
    assert_only_recordings_stored(dir.path(), &CameraSpec::fixture(SERIAL));
}

/// The top-level boxes of an MP4: (offset, size, type).
fn top_level_boxes(video: &[u8]) -> Vec<(usize, usize, [u8; 4])> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 8 <= video.len() {
        let size = u32::from_be_bytes(video[at..at + 4].try_into().unwrap()) as usize;
        out.push((at, size, video[at + 4..at + 8].try_into().unwrap()));
        at += size.max(8);
    }
    out
}

#[test]
fn mp4_box_sizes_that_lie_are_quarantined_with_their_reason() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = CameraSpec::fixture(SERIAL);
    let base = spec.recordings[0].clone();
    let (mdat, mdat_size, _) = *top_level_boxes(&base.video)
        .iter()
        .find(|b| &b.2 == b"mdat")
        .expect("the fixture has an mdat");
    type Lie = Box<dyn Fn(&mut Vec<u8>)>;
    let lies: [(&str, Lie); 4] = [
        (
            "_0011",
            Box::new(move |v| v[mdat..mdat + 4].copy_from_slice(&0x7fff_fff0u32.to_be_bytes())),
        ),
        (
            "_0012",
            Box::new(move |v| {
                v[mdat..mdat + 4].copy_from_slice(&1u32.to_be_bytes()); // 64-bit size follows...
                v[mdat + 8..mdat + 16].copy_from_slice(&u64::MAX.to_be_bytes()); // ...and it is absurd
            }),
        ),
        (
            "_0013",
            Box::new(move |v| v[mdat..mdat + 4].copy_from_slice(&3u32.to_be_bytes())),
        ),
        (
            "_0014",
            Box::new(move |v| {
                v[mdat..mdat + 4].copy_from_slice(&((mdat_size - 100) as u32).to_be_bytes())
            }),
        ),
    ];
    let mut stems = Vec::new();
    for (suffix, lie) in &lies {
        let stem = base.stem.replace("_0001", suffix);
        let mut video = base.video.clone();
        lie(&mut video);
        // The sidecar tells the truth about these bytes: only the structure lies.
        let sidecar = SidecarSpec::for_video(SERIAL, &stem, &video, 45).render();
        spec.recordings.push(Recording {
            stem: stem.clone(),
            video,
            sidecar,
        });
        stems.push(stem);
    }
    let image = image_of(&spec, dir.path());
    let run = ingest(dir.path(), &image, None);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    for stem in &stems {
        assert_eq!(run.status(stem), "quarantined", "{}", run.recording(stem));
        assert!(
            run.reasons(stem).contains("\"bmff-"),
            "{stem}: {}",
            run.reasons(stem)
        );
        assert_eq!(run.recording(stem)["wiped"], false);
    }
}

#[test]
fn a_one_gigabyte_sidecar_and_a_one_terabyte_video_are_left_unread() {
    let dir = tempfile::tempdir().unwrap();
    let spec = CameraSpec::fixture(SERIAL);
    let root = build_dir(&spec, dir.path());
    let (r0, r1) = (&spec.recordings[0], &spec.recordings[1]);
    // Sparse files: the sizes are real to every system call, the disk holds nothing.
    let sidecar = fs::OpenOptions::new()
        .write(true)
        .open(root.join(r0.sidecar_path()))
        .unwrap();
    sidecar.set_len(1 << 30).unwrap();
    let video = fs::OpenOptions::new()
        .write(true)
        .open(root.join(r1.video_path()))
        .unwrap();
    video.set_len(1 << 40).unwrap();
    let run = ingest(dir.path(), &root, None);
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    assert_eq!(run.status(&r0.stem), "quarantined");
    assert!(
        run.reasons(&r0.stem).contains("max_sidecar_bytes")
            && run.reasons(&r0.stem).contains("\"sidecar-too-large\"")
            && !run.reasons(&r0.stem).contains("sidecar-missing"),
        "{}",
        run.reasons(&r0.stem)
    );
    assert_eq!(run.status(&r1.stem), "failed");
    assert!(
        run.reasons(&r1.stem).contains("max_video_bytes"),
        "{}",
        run.reasons(&r1.stem)
    );
    assert!(
        !run.stderr.contains("too full"),
        "one absurd size must not block the rest"
    );
    for r in &spec.recordings[2..] {
        assert_eq!(run.recording(&r.stem)["wiped"], true);
    }
    assert!(root.join(r0.sidecar_path()).exists() && root.join(r1.video_path()).exists());
}

#[test]
fn a_camera_whose_usb_serial_device_ini_and_sidecars_disagree_is_not_wiped() {
    // USB says one camera, DEVICE.INI another, the sidecars a third.
    let dir = tempfile::tempdir().unwrap();
    let mut spec = CameraSpec::fixture(SERIAL);
    spec.device_ini = Some(device_ini("SNTL-00043", FIRMWARE));
    let image = image_of(&spec, dir.path());
    let before = fs::read(&image).unwrap();
    let run = ingest(dir.path(), &image, Some("SNTL-00044"));
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    for r in &spec.recordings {
        assert_eq!(run.status(&r.stem), "quarantined");
        let why = run.reasons(&r.stem);
        assert!(
            why.contains("camera-identity") && why.contains("sidecar-serial"),
            "{why}"
        );
    }
    assert_eq!(fs::read(&image).unwrap(), before, "the camera is untouched");

    // USB and DEVICE.INI agree; every sidecar names another camera.
    let dir = tempfile::tempdir().unwrap();
    let mut spec = CameraSpec::fixture(SERIAL);
    for r in &mut spec.recordings {
        let text = String::from_utf8(r.sidecar.clone()).unwrap();
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        let body = lines[0]
            .trim_start_matches('$')
            .split('*')
            .next()
            .unwrap()
            .replace(SERIAL, "SNTL-00099");
        lines[0] = nmea_line(&body);
        r.sidecar = (lines.join("\n") + "\n").into_bytes();
    }
    let image = image_of(&spec, dir.path());
    let before = fs::read(&image).unwrap();
    let run = ingest(dir.path(), &image, Some(SERIAL));
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    for r in &spec.recordings {
        assert_eq!(run.status(&r.stem), "quarantined");
        assert!(
            run.reasons(&r.stem).contains("names camera `SNTL-00099`"),
            "{}",
            run.reasons(&r.stem)
        );
    }
    assert_eq!(fs::read(&image).unwrap(), before, "the camera is untouched");
}
