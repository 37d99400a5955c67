//! Reading a recording back from the replica for a person, when the local store no longer
//! holds it (a dock machine rebuilt, a store lost): the register's object version fetched
//! into an unnamed file (`O_TMPFILE`, gone with its last descriptor, nothing to clean after
//! a crash), its size and both hashes checked against the register as the bytes come. Only
//! a file that matches is handed back (read-only); the first byte past the register's size
//! stops the transfer, and a mismatch hands back nothing, so a caller never sees a
//! complete wrong file.

use std::fs::File;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use aws_sdk_s3::error::DisplayErrorContext;

use super::{Bucket, ReplicaError};
use crate::base::config::ReplicaConfig;
use crate::base::digest::{Digests, Hasher};

/// The object version the register says holds a stored file, and what it must be.
#[derive(Debug, Clone)]
pub(crate) struct Wanted<'a> {
    /// Its key.
    pub key: &'a str,
    /// Its version id.
    pub version: &'a str,
    /// Its size, from the register.
    pub size: u64,
    /// Its hashes, from the register.
    pub digests: Digests,
}

/// Fetches `wanted` from `[replica]` into an unnamed file under `dir` and returns it
/// read-only at offset 0, or `ReplicaError::Mismatch` when the bytes are not the
/// register's. Blocks; not to be called from inside a tokio runtime.
pub(crate) fn fetch_verified(
    config: &ReplicaConfig,
    wanted: &Wanted<'_>,
    dir: &Path,
) -> Result<File, ReplicaError> {
    let bucket = Bucket::connect(config)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| ReplicaError::Read {
            path: dir.to_path_buf(),
            source,
        })?;
    let staged = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_TMPFILE)
        .open(dir)
        .map_err(|source| ReplicaError::Read {
            path: dir.to_path_buf(),
            source,
        })?;
    runtime.block_on(fetch_into(&bucket, wanted, &staged, dir))?;
    // A descriptor of its own, read-only: the caller cannot write to the copy it is given.
    File::open(format!("/proc/self/fd/{}", staged.as_raw_fd())).map_err(|source| {
        ReplicaError::Read {
            path: dir.to_path_buf(),
            source,
        }
    })
}

async fn fetch_into(
    bucket: &Bucket,
    wanted: &Wanted<'_>,
    mut staged: &File,
    dir: &Path,
) -> Result<(), ReplicaError> {
    let mismatch = |message: String| ReplicaError::Mismatch {
        key: wanted.key.to_string(),
        version: wanted.version.to_string(),
        message,
    };
    let mut body = bucket.get(wanted.key, wanted.version).await?;
    let mut hasher = Hasher::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| ReplicaError::Request {
            operation: "GET",
            key: wanted.key.to_string(),
            message: DisplayErrorContext(&e).to_string(),
        })?;
        if hasher.len() + chunk.len() as u64 > wanted.size {
            return Err(mismatch(format!(
                "the replica sends more than the register's {} bytes",
                wanted.size
            )));
        }
        hasher.update(&chunk);
        staged
            .write_all(&chunk)
            .map_err(|source| ReplicaError::Read {
                path: dir.to_path_buf(),
                source,
            })?;
    }
    let size = hasher.len();
    let got = hasher.finish();
    if size != wanted.size || got != wanted.digests {
        return Err(mismatch(format!(
            "read {size} bytes with SHA-256 {} (BLAKE3 {}), the register proved {} bytes with SHA-256 {} (BLAKE3 {})",
            got.sha256_hex(),
            got.blake3_hex(),
            wanted.size,
            wanted.digests.sha256_hex(),
            wanted.digests.blake3_hex()
        )));
    }
    Ok(())
}
