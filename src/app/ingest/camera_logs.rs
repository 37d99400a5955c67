//! The camera's own logs at each docking (profile version 2): `PLAYBACK.LOG`, `EVENTS.LOG`
//! and `SYSTEM.LOG` read from `/<logs_dir>/` (bounded), each copied into the store with the
//! docking and proven by read-back like a recording; then, in `consultations.rs`, their new
//! lines imported into the register.
//!
//! Nothing here can fail the ingest: a log that cannot be read or stored is reported and
//! read again at the next docking (the camera never empties its logs, and nothing under
//! `/<logs_dir>/` is ever wiped: `volume::check_wipeable` refuses any path outside the
//! recordings' day folders).

use std::io::Read;
use std::path::PathBuf;

use serde::Serialize;

use crate::base::digest::{Digests, Hasher};
use crate::base::error::{Chain, chain};
use crate::camera::volume::{Volume, VolumeError, VolumePath};
use crate::custody::register::camera_logs::LogKind;
use crate::custody::store::{Area, Persisted, StorePath};

use super::docking::Docking;

/// One log as read from the camera and stored.
pub(super) struct ReadLog {
    /// Which log.
    pub kind: LogKind,
    /// Its name on the camera (the profile's).
    pub name: String,
    /// The size its directory entry declares.
    pub declared_size: u64,
    /// The bytes read (at most `profile.max_log_bytes`).
    pub bytes: Vec<u8>,
    /// Whether the file was larger than the bytes read.
    pub truncated: bool,
    /// Their hashes, proven on the stored copy.
    pub digests: Digests,
    /// The stored copy, relative to the store's root.
    pub stored: String,
}

/// One log of this docking, as reported.
#[derive(Debug, Clone, Serialize)]
pub struct LogReport {
    /// `playback`, `events` or `system`.
    pub kind: LogKind,
    /// Its name on the camera.
    pub name: String,
    /// Bytes stored.
    pub size: u64,
    /// Whether only its first `profile.max_log_bytes` were read.
    pub truncated: bool,
    /// SHA-256 of the stored copy.
    pub sha256: String,
    /// BLAKE3 of the stored copy.
    pub blake3: String,
    /// Absolute path of the stored copy.
    pub stored_path: PathBuf,
    /// Lines that passed their checks.
    pub lines: u64,
    /// Of those, lines not imported at an earlier docking.
    pub new_lines: u64,
    /// Lines rejected (bad checksum or form), new at this docking.
    pub rejected: u64,
    /// On-camera consultations written to the audit register at this docking.
    pub consultations: u64,
    /// New `CLOCK_SET` and `STORAGE_ERROR` lines, as the camera wrote them.
    pub notable: Vec<String>,
}

/// Reads and stores each of the camera's logs; what cannot be read or stored is a
/// warning, never an ingest failure.
pub(super) fn read_camera_logs(
    docking: &Docking<'_>,
    volume: &mut dyn Volume,
    warnings: &mut Vec<String>,
) -> Vec<ReadLog> {
    let profile = &docking.config.profile;
    let names = [
        (LogKind::Playback, &profile.playback_log),
        (LogKind::Events, &profile.events_log),
        (LogKind::System, &profile.system_log),
    ];
    let mut logs = Vec::new();
    for (kind, name) in names {
        let path = VolumePath::new(&[&profile.logs_dir, name]);
        let read = match read_bounded(volume, &path, profile.max_log_bytes.0) {
            Ok(Some(read)) => read,
            // A camera of profile version 1 keeps no such log.
            Ok(None) => continue,
            Err(e) => {
                warnings.push(format!(
                        "the camera's log {path} could not be read ({}); it stays on the camera and is read again at the next docking",
                        Chain(&e)
                    ));
                continue;
            }
        };
        let (bytes, declared_size, truncated) = read;
        if truncated {
            warnings.push(format!(
                    "the camera's log {path} is {declared_size} bytes, more than profile.max_log_bytes ({}): only its first bytes were read and stored, flagged truncated; the camera should keep its logs under 1 MiB, have it checked",
                    profile.max_log_bytes.0
                ));
        }
        match store_log(docking, kind, &bytes) {
                Ok((stored, digests)) => logs.push(ReadLog {
                    kind,
                    name: name.clone(),
                    declared_size,
                    bytes,
                    truncated,
                    digests,
                    stored,
                }),
                Err(e) => warnings.push(format!(
                    "the camera's log {path} could not be stored ({e}); its lines are imported at the next docking that stores it"
                )),
            }
    }
    logs
}

/// Copies a log into the store, proven by read-back:
/// `camera-logs/<docking day>/<SERIAL>/session-<N>.<kind>.log`.
fn store_log(
    docking: &Docking<'_>,
    kind: LogKind,
    bytes: &[u8],
) -> Result<(String, Digests), String> {
    let serial = &docking.identity.camera.serial;
    let file = format!("session-{}.{}.log", docking.session, kind.as_str());
    let at = StorePath::new(
        Area::CameraLogs,
        docking.docked_at.date_naive(),
        serial,
        &file,
    )
    .map_err(|e| chain(&e))?;
    let mut h = Hasher::new();
    h.update(bytes);
    let digests = h.finish();
    let mut pending = docking.store.create(&at).map_err(|e| chain(&e))?;
    std::io::Write::write_all(&mut pending, bytes).map_err(|e| chain(&e))?;
    let persisted = pending.persist(&digests).map_err(|e| chain(&e))?;
    let path = match &persisted {
        Persisted::Stored { path } | Persisted::AlreadyPresent { path } => path,
        // Another file under this docking's name: both kept, this one beside it.
        Persisted::Conflict { path, .. } => path,
    };
    let relative = path.strip_prefix(docking.store.root()).unwrap_or(path);
    Ok((relative.to_string_lossy().into_owned(), digests))
}

/// A log's bytes, at most `max` of them: `None` when the camera has no such file; the
/// declared size and whether it was larger than what was read.
fn read_bounded(
    volume: &mut dyn Volume,
    path: &VolumePath,
    max: u64,
) -> Result<Option<(Vec<u8>, u64, bool)>, VolumeError> {
    let source = volume.info().source.clone();
    match volume.read_small(path, max) {
        Ok(bytes) => {
            let size = bytes.len() as u64;
            Ok(Some((bytes, size, false)))
        }
        Err(VolumeError::NotFound { .. }) => Ok(None),
        Err(VolumeError::TooLarge { size, .. }) => {
            let mut bytes = Vec::new();
            volume
                .open_file(path)?
                .take(max)
                .read_to_end(&mut bytes)
                .map_err(|e| VolumeError::Io {
                    path: source,
                    what: format!("reading the camera's log {path}"),
                    source: e,
                })?;
            Ok(Some((bytes, size, true)))
        }
        Err(e) => Err(e),
    }
}
