//! `audit verify`: the chain checked from its anchor to its head, every break named.

use super::access::Actor;
use super::{CommandError, Context, Reply};
use crate::app::api::replies::{self, AuditVerified};
use crate::app::api::request::AuditVerifyArgs;
use crate::custody::register::audit::{self, Head};

/// `audit verify [--head SEQ:HASH]`: `success` is false when the chain does not hold.
pub fn verify(
    ctx: &mut Context<'_>,
    _actor: &Actor,
    a: &AuditVerifyArgs,
) -> Result<Reply, CommandError> {
    let logged = a.head.as_deref().map(parse_head).transpose()?;
    let v = ctx
        .register
        .read()
        .and_then(|tx| audit::verify(&tx, logged.as_ref()))?;
    let mut message = if v.is_intact() {
        format!(
            "audit chain intact: {} entries after #{}, head {}\n",
            v.entries, v.starts_after, v.head
        )
    } else {
        format!(
            "audit chain BROKEN: {} problem(s) in {} entries (head {})\n",
            v.problems.len(),
            v.entries,
            v.head
        )
    };
    for p in &v.problems {
        message.push_str(&format!("  {p}\n"));
    }
    if let Some(h) = &logged
        && v.is_intact()
    {
        message.push_str(&format!(
            "the head logged to the journal ({h}) is in the chain\n"
        ));
    }
    Ok(Reply {
        message,
        success: v.is_intact(),
        data: replies::encode(&AuditVerified {
            intact: v.is_intact(),
            verification: v,
        }),
        file: None,
    })
}

fn parse_head(text: &str) -> Result<Head, CommandError> {
    let bad = || {
        CommandError::Invalid(format!(
            "--head `{text}` must be SEQ:HASH as the journal logged it (audit_seq and audit_hash), e.g. 42:9f86d0...; 64 hex digits"
        ))
    };
    let (seq, hash) = text.split_once(':').ok_or_else(bad)?;
    let seq: i64 = seq.trim().parse().map_err(|_| bad())?;
    let hash = hash.trim().to_ascii_lowercase();
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    Ok(Head { seq, hash })
}
