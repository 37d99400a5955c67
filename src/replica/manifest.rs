//! The manifest stored beside each recording in the replica: what a reader of the bucket
//! needs without the register (camera, times, both hashes of both files, attribution,
//! session, site), so that the bucket alone can be checked.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::custody::register::stored::StoredRecording;
use crate::custody::register::{FileFacts, Tx, format_time};

use super::{ReplicaError, locks};

#[derive(Serialize)]
struct Manifest<'a> {
    format: &'static str,
    site: &'a str,
    recording: &'a str,
    camera: &'a str,
    session: Option<i64>,
    start_utc: String,
    end_utc: Option<String>,
    retention_base_utc: String,
    retain_until_utc: String,
    video: Option<File<'a>>,
    sidecar: Option<File<'a>>,
    attribution: Vec<Attribution>,
}

#[derive(Serialize)]
struct File<'a> {
    key: String,
    size: u64,
    blake3: String,
    sha256: String,
    store_path: &'a str,
}

#[derive(Serialize)]
struct Attribution {
    agent: String,
    kind: String,
    at: String,
}

/// The manifest's bytes (pretty JSON): `keys` are the video's and sidecar's object keys.
pub(super) fn manifest(
    conn: &Tx<'_>,
    site: &str,
    row: &StoredRecording,
    keys: [&str; 2],
    retain_until: DateTime<Utc>,
) -> Result<Vec<u8>, ReplicaError> {
    let facts = crate::custody::register::replica::manifest_facts(conn, row.id)?;
    let session = facts.session;
    let attribution = facts
        .attributions
        .into_iter()
        .map(|(agent, kind, at)| Attribution { agent, kind, at })
        .collect();
    let manifest = Manifest {
        format: "sentinel-dock replica manifest v1",
        site,
        recording: &row.stem,
        camera: &row.camera,
        session,
        start_utc: format_time(row.start),
        end_utc: row.end.map(format_time),
        retention_base_utc: format_time(locks::retention_base(row)),
        retain_until_utc: format_time(retain_until),
        video: file(&row.video, keys[0]),
        sidecar: file(&row.sidecar, keys[1]),
        attribution,
    };
    let mut bytes = serde_json::to_vec_pretty(&manifest).map_err(|e| ReplicaError::Proof {
        key: row.stem.clone(),
        message: format!("cannot encode the manifest: {e}"),
    })?;
    bytes.push(b'\n');
    Ok(bytes)
}

fn file<'a>(facts: &'a Option<FileFacts>, key: &str) -> Option<File<'a>> {
    facts.as_ref().map(|f| File {
        key: key.to_string(),
        size: f.size,
        blake3: f.digests.blake3_hex(),
        sha256: f.digests.sha256_hex(),
        store_path: &f.path,
    })
}
