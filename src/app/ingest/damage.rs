//! The volume's damage: what the ownership map found wrong, less the remains of a wipe that
//! was cut off. What is left quarantines every recording and forbids the wipe: freeing a
//! shared cluster destroys its other owner, and the listing may miss files still there.

use crate::camera::volume::{self, Damage};
use crate::custody::register::{RecordingState, Register};

use super::IngestError;
use super::discover::Candidate;

/// The findings that block the wipe.
pub(super) fn blocking(
    register: &Register,
    serial: &str,
    damage: &[Damage],
    candidates: &[Candidate],
) -> Result<Vec<Damage>, IngestError> {
    let mut blocking = Vec::new();
    for d in damage {
        if is_cut_off_wipe_trace(register, serial, d, candidates)? {
            tracing::info!(damage = %d, "the remains of a cut-off wipe of a confirmed recording; the wipe is finished");
        } else {
            blocking.push(d.clone());
        }
    }
    Ok(blocking)
}

/// The blocking findings on one line, for the report and the recordings' reasons.
pub(super) fn summary(blocking: &[Damage]) -> String {
    volume::damage_summary(blocking)
}

/// Whether a finding is only what a wipe cut off while freeing a file leaves: one file's
/// own chain ending early, the file of a recording the register holds as confirmed
/// (its clusters are claimed by no other file, and the rerun finishes that wipe).
fn is_cut_off_wipe_trace(
    register: &Register,
    serial: &str,
    damage: &Damage,
    candidates: &[Candidate],
) -> Result<bool, IngestError> {
    let [file] = damage.files.as_slice() else {
        return Ok(false);
    };
    if !matches!(damage.code, "chain-too-short" | "chain-broken") {
        return Ok(false);
    }
    let owner = candidates.iter().find(|c| {
        [&c.video, &c.sidecar]
            .into_iter()
            .flatten()
            .any(|f| f.path.to_string() == *file)
    });
    let Some(owner) = owner else {
        return Ok(false);
    };
    let rows = register.recordings_by_stem(serial, &owner.name.stem())?;
    Ok(rows.iter().any(|r| r.state == RecordingState::Confirmed))
}
