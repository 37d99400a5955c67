//! One pass over a file's bytes: read from the camera, hash, check its structure, write.
//!
//! Each byte read from the camera is hashed (BLAKE3 and SHA-256), fed to the ISO BMFF
//! walker and written to the store's temporary file from the same buffer, so the camera is
//! read once. The hashing runs on a second thread while the next buffer is read and the
//! previous one written, because on a 2-core dock machine hashing is the only CPU work.

use std::io::{self, Read, Write};
use std::sync::mpsc;
use std::thread;

use crate::digest::{Digests, Hasher};
use crate::evidence::bmff::{BmffLimits, BmffReport, BoxWalker};

use super::progress::{Cancel, Progress};

/// Why a file could not be streamed; the camera still holds it.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// Reading the camera failed (pulled out, bad sector, corrupt FAT).
    #[error("reading it from the camera failed after {done} of {expected} bytes: {source}")]
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
    #[error("writing the stored copy failed: {0}")]
    Write(io::Error),
    /// The ingest was asked to stop (camera pulled, service stopping).
    #[error("stopped after {done} bytes: the ingest was cancelled")]
    Cancelled {
        /// Bytes read before stopping.
        done: u64,
    },
}

/// Who watches a stream: a cancel token to obey and progress counters to feed.
#[derive(Clone, Copy, Default)]
pub struct Watch<'a> {
    /// Checked before every buffer.
    pub cancel: Option<&'a Cancel>,
    /// Fed with every buffer's length.
    pub progress: Option<&'a Progress>,
}

/// What one pass learnt: hashes, length, and (for videos) the ISO BMFF structure.
#[derive(Debug)]
pub struct Streamed {
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
    // Two buffers in flight: one being hashed while the other is read and written.
    let (to_hasher, hasher_rx) = mpsc::sync_channel::<Vec<u8>>(1);
    let (to_reader, free_rx) = mpsc::sync_channel::<Vec<u8>>(2);
    thread::scope(|scope| {
        let hashing = scope.spawn(move || {
            let mut hasher = Hasher::new();
            let mut walker = walk_bmff.then(|| BoxWalker::new(BmffLimits::default()));
            for buf in hasher_rx {
                hasher.update(&buf);
                if let Some(w) = walker.as_mut() {
                    w.feed(&buf);
                }
                // The reader may have finished and dropped its receiver; nothing to recycle then.
                let _ = to_reader.send(buf);
            }
            (hasher.finish(), walker.map(BoxWalker::finish))
        });
        let mut spare = vec![vec![0u8; buffer_size], vec![0u8; buffer_size]];
        let mut done: u64 = 0;
        let outcome = loop {
            let mut buf = match spare.pop() {
                Some(b) => b,
                None => match free_rx.recv() {
                    Ok(b) => b,
                    Err(_) => break Ok(()),
                },
            };
            if watch.cancel.is_some_and(Cancel::is_cancelled) {
                break Err(CopyError::Cancelled { done });
            }
            buf.resize(buffer_size, 0);
            let n = match read_full(&mut source, &mut buf) {
                Ok(n) => n,
                Err(source) => {
                    break Err(CopyError::Read {
                        done,
                        expected,
                        source,
                    });
                }
            };
            if n == 0 {
                break Ok(());
            }
            done += n as u64;
            if let Some(p) = watch.progress {
                p.add_bytes(n as u64);
            }
            if done > expected {
                break Err(CopyError::Length {
                    expected,
                    found: done,
                });
            }
            buf.truncate(n);
            if let Some(sink) = sink.as_mut()
                && let Err(e) = sink.write_all(&buf)
            {
                break Err(CopyError::Write(e));
            }
            if to_hasher.send(buf).is_err() {
                break Ok(());
            }
        };
        drop(to_hasher);
        let (digests, bmff) = match hashing.join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        outcome?;
        if done != expected {
            return Err(CopyError::Length {
                expected,
                found: done,
            });
        }
        Ok(Streamed {
            digests,
            size: done,
            bmff,
        })
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
        assert!(err.to_string().contains("device vanished"), "{err}");
        assert!(matches!(err, CopyError::Read { .. }));
    }
}
