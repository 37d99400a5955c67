//! The store and the register opened by their one owner, on the right disk (issue 9).
//!
//! Whoever writes (the service, a one-shot ingest) opens both here: the store's disk must
//! be mounted (`[store] mount`) before anything is created, the store must be the one the
//! register records (its identity), and the store's lock is taken before anything in it is
//! cleaned. A register that lies under the mount point is opened only once it is mounted.
//! This is the one code that opens them for writing: the one-shot ingest opens both with
//! [`open`], the service opens both at its start and then the register once per camera
//! with [`open_register`], and hands them to the ingest.

use chrono::{DateTime, Utc};

use crate::base::config::StoreConfig;
use crate::custody::register::{Adoption, Location, Register, RegisterError};
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

/// Why a new store could not be adopted ([`adopt_store`]).
#[derive(Debug, thiserror::Error)]
pub enum AdoptError {
    /// The store or the register could not be opened.
    #[error(transparent)]
    Owner(#[from] OwnerError),
    /// A store may be adopted only while it holds nothing: it would be another's.
    #[error(
        "{} is not an empty store folder ({why}): adopt only a new, empty store (an empty folder, or one not yet made), on the disk that replaces the lost one",
        root.display()
    )]
    NotEmpty {
        /// The store's folder.
        root: std::path::PathBuf,
        /// What it holds.
        why: String,
    },
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
    register: &Location,
    at: DateTime<Utc>,
) -> Result<(Store, Register), OwnerError> {
    if let Some(mount) = &config.mount {
        store::check_mounted(mount)?;
    }
    let mut register = register.open()?;
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

/// Records a new, empty store at `[store] path` as this site's in the register, in place of
/// a lost one: a dock machine rebuilt from nothing with its site's configuration. The
/// register keeps every recording; the lost store's are read from the replica from then
/// on, and the scrub lists them as held by the replica. Refused when the folder holds
/// anything (it would be another store, or the lost one found again). Returns `None` when
/// the store is already the site's.
pub fn adopt_store(
    config: &StoreConfig,
    register: &Location,
    author: &str,
    at: DateTime<Utc>,
) -> Result<Option<Adoption>, AdoptError> {
    check_mounted(config).map_err(OwnerError::from)?;
    let mut register = register.open().map_err(OwnerError::from)?;
    let recorded = register.store_identity().map_err(OwnerError::from)?;
    let root = &config.path;
    let present = std::fs::read_to_string(root.join(store::IDENTITY_FILE)).ok();
    if let (Some(present), Some(recorded)) = (&present, &recorded)
        && present.trim() == recorded
    {
        return Ok(None);
    }
    if let Some(why) = holds_anything(root) {
        return Err(AdoptError::NotEmpty {
            root: root.clone(),
            why,
        });
    }
    let store =
        Store::open_checked(root, config.mount.as_deref(), None).map_err(OwnerError::from)?;
    let identity = store.identity().unwrap_or_default().to_string();
    let adoption = register
        .adopt_store(&identity, author, at)
        .map_err(OwnerError::from)?;
    Ok(Some(adoption))
}

/// What a folder holds that makes it no new store: its first file, by path.
fn holds_anything(root: &std::path::Path) -> Option<String> {
    let entries = match std::fs::read_dir(root) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => return Some(format!("it cannot be read: {e}")),
    };
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => return Some(format!("it cannot be read: {e}")),
        };
        let path = entry.path();
        if path.is_dir() {
            if let Some(why) = holds_anything(&path) {
                return Some(why);
            }
        } else {
            return Some(format!("it holds {}", path.display()));
        }
    }
    None
}

/// Opens the register alone, for a store its owner already holds open (the service opens
/// it once per camera): the mount point is checked first, so that a register under it is
/// not created on the disk below.
pub fn open_register(config: &StoreConfig, register: &Location) -> Result<Register, OwnerError> {
    check_mounted(config)?;
    Ok(register.open()?)
}

/// Checks that the disk the store (and a register under it) lies on is mounted.
pub(crate) fn check_mounted(config: &StoreConfig) -> Result<(), StoreError> {
    match &config.mount {
        Some(mount) => store::check_mounted(mount),
        None => Ok(()),
    }
}
