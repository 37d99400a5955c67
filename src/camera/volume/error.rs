//! Why a volume could not be opened, scanned, read or wiped.

use std::path::PathBuf;

/// A volume error; each message names the camera source, the entry, and what to do.
#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    /// The device node, image or directory could not be opened at all.
    #[error(
        "cannot open camera source {path} (check that the camera is docked and that the service user may read the device)"
    )]
    Open {
        /// The camera source.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The source holds no FAT file system this service can read.
    #[error("{path}: not a FAT volume: {detail}")]
    NotFat {
        /// The camera source.
        path: PathBuf,
        /// What was found instead, and what to do.
        detail: String,
    },
    /// The file system's structures are damaged or hostile: loops, sizes past the end,
    /// a panic in the FAT library, a deadline or read budget exceeded.
    #[error(
        "{path}: {what} ({detail}); the volume is damaged or was not written by a camera: do not wipe it automatically, check a copy with `fsck.vfat -n` and set the camera aside for an operator"
    )]
    Corrupt {
        /// The camera source.
        path: PathBuf,
        /// What was being read, e.g. "directory DCIM/20180312 loops or is too large".
        what: String,
        /// The evidence of the damage.
        detail: String,
    },
    /// The device failed to read or write.
    #[error("{path}: I/O error while {what} (reseat the camera in the dock and try again)")]
    Io {
        /// The camera source.
        path: PathBuf,
        /// What was being done.
        what: String,
        /// What the OS said.
        source: std::io::Error,
    },
    /// Some of the volume's sectors could not be read, even cluster by cluster.
    #[error(
        "{path}: {what}: the camera could not read {clusters} ({detail}): bad sectors. Only what they hold is left unread; keep the camera aside for the technician, untouched"
    )]
    Unreadable {
        /// The camera source.
        path: PathBuf,
        /// What was being read.
        what: String,
        /// The clusters (or bytes) that could not be read.
        clusters: String,
        /// What the device said.
        detail: String,
    },
    /// The path names no entry on the volume.
    #[error("{path}: {file} does not exist on the volume (removed since the scan?)")]
    NotFound {
        /// The camera source.
        path: PathBuf,
        /// The path on the volume, escaped.
        file: String,
    },
    /// The path names a directory, symbolic link or special file where a file was expected.
    #[error("{path}: {file} is not a regular file ({reason}); it is neither read nor wiped")]
    NotRegular {
        /// The camera source.
        path: PathBuf,
        /// The path on the volume, escaped.
        file: String,
        /// What it is instead.
        reason: String,
    },
    /// The ownership map found the volume damaged: nothing on it is wiped automatically.
    #[error(
        "{path}: {file} is not wiped: the volume is damaged ({damage}); wiping would free or zero clusters another file may need. Set the camera aside for an operator"
    )]
    Damaged {
        /// The camera source.
        path: PathBuf,
        /// The path on the volume, escaped.
        file: String,
        /// What the ownership map found.
        damage: String,
    },
    /// Two entries of one directory have the same name ignoring case.
    #[error(
        "{path}: {file} is ambiguous: another entry of its directory has the same name ignoring case, so it is neither read nor wiped by name"
    )]
    Ambiguous {
        /// The camera source.
        path: PathBuf,
        /// The path on the volume, escaped.
        file: String,
    },
    /// The file is larger than the caller allows.
    #[error("{path}: {file} is {size} bytes, more than the {max} bytes allowed for it")]
    TooLarge {
        /// The camera source.
        path: PathBuf,
        /// The path on the volume, escaped.
        file: String,
        /// The size its directory entry declares.
        size: u64,
        /// The largest size accepted.
        max: u64,
    },
    /// A path component can never name an entry (empty, `.`, `..`, or holding `/` or NUL).
    #[error("{path}: {file} is not a valid path on a camera volume: {reason}")]
    InvalidPath {
        /// The camera source.
        path: PathBuf,
        /// The path on the volume, escaped.
        file: String,
        /// Which component is wrong and why.
        reason: String,
    },
    /// A wipe was asked of a volume opened read-only.
    #[error(
        "{path}: refusing to wipe {file}: the volume was opened read-only; the wipe step must reopen it with Access::ReadWrite"
    )]
    ReadOnly {
        /// The camera source.
        path: PathBuf,
        /// The path on the volume, escaped.
        file: String,
    },
    /// A wipe was asked of something that is not a file of a day directory.
    #[error("{path}: refusing to wipe {file}: {reason}")]
    NotWipeable {
        /// The camera source.
        path: PathBuf,
        /// The path on the volume, escaped.
        file: String,
        /// Why only day-directory files may be wiped.
        reason: String,
    },
    /// An exFAT volume's structures are damaged or hostile: a boot region failing its
    /// checksum, a chain that loops, an entry set past its directory, a budget or deadline spent.
    #[error(
        "{path}: exfat: {what} ({detail}); the volume is damaged or was not written by a camera: do not wipe it automatically, check a copy with `fsck.exfat -n` and set the camera aside for an operator"
    )]
    ExfatCorrupt {
        /// The camera source.
        path: PathBuf,
        /// What was being read.
        what: String,
        /// The evidence of the damage.
        detail: String,
    },
}
