//! A camera docked again: recordings the register already holds are recognised by their
//! hashes, and their stored copies read back again, instead of being stored twice.

use crate::base::digest::Digests;
use crate::camera::volume::Volume;
use crate::custody::register::{RecordingRow, RecordingState};

use crate::custody::store::Store;

use super::discover::{Candidate, SidecarRead};
use super::outcome::fill_files;
use super::reader::Reader;
use super::{Reason, RecordingReport, Status, Verdict};

/// On a re-run: hashes the camera's copy and, when the register already holds those
/// hashes and the stored files still read back equal, returns that row: nothing is stored twice.
pub(super) fn recognise_stored<'r>(
    reader: &Reader<'_>,
    volume: &mut dyn Volume,
    candidate: &Candidate,
    sidecar: &SidecarRead,
    stored_before: &[&'r RecordingRow],
) -> Result<Option<(&'r RecordingRow, Verdict, Digests)>, String> {
    // What an interrupted wipe leaves looks like this (the crash harness found both): a
    // sidecar alone, or a video whose cluster chain fatfs had begun to free, beside a
    // row confirmed with that very sidecar. The recording is stored and proven; only
    // its wipe is to finish. Any other read error stays a failure.
    let mut unreadable = None;
    let streamed = match &candidate.video {
        Some(video) => match reader.stream_video(volume, video, None) {
            Ok(s) => Some(s),
            Err(why) if reader.docking.cancel.is_cancelled() => return Err(why),
            Err(why) => {
                unreadable = Some(why);
                None
            }
        },
        None => None,
    };
    let camera_size = candidate.video.as_ref().map(|v| v.size);
    let same = stored_before.iter().find(|r| {
        let video_same = match &streamed {
            Some(s) => r.video.as_ref().map(|f| f.digests) == Some(s.digests),
            None => {
                matches!(r.state, RecordingState::Confirmed | RecordingState::Wiped)
                    && r.video
                        .as_ref()
                        .is_some_and(|f| camera_size.is_none_or(|size| size == f.size))
            }
        };
        video_same && r.sidecar.as_ref().map(|f| f.digests) == sidecar.digests
    });
    let Some(row) = same else {
        return match unreadable {
            Some(why) => Err(why),
            None => Ok(None), // other content under a known name: stored as a conflict
        };
    };
    for file in [row.video.as_ref(), row.sidecar.as_ref()]
        .into_iter()
        .flatten()
    {
        let path = reader.docking.store.root().join(&file.path);
        match reader.docking.store.read_back(&path) {
            Ok(d) if d == file.digests => {}
            Ok(_) | Err(_) => {
                tracing::warn!(path = %path.display(), "stored copy no longer reads back equal; copying again");
                return Ok(None);
            }
        }
    }
    match (streamed, &row.video) {
        (Some(streamed), _) => {
            let verdict = reader.judge(candidate, sidecar, Ok(&streamed));
            Ok(Some((row, verdict, streamed.digests)))
        }
        (None, Some(video)) => {
            let verdict = Verdict {
                reasons: Vec::new(),
                flags: vec![format!(
                    "wipe-resumed: an earlier wipe was cut off ({}); the sidecar equals the stored one, whose video is proven",
                    unreadable.as_deref().unwrap_or("the video is already gone")
                )],
            };
            Ok(Some((row, verdict, video.digests)))
        }
        (None, None) => Ok(None),
    }
}

/// The report of a recording recognised as stored: already stored when its row is confirmed
/// (or wiped) and every rule still holds, quarantined otherwise, with the row's reasons.
pub(super) fn recognised_report(
    report: &mut RecordingReport,
    store: &Store,
    row: &RecordingRow,
    verdict: Verdict,
) {
    let status = match row.state {
        RecordingState::Confirmed | RecordingState::Wiped if verdict.confirmed() => {
            Status::AlreadyStored
        }
        _ => Status::Quarantined,
    };
    report.status = status;
    fill_files(report, store, row.video.as_ref(), row.sidecar.as_ref());
    report.register_id = Some(row.id);
    report.flags = verdict.flags;
    report.reasons = if status == Status::Quarantined && verdict.reasons.is_empty() {
        row.reasons.iter().map(|r| Reason::from_stored(r)).collect()
    } else {
        verdict.reasons
    };
}
