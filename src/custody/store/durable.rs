//! Write-once files: a hidden temp file, read back (region by region, while it is still
//! written: `regions`), fsynced, then renamed without replacing.
//!
//! Design invariant 2: nothing stored is ever overwritten or half-written. A copy becomes
//! visible under its final name only after its bytes were read back from the disk and
//! matched the camera's, and it did not change between its last byte and its fsync; the
//! rename never replaces a name; the folder is fsynced so the name survives a power cut.
//! The store never removes a file under a final name.

use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use nix::fcntl::{PosixFadviseAdvice, posix_fadvise};

use super::layout::StorePath;
use super::readback::{ALIGN, drop_cached_pages, read_back};
use super::regions::{DEFAULT_PROOF_REGION, ProofError, Prover};
use super::{PersistError, StoreError};
use crate::base::digest::Digests;

/// Fault injection used by tests (and later a crash harness): called by the store at fixed
/// points of `PendingFile::persist`.
pub trait StoreFaults: Send + Sync {
    /// After the last write, before fsync; an `Err` fails the copy as an I/O error.
    fn after_write(&self, _temp: &Path) -> io::Result<()> {
        Ok(())
    }
    /// Just before the temp file's fsync, once every region is proven by read-back; an
    /// `Err` is treated exactly like a failing fsync.
    fn before_fsync(&self, _temp: &Path) -> io::Result<()> {
        Ok(())
    }
}

/// The faults of a real run: none.
pub(super) struct NoFaults;

impl StoreFaults for NoFaults {}

/// How a copy ended up in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Persisted {
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
    /// Size of the regions proven while the copy is still written (`ingest.proof_region`).
    region: u64,
    /// Started with the first whole region, or at `persist` for a smaller file.
    prover: Option<Prover>,
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
            region: DEFAULT_PROOF_REGION,
            prover: None,
        }
    }

    /// Proves the copy by regions of `bytes` (rounded up to whole 4 KiB blocks, which
    /// O_DIRECT needs) rather than the default 32 MiB.
    pub(crate) fn with_proof_region(mut self, bytes: u64) -> PendingFile {
        self.region = bytes.max(1).next_multiple_of(ALIGN as u64);
        self
    }

    /// Hands every whole region written so far to the prover, starting it if needed.
    fn submit_regions(&mut self) -> io::Result<()> {
        let whole = self.written - self.written % self.region;
        let prover = match self.prover.as_mut() {
            Some(p) => p,
            None => self.prover.insert(Prover::start(&self.temp)?),
        };
        prover.submit(whole);
        Ok(())
    }

    /// Changes the final place (same file system): the rename moves the temp file there.
    pub(super) fn retarget(&mut self, folder: PathBuf, target: StorePath) {
        self.final_path = folder.join(target.file_name());
        self.folder = folder;
        self.target = target;
    }

    /// The hidden temp file being written (the tests look at it).
    #[cfg(test)]
    pub(crate) fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// Proves the temp file by read-back from disk (its last region now, the others while
    /// they were written), fsyncs it and compares what was read back with `expected` (the
    /// hashes of the bytes read from the camera); then renames it to its final name without
    /// replacing anything and fsyncs the folder. If only that last fsync fails, the proven
    /// file keeps its final name and a retry returns `AlreadyPresent`.
    pub(crate) fn persist(mut self, expected: &Digests) -> Result<Persisted, PersistError> {
        // On any error, dropping `self` removes the temp file.
        if let Some(kind) = self.failed {
            return Err(PersistError::Io {
                path: self.temp.clone(),
                source: io::Error::new(kind, "an earlier write to this copy failed"),
            });
        }
        self.make_durable_and_prove(expected)?;
        let persisted = self.place(expected)?;
        fsync_dir(&self.folder).map_err(|source| PersistError::Fsync {
            path: self.folder.clone(),
            source,
        })?;
        Ok(persisted)
    }

    /// Read-only mode, the last region proven, fsync, and the temp file's write handle
    /// closed; then the proof checked: the bytes read back are the camera's, and the file
    /// has not changed since the last byte was written (docs/proving.md, "Proof by region").
    fn make_durable_and_prove(&mut self, expected: &Digests) -> Result<(), PersistError> {
        let Some(file) = self.file.take() else {
            return Err(self.io(io::Error::other("temp file already closed")));
        };
        // Nothing of ours writes the file after this: any change from here on is a fault.
        let written = Stamp::of(&file).map_err(|source| self.io(source))?;
        self.faults
            .after_write(&self.temp)
            .map_err(|source| self.io(source))?;
        // Before the fsync, so that one fsync makes the mode durable with the data.
        file.set_permissions(fs::Permissions::from_mode(0o444))
            .map_err(|source| self.io(source))?;
        let mut prover = match self.prover.take() {
            Some(p) => p,
            None => Prover::start(&self.temp).map_err(|source| self.io(source))?,
        };
        prover.submit(self.written);
        let proven = prover.finish().map_err(|e| match e {
            ProofError::Durable(source) => PersistError::Fsync {
                path: self.temp.clone(),
                source,
            },
            ProofError::Read(source) => self.io(source),
        })?;
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
        let now = Stamp::of(&file).map_err(|source| self.io(source))?;
        // The pages are clean now; dropping them also keeps evidence out of the cache.
        drop_cached_pages(&file).map_err(|source| self.io(source))?;
        if proven.digests != *expected || proven.len != self.written {
            return Err(PersistError::ReadBackMismatch {
                path: self.temp.clone(),
                expected: Box::new(*expected),
                found: Box::new(proven.digests),
            });
        }
        if now != written {
            return Err(PersistError::ChangedAfterProof {
                path: self.temp.clone(),
                change: written.change_to(&now),
            });
        }
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
                let submitted = self.prover.as_ref().map_or(0, Prover::submitted);
                if self.written - submitted >= self.region
                    && let Err(e) = self.submit_regions()
                {
                    return Err(self.note_failure(e));
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

/// What the file system says of a copy's bytes: its length and when they last changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: (i64, i64),
}

impl Stamp {
    fn of(file: &File) -> io::Result<Stamp> {
        use std::os::unix::fs::MetadataExt;
        let m = file.metadata()?;
        Ok(Stamp {
            len: m.len(),
            modified: (m.mtime(), m.mtime_nsec()),
        })
    }

    /// The change from `self` to `now`, in words.
    fn change_to(&self, now: &Stamp) -> String {
        if now.len != self.len {
            format!("its length went from {} to {} bytes", self.len, now.len)
        } else {
            "it was written to after its last byte was copied".into()
        }
    }
}

impl Drop for PendingFile {
    fn drop(&mut self) {
        // Stops the prover (it reads through its own handle) before the name goes.
        self.prover = None;
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
