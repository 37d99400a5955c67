//! When a recording can have been made: after the best lower bound the register knows of
//! (the camera's previous docking, the start of its issue, its enrolment) and before its
//! docking, each within the tolerance. A source of time (the camera's clock, GPS time) that
//! puts a recording outside is not believed; a GPS date a whole number of 1024-week cycles
//! before a plausible time is a week-number rollover, and is named as such.

use chrono::{DateTime, Duration, SecondsFormat, Utc};

/// GPS week numbers roll over every 1024 weeks (19.6 years): a receiver whose firmware
/// does not know which cycle it is in dates its fixes one or more cycles early.
pub(crate) const ROLLOVER_WEEKS: i64 = 1024;

/// Cycles tried: a receiver built before 1999 and still in use in 2038 is three behind.
const MAX_CYCLES: i64 = 3;

/// Where a lower bound on a recording's time comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BoundSource {
    /// The start of the camera's latest earlier ingest that read it to the end: what is on
    /// the camera now and new to the register was made after that docking wiped it.
    PreviousDocking,
    /// The start of the camera's issue to an agent since that docking.
    Issue,
    /// The camera's enrolment (or its first issue, when the register records an earlier one).
    Enrolment,
}

/// An independent lower bound on when the recordings of a docking were made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LowerBound {
    /// Nothing new on the camera was made before this time (service's clock).
    pub at: DateTime<Utc>,
    /// Where the register says so.
    pub source: BoundSource,
}

impl LowerBound {
    /// The best (latest) of `bounds` that is not after the docking: a bound after it is the
    /// service's own clock having jumped, and says nothing about the camera. Of equal times,
    /// the most direct source is named (a docking, then an issue, then the enrolment).
    pub(crate) fn best(
        bounds: impl IntoIterator<Item = LowerBound>,
        docked_at: DateTime<Utc>,
    ) -> Option<LowerBound> {
        let rank = |s: BoundSource| match s {
            BoundSource::PreviousDocking => 2,
            BoundSource::Issue => 1,
            BoundSource::Enrolment => 0,
        };
        bounds
            .into_iter()
            .filter(|b| b.at <= docked_at)
            .max_by_key(|b| (b.at, rank(b.source)))
    }
}

impl std::fmt::Display for LowerBound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.source {
            BoundSource::PreviousDocking => "the camera's previous docking",
            BoundSource::Issue => "the start of the camera's current issue to an agent",
            BoundSource::Enrolment => "the camera's enrolment",
        };
        write!(f, "{what} at {}", iso(self.at))
    }
}

/// Why a time cannot be when a recording was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outside {
    /// Before the best lower bound (beyond the tolerance).
    Before(LowerBound),
    /// After the docking (beyond the tolerance); the docking's time.
    After(DateTime<Utc>),
}

impl std::fmt::Display for Outside {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outside::Before(bound) => write!(f, "before {bound}"),
            Outside::After(docked) => write!(
                f,
                "more than the tolerance after its docking at {}",
                iso(*docked)
            ),
        }
    }
}

/// The times a recording of this docking can have been made at.
#[derive(Debug, Clone, Copy)]
pub(super) struct Window {
    bound: Option<LowerBound>,
    lower: Option<DateTime<Utc>>,
    docked_at: DateTime<Utc>,
    upper: DateTime<Utc>,
}

impl Window {
    pub(super) fn new(
        bound: Option<LowerBound>,
        docked_at: DateTime<Utc>,
        tolerance: Duration,
    ) -> Window {
        Window {
            bound,
            lower: bound.and_then(|b| b.at.checked_sub_signed(tolerance)),
            docked_at,
            upper: docked_at
                .checked_add_signed(tolerance)
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        }
    }

    /// Why `t` cannot be the recording's time; `None`: it can.
    pub(super) fn outside(&self, t: DateTime<Utc>) -> Option<Outside> {
        if t > self.upper {
            return Some(Outside::After(self.docked_at));
        }
        match (self.bound, self.lower) {
            (Some(bound), Some(lower)) if t < lower => Some(Outside::Before(bound)),
            _ => None,
        }
    }

    /// A GPS date that is a whole number of rollover cycles before a plausible time: the
    /// camera's own clock when that is plausible (within the tolerance), or, when the GPS
    /// date itself is outside, any time between the lower bound and the docking. Without a
    /// bound and a plausible camera clock to compare with, nothing says which cycle is
    /// right, and no rollover is named.
    pub(super) fn rollover(
        &self,
        gps: DateTime<Utc>,
        camera: DateTime<Utc>,
        tolerance: Duration,
    ) -> Option<Rollover> {
        let camera_plausible = self.outside(camera).is_none();
        let gps_outside = self.outside(gps).is_some();
        (1..=MAX_CYCLES).find_map(|cycles| {
            let likely = gps.checked_add_signed(Duration::weeks(ROLLOVER_WEEKS * cycles))?;
            let matches_camera = camera_plausible && (likely - camera).abs() <= tolerance;
            let in_window = gps_outside && self.bound.is_some() && self.outside(likely).is_none();
            (matches_camera || in_window).then_some(Rollover {
                gps,
                cycles,
                likely,
            })
        })
    }
}

/// A GPS date found a whole number of week-number cycles early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rollover {
    /// The start the GPS fixes give.
    pub gps: DateTime<Utc>,
    /// How many 1024-week cycles early.
    pub cycles: i64,
    /// The GPS date moved forward by those cycles: the likely true start.
    pub likely: DateTime<Utc>,
}

impl std::fmt::Display for Rollover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let weeks = ROLLOVER_WEEKS * self.cycles;
        let cycles = if self.cycles == 1 {
            format!("{ROLLOVER_WEEKS} weeks")
        } else {
            format!("{weeks} weeks, {} × {ROLLOVER_WEEKS} weeks", self.cycles)
        };
        write!(
            f,
            "gps-rollover: the GPS fixes date this recording {}, exactly {cycles} ({:.1} years) before a plausible time: the receiver's GPS week number rolled over; the likely true date is {}; the GPS time is not used",
            iso(self.gps),
            weeks as f64 * 7.0 / 365.25,
            iso(self.likely)
        )
    }
}

/// A time as the flags write it: `2026-12-04T18:00:00Z`.
pub(super) fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}
