//! The supervisor's view turned into the status: the document for `sentinel-dockctl`, the
//! `STATUS=` line for systemd, and the RAID warnings for the log.

use std::time::{Duration, Instant};

use chrono::Utc;

use crate::app::status::{self, RefusedLink, ServiceStatus, StatusReport, mdstat};
use crate::base::error::chain;
use crate::base::events;
use crate::custody::register::StoredSince;

use super::supervisor::Supervisor;

/// How long the register's 30-day ingest total is reused before it is read again.
const RATE_CACHE: Duration = Duration::from_secs(30);

impl Supervisor {
    /// The whole status now.
    pub(super) fn status(&mut self) -> StatusReport {
        let config = self.config.clone();
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
        if !self.dock.is_healthy() {
            warnings.push(format!(
                "the dock watcher has not scanned {} lately: docked cameras may not be noticed",
                self.dock.dir().display()
            ));
        }
        if let Some(why) = &self.store_missing {
            warnings.push(format!(
                "store not mounted: {why}; docked cameras wait, untouched, until the disk is back"
            ));
        }
        let last_scrub = self.desk.last_scrub();
        warnings.extend(last_scrub.as_ref().and_then(|s| s.warning()));
        let replica = self.replica.status();
        warnings.extend(replica.as_ref().and_then(|r| r.warning(Utc::now())));
        let stored = self.recent_rate();
        let free = self.store.free_bytes().map_err(|e| chain(&e));
        let store = status::store_status(
            self.store.root(),
            config.store.reserve.0,
            free,
            stored,
            Utc::now(),
        );
        StatusReport {
            service: ServiceStatus {
                pid: std::process::id(),
                version: env!("CARGO_PKG_VERSION").to_string(),
                started_at: self.started_at,
                dock: config.dock.path.clone(),
                max_parallel: config.ingest.max_parallel,
                stopping: self.stopping,
            },
            cameras: self.cameras.statuses(),
            refused_links: self
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
            anonymisation: self.desk.anonymisation(),
        }
    }

    /// Sends systemd the one-line status when it changed.
    pub(super) fn refresh_status(&mut self) {
        let scrub_problems = self.desk.last_scrub().map_or(0, |s| s.problems);
        let line = status::summary_line(
            &self.cameras.statuses(),
            !self.raid_degraded.is_empty(),
            scrub_problems,
        );
        let line = match self.replica.status().and_then(|r| r.summary()) {
            Some(backlog) => format!("{line} · {backlog}"),
            None => line,
        };
        let line = if self.stopping {
            format!("stopping · {line}")
        } else if self.store_missing.is_some() {
            format!("store not mounted · {line}")
        } else {
            line
        };
        self.systemd.status(&line);
    }

    /// Logs each md array that became degraded, and each that recovered.
    pub(super) fn check_raid(&mut self) {
        let Ok(arrays) = mdstat::read(&self.config.status.mdstat) else {
            return; // reported in the status; the log is not the place for every second's retry
        };
        for a in &arrays {
            if a.degraded && self.raid_degraded.insert(a.name.clone()) {
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
        self.raid_degraded.retain(|name| {
            let still = arrays.iter().any(|a| &a.name == name && a.degraded);
            if !still {
                tracing::info!(array = %name, "RAID array {name} is no longer degraded");
            }
            still
        });
    }

    /// Bytes stored over the last 30 days, read from the register at most every 30 s.
    fn recent_rate(&mut self) -> Result<StoredSince, String> {
        if let Some((at, cached)) = &self.rate_cache
            && at.elapsed() < RATE_CACHE
        {
            return cached.clone();
        }
        let since = Utc::now() - chrono::Duration::days(status::WINDOW_DAYS);
        let fresh = self.register.stored_since(since).map_err(|e| e.to_string());
        self.rate_cache = Some((Instant::now(), fresh.clone()));
        fresh
    }
}
