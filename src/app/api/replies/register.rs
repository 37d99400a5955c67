//! Replies of the commands on recordings, the audit register, retention and the reports.

use std::path::PathBuf;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::app::api::request::Purpose;
use crate::custody::register::audit::Checkpoint;
use crate::custody::register::audit::Verification;
use crate::custody::scrub::ScrubReport;

/// `consult`: traced; the recording's descriptor comes with the reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Consulted {
    /// The recording.
    pub recording: String,
    /// Its register id.
    pub register_id: i64,
    /// The consultation's audit entry.
    pub audit_seq: i64,
    /// Why it is seen.
    pub purpose: Purpose,
    /// The video's size in bytes: what the descriptor must yield.
    pub size: u64,
    /// The video's SHA-256 (hex): what the bytes must hash to.
    pub sha256: String,
    /// The anonymised derivative served instead of the original (training only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub derivative_id: Option<i64>,
}

/// `extract`: the bag written and verified.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Extracted {
    /// The bag's folder.
    pub bag: PathBuf,
    /// The recordings in it.
    pub recordings: Vec<String>,
    /// The extraction's first audit entry (requested).
    pub audit_seq: i64,
    /// Its completion entry.
    pub completed_seq: i64,
    /// The audit chain's head after it (SEQ:HASH).
    pub audit_head: String,
    /// BagIt's Payload-Oxum (bytes.files).
    pub payload_oxum: String,
    /// SHA-256 of `manifest-sha256.txt`.
    pub manifest_sha256: String,
    /// The procedure the recordings are now held for (none for training).
    pub held_for: Option<String>,
}

/// `hold`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Held {
    /// The procedure's reference.
    pub procedure: String,
    /// The recordings newly held.
    pub held: Vec<String>,
}

/// `release`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Released {
    /// The procedure's reference.
    pub procedure: String,
    /// The recordings released from it.
    pub released: Vec<String>,
}

/// `audit verify`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AuditVerified {
    /// Whether the chain holds.
    pub intact: bool,
    /// What was walked and every break found.
    pub verification: Verification,
}

/// A recording kept past its retention by holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct HeldFor {
    /// The recording.
    pub recording: String,
    /// The procedures holding it.
    pub procedures: Vec<String>,
}

/// A recording past its retention that the collection brake keeps: collected by this
/// service less than `retention.min_days_after_collection` days ago.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct KeptAfterCollection {
    /// The recording.
    pub recording: String,
    /// When this service collected it (its register row's `discovered_at`).
    pub collected_at: String,
    /// When the brake lets it go (if still due then).
    pub purgeable_from: String,
    /// Why, in words naming the setting.
    pub reason: String,
}

/// `purge` (dry run, refused or done) and the daily purge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct PurgePlanned {
    /// Whether the deletions were carried out.
    pub executed: bool,
    /// Recordings that started before this are due (RFC 3339, UTC).
    pub cutoff: String,
    /// The recordings due.
    pub delete: Vec<String>,
    /// Due but held.
    pub held: Vec<HeldFor>,
    /// Due but collected too recently (`retention.min_days_after_collection`).
    #[serde(default)]
    pub kept_after_collection: Vec<KeptAfterCollection>,
    /// Bytes due.
    pub bytes: u64,
    /// Bytes of every recording in the store.
    pub store_bytes: u64,
    /// `bytes / store_bytes`.
    pub share: f64,
    /// The recordings deleted (when executed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<Vec<String>>,
    /// Files that could not be removed (when executed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problems: Option<Vec<String>>,
}

/// The daemon's daily upkeep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Daily {
    /// The audit chain's head (SEQ:HASH).
    pub audit_head: String,
    /// Recordings attributed.
    pub attributed: usize,
    /// The checkpoint of expired audit entries, if any expired.
    pub audit_checkpoint: Option<Checkpoint>,
    /// The purge.
    pub purge: PurgePlanned,
}

/// `scrub`: the report, and its audit entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Scrubbed {
    /// What the scrub found.
    #[serde(flatten)]
    pub report: ScrubReport,
    /// True when the store holds exactly what the register says.
    pub clean: bool,
    /// How many problems.
    pub problems: usize,
    /// Its audit entry.
    pub audit_seq: i64,
    /// When it was traced (RFC 3339, UTC).
    pub at: String,
    /// Who ran it.
    pub author: String,
}

/// Counts per purpose.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ByPurpose {
    /// Administrative.
    pub administrative: u64,
    /// Judicial.
    pub judicial: u64,
    /// Disciplinary.
    pub disciplinary: u64,
    /// Training.
    pub training: u64,
}

impl From<[u64; 4]> for ByPurpose {
    fn from(n: [u64; 4]) -> ByPurpose {
        ByPurpose {
            administrative: n[0],
            judicial: n[1],
            disciplinary: n[2],
            training: n[3],
        }
    }
}

/// `report`: one period's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    /// First day, included.
    pub from: NaiveDate,
    /// Last day, included.
    pub to: NaiveDate,
    /// Calendar days.
    pub days: u64,
    /// Days on which a camera was issued or a recording started.
    pub days_of_use: u64,
    /// Videos collected that started in the period.
    pub videos: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Videos in the store now.
    pub videos_in_store: u64,
    /// Bytes in the store now.
    pub bytes_in_store: u64,
    /// Collected bytes per day.
    pub bytes_per_day: f64,
    /// The retention the next figure is for.
    pub retention_days: u32,
    /// Raw disk needed for it.
    pub needed_for_retention: u64,
    /// Consultations per purpose.
    pub consultations: ByPurpose,
    /// Consultations on the camera's screen (L241-2 CSI), from its logs: counted apart.
    #[serde(default)]
    pub on_camera_consultations: u64,
    /// Extractions completed per purpose.
    pub extractions: ByPurpose,
    /// Consultations and extractions for training.
    pub training: u64,
}

/// Storage needed for a retention at the observed rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Needed {
    /// Bytes of recordings.
    pub stored_bytes: u64,
    /// Raw disk bytes, with the RAID overhead.
    pub raw_disk_bytes: u64,
    /// Whether the store holds them.
    pub fits: bool,
}

/// `forecast`: 30 and 180 days at the observed rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Forecast {
    /// First day observed.
    pub from: NaiveDate,
    /// Last day observed.
    pub to: NaiveDate,
    /// Bytes collected per day.
    pub bytes_per_day: f64,
    /// `store.raid_overhead`.
    pub raid_overhead: f64,
    /// Free space plus the recordings in the store.
    pub store_usable_bytes: u64,
    /// `retention.days`.
    pub retention_days_configured: u32,
    /// One month (today's law).
    pub needed_30_days: Needed,
    /// Six months (before 2022).
    pub needed_180_days: Needed,
}
