//! Scrub: every stored file read back from disk and compared with what the register holds.
//!
//! A store on a RAID can still lose or change bytes (a bad disk the RAID did not notice, a
//! person with root and a text editor). The register holds both hashes and the size of
//! every stored file, so reading each file again from the disk (not the page cache) proves,
//! or disproves, that the store still holds what was confirmed. Problems are reported by
//! recording name: changed, missing, unexpected, unreadable; and raised as one alarm each
//! in the log (`events::SCRUB_PROBLEM`).
//!
//! One call, no state: the one-shot `sentinel-dockd scrub`, the daemon's weekly scrub and
//! `sentinel-dockctl scrub` all call [`scrub`]. It only reads, and it may run beside ingests
//! and purges (the daemon runs it on its own thread): the register is read again once the
//! store has been listed and read back, so that a copy renamed into place before its commit
//! (its row still `discovered`) is reported as awaiting its commit, not as unexpected, and a
//! file purged meanwhile is not reported missing.

mod files;
mod snapshot;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::base::events;
use crate::camera::evidence::name::escape_name;
use crate::custody::register::{Register, RegisterError};
use crate::custody::store::{Area, Store, StoreError, is_temp_file_name};

use files::{FileKind, check_file, list_files};
use snapshot::Snapshot;

/// Why a scrub could not run at all (a scrub that finds problems still succeeds).
#[derive(Debug, thiserror::Error)]
pub enum ScrubError {
    /// The register could not be read.
    #[error("scrub")]
    Register(#[from] RegisterError),
    /// A folder of the store could not be listed.
    #[error("scrub")]
    Store(#[from] StoreError),
}

/// One problem found, named by the recording it concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScrubProblem {
    /// The recording's stem (`<SERIAL>_<YYYYMMDD>_<HHMMSS>_<NNNN>`), or the file's escaped
    /// name up to its first dot when no recording of the register owns it.
    pub recording: String,
    /// The file, relative to the store's root (escaped for display).
    pub path: String,
    /// What was found, in words.
    pub detail: String,
}

/// What a scrub found.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ScrubReport {
    /// The store's root.
    pub store: PathBuf,
    /// Files read back and compared.
    pub files_checked: u64,
    /// Bytes read back.
    pub bytes_checked: u64,
    /// Files whose size or hashes differ from the register's.
    pub changed: Vec<ScrubProblem>,
    /// Files the register holds that the store does not.
    pub missing: Vec<ScrubProblem>,
    /// Files in the store that no register row accounts for.
    pub unexpected: Vec<ScrubProblem>,
    /// Files that could not be read back.
    pub unreadable: Vec<ScrubProblem>,
    /// Hidden temp files of copies in progress or cut off by a crash (not problems:
    /// `Store::open` removes the latter).
    pub temp_files: Vec<String>,
    /// Files of recordings whose register row is still `discovered`: a copy renamed into
    /// place whose commit is still to come, or was cut off by a crash (the camera keeps
    /// the recording; its next docking finishes the job). Not problems.
    #[serde(default)]
    pub awaiting_commit: Vec<String>,
    /// Files the local store no longer holds but the S3 replica does, proven there when
    /// replicated (a dock machine rebuilt, a store lost): not missing, and not problems;
    /// `consult` and `extract` read them from the replica.
    #[serde(default)]
    pub held_by_replica: Vec<ScrubProblem>,
}

impl ScrubReport {
    /// Whether the store holds exactly what the register says, byte for byte.
    pub fn is_clean(&self) -> bool {
        self.problems().next().is_none()
    }

    /// Every problem with its kind (`changed`, `missing`, `unexpected`, `unreadable`).
    pub fn problems(&self) -> impl Iterator<Item = (&'static str, &ScrubProblem)> {
        let tag = |kind: &'static str| move |p| (kind, p);
        self.changed
            .iter()
            .map(tag("changed"))
            .chain(self.missing.iter().map(tag("missing")))
            .chain(self.unexpected.iter().map(tag("unexpected")))
            .chain(self.unreadable.iter().map(tag("unreadable")))
    }

    /// A few lines for the technician.
    pub fn summary(&self) -> String {
        let mut out = format!(
            "scrub of {}: {} file(s), {} bytes read back from disk; {} changed, {} missing, {} unexpected, {} unreadable\n",
            self.store.display(),
            self.files_checked,
            self.bytes_checked,
            self.changed.len(),
            self.missing.len(),
            self.unexpected.len(),
            self.unreadable.len()
        );
        for (kind, p) in self.problems() {
            out.push_str(&format!(
                "  {kind} {}: {}: {}\n",
                p.recording, p.path, p.detail
            ));
        }
        if !self.temp_files.is_empty() {
            out.push_str(&format!(
                "  {} temp file(s) of copies in progress or cut off (removed when the store is next opened by an ingest)\n",
                self.temp_files.len()
            ));
        }
        if !self.held_by_replica.is_empty() {
            out.push_str(&format!(
                "  {} file(s) no longer in the local store, held by the replica (proven there; consult and extract read them from it):\n",
                self.held_by_replica.len()
            ));
            for p in &self.held_by_replica {
                out.push_str(&format!(
                    "    held by the replica {}: {}: {}\n",
                    p.recording, p.path, p.detail
                ));
            }
        }
        if !self.awaiting_commit.is_empty() {
            out.push_str(&format!(
                "  {} file(s) of recordings being ingested, awaiting their commit (the camera keeps them until then)\n",
                self.awaiting_commit.len()
            ));
        }
        out.push_str(if self.is_clean() {
            "the store holds exactly what the register says\n"
        } else {
            "PROBLEMS FOUND: keep the camera's recordings that are still on cameras, restore the files above from a backup, and check the RAID and the kernel log\n"
        });
        out
    }
}

/// Reads back every file of the store and compares it with the register; logs one alarm
/// per problem (`message_id` = `events::SCRUB_PROBLEM.id`).
pub fn scrub(store: &Store, register: &mut Register) -> Result<ScrubReport, ScrubError> {
    let mut before = Snapshot::read(register)?;
    let mut report = ScrubReport {
        store: store.root().to_path_buf(),
        ..ScrubReport::default()
    };
    let mut found = Vec::new();
    for area in Area::ALL {
        list_files(store.root(), Path::new(area.dir_name()), 3, &mut found)?;
    }
    found.sort();
    let mut unmatched = Vec::new();
    for (relative, kind) in found {
        let text = relative.to_string_lossy().into_owned();
        let name = relative
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if kind == FileKind::Regular && is_temp_file_name(&name) {
            report.temp_files.push(escape_name(&text));
        } else if let Some(exp) = before.expected.remove(&text) {
            check_file(store, &relative, kind, exp, &mut report);
        } else if !(kind == FileKind::Regular && before.reasons.contains(&text)) {
            unmatched.push((relative, kind, name));
        }
    }
    // Ingests and purges went on while the store was listed and read back: what the
    // register says now decides about the files the first look could not account for.
    let mut after = Snapshot::read(register)?;
    for (path, exp) in before.expected {
        if !after.expected.contains_key(&path) {
            continue;
        }
        if let Some((key, version)) = &exp.replica {
            let detail = format!(
                "the register holds this {}-byte file (sha256 {}); the local store does not, the replica does: object {key} version {version}, proven when replicated",
                exp.facts.size,
                exp.facts.digests.sha256_hex()
            );
            tracing::warn!(
                recording = %exp.recording,
                "scrub: stored file {path} of recording {} is no longer in the local store; the replica holds it ({key} version {version})",
                exp.recording
            );
            report
                .held_by_replica
                .push(problem(exp.recording, &path, detail));
        } else {
            let detail = format!(
                "the register holds this {}-byte file (sha256 {}), the store does not",
                exp.facts.size,
                exp.facts.digests.sha256_hex()
            );
            report.missing.push(problem(exp.recording, &path, detail));
        }
    }
    // A file that vanished while it was read back was purged meanwhile, not lost.
    report
        .unreadable
        .retain(|p| after.expected.keys().any(|k| escape_name(k) == p.path));
    for (relative, kind, name) in unmatched {
        settle_unmatched(store, &relative, kind, &name, &mut after, &mut report);
    }
    raise_alarms(&report);
    Ok(report)
}

/// A file the first look at the register did not account for, judged by the second.
fn settle_unmatched(
    store: &Store,
    relative: &Path,
    kind: FileKind,
    name: &str,
    after: &mut Snapshot,
    report: &mut ScrubReport,
) {
    let text = relative.to_string_lossy().into_owned();
    if kind == FileKind::Other {
        let detail = "not a regular file (a link, folder or device) where only stored files belong";
        report
            .unexpected
            .push(problem(stem_of(name), &text, detail.into()));
    } else if let Some(exp) = after.expected.remove(&text) {
        check_file(store, relative, kind, exp, report); // committed while we looked
    } else if after.reasons.contains(&text) {
        // The reasons file of a recording quarantined while we looked.
    } else if after.discovered.contains(&stem_of(name)) {
        report.awaiting_commit.push(escape_name(&text));
    } else {
        let detail = "no register row accounts for this file";
        report
            .unexpected
            .push(problem(stem_of(name), &text, detail.into()));
    }
}

/// The recording a stray file would belong to: its escaped name up to the first dot.
fn stem_of(name: &str) -> String {
    escape_name(name.split('.').find(|s| !s.is_empty()).unwrap_or(name))
}

fn problem(recording: String, path: &str, detail: String) -> ScrubProblem {
    ScrubProblem {
        recording,
        path: escape_name(path),
        detail,
    }
}

fn raise_alarms(report: &ScrubReport) {
    for (kind, p) in report.problems() {
        tracing::error!(
            message_id = events::SCRUB_PROBLEM.id,
            problem = kind,
            recording = %p.recording,
            path = %p.path,
            "scrub: {kind} stored file {} of recording {}: {}",
            p.path,
            p.recording,
            p.detail
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stray_name_is_shown_escaped_up_to_its_first_dot() {
        assert_eq!(stem_of("SNTL-1_X.MP4"), "SNTL-1_X");
        assert_eq!(stem_of(".hidden.MP4"), "hidden");
        assert_eq!(stem_of("a\nb.txt"), "a\\u{a}b");
    }
}
