//! Multipart upload, for a file larger than `[replica] part_size` (one PUT stops at 5 GiB):
//! each part hashed from the stored file, then sent with its SHA-256, which the server
//! checks; the upload created with the same lock and legal hold as a single PUT; aborted
//! on any failure, so that no orphan part is left (a crash leaves one: the next attempt
//! aborts the key's stale uploads first). The server's checksum of the whole is then the
//! SHA-256 of the parts' SHA-256s with `-N` (S3's "composite"), checked on completion; the
//! proof reads the object back against the register as for a single PUT.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use aws_sdk_s3::primitives::{ByteStream, DateTime as S3Time};
use aws_sdk_s3::types::{ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::{Bucket, request};
use crate::base::config::{MAX_PART, MIN_PART};
use crate::replica::ReplicaError;

/// S3's most parts in one upload.
pub(crate) const MAX_PARTS: u64 = 10_000;

/// Bytes hashed per read.
const READ: usize = 1 << 20;

/// The part length for a file of `size` bytes: `part_size`, or, when 10,000 parts of it
/// would not hold the file, the smallest whole number of MiB that does.
pub(crate) fn part_length(size: u64, part_size: u64) -> u64 {
    let least = size.div_ceil(MAX_PARTS);
    if least <= part_size {
        part_size.max(MIN_PART)
    } else {
        least.div_ceil(1 << 20) << 20
    }
}

/// The checksum S3 reports for an object uploaded in these parts: base64 of the SHA-256
/// of the parts' SHA-256s, then `-` and the number of parts.
pub fn composite(parts: &[[u8; 32]]) -> String {
    let mut outer = Sha256::new();
    for part in parts {
        outer.update(part);
    }
    let sum: [u8; 32] = outer.finalize().into();
    format!("{}-{}", aws_smithy_types::base64::encode(sum), parts.len())
}

/// The SHA-256 of each `part_len` slice of the first `size` bytes of `path`.
pub(crate) fn part_sums(
    path: &Path,
    size: u64,
    part_len: u64,
) -> Result<Vec<[u8; 32]>, ReplicaError> {
    let fail = |source| ReplicaError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(fail)?;
    let mut sums = Vec::new();
    let mut start = 0;
    while start < size {
        let len = part_len.min(size - start);
        sums.push(hash_range(&mut file, start, len).map_err(fail)?);
        start += len;
    }
    Ok(sums)
}

fn hash_range(file: &mut File, start: u64, len: u64) -> std::io::Result<[u8; 32]> {
    file.seek(SeekFrom::Start(start))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0; READ];
    let mut left = len;
    while left > 0 {
        let want = usize::try_from(left).unwrap_or(READ).min(READ);
        let n = file.read(&mut buf[..want])?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!(
                    "the stored file ended before byte {}, the register says it is longer",
                    start + len - left
                ),
            ));
        }
        hasher.update(&buf[..n]);
        left -= n as u64;
    }
    Ok(hasher.finalize().into())
}

/// A stored file to upload in parts.
pub(in crate::replica) struct FileUpload {
    /// The object's key.
    pub key: String,
    /// The stored file.
    pub path: PathBuf,
    /// Its length, from the register.
    pub length: u64,
    /// The length of every part but the last.
    pub part_len: u64,
    /// The lock's retain-until.
    pub retain_until: DateTime<Utc>,
    /// Whether a legal hold goes on at once.
    pub legal_hold: bool,
}

impl Bucket {
    /// Uploads `upload` in parts under a lock; its version id. Aborted on any failure.
    pub(in crate::replica) async fn put_multipart(
        &self,
        upload: &FileUpload,
    ) -> Result<String, ReplicaError> {
        if upload.part_len > MAX_PART || upload.length.div_ceil(upload.part_len) > MAX_PARTS {
            return Err(ReplicaError::Proof {
                key: upload.key.clone(),
                message: format!(
                    "{} bytes do not fit in 10,000 parts of at most 5 GiB (S3's limits); the recording stays stored locally",
                    upload.length
                ),
            });
        }
        self.abort_stale(&upload.key).await?;
        let (mode, hold) = self.lock_headers(upload.legal_hold);
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(&upload.key)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .object_lock_mode(mode)
            .object_lock_retain_until_date(S3Time::from_secs(upload.retain_until.timestamp()))
            .object_lock_legal_hold_status(hold)
            .send()
            .await
            .map_err(|e| request("create multipart upload", &upload.key, &e))?;
        let id = created
            .upload_id()
            .ok_or_else(|| ReplicaError::Proof {
                key: upload.key.clone(),
                message: "the server gave no upload id for the multipart upload".to_string(),
            })?
            .to_string();
        match self.send_parts(upload, &id).await {
            Ok(version) => Ok(version),
            Err(e) => {
                // The parts already sent would otherwise stay in the bucket, billed and
                // invisible; a failed abort is retried by the next attempt's cleanup.
                if let Err(abort) = self.abort(&upload.key, &id).await {
                    tracing::warn!(
                        "the failed multipart upload of {} could not be aborted yet (the next attempt aborts it): {abort}",
                        upload.key
                    );
                }
                Err(e)
            }
        }
    }

    async fn send_parts(&self, upload: &FileUpload, id: &str) -> Result<String, ReplicaError> {
        let mut done = Vec::new();
        let mut sums = Vec::new();
        let mut start = 0;
        let mut file = File::open(&upload.path).map_err(|source| ReplicaError::Read {
            path: upload.path.clone(),
            source,
        })?;
        while start < upload.length {
            let len = upload.part_len.min(upload.length - start);
            let number = i32::try_from(done.len() + 1).unwrap_or(i32::MAX);
            let sum = hash_range(&mut file, start, len).map_err(|source| ReplicaError::Read {
                path: upload.path.clone(),
                source,
            })?;
            let sum_b64 = aws_smithy_types::base64::encode(sum);
            let body = self.file_range_body(&upload.path, start, len, &upload.key)?;
            let part = self
                .client
                .upload_part()
                .bucket(&self.bucket)
                .key(&upload.key)
                .upload_id(id)
                .part_number(number)
                .content_length(i64::try_from(len).unwrap_or(i64::MAX))
                .checksum_sha256(&sum_b64)
                .body(ByteStream::from_body_1_x(body))
                .send()
                .await
                .map_err(|e| {
                    request("upload part", &format!("{} part {number}", upload.key), &e)
                })?;
            done.push(
                CompletedPart::builder()
                    .part_number(number)
                    .set_e_tag(part.e_tag().map(str::to_string))
                    .checksum_sha256(sum_b64)
                    .build(),
            );
            sums.push(sum);
            start += len;
        }
        let out = self
            .client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(&upload.key)
            .upload_id(id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(done))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| request("complete multipart upload", &upload.key, &e))?;
        let want = composite(&sums);
        if let Some(got) = out.checksum_sha256()
            && got != want
        {
            return Err(ReplicaError::Proof {
                key: upload.key.clone(),
                message: format!(
                    "the server assembled parts whose checksum is {got}, the parts sent make {want}"
                ),
            });
        }
        let version = out.version_id().map(str::to_string).ok_or_else(|| ReplicaError::Proof {
            key: upload.key.clone(),
            message: format!(
                "the server gave no version id: bucket {} must have versioning and Object Lock enabled",
                self.bucket
            ),
        })?;
        tracing::info!(
            "{} uploaded in {} parts of {} bytes, each with its SHA-256",
            upload.key,
            sums.len(),
            upload.part_len
        );
        Ok(version)
    }

    /// Aborts the unfinished uploads an earlier attempt left under exactly `key`.
    async fn abort_stale(&self, key: &str) -> Result<(), ReplicaError> {
        let out = self
            .client
            .list_multipart_uploads()
            .bucket(&self.bucket)
            .prefix(key)
            .send()
            .await
            .map_err(|e| request("list multipart uploads", key, &e))?;
        for stale in out.uploads() {
            if let (Some(k), Some(id)) = (stale.key(), stale.upload_id())
                && k == key
            {
                self.abort(key, id).await?;
                tracing::info!(
                    "aborted the unfinished multipart upload {id} of {key} an earlier attempt left"
                );
            }
        }
        Ok(())
    }

    async fn abort(&self, key: &str, id: &str) -> Result<(), ReplicaError> {
        self.client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(id)
            .send()
            .await
            .map_err(|e| request("abort multipart upload", key, &e))?;
        Ok(())
    }

    /// The sizes of a version's parts (empty for a single PUT), from GetObjectAttributes.
    pub(crate) async fn part_sizes(
        &self,
        key: &str,
        version: &str,
    ) -> Result<Vec<u64>, ReplicaError> {
        let mut sizes = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let out = self
                .client
                .get_object_attributes()
                .bucket(&self.bucket)
                .key(key)
                .version_id(version)
                .object_attributes(aws_sdk_s3::types::ObjectAttributes::ObjectParts)
                .set_part_number_marker(marker.clone())
                .send()
                .await
                .map_err(|e| request("get object attributes", key, &e))?;
            let Some(parts) = out.object_parts() else {
                return Ok(sizes);
            };
            for part in parts.parts() {
                sizes.push(part.size().and_then(|n| u64::try_from(n).ok()).unwrap_or(0));
            }
            if parts.is_truncated() != Some(true) {
                return Ok(sizes);
            }
            marker = parts.next_part_number_marker().map(str::to_string);
            if marker.is_none() {
                return Ok(sizes);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_part_grows_only_when_ten_thousand_would_not_hold_the_file() {
        assert_eq!(part_length(12 << 20, 5 << 20), 5 << 20);
        assert_eq!(part_length(600 << 30, 64 << 20), 64 << 20);
        // 1 TiB in 64 MiB parts would take 16,384 parts: 105 MiB parts take 9,987.
        let big = part_length(1 << 40, 64 << 20);
        assert_eq!(big, 105 << 20);
        assert!((1u64 << 40).div_ceil(big) <= MAX_PARTS);
    }

    #[test]
    fn the_composite_checksum_is_s3s() {
        // S3's documented form: base64(SHA-256(part sums concatenated)) "-" count; checked
        // against SeaweedFS for 12 MiB in 5 MiB parts when written.
        let a: [u8; 32] = Sha256::digest(b"a").into();
        let b: [u8; 32] = Sha256::digest(b"b").into();
        let mut both = a.to_vec();
        both.extend_from_slice(&b);
        let want: [u8; 32] = Sha256::digest(&both).into();
        assert_eq!(
            composite(&[a, b]),
            format!("{}-2", aws_smithy_types::base64::encode(want))
        );
    }
}
