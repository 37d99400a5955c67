//! What the register says the store holds, read in one look.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::custody::register::replica::{Part, QueueState, ReplicaQueue};
use crate::custody::register::{FileFacts, RecordingState, Register, RegisterError};

/// A file the register says the store holds.
pub(super) struct Expected {
    /// The recording's stem.
    pub recording: String,
    /// Its size, hashes and path, as committed.
    pub facts: FileFacts,
    /// The replica's proven object of it (key, version), if the recording is `replicated`.
    pub replica: Option<(String, String)>,
}

/// One look at the register.
pub(super) struct Snapshot {
    /// The files stored recordings hold, by path relative to the store's root.
    pub expected: BTreeMap<String, Expected>,
    /// The quarantine reasons files those recordings imply.
    pub reasons: BTreeSet<String>,
    /// Stems of recordings seen on a camera whose copy is not committed yet.
    pub discovered: BTreeSet<String>,
}

impl Snapshot {
    /// Reads every recording row that holds stored files, or will.
    pub fn read(register: &mut Register) -> Result<Snapshot, RegisterError> {
        let ids = register.recordings_with_files()?;
        let mut snapshot = Snapshot {
            expected: BTreeMap::new(),
            reasons: BTreeSet::new(),
            discovered: BTreeSet::new(),
        };
        for id in ids {
            let Some(row) = register.recording(id)? else {
                continue;
            };
            match row.state {
                RecordingState::Discovered => {
                    snapshot.discovered.insert(row.stem);
                    continue;
                }
                // Only these states hold files in the store.
                RecordingState::Confirmed | RecordingState::Quarantined | RecordingState::Wiped => {
                }
                _ => continue,
            }
            let queue = register.read().and_then(|tx| ReplicaQueue::row(&tx, id))?;
            let proven = queue.filter(|q| q.state == QueueState::Replicated);
            let object = |part| proven.as_ref().and_then(|q| q.object(part).cloned());
            let files = [(row.video, Part::Video), (row.sidecar, Part::Sidecar)];
            for (facts, part) in files
                .into_iter()
                .filter_map(|(facts, part)| facts.map(|f| (f, part)))
            {
                if row.state == RecordingState::Quarantined
                    && let Some(folder) = Path::new(&facts.path).parent()
                {
                    let name = format!("{}.reasons.txt", row.stem);
                    let reasons = folder.join(name).to_string_lossy().into_owned();
                    snapshot.reasons.insert(reasons);
                }
                let recording = row.stem.clone();
                snapshot.expected.insert(
                    facts.path.clone(),
                    Expected {
                        recording,
                        facts,
                        replica: object(part),
                    },
                );
            }
        }
        Ok(snapshot)
    }
}
