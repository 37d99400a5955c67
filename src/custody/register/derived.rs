//! The register of anonymised derivatives: what was made from which recording, with the
//! hashes of its stored files, its voice key, and the reviewer's decision.

use chrono::{DateTime, Utc};
use rusqlite::params;

use crate::custody::register::{Conn, OptionalExtension};

use super::{RegisterError, format_time};
use crate::base::digest::Digests;

/// A stored file of a derivative: its place in the store, size and hashes.
#[derive(Debug, Clone, PartialEq)]
pub struct DerivedFile {
    /// Path relative to the store's root.
    pub path: String,
    /// Bytes.
    pub size: u64,
    /// BLAKE3 and SHA-256, as read back from the store.
    pub digests: Digests,
}

/// A derivative to record.
#[derive(Debug, Clone)]
pub struct NewDerivative {
    /// The recording's register id.
    pub recording: i64,
    /// Who asked for it.
    pub made_by: String,
    /// The audit entry that traced the request.
    pub audit_seq: i64,
    /// The anonymised video.
    pub video: DerivedFile,
    /// Its manifest.
    pub manifest: DerivedFile,
    /// SHA-256 of the detector's model.
    pub model_sha256: String,
    /// `mask`, `mute` or `keep`.
    pub voice: String,
    /// The voice key, when masked: pitch and formant ratios.
    pub key: Option<(f64, f64)>,
}

/// A derivative the register holds.
#[derive(Debug, Clone)]
pub struct Derivative {
    /// Its register id.
    pub id: i64,
    /// The recording's register id.
    pub recording: i64,
    /// The anonymised video.
    pub video: DerivedFile,
    /// Its manifest.
    pub manifest: DerivedFile,
    /// When and by whom it was accepted, if it was.
    pub accepted: Option<(String, String)>,
}

/// Records a derivative; returns its id.
pub fn insert(conn: &Conn, d: &NewDerivative, at: DateTime<Utc>) -> Result<i64, RegisterError> {
    let size = |f: &DerivedFile| i64::try_from(f.size).unwrap_or(i64::MAX);
    conn.execute(
        "INSERT INTO derivatives (recording, made_at, made_by, audit_seq, video_path, video_size,
             video_blake3, video_sha256, manifest_path, manifest_size, manifest_blake3,
             manifest_sha256, model_sha256, voice, pitch, formant)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
        params![
            d.recording,
            format_time(at),
            d.made_by,
            d.audit_seq,
            d.video.path,
            size(&d.video),
            d.video.digests.blake3_hex(),
            d.video.digests.sha256_hex(),
            d.manifest.path,
            size(&d.manifest),
            d.manifest.digests.blake3_hex(),
            d.manifest.digests.sha256_hex(),
            d.model_sha256,
            d.voice,
            d.key.map(|k| k.0),
            d.key.map(|k| k.1),
        ],
    )?;
    conn.last_insert_rowid()
}

/// Whether a voice key was already used by a derivative.
pub(crate) fn key_used(conn: &Conn, pitch: f64, formant: f64) -> Result<bool, RegisterError> {
    let n: i64 = conn.query_row(
        "SELECT count(*) FROM derivatives WHERE pitch = ?1 AND formant = ?2",
        params![pitch, formant],
        |r| r.get(0),
    )?;
    Ok(n > 0)
}

/// The recording's latest derivative, accepted or not.
pub fn latest(conn: &Conn, recording: i64) -> Result<Option<Derivative>, RegisterError> {
    one(conn, "recording = ?1 ORDER BY id DESC LIMIT 1", recording)
}

/// The recording's accepted derivative (the latest accepted, when several were).
pub fn accepted(conn: &Conn, recording: i64) -> Result<Option<Derivative>, RegisterError> {
    one(
        conn,
        "recording = ?1 AND accepted_at IS NOT NULL ORDER BY id DESC LIMIT 1",
        recording,
    )
}

/// Marks a derivative accepted by `author`, for `reason`.
pub fn accept(
    conn: &Conn,
    id: i64,
    author: &str,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<(), RegisterError> {
    conn.execute(
        "UPDATE derivatives SET accepted_at = ?2, accepted_by = ?3, accept_reason = ?4 WHERE id = ?1",
        params![id, format_time(at), author, reason],
    )?;
    Ok(())
}

fn one(conn: &Conn, filter: &str, recording: i64) -> Result<Option<Derivative>, RegisterError> {
    let sql = format!(
        "SELECT id, recording, video_path, video_size, video_blake3, video_sha256, manifest_path,
                manifest_size, manifest_blake3, manifest_sha256, accepted_at, accepted_by
         FROM derivatives WHERE {filter}"
    );
    let row = conn
        .query_row(&sql, [recording], |r| {
            let file = |p: usize| -> rusqlite::Result<(String, i64, String, String)> {
                Ok((r.get(p)?, r.get(p + 1)?, r.get(p + 2)?, r.get(p + 3)?))
            };
            let accepted_at: Option<String> = r.get(10)?;
            let accepted_by: Option<String> = r.get(11)?;
            Ok((
                r.get(0)?,
                r.get(1)?,
                file(2)?,
                file(6)?,
                accepted_at.zip(accepted_by),
            ))
        })
        .optional()?;
    let Some((id, recording, video, manifest, accepted)) = row else {
        return Ok(None);
    };
    let file = |(path, size, b3, sha): (String, i64, String, String)| {
        Digests::from_hex(&b3, &sha)
            .map(|digests| DerivedFile {
                path,
                size: u64::try_from(size).unwrap_or(0),
                digests,
            })
            .ok_or_else(|| RegisterError::Corrupt {
                table: "derivatives",
                id,
                column: "hashes",
                value: format!("{b3} / {sha}"),
            })
    };
    Ok(Some(Derivative {
        id,
        recording,
        video: file(video)?,
        manifest: file(manifest)?,
        accepted,
    }))
}
