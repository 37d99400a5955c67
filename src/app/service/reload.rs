//! SIGHUP: read the configuration again; apply it whole, or refuse it whole and keep the
//! one in force. Ingests already running finish with the configuration they started with.
//! Here everything the new configuration moves is opened first, so that a failure changes
//! nothing; the supervisor then puts the opened parts in place.

use std::path::Path;
use std::sync::Arc;

use crate::app::control::ControlSocket;
use crate::base::config::Config;
use crate::base::error::chain;
use crate::custody::opener;
use crate::custody::register::{Location, Register};
use crate::custody::store::Store;

use super::inputs::{Watched, watch_dock};

/// A new configuration, with what it moves already opened.
pub(super) struct Reloaded {
    /// The configuration read again.
    pub config: Config,
    /// Another store, opened as the one its register records, under its own lock.
    pub store: Option<Arc<Store>>,
    /// Another register.
    pub register: Option<Register>,
    /// Another control socket, bound.
    pub control: Option<ControlSocket>,
    /// Another dock folder, watched.
    pub dock: Option<Watched>,
}

/// Reads the configuration file at `path` and opens whatever it moves from `old`;
/// `register` is the one in force, which records the store's identity.
pub(super) fn open(path: &Path, old: &Config, register: &Register) -> Result<Reloaded, String> {
    let new = Config::load(path).map_err(|e| chain(&e))?;
    opener::check_mounted(&new.store).map_err(|e| chain(&e))?;
    let moved_register = (new.register.path != old.register.path)
        .then(|| opener::open_register(&new.store, &Location::of(&new)))
        .transpose()
        .map_err(|e| chain(&e))?;
    // Another store is opened as the one its register records, under its own lock.
    let store = (new.store.path != old.store.path)
        .then(|| {
            let recorded = moved_register
                .as_ref()
                .unwrap_or(register)
                .store_identity()
                .map_err(|e| chain(&e))?;
            Store::open_checked(
                &new.store.path,
                new.store.mount.as_deref(),
                recorded.as_deref(),
            )
            .map(Arc::new)
            .map_err(|e| chain(&e))
        })
        .transpose()?;
    let control = (new.control.socket != old.control.socket)
        .then(|| ControlSocket::bind(&new.control.socket))
        .transpose()
        .map_err(|e| chain(&e))?;
    let dock = (new.dock.path != old.dock.path || new.dock.enabled != old.dock.enabled)
        .then(|| watch_dock(&new))
        .transpose()
        .map_err(|e| chain(&e))?;
    Ok(Reloaded {
        config: new,
        store,
        register: moved_register,
        control,
        dock,
    })
}
