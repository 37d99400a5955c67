//! `/registers`: the perception register, the attention list with its attribution form,
//! holds placed and released, and the audit chain's verdict.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Query, State};
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
use crate::app::console::time::show_text;
use crate::app::console::words;
use crate::base::config::Language;

type Row = std::collections::BTreeMap<String, String>;

fn cell(r: &Row, c: &str) -> String {
    r.get(c).cloned().unwrap_or_default()
}

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

/// What the page was reached after (`?done=hold`...).
#[derive(serde::Deserialize, Default)]
pub struct Done {
    #[serde(default)]
    done: Option<String>,
}

/// `GET /registers`
pub async fn page(
    State(console): State<Arc<Console>>,
    a: Authed,
    Query(done): Query<Done>,
) -> Response {
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
    let held = super::holds::in_force(&console, &a).await;
    let tz = console.config.console.timezone;
    let body = html! {
        (super::holds::done_notice(lang, done.done.as_deref()))
        h2 { (t(lang, "registers.audit")) }
        p #audit-verdict data-intact=(audit.intact) {
            @if audit.intact { (t(lang, "registers.intact")) } @else { strong { (t(lang, "registers.broken")) } }
            " · " (audit.verification.entries) " " (t(lang, "registers.entries"))
        }
        h2 { (t(lang, "holds.title")) }
        (held)
        h2 { (t(lang, "registers.issues")) }
        (issues_table(lang, tz, &issues))
        h2 { (t(lang, "registers.attention")) }
        (attention_table(lang, tz, &attention))
        (super::pick::agents(Some(&issues)))
        form #attribute method="post" action="/registers/attribute" {
            (csrf_field(&a))
            label { (t(lang, "col.recording")) input type="text" name="recording" required; }
            label { (t(lang, "form.agent")) input type="text" name="agent" list="agents" required; }
            label { (t(lang, "form.reason")) input type="text" name="reason" required; }
            button.primary type="submit" { (t(lang, "registers.attribute")) }
        }
        h2 { (t(lang, "registers.hold")) }
        (super::holds::hold_form(&a, &[]))
    };
    layout(&console, &a, t(lang, "registers.title"), body).into_response()
}

/// The perception register's issues, under plain column names.
fn issues_table(lang: Language, tz: chrono_tz::Tz, p: &RegisterPrinted) -> Markup {
    html! {
        div.scroll { table #issues {
            thead { tr {
                th { (t(lang, "col.camera")) } th { (t(lang, "col.agent")) } th { (t(lang, "issues.given")) }
                th { (t(lang, "issues.given_by")) } th { (t(lang, "issues.ended")) } th { (t(lang, "issues.recordings")) }
            } }
            tbody { @for r in &p.rows {
                tr data-camera=(cell(r, "camera")) data-agent=(cell(r, "agent")) {
                    td { (cell(r, "camera")) }
                    td { (cell(r, "name")) " (" (cell(r, "agent")) ")" @if !cell(r, "brigade").is_empty() { " · " (cell(r, "brigade")) } }
                    td { (show_text(tz, &cell(r, "issued_at"))) }
                    td { (cell(r, "issued_by")) }
                    td { (words::ended(lang, &cell(r, "ended")))
                         @if !cell(r, "ended_at").is_empty() { " · " (show_text(tz, &cell(r, "ended_at"))) } }
                    td { (cell(r, "recordings")) }
                }
            } }
        } }
    }
}

/// The recordings waiting for an attribution, each with why in plain words.
fn attention_table(lang: Language, tz: chrono_tz::Tz, p: &RegisterPrinted) -> Markup {
    html! {
        @if p.rows.is_empty() {
            p #no-attention { (t(lang, "attention.none")) }
        } @else {
            div.scroll { table #attention {
                thead { tr { th { (t(lang, "col.recording")) } th { (t(lang, "col.camera")) } th { (t(lang, "col.start")) } th { (t(lang, "attention.why")) } } }
                tbody { @for r in &p.rows {
                    tr data-recording=(cell(r, "recording")) {
                        td { a href={ "/recordings/" (cell(r, "recording")) } { (cell(r, "recording")) } }
                        td { (cell(r, "camera")) }
                        td { (show_text(tz, &cell(r, "start"))) }
                        td { (words::why(lang, &cell(r, "why"))) }
                    }
                } }
            } }
        }
    }
}

/// The attribution form.
#[derive(serde::Deserialize)]
pub(crate) struct AttributeForm {
    csrf: String,
    recording: String,
    agent: String,
    reason: String,
}

/// The hold and release forms.
#[derive(serde::Deserialize)]
pub(crate) struct HoldForm {
    csrf: String,
    recordings: String,
    procedure: String,
    reason: String,
}

async fn done(console: &Console, a: &Authed, command: Command, what: &str) -> Response {
    match daemon::run(console.socket.clone(), command).await {
        Ok(_) => Redirect::to(&format!("/registers?done={what}#done")).into_response(),
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
    done(&console, &a, c, "attribute").await
}

impl HoldForm {
    /// The recordings named in the form, one a line or a space.
    fn stems(&self) -> Vec<String> {
        self.recordings
            .split_whitespace()
            .map(str::to_string)
            .collect()
    }
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
    let recordings = f.stems();
    let c = Command::Hold(HoldArgs {
        recordings,
        procedure: f.procedure,
        reason: f.reason,
    });
    done(&console, &a, c, "hold").await
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
    let recordings = f.stems();
    let c = Command::Release(ReleaseArgs {
        recordings,
        procedure: f.procedure,
        reason: f.reason,
    });
    done(&console, &a, c, "release").await
}
