//! Where `sentinel-dockctl consult` puts the recording the daemon passed as a descriptor:
//! a new file readable by the caller alone, or standard output. The daemon never writes
//! into the caller's folders; the caller's own process makes the copy, as the caller.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::custody::register::audit::hex;

/// Why a consulted recording could not be written where asked.
#[derive(Debug, thiserror::Error)]
pub enum CopyOutError {
    /// The output file could not be created (it exists, or the folder is not writable).
    #[error(
        "cannot create {path} for the recording (give --out a new file name in a folder you can write)"
    )]
    Create {
        /// The file asked for.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
    /// Reading the passed descriptor or writing the copy failed.
    #[error("copying the recording to {to}")]
    Copy {
        /// Where it was going.
        to: String,
        /// What the OS said.
        source: io::Error,
    },
    /// The bytes received are not the stored recording's (the copy is removed).
    #[error(
        "the copy in {to} is {size} bytes with sha256 {sha256}, not the stored {expected_size} bytes with sha256 {expected}; it was removed: consult again, and report it if it repeats"
    )]
    Mismatch {
        /// Where it was going.
        to: String,
        /// Bytes received.
        size: u64,
        /// Their SHA-256.
        sha256: String,
        /// The stored size the daemon announced.
        expected_size: u64,
        /// The stored SHA-256 the daemon announced.
        expected: String,
    },
}

/// The destination of a consulted recording.
#[derive(Debug)]
pub enum CopyOut {
    /// A new file, mode 0600, owned by the caller.
    File {
        /// Its path.
        path: PathBuf,
        /// The file, open for writing.
        file: File,
    },
    /// Standard output (a pipe to a player, say).
    Stdout,
}

impl CopyOut {
    /// Creates `path` for the caller alone (0600), refusing a name that exists (a link
    /// included): a consultation never overwrites anything. Made before the daemon is
    /// asked, so that a bad name costs no audit entry.
    pub fn create(path: &Path) -> Result<CopyOut, CopyOutError> {
        let create_err = |source| CopyOutError::Create {
            path: path.to_path_buf(),
            source,
        };
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
            .map_err(create_err)?;
        // The mode given at creation is narrowed by the umask, never widened: set it
        // exactly, so that the copy is the caller's alone whatever the umask.
        file.set_permissions(fs::Permissions::from_mode(0o600))
            .map_err(create_err)?;
        Ok(CopyOut::File {
            path: path.to_path_buf(),
            file,
        })
    }

    fn name(&self) -> String {
        match self {
            CopyOut::File { path, .. } => path.display().to_string(),
            CopyOut::Stdout => "standard output".into(),
        }
    }

    /// Copies everything from `from` (the descriptor the daemon passed), checks it is the
    /// `size` bytes of SHA-256 `sha256` the daemon announced, and makes a file durable.
    /// A file that does not match is removed. Returns the bytes copied.
    pub fn fill(self, from: OwnedFd, size: u64, sha256: &str) -> Result<u64, CopyOutError> {
        let to = self.name();
        let copy_err = |source| CopyOutError::Copy {
            to: to.clone(),
            source,
        };
        let mut source = File::from(from);
        let (got_size, got_sha) = match &self {
            CopyOut::File { file, .. } => copy_hashed(&mut source, &mut &*file),
            CopyOut::Stdout => copy_hashed(&mut source, &mut io::stdout().lock()),
        }
        .map_err(copy_err)?;
        if got_size != size || got_sha != sha256 {
            self.discard();
            return Err(CopyOutError::Mismatch {
                to,
                size: got_size,
                sha256: got_sha,
                expected_size: size,
                expected: sha256.to_string(),
            });
        }
        match &self {
            CopyOut::File { file, .. } => file.sync_all().map_err(copy_err)?,
            CopyOut::Stdout => io::stdout().flush().map_err(copy_err)?,
        }
        Ok(got_size)
    }

    /// Removes the file made for a recording that did not come (refused, failed).
    pub fn discard(self) {
        if let CopyOut::File { path, file } = self {
            drop(file);
            let _ = fs::remove_file(path);
        }
    }
}

fn copy_hashed(from: &mut File, to: &mut impl Write) -> io::Result<(u64, String)> {
    let mut buf = vec![0u8; 1 << 20];
    let (mut sha, mut size) = (Sha256::new(), 0u64);
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        sha.update(&buf[..n]);
        to.write_all(&buf[..n])?;
        size += n as u64;
    }
    Ok((size, hex(&sha.finalize())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(bytes: &[u8]) -> OwnedFd {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(bytes).unwrap();
        io::Seek::rewind(&mut f).unwrap();
        OwnedFd::from(f)
    }

    #[test]
    fn the_copy_is_the_callers_alone_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.mp4");
        let sha = hex(&Sha256::digest(b"evidence"));
        let n = CopyOut::create(&path)
            .unwrap()
            .fill(source(b"evidence"), 8, &sha)
            .unwrap();
        assert_eq!(n, 8);
        assert_eq!(fs::read(&path).unwrap(), b"evidence");
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o600);
        let err = CopyOut::create(&path).unwrap_err();
        assert!(err.to_string().contains("new file name"), "{err}");
    }

    #[test]
    fn bytes_that_are_not_the_stored_ones_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.mp4");
        let sha = hex(&Sha256::digest(b"evidence"));
        let err = CopyOut::create(&path)
            .unwrap()
            .fill(source(b"evidencE"), 8, &sha)
            .unwrap_err();
        assert!(matches!(err, CopyOutError::Mismatch { .. }), "{err}");
        assert!(!path.exists());
    }
}
