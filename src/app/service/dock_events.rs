//! Who carried the camera docked, from the perception register (its dock card); the
//! dockings and undockings themselves are written by `register_watch`, which holds them
//! while the register is unreachable.

use chrono::Utc;

use crate::custody::register::{Register, RegisterError};

/// The agent whose issue of the camera in `slot` is still open, for its dock card;
/// none when it was not issued or the register cannot say (logged, never fatal; an
/// unreachable register is returned, for the supervisor to note).
pub(super) fn carried_by(
    register: &mut Register,
    slot: &str,
) -> Result<Option<String>, RegisterError> {
    let found = register.read().and_then(|tx| {
        match crate::custody::register::perception::assignment_at(&tx, slot, Utc::now())? {
            Some(a) if a.ended().is_none() => {
                let agent = crate::custody::register::perception::agent(&tx, &a.agent)?;
                Ok(Some(match agent {
                    Some(p) => format!("{} ({})", p.name, p.matricule),
                    None => a.agent,
                }))
            }
            _ => Ok(None),
        }
    });
    match found {
        Ok(agent) => Ok(agent),
        Err(e) if e.is_unreachable() => Err(e),
        Err(e) => {
            tracing::warn!(slot, "cannot read who carried the camera: {e}");
            Ok(None)
        }
    }
}
