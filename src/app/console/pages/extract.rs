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
use crate::app::console::daemon;
use crate::app::console::http::Authed;
use crate::app::console::i18n::t;
use crate::base::config::Language;

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
    Query(pairs): Query<Vec<(String, String)>>,
) -> Response {
    let lang = a.lang;
    let stems = super::pick::stems_in(&pairs);
    let chosen = pairs
        .iter()
        .find(|(k, _)| k == "purpose")
        .and_then(|(_, v)| purpose_of(v));
    let judicial = chosen.is_none_or(|c| c == Purpose::Judicial);
    let other = chosen.is_none_or(|c| c != Purpose::Judicial);
    let body = html! {
        (super::pick::chosen(lang, &stems))
        form #extract method="post" action="/extract" {
            (csrf_field(&a))
            p.hint { (t(lang, "form.required_note")) }
            label { (required(lang, "form.recordings")) textarea name="recordings" rows="4" required { (stems.join("\n")) } }
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
pub(crate) struct ExtractForm {
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
pub(crate) async fn submit(
    State(console): State<Arc<Console>>,
    a: Authed,
    Form(f): Form<ExtractForm>,
) -> Response {
    if let Some(r) = check_csrf(&console, &a, &f.csrf) {
        return r;
    }
    let Some(purpose) = purpose_of(&f.purpose) else {
        return super::refused_here(&console, &a, "extract.need_purpose");
    };
    let judicial = purpose == Purpose::Judicial;
    // Checked here too, not only by the browser's `required`: a judicial bag records the
    // requisition's own date, never a default (the daemon refuses one without it as well).
    let date = match given(&f.date).map(|d| chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d")) {
        None if judicial => return super::refused_here(&console, &a, "extract.need_date"),
        None => None,
        Some(Ok(d)) => Some(d),
        Some(Err(_)) => return super::refused_here(&console, &a, "extract.bad_date"),
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
            let record = x.bag.join(crate::app::commands::EXTRACTION_RECORD);
            let body = html! {
                p.notice #done role="status" data-done="extraction" { (t(lang, "done.extraction")) }
                div.facts #extracted data-bag=(bag) data-oxum=(x.payload_oxum) {
                    span { (t(lang, "extract.bag")) } span.hash data-verbatim { (bag) }
                    span { (t(lang, "extract.record")) } span.hash #record data-verbatim { (record.display().to_string()) }
                    span { (t(lang, "extract.content")) } span { (contents(lang, &x.payload_oxum)) }
                    span { (t(lang, "extract.manifest")) } span.hash { (x.manifest_sha256) }
                    span { (t(lang, "extract.audit")) }
                    span data-audit-seq=(x.audit_seq) data-completed-seq=(x.completed_seq) {
                        (t(lang, "extract.audit.entries")) " " (x.audit_seq) " " (t(lang, "extract.audit.to")) " " (x.completed_seq)
                    }
                    @if let Some(p) = &x.held_for { span { (t(lang, "rec.holds")) } span { (p) } }
                }
                section #handover {
                    h2 { (t(lang, "extract.handover.title")) }
                    p { (t(lang, "extract.handover.text")) }
                    h2 { (t(lang, "extract.copy.title")) }
                    ol {
                        li { (t(lang, "extract.copy.1")) }
                        li { (t(lang, "extract.copy.2")) div.scroll { pre data-verbatim { "cp -a \"" (bag) "\" /media/$USER/<support>/" } } }
                        li { (t(lang, "extract.copy.3")) div.scroll { pre data-verbatim { "bagit.py --validate \"/media/$USER/<support>/" (name) "\"" } } }
                        li { (t(lang, "extract.copy.4")) }
                    }
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
