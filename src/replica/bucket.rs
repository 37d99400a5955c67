//! The bucket, through `aws-sdk-s3`: locked PUTs carrying the register's SHA-256, HEAD,
//! read-back GET, legal hold, version delete. Checksums are asked for only where the
//! register gives them (request checksum calculation "when required"): since 1.69 the SDK
//! otherwise adds a CRC32 to every PUT, which some servers refuse.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{
    BehaviorVersion, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::primitives::{ByteStream, DateTime as S3Time};
use aws_sdk_s3::types::{
    ChecksumAlgorithm, ChecksumMode, ObjectLockLegalHold, ObjectLockLegalHoldStatus, ObjectLockMode,
};
use chrono::{DateTime, Utc};

mod multipart;

pub(super) use multipart::FileUpload;
pub use multipart::composite;
pub(crate) use multipart::{part_length, part_sums};

use super::body::UploadBody;
use super::{Credentials, ReplicaError, UploadFaults};
use crate::base::config::{LockMode, ReplicaConfig};
use crate::base::digest::{Digests, Hasher};

/// How long connecting may take before the attempt fails (and is retried later).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// An object version as HEAD reports it.
#[derive(Debug, Clone)]
pub struct ObjectFacts {
    /// The version id.
    pub version: Option<String>,
    /// The SHA-256 the server holds for it, base64 (S3's form).
    pub sha256_b64: Option<String>,
    /// Its length.
    pub size: u64,
    /// COMPLIANCE or GOVERNANCE.
    pub mode: Option<String>,
    /// Its retain-until.
    pub retain_until: Option<DateTime<Utc>>,
    /// Whether a legal hold is on.
    pub legal_hold: bool,
}

/// What to PUT.
pub(super) struct Upload {
    /// The object's key.
    pub key: String,
    /// Its body.
    pub body: UploadBody,
    /// Its length.
    pub length: u64,
    /// The register's SHA-256 of the body.
    pub sha256: [u8; 32],
    /// The lock's retain-until.
    pub retain_until: DateTime<Utc>,
    /// Whether a legal hold goes on at once.
    pub legal_hold: bool,
}

/// The replica's bucket.
pub struct Bucket {
    client: Client,
    bucket: String,
    prefix: String,
    mode: LockMode,
    cap: Option<u64>,
    faults: Option<Arc<dyn UploadFaults>>,
}

impl Bucket {
    /// A client for `[replica]` (no request is made yet).
    pub fn connect(config: &ReplicaConfig) -> Result<Bucket, ReplicaError> {
        let endpoint = config.endpoint.clone().unwrap_or_default();
        let key = Credentials::load(&config.credentials)?;
        let credentials = aws_sdk_s3::config::Credentials::new(
            key.access_key_id,
            key.secret_access_key,
            key.session_token,
            None,
            "sentinel-dock replica.credentials",
        );
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let s3 = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(config.region.clone()))
            .endpoint_url(endpoint)
            .force_path_style(true)
            .credentials_provider(credentials)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            // The queue retries with its own backoff, and a streamed body cannot be replayed.
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .build(),
            )
            .http_client(http)
            .build();
        Ok(Bucket {
            client: Client::from_conf(s3),
            bucket: config.bucket.clone(),
            prefix: config.prefix.clone(),
            mode: config.lock_mode,
            cap: Some(config.max_bytes_per_sec.0).filter(|c| *c > 0),
            faults: None,
        })
    }

    /// The same bucket, with a fault hook on every body sent (tests).
    pub fn with_faults(mut self, faults: Arc<dyn UploadFaults>) -> Bucket {
        self.faults = Some(faults);
        self
    }

    /// The bucket's name.
    pub fn name(&self) -> &str {
        &self.bucket
    }

    /// `PREFIX/relative`.
    pub fn key(&self, relative: &str) -> String {
        format!("{}/{}", self.prefix, relative.trim_start_matches('/'))
    }

    /// The lock mode written.
    pub fn mode(&self) -> LockMode {
        self.mode
    }

    pub(super) fn file_body(
        &self,
        path: &std::path::Path,
        length: u64,
        key: &str,
    ) -> Result<UploadBody, ReplicaError> {
        let file = std::fs::File::open(path).map_err(|source| ReplicaError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(UploadBody::file(
            file,
            length,
            key,
            self.cap,
            self.faults.clone(),
        ))
    }

    /// `length` bytes of the stored file from `start`, as one part's body.
    pub(super) fn file_range_body(
        &self,
        path: &std::path::Path,
        start: u64,
        length: u64,
        key: &str,
    ) -> Result<UploadBody, ReplicaError> {
        use std::io::{Seek, SeekFrom};
        let fail = |source| ReplicaError::Read {
            path: path.to_path_buf(),
            source,
        };
        let mut file = std::fs::File::open(path).map_err(fail)?;
        file.seek(SeekFrom::Start(start)).map_err(fail)?;
        Ok(UploadBody::file(file, length, key, self.cap, self.faults.clone()).starting_at(start))
    }

    /// The lock mode and legal hold headers of every object written.
    fn lock_headers(&self, legal_hold: bool) -> (ObjectLockMode, ObjectLockLegalHoldStatus) {
        let mode = match self.mode {
            LockMode::Compliance => ObjectLockMode::Compliance,
            LockMode::Governance => ObjectLockMode::Governance,
        };
        let hold = if legal_hold {
            ObjectLockLegalHoldStatus::On
        } else {
            ObjectLockLegalHoldStatus::Off
        };
        (mode, hold)
    }

    pub(super) fn memory_body(&self, bytes: Vec<u8>, key: &str) -> UploadBody {
        UploadBody::memory(bytes, key, self.faults.clone())
    }

    /// PUTs a locked object; its version id.
    pub(super) async fn put(&self, upload: Upload) -> Result<String, ReplicaError> {
        let (mode, hold) = self.lock_headers(upload.legal_hold);
        let length = i64::try_from(upload.length).unwrap_or(i64::MAX);
        let out = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(&upload.key)
            .content_length(length)
            .checksum_sha256(aws_smithy_types::base64::encode(upload.sha256))
            .object_lock_mode(mode)
            .object_lock_retain_until_date(S3Time::from_secs(upload.retain_until.timestamp()))
            .object_lock_legal_hold_status(hold)
            .body(ByteStream::from_body_1_x(upload.body))
            .send()
            .await
            .map_err(|e| request("PUT", &upload.key, &e))?;
        out.version_id().map(str::to_string).ok_or_else(|| ReplicaError::Proof {
            key: upload.key.clone(),
            message: format!(
                "the server gave no version id: bucket {} must have versioning and Object Lock enabled",
                self.bucket
            ),
        })
    }

    /// HEADs a version (the latest when `version` is `None`); `None` when there is none.
    pub async fn head(
        &self,
        key: &str,
        version: Option<&str>,
    ) -> Result<Option<ObjectFacts>, ReplicaError> {
        let out = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .set_version_id(version.map(str::to_string))
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await;
        let out = match out {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => return Ok(None),
            Err(e) => return Err(request("HEAD", key, &e)),
        };
        Ok(Some(ObjectFacts {
            version: out.version_id().map(str::to_string),
            sha256_b64: out.checksum_sha256().map(str::to_string),
            size: out
                .content_length()
                .and_then(|n| u64::try_from(n).ok())
                .unwrap_or(0),
            mode: out.object_lock_mode().map(|m| m.as_str().to_string()),
            retain_until: out
                .object_lock_retain_until_date()
                .and_then(|t| DateTime::from_timestamp(t.secs(), 0)),
            legal_hold: out.object_lock_legal_hold_status() == Some(&ObjectLockLegalHoldStatus::On),
        }))
    }

    /// Reads a version back, hashing it (BLAKE3 and SHA-256) as it comes, and each of the
    /// parts `part_sizes` gives (SHA-256; none for a single PUT's object).
    pub async fn read(
        &self,
        key: &str,
        version: &str,
        part_sizes: &[u64],
    ) -> Result<(u64, Digests, Vec<[u8; 32]>), ReplicaError> {
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .version_id(version)
            .send()
            .await
            .map_err(|e| request("GET", key, &e))?;
        let mut body = out.body;
        let mut hasher = Hasher::new();
        let mut parts = PartSums::new(part_sizes);
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| ReplicaError::Request {
                operation: "GET",
                key: key.to_string(),
                message: DisplayErrorContext(&e).to_string(),
            })?;
            hasher.update(&chunk);
            parts.update(&chunk);
        }
        let size = hasher.len();
        Ok((size, hasher.finish(), parts.finish()))
    }

    /// The body of a version, as it comes.
    pub(super) async fn get(&self, key: &str, version: &str) -> Result<ByteStream, ReplicaError> {
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .version_id(version)
            .send()
            .await
            .map_err(|e| request("GET", key, &e))?;
        Ok(out.body)
    }

    /// Sets or clears the legal hold on a version.
    pub(crate) async fn set_legal_hold(
        &self,
        key: &str,
        version: &str,
        on: bool,
    ) -> Result<(), ReplicaError> {
        let status = if on {
            ObjectLockLegalHoldStatus::On
        } else {
            ObjectLockLegalHoldStatus::Off
        };
        self.client
            .put_object_legal_hold()
            .bucket(&self.bucket)
            .key(key)
            .version_id(version)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .legal_hold(ObjectLockLegalHold::builder().status(status).build())
            .send()
            .await
            .map_err(|e| request("legal hold", key, &e))?;
        Ok(())
    }

    /// Deletes one version (never with a governance bypass).
    pub(crate) async fn delete_version(
        &self,
        key: &str,
        version: &str,
    ) -> Result<(), ReplicaError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .version_id(version)
            .send()
            .await
            .map_err(|e| request("DELETE", key, &e))?;
        Ok(())
    }
}

/// SHA-256 of each part of a stream, the parts' sizes given.
struct PartSums<'a> {
    sizes: &'a [u64],
    left: u64,
    hasher: sha2::Sha256,
    sums: Vec<[u8; 32]>,
}

impl<'a> PartSums<'a> {
    fn new(sizes: &'a [u64]) -> PartSums<'a> {
        PartSums {
            left: sizes.first().copied().unwrap_or(0),
            sizes,
            hasher: sha2::Sha256::default(),
            sums: Vec::new(),
        }
    }

    fn update(&mut self, mut bytes: &[u8]) {
        use sha2::Digest;
        while !bytes.is_empty() && self.sums.len() < self.sizes.len() {
            let take = usize::try_from(self.left)
                .unwrap_or(usize::MAX)
                .min(bytes.len());
            self.hasher.update(&bytes[..take]);
            bytes = &bytes[take..];
            self.left -= take as u64;
            if self.left == 0 {
                let done = std::mem::take(&mut self.hasher);
                self.sums.push(done.finalize().into());
                self.left = self.sizes.get(self.sums.len()).copied().unwrap_or(0);
            }
        }
    }

    /// The sums of the parts read whole (a short stream leaves the last ones out).
    fn finish(self) -> Vec<[u8; 32]> {
        self.sums
    }
}

fn request<E, R>(
    operation: &'static str,
    key: &str,
    e: &aws_sdk_s3::error::SdkError<E, R>,
) -> ReplicaError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    ReplicaError::Request {
        operation,
        key: key.to_string(),
        message: DisplayErrorContext(e).to_string(),
    }
}
