//! SIGHUP: read the configuration again; apply it whole, or refuse it whole and keep the
//! one in force. Ingests already running finish with the configuration they started with.

use std::sync::Arc;

use crate::app::control::ControlSocket;
use crate::base::config::Config;
use crate::base::error::chain;
use crate::base::events;
use crate::custody::register::Register;
use crate::custody::store::Store;

use super::desk::Job;
use super::supervisor::{Supervisor, watch_dock};

impl Supervisor {
    /// Reloads the configuration file, logging whether it was applied or refused.
    pub(super) fn reload(&mut self) {
        self.systemd.reloading();
        let path = self.config_path.clone();
        let result = Config::load(&path)
            .map_err(|e| chain(&e))
            .and_then(|config| self.apply(config));
        match result {
            Ok(()) => tracing::info!(
                message_id = events::CONFIG_RELOADED.id,
                config = %path.display(),
                "configuration {} reloaded (ingest.max_parallel = {})",
                path.display(),
                self.config.ingest.max_parallel
            ),
            Err(e) => tracing::error!(
                message_id = events::CONFIG_REJECTED.id,
                config = %path.display(),
                error = %e,
                "configuration {} refused, the previous one stays in force: {e}",
                path.display()
            ),
        }
        self.systemd.ready();
    }

    /// Opens whatever the new configuration moves first, so that a failure changes nothing.
    fn apply(&mut self, new: Config) -> Result<(), String> {
        let old = self.config.clone();
        crate::custody::opener::check_mounted(&new.store).map_err(|e| chain(&e))?;
        let register = (new.register.path != old.register.path)
            .then(|| Register::open(&new.register.path))
            .transpose()
            .map_err(|e| chain(&e))?;
        // Another store is opened as the one its register records, under its own lock.
        let store = (new.store.path != old.store.path)
            .then(|| {
                let recorded = register
                    .as_ref()
                    .unwrap_or(&self.register)
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
        let dock = (new.dock.path != old.dock.path)
            .then(|| watch_dock(&new))
            .transpose()
            .map_err(|e| chain(&e))?;

        if let Some(store) = store {
            self.store = store;
            self.rate_cache = None;
        }
        if let Some(register) = register {
            self.register = register;
            self.rate_cache = None;
        }
        if let Some(control) = control {
            self.control = control; // the old socket file goes with the old listener
        }
        self.config = Arc::new(new);
        self.config_tx.send_replace(self.config.clone());
        self.replica.reconfigure(self.config.clone());
        self.desk.send(Job::Reconfigure {
            config: self.config.clone(),
            store: self.store.clone(),
        });
        if let Some((watcher, rx, initial)) = dock {
            // Another dock folder: the cameras of the old one are no longer seen.
            let slots: Vec<String> = self.cameras.all().map(|c| c.link.slot.clone()).collect();
            for slot in slots {
                self.on_dock_change(crate::camera::dock::DockChange::Undocked { slot });
            }
            self.refused.clear();
            self.dock = watcher;
            self.dock_rx = rx;
            for change in initial {
                self.on_dock_change(change);
            }
        }
        self.schedule();
        Ok(())
    }
}
