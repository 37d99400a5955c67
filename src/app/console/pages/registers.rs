//! `/registers`: the perception register, the attention list with its attribution form,
//! holds placed and released, and the audit chain's verdict.

use std::sync::Arc;

use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

use super::{check_csrf, csrf_field, failure, layout};
use crate::app::api::replies::{AuditVerified, RegisterPrinted};
use crate::app::api::request::Command;
use crate::app::api::request::{
    AttributeArgs, AuditCommand, AuditVerifyArgs, Format, HoldArgs, RegisterCommand,
    RegisterPrintArgs, ReleaseArgs, View,
};
use crate::app::console::Console;
use crate::app::console::daemon;
use crate::app::console::http::Authed;
use crate::app::console::i18n::t;

fn print(view: View) -> Command {
    Command::Register(RegisterCommand::Print(RegisterPrintArgs {
        camera: None,
        agent: None,
        from: None,
        to: None,
        view,
        format: Format::Json,
    }))
}

/// `GET /registers`
pub async fn page(State(console): State<Arc<Console>>, a: Authed) -> Response {
    let socket = console.socket.clone();
    let issues = daemon::ask::<RegisterPrinted>(socket.clone(), print(View::Issues)).await;
    let attention = daemon::ask::<RegisterPrinted>(socket.clone(), print(View::Attention)).await;
    let verify = Command::Audit(AuditCommand::Verify(AuditVerifyArgs { head: None }));
    let audit = daemon::ask::<AuditVerified>(socket, verify).await;
    let (issues, attention, audit) = match (issues, attention, audit) {
        (Ok(i), Ok(at), Ok(au)) => (i, at, au),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return failure(&console, &a, &e),
    };
    let lang = a.lang;
    let body = html! {
        h2 { (t(lang, "registers.audit")) }
        p #audit-verdict data-intact=(audit.intact) {
            @if audit.intact { (t(lang, "registers.intact")) } @else { strong { (t(lang, "registers.broken")) } }
            " · " (audit.verification.entries) " " (t(lang, "registers.entries"))
        }
        h2 { (t(lang, "registers.issues")) }
        (rows(&issues))
        h2 { (t(lang, "registers.attention")) }
        (rows(&attention))
        form #attribute method="post" action="/registers/attribute" {
            (csrf_field(&a))
            label { (t(lang, "col.recording")) input type="text" name="recording" required; }
            label { (t(lang, "form.agent")) input type="text" name="agent" required; }
            label { (t(lang, "form.reason")) input type="text" name="reason" required; }
            button.primary type="submit" { (t(lang, "registers.attribute")) }
        }
        h2 { (t(lang, "registers.hold")) }
        (hold_form(&a, "/registers/hold", "registers.hold"))
        h2 { (t(lang, "registers.release")) }
        (hold_form(&a, "/registers/release", "registers.release"))
    };
    layout(&console, &a, t(lang, "registers.title"), body).into_response()
}

fn rows(p: &RegisterPrinted) -> Markup {
    let columns: Vec<&String> = p
        .rows
        .first()
        .map(|r| r.keys().collect())
        .unwrap_or_default();
    html! {
        table {
            thead { tr { @for c in &columns { th { (c) } } } }
            tbody { @for r in &p.rows { tr { @for c in &columns { td { (r.get(*c).map(String::as_str).unwrap_or("")) } } } } }
        }
    }
}

fn hold_form(a: &Authed, action: &str, key: &'static str) -> Markup {
    let lang = a.lang;
    html! {
        form method="post" action=(action) {
            (csrf_field(a))
            label { (t(lang, "form.recordings")) textarea name="recordings" rows="2" required {} }
            label { (t(lang, "form.procedure")) input type="text" name="procedure" required; }
            label { (t(lang, "form.reason")) input type="text" name="reason" required; }
            button.primary type="submit" { (t(lang, key)) }
        }
    }
}

/// The attribution form.
#[derive(serde::Deserialize)]
pub struct AttributeForm {
    csrf: String,
    recording: String,
    agent: String,
    reason: String,
}

/// The hold and release forms.
#[derive(serde::Deserialize)]
pub struct HoldForm {
    csrf: String,
    recordings: String,
    procedure: String,
    reason: String,
}

async fn done(console: &Console, a: &Authed, command: Command) -> Response {
    match daemon::run(console.socket.clone(), command).await {
        Ok(_) => Redirect::to("/registers").into_response(),
        Err(e) => failure(console, a, &e),
    }
}

/// `POST /registers/attribute`
pub async fn attribute(
    State(console): State<Arc<Console>>,
    a: Authed,
    Form(f): Form<AttributeForm>,
) -> Response {
    if let Some(r) = check_csrf(&console, &a, &f.csrf) {
        return r;
    }
    let c = Command::Attribute(AttributeArgs {
        recording: f.recording,
        agent: f.agent,
        reason: f.reason,
    });
    done(&console, &a, c).await
}

/// `POST /registers/hold`
pub async fn hold(
    State(console): State<Arc<Console>>,
    a: Authed,
    Form(f): Form<HoldForm>,
) -> Response {
    if let Some(r) = check_csrf(&console, &a, &f.csrf) {
        return r;
    }
    let recordings = f
        .recordings
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let c = Command::Hold(HoldArgs {
        recordings,
        procedure: f.procedure,
        reason: f.reason,
    });
    done(&console, &a, c).await
}

/// `POST /registers/release`
pub async fn release(
    State(console): State<Arc<Console>>,
    a: Authed,
    Form(f): Form<HoldForm>,
) -> Response {
    if let Some(r) = check_csrf(&console, &a, &f.csrf) {
        return r;
    }
    let recordings = f
        .recordings
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let c = Command::Release(ReleaseArgs {
        recordings,
        procedure: f.procedure,
        reason: f.reason,
    });
    done(&console, &a, c).await
}
