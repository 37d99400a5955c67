//! The verified ingestion of one camera: identify, discover, make room, copy and prove
//! each recording, commit, and only then wipe what is proven. The way reads top to bottom
//! in `spine.rs`, which calls each stage's own file in order.
//!
//! Every recording ends in exactly one of two places: proven in the store and wiped from
//! the camera, or kept on the camera (and, when it could be read, stored in quarantine with
//! its reasons). The camera is opened read-only until the wipe step, and the wipe step
//! re-reads the register to wipe only rows committed as confirmed with the same hashes.

mod attempt;
mod camera_logs;
mod checks;
mod clock_check;
mod commit;
mod consultations;
mod copy;
mod damage;
mod discover;
mod docking;
mod faults;
mod holder;
mod identity;
mod outcome;
mod persist;
mod progress;
mod reader;
mod reason;
mod rerun;
mod room;
mod spine;
mod summary;
mod throttle;
mod wipe;

use std::path::PathBuf;
use std::sync::Arc;

use crate::base::clock::{Clock, SystemClock};
use crate::camera::volume::VolumeError;
use crate::custody::opener::OwnerError;
use crate::custody::register::RegisterError;
use crate::custody::store::StoreError;

pub(crate) use checks::Verdict;
pub use faults::ReadFaults;
pub(crate) use identity::{Identity, IdentityError};
pub use progress::{Cancel, Progress};
pub(crate) use reason::Reason;
pub use reason::joined as joined_reasons;

pub(crate) use camera_logs::LogReport;
pub(crate) use consultations::ON_CAMERA_PURPOSE;
pub(crate) use summary::{CameraReport, FileReport, IgnoredReport};
pub use summary::{IngestReport, RecordingReport, Status};
pub use throttle::ReadThrottle;

pub use spine::ingest;

use outcome::Attempt;

/// Why an ingest could not finish; nothing unproven was wiped.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The camera's volume could not be opened or listed.
    #[error("camera source {source_path}")]
    Volume {
        /// The source given.
        source_path: PathBuf,
        /// What the volume layer said.
        #[source]
        error: VolumeError,
    },
    /// The camera could not be identified.
    #[error("camera source {source_path}")]
    Identity {
        /// The source given.
        source_path: PathBuf,
        /// Why.
        #[source]
        error: IdentityError,
    },
    /// The store could not be opened or written.
    #[error("store")]
    Store(#[from] StoreError),
    /// The register could not be opened or written.
    #[error("register")]
    Register(#[from] RegisterError),
    /// The store has not enough free space for this camera's recordings and the reserve.
    #[error(
        "store {store} is too full for camera {serial}: it needs {needed} bytes plus the reserve of {reserve} (store.reserve), and {free} are free. Nothing was copied or wiped; free space or add disks, then dock the camera again"
    )]
    NoRoom {
        /// The store's root.
        store: PathBuf,
        /// The camera.
        serial: String,
        /// Bytes to copy.
        needed: u64,
        /// Bytes that must stay free.
        reserve: u64,
        /// Bytes free now.
        free: u64,
    },
    /// A thread could not be started (the system is out of threads or memory).
    #[error("cannot start a thread: {0}")]
    Thread(String),
    /// The ingest was asked to stop; what was committed stays, nothing more was wiped.
    #[error(
        "ingest cancelled (camera pulled or service stopping); dock the camera again to finish"
    )]
    Cancelled,
}

/// What a caller may set beyond the configuration.
#[derive(Clone)]
pub struct Options {
    /// The camera's USB serial string, when the caller read it from the USB descriptor.
    pub usb_serial: Option<String>,
    /// Where the current time comes from.
    pub clock: Arc<dyn Clock>,
    /// Faults injected into the reads from the camera (tests and harnesses only).
    pub read_faults: Option<Arc<dyn ReadFaults>>,
    /// Stops the ingest at the next buffer when cancelled.
    pub cancel: Cancel,
    /// Counters updated as bytes are read, for status displays.
    pub progress: Option<Arc<Progress>>,
    /// Slows the camera's video reads down (`[simulate]`: tests, demos, benchmarks).
    pub throttle: Option<ReadThrottle>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            usb_serial: None,
            clock: Arc::new(SystemClock),
            read_faults: None,
            cancel: Cancel::new(),
            progress: None,
            throttle: None,
        }
    }
}

impl IngestError {
    /// Whether the ingest stopped because the register could not be reached (PostgreSQL
    /// down or cut off): the camera waits and is ingested again, not failed.
    pub fn register_unreachable(&self) -> bool {
        matches!(self, IngestError::Register(e) if e.is_unreachable())
    }
}

impl From<OwnerError> for IngestError {
    fn from(e: OwnerError) -> Self {
        match e {
            OwnerError::Store(e) => IngestError::Store(e),
            OwnerError::Register(e) => IngestError::Register(e),
        }
    }
}
