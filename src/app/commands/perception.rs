//! The perception register's commands: agents, cameras, issues, returns, attributions.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::access::Actor;
use super::recordings::{one_line, resolve};
use super::{CommandError, Context, Reply};
use crate::app::api::replies;
use crate::app::api::request::{
    AgentAddArgs, AttributeArgs, CameraEnrollArgs, IssueArgs, ReturnArgs,
};
use crate::base::clock::Clock;
use crate::custody::register::audit::{self, Action, NewEntry, SERVICE_AUTHOR};
use crate::custody::register::perception::{
    self as reg, Agent, Attribution, AttributionKind, Holder,
};
use crate::custody::register::{Register, RegisterError, format_time};

pub use super::perception_print::print;

/// How far ahead of the clock an `--at` may be (clocks of two machines differ a little).
const CLOCK_SLACK: Duration = Duration::minutes(5);

/// `agent add`: a new agent of the perception register.
pub(crate) fn agent_add(
    ctx: &mut Context<'_>,
    actor: &Actor,
    a: &AgentAddArgs,
) -> Result<Reply, CommandError> {
    let agent = Agent {
        matricule: word("the matricule", &a.matricule)?,
        name: one_line("--name", &a.name)?,
        brigade: one_line("--brigade", &a.brigade)?,
        unix_user: a
            .unix_user
            .as_deref()
            .map(|u| word("--unix-user", u))
            .transpose()?,
    };
    let now = ctx.clock.now();
    let tx = ctx.register.write()?;
    if let Some(known) = reg::agent(&tx, &agent.matricule)? {
        return Err(CommandError::Invalid(format!(
            "agent {} already exists ({}, {}): a matricule is added once",
            known.matricule, known.name, known.brigade
        )));
    }
    if let Some(user) = &agent.unix_user
        && let Some(other) = reg::agent_by_user(&tx, user)?
    {
        return Err(CommandError::Invalid(format!(
            "Unix user `{user}` is already agent {}'s: one user per agent",
            other.matricule
        )));
    }
    reg::insert_agent(&tx, &agent, &actor.author, now)?;
    let details = format!(
        "agent {} added: {}, brigade {}{}",
        agent.matricule,
        agent.name,
        agent.brigade,
        agent
            .unix_user
            .as_deref()
            .map(|u| format!(", Unix user {u}"))
            .unwrap_or_default()
    );
    commit_traced(tx, actor, details, now, replies::AgentAdded { agent })
}

/// `camera enroll`: only enrolled cameras are ingested.
pub(crate) fn camera_enroll(
    ctx: &mut Context<'_>,
    actor: &Actor,
    a: &CameraEnrollArgs,
) -> Result<Reply, CommandError> {
    if !ctx.config.profile.serial_regex().is_match(&a.serial) {
        return Err(CommandError::Invalid(format!(
            "`{}` is not a camera serial: it must match profile.serial_pattern ({})",
            a.serial, ctx.config.profile.serial_pattern
        )));
    }
    let model = a
        .model
        .as_deref()
        .map(|m| one_line("--model", m))
        .transpose()?;
    let now = ctx.clock.now();
    let tx = ctx.register.write()?;
    if let Some(known) = reg::enrolment(&tx, &a.serial)? {
        return Err(CommandError::Invalid(format!(
            "camera {} is already enrolled (since {}, {})",
            known.serial, known.enrolled_at, known.state
        )));
    }
    reg::insert_enrolment(&tx, &a.serial, model.as_deref(), &actor.author, now)?;
    let details = format!("camera {} enrolled", a.serial);
    commit_traced(
        tx,
        actor,
        details,
        now,
        replies::CameraEnrolled {
            serial: a.serial.clone(),
            model,
        },
    )
}

/// `issue CAMERA AGENT [--at TIME]`: the camera leaves with the agent.
pub fn issue(ctx: &mut Context<'_>, actor: &Actor, a: &IssueArgs) -> Result<Reply, CommandError> {
    let now = ctx.clock.now();
    let at = when(a.at, now)?;
    let tx = ctx.register.write()?;
    let agent = known_agent(&tx, &a.agent)?;
    let camera = reg::enrolment(&tx, &a.camera)?.ok_or_else(|| not_enrolled(&a.camera))?;
    if camera.state != "in-service" {
        return Err(CommandError::Invalid(format!(
            "camera {} is {}: it cannot be issued",
            camera.serial, camera.state
        )));
    }
    if let Holder::Agent(held) = reg::holder_at(&tx, &a.camera, at)? {
        return Err(CommandError::Invalid(format!(
            "camera {} is held by agent {} since {}: record its return first (`sentinel-dockctl return {}`)",
            a.camera,
            held.agent,
            format_time(held.issued_at),
            a.camera
        )));
    }
    if let Some(later) = reg::assignment_after(&tx, &a.camera, at)? {
        return Err(CommandError::Invalid(format!(
            "the register already holds a later issue of camera {} (to agent {} at {}): issues are recorded in time order",
            a.camera,
            later.agent,
            format_time(later.issued_at)
        )));
    }
    let id = reg::insert_assignment(&tx, &a.camera, &agent.matricule, at, &actor.author)?;
    let details = format!(
        "camera {} issued to agent {} ({}, {}) at {}",
        a.camera,
        agent.matricule,
        agent.name,
        agent.brigade,
        format_time(at)
    );
    commit_traced(
        tx,
        actor,
        details,
        now,
        replies::Issued {
            issue: id,
            camera: a.camera.clone(),
            agent: agent.matricule,
            at: format_time(at),
        },
    )
}

/// `return CAMERA [--at TIME]`: the camera's return, by hand.
pub(crate) fn return_camera(
    ctx: &mut Context<'_>,
    actor: &Actor,
    a: &ReturnArgs,
) -> Result<Reply, CommandError> {
    let now = ctx.clock.now();
    let at = when(a.at, now)?;
    let tx = ctx.register.write()?;
    let held = match reg::holder_at(&tx, &a.camera, at)? {
        Holder::Agent(held) => held,
        Holder::NotIssued => {
            return Err(CommandError::Invalid(format!(
                "camera {} was not issued to anyone at {}: nothing to return",
                a.camera,
                format_time(at)
            )));
        }
        Holder::Returned(end, how) => {
            return Err(CommandError::Invalid(format!(
                "camera {}'s last issue already ended at {} ({how}): nothing to return",
                a.camera,
                format_time(end)
            )));
        }
        Holder::Docked(since) => {
            return Err(CommandError::Invalid(format!(
                "camera {} is recorded in the dock since {}: its docking is its return",
                a.camera,
                format_time(since)
            )));
        }
    };
    reg::set_returned(&tx, held.id, at, &actor.author)?;
    let details = format!(
        "camera {} returned by agent {} at {} (issued at {})",
        a.camera,
        held.agent,
        format_time(at),
        format_time(held.issued_at)
    );
    commit_traced(
        tx,
        actor,
        details,
        now,
        replies::Returned {
            issue: held.id,
            camera: a.camera.clone(),
            agent: held.agent,
            returned_at: format_time(at),
        },
    )
}

/// `attribute RECORDING AGENT --reason TEXT`: by hand, for a recording that needs it.
pub fn attribute(
    ctx: &mut Context<'_>,
    actor: &Actor,
    a: &AttributeArgs,
) -> Result<Reply, CommandError> {
    let reason = one_line("--reason", &a.reason)?;
    let now = ctx.clock.now();
    let tx = ctx.register.write()?;
    let recording = resolve(&tx, &a.recording)?;
    let agent = known_agent(&tx, &a.agent)?;
    let before = reg::attribution(&tx, recording.id)?;
    let attribution = Attribution {
        agent: agent.matricule.clone(),
        kind: AttributionKind::Manual.as_str().to_string(),
        assignment: None,
        by: actor.author.clone(),
        at: format_time(now),
        reason: reason.clone(),
    };
    reg::insert_attribution(&tx, recording.id, &attribution)?;
    let previous = before.map_or("none".to_string(), |b| {
        format!("{} to agent {}", b.kind, b.agent)
    });
    let details = format!(
        "{} attributed by hand to agent {} ({}): {reason} (previous attribution: {previous})",
        recording.stem, agent.matricule, agent.name
    );
    let entry = NewEntry::new(&actor.author, Action::Attribution, details.clone())
        .about(std::slice::from_ref(&recording.stem));
    audit::append(&tx, &entry, now)?;
    tx.commit()?;
    Ok(Reply::ok(
        details,
        replies::Attributed {
            recording: recording.stem,
            attribution,
        },
    ))
}

/// Attributes every stored recording not yet attributed whose camera had a holder at its
/// start; the others stay for an operator (`register print --view attention`). The daemon
/// calls it after each ingest; the printing commands call it first. Returns how many.
pub fn attribute_pending(
    register: &mut Register,
    clock: &dyn Clock,
) -> Result<usize, RegisterError> {
    let now = clock.now();
    let tx = register.write()?;
    let mut count = 0;
    for reg::Unattributed {
        id,
        camera,
        stem,
        start,
        clock_trusted,
        ..
    } in reg::unattributed(&tx)?
    {
        // A wrong camera clock dates it into someone else's issue: a person decides.
        if !clock_trusted {
            continue;
        }
        let Holder::Agent(held) = reg::holder_at(&tx, &camera, start)? else {
            continue;
        };
        let reason = format!(
            "camera {camera} issued to agent {} at {} (issue #{}), not returned at the start {}",
            held.agent,
            format_time(held.issued_at),
            held.id,
            format_time(start)
        );
        let attribution = Attribution {
            agent: held.agent.clone(),
            kind: AttributionKind::Automatic.as_str().to_string(),
            assignment: Some(held.id),
            by: SERVICE_AUTHOR.to_string(),
            at: format_time(now),
            reason: reason.clone(),
        };
        reg::insert_attribution(&tx, id, &attribution)?;
        let details = format!("{stem} attributed to agent {}: {reason}", held.agent);
        audit::append(
            &tx,
            &NewEntry::new(SERVICE_AUTHOR, Action::Attribution, details).about(&[stem]),
            now,
        )?;
        count += 1;
    }
    tx.commit()?;
    Ok(count)
}

fn when(at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Result<DateTime<Utc>, CommandError> {
    let at = at.unwrap_or(now);
    if at > now + CLOCK_SLACK {
        return Err(CommandError::Invalid(format!(
            "--at {} is in the future (now is {}): record what happened, when it happened",
            format_time(at),
            format_time(now)
        )));
    }
    Ok(at)
}

fn known_agent(
    conn: &crate::custody::register::Tx<'_>,
    matricule: &str,
) -> Result<Agent, CommandError> {
    reg::agent(conn, matricule)?.ok_or_else(|| {
        CommandError::Invalid(format!(
            "no agent with matricule `{matricule}`: add it first (`sentinel-dockctl agent add {matricule} --name NAME --brigade B`)"
        ))
    })
}

fn not_enrolled(serial: &str) -> CommandError {
    CommandError::Invalid(format!(
        "camera {serial} is not enrolled: enrol it first (`sentinel-dockctl camera enroll {serial}`)"
    ))
}

/// A matricule or user name: it becomes a key, so it is kept plain.
fn word(what: &str, value: &str) -> Result<String, CommandError> {
    let ok = !value.is_empty()
        && value.len() <= 32
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
    if ok {
        Ok(value.to_string())
    } else {
        Err(CommandError::Invalid(format!(
            "{what} `{value}` must be 1 to 32 ASCII letters, digits, `_`, `-` or `.`"
        )))
    }
}

/// Traces a perception-register change in its own transaction, commits both, and replies.
fn commit_traced(
    tx: crate::custody::register::Tx<'_>,
    actor: &Actor,
    details: String,
    now: DateTime<Utc>,
    data: impl Serialize,
) -> Result<Reply, CommandError> {
    audit::append(
        &tx,
        &NewEntry::new(&actor.author, Action::Perception, details.clone()),
        now,
    )?;
    tx.commit()?;
    Ok(Reply::ok(details, data))
}
