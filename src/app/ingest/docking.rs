//! What every stage of one camera's docking reads, and none writes: the configuration, the
//! camera and its identity, the store, the register's session, and what steers the reads
//! (cancel, progress, throttle, injected faults).

use std::path::Path;

use chrono::{DateTime, Utc};

use crate::base::clock::Clock;
use crate::base::config::Config;
use crate::custody::register::SessionId;
use crate::custody::store::Store;

use super::{Cancel, Identity, IngestError, Progress, ReadFaults, ReadThrottle};

/// One camera's docking, as its stages read it.
pub(super) struct Docking<'a> {
    /// The configuration in force.
    pub config: &'a Config,
    /// The camera's source (its device link, or an image or folder).
    pub source: &'a Path,
    /// The store, opened by its owner.
    pub store: &'a Store,
    /// Who the camera is.
    pub identity: &'a Identity,
    /// The register's session of this docking.
    pub session: SessionId,
    /// The docking on the service's clock: the session's start, read once.
    pub docked_at: DateTime<Utc>,
    /// Where the current time comes from.
    pub clock: &'a dyn Clock,
    /// Stops the ingest at the next buffer when cancelled.
    pub cancel: &'a Cancel,
    /// Counters for status displays.
    pub progress: Option<&'a Progress>,
    /// Slows the video reads down.
    pub throttle: Option<ReadThrottle>,
    /// Faults injected into the reads (tests and harnesses only).
    pub read_faults: Option<&'a dyn ReadFaults>,
}

impl Docking<'_> {
    /// The camera's serial.
    pub(super) fn serial(&self) -> &str {
        &self.identity.camera.serial
    }

    /// `Cancelled` once the ingest was asked to stop.
    pub(super) fn check_cancel(&self) -> Result<(), IngestError> {
        if self.cancel.is_cancelled() {
            Err(IngestError::Cancelled)
        } else {
            Ok(())
        }
    }
}
