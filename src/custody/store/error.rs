//! What can go wrong in the store, each message naming the path and what to do.

use std::io;
use std::path::PathBuf;

use chrono::NaiveDate;

use crate::base::digest::Digests;

/// Why the store could not do something outside a copy: a name, a folder, a read-back.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A part of a store path was refused; nothing was written.
    #[error(
        "{what} {value} cannot be used in the store: it {why}; nothing was written \
         (the name comes from the camera: keep the camera and report it)"
    )]
    BadName {
        /// Which part: "serial" or "file name".
        what: &'static str,
        /// The refused value, quoted and escaped.
        value: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The recording day is outside the years a folder name can hold.
    #[error("day {day} is outside years 0001 to 9999: check the camera's clock")]
    BadDay {
        /// The refused day.
        day: NaiveDate,
    },
    /// A folder of the store could not be created or is not a folder.
    #[error(
        "cannot create folder {path} (check that the store is mounted and writable by the \
         service user)"
    )]
    CreateFolder {
        /// The folder.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
    /// A folder could not be listed while looking for leftovers.
    #[error("cannot list folder {path} (check the store's disks and permissions)")]
    ListFolder {
        /// The folder.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
    /// A new temp file could not be created.
    #[error("cannot create temporary file {path} (check free space and permissions on the store)")]
    CreateFile {
        /// The temp file.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
    /// A folder's fsync failed, so the names in it may not survive a power cut.
    #[error(
        "cannot make folder {path} durable by fsync (check the RAID and the kernel log for \
         disk errors)"
    )]
    SyncFolder {
        /// The folder.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
    /// A temp file left by a crash could not be removed.
    #[error(
        "cannot remove leftover temporary file {path} (stop the service and remove it by \
         hand)"
    )]
    RemoveLeftover {
        /// The leftover file.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
    /// A stored file could not be read back from disk.
    #[error(
        "cannot read {path} back from disk (check the RAID and the kernel log for disk \
         errors)"
    )]
    ReadBack {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
    /// A path given to read back is not a file of this store.
    #[error("{path} is not inside the store {root}: only stored files can be read back")]
    OutsideStore {
        /// The refused path.
        path: PathBuf,
        /// The store's root.
        root: PathBuf,
    },
    /// Another process owns the store: the running service, or another one-shot ingest.
    #[error("{}", owned(.root, *.pid))]
    Owned {
        /// The store's root.
        root: PathBuf,
        /// The owner's pid, as it wrote it in the lock file.
        pid: Option<u32>,
    },
    /// The lock file could not be opened or locked.
    #[error("cannot take the store's lock {path} (check the store's ownership)")]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
    /// `[store] mount` is not a mount point: the store's disk is not there.
    #[error(
        "the store is not mounted: {mount} ({why}); nothing was created, copied or wiped: \
         mount the store's disk there (see [store] mount), then dock the camera again"
    )]
    NotMounted {
        /// The configured mount point.
        mount: PathBuf,
        /// What was found instead.
        why: String,
    },
    /// The store's identity is not the one the register records: another disk, or an
    /// empty folder where the store's disk should be mounted.
    #[error(
        "the store is not mounted: {root} holds {}, but the register records store {expected}; \
         nothing was created, copied or wiped: mount the store's disk at {root} (or set \
         store.path to where it is mounted)",
        found.as_deref().map_or("no store identity".to_string(), |f| format!("store {f}"))
    )]
    WrongIdentity {
        /// The store's root.
        root: PathBuf,
        /// The identity the register records.
        expected: String,
        /// The identity found in the store, if any.
        found: Option<String>,
    },
    /// The store's identity file could not be read or written.
    #[error("cannot read or write the store's identity {path} (check the store's disk)")]
    Identity {
        /// The identity file.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
    /// The free space of the store could not be queried.
    #[error("cannot query free space at {path} (check that the store is mounted)")]
    FreeSpace {
        /// The store's root.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
}

impl StoreError {
    /// Whether the store's disk is absent (not mounted, or another disk): waiting for it
    /// to come back is the only fix, and nothing may be written meanwhile.
    pub(crate) fn is_not_mounted(&self) -> bool {
        matches!(
            self,
            StoreError::NotMounted { .. } | StoreError::WrongIdentity { .. }
        )
    }
}

/// Who holds the store's lock, as its command line says, and what to do about it.
fn owned(root: &std::path::Path, pid: Option<u32>) -> String {
    let lock = super::owner::LOCK_FILE;
    let service = "while the service runs, dock the camera instead of running `sentinel-dockd \
                   ingest` beside it (and ask the service for a scrub with `sentinel-dockctl scrub`)";
    let Some(pid) = pid else {
        return format!(
            "the store {} is in use by another sentinel-dockd, the service or a one-shot \
             command (it holds {lock}): nothing was touched; {service}",
            root.display()
        );
    };
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let words: Vec<String> = cmdline
        .split(|b| *b == 0)
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect();
    let one_shot = ["ingest", "scrub"]
        .into_iter()
        .find(|c| words.iter().skip(1).any(|w| w == c));
    match one_shot {
        Some(command) => format!(
            "the store {} is in use by a one-shot `sentinel-dockd {command}` (pid {pid}, it \
             holds {lock}): nothing was touched; let it finish, then try again",
            root.display()
        ),
        None => format!(
            "the store {} is in use by the running sentinel-dockd service (pid {pid}, it \
             holds {lock}): nothing was touched; {service}",
            root.display()
        ),
    }
}

/// Why a copy was not stored. In every case the temp file has been removed (or, if even
/// that failed, is left hidden for `Store::open` to remove) and the camera still holds the
/// original.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PersistError {
    /// fsync of the copy or its folder failed: after that the page cache may lie.
    #[error(
        "fsync of {path} failed, the copy is not proof (copy again from the camera, and \
         check the RAID and the kernel log if it repeats)"
    )]
    Fsync {
        /// The temp file or the folder whose fsync failed.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
    /// The bytes read back from disk are not the bytes read from the camera.
    #[error(
        "{path} read back from disk differs from the camera's bytes (expected {expected:?}, \
         found {found:?}); the copy was removed: copy again from the camera, and check the \
         RAID and the machine's memory if it repeats"
    )]
    ReadBackMismatch {
        /// The temp file that was read back.
        path: PathBuf,
        /// Hashes of the bytes read from the camera (boxed to keep `Result`s small).
        expected: Box<Digests>,
        /// Hashes of the bytes read back from disk.
        found: Box<Digests>,
    },
    /// The copy changed after some of it was proven by read-back (written to, truncated):
    /// what was read back is no longer what the disk holds.
    #[error(
        "{path} changed after parts of it were proven by read-back ({change}); the copy was \
         removed: copy again from the camera, and make sure nothing else writes into the \
         store's hidden .partial- files"
    )]
    ChangedAfterProof {
        /// The temp file that changed.
        path: PathBuf,
        /// What changed, in words.
        change: String,
    },
    /// Any other failure: no space, I/O error, read-only store, permissions.
    #[error("storing {path} failed ({})", advice(.source))]
    Io {
        /// The file or folder the failing operation was on.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
}

impl PersistError {
    /// Whether copying again from the camera, at once, may succeed; `false` means a
    /// technician must act first (store full, read-only, permissions, a name clash).
    pub(crate) fn retry_from_camera(&self) -> bool {
        match self {
            PersistError::Fsync { .. }
            | PersistError::ReadBackMismatch { .. }
            | PersistError::ChangedAfterProof { .. } => true,
            PersistError::Io { source, .. } => !needs_technician(source),
        }
    }
}

/// Errors that will come back on every retry until someone changes the machine.
fn needs_technician(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(
            libc::ENOSPC
                | libc::EDQUOT
                | libc::EROFS
                | libc::EACCES
                | libc::EPERM
                | libc::EEXIST
                | libc::ENAMETOOLONG
        )
    ) || matches!(
        e.kind(),
        io::ErrorKind::StorageFull
            | io::ErrorKind::QuotaExceeded
            | io::ErrorKind::ReadOnlyFilesystem
            | io::ErrorKind::PermissionDenied
            | io::ErrorKind::AlreadyExists
    )
}

/// What a technician should do about an OS error met while storing.
pub(super) fn advice(e: &io::Error) -> &'static str {
    match e.raw_os_error() {
        Some(libc::ENOSPC | libc::EDQUOT) => {
            "the store is full: free space or add disks, then copy again from the camera"
        }
        Some(libc::EROFS) => {
            "the store is read-only (often remounted so after disk errors): check the RAID \
             and the kernel log"
        }
        Some(libc::EIO) => {
            "the store's disks reported an I/O error: check the RAID and the kernel log, \
             then copy again from the camera"
        }
        Some(libc::EACCES | libc::EPERM) => {
            "the service user may not write there: check the store's ownership"
        }
        _ if e.kind() == io::ErrorKind::AlreadyExists => {
            "a different file already holds that name: keep both, and report it"
        }
        _ => "copy again from the camera; if it repeats, check the RAID and the kernel log",
    }
}
