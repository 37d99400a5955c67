//! `consult --purpose training`: the law allows training only on anonymised footage, so
//! this serves the recording's accepted derivative, and only it. A recording without one is
//! refused, and the refusal traced.

use super::access::Actor;
use super::recordings::{one_line, resolve};
use super::{CommandError, Context, Reply};
use crate::app::api::request::ConsultArgs;
use crate::custody::register::audit::{self, Action, NewEntry};
use crate::custody::register::derived;

/// Serves the accepted derivative of `a.recording`, traced first; refuses (traced) when
/// there is none.
pub(crate) fn consult_training(
    ctx: &mut Context<'_>,
    actor: &Actor,
    a: &ConsultArgs,
) -> Result<Reply, CommandError> {
    let reason = one_line("--reason", &a.reason)?;
    let now = ctx.clock.now();
    let tx = ctx.register.write()?;
    let r = resolve(&tx, &a.recording)?;
    let Some(d) = derived::accepted(&tx, r.id)? else {
        let why = match derived::latest(&tx, r.id)? {
            Some(d) => format!(
                "its anonymised derivative #{} has not been accepted: review it, then `sentinel-dockctl anonymise --accept {} --reason TEXT`",
                d.id, r.stem
            ),
            None => format!(
                "it has no anonymised derivative: make one with `sentinel-dockctl anonymise {} --reason TEXT --to DIR`, review it and accept it",
                r.stem
            ),
        };
        let details = format!(
            "training consultation of {} refused to {}: {why}; reason given: {reason}",
            r.stem, actor.author
        );
        let entry = NewEntry {
            purpose: "training".into(),
            ..NewEntry::new(&actor.author, Action::Refusal, details)
        }
        .about(std::slice::from_ref(&r.stem));
        let traced = audit::append(&tx, &entry, now)?;
        tx.commit()?;
        return Err(CommandError::Invalid(format!(
            "{}: training may only see anonymised footage, and {why} (refusal traced, audit entry #{})",
            r.stem, traced.seq
        )));
    };
    let details = format!(
        "register id {}, anonymised derivative #{} {} (sha256 {}), not the original; reason: {reason}",
        r.id,
        d.id,
        d.video.path,
        d.video.digests.sha256_hex()
    );
    let entry = NewEntry {
        purpose: "training".into(),
        recipients: actor.author.clone(),
        ..NewEntry::new(&actor.author, Action::Consultation, details)
    }
    .about(std::slice::from_ref(&r.stem));
    let traced = audit::append(&tx, &entry, now)?;
    tx.commit()?;

    // Traced and committed: only now is the derivative opened (a failure traced too).
    let file = super::consult::open_traced(
        ctx,
        actor,
        &r.stem,
        &d.video.path,
        "the stored derivative",
        traced.seq,
    )?;
    Ok(Reply {
        message: format!(
            "{}: anonymised derivative #{} opened read-only for training (audit entry #{}); sha256 {}",
            r.stem,
            d.id,
            traced.seq,
            d.video.digests.sha256_hex()
        ),
        data: crate::app::api::replies::encode(&crate::app::api::replies::Consulted {
            recording: r.stem,
            register_id: r.id,
            audit_seq: traced.seq,
            purpose: a.purpose,
            size: d.video.size,
            sha256: d.video.digests.sha256_hex(),
            derivative_id: Some(d.id),
        }),
        file: Some(file),
        success: true,
    })
}
