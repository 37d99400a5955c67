//! Scrub: every stored file read back from disk and compared with what the register holds.
//!
//! A store on a RAID can still lose or change bytes (a bad disk the RAID did not notice, a
//! person with root and a text editor). The register holds both hashes and the size of
//! every stored file, so reading each file again from the disk (not the page cache) proves,
//! or disproves, that the store still holds what was confirmed. Problems are reported by
//! recording name: changed, missing, unexpected, unreadable; and raised as one alarm each
//! in the log (`events::SCRUB_PROBLEM`).
//!
//! One call, no state: the one-shot `sentinel-dockd scrub`, a daemon task and
//! `sentinel-dockctl scrub` can all call [`scrub`]. It only reads; a caller running it beside
//! ingests should hold the same lock as they do, or a copy renamed into place a moment
//! before its register commit shows as unexpected.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::digest::Digests;
use crate::events;
use crate::evidence::name::escape_name;
use crate::register::{FileFacts, RecordingState, Register, RegisterError};
use crate::store::{Area, Store, StoreError, is_temp_file_name};

/// Why a scrub could not run at all (a scrub that finds problems still succeeds).
#[derive(Debug, thiserror::Error)]
pub enum ScrubError {
    /// The register could not be read.
    #[error("scrub: {0}")]
    Register(#[from] RegisterError),
    /// A folder of the store could not be listed.
    #[error("scrub: {0}")]
    Store(#[from] StoreError),
}

/// One problem found, named by the recording it concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
#[derive(Debug, Clone, Default, Serialize)]
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
        out.push_str(if self.is_clean() {
            "the store holds exactly what the register says\n"
        } else {
            "PROBLEMS FOUND: keep the camera's recordings that are still on cameras, restore the files above from a backup, and check the RAID and the kernel log\n"
        });
        out
    }
}

/// A file the register says the store holds.
struct Expected {
    recording: String,
    facts: FileFacts,
}

/// Reads back every file of the store and compares it with the register; logs one alarm
/// per problem (`message_id` = `events::SCRUB_PROBLEM.id`).
pub fn scrub(store: &Store, register: &mut Register) -> Result<ScrubReport, ScrubError> {
    let (mut expected, reasons) = expected_files(register)?;
    let mut report = ScrubReport {
        store: store.root().to_path_buf(),
        ..ScrubReport::default()
    };
    let mut found = Vec::new();
    for area in Area::ALL {
        list_files(store.root(), Path::new(area.dir_name()), 3, &mut found)?;
    }
    found.sort();
    for (relative, kind) in found {
        let text = relative.to_string_lossy().into_owned();
        let name = relative
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if kind == FileKind::Regular && is_temp_file_name(&name) {
            report.temp_files.push(escape_name(&text));
        } else if let Some(exp) = expected.remove(&text) {
            check_file(store, &relative, kind, exp, &mut report);
        } else if !(kind == FileKind::Regular && reasons.contains(&text)) {
            let detail = match kind {
                FileKind::Regular => "no register row accounts for this file",
                FileKind::Other => {
                    "not a regular file (a link, folder or device) where only stored files belong"
                }
            };
            report
                .unexpected
                .push(problem(stem_of(&name), &text, detail.into()));
        }
    }
    for (path, exp) in expected {
        let detail = format!(
            "the register holds this {}-byte file (sha256 {}), the store does not",
            exp.facts.size,
            exp.facts.digests.sha256_hex()
        );
        report.missing.push(problem(exp.recording, &path, detail));
    }
    raise_alarms(&report);
    Ok(report)
}

/// The files the register holds, by path, and the quarantine reasons files it implies.
fn expected_files(
    register: &mut Register,
) -> Result<(BTreeMap<String, Expected>, BTreeSet<String>), RegisterError> {
    let ids: Vec<i64> = {
        let conn = register.connection();
        let mut stmt = conn.prepare(
            "SELECT id FROM recordings WHERE video_path IS NOT NULL OR sidecar_path IS NOT NULL ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    let mut expected = BTreeMap::new();
    let mut reasons = BTreeSet::new();
    for id in ids {
        let Some(row) = register.recording(id)? else {
            continue;
        };
        // Only these states hold files in the store; a discovered row has none yet.
        if !matches!(
            row.state,
            RecordingState::Confirmed | RecordingState::Quarantined | RecordingState::Wiped
        ) {
            continue;
        }
        for facts in [row.video, row.sidecar].into_iter().flatten() {
            if row.state == RecordingState::Quarantined
                && let Some(folder) = Path::new(&facts.path).parent()
            {
                let name = format!("{}.reasons.txt", row.stem);
                reasons.insert(folder.join(name).to_string_lossy().into_owned());
            }
            let recording = row.stem.clone();
            expected.insert(facts.path.clone(), Expected { recording, facts });
        }
    }
    Ok((expected, reasons))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum FileKind {
    Regular,
    Other,
}

/// Lists `area/day/serial/file` below `root` without following links; anything that is
/// not a folder where a folder belongs is listed as a file of kind `Other`.
fn list_files(
    root: &Path,
    relative: &Path,
    depth: u32,
    out: &mut Vec<(PathBuf, FileKind)>,
) -> Result<(), StoreError> {
    let dir = root.join(relative);
    let list_err = |source| StoreError::ListFolder {
        path: dir.clone(),
        source,
    };
    for entry in fs::read_dir(&dir).map_err(list_err)? {
        let entry = entry.map_err(list_err)?;
        let kind = entry.file_type().map_err(list_err)?;
        let child = relative.join(entry.file_name());
        if depth > 1 && kind.is_dir() {
            list_files(root, &child, depth - 1, out)?;
        } else if depth == 1 && kind.is_file() {
            out.push((child, FileKind::Regular));
        } else {
            out.push((child, FileKind::Other));
        }
    }
    Ok(())
}

fn check_file(
    store: &Store,
    relative: &Path,
    kind: FileKind,
    exp: Expected,
    report: &mut ScrubReport,
) {
    let text = relative.to_string_lossy().into_owned();
    if kind != FileKind::Regular {
        let detail = "the register holds a file here, the store holds a link, folder or device";
        report
            .changed
            .push(problem(exp.recording, &text, detail.into()));
        return;
    }
    let path = store.root().join(relative);
    let size = fs::symlink_metadata(&path).map(|m| m.len()).unwrap_or(0);
    match store.read_back(&path) {
        Ok(found) => {
            report.files_checked += 1;
            report.bytes_checked += size;
            if let Some(detail) = difference(&exp.facts, size, &found) {
                report.changed.push(problem(exp.recording, &text, detail));
            }
        }
        Err(e) => report
            .unreadable
            .push(problem(exp.recording, &text, e.to_string())),
    }
}

/// What differs between the register's facts and the file read back, if anything.
fn difference(facts: &FileFacts, size: u64, found: &Digests) -> Option<String> {
    let mut parts = Vec::new();
    if size != facts.size {
        parts.push(format!(
            "{size} bytes where the register holds {}",
            facts.size
        ));
    }
    if found.sha256 != facts.digests.sha256 {
        parts.push(format!(
            "sha256 {} where the register holds {}",
            found.sha256_hex(),
            facts.digests.sha256_hex()
        ));
    }
    if found.blake3 != facts.digests.blake3 {
        parts.push(format!(
            "blake3 {} where the register holds {}",
            found.blake3_hex(),
            facts.digests.blake3_hex()
        ));
    }
    (!parts.is_empty()).then(|| format!("read back from disk: {}", parts.join("; ")))
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
    fn a_difference_names_each_changed_fact() {
        let mut h = crate::digest::Hasher::new();
        h.update(b"a");
        let digests = h.finish();
        let facts = FileFacts {
            size: 1,
            digests,
            path: "x".into(),
        };
        assert_eq!(difference(&facts, 1, &digests), None);
        let mut other = digests;
        other.sha256[0] ^= 1;
        let text = difference(&facts, 2, &other).expect("differs");
        assert!(
            text.contains("2 bytes where the register holds 1"),
            "{text}"
        );
        assert!(
            text.contains("sha256") && !text.contains("blake3"),
            "{text}"
        );
    }

    #[test]
    fn a_stray_name_is_shown_escaped_up_to_its_first_dot() {
        assert_eq!(stem_of("SNTL-1_X.MP4"), "SNTL-1_X");
        assert_eq!(stem_of(".hidden.MP4"), "hidden");
        assert_eq!(stem_of("a\nb.txt"), "a\\u{a}b");
    }
}
