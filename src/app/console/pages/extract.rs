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

/// `GET /extract`
pub async fn form(
    State(console): State<Arc<Console>>,
    a: Authed,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Response {
    let lang = a.lang;
    let stems = super::pick::stems_in(&pairs);
    let body = html! {
        (super::pick::chosen(lang, &stems))
        form #extract method="post" action="/extract" {
            (csrf_field(&a))
            label { (t(lang, "form.recordings")) textarea name="recordings" rows="4" required { (stems.join("\n")) } }
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
        return failure(
            &console,
            &a,
            &invalid(format!("no purpose chosen (`{}`)", f.purpose)),
        );
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
                p.notice #done role="status" data-done="extraction" { (t(lang, "done.extraction")) }
                div.facts #extracted data-bag=(x.bag.display().to_string()) data-oxum=(x.payload_oxum) {
                    span { (t(lang, "extract.bag")) } span.hash data-verbatim { (x.bag.display().to_string()) }
                    span { (t(lang, "extract.content")) } span { (contents(lang, &x.payload_oxum)) }
                    span { (t(lang, "extract.manifest")) } span.hash { (x.manifest_sha256) }
                    span { (t(lang, "extract.audit")) }
                    span data-audit-seq=(x.audit_seq) data-completed-seq=(x.completed_seq) {
                        (t(lang, "extract.audit.entries")) " " (x.audit_seq) " " (t(lang, "extract.audit.to")) " " (x.completed_seq)
                    }
                    @if let Some(p) = &x.held_for { span { (t(lang, "rec.holds")) } span { (p) } }
                }
                @if let Some(m) = manifest { div.scroll { pre data-verbatim { (m) } } }
            };
            layout(&console, &a, t(lang, "extract.done"), body).into_response()
        }
        Err(e) => failure(&console, &a, &e),
    }
}

/// BagIt's Payload-Oxum (`BYTES.FILES`) in words: how many files, how large.
fn contents(lang: crate::base::config::Language, oxum: &str) -> String {
    match oxum
        .split_once('.')
        .and_then(|(b, n)| Some((b.parse::<u64>().ok()?, n.parse::<u64>().ok()?)))
    {
        Some((bytes, files)) => format!(
            "{files} {} · {}",
            t(lang, "extract.files"),
            super::bytes(bytes)
        ),
        None => oxum.to_string(),
    }
}
