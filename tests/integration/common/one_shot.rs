//! One ingest as `sentinel-dockd ingest` runs it: the store and register opened by their
//! one owner (`custody::opener`), then handed to the ingest; or, as the service runs it,
//! into a store already open, with the register opened for the one camera.

use std::path::Path;
use std::sync::Arc;

use sentinel_dock::app::ingest::{self, IngestError, IngestReport, Options};
use sentinel_dock::base::config::Config;
use sentinel_dock::custody::opener;
use sentinel_dock::custody::store::{Store, StoreFaults};

/// Opens the configured store and register, then ingests `source` once.
pub fn ingest_once(
    config: &Config,
    source: &Path,
    options: &Options,
) -> Result<IngestReport, IngestError> {
    ingest_faulty_store(config, source, None, options)
}

/// As [`ingest_once`], with faults injected into the store's writes and reads back.
pub fn ingest_faulty_store(
    config: &Config,
    source: &Path,
    store_faults: Option<Arc<dyn StoreFaults>>,
    options: &Options,
) -> Result<IngestReport, IngestError> {
    // The store's identity is recorded at the machine's time, as the service does: the
    // ingest's own clock (a test's jumping one) is read by the ingest alone.
    let (mut store, mut register) = opener::open(
        &config.store,
        &config.register.path,
        &config.site.name,
        chrono::Utc::now(),
    )?;
    if let Some(faults) = store_faults {
        store = store.with_faults(faults);
    }
    ingest::ingest(config, source, &store, &mut register, options)
}

/// Ingests `source` once into a store its owner (a test's desk, like the service) already
/// holds open: the register is opened for this one camera, as the service does.
pub fn ingest_into(
    config: &Config,
    source: &Path,
    store: &Store,
    options: &Options,
) -> Result<IngestReport, IngestError> {
    let mut register =
        opener::open_register(&config.store, &config.register.path, &config.site.name)?;
    ingest::ingest(config, source, store, &mut register, options)
}
