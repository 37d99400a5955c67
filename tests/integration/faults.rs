//! Injected faults, each ending with nothing lost, nothing unproven wiped, and an error a
//! technician understands: a camera pulled or failing mid-recording, a store that fills up,
//! fails with EIO or fails its fsync, a register locked or read-only, a clock that jumps.
//!
//! Faults come through the ingest's hook (`Options::read_faults`), the store's (`Store::with_faults`)
//! or real mechanisms: an image truncated while it is read, a real full tmpfs, the `sqlite3`
//! CLI holding a write lock, a read-only mount.
#![allow(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fail the test by panicking, like the tests"
)]

use std::fs;
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::*;
use chrono::{DateTime, Utc};
use rusqlite::Connection;
use sentinel_dock::app::ingest::{IngestError, IngestReport, Options, ReadFaults, Status};
use sentinel_dock::base::clock::Clock;
use sentinel_dock::base::config::Config;
use sentinel_dock::camera::volume::VolumePath;
use sentinel_dock::custody::store::StoreFaults;

/// The large recording every test here adds to the fixture camera: 4 MiB, read in 16 KiB
/// pieces, so that a fault can strike in its middle, past any read-ahead.
const BIG_STEM: &str = "SNTL-00042_20180315_120000_0005";

/// A store, register and configuration in a temporary folder.
struct Bench {
    dir: tempfile::TempDir,
    config: Config,
}

impl Bench {
    fn new() -> Bench {
        Bench::with_store("store")
    }

    fn with_store(store: &str) -> Bench {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "[store]\npath = \"{store}\"\nreserve = 0\n[register]\npath = \"register.sqlite\"\n[ingest]\ncopy_buffer = \"16 KiB\"\n"
        );
        let config = Config::from_toml(&text, dir.path()).unwrap();
        Bench { dir, config }
    }

    fn ingest(&self, source: &Path, options: &Options) -> Result<IngestReport, IngestError> {
        ingest_once(&self.config, source, options)
    }

    fn ingest_faulty(
        &self,
        source: &Path,
        WithStoreFaults(faults, options): WithStoreFaults,
    ) -> Result<IngestReport, IngestError> {
        ingest_faulty_store(&self.config, source, Some(faults), &options)
    }

    /// Visible (non-hidden) files of the store, relative; hidden ones are temp files.
    fn stored(&self) -> (Vec<String>, Vec<String>) {
        let mut all = Vec::new();
        walk(&self.config.store.path, &self.config.store.path, &mut all);
        all.sort();
        all.into_iter()
            .partition(|f| !f.rsplit('/').next().unwrap().starts_with('.'))
    }

    fn states(&self) -> Vec<(String, String)> {
        let conn = Connection::open(&self.config.register.path).unwrap();
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
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = e.path();
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

/// The fixture camera plus a 4 MiB recording whose checks all pass.
fn camera() -> CameraSpec {
    let mut spec = CameraSpec::fixture(SERIAL);
    let mut video = bmff_box(b"ftyp", b"isom\0\0\x02\0isomiso2mp41");
    let payload: Vec<u8> = (0..4u32 << 20)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    video.extend_from_slice(&bmff_box(b"mdat", &payload));
    let mut mvhd = vec![0u8; 100];
    mvhd[12..16].copy_from_slice(&1000u32.to_be_bytes());
    mvhd[16..20].copy_from_slice(&60_000u32.to_be_bytes());
    video.extend_from_slice(&bmff_box(b"moov", &bmff_box(b"mvhd", &mvhd)));
    let sidecar = SidecarSpec::for_video(SERIAL, BIG_STEM, &video, 60).render();
    spec.recordings.push(Recording {
        stem: BIG_STEM.into(),
        video,
        sidecar,
    });
    spec
}

fn bmff_box(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut out = ((8 + payload.len()) as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(payload);
    out
}

fn status_of(report: &IngestReport, stem: &str) -> Status {
    report
        .recordings
        .iter()
        .find(|r| r.stem == stem)
        .unwrap()
        .status
}

fn reasons_of(report: &IngestReport, stem: &str) -> String {
    let r = report.recordings.iter().find(|r| r.stem == stem).unwrap();
    sentinel_dock::app::ingest::joined_reasons(&r.reasons)
}

/// Acts once when the large video is read at or past `at` bytes; counts its streams.
struct OnBigRead {
    at: u64,
    fired: AtomicBool,
    streams: AtomicU32,
    action: Box<dyn Fn() -> io::Result<()> + Send + Sync>,
    /// Fail every read past `at`, not only the first.
    persistent: bool,
}

impl OnBigRead {
    fn new(at: u64, action: impl Fn() -> io::Result<()> + Send + Sync + 'static) -> Arc<OnBigRead> {
        Arc::new(OnBigRead {
            at,
            fired: AtomicBool::new(false),
            streams: AtomicU32::new(0),
            action: Box::new(action),
            persistent: false,
        })
    }

    fn counting() -> Arc<OnBigRead> {
        OnBigRead::new(u64::MAX, || Ok(()))
    }
}

impl ReadFaults for OnBigRead {
    fn before_read(&self, file: &VolumePath, offset: u64) -> io::Result<()> {
        if !file.to_string().ends_with(&format!("{BIG_STEM}.MP4")) {
            return Ok(());
        }
        if offset == 0 {
            self.streams.fetch_add(1, Ordering::SeqCst);
        }
        if offset >= self.at && (self.persistent || !self.fired.swap(true, Ordering::SeqCst)) {
            return (self.action)();
        }
        Ok(())
    }
}

fn with_reads(faults: Arc<OnBigRead>) -> Options {
    Options {
        usb_serial: Some(SERIAL.into()),
        read_faults: Some(faults),
        ..Options::default()
    }
}

/// Checks that every recording but the large one is confirmed and none is wiped or
/// half-stored, and that a clean re-docking then finishes everything exactly once.
fn assert_redocking_finishes(bench: &Bench, spec: &CameraSpec, source: &Path) {
    let (_, temps) = bench.stored();
    assert!(temps.is_empty(), "temp files left: {temps:?}");
    let report = bench.ingest(source, &Options::default()).unwrap();
    assert_eq!(report.exit_code(), 0, "{}", report.summary());
    assert!(report.recordings.iter().all(|r| r.wiped));
    let (visible, _) = bench.stored();
    assert_eq!(
        visible.len(),
        2 * spec.recordings.len(),
        "each stored once: {visible:?}"
    );
    let states = bench.states();
    assert_eq!(states.len(), spec.recordings.len(), "{states:?}");
    assert!(states.iter().all(|(_, s)| s == "wiped"), "{states:?}");
}

#[test]
fn a_camera_pulled_mid_recording_wipes_nothing_and_the_next_docking_finishes() {
    let bench = Bench::new();
    let spec = camera();
    let image = build_fat_image(&spec, bench.dir.path(), Layout::Superfloppy);
    let pristine = fs::read(&image).unwrap();
    // Pulled: the device vanishes under the reader, half-way through the large video.
    let device = image.clone();
    let faults = OnBigRead::new(2 << 20, move || {
        fs::OpenOptions::new().write(true).open(&device)?.set_len(0)
    });
    let report = bench.ingest(&image, &with_reads(faults)).unwrap();
    assert_eq!(report.exit_code(), 3, "{}", report.summary());
    assert_eq!(status_of(&report, BIG_STEM), Status::Failed);
    let why = reasons_of(&report, BIG_STEM);
    assert!(why.contains("reading it from the camera failed"), "{why}");
    assert!(why.contains("shorter than its file system says"), "{why}");
    assert!(
        report.recordings.iter().all(|r| !r.wiped),
        "nothing wiped from a pulled camera"
    );
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("nothing was wiped")),
        "{:?}",
        report.warnings
    );
    let states = bench.states();
    assert!(
        states.contains(&(BIG_STEM.into(), "discovered".into())),
        "{states:?}"
    );
    assert_eq!(
        states.iter().filter(|(_, s)| s == "confirmed").count(),
        spec.recordings.len() - 1
    );

    fs::write(&image, pristine).unwrap(); // docked again
    assert_redocking_finishes(&bench, &spec, &image);
}

#[test]
fn a_source_file_cut_short_while_read_is_neither_stored_nor_wiped() {
    let bench = Bench::new();
    let spec = camera();
    let folder = build_dir(&spec, bench.dir.path());
    let big = folder.join(format!("DCIM/20180315/{BIG_STEM}.MP4"));
    let victim = big.clone();
    let faults = OnBigRead::new(1 << 20, move || {
        fs::OpenOptions::new()
            .write(true)
            .open(&victim)?
            .set_len(1 << 20)
    });
    let report = bench.ingest(&folder, &with_reads(faults)).unwrap();
    assert_eq!(report.exit_code(), 3);
    assert_eq!(status_of(&report, BIG_STEM), Status::Failed);
    let why = reasons_of(&report, BIG_STEM);
    assert!(why.contains("the volume changed or is corrupt"), "{why}");
    assert!(big.exists(), "an unproven recording is never wiped");
    // The others were proven: wiped.
    assert_eq!(
        report.recordings.iter().filter(|r| r.wiped).count(),
        spec.recordings.len() - 1
    );
    let (visible, temps) = bench.stored();
    assert!(temps.is_empty(), "{temps:?}");
    assert!(
        !visible
            .iter()
            .any(|f| f.contains(&format!("{BIG_STEM}.MP4"))),
        "{visible:?}"
    );
    let video = &spec.recordings.last().unwrap().video;
    fs::write(&big, video).unwrap(); // the camera holds it whole again
    assert_redocking_finishes(&bench, &spec, &folder);
}

#[test]
fn a_read_error_mid_recording_leaves_it_on_the_camera_with_a_reason() {
    let bench = Bench::new();
    let spec = camera();
    let image = build_fat_image(&spec, bench.dir.path(), Layout::Superfloppy);
    let faults = OnBigRead::new(1 << 20, || Err(io::Error::from_raw_os_error(libc::EIO)));
    let report = bench.ingest(&image, &with_reads(faults)).unwrap();
    assert_eq!(status_of(&report, BIG_STEM), Status::Failed);
    let why = reasons_of(&report, BIG_STEM);
    assert!(
        why.contains("reading it from the camera failed after 1048576 of"),
        "{why}"
    );
    assert!(why.contains("Input/output error"), "{why}");
    assert!(report.summary().contains("needs attention"));
    let big = spec.recordings.last().unwrap();
    assert!(list_fat_image(&image, Layout::Superfloppy).contains(&big.video_path()));
    assert_redocking_finishes(&bench, &spec, &image);
}

/// Fails the large video's temp file in the store: `after_write` or `before_fsync`.
struct StoreFault {
    at_fsync: bool,
    times: AtomicU32,
    error: i32,
}

impl StoreFault {
    fn hit(&self, temp: &Path) -> io::Result<()> {
        let name = temp.to_string_lossy();
        if name.contains(&format!("{BIG_STEM}.MP4")) && self.times.load(Ordering::SeqCst) > 0 {
            self.times.fetch_sub(1, Ordering::SeqCst);
            return Err(io::Error::from_raw_os_error(self.error));
        }
        Ok(())
    }
}

impl StoreFaults for StoreFault {
    fn after_write(&self, temp: &Path) -> io::Result<()> {
        if self.at_fsync {
            Ok(())
        } else {
            self.hit(temp)
        }
    }
    fn before_fsync(&self, temp: &Path) -> io::Result<()> {
        if self.at_fsync {
            self.hit(temp)
        } else {
            Ok(())
        }
    }
}

/// An ingest's options with the faults its store is to be opened with.
struct WithStoreFaults(Arc<dyn StoreFaults>, Options);

fn store_fault(at_fsync: bool, times: u32, error: i32, reads: Arc<OnBigRead>) -> WithStoreFaults {
    WithStoreFaults(
        Arc::new(StoreFault {
            at_fsync,
            times: AtomicU32::new(times),
            error,
        }),
        with_reads(reads),
    )
}

#[test]
fn an_eio_on_the_store_is_copied_again_from_the_camera_then_left_on_it() {
    let bench = Bench::new();
    let spec = camera();
    let image = build_fat_image(&spec, bench.dir.path(), Layout::Superfloppy);
    let reads = OnBigRead::counting();
    let report = bench
        .ingest_faulty(
            &image,
            store_fault(false, u32::MAX, libc::EIO, reads.clone()),
        )
        .unwrap();
    assert_eq!(status_of(&report, BIG_STEM), Status::Failed);
    assert_eq!(
        reads.streams.load(Ordering::SeqCst),
        3,
        "three copies from the camera"
    );
    let why = reasons_of(&report, BIG_STEM);
    assert!(
        why.contains("the store's disks reported an I/O error"),
        "{why}"
    );
    assert!(why.contains("check the RAID and the kernel log"), "{why}");
    assert_redocking_finishes(&bench, &spec, &image);
}

#[test]
fn a_failed_fsync_is_never_trusted_the_copy_is_taken_again_from_the_camera() {
    let bench = Bench::new();
    let spec = camera();
    let image = build_fat_image(&spec, bench.dir.path(), Layout::Superfloppy);
    let pristine = fs::read(&image).unwrap();

    // Always failing: three copies, none trusted, the recording stays on the camera.
    let reads = OnBigRead::counting();
    let report = bench
        .ingest_faulty(
            &image,
            store_fault(true, u32::MAX, libc::EIO, reads.clone()),
        )
        .unwrap();
    assert_eq!(status_of(&report, BIG_STEM), Status::Failed);
    assert_eq!(reads.streams.load(Ordering::SeqCst), 3);
    let why = reasons_of(&report, BIG_STEM);
    assert!(
        why.contains("fsync of") && why.contains("the copy is not proof"),
        "{why}"
    );
    assert!(
        list_fat_image(&image, Layout::Superfloppy)
            .contains(&format!("DCIM/20180315/{BIG_STEM}.MP4"))
    );

    // Failing once: the second copy, read again from the camera, is proven.
    fs::write(&image, &pristine).unwrap();
    let reads = OnBigRead::counting();
    let report = bench
        .ingest_faulty(&image, store_fault(true, 1, libc::EIO, reads.clone()))
        .unwrap();
    assert_eq!(
        status_of(&report, BIG_STEM),
        Status::Confirmed,
        "{}",
        report.summary()
    );
    assert_eq!(
        reads.streams.load(Ordering::SeqCst),
        2,
        "copied again, not reused"
    );
    assert_eq!(report.exit_code(), 0);
    let (visible, temps) = bench.stored();
    assert_eq!(visible.len(), 2 * spec.recordings.len());
    assert!(temps.is_empty());
}

/// Before the final fsync, flips one byte in the large video's first 1 MiB region (proven
/// by read-back while the rest was still copied), the first `times` times.
struct CorruptProvenRegion {
    times: AtomicU32,
}

impl StoreFaults for CorruptProvenRegion {
    fn before_fsync(&self, temp: &Path) -> io::Result<()> {
        use std::os::unix::fs::FileExt;
        let big = temp.to_string_lossy().contains(&format!("{BIG_STEM}.MP4"));
        if !big || self.times.load(Ordering::SeqCst) == 0 {
            return Ok(());
        }
        self.times.fetch_sub(1, Ordering::SeqCst);
        let f = fs::OpenOptions::new().read(true).write(true).open(temp)?;
        let mut b = [0u8; 1];
        f.read_exact_at(&mut b, 4097)?;
        b[0] ^= 0x01;
        f.write_all_at(&b, 4097)
    }
}

/// Test the argument of docs/proving.md, "Proof by region": a region read back while the
/// copy went on is proof only if nothing writes into it afterwards.
#[test]
fn a_region_corrupted_after_its_proof_is_caught_and_copied_again_from_the_camera() {
    let mut bench = Bench::new();
    bench.config.ingest.proof_region = sentinel_dock::base::config::ByteSize(1 << 20);
    let spec = camera();
    let image = build_fat_image(&spec, bench.dir.path(), Layout::Superfloppy);
    let pristine = fs::read(&image).unwrap();
    let corrupt = |times| -> Arc<dyn StoreFaults> {
        Arc::new(CorruptProvenRegion {
            times: AtomicU32::new(times),
        })
    };

    // Always corrupted: three copies, none trusted, the recording stays on the camera.
    let options = WithStoreFaults(corrupt(u32::MAX), with_reads(OnBigRead::counting()));
    let report = bench.ingest_faulty(&image, options).unwrap();
    assert_eq!(status_of(&report, BIG_STEM), Status::Failed);
    let why = reasons_of(&report, BIG_STEM);
    assert!(
        why.contains("changed after parts of it were proven by read-back"),
        "{why}"
    );
    assert!(why.contains("copy again from the camera"), "{why}");
    let big = spec.recordings.last().unwrap();
    assert!(list_fat_image(&image, Layout::Superfloppy).contains(&big.video_path()));
    let (visible, temps) = bench.stored();
    assert!(temps.is_empty(), "{temps:?}");
    // Its sidecar, proven on its own, may stay; the video never does.
    let video = format!("{BIG_STEM}.MP4");
    assert!(!visible.iter().any(|f| f.ends_with(&video)), "{visible:?}");

    // Corrupted once: the second copy, read again from the camera, is proven, and the
    // hashes of its read-back are the camera's.
    fs::write(&image, &pristine).unwrap();
    let reads = OnBigRead::counting();
    let options = WithStoreFaults(corrupt(1), with_reads(reads.clone()));
    let report = bench.ingest_faulty(&image, options).unwrap();
    assert_eq!(report.exit_code(), 0, "{}", report.summary());
    assert_eq!(reads.streams.load(Ordering::SeqCst), 2, "copied again");
    let stored = report
        .recordings
        .iter()
        .find(|r| r.stem == BIG_STEM)
        .unwrap();
    let mut camera_hashes = sentinel_dock::base::digest::Hasher::new();
    camera_hashes.update(&big.video);
    let camera_hashes = camera_hashes.finish();
    assert_eq!(stored.blake3.as_deref(), Some(&*camera_hashes.blake3_hex()));
    assert_eq!(stored.sha256.as_deref(), Some(&*camera_hashes.sha256_hex()));
    let path = bench
        .config
        .store
        .path
        .join(stored.stored_path.as_ref().unwrap());
    assert_eq!(fs::read(path).unwrap(), big.video);
    assert!(stored.wiped);
}

/// A tmpfs of `mib` MiB, unmounted when dropped. Mounting it needs root: the test fails
/// if it cannot.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, mib: u32) -> Tmpfs {
        fs::create_dir_all(at).unwrap();
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={mib}m"),
                "sentinel-test",
            ])
            .arg(at)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "mount -t tmpfs on {} (this test needs root): {}",
            at.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
        Tmpfs(at.to_path_buf())
    }

    fn remount_read_only(&self) -> bool {
        Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(&self.0)
            .status()
            .is_ok_and(|s| s.success())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
#[ignore = "needs root"]
fn a_store_that_fills_up_mid_copy_keeps_nothing_partial_and_says_it_is_full() {
    let bench = Bench::with_store("store");
    let store = bench.config.store.path.clone();
    let _fs = Tmpfs::mount(&store, 16);
    let spec = camera();
    let image = build_fat_image(&spec, bench.dir.path(), Layout::Superfloppy);
    // Another writer fills the disk while the large video is being copied.
    let filler = store.join("filler");
    let faults = OnBigRead::new(1 << 20, move || {
        let mut f = fs::File::create(&filler)?;
        let block = vec![0u8; 1 << 16];
        while f.write_all(&block).is_ok() {}
        Ok(())
    });
    let report = bench.ingest(&image, &with_reads(faults)).unwrap();
    assert_eq!(report.exit_code(), 3);
    assert_eq!(status_of(&report, BIG_STEM), Status::Failed);
    let why = reasons_of(&report, BIG_STEM);
    assert!(why.contains("No space left on device"), "{why}");
    assert!(
        why.contains("the store is full: free space or add disks"),
        "{why}"
    );
    let (visible, temps) = bench.stored();
    assert!(temps.is_empty(), "{temps:?}");
    // Its sidecar, proven on its own, may stay; the video never does.
    let video = format!("{BIG_STEM}.MP4");
    assert!(!visible.iter().any(|f| f.ends_with(&video)), "{visible:?}");
    let big = spec.recordings.last().unwrap();
    assert!(list_fat_image(&image, Layout::Superfloppy).contains(&big.video_path()));

    fs::remove_file(store.join("filler")).unwrap(); // the technician frees space
    let report = bench.ingest(&image, &Options::default()).unwrap();
    assert_eq!(report.exit_code(), 0, "{}", report.summary());
    assert_eq!(status_of(&report, BIG_STEM), Status::Confirmed);
}

/// `sqlite3 FILE` holding `BEGIN EXCLUSIVE` until killed.
fn lock_register(path: &Path) -> Child {
    require_tool("sqlite3");
    let mut child = Command::new(tool_path("sqlite3").unwrap())
        .arg(path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.as_mut().unwrap();
    stdin
        .write_all(b"BEGIN EXCLUSIVE;\n.print locked\n")
        .unwrap();
    stdin.flush().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "locked");
    child
}

#[test]
fn a_register_locked_by_another_process_stops_the_ingest_before_any_wipe() {
    let bench = Bench::new();
    let spec = camera();
    let image = build_fat_image(&spec, bench.dir.path(), Layout::Superfloppy);
    let pristine = fs::read(&image).unwrap();
    // Another process takes the register's write lock while the large video is copied, and
    // holds it past the register's 10 s busy timeout.
    let register = bench.config.register.path.clone();
    let locker: Arc<Mutex<Option<Child>>> = Arc::default();
    let slot = locker.clone();
    let faults = OnBigRead::new(0, move || {
        let child = lock_register(&register);
        let pid = child.id();
        *slot.lock().unwrap() = Some(child);
        let slot = slot.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(12));
            if let Some(mut c) = slot.lock().unwrap().take() {
                assert_eq!(c.id(), pid);
                let _ = c.kill();
                let _ = c.wait();
            }
        });
        Ok(())
    });
    let err = bench.ingest(&image, &with_reads(faults)).unwrap_err();
    let text = sentinel_dock::base::error::chain(&err);
    assert!(matches!(err, IngestError::Register(_)), "{text}");
    assert!(
        text.contains("register") && text.contains("locked"),
        "{text}"
    );
    assert!(
        text.contains("sqlite3 shell"),
        "the message says what to close: {text}"
    );
    assert_eq!(fs::read(&image).unwrap(), pristine, "nothing wiped");
    let states = bench.states();
    assert!(
        states.contains(&(BIG_STEM.into(), "discovered".into())),
        "{states:?}"
    );
    if let Some(mut c) = locker.lock().unwrap().take() {
        let _ = c.kill();
        let _ = c.wait();
    }
    assert_redocking_finishes(&bench, &spec, &image);
}

#[test]
fn a_read_only_register_is_refused_before_anything_is_copied() {
    let bench = Bench::new();
    let register_dir = bench.dir.path().join("register-fs");
    let mut config = bench.config.clone();
    config.register.path = register_dir.join("register.sqlite");
    let root = nix::unistd::geteuid().is_root();
    // Root ignores file modes: as root the register's file system itself turns read-only.
    let mount = root.then(|| Tmpfs::mount(&register_dir, 8));
    fs::create_dir_all(&register_dir).unwrap();
    // A first camera creates the register; then its file system turns read-only.
    let first = build_dir(&CameraSpec::fixture(SERIAL_2), bench.dir.path());
    let report = crate::common::ingest_once(&config, &first, &Options::default()).unwrap();
    assert_eq!(report.exit_code(), 0);
    match &mount {
        Some(m) => assert!(m.remount_read_only(), "remount ro"),
        None => {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&config.register.path, fs::Permissions::from_mode(0o444)).unwrap();
            fs::set_permissions(&register_dir, fs::Permissions::from_mode(0o555)).unwrap();
        }
    }
    let (before, _) = bench.stored();
    let spec = CameraSpec::fixture(SERIAL);
    let image = build_fat_image(&spec, bench.dir.path(), Layout::Superfloppy);
    let pristine = fs::read(&image).unwrap();
    let err = crate::common::ingest_once(&config, &image, &Options::default()).unwrap_err();
    let text = sentinel_dock::base::error::chain(&err);
    assert!(matches!(err, IngestError::Register(_)), "{text}");
    assert!(
        text.contains("readonly database") || text.contains("cannot open the register"),
        "{text}"
    );
    assert_eq!(bench.stored().0, before, "nothing copied");
    assert_eq!(fs::read(&image).unwrap(), pristine, "nothing wiped");
}

/// A clock that jumps between absurd times at every reading.
struct JumpingClock(AtomicU32);

impl Clock for JumpingClock {
    fn now(&self) -> DateTime<Utc> {
        const TIMES: [&str; 5] = [
            "2026-11-26T06:00:00Z",
            "1999-12-31T23:59:59Z",
            "2100-01-01T00:00:00Z",
            "1970-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
        ];
        let i = self.0.fetch_add(1, Ordering::SeqCst) as usize;
        TIMES[i % TIMES.len()].parse().unwrap()
    }
}

#[test]
fn a_clock_that_jumps_changes_no_outcome_and_keeps_the_trace_in_order() {
    let bench = Bench::new();
    let spec = CameraSpec::fixture(SERIAL);
    let image = build_fat_image(&spec, bench.dir.path(), Layout::Superfloppy);
    let pristine = fs::read(&image).unwrap();
    let options = Options {
        clock: Arc::new(JumpingClock(AtomicU32::new(0))),
        ..Options::default()
    };
    let report = bench.ingest(&image, &options).unwrap();
    assert_eq!(report.exit_code(), 0, "{}", report.summary());
    // Stored by the recording's own day, whatever the clock says.
    let (visible, _) = bench.stored();
    assert!(
        visible
            .iter()
            .all(|f| f.starts_with("recordings/2018-03-1")),
        "{visible:?}"
    );
    // The trace keeps the order things happened in, even where the times go backwards.
    let conn = Connection::open(&bench.config.register.path).unwrap();
    let mut stmt = conn
        .prepare("SELECT group_concat(state, ',') FROM (SELECT recording, state FROM recording_events ORDER BY id) GROUP BY recording")
        .unwrap();
    let traces: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(traces.len(), spec.recordings.len());
    assert!(
        traces.iter().all(|t| t == "discovered,confirmed,wiped"),
        "{traces:?}"
    );
    let times: Vec<String> = conn
        .prepare("SELECT at FROM recording_events ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(
        times.iter().any(|t| t.starts_with("1970")) && times.iter().any(|t| t.starts_with("9999")),
        "{times:?}"
    );
    // Docked again with the clock still jumping: recognised, nothing stored twice.
    fs::write(&image, pristine).unwrap();
    let again = bench.ingest(&image, &options).unwrap();
    assert!(
        again
            .recordings
            .iter()
            .all(|r| r.status == Status::AlreadyStored && r.wiped)
    );
    assert_eq!(bench.stored().0, visible);
}
