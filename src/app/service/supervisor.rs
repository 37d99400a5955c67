//! The supervisor: one `select!` over dock changes, ended ingests, the control socket, a
//! timer and signals. It alone decides what runs; ingests run on blocking threads and
//! report back by message (STYLE: stratisd's `run.rs`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::{Id, JoinError, JoinSet};

use crate::app::commands::access;
use crate::app::control::{self, ControlSocket, Query, ServiceHandle};
use crate::base::config::Config;
use crate::base::error::chain;
use crate::base::events;
use crate::camera::dock::{DockChange, DockWatcher, Refusal};
use crate::custody::register::{DockEvent, Register, StoredSince};
use crate::custody::store::Store;
use crate::replica::UploaderThread;

use super::ServiceError;
use super::cameras::{Cameras, DockingId};
use super::desk::{Desk, Job};
use super::outcome;
use super::slot::{self, Finished, SlotJob, SlotOutcome};
use super::store_wait;
use super::systemd::Systemd;

/// How long in-flight ingests get to stop on SIGTERM (the unit's stop timeout is longer).
const STOP_WAIT: Duration = Duration::from_secs(20);
/// How often the status line, the RAID and the dock watcher's health are checked.
const TICK: Duration = Duration::from_secs(1);
/// Control connections served at once; more are closed at once, so that callers cannot
/// use up the descriptors the ingests need.
const MAX_CONNECTIONS: usize = 32;

/// The signals the service obeys, registered before it says READY.
pub(super) struct Signals {
    pub(super) term: Signal,
    pub(super) int: Signal,
    hup: Signal,
}

impl Signals {
    fn register() -> Result<Signals, ServiceError> {
        let on = |kind| signal(kind).map_err(ServiceError::Runtime);
        Ok(Signals {
            term: on(SignalKind::terminate())?,
            int: on(SignalKind::interrupt())?,
            hup: on(SignalKind::hangup())?,
        })
    }
}

/// The running service's state; only the supervisor's loop touches it.
pub(crate) struct Supervisor {
    pub(super) config_path: PathBuf,
    pub(super) config: Arc<Config>,
    pub(super) config_tx: watch::Sender<Arc<Config>>,
    pub(super) started_at: chrono::DateTime<Utc>,
    pub(super) cameras: Cameras,
    pub(super) refused: BTreeMap<String, Refusal>,
    tasks: JoinSet<Finished>,
    task_dockings: HashMap<Id, DockingId>,
    pub(super) register: Register,
    pub(super) store: Arc<Store>,
    /// Operators' register commands, attributions and the daily upkeep, on their own thread.
    pub(super) desk: Desk,
    /// The S3 replica's uploader, on its own thread (idle without `[replica] endpoint`).
    pub(super) replica: UploaderThread,
    pub(super) dock: DockWatcher,
    pub(super) dock_rx: mpsc::Receiver<DockChange>,
    pub(super) control: ControlSocket,
    connections: Arc<Semaphore>,
    signals: Signals,
    queries_rx: mpsc::Receiver<Query>,
    handle: ServiceHandle,
    pub(super) systemd: Systemd,
    /// Arrays known to be degraded, so that each is logged once when it degrades.
    pub(super) raid_degraded: BTreeSet<String>,
    pub(super) rate_cache: Option<(Instant, Result<StoredSince, String>)>,
    dock_was_healthy: bool,
    /// Why the store's disk is gone while the service runs, if it is: nothing starts.
    pub(super) store_missing: Option<String>,
    pub(super) stopping: bool,
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
        let desk = Desk::start(config.clone(), store.clone())?;
        let replica = UploaderThread::start(config.clone(), None).map_err(ServiceError::Runtime)?;
        let (config_tx, config_rx) = watch::channel(config.clone());
        let (queries_tx, queries_rx) = mpsc::channel(64);
        let mut supervisor = Supervisor {
            config_path,
            config,
            config_tx,
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
            handle: ServiceHandle::new(queries_tx, config_rx),
            systemd,
            raid_degraded: BTreeSet::new(),
            rate_cache: None,
            dock_was_healthy: true,
            store_missing: None,
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
        tracing::info!(
            message_id = events::SERVICE_STARTED.id,
            dock = %supervisor.config.dock.path.display(),
            socket = %supervisor.config.control.socket.display(),
            "sentinel-dockd started: {} camera(s) docked, watching {}",
            supervisor.cameras.all().count(),
            supervisor.config.dock.path.display()
        );
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
    pub(super) fn on_dock_change(&mut self, change: DockChange) {
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
                let agent = self.carried_by(&slot);
                self.record_dock_event(&slot, DockEvent::Docked);
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
                self.record_dock_event(&slot, DockEvent::Undocked);
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

    /// The agent whose issue of the camera in `slot` is still open, for its dock card;
    /// none when it was not issued or the register cannot say (logged, never fatal).
    fn carried_by(&mut self, slot: &str) -> Option<String> {
        let found = self.register.read().and_then(|tx| {
            match crate::custody::register::perception::assignment_at(&tx, slot, Utc::now())? {
                Some(a) if a.ended().is_none() => {
                    let agent = crate::custody::register::perception::agent(&tx, &a.agent)?;
                    Ok(Some(match agent {
                        Some(p) => format!("{} ({})", p.name, p.matricule),
                        None => a.agent,
                    }))
                }
                _ => Ok(None),
            }
        });
        found.unwrap_or_else(|e| {
            tracing::warn!(slot, "cannot read who carried the camera: {e}");
            None
        })
    }

    /// Dock events are the perception register's return and issue times: recorded by slot,
    /// which the udev rule names after the camera's USB serial.
    fn record_dock_event(&mut self, slot: &str, event: DockEvent) {
        // The supervisor runs on the runtime's main thread (block_on): a short SQLite
        // write pauses only the supervisor, never the workers serving ingests and callers.
        if let Err(e) = self
            .register
            .record_dock_event(slot, event, slot, Utc::now())
        {
            tracing::error!(
                slot,
                "cannot record the {} event in the register: {e}",
                event.as_str()
            );
        }
    }

    /// Starts what `ingest.max_parallel` allows.
    pub(super) fn schedule(&mut self) {
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
        let state = outcome::camera_state(&finished.outcome);
        let serial = outcome::identified_serial(&finished.outcome);
        self.cameras.finish(finished.docking, state, serial);
        self.rate_cache = None; // the store just took bytes in
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
        let missing = store_wait::store_missing(&self.config, &self.store);
        match (&self.store_missing, missing) {
            (None, Some(why)) => {
                tracing::error!(
                    message_id = events::STORE_NOT_MOUNTED.id,
                    store = %self.config.store.path.display(),
                    "{}: {why}; cameras docked meanwhile wait, untouched",
                    store_wait::NOT_MOUNTED
                );
                self.store_missing = Some(why);
            }
            (Some(_), Some(why)) => self.store_missing = Some(why),
            (Some(_), None) if self.tasks.is_empty() => {
                let reopened = Store::open_checked(
                    &self.config.store.path,
                    self.config.store.mount.as_deref(),
                    self.store.identity(),
                );
                match reopened {
                    Ok(store) => {
                        // The old one first: its lock is on the disk that went away.
                        self.store = Arc::new(store);
                        self.desk.send(Job::Reconfigure {
                            config: self.config.clone(),
                            store: self.store.clone(),
                        });
                        self.store_missing = None;
                        self.rate_cache = None;
                        tracing::info!(
                            message_id = events::STORE_MOUNTED.id,
                            store = %self.config.store.path.display(),
                            "the store {} is mounted again: the service resumes",
                            self.config.store.path.display()
                        );
                        self.schedule();
                    }
                    // The same store after all (a file read failed for a moment): still ours.
                    Err(crate::custody::store::StoreError::Owned { pid, .. })
                        if pid == Some(std::process::id()) =>
                    {
                        self.store_missing = None;
                        self.schedule();
                    }
                    Err(e) => self.store_missing = Some(chain(&e)),
                }
            }
            (Some(_), None) | (None, None) => {}
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

/// Starts watching the configured dock folder: the watcher, its channel, the cameras already there.
pub(super) fn watch_dock(
    config: &Config,
) -> Result<(DockWatcher, mpsc::Receiver<DockChange>, Vec<DockChange>), ServiceError> {
    let (tx, rx) = mpsc::channel(256);
    let (watcher, initial) =
        DockWatcher::start(&config.dock.path, tx).map_err(|source| ServiceError::Dock {
            path: config.dock.path.clone(),
            source,
        })?;
    Ok((watcher, rx, initial))
}

async fn next_keepalive(interval: &mut Option<tokio::time::Interval>) {
    match interval {
        Some(i) => {
            i.tick().await;
        }
        None => std::future::pending().await,
    }
}
