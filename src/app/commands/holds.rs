//! `hold` and `release`: keeping recordings past their retention for a procedure.

use super::access::Actor;
use super::recordings::{one_line, resolve};
use super::{CommandError, Context, Reply};
use crate::app::api::replies::{Held, Released};
use crate::app::api::request::{HoldArgs, ReleaseArgs};
use crate::custody::register::audit::{self, Action, NewEntry};
use crate::custody::register::holds;
use crate::custody::register::stored::StoredRecording;

/// `hold --procedure REF --reason TEXT RECORDING...`
pub fn hold(ctx: &mut Context<'_>, actor: &Actor, a: &HoldArgs) -> Result<Reply, CommandError> {
    let procedure = one_line("--procedure", &a.procedure)?;
    let reason = one_line("--reason", &a.reason)?;
    let now = ctx.clock.now();
    let tx = ctx.register.write()?;
    let recordings = resolve_all(&tx, &a.recordings)?;
    let mut placed = Vec::new();
    for r in &recordings {
        if !r.in_store() {
            return Err(CommandError::Invalid(format!(
                "{} is {}: there is nothing left in the store to hold",
                r.stem,
                r.state.as_str()
            )));
        }
        if holds::place(&tx, r.id, &procedure, &actor.author, &reason, now)? {
            placed.push(r.stem.clone());
        }
    }
    if placed.is_empty() {
        return Err(CommandError::Invalid(format!(
            "every recording named is already held for procedure {procedure}"
        )));
    }
    let details = format!("held for procedure {procedure}: {reason}");
    let entry = NewEntry::new(&actor.author, Action::Hold, details).about(&placed);
    audit::append(&tx, &entry, now)?;
    tx.commit()?;
    Ok(Reply::ok(
        format!(
            "{} recording(s) held for procedure {procedure}: {}",
            placed.len(),
            placed.join(", ")
        ),
        Held {
            procedure,
            held: placed,
        },
    ))
}

/// `release --procedure REF --reason TEXT RECORDING...`
pub fn release(
    ctx: &mut Context<'_>,
    actor: &Actor,
    a: &ReleaseArgs,
) -> Result<Reply, CommandError> {
    let procedure = one_line("--procedure", &a.procedure)?;
    let reason = one_line("--reason", &a.reason)?;
    let now = ctx.clock.now();
    let tx = ctx.register.write()?;
    let recordings = resolve_all(&tx, &a.recordings)?;
    let mut released = Vec::new();
    for r in &recordings {
        if !holds::release(&tx, r.id, &procedure, &actor.author, &reason, now)? {
            let others: Vec<String> = holds::active(&tx, r.id)?
                .into_iter()
                .map(|h| h.procedure)
                .collect();
            return Err(CommandError::Invalid(format!(
                "{} has no hold for procedure {procedure} (its holds: {}); nothing was released",
                r.stem,
                if others.is_empty() {
                    "none".to_string()
                } else {
                    others.join(", ")
                }
            )));
        }
        released.push(r.stem.clone());
    }
    let details = format!("hold for procedure {procedure} released: {reason}");
    let entry = NewEntry::new(&actor.author, Action::Release, details).about(&released);
    audit::append(&tx, &entry, now)?;
    tx.commit()?;
    Ok(Reply::ok(
        format!(
            "{} recording(s) released from procedure {procedure}",
            released.len()
        ),
        Released {
            procedure,
            released,
        },
    ))
}

/// The recordings named, each once, in the order given.
pub(crate) fn resolve_all(
    conn: &crate::custody::register::Tx<'_>,
    names: &[String],
) -> Result<Vec<StoredRecording>, CommandError> {
    let mut out: Vec<StoredRecording> = Vec::new();
    for name in names {
        let r = resolve(conn, name)?;
        if !out.iter().any(|o| o.id == r.id) {
            out.push(r);
        }
    }
    Ok(out)
}
