//! `show RECORDING`: one recording's facts, its GPS track (from the stored sidecar) and
//! its custody timeline (the ingest's steps and every audit entry that names it).
//!
//! Showing facts is not a consultation: no footage is read, only the register and the
//! sidecar's positions, which the register already summarises in its bounding box.

use super::access::Actor;
use super::recordings::{resolve, store_file};
use super::{CommandError, Context, Reply};
use crate::app::api::replies::{CustodyEntry, RecordingFacts, Shown, TrackPoint};
use crate::app::api::request::ShowArgs;
use crate::app::ingest::ON_CAMERA_PURPOSE;
use crate::custody::register::camera_logs;
use crate::custody::register::custody;
use crate::custody::register::holds;
use crate::custody::register::perception;

/// The most track points sent (a 2-hour recording at 1 Hz is 7,200; an SVG needs fewer).
const MAX_TRACK_POINTS: usize = 2000;

/// `show RECORDING`
pub fn show(ctx: &mut Context<'_>, _actor: &Actor, a: &ShowArgs) -> Result<Reply, CommandError> {
    super::perception::attribute_pending(ctx.register, ctx.clock)?;
    let tx = ctx.register.read()?;
    let conn = &tx;
    let r = resolve(conn, &a.recording)?;
    let measured = custody::measured_facts(conn, r.id)?;
    let facts = RecordingFacts {
        prerecord_secs: measured.prerecord_secs,
        duration_secs: measured.duration_secs,
        flags: measured.flags,
        reasons: measured.reasons,
    };
    let attribution = perception::attribution(conn, r.id)?;
    let site = crate::custody::register::stored::site_of(conn, r.id)?.unwrap_or_default();
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
    let mut custody: Vec<CustodyEntry> = custody::state_changes(conn, r.id)?
        .into_iter()
        .map(custody_entry)
        .collect();
    custody.extend(
        custody::audit_entries(conn, &r.stem)?
            .into_iter()
            .map(custody_entry),
    );
    drop(tx);
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
        site,
        state: r.state.as_str().to_string(),
        start: crate::custody::register::format_time(r.start),
        end: r.end.map(crate::custody::register::format_time),
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

/// A custody step as the reply carries it.
fn custody_entry(c: custody::CustodyRow) -> CustodyEntry {
    CustodyEntry {
        audit_seq: c.audit_seq,
        at: c.at,
        author: c.author,
        action: c.action,
        purpose: c.purpose,
        details: c.details,
    }
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
