//! The dock's events in the perception register: each docking and undocking recorded by
//! slot, and who carried the camera docked (its dock card).

use chrono::Utc;

use crate::custody::register::{DockEvent, Register};

/// The agent whose issue of the camera in `slot` is still open, for its dock card;
/// none when it was not issued or the register cannot say (logged, never fatal).
pub(super) fn carried_by(register: &mut Register, slot: &str) -> Option<String> {
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
    found.unwrap_or_else(|e| {
        tracing::warn!(slot, "cannot read who carried the camera: {e}");
        None
    })
}

/// Dock events are the perception register's return and issue times: recorded by slot,
/// which the udev rule names after the camera's USB serial.
pub(super) fn record(register: &mut Register, slot: &str, event: DockEvent) {
    // The supervisor runs on the runtime's main thread (block_on): a short SQLite
    // write pauses only the supervisor, never the workers serving ingests and callers.
    if let Err(e) = register.record_dock_event(slot, event, slot, Utc::now()) {
        tracing::error!(
            slot,
            "cannot record the {} event in the register: {e}",
            event.as_str()
        );
    }
}
