//! `register print`: the perception register for an inspection, per camera or per agent,
//! by period, as a table, CSV or JSON.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::access::Actor;
use super::perception::attribute_pending;
use super::table::Table;
use super::{CommandError, Context, Reply};
use crate::app::api::replies::RegisterPrinted;
use crate::app::api::request::{RegisterPrintArgs, View};
use crate::custody::register::perception::{self as reg, Holder};
use crate::custody::register::stored;
use crate::custody::register::{RegisterError, Tx, format_time};

/// `register print [--camera S | --agent M] [--from D] [--to D] [--view V] [--format F]`
pub fn print(
    ctx: &mut Context<'_>,
    _actor: &Actor,
    a: &RegisterPrintArgs,
) -> Result<Reply, CommandError> {
    attribute_pending(ctx.register, ctx.clock)?;
    let now = ctx.clock.now();
    let from = a
        .from
        .unwrap_or(NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default());
    // Local days, as the search's and the report's.
    let tz = ctx.config.console.timezone;
    let (start, end) = match a.to {
        Some(to) => super::days::local_period(tz, Some(from), Some(to))?,
        None => (super::days::day_start(tz, from), now + Duration::days(1)),
    };
    let tx = ctx.register.read()?;
    let conn = &tx;
    let table = match a.view {
        View::Issues => issues(conn, a, start, end, now)?,
        View::Recordings => recordings(conn, a, start, end)?,
        View::Attention => attention(conn, a, start, end)?,
    };
    let data = RegisterPrinted {
        view: a.view,
        camera: a.camera.clone(),
        agent: a.agent.clone(),
        from: format_time(start),
        to: format_time(end),
        rows: table.rows_by_column(),
    };
    Ok(Reply::ok(table.render(a.format), data))
}

fn issues(
    conn: &Tx<'_>,
    a: &RegisterPrintArgs,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Table, RegisterError> {
    let mut t = Table::new(&[
        "issue",
        "camera",
        "agent",
        "name",
        "brigade",
        "issued_at",
        "issued_by",
        "ended_at",
        "ended",
        "recordings",
    ]);
    for issue in reg::assignments(conn, a.camera.as_deref(), a.agent.as_deref(), start, end)? {
        let agent = reg::agent(conn, &issue.agent)?;
        let ended = issue.ended();
        let until = ended.map_or(now, |e| e.0);
        let made = stored::started_between(conn, issue.issued_at, until)?
            .iter()
            .filter(|r| r.camera == issue.camera)
            .count();
        t.push(vec![
            issue.id.to_string(),
            issue.camera.clone(),
            issue.agent.clone(),
            agent.as_ref().map_or(String::new(), |g| g.name.clone()),
            agent.as_ref().map_or(String::new(), |g| g.brigade.clone()),
            format_time(issue.issued_at),
            issue.issued_by.clone(),
            ended.map_or(String::new(), |e| format_time(e.0)),
            ended.map_or("still out".to_string(), |e| e.1.to_string()),
            made.to_string(),
        ]);
    }
    Ok(t)
}

fn recordings(
    conn: &Tx<'_>,
    a: &RegisterPrintArgs,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Table, RegisterError> {
    let mut t = Table::new(&[
        "recording",
        "camera",
        "start",
        "end",
        "state",
        "agent",
        "name",
        "attribution",
        "attributed_by",
        "reason",
    ]);
    for r in stored::started_between(conn, start, end)? {
        if a.camera.as_ref().is_some_and(|c| *c != r.camera) {
            continue;
        }
        let attribution = reg::attribution(conn, r.id)?;
        let agent_id = attribution.as_ref().map(|x| x.agent.clone());
        if a.agent.is_some() && a.agent != agent_id {
            continue;
        }
        let agent = match &agent_id {
            Some(m) => reg::agent(conn, m)?,
            None => None,
        };
        let (kind, by, reason) = attribution.map_or(
            ("needs attention".to_string(), String::new(), String::new()),
            |x| (x.kind, x.by, x.reason),
        );
        t.push(vec![
            r.stem.clone(),
            r.camera.clone(),
            format_time(r.start),
            r.end.map(format_time).unwrap_or_default(),
            r.state.as_str().to_string(),
            agent_id.unwrap_or_default(),
            agent.map(|g| g.name).unwrap_or_default(),
            kind,
            by,
            reason,
        ]);
    }
    Ok(t)
}

fn attention(
    conn: &Tx<'_>,
    a: &RegisterPrintArgs,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Table, RegisterError> {
    let mut t = Table::new(&["recording", "camera", "start", "why"]);
    for reg::Unattributed {
        camera,
        stem,
        start: at,
        clock_trusted,
        trusted_end,
        ..
    } in reg::unattributed(conn)?
    {
        // An untrusted camera date is listed by its trusted time, where it really belongs.
        let when = if clock_trusted {
            at
        } else {
            trusted_end.unwrap_or(at)
        };
        if when < start || when >= end || a.camera.as_ref().is_some_and(|c| *c != camera) {
            continue;
        }
        if !clock_trusted {
            let why = format!(
                "camera {camera}'s clock is not trusted for it (its flags say why; trusted end {}): attribute it by hand",
                format_time(when)
            );
            t.push(vec![stem, camera, format_time(at), why]);
            continue;
        }
        let why = match reg::holder_at(conn, &camera, at)? {
            Holder::NotIssued => format!("camera {camera} had never been issued"),
            Holder::Returned(when, how) => format!(
                "camera {camera}'s last issue had ended at {} ({how}) and it was not issued again",
                format_time(when)
            ),
            Holder::Docked(since) => format!(
                "camera {camera} was recorded in the dock since {}",
                format_time(since)
            ),
            // Issued after the last attribution pass: the next pass attributes it.
            Holder::Agent(held) => {
                format!("held by agent {}; attributed at the next pass", held.agent)
            }
        };
        t.push(vec![stem, camera, format_time(at), why]);
    }
    Ok(t)
}
