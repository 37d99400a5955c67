//! What the daemon does once a day for the registers: the audit chain's head to the
//! journal, pending attributions, audit entries past three years expired behind a
//! checkpoint, and the recordings past their retention purged (brake permitting).

use chrono::Months;

use super::{Context, Reply, attribute_pending, purge_due};
use crate::app::api::replies::{self, Daily};
use crate::custody::register::audit;

/// Audit entries are kept three years (R241-14), then dropped behind a checkpoint.
pub(crate) const AUDIT_RETENTION: Months = Months::new(36);

/// Runs the daily upkeep; `success` is false when the purge waits for a confirmation.
pub fn daily(ctx: &mut Context<'_>) -> Result<Reply, super::CommandError> {
    let now = ctx.clock.now();
    let head = ctx
        .register
        .read()
        .and_then(|tx| audit::log_head(&tx, "daily"))?;
    let attributed = attribute_pending(ctx.register, ctx.clock)?;
    let cutoff = now.checked_sub_months(AUDIT_RETENTION).unwrap_or(now);
    let tx = ctx.register.write()?;
    let checkpoint = audit::expire(&tx, cutoff, now)?;
    tx.commit()?;
    let purge = purge_due(ctx)?;
    let expired = checkpoint
        .as_ref()
        .map_or(0, |c| c.dropped.1 - c.dropped.0 + 1);
    let message = format!(
        "audit head {head}; {attributed} recording(s) attributed; {expired} audit entries past three years expired; {}",
        purge.message
    );
    Ok(Reply {
        message,
        data: replies::encode(&Daily {
            audit_head: head.to_string(),
            attributed,
            audit_checkpoint: checkpoint,
            // The purge's own reply, read back as the type it was built from.
            purge: replies::decode(&purge.data)
                .map_err(|e| super::CommandError::Invalid(e.to_string()))?,
        }),
        file: None,
        success: purge.success,
    })
}
