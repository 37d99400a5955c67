//! What one ingest run did, for people (a short summary) and for scripts (one JSON document).

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;

use super::Reason;

/// The outcome of one recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Copied now, proven by read-back, every integrity rule holds.
    Confirmed,
    /// Already in the store with the same hashes (a re-run); the stored copy was read back again.
    AlreadyStored,
    /// Stored in quarantine with its hashes and reasons; left on the camera.
    Quarantined,
    /// Could not be copied and proven (read error, store error); left on the camera.
    Failed,
}

impl Status {
    /// Whether a recording in this status may be wiped from the camera.
    pub(crate) fn may_wipe(self) -> bool {
        matches!(self, Status::Confirmed | Status::AlreadyStored)
    }
}

/// One stored file of a recording, as reported.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    /// The file's name on the camera.
    pub file_name: String,
    /// Bytes.
    pub size: u64,
    /// BLAKE3, lower-case hex.
    pub blake3: String,
    /// SHA-256, lower-case hex.
    pub sha256: String,
    /// Absolute path of the stored copy.
    pub stored_path: PathBuf,
}

/// One recording (video and sidecar) as reported.
#[derive(Debug, Clone, Serialize)]
pub struct RecordingReport {
    /// The video's file name (or the sidecar's, when the video is missing).
    pub file_name: String,
    /// `<SERIAL>_<YYYYMMDD>_<HHMMSS>_<NNNN>`.
    pub stem: String,
    /// What happened to it.
    pub status: Status,
    /// Whether its video and sidecar were removed from the camera.
    pub wiped: bool,
    /// The video's size, when a video was read.
    pub size: Option<u64>,
    /// The video's BLAKE3, when a video was read.
    pub blake3: Option<String>,
    /// The video's SHA-256, when a video was read.
    pub sha256: Option<String>,
    /// Absolute path of the stored video.
    pub stored_path: Option<PathBuf>,
    /// The stored sidecar, when there was one.
    pub sidecar: Option<FileReport>,
    /// Reported facts that do not block confirmation.
    pub flags: Vec<String>,
    /// Why it was not confirmed.
    pub reasons: Vec<Reason>,
    /// The register's row id.
    pub register_id: Option<i64>,
}

/// The camera as reported.
#[derive(Debug, Clone, Serialize)]
pub struct CameraReport {
    /// Serial (USB serial when known, else `DEVICE.INI`).
    pub serial: String,
    /// Model from `DEVICE.INI`.
    pub model: Option<String>,
    /// Firmware from `DEVICE.INI`.
    pub firmware: Option<String>,
}

/// A name on the volume that was not used, and why.
#[derive(Debug, Clone, Serialize)]
pub struct IgnoredReport {
    /// The path on the volume, control characters escaped.
    pub path: String,
    /// Why it was ignored.
    pub reason: String,
}

/// Everything one ingest run did.
#[derive(Debug, Clone, Serialize)]
pub struct IngestReport {
    /// The source that was read.
    pub source: PathBuf,
    /// The camera.
    pub camera: CameraReport,
    /// The register's session id.
    pub session: i64,
    /// Each recording, in name order.
    pub recordings: Vec<RecordingReport>,
    /// Names on the volume that were not used.
    pub ignored: Vec<IgnoredReport>,
    /// Facts about the camera as a whole (identity conflicts, label, wipe problems).
    pub warnings: Vec<String>,
    /// What the ownership map found wrong with the camera's volume; nothing was wiped
    /// from a damaged volume.
    pub damage: Vec<String>,
    /// The camera's clock as measured at this docking, when it could be.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clock: Option<crate::camera::evidence::trusted_time::CameraClock>,
    /// The camera's own logs read and stored at this docking (profile version 2).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<super::LogReport>,
}

impl IngestReport {
    /// Whether every recording was confirmed and wiped and nothing needs a person's attention.
    pub fn all_clear(&self) -> bool {
        self.recordings.iter().all(|r| r.wiped)
            && self.ignored.is_empty()
            && self.warnings.is_empty()
            && self.damage.is_empty()
    }

    /// Process exit status: 0 all confirmed and wiped; 1 finished, but something quarantined or
    /// left on the camera; 3 some recording could not be copied and proven at all.
    pub fn exit_code(&self) -> u8 {
        if self.recordings.iter().any(|r| r.status == Status::Failed) {
            3
        } else if self.all_clear() {
            0
        } else {
            1
        }
    }

    /// A few lines for the person at the dock and the technician.
    pub fn summary(&self) -> String {
        let count = |s: Status| self.recordings.iter().filter(|r| r.status == s).count();
        let wiped = self.recordings.iter().filter(|r| r.wiped).count();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "camera {} ({}): {} recording(s): {} confirmed, {} already stored, {} quarantined, {} failed; {} wiped from the camera",
            self.camera.serial,
            self.source.display(),
            self.recordings.len(),
            count(Status::Confirmed),
            count(Status::AlreadyStored),
            count(Status::Quarantined),
            count(Status::Failed),
            wiped,
        );
        for r in self.recordings.iter().filter(|r| !r.wiped) {
            let why = if r.reasons.is_empty() {
                "not wiped".to_string()
            } else {
                super::reason::joined(&r.reasons)
            };
            let _ = writeln!(out, "  {} {:?}: {}", r.stem, r.status, why);
        }
        for i in &self.ignored {
            let _ = writeln!(out, "  ignored {}: {}", i.path, i.reason);
        }
        for l in &self.logs {
            let _ = writeln!(
                out,
                "  log {}: {} bytes stored{}, {} new line(s), {} rejected, {} on-camera consultation(s) traced",
                l.name,
                l.size,
                if l.truncated { " (truncated)" } else { "" },
                l.new_lines,
                l.rejected,
                l.consultations
            );
            for n in &l.notable {
                let _ = writeln!(out, "    {n}");
            }
        }
        for w in &self.warnings {
            let _ = writeln!(out, "  warning: {w}");
        }
        let verdict = if self.all_clear() {
            "safe to undock"
        } else {
            "needs attention: the camera still holds what is listed above"
        };
        let _ = writeln!(out, "{verdict}");
        out
    }
}
