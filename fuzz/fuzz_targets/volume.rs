//! The whole volume reader on arbitrary bytes: a disk image is opened, scanned, and every
//! file it lists is read, as an ingest would. No panic escapes, every call ends within the
//! profile's deadline, and memory stays bounded (libFuzzer's -rss_limit_mb checks that).
#![no_main]

use std::io::Read;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use sentinel_dock::base::config::Profile;
use sentinel_dock::camera::volume::{self, Access};

/// Longest time one input may take; the guard's deadline is 1 s per operation.
const LIMIT: Duration = Duration::from_secs(10);

fuzz_target!(|data: &[u8]| {
    let profile = Profile {
        max_dir_entries: 512,
        scan_deadline_secs: 1,
        ..Profile::default()
    };
    // One image file per fuzzing process, rewritten for each input: volume::open takes a path.
    let path = std::env::temp_dir().join(format!("sentinel-fuzz-volume-{}.img", std::process::id()));
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let started = Instant::now();
    let Ok(mut v) = volume::open(&path, &profile, Access::ReadOnly) else {
        return;
    };
    if let Ok(scan) = v.scan() {
        for file in &scan.files {
            let _ = v.read_small(&file.path, 1 << 16);
            if let Ok(mut reader) = v.open_file(&file.path) {
                let mut sink = [0u8; 1 << 16];
                // A file on a volume of `data.len()` bytes cannot be longer than that many bytes
                // read before its chain must loop; the reader's own budget stops it.
                while let Ok(n) = reader.read(&mut sink) {
                    if n == 0 {
                        break;
                    }
                }
            }
        }
    }
    let _ = v.close();
    assert!(started.elapsed() < LIMIT, "took {:?}", started.elapsed());
});
