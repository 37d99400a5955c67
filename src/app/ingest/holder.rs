//! Who held a camera when its wearer looked at a recording on its screen: the perception
//! register at the consultation's time on the camera's clock, checked as the recordings'
//! times are (`evidence::trusted_time`, `ingest::clock_check`).
//!
//! When this docking found the clock wrong against GPS, the time is corrected by the
//! measured offset; when it is wrong without a GPS measure, or the time falls outside the
//! camera's time out of the dock (after the recordings' lower bound, `register::bounds`: its
//! previous docking, its issue since then, or its enrolment or first issue; and before this
//! docking), the holder is the one agent the camera was issued to in
//! between: "the issue this docking ended". Otherwise nobody can be named.

use chrono::{DateTime, Duration, Utc};

use crate::camera::evidence::trusted_time::{CameraClock, OffsetBasis};
use crate::custody::register::perception::{self, Holder};
use crate::custody::register::{RegisterError, Tx, format_time};

/// What the camera's clock is checked against, for one docking.
pub(super) struct Times<'a> {
    /// This docking, on the service's clock.
    pub docked_at: DateTime<Utc>,
    /// The latest time the camera was known in the service's hands before its time out
    /// of the dock (the recordings' lower bound, `register::bounds`), and what that was.
    pub since: Option<(DateTime<Utc>, &'static str)>,
    /// `ingest.clock_tolerance`.
    pub tolerance: Duration,
    /// The camera's clock as this docking measured it.
    pub clock: Option<&'a CameraClock>,
}

/// Who held the camera when a consultation was made, and how that was decided.
pub(super) struct Holding {
    /// The agent's matricule; `None` when nobody can be named.
    pub agent: Option<String>,
    /// How it was decided, for the audit entry.
    pub how: String,
}

/// Who held the camera at a consultation the camera dates `camera_time`.
pub(super) fn holder(
    conn: &Tx<'_>,
    serial: &str,
    camera_time: DateTime<Utc>,
    t: &Times<'_>,
) -> Result<Holding, RegisterError> {
    let shown = format_time(camera_time);
    let (at, note) = match t.clock {
        Some(c) if c.wrong && c.basis == OffsetBasis::Gps => {
            let at = camera_time - Duration::seconds(c.offset_secs);
            let note = format!(
                "the camera's clock was found wrong at this docking (offset {:+} s against GPS): its time {shown} corrected to {}",
                c.offset_secs,
                format_time(at)
            );
            (Some(at), note)
        }
        Some(c) if c.wrong => (
            None,
            format!(
                "the camera's clock was found wrong at this docking (offset {:+} s against the docking, no GPS to correct it): its time {shown} is not used",
                c.offset_secs
            ),
        ),
        _ => (Some(camera_time), format!("camera time {shown}")),
    };
    let out_of_dock = |at: DateTime<Utc>| {
        at <= t.docked_at + t.tolerance && t.since.is_none_or(|(p, _)| at + t.tolerance >= p)
    };
    match at {
        Some(at) if out_of_dock(at) => {
            let how = match perception::holder_at(conn, serial, at)? {
                Holder::Agent(a) => {
                    return Ok(Holding {
                        how: format!(
                            "{note}: camera issued to agent {} at {} (issue #{})",
                            a.agent,
                            format_time(a.issued_at),
                            a.id
                        ),
                        agent: Some(a.agent),
                    });
                }
                Holder::NotIssued => "no issue of the camera covers that time".to_string(),
                Holder::Returned(end, how) => {
                    format!("its last issue had ended at {} ({how})", format_time(end))
                }
                Holder::Docked(since) => {
                    format!("it was in the dock since {}", format_time(since))
                }
            };
            Ok(Holding {
                agent: None,
                how: format!("{note}: {how}"),
            })
        }
        Some(_) => {
            let after = match t.since {
                Some((p, what)) => format!("after {what} at {}", format_time(p)),
                None => "at any time".to_string(),
            };
            let note = format!(
                "{note}, outside the camera's time out of the dock ({after}, before this docking at {}): its clock is wrong",
                format_time(t.docked_at),
            );
            issue_this_docking_ended(conn, serial, t, &note)
        }
        None => issue_this_docking_ended(conn, serial, t, &note),
    }
}

/// The one issue of the camera between its previous docking (or enrolment) and this
/// docking: the holder when the consultation's time cannot be trusted.
fn issue_this_docking_ended(
    conn: &Tx<'_>,
    serial: &str,
    t: &Times<'_>,
    note: &str,
) -> Result<Holding, RegisterError> {
    let (from, what) = t.since.unwrap_or((DateTime::<Utc>::MIN_UTC, "ever"));
    let issues: Vec<_> = perception::assignments(conn, Some(serial), None, from, t.docked_at)?
        .into_iter()
        .filter(|a| a.issued_at < t.docked_at)
        .collect();
    match issues.as_slice() {
        [a] => Ok(Holding {
            how: format!(
                "{note}; attributed to the issue this docking ended: camera issued to agent {} at {} (issue #{})",
                a.agent,
                format_time(a.issued_at),
                a.id
            ),
            agent: Some(a.agent.clone()),
        }),
        [] => Ok(Holding {
            agent: None,
            how: format!("{note}; and the camera was issued to nobody since {what}"),
        }),
        several => Ok(Holding {
            agent: None,
            how: format!(
                "{note}; and the camera was issued {} times since {what} (agents {}): who held it cannot be told",
                several.len(),
                several
                    .iter()
                    .map(|a| a.agent.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }),
    }
}

#[cfg(test)]
mod tests;
