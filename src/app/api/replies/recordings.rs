//! Replies of `search` and `show`: the recordings as the console lists and shows them.

use serde::{Deserialize, Serialize};

use crate::custody::register::perception::Attribution;

/// One recording of a search's page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoundRecording {
    /// Its stem (what commands name it by).
    pub stem: String,
    /// The camera.
    pub camera: String,
    /// Its register state.
    pub state: String,
    /// Start (RFC 3339, UTC).
    pub start: String,
    /// End, when known.
    pub end: Option<String>,
    /// The video's size.
    pub size: Option<u64>,
    /// Reported flags.
    pub flags: Vec<String>,
    /// The agent it is attributed to, if any.
    pub agent: Option<String>,
    /// That agent's brigade.
    pub brigade: Option<String>,
    /// Whether a procedure holds it.
    pub held: bool,
    /// The site it was collected at ('' for a single-site install's).
    #[serde(default)]
    pub site: String,
}

/// `search`: one page, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Found {
    /// The page (from 1).
    pub page: u32,
    /// Rows a page holds.
    pub per_page: u32,
    /// Whether a next page has rows.
    pub more: bool,
    /// The rows.
    pub recordings: Vec<FoundRecording>,
    /// The sites the register holds recordings of ('' for the unnamed one), by name: the
    /// console offers them as a choice when there are several.
    #[serde(default)]
    pub sites: Vec<String>,
}

/// What the register holds about a recording beyond its files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct RecordingFacts {
    /// Seconds recorded before the trigger.
    pub prerecord_secs: Option<i64>,
    /// Length in seconds.
    pub duration_secs: Option<f64>,
    /// Reported flags.
    pub flags: Vec<String>,
    /// Why it needs attention, if it does.
    pub reasons: Vec<serde_json::Value>,
}

/// One position of a recording's GPS track.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct TrackPoint {
    /// When (RFC 3339, UTC).
    pub at: String,
    /// Latitude, degrees north.
    pub lat: f64,
    /// Longitude, degrees east.
    pub lon: f64,
}

/// One step of a recording's custody: an ingest event or an audit entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct CustodyEntry {
    /// When (RFC 3339, UTC).
    pub at: String,
    /// What happened (ingest state or audit action).
    pub action: String,
    /// Who.
    pub author: String,
    /// The purpose, for consultations and extractions.
    pub purpose: String,
    /// Details as recorded.
    pub details: String,
    /// The audit entry, when it is one.
    pub audit_seq: Option<i64>,
}

/// `show`: one recording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Shown {
    /// Its stem.
    pub stem: String,
    /// The camera.
    pub camera: String,
    /// The site it was collected at ('' for a single-site install's).
    #[serde(default)]
    pub site: String,
    /// Its register state.
    pub state: String,
    /// Start (RFC 3339, UTC).
    pub start: String,
    /// End, when known.
    pub end: Option<String>,
    /// The video's size.
    pub video_size: Option<u64>,
    /// The video's SHA-256.
    pub sha256: Option<String>,
    /// The video's BLAKE3.
    pub blake3: Option<String>,
    /// Pre-recording, duration, flags, reasons.
    pub facts: RecordingFacts,
    /// Who it is attributed to, and how.
    pub attribution: Option<Attribution>,
    /// The procedures holding it.
    pub holds: Vec<String>,
    /// The GPS track from the stored sidecar.
    pub track: Vec<TrackPoint>,
    /// The custody timeline, oldest first (on-camera consultations included: their
    /// purpose is `consultation immédiate (L241-2)`).
    pub custody: Vec<CustodyEntry>,
    /// What the camera's `EVENTS.LOG` says about it: the lines naming its video, and its
    /// camera's clock settings, storage errors and power changes within an hour of it.
    #[serde(default)]
    pub camera_events: Vec<crate::custody::register::camera_logs::CameraLogEvent>,
}
