//! The locks: retain-until from the recording's trusted end and `retention.days`, and the legal
//! hold while any hold of the register stands.

use chrono::{DateTime, Duration, Utc};

use crate::custody::register::stored::StoredRecording;
use crate::custody::register::{RegisterError, Tx, holds};

/// The time retention counts from: the trusted end (`evidence::trusted_time`), as the
/// local purge counts it, so that a camera's wrong clock can never unlock a replica early.
pub(crate) fn retention_base(row: &StoredRecording) -> DateTime<Utc> {
    row.retention_from.or(row.end).unwrap_or(row.start)
}

/// When the replica's lock ends: the retention base plus `retention.days`.
pub(crate) fn retain_until(row: &StoredRecording, retention_days: u32) -> DateTime<Utc> {
    retention_base(row) + Duration::days(i64::from(retention_days))
}

/// Whether any hold stands on the recording.
pub(super) fn held(conn: &Tx<'_>, row: &StoredRecording) -> Result<bool, RegisterError> {
    Ok(!holds::active(conn, row.id)?.is_empty())
}
