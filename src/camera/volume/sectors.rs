//! Reading around bad sectors: when a window of the camera fails, its bytes are read again
//! page by page, and a failing page sector by sector, straight from the device (O_DIRECT),
//! so that only the sectors the device truly cannot read are missing.
//!
//! Straight from the device, because after a failed buffered read the kernel's page cache
//! may hold the error for a whole (large) page, and with it the good bytes around the bad
//! sector: at 512-byte clusters one 4 KiB page holds the clusters of several owners.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// The unit a failing page is split into: the smallest block a disk addresses.
const SECTOR: u64 = 512;
/// The unit the window is read again in first; O_DIRECT also wants buffers aligned to it.
const PAGE: u64 = 4096;

/// Bytes the device could not read, even sector by sector.
///
/// It travels inside an `io::Error` (`io::Error::other`), which the readers print with
/// `{e}`: so the device's words are in its message, not a source (see `base::error`).
#[derive(Debug, thiserror::Error)]
#[error("the device could not read {len} bytes at byte {start}: {os}")]
pub(crate) struct Unreadable {
    /// Offset of the first bad byte: from the volume's start when it comes from the
    /// storage, from the device's start when from `read_exact_around`.
    pub start: u64,
    /// Bytes that could not be read.
    pub len: u64,
    /// What the device said.
    pub os: io::Error,
}

/// Device bytes that could not be read, `start..end`, and what the device said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadRun {
    /// First unreadable byte (device offset).
    pub start: u64,
    /// One past the last unreadable byte (device offset).
    pub end: u64,
    /// The OS error the device gave.
    pub errno: i32,
}

impl BadRun {
    /// Whether it shares a byte with `start..end`.
    pub(crate) fn overlaps(&self, start: u64, end: u64) -> bool {
        self.start < end && start < self.end
    }

    /// The device's error, as an `io::Error`.
    pub(crate) fn error(&self) -> io::Error {
        io::Error::from_raw_os_error(self.errno)
    }
}

/// A window read around its bad sectors: the bytes at the asked offset are
/// `buf[skip..skip + len]`; those inside a `bad` run are zeros, not data.
pub(crate) struct Salvaged {
    /// The buffer (aligned for O_DIRECT inside).
    pub buf: Vec<u8>,
    /// Where the asked bytes start in `buf`.
    pub skip: usize,
    /// How many the device had (fewer than asked at its end).
    pub len: usize,
    /// The unreadable runs, in device offsets, in order.
    pub bad: Vec<BadRun>,
}

/// Reads `want` bytes at device `offset` page by page, a failing page sector by sector,
/// through `direct` (an O_DIRECT descriptor) when given, else through `buffered`. Runs in
/// `known` are not asked again: on a real camera each failing read can cost seconds.
pub(crate) fn read_around_bad_sectors(
    direct: Option<&File>,
    buffered: &File,
    offset: u64,
    want: usize,
    known: &[BadRun],
) -> Salvaged {
    let first = offset - offset % PAGE;
    let lead = (offset - first) as usize;
    let span = (lead + want).next_multiple_of(PAGE as usize);
    let mut buf = vec![0u8; span + PAGE as usize];
    let skew = buf.as_ptr().align_offset(PAGE as usize);
    let mut reader = Reader {
        direct,
        buffered,
        bad: Vec::new(),
    };
    let region = &mut buf[skew..skew + span];
    let mut got = 0usize;
    for (i, page) in region.chunks_mut(PAGE as usize).enumerate() {
        let at = first + i as u64 * PAGE;
        let end = at + PAGE;
        let whole = if known.iter().any(|b| b.overlaps(at, end)) {
            None
        } else {
            reader.read(page, at).ok()
        };
        let n = match whole {
            Some(n) => n,
            None => reader.sectors(page, at, known),
        };
        got = i * PAGE as usize + n;
        if n < PAGE as usize {
            break; // the device's end
        }
    }
    Salvaged {
        buf,
        skip: skew + lead,
        len: got.saturating_sub(lead).min(want),
        bad: reader.bad,
    }
}

struct Reader<'a> {
    direct: Option<&'a File>,
    buffered: &'a File,
    bad: Vec<BadRun>,
}

impl Reader<'_> {
    /// Reads `buf` at `at`; fewer bytes only at the device's end.
    fn read(&mut self, buf: &mut [u8], at: u64) -> io::Result<usize> {
        if let Some(file) = self.direct {
            match read_full(file, buf, at, true) {
                // A file system that opens O_DIRECT but will not read that way: buffered
                // from here on (tmpfs and FUSE images have no cache of errors to dodge).
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) && buf.len() == PAGE as usize => {
                    self.direct = None;
                }
                other => return other,
            }
        }
        read_full(self.buffered, buf, at, false)
    }

    /// Reads one page sector by sector; returns how many bytes the device had, counting
    /// the unreadable sectors (recorded in `bad`) as had.
    fn sectors(&mut self, page: &mut [u8], at: u64, known: &[BadRun]) -> usize {
        let mut had = 0usize;
        for (k, sector) in page.chunks_mut(SECTOR as usize).enumerate() {
            let s = at + k as u64 * SECTOR;
            if let Some(b) = known.iter().find(|b| b.overlaps(s, s + SECTOR)) {
                self.mark(s, s + SECTOR, b.errno);
                had += SECTOR as usize;
                continue;
            }
            match self.read(sector, s) {
                Ok(n) if n == SECTOR as usize => had += n,
                Ok(n) => return had + n,
                // The device addresses 4 KiB at a time (or refuses the size): the page it is.
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                    self.mark(at, at + PAGE, libc::EIO);
                    return PAGE as usize;
                }
                Err(e) => {
                    self.mark(s, s + SECTOR, e.raw_os_error().unwrap_or(libc::EIO));
                    had += SECTOR as usize;
                }
            }
        }
        had
    }

    fn mark(&mut self, start: u64, end: u64, errno: i32) {
        match self.bad.last_mut() {
            Some(last) if last.end >= start && last.errno == errno => last.end = last.end.max(end),
            _ => self.bad.push(BadRun { start, end, errno }),
        }
    }
}

/// Reads until `buf` is full or the file ends. Through an O_DIRECT descriptor a read that
/// ends off a 512-byte boundary is the end (reading on from there would be refused).
pub(crate) fn read_full(
    file: &File,
    buf: &mut [u8],
    offset: u64,
    direct: bool,
) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], offset + done as u64) {
            Ok(0) => break,
            Ok(n) => {
                done += n;
                if direct && !done.is_multiple_of(SECTOR as usize) {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// A second descriptor of `file`, read-only and O_DIRECT.
pub(crate) fn reopen_direct(file: &File) -> io::Result<File> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    File::options()
        .read(true)
        .custom_flags(libc::O_DIRECT)
        .open(format!("/proc/self/fd/{}", file.as_raw_fd()))
}

/// `read_exact_at` for the structures the ownership map reads itself (folders, the FAT):
/// buffered first, and when that fails, straight from the device sector by sector, so that
/// a neighbour's bad sector in the same cached page does not make these bytes unreadable.
/// Fails with the first bad run inside `buf`'s bytes.
pub(crate) fn read_exact_around(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    let first = match file.read_exact_at(buf, offset) {
        Ok(()) => return Ok(()),
        Err(e) if e.raw_os_error().is_none() => return Err(e),
        Err(e) => e,
    };
    let direct = match reopen_direct(file) {
        Ok(d) => Some(d),
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => None,
        Err(_) => return Err(first),
    };
    let got = read_around_bad_sectors(direct.as_ref(), file, offset, buf.len(), &[]);
    let end = offset + buf.len() as u64;
    if let Some(bad) = got.bad.iter().find(|b| b.overlaps(offset, end)) {
        let start = bad.start.max(offset);
        return Err(io::Error::other(Unreadable {
            start,
            len: bad.end.min(end) - start,
            os: bad.error(),
        }));
    }
    if got.len < buf.len() {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the device ends before the bytes its file system names",
        ));
    }
    buf.copy_from_slice(&got.buf[got.skip..got.skip + got.len]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_window_read_around_known_bad_sectors_keeps_every_other_byte() {
        let bytes: Vec<u8> = (0..20_000u32).map(|i| (i * 13 % 251) as u8).collect();
        let mut f = tempfile::NamedTempFile::new().expect("temp file");
        f.write_all(&bytes).expect("write");
        let file = File::open(f.path()).expect("open");
        // A run already known bad is reported and not asked again; its neighbours read.
        let known = [BadRun {
            start: 8192 + 512,
            end: 8192 + 1024,
            errno: libc::EIO,
        }];
        let got = read_around_bad_sectors(None, &file, 700, 19_000, &known);
        assert_eq!(got.len, 19_000);
        assert_eq!(got.bad, known.to_vec());
        let window = &got.buf[got.skip..got.skip + got.len];
        let good = |i: usize| !(8192 + 512..8192 + 1024).contains(&(i + 700));
        assert!(
            (0..19_000)
                .filter(|&i| good(i))
                .all(|i| window[i] == bytes[i + 700])
        );
        // The file's end: fewer bytes than asked, none invented.
        let tail = read_around_bad_sectors(None, &file, 19_000, 4096, &[]);
        assert_eq!(tail.len, 1000);
        assert!(tail.bad.is_empty());
    }
}
