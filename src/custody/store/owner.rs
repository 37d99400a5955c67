//! One owner, on the right disk: the store's lock, its mount point and its identity.
//!
//! The process that opens a store for writing holds an exclusive `flock` on
//! [`LOCK_FILE`] in its root for as long as the [`super::Store`] lives, taken before
//! anything in the store is cleaned or written: a one-shot ingest beside the running
//! service is refused instead of deleting the service's temp files. The kernel drops the
//! lock when the process dies, so a crash leaves nothing to clean by hand.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read as _, Seek as _, Write as _};
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

use super::StoreError;
use super::durable::fsync_dir;

/// The lock file in the store's root; it holds the owner's pid, for the refusal's message.
pub const LOCK_FILE: &str = ".sentinel-dock.lock";
/// The store's identity: a random id written when the store is created, recorded in the register.
pub const IDENTITY_FILE: &str = ".sentinel-dock-store-id";
/// The identity's temporary name while it is written: a kill before its rename leaves it
/// in the root, and the next start writes it again over it.
pub const IDENTITY_TEMP_FILE: &str = ".sentinel-dock-store-id.new";

/// How a store is held: the writer alone, or readers beside each other (a one-shot scrub).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Hold {
    /// The service or a one-shot ingest: nobody else may hold the store.
    Exclusive,
    /// Readers that create and remove nothing: refused only while a writer holds it.
    Shared,
}

/// The held lock; dropping it (or the process dying) releases it.
pub(super) struct StoreLock {
    _flock: Flock<File>,
}

impl std::fmt::Debug for StoreLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreLock")
    }
}

/// Takes the store's lock without waiting: a store in use is refused at once.
pub(super) fn lock(root: &Path, hold: Hold) -> Result<StoreLock, StoreError> {
    let path = root.join(LOCK_FILE);
    let lock_err = |source| StoreError::Lock {
        path: path.clone(),
        source,
    };
    let file = OpenOptions::new()
        .read(true)
        .write(hold == Hold::Exclusive)
        .create(hold == Hold::Exclusive)
        .truncate(false)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&path);
    let file = match file {
        Ok(f) => f,
        // A reader of a store no writer ever opened: nothing to be beside.
        Err(e) if hold == Hold::Shared && e.kind() == io::ErrorKind::NotFound => {
            return shared_without_file(root);
        }
        Err(e) => return Err(lock_err(e)),
    };
    let arg = match hold {
        Hold::Exclusive => FlockArg::LockExclusiveNonblock,
        Hold::Shared => FlockArg::LockSharedNonblock,
    };
    let mut flock = match Flock::lock(file, arg) {
        Ok(l) => l,
        Err((mut file, nix::errno::Errno::EWOULDBLOCK)) => {
            return Err(StoreError::Owned {
                root: root.to_owned(),
                pid: owner_pid(&mut file),
            });
        }
        Err((_, errno)) => return Err(lock_err(errno.into())),
    };
    if hold == Hold::Exclusive {
        // The pid is only for the message of whoever is refused: best effort is enough.
        let _ = flock
            .set_len(0)
            .and_then(|()| flock.rewind())
            .and_then(|()| writeln!(&mut *flock, "{}", std::process::id()));
    }
    Ok(StoreLock { _flock: flock })
}

/// A shared hold on a store without a lock file: locks its root folder instead, which
/// conflicts with no writer (a writer creates the file) and keeps the code path single.
fn shared_without_file(root: &Path) -> Result<StoreLock, StoreError> {
    let file = File::open(root).map_err(|source| StoreError::Lock {
        path: root.to_owned(),
        source,
    })?;
    let flock =
        Flock::lock(file, FlockArg::LockSharedNonblock).map_err(|(_, errno)| StoreError::Lock {
            path: root.to_owned(),
            source: errno.into(),
        })?;
    Ok(StoreLock { _flock: flock })
}

/// The pid the owner wrote; it writes it just after taking the lock, so a process
/// refused in between waits a moment for it.
fn owner_pid(file: &mut File) -> Option<u32> {
    for _ in 0..50 {
        let mut text = String::new();
        file.rewind().ok()?;
        (&mut *file).take(32).read_to_string(&mut text).ok()?;
        if let Ok(pid) = text.trim().parse() {
            return Some(pid);
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    None
}

/// Refuses a `mount` that is not a mount point: the disk is not there, and whatever is
/// written under it would land on the disk below.
pub(crate) fn check_mounted(mount: &Path) -> Result<(), StoreError> {
    let not_mounted = |why: String| StoreError::NotMounted {
        mount: mount.to_owned(),
        why,
    };
    let here = fs::metadata(mount).map_err(|e| not_mounted(format!("cannot see it: {e}")))?;
    if !here.is_dir() {
        return Err(not_mounted("it is not a folder".into()));
    }
    let parent = fs::metadata(mount.join(".."))
        .map_err(|e| not_mounted(format!("cannot see its parent: {e}")))?;
    let is_fs_root = here.dev() == parent.dev() && here.ino() == parent.ino();
    if here.dev() != parent.dev() || is_fs_root || in_mountinfo(mount) {
        return Ok(());
    }
    Err(not_mounted(
        "it is a folder of the disk below, not a mount point".into(),
    ))
}

/// Whether the kernel lists `mount` as a mount point (a bind mount keeps its parent's
/// device number, so the device test alone misses it).
fn in_mountinfo(mount: &Path) -> bool {
    let Ok(canonical) = fs::canonicalize(mount) else {
        return false;
    };
    let Ok(table) = fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    table
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .any(|point| Path::new(&unescape_mountinfo(point)) == canonical)
}

/// mountinfo writes space, tab, newline and backslash as `\ooo` octal escapes.
fn unescape_mountinfo(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).and_then(|d| {
            let s = std::str::from_utf8(d).ok()?;
            u8::from_str_radix(s, 8).ok()
        });
        match (bytes[i], octal) {
            (b'\\', Some(b)) => {
                out.push(b);
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The identity file's content, if the store has one.
pub(super) fn read_identity(root: &Path) -> Result<Option<String>, StoreError> {
    let path = root.join(IDENTITY_FILE);
    match fs::read_to_string(&path) {
        Ok(text) => Ok(Some(text.trim().to_string())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(StoreError::Identity { path, source }),
    }
}

/// Writes a new random identity durably (temp file, fsync, rename, fsync of the root).
pub(super) fn write_identity(root: &Path) -> Result<String, StoreError> {
    let path = root.join(IDENTITY_FILE);
    let id_err = |source| StoreError::Identity {
        path: path.clone(),
        source,
    };
    let mut random = [0u8; 16];
    File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut random))
        .map_err(id_err)?;
    let id: String = random.iter().map(|b| format!("{b:02x}")).collect();
    let temp: PathBuf = root.join(IDENTITY_TEMP_FILE);
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&temp)
        .map_err(id_err)?;
    writeln!(file, "{id}")
        .and_then(|()| file.sync_all())
        .map_err(id_err)?;
    fs::rename(&temp, &path).map_err(id_err)?;
    fsync_dir(root).map_err(id_err)?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_escapes_are_decoded() {
        assert_eq!(unescape_mountinfo(r"/srv/my\040store"), "/srv/my store");
        assert_eq!(unescape_mountinfo(r"/a\134b"), r"/a\b");
        assert_eq!(unescape_mountinfo(r"/plain"), "/plain");
    }

    #[test]
    fn a_plain_folder_is_not_a_mount_point_and_the_root_is() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("raid");
        fs::create_dir(&folder).unwrap();
        let err = check_mounted(&folder).unwrap_err();
        assert!(err.to_string().contains("not mounted"), "{err}");
        assert!(check_mounted(Path::new("/")).is_ok());
        assert!(check_mounted(&dir.path().join("missing")).is_err());
    }

    #[test]
    fn a_second_exclusive_hold_is_refused_with_the_owners_pid() {
        let dir = tempfile::tempdir().unwrap();
        let held = lock(dir.path(), Hold::Exclusive).unwrap();
        match lock(dir.path(), Hold::Exclusive) {
            Err(StoreError::Owned { pid, .. }) => assert_eq!(pid, Some(std::process::id())),
            other => panic!("expected Owned, got {other:?}"),
        }
        assert!(matches!(
            lock(dir.path(), Hold::Shared),
            Err(StoreError::Owned { .. })
        ));
        drop(held);
        let reader = lock(dir.path(), Hold::Shared).unwrap();
        assert!(lock(dir.path(), Hold::Shared).is_ok());
        assert!(lock(dir.path(), Hold::Exclusive).is_err());
        drop(reader);
    }
}
