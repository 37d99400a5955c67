//! `/recordings`: the search form and one page of results, newest first.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use super::{bytes, failure, layout};
use crate::app::api::replies::Found;
use crate::app::api::request::Command;
use crate::app::api::request::SearchArgs;
use crate::app::console::Console;
use crate::app::console::daemon;
use crate::app::console::http::Authed;
use crate::app::console::i18n::t;
use crate::app::console::time::show_text;
use crate::app::console::words;

/// The search form's fields, as the query string carries them (empty means "any").
#[derive(Debug, Default, Clone, serde::Deserialize, serde::Serialize)]
pub(crate) struct Filters {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    camera: String,
    #[serde(default)]
    agent: String,
    #[serde(default)]
    brigade: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    flag: String,
    #[serde(default)]
    held: String,
    #[serde(default)]
    near: String,
    #[serde(default)]
    radius: String,
    #[serde(default)]
    site: String,
    #[serde(default)]
    page: Option<u32>,
}

fn some(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty()).then(|| t.to_string())
}

impl Filters {
    fn args(&self) -> Result<SearchArgs, String> {
        let date = |s: &str, what: &str| -> Result<_, String> {
            some(s)
                .map(|d| {
                    chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                        .map_err(|_| format!("{what} `{d}`: YYYY-MM-DD"))
                })
                .transpose()
        };
        Ok(SearchArgs {
            from: date(&self.from, "from")?,
            to: date(&self.to, "to")?,
            camera: some(&self.camera),
            agent: some(&self.agent),
            brigade: some(&self.brigade),
            state: some(&self.state),
            flag: some(&self.flag),
            held: match self.held.as_str() {
                "yes" => Some(true),
                "no" => Some(false),
                _ => None,
            },
            near: some(&self.near),
            radius: some(&self.radius)
                .map(|r| r.parse().map_err(|_| format!("radius `{r}`: metres")))
                .transpose()?,
            site: some(&self.site),
            page: self.page.unwrap_or(1).max(1),
            per_page: 50,
        })
    }

    fn with_page(&self, page: u32) -> String {
        let mut f = self.clone();
        f.page = Some(page);
        serde_urlencoded_pairs(&f)
    }
}

/// The query string of the filters (only the fields given).
fn serde_urlencoded_pairs(f: &Filters) -> String {
    let pairs = [
        ("from", &f.from),
        ("to", &f.to),
        ("camera", &f.camera),
        ("agent", &f.agent),
        ("brigade", &f.brigade),
        ("state", &f.state),
        ("flag", &f.flag),
        ("held", &f.held),
        ("near", &f.near),
        ("radius", &f.radius),
        ("site", &f.site),
    ];
    let mut out: Vec<String> = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    if let Some(p) = f.page {
        out.push(format!("page={p}"));
    }
    out.join("&")
}

fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `GET /recordings?...`
pub async fn page(
    State(console): State<Arc<Console>>,
    a: Authed,
    Query(f): Query<Filters>,
) -> Response {
    let lang = a.lang;
    let args = match f.args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("sentinel-dockctl console: search: {message}");
            let body = html! { (form(&a, &f, &console.config.console.places, &[])) p.error { (t(lang, "search.bad")) } };
            return layout(&console, &a, t(lang, "search.title"), body).into_response();
        }
    };
    let page = args.page;
    let agents = super::pick::known_agents(&console).await;
    match daemon::ask::<Found>(console.socket.clone(), Command::Search(args)).await {
        Ok(found) => {
            let body = html! {
                (form(&a, &f, &console.config.console.places, &found.sites))
                (agents)
                (results(&console, &a, &found))
                div.pager {
                    @if page > 1 { a href={ "/recordings?" (f.with_page(page - 1)) } { (t(lang, "search.previous")) } }
                    @if found.more { a #next href={ "/recordings?" (f.with_page(page + 1)) } { (t(lang, "search.next")) } }
                }
            };
            layout(&console, &a, t(lang, "search.title"), body).into_response()
        }
        Err(e) => failure(&console, &a, &e),
    }
}

fn form(
    a: &Authed,
    f: &Filters,
    places: &BTreeMap<String, (f64, f64)>,
    sites: &[String],
) -> Markup {
    // A choice among the sites the register knows, offered only when it knows several:
    // a single dock's form stays as it was. The unnamed site ('', recordings collected
    // before sites were named) cannot be chosen: "any" is the empty value.
    let named: Vec<&String> = sites.iter().filter(|s| !s.is_empty()).collect();
    let lang = a.lang;
    let field = |name: &'static str, key: &'static str, value: &str, kind: &'static str| {
        html! { label { (t(lang, key)) input type=(kind) name=(name) value=(value); } }
    };
    html! {
        form.filters method="get" action="/recordings" {
            (field("from", "search.from", &f.from, "date"))
            (field("to", "search.to", &f.to, "date"))
            (field("camera", "search.camera", &f.camera, "text"))
            label { (t(lang, "search.agent")) input type="text" name="agent" value=(f.agent) list="agents" autocomplete="off"; }
            (field("brigade", "search.brigade", &f.brigade, "text"))
            label { (t(lang, "search.state"))
                select name="state" {
                    option value="" { (t(lang, "search.any")) }
                    @for s in words::STATES {
                        option value=(s) selected[f.state == s] { (words::state(lang, s)) }
                    }
                }
            }
            (field("flag", "search.flag", &f.flag, "text"))
            label { (t(lang, "search.held"))
                select name="held" {
                    option value="" { (t(lang, "search.any")) }
                    option value="yes" selected[f.held == "yes"] { (t(lang, "search.yes")) }
                    option value="no" selected[f.held == "no"] { (t(lang, "search.no")) }
                }
            }
            label { (t(lang, "search.near"))
                input type="text" name="near" value=(f.near) list="places"
                    placeholder=(t(lang, "search.near_hint"));
            }
            @if !places.is_empty() {
                datalist #places { @for name in places.keys() { option value=(name) {} } }
            }
            (field("radius", "search.radius", &f.radius, "number"))
            @if sites.len() > 1 {
                label { (t(lang, "search.site"))
                    select name="site" {
                        option value="" { (t(lang, "search.any")) }
                        @for s in &named {
                            option value=(s) selected[f.site == **s] { (s) }
                        }
                    }
                }
            }
            div { button.primary type="submit" { (t(lang, "search.submit")) } }
        }
    }
}

fn results(console: &Console, a: &Authed, found: &Found) -> Markup {
    let lang = a.lang;
    // Once a site is named, each row says where it was collected.
    let sited = found.sites.iter().any(|s| !s.is_empty());
    let tz = console.config.console.timezone;
    html! {
        @if found.recordings.is_empty() {
            p #no-result { (t(lang, "search.none")) }
        } @else {
            (super::pick::picker(lang))
            div.scroll { table #results {
                thead { tr {
                    th { span.visually-hidden { (t(lang, "pick.column")) } }
                    th { (t(lang, "col.recording")) } th { (t(lang, "col.start")) }
                    th { (t(lang, "col.camera")) } th { (t(lang, "col.agent")) }
                    th { (t(lang, "col.state")) } th { (t(lang, "col.size")) }
                    th { (t(lang, "col.flags")) } th { (t(lang, "col.held")) }
                    @if sited { th { (t(lang, "col.site")) } }
                } }
                tbody {
                    @for r in &found.recordings {
                        tr data-recording=(r.stem) {
                            (super::pick::tick(lang, &r.stem))
                            td { a href={ "/recordings/" (r.stem) } { (r.stem) } }
                            td { (show_text(tz, &r.start)) }
                            td { (r.camera) }
                            td { (r.agent.as_deref().unwrap_or("—"))
                                 @if let Some(b) = &r.brigade { " (" (b) ")" } }
                            td data-state=(r.state) { (words::state(lang, &r.state)) }
                            td { (r.size.map(bytes).unwrap_or_default()) }
                            td { (words::flags(lang, &r.flags)) }
                            td { @if r.held { (t(lang, "search.yes")) } }
                            @if sited { td.site { (r.site) } }
                        }
                    }
                }
            } }
        }
    }
}
