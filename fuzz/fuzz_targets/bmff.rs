//! The ISO BMFF walker on arbitrary bytes: no panic, chunking never changes the report, and
//! the codec flags drawn from it stay bounded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sentinel_dock::camera::evidence::{BmffLimits, BoxWalker, check_reader};

fuzz_target!(|data: &[u8]| {
    // Small limits so that the fuzzer reaches the "too large" and "too many" paths.
    let limits = BmffLimits {
        max_meta_box_bytes: 1 << 16,
        max_boxes: 4096,
    };
    let whole = check_reader(data, limits).expect("reading a slice cannot fail");
    // The first byte picks a chunk size, as the copy pipeline's reads may be any size.
    let chunk = usize::from(data.first().copied().unwrap_or(1)).max(1);
    let mut walker = BoxWalker::new(limits);
    for piece in data.chunks(chunk) {
        walker.feed(piece);
    }
    assert_eq!(walker.finish(), whole);
    // The codec flags are read from the same report: bounded, whatever the tracks claim.
    assert!(whole.codec_flags().iter().all(|f| f.len() < 4096));
});
