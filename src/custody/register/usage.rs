//! How much the store has taken in lately: the basis of "how many days the store lasts".

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::{Register, RegisterError, format_time};

/// Bytes stored from cameras since a moment, and when the first of them was discovered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StoredSince {
    /// Video and sidecar bytes of the recordings stored (confirmed, quarantined or wiped).
    pub bytes: u64,
    /// When the earliest of those recordings was discovered; `None` when there are none.
    pub first: Option<DateTime<Utc>>,
}

/// Read from the index `recordings_by_discovery`: the supervisor asks it for the status, on
/// its own loop, so it must not read a million rows. This site's store only (`site()`):
/// a force's docks share the register, each has its own store.
pub(crate) const STORED_SINCE: &str =
    "SELECT coalesce(sum(coalesce(video_size, 0) + coalesce(sidecar_size, 0)), 0),
            min(discovered_at)
     FROM recordings
     WHERE discovered_at >= ?1 AND state IN ('confirmed', 'quarantined', 'wiped')
       AND site = site()";

impl Register {
    /// The bytes of the recordings discovered at or after `since` that reached the store.
    pub(crate) fn stored_since(&self, since: DateTime<Utc>) -> Result<StoredSince, RegisterError> {
        let (bytes, first): (i64, Option<String>) =
            self.conn
                .query_row(STORED_SINCE, params![format_time(since)], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?;
        let first = match first {
            Some(text) => {
                Some(
                    text.parse::<DateTime<Utc>>()
                        .map_err(|_| RegisterError::Corrupt {
                            table: "recordings",
                            id: 0,
                            column: "discovered_at",
                            value: text.clone(),
                        })?,
                )
            }
            None => None,
        };
        Ok(StoredSince {
            bytes: u64::try_from(bytes).unwrap_or(0),
            first,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::digest::Hasher;
    use crate::custody::register::{CameraIdentity, FileFacts, RecordingState, StoredFacts};

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().expect("test time")
    }

    fn stored(size: u64) -> StoredFacts {
        StoredFacts {
            end: None,
            prerecord_secs: None,
            duration_secs: None,
            video: Some(FileFacts {
                size,
                digests: Hasher::new().finish(),
                path: "v".into(),
            }),
            sidecar: None,
            gps: Default::default(),
            flags: vec![],
            reasons: vec![],
            clock: None,
        }
    }

    #[test]
    fn only_stored_recordings_inside_the_window_count() {
        let dir = tempfile::tempdir().unwrap();
        let mut reg =
            crate::custody::register::testing::open_at(&dir.path().join("r.sqlite")).unwrap();
        let camera = CameraIdentity {
            serial: "S".into(),
            ..Default::default()
        };
        let old = at("2026-01-01T00:00:00Z");
        let recent = at("2026-11-20T00:00:00Z");
        reg.upsert_camera(&camera, old).unwrap();
        let s = reg.begin_session("S", "src", "p", old).unwrap();
        for (stem, when, size, state) in [
            ("a", old, 1000, RecordingState::Wiped),
            ("b", recent, 300, RecordingState::Confirmed),
            ("c", recent, 200, RecordingState::Quarantined),
            ("d", recent, 0, RecordingState::Discovered),
        ] {
            let id = reg.insert_discovered(s, "S", stem, when, when).unwrap();
            // The state machine: a wiped recording was confirmed first.
            let stored_as = match state {
                RecordingState::Wiped => RecordingState::Confirmed,
                other => other,
            };
            if state != RecordingState::Discovered {
                reg.record_stored(id, s, stored_as, &stored(size), when)
                    .unwrap();
            }
            if state == RecordingState::Wiped {
                reg.record_state(id, s, state, "", when).unwrap();
            }
        }
        let got = reg.stored_since(at("2026-11-01T00:00:00Z")).unwrap();
        assert_eq!(got.bytes, 500);
        assert_eq!(got.first, Some(recent));
        let none = reg.stored_since(at("2026-12-01T00:00:00Z")).unwrap();
        assert_eq!(
            none,
            StoredSince {
                bytes: 0,
                first: None
            }
        );
    }
}
