//! The S3 replica under Object Lock (issue 12): every proven recording's video, sidecar
//! and manifest copied to an S3 bucket with Object Lock, each PUT carrying the register's
//! SHA-256 so that the server itself refuses a corrupted body, then proven by HEAD and a
//! read-back GET hashed against the register. The queue is in the register
//! (`replica_queue`), the uploader a daemon thread; legal holds follow the register's
//! holds, expired versions are deleted once the local purge has run, and the audit
//! chain's head is anchored in the bucket daily and after each extraction.

mod anchor;
mod body;
mod bucket;
mod credentials;
mod error;
mod locks;
mod manifest;
mod proof;
mod read;
mod status;
mod uploader;
mod verify;

pub use crate::custody::register::replica::{QueueRow, QueueState, ReplicaQueue};

pub(crate) use crate::custody::register::replica::{Backlog, Part};
pub(crate) use anchor::Anchor;
pub use body::UploadFaults;
pub use bucket::Bucket;
pub use credentials::Credentials;
pub(crate) use error::ReplicaError;
pub use proof::Proof;
pub(crate) use read::{Wanted, fetch_verified};
pub(crate) use status::ReplicaStatus;
pub(crate) use uploader::UploaderThread;
pub use uploader::{Pass, Uploader};
pub(crate) use verify::ReplicaScrub;
pub use verify::scrub_replica;
