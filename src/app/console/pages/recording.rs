//! `/recordings/STEM`: the recording's facts, its GPS track as SVG (drawn here, no map
//! tiles), its custody timeline, and the player, closed until a purpose and a reason are
//! stated: that is a consultation, traced by the daemon before it passes the video.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use maud::{Markup, html};

use super::{bytes, check_csrf, csrf_field, failure, layout};
use crate::app::api::replies::{Consulted, Shown, TrackPoint};
use crate::app::api::request::Command;
use crate::app::api::request::{ConsultArgs, Purpose, ShowArgs};
use crate::app::console::Console;
use crate::app::console::daemon::{self, Failure};
use crate::app::console::http::Authed;
use crate::app::console::i18n::t;
use crate::app::console::session::Opened;
use crate::app::console::time::show_text;
use crate::app::console::words;
use crate::app::ingest::ON_CAMERA_PURPOSE;
use crate::base::config::Language;

/// Whether a path segment can be a recording's name (what `resolve` accepts).
pub(crate) fn plain_stem(stem: &str) -> bool {
    !stem.is_empty()
        && stem.len() <= 200
        && stem
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-@.".contains(&b))
}

fn bad_name(stem: &str) -> Failure {
    Failure {
        code: Some(crate::app::control::protocol::ErrorCode::Invalid),
        message: format!("`{stem}` is not a recording's name"),
    }
}

fn no_purpose() -> Failure {
    Failure {
        code: Some(crate::app::control::protocol::ErrorCode::Invalid),
        message: "no purpose chosen for the viewing".to_string(),
    }
}

/// `GET /recordings/STEM`
pub async fn page(
    State(console): State<Arc<Console>>,
    a: Authed,
    Path(stem): Path<String>,
) -> Response {
    if !plain_stem(&stem) {
        return failure(&console, &a, &bad_name(&stem));
    }
    let command = Command::Show(ShowArgs {
        recording: stem.clone(),
    });
    let shown = match daemon::ask::<Shown>(console.socket.clone(), command).await {
        Ok(s) => s,
        Err(f) => return failure(&console, &a, &f),
    };
    let opened = a.session.opened.contains_key(&shown.stem);
    let body = html! {
        (super::pick::acts(a.lang, &shown.stem))
        div.two {
            div { (facts(&console, a.lang, &shown)) }
            div {
                h2 { (t(a.lang, "rec.track")) }
                (track_svg(a.lang, &shown))
            }
        }
        h2 #player { (t(a.lang, "rec.player")) }
        @if opened {
            video data-recording=(shown.stem) controls preload="metadata"
                src={ "/recordings/" (shown.stem) "/video" } {}
        } @else {
            (consult_form(&a, &shown.stem))
        }
        h2 { (t(a.lang, "rec.custody")) }
        (custody(&console, a.lang, &shown))
        h2 { (t(a.lang, "rec.camera_events")) }
        (camera_events(a.lang, &shown))
    };
    layout(&console, &a, &shown.stem, body).into_response()
}

fn facts(console: &Console, lang: Language, s: &Shown) -> Markup {
    let tz = console.config.console.timezone;
    html! {
        h2 { (t(lang, "rec.facts")) }
        div.facts {
            span { (t(lang, "col.camera")) } span { (s.camera) }
            @if !s.site.is_empty() { span { (t(lang, "col.site")) } span #site { (s.site) } }
            span { (t(lang, "rec.attribution")) }
            span { @match &s.attribution {
                // An automatic attribution's reason is the service's own sentence: only a
                // person's reason (a manual one) is shown.
                Some(at) => {
                    (at.agent) " · " (words::kind(lang, &at.kind))
                    @if at.kind != "automatic" {
                        ", " (t(lang, "attr.by")) " " (at.by)
                        @if !at.reason.is_empty() { " — " (at.reason) }
                    }
                }
                None => { (t(lang, "rec.unattributed")) }
            } }
            span { (t(lang, "col.start")) } span { (show_text(tz, &s.start)) }
            span { (t(lang, "col.end")) } span { @if let Some(e) = &s.end { (show_text(tz, e)) } }
            span { (t(lang, "rec.prerecord")) } span { (s.facts.prerecord_secs.map(|p| p.to_string()).unwrap_or_default()) }
            span { (t(lang, "rec.duration")) } span { (s.facts.duration_secs.map(|d| format!("{d:.1}")).unwrap_or_default()) }
            span { (t(lang, "col.size")) } span { (s.video_size.map(bytes).unwrap_or_default()) }
            span { "SHA-256" } span.hash { (s.sha256.as_deref().unwrap_or("")) }
            span { "BLAKE3" } span.hash { (s.blake3.as_deref().unwrap_or("")) }
            span { (t(lang, "col.state")) } span data-state=(s.state) { (words::state(lang, &s.state)) }
            span { (t(lang, "col.flags")) } span data-flags=(s.facts.flags.iter().map(|f| words::flag_code(f)).collect::<Vec<_>>().join(" ")) { (words::flags(lang, &s.facts.flags)) }
            span { (t(lang, "rec.holds")) } span { (s.holds.join(", ")) }
        }
    }
}

/// The track in a 600×400 box: longitude scaled by the latitude's cosine, north up.
fn track_svg(lang: Language, s: &Shown) -> Markup {
    let pts = &s.track;
    if pts.is_empty() {
        return html! { p { (t(lang, "rec.no_track")) } };
    }
    let (w, h, pad): (f64, f64, f64) = (600.0, 400.0, 20.0);
    let mid = pts.iter().map(|p| p.lat).sum::<f64>() / pts.len() as f64;
    let k = mid.to_radians().cos().max(0.01);
    let xs: Vec<f64> = pts.iter().map(|p| p.lon * k).collect();
    let (x0, x1) = bounds(&xs);
    let (y0, y1) = bounds(&pts.iter().map(|p| p.lat).collect::<Vec<_>>());
    let span = (x1 - x0).max(y1 - y0).max(1e-6);
    let scale = ((w - 2.0 * pad).min(h - 2.0 * pad)) / span;
    let at =
        |i: usize, p: &TrackPoint| (pad + (xs[i] - x0) * scale, h - pad - (p.lat - y0) * scale);
    let start = DateTime::parse_from_rfc3339(&s.start)
        .map(|d| d.with_timezone(&Utc))
        .ok();
    let line: Vec<String> = pts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let (x, y) = at(i, p);
            format!("{x:.1},{y:.1}")
        })
        .collect();
    let (mx, my) = at(0, &pts[0]);
    html! {
        svg.track viewBox="0 0 600 440" role="img" aria-label=(t(lang, "rec.track")) {
            polyline points=(line.join(" ")) {}
            (super::track_legend::legend(lang, scale, w, h))
            circle.marker cx=(format!("{mx:.1}")) cy=(format!("{my:.1}")) r="6" {}
            g.points {
                @for (i, p) in pts.iter().enumerate() {
                    @let (x, y) = at(i, p);
                    @let secs = seconds_after(start, &p.at);
                    g data-t=(format!("{secs:.0}")) data-x=(format!("{x:.1}")) data-y=(format!("{y:.1}")) {}
                }
            }
        }
    }
}

fn bounds(v: &[f64]) -> (f64, f64) {
    v.iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), x| (lo.min(*x), hi.max(*x)))
}

fn seconds_after(start: Option<DateTime<Utc>>, at: &str) -> f64 {
    match (start, DateTime::parse_from_rfc3339(at)) {
        (Some(s), Ok(t)) => (t.with_timezone(&Utc) - s).num_milliseconds() as f64 / 1000.0,
        _ => 0.0,
    }
}

fn consult_form(a: &Authed, stem: &str) -> Markup {
    let lang = a.lang;
    html! {
        form #consult method="post" action={ "/recordings/" (stem) "/consult" } {
            p.notice { (t(lang, "rec.consult.why")) }
            (csrf_field(a))
            label { (t(lang, "form.purpose"))
                select name="purpose" required {
                    (purpose_options(lang))
                }
            }
            label { (t(lang, "form.reason")) input type="text" name="reason" required maxlength="2000"; }
            button.primary type="submit" { (t(lang, "rec.consult")) }
        }
    }
}

/// The purposes, each with its label in `lang`.
pub(crate) fn purpose_options(lang: Language) -> Markup {
    html! {
        option value="" selected disabled { (t(lang, "purpose.choose")) }
        option value="judicial" { (t(lang, "purpose.judicial")) }
        option value="administrative" { (t(lang, "purpose.administrative")) }
        option value="disciplinary" { (t(lang, "purpose.disciplinary")) }
        option value="training" { (t(lang, "purpose.training")) }
    }
}

/// A purpose as the form sends it.
pub(crate) fn purpose_of(text: &str) -> Option<Purpose> {
    match text {
        "judicial" => Some(Purpose::Judicial),
        "administrative" => Some(Purpose::Administrative),
        "disciplinary" => Some(Purpose::Disciplinary),
        "training" => Some(Purpose::Training),
        _ => None,
    }
}

fn custody(console: &Console, lang: Language, s: &Shown) -> Markup {
    let tz = console.config.console.timezone;
    html! {
        div.scroll { table #custody {
            thead { tr { th { (t(lang, "rec.when")) } th { (t(lang, "rec.what")) } th { (t(lang, "rec.who")) } th { (t(lang, "form.purpose")) } th { (t(lang, "rec.details")) } } }
            tbody {
                @for e in &s.custody {
                    @let on_camera = e.purpose == ON_CAMERA_PURPOSE;
                    tr data-action=(e.action) data-audit-seq=[e.audit_seq] data-on-camera[on_camera] {
                        td { (show_text(tz, &e.at)) }
                        td { @if on_camera { (t(lang, "rec.on_camera")) } @else { (words::action(lang, &e.action)) } }
                        td { (words::author(lang, &e.author)) } td { (words::purpose(lang, &e.purpose).unwrap_or("")) }
                        td { (words::people_words(&e.action, &e.details).unwrap_or_default()) }
                    }
                }
            }
        } }
    }
}

/// What the camera's `EVENTS.LOG` says around the recording, on the camera's clock.
fn camera_events(lang: Language, s: &Shown) -> Markup {
    html! {
        @if s.camera_events.is_empty() {
            p { (t(lang, "rec.no_camera_events")) }
        } @else {
            table #camera-events data-verbatim {
                tbody {
                    @for e in &s.camera_events {
                        tr data-event=(e.event) { td { (e.camera_time) } td { (e.event) } td.hash { (e.line) } }
                    }
                }
            }
        }
    }
}

/// The consultation form's fields.
#[derive(serde::Deserialize)]
pub(crate) struct ConsultForm {
    csrf: String,
    purpose: String,
    reason: String,
}

/// `POST /recordings/STEM/consult`: traced by the daemon, then the player opens.
pub async fn consult(
    State(console): State<Arc<Console>>,
    a: Authed,
    Path(stem): Path<String>,
    Form(f): Form<ConsultForm>,
) -> Response {
    if let Some(r) = check_csrf(&console, &a, &f.csrf) {
        return r;
    }
    if !plain_stem(&stem) {
        return failure(&console, &a, &bad_name(&stem));
    }
    let Some(purpose) = purpose_of(&f.purpose) else {
        return failure(&console, &a, &no_purpose());
    };
    let command = Command::Consult(ConsultArgs {
        recording: stem.clone(),
        purpose,
        reason: f.reason,
        out: None,
    });
    let (reply, fd) = match daemon::run(console.socket.clone(), command).await {
        Ok(r) => r,
        Err(e) => return failure(&console, &a, &e),
    };
    let consulted: Consulted = match crate::app::api::replies::decode(&reply.data) {
        Ok(c) => c,
        Err(e) => {
            let f = Failure {
                code: None,
                message: e.to_string(),
            };
            return failure(&console, &a, &f);
        }
    };
    let Some(fd) = fd else {
        let f = Failure {
            code: None,
            message: format!(
                "sentinel-dockd traced the consultation but passed no file: {}",
                reply.message
            ),
        };
        return failure(&console, &a, &f);
    };
    let file = std::fs::File::from(fd);
    let opened = Opened {
        file: Arc::new(file),
        size: consulted.size,
    };
    console.sessions.update(&a.id, |s| {
        s.opened.insert(consulted.recording.clone(), opened);
    });
    Redirect::to(&format!("/recordings/{}#player", consulted.recording)).into_response()
}
