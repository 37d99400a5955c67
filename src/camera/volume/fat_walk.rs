//! Calls into fatfs, each one under `catch_unwind` and the guard's budget: directory
//! listings for the scan, path lookups, and the streaming file reader.

use std::io::{self, Read};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use fatfs::{Dir, DirEntry, File, FileSystem};

use super::fat_table::Geometry;
use super::guard::{Guard, Trip};
use super::scan::{self, Backend, Kind, Listed};
use super::storage::{Storage, Unreadable};
use super::{VolumeError, VolumePath};
use crate::base::config::Profile;

pub(crate) type Fs = FileSystem<Storage>;

type FatDir<'a> = Dir<'a, Storage>;
type FatEntry<'a> = DirEntry<'a, Storage>;

const MIB: u64 = 1 << 20;

/// What every call into fatfs needs besides the file system: the guard, the limits,
/// and whether fatfs already panicked on this volume.
pub(crate) struct Ctx {
    pub source: PathBuf,
    pub guard: Arc<Guard>,
    pub max_entries: usize,
    pub deadline: Duration,
    /// Where clusters are, to name the unreadable ones (read from the boot sector).
    pub geometry: Option<Geometry>,
    poisoned: AtomicBool,
}

impl Ctx {
    pub(crate) fn new(source: PathBuf, guard: Arc<Guard>, profile: &Profile) -> Ctx {
        Ctx {
            source,
            guard,
            max_entries: profile.max_dir_entries as usize,
            deadline: Duration::from_secs(u64::from(profile.scan_deadline_secs)),
            geometry: None,
            poisoned: AtomicBool::new(false),
        }
    }

    /// Bytes a directory listing may read: its entries (long names take several slots),
    /// the FAT lookups between its clusters, and slack. A FAT directory never exceeds
    /// 2 MiB, so this never stops an honest one however small the entry cap.
    pub(crate) fn dir_budget(&self) -> u64 {
        self.max_entries as u64 * 32 * 4 + 4 * MIB
    }

    /// Bytes reading or freeing a file's chain may move: a 2 to 4 byte FAT entry read,
    /// and two mirrored writes when freeing, per cluster of at least 512 bytes.
    pub(crate) fn chain_budget(size: u64) -> u64 {
        size / 16 + MIB
    }

    /// Whether fatfs panicked on this volume since it was (re)mounted.
    pub(crate) fn poisoned(&self) -> bool {
        self.poisoned.load(Ordering::Acquire)
    }

    /// Forgets the panic, once the file system has been mounted afresh.
    pub(crate) fn clear_poison(&self) {
        self.poisoned.store(false, Ordering::Release);
    }

    /// Runs one call into fatfs; a panic or a tripped guard becomes `Corrupt`.
    pub(crate) fn run<R>(
        &self,
        what: impl FnOnce() -> String,
        call: impl FnOnce() -> io::Result<R>,
    ) -> Result<R, VolumeError> {
        if self.poisoned.load(Ordering::Acquire) {
            return Err(self.corrupt(
                what(),
                "the FAT library panicked earlier on this volume; close and reopen it".into(),
            ));
        }
        match catch_unwind(AssertUnwindSafe(call)) {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(e)) => Err(self.classify(what(), e)),
            Err(panic) => {
                self.poisoned.store(true, Ordering::Release);
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "no message".into());
                Err(self.corrupt(what(), format!("the FAT library panicked: {message}")))
            }
        }
    }

    fn classify(&self, what: String, e: io::Error) -> VolumeError {
        if let Some(u) = e.get_ref().and_then(|r| r.downcast_ref::<Unreadable>()) {
            return VolumeError::Unreadable {
                path: self.source.clone(),
                what,
                clusters: self.clusters_of(u.start, u.len),
                detail: u.os.to_string(),
            };
        }
        match self.guard.tripped() {
            Some(trip @ Trip::Budget(_)) => {
                self.corrupt(format!("{what} loops or is too large"), trip.describe())
            }
            Some(trip @ Trip::Deadline(_)) => {
                self.corrupt(format!("{what} took too long"), trip.describe())
            }
            // Only the device yields OS errors; everything else is fatfs finding nonsense.
            None if e.raw_os_error().is_some() => VolumeError::Io {
                path: self.source.clone(),
                what,
                source: e,
            },
            None => self.corrupt(what, e.to_string()),
        }
    }

    /// Which clusters hold the volume's bytes `start..start + len`, for a person.
    fn clusters_of(&self, start: u64, len: u64) -> String {
        let end = start + len.max(1) - 1;
        match self.geometry {
            Some(g) if start >= g.data_start => {
                let first = (start - g.data_start) / g.bytes_per_cluster + 2;
                let last = (end - g.data_start) / g.bytes_per_cluster + 2;
                if first == last {
                    format!("cluster {first}")
                } else {
                    format!("clusters {first} to {last}")
                }
            }
            _ => format!("bytes {start} to {end} of the volume (its FAT or a folder)"),
        }
    }

    pub(crate) fn corrupt(&self, what: String, detail: String) -> VolumeError {
        VolumeError::Corrupt {
            path: self.source.clone(),
            what,
            detail,
        }
    }
}

/// The scan's view of a FAT volume.
pub(crate) struct FatWalk<'a> {
    pub fs: &'a Fs,
    pub ctx: &'a Ctx,
}

impl<'a> FatWalk<'a> {
    fn listed(e: FatEntry<'a>) -> Listed<FatEntry<'a>> {
        let name = e.file_name();
        let short = e.short_file_name();
        let kind = if e.is_dir() {
            Kind::Dir
        } else {
            Kind::File { size: e.len() }
        };
        Listed {
            aliases: if short == name { vec![] } else { vec![short] },
            name: Ok(name),
            kind,
            entry: e,
        }
    }

    /// A file's entry and the directory holding it, each name looked up unambiguously.
    pub(crate) fn lookup(
        &mut self,
        path: &VolumePath,
    ) -> Result<(FatDir<'a>, Listed<FatEntry<'a>>), VolumeError> {
        scan::check_path(path, &self.ctx.source)?;
        let mut dir = self.fs.root_dir();
        let mut shown = VolumePath::new(&[]);
        let components = path.components();
        let last = components.len() - 1;
        for name in &components[..last] {
            let entries = self.list(&dir, &shown)?;
            shown = shown.child(name);
            let found = &entries[scan::find(&entries, name, &self.ctx.source, &shown)?];
            if found.kind != Kind::Dir {
                return Err(VolumeError::NotFound {
                    path: self.ctx.source.clone(),
                    file: path.to_string(),
                });
            }
            dir = found.entry.to_dir();
        }
        let mut entries = self.list(&dir, &shown)?;
        let index = scan::find(&entries, &components[last], &self.ctx.source, path)?;
        Ok((dir, entries.swap_remove(index)))
    }

    /// The file of a looked-up entry, refusing anything that is not a regular file.
    pub(crate) fn file_of(
        &self,
        listed: &Listed<FatEntry<'a>>,
        shown: &VolumePath,
    ) -> Result<(File<'a, Storage>, u64), VolumeError> {
        match listed.kind {
            Kind::File { size } => Ok((listed.entry.to_file(), size)),
            _ => Err(VolumeError::NotRegular {
                path: self.ctx.source.clone(),
                file: shown.to_string(),
                reason: "a directory".into(),
            }),
        }
    }
}

impl<'a> Backend for FatWalk<'a> {
    type Dir = FatDir<'a>;
    type Entry = FatEntry<'a>;

    fn root(&mut self) -> Result<FatDir<'a>, VolumeError> {
        Ok(self.fs.root_dir())
    }

    fn list(
        &mut self,
        dir: &FatDir<'a>,
        shown: &VolumePath,
    ) -> Result<Vec<Listed<FatEntry<'a>>>, VolumeError> {
        let what = || match shown.components().is_empty() {
            true => "the root directory".to_string(),
            false => format!("directory {shown}"),
        };
        self.ctx.guard.rebudget(self.ctx.dir_budget());
        let max = self.ctx.max_entries;
        let (listing, saw_dot) = self.ctx.run(what, || {
            let (mut out, mut saw_dot) = (Vec::new(), false);
            for entry in dir.iter() {
                let entry = entry?;
                let short = entry.short_file_name_as_bytes();
                if short == b"." || short == b".." {
                    saw_dot |= short == b".";
                    continue;
                }
                if out.len() == max {
                    return Ok((None, saw_dot));
                }
                out.push(Self::listed(entry));
            }
            Ok((Some(out), saw_dot))
        })?;
        // fatfs opens a directory entry without a first cluster as the root directory;
        // every real subdirectory starts with its `.` entry, so its absence unmasks that.
        if !saw_dot && !shown.components().is_empty() {
            return Err(self.ctx.corrupt(
                format!("{} has no `.` entry", what()),
                "its first cluster is missing, so it would read as the root directory".into(),
            ));
        }
        listing.ok_or_else(|| {
            self.ctx.corrupt(
                format!("{} loops or is too large", what()),
                format!("more than {max} entries (profile.max_dir_entries)"),
            )
        })
    }

    fn open_dir(
        &mut self,
        _parent: &FatDir<'a>,
        entry: &FatEntry<'a>,
        _shown: &VolumePath,
    ) -> Result<FatDir<'a>, VolumeError> {
        Ok(entry.to_dir())
    }

    fn read_file(
        &mut self,
        _parent: &FatDir<'a>,
        entry: &FatEntry<'a>,
        shown: &VolumePath,
        max: u64,
    ) -> Result<Vec<u8>, VolumeError> {
        let size = entry.len();
        if size > max {
            return Err(VolumeError::TooLarge {
                path: self.ctx.source.clone(),
                file: shown.to_string(),
                size,
                max,
            });
        }
        let mut reader = FatReader::new(entry.to_file(), size, self.ctx, shown.clone());
        self.ctx.guard.rebudget(reader.budget());
        let mut bytes = Vec::with_capacity(size as usize);
        reader
            .read_to_end(&mut bytes)
            .map_err(|e| reader_error(e, self.ctx, shown))?;
        Ok(bytes)
    }
}

/// Turns the reader's `io::Error` back into the `VolumeError` it carries.
pub(crate) fn reader_error(e: io::Error, ctx: &Ctx, shown: &VolumePath) -> VolumeError {
    match e.downcast::<VolumeError>() {
        Ok(err) => err,
        Err(e) => ctx.classify(format!("reading {shown}"), e),
    }
}

/// Streams a file through fatfs, filling the caller's buffer across clusters.
pub(crate) struct FatReader<'a> {
    file: File<'a, Storage>,
    size: u64,
    left: u64,
    ctx: &'a Ctx,
    shown: VolumePath,
}

impl<'a> FatReader<'a> {
    pub(crate) fn new(file: File<'a, Storage>, size: u64, ctx: &'a Ctx, shown: VolumePath) -> Self {
        FatReader {
            file,
            size,
            left: size,
            ctx,
            shown,
        }
    }

    /// What reading the whole file may cost: its bytes plus its chain's FAT lookups.
    pub(crate) fn budget(&self) -> u64 {
        self.size + Ctx::chain_budget(self.size)
    }
}

impl Read for FatReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = (buf.len() as u64).min(self.left) as usize;
        if want == 0 {
            return Ok(0);
        }
        let file = &mut self.file;
        let shown = &self.shown;
        let done = self
            .ctx
            .run(
                || format!("reading {shown}"),
                || {
                    let mut done = 0;
                    while done < want {
                        match file.read(&mut buf[done..want])? {
                            0 => break,
                            n => done += n,
                        }
                    }
                    Ok(done)
                },
            )
            .map_err(io::Error::other)?;
        if done == 0 {
            let detail = format!(
                "its cluster chain ends {} bytes before the size its entry declares",
                self.left
            );
            return Err(io::Error::other(
                self.ctx.corrupt(format!("reading {shown}"), detail),
            ));
        }
        self.left -= done as u64;
        Ok(done)
    }
}
