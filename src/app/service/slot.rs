//! One docked camera's ingest, run on a blocking thread: identify, check enrolment, ingest.

use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::Arc;

use crate::app::ingest::{
    self, Cancel, IngestError, IngestReport, Options, Progress, ReadThrottle,
};
use crate::base::config::Config;
use crate::base::error::{Chain, chain};
use crate::base::events;
use crate::camera::dock::DockedLink;
use crate::camera::usb;
use crate::custody::opener;
use crate::custody::register::{Location, Register, perception};
use crate::custody::store::Store;

use super::cameras::{DockingId, Start};

/// Everything one ingest needs, moved onto its thread.
pub(crate) struct SlotJob {
    pub docking: DockingId,
    pub link: DockedLink,
    pub config: Arc<Config>,
    pub store: Arc<Store>,
    pub cancel: Cancel,
    pub progress: Arc<Progress>,
}

impl SlotJob {
    /// The job for a started camera, with the configuration and store in force.
    pub fn new(start: Start, config: Arc<Config>, store: Arc<Store>) -> SlotJob {
        SlotJob {
            docking: start.docking,
            link: start.link,
            config,
            store,
            cancel: start.cancel,
            progress: start.progress,
        }
    }
}

/// How a camera's ingest ended.
#[derive(Debug)]
pub(crate) enum SlotOutcome {
    /// The engine finished (every recording confirmed and wiped, or some left on the camera).
    Ingested(Box<IngestReport>),
    /// Enrolled neither in `dock.enrolled` nor in the register while `dock.enrolled_only`
    /// is set: not touched.
    NotEnrolled { serial: String },
    /// Cancelled (undocked, or the service stopping): nothing unproven was wiped.
    Cancelled,
    /// Could not finish; nothing unproven was wiped.
    Failed(String),
    /// The register could not be reached (PostgreSQL down or cut off): nothing was
    /// committed since, nothing uncommitted was wiped; the camera waits and is tried again.
    RegisterUnreachable(String),
}

/// An ended ingest, for the supervisor.
#[derive(Debug)]
pub(crate) struct Finished {
    pub docking: DockingId,
    pub slot: String,
    pub outcome: SlotOutcome,
}

/// The camera's USB serial string, read from the USB device behind `target`, when the
/// target is a USB camera; `None` for a disk image, where the volume's `DEVICE.INI`
/// identifies the camera. The one place the USB identity enters the service.
///
/// A device that cannot be identified is not ingested: the USB identity is the check
/// that the volume's own claims are held against, and a camera is hostile until proven.
pub(crate) fn camera_identity(target: &Path, config: &Config) -> Result<Option<String>, String> {
    match usb::identify(target, &config.usb, &config.profile) {
        Ok(identity) => Ok(identity.map(|id| id.serial)),
        Err(e) if e.is_refusal() => Err(format!("refused as a camera: {}", Chain(&e))),
        Err(e) => Err(format!("its USB identity could not be read: {}", Chain(&e))),
    }
}

/// Runs one camera's ingest to its end; never panics (a panic becomes `Failed`).
pub(crate) fn run(job: SlotJob) -> Finished {
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| ingest_camera(&job)))
        .unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            SlotOutcome::Failed(format!("internal error (please report it): {what}"))
        });
    Finished {
        docking: job.docking,
        slot: job.link.slot,
        outcome,
    }
}

/// Whether the camera is enrolled: listed in `dock.enrolled`, or enrolled in the register
/// (`sentinel-dockctl camera enroll`) and still in service.
fn enrolled(config: &Config, register: &mut Register, serial: &str) -> Result<bool, SlotOutcome> {
    if config.dock.enrolled.iter().any(|s| s == serial) {
        return Ok(true);
    }
    let enrolment = register
        .read()
        .and_then(|tx| perception::enrolment(&tx, serial))
        .map_err(|e| match e {
            e if e.is_unreachable() => SlotOutcome::RegisterUnreachable(chain(&e)),
            e => SlotOutcome::Failed(format!("its enrolment could not be checked: {e}")),
        })?;
    Ok(enrolment.is_some_and(|e| e.state == "in-service"))
}

/// Whether an ingest stopped because the register could not be reached.
fn unreachable(e: &IngestError) -> bool {
    e.register_unreachable()
}

fn ingest_camera(job: &SlotJob) -> SlotOutcome {
    let config = &job.config;
    let usb_serial = match camera_identity(&job.link.target, config) {
        Ok(serial) => serial,
        Err(why) => {
            tracing::warn!(
                message_id = events::IDENTITY_MISMATCH.id,
                slot = %job.link.slot,
                target = %job.link.target.display(),
                "camera in slot {} not ingested: {why}",
                job.link.slot
            );
            return SlotOutcome::Failed(why);
        }
    };
    // The slot is named by the udev rule after the USB serial: it stands for it until then.
    let serial = usb_serial.clone().unwrap_or_else(|| job.link.slot.clone());
    // Opened once for this camera: its enrolment is read, and its ingest written, here.
    let mut register = match opener::open_register(&config.store, &Location::of(config)) {
        Ok(register) => register,
        Err(e) => {
            let e = IngestError::from(e);
            return if unreachable(&e) {
                SlotOutcome::RegisterUnreachable(chain(&e))
            } else {
                SlotOutcome::Failed(chain(&e))
            };
        }
    };
    if config.dock.enrolled_only {
        match enrolled(config, &mut register, &serial) {
            Ok(true) => {}
            Ok(false) => return SlotOutcome::NotEnrolled { serial },
            Err(outcome) => return outcome,
        }
    }
    tracing::info!(
        message_id = events::INGEST_STARTED.id,
        camera_serial = %serial,
        slot = %job.link.slot,
        target = %job.link.target.display(),
        "ingest of the camera in slot {} started",
        job.link.slot
    );
    let options = Options {
        usb_serial,
        cancel: job.cancel.clone(),
        progress: Some(job.progress.clone()),
        throttle: ReadThrottle::from_config(&config.simulate),
        ..Options::default()
    };
    // The link, not its target, is opened: if the camera is pulled and another takes its
    // device name, the wipe step's reopening fails instead of reaching the other camera.
    match ingest::ingest(config, &job.link.link, &job.store, &mut register, &options) {
        Ok(report) => SlotOutcome::Ingested(Box::new(report)),
        Err(IngestError::Cancelled) => SlotOutcome::Cancelled,
        Err(_) if job.cancel.is_cancelled() => SlotOutcome::Cancelled,
        // What was copied and proven stays in the store; the next try recognises it.
        Err(e) if unreachable(&e) => SlotOutcome::RegisterUnreachable(chain(&e)),
        Err(e) => SlotOutcome::Failed(chain(&e)),
    }
}
