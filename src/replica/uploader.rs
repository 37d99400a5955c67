//! The uploader: one pass takes the due recordings from the queue, uploads what the
//! replica lacks, proves it, and records it `replicated` with an audit entry; then it
//! makes the legal holds follow the register's holds, deletes the versions whose
//! retain-until has passed once the local purge has run, and anchors the audit head.
//! The daemon runs passes on its own thread (`UploaderThread`).

use std::cell::Cell;

use chrono::{DateTime, Utc};

use crate::base::config::Config;
use crate::base::digest::{Digests, Hasher};
use crate::base::error::chain;
use crate::custody::register::audit::{self, Action, NewEntry, SERVICE_AUTHOR};
use crate::custody::register::stored::{self, StoredRecording};
use crate::custody::register::{RecordingId, RecordingState, Register, format_time};

use super::Part;
use super::bucket::{FileUpload, Upload, composite, part_length, part_sums};
use super::proof::composite_count;
use super::{Bucket, Proof, QueueState, ReplicaError, ReplicaQueue, locks, manifest};

mod thread;

pub(crate) use thread::UploaderThread;

/// Recordings taken from the queue per pass.
pub(super) const PER_PASS: u32 = 8;
/// Seconds a failed anchor waits before the next try.
const ANCHOR_RETRY_SECS: i64 = 60;

/// What one pass did.
#[derive(Debug, Default)]
pub struct Pass {
    /// Recordings replicated and proven, by stem.
    pub replicated: Vec<String>,
    /// Recordings whose attempt failed, with why (retried later).
    pub failed: Vec<(String, String)>,
    /// Recordings whose retention ended before replication (nothing uploaded).
    pub expired: Vec<String>,
    /// Recordings whose legal hold was set or cleared.
    pub holds_synced: Vec<String>,
    /// Recordings whose versions were deleted after their retain-until.
    pub deleted: Vec<String>,
    /// The audit head anchored in this pass, if one was due.
    pub anchored: Option<super::Anchor>,
}

/// Replicates recordings to one bucket for one configuration.
pub struct Uploader<'a> {
    bucket: &'a Bucket,
    config: &'a Config,
    /// When a failed anchor may be tried again (kept by the caller across passes).
    anchor_retry: Option<&'a Cell<Option<DateTime<Utc>>>>,
}

impl<'a> Uploader<'a> {
    /// An uploader to `bucket` under `config`'s retention.
    pub fn new(bucket: &'a Bucket, config: &'a Config) -> Uploader<'a> {
        Uploader {
            bucket,
            config,
            anchor_retry: None,
        }
    }

    /// The same uploader, waiting `ANCHOR_RETRY` after a failed anchor (the daemon's).
    pub(crate) fn with_anchor_retry(
        mut self,
        retry: &'a Cell<Option<DateTime<Utc>>>,
    ) -> Uploader<'a> {
        self.anchor_retry = Some(retry);
        self
    }

    /// One pass at `now`: the due recordings, the holds, the expired versions, the anchor.
    /// A failing recording does not stop the others; a register failure stops the pass.
    pub async fn pass(
        &self,
        register: &mut Register,
        now: DateTime<Utc>,
    ) -> Result<Pass, ReplicaError> {
        let mut pass = Pass::default();
        for id in register
            .read()
            .and_then(|tx| ReplicaQueue::due(&tx, now, PER_PASS))?
        {
            let Some(row) = register.read().and_then(|tx| stored::by_id(&tx, id))? else {
                continue;
            };
            match self.replicate(register, &row, now).await {
                Ok(QueueState::Replicated) => pass.replicated.push(row.stem.clone()),
                Ok(_) => pass.expired.push(row.stem.clone()),
                Err(ReplicaError::Register(e)) => return Err(ReplicaError::Register(e)),
                Err(e) => {
                    let why = chain(&e);
                    let next = register.in_write(|tx| ReplicaQueue::failed(tx, id, now, &why))?;
                    tracing::warn!(
                        recording = %row.stem,
                        "the replica of {} is not proven yet, next attempt at {}: {why}",
                        row.stem,
                        format_time(next)
                    );
                    pass.failed.push((row.stem.clone(), why));
                }
            }
        }
        pass.holds_synced = self.sync_holds(register).await?;
        pass.deleted = self.delete_expired(register, now).await?;
        let anchor_waits = self
            .anchor_retry
            .and_then(Cell::get)
            .is_some_and(|at| now < at);
        if !anchor_waits {
            let anchored =
                super::anchor::anchor_if_due(self.bucket, self.config, register, now).await?;
            if let Some(retry) = self.anchor_retry {
                retry.set(match anchored {
                    super::anchor::Due::Failed => {
                        Some(now + chrono::Duration::seconds(ANCHOR_RETRY_SECS))
                    }
                    _ => None,
                });
            }
            if let super::anchor::Due::Anchored(anchor) = anchored {
                pass.anchored = Some(anchor);
            }
        }
        Ok(pass)
    }

    /// Uploads (or adopts) the three objects, proves them, records the recording replicated.
    async fn replicate(
        &self,
        register: &mut Register,
        row: &StoredRecording,
        now: DateTime<Utc>,
    ) -> Result<QueueState, ReplicaError> {
        let retain = locks::retain_until(row, self.config.retention.days);
        let stored_now = matches!(row.state, RecordingState::Confirmed | RecordingState::Wiped);
        if !stored_now || retain <= now {
            // A lock cannot end in the past, and a purged recording has nothing to copy.
            register.in_write(|tx| ReplicaQueue::set_state(tx, row.id, QueueState::Expired))?;
            tracing::info!(recording = %row.stem, "not replicated: its retention ended ({}) before its turn", format_time(retain));
            return Ok(QueueState::Expired);
        }
        let hold = register.read().and_then(|tx| locks::held(&tx, row))?;
        let mut proofs = Vec::new();
        let mut keys = [String::new(), String::new()];
        for (i, (part, facts)) in [(Part::Video, &row.video), (Part::Sidecar, &row.sidecar)]
            .into_iter()
            .enumerate()
        {
            let Some(facts) = facts else { continue };
            let key = self.bucket.key(&facts.path);
            keys[i] = key.clone();
            let path = self.config.store.path.join(&facts.path);
            let version = self
                .put_once(
                    register,
                    row.id,
                    part,
                    &key,
                    facts.size,
                    facts.digests,
                    retain,
                    hold,
                    Source::File(&path),
                )
                .await?;
            proofs.push(Proof {
                key,
                version,
                size: facts.size,
                digests: facts.digests,
                retain_until: retain,
            });
        }
        let bytes = manifest::manifest(
            &register.read()?,
            &self.config.replica.prefix,
            row,
            [&keys[0], &keys[1]],
            retain,
        )?;
        let key = self.bucket.key(&manifest_path(row));
        let digests = digests_of(&bytes);
        let size = bytes.len() as u64;
        let version = self
            .put_once(
                register,
                row.id,
                Part::Manifest,
                &key,
                size,
                digests,
                retain,
                hold,
                Source::Memory(&bytes),
            )
            .await?;
        proofs.push(Proof {
            key,
            version,
            size,
            digests,
            retain_until: retain,
        });
        for proof in &proofs {
            proof.check(self.bucket, false).await?;
        }
        // A hold placed since the PUT (or an adopted version's) is set now; the trigger
        // also marked the row, so the next pass checks it again.
        for proof in &proofs {
            let on = self
                .bucket
                .head(&proof.key, Some(&proof.version))
                .await?
                .is_some_and(|f| f.legal_hold);
            if on != hold {
                self.bucket
                    .set_legal_hold(&proof.key, &proof.version, hold)
                    .await?;
            }
        }
        self.record_replicated(register, row, &proofs, retain, hold, now)?;
        Ok(QueueState::Replicated)
    }

    /// The version of `key` holding these bytes: the one an earlier attempt wrote (kept in
    /// the queue, or found as the latest version after a crash before that was kept), else
    /// a new PUT. So nothing is uploaded twice under a new version without reason.
    #[allow(clippy::too_many_arguments)]
    async fn put_once(
        &self,
        register: &mut Register,
        id: RecordingId,
        part: Part,
        key: &str,
        size: u64,
        digests: Digests,
        retain: DateTime<Utc>,
        hold: bool,
        source: Source<'_>,
    ) -> Result<String, ReplicaError> {
        let want = aws_smithy_types::base64::encode(digests.sha256);
        let part_size = self.config.replica.part_size.0;
        let multipart = match source {
            Source::File(path) if size > part_size => Some(FileUpload {
                key: key.to_string(),
                path: path.to_path_buf(),
                length: size,
                part_len: part_length(size, part_size),
                retain_until: retain,
                legal_hold: hold,
            }),
            _ => None,
        };
        let kept = register
            .read()
            .and_then(|tx| ReplicaQueue::row(&tx, id))?
            .and_then(|q| q.object(part).cloned())
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v);
        let found = match &kept {
            Some(v) => self.bucket.head(key, Some(v)).await?,
            None => self.bucket.head(key, None).await?,
        };
        let found = found.filter(|f| f.size == size);
        let sum = found.as_ref().and_then(|f| f.sha256_b64.clone());
        let same = match (&sum, &multipart) {
            (Some(sum), _) if *sum == want => true,
            // An earlier attempt's multipart version: the same parts of the same bytes.
            (Some(sum), Some(m)) if composite_count(sum) == Some(size.div_ceil(m.part_len)) => {
                composite(&part_sums(&m.path, size, m.part_len)?) == *sum
            }
            _ => false,
        };
        if let Some(version) = found.filter(|_| same).and_then(|f| f.version) {
            register.in_write(|tx| ReplicaQueue::wrote(tx, id, part, key, &version))?;
            return Ok(version);
        }
        let version = match (multipart, source) {
            (Some(m), _) => {
                if m.part_len > part_size {
                    tracing::warn!(
                        "{key}: {size} bytes would take more than 10,000 parts of replica.part_size ({part_size} bytes), S3's limit: sent in {} parts of {} bytes",
                        size.div_ceil(m.part_len),
                        m.part_len
                    );
                }
                self.bucket.put_multipart(&m).await?
            }
            (None, source) => {
                let body = match source {
                    Source::File(path) => self.bucket.file_body(path, size, key)?,
                    Source::Memory(bytes) => self.bucket.memory_body(bytes.to_vec(), key),
                };
                self.bucket
                    .put(Upload {
                        key: key.to_string(),
                        body,
                        length: size,
                        sha256: digests.sha256,
                        retain_until: retain,
                        legal_hold: hold,
                    })
                    .await?
            }
        };
        register.in_write(|tx| ReplicaQueue::wrote(tx, id, part, key, &version))?;
        Ok(version)
    }

    fn record_replicated(
        &self,
        register: &mut Register,
        row: &StoredRecording,
        proofs: &[Proof],
        retain: DateTime<Utc>,
        hold: bool,
        now: DateTime<Utc>,
    ) -> Result<(), ReplicaError> {
        let objects: Vec<String> = proofs
            .iter()
            .map(|p| {
                format!(
                    "{} version {} SHA-256 {}",
                    p.key,
                    p.version,
                    p.digests.sha256_hex()
                )
            })
            .collect();
        let details = format!(
            "replicated to bucket {}: {}; {} until {}; legal hold {}; proven by HEAD checksum and read-back (BLAKE3, SHA-256)",
            self.bucket.name(),
            objects.join("; "),
            self.bucket.mode().as_s3(),
            format_time(retain),
            if hold { "on" } else { "off" }
        );
        let tx = register.write()?;
        ReplicaQueue::replicated(&tx, row.id, retain, hold, now)?;
        audit::append(
            &tx,
            &NewEntry::new(SERVICE_AUTHOR, Action::Replication, details)
                .about(std::slice::from_ref(&row.stem)),
            now,
        )?;
        tx.commit()?;
        tracing::info!(recording = %row.stem, bucket = %self.bucket.name(), "replica of {} proven in bucket {}", row.stem, self.bucket.name());
        Ok(())
    }

    /// Sets or clears the legal hold on every version of the recordings whose holds changed.
    async fn sync_holds(&self, register: &mut Register) -> Result<Vec<String>, ReplicaError> {
        let mut synced = Vec::new();
        for id in register
            .read()
            .and_then(|tx| ReplicaQueue::dirty_locks(&tx))?
        {
            let found = {
                let tx = register.read()?;
                (stored::by_id(&tx, id)?, ReplicaQueue::row(&tx, id)?)
            };
            let (Some(row), Some(q)) = found else {
                continue;
            };
            let hold = register.read().and_then(|tx| locks::held(&tx, &row))?;
            let mut done = true;
            for (key, version) in q.objects.iter().flatten() {
                if let Err(e) = self.bucket.set_legal_hold(key, version, hold).await {
                    tracing::warn!(recording = %row.stem, "the replica's legal hold could not follow the hold yet (retried at the next pass): {e}");
                    done = false;
                    break;
                }
            }
            if done {
                register.in_write(|tx| ReplicaQueue::locks_synced(tx, id, hold))?;
                tracing::info!(recording = %row.stem, "replica legal hold {} on {} version(s)", if hold { "set" } else { "cleared" }, q.objects.iter().flatten().count());
                synced.push(row.stem);
            }
        }
        Ok(synced)
    }

    /// Deletes the versions of purged recordings whose retain-until has passed; never
    /// before (a COMPLIANCE object cannot be deleted, and this code does not try).
    async fn delete_expired(
        &self,
        register: &mut Register,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, ReplicaError> {
        let mut deleted = Vec::new();
        for id in register
            .read()
            .and_then(|tx| ReplicaQueue::deletable(&tx, now))?
        {
            let found = {
                let tx = register.read()?;
                (stored::by_id(&tx, id)?, ReplicaQueue::row(&tx, id)?)
            };
            let (Some(row), Some(q)) = found else {
                continue;
            };
            if q.retain_until.is_none_or(|t| t > now) {
                continue;
            }
            let mut gone = Vec::new();
            let mut failed = None;
            for (key, version) in q.objects.iter().flatten() {
                match self.bucket.delete_version(key, version).await {
                    Ok(()) => gone.push(format!("{key} version {version}")),
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
            let tx = register.write()?;
            if failed.is_none() {
                ReplicaQueue::set_state(&tx, id, QueueState::Deleted)?;
            }
            if !gone.is_empty() {
                let details = format!(
                    "replica versions deleted from bucket {} after their retain-until {}: {}",
                    self.bucket.name(),
                    q.retain_until.map(format_time).unwrap_or_default(),
                    gone.join("; ")
                );
                audit::append(
                    &tx,
                    &NewEntry::new(SERVICE_AUTHOR, Action::ReplicaDeletion, details)
                        .about(std::slice::from_ref(&row.stem)),
                    now,
                )?;
            }
            tx.commit()?;
            match failed {
                Some(e) => {
                    tracing::warn!(recording = %row.stem, "a replica version could not be deleted (retried at the next pass): {e}")
                }
                None => {
                    tracing::info!(recording = %row.stem, "replica versions of {} deleted after their retain-until", row.stem);
                    deleted.push(row.stem);
                }
            }
        }
        Ok(deleted)
    }
}

/// Where an object's bytes come from.
#[derive(Clone, Copy)]
enum Source<'b> {
    /// A stored file (in parts above `[replica] part_size`).
    File(&'b std::path::Path),
    /// Bytes made here (a manifest).
    Memory(&'b [u8]),
}

/// The manifest's place: beside the video, `<stem>.manifest.json`.
fn manifest_path(row: &StoredRecording) -> String {
    let dir = row
        .video
        .as_ref()
        .and_then(|v| v.path.rsplit_once('/').map(|(d, _)| d.to_string()))
        .unwrap_or_else(|| row.camera.clone());
    format!("{dir}/{}.manifest.json", row.stem)
}

fn digests_of(bytes: &[u8]) -> Digests {
    let mut hasher = Hasher::new();
    hasher.update(bytes);
    hasher.finish()
}
