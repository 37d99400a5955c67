//! Reading a stored file back from the disk, not from the page cache.
//!
//! Rule 4 of "integrity confirmed": the copy must be read back from stable storage. The
//! file is opened afresh with O_DIRECT, which reads from the device whatever the page
//! cache holds. Where the file system refuses O_DIRECT (EINVAL: some FUSE and older tmpfs),
//! the read falls back to a buffered read after POSIX_FADV_DONTNEED has dropped the file's
//! clean pages (the whole file is clean after its fsync, and nothing maps it). The
//! advice is given before either read, and again after, so evidence does not fill the cache.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::ops::Range;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use nix::fcntl::{PosixFadviseAdvice, posix_fadvise};

use crate::base::digest::{Digests, Hasher, hash_stream};

/// Read size: large enough that syscalls cost nothing beside the disk, small enough to keep
/// memory bounded whatever the file's size.
pub(super) const CHUNK: usize = 1 << 20;
/// O_DIRECT wants buffer, offset and length aligned to the device's logical block size;
/// 4096 covers 512-byte and 4K devices.
pub(super) const ALIGN: usize = 4096;

/// Hashes the file at `path` as the disk holds it.
pub(super) fn read_back(path: &Path) -> io::Result<Digests> {
    match read_direct(path) {
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            tracing::debug!(path = %path.display(), "O_DIRECT refused, reading back after dropping cached pages");
            let mut buf = vec![0u8; CHUNK];
            read_buffered(path, &mut buf)
        }
        other => other,
    }
}

/// Opens a file for reading back from the disk: with O_DIRECT (`true`), or where the
/// file system refuses it, buffered (`false`: the caller drops the cached pages first).
pub(super) fn open_for_read_back(path: &Path) -> io::Result<(bool, File)> {
    match open(path, libc::O_DIRECT) {
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            tracing::debug!(path = %path.display(), "O_DIRECT refused, reading back after dropping cached pages");
            Ok((false, open(path, 0)?))
        }
        other => other.map(|file| (true, file)),
    }
}

/// Reads with O_DIRECT while the previous chunk is hashed (`digest::hash_stream`), so
/// the disk and the hashes work at the same time.
fn read_direct(path: &Path) -> io::Result<Digests> {
    let mut file = open(path, libc::O_DIRECT)?;
    drop_cached_pages(&file)?;
    let size = file.metadata()?.len();
    let mut offset: u64 = 0;
    let mut ended = false;
    let fill = |buf: &mut Vec<u8>| -> io::Result<Option<Range<usize>>> {
        // A short read that leaves the offset unaligned is the end of the file; reading on
        // from there would be refused with EINVAL rather than return 0.
        if ended {
            return Ok(None);
        }
        let start = buf.as_ptr().align_offset(ALIGN);
        let n = read_some(&mut file, &mut buf[start..start + CHUNK])?;
        offset += n as u64;
        ended = n == 0 || !offset.is_multiple_of(ALIGN as u64);
        Ok((n > 0).then_some(start..start + n))
    };
    let (digests, len) = hash_stream(CHUNK + ALIGN, fill, |_| {})?;
    if len != size {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("read back {len} bytes of a {size}-byte file"),
        ));
    }
    Ok(digests)
}

pub(super) fn read_buffered(path: &Path, chunk: &mut [u8]) -> io::Result<Digests> {
    let mut file = open(path, 0)?;
    drop_cached_pages(&file)?;
    let mut hasher = Hasher::new();
    loop {
        let n = read_some(&mut file, chunk)?;
        if n == 0 {
            break;
        }
        hasher.update(&chunk[..n]);
    }
    // The pages just read are the disk's bytes, but evidence is not read again soon.
    drop_cached_pages(&file)?;
    Ok(hasher.finish())
}

/// Opens read-only without following a symlink and without blocking on a FIFO, and refuses
/// anything that is not a regular file.
fn open(path: &Path, extra_flags: libc::c_int) -> io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | extra_flags)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    Ok(file)
}

fn read_some(file: &mut File, chunk: &mut [u8]) -> io::Result<usize> {
    loop {
        match file.read(chunk) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// Drops the file's clean cached pages (offset 0, length 0 means the whole file).
pub(super) fn drop_cached_pages(file: &File) -> io::Result<()> {
    posix_fadvise(file, 0, 0, PosixFadviseAdvice::POSIX_FADV_DONTNEED).map_err(io::Error::from)
}
