//! A recording's report as it is filled in along the pipeline.

use std::path::Path;

use crate::base::config::Profile;
use crate::camera::evidence::name::FileKind;
use crate::camera::evidence::sidecar::SidecarReport;
use crate::custody::register::{FileFacts, GpsSummary};
use crate::custody::store::Store;

use super::discover::Candidate;
use super::{FileReport, Reason, RecordingReport, Status};

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
