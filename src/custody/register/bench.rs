//! One dock's register work as the ingest does it, for `scripts/bench --force`
//! (`examples/force_commits`): the ingest's own register calls (a session, then for each
//! recording `insert_discovered`, `record_stored` — the commit of a recording, with its
//! audit entry — and `record_state` wiped), so that the bench times the service's
//! transactions rather than a copy of their SQL. Not used by the service.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::{
    CameraIdentity, FileFacts, GpsSummary, RecordingState, Register, RegisterError, SessionId,
    StoredFacts,
};
use crate::base::digest::Digests;

/// A dock with one camera docked: its own connection, camera and ingest session.
pub struct BenchDock {
    register: Register,
    camera: String,
    session: SessionId,
    recordings: u32,
    start: DateTime<Utc>,
}

/// How long one recording's three transactions took.
#[derive(Debug, Clone, Copy)]
pub struct Commit {
    /// `insert_discovered`: the row in flight.
    pub discovered: Duration,
    /// `record_stored`: the commit of the proven copy and its audit entry.
    pub stored: Duration,
    /// `record_state` wiped, with its audit entry.
    pub wiped: Duration,
}

impl BenchDock {
    /// Docks `camera` (seen at `at`) on `register` and opens its ingest session.
    pub fn dock(
        mut register: Register,
        camera: &str,
        at: DateTime<Utc>,
    ) -> Result<BenchDock, RegisterError> {
        let identity = CameraIdentity {
            serial: camera.to_string(),
            model: Some("SENTINEL-BWC2".into()),
            firmware: Some("2.3.1".into()),
        };
        register.upsert_camera(&identity, at)?;
        let session = register.begin_session(camera, "bench", "sentinel-bwc2", at)?;
        Ok(BenchDock {
            register,
            camera: camera.to_string(),
            session,
            recordings: 0,
            start: at,
        })
    }

    /// Ingests the camera's next recording (a three-minute clip with its sidecar and
    /// GPS track), timing each of its transactions.
    pub fn ingest_next(&mut self) -> Result<Commit, RegisterError> {
        self.recordings += 1;
        let n = self.recordings;
        let start = self.start + chrono::Duration::seconds(i64::from(n) * 200);
        let stem = format!("{}_{}_{n:04}", self.camera, start.format("%Y%m%d_%H%M%S"));
        let t0 = Instant::now();
        let id = self.register.insert_discovered(
            self.session,
            &self.camera,
            &stem,
            start,
            Utc::now(),
        )?;
        let t1 = Instant::now();
        let facts = facts(&self.camera, &stem, start, n);
        self.register.record_stored(
            id,
            self.session,
            RecordingState::Confirmed,
            &facts,
            Utc::now(),
        )?;
        let t2 = Instant::now();
        self.register.record_state(
            id,
            self.session,
            RecordingState::Wiped,
            "removed from the camera",
            Utc::now(),
        )?;
        let t3 = Instant::now();
        Ok(Commit {
            discovered: t1 - t0,
            stored: t2 - t1,
            wiped: t3 - t2,
        })
    }

    /// Closes the session, as the ingest does when the camera is done.
    pub fn undock(mut self) -> Result<(), RegisterError> {
        self.register
            .finish_session(self.session, "complete", Utc::now())
    }
}

/// The facts of a proven three-minute recording: sizes, hashes and paths of the form the
/// ingest writes (the hashes are of the stem, so every recording's differ).
fn facts(camera: &str, stem: &str, start: DateTime<Utc>, n: u32) -> StoredFacts {
    let end = start + chrono::Duration::seconds(180);
    let folder = format!("recordings/{}/{camera}", start.format("%Y-%m-%d"));
    let file = |ext: &str, size: u64| {
        let name = format!("{stem}.{ext}");
        FileFacts {
            size,
            digests: Digests {
                blake3: *blake3::hash(name.as_bytes()).as_bytes(),
                sha256: *blake3::hash(format!("sha {name}").as_bytes()).as_bytes(),
            },
            path: format!("{folder}/{name}"),
        }
    };
    let offset = f64::from(n % 100) * 1e-4;
    StoredFacts {
        end: Some(end),
        prerecord_secs: Some(10),
        duration_secs: Some(190.04),
        video: Some(file("MP4", 175_000_000)),
        sidecar: Some(file("NMEA", 28_620)),
        gps: GpsSummary {
            fixes: 190,
            no_fix: 0,
            first: Some((start, 45.0434 + offset, 5.0517)),
            last: Some((end, 45.0440 + offset, 5.0521)),
            bbox: Some((45.0434 + offset, 45.0440 + offset, 5.0517, 5.0521)),
        },
        flags: Vec::new(),
        reasons: Vec::new(),
        clock: None,
    }
}
