//! Store tests on real files in temp folders.

use std::fs;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{FileExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::NaiveDate;

use super::*;
use crate::base::digest::Hasher;

const SERIAL: &str = "SNTL-00042";
const NAME: &str = "SNTL-00042_20240501_101500_0001.MP4";

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 5, 1).expect("valid date")
}

fn at(area: Area, name: &str) -> StorePath {
    StorePath::new(area, day(), SERIAL, name).expect("valid store path")
}

/// Bytes that differ by seed, with a size that is not a multiple of the 4 KiB block, so the
/// O_DIRECT read-back ends on a short read.
fn content(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

fn digests(bytes: &[u8]) -> Digests {
    let mut h = Hasher::new();
    h.update(bytes);
    h.finish()
}

/// Writes `bytes` in 1 MiB chunks, as the ingest pipeline does, and persists.
fn store_bytes(store: &Store, p: &StorePath, bytes: &[u8]) -> Result<Persisted, PersistError> {
    let mut pending = store.create(p).expect("create");
    for chunk in bytes.chunks(1 << 20) {
        pending.write_all(chunk).expect("write");
    }
    pending.persist(&digests(bytes))
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn serial_folder(store: &Store, area: Area) -> PathBuf {
    store
        .root()
        .join(area.dir_name())
        .join("2024-05-01")
        .join(SERIAL)
}

fn open_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open store");
    (dir, store)
}

#[test]
fn store_happy_path_is_read_only_named_and_alone() {
    let (_dir, store) = open_store();
    let p = at(Area::Recordings, NAME);
    let bytes = content(1, 3 * (1 << 20) + 1234);
    let persisted = store_bytes(&store, &p, &bytes).expect("persist");
    let path = store.absolute(&p);
    assert_eq!(persisted, Persisted::Stored { path: path.clone() });
    assert_eq!(
        p.relative(),
        Path::new("recordings/2024-05-01/SNTL-00042").join(NAME)
    );
    let mode = fs::metadata(&path).expect("metadata").permissions().mode();
    assert_eq!(mode & 0o777, 0o444);
    assert_eq!(fs::read(&path).expect("read"), bytes);
    assert_eq!(listing(&serial_folder(&store, Area::Recordings)), [NAME]);
    assert_eq!(
        listing(store.root()),
        [IDENTITY_FILE, LOCK_FILE, "quarantine", "recordings"]
    );
    assert_eq!(store.find(&p), Some(path.clone()));
    assert_eq!(store.read_back(&path).expect("read back"), digests(&bytes));
    assert_eq!(store.find(&at(Area::Quarantine, NAME)), None);
}

#[test]
fn store_empty_file_persists() {
    let (_dir, store) = open_store();
    let p = at(Area::Quarantine, "X_1.reasons.txt");
    let persisted = store_bytes(&store, &p, b"").expect("persist");
    assert_eq!(fs::metadata(persisted.path()).expect("metadata").len(), 0);
}

#[test]
fn store_same_content_twice_is_already_present() {
    let (_dir, store) = open_store();
    let p = at(Area::Recordings, NAME);
    let bytes = content(2, 10_000);
    store_bytes(&store, &p, &bytes).expect("first");
    let second = store_bytes(&store, &p, &bytes).expect("second");
    assert_eq!(
        second,
        Persisted::AlreadyPresent {
            path: store.absolute(&p)
        }
    );
    assert_eq!(listing(&serial_folder(&store, Area::Recordings)), [NAME]);
}

#[test]
fn store_other_content_same_name_is_a_conflict_keeping_both() {
    let (_dir, store) = open_store();
    let p = at(Area::Recordings, NAME);
    let first = content(3, 5000);
    let other = content(4, 7000);
    store_bytes(&store, &p, &first).expect("first");
    let persisted = store_bytes(&store, &p, &other).expect("conflict");
    let conflict_name = format!(
        "SNTL-00042_20240501_101500_0001.conflict-{}.MP4",
        &digests(&other).blake3_hex()[..16]
    );
    let folder = serial_folder(&store, Area::Recordings);
    assert_eq!(
        persisted,
        Persisted::Conflict {
            existing: folder.join(NAME),
            path: folder.join(&conflict_name),
        }
    );
    assert_eq!(fs::read(folder.join(NAME)).expect("read"), first);
    assert_eq!(fs::read(folder.join(&conflict_name)).expect("read"), other);
    // A re-run of the conflicting copy finds its conflict copy: still two files.
    let again = store_bytes(&store, &p, &other).expect("again");
    assert_eq!(again, persisted);
    let mut expected = vec![NAME.to_owned(), conflict_name];
    expected.sort();
    assert_eq!(listing(&folder), expected);
}

/// Flips one byte of the temp file on disk, as a failing disk or controller would.
struct FlipByte(u64);

impl StoreFaults for FlipByte {
    fn after_write(&self, temp: &Path) -> io::Result<()> {
        let f = fs::OpenOptions::new().read(true).write(true).open(temp)?;
        let mut b = [0u8; 1];
        f.read_exact_at(&mut b, self.0)?;
        b[0] ^= 0x01;
        f.write_all_at(&b, self.0)
    }
}

#[test]
fn store_flipped_byte_on_disk_is_a_read_back_mismatch_leaving_nothing() {
    let (_dir, store) = open_store();
    let store = store.with_faults(Arc::new(FlipByte(4097)));
    let p = at(Area::Recordings, NAME);
    let bytes = content(5, 100_000);
    let err = store_bytes(&store, &p, &bytes).expect_err("must fail");
    match &err {
        PersistError::ReadBackMismatch {
            path,
            expected,
            found,
        } => {
            assert!(path.to_string_lossy().contains(".partial-"));
            assert_eq!(**expected, digests(&bytes));
            assert_ne!(found, expected);
        }
        other => panic!("expected ReadBackMismatch, got {other:?}"),
    }
    assert!(err.retry_from_camera());
    assert!(listing(&serial_folder(&store, Area::Recordings)).is_empty());
    assert_eq!(store.find(&p), None);
}

struct FailFsync;

impl StoreFaults for FailFsync {
    fn before_fsync(&self, _temp: &Path) -> io::Result<()> {
        Err(io::Error::from_raw_os_error(libc::EIO))
    }
}

#[test]
fn store_failed_fsync_is_an_fsync_error_leaving_nothing() {
    let (_dir, store) = open_store();
    let store = store.with_faults(Arc::new(FailFsync));
    let p = at(Area::Recordings, NAME);
    let err = store_bytes(&store, &p, &content(6, 2000)).expect_err("must fail");
    assert!(matches!(err, PersistError::Fsync { .. }), "{err:?}");
    assert!(err.retry_from_camera());
    assert!(err.to_string().contains("copy again from the camera"));
    assert!(listing(&serial_folder(&store, Area::Recordings)).is_empty());
}

#[test]
fn store_dropped_pending_file_leaves_nothing() {
    let (_dir, store) = open_store();
    let p = at(Area::Recordings, NAME);
    let mut pending = store.create(&p).expect("create");
    pending.write_all(&content(7, 50_000)).expect("write");
    assert!(pending.temp_path().exists());
    drop(pending);
    assert!(listing(&serial_folder(&store, Area::Recordings)).is_empty());
}

#[test]
fn store_open_removes_stale_partials_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    let keep = store_bytes(&store, &at(Area::Recordings, NAME), b"kept")
        .expect("persist")
        .path()
        .to_owned();
    // A crash: the pending file's destructor never runs.
    let mut cut = store
        .create(&at(Area::Quarantine, "X_2.MP4"))
        .expect("create");
    cut.write_all(b"half a recording").expect("write");
    let stale = cut.temp_path().to_owned();
    std::mem::forget(cut);
    let other_stale = serial_folder(&store, Area::Recordings).join(".Y.MP4.partial-1-9");
    fs::write(&other_stale, b"x").expect("write stale");
    drop(store);

    let store = Store::open(dir.path()).expect("reopen");
    assert!(!stale.exists());
    assert!(!other_stale.exists());
    assert!(keep.exists());
    assert_eq!(listing(&serial_folder(&store, Area::Recordings)), [NAME]);
    assert!(listing(&serial_folder(&store, Area::Quarantine)).is_empty());
}

#[test]
fn store_path_refuses_unsafe_names() {
    let refused = [
        ("../x", "ok.MP4"),
        ("a/b", "ok.MP4"),
        ("", "ok.MP4"),
        ("SNTL\u{7}", "ok.MP4"),
        ("SNTLé", "ok.MP4"),
        ("-rf", "ok.MP4"),
        (SERIAL, "../x.MP4"),
        (SERIAL, "a/b.MP4"),
        (SERIAL, ""),
        (SERIAL, "noext"),
        (SERIAL, ".MP4"),
        (SERIAL, "x."),
        (SERIAL, "x..MP4"),
        (SERIAL, "x.MP4\n"),
        (SERIAL, "x.M/P4"),
        (SERIAL, "é.MP4"),
        (SERIAL, "x\0y.MP4"),
    ];
    for (serial, name) in refused {
        let r = StorePath::new(Area::Recordings, day(), serial, name);
        assert!(
            matches!(r, Err(StoreError::BadName { .. })),
            "{serial:?} {name:?} gave {r:?}"
        );
    }
    let long = format!("{}.MP4", "a".repeat(200));
    assert!(StorePath::new(Area::Recordings, day(), SERIAL, &long).is_err());
    let far = NaiveDate::from_ymd_opt(10000, 1, 1).expect("date");
    assert!(matches!(
        StorePath::new(Area::Recordings, far, SERIAL, NAME),
        Err(StoreError::BadDay { .. })
    ));
    let ok = StorePath::new(Area::Quarantine, day(), SERIAL, "X_1.reasons.txt").expect("ok");
    assert_eq!(
        ok.relative(),
        Path::new("quarantine/2024-05-01/SNTL-00042/X_1.reasons.txt")
    );
}

#[test]
fn store_bad_name_error_shows_escaped_value() {
    let err = StorePath::new(Area::Recordings, day(), "a\nb", NAME).expect_err("refused");
    let text = err.to_string();
    assert!(text.contains(r#""a\nb""#), "{text}");
    assert!(!text.contains('\n'));
}

#[test]
fn store_free_bytes_is_positive() {
    let (_dir, store) = open_store();
    assert!(store.free_bytes().expect("statvfs") > 0);
}

#[test]
fn store_read_back_refuses_paths_outside_the_store() {
    let (dir, store) = open_store();
    let outside = dir.path().join("recordings/../../etc/passwd");
    assert!(matches!(
        store.read_back(&outside),
        Err(StoreError::OutsideStore { .. })
    ));
    assert!(matches!(
        store.read_back(Path::new("/etc/passwd")),
        Err(StoreError::OutsideStore { .. })
    ));
}

struct NoSpace;

impl StoreFaults for NoSpace {
    fn after_write(&self, _temp: &Path) -> io::Result<()> {
        Err(io::Error::from_raw_os_error(libc::ENOSPC))
    }
}

#[test]
fn store_simulated_enospc_names_the_path_and_needs_a_technician() {
    let (_dir, store) = open_store();
    let store = store.with_faults(Arc::new(NoSpace));
    let p = at(Area::Recordings, NAME);
    let err = store_bytes(&store, &p, &content(8, 3000)).expect_err("must fail");
    assert!(matches!(err, PersistError::Io { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(NAME) && text.contains(".partial-"), "{text}");
    assert!(text.contains("the store is full"), "{text}");
    assert!(!err.retry_from_camera());
    assert!(listing(&serial_folder(&store, Area::Recordings)).is_empty());
}

/// Tests that need root (`#[ignore = "needs root"]`): `scripts/test` runs them as root, by
/// this module's name, in its second pass.
mod needs_root {
    use super::*;

    /// A 1 MiB tmpfs, unmounted when dropped.
    struct TinyTmpfs {
        dir: tempfile::TempDir,
    }

    impl TinyTmpfs {
        fn mount() -> TinyTmpfs {
            let dir = tempfile::tempdir().expect("tempdir");
            let out = std::process::Command::new("mount")
                .args(["-t", "tmpfs", "-o", "size=1m", "sentinel-test"])
                .arg(dir.path())
                .output()
                .expect("mount: util-linux, in scripts/install-deps");
            assert!(
                out.status.success(),
                "mount -t tmpfs (this test needs root): {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            TinyTmpfs { dir }
        }
    }

    impl Drop for TinyTmpfs {
        fn drop(&mut self) {
            // Lazy unmount: succeeds even if a file in it is still open.
            let _ = std::process::Command::new("umount")
                .arg("-l")
                .arg(self.dir.path())
                .status();
        }
    }

    #[test]
    #[ignore = "needs root"]
    fn store_real_enospc_on_a_full_tmpfs_names_the_path() {
        let fs = TinyTmpfs::mount();
        let store = Store::open(fs.dir.path()).expect("open");
        let p = at(Area::Recordings, NAME);
        let bytes = content(9, 2 << 20);
        let mut pending = store.create(&p).expect("create");
        let temp = pending.temp_path().to_owned();
        let write_err = bytes
            .chunks(1 << 20)
            .try_for_each(|c| pending.write_all(c))
            .expect_err("2 MiB cannot fit in 1 MiB");
        assert_eq!(write_err.kind(), io::ErrorKind::StorageFull);
        assert!(write_err.to_string().contains(&*temp.to_string_lossy()));
        // Even if the caller goes on, a copy with a hole is never persisted.
        let err = pending.persist(&digests(&bytes)).expect_err("refused");
        assert!(matches!(err, PersistError::Io { .. }), "{err:?}");
        assert!(!err.retry_from_camera());
        assert!(err.to_string().contains(NAME));
        assert!(listing(&serial_folder(&store, Area::Recordings)).is_empty());
        assert!(store.free_bytes().expect("statvfs") > 0);
    }
}

#[test]
fn store_read_back_matches_a_plain_read() {
    let (_dir, store) = open_store();
    let p = at(Area::Recordings, NAME);
    let bytes = content(10, (1 << 20) + 4096);
    let path = store_bytes(&store, &p, &bytes)
        .expect("persist")
        .path()
        .to_owned();
    let mut f = fs::File::open(&path).expect("open");
    f.seek(SeekFrom::Start(0)).expect("seek");
    let mut back = Vec::new();
    f.read_to_end(&mut back).expect("read");
    assert_eq!(store.read_back(&path).expect("read back"), digests(&back));
}

#[test]
fn store_buffered_read_back_fallback_agrees_with_o_direct() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("f");
    let bytes = content(11, (1 << 20) + 777);
    fs::write(&path, &bytes).expect("write");
    let mut chunk = vec![0u8; 1 << 20];
    let buffered = super::readback::read_buffered(&path, &mut chunk).expect("buffered");
    assert_eq!(buffered, digests(&bytes));
    assert_eq!(super::readback::read_back(&path).expect("direct"), buffered);
}

#[test]
fn store_link_fallback_never_replaces() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b, c) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("c"),
    );
    fs::write(&a, b"new").expect("write");
    fs::write(&b, b"old").expect("write");
    let err = super::durable::link_then_unlink(&a, &b).expect_err("b exists");
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
    assert_eq!(fs::read(&b).expect("read"), b"old");
    super::durable::link_then_unlink(&a, &c).expect("c is free");
    assert!(!a.exists());
    assert_eq!(fs::read(&c).expect("read"), b"new");
}

mod regions;
