//! What the camera holds: recordings paired by their parsed names, and their sidecars read.

use std::collections::BTreeMap;

use crate::config::Profile;
use crate::digest::{Digests, Hasher};
use crate::evidence::name::{FileKind, RecordingName};
use crate::evidence::sidecar::{self, SidecarReport};
use crate::volume::{Volume, VolumeFile};

use super::{IgnoredReport, ReadFaults, Reason};

/// A recording found on the camera: its parsed name and the files that carry it.
pub(super) struct Candidate {
    pub(super) name: RecordingName,
    pub(super) video: Option<VolumeFile>,
    pub(super) sidecar: Option<VolumeFile>,
}

/// A sidecar as read from the camera: its bytes, hashes and parse, or why there is none.
pub(super) struct SidecarRead {
    pub(super) bytes: Option<Vec<u8>>,
    pub(super) digests: Option<Digests>,
    pub(super) report: Option<SidecarReport>,
    /// Why there is no parsed sidecar (`sidecar-missing`, `sidecar-too-large`).
    pub(super) missing: Reason,
}

pub(super) fn read_sidecar(
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
            missing: Reason::new(
                "sidecar-missing",
                "the camera has no sidecar for this video",
            ),
        });
    };
    let max = profile.max_sidecar_bytes.0;
    if file.size > max {
        return Ok(SidecarRead {
            bytes: None,
            digests: None,
            report: None,
            missing: Reason::new(
                "sidecar-too-large",
                format_args!(
                    "the sidecar {} declares {} bytes, more than profile.max_sidecar_bytes ({max}); it was left on the camera unread",
                    file.path, file.size
                ),
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
        missing: Reason::new("sidecar-missing", ""),
    })
}

/// Pairs videos and sidecars by their parsed names; anything else is reported, never used.
pub(super) fn discover(
    profile: &Profile,
    files: &[VolumeFile],
) -> (Vec<Candidate>, Vec<IgnoredReport>) {
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
