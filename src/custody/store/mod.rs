//! The RAID store: a human-navigable layout of write-once files, each proven by read-back.
//!
//! `docs/store-layout.md` describes the folders. A copy is written to a hidden temp file
//! beside its final place ([`Store::create`]), then [`PendingFile::persist`] makes it
//! durable, reads it back from the disk, and only then gives it its final name, never
//! replacing one.

mod durable;
mod error;
mod layout;
mod owner;
mod readback;
mod regions;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::fs::{self, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

pub use durable::StoreFaults;

pub(crate) use durable::{PendingFile, Persisted};
pub(crate) use error::{PersistError, StoreError};
pub(crate) use layout::{Area, StorePath};
pub(crate) use owner::check_mounted;
pub use owner::{IDENTITY_FILE, IDENTITY_TEMP_FILE, LOCK_FILE};

use crate::base::digest::Digests;
use durable::{NoFaults, ensure_folder, fsync_dir};
use layout::{is_partial_name, temp_file_name};
use owner::{Hold, StoreLock};

/// Makes temp names unique within the process; the pid makes them unique across processes.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// The store on the RAID, shared by every slot (it is `Send + Sync`).
pub struct Store {
    root: PathBuf,
    faults: Arc<dyn StoreFaults>,
    /// Folders whose name is known durable in their parent, so each parent is fsynced
    /// once per process rather than once per file.
    durable_folders: Mutex<HashSet<PathBuf>>,
    /// The store's random identity (`None` for a reader of a store never opened to write).
    identity: Option<String>,
    /// Held for the store's whole life: nobody else cleans or writes it meanwhile.
    _lock: StoreLock,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("root", &self.root).finish()
    }
}

impl Store {
    /// Opens (creating if needed) the store at root, as its only owner (see
    /// [`Store::open_checked`]); removes `.partial-` leftovers of a crash (logging each).
    pub fn open(root: &Path) -> Result<Store, StoreError> {
        Store::open_checked(root, None, None)
    }

    /// Opens the store at root for writing, refusing before anything is created when the
    /// store's disk is absent: `mount` (if set) must be a mount point, and `recorded` (the
    /// identity the register holds, if any) must be the store's. Then takes the store's
    /// exclusive lock (refused at once if another process holds it), and only then creates
    /// the folders and the identity and removes `.partial-` leftovers of a crash.
    pub(crate) fn open_checked(
        root: &Path,
        mount: Option<&Path>,
        recorded: Option<&str>,
    ) -> Result<Store, StoreError> {
        if let Some(mount) = mount {
            check_mounted(mount)?;
        }
        let root = std::path::absolute(root).map_err(|source| StoreError::CreateFolder {
            path: root.to_owned(),
            source,
        })?;
        if let Some(expected) = recorded {
            check_identity(&root, expected)?;
        }
        create_root(&root)?;
        let lock = owner::lock(&root, Hold::Exclusive)?;
        let identity = match owner::read_identity(&root)? {
            Some(id) => id,
            None => owner::write_identity(&root)?,
        };
        if let Some(expected) = recorded {
            // Another writer could have put its identity there before the lock was taken.
            check_identity(&root, expected)?;
        }
        let store = Store {
            root,
            faults: Arc::new(NoFaults),
            durable_folders: Mutex::new(HashSet::new()),
            identity: Some(identity),
            _lock: lock,
        };
        for area in Area::ALL {
            store.ensure_durable(&store.root.join(area.dir_name()))?;
        }
        store.remove_leftovers()?;
        Ok(store)
    }

    /// Opens an existing store for reading only (scrub, consultation): creates nothing and
    /// leaves temp files alone. Refused while a writer (the service) owns the store.
    pub fn open_existing(root: &Path) -> Result<Store, StoreError> {
        let listing = |source| StoreError::ListFolder {
            path: root.to_owned(),
            source,
        };
        let root = std::path::absolute(root).map_err(listing)?;
        for area in Area::ALL {
            let folder = root.join(area.dir_name());
            if !fs::metadata(&folder).map_err(listing)?.is_dir() {
                return Err(listing(io::Error::new(
                    io::ErrorKind::NotADirectory,
                    format!("{} is not a folder", folder.display()),
                )));
            }
        }
        let lock = owner::lock(&root, Hold::Shared)?;
        let identity = owner::read_identity(&root)?;
        Ok(Store {
            root,
            faults: Arc::new(NoFaults),
            durable_folders: Mutex::new(HashSet::new()),
            identity,
            _lock: lock,
        })
    }

    /// The store's identity, to be recorded in the register (`None` only for a reader of a
    /// store that no writer has opened since identities were introduced).
    pub fn identity(&self) -> Option<&str> {
        self.identity.as_deref()
    }

    /// The store's root folder (absolute).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The absolute path of a place in the store.
    pub fn absolute(&self, p: &StorePath) -> PathBuf {
        self.root.join(p.relative())
    }

    /// The final file at `p`, if one is stored there.
    pub fn find(&self, p: &StorePath) -> Option<PathBuf> {
        let path = self.absolute(p);
        match fs::symlink_metadata(&path) {
            Ok(m) if m.is_file() => Some(path),
            _ => None,
        }
    }

    /// Free bytes for an unprivileged writer (statvfs `f_bavail * f_frsize`).
    pub fn free_bytes(&self) -> Result<u64, StoreError> {
        let st = nix::sys::statvfs::statvfs(&self.root).map_err(|e| StoreError::FreeSpace {
            path: self.root.clone(),
            source: e.into(),
        })?;
        // Both are u64 on 64-bit Linux, but c_ulong is u32 on 32-bit targets.
        #[allow(clippy::useless_conversion)]
        let (avail, frsize) = (
            u64::from(st.blocks_available()),
            u64::from(st.fragment_size()),
        );
        Ok(avail.saturating_mul(frsize))
    }

    /// Starts a new file: creates its folders (fsyncing each new folder's parent) and a
    /// temp file beside the final name.
    pub fn create(&self, at: &StorePath) -> Result<PendingFile, StoreError> {
        let mut folder = self.root.clone();
        for part in at.folder().components() {
            folder.push(part);
            self.ensure_durable(&folder)?;
        }
        let counter = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let temp = folder.join(temp_file_name(&at.file_name(), counter));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&temp)
            .map_err(|source| StoreError::CreateFile {
                path: temp.clone(),
                source,
            })?;
        Ok(PendingFile::new(
            file,
            temp,
            folder,
            at.clone(),
            Arc::clone(&self.faults),
        ))
    }

    /// Persists a copy under another place than the one it was created for: the copy of a
    /// video starts before its checks are known, and goes to quarantine if one fails.
    pub(crate) fn persist_as(
        &self,
        mut pending: PendingFile,
        at: &StorePath,
        expected: &Digests,
    ) -> Result<Persisted, PersistError> {
        let mut folder = self.root.clone();
        for part in at.folder().components() {
            folder.push(part);
            self.ensure_durable(&folder).map_err(|e| PersistError::Io {
                path: folder.clone(),
                source: io::Error::other(e),
            })?;
        }
        pending.retarget(folder, at.clone());
        pending.persist(expected)
    }

    /// Reads a stored file back from disk (dropping its cached pages first) and hashes it.
    pub(crate) fn read_back(&self, path: &Path) -> Result<Digests, StoreError> {
        let inside =
            path.starts_with(&self.root) && !path.components().any(|c| c == Component::ParentDir);
        if !inside {
            return Err(StoreError::OutsideStore {
                path: path.to_owned(),
                root: self.root.clone(),
            });
        }
        readback::read_back(path).map_err(|source| StoreError::ReadBack {
            path: path.to_owned(),
            source,
        })
    }

    /// Test/fault injection hook: the store calls `faults` at fixed points of `persist`.
    pub fn with_faults(mut self, faults: Arc<dyn StoreFaults>) -> Store {
        self.faults = faults;
        self
    }

    /// `ensure_folder` once per folder and process.
    fn ensure_durable(&self, folder: &Path) -> Result<(), StoreError> {
        // A poisoned set is still a valid set: a panic cannot leave it half-updated.
        let known = self
            .durable_folders
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(folder);
        if !known {
            ensure_folder(folder)?;
            self.durable_folders
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(folder.to_owned());
        }
        Ok(())
    }

    /// Removes the temp files of copies a crash cut off: they are never evidence (the
    /// camera still holds those recordings, which were not confirmed).
    fn remove_leftovers(&self) -> Result<(), StoreError> {
        for area in Area::ALL {
            // area/day/serial/file: leftovers sit three levels down.
            self.remove_leftovers_in(&self.root.join(area.dir_name()), 3)?;
        }
        // Created with the first docking of a camera that keeps logs.
        let logs = self.root.join(Area::CameraLogs.dir_name());
        if logs.is_dir() {
            self.remove_leftovers_in(&logs, 3)?;
        }
        Ok(())
    }

    fn remove_leftovers_in(&self, dir: &Path, depth: u32) -> Result<(), StoreError> {
        let list_err = |source| StoreError::ListFolder {
            path: dir.to_owned(),
            source,
        };
        let mut removed = false;
        for entry in fs::read_dir(dir).map_err(list_err)? {
            let entry = entry.map_err(list_err)?;
            let path = entry.path();
            let kind = entry.file_type().map_err(list_err)?;
            if kind.is_dir() && depth > 1 {
                self.remove_leftovers_in(&path, depth - 1)?;
            } else if kind.is_file() && is_partial_name(&entry.file_name().to_string_lossy()) {
                tracing::warn!(path = %path.display(), "removing the temp file of a copy cut off by a crash");
                fs::remove_file(&path).map_err(|source| StoreError::RemoveLeftover {
                    path: path.clone(),
                    source,
                })?;
                removed = true;
            }
        }
        if removed {
            fsync_dir(dir).map_err(|source| StoreError::SyncFolder {
                path: dir.to_owned(),
                source,
            })?;
        }
        Ok(())
    }
}

/// Whether a file name is that of a copy still being written (or cut off by a crash).
pub(crate) fn is_temp_file_name(name: &str) -> bool {
    is_partial_name(name)
}

/// Refuses a root whose identity is not `expected`; reads only, creates nothing.
fn check_identity(root: &Path, expected: &str) -> Result<(), StoreError> {
    let found = owner::read_identity(root)?;
    if found.as_deref() == Some(expected) {
        return Ok(());
    }
    Err(StoreError::WrongIdentity {
        root: root.to_owned(),
        expected: expected.to_string(),
        found,
    })
}

/// Creates the root and any missing parent, fsyncing each new folder's parent.
fn create_root(root: &Path) -> Result<(), StoreError> {
    let missing: Vec<&Path> = root
        .ancestors()
        .take_while(|p| fs::symlink_metadata(p).is_err())
        .collect();
    for dir in missing.into_iter().rev() {
        ensure_folder(dir)?;
    }
    // An existing root may be a symlink to the RAID's mount point: follow it here only.
    match fs::metadata(root) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(StoreError::CreateFolder {
            path: root.to_owned(),
            source: io::Error::new(io::ErrorKind::AlreadyExists, "not a folder"),
        }),
        Err(source) => Err(StoreError::CreateFolder {
            path: root.to_owned(),
            source,
        }),
    }
}
