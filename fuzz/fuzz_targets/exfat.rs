//! The exFAT reader and wipe on arbitrary bytes: the image is opened read-write (a
//! throwaway copy), scanned, every listed file read and wiped. No panic escapes, every
//! call ends within the profile's deadline, memory stays bounded. Seed it with a small
//! `mkfs.exfat` image (see `tests/integration/fuzz_smoke.rs`, `small_exfat_image`).
#![no_main]

use std::io::Read;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use sentinel_dock::base::config::{Profile, WipeMode};
use sentinel_dock::camera::volume::{self, Access};

/// Longest time one input may take; the guard's deadline is 1 s per operation.
const LIMIT: Duration = Duration::from_secs(10);

fuzz_target!(|data: &[u8]| {
    // Only inputs the exFAT reader takes: the FAT path has its own target (`volume`).
    if data.len() < 512 || &data[3..11] != b"EXFAT   " {
        return;
    }
    let profile = Profile {
        max_dir_entries: 512,
        scan_deadline_secs: 1,
        ..Profile::default()
    };
    let path = std::env::temp_dir().join(format!("sentinel-fuzz-exfat-{}.img", std::process::id()));
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let started = Instant::now();
    let Ok(mut v) = volume::open(&path, &profile, Access::ReadWrite) else {
        return;
    };
    if let Ok(scan) = v.scan() {
        for file in &scan.files {
            let _ = v.read_small(&file.path, 1 << 16);
            if let Ok(mut reader) = v.open_file(&file.path) {
                let mut sink = [0u8; 1 << 16];
                while let Ok(n) = reader.read(&mut sink) {
                    if n == 0 {
                        break;
                    }
                }
            }
            let _ = v.wipe(&file.path, WipeMode::Overwrite);
        }
    }
    let _ = v.close();
    assert!(started.elapsed() < LIMIT, "took {:?}", started.elapsed());
});
