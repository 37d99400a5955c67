//! What an ended ingest means for the people at the dock (the camera's state) and for the
//! journal (one event per recording and one for the camera, each with its MESSAGE_ID).

use crate::app::ingest::{IngestReport, Status};
use crate::app::status::{Attention, CameraState};
use crate::base::events;

use super::slot::{Finished, SlotOutcome};

/// The camera's state after its ingest ended.
pub(crate) fn camera_state(outcome: &SlotOutcome) -> CameraState {
    match outcome {
        SlotOutcome::Ingested(report) if report.all_clear() => CameraState::SafeToUndock {
            recordings: report.recordings.len() as u64,
        },
        SlotOutcome::Ingested(report) => CameraState::NeedsAttention(attention(report)),
        SlotOutcome::NotEnrolled { .. } => CameraState::NotEnrolled,
        SlotOutcome::Cancelled => CameraState::Cancelled,
        SlotOutcome::Failed(error) => CameraState::Failed {
            error: error.clone(),
        },
        SlotOutcome::RegisterUnreachable(error) => CameraState::RegisterUnreachable {
            error: error.clone(),
        },
    }
}

fn attention(report: &IngestReport) -> Attention {
    let count = |s: Status| report.recordings.iter().filter(|r| r.status == s).count() as u64;
    Attention {
        quarantined: count(Status::Quarantined),
        failed: count(Status::Failed),
        ignored: report.ignored.len() as u64,
        left_on_camera: report.recordings.iter().filter(|r| !r.wiped).count() as u64,
        warnings: report.warnings.clone(),
        clock: report.clock.clone().filter(|c| c.wrong),
    }
}

/// The camera's serial as the ingest established it.
pub(crate) fn identified_serial(outcome: &SlotOutcome) -> Option<String> {
    match outcome {
        SlotOutcome::Ingested(report) => Some(report.camera.serial.clone()),
        SlotOutcome::NotEnrolled { serial } => Some(serial.clone()),
        _ => None,
    }
}

/// Logs an ended ingest: each recording, then the camera.
pub(crate) fn log(finished: &Finished) {
    let slot = finished.slot.as_str();
    match &finished.outcome {
        SlotOutcome::Ingested(report) => log_report(slot, report),
        SlotOutcome::NotEnrolled { serial } => tracing::warn!(
            message_id = events::CAMERA_NOT_ENROLLED.id,
            camera_serial = %serial,
            slot,
            "camera {serial} is not enrolled (neither in dock.enrolled nor in the register) and dock.enrolled_only is set: it was not ingested; enrol it (`sentinel-dockctl camera enroll {serial}`) or give it to the technician"
        ),
        SlotOutcome::Cancelled => tracing::info!(
            message_id = events::INGEST_CANCELLED.id,
            slot,
            "ingest of the camera in slot {slot} cancelled; nothing unproven was wiped, the next docking finishes the job"
        ),
        SlotOutcome::Failed(error) => tracing::error!(
            message_id = events::INGEST_FAILED.id,
            slot,
            error = %error,
            "ingest of the camera in slot {slot} could not finish, nothing unproven was wiped: {error}"
        ),
        // The register's own event says it once; each camera's wait is a plain line.
        SlotOutcome::RegisterUnreachable(error) => tracing::warn!(
            slot,
            error = %error,
            "the camera in slot {slot} waits for the register: nothing uncommitted was wiped, its proven copies stay in the store, and it is ingested again once the register answers: {error}"
        ),
    }
}

fn log_report(slot: &str, report: &IngestReport) {
    let serial = report.camera.serial.as_str();
    for r in &report.recordings {
        let stem = r.stem.as_str();
        match r.status {
            Status::Confirmed | Status::AlreadyStored => tracing::info!(
                message_id = events::RECORDING_CONFIRMED.id,
                camera_serial = serial,
                slot,
                recording = stem,
                bytes = r.size,
                blake3 = r.blake3.as_deref(),
                sha256 = r.sha256.as_deref(),
                "recording {stem} is stored and proven"
            ),
            Status::Quarantined => tracing::warn!(
                message_id = events::RECORDING_QUARANTINED.id,
                camera_serial = serial,
                slot,
                recording = stem,
                bytes = r.size,
                blake3 = r.blake3.as_deref(),
                sha256 = r.sha256.as_deref(),
                "recording {stem} is quarantined and kept on the camera: {}",
                crate::app::ingest::joined_reasons(&r.reasons)
            ),
            Status::Failed => tracing::error!(
                message_id = events::RECORDING_FAILED.id,
                camera_serial = serial,
                slot,
                recording = stem,
                "recording {stem} could not be copied and proven; it stays on the camera: {}",
                crate::app::ingest::joined_reasons(&r.reasons)
            ),
        }
        if r.wiped {
            tracing::info!(
                message_id = events::RECORDING_WIPED.id,
                camera_serial = serial,
                slot,
                recording = stem,
                "recording {stem} wiped from the camera"
            );
        }
    }
    let n = report.recordings.len();
    if !report.damage.is_empty() {
        tracing::error!(
            message_id = events::VOLUME_DAMAGED.id,
            camera_serial = serial,
            slot,
            "camera {serial}'s volume is damaged, so nothing was wiped and its {n} recording(s) are stored in quarantine; keep it aside, untouched, for the technician: {}",
            report.damage.join("; ")
        );
    }
    if report.all_clear() {
        tracing::info!(
            message_id = events::CAMERA_SAFE.id,
            camera_serial = serial,
            slot,
            "camera {serial} is safe to undock: {n} recording(s) stored, proven and wiped"
        );
    } else {
        let a = attention(report);
        tracing::warn!(
            message_id = events::CAMERA_ATTENTION.id,
            camera_serial = serial,
            slot,
            "camera {serial} needs attention: {} recording(s) left on it ({} quarantined, {} failed), {} unexpected file(s); {}",
            a.left_on_camera,
            a.quarantined,
            a.failed,
            a.ignored,
            report.warnings.join("; ")
        );
    }
}
