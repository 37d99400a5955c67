//! The replica's proof: HEAD gives back the checksum, the version, the lock; a read-back
//! GET is hashed (BLAKE3 and SHA-256) and compared with the register. Only a proven
//! replica is `replicated`.

use chrono::{DateTime, Utc};

use crate::base::digest::Digests;

use super::{Bucket, ReplicaError};

/// What one object version must be.
#[derive(Debug, Clone)]
pub struct Proof {
    /// Its key.
    pub key: String,
    /// Its version id.
    pub version: String,
    /// Its length.
    pub size: u64,
    /// Its hashes, from the register (or of the manifest sent).
    pub digests: Digests,
    /// The lock's retain-until.
    pub retain_until: DateTime<Utc>,
}

impl Proof {
    /// HEADs the version and checks checksum, size and lock; then, unless `head_only`,
    /// reads it back and checks both hashes. The error names what differs.
    pub async fn check(&self, bucket: &Bucket, head_only: bool) -> Result<(), ReplicaError> {
        let differs = |message: String| ReplicaError::Proof {
            key: self.key.clone(),
            message,
        };
        let facts = bucket
            .head(&self.key, Some(&self.version))
            .await?
            .ok_or_else(|| differs(format!("version {} is not in the bucket", self.version)))?;
        let want = aws_smithy_types::base64::encode(self.digests.sha256);
        let server = facts.sha256_b64.clone().unwrap_or_default();
        // A multipart object's checksum is its parts' (`<sum>-<parts>`): the read-back
        // below checks it against the parts read, and the whole against the register.
        let parts = composite_count(&server);
        if server != want && parts.is_none() {
            return Err(differs(format!(
                "the server's SHA-256 is {:?}, the register's {want}",
                facts.sha256_b64
            )));
        }
        if facts.size != self.size {
            return Err(differs(format!(
                "{} bytes in the bucket, {} in the register",
                facts.size, self.size
            )));
        }
        let mode = bucket.mode().as_s3();
        if facts.mode.as_deref() != Some(mode) {
            return Err(differs(format!(
                "lock mode {:?}, {mode} expected",
                facts.mode
            )));
        }
        if facts.retain_until.map(|t| t.timestamp()) != Some(self.retain_until.timestamp()) {
            return Err(differs(format!(
                "retain-until {:?}, {} expected",
                facts.retain_until, self.retain_until
            )));
        }
        if head_only {
            return Ok(());
        }
        let sizes = match parts {
            Some(count) => {
                let sizes = bucket.part_sizes(&self.key, &self.version).await?;
                if sizes.len() as u64 != count || sizes.iter().sum::<u64>() != self.size {
                    return Err(differs(format!(
                        "the server lists {} part(s) of {} bytes in all for a checksum of {count} part(s) and {} bytes",
                        sizes.len(),
                        sizes.iter().sum::<u64>(),
                        self.size
                    )));
                }
                sizes
            }
            None => Vec::new(),
        };
        let (size, digests, sums) = bucket.read(&self.key, &self.version, &sizes).await?;
        if parts.is_some() && super::bucket::composite(&sums) != server {
            return Err(differs(format!(
                "the parts read back make the checksum {}, the server holds {server}",
                super::bucket::composite(&sums)
            )));
        }
        if size != self.size || digests != self.digests {
            return Err(differs(format!(
                "read back {size} bytes with BLAKE3 {} SHA-256 {}, the register has {} bytes with BLAKE3 {} SHA-256 {}",
                digests.blake3_hex(),
                digests.sha256_hex(),
                self.size,
                self.digests.blake3_hex(),
                self.digests.sha256_hex()
            )));
        }
        Ok(())
    }
}

/// The number of parts a multipart object's checksum (`<base64>-<parts>`) names.
pub(super) fn composite_count(checksum: &str) -> Option<u64> {
    let (_, count) = checksum.rsplit_once('-')?;
    count.parse().ok().filter(|n| *n >= 1)
}
