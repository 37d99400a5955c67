//! The ingest's side of the camera clock check: each recording's trusted time from
//! `evidence::trusted_time`, and at the end of the docking the camera's clock measured,
//! recorded in the register and told to the journal and the status.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};

use crate::base::config::Config;
use crate::base::events;
use crate::camera::evidence::SidecarReport;
use crate::camera::evidence::trusted_time::{
    self, CameraClock, LowerBound, Observed, Rules, TimeSource, TrustedTime,
};
use crate::custody::register::{Register, SessionId};

use super::IngestError;
use super::discover::Candidate;

/// One docking's clock check, filled in as its recordings are read.
pub(super) struct ClockCheck {
    /// The docking on the service's clock: the session's start.
    docked_at: DateTime<Utc>,
    /// `ingest.clock_tolerance`.
    tolerance: Duration,
    /// `retention.days`.
    retention: Duration,
    /// The best lower bound on when the camera's new recordings were made.
    lower_bound: Option<LowerBound>,
    /// The stems of the recordings the register had no row of at this docking: only they
    /// are checked against `lower_bound`.
    new_to_register: RefCell<BTreeSet<String>>,
    /// The trusted times of the recordings read at this docking, by stem (a copy taken
    /// again replaces its first). Filled while reading, so that a recording without fixes
    /// can lean on a camera clock already checked against GPS at this docking.
    clocks: RefCell<BTreeMap<String, TrustedTime>>,
}

impl ClockCheck {
    /// The check of a camera docked at `docked_at`, whose new recordings were made after
    /// `lower_bound` (`register::bounds`, read once at the start of the ingest).
    pub(super) fn new(
        config: &Config,
        docked_at: DateTime<Utc>,
        lower_bound: Option<LowerBound>,
    ) -> ClockCheck {
        let secs = |s: u64| {
            Duration::try_seconds(i64::try_from(s).unwrap_or(i64::MAX)).unwrap_or(Duration::MAX)
        };
        ClockCheck {
            docked_at,
            tolerance: secs(config.ingest.clock_tolerance.0),
            retention: Duration::days(i64::from(config.retention.days)),
            lower_bound,
            new_to_register: RefCell::default(),
            clocks: RefCell::default(),
        }
    }

    /// The lower bound the camera's new recordings are checked against.
    pub(super) fn lower_bound(&self) -> Option<LowerBound> {
        self.lower_bound
    }

    /// Notes a recording the register had no row of at this docking.
    pub(super) fn new_to_register(&self, stem: String) {
        self.new_to_register.borrow_mut().insert(stem);
    }

    /// What this recording's times are checked against; `stem` is `None` for the camera as
    /// a whole.
    fn rules(&self, stem: Option<&str>) -> Rules {
        let verified_until = self
            .clocks
            .borrow()
            .values()
            .filter(|c| c.source == TimeSource::Camera && c.gps_offset.is_some())
            .map(|c| c.retention_from)
            .max();
        Rules {
            docked_at: self.docked_at,
            tolerance: self.tolerance,
            retention: self.retention,
            verified_until,
            // A recording already registered at an earlier docking (quarantined and left
            // on the camera, say) keeps its earlier treatment.
            lower_bound: stem
                .filter(|s| self.new_to_register.borrow().contains(*s))
                .and(self.lower_bound),
        }
    }

    /// Keeps a recording's trusted time for the camera's clock at the end of the docking.
    pub(super) fn note(&self, stem: String, clock: &TrustedTime) {
        self.clocks.borrow_mut().insert(stem, clock.clone());
    }

    /// The time this recording's retention counts from.
    pub(super) fn trusted_time(
        &self,
        candidate: &Candidate,
        sidecar: Option<&SidecarReport>,
    ) -> TrustedTime {
        let seen = Observed::from_sidecar(candidate.name.start, sidecar);
        let stem = candidate.name.stem();
        trusted_time::check(&seen, &self.rules(Some(&stem)))
    }

    /// Measures the camera's clock from the recordings stored at this docking, records it in
    /// the register, and logs a wrong clock; its warning goes to the camera's report.
    pub(super) fn conclude(
        &self,
        register: &mut Register,
        session: SessionId,
        serial: &str,
    ) -> Result<Option<CameraClock>, IngestError> {
        let checks: Vec<TrustedTime> = self.clocks.borrow().values().cloned().collect();
        let Some(clock) = trusted_time::camera_clock(serial, &checks, &self.rules(None)) else {
            return Ok(None);
        };
        register.record_camera_clock(session, &clock)?;
        if let Some(warning) = clock.warning() {
            tracing::warn!(
                message_id = events::CAMERA_CLOCK.id,
                event = events::CAMERA_CLOCK.name,
                camera_serial = %serial,
                clock_offset_secs = clock.offset_secs,
                clock_offset_basis = clock.basis.as_str(),
                "{warning}"
            );
        }
        Ok(Some(clock))
    }
}
