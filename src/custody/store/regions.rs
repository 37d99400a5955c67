//! Proof by region: a copy is made durable and read back from the disk piece by piece
//! while its next pieces are still being written.
//!
//! One long recording used to be written, then fsynced, then read back, one step after the
//! other. Here each region (tens of MiB) is handed, as soon as it is written, to a prover
//! thread that writes it out and waits (`sync_file_range`), drops its pages from the
//! cache and reads it back with O_DIRECT into one running BLAKE3 + SHA-256, so the disk
//! reads back region N while the camera is read into region N+1. `docs/proving.md` says
//! why a region proven before the final fsync is still proven after it.

use std::fs::File;
use std::io;
use std::ops::Range;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use nix::fcntl::{PosixFadviseAdvice, posix_fadvise};

use super::readback::{ALIGN, CHUNK, open_for_read_back};
use crate::base::digest::{Digests, hash_stream};

pub(crate) use crate::base::config::DEFAULT_PROOF_REGION;

/// Regions written but not yet taken by the prover: the writer waits beyond this, so the
/// dirty pages of a copy stay bounded (at most this many regions plus the one being proven
/// and the one being written).
const QUEUED_REGIONS: usize = 1;

/// Why a region could not be proven.
#[derive(Debug)]
pub(super) enum ProofError {
    /// Writing the region out to the disk failed: its bytes may never have reached it.
    Durable(io::Error),
    /// Reading the region back failed, or found fewer bytes than were written.
    Read(io::Error),
}

/// What the prover read back from the disk: the hashes of every region, in order.
pub(super) struct Proven {
    /// BLAKE3 and SHA-256 of the bytes read back.
    pub digests: Digests,
    /// How many bytes were read back.
    pub len: u64,
}

/// The prover thread of one copy, fed with the ranges written so far.
pub(super) struct Prover {
    ranges: Option<SyncSender<Range<u64>>>,
    thread: Option<JoinHandle<Result<Proven, ProofError>>>,
    /// End of the last range handed over: the next one starts here.
    submitted: u64,
    /// Set when the copy is abandoned: the prover stops at its next read.
    abandoned: Arc<AtomicBool>,
}

impl Prover {
    /// Starts proving the file at `temp` (its own read-only handle, opened now).
    pub fn start(temp: &Path) -> io::Result<Prover> {
        let (direct, file) = open_for_read_back(temp)?;
        let (ranges, rx) = sync_channel(QUEUED_REGIONS);
        let abandoned = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&abandoned);
        let thread = std::thread::Builder::new()
            .name("prove".into())
            .spawn(move || prove(&file, direct, rx, &stop))?;
        Ok(Prover {
            ranges: Some(ranges),
            thread: Some(thread),
            submitted: 0,
            abandoned,
        })
    }

    /// Hands over the bytes written up to `end` (from where the last range ended); waits
    /// while the prover is `QUEUED_REGIONS` behind. A prover that stopped on an error is
    /// not fed: `finish` returns its error.
    pub(crate) fn submit(&mut self, end: u64) {
        if end <= self.submitted {
            return;
        }
        let range = self.submitted..end;
        self.submitted = end;
        let sent = self
            .ranges
            .as_ref()
            .is_some_and(|tx| tx.send(range).is_ok());
        if !sent {
            self.ranges = None;
        }
    }

    /// How many bytes were handed over.
    pub(crate) fn submitted(&self) -> u64 {
        self.submitted
    }

    /// Waits for every range handed over to be proven; returns what was read back.
    pub fn finish(mut self) -> Result<Proven, ProofError> {
        self.ranges = None;
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            None => Err(ProofError::Read(io::Error::other(
                "the prover already stopped",
            ))),
        }
    }
}

impl Drop for Prover {
    fn drop(&mut self) {
        // An abandoned copy: stop the prover and wait, so it never reads a removed file's
        // handle after the copy is gone (its handle keeps the inode, not the name).
        self.abandoned.store(true, Ordering::Relaxed);
        self.ranges = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The prover thread: every range received is made durable, dropped from the cache and
/// read back, in order, into one pair of hashes.
fn prove(
    file: &File,
    direct: bool,
    ranges: Receiver<Range<u64>>,
    abandoned: &AtomicBool,
) -> Result<Proven, ProofError> {
    let mut current: Range<u64> = 0..0;
    let mut region_start = 0;
    let fill = |buf: &mut Vec<u8>| -> Result<Option<Range<usize>>, ProofError> {
        if abandoned.load(Ordering::Relaxed) {
            return Ok(None);
        }
        if current.is_empty() {
            let Ok(next) = ranges.recv() else {
                return Ok(None);
            };
            write_out_and_wait(file, &next).map_err(ProofError::Durable)?;
            region_start = next.start;
            current = next;
        }
        let start = if direct {
            buf.as_ptr().align_offset(ALIGN)
        } else {
            0
        };
        let want = usize::try_from(current.end - current.start)
            .unwrap_or(CHUNK)
            .min(CHUNK);
        // O_DIRECT wants an aligned length too: at the file's end the read is just short.
        let asked = if direct {
            want.next_multiple_of(ALIGN)
        } else {
            want
        };
        let n = read_at_full(file, &mut buf[start..start + asked], current.start)
            .map_err(ProofError::Read)?;
        if n < want {
            return Err(ProofError::Read(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "read back {n} bytes at offset {} where {want} were written",
                    current.start
                ),
            )));
        }
        // Only the bytes written: a longer file (written by someone else) is not ours to hash.
        current.start += want as u64;
        if current.is_empty() && !direct {
            // Evidence is not read again from the cache: keep the region out of it.
            let offset = i64::try_from(region_start).unwrap_or(i64::MAX);
            let len = i64::try_from(current.end - region_start).unwrap_or(0);
            let _ = drop_range(file, offset, len);
        }
        Ok(Some(start..start + want))
    };
    let (digests, len) = hash_stream(CHUNK + ALIGN, fill, |_| {})?;
    Ok(Proven { digests, len })
}

/// Writes the range's dirty pages to the disk and waits for them, then drops them from
/// the cache so that the read-back has to come from the disk.
fn write_out_and_wait(file: &File, range: &Range<u64>) -> io::Result<()> {
    let (Ok(offset), Ok(len)) = (
        i64::try_from(range.start),
        i64::try_from(range.end - range.start),
    ) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "range beyond what the kernel can address",
        ));
    };
    let flags = libc::SYNC_FILE_RANGE_WAIT_BEFORE
        | libc::SYNC_FILE_RANGE_WRITE
        | libc::SYNC_FILE_RANGE_WAIT_AFTER;
    // SAFETY: sync_file_range only reads its integer arguments; the descriptor is open
    // for as long as `file` is borrowed.
    let rc = unsafe { libc::sync_file_range(file.as_raw_fd(), offset, len, flags) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    drop_range(file, offset, len)
}

/// Drops a range's clean cached pages (length 0: to the end of the file).
fn drop_range(file: &File, offset: i64, len: i64) -> io::Result<()> {
    posix_fadvise(file, offset, len, PosixFadviseAdvice::POSIX_FADV_DONTNEED)
        .map_err(io::Error::from)
}

/// Reads at `offset` until `buf` is full or the file ends.
fn read_at_full(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read_at(&mut buf[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(n) => {
                filled += n;
                // O_DIRECT: a short, unaligned read is the end of the file.
                if !filled.is_multiple_of(ALIGN) {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}
