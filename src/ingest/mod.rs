//! The verified ingestion of one camera, top to bottom: identify, discover, make room,
//! copy and prove each recording, commit, and only then wipe what is proven.
//!
//! Every recording ends in exactly one of two places: proven in the store and wiped from
//! the camera, or kept on the camera (and, when it could be read, stored in quarantine with
//! its reasons). The camera is opened read-only until the wipe step, and the wipe step
//! re-reads the register to wipe only rows committed as confirmed with the same hashes.

mod checks;
mod copy;
mod faults;
mod identity;
mod persist;
mod progress;
mod report;
mod throttle;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::clock::{Clock, SystemClock};
use crate::config::{Config, Profile};
use crate::digest::{Digests, Hasher};
use crate::evidence::name::{FileKind, RecordingName};
use crate::evidence::sidecar::{self, SidecarReport};
use crate::register::{
    FileFacts, GpsSummary, RecordingId, RecordingRow, RecordingState, Register, RegisterError,
    SessionId, StoredFacts,
};
use crate::store::{Area, Store, StoreError, StoreFaults, StorePath};
use crate::volume::{self, Access, Volume, VolumeError, VolumeFile};

pub use checks::{Verdict, VideoFacts};
pub use faults::ReadFaults;
pub use identity::{Identity, IdentityError, parse_device_ini};
pub use progress::{Cancel, Progress, ProgressSnapshot};
pub use report::{CameraReport, FileReport, IgnoredReport, IngestReport, RecordingReport, Status};
pub use throttle::ReadThrottle;

/// How often a copy is taken again from the camera after the store failed to prove it.
const COPY_ATTEMPTS: u32 = 3;

/// Why an ingest could not finish; nothing unproven was wiped.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The camera's volume could not be opened or listed.
    #[error("camera source {source_path}: {error}")]
    Volume {
        /// The source given.
        source_path: PathBuf,
        /// What the volume layer said.
        error: VolumeError,
    },
    /// The camera could not be identified.
    #[error("camera source {source_path}: {error}")]
    Identity {
        /// The source given.
        source_path: PathBuf,
        /// Why.
        error: IdentityError,
    },
    /// The store could not be opened or written.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The register could not be opened or written.
    #[error("register: {0}")]
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
    /// Faults injected into the store (tests and harnesses only).
    pub store_faults: Option<Arc<dyn StoreFaults>>,
    /// Faults injected into the reads from the camera (tests and harnesses only).
    pub read_faults: Option<Arc<dyn ReadFaults>>,
    /// Stops the ingest at the next buffer when cancelled.
    pub cancel: Cancel,
    /// Counters updated as bytes are read, for status displays.
    pub progress: Option<Arc<Progress>>,
    /// Slows the camera's video reads down (`[simulate]`: tests, demos, benchmarks).
    pub throttle: Option<ReadThrottle>,
    /// The configured store, already open, when several ingests share it (the service):
    /// opening a store removes the temp files a crash left, which must not happen while
    /// another ingest is writing one. Ignored when `store_faults` is set.
    pub store: Option<Arc<Store>>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            usb_serial: None,
            clock: Arc::new(SystemClock),
            store_faults: None,
            read_faults: None,
            cancel: Cancel::new(),
            progress: None,
            throttle: None,
            store: None,
        }
    }
}

/// Runs the whole pipeline once on one camera source.
pub fn ingest(
    config: &Config,
    source: &Path,
    options: &Options,
) -> Result<IngestReport, IngestError> {
    let store = match (&options.store, &options.store_faults) {
        (Some(shared), None) => shared.clone(),
        (_, faults) => {
            let mut store = Store::open(&config.store.path)?;
            if let Some(faults) = faults {
                store = store.with_faults(faults.clone());
            }
            Arc::new(store)
        }
    };
    let mut register = Register::open(&config.register.path)?;
    let profile = &config.profile;
    let volume_err = |error| IngestError::Volume {
        source_path: source.to_path_buf(),
        error,
    };

    let mut volume = volume::open(source, profile, Access::ReadOnly).map_err(volume_err)?;
    let scan = volume.scan().map_err(volume_err)?;
    let identity = identity::establish(
        options.usb_serial.as_deref(),
        scan.device_ini.as_deref(),
        &profile.device_ini,
        &profile.serial_regex(),
    )
    .map_err(|error| IngestError::Identity {
        source_path: source.to_path_buf(),
        error,
    })?;

    let now = options.clock.now();
    register.upsert_camera(&identity.camera, now)?;
    let session_id = register.begin_session(
        &identity.camera.serial,
        &source.display().to_string(),
        &profile.name,
        now,
    )?;
    let mut session = Session {
        config,
        source,
        store: &store,
        register: &mut register,
        clock: options.clock.as_ref(),
        id: session_id,
        identity: &identity,
        cancel: &options.cancel,
        progress: options.progress.as_deref(),
        throttle: options.throttle,
        read_faults: options.read_faults.as_deref(),
    };
    let result = session.run(volume, scan);
    let outcome = match &result {
        Ok(report) if report.all_clear() => "complete".to_string(),
        Ok(_) => "attention".to_string(),
        Err(IngestError::Cancelled) => "cancelled".to_string(),
        Err(e) => format!("failed: {e}"),
    };
    let at = options.clock.now();
    register.finish_session(session_id, &outcome, at)?;
    result
}

/// One ingest session: the camera, the store and the register it works with.
struct Session<'a> {
    config: &'a Config,
    source: &'a Path,
    store: &'a Store,
    register: &'a mut Register,
    clock: &'a dyn Clock,
    id: SessionId,
    identity: &'a Identity,
    cancel: &'a Cancel,
    progress: Option<&'a Progress>,
    throttle: Option<ReadThrottle>,
    read_faults: Option<&'a dyn ReadFaults>,
}

/// A recording found on the camera: its parsed name and the files that carry it.
struct Candidate {
    name: RecordingName,
    video: Option<VolumeFile>,
    sidecar: Option<VolumeFile>,
}

/// What happened to one recording, kept until the wipe step and the report.
struct Outcome {
    candidate: Candidate,
    /// The register's row, once there is one.
    row: Option<RecordingId>,
    report: RecordingReport,
    video_digests: Option<Digests>,
}

impl Session<'_> {
    fn run(
        &mut self,
        mut volume: Box<dyn Volume>,
        scan: volume::Scan,
    ) -> Result<IngestReport, IngestError> {
        let profile = &self.config.profile;
        let mut warnings: Vec<String> = Vec::new();
        if scan.label.as_deref().map(str::trim) != Some(profile.volume_label.as_str()) {
            tracing::info!(label = ?scan.label, "volume label differs from the profile's");
        }
        let (candidates, mut ignored) = discover(profile, &scan.files);
        let on_camera: Vec<String> = candidates.iter().map(|c| c.name.stem()).collect();
        ignored.extend(scan.ignored.iter().map(|i| IgnoredReport {
            path: i.path.clone(),
            reason: i.reason.clone(),
        }));
        self.ensure_room(&candidates)?;

        if let Some(p) = self.progress {
            let bytes = candidates
                .iter()
                .flat_map(|c| [&c.video, &c.sidecar])
                .flatten()
                .map(|f| f.size)
                .fold(0u64, u64::saturating_add);
            p.start(candidates.len() as u64, bytes);
        }
        let mut outcomes = self.ingest_recordings(volume.as_mut(), candidates)?;
        if let Some(p) = self.progress {
            p.reading(None);
        }
        // Stopped now, the camera keeps everything; the next docking recognises what is stored.
        self.check_cancel()?;
        if let Err(e) = volume.close() {
            warnings.push(format!("closing the camera after reading it failed: {e}"));
        }
        self.wipe_confirmed(&mut outcomes, &mut warnings)?;
        self.record_cut_off_wipes(&on_camera, &ignored)?;

        let camera = &self.identity.camera;
        Ok(IngestReport {
            source: self.source.to_path_buf(),
            camera: CameraReport {
                serial: camera.serial.clone(),
                model: camera.model.clone(),
                firmware: camera.firmware.clone(),
            },
            session: self.id,
            recordings: outcomes.into_iter().map(|o| o.report).collect(),
            ignored,
            warnings,
        })
    }

    /// Every recording in name order, pipelined: while one recording is persisted and read
    /// back from the store on a second thread, the next is read from the camera.
    fn ingest_recordings(
        &mut self,
        volume: &mut dyn Volume,
        candidates: Vec<Candidate>,
    ) -> Result<Vec<Outcome>, IngestError> {
        let store = self.store;
        let mut outcomes = Vec::with_capacity(candidates.len());
        std::thread::scope(|scope| {
            let mut in_flight: Option<InFlight<'_>> = None;
            for candidate in candidates {
                if let Some(p) = self.progress {
                    p.reading(Some(candidate.name.stem()));
                }
                let begun = self
                    .check_cancel()
                    .and_then(|()| self.begin_recording(volume, candidate));
                // The previous recording is committed whatever happened to this one: it is proven.
                if let Some(previous) = in_flight.take() {
                    outcomes.push(self.finish_recording(volume, previous)?);
                    if let Some(p) = self.progress {
                        p.finished_one();
                    }
                }
                match begun? {
                    Begun::Done(outcome) => {
                        outcomes.push(*outcome);
                        if let Some(p) = self.progress {
                            p.finished_one();
                        }
                    }
                    Begun::Copied(read_in) => {
                        let ReadIn {
                            outcome,
                            sidecar,
                            copied,
                        } = *read_in;
                        let persisting = std::thread::Builder::new()
                            .name("persist".into())
                            .spawn_scoped(scope, move || persist::persist(store, copied))
                            .map_err(|e| IngestError::Thread(e.to_string()))?;
                        in_flight = Some(InFlight {
                            outcome,
                            sidecar,
                            persisting,
                        });
                    }
                }
            }
            if let Some(previous) = in_flight.take() {
                outcomes.push(self.finish_recording(volume, previous)?);
                if let Some(p) = self.progress {
                    p.finished_one();
                }
            }
            Ok(outcomes)
        })
    }

    fn check_cancel(&self) -> Result<(), IngestError> {
        if self.cancel.is_cancelled() {
            Err(IngestError::Cancelled)
        } else {
            Ok(())
        }
    }

    /// Refuses to start when the store cannot take what the camera holds plus the reserve.
    fn ensure_room(&self, candidates: &[Candidate]) -> Result<(), IngestError> {
        let serial = &self.identity.camera.serial;
        let mut needed: u64 = 0;
        for c in candidates {
            let rows = self.register.recordings_by_stem(serial, &c.name.stem())?;
            if rows.iter().any(|r| r.video.is_some()) {
                continue; // a re-run: hashed and compared, not copied again
            }
            // A size over the profile's limit is never copied (that recording is refused on
            // its own): a hostile entry must not make the store look full for the others.
            let size = |f: &Option<VolumeFile>, max: u64| {
                f.as_ref()
                    .map_or(0, |f| if f.size > max { 0 } else { f.size })
            };
            let profile = &self.config.profile;
            needed = needed
                .saturating_add(size(&c.video, profile.max_video_bytes.0))
                .saturating_add(size(&c.sidecar, profile.max_sidecar_bytes.0));
        }
        let free = self.store.free_bytes()?;
        let reserve = self.config.store.reserve.0;
        if needed > 0 && needed.saturating_add(reserve) > free {
            return Err(IngestError::NoRoom {
                store: self.store.root().to_path_buf(),
                serial: serial.clone(),
                needed,
                reserve,
                free,
            });
        }
        Ok(())
    }

    /// Reads one recording from the camera into the store; what is left to do (persist and
    /// commit) is returned for the pipeline. Per-recording failures become its outcome.
    fn begin_recording(
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
                return Ok(Begun::Done(Box::new(Outcome {
                    candidate,
                    row: None,
                    report,
                    video_digests: None,
                })));
            }
        };
        if let (Some(p), Some(bytes)) = (self.progress, &sidecar.bytes) {
            p.add_bytes(bytes.len() as u64);
        }
        let prior = self.register.recordings_by_stem(&serial, &stem)?;
        let stored_before: Vec<&RecordingRow> =
            prior.iter().filter(|r| r.video.is_some()).collect();
        if !stored_before.is_empty() {
            match self.recognise_stored(volume, &candidate, &sidecar, &stored_before) {
                Ok(Some((row, verdict, digests))) => {
                    let status = match row.state {
                        RecordingState::Confirmed | RecordingState::Wiped
                            if verdict.confirmed() =>
                        {
                            Status::AlreadyStored
                        }
                        _ => Status::Quarantined,
                    };
                    report.status = status;
                    fill_files(
                        &mut report,
                        self.store,
                        row.video.as_ref(),
                        row.sidecar.as_ref(),
                    );
                    report.register_id = Some(row.id);
                    report.flags = verdict.flags;
                    report.reasons = if status == Status::Quarantined && verdict.reasons.is_empty()
                    {
                        row.reasons.clone()
                    } else {
                        verdict.reasons
                    };
                    return Ok(Begun::Done(Box::new(Outcome {
                        candidate,
                        row: Some(row.id),
                        report,
                        video_digests: Some(digests),
                    })));
                }
                Ok(None) => {}
                Err(_) if self.cancel.is_cancelled() => return Err(IngestError::Cancelled),
                Err(why) => {
                    fail(&mut report, "read-error", &why);
                    return Ok(Begun::Done(Box::new(Outcome {
                        candidate,
                        row: None,
                        report,
                        video_digests: None,
                    })));
                }
            }
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
        let first = self.stream_copy(volume, &outcome, &sidecar);
        match first {
            Ok(copied) => Ok(Begun::Copied(Box::new(ReadIn {
                outcome,
                sidecar,
                copied,
            }))),
            Err(attempt) => match self.settle(&mut outcome, Err(attempt), 1, &stem)? {
                Some(()) => Ok(Begun::Done(Box::new(outcome))),
                None => Ok(Begun::Done(Box::new(
                    self.copy_and_prove(volume, outcome, &sidecar, 2)?,
                ))),
            },
        }
    }

    /// Waits for a recording's persist (run beside the next recording's read), commits it,
    /// and copies it again from the camera if the store could not prove it.
    fn finish_recording(
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
        let stem = outcome.report.stem.clone();
        match self.settle(&mut outcome, result, 1, &stem)? {
            Some(()) => Ok(outcome),
            None => self.copy_and_prove(volume, outcome, &sidecar, 2),
        }
    }

    /// On a re-run: hashes the camera's copy and, when the register already holds those
    /// hashes and the stored files still read back equal, returns that row: nothing is stored twice.
    fn recognise_stored<'r>(
        &self,
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
            Some(video) => match self.stream_video(volume, video, None) {
                Ok(s) => Some(s),
                Err(why) if self.cancel.is_cancelled() => return Err(why),
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
            let path = self.store.root().join(&file.path);
            match self.store.read_back(&path) {
                Ok(d) if d == file.digests => {}
                Ok(_) | Err(_) => {
                    tracing::warn!(path = %path.display(), "stored copy no longer reads back equal; copying again");
                    return Ok(None);
                }
            }
        }
        match (streamed, &row.video) {
            (Some(streamed), _) => {
                let verdict = self.judge(candidate, sidecar, Ok(&streamed));
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

    /// Copies, proves and commits a recording from attempt `first` on, synchronously: the
    /// store could not prove an earlier copy, or the pipeline's first read failed.
    fn copy_and_prove(
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
    fn settle(
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
    fn stream_copy(
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
                    .map_err(|e| Attempt::Retry(e.to_string()))?;
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
    fn commit_copy(&mut self, outcome: &mut Outcome, facts: StoredFacts) -> Result<(), Attempt> {
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

    fn stream_video(
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

    fn judge(
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

    /// Removes from the camera the recordings the register holds as confirmed, and records each wipe.
    fn wipe_confirmed(
        &mut self,
        outcomes: &mut [Outcome],
        warnings: &mut Vec<String>,
    ) -> Result<(), IngestError> {
        if !outcomes.iter().any(|o| o.report.status.may_wipe()) {
            return Ok(());
        }
        let profile = &self.config.profile;
        let mut volume = match volume::open(self.source, profile, Access::ReadWrite) {
            Ok(v) => v,
            Err(e) => {
                warnings.push(format!(
                    "could not reopen the camera to wipe it, nothing was wiped: {e}"
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
                    "could not list the camera again before wiping, nothing was wiped: {e}"
                ));
                return Ok(());
            }
        };
        let mode = self.config.wipe.mode;
        for o in outcomes.iter_mut().filter(|o| o.report.status.may_wipe()) {
            let Some(row) = o.row else { continue };
            if !self.still_proven(row, o.video_digests)? {
                warnings.push(format!(
                    "{}: the register no longer holds it as confirmed with these hashes; not wiped",
                    o.report.stem
                ));
                continue;
            }
            let files: Vec<&VolumeFile> =
                [o.candidate.video.as_ref(), o.candidate.sidecar.as_ref()]
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
                    warnings.push(format!("{}: wiping {} failed: {e}", o.report.stem, f.path));
                    wiped_all = false;
                    break;
                }
            }
            if wiped_all {
                let detail = format!("video and sidecar removed from the camera ({mode:?})");
                self.register.record_state(
                    row,
                    self.id,
                    RecordingState::Wiped,
                    &detail,
                    self.clock.now(),
                )?;
                o.report.wiped = true;
                tracing::info!(recording = %o.report.stem, "wiped from the camera");
            }
        }
        if let Err(e) = volume.close() {
            warnings.push(format!(
                "flushing the camera after the wipe failed; dock it again to finish: {e}"
            ));
        }
        Ok(())
    }

    /// Records as wiped the confirmed recordings this camera no longer holds: a run killed
    /// between its wipe and the wipe's commit leaves them so (the crash harness found it),
    /// and the register must say what the camera holds. Anything the scan mentioned, even
    /// as ignored, is left alone, and so is a camera whose identity is in doubt.
    fn record_cut_off_wipes(
        &mut self,
        on_camera: &[String],
        ignored: &[IgnoredReport],
    ) -> Result<(), IngestError> {
        if !self.identity.conflicts.is_empty() {
            return Ok(());
        }
        let serial = self.identity.camera.serial.clone();
        for row in self
            .register
            .recordings_in_state(&serial, RecordingState::Confirmed)?
        {
            let mentioned =
                on_camera.contains(&row.stem) || ignored.iter().any(|i| i.path.contains(&row.stem));
            if mentioned {
                continue;
            }
            tracing::warn!(recording = %row.stem, "confirmed, and no longer on the camera: recording the wipe whose commit was cut off");
            let detail =
                "not on the camera at its next docking: the wipe's commit had been cut off";
            self.register.record_state(
                row.id,
                self.id,
                RecordingState::Wiped,
                detail,
                self.clock.now(),
            )?;
        }
        Ok(())
    }

    /// Whether the register's committed row still says confirmed (or wiped) with the hashes just read.
    fn still_proven(
        &self,
        row: RecordingId,
        video_digests: Option<Digests>,
    ) -> Result<bool, IngestError> {
        let Some(row) = self.register.recording(row)? else {
            return Ok(false);
        };
        let state_ok = matches!(row.state, RecordingState::Confirmed | RecordingState::Wiped);
        let hashes_ok = video_digests.is_some() && row.video.map(|f| f.digests) == video_digests;
        Ok(state_ok && hashes_ok)
    }
}

/// A recording after its read from the camera.
enum Begun {
    /// Nothing left to do: recognised as stored, failed, or copied synchronously.
    Done(Box<Outcome>),
    /// Read into a temporary copy: to be persisted and committed.
    Copied(Box<ReadIn>),
}

/// A recording read into a temporary copy in the store.
struct ReadIn {
    outcome: Outcome,
    sidecar: SidecarRead,
    copied: persist::Copied,
}

/// A recording being persisted on its own thread.
struct InFlight<'scope> {
    outcome: Outcome,
    /// Kept for a copy again from the camera, should the store fail to prove this one.
    sidecar: SidecarRead,
    persisting: std::thread::ScopedJoinHandle<'scope, Result<StoredFacts, Attempt>>,
}

/// How one copy attempt ended when it did not end with a commit.
enum Attempt {
    /// The store could not prove the copy: copy again from the camera.
    Retry(String),
    /// This recording cannot be copied now (read error, impossible name): leave it.
    GiveUp(String),
    /// The register failed: stop the whole ingest.
    Fatal(IngestError),
}

/// A sidecar as read from the camera: its bytes, hashes and parse, or why there is none.
struct SidecarRead {
    bytes: Option<Vec<u8>>,
    digests: Option<Digests>,
    report: Option<SidecarReport>,
    missing: String,
}

fn read_sidecar(
    profile: &Profile,
    volume: &mut dyn Volume,
    file: Option<&VolumeFile>,
    faults: Option<&dyn ReadFaults>,
) -> Result<SidecarRead, String> {
    let Some(file) = file else {
        return Ok(SidecarRead {
            bytes: None,
            digests: None,
            report: None,
            missing: "the camera has no sidecar for this video".into(),
        });
    };
    let max = profile.max_sidecar_bytes.0;
    if file.size > max {
        return Ok(SidecarRead {
            bytes: None,
            digests: None,
            report: None,
            missing: format!(
                "the sidecar {} declares {} bytes, more than profile.max_sidecar_bytes ({max}); it was left on the camera unread",
                file.path, file.size
            ),
        });
    }
    if let Some(faults) = faults {
        faults
            .before_read(&file.path, 0)
            .map_err(|e| format!("reading {} from the camera: {e}", file.path))?;
    }
    let bytes = volume
        .read_small(&file.path, max)
        .map_err(|e| format!("reading {} from the camera: {e}", file.path))?;
    let mut h = Hasher::new();
    h.update(&bytes);
    let report = sidecar::parse(profile, &bytes);
    Ok(SidecarRead {
        digests: Some(h.finish()),
        bytes: Some(bytes),
        report: Some(report),
        missing: String::new(),
    })
}

/// Pairs videos and sidecars by their parsed names; anything else is reported, never used.
fn discover(profile: &Profile, files: &[VolumeFile]) -> (Vec<Candidate>, Vec<IgnoredReport>) {
    let mut by_stem: BTreeMap<String, Candidate> = BTreeMap::new();
    let mut ignored = Vec::new();
    for f in files {
        let (name, kind) = match RecordingName::parse(profile, &f.name) {
            Ok(parsed) => parsed,
            Err(e) => {
                ignored.push(IgnoredReport {
                    path: f.path.to_string(),
                    reason: e.to_string(),
                });
                continue;
            }
        };
        let day = name.day().format("%Y%m%d").to_string();
        if f.day_dir != day {
            ignored.push(IgnoredReport {
                path: f.path.to_string(),
                reason: format!(
                    "recorded on {day} but filed under day folder {}",
                    crate::evidence::name::escape_name(&f.day_dir)
                ),
            });
            continue;
        }
        let entry = by_stem.entry(name.stem()).or_insert_with(|| Candidate {
            name,
            video: None,
            sidecar: None,
        });
        match kind {
            FileKind::Video => entry.video = Some(f.clone()),
            FileKind::Sidecar => entry.sidecar = Some(f.clone()),
        }
    }
    (by_stem.into_values().collect(), ignored)
}

fn gps_summary(report: &SidecarReport) -> GpsSummary {
    let f = &report.fixes;
    GpsSummary {
        fixes: f.count,
        no_fix: f.no_fix,
        first: f.first.as_ref().map(|x| (x.time, x.lat, x.lon)),
        last: f.last.as_ref().map(|x| (x.time, x.lat, x.lon)),
        bbox: f
            .bbox
            .as_ref()
            .map(|b| (b.min_lat, b.max_lat, b.min_lon, b.max_lon)),
    }
}

fn blank_report(profile: &Profile, candidate: &Candidate) -> RecordingReport {
    let kind = if candidate.video.is_some() {
        FileKind::Video
    } else {
        FileKind::Sidecar
    };
    RecordingReport {
        file_name: candidate.name.file_name(profile, kind),
        stem: candidate.name.stem(),
        status: Status::Failed,
        wiped: false,
        size: None,
        blake3: None,
        sha256: None,
        stored_path: None,
        sidecar: None,
        flags: Vec::new(),
        reasons: Vec::new(),
        register_id: None,
    }
}

fn fail(report: &mut RecordingReport, code: &str, why: &str) {
    report.status = Status::Failed;
    report.reasons.push(format!("{code}: {why}"));
}

fn fill_files(
    report: &mut RecordingReport,
    store: &Store,
    video: Option<&FileFacts>,
    sidecar: Option<&FileFacts>,
) {
    if let Some(v) = video {
        report.size = Some(v.size);
        report.blake3 = Some(v.digests.blake3_hex());
        report.sha256 = Some(v.digests.sha256_hex());
        report.stored_path = Some(store.root().join(&v.path));
    }
    report.sidecar = sidecar.map(|s| FileReport {
        file_name: Path::new(&s.path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        size: s.size,
        blake3: s.digests.blake3_hex(),
        sha256: s.digests.sha256_hex(),
        stored_path: store.root().join(&s.path),
    });
}
