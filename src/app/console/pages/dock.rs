//! `/dock`: a card per docked camera, live (server-sent events), and the store, the RAID
//! and the last scrub. The page a technician and a kiosk screen see.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream};
use maud::{Markup, html};

use super::{bytes, failure, layout};
use crate::app::console::Console;
use crate::app::console::daemon;
use crate::app::console::http::Authed;
use crate::app::console::i18n::t;
use crate::app::console::time::show;
use crate::app::status::{CameraState, CameraStatus, StatusReport};
use crate::base::config::Language;

/// How often the live page asks the daemon (as `status --watch` does).
const EVERY: Duration = Duration::from_secs(1);

/// `GET /dock`
pub async fn page(State(console): State<Arc<Console>>, a: Authed) -> Response {
    match daemon::status(console.socket.clone()).await {
        Ok(report) => {
            let body = html! {
                div #cards .cards { (cards_of(&console, a.lang, &report)) }
                (store_of(&console, a.lang, &report))
            };
            layout(&console, &a, t(a.lang, "dock.title"), body).into_response()
        }
        Err(f) => failure(&console, &a, &f),
    }
}

/// `GET /dock/cards`: the cards alone (what each event carries).
pub async fn cards(State(console): State<Arc<Console>>, a: Authed) -> Response {
    match daemon::status(console.socket.clone()).await {
        Ok(report) => cards_of(&console, a.lang, &report).into_response(),
        Err(f) => failure(&console, &a, &f),
    }
}

/// `GET /dock/events`: the cards again each time they change.
pub async fn events(
    State(console): State<Arc<Console>>,
    a: Authed,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let lang = a.lang;
    let stream = stream::unfold(
        (console, String::new()),
        move |(console, last)| async move {
            loop {
                tokio::time::sleep(EVERY).await;
                let html = match daemon::status(console.socket.clone()).await {
                    Ok(report) => cards_of(&console, lang, &report).into_string(),
                    Err(f) => html! { p.error { (f.message) } }.into_string(),
                };
                if html != last {
                    // One line per event: the fragment has no newline worth keeping.
                    let event = Event::default()
                        .event("cards")
                        .data(html.replace('\n', " "));
                    return Some((Ok(event), (console, html)));
                }
            }
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// The state's name in `data-state`.
pub fn state_hook(state: &CameraState) -> &'static str {
    match state {
        CameraState::Waiting => "waiting",
        CameraState::Ingesting(_) => "ingesting",
        CameraState::SafeToUndock { .. } => "safe",
        CameraState::NeedsAttention(_) => "attention",
        CameraState::NotEnrolled => "not-enrolled",
        CameraState::Failed { .. } => "failed",
        CameraState::Cancelled => "cancelled",
        CameraState::NotResponding { .. } => "not-responding",
    }
}

fn cards_of(console: &Console, lang: Language, report: &StatusReport) -> Markup {
    html! {
        @if report.cameras.is_empty() {
            p #no-camera { (t(lang, "dock.none")) }
        }
        @for c in &report.cameras { (card(console, lang, c)) }
    }
}

fn card(console: &Console, lang: Language, c: &CameraStatus) -> Markup {
    let hook = state_hook(&c.state);
    let tz = console.config.console.timezone;
    html! {
        section.card data-camera=(c.serial) data-state=(hook) {
            div.serial { (c.serial) }
            div { (t(lang, "dock.slot")) " " (c.slot) " · " (t(lang, "dock.docked")) " " (show(tz, &c.docked_at)) }
            @if let Some(agent) = &c.agent { div.agent { (t(lang, "dock.agent")) " " (agent) } }
            div.state { (t(lang, state_key(hook))) }
            @match &c.state {
                CameraState::Ingesting(p) => {
                    progress max=(p.bytes_total.max(1)) value=(p.bytes_done) {}
                    div { (bytes(p.bytes_done)) " / " (bytes(p.bytes_total))
                          " · " (p.recordings_done) "/" (p.recordings_total) }
                    div { (t(lang, "dock.rate")) " " (bytes(p.bytes_per_sec)) "/s"
                          @if let Some(eta) = p.eta_secs { " · " (t(lang, "dock.eta")) " " (eta) " s" } }
                }
                CameraState::SafeToUndock { .. } => { div.big.ok { (t(lang, "dock.safe")) } }
                CameraState::NeedsAttention(att) => {
                    div.big.bad { (t(lang, "dock.attention")) }
                    ul { @for w in &att.warnings { li { (w) } } }
                }
                CameraState::Failed { error } => {
                    div.big.bad { (t(lang, "dock.attention")) }
                    p { (error) }
                }
                CameraState::NotEnrolled => { div.big.bad { (t(lang, "dock.attention")) } }
                CameraState::NotResponding { waited_secs } => {
                    div.big.bad { (t(lang, "dock.attention")) }
                    p { (t(lang, "dock.not-responding")) " (" (waited_secs) " s)" }
                }
                _ => {}
            }
        }
    }
}

fn state_key(hook: &str) -> &'static str {
    match hook {
        "waiting" => "state.waiting",
        "ingesting" => "state.ingesting",
        "safe" => "state.safe",
        "attention" => "state.attention",
        "not-enrolled" => "state.not-enrolled",
        "failed" => "state.failed",
        "cancelled" => "state.cancelled",
        _ => "state.not-responding",
    }
}

fn store_of(console: &Console, lang: Language, report: &StatusReport) -> Markup {
    let tz = console.config.console.timezone;
    html! {
        h2 { (t(lang, "dock.store")) }
        p #store {
            @if let Some(free) = report.store.free_bytes { (bytes(free)) " · " }
            @if let Some(days) = report.store.days_left { (days) " " (t(lang, "dock.days_left")) }
        }
        h2 { (t(lang, "dock.raid")) }
        ul { @for md in &report.raid { li { (md.name) " " (md.level) " " (md.state) " [" (md.map) "]" } } }
        h2 { (t(lang, "dock.scrub")) }
        p {
            @match &report.last_scrub {
                Some(s) => { (show(tz, &s.at)) " · " (s.problems) }
                None => { (t(lang, "dock.scrub.none")) }
            }
        }
        @if !report.warnings.is_empty() {
            h2 { (t(lang, "dock.warnings")) }
            ul.error { @for w in &report.warnings { li { (w) } } }
        }
    }
}
