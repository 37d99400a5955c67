//! What the supervisor listens to besides its tasks and callers: the signals it obeys and
//! the dock folder's watcher. Both are opened before the supervisor exists (the signals
//! before the store's disk is waited for), and the watcher again when a reload moves it.

use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::mpsc;

use crate::base::config::Config;
use crate::camera::dock::{DockChange, DockWatcher};

use super::ServiceError;

/// The signals the service obeys, registered before it says READY.
pub(super) struct Signals {
    /// SIGTERM: stop.
    pub(super) term: Signal,
    /// SIGINT: stop.
    pub(super) int: Signal,
    /// SIGHUP: reload the configuration.
    pub(super) hup: Signal,
}

impl Signals {
    /// Registers the three signals.
    pub(super) fn register() -> Result<Signals, ServiceError> {
        let on = |kind| signal(kind).map_err(ServiceError::Runtime);
        Ok(Signals {
            term: on(SignalKind::terminate())?,
            int: on(SignalKind::interrupt())?,
            hup: on(SignalKind::hangup())?,
        })
    }
}

/// A dock watcher, its channel, and the changes the cameras already there make.
pub(super) type Watched = (DockWatcher, mpsc::Receiver<DockChange>, Vec<DockChange>);

/// Starts watching the configured dock folder: the watcher, its channel, the cameras already
/// there; a daemon without a dock (`[dock] enabled = false`) watches nothing.
pub(super) fn watch_dock(config: &Config) -> Result<Watched, ServiceError> {
    let (tx, rx) = mpsc::channel(256);
    let started = if config.dock.enabled {
        DockWatcher::start(&config.dock.path, tx)
    } else {
        DockWatcher::none(&config.dock.path).map(|watcher| (watcher, Vec::new()))
    };
    let (watcher, initial) = started.map_err(|source| ServiceError::Dock {
        path: config.dock.path.clone(),
        source,
    })?;
    Ok((watcher, rx, initial))
}
