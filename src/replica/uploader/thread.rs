//! The daemon's uploader thread: its own register connection and a single-threaded
//! runtime for the S3 client, off the supervisor's loop (an upload of gigabytes must not
//! hold up the dock, the status or the operators). Between passes it waits for the next
//! due attempt, a wake-up (an ingest ended) or a new configuration.

use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use std::cell::Cell;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use crate::base::config::Config;
use crate::custody::register::{Location, Register};
use crate::replica::status::ReplicaStatus;
use crate::replica::{Bucket, ReplicaError, ReplicaQueue, UploadFaults, Uploader};

/// The longest wait between two passes (new confirmations, holds, expiry).
const POLL: Duration = Duration::from_secs(2);
/// How long a bucket that could not be set up (credentials) waits before another try.
const SETUP_RETRY: Duration = Duration::from_secs(60);

enum Message {
    Wake,
    Reconfigure(Arc<Config>),
    Stop,
}

/// The uploader thread, seen from the supervisor.
pub(crate) struct UploaderThread {
    tx: mpsc::Sender<Message>,
    status: watch::Receiver<Option<ReplicaStatus>>,
}

impl UploaderThread {
    /// Starts the thread (it idles while `[replica]` has no endpoint).
    pub fn start(
        config: Arc<Config>,
        faults: Option<Arc<dyn UploadFaults>>,
    ) -> std::io::Result<UploaderThread> {
        let (tx, rx) = mpsc::channel();
        let (status_tx, status) = watch::channel(None);
        std::thread::Builder::new()
            .name("replica".into())
            .spawn(move || run(config, faults, rx, status_tx))?;
        Ok(UploaderThread { tx, status })
    }

    /// The replica's state and backlog, as the last pass left them (`None`: no replica).
    pub fn status(&self) -> Option<ReplicaStatus> {
        self.status.borrow().clone()
    }

    /// A recording may have been confirmed: look at the queue now.
    pub(crate) fn wake(&self) {
        let _ = self.tx.send(Message::Wake);
    }

    /// Takes a new configuration between two passes.
    pub(crate) fn reconfigure(&self, config: Arc<Config>) {
        let _ = self.tx.send(Message::Reconfigure(config));
    }

    /// Asks the thread to stop after the request in hand; an upload cut off by the exit is
    /// resumed from the queue at the next start.
    pub fn stop(&self) {
        let _ = self.tx.send(Message::Stop);
    }
}

/// The bucket and register of the configuration in force.
struct Setup {
    config: Arc<Config>,
    register: Register,
    bucket: Bucket,
    anchor_retry: Cell<Option<DateTime<Utc>>>,
}

fn setup(
    config: &Arc<Config>,
    faults: &Option<Arc<dyn UploadFaults>>,
) -> Result<Option<Setup>, ReplicaError> {
    if !config.replica.enabled() {
        return Ok(None);
    }
    let mut bucket = Bucket::connect(&config.replica)?;
    if let Some(faults) = faults {
        bucket = bucket.with_faults(faults.clone());
    }
    let mut register = Location::of(config).open()?;
    let queued = register.in_write(|tx| ReplicaQueue::queue_unqueued(tx, Utc::now()))?;
    if queued > 0 {
        tracing::info!(
            "replica: {queued} stored recording(s) queued for bucket {}",
            bucket.name()
        );
    }
    Ok(Some(Setup {
        config: config.clone(),
        register,
        bucket,
        anchor_retry: Cell::new(None),
    }))
}

fn run(
    mut config: Arc<Config>,
    faults: Option<Arc<dyn UploadFaults>>,
    rx: mpsc::Receiver<Message>,
    status: watch::Sender<Option<ReplicaStatus>>,
) {
    // Multi-threaded (one worker), so that the register's PostgreSQL client, which blocks
    // on a runtime of its own, may be called from this runtime's futures (block_in_place).
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(
                "the replica uploader cannot start its runtime, nothing is replicated: {e}"
            );
            return;
        }
    };
    let mut current: Option<Setup> = None;
    let mut setup_error: Option<String> = None;
    let mut last_backlog = None;
    loop {
        if current.is_none() && config.replica.enabled() {
            match setup(&config, &faults) {
                Ok(s) => {
                    current = s;
                    setup_error = None;
                }
                Err(e) => {
                    if setup_error.as_deref() != Some(&e.to_string()) {
                        tracing::error!(
                            "the replica cannot be used, nothing is replicated until it is fixed: {e}"
                        );
                    }
                    setup_error = Some(e.to_string());
                }
            }
        }
        let mut wait = if setup_error.is_some() {
            SETUP_RETRY
        } else {
            POLL
        };
        match current.as_mut() {
            Some(s) => {
                // The backlog as it stands before a pass that may last (a cap, a big file).
                let before = ReplicaStatus::read(&s.config, &mut s.register, None);
                status.send_replace(before);
                let uploader =
                    Uploader::new(&s.bucket, &s.config).with_anchor_retry(&s.anchor_retry);
                let result = runtime.block_on(uploader.pass(&mut s.register, Utc::now()));
                let busy = match &result {
                    Ok(pass) => {
                        pass.replicated.len() + pass.expired.len() >= super::PER_PASS as usize
                    }
                    Err(e) => {
                        tracing::error!("the replica pass stopped on a register error: {e}");
                        false
                    }
                };
                let published = ReplicaStatus::read(
                    &s.config,
                    &mut s.register,
                    result.err().map(|e| e.to_string()),
                );
                if let Some(report) = published
                    .as_ref()
                    .filter(|r| last_backlog.as_ref() != Some(&r.backlog))
                {
                    report.log();
                    last_backlog = Some(report.backlog.clone());
                }
                status.send_replace(published);
                if busy {
                    wait = Duration::ZERO;
                } else if let Ok(Some(next)) =
                    s.register.read().and_then(|tx| ReplicaQueue::next_due(&tx))
                {
                    let until = (next - Utc::now()).to_std().unwrap_or(Duration::ZERO);
                    wait = wait.min(until);
                }
            }
            None => {
                status.send_replace(
                    setup_error
                        .as_ref()
                        .map(|e| ReplicaStatus::unusable(&config, e)),
                );
            }
        }
        match rx.recv_timeout(wait) {
            Ok(Message::Wake) | Err(RecvTimeoutError::Timeout) => {}
            Ok(Message::Reconfigure(new)) => {
                config = new;
                current = None;
                setup_error = None;
            }
            Ok(Message::Stop) | Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}
