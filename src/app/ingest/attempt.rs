//! One recording's read from the camera, and what a copy attempt's end means: read its
//! sidecar, recognise it if already stored, take a copy (streamed into the store while
//! hashing and walking its structure) and judge the rules; the spine persists and commits
//! it, and copies again when the store cannot prove the copy, at most [`COPY_ATTEMPTS`]
//! times. Where a recording stands is an `outcome::Way`, whose attempt counter is the only
//! one.

use crate::base::digest::Digests;
use crate::base::error::chain;
use crate::camera::evidence::name::FileKind;
use crate::camera::volume::Volume;
use crate::custody::register::{RecordingRow, RecordingState, Register, StoredFacts};
use crate::custody::store::{Area, PendingFile, StorePath};

use super::discover::{Candidate, SidecarRead, read_sidecar, stream_sidecar};
use super::outcome::{Again, Attempt, FirstRead, Outcome, ReadIn, Way, done};
use super::outcome::{blank_report, fail, gps_summary};
use super::reader::Reader;
use super::reason;
use super::rerun::{recognise_stored, recognised_report};
use super::{IngestError, persist};

/// How many copies of one recording are taken from the camera, at most, when the store
/// cannot prove them.
const COPY_ATTEMPTS: u32 = 3;

/// Reads one recording from the camera into the store; what is left to do (persist and
/// commit, or copy again) is returned for the pipeline. Per-recording failures become
/// its outcome.
pub(super) fn begin(
    reader: &Reader<'_>,
    register: &mut Register,
    volume: &mut dyn Volume,
    candidate: Candidate,
) -> Result<FirstRead, IngestError> {
    let d = reader.docking;
    let serial = d.serial().to_string();
    let stem = candidate.name.stem();
    let mut report = blank_report(&d.config.profile, &candidate);
    let sidecar = match read_sidecar(
        &d.config.profile,
        volume,
        candidate.sidecar.as_ref(),
        d.read_faults,
    ) {
        Ok(s) => s,
        Err(why) => {
            tracing::warn!(recording = %stem, "{why}");
            fail(&mut report, "read-error", &why);
            return Ok(done(candidate, None, report, None));
        }
    };
    if let (Some(p), Some(size)) = (d.progress, sidecar.size) {
        p.add_bytes(size);
    }
    let prior = register.recordings_by_stem(&serial, &stem)?;
    let stored_before: Vec<&RecordingRow> = prior.iter().filter(|r| r.video.is_some()).collect();
    if !stored_before.is_empty() {
        match recognise_stored(reader, volume, &candidate, &sidecar, &stored_before) {
            Ok(Some((row, verdict, digests))) => {
                let id = row.id;
                recognised_report(&mut report, d.store, row, verdict);
                return Ok(done(candidate, Some(id), report, Some(digests)));
            }
            Ok(None) => {}
            Err(_) if d.cancel.is_cancelled() => return Err(IngestError::Cancelled),
            Err(why) => {
                fail(&mut report, "read-error", &why);
                return Ok(done(candidate, None, report, None));
            }
        }
    }
    if prior.is_empty() {
        reader.clocks.new_to_register(stem.clone());
    }
    // A row left `discovered` by an interrupted run is this recording's row.
    let row = match prior.iter().find(|r| r.state == RecordingState::Discovered) {
        Some(r) => r.id,
        None => register.insert_discovered(
            d.session,
            &serial,
            &stem,
            candidate.name.start,
            d.clock.now(),
        )?,
    };
    report.register_id = Some(row);
    let mut outcome = Outcome {
        candidate,
        row: Some(row),
        report,
        video_digests: None,
    };
    // The first copy is persisted on the pipeline's second thread; a read that
    // failed settles here, and any copy again is taken synchronously.
    match stream_copy(reader, volume, &outcome, &sidecar) {
        Ok(copied) => Ok(FirstRead::Copied(Box::new(ReadIn {
            outcome,
            sidecar,
            copied,
        }))),
        Err(why) => {
            let way = settle(reader, &mut outcome, Way::FIRST, Err(why))?;
            Ok(FirstRead::Again(Box::new(Again {
                outcome,
                sidecar,
                way,
            })))
        }
    }
}

/// Where copy number `attempt`'s result leaves the recording; `Err` stops the ingest.
pub(super) fn settle(
    reader: &Reader<'_>,
    outcome: &mut Outcome,
    attempt: u32,
    result: Result<(), Attempt>,
) -> Result<Way, IngestError> {
    let stem = &outcome.report.stem;
    match result {
        Ok(()) => Ok(Way::Settled),
        // A cancelled read looks like a failed one: it must not mark the recording failed.
        Err(_) if reader.docking.cancel.is_cancelled() => Err(IngestError::Cancelled),
        Err(Attempt::Retry(why)) if attempt < COPY_ATTEMPTS => {
            tracing::warn!(recording = %stem, attempt, "copy not proven, copying again from the camera: {why}");
            Ok(Way::Copy {
                attempt: attempt + 1,
            })
        }
        Err(Attempt::Retry(why)) | Err(Attempt::GiveUp(why)) => {
            tracing::error!(recording = %stem, "left on the camera: {why}");
            fail(&mut outcome.report, "not-stored", &why);
            Ok(Way::Settled)
        }
        Err(Attempt::Fatal(e)) => Err(e),
    }
}

/// Reads the video from the camera into a temporary copy in the store (one pass:
/// hashes and ISO BMFF walk on the way) and judges the rules.
pub(super) fn stream_copy(
    reader: &Reader<'_>,
    volume: &mut dyn Volume,
    outcome: &Outcome,
    sidecar: &SidecarRead,
) -> Result<persist::Copied, Attempt> {
    let name = &outcome.candidate.name;
    let serial = reader.docking.identity.camera.serial.clone();
    let profile = &reader.docking.config.profile;
    let file_names = persist::file_names(name, profile);
    // The area is only known once every byte is read, so the copy starts in the
    // recordings area and is moved to quarantine at persist time when a rule failed.
    let video = match &outcome.candidate.video {
        Some(video) => {
            let at = StorePath::new(Area::Recordings, name.day(), &serial, &file_names.0)
                .map_err(|e| Attempt::GiveUp(chain(&e)))?;
            let mut pending = reader
                .docking
                .store
                .create(&at)
                .map_err(|e| Attempt::Retry(chain(&e)))?
                .with_proof_region(reader.docking.config.ingest.proof_region.0);
            let facts = reader
                .stream_video(volume, video, Some(&mut pending))
                .map_err(Attempt::GiveUp)?;
            Some((pending, facts))
        }
        None => None,
    };
    let streamed = video.as_ref().map(|(_, facts)| facts);
    let verdict = reader.judge(
        &outcome.candidate,
        sidecar,
        streamed.ok_or_else(|| "the camera has no video for this sidecar".to_string()),
    );
    let report = sidecar.report.as_ref();
    let clock = reader.clocks.trusted_time(&outcome.candidate, report);
    reader.clocks.note(name.stem(), &clock);
    let mut flags = verdict.flags.clone();
    flags.extend(clock.flags.iter().map(ToString::to_string));
    let facts = StoredFacts {
        end: report.and_then(|r| r.trailer.as_ref()).map(|t| t.end),
        prerecord_secs: report
            .and_then(|r| r.header.as_ref())
            .map(|h| h.prerecord_secs),
        duration_secs: streamed.and_then(|s| s.bmff.duration_secs),
        video: None,
        sidecar: None,
        gps: report.map(gps_summary).unwrap_or_default(),
        flags,
        reasons: reason::stored(&verdict.reasons),
        clock: Some(clock),
    };
    Ok(persist::Copied {
        name: name.clone(),
        serial,
        file_names,
        area: if verdict.confirmed() {
            Area::Recordings
        } else {
            Area::Quarantine
        },
        video: video.map(|(pending, f)| (pending, f.size, f.digests)),
        sidecar: copy_sidecar(reader, volume, outcome, sidecar)?,
        facts,
    })
}

/// Streams the sidecar from the camera into a temporary copy in the store, proving it
/// holds the bytes that were parsed and judged.
fn copy_sidecar(
    reader: &Reader<'_>,
    volume: &mut dyn Volume,
    outcome: &Outcome,
    sidecar: &SidecarRead,
) -> Result<Option<(PendingFile, u64, Digests)>, Attempt> {
    let (Some(file), Some(judged)) = (&outcome.candidate.sidecar, sidecar.digests) else {
        return Ok(None);
    };
    let name = &outcome.candidate.name;
    let file_name = name.file_name(&reader.docking.config.profile, FileKind::Sidecar);
    let serial = &reader.docking.identity.camera.serial;
    let at = StorePath::new(Area::Recordings, name.day(), serial, &file_name)
        .map_err(|e| Attempt::GiveUp(chain(&e)))?;
    let mut pending = reader
        .docking
        .store
        .create(&at)
        .map_err(|e| Attempt::Retry(chain(&e)))?;
    let mut written: std::io::Result<()> = Ok(());
    let digests = stream_sidecar(volume, file, &mut |chunk| {
        if written.is_ok() {
            written = std::io::Write::write_all(&mut pending, chunk);
        }
    })
    .map_err(Attempt::GiveUp)?;
    written.map_err(|e| Attempt::Retry(format!("writing the sidecar's copy: {e}")))?;
    if digests != judged {
        return Err(Attempt::GiveUp(format!(
            "the sidecar {} changed on the camera since it was read",
            file.path
        )));
    }
    Ok(Some((pending, file.size, digests)))
}
