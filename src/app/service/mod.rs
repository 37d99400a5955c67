//! The long-running service (`sentinel-dockd` without a subcommand): watches the dock,
//! ingests each docked camera in its own task, answers the control socket, and talks to
//! systemd (READY, STATUS, WATCHDOG), until SIGTERM; SIGHUP reloads the configuration.

mod anonymiser;
mod cameras;
mod desk;
mod dock_events;
mod error;
mod inputs;
mod outcome;
mod publish;
mod register_watch;
mod reload;
mod scrubber;
mod slot;
mod store_wait;
mod supervisor;
mod systemd;

use std::path::Path;
use std::time::Duration;

use crate::base::config::Config;

pub(crate) use error::ServiceError;

/// Runs the service in the foreground until SIGTERM or SIGINT; `Ok` after a clean stop.
pub fn run(config_path: &Path) -> Result<(), ServiceError> {
    let config = Config::load(config_path)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("sentinel-dockd")
        .enable_all()
        .build()
        .map_err(ServiceError::Runtime)?;
    let result = runtime.block_on(async {
        match supervisor::Supervisor::start(config_path.to_path_buf(), config).await? {
            Some(supervisor) => supervisor.run().await,
            None => Ok(()), // stopped while waiting for the store's disk
        }
    });
    // An ingest thread that did not stop in time must not hold the exit up.
    runtime.shutdown_timeout(Duration::from_secs(1));
    result
}
