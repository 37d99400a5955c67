//! One pass over a file's bytes: read from the camera, hash, check its structure, write.
//!
//! Each byte read from the camera is hashed (BLAKE3 and SHA-256), fed to the ISO BMFF
//! walker and written to the store's temporary file from the same buffer, so the camera is
//! read once. The hashes run on two other threads while the next buffer is read and
//! written (`digest::hash_stream`), because hashing is the only CPU work of an ingest.

use std::io::{self, Read, Write};
use std::ops::Range;

use crate::base::digest::{Digests, hash_stream};
use crate::camera::evidence::bmff::{BmffLimits, BmffReport, BoxWalker};

use super::progress::{Cancel, Progress};

/// Why a file could not be streamed; the camera still holds it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CopyError {
    /// Reading the camera failed (pulled out, bad sector, corrupt FAT).
    #[error("reading it from the camera failed after {done} of {expected} bytes")]
    Read {
        /// Bytes read before the failure.
        done: u64,
        /// Bytes the directory entry declares.
        expected: u64,
        /// What the volume said.
        source: io::Error,
    },
    /// The camera returned another number of bytes than its directory entry declares.
    #[error(
        "the camera returned {found} bytes where its directory entry declares {expected}: the volume changed or is corrupt"
    )]
    Length {
        /// Bytes the directory entry declares.
        expected: u64,
        /// Bytes actually returned (or more, stopped at expected + 1).
        found: u64,
    },
    /// Writing the store's temporary file failed (disk full, I/O error).
    #[error("writing the stored copy failed")]
    Write(#[source] io::Error),
    /// The ingest was asked to stop (camera pulled, service stopping).
    #[error("stopped after {done} bytes: the ingest was cancelled")]
    Cancelled {
        /// Bytes read before stopping.
        done: u64,
    },
}

/// Who watches a stream: a cancel token to obey and progress counters to feed.
#[derive(Clone, Copy, Default)]
pub(crate) struct Watch<'a> {
    /// Checked before every buffer.
    pub cancel: Option<&'a Cancel>,
    /// Fed with every buffer's length.
    pub progress: Option<&'a Progress>,
}

/// What one pass learnt: hashes, length, and (for videos) the ISO BMFF structure.
#[derive(Debug)]
pub(crate) struct Streamed {
    /// Hashes of every byte read.
    pub digests: Digests,
    /// Bytes read.
    pub size: u64,
    /// The ISO BMFF walk, when asked for.
    pub bmff: Option<BmffReport>,
}

/// Streams `expected` bytes from `source` into `sink` (if any), hashing and walking them.
pub fn stream(
    mut source: impl Read,
    expected: u64,
    mut sink: Option<&mut dyn Write>,
    walk_bmff: bool,
    buffer_size: usize,
    watch: Watch<'_>,
) -> Result<Streamed, CopyError> {
    let mut walker = walk_bmff.then(|| BoxWalker::new(BmffLimits::default()));
    let mut done: u64 = 0;
    let fill = |buf: &mut Vec<u8>| -> Result<Option<Range<usize>>, CopyError> {
        if watch.cancel.is_some_and(Cancel::is_cancelled) {
            return Err(CopyError::Cancelled { done });
        }
        buf.resize(buffer_size, 0);
        let n = read_full(&mut source, buf).map_err(|source| CopyError::Read {
            done,
            expected,
            source,
        })?;
        done += n as u64;
        if done > expected {
            return Err(CopyError::Length {
                expected,
                found: done,
            });
        }
        if let Some(sink) = sink.as_mut() {
            sink.write_all(&buf[..n]).map_err(CopyError::Write)?;
        }
        if let Some(p) = watch.progress {
            p.add_bytes(n as u64);
        }
        Ok((n > 0).then_some(0..n))
    };
    let inspect = |bytes: &[u8]| {
        if let Some(w) = walker.as_mut() {
            w.feed(bytes);
        }
    };
    let (digests, size) = hash_stream(buffer_size, fill, inspect)?;
    if size != expected {
        return Err(CopyError::Length {
            expected,
            found: size,
        });
    }
    Ok(Streamed {
        digests,
        size,
        bmff: walker.map(BoxWalker::finish),
    })
}

/// Fills `buf` as far as the source allows; fewer bytes only at the end of the file.
fn read_full(source: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match source.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::digest::Hasher;

    fn digests_of(bytes: &[u8]) -> Digests {
        let mut h = Hasher::new();
        h.update(bytes);
        h.finish()
    }

    #[test]
    fn bytes_are_written_and_hashed_alike_whatever_the_buffer_size() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        for buffer in [4096, 65536, 1 << 20] {
            let mut out = Vec::new();
            let s = stream(
                &data[..],
                data.len() as u64,
                Some(&mut out),
                false,
                buffer,
                Watch::default(),
            )
            .unwrap();
            assert_eq!(out, data);
            assert_eq!(s.size, data.len() as u64);
            assert_eq!(s.digests, digests_of(&data));
        }
    }

    #[test]
    fn a_file_longer_than_declared_is_refused() {
        let data = vec![1u8; 10_000];
        let err = stream(&data[..], 9_000, None, false, 4096, Watch::default()).unwrap_err();
        assert!(
            matches!(
                err,
                CopyError::Length {
                    expected: 9_000,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn a_file_shorter_than_declared_is_refused() {
        let data = vec![1u8; 10_000];
        let err = stream(&data[..], 20_000, None, false, 4096, Watch::default()).unwrap_err();
        assert!(
            matches!(err, CopyError::Length { found: 10_000, .. }),
            "{err}"
        );
    }

    struct FailsAfter(usize);
    impl Read for FailsAfter {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0 == 0 {
                return Err(io::Error::other("device vanished"));
            }
            let n = buf.len().min(self.0);
            self.0 -= n;
            buf[..n].fill(0);
            Ok(n)
        }
    }

    #[test]
    fn a_cancelled_stream_stops_before_the_next_buffer() {
        let cancel = Cancel::new();
        cancel.cancel();
        let watch = Watch {
            cancel: Some(&cancel),
            progress: None,
        };
        let err = stream(&[0u8; 10_000][..], 10_000, None, false, 4096, watch).unwrap_err();
        assert!(matches!(err, CopyError::Cancelled { done: 0 }), "{err}");
    }

    #[test]
    fn progress_counts_every_byte() {
        let progress = Progress::default();
        let watch = Watch {
            cancel: None,
            progress: Some(&progress),
        };
        stream(&[0u8; 10_000][..], 10_000, None, false, 4096, watch).unwrap();
        assert_eq!(progress.snapshot().bytes_done, 10_000);
    }

    #[test]
    fn a_read_error_mid_file_names_how_far_it_got() {
        let err = stream(
            FailsAfter(10_000),
            50_000,
            None,
            false,
            4096,
            Watch::default(),
        )
        .unwrap_err();
        // The cause is the source, said once by the chain, not by the message.
        let text = crate::base::error::chain(&err);
        assert!(text.ends_with(" of 50000 bytes: device vanished"), "{text}");
        assert!(matches!(err, CopyError::Read { .. }));
    }
}
