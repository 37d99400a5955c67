//! `search`: recordings found by period, camera, agent, brigade, state, flag, hold and
//! place, newest first, a page at a time, for the console's list and for scripts.
//!
//! A page is fetched with one more row than asked, so that "is there a next page" costs
//! nothing; no total is counted (a count over a million rows would outlast the 300 ms a
//! page may take, docs/performance.md).

use super::access::Actor;
use super::place::parse_place;
use super::{CommandError, Context, Reply};
use crate::app::api::replies::{Found, FoundRecording};
use crate::app::api::request::SearchArgs;
use crate::base::config::ConsoleConfig;
use crate::custody::register::search::{self, SearchQuery};

/// The most rows a page may hold.
pub(crate) const MAX_PAGE: u32 = 200;
/// Metres in a degree of latitude (and of longitude at the equator).
const METRES_PER_DEGREE: f64 = 111_320.0;

/// `search [--from D --to D] [--camera S] [--agent M] [--brigade B] [--state S] [--flag F]
/// [--held yes|no] [--near LAT,LON --radius M] [--site NAME] [--page N --per-page N]`
pub fn search(
    ctx: &mut Context<'_>,
    _actor: &Actor,
    a: &SearchArgs,
) -> Result<Reply, CommandError> {
    // Attributions are derived lazily (as for `register print`): the few pending first.
    super::perception::attribute_pending(ctx.register, ctx.clock)?;
    let per_page = a.per_page.clamp(1, MAX_PAGE);
    let page = a.page.max(1);
    let q = query(a, &ctx.config.console, per_page, page)?;
    let (found, sites) = ctx.register.read().and_then(|tx| {
        let sites = search::sites(&tx)?;
        // A site no recording was collected at has none to find: not a walk of the whole
        // start-time index (1.6 s at a million recordings) to say so.
        let unknown = q.site.as_ref().is_some_and(|s| !sites.contains(s));
        let found = if unknown {
            Vec::new()
        } else {
            search::search(&tx, &q)?
        };
        Ok((found, sites))
    })?;
    let mut rows: Vec<FoundRecording> = found
        .into_iter()
        .map(|r| FoundRecording {
            stem: r.stem,
            camera: r.camera,
            state: r.state,
            start: r.start,
            end: r.end,
            size: r.size,
            flags: r.flags,
            agent: r.agent,
            brigade: r.brigade,
            held: r.held,
            site: r.site,
        })
        .collect();
    let more = rows.len() > per_page as usize;
    rows.truncate(per_page as usize);
    let mut message = String::new();
    for r in &rows {
        message.push_str(&format!(
            "{}  {}  {}  {}  {}",
            r.stem,
            r.start,
            r.camera,
            r.agent.as_deref().unwrap_or("-"),
            r.state
        ));
        // A single-site install's lines stay as they were.
        if !r.site.is_empty() {
            message.push_str(&format!("  {}", r.site));
        }
        message.push('\n');
    }
    if more {
        message.push_str(&format!("(more: --page {})\n", page + 1));
    }
    Ok(Reply::ok(
        message,
        Found {
            page,
            per_page,
            more,
            recordings: rows,
            sites,
        },
    ))
}

/// The page's query: newest first, one row more than a page. `--from`/`--to` are days
/// in `[console] timezone`, as the console shows times; `--near` a point or a named place.
fn query(
    a: &SearchArgs,
    console: &ConsoleConfig,
    per_page: u32,
    page: u32,
) -> Result<SearchQuery, CommandError> {
    let (start, end) = super::days::local_period(console.timezone, a.from, a.to)?;
    let area = match &a.near {
        Some(near) => {
            let (lat, lon) = parse_place(console, near)?;
            let radius = a.radius.unwrap_or(200.0).max(1.0);
            let dlat = radius / METRES_PER_DEGREE;
            let dlon = radius / (METRES_PER_DEGREE * lat.to_radians().cos().max(0.01));
            // The circle's enclosing box against the recording's box: a recording whose
            // track came within the radius is never missed; one passing near a corner may
            // be listed.
            Some((lat - dlat, lat + dlat, lon - dlon, lon + dlon))
        }
        None => None,
    };
    Ok(SearchQuery {
        start: Some(start),
        end: Some(end),
        camera: a.camera.clone(),
        agent: a.agent.clone(),
        brigade: a.brigade.clone(),
        state: a.state.clone(),
        flag: a.flag.clone(),
        held: a.held,
        area,
        site: a.site.clone(),
        limit: per_page + 1,
        offset: u64::from(page - 1) * u64::from(per_page),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::custody::register::Register;
    use chrono::NaiveDate;

    fn args() -> SearchArgs {
        SearchArgs {
            from: None,
            to: None,
            camera: None,
            agent: None,
            brigade: None,
            state: None,
            flag: None,
            held: None,
            near: None,
            radius: None,
            site: None,
            page: 1,
            per_page: 50,
        }
    }

    /// Every page the console asks for walks an index and stops at its page: a lost index
    /// (schema 8 dropped the one walked here) sorts the whole register on every search,
    /// 1.1 s at a million recordings (docs/performance.md).
    #[test]
    fn every_search_walks_an_index_instead_of_sorting_the_register() {
        let dir = tempfile::tempdir().unwrap();
        let mut reg = Register::open(&dir.path().join("r.sqlite")).unwrap();
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
        let searches = [
            ("first page", args()),
            ("page 20", SearchArgs { page: 20, ..args() }),
            (
                "a month",
                SearchArgs {
                    from: day("2026-05-01"),
                    to: day("2026-05-31"),
                    ..args()
                },
            ),
            (
                "camera",
                SearchArgs {
                    camera: Some("S".into()),
                    ..args()
                },
            ),
            (
                "agent",
                SearchArgs {
                    agent: Some("M1".into()),
                    ..args()
                },
            ),
            (
                "brigade",
                SearchArgs {
                    brigade: Some("VTT".into()),
                    ..args()
                },
            ),
            (
                "state",
                SearchArgs {
                    state: Some("quarantined".into()),
                    ..args()
                },
            ),
            (
                "flag",
                SearchArgs {
                    flag: Some("gps_gap".into()),
                    ..args()
                },
            ),
            (
                "held",
                SearchArgs {
                    held: Some(true),
                    ..args()
                },
            ),
            (
                "place",
                SearchArgs {
                    near: Some("45.0433,5.0512".into()),
                    ..args()
                },
            ),
            (
                "site",
                SearchArgs {
                    site: Some("Nord".into()),
                    ..args()
                },
            ),
        ];
        for (what, a) in searches {
            let q = query(&a, &ConsoleConfig::default(), 50, a.page).unwrap();
            let plan = search::plan(&mut reg, &q);
            // Held recordings are a handful SQLite starts from and may sort.
            let may_sort = a.held == Some(true);
            assert!(
                !plan.iter().any(|s| s == "SCAN r"),
                "{what}: reads every recording: {plan:?}"
            );
            assert!(
                may_sort || !plan.iter().any(|s| s.contains("TEMP B-TREE FOR ORDER BY")),
                "{what}: sorts every match before the first page: {plan:?}"
            );
        }
    }
}
