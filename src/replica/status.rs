//! The replica in the status: where it goes, the backlog, the last problem.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::base::config::Config;
use crate::custody::register::Register;

use super::{Backlog, ReplicaQueue};

/// The replica as `sentinel-dockctl status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaStatus {
    /// The endpoint.
    pub endpoint: String,
    /// The bucket.
    pub bucket: String,
    /// What is still to replicate.
    pub backlog: Backlog,
    /// Recordings replicated and proven so far.
    pub replicated: u64,
    /// Why the replica cannot be used now, or the oldest pending attempt's error.
    pub problem: Option<String>,
}

impl ReplicaStatus {
    /// Read from the register after a pass (`problem`: the pass's own failure).
    pub(super) fn read(
        config: &Config,
        register: &mut Register,
        problem: Option<String>,
    ) -> Option<ReplicaStatus> {
        let tx = register.read().ok()?;
        let backlog = ReplicaQueue::backlog(&tx).ok()?;
        let replicated = crate::custody::register::replica::replicated_count(&tx).ok()?;
        drop(tx);
        let problem = problem.or_else(|| backlog.last_error.clone());
        Some(ReplicaStatus {
            endpoint: config.replica.endpoint.clone().unwrap_or_default(),
            bucket: config.replica.bucket.clone(),
            backlog,
            replicated: replicated.max(0) as u64,
            problem,
        })
    }

    /// A replica that cannot be set up (credentials, register).
    pub(super) fn unusable(config: &Config, problem: &str) -> ReplicaStatus {
        ReplicaStatus {
            endpoint: config.replica.endpoint.clone().unwrap_or_default(),
            bucket: config.replica.bucket.clone(),
            backlog: Backlog::default(),
            replicated: 0,
            problem: Some(problem.to_string()),
        }
    }

    /// A warning for the status, when the replica is behind or failing.
    pub fn warning(&self, now: DateTime<Utc>) -> Option<String> {
        let problem = self.problem.as_ref()?;
        let age = self
            .backlog
            .oldest
            .map(|t| format!(", the oldest queued {} min ago", (now - t).num_minutes()))
            .unwrap_or_default();
        Some(format!(
            "the replica (bucket {} at {}) is behind: {} recording(s) not yet proven{age}; last problem: {problem}",
            self.bucket, self.endpoint, self.backlog.recordings
        ))
    }

    /// The status's line: "replica bucket B at E: N replicated, backlog M (X bytes, oldest T)".
    pub fn line(&self) -> String {
        let b = &self.backlog;
        let oldest = b
            .oldest
            .map(|t| format!(", oldest queued {}", t.format("%Y-%m-%d %H:%M UTC")))
            .unwrap_or_default();
        format!(
            "replica bucket {} at {}: {} replicated, backlog {} ({}{oldest})\n",
            self.bucket,
            self.endpoint,
            self.replicated,
            b.recordings,
            crate::base::units::format_bytes(b.bytes)
        )
    }

    /// For the `STATUS=` line: the backlog, when there is one.
    pub fn summary(&self) -> Option<String> {
        (self.backlog.recordings > 0)
            .then(|| format!("replica backlog {}", self.backlog.recordings))
    }

    /// The backlog to the journal (when it changed).
    pub(super) fn log(&self) {
        let b = &self.backlog;
        tracing::info!(
            replica_backlog_recordings = b.recordings,
            replica_backlog_bytes = b.bytes,
            "replica backlog: {} recording(s), {} bytes, oldest queued {}; {} replicated",
            b.recordings,
            b.bytes,
            b.oldest
                .map(crate::custody::register::format_time)
                .unwrap_or_else(|| "-".into()),
            self.replicated
        );
    }
}
