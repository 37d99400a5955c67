//! Holds: the form to keep recordings for a procedure (opened with the recordings
//! chosen), the holds in force with a release for each, and the confirmation after an act.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use super::pick::{chosen, stems_in};
use super::{csrf_field, layout};
use crate::app::api::replies::{Found, Shown};
use crate::app::api::request::{Command, SearchArgs, ShowArgs};
use crate::app::console::Console;
use crate::app::console::daemon;
use crate::app::console::http::Authed;
use crate::app::console::i18n::t;
use crate::base::config::Language;

/// The most held recordings listed (holds are few; the search finds the rest).
const MOST: u32 = 100;

/// `GET /hold?recording=...`: the hold form, holding the recordings chosen.
pub async fn form(
    State(console): State<Arc<Console>>,
    a: Authed,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Response {
    let stems = stems_in(&pairs);
    let lang = a.lang;
    let body = html! {
        (chosen(lang, &stems))
        (hold_form(&a, &stems))
    };
    layout(&console, &a, t(lang, "registers.hold"), body).into_response()
}

/// The hold form, its recordings prefilled one a line.
pub(crate) fn hold_form(a: &Authed, stems: &[String]) -> Markup {
    let lang = a.lang;
    html! {
        form #hold method="post" action="/registers/hold" {
            (csrf_field(a))
            label { (t(lang, "form.recordings")) textarea name="recordings" rows="3" required { (stems.join("\n")) } }
            label { (t(lang, "form.procedure")) input type="text" name="procedure" required; }
            label { (t(lang, "form.reason")) input type="text" name="reason" required; }
            button.primary type="submit" { (t(lang, "registers.hold")) }
        }
    }
}

/// The holds in force: each recording held, the procedure, and a release form.
pub(crate) async fn in_force(console: &Console, a: &Authed) -> Markup {
    let lang = a.lang;
    let search = Command::Search(SearchArgs {
        from: None,
        to: None,
        camera: None,
        agent: None,
        brigade: None,
        state: None,
        flag: None,
        held: Some(true),
        near: None,
        radius: None,
        site: None,
        page: 1,
        per_page: MOST,
    });
    let Ok(found) = daemon::ask::<Found>(console.socket.clone(), search).await else {
        return html! { p.error { (t(lang, "holds.unknown")) } };
    };
    let mut rows: Vec<(String, String)> = Vec::new();
    for r in &found.recordings {
        let show = Command::Show(ShowArgs {
            recording: r.stem.clone(),
        });
        match daemon::ask::<Shown>(console.socket.clone(), show).await {
            Ok(s) => rows.extend(s.holds.into_iter().map(|p| (r.stem.clone(), p))),
            Err(_) => rows.push((r.stem.clone(), String::new())),
        }
    }
    html! {
        @if rows.is_empty() {
            p #no-hold { (t(lang, "holds.none")) }
        } @else {
            div.scroll { table #holds {
                thead { tr { th { (t(lang, "col.recording")) } th { (t(lang, "form.procedure")) } th { (t(lang, "registers.release")) } } }
                tbody {
                    @for (stem, procedure) in &rows {
                        tr data-recording=(stem) data-procedure=(procedure) {
                            td { a href={ "/recordings/" (stem) } { (stem) } }
                            td { (procedure) }
                            td { (release_form(a, stem, procedure)) }
                        }
                    }
                }
            } }
            @if found.more { p { (t(lang, "holds.more")) } }
        }
    }
}

fn release_form(a: &Authed, stem: &str, procedure: &str) -> Markup {
    let lang = a.lang;
    html! {
        form.release method="post" action="/registers/release" {
            (csrf_field(a))
            input type="hidden" name="recordings" value=(stem);
            input type="hidden" name="procedure" value=(procedure);
            label { (t(lang, "form.reason")) input type="text" name="reason" required; }
            button.primary type="submit" { (t(lang, "holds.release")) }
        }
    }
}

/// After an act: what was done, in words (`?done=hold|release|attribute`).
pub(crate) fn done_notice(lang: Language, done: Option<&str>) -> Markup {
    let key = match done {
        Some("hold") => "done.hold",
        Some("release") => "done.release",
        Some("attribute") => "done.attribute",
        _ => return html! {},
    };
    html! { p.notice #done role="status" data-done=(done.unwrap_or_default()) { (t(lang, key)) } }
}
