//! `consult`: a recording opened read-only for an authorised caller, traced first.

use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;

use super::access::Actor;
use super::recordings::{one_line, resolve, store_file};
use super::replica_read::open_local_or_replica;
use super::{CommandError, Context, Reply};
use crate::app::api::replies::{self, Consulted};
use crate::app::api::request::{ConsultArgs, Purpose};
use crate::base::error::Chain;
use crate::custody::register::audit::{self, Action, NewEntry};
use crate::replica::Part;

/// What the caller is told when footage is seen for training.
pub(crate) const ANONYMISE: &str =
    "training use: the footage must be anonymised (faces, voices, plates) before it is shown";

/// Opens a stored file read-only for a consultation already traced as entry `seq`; when it
/// cannot be opened, the failure is traced too, then returned.
pub(super) fn open_traced(
    ctx: &mut Context<'_>,
    actor: &Actor,
    stem: &str,
    stored: &str,
    what: &str,
    seq: i64,
) -> Result<std::fs::File, CommandError> {
    let opened = store_file(ctx.store, stored).and_then(|path| {
        OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .map_err(|source| CommandError::Io {
                what: format!("opening {what}"),
                path,
                source,
            })
    });
    trace_failure(ctx, actor, stem, seq, opened)
}

/// Traces a failed opening of consultation `seq` in the audit register, then returns it.
fn trace_failure(
    ctx: &mut Context<'_>,
    actor: &Actor,
    stem: &str,
    seq: i64,
    opened: Result<std::fs::File, CommandError>,
) -> Result<std::fs::File, CommandError> {
    opened.or_else(|e| {
        let why = format!("consultation #{seq} of {stem} failed: {}", Chain(&e));
        let failure = NewEntry::new(&actor.author, Action::Failure, why).about(&[stem.to_string()]);
        let tx = ctx.register.write()?;
        audit::append(&tx, &failure, ctx.clock.now())?;
        tx.commit()?;
        Err(e)
    })
}

/// `consult --purpose P --reason TEXT RECORDING`: the audit entry is committed, then the
/// stored video is opened read-only and handed back (the socket passes the descriptor).
pub fn consult(
    ctx: &mut Context<'_>,
    actor: &Actor,
    a: &ConsultArgs,
) -> Result<Reply, CommandError> {
    if a.purpose == Purpose::Training {
        return super::training::consult_training(ctx, actor, a);
    }
    let reason = one_line("--reason", &a.reason)?;
    let now = ctx.clock.now();
    let tx = ctx.register.write()?;
    let r = resolve(&tx, &a.recording)?;
    let video = match (&r.video, r.in_store()) {
        (Some(v), true) => v.clone(),
        _ => {
            return Err(CommandError::Invalid(format!(
                "{} has no video in the store (state {}): nothing to consult",
                r.stem,
                r.state.as_str()
            )));
        }
    };
    let details = format!(
        "register id {}, camera {}, video {} (sha256 {}); reason: {reason}",
        r.id,
        r.camera,
        video.path,
        video.digests.sha256_hex()
    );
    let entry = NewEntry {
        purpose: a.purpose.as_str().to_string(),
        recipients: actor.author.clone(),
        ..NewEntry::new(&actor.author, Action::Consultation, details)
    }
    .about(std::slice::from_ref(&r.stem));
    let traced = audit::append(&tx, &entry, now)?;
    tx.commit()?;

    // Traced and committed: only now is anything read from the store (or, when the store
    // no longer holds it, from the replica, checked against the register).
    let opened = open_local_or_replica(ctx, r.id, &r.stem, &video, Part::Video, "the stored video");
    let file = trace_failure(ctx, actor, &r.stem, traced.seq, opened)?;
    let message = format!(
        "{}: opened read-only for {} (audit entry #{}); sha256 {}",
        r.stem,
        a.purpose.as_str(),
        traced.seq,
        video.digests.sha256_hex()
    );
    Ok(Reply {
        message,
        data: replies::encode(&Consulted {
            recording: r.stem,
            register_id: r.id,
            audit_seq: traced.seq,
            purpose: a.purpose,
            size: video.size,
            sha256: video.digests.sha256_hex(),
            derivative_id: None,
        }),
        file: Some(file),
        success: true,
    })
}
