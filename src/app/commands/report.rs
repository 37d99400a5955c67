//! `report` and `forecast`: the activity report the service sends upward (days of use,
//! storage, consultations, extractions, training) and the storage each retention needs.

use std::collections::BTreeSet;

use chrono::{Days, NaiveDate};
use serde::Serialize;

use super::access::Actor;
use super::perception::attribute_pending;
use super::table::Table;
use super::{CommandError, Context, Reply};
use crate::app::api::replies::{self, Forecast, Needed};
use crate::app::api::request::{ForecastArgs, Format, Purpose, ReportArgs};
use crate::app::ingest::ON_CAMERA_PURPOSE;
use crate::custody::register::audit::{self, Action};
use crate::custody::register::perception;
use crate::custody::register::stored::{self, Totals};

/// The figures of one period.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Activity {
    /// First day, included.
    pub from: NaiveDate,
    /// Last day, included.
    pub to: NaiveDate,
    /// Calendar days in the period.
    pub days: u64,
    /// Days on which a camera was issued or a recording started.
    pub days_of_use: u64,
    /// Recordings (videos) collected that started in the period.
    pub videos: u64,
    /// Their bytes in the store (video and sidecar).
    pub bytes: u64,
    /// Bytes of every recording in the store now.
    pub bytes_in_store: u64,
    /// Videos in the store now.
    pub videos_in_store: u64,
    /// Collected bytes per day over the period.
    pub bytes_per_day: f64,
    /// Disk needed to keep `retention.days` at that rate, with `store.raid_overhead`.
    pub needed_for_retention: u64,
    /// The retention the figure above is for.
    pub retention_days: u32,
    /// Consultations per purpose: administrative, judicial, disciplinary, training.
    pub consultations: [u64; 4],
    /// Consultations made by the wearer on the camera's screen (L241-2 CSI), traced from
    /// the camera's `PLAYBACK.LOG` at its dockings in the period: counted apart.
    pub on_camera_consultations: u64,
    /// Extractions completed per purpose, same order.
    pub extractions: [u64; 4],
}

impl Activity {
    /// Consultations and extractions for training.
    pub fn training(&self) -> u64 {
        self.consultations[3] + self.extractions[3]
    }
}

/// Computes a period's figures from the register; one site's only when `site` names one
/// (its recordings, its store's share and its audit entries; a camera's issue is not
/// made at a site, so only the days its recordings started count as its days of use).
pub fn activity(
    ctx: &mut Context<'_>,
    from: NaiveDate,
    to: NaiveDate,
    site: Option<&str>,
) -> Result<Activity, CommandError> {
    // The operator's days, as the search's: a night brigade's 00:30 belongs to its own day.
    let tz = ctx.config.console.timezone;
    let (start, end) = super::days::local_period(tz, Some(from), Some(to))?;
    attribute_pending(ctx.register, ctx.clock)?;
    let tx = ctx.register.read()?;
    let conn = &tx;
    // Totals counted by SQLite per day, not a million rows read into memory: a year of a
    // dock's recordings must report in well under a second (docs/performance.md).
    let by_day = stored::started_by_day(conn, start, end, tz, site)?;
    let mut days: BTreeSet<NaiveDate> = by_day.iter().map(|(day, _)| *day).collect();
    let issues = match site {
        None => perception::assignments(conn, None, None, start, end)?,
        Some(_) => Vec::new(),
    };
    for issue in issues {
        if issue.issued_at >= start {
            days.insert(issue.issued_at.with_timezone(&tz).date_naive());
        }
    }
    let mut collected = Totals::default();
    for (_, totals) in by_day {
        collected += totals;
    }
    let in_store = match site {
        None => stored::in_store_totals(conn)?,
        Some(site) => stored::in_store_totals_at(conn, site)?,
    };
    let bytes = collected.bytes;
    let span = (to - from).num_days() as u64 + 1;
    let per_day = bytes as f64 / span as f64;
    let retention = ctx.config.retention.days;
    let count = |action| -> Result<[u64; 4], CommandError> {
        let found = audit::count_by_purpose(conn, action, start, end, site)?;
        Ok(Purpose::ALL.map(|p| {
            found
                .iter()
                .find(|(name, _)| name == p.as_str())
                .map_or(0, |(_, n)| *n)
        }))
    };
    Ok(Activity {
        from,
        to,
        days: span,
        days_of_use: days.len() as u64,
        videos: collected.videos,
        bytes,
        bytes_in_store: in_store.bytes,
        videos_in_store: in_store.videos,
        bytes_per_day: per_day,
        needed_for_retention: needed(per_day, retention, ctx.config.store.raid_overhead),
        retention_days: retention,
        consultations: count(Action::Consultation)?,
        on_camera_consultations: audit::count_by_purpose(
            conn,
            Action::Consultation,
            start,
            end,
            site,
        )?
        .into_iter()
        .filter(|(purpose, _)| purpose == ON_CAMERA_PURPOSE)
        .map(|(_, n)| n)
        .sum(),
        extractions: count(Action::ExtractionCompleted)?,
    })
}

/// Raw disk bytes to keep `days` of recordings at `per_day`, with the RAID overhead.
fn needed(per_day: f64, days: u32, overhead: f64) -> u64 {
    (per_day * f64::from(days) * overhead).round() as u64
}

/// `report --from DATE --to DATE [--site NAME] [--format F]`
pub fn report(
    ctx: &mut Context<'_>,
    _actor: &Actor,
    a: &ReportArgs,
) -> Result<Reply, CommandError> {
    let act = activity(ctx, a.from, a.to, a.site.as_deref())?;
    let [c_adm, c_jud, c_dis, _] = act.consultations;
    let [e_adm, e_jud, e_dis, _] = act.extractions;
    let mut rows: Vec<(&str, String)> = vec![
        (
            "period",
            format!("{} to {} ({} days)", act.from, act.to, act.days),
        ),
        ("days of use", act.days_of_use.to_string()),
        ("videos recorded", act.videos.to_string()),
        ("storage used by them", bytes(act.bytes)),
        ("videos in the store now", act.videos_in_store.to_string()),
        ("storage used in the store now", bytes(act.bytes_in_store)),
        (
            "storage needed for the retention period",
            format!(
                "{} ({} days at {} a day, RAID overhead {:.1})",
                bytes(act.needed_for_retention),
                act.retention_days,
                bytes(act.bytes_per_day.round() as u64),
                ctx.config.store.raid_overhead
            ),
        ),
        ("consultations: administrative", c_adm.to_string()),
        ("consultations: judicial", c_jud.to_string()),
        ("consultations: disciplinary", c_dis.to_string()),
        (
            "consultations on the camera (L241-2)",
            act.on_camera_consultations.to_string(),
        ),
        ("extractions: judicial", e_jud.to_string()),
        ("extractions: administrative", e_adm.to_string()),
        ("extractions: disciplinary", e_dis.to_string()),
        (
            "training (consultations and extractions)",
            act.training().to_string(),
        ),
    ];
    if let Some(site) = &a.site {
        rows.insert(0, ("site", site.clone()));
    }
    let message = render(&rows, &act_json(&act), a.format);
    Ok(Reply::ok(message, act_json(&act)))
}

/// `forecast [--from D --to D] [--format F]`: 30 and 180 days at the observed rate.
pub fn forecast(
    ctx: &mut Context<'_>,
    _actor: &Actor,
    a: &ForecastArgs,
) -> Result<Reply, CommandError> {
    let today = ctx
        .clock
        .now()
        .with_timezone(&ctx.config.console.timezone)
        .date_naive();
    let to =
        a.to.unwrap_or_else(|| today.checked_sub_days(Days::new(1)).unwrap_or(today));
    let from = a
        .from
        .unwrap_or_else(|| to.checked_sub_days(Days::new(29)).unwrap_or(to));
    let act = activity(ctx, from, to, None)?;
    let overhead = ctx.config.store.raid_overhead;
    let usable = ctx.store.free_bytes().unwrap_or(0) + act.bytes_in_store;
    let need = |days| Needed {
        stored_bytes: needed(act.bytes_per_day, days, 1.0),
        raw_disk_bytes: needed(act.bytes_per_day, days, overhead),
        fits: needed(act.bytes_per_day, days, 1.0) <= usable,
    };
    let data = Forecast {
        from,
        to,
        bytes_per_day: act.bytes_per_day,
        raid_overhead: overhead,
        store_usable_bytes: usable,
        retention_days_configured: ctx.config.retention.days,
        needed_30_days: need(30),
        needed_180_days: need(180),
    };
    let mut rows: Vec<(&str, String)> = vec![
        (
            "observed",
            format!(
                "{from} to {to}: {} a day",
                bytes(act.bytes_per_day.round() as u64)
            ),
        ),
        ("store capacity (free + recordings)", bytes(usable)),
    ];
    for (n, label) in [
        (data.needed_30_days, "needed for 30 days"),
        (data.needed_180_days, "needed for 180 days"),
    ] {
        let (stored, raw) = (n.stored_bytes, n.raw_disk_bytes);
        let fits = if n.fits { "fits" } else { "does NOT fit" };
        rows.push((
            label,
            format!(
                "{} stored, {} of raw disk; {fits}",
                bytes(stored),
                bytes(raw)
            ),
        ));
    }
    let message = render(&rows, &data, a.format);
    Ok(Reply::ok(message, data))
}

fn act_json(act: &Activity) -> replies::Activity {
    replies::Activity {
        from: act.from,
        to: act.to,
        days: act.days,
        days_of_use: act.days_of_use,
        videos: act.videos,
        bytes: act.bytes,
        videos_in_store: act.videos_in_store,
        bytes_in_store: act.bytes_in_store,
        bytes_per_day: act.bytes_per_day,
        retention_days: act.retention_days,
        needed_for_retention: act.needed_for_retention,
        consultations: act.consultations.into(),
        on_camera_consultations: act.on_camera_consultations,
        extractions: act.extractions.into(),
        training: act.training(),
    }
}

fn render(rows: &[(&str, String)], data: &impl Serialize, format: Format) -> String {
    if format == Format::Json {
        return serde_json::to_string_pretty(data).unwrap_or_default() + "\n";
    }
    let mut t = Table::new(&["item", "value"]);
    for (item, value) in rows {
        t.push(vec![item.to_string(), value.clone()]);
    }
    t.render(format)
}

/// Bytes, with a binary unit for people.
fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = n as f64;
    let mut unit = "";
    for u in UNITS {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = u;
    }
    if unit.is_empty() {
        format!("{n} bytes")
    } else {
        format!("{n} bytes ({value:.1} {unit})")
    }
}
