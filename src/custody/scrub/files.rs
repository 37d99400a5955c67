//! The store's side of a scrub: its files listed without following links, and each read
//! back from disk and compared with the register's facts.

use std::fs;
use std::path::{Path, PathBuf};

use super::snapshot::Expected;
use super::{ScrubReport, problem};
use crate::base::digest::Digests;
use crate::base::error::chain;
use crate::custody::register::FileFacts;
use crate::custody::store::{Store, StoreError};

/// What a listed entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum FileKind {
    /// A regular file where stored files belong.
    Regular,
    /// A link, folder or device where a file or folder belongs.
    Other,
}

/// Lists `area/day/serial/file` below `root` without following links; anything that is
/// not a folder where a folder belongs is listed as a file of kind `Other`.
pub(super) fn list_files(
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

/// Reads back a file the register holds and records any difference as a problem.
pub(super) fn check_file(
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
            .push(problem(exp.recording, &text, chain(&e))),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_difference_names_each_changed_fact() {
        let mut h = crate::base::digest::Hasher::new();
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
}
