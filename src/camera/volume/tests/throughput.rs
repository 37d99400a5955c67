//! Read throughput of a large recording (run with `--ignored --nocapture`; it builds
//! two 300 MB images).

use std::io::Read;
use std::time::Instant;

use super::*;

fn mb_per_s(bytes: usize, started: Instant) -> f64 {
    bytes as f64 / 1e6 / started.elapsed().as_secs_f64()
}

#[test]
#[ignore = "builds 300 MB images; run by hand to measure"]
fn read_throughput_of_a_200_mb_file() {
    require_tools!();
    let (_t, dir) = tempdir();
    let payload = pattern(5, 200_000_000);
    for (name, bits, sectors) in [("fat32-4k", 32, 8), ("fat16-32k", 16, 64)] {
        let img = dir.join(format!("{name}.img"));
        mkfs(&img, 300 * 1024, bits, Some(sectors), "SENTINEL");
        mmd(&img, "DCIM");
        mmd(&img, "DCIM/20180312");
        put(&img, &format!("DCIM/20180312/{MP4_1}"), &payload);
        let mut raw = std::fs::File::open(&img).expect("image");
        let mut buf = vec![0u8; 1 << 20];
        let started = Instant::now();
        let mut total = 0;
        while let Ok(n @ 1..) = raw.read(&mut buf) {
            total += n;
        }
        let raw_speed = mb_per_s(total, started);
        let mut volume = open(&img, Access::ReadOnly);
        let mut reader = volume
            .open_file(&vpath(&format!("DCIM/20180312/{MP4_1}")))
            .expect("open");
        let started = Instant::now();
        let mut total = 0;
        loop {
            let n = reader.read(&mut buf).expect("read");
            if n == 0 {
                break;
            }
            assert!(
                buf[..n] == payload[total..total + n],
                "bytes differ at {total}"
            );
            total += n;
        }
        let speed = mb_per_s(total, started);
        drop(reader);
        volume.close().expect("close");
        assert_eq!(total, payload.len());
        eprintln!(
            "{name}: 200 MB through volume::open_file at {speed:.0} MB/s \
             (raw read of the image file from page cache: {raw_speed:.0} MB/s)"
        );
    }
}
