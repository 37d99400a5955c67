//! One recording's copy attempts: stream from the camera into the store while hashing and
//! walking its structure, judge the rules, commit; copy again when the store cannot prove it.

use crate::evidence::name::FileKind;
use crate::register::{RecordingState, StoredFacts};
use crate::store::{Area, StorePath};
use crate::volume::{Volume, VolumeFile};

use super::checks::{self, Verdict, VideoFacts};
use super::discover::{Candidate, SidecarRead};
use super::outcome::{fail, fill_files, gps_summary};
use super::{
    Attempt, COPY_ATTEMPTS, IngestError, Outcome, Session, Status, copy, faults, persist, throttle,
};

impl Session<'_> {
    /// Copies, proves and commits a recording from attempt `first` on, synchronously: the
    /// store could not prove an earlier copy, or the pipeline's first read failed.
    pub(super) fn copy_and_prove(
        &mut self,
        volume: &mut dyn Volume,
        mut outcome: Outcome,
        sidecar: &SidecarRead,
        first: u32,
    ) -> Result<Outcome, IngestError> {
        let stem = outcome.candidate.name.stem();
        for attempt in first..=COPY_ATTEMPTS {
            let result = self
                .stream_copy(volume, &outcome, sidecar)
                .and_then(|copied| persist::persist(self.store, copied))
                .and_then(|facts| self.commit_copy(&mut outcome, facts));
            match self.settle(&mut outcome, result, attempt, &stem)? {
                Some(()) => return Ok(outcome),
                None => continue,
            }
        }
        Ok(outcome)
    }

    /// What an attempt's result means: done (`Some`), try again (`None`), or stop (`Err`).
    pub(super) fn settle(
        &self,
        outcome: &mut Outcome,
        result: Result<(), Attempt>,
        attempt: u32,
        stem: &str,
    ) -> Result<Option<()>, IngestError> {
        match result {
            Ok(()) => Ok(Some(())),
            // A cancelled read looks like a failed one: it must not mark the recording failed.
            Err(_) if self.cancel.is_cancelled() => Err(IngestError::Cancelled),
            Err(Attempt::Retry(why)) if attempt < COPY_ATTEMPTS => {
                tracing::warn!(recording = %stem, attempt, "copy not proven, copying again from the camera: {why}");
                Ok(None)
            }
            Err(Attempt::Retry(why)) | Err(Attempt::GiveUp(why)) => {
                tracing::error!(recording = %stem, "left on the camera: {why}");
                fail(&mut outcome.report, "not-stored", &why);
                Ok(Some(()))
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
                    .map_err(|e| Attempt::GiveUp(e.to_string()))?;
                let mut pending = self
                    .store
                    .create(&at)
                    .map_err(|e| Attempt::Retry(e.to_string()))?
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
        let facts = StoredFacts {
            end: report.and_then(|r| r.trailer.as_ref()).map(|t| t.end),
            prerecord_secs: report
                .and_then(|r| r.header.as_ref())
                .map(|h| h.prerecord_secs),
            duration_secs: streamed.and_then(|s| s.bmff.duration_secs),
            video: None,
            sidecar: None,
            gps: report.map(gps_summary).unwrap_or_default(),
            flags: verdict.flags.clone(),
            reasons: verdict.reasons.clone(),
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
            sidecar: sidecar.bytes.clone().zip(sidecar.digests),
            facts,
        })
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
        report.reasons = facts.reasons;
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
            .map_err(|e| format!("opening {} on the camera: {e}", video.path))?;
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
        let s = streamed.map_err(|e| format!("{}: {e}", video.path))?;
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
        checks::judge(
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
        )
    }
}
