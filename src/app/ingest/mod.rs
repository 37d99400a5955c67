//! The verified ingestion of one camera, top to bottom: identify, discover, make room,
//! copy and prove each recording, commit, and only then wipe what is proven.
//!
//! Every recording ends in exactly one of two places: proven in the store and wiped from
//! the camera, or kept on the camera (and, when it could be read, stored in quarantine with
//! its reasons). The camera is opened read-only until the wipe step, and the wipe step
//! re-reads the register to wipe only rows committed as confirmed with the same hashes.

mod attempt;
mod camera_logs;
mod checks;
mod clock_check;
mod consultations;
mod copy;
mod discover;
mod faults;
mod holder;
mod identity;
mod outcome;
mod persist;
mod progress;
mod reason;
mod rerun;
mod summary;
mod throttle;
mod wipe;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::base::clock::{Clock, SystemClock};
use crate::base::config::Config;
use crate::base::digest::Digests;
use crate::base::error::Chain;
use crate::camera::volume::{self, Access, Volume, VolumeError, VolumeFile};
use crate::custody::register::{
    RecordingId, RecordingState, Register, RegisterError, SessionId, StoredFacts,
};
use crate::custody::store::{Store, StoreError, StoreFaults};

pub use checks::{Verdict, VideoFacts};
pub use faults::ReadFaults;
pub use identity::{Identity, IdentityError, parse_device_ini};
pub use progress::{Cancel, Progress, ProgressSnapshot};
pub use reason::{Reason, joined as joined_reasons};

pub use camera_logs::LogReport;
pub use consultations::{HOLDER_UNKNOWN, ON_CAMERA_PURPOSE};
pub use summary::{CameraReport, FileReport, IgnoredReport, IngestReport, RecordingReport, Status};
pub use throttle::ReadThrottle;

use attempt::Attempt;
use discover::{Candidate, SidecarRead, discover};

/// Why an ingest could not finish; nothing unproven was wiped.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The camera's volume could not be opened or listed.
    #[error("camera source {source_path}")]
    Volume {
        /// The source given.
        source_path: PathBuf,
        /// What the volume layer said.
        #[source]
        error: VolumeError,
    },
    /// The camera could not be identified.
    #[error("camera source {source_path}")]
    Identity {
        /// The source given.
        source_path: PathBuf,
        /// Why.
        #[source]
        error: IdentityError,
    },
    /// The store could not be opened or written.
    #[error("store")]
    Store(#[from] StoreError),
    /// The register could not be opened or written.
    #[error("register")]
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
    // The docking's time, read once: the store's identity, the session and the camera's
    // clock check all count from the same instant, whatever the clock does meanwhile.
    let now = options.clock.now();
    let (store, mut register) = match (&options.store, &options.store_faults) {
        (Some(shared), None) => {
            // The service opened the store as its owner; a register under the store's
            // mount point is not created on the disk below.
            crate::custody::opener::check_mounted(&config.store)?;
            (shared.clone(), Register::open(&config.register.path)?)
        }
        (_, faults) => {
            let (mut store, register) =
                crate::custody::opener::open(&config.store, &config.register.path, now).map_err(
                    |e| match e {
                        crate::custody::opener::OwnerError::Store(e) => IngestError::from(e),
                        crate::custody::opener::OwnerError::Register(e) => IngestError::from(e),
                    },
                )?;
            if let Some(faults) = faults {
                store = store.with_faults(faults.clone());
            }
            (Arc::new(store), register)
        }
    };
    let profile = &config.profile;
    let volume_err = |error| IngestError::Volume {
        source_path: source.to_path_buf(),
        error,
    };

    let watch = volume::ReadWatch::new();
    if let Some(p) = &options.progress {
        p.watch_device(Some(watch.clone()));
    }
    let mut volume =
        volume::open_watched(source, profile, Access::ReadOnly, watch).map_err(volume_err)?;
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

    register.upsert_camera(&identity.camera, now)?;
    let session_id = register.begin_session(
        &identity.camera.serial,
        &source.display().to_string(),
        &profile.name,
        now,
    )?;
    // Read once at the start: this docking's own recordings never move its bounds.
    let bounds = register.read().and_then(|tx| {
        crate::custody::register::bounds::lower_bounds(
            &tx,
            &identity.camera.serial,
            session_id,
            now,
        )
    })?;
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
        volume_damage: String::new(),
        docked_at: now,
        lower_bound: crate::camera::evidence::trusted_time::LowerBound::best(bounds, now),
        new_to_register: std::cell::RefCell::default(),
        clocks: std::cell::RefCell::default(),
    };
    let result = session.run(volume, scan);
    let outcome = match &result {
        Ok(report) if report.all_clear() => "complete".to_string(),
        Ok(_) => "attention".to_string(),
        Err(IngestError::Cancelled) => "cancelled".to_string(),
        Err(e) => format!("failed: {}", Chain(e)),
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
    /// What the ownership map found wrong with the volume, on one line; empty when sound.
    volume_damage: String,
    /// The docking on the service's clock: the session's start.
    docked_at: chrono::DateTime<chrono::Utc>,
    /// The best lower bound on when the camera's new recordings were made (`clock_check`).
    lower_bound: Option<crate::camera::evidence::trusted_time::LowerBound>,
    /// The stems of the recordings the register had no row of at this docking: only they
    /// are checked against `lower_bound`.
    new_to_register: std::cell::RefCell<std::collections::BTreeSet<String>>,
    /// The trusted times of the recordings read at this docking, by stem (a copy taken
    /// again replaces its first). Filled while reading, so that a recording without fixes
    /// can lean on a camera clock already checked against GPS at this docking.
    clocks: std::cell::RefCell<
        std::collections::BTreeMap<String, crate::camera::evidence::trusted_time::TrustedTime>,
    >,
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
        let mut blocking = Vec::new();
        for d in &scan.damage {
            if self.is_cut_off_wipe_trace(d, &candidates)? {
                tracing::info!(damage = %d, "the remains of a cut-off wipe of a confirmed recording; the wipe is finished");
            } else {
                blocking.push(d.clone());
            }
        }
        let damage: Vec<String> = blocking.iter().map(ToString::to_string).collect();
        if !damage.is_empty() {
            self.volume_damage = volume::damage_summary(&blocking);
            tracing::error!(damage = %self.volume_damage, "the camera's volume is damaged: every recording is kept on it and stored in quarantine");
            warnings.push(format!(
                "the camera's volume is damaged ({}): every recording was read and stored in quarantine and nothing was wiped; keep the camera aside, untouched, for the technician",
                self.volume_damage
            ));
        }

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
        // Read while the camera is still open read-only; never wiped (not a recording).
        let logs = self.read_camera_logs(volume.as_mut(), &mut warnings);
        if let Err(e) = volume.close() {
            warnings.push(format!(
                "closing the camera after reading it failed: {}",
                Chain(&e)
            ));
        }
        // A damaged volume is never wiped: freeing a shared cluster destroys its other owner,
        // and its listing may miss files that are still there.
        if damage.is_empty() {
            self.wipe_confirmed(&mut outcomes, &mut warnings)?;
            self.record_cut_off_wipes(&on_camera, &ignored)?;
        }
        let clock = self.conclude_camera_clock()?;
        warnings.extend(clock.as_ref().and_then(|c| c.warning()));
        // After the clock check: a consultation's time is the camera's clock, checked too.
        let logs = self.import_camera_logs(logs, clock.as_ref(), &mut warnings)?;

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
            damage,
            clock,
            logs,
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

    /// Whether a finding is only what a wipe cut off while freeing a file leaves: one file's
    /// own chain ending early, the file of a recording the register holds as confirmed
    /// (its clusters are claimed by no other file, and the rerun finishes that wipe).
    fn is_cut_off_wipe_trace(
        &self,
        damage: &volume::Damage,
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
        let rows = self
            .register
            .recordings_by_stem(&self.identity.camera.serial, &owner.name.stem())?;
        Ok(rows.iter().any(|r| r.state == RecordingState::Confirmed))
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
}

/// A recording after its read from the camera.
enum Begun {
    /// Nothing left to do: recognised as stored, failed, or copied synchronously.
    Done(Box<Outcome>),
    /// Read into a temporary copy: to be persisted and committed.
    Copied(Box<ReadIn>),
}

/// A recording with nothing left to do.
fn done(
    candidate: Candidate,
    row: Option<RecordingId>,
    report: RecordingReport,
    video_digests: Option<Digests>,
) -> Begun {
    Begun::Done(Box::new(Outcome {
        candidate,
        row,
        report,
        video_digests,
    }))
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
