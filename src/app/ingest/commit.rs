//! The commit step: a persisted, proven recording written to the register as confirmed
//! (or quarantined, with its reasons), and its report filled in from what was stored.

use crate::custody::register::{RecordingState, Register, StoredFacts};

use super::docking::Docking;
use super::outcome::fill_files;
use super::outcome::{Attempt, Outcome};
use super::{Reason, Status};

/// Commits a persisted recording as confirmed or quarantined, and reports it.
pub(super) fn commit(
    docking: &Docking<'_>,
    register: &mut Register,
    outcome: &mut Outcome,
    facts: StoredFacts,
) -> Result<(), Attempt> {
    let state = if facts.reasons.is_empty() {
        RecordingState::Confirmed
    } else {
        RecordingState::Quarantined
    };
    let row = outcome
        .row
        .ok_or_else(|| Attempt::GiveUp("it has no register row".into()))?;
    register
        .record_stored(row, docking.session, state, &facts, docking.clock.now())
        .map_err(|e| Attempt::Fatal(e.into()))?;
    let report = &mut outcome.report;
    report.status = if state == RecordingState::Confirmed {
        Status::Confirmed
    } else {
        Status::Quarantined
    };
    fill_files(
        report,
        docking.store,
        facts.video.as_ref(),
        facts.sidecar.as_ref(),
    );
    report.flags = facts.flags;
    report.reasons = facts
        .reasons
        .iter()
        .map(|r| Reason::from_stored(r))
        .collect();
    outcome.video_digests = facts.video.as_ref().map(|f| f.digests);
    tracing::info!(recording = %report.stem, status = ?report.status, "recording stored");
    Ok(())
}
