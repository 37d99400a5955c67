//! Hashing that keeps pace with the disk: SHA-256 and BLAKE3 run on two threads while the
//! caller reads (and writes) the next buffer.
//!
//! On a 2-core dock machine SHA-256 (about 2 GB/s with the CPU's SHA extensions) is the
//! only real CPU work of an ingest; run one after the other with the reads, the hashes
//! would cap the copy and the read-back well below the disk's speed.

use std::ops::Range;
use std::sync::Arc;
use std::sync::mpsc::sync_channel;
use std::thread;

use sha2::Digest as _;

use super::Digests;

/// Buffers in flight: one being filled, one being hashed, one spare.
const BUFFERS: usize = 3;

/// Reads a stream with `fill` and hashes it on two threads; returns its digests and length.
///
/// `fill` runs on the caller's thread: it fills the buffer it is given (of `buffer_size`
/// bytes, or more) and returns the range holding new bytes, or `None` at the end. Each
/// filled range is also given to `inspect` (on the hashing thread, in order) before the
/// buffer is reused. An error from `fill` stops everything and is returned.
pub(crate) fn hash_stream<E>(
    buffer_size: usize,
    mut fill: impl FnMut(&mut Vec<u8>) -> Result<Option<Range<usize>>, E>,
    mut inspect: impl FnMut(&[u8]) + Send,
) -> Result<(Digests, u64), E> {
    let (to_hash, hash_rx) = sync_channel::<(Vec<u8>, Range<usize>)>(1);
    let (to_fill, free_rx) = sync_channel::<Vec<u8>>(BUFFERS);
    thread::scope(|scope| {
        let hashing = scope.spawn(move || {
            let (to_blake3, blake3_rx) = sync_channel::<(Arc<Vec<u8>>, Range<usize>)>(1);
            let (blake3_done, done_rx) = sync_channel::<()>(1);
            let blake3_thread = scope.spawn(move || {
                let mut hasher = blake3::Hasher::new();
                for (buf, range) in blake3_rx {
                    hasher.update(&buf[range]);
                    drop(buf);
                    if blake3_done.send(()).is_err() {
                        break;
                    }
                }
                hasher
            });
            let mut sha256 = sha2::Sha256::new();
            let mut len: u64 = 0;
            for (buf, range) in hash_rx {
                let buf = Arc::new(buf);
                let shared = to_blake3.send((Arc::clone(&buf), range.clone())).is_ok();
                sha256.update(&buf[range.clone()]);
                inspect(&buf[range.clone()]);
                len += range.len() as u64;
                if shared && done_rx.recv().is_err() {
                    break;
                }
                // The BLAKE3 thread dropped its handle before saying done: the buffer is ours.
                if let Ok(buf) = Arc::try_unwrap(buf) {
                    // The filler may have stopped and dropped its receiver: nothing to recycle.
                    let _ = to_fill.send(buf);
                }
            }
            drop(to_blake3);
            let blake3 = match blake3_thread.join() {
                Ok(h) => h,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            let digests = Digests {
                blake3: *blake3.finalize().as_bytes(),
                sha256: sha256.finalize().into(),
            };
            (digests, len)
        });
        let mut fresh = BUFFERS;
        let outcome = loop {
            let mut buf = if fresh > 0 {
                fresh -= 1;
                vec![0u8; buffer_size]
            } else {
                match free_rx.recv() {
                    Ok(b) => b,
                    Err(_) => break Ok(()),
                }
            };
            match fill(&mut buf) {
                Ok(Some(range)) if !range.is_empty() => {
                    if to_hash.send((buf, range)).is_err() {
                        break Ok(());
                    }
                }
                Ok(_) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        drop(to_hash);
        let result = match hashing.join() {
            Ok(r) => r,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        outcome.map(|()| result)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::digest::Hasher;

    fn chunks_of(
        data: &[u8],
        size: usize,
    ) -> impl FnMut(&mut Vec<u8>) -> Result<Option<Range<usize>>, String> + '_ {
        let mut at = 0;
        move |buf| {
            let n = size.min(data.len() - at).min(buf.len());
            buf[..n].copy_from_slice(&data[at..at + n]);
            at += n;
            Ok((n > 0).then_some(0..n))
        }
    }

    #[test]
    fn digests_equal_the_sequential_hasher_and_inspect_sees_every_byte_in_order() {
        let data: Vec<u8> = (0..3_000_017u32).map(|i| (i % 253) as u8).collect();
        let mut seen = Vec::new();
        let (d, len) = hash_stream(65536, chunks_of(&data, 65536), |b| {
            seen.extend_from_slice(b)
        })
        .unwrap();
        let mut h = Hasher::new();
        h.update(&data);
        assert_eq!(d, h.finish());
        assert_eq!(len, data.len() as u64);
        assert_eq!(seen, data);
    }

    #[test]
    fn an_offset_range_is_hashed_alone() {
        let (d, len) = hash_stream::<String>(
            16,
            {
                let mut once = true;
                move |buf| {
                    buf[..8].copy_from_slice(b"xxxxabcd");
                    Ok(std::mem::take(&mut once).then_some(4..8))
                }
            },
            |_| {},
        )
        .unwrap();
        let mut h = Hasher::new();
        h.update(b"abcd");
        assert_eq!((d, len), (h.finish(), 4));
    }

    #[test]
    fn an_error_from_fill_is_returned() {
        let mut calls = 0;
        let err = hash_stream(
            16,
            |_| {
                calls += 1;
                if calls < 3 {
                    Ok(Some(0..16))
                } else {
                    Err("camera pulled")
                }
            },
            |_| {},
        )
        .unwrap_err();
        assert_eq!(err, "camera pulled");
    }
}
