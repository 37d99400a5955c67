//! The wipe step: only recordings the register holds as confirmed, with the hashes just
//! read, and whose files on the camera still have the proven sizes, are removed.

use std::collections::BTreeMap;

use crate::base::digest::Digests;
use crate::base::error::Chain;
use crate::camera::volume::{self, Access, VolumeFile};
use crate::custody::register::{RecordingId, RecordingState, Register};

use super::docking::Docking;
use super::outcome::Outcome;
use super::{IgnoredReport, IngestError};

/// Removes from the camera the recordings the register holds as confirmed, and records each wipe.
pub(super) fn wipe_confirmed(
    docking: &Docking<'_>,
    register: &mut Register,
    outcomes: &mut [Outcome],
    warnings: &mut Vec<String>,
) -> Result<(), IngestError> {
    if !outcomes.iter().any(|o| o.report.status.may_wipe()) {
        return Ok(());
    }
    let profile = &docking.config.profile;
    let watch = volume::ReadWatch::new();
    if let Some(p) = docking.progress {
        p.watch_device(Some(watch.clone()));
    }
    let mut volume = match volume::open_watched(docking.source, profile, Access::ReadWrite, watch) {
        Ok(v) => v,
        Err(e) => {
            warnings.push(format!(
                "could not reopen the camera to wipe it, nothing was wiped: {}",
                Chain(&e)
            ));
            return Ok(());
        }
    };
    // The camera is read again: only a file still of the proven size is removed.
    let sizes: BTreeMap<String, u64> = match volume.scan() {
        Ok(scan) => scan
            .files
            .iter()
            .map(|f| (f.path.to_string(), f.size))
            .collect(),
        Err(e) => {
            warnings.push(format!(
                "could not list the camera again before wiping, nothing was wiped: {}",
                Chain(&e)
            ));
            return Ok(());
        }
    };
    let mode = docking.config.wipe.mode;
    for o in outcomes.iter_mut().filter(|o| o.report.status.may_wipe()) {
        let Some(row) = o.row else { continue };
        if !still_proven(register, row, o.video_digests)? {
            warnings.push(format!(
                "{}: the register no longer holds it as confirmed with these hashes; not wiped",
                o.report.stem
            ));
            continue;
        }
        if !replica_allows_wipe(docking, register, row) {
            warnings.push(format!(
                    "{}: not wiped yet: replica.wipe_after = \"replica\" and its replica is not proven yet; the next docking wipes it once it is",
                    o.report.stem
                ));
            continue;
        }
        let files: Vec<&VolumeFile> = [o.candidate.video.as_ref(), o.candidate.sidecar.as_ref()]
            .into_iter()
            .flatten()
            .collect();
        if let Some(f) = files
            .iter()
            .find(|f| sizes.get(&f.path.to_string()) != Some(&f.size))
        {
            warnings.push(format!(
                "{}: {} changed on the camera since it was read; not wiped",
                o.report.stem, f.path
            ));
            continue;
        }
        let mut wiped_all = true;
        for f in &files {
            if let Err(e) = volume.wipe(&f.path, mode) {
                warnings.push(format!(
                    "{}: wiping {} failed: {}",
                    o.report.stem,
                    f.path,
                    Chain(&e)
                ));
                wiped_all = false;
                break;
            }
        }
        if wiped_all {
            let detail = format!("video and sidecar removed from the camera ({mode:?})");
            register.record_state(
                row,
                docking.session,
                RecordingState::Wiped,
                &detail,
                docking.clock.now(),
            )?;
            o.report.wiped = true;
            tracing::info!(recording = %o.report.stem, "wiped from the camera");
        }
    }
    if let Err(e) = volume.close() {
        warnings.push(format!(
            "flushing the camera after the wipe failed; dock it again to finish: {}",
            Chain(&e)
        ));
    }
    Ok(())
}

/// Records as wiped the confirmed recordings this camera no longer holds: a run killed
/// between its wipe and the wipe's commit leaves them so (the crash harness found it),
/// and the register must say what the camera holds. Anything the scan mentioned, even
/// as ignored, is left alone, and so is a camera whose identity is in doubt.
pub(super) fn record_cut_off_wipes(
    docking: &Docking<'_>,
    register: &mut Register,
    on_camera: &[String],
    ignored: &[IgnoredReport],
) -> Result<(), IngestError> {
    if !docking.identity.conflicts.is_empty() {
        return Ok(());
    }
    let serial = docking.identity.camera.serial.clone();
    for row in register.recordings_in_state(&serial, RecordingState::Confirmed)? {
        let mentioned =
            on_camera.contains(&row.stem) || ignored.iter().any(|i| i.path.contains(&row.stem));
        if mentioned {
            continue;
        }
        tracing::warn!(recording = %row.stem, "confirmed, and no longer on the camera: recording the wipe whose commit was cut off");
        let detail = "not on the camera at its next docking: the wipe's commit had been cut off";
        register.record_state(
            row.id,
            docking.session,
            RecordingState::Wiped,
            detail,
            docking.clock.now(),
        )?;
    }
    Ok(())
}

/// With `replica.wipe_after = "replica"`, only a recording whose replica is proven is
/// wiped; a register that cannot say keeps it on the camera.
fn replica_allows_wipe(docking: &Docking<'_>, register: &mut Register, row: RecordingId) -> bool {
    if !docking.config.replica.holds_wipe() {
        return true;
    }
    register
        .read()
        .and_then(|tx| crate::replica::ReplicaQueue::is_replicated(&tx, row))
        .unwrap_or(false)
}

/// Whether the register's committed row still says confirmed (or wiped) with the hashes just read.
fn still_proven(
    register: &Register,
    row: RecordingId,
    video_digests: Option<Digests>,
) -> Result<bool, IngestError> {
    let Some(row) = register.recording(row)? else {
        return Ok(false);
    };
    let state_ok = matches!(row.state, RecordingState::Confirmed | RecordingState::Wiped);
    let hashes_ok = video_digests.is_some() && row.video.map(|f| f.digests) == video_digests;
    Ok(state_ok && hashes_ok)
}
