//! `show RECORDING`: one recording's facts, its GPS track (from the stored sidecar) and
//! its custody timeline (the ingest's steps and every audit entry that names it).
//!
//! Showing facts is not a consultation: no footage is read, only the register and the
//! sidecar's positions, which the register already summarises in its bounding box.

use rusqlite::{Connection, OptionalExtension, params};

use super::access::Actor;
use super::cli::ShowArgs;
use super::recordings::{resolve, store_file};
use super::{CommandError, Context, Reply};
use crate::ingest::ON_CAMERA_PURPOSE;
use crate::register::camera_logs;
use crate::register::holds;
use crate::register::perception;
use crate::replies::{CustodyEntry, RecordingFacts, Shown, TrackPoint};

/// The most track points sent (a 2-hour recording at 1 Hz is 7,200; an SVG needs fewer).
const MAX_TRACK_POINTS: usize = 2000;

/// `show RECORDING`
pub fn show(ctx: &mut Context<'_>, _actor: &Actor, a: &ShowArgs) -> Result<Reply, CommandError> {
    super::perception::attribute_pending(ctx.register, ctx.clock)?;
    let conn = ctx.register.connection();
    let r = resolve(conn, &a.recording)?;
    let facts = facts(conn, r.id)?;
    let attribution = perception::attribution(conn, r.id)?;
    let holds = holds::active(conn, r.id)?
        .into_iter()
        .map(|h| h.procedure)
        .collect();
    let hour = chrono::Duration::hours(1);
    let camera_events = camera_logs::events_around(
        conn,
        &r.camera,
        &r.stem,
        r.start - hour,
        r.end.unwrap_or(r.start) + hour,
    )?;
    let mut custody = events(conn, r.id)?;
    custody.extend(audit_entries(conn, &r.stem)?);
    custody.sort_by(|x, y| x.at.cmp(&y.at));
    let track = match (&r.sidecar, r.in_store()) {
        (Some(sidecar), true) => {
            let path = store_file(ctx.store, &sidecar.path)?;
            let max = ctx.config.profile.max_sidecar_bytes.0;
            match read_bounded(&path, max) {
                Some(bytes) => track(&bytes),
                None => Vec::new(),
            }
        }
        _ => Vec::new(),
    };
    let shown = Shown {
        stem: r.stem.clone(),
        camera: r.camera.clone(),
        state: r.state.as_str().to_string(),
        start: crate::register::format_time(r.start),
        end: r.end.map(crate::register::format_time),
        video_size: r.video.as_ref().map(|v| v.size),
        sha256: r.video.as_ref().map(|v| v.digests.sha256_hex()),
        blake3: r.video.as_ref().map(|v| v.digests.blake3_hex()),
        facts,
        attribution,
        holds,
        track,
        custody,
        camera_events,
    };
    let on_camera = shown
        .custody
        .iter()
        .filter(|c| c.purpose == ON_CAMERA_PURPOSE)
        .count();
    let mut message = format!(
        "{} camera {} state {} start {}; {} custody entries ({on_camera} on-camera consultation(s)), {} track points\n",
        shown.stem,
        shown.camera,
        shown.state,
        shown.start,
        shown.custody.len(),
        shown.track.len()
    );
    for c in shown
        .custody
        .iter()
        .filter(|c| c.purpose == ON_CAMERA_PURPOSE)
    {
        message.push_str(&format!(
            "  on camera: {} {}: {}\n",
            c.at, c.author, c.details
        ));
    }
    for e in &shown.camera_events {
        message.push_str(&format!("  camera log: {}\n", e.line));
    }
    Ok(Reply::ok(message, shown))
}

fn facts(conn: &Connection, id: i64) -> Result<RecordingFacts, CommandError> {
    let row = conn
        .query_row(
            "SELECT prerecord_secs, duration_secs, flags, reasons FROM recordings WHERE id = ?1",
            params![id],
            |r| {
                Ok((
                    r.get::<_, Option<i64>>(0)?,
                    r.get::<_, Option<f64>>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            },
        )
        .optional()?;
    let (prerecord, duration, flags, reasons) =
        row.unwrap_or((None, None, "[]".into(), "[]".into()));
    Ok(RecordingFacts {
        prerecord_secs: prerecord,
        duration_secs: duration,
        flags: serde_json::from_str(&flags).unwrap_or_default(),
        reasons: serde_json::from_str(&reasons).unwrap_or_default(),
    })
}

fn events(conn: &Connection, id: i64) -> Result<Vec<CustodyEntry>, CommandError> {
    let mut s = conn.prepare(
        "SELECT at, state, detail FROM recording_events WHERE recording = ?1 ORDER BY id",
    )?;
    let rows = s.query_map(params![id], |r| {
        Ok(CustodyEntry {
            at: r.get(0)?,
            action: r.get(1)?,
            author: "sentinel-dockd".into(),
            purpose: String::new(),
            details: r.get(2)?,
            audit_seq: None,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The audit entries naming one recording, through the index the triggers keep (schema 12).
const CUSTODY: &str = "SELECT audit.seq, at, author, action, purpose, details
     FROM audit_recordings JOIN audit ON audit.seq = audit_recordings.seq
     WHERE audit_recordings.stem = ?1
     ORDER BY audit.seq";

fn audit_entries(conn: &Connection, stem: &str) -> Result<Vec<CustodyEntry>, CommandError> {
    let mut s = conn.prepare_cached(CUSTODY)?;
    let rows = s.query_map(params![stem], |r| {
        Ok(CustodyEntry {
            audit_seq: Some(r.get(0)?),
            at: r.get(1)?,
            author: r.get(2)?,
            action: r.get(3)?,
            purpose: r.get(4)?,
            details: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The file's bytes when it is no larger than `max` (a sidecar the ingest accepted is).
fn read_bounded(path: &std::path::Path, max: u64) -> Option<Vec<u8>> {
    let meta = std::fs::metadata(path).ok()?;
    if meta.len() > max {
        return None;
    }
    std::fs::read(path).ok()
}

/// The positions of the sidecar's valid RMC sentences, thinned to at most
/// [`MAX_TRACK_POINTS`]. Only drawn, never relied on: the ingest's parser is the one that
/// judges the sidecar.
pub fn track(bytes: &[u8]) -> Vec<TrackPoint> {
    let text = String::from_utf8_lossy(bytes);
    let all: Vec<TrackPoint> = text.lines().filter_map(rmc_point).collect();
    let step = all.len().div_ceil(MAX_TRACK_POINTS).max(1);
    all.into_iter().step_by(step).collect()
}

fn rmc_point(line: &str) -> Option<TrackPoint> {
    let body = line.trim().strip_prefix('$')?;
    let (body, sum) = body.split_once('*')?;
    let checksum = body.bytes().fold(0u8, |a, b| a ^ b);
    if u8::from_str_radix(sum.get(..2)?, 16).ok()? != checksum {
        return None;
    }
    let f: Vec<&str> = body.split(',').collect();
    if !f.first()?.ends_with("RMC") || f.get(2)? != &"A" {
        return None;
    }
    let lat = degrees(f.get(3)?, 2)? * if f.get(4)? == &"S" { -1.0 } else { 1.0 };
    let lon = degrees(f.get(5)?, 3)? * if f.get(6)? == &"W" { -1.0 } else { 1.0 };
    let time = f.get(1)?;
    let date = f.get(9)?;
    let at = format!(
        "20{}-{}-{}T{}:{}:{}Z",
        date.get(4..6)?,
        date.get(2..4)?,
        date.get(0..2)?,
        time.get(0..2)?,
        time.get(2..4)?,
        time.get(4..6)?
    );
    ((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)).then_some(TrackPoint {
        at,
        lat,
        lon,
    })
}

/// `ddmm.mmmm` (or `dddmm.mmmm`) to decimal degrees.
fn degrees(field: &str, digits: usize) -> Option<f64> {
    let d: f64 = field.get(..digits)?.parse().ok()?;
    let m: f64 = field.get(digits..)?.parse().ok()?;
    (m < 60.0).then_some(d + m / 60.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::register::audit::{Action, NewEntry, append, expire};
    use crate::register::{Register, query_plan};

    fn at(s: &str) -> chrono::DateTime<chrono::Utc> {
        s.parse().expect("test time")
    }

    /// A recording's custody reads the index of stems, never every audit entry's JSON:
    /// at a million recordings that scan took seconds a page (docs/performance.md).
    #[test]
    fn the_custody_of_a_recording_reads_an_index_not_every_entry() {
        let dir = tempfile::tempdir().unwrap();
        let mut reg = Register::open(&dir.path().join("r.sqlite")).unwrap();
        let conn = reg.connection();
        let plan = query_plan(conn, CUSTODY, ["S_1"]);
        assert!(
            !plan.iter().any(|s| s.starts_with("SCAN")),
            "the custody query scans: {plan:?}"
        );
        assert!(
            plan.iter()
                .any(|s| s.contains("audit_recordings") && s.contains("PRIMARY KEY")),
            "{plan:?}"
        );
    }

    /// Every entry naming a recording is found, in order, whoever wrote it; an entry naming
    /// two is found for both; expiry takes what it drops out of the index too.
    #[test]
    fn custody_follows_the_audit_through_appends_and_expiry() {
        let dir = tempfile::tempdir().unwrap();
        let mut reg = Register::open(&dir.path().join("r.sqlite")).unwrap();
        let entries = [
            ("2023-01-01T00:00:00Z", vec!["S_1"]),
            ("2023-02-01T00:00:00Z", vec!["S_2"]),
            ("2024-01-01T00:00:00Z", vec!["S_1", "S_2"]),
            ("2024-02-01T00:00:00Z", vec![]),
        ];
        for (when, stems) in &entries {
            let tx = reg.write().unwrap();
            let stems: Vec<String> = stems.iter().map(|s| s.to_string()).collect();
            let entry = NewEntry::new("chef-pm", Action::Consultation, *when).about(&stems);
            append(&tx, &entry, at(when)).unwrap();
            tx.commit().unwrap();
        }
        let seqs = |conn: &Connection, stem: &str| -> Vec<i64> {
            audit_entries(conn, stem)
                .unwrap()
                .iter()
                .filter_map(|e| e.audit_seq)
                .collect()
        };
        assert_eq!(seqs(reg.connection(), "S_1"), [1, 3]);
        assert_eq!(seqs(reg.connection(), "S_2"), [2, 3]);
        assert!(seqs(reg.connection(), "S_3").is_empty());
        let tx = reg.write().unwrap();
        expire(&tx, at("2023-06-01T00:00:00Z"), at("2026-06-01T00:00:00Z"))
            .unwrap()
            .expect("two entries are older");
        tx.commit().unwrap();
        assert_eq!(seqs(reg.connection(), "S_1"), [3]);
        assert_eq!(seqs(reg.connection(), "S_2"), [3]);
        let left: i64 = reg
            .connection()
            .query_row(
                "SELECT count(*) FROM audit_recordings WHERE seq <= 2",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(left, 0, "expired entries left in the index");
    }

    #[test]
    fn a_track_keeps_valid_fixes_only() {
        let good = "$GPRMC,143015,A,4502.5980,N,00503.0720,E,0.0,0.0,120318,,*";
        let sum = good[1..good.len() - 1].bytes().fold(0u8, |a, b| a ^ b);
        let text = format!("{good}{sum:02X}\n$GPRMC,143016,V,,,,,,,120318,,*00\n{good}00\n");
        let t = track(text.as_bytes());
        assert_eq!(t.len(), 1);
        assert!((t[0].lat - 45.0433).abs() < 1e-3, "{:?}", t[0]);
        assert!((t[0].lon - 5.0512).abs() < 1e-3);
        assert_eq!(t[0].at, "2018-03-12T14:30:15Z");
    }
}
