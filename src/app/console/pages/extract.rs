//! `/extract`: the extraction form; the daemon writes and verifies the bag exactly as
//! `sentinel-dockctl extract` does, and the page shows its folder and manifest.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::html;

use super::recording::{purpose_of, purpose_options};
use super::{check_csrf, csrf_field, failure, layout};
use crate::app::api::replies::Extracted;
use crate::app::api::request::Command;
use crate::app::api::request::{ExtractArgs, Purpose};
use crate::app::console::Console;
use crate::app::console::daemon::{self, Failure};
use crate::app::console::http::Authed;
use crate::app::console::i18n::t;

/// What the form may be opened with.
#[derive(serde::Deserialize, Default)]
pub struct Prefill {
    #[serde(default)]
    recording: String,
}

/// `GET /extract`
pub async fn form(
    State(console): State<Arc<Console>>,
    a: Authed,
    Query(p): Query<Prefill>,
) -> Response {
    let lang = a.lang;
    let body = html! {
        form #extract method="post" action="/extract" {
            (csrf_field(&a))
            label { (t(lang, "form.recordings")) textarea name="recordings" rows="4" required { (p.recording) } }
            label { (t(lang, "form.purpose")) select name="purpose" required { (purpose_options(lang)) } }
            label { (t(lang, "form.requisition")) input type="text" name="requisition"; }
            label { (t(lang, "form.requisition_date")) input type="date" name="date"; }
            label { (t(lang, "form.opj")) input type="text" name="opj"; }
            label { (t(lang, "form.procedure")) input type="text" name="procedure"; }
            label { (t(lang, "form.recipient")) input type="text" name="recipient"; }
            label { (t(lang, "form.reason")) input type="text" name="reason"; }
            button.primary type="submit" { (t(lang, "form.submit")) }
        }
    };
    layout(&console, &a, t(lang, "extract.title"), body).into_response()
}

/// The form's fields.
#[derive(serde::Deserialize)]
pub struct ExtractForm {
    csrf: String,
    recordings: String,
    purpose: String,
    #[serde(default)]
    requisition: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    opj: String,
    #[serde(default)]
    procedure: String,
    #[serde(default)]
    recipient: String,
    #[serde(default)]
    reason: String,
}

fn given(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// `POST /extract`
pub async fn submit(
    State(console): State<Arc<Console>>,
    a: Authed,
    Form(f): Form<ExtractForm>,
) -> Response {
    if let Some(r) = check_csrf(&console, &a, &f.csrf) {
        return r;
    }
    let invalid = |message: String| Failure {
        code: Some(crate::app::control::protocol::ErrorCode::Invalid),
        message,
    };
    let Some(purpose) = purpose_of(&f.purpose) else {
        return failure(&console, &a, &invalid(format!("purpose `{}`", f.purpose)));
    };
    let date = match given(&f.date).map(|d| chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d")) {
        None => None,
        Some(Ok(d)) => Some(d),
        Some(Err(_)) => {
            return failure(
                &console,
                &a,
                &invalid(format!("date `{}`: YYYY-MM-DD", f.date)),
            );
        }
    };
    let judicial = purpose == Purpose::Judicial;
    // The daemon names the bag's own folder inside `extract.root`, as for the command line.
    let to = console.config.extract.root.clone();
    let command = Command::Extract(ExtractArgs {
        recordings: f
            .recordings
            .split_whitespace()
            .map(str::to_string)
            .collect(),
        purpose,
        requisition: if judicial {
            given(&f.requisition)
        } else {
            None
        },
        opj: if judicial { given(&f.opj) } else { None },
        requisition_date: if judicial { date } else { None },
        reference: if judicial { None } else { given(&f.procedure) },
        recipient: if judicial { None } else { given(&f.recipient) },
        reason: given(&f.reason),
        to,
    });
    match daemon::ask::<Extracted>(console.socket.clone(), command).await {
        Ok(x) => {
            let manifest = std::fs::read_to_string(x.bag.join("manifest-sha256.txt")).ok();
            let lang = a.lang;
            let body = html! {
                div.facts #extracted data-bag=(x.bag.display().to_string()) {
                    span { (t(lang, "extract.bag")) } span { (x.bag.display().to_string()) }
                    span { "Payload-Oxum" } span { (x.payload_oxum) }
                    span { (t(lang, "extract.manifest")) } span.hash { (x.manifest_sha256) }
                    span { "audit" } span { "#" (x.audit_seq) " → #" (x.completed_seq) }
                }
                @if let Some(m) = manifest { pre { (m) } }
            };
            layout(&console, &a, t(lang, "extract.done"), body).into_response()
        }
        Err(e) => failure(&console, &a, &e),
    }
}
