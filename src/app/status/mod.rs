//! What the service tells the people at the dock: each docked camera's state, the store's
//! room, the RAID. One document, sent as JSON by the daemon and drawn by `sentinel-dockctl`.

mod capacity;
pub mod mdstat;
mod render;

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub(crate) use capacity::{WINDOW_DAYS, store_status};
pub(crate) use mdstat::RaidArray;
pub use render::render;
pub(crate) use render::{REGISTER_UNREACHABLE, summary_line};

/// The status of the whole dock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusReport {
    /// The service itself.
    pub service: ServiceStatus,
    /// Each docked camera, by slot.
    pub cameras: Vec<CameraStatus>,
    /// Dock entries that are not cameras, left alone.
    pub refused_links: Vec<RefusedLink>,
    /// The evidence store's room.
    pub store: StoreStatus,
    /// The md RAID arrays `/proc/mdstat` lists (none: empty).
    pub raid: Vec<RaidArray>,
    /// Things a technician should look at (a degraded array, an unreadable mdstat, a
    /// scrub that found problems...).
    pub warnings: Vec<String>,
    /// The last scrub of the store, when there was one.
    #[serde(default)]
    pub last_scrub: Option<ScrubStatus>,
    /// The S3 replica and its backlog, when one is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica: Option<crate::replica::ReplicaStatus>,
    /// The anonymisation running now (`sentinel-dockctl anonymise`), if one runs.
    #[serde(default)]
    pub anonymisation: Option<AnonymisationStatus>,
    /// The register: where it is, and whether it answers.
    #[serde(default)]
    pub register: RegisterHealth,
}

/// Whether the register answers (a PostgreSQL server can be down or cut off).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterHealth {
    /// The register, named without a password (a SQLite file, or a PostgreSQL server).
    pub server: String,
    /// `reachable`, or `unreachable` while nothing can be committed.
    pub state: RegisterState,
    /// Since when it has been unreachable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
    /// What the connection said, while unreachable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Whether the register answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RegisterState {
    /// It answers.
    #[default]
    Reachable,
    /// It does not: nothing is committed or wiped until it does.
    Unreachable,
}

impl RegisterHealth {
    /// Whether the register is unreachable now.
    pub fn is_unreachable(&self) -> bool {
        self.state == RegisterState::Unreachable
    }
}

/// An anonymisation running on the daemon, and how far it has gone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnonymisationStatus {
    /// The recording.
    pub recording: String,
    /// Who asked.
    pub author: String,
    /// When it started.
    pub started: DateTime<Utc>,
    /// Frames written.
    pub frames_done: u64,
    /// Frames expected (from the duration).
    pub frames_total: u64,
}

/// The last scrub of the store (from the audit register): its problems stay a warning
/// until a later scrub finds none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScrubStatus {
    /// When it ended.
    pub at: DateTime<Utc>,
    /// Files changed, missing, unexpected or unreadable; 0: the store holds exactly what
    /// the register says.
    pub problems: u64,
    /// Who ran it: a user, or the service's weekly scrub.
    pub author: String,
    /// Its audit entry.
    pub audit_seq: i64,
}

impl ScrubStatus {
    /// The status's warning while the last scrub's problems stand.
    pub fn warning(&self) -> Option<String> {
        (self.problems > 0).then(|| {
            format!(
                "scrub: {} problem{} found at {} (audit entry #{}): stored files changed, missing or unexpected; `sentinel-dockctl scrub` names them, restore them from a backup and check the RAID; the warning stays until a scrub finds none",
                self.problems,
                if self.problems == 1 { "" } else { "s" },
                self.at.format("%Y-%m-%d %H:%M:%S UTC"),
                self.audit_seq
            )
        })
    }
}

/// The service's own state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceStatus {
    /// The daemon's process id.
    pub pid: u32,
    /// The daemon's version.
    pub version: String,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// The dock folder watched.
    pub dock: PathBuf,
    /// How many cameras are ingested at once (`ingest.max_parallel`).
    pub max_parallel: u32,
    /// Whether it is stopping (SIGTERM received).
    pub stopping: bool,
    /// The site it serves (`[site] name`; '' for a single-site install).
    #[serde(default)]
    pub site: String,
    /// Whether it has a dock (`[dock] enabled`); false: a head office's daemon, which
    /// serves the commands and the console only.
    #[serde(default = "has_dock")]
    pub dock_enabled: bool,
}

/// A status written before `[dock] enabled` came from a dock.
fn has_dock() -> bool {
    true
}

/// One docked camera.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CameraStatus {
    /// The dock slot (the link's name).
    pub slot: String,
    /// The camera's serial: the slot's until the ingest has identified the camera.
    pub serial: String,
    /// When its link appeared.
    pub docked_at: DateTime<Utc>,
    /// The agent who carried it until this docking (the perception register's open issue),
    /// as "Name (matricule)"; none when it was not issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// Where it is.
    #[serde(flatten)]
    pub state: CameraState,
}

/// Where a docked camera is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum CameraState {
    /// Docked, waiting for a free ingest (`ingest.max_parallel`).
    Waiting,
    /// Being read, copied and proven.
    Ingesting(IngestProgress),
    /// Every recording is proven in the store and wiped from the camera.
    SafeToUndock {
        /// Recordings stored (now or at an earlier docking) and wiped.
        recordings: u64,
    },
    /// Finished, but some recordings stay on the camera.
    NeedsAttention(Attention),
    /// Its serial is enrolled neither in `dock.enrolled` nor in the register, and
    /// `dock.enrolled_only` is set: not touched.
    NotEnrolled,
    /// The ingest could not finish; nothing unproven was wiped.
    Failed {
        /// Why, in words a technician can act on.
        error: String,
    },
    /// The ingest was cancelled (the service is stopping); nothing unproven was wiped.
    Cancelled,
    /// A read from the camera's device did not return within `ingest.read_timeout`:
    /// its ingest was ended and the stuck read abandoned; nothing unproven was wiped.
    NotResponding {
        /// How long the read had been waiting when the camera was given up on, in seconds.
        waited_secs: u64,
    },
    /// The register could not be reached: the camera keeps its recordings (nothing
    /// unproven, nor anything uncommitted, was wiped) and is ingested by itself once the
    /// register answers.
    RegisterUnreachable {
        /// What the register's connection said.
        error: String,
    },
}

impl CameraState {
    /// The state's name as the JSON and the status line write it.
    pub fn name(&self) -> &'static str {
        match self {
            CameraState::Waiting => "waiting",
            CameraState::Ingesting(_) => "ingesting",
            CameraState::SafeToUndock { .. } => "safe-to-undock",
            CameraState::NeedsAttention(_) => "needs-attention",
            CameraState::NotEnrolled => "not-enrolled",
            CameraState::Failed { .. } => "failed",
            CameraState::Cancelled => "cancelled",
            CameraState::NotResponding { .. } => "not-responding",
            CameraState::RegisterUnreachable { .. } => "register-unreachable",
        }
    }

    /// Whether a person must look at this camera before it goes back out.
    pub(crate) fn needs_attention(&self) -> bool {
        matches!(
            self,
            CameraState::NeedsAttention(_)
                | CameraState::NotEnrolled
                | CameraState::Failed { .. }
                | CameraState::NotResponding { .. }
        )
    }
}

/// How far an ingest has got.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestProgress {
    /// Bytes read from the camera so far.
    pub bytes_done: u64,
    /// Bytes of video and sidecar the camera holds (0 until it is listed).
    pub bytes_total: u64,
    /// Recordings finished.
    pub recordings_done: u64,
    /// Recordings found.
    pub recordings_total: u64,
    /// The recording being read.
    pub current: Option<String>,
    /// Average read rate since the ingest started.
    pub bytes_per_sec: u64,
    /// Seconds left at that rate, once it is known.
    pub eta_secs: Option<u64>,
}

impl IngestProgress {
    /// Percentage of the bytes read, 0 to 100.
    pub(crate) fn percent(&self) -> u8 {
        if self.bytes_total == 0 {
            return 0;
        }
        let pct = self.bytes_done.min(self.bytes_total) as u128 * 100 / self.bytes_total as u128;
        pct as u8
    }
}

/// Why a camera needs attention: how many recordings stay on it, and why.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attention {
    /// Stored in quarantine with their reasons; kept on the camera.
    pub quarantined: u64,
    /// Could not be copied and proven; kept on the camera.
    pub failed: u64,
    /// Files on the camera that are not recordings of the profile.
    pub ignored: u64,
    /// Recordings still on the camera, whatever the reason.
    pub left_on_camera: u64,
    /// Facts about the camera as a whole (identity conflicts, wipe problems).
    pub warnings: Vec<String>,
    /// The camera's clock, when it is wrong: by how much, against what (also a warning).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<crate::camera::evidence::trusted_time::CameraClock>,
}

/// A dock entry that is not a camera.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedLink {
    /// The entry's name.
    pub slot: String,
    /// Its path.
    pub link: PathBuf,
    /// Why it was refused.
    pub reason: String,
}

/// The evidence store's room, and how long it lasts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreStatus {
    /// The store's root.
    pub path: PathBuf,
    /// Bytes free for the service, when they could be read.
    pub free_bytes: Option<u64>,
    /// Bytes that must stay free (`store.reserve`).
    pub reserve_bytes: u64,
    /// Bytes stored from cameras over the last [`WINDOW_DAYS`] days.
    pub recent_bytes: u64,
    /// The average bytes stored a day over that window, when anything was stored.
    pub bytes_per_day: Option<u64>,
    /// Days until the free space above the reserve is used up at that rate.
    pub days_left: Option<u64>,
    /// Why some of the above is missing.
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_names_each_camera_state_flatly_and_reads_back() {
        let camera = CameraStatus {
            slot: "SNTL-00042".into(),
            serial: "SNTL-00042".into(),
            docked_at: "2026-11-26T06:00:00Z".parse().unwrap(),
            agent: None,
            state: CameraState::Ingesting(IngestProgress {
                bytes_done: 61,
                bytes_total: 100,
                ..Default::default()
            }),
        };
        let json = serde_json::to_value(&camera).unwrap();
        assert_eq!(json["state"], "ingesting");
        assert_eq!(json["bytes_done"], 61);
        let back: CameraStatus = serde_json::from_value(json).unwrap();
        assert_eq!(back, camera);
        assert_eq!(camera.state.name(), "ingesting");
        let json = serde_json::to_value(CameraState::SafeToUndock { recordings: 3 }).unwrap();
        assert_eq!(json["state"], "safe-to-undock");
    }

    #[test]
    fn a_scrub_with_problems_is_a_warning_a_clean_one_is_not() {
        let mut scrub = ScrubStatus {
            at: "2026-11-26T07:40:00Z".parse().unwrap(),
            problems: 3,
            author: "technicien".into(),
            audit_seq: 12,
        };
        let warning = scrub.warning().expect("a warning");
        assert!(
            warning.starts_with("scrub: 3 problems found at 2026-11-26 07:40:00 UTC"),
            "{warning}"
        );
        scrub.problems = 0;
        assert_eq!(scrub.warning(), None);
    }

    #[test]
    fn percent_is_bounded() {
        let mut p = IngestProgress::default();
        assert_eq!(p.percent(), 0);
        p.bytes_total = 200;
        p.bytes_done = 122;
        assert_eq!(p.percent(), 61);
        p.bytes_done = 400;
        assert_eq!(p.percent(), 100);
    }
}
