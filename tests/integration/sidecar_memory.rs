//! A sidecar of 60 MiB (just under the profile's 64 MiB limit) is read, parsed, hashed,
//! stored and proven by the one-shot `sentinel-dockd ingest` with less than 64 MiB of peak
//! memory: sidecars are streamed, never held whole (before, such a sidecar cost ~140 MiB,
//! so four slots could take most of a gigabyte).
#![allow(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fail the test by panicking, like the tests"
)]

use std::fs;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;
use serde_json::Value;

const PEAK_BOUND_KIB: i64 = 64 * 1024;

/// The peak resident memory of a running process (`VmHWM`), 0 once it is gone.
fn vm_hwm_kib(pid: u32) -> i64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_sixty_mib_sidecar_is_ingested_under_sixty_four_mib_of_peak_memory() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = CameraSpec::new(SERIAL);
    let mut recording = fixture_recordings(SERIAL).remove(0);
    // The fixture's fix lines again and again between its header and its trailer: a
    // well-formed sidecar of 60 MiB (its fixes repeat, which is only flagged).
    let text = String::from_utf8(recording.sidecar.clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let (header, fixes, trailer) = (lines[0], &lines[1..lines.len() - 1], lines[lines.len() - 1]);
    let mut big = String::with_capacity(61 << 20);
    big.push_str(header);
    big.push('\n');
    while big.len() < 60 << 20 {
        for f in fixes {
            big.push_str(f);
            big.push('\n');
        }
    }
    big.push_str(trailer);
    big.push('\n');
    recording.sidecar = big.into_bytes();
    let sidecar_len = recording.sidecar.len() as u64;
    assert!(sidecar_len > 60 << 20 && sidecar_len < 64 << 20);
    spec.recordings.push(recording.clone());
    let image = build_fat_image_with(
        &spec,
        dir.path(),
        Layout::Superfloppy,
        &ImageOptions {
            fat_bits: Some(32),
            size_mib: Some(160),
        },
    );
    let config = dir.path().join("sentinel-dock.toml");
    fs::write(
        &config,
        "[store]\npath = \"store\"\nreserve = 0\n[register]\npath = \"register.sqlite\"\n",
    )
    .unwrap();
    let out = dir.path().join("out.json");
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sentinel-dockd"))
        .arg("--config")
        .arg(&config)
        .args(["ingest", "--json"])
        .arg(&image)
        .stdin(Stdio::null())
        .stdout(fs::File::create(&out).unwrap())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut peak = 0;
    let status = loop {
        peak = peak.max(vm_hwm_kib(child.id()));
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "too slow");
        std::thread::sleep(Duration::from_millis(2));
    };
    let json: Value = serde_json::from_slice(&fs::read(&out).unwrap()).unwrap();
    eprintln!("exit {status}, peak RSS {} KiB", peak);
    let r = &json["recordings"][0];
    assert!(
        r["status"] == "confirmed" || r["status"] == "quarantined",
        "{json}"
    );
    assert_eq!(r["sidecar"]["size"], sidecar_len, "{r}");
    let stored = fs::read(r["sidecar"]["stored_path"].as_str().unwrap()).unwrap();
    assert!(stored == recording.sidecar, "the stored sidecar differs");
    assert!(peak > 0, "the child's memory was never seen");
    assert!(
        peak < PEAK_BOUND_KIB,
        "peak RSS {peak} KiB, over {PEAK_BOUND_KIB} KiB"
    );
}
