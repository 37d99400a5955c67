//! The supervisor: one `select!` over dock changes, ended ingests, the control socket, a
//! timer and signals. It alone decides what runs; ingests run on blocking threads and
//! report back by message (STYLE: stratisd's `run.rs`).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::{Id, JoinError, JoinSet};

use crate::app::commands::access;
use crate::app::control::{self, ControlSocket, Query, ServiceHandle};
use crate::app::status::StatusReport;
use crate::base::config::Config;
use crate::base::events;
use crate::camera::dock::{DockChange, DockWatcher, Refusal};
use crate::custody::register::{DockEvent, Register};
use crate::custody::store::Store;
use crate::replica::UploaderThread;

use super::ServiceError;
use super::cameras::{Cameras, DockingId};
use super::desk::{Desk, Job};
use super::dock_events;
use super::inputs::{Signals, watch_dock};
use super::outcome;
use super::publish::{self, Raid, RateCache, Sources};
use super::register_watch::{self, Change, RegisterWatch};
use super::reload::{self, Reloaded};
use super::slot::{self, Finished, SlotJob, SlotOutcome};
use super::store_wait::{self, Recheck};
use super::systemd::Systemd;

/// How long in-flight ingests get to stop on SIGTERM (the unit's stop timeout is longer).
const STOP_WAIT: Duration = Duration::from_secs(20);
/// How often the status line, the RAID and the dock watcher's health are checked.
const TICK: Duration = Duration::from_secs(1);
/// Control connections served at once; more are closed at once, so that callers cannot
/// use up the descriptors the ingests need.
const MAX_CONNECTIONS: usize = 32;

/// The running service's state; only the supervisor's loop touches it.
pub(crate) struct Supervisor {
    config_path: PathBuf,
    config: Arc<Config>,
    started_at: chrono::DateTime<Utc>,
    cameras: Cameras,
    refused: BTreeMap<String, Refusal>,
    tasks: JoinSet<Finished>,
    task_dockings: HashMap<Id, DockingId>,
    register: Register,
    store: Arc<Store>,
    /// Operators' register commands, attributions and the daily upkeep, on their own thread.
    desk: Desk,
    /// The S3 replica's uploader, on its own thread (idle without `[replica] endpoint`).
    replica: UploaderThread,
    dock: DockWatcher,
    dock_rx: mpsc::Receiver<DockChange>,
    control: ControlSocket,
    connections: Arc<Semaphore>,
    signals: Signals,
    queries_rx: mpsc::Receiver<Query>,
    handle: ServiceHandle,
    systemd: Systemd,
    /// Arrays known to be degraded, so that each is logged once when it degrades.
    raid: Raid,
    /// The register's 30-day ingest total, for the status.
    rate: RateCache,
    dock_was_healthy: bool,
    /// Why the store's disk is gone while the service runs, if it is: nothing starts.
    store_missing: Option<String>,
    /// Whether the register answers, and the dock events held while it does not.
    register_watch: RegisterWatch,
    stopping: bool,
}

impl Supervisor {
    /// Listens on the control socket, opens the store and register as their owner (waiting
    /// while the store's disk is not mounted), scans the dock; `None` if stopped meanwhile.
    pub async fn start(
        config_path: PathBuf,
        config: Config,
    ) -> Result<Option<Supervisor>, ServiceError> {
        let mut signals = Signals::register()?;
        let mut systemd = Systemd::new();
        // Opened once for all ingests: opening removes a crash's temp files, under the
        // store's lock held for the service's whole life.
        let Some(owned) =
            store_wait::open_when_mounted(&config, &mut signals, &mut systemd).await?
        else {
            return Ok(None);
        };
        let store = Arc::new(owned.store);
        let register = owned.register;
        let control = owned.control;
        let (dock, dock_rx, initial) = watch_dock(&config)?;
        let config = Arc::new(config);
        let config_for_watch = config.clone();
        let desk = Desk::start(config.clone(), store.clone())?;
        let replica = UploaderThread::start(config.clone(), None).map_err(ServiceError::Runtime)?;
        let (queries_tx, queries_rx) = mpsc::channel(64);
        let mut supervisor = Supervisor {
            config_path,
            config,
            started_at: Utc::now(),
            cameras: Cameras::default(),
            refused: BTreeMap::new(),
            tasks: JoinSet::new(),
            task_dockings: HashMap::new(),
            register,
            store,
            desk,
            replica,
            dock,
            dock_rx,
            control,
            connections: Arc::new(Semaphore::new(MAX_CONNECTIONS)),
            signals,
            queries_rx,
            handle: ServiceHandle::new(queries_tx),
            systemd,
            raid: Raid::default(),
            rate: RateCache::default(),
            dock_was_healthy: true,
            store_missing: None,
            register_watch: RegisterWatch::start(&config_for_watch),
            stopping: false,
        };
        for change in initial {
            supervisor.on_dock_change(change);
        }
        supervisor.check_raid();
        supervisor.refresh_status();
        supervisor.systemd.ready();
        // Once at start (the chain's head to the journal, then the purge), then daily.
        supervisor.desk.send(Job::Daily);
        if supervisor.config.dock.enabled {
            tracing::info!(
                message_id = events::SERVICE_STARTED.id,
                dock = %supervisor.config.dock.path.display(),
                socket = %supervisor.config.control.socket.display(),
                "sentinel-dockd started: {} camera(s) docked, watching {}",
                supervisor.cameras.all().count(),
                supervisor.config.dock.path.display()
            );
        } else {
            tracing::info!(
                message_id = events::SERVICE_STARTED.id,
                socket = %supervisor.config.control.socket.display(),
                "sentinel-dockd started without a dock ([dock] enabled = false): commands and console only"
            );
        }
        Ok(Some(supervisor))
    }

    /// Runs until SIGTERM or SIGINT, then stops cleanly.
    pub async fn run(mut self) -> Result<(), ServiceError> {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut keepalive = self.systemd.keepalive_every().map(tokio::time::interval);
        loop {
            tokio::select! {
                Some(change) = self.dock_rx.recv() => self.on_dock_change(change),
                Some(ended) = self.tasks.join_next_with_id(), if !self.tasks.is_empty() => {
                    self.on_task_end(ended);
                }
                accepted = self.control.accept() => match accepted {
                    Ok(stream) => self.serve(stream),
                    Err(e) => {
                        tracing::warn!("control socket: accepting a connection failed: {e}");
                        // Out of descriptors, say: do not spin on it.
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                Some(query) = self.queries_rx.recv() => self.answer(query),
                _ = tick.tick() => self.on_tick(),
                _ = next_keepalive(&mut keepalive) => {
                    // Only a healthy loop keeps systemd's watchdog quiet.
                    if self.dock.is_healthy() {
                        self.systemd.keepalive();
                    }
                }
                _ = self.signals.hup.recv() => self.reload(),
                _ = self.signals.term.recv() => break,
                _ = self.signals.int.recv() => break,
            }
            self.refresh_status();
        }
        self.shutdown().await;
        Ok(())
    }

    /// Serves a control connection in its own task, if fewer than `MAX_CONNECTIONS` are.
    fn serve(&self, stream: tokio::net::UnixStream) {
        match self.connections.clone().try_acquire_owned() {
            Ok(permit) => {
                let handle = self.handle.clone();
                tokio::spawn(async move {
                    control::serve(stream, handle).await;
                    drop(permit);
                });
            }
            Err(_) => tracing::warn!(
                "control socket: {MAX_CONNECTIONS} connections already open; a new one was closed"
            ),
        }
    }

    /// A dock change, turned into the cameras' state, the register and the log.
    fn on_dock_change(&mut self, change: DockChange) {
        if self.stopping {
            return;
        }
        match change {
            DockChange::Docked(link) => {
                tracing::info!(
                    message_id = events::CAMERA_DOCKED.id,
                    camera_serial = %link.slot,
                    slot = %link.slot,
                    target = %link.target.display(),
                    "camera docked in slot {} ({})",
                    link.slot,
                    link.target.display()
                );
                let slot = link.slot.clone();
                // Looked up before the docking is recorded: the docking ends the issue.
                // Not while the register is unreachable: the loop must not wait on it.
                let agent = if self.register_watch.is_down() {
                    None
                } else {
                    dock_events::carried_by(&mut self.register, &slot).unwrap_or_else(|e| {
                        self.register_watch.note(&e);
                        None
                    })
                };
                self.register_watch
                    .record_dock_event(&mut self.register, &slot, DockEvent::Docked);
                self.cameras.dock(link, Utc::now());
                self.cameras.set_agent(&slot, agent);
                self.schedule();
            }
            DockChange::Undocked { slot } => {
                let Some((camera, cancelled)) = self.cameras.undock(&slot) else {
                    return;
                };
                let note = if cancelled {
                    "; its ingest is cancelled, nothing unproven is wiped, the next docking finishes the job"
                } else {
                    ""
                };
                tracing::info!(
                    message_id = events::CAMERA_UNDOCKED.id,
                    camera_serial = %camera.serial,
                    slot = %slot,
                    "camera {} taken from slot {slot}{note}",
                    camera.serial
                );
                self.register_watch.record_dock_event(
                    &mut self.register,
                    &slot,
                    DockEvent::Undocked,
                );
            }
            DockChange::Refused(refusal) => {
                tracing::warn!(
                    message_id = events::LINK_REFUSED.id,
                    slot = %refusal.slot,
                    link = %refusal.link.display(),
                    "dock link {} refused and left alone: it {}",
                    refusal.link.display(),
                    refusal.reason
                );
                self.refused.insert(refusal.slot.clone(), refusal);
            }
            DockChange::Withdrawn { slot } => {
                self.refused.remove(&slot);
            }
        }
    }

    /// Starts what `ingest.max_parallel` allows.
    fn schedule(&mut self) {
        // Without the store's disk, docked cameras wait, untouched, until it is back.
        if self.stopping || self.store_missing.is_some() {
            return;
        }
        let max = self.config.ingest.max_parallel as usize;
        for start in self.cameras.start_next(max) {
            let docking = start.docking;
            let job = SlotJob::new(start, self.config.clone(), self.store.clone());
            let handle = self.tasks.spawn_blocking(move || slot::run(job));
            self.task_dockings.insert(handle.id(), docking);
        }
    }

    fn on_task_end(&mut self, ended: Result<(Id, Finished), JoinError>) {
        let finished = match ended {
            Ok((id, finished)) => {
                self.task_dockings.remove(&id);
                finished
            }
            Err(e) => {
                // slot::run catches panics; this is a task the runtime itself aborted.
                let docking = self.task_dockings.remove(&e.id());
                tracing::error!(
                    message_id = events::INGEST_FAILED.id,
                    "an ingest task ended abnormally: {e}"
                );
                if let Some(docking) = docking {
                    let state = crate::app::status::CameraState::Failed {
                        error: format!("the ingest task ended abnormally: {e}"),
                    };
                    self.cameras.finish(docking, state, None);
                }
                self.schedule();
                return;
            }
        };
        outcome::log(&finished);
        if matches!(finished.outcome, SlotOutcome::Ingested(_)) {
            self.desk.send(Job::AttributePending);
            self.replica.wake();
        }
        if let SlotOutcome::RegisterUnreachable(error) = &finished.outcome {
            self.register_watch.lost(error.clone());
        }
        let state = outcome::camera_state(&finished.outcome);
        let serial = outcome::identified_serial(&finished.outcome);
        self.cameras.finish(finished.docking, state, serial);
        self.rate.clear(); // the store just took bytes in
        self.schedule();
    }

    fn answer(&mut self, query: Query) {
        match query {
            Query::Status(reply) => {
                let _ = reply.send(self.status());
            }
            Query::StatusAllowed { caller, reply }
                if access::may_see_status(&self.config.access, &caller) =>
            {
                let _ = reply.send(Ok(()));
            }
            Query::StatusAllowed { caller, reply } => {
                self.desk.send(Job::StatusAllowed { caller, reply });
            }
            Query::Command {
                caller,
                command,
                reply,
            } => self.desk.send(Job::Run {
                caller,
                command,
                reply,
            }),
        }
    }

    fn on_tick(&mut self) {
        self.check_raid();
        self.check_store();
        self.check_stalled_reads();
        self.check_register();
        let healthy = self.dock.is_healthy();
        if healthy != self.dock_was_healthy {
            if healthy {
                tracing::info!(dock = %self.dock.dir().display(), "the dock watcher is scanning again");
            } else {
                tracing::error!(dock = %self.dock.dir().display(), "the dock watcher has not scanned the dock for several seconds (a hung device?); the watchdog keep-alives stop");
            }
            self.dock_was_healthy = healthy;
        }
    }

    /// Notices the store's disk going away while the service runs, and coming back: logs
    /// each once, holds the cameras meanwhile, and reopens the store (its lock, its
    /// leftovers) before ingesting again.
    fn check_store(&mut self) {
        let idle = self.tasks.is_empty();
        match store_wait::recheck(&self.config, &self.store, &mut self.store_missing, idle) {
            Recheck::Unchanged => {}
            Recheck::Reopened(store) => {
                // The old one first: its lock is on the disk that went away.
                self.store = Arc::new(store);
                self.desk.send(Job::Reconfigure {
                    config: self.config.clone(),
                    store: self.store.clone(),
                });
                self.rate.clear();
                tracing::info!(
                    message_id = events::STORE_MOUNTED.id,
                    store = %self.config.store.path.display(),
                    "the store {} is mounted again: the service resumes",
                    self.config.store.path.display()
                );
                self.schedule();
            }
            Recheck::StillOurs => self.schedule(),
        }
    }

    /// Notices the register coming back (its loss is logged where it is found): writes the
    /// dock events held meanwhile, then ingests the cameras that waited, at once; and
    /// starts again each waiting camera whose pause is over.
    fn check_register(&mut self) {
        let back = self.register_watch.poll() == Change::Back;
        if back {
            register_watch::refresh(&mut self.register);
            self.register_watch.flush(&mut self.register);
            self.rate.clear();
            self.desk.send(Job::RegisterBack);
        }
        if !self.stopping && self.cameras.retry_due(std::time::Instant::now(), back) {
            self.schedule();
        }
    }

    /// Ends the ingests whose camera read has not returned within `ingest.read_timeout`;
    /// their threads are abandoned, not waited on, and the next docking starts afresh.
    fn check_stalled_reads(&mut self) {
        let timeout = Duration::from_secs(self.config.ingest.read_timeout.0);
        let stalled = self.cameras.abandon_stalled(timeout);
        for (slot, waited) in &stalled {
            tracing::error!(
                message_id = events::CAMERA_NOT_RESPONDING.id,
                camera_serial = %slot,
                slot = %slot,
                "camera in slot {slot} is not responding: a read from it had not returned after {} s (ingest.read_timeout = {} s); its ingest was ended and nothing unproven was wiped. Undock it and dock it again",
                waited.as_secs(),
                timeout.as_secs()
            );
        }
        if !stalled.is_empty() {
            self.schedule();
        }
    }

    /// Reloads the configuration file, logging whether it was applied or refused.
    fn reload(&mut self) {
        self.systemd.reloading();
        let path = self.config_path.clone();
        match reload::open(&path, &self.config, &self.register) {
            Ok(reloaded) => {
                self.apply(reloaded);
                tracing::info!(
                    message_id = events::CONFIG_RELOADED.id,
                    config = %path.display(),
                    "configuration {} reloaded (ingest.max_parallel = {})",
                    path.display(),
                    self.config.ingest.max_parallel
                );
            }
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

    /// Puts a reloaded configuration in force, with what it moved already opened.
    fn apply(&mut self, reloaded: Reloaded) {
        let Reloaded {
            config,
            store,
            register,
            control,
            dock,
        } = reloaded;
        if let Some(store) = store {
            self.store = store;
            self.rate.clear();
        }
        if let Some(register) = register {
            self.register = register;
            self.rate.clear();
        }
        // The dock events written from now on are the new site's.
        if config.site.name != self.config.site.name
            && let Err(e) = self.register.set_site(&config.site.name)
        {
            tracing::error!("the dock's register cannot take the new [site] name: {e}");
        }
        if let Some(control) = control {
            self.control = control; // the old socket file goes with the old listener
        }
        self.config = Arc::new(config);
        self.replica.reconfigure(self.config.clone());
        self.desk.send(Job::Reconfigure {
            config: self.config.clone(),
            store: self.store.clone(),
        });
        if let Some((watcher, rx, initial)) = dock {
            // Another dock folder: the cameras of the old one are no longer seen.
            let slots: Vec<String> = self.cameras.all().map(|c| c.link.slot.clone()).collect();
            for slot in slots {
                self.on_dock_change(DockChange::Undocked { slot });
            }
            self.refused.clear();
            self.dock = watcher;
            self.dock_rx = rx;
            for change in initial {
                self.on_dock_change(change);
            }
        }
        self.schedule();
    }

    /// What the status is made of.
    fn sources(&self) -> Sources<'_> {
        Sources {
            config: &self.config,
            started_at: self.started_at,
            stopping: self.stopping,
            cameras: &self.cameras,
            refused: &self.refused,
            dock: &self.dock,
            store_missing: self.store_missing.as_deref(),
            desk: &self.desk,
            replica: &self.replica,
            store: &self.store,
            register: self.register_watch.health(),
        }
    }

    /// The whole status now.
    fn status(&mut self) -> StatusReport {
        // Not asked while unreachable: the loop must not wait on a lost server.
        let stored = if self.register_watch.is_down() {
            Err(crate::app::status::REGISTER_UNREACHABLE.to_string())
        } else {
            self.rate.get(&self.register)
        };
        publish::status(&self.sources(), stored)
    }

    /// Sends systemd the one-line status when it changed.
    fn refresh_status(&mut self) {
        let line = publish::summary_line(&self.sources(), self.raid.any_degraded());
        self.systemd.status(&line);
    }

    /// Logs each md array that became degraded, and each that recovered.
    fn check_raid(&mut self) {
        self.raid.check(&self.config.status.mdstat);
    }

    /// Stops taking work, cancels in-flight ingests (safe by design), waits for them,
    /// closes the register and removes the socket.
    async fn shutdown(mut self) {
        self.stopping = true;
        self.systemd.stopping();
        let running = self.cameras.running();
        tracing::info!(
            message_id = events::SERVICE_STOPPING.id,
            "sentinel-dockd stopping: {running} ingest(s) cancelled; nothing unproven is wiped, the next start finishes the job"
        );
        self.dock.stop();
        self.cameras.cancel_all();
        let deadline = tokio::time::Instant::now() + STOP_WAIT;
        // Ingests abandoned on a stuck camera read are not waited for: they may never end.
        while !self.tasks.is_empty() && self.cameras.running() > 0 {
            match tokio::time::timeout_at(deadline, self.tasks.join_next_with_id()).await {
                Ok(Some(ended)) => self.on_task_end(ended),
                Ok(None) => break,
                Err(_) => {
                    tracing::error!(
                        "{} ingest(s) did not stop within {STOP_WAIT:?}; exiting anyway: the store removes their temp files at the next start",
                        self.tasks.len()
                    );
                    break;
                }
            }
        }
        self.refresh_status();
        self.replica.stop();
        self.desk.stop(deadline).await;
        // Dropping closes the register's connection and removes the control socket.
        drop(self.register);
        drop(self.control);
        tracing::info!("sentinel-dockd stopped");
    }
}

async fn next_keepalive(interval: &mut Option<tokio::time::Interval>) {
    match interval {
        Some(i) => {
            i.tick().await;
        }
        None => std::future::pending().await,
    }
}
