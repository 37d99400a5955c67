//! Who may do what (R241-12): the head of service and the agents individually authorised
//! see and extract recordings; technicians see the service's status and run the scrub;
//! nobody else anything. Every refusal is written to the audit register before it is
//! returned.

use super::{Caller, CommandError, Context};
use crate::app::api::request::Command;
use crate::base::config::AccessConfig;
use crate::base::events;
use crate::custody::register::audit::{self, Action, NewEntry};
use crate::custody::register::perception;

/// A role of `[access]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The head of the municipal police (and the mayor): `[access] head`.
    Head,
    /// An agent individually designated and authorised: `[access] authorised`.
    Authorised,
    /// A technician: status and scrub only, `[access] technicians`.
    Technician,
}

impl Role {
    /// How the role reads in messages, with the key that grants it.
    pub fn describe(self) -> &'static str {
        match self {
            Role::Head => "head of service ([access] head)",
            Role::Authorised => "authorised agent ([access] authorised)",
            Role::Technician => "technician ([access] technicians)",
        }
    }
}

/// Every role: the service's status is for all of them.
pub(crate) const STATUS_ROLES: &[Role] = &[Role::Head, Role::Authorised, Role::Technician];
/// Every role: a scrub reads the store back and reports damaged files by name, size and
/// hash; it shows no recording's content, and looking after the disks is the technician's job.
pub(crate) const SCRUB_ROLES: &[Role] = &[Role::Head, Role::Authorised, Role::Technician];
/// The roles that may reach recordings and registers.
pub(crate) const REGISTER_ROLES: &[Role] = &[Role::Head, Role::Authorised];
/// Only the head of service (confirming a purge above `retention.max_purge_share`).
pub(crate) const HEAD_ONLY: &[Role] = &[Role::Head];

/// The role a Unix user holds, if any.
pub(crate) fn role_of(access: &AccessConfig, user: &str) -> Option<Role> {
    let listed = |users: &Vec<String>| users.iter().any(|u| u == user);
    if listed(&access.head) {
        Some(Role::Head)
    } else if listed(&access.authorised) {
        Some(Role::Authorised)
    } else if listed(&access.technicians) {
        Some(Role::Technician)
    } else {
        None
    }
}

/// Whether `caller` may see the service's status: the service's own user (it owns the
/// register: refusing it would protect nothing) or a holder of a status role. Read from
/// the configuration alone, so the daemon answers the status without waiting for the
/// registers desk (a purge may hold it for seconds); only a refusal goes there, to be traced.
pub(crate) fn may_see_status(access: &AccessConfig, caller: &Caller) -> bool {
    caller.uid == nix::unistd::geteuid().as_raw()
        || caller
            .user
            .as_deref()
            .and_then(|user| role_of(access, user))
            .is_some_and(|role| STATUS_ROLES.contains(&role))
}

/// The roles that may run a command: the scrub is the technicians' too; every other
/// command touches recordings or the registers, so technicians may not.
pub(crate) fn roles_for(command: &Command) -> &'static [Role] {
    match command {
        Command::Scrub(_) => SCRUB_ROLES,
        _ => REGISTER_ROLES,
    }
}

/// A caller whose role allows the command: who the audit register names.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The Unix user.
    pub user: String,
    /// Its role.
    pub role: Role,
    /// The author written in the registers: the user, and the agent's matricule when the
    /// perception register maps the user to an agent.
    pub author: String,
}

/// Lets the caller through when its role is among `allowed`; otherwise traces the refusal
/// (author, command, recordings named) and returns it.
pub(crate) fn authorise(
    ctx: &mut Context<'_>,
    caller: &Caller,
    command: &str,
    allowed: &[Role],
    recordings: &[String],
) -> Result<Actor, CommandError> {
    let role = caller
        .user
        .as_deref()
        .and_then(|user| role_of(&ctx.config.access, user));
    let author = author_of(ctx, caller)?;
    match role {
        Some(role) if allowed.contains(&role) => Ok(Actor {
            user: caller.name(),
            role,
            author,
        }),
        _ => Err(refuse(
            ctx,
            &author,
            Some(caller.uid),
            command,
            role,
            allowed,
            recordings,
        )),
    }
}

/// Requires one of `allowed` from a caller already let through for a wider command
/// (`purge --confirm` needs the head of service).
pub fn require(
    ctx: &mut Context<'_>,
    actor: &Actor,
    command: &str,
    allowed: &[Role],
) -> Result<(), CommandError> {
    if allowed.contains(&actor.role) {
        return Ok(());
    }
    Err(refuse(
        ctx,
        &actor.author,
        None,
        command,
        Some(actor.role),
        allowed,
        &[],
    ))
}

fn refuse(
    ctx: &mut Context<'_>,
    author: &str,
    uid: Option<u32>,
    command: &str,
    role: Option<Role>,
    allowed: &[Role],
    recordings: &[String],
) -> CommandError {
    let needed: Vec<&str> = allowed.iter().map(|r| r.describe()).collect();
    let needed = needed.join(" or ");
    let held = role.map_or("no role", Role::describe);
    let uid = uid.map(|u| format!(" (uid {u})")).unwrap_or_default();
    let details = format!("`{command}` refused to {author}{uid}: holds {held}, needs {needed}");
    let entry = NewEntry::new(author, Action::Refusal, details.clone()).about(recordings);
    let now = ctx.clock.now();
    let traced = ctx.register.write().and_then(|tx| {
        audit::append(&tx, &entry, now)?;
        tx.commit()?;
        Ok(())
    });
    tracing::warn!(
        message_id = events::ACCESS_REFUSED.id,
        event = events::ACCESS_REFUSED.name,
        "{details}"
    );
    if let Err(e) = traced {
        // Refused either way; the failure to trace is the more urgent news.
        return CommandError::Register(e);
    }
    CommandError::Refused {
        user: author.to_string(),
        command: command.to_string(),
        needed,
    }
}

fn author_of(ctx: &mut Context<'_>, caller: &Caller) -> Result<String, CommandError> {
    let Some(user) = &caller.user else {
        return Ok(caller.name());
    };
    let agent = ctx
        .register
        .read()
        .and_then(|tx| perception::agent_by_user(&tx, user))?;
    Ok(match agent {
        Some(a) => format!("{user} (agent {})", a.matricule),
        None => user.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The supervisor answers the status from this alone: every role, and the service's
    /// own user, may; a user with no role, or a uid without a name, may not.
    #[test]
    fn who_may_see_the_status_is_read_from_the_configuration() {
        let access = AccessConfig {
            head: vec!["chef".into()],
            authorised: vec!["agent1".into()],
            technicians: vec!["tech".into()],
        };
        let me = nix::unistd::geteuid().as_raw();
        let other = me.wrapping_add(4242);
        for user in ["chef", "agent1", "tech"] {
            assert!(
                may_see_status(&access, &Caller::named(other, user)),
                "{user}"
            );
        }
        assert!(!may_see_status(&access, &Caller::named(other, "visitor")));
        let nameless = Caller {
            user: None,
            ..Caller::named(other, "x")
        };
        assert!(!may_see_status(&access, &nameless));
        assert!(may_see_status(&access, &Caller::named(me, "anyone")));
    }
}
