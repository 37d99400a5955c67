//! The status for people: a few lines for the screen beside the dock, and the one-line
//! `STATUS=` systemd shows.

use std::fmt::Write as _;

use crate::base::units::format_bytes;

use super::{Attention, CameraState, CameraStatus, IngestProgress, RegisterHealth, StatusReport};

/// Width of the progress bar, in characters.
const BAR: usize = 24;

/// The whole status, as `sentinel-dockctl status` prints it.
pub fn render(report: &StatusReport) -> String {
    let mut out = String::new();
    let docked = report.cameras.len();
    let service = &report.service;
    let site = match service.site.as_str() {
        "" => String::new(),
        name => format!(" · site {name}"),
    };
    let stopping = if service.stopping { " · stopping" } else { "" };
    if service.dock_enabled {
        let _ = writeln!(
            out,
            "{} · dock {} · up to {} at once{site}{stopping}",
            match docked {
                0 => "no camera docked".to_string(),
                1 => "1 camera docked".to_string(),
                n => format!("{n} cameras docked"),
            },
            service.dock.display(),
            service.max_parallel,
        );
    } else {
        let _ = writeln!(
            out,
            "no dock here ([dock] enabled = false): commands and console only{site}{stopping}"
        );
    }
    out.push_str(&register_line(&report.register));
    let width = report
        .cameras
        .iter()
        .map(|c| c.serial.len())
        .max()
        .unwrap_or(0);
    for camera in &report.cameras {
        let _ = writeln!(
            out,
            "  {:width$}  {}",
            camera.serial,
            camera_line(&camera.state)
        );
    }
    for link in &report.refused_links {
        let _ = writeln!(
            out,
            "  refused link {}: {}",
            link.link.display(),
            link.reason
        );
    }
    out.push_str(&store_line(report));
    for array in &report.raid {
        let counts = match (array.expected, array.working) {
            (Some(e), Some(w)) => format!(" [{e}/{w}] [{}]", array.map),
            _ => String::new(),
        };
        let progress = array
            .progress
            .as_ref()
            .map(|p| format!(", {p}"))
            .unwrap_or_default();
        let health = if array.degraded {
            "DEGRADED"
        } else {
            "healthy"
        };
        let _ = writeln!(
            out,
            "RAID {} {} {}{counts}: {health}{progress}",
            array.name, array.level, array.state
        );
    }
    if let Some(replica) = &report.replica {
        out.push_str(&replica.line());
    }
    if let Some(a) = &report.anonymisation {
        let share = (a.frames_done * 100)
            .checked_div(a.frames_total)
            .map(|p| format!(" ({}%)", p.min(100)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "anonymising {} for {}: frame {} of {}{share}, since {}",
            a.recording,
            a.author,
            a.frames_done,
            a.frames_total,
            a.started.format("%H:%M:%S UTC")
        );
    }
    for warning in &report.warnings {
        let _ = writeln!(out, "WARNING: {warning}");
    }
    out
}

fn camera_line(state: &CameraState) -> String {
    match state {
        CameraState::Waiting => "waiting: other cameras are being ingested".into(),
        CameraState::Ingesting(p) => ingesting_line(p),
        CameraState::SafeToUndock { recordings } => format!(
            "safe to undock ({recordings} recording{} stored and wiped)",
            plural(*recordings)
        ),
        CameraState::NeedsAttention(a) => attention_line(a),
        CameraState::NotEnrolled => {
            "not enrolled: left untouched (sentinel-dockctl camera enroll, or dock.enrolled); give it to the technician".into()
        }
        CameraState::Failed { error } => {
            format!(
                "failed, nothing unproven was wiped; dock it again or call the technician: {error}"
            )
        }
        CameraState::Cancelled => "cancelled, nothing unproven was wiped; dock it again".into(),
        CameraState::NotResponding { waited_secs } => format!(
            "not responding: a read from the camera had not returned after {waited_secs} s; its ingest was ended and nothing unproven was wiped. Undock it and dock it again; if it stays silent, keep it aside for the technician"
        ),
        CameraState::RegisterUnreachable { .. } => format!("{REGISTER_UNREACHABLE}: {WAITS}"),
    }
}

/// The words tests, operators and the console look for while the register is down.
pub(crate) const REGISTER_UNREACHABLE: &str = "register unreachable";
/// What a camera docked meanwhile does.
const WAITS: &str = "the camera keeps its recordings; ingest resumes when the register answers";

/// A line while the register is unreachable; nothing otherwise.
fn register_line(register: &RegisterHealth) -> String {
    if !register.is_unreachable() {
        return String::new();
    }
    let since = register
        .since
        .map(|at| format!(" since {}", at.format("%Y-%m-%d %H:%M:%S UTC")))
        .unwrap_or_default();
    let error = register
        .error
        .as_deref()
        .map(|e| format!(" ({e})"))
        .unwrap_or_default();
    format!(
        "{} {}{since}: nothing is committed or wiped until it answers; the service tries again by itself{error}\n",
        REGISTER_UNREACHABLE.to_uppercase(),
        register.server
    )
}

fn ingesting_line(p: &IngestProgress) -> String {
    let pct = p.percent();
    let filled = usize::from(pct) * BAR / 100;
    let mut line = format!(
        "ingesting [{}{}] {pct:3}%  {} of {}",
        "#".repeat(filled),
        "-".repeat(BAR - filled),
        format_bytes(p.bytes_done),
        format_bytes(p.bytes_total),
    );
    if p.bytes_per_sec > 0 {
        let _ = write!(line, "  {}/s", format_bytes(p.bytes_per_sec));
    }
    if let Some(eta) = p.eta_secs {
        let _ = write!(line, "  ETA {}", format_duration(eta));
    }
    if p.recordings_total > 0 {
        let _ = write!(
            line,
            "  (recording {} of {})",
            (p.recordings_done + 1).min(p.recordings_total),
            p.recordings_total
        );
    }
    line
}

fn attention_line(a: &Attention) -> String {
    let mut parts = Vec::new();
    for (n, what) in [(a.quarantined, "quarantined"), (a.failed, "failed")] {
        if n > 0 {
            parts.push(format!("{n} recording{} {what}", plural(n)));
        }
    }
    if a.ignored > 0 {
        parts.push(format!(
            "{} unexpected file{} ignored",
            a.ignored,
            plural(a.ignored)
        ));
    }
    if parts.is_empty() && a.left_on_camera > 0 {
        parts.push(format!(
            "{} recording{} left on the camera",
            a.left_on_camera,
            plural(a.left_on_camera)
        ));
    }
    parts.extend(a.warnings.iter().cloned());
    format!("needs attention: {}", parts.join("; "))
}

fn store_line(report: &StatusReport) -> String {
    let s = &report.store;
    let mut line = format!("store {}: ", s.path.display());
    match s.free_bytes {
        Some(free) => {
            let _ = write!(line, "{} free", format_bytes(free));
        }
        None => line.push_str("free space unknown"),
    }
    match (s.days_left, s.bytes_per_day) {
        (Some(days), Some(rate)) => {
            let _ = write!(
                line,
                "; lasts about {days} day{} at {}/day (last {} days)",
                plural(days),
                format_bytes(rate),
                super::WINDOW_DAYS
            );
        }
        _ => {
            let _ = write!(
                line,
                "; nothing stored in the last {} days",
                super::WINDOW_DAYS
            );
        }
    }
    if let Some(error) = &s.error {
        let _ = write!(line, " ({error})");
    }
    line.push('\n');
    line
}

/// The one line systemd shows (`STATUS=`): "3 docked · SNTL-00042 61% · 1 needs attention";
/// a degraded RAID and the last scrub's problems come first.
pub(crate) fn summary_line(
    cameras: &[CameraStatus],
    raid_degraded: bool,
    scrub_problems: u64,
) -> String {
    let mut parts = Vec::new();
    if raid_degraded {
        parts.push("RAID DEGRADED".to_string());
    }
    if scrub_problems > 0 {
        parts.push(format!(
            "SCRUB: {scrub_problems} PROBLEM{}",
            if scrub_problems == 1 { "" } else { "S" }
        ));
    }
    parts.push(match cameras.len() {
        0 => "no camera docked".to_string(),
        n => format!("{n} docked"),
    });
    for c in cameras {
        if let CameraState::Ingesting(p) = &c.state {
            parts.push(format!("{} {}%", c.serial, p.percent()));
        }
    }
    let count = |f: fn(&CameraState) -> bool| cameras.iter().filter(|c| f(&c.state)).count();
    let waiting = count(|s| matches!(s, CameraState::Waiting));
    let safe = count(|s| matches!(s, CameraState::SafeToUndock { .. }));
    let attention = count(CameraState::needs_attention);
    let held = count(|s| matches!(s, CameraState::RegisterUnreachable { .. }));
    if waiting > 0 {
        parts.push(format!("{waiting} waiting"));
    }
    if held > 0 {
        parts.push(format!("{held} waiting for the register"));
    }
    if safe > 0 {
        parts.push(format!("{safe} safe to undock"));
    }
    if attention > 0 {
        parts.push(format!("{attention} needs attention"));
    }
    parts.join(" · ")
}

fn format_duration(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::status::{RaidArray, ServiceStatus, StoreStatus};

    fn camera(serial: &str, state: CameraState) -> CameraStatus {
        CameraStatus {
            slot: serial.into(),
            serial: serial.into(),
            docked_at: "2026-11-26T06:00:00Z".parse().unwrap(),
            agent: None,
            state,
        }
    }

    fn report(cameras: Vec<CameraStatus>) -> StatusReport {
        StatusReport {
            service: ServiceStatus {
                pid: 1,
                version: "0.1.0".into(),
                started_at: "2026-11-26T06:00:00Z".parse().unwrap(),
                dock: "/dev/sentinel-dock".into(),
                max_parallel: 4,
                stopping: false,
                site: String::new(),
                dock_enabled: true,
            },
            cameras,
            refused_links: vec![],
            store: StoreStatus {
                path: "/srv/store".into(),
                free_bytes: Some(1 << 40),
                bytes_per_day: Some(5 << 30),
                days_left: Some(204),
                ..Default::default()
            },
            raid: vec![],
            warnings: vec![],
            last_scrub: None,
            replica: None,
            anonymisation: None,
            register: RegisterHealth::default(),
        }
    }

    fn ingesting() -> CameraState {
        CameraState::Ingesting(IngestProgress {
            bytes_done: 61 << 20,
            bytes_total: 100 << 20,
            recordings_done: 2,
            recordings_total: 4,
            current: None,
            bytes_per_sec: 30 << 20,
            eta_secs: Some(75),
        })
    }

    #[test]
    fn each_camera_gets_a_line_a_person_can_act_on() {
        let attention = CameraState::NeedsAttention(Attention {
            quarantined: 2,
            left_on_camera: 2,
            ..Default::default()
        });
        let text = render(&report(vec![
            camera("SNTL-00042", ingesting()),
            camera("SNTL-7", CameraState::SafeToUndock { recordings: 1 }),
            camera("SNTL-00099", attention),
        ]));
        assert!(text.starts_with("3 cameras docked"), "{text}");
        assert!(text.contains("SNTL-00042  ingesting [##############----------]  61%  61.0 MiB of 100.0 MiB  30.0 MiB/s  ETA 1:15  (recording 3 of 4)"), "{text}");
        assert!(
            text.contains("SNTL-7      safe to undock (1 recording stored and wiped)"),
            "{text}"
        );
        assert!(
            text.contains("needs attention: 2 recordings quarantined"),
            "{text}"
        );
        assert!(
            text.contains("1.0 TiB free; lasts about 204 days at 5.0 GiB/day (last 30 days)"),
            "{text}"
        );
    }

    #[test]
    fn an_unreachable_register_is_said_first_and_on_each_waiting_camera() {
        let mut r = report(vec![camera(
            "SNTL-00042",
            CameraState::RegisterUnreachable {
                error: "connection refused".into(),
            },
        )]);
        assert!(!render(&r).contains("REGISTER UNREACHABLE"));
        r.register = RegisterHealth {
            server: "PostgreSQL database sentinel on /run/postgresql as sentinel".into(),
            state: super::super::RegisterState::Unreachable,
            since: Some("2026-11-26T06:00:00Z".parse().unwrap()),
            error: Some("connection refused".into()),
        };
        let text = render(&r);
        let second = text.lines().nth(1).unwrap();
        assert_eq!(
            second,
            "REGISTER UNREACHABLE PostgreSQL database sentinel on /run/postgresql as sentinel since 2026-11-26 06:00:00 UTC: nothing is committed or wiped until it answers; the service tries again by itself (connection refused)"
        );
        assert!(
            text.contains("SNTL-00042  register unreachable: the camera keeps its recordings; ingest resumes when the register answers"),
            "{text}"
        );
        assert_eq!(
            summary_line(&r.cameras, false, 0),
            "1 docked · 1 waiting for the register"
        );
    }

    #[test]
    fn a_degraded_array_is_a_warning() {
        let mut r = report(vec![]);
        r.raid.push(RaidArray {
            name: "md0".into(),
            state: "active".into(),
            level: "raid1".into(),
            expected: Some(2),
            working: Some(1),
            map: "U_".into(),
            failed: 0,
            progress: None,
            degraded: true,
        });
        r.warnings.push("RAID md0 is degraded".into());
        let text = render(&r);
        assert!(
            text.contains("RAID md0 raid1 active [2/1] [U_]: DEGRADED"),
            "{text}"
        );
        assert!(text.contains("WARNING: RAID md0 is degraded"), "{text}");
    }

    #[test]
    fn the_status_line_counts_states() {
        let cameras = vec![
            camera("SNTL-00042", ingesting()),
            camera("A", CameraState::Waiting),
            camera("B", CameraState::SafeToUndock { recordings: 0 }),
            camera("C", CameraState::Failed { error: "x".into() }),
        ];
        assert_eq!(
            summary_line(&cameras, false, 0),
            "4 docked · SNTL-00042 61% · 1 waiting · 1 safe to undock · 1 needs attention"
        );
        assert_eq!(
            summary_line(&[], true, 0),
            "RAID DEGRADED · no camera docked"
        );
        assert_eq!(
            summary_line(&[], false, 2),
            "SCRUB: 2 PROBLEMS · no camera docked"
        );
    }

    #[test]
    fn sizes_and_durations_read_naturally() {
        assert_eq!(format_bytes(512), "512 B");
        assert_eq!(format_bytes(1536), "1.5 KiB");
        assert_eq!(format_duration(75), "1:15");
        assert_eq!(format_duration(3 * 3600 + 5), "3:00:05");
    }

    #[test]
    fn a_named_site_is_shown_and_a_daemon_without_a_dock_says_so() {
        let mut r = report(vec![]);
        let text = render(&r);
        assert!(
            text.starts_with("no camera docked · dock /dev/sentinel-dock"),
            "{text}"
        );
        assert!(
            !text.contains("site"),
            "a single-site install shows no site: {text}"
        );
        r.service.site = "Poste Nord".into();
        let text = render(&r);
        assert!(
            text.lines().next().unwrap().ends_with("· site Poste Nord"),
            "{text}"
        );
        r.service.dock_enabled = false;
        let text = render(&r);
        let first = text.lines().next().unwrap();
        assert!(first.starts_with("no dock here"), "{text}");
        assert!(first.contains("site Poste Nord"), "{text}");
        assert!(!text.contains("camera docked"), "{text}");
    }
}
