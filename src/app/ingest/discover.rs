//! What the camera holds: recordings paired by their parsed names, and their sidecars read.

use std::collections::BTreeMap;

use crate::base::config::Profile;
use crate::base::digest::{Digests, Hasher};
use crate::base::error::Chain;
use crate::camera::evidence::name::{FileKind, RecordingName};
use crate::camera::evidence::sidecar::{self, SidecarReport};
use std::io::Read;

use crate::camera::volume::{Volume, VolumeFile};

use super::{IgnoredReport, ReadFaults, Reason};

/// A recording found on the camera: its parsed name and the files that carry it.
pub(super) struct Candidate {
    pub(super) name: RecordingName,
    pub(super) video: Option<VolumeFile>,
    pub(super) sidecar: Option<VolumeFile>,
}

/// A sidecar as read from the camera: its bytes, hashes and parse, or why there is none.
pub(super) struct SidecarRead {
    /// Its size, when it was read (its bytes are streamed again for each copy).
    pub(super) size: Option<u64>,
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
            size: None,
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
            size: None,
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
            .map_err(|e| format!("reading {} from the camera: {}", file.path, Chain(&e)))?;
    }
    // Streamed twice, never held whole (a sidecar may hold up to max_sidecar_bytes): once
    // to find its trailer, once to parse it; both reads must hash the same.
    let mut tail = sidecar::TailScan::default();
    let first = stream_sidecar(volume, file, &mut |chunk| tail.feed(chunk))?;
    let mut parse = sidecar::StreamParse::new(profile, file.size, tail);
    let second = stream_sidecar(volume, file, &mut |chunk| parse.feed(chunk))?;
    if first != second {
        return Err(format!(
            "the sidecar {} read differently twice in a row: the camera is not returning stable bytes",
            file.path
        ));
    }
    Ok(SidecarRead {
        digests: Some(first),
        size: Some(file.size),
        report: Some(parse.finish()),
        missing: Reason::new("sidecar-missing", ""),
    })
}

/// Bytes of a sidecar handed on at once while it is streamed.
const SIDECAR_CHUNK: usize = 64 * 1024;

/// Streams a sidecar from the camera through `each`, returning its hashes; refuses one
/// that does not hold exactly the size its entry declares.
pub(super) fn stream_sidecar(
    volume: &mut dyn Volume,
    file: &VolumeFile,
    each: &mut dyn FnMut(&[u8]),
) -> Result<Digests, String> {
    let failed = |e: &dyn std::fmt::Display| format!("reading {} from the camera: {e}", file.path);
    let mut reader = volume
        .open_file(&file.path)
        .map_err(|e| failed(&Chain(&e)))?;
    let mut h = Hasher::new();
    let mut buf = vec![0u8; SIDECAR_CHUNK];
    let mut total: u64 = 0;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(failed(&Chain(&e))),
        };
        total += n as u64;
        h.update(&buf[..n]);
        each(&buf[..n]);
    }
    if total != file.size {
        return Err(failed(&format_args!(
            "{total} bytes read, but its entry declares {}",
            file.size
        )));
    }
    Ok(h.finish())
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
                    crate::camera::evidence::name::escape_name(&f.day_dir)
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
