//! The bytes of a FAT volume as fatfs sees them: a window of the device, read through a
//! small read-ahead cache, with every byte charged to the guard.
//!
//! fatfs reads at most one cluster per call, and looks up the FAT (a 2 to 4 byte read)
//! before each cluster; straight to the device that is several syscalls per 4 KiB. The
//! cache turns that into one `pread` per MiB for a contiguous file, keeps the FAT's
//! neighbourhood in another slot, and starts small on random access so that a directory
//! walk does not drag whole megabytes in for each 512-byte cluster.
//!
//! The large windows of a stream are read with O_DIRECT (where the device or file system
//! takes it): the device's DMA lands in the window itself instead of in the page cache
//! and then a copy of it, which on a 2-core dock was a third of an ingest's CPU (1 GiB
//! from a block device: 0.36 s of kernel copy buffered, 0.03 s direct), and a camera's
//! gigabytes do not push the register's pages out of the cache. Lookups stay buffered.
//!
//! Writes (a wipe only) are held back the same way: freeing a file's cluster chain is one
//! 4-byte FAT write per cluster, twice (two FATs): 131,072 writes for a 4 GiB file in
//! 32 KiB clusters, each a sector read-modify-write on a USB camera. They are kept as
//! dirty 4 KiB blocks and reach the device sorted and coalesced when the volume flushes.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};

use super::guard::Guard;
pub(crate) use super::sectors::Unreadable;
use super::sectors::{self, BadRun, read_full, reopen_direct};
use super::watch::ReadWatch;

const SLOTS: usize = 4;
const SMALL_WINDOW: u64 = 64 * 1024;
const LARGE_WINDOW: u64 = 1024 * 1024;
const ALIGN: u64 = 4096;
/// The smallest block a disk addresses; held writes fall back to it around a bad sector.
const SECTOR: u64 = 512;
/// Writes this large (overwrite mode's zeros) go straight to the device.
const DIRECT_WRITE: usize = 64 * 1024;
/// Dirty blocks held at most (8 MiB) before they are written out anyway.
const MAX_DIRTY_BLOCKS: usize = 2048;

/// Writes waiting to reach the device, as 4 KiB blocks of the volume (offsets from its
/// start); shared with the volume so that it can flush them before its fsync.
pub(crate) struct WriteBack {
    file: File,
    base: u64,
    len: u64,
    blocks: BTreeMap<u64, Vec<u8>>,
}

/// The handle a volume keeps to flush its storage's held-back writes.
pub(crate) type SharedWriteBack = Arc<Mutex<WriteBack>>;

impl WriteBack {
    /// Writes every dirty block, adjacent blocks together, in order.
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        let blocks = std::mem::take(&mut self.blocks);
        let mut run: Vec<u8> = Vec::new();
        let mut run_start = 0;
        for (start, data) in blocks {
            if !run.is_empty() && run_start + run.len() as u64 != start {
                self.file.write_all_at(&run, self.base + run_start)?;
                run.clear();
            }
            if run.is_empty() {
                run_start = start;
            }
            run.extend_from_slice(&data);
        }
        if !run.is_empty() {
            self.file.write_all_at(&run, self.base + run_start)?;
        }
        Ok(())
    }

    /// Lays the dirty blocks over `data`, freshly read from the device at `start`.
    fn overlay(&self, start: u64, data: &mut [u8]) {
        let end = start + data.len() as u64;
        for (&b, block) in self.blocks.range(start.saturating_sub(ALIGN - 1)..end) {
            let (lo, hi) = (b.max(start), (b + block.len() as u64).min(end));
            if lo < hi {
                data[(lo - start) as usize..(hi - start) as usize]
                    .copy_from_slice(&block[(lo - b) as usize..(hi - b) as usize]);
            }
        }
    }

    /// Holds a small write; the blocks it touches are read from the device first.
    fn hold(&mut self, pos: u64, buf: &[u8]) -> io::Result<()> {
        let end = pos + buf.len() as u64;
        let mut at = pos;
        while at < end {
            let block = self.held_block(at)?;
            if let Some(data) = self.blocks.get_mut(&block) {
                let hi = end.min(block + data.len() as u64);
                if at >= hi {
                    break; // the device's end
                }
                data[(at - block) as usize..(hi - block) as usize]
                    .copy_from_slice(&buf[(at - pos) as usize..(hi - pos) as usize]);
                at = hi;
            }
        }
        if self.blocks.len() > MAX_DIRTY_BLOCKS {
            self.flush()?;
        }
        Ok(())
    }

    /// The start of the held block holding `at`, read from the device when none does:
    /// 4 KiB, or only `at`'s sector when the block cannot be read whole. A neighbour's
    /// bad sector then never fails this write, and is never written over (a held block
    /// goes back to the device whole: zeros in place of a bad sector would turn what a
    /// technician may still recover into an empty folder or file).
    fn held_block(&mut self, at: u64) -> io::Result<u64> {
        if let Some((&k, data)) = self.blocks.range(..=at).next_back()
            && at < k + data.len() as u64
        {
            return Ok(k);
        }
        let block = at - at % ALIGN;
        let partly_held = self.blocks.range(block..block + ALIGN).next().is_some();
        if !partly_held {
            let mut data = vec![0u8; ALIGN.min(self.len - block) as usize];
            match read_full_at(&self.file, &mut data, self.base + block) {
                Ok(got) => {
                    data.truncate(got);
                    self.blocks.insert(block, data);
                    return Ok(block);
                }
                Err(e) if e.raw_os_error().is_none() => return Err(e),
                Err(_) => {}
            }
        }
        let sector = at - at % SECTOR;
        let mut data = vec![0u8; SECTOR.min(self.len - sector) as usize];
        sectors::read_exact_around(&self.file, &mut data, self.base + sector)?;
        self.blocks.insert(sector, data);
        Ok(sector)
    }
}

impl Drop for WriteBack {
    fn drop(&mut self) {
        // fatfs believes these writes done: leaving them unwritten would be the worse state.
        if let Err(e) = self.flush() {
            tracing::warn!("writing held-back changes to the camera failed: {e}");
        }
    }
}

/// One cached window: the volume's bytes from `start` are `buf[skip..skip + len]` (a
/// direct read starts at the aligned block before `start` and into an aligned buffer),
/// except those of its `bad` runs, which the device could not read.
struct Slot {
    start: u64,
    buf: Vec<u8>,
    skip: usize,
    len: usize,
    last_use: u64,
    /// Unreadable runs inside the window (volume offsets); empty unless it was salvaged.
    bad: Vec<BadRun>,
}

impl Slot {
    /// A slot that holds nothing, so that no lookup ever finds it.
    fn empty(start: u64) -> Slot {
        Slot {
            start,
            buf: Vec::new(),
            skip: 0,
            len: 0,
            last_use: 0,
            bad: Vec::new(),
        }
    }

    fn end(&self) -> u64 {
        self.start + self.len as u64
    }

    // `get`, not indexing: a slot must never turn into a panic inside fatfs, whose caller
    // would then refuse every later read of the volume.
    fn bytes(&self) -> &[u8] {
        self.buf
            .get(self.skip..self.skip + self.len)
            .unwrap_or_default()
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        self.buf
            .get_mut(self.skip..self.skip + self.len)
            .unwrap_or_default()
    }
}

/// How the large windows are read.
enum Direct {
    /// Not tried yet: the first large window opens the O_DIRECT descriptor.
    Untried,
    /// Through this O_DIRECT descriptor of the same device, the next window of a
    /// read-only stream read ahead on its own thread.
    Open(Arc<File>, Option<ReadAhead>),
    /// The device or its file system refused O_DIRECT (EINVAL): buffered reads.
    Refused,
}

/// A window read from the device: where its bytes start in the buffer and how many.
type Window = io::Result<(usize, usize)>;

/// The thread that reads the next large window while fatfs and the copy work through the
/// current one: with O_DIRECT there is no kernel read-ahead, and without this the device
/// would wait for every copy of a window before its next read. Read-only volumes only,
/// so that a held-back write never lands under a window read before it.
struct ReadAhead {
    requests: SyncSender<(u64, usize, Vec<u8>)>,
    results: Receiver<(Window, Vec<u8>)>,
    /// The device offset and length of the window in flight.
    pending: Option<(u64, usize)>,
}

impl ReadAhead {
    fn start(file: Arc<File>) -> io::Result<ReadAhead> {
        let (requests, rx) = sync_channel::<(u64, usize, Vec<u8>)>(1);
        let (tx, results) = sync_channel(1);
        std::thread::Builder::new()
            .name("camera-read".into())
            .spawn(move || {
                for (offset, want, mut buf) in rx {
                    let window = read_window_direct(&file, &mut buf, offset, want);
                    if tx.send((window, buf)).is_err() {
                        break;
                    }
                }
            })?;
        Ok(ReadAhead {
            requests,
            results,
            pending: None,
        })
    }

    /// Asks for `want` bytes at device offset `offset`, read into `buf`.
    fn request(&mut self, offset: u64, want: usize, buf: Vec<u8>) {
        let sent = self.requests.send((offset, want, buf)).is_ok();
        self.pending = sent.then_some((offset, want));
    }

    /// The window in flight, waited for, with its device offset and length.
    fn take(&mut self) -> Option<((u64, usize), Window, Vec<u8>)> {
        let pending = self.pending.take()?;
        let (window, buf) = self.results.recv().ok()?;
        Some((pending, window, buf))
    }
}

/// The device window fatfs reads and (for a wipe only) writes.
pub(crate) struct Storage {
    file: File,
    base: u64,
    len: u64,
    pos: u64,
    writable: bool,
    guard: Arc<Guard>,
    slots: Vec<Slot>,
    clock: u64,
    last_fill_end: u64,
    write_back: Option<SharedWriteBack>,
    /// Marks each device read in flight, for the read deadline.
    watch: ReadWatch,
    direct: Direct,
    /// Large windows found already read by the read-ahead thread.
    windows_read_ahead: u64,
    /// Runs the device could not read (volume offsets): a window over one of them is read
    /// around it at once, without asking the device for the bad sectors again.
    bad: Vec<BadRun>,
    /// Windows read again sector by sector after a read failed.
    windows_salvaged: u64,
}

impl Storage {
    /// The `len` bytes of `file` starting at `base`; writes fail unless `writable`, and
    /// the caller opens `file` `O_RDONLY` when it is not, so the OS refuses them too.
    pub(crate) fn new(file: File, base: u64, len: u64, writable: bool, guard: Arc<Guard>) -> Self {
        Storage {
            file,
            base,
            len,
            pos: 0,
            writable,
            guard,
            slots: Vec::with_capacity(SLOTS),
            clock: 0,
            last_fill_end: u64::MAX,
            write_back: None,
            watch: ReadWatch::new(),
            direct: Direct::Untried,
            windows_read_ahead: 0,
            bad: Vec::new(),
            windows_salvaged: 0,
        }
    }

    /// Marks its device reads on `watch`.
    pub(crate) fn watched(mut self, watch: ReadWatch) -> Self {
        self.watch = watch;
        self
    }

    /// Holds writes back until flushed (see the module's comment); returns the handle the
    /// volume flushes before it syncs the device. Only for a writable storage.
    pub(crate) fn hold_writes(&mut self) -> io::Result<SharedWriteBack> {
        let shared = Arc::new(Mutex::new(WriteBack {
            file: self.file.try_clone()?,
            base: self.base,
            len: self.len,
            blocks: BTreeMap::new(),
        }));
        self.write_back = Some(Arc::clone(&shared));
        Ok(shared)
    }

    fn with_write_back<T>(&self, f: impl FnOnce(&mut WriteBack) -> T) -> Option<T> {
        self.write_back
            .as_ref()
            .map(|wb| f(&mut wb.lock().unwrap_or_else(PoisonError::into_inner)))
    }

    /// Copies cached bytes at `pos` into `buf`, up to the window's end or its next bad
    /// run; `Ok(None)` when no window holds `pos`, an `Unreadable` error when `pos` is bad.
    fn cached(&mut self, pos: u64, buf: &mut [u8]) -> io::Result<Option<usize>> {
        self.clock += 1;
        let clock = self.clock;
        let Some(slot) = self
            .slots
            .iter_mut()
            .find(|s| s.start <= pos && pos < s.end())
        else {
            return Ok(None);
        };
        slot.last_use = clock;
        let from = (pos - slot.start) as usize;
        let Some(bytes) = slot.bytes().get(from..) else {
            return Ok(None);
        };
        let mut n = buf.len().min(bytes.len());
        let end = pos + n as u64;
        if let Some(bad) = slot.bad.iter().find(|b| b.overlaps(pos, end)) {
            if bad.start <= pos {
                // Only the bad bytes of what was asked: fatfs asks a cluster at a time, so
                // the message names the file's own cluster, not a neighbour's.
                let asked_end = pos + buf.len() as u64;
                return Err(io::Error::other(Unreadable {
                    start: pos,
                    len: bad.end.min(asked_end) - pos,
                    os: bad.error(),
                }));
            }
            n = (bad.start - pos) as usize;
        }
        buf[..n].copy_from_slice(&bytes[..n]);
        Ok(Some(n))
    }

    /// The O_DIRECT descriptor for large windows, with its read-ahead thread unless the
    /// volume is writable; `Refused` where the device or file system will not have it.
    fn open_direct(&self) -> Direct {
        let file = match reopen_direct(&self.file) {
            Ok(file) => Arc::new(file),
            Err(e) => {
                tracing::debug!(
                    "the camera cannot be opened with O_DIRECT ({e}); reading through the page cache"
                );
                return Direct::Refused;
            }
        };
        let ahead = if self.writable {
            None
        } else {
            ReadAhead::start(Arc::clone(&file))
                .map_err(|e| {
                    tracing::debug!("no read-ahead thread ({e}): windows are read in turn")
                })
                .ok()
        };
        Direct::Open(file, ahead)
    }

    fn fill(&mut self, pos: u64) -> io::Result<()> {
        // A miss right where the previous fill ended is a sequential stream (a file being
        // copied): read far ahead. Anything else is a lookup: read a little around it.
        let large = pos == self.last_fill_end;
        let (start, window) = if large {
            (pos, LARGE_WINDOW)
        } else {
            (pos - pos % ALIGN, SMALL_WINDOW)
        };
        let want = window.min(self.len - start) as usize;
        if self
            .bad
            .iter()
            .any(|b| b.overlaps(start, start + want as u64))
        {
            return self.salvage(start, want);
        }
        let index = if self.slots.len() < SLOTS {
            self.slots.push(Slot::empty(start));
            self.slots.len() - 1
        } else {
            (0..SLOTS)
                .min_by_key(|&i| self.slots[i].last_use)
                .unwrap_or(0)
        };
        // The slot is emptied before the read: a read that fails must not leave a slot
        // that claims bytes its buffer no longer holds.
        let mut buf = std::mem::replace(&mut self.slots[index], Slot::empty(start)).buf;
        if large && matches!(self.direct, Direct::Untried) {
            self.direct = self.open_direct();
        }
        let offset = self.base + start;
        let result = match &mut self.direct {
            Direct::Open(file, ahead) if large => {
                let _reading = self.watch.begin();
                let mut spare = Vec::new();
                let mut window = None;
                if let Some((key, w, b)) = ahead.as_mut().and_then(ReadAhead::take)
                    && key == (offset, want)
                {
                    self.windows_read_ahead += 1;
                    window = Some(w);
                    spare = std::mem::replace(&mut buf, b);
                }
                let window =
                    window.unwrap_or_else(|| read_window_direct(file, &mut buf, offset, want));
                // The stream goes on: the next window is read while this one is used.
                if let (Ok((_, got)), Some(ahead)) = (&window, ahead.as_mut()) {
                    let next = start + *got as u64;
                    if *got == want && next < self.len {
                        let next_want = LARGE_WINDOW.min(self.len - next) as usize;
                        ahead.request(self.base + next, next_want, spare);
                    }
                }
                Some(window)
            }
            _ => None,
        };
        let read = match result {
            Some(Err(e)) if e.raw_os_error() == Some(libc::EINVAL) => {
                tracing::debug!(
                    "the camera refused an O_DIRECT read ({e}); reading through the page cache"
                );
                self.direct = Direct::Refused;
                let _reading = self.watch.begin();
                read_window(&self.file, &mut buf, offset, want).map(|got| (0, got))
            }
            Some(window) => window,
            None => {
                let _reading = self.watch.begin();
                read_window(&self.file, &mut buf, offset, want).map(|got| (0, got))
            }
        };
        let (skip, got) = match read {
            Ok(read) => read,
            // The device failed somewhere in the window, perhaps on a neighbour's bad sector.
            Err(e) if e.raw_os_error().is_some() => {
                tracing::debug!(
                    start,
                    want,
                    "a window of the camera failed ({e}); reading it again sector by sector"
                );
                self.rebuild();
                return self.salvage(start, want);
            }
            Err(e) => return Err(e),
        };
        let mut slot = Slot {
            start,
            buf,
            skip,
            len: got,
            last_use: self.clock,
            bad: Vec::new(),
        };
        self.with_write_back(|wb| wb.overlay(start, slot.bytes_mut()));
        self.slots[index] = slot;
        self.last_fill_end = start + got as u64;
        if got == 0 {
            return Err(past_end("the device is shorter than its file system says"));
        }
        Ok(())
    }
}

/// Reads `want` bytes at `offset` into `buf` (resized); returns how many the device had.
fn read_window(file: &File, buf: &mut Vec<u8>, offset: u64, want: usize) -> io::Result<usize> {
    buf.resize(want, 0);
    read_full_at(file, buf, offset)
}

/// Reads `want` bytes at `offset` with O_DIRECT: whole aligned blocks from the one
/// before `offset`, into an aligned part of `buf`. Returns where the bytes at `offset`
/// start in `buf` and how many the device had.
fn read_window_direct(
    file: &File,
    buf: &mut Vec<u8>,
    offset: u64,
    want: usize,
) -> io::Result<(usize, usize)> {
    let start = offset - offset % ALIGN;
    let lead = (offset - start) as usize;
    let span = (lead + want).next_multiple_of(ALIGN as usize);
    buf.resize(span + ALIGN as usize, 0);
    let skew = buf.as_ptr().align_offset(ALIGN as usize);
    let got = read_full(file, &mut buf[skew..skew + span], start, true)?;
    Ok((skew + lead, got.saturating_sub(lead).min(want)))
}

// Not `UnexpectedEof`: fatfs takes that kind for the normal end of a full directory,
// and would silently stop listing where a hostile entry points off the device.
fn past_end(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

fn read_full_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    read_full(file, buf, offset, false)
}

impl Read for Storage {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.len {
            // fatfs reads past its slice only when a hostile number points there.
            return Err(past_end("read past the end of the volume"));
        }
        let want = (buf.len() as u64).min(self.len - self.pos) as usize;
        self.guard.charge(want as u64)?;
        let buf = &mut buf[..want];
        let mut done = 0;
        while done < want {
            let pos = self.pos + done as u64;
            match self.cached(pos, &mut buf[done..])? {
                Some(n) => done += n,
                None => self.fill(pos)?,
            }
        }
        self.pos += done as u64;
        Ok(done)
    }
}

impl Storage {
    /// After a failed window: the reader's state is rebuilt, not reused. Every cached
    /// window goes, and the O_DIRECT descriptor and its read-ahead thread with it (the
    /// window in flight may be the failed one, or a read of the same bad sectors); the
    /// next large window opens them afresh.
    fn rebuild(&mut self) {
        self.slots.clear();
        self.last_fill_end = u64::MAX;
        if matches!(self.direct, Direct::Open(..)) {
            self.direct = Direct::Untried;
        }
    }

    /// Reads the window `start..start + want` again page by page, a failing page sector by
    /// sector, straight from the device, and caches it with its bad runs: the bytes around
    /// a bad sector are read, and only a read of the bad sector itself fails.
    fn salvage(&mut self, start: u64, want: usize) -> io::Result<()> {
        self.windows_salvaged += 1;
        if matches!(self.direct, Direct::Untried) {
            self.direct = self.open_direct();
        }
        let direct = match &self.direct {
            Direct::Open(file, _) => Some(Arc::clone(file)),
            _ => None,
        };
        let base = self.base;
        let known: Vec<BadRun> = self.bad.iter().map(|b| shifted(b, base, true)).collect();
        let got = {
            let _reading = self.watch.begin();
            sectors::read_around_bad_sectors(
                direct.as_deref(),
                &self.file,
                base + start,
                want,
                &known,
            )
        };
        let bad: Vec<BadRun> = got.bad.iter().map(|b| shifted(b, base, false)).collect();
        for b in &bad {
            if !self.bad.contains(b) {
                tracing::warn!(
                    start = b.start,
                    len = b.end - b.start,
                    "the camera cannot read these bytes of its volume (bad sectors)"
                );
                self.bad.push(*b);
            }
        }
        let mut slot = Slot {
            start,
            buf: got.buf,
            skip: got.skip,
            len: got.len,
            last_use: self.clock,
            bad,
        };
        self.with_write_back(|wb| wb.overlay(start, slot.bytes_mut()));
        if self.slots.len() < SLOTS {
            self.slots.push(slot);
        } else if let Some(lru) = self.slots.iter_mut().min_by_key(|s| s.last_use) {
            *lru = slot;
        }
        self.last_fill_end = start + got.len as u64;
        if got.len == 0 {
            return Err(past_end("the device is shorter than its file system says"));
        }
        Ok(())
    }
}

/// A bad run moved between device offsets and volume offsets (`to_device`, or back).
fn shifted(b: &BadRun, base: u64, to_device: bool) -> BadRun {
    let (start, end) = if to_device {
        (b.start + base, b.end + base)
    } else {
        (b.start.saturating_sub(base), b.end.saturating_sub(base))
    };
    BadRun {
        start,
        end,
        errno: b.errno,
    }
}

impl Write for Storage {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !self.writable {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "the camera volume is open read-only",
            ));
        }
        if self.pos >= self.len {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "write past the end of the volume",
            ));
        }
        let n = (buf.len() as u64).min(self.len - self.pos) as usize;
        self.guard.charge(n as u64)?;
        let held = if n < DIRECT_WRITE {
            self.with_write_back(|wb| wb.hold(self.pos, &buf[..n]))
        } else {
            // Held blocks under a large write would be written over it later: flush first.
            self.with_write_back(WriteBack::flush).transpose()?;
            None
        };
        match held {
            Some(result) => result?,
            None => self.file.write_all_at(&buf[..n], self.base + self.pos)?,
        }
        // Keep cached copies true: fatfs reads back FAT entries it has just written.
        let (lo, hi) = (self.pos, self.pos + n as u64);
        for slot in &mut self.slots {
            let (s_lo, s_hi) = (slot.start, slot.end());
            let (a, b) = (lo.max(s_lo), hi.min(s_hi));
            if a < b {
                slot.bytes_mut()[(a - s_lo) as usize..(b - s_lo) as usize]
                    .copy_from_slice(&buf[(a - lo) as usize..(b - lo) as usize]);
            }
        }
        self.pos += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        // Held-back writes go out; durability is the volume's explicit sync, so that the
        // fsync fatfs would trigger on every dropped handle is not paid.
        self.with_write_back(WriteBack::flush).transpose()?;
        Ok(())
    }
}

impl Seek for Storage {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let target = match pos {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        match target {
            Some(p) => {
                self.pos = p;
                Ok(p)
            }
            None => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start of the volume",
            )),
        }
    }
}

#[cfg(test)]
mod tests;
