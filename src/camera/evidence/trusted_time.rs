//! The time a recording is trusted to have ended: the camera's clock checked against the
//! satellites' (the sidecar's own RMC fixes) and against the docking on the service's clock.
//!
//! Retention is counted from that time, so a camera's wrong clock (a dead battery resets it
//! to its firmware's epoch, 2000 or 1970) never makes evidence due early:
//!
//! - with satellite-dated fixes, the camera's clock is measured: within the tolerance it is
//!   trusted; beyond, the recording is flagged `clock-drift` and its end is taken on the GPS
//!   clock instead;
//! - a recording that starts after the docking (beyond the tolerance) is flagged
//!   `clock-ahead`;
//! - without fixes, a recording the camera dates more than the retention before its docking
//!   is flagged `clock-behind`: it would be due at once on the camera's word alone, which is
//!   exactly the clock-reset case; unless it is dated after a recording of the same docking
//!   whose fixes agreed with the camera (a reset dates back to the firmware's epoch, so a
//!   later date was read from a clock already found right);
//! - whatever the source, the time is never after the docking: a recording cannot end after
//!   it was docked, so a future date never delays nor shortens anything, and when its true
//!   end is unknown its retention counts from the docking (it spends the whole retention in
//!   the store);
//! - a clock agreeing with GPS is not enough (a camera may stamp its NMEA with its own reset
//!   clock, a receiver may lose a GPS week-number cycle): a recording new to the register is
//!   also checked against the best lower bound the register knows (`bounds`). A source that
//!   puts it before that bound or after the docking is not believed (`gps-implausible`, or
//!   `gps-rollover` when the GPS date is whole 1024-week cycles early); when no source is
//!   left, it is flagged `clock-implausible` and counted from the docking.

mod bounds;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::SidecarReport;
pub(crate) use bounds::{BoundSource, LowerBound, Outside, Rollover};
use bounds::{Window, iso};

/// What the camera and its sidecar say about one recording's times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Observed {
    /// The start on the camera's clock (its name, equal to the sidecar's header).
    pub start: DateTime<Utc>,
    /// Pre-recording seconds before `start` (the sidecar's header).
    pub prerecord_secs: u32,
    /// The end on the camera's clock (the sidecar's trailer), when it was closed cleanly.
    pub end: Option<DateTime<Utc>>,
    /// The first and last real fix dated by the satellites (RMC carries its own date;
    /// simulated and estimated fixes are not among them).
    pub satellite: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

impl Observed {
    /// The times of a recording whose name says it started at `start`.
    pub(crate) fn from_sidecar(start: DateTime<Utc>, sidecar: Option<&SidecarReport>) -> Observed {
        Observed {
            start,
            prerecord_secs: sidecar
                .and_then(|s| s.header.as_ref())
                .map_or(0, |h| h.prerecord_secs),
            end: sidecar.and_then(|s| s.trailer.as_ref()).map(|t| t.end),
            satellite: sidecar.and_then(|s| s.fixes.satellite),
        }
    }
}

/// What the times are checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rules {
    /// When the camera was docked: the ingest session's start on the service's clock.
    pub docked_at: DateTime<Utc>,
    /// How far the camera's clock may be from GPS or the docking (`ingest.clock_tolerance`).
    pub tolerance: Duration,
    /// How long recordings are kept (`retention.days`).
    pub retention: Duration,
    /// The latest end, on the camera's clock, of a recording of this docking whose fixes
    /// agreed with it: the camera's clock was right then, so a later date without fixes is
    /// not a reset one.
    pub verified_until: Option<DateTime<Utc>>,
    /// The best lower bound on when the recording was made, for a recording new to the
    /// register (one already registered at an earlier docking keeps its earlier treatment).
    pub lower_bound: Option<LowerBound>,
}

/// Which clock the retention of a recording counts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum TimeSource {
    /// The camera's own clock, which agrees with GPS and the docking.
    Camera,
    /// The satellites' clock, from the sidecar's fixes: the camera's clock is off.
    Gps,
    /// The docking time: the camera's clock cannot be trusted and there is no fix.
    Docking,
}

impl TimeSource {
    /// The name the register stores.
    pub fn as_str(self) -> &'static str {
        match self {
            TimeSource::Camera => "camera",
            TimeSource::Gps => "gps",
            TimeSource::Docking => "docking",
        }
    }
}

/// Why a recording's camera clock is not trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClockFlag {
    /// It starts this long after the docking.
    Ahead(Duration),
    /// The camera's clock is this far from GPS (camera minus GPS; positive: ahead).
    Drift(Duration),
    /// Without fixes, it ends this long before the docking, more than the retention.
    Behind(Duration),
    /// No source of time puts it where it can have been made: the camera's clock (its start
    /// and why not), and the GPS time when it has real fixes.
    Implausible {
        /// The start on the camera's clock, and why it cannot be.
        camera: (DateTime<Utc>, Outside),
        /// The start on GPS time, and why it cannot be, when it has real fixes.
        gps: Option<(DateTime<Utc>, Outside)>,
    },
    /// The GPS date is whole week-number cycles early: not used as a clock.
    GpsRollover(Rollover),
    /// The GPS date cannot be when it was made (not a rollover): not used as a clock.
    GpsImplausible(DateTime<Utc>, Outside),
}

impl ClockFlag {
    /// The flag's code (the tests name flags by it).
    #[cfg(test)]
    pub fn code(self) -> &'static str {
        match self {
            ClockFlag::Ahead(_) => "clock-ahead",
            ClockFlag::Drift(_) => "clock-drift",
            ClockFlag::Behind(_) => "clock-behind",
            ClockFlag::Implausible { .. } => "clock-implausible",
            ClockFlag::GpsRollover(_) => "gps-rollover",
            ClockFlag::GpsImplausible(..) => "gps-implausible",
        }
    }

    /// Whether it says the camera's clock is not to be trusted for this recording (the
    /// GPS-only flags leave a plausible camera clock trusted).
    pub(crate) fn distrusts_camera(self) -> bool {
        !matches!(
            self,
            ClockFlag::GpsRollover(_) | ClockFlag::GpsImplausible(..)
        )
    }
}

impl std::fmt::Display for ClockFlag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            ClockFlag::Ahead(by) => write!(
                f,
                "clock-ahead: the camera dates this recording {} after its docking: its clock is ahead; attributed by hand, retention counted from the docking",
                span(by)
            ),
            ClockFlag::Drift(offset) => write!(
                f,
                "clock-drift: the camera's clock is {} {} GPS time (offset {:+} s); attributed by hand, retention counted from the GPS time",
                span(offset.abs()),
                if offset > Duration::zero() {
                    "ahead of"
                } else {
                    "behind"
                },
                offset.num_seconds()
            ),
            ClockFlag::Behind(by) => write!(
                f,
                "clock-behind: the camera dates this recording {} before its docking and it has no GPS fix to confirm it (a reset clock dates recordings 2000 or 1970); attributed by hand, retention counted from the docking",
                span(by)
            ),
            ClockFlag::Implausible { camera, gps } => {
                write!(
                    f,
                    "clock-implausible: the camera's clock dates this recording {}, {}",
                    iso(camera.0),
                    camera.1
                )?;
                match gps {
                    Some((at, outside)) => write!(f, ", and its GPS fixes {}, {outside}", iso(at))?,
                    None => write!(f, ", and it has no real GPS fix")?,
                }
                write!(
                    f,
                    ": it cannot have been made then; attributed by hand, retention counted from the docking"
                )
            }
            ClockFlag::GpsRollover(rollover) => write!(f, "{rollover}"),
            ClockFlag::GpsImplausible(at, outside) => write!(
                f,
                "gps-implausible: the GPS fixes date this recording {}, {outside}: the GPS time is not used",
                iso(at)
            ),
        }
    }
}

/// The time a recording's retention counts from, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TrustedTime {
    /// Retention counts from this time, never after the docking.
    pub retention_from: DateTime<Utc>,
    /// When it started on the same clock: what reports count by day.
    pub recorded_at: DateTime<Utc>,
    /// Which clock it comes from.
    pub source: TimeSource,
    /// The camera's clock minus GPS time, when the sidecar has satellite-dated fixes.
    pub gps_offset: Option<Duration>,
    /// The camera's end (its start when it has no trailer) minus the docking time.
    pub before_docking: Duration,
    /// Why the camera's clock is not trusted for this recording (empty: trusted).
    pub flags: Vec<ClockFlag>,
}

impl TrustedTime {
    /// Whether the camera's clock is trusted for this recording (its attribution, too).
    pub(crate) fn camera_trusted(&self) -> bool {
        !self.flags.iter().any(|f| f.distrusts_camera())
    }
}

/// Decides the trusted time of one recording.
pub fn check(seen: &Observed, rules: &Rules) -> TrustedTime {
    let camera_end = seen.end.unwrap_or(seen.start).max(seen.start);
    let window_start = seen.start - Duration::seconds(i64::from(seen.prerecord_secs));
    let mut flags = Vec::new();
    let ahead = seen.start - rules.docked_at;
    if ahead > rules.tolerance {
        flags.push(ClockFlag::Ahead(ahead));
    }
    let window = Window::new(rules.lower_bound, rules.docked_at, rules.tolerance);
    let reading = seen
        .satellite
        .map(|fixes| gps_reading(seen.start, window_start, camera_end, fixes));
    // The GPS start on the satellites' clock; used only when it can be the true one.
    let gps_start = reading.map(|(offset, _)| seen.start - offset);
    let gps = match gps_start {
        Some(at) => match window.rollover(at, seen.start, rules.tolerance) {
            Some(rollover) => {
                flags.push(ClockFlag::GpsRollover(rollover));
                None
            }
            None => match window.outside(at) {
                Some(outside) => {
                    flags.push(ClockFlag::GpsImplausible(at, outside));
                    None
                }
                None => reading,
            },
        },
        None => None,
    };
    if let (Some(camera), None) = (window.outside(seen.start), gps) {
        flags.push(ClockFlag::Implausible {
            camera: (seen.start, camera),
            gps: gps_start.and_then(|at| window.outside(at).map(|o| (at, o))),
        });
        return TrustedTime {
            retention_from: rules.docked_at,
            recorded_at: rules.docked_at,
            source: TimeSource::Docking,
            gps_offset: None,
            before_docking: camera_end - rules.docked_at,
            flags,
        };
    }
    let camera_flagged = flags.iter().any(|f| f.distrusts_camera());
    let (retention_from, source) = match gps {
        Some((offset, _)) if offset.abs() <= rules.tolerance && !camera_flagged => {
            (camera_end, TimeSource::Camera)
        }
        Some((offset, gps_end)) => {
            if offset.abs() > rules.tolerance {
                flags.push(ClockFlag::Drift(offset));
            }
            (gps_end, TimeSource::Gps)
        }
        None if camera_flagged => (rules.docked_at, TimeSource::Docking),
        None if rules.docked_at - camera_end > rules.retention
            && rules.verified_until.is_none_or(|v| {
                v.checked_sub_signed(rules.tolerance)
                    .is_none_or(|v| seen.start < v)
            }) =>
        {
            flags.push(ClockFlag::Behind(rules.docked_at - camera_end));
            (rules.docked_at, TimeSource::Docking)
        }
        None => (camera_end, TimeSource::Camera),
    };
    // Nothing ends after its docking: a later time is a wrong clock (beyond the tolerance,
    // the docking is the only clock left), not a later end.
    let (retention_from, source) = if retention_from <= rules.docked_at {
        (retention_from, source)
    } else if retention_from - rules.docked_at <= rules.tolerance {
        (rules.docked_at, source)
    } else {
        (rules.docked_at, TimeSource::Docking)
    };
    let recorded_at = match source {
        TimeSource::Camera => seen.start,
        TimeSource::Gps => retention_from - (camera_end - seen.start),
        TimeSource::Docking => rules.docked_at,
    };
    TrustedTime {
        retention_from,
        recorded_at,
        source,
        gps_offset: gps.map(|(offset, _)| offset),
        before_docking: camera_end - rules.docked_at,
        flags,
    }
}

/// The camera's offset from GPS, and the latest end GPS allows.
///
/// The fixes lie inside the recording's window, so `offset` (camera minus GPS) is between
/// `window_start - first` and `camera_end - last`. A camera that agrees reads 0 whatever
/// the gaps in its fixes; one that does not is read where its first fix meets its start
/// (the receiver writes from the start), kept inside those bounds. The end is the latest
/// the fixes allow, the first fix plus the window's length, so that counting from it is
/// never early.
fn gps_reading(
    start: DateTime<Utc>,
    window_start: DateTime<Utc>,
    camera_end: DateTime<Utc>,
    (first, last): (DateTime<Utc>, DateTime<Utc>),
) -> (Duration, DateTime<Utc>) {
    let low = window_start - first;
    let high = camera_end - last;
    let offset = if low <= Duration::zero() && Duration::zero() <= high {
        Duration::zero()
    } else if low <= high {
        (start - first).clamp(low, high)
    } else {
        // Fixes spanning more than the recording (flagged by the sidecar's checks): halfway.
        low + (high - low) / 2
    };
    let latest_end = (first + (camera_end - window_start)).max(last);
    (offset, latest_end)
}

/// How a camera's clock was measured at a docking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OffsetBasis {
    /// Against the satellites' time in its recordings' fixes (the median offset).
    Gps,
    /// Against the docking time: its latest recording's end minus the docking (no fixes).
    Docking,
}

impl OffsetBasis {
    /// The name the register stores.
    pub fn as_str(self) -> &'static str {
        match self {
            OffsetBasis::Gps => "gps",
            OffsetBasis::Docking => "docking",
        }
    }
}

/// A camera's clock as measured at one docking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CameraClock {
    /// The camera's serial.
    pub serial: String,
    /// The camera's clock minus the true time, in seconds (positive: ahead).
    pub offset_secs: i64,
    /// What it was measured against.
    pub basis: OffsetBasis,
    /// Whether it is beyond the tolerance or some recording's clock was flagged.
    pub wrong: bool,
    /// Recordings whose camera time was not trusted.
    pub flagged: u64,
}

impl CameraClock {
    /// The sentence for the status and the journal, when the clock is wrong.
    pub fn warning(&self) -> Option<String> {
        if !self.wrong {
            return None;
        }
        let offset = Duration::seconds(self.offset_secs);
        let direction = if self.offset_secs > 0 {
            "ahead"
        } else {
            "behind"
        };
        let basis = match self.basis {
            OffsetBasis::Gps => "against GPS time",
            OffsetBasis::Docking => {
                "against the docking time; its recordings have no GPS fix it can believe"
            }
        };
        Some(format!(
            "camera {}'s clock is wrong: {} {direction} ({basis}; offset {:+} s); {} recording(s) flagged, their retention counted from GPS or docking time and their attribution left to a person; set the camera's clock",
            self.serial,
            span(offset.abs()),
            self.offset_secs,
            self.flagged
        ))
    }
}

/// The camera's clock at this docking from its recordings' checks; `None` when it could not
/// be measured (no fix, nothing implausible).
pub fn camera_clock(serial: &str, checks: &[TrustedTime], rules: &Rules) -> Option<CameraClock> {
    let flagged = checks.iter().filter(|c| !c.camera_trusted()).count() as u64;
    let mut offsets: Vec<i64> = checks
        .iter()
        .filter_map(|c| c.gps_offset.map(|o| o.num_seconds()))
        .collect();
    let (offset_secs, basis) = if offsets.is_empty() {
        if flagged == 0 {
            return None;
        }
        // The latest recording is the one nearest its docking in true time.
        let latest = checks.iter().map(|c| c.before_docking).max()?;
        (latest.num_seconds(), OffsetBasis::Docking)
    } else {
        offsets.sort_unstable();
        (offsets[offsets.len() / 2], OffsetBasis::Gps)
    };
    let beyond =
        Duration::seconds(offset_secs).abs() > rules.tolerance && basis == OffsetBasis::Gps;
    Some(CameraClock {
        serial: serial.to_string(),
        offset_secs,
        basis,
        wrong: flagged > 0 || beyond,
        flagged,
    })
}

/// A duration in the largest units that say it: "26 years 338 days", "3 h 0 min", "42 s".
pub fn span(d: Duration) -> String {
    let secs = d.num_seconds().unsigned_abs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (years, days) = (days / 365, days % 365);
    let (hours, minutes, seconds) = (rest / 3600, rest % 3600 / 60, rest % 60);
    if years > 0 {
        format!("{years} year(s) {days} day(s)")
    } else if days > 0 {
        format!("{days} day(s) {hours} h")
    } else if hours > 0 {
        format!("{hours} h {minutes} min")
    } else if minutes > 0 {
        format!("{minutes} min {seconds} s")
    } else {
        format!("{seconds} s")
    }
}

#[cfg(test)]
mod tests;
