//! A camera's storage: a FAT volume read in user space, or an already mounted directory.
//!
//! A camera is hostile until proven otherwise (design invariant 6): everything here is
//! bounded (entries per directory, bytes read per operation, time per scan), a panic in
//! the FAT library becomes an error, and no name read from the volume ever becomes a
//! host path. The volume is opened read-only unless the caller asks for the wipe step
//! (invariant 1), and read-only is enforced by the OS (`O_RDONLY`), not by trust.
//!
//! This layer only lists and reads; whether a name is a recording is `evidence`'s call.

mod dir;
mod error;
mod exfat;
mod fat;
mod fat_check;
mod fat_entries;
mod fat_table;
mod fat_walk;
mod guard;
mod layout;
mod ownership;
mod path;
mod scan;
mod sectors;
mod storage;
#[cfg(test)]
mod tests;
mod watch;

use std::io::Read;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use crate::base::config::{Profile, WipeMode};

pub use error::VolumeError;
pub use path::VolumePath;
pub(crate) use watch::ReadWatch;

/// Whether a volume may be written; only the wipe step opens a camera read-write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Opened `O_RDONLY`: scanning and reading only; `wipe` is refused.
    ReadOnly,
    /// Opened `O_RDWR`: needed by `wipe`, and used for nothing else.
    ReadWrite,
}

/// Which FAT variant a volume uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FatType {
    /// 12-bit FAT entries (small media).
    Fat12,
    /// 16-bit FAT entries.
    Fat16,
    /// 32-bit FAT entries, what the profile's cameras use.
    Fat32,
}

/// What kind of source a volume was opened from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VolumeKind {
    /// A FAT file system read in user space from a block device or image file.
    Fat {
        /// FAT12, FAT16 or FAT32.
        fat_type: FatType,
        /// Byte offset of the file system on the device: 0 for a superfloppy, else the partition's start.
        partition_offset: u64,
    },
    /// A directory where the camera's volume is already mounted.
    Directory,
    /// An exFAT file system read in user space from a block device or image file.
    Exfat {
        /// Byte offset of the file system on the device: 0 for a superfloppy, else the partition's start.
        partition_offset: u64,
    },
}

/// What is known about an opened volume before scanning it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeInfo {
    /// FAT or mounted directory.
    pub kind: VolumeKind,
    /// The volume label, trimmed; `None` when the volume has none (or for a directory).
    pub label: Option<String>,
    /// The host path the volume was opened from (device node, image file or directory).
    pub source: PathBuf,
}

/// What a scan found on the volume.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scan {
    /// The volume label, as in [`VolumeInfo::label`].
    pub label: Option<String>,
    /// The root file named `profile.device_ini`, when present and at most 64 KiB.
    pub device_ini: Option<Vec<u8>>,
    /// Every regular file at `/<recordings_dir>/<day dir>/<file>`, unjudged.
    pub files: Vec<VolumeFile>,
    /// Everything unexpected in `recordings_dir` (and an unusable identity file), with why.
    pub ignored: Vec<Ignored>,
    /// What the ownership map found wrong with the volume's structure; when not empty the
    /// volume is damaged and nothing on it may be wiped automatically (invariant 9).
    pub damage: Vec<Damage>,
}

/// One structural fault of a volume: clusters not each owned by exactly one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// A stable code: `cross-linked`, `chain-loop`, `chain-out-of-volume`,
    /// `chain-too-short`, `chain-too-long`, `bitmap-mismatch`, `set-checksum`, ...
    pub code: &'static str,
    /// The clusters concerned (bounded: the first few, for a person to look at).
    pub clusters: Vec<u64>,
    /// The files and folders concerned, as volume paths escaped for display.
    pub files: Vec<String>,
    /// One sentence saying what was found.
    pub detail: String,
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.detail)?;
        if !self.files.is_empty() {
            write!(f, " (files: {})", self.files.join(", "))?;
        }
        if !self.clusters.is_empty() {
            let shown: Vec<String> = self.clusters.iter().map(u64::to_string).collect();
            write!(f, " (clusters: {})", shown.join(", "))?;
        }
        Ok(())
    }
}

/// The findings of an ownership map, on one line, for messages.
pub(crate) fn damage_summary(damage: &[Damage]) -> String {
    let shown: Vec<String> = damage.iter().map(Damage::to_string).collect();
    shown.join("; ")
}

/// A regular file found in a day directory of the recordings directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeFile {
    /// Where the file is on the volume, for `open_file`, `read_small` and `wipe`.
    pub path: VolumePath,
    /// The day directory's name, exactly as on the volume (unchecked).
    pub day_dir: String,
    /// The file's name, exactly as on the volume (unchecked).
    pub name: String,
    /// The size the directory entry declares.
    pub size: u64,
}

/// An entry that was not listed, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignored {
    /// The entry's path on the volume, escaped for display (never a host path).
    pub path: String,
    /// Why it was left alone, in words an operator understands.
    pub reason: String,
}

/// The largest identity file read; anything bigger is not what a camera writes.
pub(crate) const MAX_DEVICE_INI_BYTES: u64 = 64 * 1024;

/// A camera's storage, opened by [`open`].
pub trait Volume {
    /// What the volume is and where it came from.
    fn info(&self) -> &VolumeInfo;
    /// Lists the identity file and the recordings directory, within the profile's bounds.
    fn scan(&mut self) -> Result<Scan, VolumeError>;
    /// Streams a file's bytes; reads of 1 MiB go to the device as large reads.
    fn open_file(&mut self, path: &VolumePath) -> Result<Box<dyn Read + '_>, VolumeError>;
    /// Reads a whole file, refused if it is larger than `max` bytes.
    fn read_small(&mut self, path: &VolumePath, max: u64) -> Result<Vec<u8>, VolumeError>;
    /// Removes one file of a day directory; refused unless opened [`Access::ReadWrite`].
    fn wipe(&mut self, path: &VolumePath, mode: WipeMode) -> Result<(), VolumeError>;
    /// Flushes and releases the volume (FAT: clears the dirty flag, syncs the device).
    fn close(self: Box<Self>) -> Result<(), VolumeError>;
}

/// Opens a camera source: a block device or disk-image file holding a FAT12/16/32 or exFAT volume
/// (whole-disk "superfloppy" or the first partition of an MBR table), or a directory where such a volume is mounted.
pub fn open(
    source: &Path,
    profile: &Profile,
    access: Access,
) -> Result<Box<dyn Volume>, VolumeError> {
    open_watched(source, profile, access, ReadWatch::new())
}

/// [`open`], marking every device read (from the first sector on) on `watch`, so that
/// another thread can see a read that never returns.
pub(crate) fn open_watched(
    source: &Path,
    profile: &Profile,
    access: Access,
    watch: ReadWatch,
) -> Result<Box<dyn Volume>, VolumeError> {
    let meta = std::fs::metadata(source).map_err(|e| VolumeError::Open {
        path: source.to_path_buf(),
        source: e,
    })?;
    let kind = meta.file_type();
    if kind.is_dir() {
        Ok(Box::new(dir::DirVolume::open(source, profile, access)?))
    } else if (kind.is_file() || kind.is_block_device()) && exfat::probe(source, &watch)? {
        Ok(Box::new(exfat::ExfatVolume::open(
            source, profile, access, watch,
        )?))
    } else if kind.is_file() || kind.is_block_device() {
        Ok(Box::new(fat::FatVolume::open(
            source, profile, access, watch,
        )?))
    } else {
        // Opening a FIFO or a tty would block or do worse; a camera is neither.
        Err(VolumeError::Open {
            path: source.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a block device, disk image or directory",
            ),
        })
    }
}
