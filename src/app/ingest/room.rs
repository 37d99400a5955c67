//! The room step: an ingest does not start when the store cannot take what the camera
//! holds plus the reserve; nothing is copied or wiped then.

use crate::base::config::Config;
use crate::camera::volume::VolumeFile;
use crate::custody::register::Register;
use crate::custody::store::Store;

use super::IngestError;
use super::discover::Candidate;

/// Refuses to start when the store cannot take what the camera holds plus the reserve.
pub(super) fn ensure_room(
    config: &Config,
    store: &Store,
    register: &Register,
    serial: &str,
    candidates: &[Candidate],
) -> Result<(), IngestError> {
    let mut needed: u64 = 0;
    for c in candidates {
        let rows = register.recordings_by_stem(serial, &c.name.stem())?;
        if rows.iter().any(|r| r.video.is_some()) {
            continue; // a re-run: hashed and compared, not copied again
        }
        // A size over the profile's limit is never copied (that recording is refused on
        // its own): a hostile entry must not make the store look full for the others.
        let size = |f: &Option<VolumeFile>, max: u64| {
            f.as_ref()
                .map_or(0, |f| if f.size > max { 0 } else { f.size })
        };
        let profile = &config.profile;
        needed = needed
            .saturating_add(size(&c.video, profile.max_video_bytes.0))
            .saturating_add(size(&c.sidecar, profile.max_sidecar_bytes.0));
    }
    let free = store.free_bytes()?;
    let reserve = config.store.reserve.0;
    if needed > 0 && needed.saturating_add(reserve) > free {
        return Err(IngestError::NoRoom {
            store: store.root().to_path_buf(),
            serial: serial.to_string(),
            needed,
            reserve,
            free,
        });
    }
    Ok(())
}
