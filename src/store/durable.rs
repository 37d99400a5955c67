//! Write-once files: a hidden temp file, fsynced, read back, then renamed without replacing.
//!
//! Design invariant 2: nothing stored is ever overwritten or half-written. A copy becomes
//! visible under its final name only after its bytes were read back from the disk and
//! matched the camera's; the rename never replaces a name; the folder is fsynced so the
//! name survives a power cut. The store never removes a file under a final name.

use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use nix::fcntl::{PosixFadviseAdvice, posix_fadvise};

use super::layout::StorePath;
use super::readback::{drop_cached_pages, read_back};
use super::{PersistError, StoreError};
use crate::digest::Digests;

/// Fault injection used by tests (and later a crash harness): called by the store at fixed
/// points of `PendingFile::persist`.
pub trait StoreFaults: Send + Sync {
    /// After the last write, before fsync; an `Err` fails the copy as an I/O error.
    fn after_write(&self, _temp: &Path) -> io::Result<()> {
        Ok(())
    }
    /// Just before the temp file's fsync; an `Err` is treated exactly like a failing fsync.
    fn before_fsync(&self, _temp: &Path) -> io::Result<()> {
        Ok(())
    }
}

/// The faults of a real run: none.
pub(super) struct NoFaults;

impl StoreFaults for NoFaults {}

/// How a copy ended up in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Persisted {
    /// Stored under its final name, proven by read-back.
    Stored {
        /// The final file.
        path: PathBuf,
    },
    /// The final name already held a file with the same hashes (a re-run): the temp copy
    /// was removed, the existing file is proof (it was read back too).
    AlreadyPresent {
        /// The existing final file.
        path: PathBuf,
    },
    /// The final name holds a different file: both kept, the new one under its conflict
    /// name.
    Conflict {
        /// The file that already held the final name.
        existing: PathBuf,
        /// The new file, under `<stem>.conflict-<blake3 prefix>.<ext>`.
        path: PathBuf,
    },
}

impl Persisted {
    /// The file that holds the bytes just copied.
    pub fn path(&self) -> &Path {
        match self {
            Persisted::Stored { path }
            | Persisted::AlreadyPresent { path }
            | Persisted::Conflict { path, .. } => path,
        }
    }
}

/// A copy on its way into the store: write it, then `persist` it. Dropped without
/// `persist`, it removes its temp file, so a cut-off copy leaves nothing behind.
pub struct PendingFile {
    file: Option<File>,
    temp: PathBuf,
    folder: PathBuf,
    target: StorePath,
    final_path: PathBuf,
    faults: Arc<dyn StoreFaults>,
    /// The first write error: a copy with a hole is never persisted, even if the caller
    /// goes on.
    failed: Option<io::ErrorKind>,
    /// Cleared once the temp file is renamed or removed.
    temp_exists: bool,
    /// Bytes written so far, and the offset up to which write-out has been started.
    written: u64,
    written_out: u64,
}

/// Write-out of a copy's bytes is started every this many bytes, while the camera is
/// still being read, so that `persist`'s fsync finds little left to write.
const WRITE_OUT_EVERY: u64 = 8 << 20;

impl PendingFile {
    /// Takes over a freshly created temp file.
    pub(super) fn new(
        file: File,
        temp: PathBuf,
        folder: PathBuf,
        target: StorePath,
        faults: Arc<dyn StoreFaults>,
    ) -> PendingFile {
        let final_path = folder.join(target.file_name());
        PendingFile {
            file: Some(file),
            temp,
            folder,
            target,
            final_path,
            faults,
            failed: None,
            temp_exists: true,
            written: 0,
            written_out: 0,
        }
    }

    /// Changes the final place (same file system): the rename moves the temp file there.
    pub(super) fn retarget(&mut self, folder: PathBuf, target: StorePath) {
        self.final_path = folder.join(target.file_name());
        self.folder = folder;
        self.target = target;
    }

    /// The hidden temp file being written.
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// The name the file will have once persisted (unless it is a conflict).
    pub fn final_path(&self) -> &Path {
        &self.final_path
    }

    /// fsync the temp file, drop its cached pages, read it back from disk and compare with
    /// `expected` (the hashes of the bytes read from the camera); then rename it to its
    /// final name without replacing anything and fsync the folder. If only that last fsync
    /// fails, the proven file keeps its final name and a retry returns `AlreadyPresent`.
    pub fn persist(mut self, expected: &Digests) -> Result<Persisted, PersistError> {
        // On any error, dropping `self` removes the temp file.
        if let Some(kind) = self.failed {
            return Err(PersistError::Io {
                path: self.temp.clone(),
                source: io::Error::new(kind, "an earlier write to this copy failed"),
            });
        }
        self.make_durable()?;
        let found = read_back(&self.temp).map_err(|source| self.io(source))?;
        if found != *expected {
            return Err(PersistError::ReadBackMismatch {
                path: self.temp.clone(),
                expected: Box::new(*expected),
                found: Box::new(found),
            });
        }
        let persisted = self.place(expected)?;
        fsync_dir(&self.folder).map_err(|source| PersistError::Fsync {
            path: self.folder.clone(),
            source,
        })?;
        Ok(persisted)
    }

    /// Read-only mode, fsync, and the temp file's write handle closed.
    fn make_durable(&mut self) -> Result<(), PersistError> {
        let Some(file) = self.file.take() else {
            return Err(self.io(io::Error::other("temp file already closed")));
        };
        self.faults
            .after_write(&self.temp)
            .map_err(|source| self.io(source))?;
        // Before the fsync, so that one fsync makes the mode durable with the data.
        file.set_permissions(fs::Permissions::from_mode(0o444))
            .map_err(|source| self.io(source))?;
        let synced = self
            .faults
            .before_fsync(&self.temp)
            .and_then(|()| file.sync_all());
        if let Err(source) = synced {
            return Err(PersistError::Fsync {
                path: self.temp.clone(),
                source,
            });
        }
        // The pages are clean now; dropping them also keeps evidence out of the cache.
        drop_cached_pages(&file).map_err(|source| self.io(source))?;
        Ok(())
    }

    /// Gives the proven temp file its final name, or finds it already there, or keeps it
    /// beside a different file under its conflict name.
    fn place(&mut self, expected: &Digests) -> Result<Persisted, PersistError> {
        let final_path = self.final_path.clone();
        if self.rename_noreplace(&final_path)? {
            return Ok(Persisted::Stored { path: final_path });
        }
        if self.holds(&final_path, expected)? {
            self.remove_temp()?;
            return Ok(Persisted::AlreadyPresent { path: final_path });
        }
        let conflict = self
            .folder
            .join(self.target.conflict_file_name(&expected.blake3_hex()));
        if self.rename_noreplace(&conflict)? {
            return Ok(Persisted::Conflict {
                existing: final_path,
                path: conflict,
            });
        }
        if self.holds(&conflict, expected)? {
            // The same conflicting copy, stored by an earlier run.
            self.remove_temp()?;
            return Ok(Persisted::Conflict {
                existing: final_path,
                path: conflict,
            });
        }
        Err(PersistError::Io {
            path: conflict,
            source: io::Error::new(
                io::ErrorKind::AlreadyExists,
                "the conflict name holds yet another content",
            ),
        })
    }

    /// Renames the temp file to `to` unless `to` exists; `Ok(false)` if it does.
    fn rename_noreplace(&mut self, to: &Path) -> Result<bool, PersistError> {
        match rename_noreplace(&self.temp, to) {
            Ok(()) => {
                self.temp_exists = false;
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            Err(source) => Err(PersistError::Io {
                path: to.to_owned(),
                source,
            }),
        }
    }

    /// Whether the stored file at `path`, read back from disk, has the expected hashes.
    fn holds(&self, path: &Path, expected: &Digests) -> Result<bool, PersistError> {
        match read_back(path) {
            Ok(found) => Ok(found == *expected),
            Err(source) => Err(PersistError::Io {
                path: path.to_owned(),
                source,
            }),
        }
    }

    fn remove_temp(&mut self) -> Result<(), PersistError> {
        fs::remove_file(&self.temp).map_err(|source| self.io(source))?;
        self.temp_exists = false;
        Ok(())
    }

    fn io(&self, source: io::Error) -> PersistError {
        PersistError::Io {
            path: self.temp.clone(),
            source,
        }
    }

    fn note_failure(&mut self, e: io::Error) -> io::Error {
        self.failed.get_or_insert(e.kind());
        // io::Write can only return io::Error: keep the kind, add the path to the message.
        io::Error::new(
            e.kind(),
            format!(
                "writing {}: {e}; {}",
                self.temp.display(),
                super::error::advice(&e)
            ),
        )
    }
}

impl Write for PendingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let Some(file) = self.file.as_mut() else {
            return Err(io::Error::other("temp file already closed"));
        };
        // Straight to the file: the caller's 1 MiB chunk is one write(2), no copy here.
        match file.write(buf) {
            Ok(n) => {
                self.written += n as u64;
                if self.written - self.written_out >= WRITE_OUT_EVERY {
                    start_write_out(file, self.written_out, self.written - self.written_out);
                    self.written_out = self.written;
                }
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(e),
            Err(e) => Err(self.note_failure(e)),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        // Nothing is buffered here; durability is `persist`'s job (fsync).
        Ok(())
    }
}

/// Asks the kernel to start writing a range of the file to disk, without waiting.
///
/// On Linux, `POSIX_FADV_DONTNEED` starts write-back of the range's dirty pages (and drops
/// them from the cache once clean: evidence is not read again from there). Only an
/// optimisation: durability is still `persist`'s fsync, whose result alone decides, so an
/// error here changes nothing and is ignored.
fn start_write_out(file: &File, offset: u64, len: u64) {
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return;
    };
    let _ = posix_fadvise(file, offset, len, PosixFadviseAdvice::POSIX_FADV_DONTNEED);
}

impl Drop for PendingFile {
    fn drop(&mut self) {
        self.file = None;
        if self.temp_exists
            && let Err(e) = fs::remove_file(&self.temp)
            && e.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!(
                path = %self.temp.display(),
                error = %e,
                "cannot remove an unfinished copy; it is hidden and will be removed when the store is next opened"
            );
        }
    }
}

/// Renames without ever replacing: renameat2(RENAME_NOREPLACE), or where the file system or
/// kernel refuses that flag, link() then unlink(), which also fails if `to` exists.
pub(super) fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use nix::fcntl::{AT_FDCWD, RenameFlags, renameat2};
        match renameat2(AT_FDCWD, from, AT_FDCWD, to, RenameFlags::RENAME_NOREPLACE) {
            Ok(()) => return Ok(()),
            Err(nix::errno::Errno::EINVAL | nix::errno::Errno::ENOSYS) => {}
            Err(e) => return Err(e.into()),
        }
    }
    link_then_unlink(from, to)
}

/// The no-replace rename of file systems without RENAME_NOREPLACE: link() fails if `to`
/// exists. A crash between the two calls leaves the temp name too, which `Store::open`
/// removes; the final name is complete either way.
pub(super) fn link_then_unlink(from: &Path, to: &Path) -> io::Result<()> {
    fs::hard_link(from, to)?;
    fs::remove_file(from)
}

/// fsyncs a folder, making the names created or removed in it durable.
pub(super) fn fsync_dir(path: &Path) -> io::Result<()> {
    File::open(path)?.sync_all()
}

/// Makes sure `path` is a folder whose name is durable in its parent: creates it if
/// missing, then fsyncs the parent (also when it already existed, since whoever created
/// it may have crashed before that fsync).
pub(super) fn ensure_folder(path: &Path) -> Result<(), StoreError> {
    match fs::create_dir(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            // symlink_metadata: a symlink planted in the store is not one of its folders.
            let is_dir = fs::symlink_metadata(path)
                .map(|m| m.is_dir())
                .unwrap_or(false);
            if !is_dir {
                return Err(StoreError::CreateFolder {
                    path: path.to_owned(),
                    source: io::Error::new(
                        io::ErrorKind::AlreadyExists,
                        "a non-folder holds that name",
                    ),
                });
            }
        }
        Err(source) => {
            return Err(StoreError::CreateFolder {
                path: path.to_owned(),
                source,
            });
        }
    }
    let parent = path.parent().unwrap_or(Path::new("/"));
    fsync_dir(parent).map_err(|source| StoreError::SyncFolder {
        path: parent.to_owned(),
        source,
    })
}
