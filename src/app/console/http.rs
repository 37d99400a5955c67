//! The routes, the session check in front of every one, and the headers every answer
//! carries (a Content-Security-Policy without inline scripts, no referrer, no caching).

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts, OptionalFromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};

use super::Console;
use super::i18n::t;
use super::pages;
use super::session::{self, COOKIE, Session};
use crate::base::config::Language;

const CSS: &str = include_str!("assets/console.css");
const JS: &str = include_str!("assets/console.js");
const FAVICON: &str = include_str!("assets/favicon.svg");
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; media-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Every route of the console (only the dock's in kiosk mode).
pub(crate) fn router(console: Arc<Console>) -> Router {
    let mut app = Router::new()
        .route("/", get(enter))
        .route(
            "/static/console.css",
            get(|| async { asset(CSS, "text/css") }),
        )
        .route(
            "/static/console.js",
            get(|| async { asset(JS, "text/javascript") }),
        )
        .route(
            "/static/favicon.svg",
            get(|| async { asset(FAVICON, "image/svg+xml") }),
        )
        .route("/language", post(pages::switch_language))
        .route("/dock", get(pages::dock::page))
        .route("/dock/cards", get(pages::dock::cards))
        .route("/dock/events", get(pages::dock::events));
    if !console.kiosk {
        let registers = Router::new()
            .route("/recordings", get(pages::recordings::page))
            .route("/recordings/{stem}", get(pages::recording::page))
            .route(
                "/recordings/{stem}/consult",
                post(pages::recording::consult),
            )
            .route("/recordings/{stem}/video", get(super::video::serve))
            .route(
                "/extract",
                get(pages::extract::form).post(pages::extract::submit),
            )
            .route("/registers", get(pages::registers::page))
            .route("/registers/attribute", post(pages::registers::attribute))
            .route("/registers/hold", post(pages::registers::hold))
            .route("/registers/release", post(pages::registers::release))
            .route("/report", get(pages::report::page))
            .route("/report.csv", get(pages::report::csv))
            .route("/hold", get(pages::holds::form))
            .route_layer(axum::middleware::from_fn_with_state(
                console.clone(),
                super::roles::guard,
            ));
        app = app.merge(registers);
    }
    app.fallback(not_here)
        .layer(axum::middleware::map_response(secure_headers))
        .with_state(console)
}

async fn secure_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

fn asset(body: &'static str, kind: &'static str) -> Response {
    ([(header::CONTENT_TYPE, kind)], body).into_response()
}

/// A request from a browser holding a valid session.
#[derive(Debug, Clone)]
pub(crate) struct Authed {
    /// The session's id (the cookie's value).
    pub id: String,
    /// The session.
    pub session: Session,
    /// The language to answer in.
    pub lang: Language,
    /// The page asked for, with its query (where the language switch comes back to).
    pub path: String,
}

impl OptionalFromRequestParts<Arc<Console>> for Authed {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        console: &Arc<Console>,
    ) -> Result<Option<Authed>, Self::Rejection> {
        Ok(authed(parts, console))
    }
}

impl FromRequestParts<Arc<Console>> for Authed {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        console: &Arc<Console>,
    ) -> Result<Authed, Response> {
        authed(parts, console).ok_or_else(|| unauthorised(console.config.console.language))
    }
}

/// The session a request's cookie names, if it is one of this console's.
pub(crate) fn authed(parts: &Parts, console: &Console) -> Option<Authed> {
    {
        let found = parts
            .headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(session::from_cookie)
            .and_then(|id| console.sessions.get(id).map(|s| (id.to_string(), s)));
        match found {
            Some((id, session)) => Some(Authed {
                path: parts
                    .uri
                    .path_and_query()
                    .map_or("/dock".to_string(), |p| p.to_string()),
                lang: session.language.unwrap_or(console.config.console.language),
                id,
                session,
            }),
            None => None,
        }
    }
}

fn unauthorised(lang: Language) -> Response {
    let body = html! { p { (t(lang, "error.unauthorised")) } };
    (StatusCode::UNAUTHORIZED, bare(lang, body)).into_response()
}

#[derive(serde::Deserialize)]
struct Entry {
    token: Option<String>,
}

/// `/?token=...`: the one-time token becomes the session cookie; a session goes on.
async fn enter(
    State(console): State<Arc<Console>>,
    Query(q): Query<Entry>,
    authed: Option<Authed>,
) -> Response {
    let home = super::roles::home(&console);
    if authed.is_some() {
        return Redirect::to(home).into_response();
    }
    let Some(id) = q
        .token
        .as_deref()
        .and_then(|t| console.sessions.exchange(t))
    else {
        return unauthorised(console.config.console.language);
    };
    let cookie = format!("{COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/");
    (
        StatusCode::SEE_OTHER,
        [
            (header::SET_COOKIE, cookie),
            (header::LOCATION, home.to_string()),
        ],
    )
        .into_response()
}

async fn not_here(State(console): State<Arc<Console>>, authed: Option<Authed>) -> Response {
    let Some(a) = authed else {
        return unauthorised(console.config.console.language);
    };
    let key = if console.kiosk {
        "error.kiosk"
    } else {
        "error.title"
    };
    (
        StatusCode::NOT_FOUND,
        bare(a.lang, html! { p { (t(a.lang, key)) } }),
    )
        .into_response()
}

/// A page without navigation (errors before a session exists).
pub(crate) fn bare(lang: Language, body: Markup) -> maud::Markup {
    html! {
        (maud::DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                title { (t(lang, "title")) }
                link rel="icon" type="image/svg+xml" href="/static/favicon.svg";
                link rel="stylesheet" href="/static/console.css";
            }
            body { main { (body) } }
        }
    }
}
