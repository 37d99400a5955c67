//! One recording's way, top to bottom: read its sidecar, recognise it if already stored,
//! take a copy from the camera (streamed into the store while hashing and walking its
//! structure), judge the rules, commit; copy again when the store cannot prove the copy,
//! at most [`COPY_ATTEMPTS`] times. Where a recording stands is a [`Way`], whose attempt
//! counter is the only one.

use crate::base::digest::Digests;
use crate::base::error::{Chain, chain};
use crate::camera::evidence::name::FileKind;
use crate::camera::volume::{Volume, VolumeFile};
use crate::custody::register::{RecordingRow, RecordingState, StoredFacts};
use crate::custody::store::{Area, PendingFile, StorePath};

use super::checks::{self, Verdict, VideoFacts};
use super::discover::{Candidate, SidecarRead, read_sidecar, stream_sidecar};
use super::outcome::{blank_report, fail, fill_files, gps_summary};
use super::reason::{self, Reason};
use super::rerun::recognised_report;
use super::{
    Begun, InFlight, IngestError, Outcome, ReadIn, Session, Status, copy, done, faults, persist,
    throttle,
};

/// How many copies of one recording are taken from the camera, at most, when the store
/// cannot prove them.
const COPY_ATTEMPTS: u32 = 3;

/// How one copy attempt ended when it did not end with a commit.
pub(super) enum Attempt {
    /// The store could not prove the copy: copy again from the camera.
    Retry(String),
    /// This recording cannot be copied now (read error, impossible name): leave it.
    GiveUp(String),
    /// The register failed: stop the whole ingest.
    Fatal(IngestError),
}

/// Where one recording stands after a copy attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Way {
    /// Nothing more to do: committed, or left on the camera with its reason.
    Settled,
    /// Copy number `attempt` (counted from 1) is to be taken from the camera.
    Copy {
        /// Which copy this is.
        attempt: u32,
    },
}

impl Way {
    /// The first copy, the one the pipeline persists beside the next recording's read.
    const FIRST: u32 = 1;
}

impl Session<'_> {
    /// Reads one recording from the camera into the store; what is left to do (persist and
    /// commit) is returned for the pipeline. Per-recording failures become its outcome.
    pub(super) fn begin_recording(
        &mut self,
        volume: &mut dyn Volume,
        candidate: Candidate,
    ) -> Result<Begun, IngestError> {
        let serial = self.identity.camera.serial.clone();
        let stem = candidate.name.stem();
        let mut report = blank_report(&self.config.profile, &candidate);
        let sidecar = match read_sidecar(
            &self.config.profile,
            volume,
            candidate.sidecar.as_ref(),
            self.read_faults,
        ) {
            Ok(s) => s,
            Err(why) => {
                tracing::warn!(recording = %stem, "{why}");
                fail(&mut report, "read-error", &why);
                return Ok(done(candidate, None, report, None));
            }
        };
        if let (Some(p), Some(size)) = (self.progress, sidecar.size) {
            p.add_bytes(size);
        }
        let prior = self.register.recordings_by_stem(&serial, &stem)?;
        let stored_before: Vec<&RecordingRow> =
            prior.iter().filter(|r| r.video.is_some()).collect();
        if !stored_before.is_empty() {
            match self.recognise_stored(volume, &candidate, &sidecar, &stored_before) {
                Ok(Some((row, verdict, digests))) => {
                    let id = row.id;
                    recognised_report(&mut report, self.store, row, verdict);
                    return Ok(done(candidate, Some(id), report, Some(digests)));
                }
                Ok(None) => {}
                Err(_) if self.cancel.is_cancelled() => return Err(IngestError::Cancelled),
                Err(why) => {
                    fail(&mut report, "read-error", &why);
                    return Ok(done(candidate, None, report, None));
                }
            }
        }
        if prior.is_empty() {
            self.new_to_register.borrow_mut().insert(stem.clone());
        }
        // A row left `discovered` by an interrupted run is this recording's row.
        let row = match prior.iter().find(|r| r.state == RecordingState::Discovered) {
            Some(r) => r.id,
            None => self.register.insert_discovered(
                self.id,
                &serial,
                &stem,
                candidate.name.start,
                self.clock.now(),
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
        match self.stream_copy(volume, &outcome, &sidecar) {
            Ok(copied) => Ok(Begun::Copied(Box::new(ReadIn {
                outcome,
                sidecar,
                copied,
            }))),
            Err(why) => {
                let way = self.settle(&mut outcome, Way::FIRST, Err(why))?;
                let outcome = self.copy_until_settled(volume, outcome, &sidecar, way)?;
                Ok(Begun::Done(Box::new(outcome)))
            }
        }
    }

    /// Waits for a recording's persist (run beside the next recording's read), commits it,
    /// and copies it again from the camera if the store could not prove it.
    pub(super) fn finish_recording(
        &mut self,
        volume: &mut dyn Volume,
        in_flight: InFlight<'_>,
    ) -> Result<Outcome, IngestError> {
        let InFlight {
            mut outcome,
            sidecar,
            persisting,
        } = in_flight;
        let persisted = match persisting.join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        let result = persisted.and_then(|facts| self.commit_copy(&mut outcome, facts));
        let way = self.settle(&mut outcome, Way::FIRST, result)?;
        self.copy_until_settled(volume, outcome, &sidecar, way)
    }

    /// Takes copies from the camera, synchronously, until the recording settles.
    fn copy_until_settled(
        &mut self,
        volume: &mut dyn Volume,
        mut outcome: Outcome,
        sidecar: &SidecarRead,
        mut way: Way,
    ) -> Result<Outcome, IngestError> {
        while let Way::Copy { attempt } = way {
            let result = self
                .stream_copy(volume, &outcome, sidecar)
                .and_then(|copied| persist::persist(self.store, copied))
                .and_then(|facts| self.commit_copy(&mut outcome, facts));
            way = self.settle(&mut outcome, attempt, result)?;
        }
        Ok(outcome)
    }

    /// Where copy number `attempt`'s result leaves the recording; `Err` stops the ingest.
    fn settle(
        &self,
        outcome: &mut Outcome,
        attempt: u32,
        result: Result<(), Attempt>,
    ) -> Result<Way, IngestError> {
        let stem = &outcome.report.stem;
        match result {
            Ok(()) => Ok(Way::Settled),
            // A cancelled read looks like a failed one: it must not mark the recording failed.
            Err(_) if self.cancel.is_cancelled() => Err(IngestError::Cancelled),
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
        &self,
        volume: &mut dyn Volume,
        outcome: &Outcome,
        sidecar: &SidecarRead,
    ) -> Result<persist::Copied, Attempt> {
        let name = &outcome.candidate.name;
        let serial = self.identity.camera.serial.clone();
        let profile = &self.config.profile;
        let file_names = persist::file_names(name, profile);
        // The area is only known once every byte is read, so the copy starts in the
        // recordings area and is moved to quarantine at persist time when a rule failed.
        let video = match &outcome.candidate.video {
            Some(video) => {
                let at = StorePath::new(Area::Recordings, name.day(), &serial, &file_names.0)
                    .map_err(|e| Attempt::GiveUp(chain(&e)))?;
                let mut pending = self
                    .store
                    .create(&at)
                    .map_err(|e| Attempt::Retry(chain(&e)))?
                    .with_proof_region(self.config.ingest.proof_region.0);
                let facts = self
                    .stream_video(volume, video, Some(&mut pending))
                    .map_err(Attempt::GiveUp)?;
                Some((pending, facts))
            }
            None => None,
        };
        let streamed = video.as_ref().map(|(_, facts)| facts);
        let verdict = self.judge(
            &outcome.candidate,
            sidecar,
            streamed.ok_or_else(|| "the camera has no video for this sidecar".to_string()),
        );
        let report = sidecar.report.as_ref();
        let clock = self.trusted_time(&outcome.candidate, report);
        self.note_clock(name.stem(), &clock);
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
            sidecar: self.copy_sidecar(volume, outcome, sidecar)?,
            facts,
        })
    }

    /// Streams the sidecar from the camera into a temporary copy in the store, proving it
    /// holds the bytes that were parsed and judged.
    fn copy_sidecar(
        &self,
        volume: &mut dyn Volume,
        outcome: &Outcome,
        sidecar: &SidecarRead,
    ) -> Result<Option<(PendingFile, u64, Digests)>, Attempt> {
        let (Some(file), Some(judged)) = (&outcome.candidate.sidecar, sidecar.digests) else {
            return Ok(None);
        };
        let name = &outcome.candidate.name;
        let file_name = name.file_name(&self.config.profile, FileKind::Sidecar);
        let serial = &self.identity.camera.serial;
        let at = StorePath::new(Area::Recordings, name.day(), serial, &file_name)
            .map_err(|e| Attempt::GiveUp(chain(&e)))?;
        let mut pending = self
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

    /// Commits a persisted recording as confirmed or quarantined, and reports it.
    pub(super) fn commit_copy(
        &mut self,
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
        self.register
            .record_stored(row, self.id, state, &facts, self.clock.now())
            .map_err(|e| Attempt::Fatal(e.into()))?;
        let report = &mut outcome.report;
        report.status = if state == RecordingState::Confirmed {
            Status::Confirmed
        } else {
            Status::Quarantined
        };
        fill_files(
            report,
            self.store,
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

    pub(super) fn stream_video(
        &self,
        volume: &mut dyn Volume,
        video: &VolumeFile,
        sink: Option<&mut dyn std::io::Write>,
    ) -> Result<VideoFacts, String> {
        if video.size > self.config.profile.max_video_bytes.0 {
            return Err(format!(
                "the video declares {} bytes, more than profile.max_video_bytes ({})",
                video.size, self.config.profile.max_video_bytes.0
            ));
        }
        let mut reader = volume
            .open_file(&video.path)
            .map_err(|e| format!("opening {} on the camera: {}", video.path, Chain(&e)))?;
        if let Some(throttle) = self.throttle {
            reader = Box::new(throttle::Throttled::new(
                reader,
                throttle,
                self.cancel.clone(),
            ));
        }
        let buffer = self.config.ingest.copy_buffer.0 as usize;
        let watch = copy::Watch {
            cancel: Some(self.cancel),
            progress: self.progress,
        };
        let streamed = match self.read_faults {
            Some(faults) => {
                let reader = faults::FaultyReader {
                    inner: reader,
                    faults,
                    file: video.path.clone(),
                    offset: 0,
                };
                copy::stream(reader, video.size, sink, true, buffer, watch)
            }
            None => copy::stream(reader, video.size, sink, true, buffer, watch),
        };
        let s = streamed.map_err(|e| format!("{}: {}", video.path, Chain(&e)))?;
        Ok(VideoFacts {
            file_name: video.name.clone(),
            size: s.size,
            digests: s.digests,
            bmff: s.bmff.unwrap_or_default(),
        })
    }

    pub(super) fn judge(
        &self,
        candidate: &Candidate,
        sidecar: &SidecarRead,
        video: Result<&VideoFacts, String>,
    ) -> Verdict {
        let profile = &self.config.profile;
        let video_name = candidate.name.file_name(profile, FileKind::Video);
        let mut verdict = checks::judge(
            profile,
            &checks::Evidence {
                camera_serial: &self.identity.camera.serial,
                identity_conflicts: &self.identity.conflicts,
                name: &candidate.name,
                video_name: &video_name,
                sidecar: sidecar
                    .report
                    .as_ref()
                    .ok_or_else(|| sidecar.missing.clone()),
                video,
            },
        );
        if !self.volume_damage.is_empty() {
            verdict.fail(
                "volume-damaged",
                format_args!(
                    "the camera's volume is damaged, so nothing on it is wiped: {}",
                    self.volume_damage
                ),
            );
        }
        verdict
    }
}
