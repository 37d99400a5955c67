//! A FAT volume on a block device or image file, read (and for the wipe, written) in
//! user space through fatfs; never mounted.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;
use std::sync::Arc;

use fatfs::{FileSystem, FsOptions};

use super::fat_table::Geometry;
use super::fat_walk::{Ctx, FatReader, FatWalk, Fs, reader_error};
use super::guard::Guard;
use super::ownership;
use super::storage::{SharedWriteBack, Storage};
use super::watch::ReadWatch;
use super::{
    Access, FatType, Scan, Volume, VolumeError, VolumeInfo, VolumeKind, VolumePath, layout, scan,
};
use crate::base::config::{Profile, WipeMode};

/// The FAT file system of a camera, opened by `volume::open`.
pub(crate) struct FatVolume {
    fs: Fs,
    ctx: Ctx,
    info: VolumeInfo,
    profile: Profile,
    access: Access,
    /// A second descriptor of the device, to fsync after a wipe: fatfs owns the first.
    sync: Option<File>,
    /// The storage's held-back writes, flushed before each fsync (writable volumes only).
    write_back: Option<SharedWriteBack>,
    /// A descriptor of the device for the ownership map, which reads the FAT itself.
    raw: File,
    /// Where the file system starts on the device.
    offset: u64,
    /// Its length in bytes.
    len: u64,
    /// What the ownership map found at the last scan (made before the first wipe when
    /// there was none); a wipe is refused while it shows damage that could spread.
    findings: Option<ownership::Findings>,
    /// Marks every device read in flight, for the read deadline.
    watch: ReadWatch,
}

impl FatVolume {
    /// Opens `source` (`O_RDONLY` unless `access` is `ReadWrite`) and mounts it in memory.
    pub(crate) fn open(
        source: &Path,
        profile: &Profile,
        access: Access,
        watch: ReadWatch,
    ) -> Result<FatVolume, VolumeError> {
        let open_err = |e| VolumeError::Open {
            path: source.to_path_buf(),
            source: e,
        };
        let writable = access == Access::ReadWrite;
        let is_block = std::fs::metadata(source)
            .map_err(open_err)?
            .file_type()
            .is_block_device();
        let mut options = File::options();
        options.read(true).write(writable);
        if writable && is_block {
            // Exclusive: fails with EBUSY while the kernel has the device mounted, so a
            // wipe never races a kernel file system driver over the same clusters.
            options.custom_flags(libc::O_EXCL);
        }
        let file = options.open(source).map_err(open_err)?;
        let layout = {
            let _reading = watch.begin();
            layout::detect(&file, source)?
        };
        let sync = if writable {
            Some(file.try_clone().map_err(open_err)?)
        } else {
            None
        };
        let raw = file.try_clone().map_err(open_err)?;
        let guard = Arc::new(Guard::new());
        let mut ctx = Ctx::new(source.to_path_buf(), guard.clone(), profile);
        ctx.geometry = {
            let _reading = watch.begin();
            Geometry::read(&raw, layout.offset).ok()
        };
        let mut storage =
            Storage::new(file, layout.offset, layout.len, writable, guard).watched(watch.clone());
        let write_back = if writable {
            Some(storage.hold_writes().map_err(open_err)?)
        } else {
            None
        };
        ctx.guard.arm(ctx.dir_budget(), Some(ctx.deadline));
        let fs = ctx.run(
            || "reading the boot sector".into(),
            || FileSystem::new(storage, FsOptions::new().update_accessed_date(false)),
        )?;
        let fat_type = match fs.fat_type() {
            fatfs::FatType::Fat12 => FatType::Fat12,
            fatfs::FatType::Fat16 => FatType::Fat16,
            fatfs::FatType::Fat32 => FatType::Fat32,
        };
        let label = read_label(&fs, &ctx)?;
        Ok(FatVolume {
            fs,
            info: VolumeInfo {
                kind: VolumeKind::Fat {
                    fat_type,
                    partition_offset: layout.offset,
                },
                label,
                source: source.to_path_buf(),
            },
            ctx,
            profile: profile.clone(),
            access,
            sync,
            write_back,
            raw,
            offset: layout.offset,
            len: layout.len,
            findings: None,
            watch,
        })
    }

    /// After a panic inside fatfs (caught, failing only the call that met it), a read-only
    /// volume is mounted afresh from the device before its next call: the next recording
    /// is read by a file system and a cache that the panic did not leave half-changed, so a
    /// panic never reaches a recording that does not own what caused it. A writable volume
    /// stays refused: its held writes and fatfs's state cannot be trusted, so nothing more
    /// is wiped.
    fn recover(&mut self) -> Result<(), VolumeError> {
        if !self.ctx.poisoned() || self.access == Access::ReadWrite {
            return Ok(());
        }
        tracing::warn!(source = %self.ctx.source.display(), "the FAT library panicked on this camera; mounting it again for the next file");
        let file = File::open(&self.ctx.source).map_err(|e| VolumeError::Open {
            path: self.ctx.source.clone(),
            source: e,
        })?;
        let storage = Storage::new(file, self.offset, self.len, false, self.ctx.guard.clone())
            .watched(self.watch.clone());
        self.ctx.clear_poison();
        self.ctx
            .guard
            .arm(self.ctx.dir_budget(), Some(self.ctx.deadline));
        let fs = self.ctx.run(
            || "mounting the camera again after a panic of the FAT library".into(),
            || FileSystem::new(storage, FsOptions::new().update_accessed_date(false)),
        )?;
        let old = std::mem::replace(&mut self.fs, fs);
        // Read-only: unmounting the old one writes nothing, and may not be trusted not to panic.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(old)));
        Ok(())
    }

    fn walk(&self) -> FatWalk<'_> {
        FatWalk {
            fs: &self.fs,
            ctx: &self.ctx,
        }
    }

    fn sync_device(&self, what: &str) -> Result<(), VolumeError> {
        flush_held(self.write_back.as_ref(), &self.ctx.source, what)?;
        let _syncing = self.watch.begin();
        match &self.sync {
            Some(file) => file.sync_all().map_err(|source| VolumeError::Io {
                path: self.ctx.source.clone(),
                what: what.to_string(),
                source,
            }),
            None => Ok(()),
        }
    }
}

/// The boot sector's label, or the root directory's label entry when the boot sector
/// holds the placeholder `NO NAME`.
fn read_label(fs: &Fs, ctx: &Ctx) -> Result<Option<String>, VolumeError> {
    let from_boot = fs.volume_label().trim().to_string();
    if !from_boot.is_empty() && from_boot != "NO NAME" {
        return Ok(Some(from_boot));
    }
    ctx.guard.rebudget(ctx.dir_budget());
    let from_root = ctx.run(
        || "reading the volume label".into(),
        || fs.read_volume_label_from_root_dir(),
    )?;
    Ok(from_root
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty()))
}

impl Volume for FatVolume {
    fn info(&self) -> &VolumeInfo {
        &self.info
    }

    fn scan(&mut self) -> Result<Scan, VolumeError> {
        self.recover()?;
        self.ctx
            .guard
            .arm(self.ctx.dir_budget(), Some(self.ctx.deadline));
        let label = self.info.label.clone();
        let mut scan = scan::scan(&mut self.walk(), &self.profile, label)?;
        let findings = ownership::map(
            &self.raw,
            self.offset,
            &self.ctx.source,
            self.ctx.deadline,
            &self.watch,
        )?;
        scan.damage = findings.damage.clone();
        // A folder the map could not read is left whole: none of its files is read or
        // wiped, even one the FAT library could list.
        for (folder, detail) in &findings.unreadable {
            let shown = folder.to_string();
            let inside = |p: &VolumePath| p.to_string().starts_with(&format!("{shown}/"));
            scan.files.retain(|f| !inside(&f.path));
            if !scan.ignored.iter().any(|i| i.path == shown) {
                scan.ignored.push(super::Ignored {
                    path: shown,
                    reason: scan::unreadable_folder("its clusters", detail),
                });
            }
        }
        self.findings = Some(findings);
        Ok(scan)
    }

    fn open_file(&mut self, path: &VolumePath) -> Result<Box<dyn Read + '_>, VolumeError> {
        self.recover()?;
        self.ctx
            .guard
            .arm(self.ctx.dir_budget(), Some(self.ctx.deadline));
        let mut walk = FatWalk {
            fs: &self.fs,
            ctx: &self.ctx,
        };
        let (_, listed) = walk.lookup(path)?;
        let (file, size) = walk.file_of(&listed, path)?;
        let reader = FatReader::new(file, size, &self.ctx, path.clone());
        // Copying gigabytes takes as long as the device needs: bytes bound it, not time.
        self.ctx.guard.arm(reader.budget(), None);
        Ok(Box::new(reader))
    }

    fn read_small(&mut self, path: &VolumePath, max: u64) -> Result<Vec<u8>, VolumeError> {
        self.recover()?;
        self.ctx
            .guard
            .arm(self.ctx.dir_budget(), Some(self.ctx.deadline));
        let mut walk = self.walk();
        let (_, listed) = walk.lookup(path)?;
        let (file, size) = walk.file_of(&listed, path)?;
        if size > max {
            return Err(VolumeError::TooLarge {
                path: self.ctx.source.clone(),
                file: path.to_string(),
                size,
                max,
            });
        }
        let mut reader = FatReader::new(file, size, &self.ctx, path.clone());
        self.ctx.guard.arm(reader.budget(), None);
        let mut bytes = Vec::with_capacity(size as usize);
        reader
            .read_to_end(&mut bytes)
            .map_err(|e| reader_error(e, &self.ctx, path))?;
        Ok(bytes)
    }

    fn wipe(&mut self, path: &VolumePath, mode: WipeMode) -> Result<(), VolumeError> {
        if self.access != Access::ReadWrite {
            return Err(VolumeError::ReadOnly {
                path: self.ctx.source.clone(),
                file: path.to_string(),
            });
        }
        scan::check_wipeable(path, &self.profile, &self.ctx.source)?;
        // Defence in depth: the ingest skips the wipe of a damaged volume, and the volume
        // refuses it too, whoever asks. A volume never scanned is mapped now.
        let findings = match self.findings.take() {
            Some(findings) => findings,
            None => ownership::map(
                &self.raw,
                self.offset,
                &self.ctx.source,
                self.ctx.deadline,
                &self.watch,
            )?,
        };
        let blocked = findings.blocks_wipes;
        let damage = super::damage_summary(&findings.damage);
        self.findings = Some(findings);
        if blocked {
            return Err(VolumeError::Damaged {
                path: self.ctx.source.clone(),
                file: path.to_string(),
                damage,
            });
        }
        let ctx = &self.ctx;
        ctx.guard.arm(ctx.dir_budget(), Some(ctx.deadline));
        let mut walk = FatWalk { fs: &self.fs, ctx };
        let (dir, listed) = walk.lookup(path)?;
        let (file, size) = walk.file_of(&listed, path)?;
        if mode == WipeMode::Overwrite {
            let cluster = u64::from(self.fs.cluster_size());
            // FAT caps a file at 4 GiB - 1, where fatfs stops writing.
            let span = (size.div_ceil(cluster) * cluster).min(u64::from(u32::MAX));
            ctx.guard
                .arm(span + Ctx::chain_budget(size) + (1 << 20), None);
            ctx.run(
                || format!("overwriting {path}"),
                || overwrite(file, size, span),
            )?;
            self.sync_device("writing zeros over the file")?;
        } else {
            drop(file);
        }
        ctx.guard.arm(
            2 * ctx.dir_budget() + Ctx::chain_budget(size),
            Some(ctx.deadline),
        );
        let name = path.components().last().map(String::as_str).unwrap_or("");
        // `lookup` proved no other entry answers to `name`, so fatfs's own lookup by name
        // inside `remove` finds this very entry.
        ctx.run(|| format!("removing {path}"), || dir.remove(name))?;
        self.sync_device("removing the file's entry")
    }

    fn close(self: Box<Self>) -> Result<(), VolumeError> {
        let FatVolume {
            fs,
            ctx,
            sync,
            write_back,
            ..
        } = *self;
        ctx.guard.arm(ctx.dir_budget(), Some(ctx.deadline));
        ctx.run(|| "unmounting".into(), || fs.unmount())?;
        flush_held(write_back.as_ref(), &ctx.source, "writing the last changes")?;
        match sync {
            Some(file) => file.sync_all().map_err(|source| VolumeError::Io {
                path: ctx.source.clone(),
                what: "flushing the device".into(),
                source,
            }),
            None => Ok(()),
        }
    }
}

/// Writes the storage's held-back writes to the device (before an fsync).
fn flush_held(
    write_back: Option<&SharedWriteBack>,
    source: &Path,
    what: &str,
) -> Result<(), VolumeError> {
    let Some(write_back) = write_back else {
        return Ok(());
    };
    let flushed = write_back
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .flush();
    flushed.map_err(|source_err| VolumeError::Io {
        path: source.to_path_buf(),
        what: what.to_string(),
        source: source_err,
    })
}

/// Writes zeros over a file's clusters in place, through fatfs, up to the end of its last
/// cluster so that no slack keeps old bytes; refuses a chain shorter than the size, where
/// fatfs would allocate new clusters instead of overwriting.
fn overwrite(mut file: fatfs::File<'_, Storage>, size: u64, span: u64) -> io::Result<()> {
    if file.seek(SeekFrom::Start(size))? != size {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "its cluster chain is shorter than its size",
        ));
    }
    file.seek(SeekFrom::Start(0))?;
    let zeros = vec![0u8; 1 << 20];
    let mut left = span;
    while left > 0 {
        let n = left.min(zeros.len() as u64) as usize;
        file.write_all(&zeros[..n])?;
        left -= n as u64;
    }
    file.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::camera::volume::tests::{
        MP4_1, NMEA_1, SIZES, camera, pattern, require_tools, tempdir,
    };

    /// A panic inside fatfs fails the call that met it; the next file is read from a file
    /// system mounted afresh, not refused as "panicked earlier" (issue 21: a neighbour's
    /// bad sector must never fail a recording through a panic).
    #[test]
    fn after_a_panic_in_the_fat_library_the_next_file_is_read_from_a_fresh_mount() {
        require_tools!();
        let (_t, dir) = tempdir();
        let img = dir.join("cam.img");
        camera(&img, 16 * 1024, 16, None);
        let profile = Profile::default();
        let mut v =
            FatVolume::open(&img, &profile, Access::ReadOnly, ReadWatch::new()).expect("open");
        let path = |name: &str| VolumePath::new(&["DCIM", "20180312", name]);
        // The panic as `Ctx::run` meets one inside fatfs.
        let met = v.ctx.run(
            || format!("reading {}", path(NMEA_1)),
            || -> io::Result<()> { panic!("range end index 65536 out of range") },
        );
        assert!(
            matches!(&met, Err(VolumeError::Corrupt { detail, .. }) if detail.contains("panicked")),
            "{met:?}"
        );
        let bytes = v
            .read_small(&path(MP4_1), 1 << 30)
            .expect("read after the panic");
        assert!(bytes == pattern(1, SIZES[0]), "the bytes differ");
        assert!(!v.ctx.poisoned());
        // Writable: still refused, nothing more is wiped.
        let mut w =
            FatVolume::open(&img, &profile, Access::ReadWrite, ReadWatch::new()).expect("open rw");
        let _ = w
            .ctx
            .run(|| "x".into(), || -> io::Result<()> { panic!("boom") });
        let err = w.read_small(&path(MP4_1), 1 << 30).expect_err("refused");
        assert!(err.to_string().contains("panicked earlier"), "{err}");
    }
}
