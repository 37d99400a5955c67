use super::*;

fn image(len: usize) -> (tempfile::NamedTempFile, Vec<u8>) {
    let bytes: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
    let mut f = tempfile::NamedTempFile::new().expect("temp file");
    f.write_all(&bytes).expect("write");
    (f, bytes)
}

#[test]
fn reads_through_the_cache_match_the_device() {
    let (f, bytes) = image(3 * 1024 * 1024 + 123);
    let file = File::open(f.path()).expect("open");
    let base = 1000;
    let mut s = Storage::new(
        file,
        base,
        bytes.len() as u64 - base,
        false,
        Arc::new(Guard::new()),
    );
    s.guard.arm(u64::MAX, None);
    let mut got = Vec::new();
    let mut buf = vec![0u8; 4096];
    loop {
        let n = match s.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::InvalidData => break,
            Err(e) => panic!("{e}"),
        };
        got.extend_from_slice(&buf[..n]);
        // Interleave FAT-like lookups elsewhere, as fatfs does between clusters.
        let here = s.stream_position().expect("pos");
        s.seek(SeekFrom::Start(20)).expect("seek");
        let mut entry = [0u8; 4];
        s.read_exact(&mut entry).expect("lookup");
        assert_eq!(entry, bytes[1020..1024]);
        s.seek(SeekFrom::Start(here)).expect("seek");
    }
    assert!(got == bytes[base as usize..], "bytes differ");
}

/// Whether the file system under `path` takes O_DIRECT (tmpfs and FUSE may not).
fn takes_o_direct(path: &std::path::Path) -> bool {
    use std::os::unix::fs::OpenOptionsExt;
    File::options()
        .read(true)
        .custom_flags(libc::O_DIRECT)
        .open(path)
        .is_ok()
}

/// A stream of whole clusters, as fatfs reads a contiguous file.
fn read_stream(s: &mut Storage, from: u64, len: usize) -> Vec<u8> {
    s.seek(SeekFrom::Start(from)).expect("seek");
    let mut got = vec![0u8; len];
    for chunk in got.chunks_mut(32 * 1024) {
        s.read_exact(chunk).expect("read");
    }
    got
}

#[test]
fn a_stream_is_read_with_o_direct_and_ahead_where_the_device_takes_it() {
    // Off a block boundary, as a partition at sector 63 is, and an odd total length.
    let (f, bytes) = image(5 * 1024 * 1024 + 777);
    let base = 63 * 512;
    let len = bytes.len() as u64 - base;
    let file = File::open(f.path()).expect("open");
    let mut s = Storage::new(file, base, len, false, Arc::new(Guard::new()));
    s.guard.arm(u64::MAX, None);
    let got = read_stream(&mut s, 0, len as usize);
    assert!(got == bytes[base as usize..], "bytes differ");
    if takes_o_direct(f.path()) {
        assert!(
            matches!(s.direct, Direct::Open(_, Some(_))),
            "O_DIRECT not used"
        );
        assert!(
            s.windows_read_ahead >= 3,
            "{} windows read ahead",
            s.windows_read_ahead
        );
    }
    // A jump elsewhere (a fragmented file) still reads the right bytes.
    let at = 1024 * 1024 + 4096 * 3;
    let again = read_stream(&mut s, at, 2 * 1024 * 1024);
    assert!(again == bytes[(base + at) as usize..][..2 * 1024 * 1024]);
}

#[test]
fn a_writable_volume_reads_nothing_ahead_so_held_writes_are_never_read_over() {
    let (f, bytes) = image(4 * 1024 * 1024);
    let file = File::options()
        .read(true)
        .write(true)
        .open(f.path())
        .expect("open");
    let len = bytes.len() as u64;
    let mut s = Storage::new(file, 0, len, true, Arc::new(Guard::new()));
    let _held = s.hold_writes().expect("hold");
    s.guard.arm(u64::MAX, None);
    let first = read_stream(&mut s, 0, 1024 * 1024);
    assert!(first == bytes[..1024 * 1024]);
    // A held write into the window after the one just read (the one read-ahead
    // would have fetched before the write).
    s.seek(SeekFrom::Start(1024 * 1024 + 10)).expect("seek");
    s.write_all(b"HELD").expect("write");
    let next = read_stream(&mut s, 1024 * 1024, 1024 * 1024);
    assert_eq!(&next[10..14], b"HELD");
    assert!(!matches!(s.direct, Direct::Open(_, Some(_))));
    assert_eq!(s.windows_read_ahead, 0);
}

#[test]
fn read_only_storage_refuses_writes() {
    let (f, _) = image(8192);
    let file = File::open(f.path()).expect("open");
    let mut s = Storage::new(file, 0, 8192, false, Arc::new(Guard::new()));
    s.guard.arm(u64::MAX, None);
    let err = s.write(b"x").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
}

#[test]
fn writes_update_cached_bytes() {
    let (f, _) = image(8192);
    let file = File::options()
        .read(true)
        .write(true)
        .open(f.path())
        .expect("open");
    let mut s = Storage::new(file, 0, 8192, true, Arc::new(Guard::new()));
    s.guard.arm(u64::MAX, None);
    let mut b = [0u8; 8];
    s.read_exact(&mut b).expect("read");
    s.seek(SeekFrom::Start(2)).expect("seek");
    s.write_all(b"ZZ").expect("write");
    s.seek(SeekFrom::Start(0)).expect("seek");
    s.read_exact(&mut b).expect("read");
    assert_eq!(&b[2..4], b"ZZ");
}

mod write_back {
    use crate::camera::volume::storage::*;

    /// Many small writes, held back, leave the device exactly as direct writes would,
    /// and reads in between see them.
    #[test]
    fn held_writes_read_back_and_reach_the_device_only_when_flushed() {
        let len = 64 * 1024u64;
        let direct = tempfile::NamedTempFile::new().unwrap();
        let held = tempfile::NamedTempFile::new().unwrap();
        for f in [&direct, &held] {
            f.as_file().set_len(len).unwrap();
        }
        let open = |f: &tempfile::NamedTempFile| {
            File::options()
                .read(true)
                .write(true)
                .open(f.path())
                .unwrap()
        };
        let mut a = Storage::new(open(&direct), 0, len, true, Arc::new(Guard::new()));
        let mut b = Storage::new(open(&held), 0, len, true, Arc::new(Guard::new()));
        let shared = b.hold_writes().unwrap();
        for s in [&a, &b] {
            s.guard.arm(u64::MAX, None);
        }
        for i in 0..3000u64 {
            let pos = (i * 4093) % (len - 4);
            let bytes = (i as u32).to_le_bytes();
            for s in [&mut a, &mut b] {
                s.seek(SeekFrom::Start(pos)).unwrap();
                s.write_all(&bytes).unwrap();
            }
        }
        let mut seen = [0u8; 4];
        b.seek(SeekFrom::Start((2999 * 4093) % (len - 4))).unwrap();
        b.read_exact(&mut seen).unwrap();
        assert_eq!(seen, 2999u32.to_le_bytes(), "a read sees a held write");
        assert_ne!(
            std::fs::read(direct.path()).unwrap(),
            std::fs::read(held.path()).unwrap(),
            "held writes have not reached the device yet"
        );
        shared.lock().unwrap().flush().unwrap();
        assert_eq!(
            std::fs::read(direct.path()).unwrap(),
            std::fs::read(held.path()).unwrap()
        );
    }
}
