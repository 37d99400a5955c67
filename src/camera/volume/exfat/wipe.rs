//! Removing one file, in an order a cut-off wipe leaves recoverable and the next docking
//! finishes: (1) VolumeDirty set; (2) in overwrite mode the clusters zeroed; (3) the
//! entry set marked not in use; (4) its clusters freed in the bitmap, then in the FAT.
//! Each step is written and synced before the next. Cut after (3), the clusters are
//! still allocated and exactly those of a set not in use: the ownership map recognises
//! that residue and the next read-write opening frees it (`finish`). Cut after (4), the
//! FAT still holds a chain through free clusters, which exFAT ignores.

use super::boot::{PERCENT_IN_USE_AT, VOLUME_DIRTY, VOLUME_FLAGS_AT};
use super::device::{Device, Run};
use super::entries::{ENTRY_BYTES, not_in_use};
use super::tree::{Bitmap, Residue};
use super::walk::DirRef;
use crate::camera::volume::VolumeError;

const ZEROS: usize = 1 << 20;

/// Sets VolumeDirty in the main boot sector (never the backup), durably.
pub(crate) fn mark_dirty(dev: &mut Device) -> Result<(), VolumeError> {
    let flags = dev.boot.flags | VOLUME_DIRTY;
    dev.run(
        || "setting the volume's dirty flag".into(),
        |d| d.write_at(VOLUME_FLAGS_AT as u64, &flags.to_le_bytes()),
    )?;
    dev.boot.flags = flags;
    dev.commit("setting the volume's dirty flag")
}

/// Clears VolumeDirty and records PercentInUse, durably: the volume is consistent again.
pub(crate) fn mark_clean(dev: &mut Device, bitmap: &Bitmap) -> Result<(), VolumeError> {
    let count = dev.boot.cluster_count;
    let percent = (bitmap.used(count) * 100 / u64::from(count)) as u8;
    let flags = dev.boot.flags & !VOLUME_DIRTY;
    dev.run(
        || "clearing the volume's dirty flag".into(),
        |d| {
            d.write_at(PERCENT_IN_USE_AT as u64, &[percent])?;
            d.write_at(VOLUME_FLAGS_AT as u64, &flags.to_le_bytes())
        },
    )?;
    dev.boot.flags = flags;
    dev.commit("clearing the volume's dirty flag")
}

/// Writes zeros over every cluster of `runs`, slack included.
pub(crate) fn zero(dev: &mut Device, runs: &[Run], shown: &str) -> Result<(), VolumeError> {
    let zeros = vec![0u8; ZEROS];
    let cluster = dev.boot.cluster_bytes();
    for run in runs {
        let mut at = dev.boot.cluster_offset(run.first);
        let mut left = u64::from(run.count) * cluster;
        while left > 0 {
            let n = left.min(ZEROS as u64) as usize;
            dev.run(
                || format!("overwriting {shown}"),
                |d| d.write_at(at, &zeros[..n]),
            )?;
            at += n as u64;
            left -= n as u64;
        }
    }
    dev.commit("writing zeros over the file")
}

/// Marks the `count` entries from `index` of `dir` not in use, the File entry first.
pub(crate) fn release_set(
    dev: &mut Device,
    dir: &DirRef,
    index: usize,
    count: usize,
    shown: &str,
) -> Result<(), VolumeError> {
    for k in 0..count {
        let Some(at) = dir.offset(dev, (index + k) as u64 * ENTRY_BYTES) else {
            return Err(dev.corrupt(
                format!("{shown}'s entry set"),
                "it lies past its directory's clusters".into(),
            ));
        };
        let mut kind = [0u8; 1];
        dev.run(
            || format!("marking {shown} not in use"),
            |d| {
                d.read_at(at, &mut kind)?;
                d.write_at(at, &[not_in_use(kind[0])])
            },
        )?;
    }
    dev.commit("marking the file's entry set not in use")
}

/// Frees `runs` in the bitmap, then, for a chained file, zeroes its FAT entries.
pub(crate) fn free(
    dev: &mut Device,
    bitmap: &mut Bitmap,
    runs: &[Run],
    chained: bool,
) -> Result<(), VolumeError> {
    let (mut lo, mut hi) = (usize::MAX, 0usize);
    for run in runs {
        for c in run.first..run.first + run.count {
            bitmap.clear(c);
            let byte = (c - 2) as usize / 8;
            lo = lo.min(byte);
            hi = hi.max(byte + 1);
        }
    }
    if lo < hi {
        write_bitmap(dev, bitmap, lo, hi)?;
        dev.commit("freeing the file's clusters in the allocation bitmap")?;
    }
    if chained {
        for run in runs {
            for c in run.first..run.first + run.count {
                dev.run(
                    || "freeing the file's FAT chain".into(),
                    |d| d.set_fat_entry(c, 0),
                )?;
            }
        }
        dev.commit("freeing the file's FAT chain")?;
    }
    Ok(())
}

/// Writes bytes `lo..hi` of the in-memory bitmap to its clusters.
fn write_bitmap(
    dev: &mut Device,
    bitmap: &Bitmap,
    lo: usize,
    hi: usize,
) -> Result<(), VolumeError> {
    let cluster = dev.boot.cluster_bytes() as usize;
    let mut start = 0usize;
    for run in &bitmap.runs {
        let len = run.count as usize * cluster;
        let (a, b) = (lo.max(start), hi.min(start + len));
        if a < b {
            let at = dev.boot.cluster_offset(run.first) + (a - start) as u64;
            let bytes = &bitmap.bits[a..b];
            dev.run(
                || "writing the allocation bitmap".into(),
                |d| d.write_at(at, bytes),
            )?;
        }
        start += len;
    }
    Ok(())
}

/// Finishes the wipes a cut-off run left: frees their clusters and clears any secondary
/// entry still marked in use.
pub(crate) fn finish(
    dev: &mut Device,
    bitmap: &mut Bitmap,
    residue: &[Residue],
) -> Result<(), VolumeError> {
    for r in residue {
        release_set(dev, &r.dir, r.set.index, r.set.count, &r.shown)?;
        free(dev, bitmap, &r.runs, !r.set.extent.contiguous)?;
        tracing::info!(
            directory = %r.shown,
            clusters = r.runs.iter().map(|x| u64::from(x.count)).sum::<u64>(),
            "exfat: finished a wipe that an earlier run had cut off"
        );
    }
    Ok(())
}
