//! The audit chain's head written to the bucket as a locked object, once a day and after
//! each extraction: an anchor outside the machine, as the journal is on it. A rewritten
//! register cannot match an anchor the bucket keeps under Object Lock.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::base::config::Config;
use crate::base::digest::Hasher;
use crate::custody::register::audit::{self, Action};
use crate::custody::register::replica::{self as table, AnchorRecord};
use crate::custody::register::{Register, format_time, parse_time};

use super::bucket::Upload;
use super::{Bucket, Proof, ReplicaError};

/// An anchored head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    /// The object's key.
    pub key: String,
    /// Its version.
    pub version: String,
    /// The head's sequence number.
    pub seq: i64,
    /// The head's hash.
    pub hash: String,
}

#[derive(Serialize)]
struct Body<'a> {
    format: &'static str,
    site: &'a str,
    at: String,
    occasion: &'a str,
    audit_seq: i64,
    audit_hash: &'a str,
    /// What `sentinel-dockctl audit verify --head` takes.
    head: String,
}

/// Writes the audit head now, locked for `retention.days`, proves it, and records it.
pub(crate) async fn anchor_head(
    bucket: &Bucket,
    config: &Config,
    register: &mut Register,
    now: DateTime<Utc>,
    occasion: &str,
) -> Result<Anchor, ReplicaError> {
    let head = register.read().and_then(|tx| audit::head(&tx))?;
    let body = Body {
        format: "sentinel-dock audit anchor v1",
        site: &config.replica.prefix,
        at: format_time(now),
        occasion,
        audit_seq: head.seq,
        audit_hash: &head.hash,
        head: head.to_string(),
    };
    let mut bytes = serde_json::to_vec_pretty(&body).map_err(|e| ReplicaError::Proof {
        key: "audit anchor".into(),
        message: e.to_string(),
    })?;
    bytes.push(b'\n');
    let key = bucket.key(&format!(
        "audit-anchors/{}-{}.json",
        now.format("%Y%m%dT%H%M%SZ"),
        head.seq
    ));
    let mut hasher = Hasher::new();
    hasher.update(&bytes);
    let digests = hasher.finish();
    let retain = now + Duration::days(i64::from(config.retention.days));
    let size = bytes.len() as u64;
    let version = bucket
        .put(Upload {
            body: bucket.memory_body(bytes, &key),
            key: key.clone(),
            length: size,
            sha256: digests.sha256,
            retain_until: retain,
            legal_hold: false,
        })
        .await?;
    Proof {
        key: key.clone(),
        version: version.clone(),
        size,
        digests,
        retain_until: retain,
    }
    .check(bucket, false)
    .await?;
    let tx = register.write()?;
    table::record_anchor(
        &tx,
        &AnchorRecord {
            at: now,
            occasion,
            audit_seq: head.seq,
            audit_hash: &head.hash,
            key: &key,
            version: &version,
        },
    )?;
    tx.commit()?;
    tracing::info!(
        audit_seq = head.seq,
        audit_hash = %head.hash,
        "audit chain head {head} anchored in bucket {} as {key} ({occasion})",
        bucket.name()
    );
    Ok(Anchor {
        key,
        version,
        seq: head.seq,
        hash: head.hash,
    })
}

/// What `anchor_if_due` did.
pub(super) enum Due {
    /// Nothing was due.
    Nothing,
    /// The head was anchored.
    Anchored(Anchor),
    /// It was due and failed (logged); retried later.
    Failed,
}

/// Anchors the head when a day has passed since the last anchor, or an extraction has
/// completed since; a failure is logged and retried later.
pub(super) async fn anchor_if_due(
    bucket: &Bucket,
    config: &Config,
    register: &mut Register,
    now: DateTime<Utc>,
) -> Result<Due, ReplicaError> {
    let (last, extraction) = {
        let tx = register.read()?;
        (
            table::last_anchor(&tx)?,
            audit::last_seq_of(&tx, Action::ExtractionCompleted)?,
        )
    };
    let occasion = match &last {
        None => "daily",
        Some((at, seq)) => {
            if extraction.is_some_and(|e| e > *seq) {
                "extraction"
            } else if parse_time(at).is_none_or(|at| at + Duration::days(1) <= now) {
                "daily"
            } else {
                return Ok(Due::Nothing);
            }
        }
    };
    match anchor_head(bucket, config, register, now, occasion).await {
        Ok(anchor) => Ok(Due::Anchored(anchor)),
        Err(ReplicaError::Register(e)) => Err(ReplicaError::Register(e)),
        Err(e) => {
            tracing::warn!(
                "the audit head could not be anchored in the bucket yet (retried later): {e}"
            );
            Ok(Due::Failed)
        }
    }
}
