//! The supervisor's view turned into the status: the document for `sentinel-dockctl`, the
//! `STATUS=` line for systemd, and the RAID warnings for the log. Each takes the parts it
//! reads; the supervisor hands them over.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::app::status::{self, RefusedLink, ServiceStatus, StatusReport, mdstat};
use crate::base::config::Config;
use crate::base::error::chain;
use crate::base::events;
use crate::camera::dock::{DockWatcher, Refusal};
use crate::custody::register::{Register, StoredSince};
use crate::custody::store::Store;
use crate::replica::UploaderThread;

use super::cameras::Cameras;
use super::desk::Desk;

/// How long the register's 30-day ingest total is reused before it is read again.
const RATE_CACHE: Duration = Duration::from_secs(30);

/// What the status document is made of.
pub(super) struct Sources<'a> {
    /// The configuration in force.
    pub config: &'a Config,
    /// When the service started.
    pub started_at: DateTime<Utc>,
    /// Whether the service is stopping.
    pub stopping: bool,
    /// The docked cameras.
    pub cameras: &'a Cameras,
    /// The dock links refused.
    pub refused: &'a BTreeMap<String, Refusal>,
    /// The dock folder's watcher.
    pub dock: &'a DockWatcher,
    /// Why the store's disk is gone, if it is.
    pub store_missing: Option<&'a str>,
    /// The operators' desk (last scrub, anonymisation).
    pub desk: &'a Desk,
    /// The replica's uploader.
    pub replica: &'a UploaderThread,
    /// The store.
    pub store: &'a Store,
    /// Whether the register answers.
    pub register: status::RegisterHealth,
}

/// The whole status now; `stored` is the register's 30-day total ([`RateCache`]).
pub(super) fn status(s: &Sources<'_>, stored: Result<StoredSince, String>) -> StatusReport {
    let config = s.config;
    let mut warnings = Vec::new();
    let raid = match mdstat::read(&config.status.mdstat) {
        Ok(arrays) => arrays,
        Err(e) => {
            warnings.push(format!(
                "cannot read {} (status.mdstat): {e}",
                config.status.mdstat.display()
            ));
            Vec::new()
        }
    };
    warnings.extend(raid.iter().filter(|a| a.degraded).map(|a| {
        format!(
            "RAID array {} is degraded ({} [{}]): the store has lost its redundancy; replace the failed disk",
            a.name, a.state, a.map
        )
    }));
    if !s.dock.is_healthy() {
        warnings.push(format!(
            "the dock watcher has not scanned {} lately: docked cameras may not be noticed",
            s.dock.dir().display()
        ));
    }
    if let Some(why) = s.store_missing {
        warnings.push(format!(
            "store not mounted: {why}; docked cameras wait, untouched, until the disk is back"
        ));
    }
    let last_scrub = s.desk.last_scrub();
    warnings.extend(last_scrub.as_ref().and_then(|s| s.warning()));
    let replica = s.replica.status();
    warnings.extend(replica.as_ref().and_then(|r| r.warning(Utc::now())));
    let free = s.store.free_bytes().map_err(|e| chain(&e));
    let store = status::store_status(
        s.store.root(),
        config.store.reserve.0,
        free,
        stored,
        Utc::now(),
    );
    StatusReport {
        service: ServiceStatus {
            pid: std::process::id(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            started_at: s.started_at,
            dock: config.dock.path.clone(),
            max_parallel: config.ingest.max_parallel,
            stopping: s.stopping,
            site: config.site.name.clone(),
            dock_enabled: config.dock.enabled,
        },
        cameras: s.cameras.statuses(),
        refused_links: s
            .refused
            .values()
            .map(|r| RefusedLink {
                slot: r.slot.clone(),
                link: r.link.clone(),
                reason: r.reason.clone(),
            })
            .collect(),
        store,
        raid,
        warnings,
        last_scrub,
        replica,
        anonymisation: s.desk.anonymisation(),
        register: s.register.clone(),
    }
}

/// The one-line status for systemd.
pub(super) fn summary_line(s: &Sources<'_>, raid_degraded: bool) -> String {
    let scrub_problems = s.desk.last_scrub().map_or(0, |s| s.problems);
    let line = status::summary_line(&s.cameras.statuses(), raid_degraded, scrub_problems);
    let line = match s.replica.status().and_then(|r| r.summary()) {
        Some(backlog) => format!("{line} · {backlog}"),
        None => line,
    };
    if s.stopping {
        format!("stopping · {line}")
    } else if s.store_missing.is_some() {
        format!("store not mounted · {line}")
    } else if s.register.is_unreachable() {
        format!("{} · {line}", status::REGISTER_UNREACHABLE)
    } else {
        line
    }
}

/// The md arrays known to be degraded, so that each is logged once when it degrades.
#[derive(Default)]
pub(super) struct Raid {
    degraded: BTreeSet<String>,
}

impl Raid {
    /// Whether an array is degraded.
    pub(super) fn any_degraded(&self) -> bool {
        !self.degraded.is_empty()
    }

    /// Logs each md array that became degraded, and each that recovered.
    pub(super) fn check(&mut self, mdstat: &Path) {
        let Ok(arrays) = mdstat::read(mdstat) else {
            return; // reported in the status; the log is not the place for every second's retry
        };
        for a in &arrays {
            if a.degraded && self.degraded.insert(a.name.clone()) {
                tracing::warn!(
                    message_id = events::RAID_DEGRADED.id,
                    array = %a.name,
                    "RAID array {} is degraded ({} {} [{}]{}): the store has lost its redundancy; replace the failed disk",
                    a.name,
                    a.state,
                    a.level,
                    a.map,
                    a.progress.as_ref().map(|p| format!(", {p}")).unwrap_or_default()
                );
            }
        }
        self.degraded.retain(|name| {
            let still = arrays.iter().any(|a| &a.name == name && a.degraded);
            if !still {
                tracing::info!(array = %name, "RAID array {name} is no longer degraded");
            }
            still
        });
    }
}

/// The register's 30-day ingest total, read at most every 30 s.
#[derive(Default)]
pub(super) struct RateCache {
    read: Option<(Instant, Result<StoredSince, String>)>,
}

impl RateCache {
    /// Forgets the total: the store just took bytes in, or another store or register is in force.
    pub(super) fn clear(&mut self) {
        self.read = None;
    }

    /// Bytes stored over the last 30 days.
    pub(super) fn get(&mut self, register: &Register) -> Result<StoredSince, String> {
        if let Some((at, cached)) = &self.read
            && at.elapsed() < RATE_CACHE
        {
            return cached.clone();
        }
        let since = Utc::now() - chrono::Duration::days(status::WINDOW_DAYS);
        let fresh = register.stored_since(since).map_err(|e| chain(&e));
        self.read = Some((Instant::now(), fresh.clone()));
        fresh
    }
}
