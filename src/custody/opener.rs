//! The store and the register opened by their one owner, on the right disk (issue 9).
//!
//! Whoever writes (the service, a one-shot ingest) opens both here: the store's disk must
//! be mounted (`[store] mount`) before anything is created, the store must be the one the
//! register records (its identity), and the store's lock is taken before anything in it is
//! cleaned. A register that lies under the mount point is opened only once it is mounted.
//! This is the one code that opens them for writing: the one-shot ingest opens both with
//! [`open`], the service opens both at its start and then the register once per camera
//! with [`open_register`], and hands them to the ingest.

use std::path::Path;

use chrono::{DateTime, Utc};

use crate::base::config::StoreConfig;
use crate::custody::register::{Register, RegisterError};
use crate::custody::store::{self, Store, StoreError};

/// Why the store and register could not be opened by their owner.
#[derive(Debug, thiserror::Error)]
pub enum OwnerError {
    /// The store: not mounted, another disk, owned by another process, unwritable.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The register.
    #[error(transparent)]
    Register(#[from] RegisterError),
}

impl OwnerError {
    /// Whether the store's disk is absent: the only fix is mounting it, and the service
    /// waits for that rather than failing.
    pub(crate) fn is_not_mounted(&self) -> bool {
        matches!(self, OwnerError::Store(e) if e.is_not_mounted())
    }
}

/// Opens the store and the register as their owner: checks the mount point, opens the
/// register, opens the store as the one it records (recording the store's identity the
/// first time), holding the store's lock from then on. The register writes `site` (`[site]
/// name`) into what it records.
pub fn open(
    config: &StoreConfig,
    register: &Path,
    site: &str,
    at: DateTime<Utc>,
) -> Result<(Store, Register), OwnerError> {
    if let Some(mount) = &config.mount {
        store::check_mounted(mount)?;
    }
    let mut register = Register::open_at(register, site)?;
    let recorded = register.store_identity()?;
    let store = Store::open_checked(&config.path, config.mount.as_deref(), recorded.as_deref())?;
    if recorded.is_none()
        && let Some(identity) = store.identity()
    {
        register.record_store_identity(identity, at)?;
        // Another store may have been recorded first, by a process opening it at once.
        let now_recorded = register.store_identity()?;
        if now_recorded.as_deref() != Some(identity) {
            return Err(StoreError::WrongIdentity {
                root: store.root().to_owned(),
                expected: now_recorded.unwrap_or_default(),
                found: Some(identity.to_string()),
            }
            .into());
        }
    }
    Ok((store, register))
}

/// Opens the register alone, for a store its owner already holds open (the service opens
/// it once per camera): the mount point is checked first, so that a register under it is
/// not created on the disk below. It writes `site` (`[site] name`) into what it records.
pub fn open_register(
    config: &StoreConfig,
    register: &Path,
    site: &str,
) -> Result<Register, OwnerError> {
    check_mounted(config)?;
    Ok(Register::open_at(register, site)?)
}

/// Checks that the disk the store (and a register under it) lies on is mounted.
pub(crate) fn check_mounted(config: &StoreConfig) -> Result<(), StoreError> {
    match &config.mount {
        Some(mount) => store::check_mounted(mount),
        None => Ok(()),
    }
}
