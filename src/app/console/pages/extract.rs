//! `/extract`: the extraction form; the daemon writes and verifies the bag exactly as
//! `sentinel-dockctl extract` does, and the page shows its folder and manifest.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use super::recording::purpose_of;
use super::{check_csrf, csrf_field, failure, layout};
use crate::app::api::replies::Extracted;
use crate::app::api::request::Command;
use crate::app::api::request::{ExtractArgs, Purpose};
use crate::app::console::Console;
use crate::app::console::daemon::{self, Failure};
use crate::app::console::http::Authed;
use crate::app::console::i18n::t;
use crate::base::config::Language;

/// What the form may be opened with.
#[derive(serde::Deserialize, Default)]
pub struct Prefill {
    #[serde(default)]
    recording: String,
    #[serde(default)]
    purpose: String,
}

/// A label's text with its required mark.
fn required(lang: Language, key: &'static str) -> Markup {
    html! { span { (t(lang, key)) " " abbr.required title=(t(lang, "form.required")) { "*" } } }
}

/// `GET /extract`: the judicial fields (requisition, its date, OPJ) or the others'
/// (procedure, recipient), each required one marked; console.js shows only the chosen
/// purpose's fields, and a purpose given in the address renders only those.
pub async fn form(
    State(console): State<Arc<Console>>,
    a: Authed,
    Query(p): Query<Prefill>,
) -> Response {
    let lang = a.lang;
    let chosen = purpose_of(&p.purpose);
    let judicial = chosen.is_none_or(|c| c == Purpose::Judicial);
    let other = chosen.is_none_or(|c| c != Purpose::Judicial);
    let body = html! {
        form #extract method="post" action="/extract" {
            (csrf_field(&a))
            p.hint { (t(lang, "form.required_note")) }
            label { (required(lang, "form.recordings")) textarea name="recordings" rows="4" required { (p.recording) } }
            label { (required(lang, "form.purpose"))
                select #purpose name="purpose" required {
                    option value="" selected[chosen.is_none()] { (t(lang, "form.choose")) }
                    (options(lang, chosen))
                }
            }
            @if judicial {
                fieldset.purpose data-purpose="judicial" {
                    label { (required(lang, "form.requisition")) input type="text" name="requisition" required; }
                    label { (required(lang, "form.requisition_date")) input type="date" name="date" required; }
                    label { (required(lang, "form.opj")) input type="text" name="opj" required; }
                }
            }
            @if other {
                fieldset.purpose data-purpose="other" {
                    label { (required(lang, "form.procedure")) input type="text" name="procedure" required; }
                    label { (required(lang, "form.recipient")) input type="text" name="recipient" required; }
                }
            }
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
    let invalid = |key: &'static str| Failure {
        code: Some(crate::app::control::protocol::ErrorCode::Invalid),
        message: t(a.lang, key).to_string(),
    };
    let Some(purpose) = purpose_of(&f.purpose) else {
        return failure(&console, &a, &invalid("extract.need_purpose"));
    };
    let judicial = purpose == Purpose::Judicial;
    // Checked here too, not only by the browser's `required`: a judicial bag records the
    // requisition's own date, never a default (the daemon refuses one without it as well).
    let date = match given(&f.date).map(|d| chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d")) {
        None if judicial => return failure(&console, &a, &invalid("extract.need_date")),
        None => None,
        Some(Ok(d)) => Some(d),
        Some(Err(_)) => return failure(&console, &a, &invalid("extract.bad_date")),
    };
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
            let bag = x.bag.display().to_string();
            let name = x
                .bag
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let (bytes, files) = x
                .payload_oxum
                .split_once('.')
                .unwrap_or((&x.payload_oxum, ""));
            let record = x.bag.join(extraction_record_file());
            let body = html! {
                div.facts #extracted data-bag=(bag) {
                    span { (t(lang, "extract.bag")) } span { (bag) }
                    span { (t(lang, "extract.record")) } span #record { (record.display().to_string()) }
                    span { (t(lang, "extract.oxum")) } span { (super::bytes(bytes.parse().unwrap_or(0))) " · " (files) " " (t(lang, "extract.files")) }
                    span { (t(lang, "extract.manifest")) } span.hash { (x.manifest_sha256) }
                    span { (t(lang, "extract.audit")) } span { "n° " (x.audit_seq) " → n° " (x.completed_seq) }
                }
                section #handover {
                    h2 { (t(lang, "extract.handover.title")) }
                    p { (t(lang, "extract.handover.text")) }
                    h2 { (t(lang, "extract.copy.title")) }
                    ol {
                        li { (t(lang, "extract.copy.1")) }
                        li { (t(lang, "extract.copy.2")) pre { "cp -a \"" (bag) "\" /media/$USER/<support>/" } }
                        li { (t(lang, "extract.copy.3")) pre { "bagit.py --validate \"/media/$USER/<support>/" (name) "\"" } }
                        li { (t(lang, "extract.copy.4")) }
                    }
                }
                @if let Some(m) = manifest { pre { (m) } }
            };
            layout(&console, &a, t(lang, "extract.done"), body).into_response()
        }
        Err(e) => failure(&console, &a, &e),
    }
}

/// The procès-verbal's name inside the bag (written by the daemon's extraction).
fn extraction_record_file() -> &'static str {
    crate::app::commands::EXTRACTION_RECORD
}

/// The purposes, the chosen one selected.
fn options(lang: Language, chosen: Option<Purpose>) -> Markup {
    let all = [
        (Purpose::Judicial, "purpose.judicial"),
        (Purpose::Administrative, "purpose.administrative"),
        (Purpose::Disciplinary, "purpose.disciplinary"),
        (Purpose::Training, "purpose.training"),
    ];
    html! {
        @for (p, key) in all {
            option value=(p.as_str()) selected[chosen == Some(p)] { (t(lang, key)) }
        }
    }
}
