//! The read-through to the S3 replica: a stored file is read from the local store when it
//! holds it, else from the replica's proven object version (`[replica]`, the register's key
//! and version), checked against the register as it comes (`replica::fetch_verified`). A
//! mismatch serves nothing and raises `events::REPLICA_MISMATCH`; the caller traces the
//! failure in the audit register as for any failed read.

use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::OpenOptionsExt;

use super::bag::PayloadFile;
use super::recordings::store_file;
use super::{CommandError, Context};
use crate::base::events;
use crate::custody::register::FileFacts;
use crate::custody::register::RecordingId;
use crate::custody::register::stored::StoredRecording;
use crate::replica::{Part, QueueState, ReplicaError, ReplicaQueue, Wanted, fetch_verified};

/// The stored file `facts` (`part` of recording `id`, `stem`), read-only: the local
/// store's, else the replica's once it matched the register.
pub(super) fn open_local_or_replica(
    ctx: &mut Context<'_>,
    id: RecordingId,
    stem: &str,
    facts: &FileFacts,
    part: Part,
    what: &str,
) -> Result<File, CommandError> {
    let path = store_file(ctx.store, &facts.path)?;
    let local = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path);
    let gone = match local {
        Ok(file) => return Ok(file),
        Err(source) if source.kind() == ErrorKind::NotFound && ctx.config.replica.enabled() => {
            source
        }
        Err(source) => {
            return Err(CommandError::Io {
                what: format!("opening {what}"),
                path,
                source,
            });
        }
    };
    let queue = ctx
        .register
        .read()
        .and_then(|tx| ReplicaQueue::row(&tx, id))?;
    let Some((key, version)) = queue
        .as_ref()
        .filter(|q| q.state == QueueState::Replicated)
        .and_then(|q| q.object(part))
    else {
        return Err(CommandError::Io {
            what: format!(
                "opening {what} (the local store no longer holds it, and its replica is not proven)"
            ),
            path,
            source: gone,
        });
    };
    let wanted = Wanted {
        key,
        version,
        size: facts.size,
        digests: facts.digests,
    };
    match fetch_verified(&ctx.config.replica, &wanted, ctx.store.root()) {
        Ok(file) => {
            tracing::info!(recording = %stem, "{what} of {stem} read from the replica ({key} version {version}): the local store no longer holds it; size and hashes match the register");
            Ok(file)
        }
        Err(e) => {
            if matches!(e, ReplicaError::Mismatch { .. }) {
                tracing::error!(
                    message_id = events::REPLICA_MISMATCH.id,
                    recording = %stem,
                    key = %key,
                    version = %version,
                    "{what} of {stem} read from the replica does not match the register: {e}"
                );
            }
            Err(CommandError::Invalid(format!(
                "{what} of {stem} is no longer in the local store, and reading it from the replica failed: {e}"
            )))
        }
    }
}

/// The payload with each file the local store no longer holds read from the replica.
pub(super) fn stage_payload(
    ctx: &mut Context<'_>,
    recordings: &[StoredRecording],
    mut files: Vec<PayloadFile>,
) -> Result<Vec<PayloadFile>, CommandError> {
    for f in &mut files {
        if f.source.symlink_metadata().is_ok() {
            continue;
        }
        let found = recordings.iter().find_map(|r| {
            [(&r.video, Part::Video), (&r.sidecar, Part::Sidecar)]
                .into_iter()
                .find(|(facts, _)| facts.as_ref().is_some_and(|x| x.path == f.facts.path))
                .map(|(_, part)| (r.id, r.stem.clone(), part))
        });
        let Some((id, stem, part)) = found else {
            continue;
        };
        let file = open_local_or_replica(ctx, id, &stem, &f.facts, part, "the stored file")?;
        f.staged = Some(std::sync::Arc::new(file));
    }
    Ok(files)
}
