//! Why the replica could not be written, proven or read.

use std::path::PathBuf;

use crate::custody::register::RegisterError;

/// A replica failure; each message names the object, file or key and what to do.
#[derive(Debug, thiserror::Error)]
pub enum ReplicaError {
    /// The credentials file is missing, unreadable, too open or malformed.
    #[error("replica credentials {path}: {message}")]
    Credentials {
        /// The file named by `replica.credentials`.
        path: PathBuf,
        /// What is wrong and the fix.
        message: String,
    },
    /// An S3 request failed (the server refused it, or could not be reached).
    #[error("S3 {operation} {key}: {message}")]
    Request {
        /// PUT, HEAD, GET, legal hold, DELETE.
        operation: &'static str,
        /// The object's key (or the bucket).
        key: String,
        /// The server's code and message, or the connection's failure.
        message: String,
    },
    /// The replica does not match the register: its proof failed.
    #[error("replica proof of {key}: {message}")]
    Proof {
        /// The object's key.
        key: String,
        /// What differs.
        message: String,
    },
    /// An object read back for a caller is not what the register proved: nothing served.
    #[error(
        "the replica's {key} version {version} is not the recording the register proved: {message}; nothing was served: report it, and run `sentinel-dockctl scrub --read-data`"
    )]
    Mismatch {
        /// The object's key.
        key: String,
        /// Its version.
        version: String,
        /// What differs.
        message: String,
    },
    /// A stored file could not be read for upload.
    #[error("cannot read {path} for the replica")]
    Read {
        /// The stored file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The register could not be read or written.
    #[error(transparent)]
    Register(#[from] RegisterError),
}
