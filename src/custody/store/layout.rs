//! Where a file goes in the store: names built only from checked parts.
//!
//! Every name here ends up as a path component on the RAID, and its parts come from a
//! camera, which is hostile until proven otherwise (design invariant 6). So the parts are
//! checked against a small alphabet and length before anything is joined: no separator, no
//! `..`, no control or non-ASCII character, no leading `-` or `.` can reach the file system.

use std::path::PathBuf;

use chrono::{Datelike, NaiveDate};

use super::StoreError;

/// Longest serial accepted; cameras use about ten characters.
const MAX_SERIAL: usize = 64;
/// Longest file name accepted; leaves room under NAME_MAX (255) for the temp and conflict
/// suffixes, which add at most 48 bytes.
const MAX_FILE_NAME: usize = 160;

/// Marks temp files; `Store::open` removes any name carrying it.
pub(super) const PARTIAL_MARK: &str = ".partial-";

/// The two top-level folders of the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Area {
    /// Recordings whose checks passed.
    Recordings,
    /// Recordings that failed a check, kept with their reasons; never wiped automatically.
    Quarantine,
    /// Anonymised derivatives for training (`sentinel-dockctl anonymise`), beside, never in
    /// place of, their originals; created with its first derivative.
    Derived,
    /// The camera's own logs, copied at each docking; created with the first one.
    CameraLogs,
}

impl Area {
    /// The folder name under the store's root.
    pub(crate) fn dir_name(self) -> &'static str {
        match self {
            Area::Recordings => "recordings",
            Area::Quarantine => "quarantine",
            Area::Derived => "derived",
            Area::CameraLogs => "camera-logs",
        }
    }

    /// The areas every store has, in a fixed order (derived/ comes with its first derivative).
    pub const ALL: [Area; 2] = [Area::Recordings, Area::Quarantine];
}

/// A file's place in the store, made only from checked parts (serial, stem, extension:
/// ASCII `[A-Za-z0-9_-]`, extension `[A-Za-z0-9.]`); anything else is refused with an error.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StorePath {
    area: Area,
    day: NaiveDate,
    serial: String,
    stem: String,
    ext: String,
}

impl StorePath {
    /// Checks the parts and builds `<area>/<YYYY-MM-DD>/<serial>/<stem>.<ext>`.
    pub fn new(
        area: Area,
        day: NaiveDate,
        serial: &str,
        file_name: &str,
    ) -> Result<StorePath, StoreError> {
        // chrono prints years past 9999 with a sign, which would break the folder's sorting.
        if !(1..=9999).contains(&day.year()) {
            return Err(StoreError::BadDay { day });
        }
        check_word("serial", serial, MAX_SERIAL)?;
        if file_name.len() > MAX_FILE_NAME {
            return Err(bad("file name", file_name, "is longer than 160 characters"));
        }
        let Some((stem, ext)) = file_name.split_once('.') else {
            return Err(bad("file name", file_name, "has no extension"));
        };
        check_word("file name", stem, MAX_FILE_NAME)?;
        check_ext(file_name, ext)?;
        Ok(StorePath {
            area,
            day,
            serial: serial.to_owned(),
            stem: stem.to_owned(),
            ext: ext.to_owned(),
        })
    }

    /// The path below the store's root, e.g. `recordings/2024-05-01/SNTL-00042/X.MP4`.
    pub fn relative(&self) -> PathBuf {
        let mut p = self.folder();
        p.push(self.file_name());
        p
    }

    /// Which area the file belongs to.
    pub fn area(&self) -> Area {
        self.area
    }

    /// The recording day the folder is named after.
    pub fn day(&self) -> NaiveDate {
        self.day
    }

    /// The camera's serial, the folder below the day.
    pub fn serial(&self) -> &str {
        &self.serial
    }

    /// The final file name, `<stem>.<ext>`.
    pub fn file_name(&self) -> String {
        format!("{}.{}", self.stem, self.ext)
    }

    /// The folder below the store's root.
    pub(super) fn folder(&self) -> PathBuf {
        let mut p = PathBuf::from(self.area.dir_name());
        p.push(self.day.format("%Y-%m-%d").to_string());
        p.push(&self.serial);
        p
    }

    /// `<stem>.conflict-<first 16 hex of BLAKE3>.<ext>`: a different file that arrived
    /// under a name already taken, kept beside it.
    pub(super) fn conflict_file_name(&self, blake3_hex: &str) -> String {
        let short = blake3_hex.get(..16).unwrap_or(blake3_hex);
        format!("{}.conflict-{}.{}", self.stem, short, self.ext)
    }
}

/// `.<final name>.partial-<pid>-<counter>`: hidden, beside its final place, unique per
/// process and attempt.
pub(super) fn temp_file_name(final_name: &str, counter: u64) -> String {
    format!(
        ".{final_name}{PARTIAL_MARK}{}-{counter}",
        std::process::id()
    )
}

/// Whether a directory entry is a temp file left by a copy that never finished.
pub(super) fn is_partial_name(name: &str) -> bool {
    name.starts_with('.') && name.contains(PARTIAL_MARK)
}

fn check_word(what: &'static str, value: &str, max: usize) -> Result<(), StoreError> {
    if value.is_empty() {
        return Err(bad(what, value, "is empty"));
    }
    if value.len() > max {
        return Err(bad(what, value, "is too long"));
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(bad(
            what,
            value,
            "may hold only ASCII letters, digits, '_' and '-'",
        ));
    }
    // A leading '-' reads as an option to the shell tools a technician uses on the store.
    if value.starts_with('-') {
        return Err(bad(what, value, "must not start with '-'"));
    }
    Ok(())
}

fn check_ext(file_name: &str, ext: &str) -> Result<(), StoreError> {
    if !ext.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.') {
        return Err(bad(
            "file name",
            file_name,
            "has an extension with characters other than ASCII letters, digits and '.'",
        ));
    }
    // Empty segments ("a.", "a..b") would make names that sort and read ambiguously.
    if ext.split('.').any(str::is_empty) {
        return Err(bad("file name", file_name, "has an empty extension part"));
    }
    Ok(())
}

fn bad(what: &'static str, value: &str, why: &'static str) -> StoreError {
    StoreError::BadName {
        what,
        // Debug formatting escapes control characters, so the log line stays one line.
        value: format!("{value:?}"),
        why,
    }
}
