//! The ingest's side of the camera clock check: each recording's trusted time from
//! `evidence::trusted_time`, and at the end of the docking the camera's clock measured,
//! recorded in the register and told to the journal and the status.

use chrono::Duration;

use crate::base::events;
use crate::camera::evidence::SidecarReport;
use crate::camera::evidence::trusted_time::{
    self, CameraClock, Observed, Rules, TimeSource, TrustedTime,
};

use super::discover::Candidate;
use super::{IngestError, Session};

impl Session<'_> {
    /// What this recording's times are checked against; `stem` is `None` for the camera as
    /// a whole.
    fn clock_rules(&self, stem: Option<&str>) -> Rules {
        let secs = |s: u64| {
            Duration::try_seconds(i64::try_from(s).unwrap_or(i64::MAX)).unwrap_or(Duration::MAX)
        };
        let verified_until = self
            .clocks
            .borrow()
            .values()
            .filter(|c| c.source == TimeSource::Camera && c.gps_offset.is_some())
            .map(|c| c.retention_from)
            .max();
        Rules {
            docked_at: self.docked_at,
            tolerance: secs(self.config.ingest.clock_tolerance.0),
            retention: Duration::days(i64::from(self.config.retention.days)),
            verified_until,
            // A recording already registered at an earlier docking (quarantined and left
            // on the camera, say) keeps its earlier treatment.
            lower_bound: stem
                .filter(|s| self.new_to_register.borrow().contains(*s))
                .and(self.lower_bound),
        }
    }

    /// Keeps a recording's trusted time for the camera's clock at the end of the docking.
    pub(super) fn note_clock(&self, stem: String, clock: &TrustedTime) {
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
        trusted_time::check(&seen, &self.clock_rules(Some(&stem)))
    }

    /// Measures the camera's clock from the recordings stored at this docking, records it in
    /// the register, and logs a wrong clock; its warning goes to the camera's report.
    pub(super) fn conclude_camera_clock(&mut self) -> Result<Option<CameraClock>, IngestError> {
        let serial = &self.identity.camera.serial;
        let checks: Vec<TrustedTime> = self.clocks.borrow().values().cloned().collect();
        let Some(clock) = trusted_time::camera_clock(serial, &checks, &self.clock_rules(None))
        else {
            return Ok(None);
        };
        self.register.record_camera_clock(self.id, &clock)?;
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
