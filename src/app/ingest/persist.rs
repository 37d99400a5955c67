//! The half of a recording's copy that needs only the store: the sidecar and the video
//! made durable and proven by read-back, and a quarantined recording's reasons file.
//!
//! It needs neither the camera nor the register, so the pipeline runs it on its own
//! thread while the camera's next recording is read: the camera's bus stays busy while
//! the store fsyncs and reads back.

use std::path::{Path, PathBuf};

use crate::base::digest::{Digests, Hasher};
use crate::base::error::chain;
use crate::camera::evidence::name::{FileKind, RecordingName};
use crate::custody::register::{FileFacts, StoredFacts};
use crate::custody::store::{Area, PendingFile, PersistError, Persisted, Store, StorePath};

use super::{Attempt, Reason};

/// A recording whose bytes are read and judged, waiting to be persisted.
pub(super) struct Copied {
    /// Its parsed name, for its place in the store.
    pub name: RecordingName,
    /// The camera's serial, for its place in the store.
    pub serial: String,
    /// Its files' names on the camera (video, sidecar), rebuilt from the parsed name.
    pub file_names: (String, String),
    /// Recordings (every rule holds) or quarantine.
    pub area: Area,
    /// The video's temporary copy and what was learnt streaming it, when there is a video.
    pub video: Option<(PendingFile, u64, Digests)>,
    /// The sidecar's temporary copy, size and hashes, when there is a sidecar.
    pub sidecar: Option<(PendingFile, u64, Digests)>,
    /// Everything the register will hold, but the stored files.
    pub facts: StoredFacts,
}

/// Persists the sidecar, then the video (each read back from disk), and in quarantine the
/// reasons file; returns the facts to commit. A store conflict becomes a reason.
pub(super) fn persist(store: &Store, copied: Copied) -> Result<StoredFacts, Attempt> {
    let Copied {
        name,
        serial,
        file_names,
        mut area,
        video,
        sidecar,
        mut facts,
    } = copied;
    let place = |area, file_name: &str| {
        StorePath::new(area, name.day(), &serial, file_name).map_err(|e| Attempt::GiveUp(chain(&e)))
    };
    let mut conflicts = Vec::new();
    if let Some((pending, size, digests)) = sidecar {
        let at = place(area, &file_names.1)?;
        let path = persisted(store.persist_as(pending, &at, &digests), &mut conflicts)?;
        facts.sidecar = Some(file_facts(store, size, digests, &path));
    }
    if let Some((pending, size, digests)) = video {
        let at = place(area, &file_names.0)?;
        let path = persisted(store.persist_as(pending, &at, &digests), &mut conflicts)?;
        facts.video = Some(file_facts(store, size, digests, &path));
    }
    if !conflicts.is_empty() {
        facts.reasons.extend(conflicts);
        area = Area::Quarantine;
    }
    if area == Area::Quarantine {
        write_reasons(store, &name, &serial, &facts)?;
    }
    Ok(facts)
}

/// The file names a recording has on the camera, rebuilt from its parsed name.
pub(super) fn file_names(
    name: &RecordingName,
    profile: &crate::base::config::Profile,
) -> (String, String) {
    (
        name.file_name(profile, FileKind::Video),
        name.file_name(profile, FileKind::Sidecar),
    )
}

/// A stored file as the register records it: its path relative to the store's root.
fn file_facts(store: &Store, size: u64, digests: Digests, path: &Path) -> FileFacts {
    let relative = path.strip_prefix(store.root()).unwrap_or(path);
    FileFacts {
        size,
        digests,
        path: relative.to_string_lossy().into_owned(),
    }
}

/// Where a persisted file ended up; a conflict is kept and noted as a reason.
pub(super) fn persisted(
    result: Result<Persisted, PersistError>,
    conflicts: &mut Vec<String>,
) -> Result<PathBuf, Attempt> {
    match result {
        Ok(Persisted::Stored { path }) | Ok(Persisted::AlreadyPresent { path }) => Ok(path),
        Ok(Persisted::Conflict { existing, path }) => {
            let detail = format!(
                "{} already holds other content under this name; this copy was kept as {}",
                existing.display(),
                path.display()
            );
            conflicts.push(Reason::new("store-conflict", detail).stored());
            Ok(path)
        }
        Err(e) if e.retry_from_camera() => Err(Attempt::Retry(chain(&e))),
        Err(e) => Err(Attempt::GiveUp(chain(&e))),
    }
}

/// Writes `<STEM>.reasons.txt` beside a quarantined recording, for the person who opens the folder.
fn write_reasons(
    store: &Store,
    name: &RecordingName,
    serial: &str,
    facts: &StoredFacts,
) -> Result<(), Attempt> {
    let mut text = format!(
        "{} is quarantined: it stays on the camera until an authorised operator releases it.\n",
        name.stem()
    );
    for r in &facts.reasons {
        text.push_str(&format!("reason: {r}\n"));
    }
    for (what, f) in [("video", &facts.video), ("sidecar", &facts.sidecar)] {
        if let Some(f) = f {
            text.push_str(&format!(
                "{what}: {} bytes blake3={} sha256={}\n",
                f.size,
                f.digests.blake3_hex(),
                f.digests.sha256_hex()
            ));
        }
    }
    let at = StorePath::new(
        Area::Quarantine,
        name.day(),
        serial,
        &format!("{}.reasons.txt", name.stem()),
    )
    .map_err(|e| Attempt::GiveUp(chain(&e)))?;
    let mut h = Hasher::new();
    h.update(text.as_bytes());
    let digests = h.finish();
    let mut p = store.create(&at).map_err(|e| Attempt::Retry(chain(&e)))?;
    std::io::Write::write_all(&mut p, text.as_bytes()).map_err(|e| Attempt::Retry(chain(&e)))?;
    // A reasons file from an earlier run may hold other words; the register is the truth.
    let mut ignore = Vec::new();
    persisted(store.persist_as(p, &at, &digests), &mut ignore)?;
    Ok(())
}
