//! The scrub of the replica: every replicated object's version HEADed (checksum, size,
//! lock) against the register, and with `--read-data` read back and hashed too. Its
//! outcome is an audit entry and the scrub's reply.

use chrono::{DateTime, Utc};

use crate::custody::register::audit::{self, Action, NewEntry};
use crate::custody::register::stored;
use crate::custody::register::{RecordingId, Register};

use super::Part;
use super::{Bucket, Proof, ReplicaError, ReplicaQueue};

/// What a replica scrub found.
#[derive(Debug, Default)]
pub struct ReplicaScrub {
    /// Object versions checked.
    pub checked: u64,
    /// Whether they were read back (`--read-data`) or only HEADed.
    pub read_data: bool,
    /// Each problem: recording, key, what differs.
    pub problems: Vec<(String, String, String)>,
}

impl ReplicaScrub {
    /// One line for the scrub's reply.
    pub fn summary(&self, bucket: &str) -> String {
        let how = if self.read_data {
            "HEAD and read-back"
        } else {
            "HEAD (checksum, size, lock; --read-data reads them back)"
        };
        let mut text = format!(
            "replica bucket {bucket}: {} object version(s) checked by {how}, {} problem(s)\n",
            self.checked,
            self.problems.len()
        );
        for (stem, key, why) in &self.problems {
            text.push_str(&format!("  {stem}: {key}: {why}\n"));
        }
        text
    }
}

/// Checks every replicated recording's objects, then traces the outcome.
pub async fn scrub_replica(
    bucket: &Bucket,
    register: &mut Register,
    read_data: bool,
    author: &str,
    now: DateTime<Utc>,
) -> Result<ReplicaScrub, ReplicaError> {
    let ids: Vec<RecordingId> = register
        .read()
        .and_then(|tx| crate::custody::register::replica::replicated_recordings(&tx))?;
    let mut found = ReplicaScrub {
        read_data,
        ..ReplicaScrub::default()
    };
    for id in ids {
        let rows = {
            let tx = register.read()?;
            (stored::by_id(&tx, id)?, ReplicaQueue::row(&tx, id)?)
        };
        let (Some(row), Some(q)) = rows else {
            continue;
        };
        let retain = q.retain_until.unwrap_or(now);
        for (part, facts) in [(Part::Video, &row.video), (Part::Sidecar, &row.sidecar)] {
            let (Some((key, version)), Some(facts)) = (q.object(part), facts) else {
                continue;
            };
            let proof = Proof {
                key: key.clone(),
                version: version.clone(),
                size: facts.size,
                digests: facts.digests,
                retain_until: retain,
            };
            found.checked += 1;
            if let Err(e) = proof.check(bucket, !read_data).await {
                found
                    .problems
                    .push((row.stem.clone(), key.clone(), e.to_string()));
            }
        }
        if let Some((key, version)) = q.object(Part::Manifest) {
            found.checked += 1;
            match bucket.head(key, Some(version)).await {
                Ok(Some(f)) if f.sha256_b64.is_some() => {}
                Ok(_) => found.problems.push((
                    row.stem.clone(),
                    key.clone(),
                    format!("version {version} is missing or has no checksum"),
                )),
                Err(e) => found
                    .problems
                    .push((row.stem.clone(), key.clone(), e.to_string())),
            }
        }
    }
    for (stem, key, why) in &found.problems {
        tracing::error!(recording = %stem, "replica scrub: {key}: {why}");
    }
    let details = found.summary(bucket.name());
    let stems: Vec<String> = found.problems.iter().map(|p| p.0.clone()).collect();
    let tx = register.write()?;
    audit::append(
        &tx,
        &NewEntry::new(
            author,
            Action::ReplicaScrub,
            format!("scrub of the {details}"),
        )
        .about(&stems),
        now,
    )?;
    tx.commit()?;
    Ok(found)
}
