//! One camera's way, top to bottom, and each recording's way within it: every stage is
//! called from here, in order, with what it needs; each lives in its own file.
//!
//! 1. The camera opened read-only and listed (`camera::volume`), identified (`identity`),
//!    and a session begun in the register.
//! 2. Discover: the recordings on it, sidecar beside video (`discover`).
//! 3. Room: refuse to start when the store cannot take them (`room`).
//! 4. Damage: a damaged volume quarantines every recording and is never wiped (`damage`).
//! 5. Each recording, pipelined: attempt (read from the camera into a temporary copy in the
//!    store, judged: `attempt`), persist (proven by read-back, on a second thread while the
//!    next recording is read: `persist`), commit (`commit`), and copy again from the
//!    camera while the store cannot prove the copy (`attempt::settle`).
//! 6. The camera's own logs read (`camera_logs`), the camera closed.
//! 7. Wipe what the register holds as proven (`wipe`).
//! 8. The camera's clock concluded (`clock_check`), then its logs imported
//!    (`consultations`), and the report.

use std::path::Path;

use crate::base::config::Config;
use crate::base::error::Chain;
use crate::camera::evidence::trusted_time::LowerBound;
use crate::camera::volume::{self, Access, Volume};
use crate::custody::register::{Register, StoredFacts, bounds};
use crate::custody::store::Store;

use super::attempt;
use super::clock_check::ClockCheck;
use super::discover::{Candidate, SidecarRead, discover};
use super::docking::Docking;
use super::outcome::{Again, Attempt, Begun, FirstRead, Outcome, ReadIn, Way};
use super::reader::Reader;
use super::{
    CameraReport, IgnoredReport, IngestError, IngestReport, Options, camera_logs, commit,
    consultations, damage, identity, persist, room, wipe,
};

/// Runs the whole pipeline once on one camera source, with the store and register its
/// caller opened as their owner (`custody::opener`): the service opens the store once for
/// all ingests (opening it removes the temp files a crash left, which must not happen
/// while another ingest writes one) and the register once per camera.
pub fn ingest(
    config: &Config,
    source: &Path,
    store: &Store,
    register: &mut Register,
    options: &Options,
) -> Result<IngestReport, IngestError> {
    // The docking's time, read once: the session and the camera's clock check both count
    // from the same instant, whatever the clock does meanwhile.
    let now = options.clock.now();
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
    let session = register.begin_session(
        &identity.camera.serial,
        &source.display().to_string(),
        &profile.name,
        now,
    )?;
    // Read once at the start: this docking's own recordings never move its bounds.
    let bounds = register
        .read()
        .and_then(|tx| bounds::lower_bounds(&tx, &identity.camera.serial, session, now))?;
    let docking = Docking {
        config,
        source,
        store,
        identity: &identity,
        session,
        docked_at: now,
        clock: options.clock.as_ref(),
        cancel: &options.cancel,
        progress: options.progress.as_deref(),
        throttle: options.throttle,
        read_faults: options.read_faults.as_deref(),
    };
    let clocks = ClockCheck::new(config, now, LowerBound::best(bounds, now));
    let result = camera_way(&docking, register, &clocks, volume, scan);
    let outcome = match &result {
        Ok(report) if report.all_clear() => "complete".to_string(),
        Ok(_) => "attention".to_string(),
        Err(IngestError::Cancelled) => "cancelled".to_string(),
        Err(e) => format!("failed: {}", Chain(e)),
    };
    let at = options.clock.now();
    register.finish_session(session, &outcome, at)?;
    result
}

/// The camera's way once it is identified and its session begun: stages 2 to 8.
fn camera_way(
    docking: &Docking<'_>,
    register: &mut Register,
    clocks: &ClockCheck,
    mut volume: Box<dyn Volume>,
    scan: volume::Scan,
) -> Result<IngestReport, IngestError> {
    let config = docking.config;
    let serial = docking.serial();
    let mut warnings: Vec<String> = Vec::new();
    if scan.label.as_deref().map(str::trim) != Some(config.profile.volume_label.as_str()) {
        tracing::info!(label = ?scan.label, "volume label differs from the profile's");
    }

    // 2. Discover.
    let (candidates, mut ignored) = discover(&config.profile, &scan.files);
    let on_camera: Vec<String> = candidates.iter().map(|c| c.name.stem()).collect();
    ignored.extend(scan.ignored.iter().map(|i| IgnoredReport {
        path: i.path.clone(),
        reason: i.reason.clone(),
    }));

    // 3. Room.
    room::ensure_room(config, docking.store, register, serial, &candidates)?;

    // 4. Damage.
    let blocking = damage::blocking(register, serial, &scan.damage, &candidates)?;
    let damage: Vec<String> = blocking.iter().map(ToString::to_string).collect();
    let volume_damage = if damage.is_empty() {
        String::new()
    } else {
        let summary = damage::summary(&blocking);
        tracing::error!(damage = %summary, "the camera's volume is damaged: every recording is kept on it and stored in quarantine");
        warnings.push(format!(
            "the camera's volume is damaged ({summary}): every recording was read and stored in quarantine and nothing was wiped; keep the camera aside, untouched, for the technician"
        ));
        summary
    };

    // 5. Each recording: attempt, persist, commit.
    if let Some(p) = docking.progress {
        let bytes = candidates
            .iter()
            .flat_map(|c| [&c.video, &c.sidecar])
            .flatten()
            .map(|f| f.size)
            .fold(0u64, u64::saturating_add);
        p.start(candidates.len() as u64, bytes);
    }
    let reader = Reader {
        docking,
        clocks,
        volume_damage: &volume_damage,
    };
    let mut outcomes = recordings_way(&reader, register, volume.as_mut(), candidates)?;
    if let Some(p) = docking.progress {
        p.reading(None);
    }
    // Stopped now, the camera keeps everything; the next docking recognises what is stored.
    docking.check_cancel()?;

    // 6. The camera's logs: read while the camera is still open read-only; never wiped (not
    // a recording).
    let logs = camera_logs::read_camera_logs(docking, volume.as_mut(), &mut warnings);
    if let Err(e) = volume.close() {
        warnings.push(format!(
            "closing the camera after reading it failed: {}",
            Chain(&e)
        ));
    }

    // 7. Wipe. A damaged volume never is: freeing a shared cluster destroys its other owner,
    // and its listing may miss files that are still there.
    if damage.is_empty() {
        wipe::wipe_confirmed(docking, register, &mut outcomes, &mut warnings)?;
        wipe::record_cut_off_wipes(docking, register, &on_camera, &ignored)?;
    }

    // 8. The camera's clock, then its logs: a consultation's time is the camera's clock,
    // checked too.
    let clock = clocks.conclude(register, docking.session, serial)?;
    warnings.extend(clock.as_ref().and_then(|c| c.warning()));
    let logs = consultations::import_camera_logs(
        docking,
        register,
        clocks,
        logs,
        clock.as_ref(),
        &mut warnings,
    )?;

    let camera = &docking.identity.camera;
    Ok(IngestReport {
        source: docking.source.to_path_buf(),
        camera: CameraReport {
            serial: camera.serial.clone(),
            model: camera.model.clone(),
            firmware: camera.firmware.clone(),
        },
        session: docking.session,
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
fn recordings_way(
    reader: &Reader<'_>,
    register: &mut Register,
    volume: &mut dyn Volume,
    candidates: Vec<Candidate>,
) -> Result<Vec<Outcome>, IngestError> {
    let docking = reader.docking;
    let store = docking.store;
    let finished_one = || {
        if let Some(p) = docking.progress {
            p.finished_one();
        }
    };
    let mut outcomes = Vec::with_capacity(candidates.len());
    std::thread::scope(|scope| {
        let mut in_flight: Option<InFlight<'_>> = None;
        for candidate in candidates {
            if let Some(p) = docking.progress {
                p.reading(Some(candidate.name.stem()));
            }
            let begun = attempt(reader, register, volume, candidate);
            // The previous recording is committed whatever happened to this one: it is proven.
            if let Some(previous) = in_flight.take() {
                match finish_recording(reader, register, volume, previous) {
                    Ok(outcome) => outcomes.push(outcome),
                    Err(e) => {
                        keep_copy_read(store, e.register_unreachable(), begun);
                        return Err(e);
                    }
                }
                finished_one();
            }
            match begun? {
                Begun::Done(outcome) => {
                    outcomes.push(*outcome);
                    finished_one();
                }
                Begun::Copied(read_in) => {
                    let ReadIn {
                        outcome,
                        sidecar,
                        copied,
                    } = *read_in;
                    // Persist, beside the next recording's read.
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
            outcomes.push(finish_recording(reader, register, volume, previous)?);
            finished_one();
        }
        Ok(outcomes)
    })
}

/// Attempt: one recording read from the camera into a temporary copy in the store; a copy
/// whose read failed is taken again at once, synchronously.
fn attempt(
    reader: &Reader<'_>,
    register: &mut Register,
    volume: &mut dyn Volume,
    candidate: Candidate,
) -> Result<Begun, IngestError> {
    reader.docking.check_cancel()?;
    match attempt::begin(reader, register, volume, candidate)? {
        FirstRead::Done(outcome) => Ok(Begun::Done(outcome)),
        FirstRead::Copied(read_in) => Ok(Begun::Copied(read_in)),
        FirstRead::Again(again) => {
            let Again {
                outcome,
                sidecar,
                way,
            } = *again;
            let outcome = copy_until_settled(reader, register, volume, outcome, &sidecar, way)?;
            Ok(Begun::Done(Box::new(outcome)))
        }
    }
}

/// Waits for a recording's persist, commits it, and copies it again from the camera if the
/// store could not prove it.
fn finish_recording(
    reader: &Reader<'_>,
    register: &mut Register,
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
    let result =
        persisted.and_then(|facts| commit::commit(reader.docking, register, &mut outcome, facts));
    let way = attempt::settle(reader, &mut outcome, Way::FIRST, result)?;
    copy_until_settled(reader, register, volume, outcome, &sidecar, way)
}

/// Takes copies from the camera, synchronously, until the recording settles: attempt,
/// persist, commit, each time.
fn copy_until_settled(
    reader: &Reader<'_>,
    register: &mut Register,
    volume: &mut dyn Volume,
    mut outcome: Outcome,
    sidecar: &SidecarRead,
    mut way: Way,
) -> Result<Outcome, IngestError> {
    while let Way::Copy { attempt } = way {
        let result = attempt::stream_copy(reader, volume, &outcome, sidecar)
            .and_then(|copied| persist::persist(reader.docking.store, copied))
            .and_then(|facts| commit::commit(reader.docking, register, &mut outcome, facts));
        way = attempt::settle(reader, &mut outcome, attempt, result)?;
    }
    Ok(outcome)
}

/// The register was lost while a recording was being read: the copy read in full is
/// still made durable and proven in the store (the ingest stops without committing it),
/// so that the copy in progress is never half-done; the next docking recognises it.
fn keep_copy_read(store: &Store, unreachable: bool, begun: Result<Begun, IngestError>) {
    let (true, Ok(Begun::Copied(read_in))) = (unreachable, begun) else {
        return;
    };
    let stem = read_in.outcome.report.stem.clone();
    match persist::persist(store, read_in.copied) {
        Ok(_) => tracing::info!(
            recording = %stem,
            "recording {stem} is stored and proven, not committed: the register is unreachable; it is recognised when the camera is ingested again"
        ),
        Err(_) => tracing::warn!(
            recording = %stem,
            "recording {stem}'s copy could not be proven while the register was unreachable; it stays on the camera and is copied again"
        ),
    }
}

/// A recording being persisted on its own thread.
struct InFlight<'scope> {
    outcome: Outcome,
    /// Kept for a copy again from the camera, should the store fail to prove this one.
    sidecar: SidecarRead,
    persisting: std::thread::ScopedJoinHandle<'scope, Result<StoredFacts, Attempt>>,
}
