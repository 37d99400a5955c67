//! A recording's outcome and report as they are filled in along the pipeline.

use std::path::Path;

use crate::base::config::Profile;
use crate::camera::evidence::name::FileKind;
use crate::camera::evidence::sidecar::SidecarReport;
use crate::custody::register::{FileFacts, GpsSummary};
use crate::custody::store::Store;

use crate::base::digest::Digests;
use crate::custody::register::RecordingId;

use super::discover::{Candidate, SidecarRead};
use super::persist;
use super::{FileReport, IngestError, Reason, RecordingReport, Status};

pub(super) fn gps_summary(report: &SidecarReport) -> GpsSummary {
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

pub(super) fn blank_report(profile: &Profile, candidate: &Candidate) -> RecordingReport {
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

pub(super) fn fail(report: &mut RecordingReport, code: &str, why: &str) {
    report.status = Status::Failed;
    report.reasons.push(Reason::new(code, why));
}

pub(super) fn fill_files(
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

/// What happened to one recording, kept until the wipe step and the report.
pub(super) struct Outcome {
    /// The recording as discovered.
    pub candidate: Candidate,
    /// The register's row, once there is one.
    pub row: Option<RecordingId>,
    /// Its report, filled in along the way.
    pub report: RecordingReport,
    /// The video's hashes, once read (the wipe checks the register still holds them).
    pub video_digests: Option<Digests>,
}

/// A recording after its first read from the camera.
pub(super) enum FirstRead {
    /// Nothing left to do: recognised as stored, or failed.
    Done(Box<Outcome>),
    /// Read into a temporary copy: to be persisted and committed.
    Copied(Box<ReadIn>),
    /// The copy failed: to be copied again from the camera until it settles.
    Again(Box<Again>),
}

/// A recording as the pipeline takes it, copies again taken.
pub(super) enum Begun {
    /// Nothing left to do: recognised as stored, failed, or copied synchronously.
    Done(Box<Outcome>),
    /// Read into a temporary copy: to be persisted and committed.
    Copied(Box<ReadIn>),
}

/// A recording with nothing left to do.
pub(super) fn done(
    candidate: Candidate,
    row: Option<RecordingId>,
    report: RecordingReport,
    video_digests: Option<Digests>,
) -> FirstRead {
    FirstRead::Done(Box::new(Outcome {
        candidate,
        row,
        report,
        video_digests,
    }))
}

/// A recording read into a temporary copy in the store.
pub(super) struct ReadIn {
    /// What happened to it so far.
    pub outcome: Outcome,
    /// Its sidecar as read, for a copy again.
    pub sidecar: SidecarRead,
    /// The temporary copy, to persist.
    pub copied: persist::Copied,
}

/// A recording whose first copy failed, and where that left it.
pub(super) struct Again {
    /// What happened to it so far.
    pub outcome: Outcome,
    /// Its sidecar as read, for the copies again.
    pub sidecar: SidecarRead,
    /// Where the failed copy left it.
    pub way: Way,
}

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
    pub(super) const FIRST: u32 = 1;
}
