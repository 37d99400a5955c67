//! Proof by region on real files: a copy proven while it is written has the camera's
//! hashes, and a region changed after its proof is caught before the copy is kept.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use chrono::NaiveDate;

use crate::base::digest::Hasher;
use crate::custody::store::*;

const NAME: &str = "SNTL-00042_20240501_101500_0001.MP4";
const MIB: usize = 1 << 20;

fn at() -> StorePath {
    let day = NaiveDate::from_ymd_opt(2024, 5, 1).expect("valid date");
    StorePath::new(Area::Recordings, day, "SNTL-00042", NAME).expect("valid store path")
}

fn content(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| ((i as u32).wrapping_mul(2654435761) >> 13) as u8)
        .collect()
}

fn digests(bytes: &[u8]) -> Digests {
    let mut h = Hasher::new();
    h.update(bytes);
    h.finish()
}

/// Writes `bytes` in uneven pieces (never aligned to a region) with 1 MiB regions.
fn store_in_regions(store: &Store, bytes: &[u8]) -> Result<Persisted, PersistError> {
    let mut pending = store
        .create(&at())
        .expect("create")
        .with_proof_region(MIB as u64);
    for piece in bytes.chunks(100_003) {
        pending.write_all(piece).expect("write");
    }
    pending.persist(&digests(bytes))
}

fn open_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open store");
    (dir, store)
}

fn no_files_left(store: &Store) -> bool {
    let folder = store.absolute(&at());
    let folder = folder.parent().expect("a folder");
    fs::read_dir(folder).map_or(true, |mut d| d.next().is_none())
}

#[test]
fn a_copy_proven_region_by_region_has_the_camera_hashes() {
    // Whole regions, a short last one, and a file of exactly whole regions.
    for len in [5 * MIB + 12_345, 3 * MIB, 4095] {
        let (_dir, store) = open_store();
        let bytes = content(len);
        let persisted = store_in_regions(&store, &bytes).expect("persist");
        let path = persisted.path().to_owned();
        assert!(matches!(persisted, Persisted::Stored { .. }));
        assert_eq!(fs::read(&path).expect("read"), bytes, "{len} bytes");
        assert_eq!(store.read_back(&path).expect("read back"), digests(&bytes));
    }
}

/// Before the final fsync, changes the copy's first region, proven long before.
struct ChangeProvenRegion {
    truncate: bool,
    calls: AtomicU32,
}

impl StoreFaults for ChangeProvenRegion {
    fn before_fsync(&self, temp: &Path) -> io::Result<()> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let f = fs::OpenOptions::new().read(true).write(true).open(temp)?;
        if self.truncate {
            let len = f.metadata()?.len();
            return f.set_len(len - 10);
        }
        let mut b = [0u8; 1];
        f.read_exact_at(&mut b, 4097)?;
        b[0] ^= 0x01;
        f.write_all_at(&b, 4097)
    }
}

#[test]
fn a_proven_region_changed_before_the_final_fsync_is_caught_and_nothing_kept() {
    for truncate in [false, true] {
        let (_dir, store) = open_store();
        let fault = Arc::new(ChangeProvenRegion {
            truncate,
            calls: AtomicU32::new(0),
        });
        let store = store.with_faults(fault.clone());
        let bytes = content(4 * MIB + 777);
        let err = store_in_regions(&store, &bytes).expect_err("must be refused");
        assert_eq!(fault.calls.load(Ordering::SeqCst), 1);
        let PersistError::ChangedAfterProof { path, change } = &err else {
            panic!("expected ChangedAfterProof, got {err:?}");
        };
        assert!(path.to_string_lossy().contains(".partial-"), "{err}");
        if truncate {
            assert!(change.contains("length went from"), "{err}");
        }
        assert!(err.retry_from_camera());
        assert!(
            err.to_string().contains("copy again from the camera"),
            "{err}"
        );
        assert!(no_files_left(&store), "nothing is kept");
        assert_eq!(store.find(&at()), None);
    }
}

#[test]
fn an_abandoned_copy_stops_its_prover_and_leaves_nothing() {
    let (_dir, store) = open_store();
    let mut pending = store
        .create(&at())
        .expect("create")
        .with_proof_region(MIB as u64);
    let temp = pending.temp_path().to_owned();
    pending.write_all(&content(3 * MIB + 5)).expect("write");
    drop(pending);
    assert!(!temp.exists());
    assert!(no_files_left(&store));
}
