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
                div #cards .cards { (cards_of(tz(&console), a.lang, &report)) }
                (store_of(tz(&console), a.lang, &report))
            };
            layout(&console, &a, t(a.lang, "dock.title"), body).into_response()
        }
        Err(f) => failure(&console, &a, &f),
    }
}

/// `GET /dock/cards`: the cards alone (what each event carries).
pub(crate) async fn cards(State(console): State<Arc<Console>>, a: Authed) -> Response {
    match daemon::status(console.socket.clone()).await {
        Ok(report) => cards_of(tz(&console), a.lang, &report).into_response(),
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
                    Ok(report) => cards_of(tz(&console), lang, &report).into_string(),
                    Err(f) => {
                        eprintln!("sentinel-dockctl console: dock: {}", f.message);
                        html! { p.error { (t(lang, "error.unreachable")) } }.into_string()
                    }
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
pub(crate) fn state_hook(state: &CameraState) -> &'static str {
    match state {
        CameraState::Waiting => "waiting",
        CameraState::Ingesting(_) => "ingesting",
        CameraState::SafeToUndock { .. } => "safe",
        CameraState::NeedsAttention(_) => "attention",
        CameraState::NotEnrolled => "not-enrolled",
        CameraState::Failed { .. } => "failed",
        CameraState::Cancelled => "cancelled",
        CameraState::NotResponding { .. } => "not-responding",
        CameraState::RegisterUnreachable { .. } => "register-unreachable",
    }
}

fn tz(console: &Console) -> chrono_tz::Tz {
    console.config.console.timezone
}

fn cards_of(tz: chrono_tz::Tz, lang: Language, report: &StatusReport) -> Markup {
    let service = &report.service;
    html! {
        @if !service.site.is_empty() {
            p #site { (t(lang, "dock.site")) " " strong { (service.site) } }
        }
        @if report.register.is_unreachable() {
            p #register-down .error { (t(lang, "dock.register.down")) " (" (report.register.server) ")" }
        }
        @if !service.dock_enabled {
            p #no-dock { (t(lang, "dock.no_dock")) }
        } @else if report.cameras.is_empty() {
            p #no-camera { (t(lang, "dock.none")) }
        }
        @for c in &report.cameras { (card(tz, lang, c)) }
    }
}

fn card(tz: chrono_tz::Tz, lang: Language, c: &CameraStatus) -> Markup {
    let hook = state_hook(&c.state);
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
                    (attention_reasons(lang, att))
                }
                CameraState::Failed { error } => {
                    div.big.bad { (t(lang, "dock.attention")) }
                    p.why { (t(lang, "dock.failed")) }
                    p.todo { (t(lang, "dock.failed.todo")) }
                    (technical(lang, std::slice::from_ref(error)))
                }
                CameraState::NotEnrolled => {
                    div.big.bad { (t(lang, "dock.attention")) }
                    p.why { (t(lang, "dock.not-enrolled")) }
                    p.todo { (t(lang, "dock.not-enrolled.todo")) }
                }
                CameraState::NotResponding { waited_secs } => {
                    div.big.bad { (t(lang, "dock.attention")) }
                    p.why { (t(lang, "dock.not-responding")) " (" (waited_secs) " s)" }
                }
                CameraState::RegisterUnreachable { error } => {
                    p.why { (t(lang, "dock.register-unreachable")) }
                    (technical(lang, std::slice::from_ref(error)))
                }
                _ => {}
            }
        }
    }
}

/// Why a camera needs attention, counted in plain words, and what to do.
fn attention_reasons(lang: Language, att: &crate::app::status::Attention) -> Markup {
    let counts = [
        (att.quarantined, "dock.why.quarantined"),
        (att.failed, "dock.why.failed"),
        (att.ignored, "dock.why.ignored"),
        (att.left_on_camera, "dock.why.left"),
    ];
    html! {
        ul.why {
            @for (n, key) in counts { @if n > 0 { li { (n) " " (t(lang, key)) } } }
            @if att.clock.is_some() { li { (t(lang, "dock.why.clock")) } }
        }
        p.todo { (t(lang, "dock.attention.todo")) }
        (technical(lang, &att.warnings))
    }
}

/// The daemon's own words (English, for the technician), folded away under a plain title.
fn technical(lang: Language, lines: &[String]) -> Markup {
    html! {
        @if !lines.is_empty() {
            details.technical {
                summary { (t(lang, "dock.technical")) }
                ul lang="en" data-verbatim { @for l in lines { li { (l) } } }
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
        "register-unreachable" => "state.register-unreachable",
        _ => "state.not-responding",
    }
}

fn store_of(tz: chrono_tz::Tz, lang: Language, report: &StatusReport) -> Markup {
    html! {
        h2 { (t(lang, "dock.store")) }
        p #store {
            @if let Some(free) = report.store.free_bytes { (bytes(free)) " · " }
            @if let Some(days) = report.store.days_left { (days) " " (t(lang, "dock.days_left")) }
        }
        // No md array on this machine: no RAID block at all (an empty one looked broken).
        @if !report.raid.is_empty() {
            h2 { (t(lang, "dock.raid")) }
            ul #raid data-verbatim { @for md in &report.raid { li { (md.name) " " (md.level) " " (md.state) " [" (md.map) "]" } } }
        }
        h2 { (t(lang, "dock.scrub")) }
        p {
            @match &report.last_scrub {
                Some(s) => {
                    (show(tz, &s.at)) " · "
                    @if s.problems == 0 { (t(lang, "dock.scrub.ok")) }
                    @else { (s.problems) " " (t(lang, "dock.scrub.problems")) }
                }
                None => { (t(lang, "dock.scrub.none")) }
            }
        }
        @if !report.warnings.is_empty() {
            h2 { (t(lang, "dock.warnings")) }
            p.error { (t(lang, "dock.warnings.todo")) }
            (technical(lang, &report.warnings))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::status::Attention;

    const PARIS: chrono_tz::Tz = chrono_tz::Europe::Paris;

    fn camera(state: CameraState) -> CameraStatus {
        CameraStatus {
            slot: "cam1".into(),
            serial: "SNTL-00042".into(),
            docked_at: "2026-12-04T10:00:00Z".parse().unwrap(),
            agent: None,
            state,
        }
    }

    #[test]
    fn a_card_that_needs_attention_says_why_and_what_to_do() {
        let att = Attention {
            quarantined: 2,
            left_on_camera: 2,
            warnings: vec!["identity: the volume label says SNTL-00007".into()],
            ..Attention::default()
        };
        let html = card(
            PARIS,
            Language::Fr,
            &camera(CameraState::NeedsAttention(att)),
        )
        .into_string();
        assert!(html.contains("data-state=\"attention\""), "{html}");
        assert!(html.contains("À VÉRIFIER"), "{html}");
        assert!(
            html.contains("2 enregistrement(s) mis de côté pour vérification")
                && html.contains("2 enregistrement(s) laissé(s) sur la caméra"),
            "{html}"
        );
        assert!(html.contains("Ne la remettez pas en service"), "{html}");
        // The daemon's English sentence is folded away and marked as English.
        assert!(
            html.contains("<details class=\"technical\">") && html.contains("lang=\"en\""),
            "{html}"
        );
        let html = card(PARIS, Language::Fr, &camera(CameraState::NotEnrolled)).into_string();
        assert!(html.contains("pas enregistrée dans le service"), "{html}");
        assert!(html.contains("Retirez-la"), "{html}");
    }

    #[test]
    fn a_camera_waiting_for_the_register_says_so_in_french_and_english() {
        let waiting = camera(CameraState::RegisterUnreachable {
            error: "the register is unreachable".into(),
        });
        let html = card(PARIS, Language::Fr, &waiting).into_string();
        assert!(
            html.contains("data-state=\"register-unreachable\""),
            "{html}"
        );
        assert!(html.contains("Registre injoignable"), "{html}");
        assert!(
            html.contains("la caméra garde ses enregistrements"),
            "{html}"
        );
        let html = card(PARIS, Language::En, &waiting).into_string();
        assert!(
            html.contains("Register unreachable: the camera keeps its recordings; ingest resumes when the register answers"),
            "{html}"
        );
    }

    #[test]
    fn an_unreachable_register_heads_the_cards() {
        let mut report = status_report();
        assert!(
            !cards_of(PARIS, Language::Fr, &report)
                .into_string()
                .contains("register-down")
        );
        report.register = crate::app::status::RegisterHealth {
            server: "PostgreSQL database sentinel on /run/postgresql as sentinel".into(),
            state: crate::app::status::RegisterState::Unreachable,
            since: None,
            error: Some("connection refused".into()),
        };
        let html = cards_of(PARIS, Language::Fr, &report).into_string();
        assert!(
            html.contains("id=\"register-down\"")
                && html.contains("Registre injoignable : rien n'est enregistré ni effacé")
                && html.contains("PostgreSQL database sentinel on /run/postgresql"),
            "{html}"
        );
    }

    fn status_report() -> StatusReport {
        StatusReport {
            service: crate::app::status::ServiceStatus {
                pid: 1,
                version: "0.1.0".into(),
                started_at: "2026-12-04T10:00:00Z".parse().unwrap(),
                dock: "/dev/sentinel-dock".into(),
                max_parallel: 1,
                stopping: false,
                site: String::new(),
                dock_enabled: true,
            },
            cameras: vec![],
            refused_links: vec![],
            store: crate::app::status::StoreStatus {
                path: "/srv/store".into(),
                ..Default::default()
            },
            raid: vec![],
            warnings: vec![],
            last_scrub: None,
            replica: None,
            anonymisation: None,
            register: Default::default(),
        }
    }

    #[test]
    fn no_raid_block_without_an_md_array() {
        let mut report = status_report();
        let html = store_of(PARIS, Language::Fr, &report).into_string();
        assert!(!html.contains("RAID"), "{html}");
        report.raid.push(crate::app::status::mdstat::RaidArray {
            name: "md0".into(),
            state: "active".into(),
            level: "raid1".into(),
            expected: Some(2),
            working: Some(2),
            map: "UU".into(),
            failed: 0,
            progress: None,
            degraded: false,
        });
        let html = store_of(PARIS, Language::Fr, &report).into_string();
        assert!(
            html.contains("RAID") && html.contains("md0 raid1 active [UU]"),
            "{html}"
        );
    }

    #[test]
    fn the_dock_page_names_the_site_and_says_when_there_is_no_dock() {
        let mut report = status_report();
        let html = cards_of(PARIS, Language::Fr, &report).into_string();
        assert!(
            html.contains("no-camera") && !html.contains("id=\"site\""),
            "{html}"
        );
        report.service.site = "Poste Nord".into();
        report.service.dock_enabled = false;
        let fr = cards_of(PARIS, Language::Fr, &report).into_string();
        assert!(fr.contains("Site : <strong>Poste Nord</strong>"), "{fr}");
        assert!(fr.contains("Pas de station d'accueil ici"), "{fr}");
        assert!(!fr.contains("no-camera"), "{fr}");
        let en = cards_of(PARIS, Language::En, &report).into_string();
        assert!(en.contains("Site: <strong>Poste Nord</strong>"), "{en}");
        assert!(en.contains("No dock here"), "{en}");
    }
}
