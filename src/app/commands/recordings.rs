//! Naming recordings and periods in commands: stems, `STEM@ID`, dates.

use chrono::{DateTime, NaiveDate, Utc};

use super::CommandError;
use crate::custody::register::Tx;
use crate::custody::register::stored::{self, StoredRecording};

/// The recording a command names: its stem, or `STEM@ID` when a store conflict left
/// several register rows under one stem.
pub(crate) fn resolve(conn: &Tx<'_>, name: &str) -> Result<StoredRecording, CommandError> {
    let (stem, id) = match name.rsplit_once('@') {
        Some((stem, id)) => (stem, id.parse::<i64>().ok()),
        None => (name, None),
    };
    let rows = stored::by_stem(conn, stem)?;
    let chosen = match id {
        Some(id) => rows.into_iter().find(|r| r.id == id),
        None if rows.len() > 1 => {
            let ids: Vec<String> = rows.iter().map(|r| format!("{stem}@{}", r.id)).collect();
            return Err(CommandError::Invalid(format!(
                "`{stem}` names {} register rows (a store conflict kept both copies): name one of {}",
                ids.len(),
                ids.join(", ")
            )));
        }
        None => rows.into_iter().next(),
    };
    chosen.ok_or_else(|| {
        CommandError::Invalid(format!(
            "no stored recording named `{name}`: give its stem, e.g. SNTL-00042_20180312_143015_0001 (`sentinel-dockctl register print --view recordings` lists them)"
        ))
    })
}

/// The first instant of a day, UTC.
pub(crate) fn day_start(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Text a user typed, checked to be a non-empty single line that fits in a register.
pub(crate) fn one_line(what: &str, value: &str) -> Result<String, CommandError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(CommandError::Invalid(format!(
            "{what} is empty: say it in words"
        )));
    }
    if value.len() > 2000 || value.chars().any(char::is_control) {
        return Err(CommandError::Invalid(format!(
            "{what} must be one line of at most 2000 bytes, without control characters"
        )));
    }
    Ok(value.to_string())
}

/// The absolute path of a file the register places in the store, refusing a register
/// value that would lead outside it (an edited register must not aim at other files).
pub(crate) fn store_file(
    store: &crate::custody::store::Store,
    relative: &str,
) -> Result<std::path::PathBuf, CommandError> {
    use std::path::{Component, Path};
    let rel = Path::new(relative);
    let plain = !relative.is_empty() && rel.components().all(|c| matches!(c, Component::Normal(_)));
    if !plain {
        return Err(CommandError::Invalid(format!(
            "the register places a file at `{relative}`, which is not a path inside the store: the register was edited; run `sentinel-dockctl audit verify`"
        )));
    }
    Ok(store.root().join(rel))
}
