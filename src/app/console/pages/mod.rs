//! The console's pages, each a function from a request to server-rendered HTML.

pub mod dock;
pub mod extract;
pub mod holds;
pub mod pick;
pub mod recording;
pub mod recordings;
pub mod registers;
pub mod report;
mod report_csv;
mod track_legend;

use std::sync::Arc;

use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

use super::Console;
use super::daemon::Failure;
use super::http::Authed;
use super::i18n::t;
use super::session::constant_time_eq;
use crate::base::config::Language;

/// A whole page: navigation, language switch, the body.
pub fn layout(console: &Console, a: &Authed, heading: &str, body: Markup) -> Markup {
    let lang = a.lang;
    let other = match lang {
        Language::Fr => "en",
        Language::En => "fr",
    };
    html! {
        (maud::DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (heading) " · " (t(lang, "title")) }
                link rel="icon" type="image/svg+xml" href="/static/favicon.svg";
                link rel="stylesheet" href="/static/console.css";
                script src="/static/console.js" defer {}
            }
            body {
                header {
                    strong { (t(lang, "title")) }
                    nav {
                        a href="/dock" { (t(lang, "nav.dock")) } " "
                        @if super::roles::may_use_registers(console) {
                            a href="/recordings" { (t(lang, "nav.recordings")) } " "
                            a href="/extract" { (t(lang, "nav.extract")) } " "
                            a href="/registers" { (t(lang, "nav.registers")) } " "
                            a href="/report" { (t(lang, "nav.report")) }
                        }
                    }
                    form method="post" action="/language" {
                        input type="hidden" name="csrf" value=(a.session.csrf);
                        input type="hidden" name="to" value=(other);
                        input type="hidden" name="back" value=(a.path);
                        button type="submit" lang=(other) { (t(lang, "lang.switch")) }
                    }
                }
                main { h1 { (heading) } (body) }
            }
        }
    }
}

/// The hidden field every form carries.
pub(crate) fn csrf_field(a: &Authed) -> Markup {
    html! { input type="hidden" name="csrf" value=(a.session.csrf); }
}

/// `None` when a form's token is the session's; the refusal page otherwise.
pub(crate) fn check_csrf(console: &Console, a: &Authed, token: &str) -> Option<Response> {
    if constant_time_eq(a.session.csrf.as_bytes(), token.as_bytes()) {
        None
    } else {
        let body = html! { p.error { (t(a.lang, "error.csrf")) } };
        let page = layout(console, a, t(a.lang, "error.title"), body);
        Some((StatusCode::FORBIDDEN, page).into_response())
    }
}

/// The daemon's refusal or failure, as a page saying in plain words what to do; the
/// daemon's own message (in English, naming command-line options) goes to the console's
/// standard error, for whoever runs it.
pub fn failure(console: &Console, a: &Authed, f: &Failure) -> Response {
    eprintln!(
        "sentinel-dockctl console: {} answered: {}",
        a.path, f.message
    );
    let key = match f.code {
        Some(crate::app::control::protocol::ErrorCode::Refused) => "error.refused",
        Some(
            crate::app::control::protocol::ErrorCode::Invalid
            | crate::app::control::protocol::ErrorCode::BadRequest,
        ) => "error.invalid",
        Some(_) => "error.failed",
        None => "error.unreachable",
    };
    let code = f.code.map(|c| format!("{c:?}"));
    error_page(console, a, f.status(), code.as_deref(), key)
}

/// A form the console itself refuses before asking the daemon (its own check, in the
/// page's language): the page says exactly what to fix.
pub(crate) fn refused_here(console: &Console, a: &Authed, key: &'static str) -> Response {
    error_page(console, a, StatusCode::BAD_REQUEST, Some("Invalid"), key)
}

/// The page of an act not done: what to do (`key`, in the page's language) and the way
/// back; `data-code` and `data-refused` for the tests and the technician.
fn error_page(
    console: &Console,
    a: &Authed,
    status: StatusCode,
    code: Option<&str>,
    key: &'static str,
) -> Response {
    let body = html! {
        p.error data-refused=(status == StatusCode::FORBIDDEN) data-code=[code] { (t(a.lang, key)) }
        p { a href="/" { (t(a.lang, "error.back")) } }
    };
    (status, layout(console, a, t(a.lang, "error.title"), body)).into_response()
}

/// The language switch's fields.
#[derive(serde::Deserialize)]
pub(crate) struct LanguageForm {
    csrf: String,
    to: String,
    back: Option<String>,
}

/// `POST /language`: the session's language, then back where the operator was.
pub(crate) async fn switch_language(
    State(console): State<Arc<Console>>,
    a: Authed,
    Form(f): Form<LanguageForm>,
) -> Response {
    if let Some(r) = check_csrf(&console, &a, &f.csrf) {
        return r;
    }
    let lang = if f.to == "en" {
        Language::En
    } else {
        Language::Fr
    };
    console.sessions.update(&a.id, |s| s.language = Some(lang));
    // Back to the page the switch was on (a path of this console only, never elsewhere).
    let back = f
        .back
        .filter(|p| p.starts_with('/') && !p.starts_with("//"))
        .unwrap_or_else(|| "/dock".to_string());
    Redirect::to(&back).into_response()
}

/// Bytes, with a binary unit.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["Kio", "Mio", "Gio", "Tio", "Pio"];
    let mut value = n as f64;
    let mut unit = "o";
    for u in UNITS {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = u;
    }
    if unit == "o" {
        format!("{n} o")
    } else {
        format!("{value:.1} {unit}")
    }
}
