//! An exFAT volume on a block device or image file, read and (for the wipe) written in
//! user space by a small reader of our own; never mounted.
//!
//! Why not a crate: `exfat` 0.1 reads only (no delete), locks with `unwrap`, and bounds
//! nothing against a looping FAT; `exfat-fs` 0.1 formats and reads, its writing is
//! unfinished; `embedded-exfat`, `exfat-slim` and `hadris-fat` target embedded use and
//! none checks cluster ownership or the bitmap against the chains. What a camera needs is
//! narrow (list, read, delete), so this reader does only that, bounded everywhere, every
//! byte charged to the same guard as the FAT path and fuzzed (`fuzz/fuzz_targets/exfat.rs`).

mod boot;
mod device;
mod entries;
mod locate;
mod reader;
mod tree;
mod upcase;
mod walk;
mod wipe;

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::{FileExt, FileTypeExt, OpenOptionsExt};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use boot::{Boot, REGION_SECTORS};
use device::Device;
use tree::Map;
use walk::ExfatWalk;

use super::guard::Guard;
use super::storage::Storage;
use super::watch::ReadWatch;
use super::{Access, Damage, Scan, Volume, VolumeError, VolumeInfo, VolumeKind, VolumePath, scan};
use crate::base::config::{Profile, WipeMode};

/// Whether `file` holds an exFAT volume (at sector 0 or in the first MBR partition).
/// This is the first read of any camera, FAT or exFAT: it is marked on `watch`, so that
/// a device that never answers its first sector is seen stalled too.
pub(crate) fn probe(source: &Path, watch: &ReadWatch) -> Result<bool, VolumeError> {
    let file = File::open(source).map_err(|e| VolumeError::Open {
        path: source.to_path_buf(),
        source: e,
    })?;
    let _reading = watch.begin();
    locate::find(&file)
        .map(|found| found.is_some())
        .map_err(|e| VolumeError::Io {
            path: source.to_path_buf(),
            what: "reading the partition table".into(),
            source: e,
        })
}

/// The exFAT file system of a camera, opened by `volume::open`.
pub(crate) struct ExfatVolume {
    dev: Device,
    map: Map,
    info: VolumeInfo,
    profile: Profile,
    access: Access,
    /// Whether this opening changed the volume (so close records it clean again).
    changed: bool,
}

impl ExfatVolume {
    /// Opens `source` (`O_RDONLY` unless `access` is `ReadWrite`), checks its boot region
    /// and builds its ownership map; a read-write opening of an undamaged volume finishes
    /// the wipes a cut-off run left. Every device read, from the boot sector on, and every
    /// sync is marked on `watch`, for the stalled-read deadline.
    pub(crate) fn open(
        source: &Path,
        profile: &Profile,
        access: Access,
        watch: ReadWatch,
    ) -> Result<ExfatVolume, VolumeError> {
        let writable = access == Access::ReadWrite;
        let (mut dev, offset, mut damage) = open_device(source, profile, writable, watch)?;
        let max_entries = profile.max_dir_entries as usize;
        // The whole tree is walked once: the FAT, the bitmap and every directory at most.
        let budget = dev.boot.fat_bytes + u64::from(dev.boot.cluster_count) / 8 + (256 << 20);
        dev.arm(budget, true);
        let mut map = tree::build(&mut dev, max_entries)?;
        damage.append(&mut map.damage);
        map.damage = damage;
        let info = VolumeInfo {
            kind: VolumeKind::Exfat {
                partition_offset: offset,
            },
            label: map.label.clone(),
            source: source.to_path_buf(),
        };
        tracing::debug!(
            source = %source.display(),
            fs = "exfat",
            clusters = dev.boot.cluster_count,
            cluster_bytes = dev.boot.cluster_bytes(),
            damage = map.damage.len(),
            "opened an exfat volume"
        );
        let mut volume = ExfatVolume {
            dev,
            map,
            info,
            profile: profile.clone(),
            access,
            changed: false,
        };
        if writable && volume.map.damage.is_empty() && !volume.map.residue.is_empty() {
            volume.finish_cut_off_wipes(budget)?;
        }
        Ok(volume)
    }

    /// Frees what a wipe cut off by a crash or an unplugged camera left allocated.
    fn finish_cut_off_wipes(&mut self, budget: u64) -> Result<(), VolumeError> {
        self.dev.arm(budget, true);
        wipe::mark_dirty(&mut self.dev)?;
        self.changed = true;
        let residue = std::mem::take(&mut self.map.residue);
        wipe::finish(&mut self.dev, &mut self.map.bitmap, &residue)
    }

    fn walk(&mut self) -> ExfatWalk<'_> {
        ExfatWalk {
            dev: &mut self.dev,
            upcase: &self.map.upcase,
            root: &self.map.root,
            max_entries: self.profile.max_dir_entries as usize,
        }
    }

    fn dir_budget(&self) -> u64 {
        walk::dir_cap(self.profile.max_dir_entries as usize).max(self.dev.boot.cluster_bytes())
            + (1 << 20)
    }
}

/// Opens the device (`O_RDONLY` unless `writable`; `O_EXCL` for a writable block device),
/// finds the volume and checks its boot region: the device, the volume's offset, and the
/// boot region's damage.
fn open_device(
    source: &Path,
    profile: &Profile,
    writable: bool,
    watch: ReadWatch,
) -> Result<(Device, u64, Vec<Damage>), VolumeError> {
    let open_err = |e| VolumeError::Open {
        path: source.to_path_buf(),
        source: e,
    };
    let is_block = std::fs::metadata(source)
        .map_err(open_err)?
        .file_type()
        .is_block_device();
    let mut options = File::options();
    options.read(true).write(writable);
    if writable && is_block {
        // Exclusive: fails with EBUSY while the kernel has the device mounted.
        options.custom_flags(libc::O_EXCL);
    }
    let file = options.open(source).map_err(open_err)?;
    let io_err = |what: &str| {
        let what = what.to_string();
        move |e| VolumeError::Io {
            path: source.to_path_buf(),
            what,
            source: e,
        }
    };
    // Read before the storage exists, so marked here: the device may stall on its very
    // first sectors as well as on any later one.
    let found = {
        let _reading = watch.begin();
        locate::find(&file)
    };
    let (offset, room) = found
        .map_err(io_err("reading the partition table"))?
        .ok_or_else(|| VolumeError::NotFat {
            path: source.to_path_buf(),
            detail: "no exFAT boot sector at sector 0 or in the first partition".into(),
        })?;
    let (boot, damage) = {
        let _reading = watch.begin();
        read_boot(&file, offset, room, source)?
    };
    let sync = if writable {
        Some(file.try_clone().map_err(open_err)?)
    } else {
        None
    };
    let guard = Arc::new(Guard::new());
    let mut storage = Storage::new(file, offset, boot.volume_bytes, writable, guard.clone())
        .watched(watch.clone());
    let write_back = if writable {
        Some(storage.hold_writes().map_err(open_err)?)
    } else {
        None
    };
    let dev = Device {
        storage,
        guard,
        source: source.to_path_buf(),
        deadline: Duration::from_secs(u64::from(profile.scan_deadline_secs)),
        sync,
        write_back,
        boot,
        watch,
    };
    Ok((dev, offset, damage))
}

/// The main boot region, or the backup when the main one fails its checks (damage: the
/// volume is read but nothing is wiped); both failing is `ExfatCorrupt`.
fn read_boot(
    file: &File,
    offset: u64,
    room: u64,
    source: &Path,
) -> Result<(Boot, Vec<Damage>), VolumeError> {
    let corrupt = |what: &str, detail: String| VolumeError::ExfatCorrupt {
        path: source.to_path_buf(),
        what: what.into(),
        detail,
    };
    let mut first = [0u8; 512];
    file.read_exact_at(&mut first, offset)
        .map_err(|e| VolumeError::Io {
            path: source.to_path_buf(),
            what: "reading the boot sector".into(),
            source: e,
        })?;
    let shift = boot::sector_shift(&first).map_err(|e| corrupt("the boot sector", e))?;
    let region = (1u64 << shift) * REGION_SECTORS;
    if room < 2 * region {
        return Err(corrupt(
            "the boot region",
            format!("the volume holds only {room} bytes"),
        ));
    }
    let mut both = vec![0u8; 2 * region as usize];
    file.read_exact_at(&mut both, offset)
        .map_err(|e| VolumeError::Io {
            path: source.to_path_buf(),
            what: "reading the boot regions".into(),
            source: e,
        })?;
    let (main, backup) = both.split_at(region as usize);
    let damage = |code, detail: String| Damage {
        code,
        clusters: vec![],
        files: vec![],
        detail,
    };
    match (
        boot::parse_region(main, room),
        boot::parse_region(backup, room),
    ) {
        (Ok(b), Ok(bb)) if same_geometry(&b, &bb) => Ok((b, vec![])),
        (Ok(b), Ok(_)) => Ok((
            b,
            vec![damage(
                "boot-backup",
                "the backup boot region declares another geometry than the main one".into(),
            )],
        )),
        (Ok(b), Err(e)) => Ok((
            b,
            vec![damage(
                "boot-backup",
                format!("the backup boot region is damaged: {e}"),
            )],
        )),
        (Err(e), Ok(b)) => Ok((
            b,
            vec![damage(
                "boot-checksum",
                format!("the main boot region is damaged ({e}); read through the backup"),
            )],
        )),
        (Err(e), Err(_)) => Err(corrupt("the boot region", e)),
    }
}

fn same_geometry(a: &Boot, b: &Boot) -> bool {
    let strip = |x: &Boot| Boot {
        flags: 0,
        percent_in_use: 0,
        ..x.clone()
    };
    strip(a) == strip(b)
}

impl Volume for ExfatVolume {
    fn info(&self) -> &VolumeInfo {
        &self.info
    }

    fn scan(&mut self) -> Result<Scan, VolumeError> {
        let budget = self.dir_budget();
        self.dev.arm(budget, true);
        let (label, profile) = (self.info.label.clone(), self.profile.clone());
        let mut scan = scan::scan(&mut self.walk(), &profile, label)?;
        scan.damage = self.map.damage.clone();
        Ok(scan)
    }

    fn open_file(&mut self, path: &VolumePath) -> Result<Box<dyn Read + '_>, VolumeError> {
        let budget = self.dir_budget();
        self.dev.arm(budget, true);
        let (_, set) = self.walk().lookup(path)?;
        let reader = reader::ExfatReader::new(&mut self.dev, &set, path)?;
        // Copying gigabytes takes as long as the device needs: bytes bound it, not time.
        reader.arm_streaming();
        Ok(Box::new(reader))
    }

    fn read_small(&mut self, path: &VolumePath, max: u64) -> Result<Vec<u8>, VolumeError> {
        let budget = self.dir_budget();
        self.dev.arm(budget, true);
        let (_, set) = self.walk().lookup(path)?;
        reader::read_all(&mut self.dev, &set, path, max)
    }

    fn wipe(&mut self, path: &VolumePath, mode: WipeMode) -> Result<(), VolumeError> {
        if self.access != Access::ReadWrite {
            return Err(VolumeError::ReadOnly {
                path: self.dev.source.clone(),
                file: path.to_string(),
            });
        }
        scan::check_wipeable(path, &self.profile, &self.dev.source)?;
        if let Some(first) = self.map.damage.first() {
            return Err(VolumeError::NotWipeable {
                path: self.dev.source.clone(),
                file: path.to_string(),
                reason: format!(
                    "the exfat volume is damaged ({first}; {} finding(s) in all), so nothing on it is wiped; set the camera aside for an operator",
                    self.map.damage.len()
                ),
            });
        }
        let budget = self.dir_budget();
        self.dev.arm(budget, true);
        let (dir, set) = self.walk().lookup(path)?;
        let runs = reader::file_runs(&mut self.dev, &set, path)?;
        let shown = path.to_string();
        let span: u64 =
            runs.iter().map(|r| u64::from(r.count)).sum::<u64>() * self.dev.boot.cluster_bytes();
        // Zeroing moves the whole span; the rest is a few sectors, the bitmap and the FAT.
        self.dev.guard.arm(
            span * u64::from(mode == WipeMode::Overwrite) + span / 64 + budget,
            None,
        );
        if !self.changed {
            wipe::mark_dirty(&mut self.dev)?;
            self.changed = true;
        }
        if mode == WipeMode::Overwrite {
            wipe::zero(&mut self.dev, &runs, &shown)?;
        }
        wipe::release_set(&mut self.dev, &dir, set.index, set.count, &shown)?;
        wipe::free(
            &mut self.dev,
            &mut self.map.bitmap,
            &runs,
            !set.extent.contiguous,
        )
    }

    fn close(self: Box<Self>) -> Result<(), VolumeError> {
        let mut me = *self;
        if me.changed {
            me.dev.arm(1 << 20, true);
            wipe::mark_clean(&mut me.dev, &me.map.bitmap)?;
        }
        Ok(())
    }
}
