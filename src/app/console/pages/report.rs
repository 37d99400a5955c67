//! `/report`: the activity report for a period, its charts as SVG (consultations and
//! extractions by purpose, the 30-day against the 180-day forecast), and its CSV.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{Days, NaiveDate};
use maud::{Markup, html};

use super::{bytes, failure, layout};
use crate::app::api::replies::{Activity, ByPurpose, Forecast};
use crate::app::api::request::Command;
use crate::app::api::request::{ForecastArgs, Format, ReportArgs};
use crate::app::console::Console;
use crate::app::console::daemon;
use crate::app::console::http::Authed;
use crate::app::console::i18n::t;
use crate::base::config::Language;

/// The period asked (the last 30 days when not given).
#[derive(serde::Deserialize, Default)]
pub(crate) struct Period {
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
}

impl Period {
    fn days(&self) -> (NaiveDate, NaiveDate) {
        let today = chrono::Utc::now().date_naive();
        let to = self.to.unwrap_or(today);
        let from = self
            .from
            .unwrap_or_else(|| to.checked_sub_days(Days::new(29)).unwrap_or(to));
        (from, to)
    }
}

/// `GET /report?from=&to=`
pub async fn page(
    State(console): State<Arc<Console>>,
    a: Authed,
    Query(p): Query<Period>,
) -> Response {
    let (from, to) = p.days();
    let socket = console.socket.clone();
    let report = Command::Report(ReportArgs {
        from,
        to,
        site: None,
        format: Format::Json,
    });
    let forecast = Command::Forecast(ForecastArgs {
        from: Some(from),
        to: Some(to),
        format: Format::Json,
    });
    let act = match daemon::ask::<Activity>(socket.clone(), report).await {
        Ok(a) => a,
        Err(e) => return failure(&console, &a, &e),
    };
    let fc = match daemon::ask::<Forecast>(socket, forecast).await {
        Ok(f) => f,
        Err(e) => return failure(&console, &a, &e),
    };
    let lang = a.lang;
    let body = html! {
        form.filters method="get" action="/report" {
            label { (t(lang, "search.from")) input type="date" name="from" value=(from.to_string()); }
            label { (t(lang, "search.to")) input type="date" name="to" value=(to.to_string()); }
            div { button.primary type="submit" { (t(lang, "search.submit")) } }
        }
        p { a #csv href={ "/report.csv?from=" (from) "&to=" (to) } { (t(lang, "report.csv")) } }
        div.facts #report {
            span { (t(lang, "report.days_of_use")) } span { (act.days_of_use) " / " (act.days) }
            span { (t(lang, "report.videos")) } span { (act.videos) }
            span { (t(lang, "report.bytes")) } span { (bytes(act.bytes)) " (" (bytes(act.bytes_per_day.round() as u64)) " " (t(lang, "report.per_day")) ")" }
            span { (t(lang, "report.in_store")) } span { (act.videos_in_store) " · " (bytes(act.bytes_in_store)) }
            span { (t(lang, "report.on_camera")) } span #on-camera { (act.on_camera_consultations) }
        }
        div.two {
            div { h2 { (t(lang, "report.consultations")) } (purpose_chart(lang, t(lang, "report.consultations"), &act.consultations)) }
            div { h2 { (t(lang, "report.extractions")) } (purpose_chart(lang, t(lang, "report.extractions"), &act.extractions)) }
        }
        h2 { (t(lang, "report.forecast")) }
        (forecast_chart(lang, &fc))
    };
    layout(&console, &a, t(lang, "report.title"), body).into_response()
}

/// `GET /report.csv?from=&to=`: the report's figures as a CSV in the page's language
/// (`report_csv`: French Excel's `;`, BOM and decimal commas in French).
pub async fn csv(
    State(console): State<Arc<Console>>,
    a: Authed,
    Query(p): Query<Period>,
) -> Response {
    let (from, to) = p.days();
    let report = Command::Report(ReportArgs {
        from,
        to,
        site: None,
        format: Format::Json,
    });
    match daemon::ask::<Activity>(console.socket.clone(), report).await {
        Ok(act) => {
            let name = match a.lang {
                Language::Fr => "rapport",
                Language::En => "report",
            };
            (
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{name}-{from}-{to}.csv\""),
                    ),
                ],
                super::report_csv::csv(a.lang, &act),
            )
                .into_response()
        }
        Err(e) => failure(&console, &a, &e),
    }
}

/// Horizontal bars, one per (label, value), scaled to the largest; named for screen
/// readers by `name` and every bar's label and text.
fn bars(name: &str, rows: &[(&str, u64, String)]) -> Markup {
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1) as f64;
    let h = 30 * rows.len() + 10;
    let said: Vec<String> = rows
        .iter()
        .map(|(l, _, text)| format!("{l} : {text}"))
        .collect();
    let label = format!("{name}. {}", said.join(" ; "));
    html! {
        svg.chart viewBox={ "0 0 600 " (h) } role="img" aria-label=(label) {
            title { (label) }
            @for (i, (label, value, text)) in rows.iter().enumerate() {
                @let y = 10 + i * 30;
                @let w = (*value as f64 / max * 380.0).round();
                text x="0" y=(y + 14) { (label) }
                rect x="150" y=(y) width=(w) height="20" {}
                text x=(155.0 + w) y=(y + 14) { (text) }
            }
        }
    }
}

fn purpose_chart(lang: Language, name: &str, n: &ByPurpose) -> Markup {
    bars(
        name,
        &[
            (
                t(lang, "purpose.judicial"),
                n.judicial,
                n.judicial.to_string(),
            ),
            (
                t(lang, "purpose.administrative"),
                n.administrative,
                n.administrative.to_string(),
            ),
            (
                t(lang, "purpose.disciplinary"),
                n.disciplinary,
                n.disciplinary.to_string(),
            ),
            (
                t(lang, "purpose.training"),
                n.training,
                n.training.to_string(),
            ),
        ],
    )
}

fn forecast_chart(lang: Language, f: &Forecast) -> Markup {
    let fits = |ok: bool| {
        if ok {
            t(lang, "report.fits")
        } else {
            t(lang, "report.not_fits")
        }
    };
    let row = |label: &'static str, n: &crate::app::api::replies::Needed| {
        (
            label,
            n.raw_disk_bytes,
            format!("{} · {}", bytes(n.raw_disk_bytes), fits(n.fits)),
        )
    };
    bars(
        t(lang, "report.forecast"),
        &[
            row(t(lang, "report.short"), &f.needed_30_days),
            row(t(lang, "report.long"), &f.needed_180_days),
            (
                t(lang, "report.usable"),
                f.store_usable_bytes,
                bytes(f.store_usable_bytes),
            ),
        ],
    )
}
