//! The camera's logs into the register: each new line of `PLAYBACK.LOG` and `EVENTS.LOG`
//! imported once (identified by its content), each new on-camera consultation written to the
//! audit register as a consultation by the agent who held the camera at that time.
//!
//! Who held the camera is `holder.rs`'s call. A consultation whose holder cannot be told is
//! written all the same, by "agent unknown", flagged: none is ever skipped.

use chrono::{DateTime, Duration, Utc};

use crate::base::events;
use crate::camera::evidence::camera_log::{self, CameraEvent, LogLine, ParsedLog, hms};
use crate::camera::evidence::name::{FileKind, RecordingName};
use crate::camera::evidence::trusted_time::{BoundSource, CameraClock};
use crate::custody::register::audit::{self, Action, NewEntry};
use crate::custody::register::camera_logs::{self, LogKind, NewLine, NewLog};
use crate::custody::register::{RegisterError, Tx, format_time};

use super::IngestError;
use super::camera_logs::{LogReport, ReadLog};
use super::clock_check::ClockCheck;
use super::docking::Docking;
use super::holder::{Times, holder};
use crate::custody::register::Register;

/// The purpose of every on-camera consultation entry.
pub(crate) const ON_CAMERA_PURPOSE: &str = "consultation immédiate (L241-2)";

/// The flag an entry whose holder could not be told carries.
pub(crate) const HOLDER_UNKNOWN: &str = "holder-unknown";

/// Imports the logs read at this docking; returns what each held. `clock` is the camera's
/// clock as concluded at this docking.
pub(super) fn import_camera_logs(
    docking: &Docking<'_>,
    register: &mut Register,
    clocks: &ClockCheck,
    logs: Vec<ReadLog>,
    clock: Option<&CameraClock>,
    warnings: &mut Vec<String>,
) -> Result<Vec<LogReport>, IngestError> {
    let serial = docking.identity.camera.serial.clone();
    // The camera's time out of the dock starts at the lower bound its recordings are
    // checked against (`register::bounds`, read once at the start of the ingest).
    let since = clocks.lower_bound().map(|b| {
        let what = match b.source {
            BoundSource::PreviousDocking => "its previous docking",
            BoundSource::Issue => "its issue since its previous docking",
            BoundSource::Enrolment => "its enrolment or first issue",
        };
        (b.at, what)
    });
    let secs = i64::try_from(docking.config.ingest.clock_tolerance.0).unwrap_or(i64::MAX);
    let times = Times {
        docked_at: docking.docked_at,
        since,
        tolerance: Duration::try_seconds(secs).unwrap_or(Duration::MAX),
        clock,
    };
    let now = docking.clock.now();
    let importer = Importer {
        profile: &docking.config.profile,
        serial: &serial,
        session: docking.session,
        times,
        recordings: Default::default(),
    };
    let store_root = docking.store.root().to_path_buf();
    let mut reports = Vec::new();
    for log in logs {
        let parsed = match log.kind {
            LogKind::System => ParsedLog::default(),
            LogKind::Playback | LogKind::Events => camera_log::parse(&log.bytes),
        };
        let tx = register.write()?;
        let id = camera_logs::insert_log(
            &tx,
            &NewLog {
                session: docking.session,
                camera: &serial,
                kind: log.kind,
                name: &log.name,
                declared_size: log.declared_size,
                size: log.bytes.len() as u64,
                truncated: log.truncated,
                digests: log.digests,
                path: &log.stored,
            },
            now,
        )?;
        let mut report = LogReport {
            kind: log.kind,
            name: log.name.clone(),
            size: log.bytes.len() as u64,
            truncated: log.truncated,
            sha256: log.digests.sha256_hex(),
            blake3: log.digests.blake3_hex(),
            stored_path: store_root.join(&log.stored),
            lines: parsed.lines.len() as u64,
            new_lines: 0,
            rejected: 0,
            consultations: 0,
            notable: Vec::new(),
        };
        let base = Line {
            serial: &serial,
            log: &log,
            log_id: id,
        };
        let known = match log.kind {
            LogKind::System => Default::default(),
            kind => camera_logs::known_lines(&tx, &serial, kind)?,
        };
        for r in parsed.rejected.iter().filter(|r| !known.contains(&r.id)) {
            let line = NewLine {
                camera: &serial,
                kind: log.kind,
                id: &r.id,
                log: id,
                line_no: r.number,
                text: &r.shown,
                rejected: Some(r.problem.code()),
                camera_time: None,
                event: None,
                stem: None,
                recording: None,
            };
            if camera_logs::insert_line(&tx, &line)?.is_some() {
                report.rejected += 1;
                let w = format!(
                    "the camera's log {} line {}: {} ({}); the line was skipped, not trusted: `{}`",
                    log.name,
                    r.number,
                    r.problem,
                    r.problem.code(),
                    r.shown
                );
                tracing::warn!(
                    message_id = events::CAMERA_LOG.id,
                    event = events::CAMERA_LOG.name,
                    camera_serial = %serial,
                    "{w}"
                );
                warnings.push(w);
            }
        }
        for l in parsed.lines.iter().filter(|l| !known.contains(&l.id)) {
            let Some(row) = importer.import_line(&tx, &base, l)? else {
                continue;
            };
            report.new_lines += 1;
            match &l.event {
                CameraEvent::Play {
                    video,
                    from_secs,
                    to_secs,
                } if log.kind == LogKind::Playback => {
                    let play = Play {
                        line: l,
                        row,
                        video,
                        from_secs: *from_secs,
                        to_secs: *to_secs,
                    };
                    importer.write_consultation(&tx, &base, &play, now, warnings)?;
                    report.consultations += 1;
                }
                CameraEvent::ClockSet { .. } | CameraEvent::StorageError { .. }
                    if log.kind == LogKind::Events =>
                {
                    notable(&serial, &log.name, l, &mut report, warnings);
                }
                _ => {}
            }
        }
        camera_logs::set_log_counts(&tx, id, report.lines, report.new_lines, report.rejected)?;
        tx.commit()?;
        reports.push(report);
    }
    Ok(reports)
}

/// What a video name in a log names: its stem when it is one of this camera's recordings'
/// names, and the register's row of that recording when it holds one.
type Named = (
    Option<String>,
    Option<crate::custody::register::RecordingId>,
);

/// One docking's import: the profile the names are read with, the camera, the docking.
struct Importer<'a> {
    profile: &'a crate::base::config::Profile,
    serial: &'a str,
    session: i64,
    times: Times<'a>,
    /// Each video name seen, with its stem and register row: a log names few recordings.
    recordings: std::cell::RefCell<std::collections::HashMap<String, Named>>,
}

impl Importer<'_> {
    /// Imports one accepted line; `None` when an earlier docking imported it already.
    fn import_line(
        &self,
        conn: &Tx<'_>,
        base: &Line<'_>,
        l: &LogLine,
    ) -> Result<Option<i64>, RegisterError> {
        let (stem, recording) = match l.event.video() {
            Some(v) => self.recording(conn, v)?,
            None => (None, None),
        };
        camera_logs::insert_line(
            conn,
            &NewLine {
                camera: base.serial,
                kind: base.log.kind,
                id: &l.id,
                log: base.log_id,
                line_no: l.number,
                text: &l.text,
                rejected: None,
                camera_time: Some(l.at),
                event: Some(l.event.name()),
                stem: stem.as_deref(),
                recording,
            },
        )
    }

    /// The stem of a video name when it is exactly one of this camera's recordings' names,
    /// and the register's row of that recording when it holds one.
    fn recording(&self, conn: &Tx<'_>, video: &str) -> Result<Named, RegisterError> {
        if let Some(found) = self.recordings.borrow().get(video) {
            return Ok(found.clone());
        }
        let stem = match RecordingName::parse(self.profile, video) {
            Ok((name, FileKind::Video)) if name.serial == self.serial => Some(name.stem()),
            _ => None,
        };
        let row = match &stem {
            Some(s) => camera_logs::recording_id(conn, self.serial, s)?,
            None => None,
        };
        self.recordings
            .borrow_mut()
            .insert(video.to_string(), (stem.clone(), row));
        Ok((stem, row))
    }

    /// The consultation entry of one new playback line, by the holder at its time.
    fn write_consultation(
        &self,
        conn: &Tx<'_>,
        base: &Line<'_>,
        play: &Play<'_>,
        now: DateTime<Utc>,
        warnings: &mut Vec<String>,
    ) -> Result<(), RegisterError> {
        let serial = base.serial;
        let holding = holder(conn, serial, play.line.at, &self.times)?;
        let (stem, recording) = self.recording(conn, play.video)?;
        let agent = holding.agent.as_deref().unwrap_or("unknown");
        let flag = if holding.agent.is_none() {
            format!("{HOLDER_UNKNOWN}: ")
        } else {
            String::new()
        };
        let named = match (&stem, recording) {
            (Some(_), Some(id)) => format!("register id {id}"),
            (Some(_), None) => "not in the register".to_string(),
            (None, _) => "not a recording name of this camera".to_string(),
        };
        let details = format!(
            "{flag}on-camera consultation of {} ({named}) from {} to {}, on camera {serial} at {} by its clock; {} line {} (sha256 {}, occurrence {}) stored as {}, read at docking session {}; holder: {}",
            crate::camera::evidence::escape_name(play.video),
            hms(play.from_secs),
            hms(play.to_secs),
            format_time(play.line.at),
            base.log.name,
            play.line.number,
            play.line.id.sha256,
            play.line.id.occurrence,
            base.log.stored,
            self.session,
            holding.how
        );
        let entry = NewEntry {
            purpose: ON_CAMERA_PURPOSE.to_string(),
            recipients: format!("agent {agent}"),
            ..NewEntry::new(
                &format!("agent {agent} (on camera {serial})"),
                Action::Consultation,
                details.clone(),
            )
        }
        .about(&stem.into_iter().collect::<Vec<_>>());
        let traced = audit::append(conn, &entry, now)?;
        camera_logs::set_line_audit(conn, play.row, traced.seq, &holding.how)?;
        if holding.agent.is_none() {
            tracing::warn!(
                message_id = events::ON_CAMERA_CONSULTATION.id,
                event = events::ON_CAMERA_CONSULTATION.name,
                camera_serial = %serial,
                audit_seq = traced.seq,
                "{details}"
            );
            warnings.push(format!(
                "an on-camera consultation has no known holder (audit entry #{}): {details}; attribute it by hand",
                traced.seq
            ));
        } else {
            tracing::info!(
                message_id = events::ON_CAMERA_CONSULTATION.id,
                event = events::ON_CAMERA_CONSULTATION.name,
                camera_serial = %serial,
                audit_seq = traced.seq,
                "{details}"
            );
        }
        Ok(())
    }
}

/// The log a line comes from.
struct Line<'a> {
    serial: &'a str,
    log: &'a ReadLog,
    log_id: i64,
}

/// One new playback line.
struct Play<'a> {
    line: &'a LogLine,
    row: i64,
    video: &'a str,
    from_secs: u32,
    to_secs: u32,
}

/// A new `CLOCK_SET` or `STORAGE_ERROR`: to the journal and the camera's report.
fn notable(
    serial: &str,
    name: &str,
    l: &LogLine,
    report: &mut LogReport,
    warnings: &mut Vec<String>,
) {
    let text = format!("the camera's {name} line {}: {}", l.number, l.text);
    report.notable.push(l.text.clone());
    if let CameraEvent::StorageError { .. } = l.event {
        tracing::warn!(
            message_id = events::CAMERA_LOG.id,
            event = events::CAMERA_LOG.name,
            camera_serial = %serial,
            "{text}: the camera reported a storage error; have its card checked"
        );
        warnings.push(format!(
            "{text}: the camera reported a storage error; have its card checked"
        ));
    } else {
        tracing::info!(
            message_id = events::CAMERA_LOG.id,
            event = events::CAMERA_LOG.name,
            camera_serial = %serial,
            "{text}: the camera's clock was set"
        );
    }
}
