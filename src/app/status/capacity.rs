//! The store's free space, and how many days it lasts at the recent ingest rate.

use std::path::Path;

use chrono::{DateTime, Duration, Utc};

use super::StoreStatus;
use crate::custody::register::StoredSince;

/// The window the ingest rate is averaged over.
pub(crate) const WINDOW_DAYS: i64 = 30;

/// The store's status from its free space (`Store::free_bytes`) and what the register
/// holds for the last [`WINDOW_DAYS`] days (`Register::stored_since`), or why either failed.
pub(crate) fn store_status(
    root: &Path,
    reserve: u64,
    free: Result<u64, String>,
    stored: Result<StoredSince, String>,
    now: DateTime<Utc>,
) -> StoreStatus {
    let mut status = StoreStatus {
        path: root.to_path_buf(),
        reserve_bytes: reserve,
        ..StoreStatus::default()
    };
    let mut errors = Vec::new();
    match free {
        Ok(free) => status.free_bytes = Some(free),
        Err(e) => errors.push(e),
    }
    match stored {
        Ok(stored) => {
            status.recent_bytes = stored.bytes;
            status.bytes_per_day = bytes_per_day(stored, now);
        }
        Err(e) => errors.push(format!("cannot read the recent ingest rate: {e}")),
    }
    if let (Some(free), Some(rate)) = (status.free_bytes, status.bytes_per_day) {
        status.days_left = Some(free.saturating_sub(reserve) / rate.max(1));
    }
    if !errors.is_empty() {
        status.error = Some(errors.join("; "));
    }
    status
}

/// The average over the window, or over the days since the first recording in it when the
/// register is younger (at least one day, so that a first docking does not look like a flood).
fn bytes_per_day(stored: StoredSince, now: DateTime<Utc>) -> Option<u64> {
    let first = stored.first?;
    if stored.bytes == 0 {
        return None;
    }
    let span = (now - first).clamp(Duration::days(1), Duration::days(WINDOW_DAYS));
    let days = span.num_seconds() as f64 / 86_400.0;
    Some((stored.bytes as f64 / days).ceil() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn the_rate_is_averaged_over_the_days_actually_covered() {
        let now = at("2026-11-30T00:00:00Z");
        let ten_days = StoredSince {
            bytes: 10_000,
            first: Some(at("2026-11-20T00:00:00Z")),
        };
        assert_eq!(bytes_per_day(ten_days, now), Some(1_000));
        let an_hour = StoredSince {
            bytes: 500,
            first: Some(at("2026-11-29T23:00:00Z")),
        };
        assert_eq!(bytes_per_day(an_hour, now), Some(500), "at least one day");
        let nothing = StoredSince {
            bytes: 0,
            first: None,
        };
        assert_eq!(bytes_per_day(nothing, now), None);
    }

    #[test]
    fn days_left_count_the_free_space_above_the_reserve() {
        let now = at("2026-11-30T00:00:00Z");
        let root = Path::new("/srv/store");
        let stored = StoredSince {
            bytes: 30 << 20,
            first: Some(at("2026-10-31T00:00:00Z")),
        };
        let s = store_status(root, 10 << 20, Ok(110 << 20), Ok(stored), now);
        assert_eq!(s.bytes_per_day, Some(1 << 20));
        assert_eq!(s.days_left, Some(100));
        let full = store_status(root, 200 << 20, Ok(110 << 20), Ok(stored), now);
        assert_eq!(full.days_left, Some(0));
        let broken = store_status(
            root,
            0,
            Err("no free space".into()),
            Err("locked".into()),
            now,
        );
        assert_eq!(broken.days_left, None);
        let error = broken.error.unwrap();
        assert!(
            error.contains("free space") && error.contains("locked"),
            "{error}"
        );
    }
}
