//! Why the service could not start.

use std::io;
use std::path::PathBuf;

use crate::app::control::ControlError;
use crate::base::config::ConfigError;
use crate::custody::register::RegisterError;
use crate::custody::store::StoreError;

/// Why the service could not start (it stops with status 1, or 2 for a configuration).
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The configuration file is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The async runtime or the signal handlers could not be set up.
    #[error("cannot set up the service's runtime")]
    Runtime(#[source] io::Error),
    /// The store could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The register could not be opened.
    #[error(transparent)]
    Register(#[from] RegisterError),
    /// The control socket could not be set up.
    #[error(transparent)]
    Control(#[from] ControlError),
    /// The dock folder could not be watched.
    #[error("cannot watch the dock folder {path} (dock.path)")]
    Dock {
        /// The dock folder.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
}

impl ServiceError {
    /// Whether the configuration is at fault (exit status 2) rather than the machine (1).
    pub fn is_config(&self) -> bool {
        matches!(self, ServiceError::Config(_))
    }
}
