//! The daemon's scrubs: every `[scrub] every_days` by itself, and for `sentinel-dockctl
//! scrub`. Each runs on its own thread with its own register connection: reading a store
//! of terabytes back takes hours, and the registers desk (the status, consultations) and
//! the dock must not wait for it. One runs at a time. Its outcome is kept for the status
//! (a scrub with problems stays a warning until one finds none), from the audit register,
//! so that a restart forgets nothing.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::{oneshot, watch};

use crate::app::commands::{self, CommandError, Reply};
use crate::app::status::ScrubStatus;
use crate::base::clock::SystemClock;
use crate::base::config::Config;
use crate::base::error::{Chain, chain};
use crate::custody::register::audit::SERVICE_AUTHOR;
use crate::custody::register::{Location, Register, RegisterError};
use crate::custody::store::Store;

/// Where a scrub's answer goes, when a person asked for it.
pub(crate) type ScrubReply = oneshot::Sender<Result<Reply, CommandError>>;

/// The scrub running now.
struct Running {
    thread: JoinHandle<()>,
    started: DateTime<Utc>,
    author: String,
}

/// Starts scrubs, one at a time, and knows when the next is due.
pub(crate) struct Scrubber {
    every: Option<Duration>,
    next: Option<Instant>,
    running: Option<Running>,
    last: watch::Sender<Option<ScrubStatus>>,
}

impl Scrubber {
    /// Reads the last scrub from the audit register: the next is due `every_days` after it,
    /// or now when the store was never scrubbed.
    pub fn new(register: &mut Register, config: &Config) -> Result<Scrubber, RegisterError> {
        let last = commands::last_scrub(&register.read()?)?;
        let mut scrubber = Scrubber {
            every: None,
            next: None,
            running: None,
            last: watch::Sender::new(last),
        };
        scrubber.reconfigure(config);
        Ok(scrubber)
    }

    /// The last scrub's outcome, as it changes.
    pub(crate) fn subscribe(&self) -> watch::Receiver<Option<ScrubStatus>> {
        self.last.subscribe()
    }

    /// When the service's own next scrub is due (`None`: `every_days = 0`).
    pub fn due(&self) -> Option<Instant> {
        self.next
    }

    /// Takes a new `[scrub] every_days`.
    pub(crate) fn reconfigure(&mut self, config: &Config) {
        let days = u64::from(config.scrub.every_days);
        self.every = (days > 0).then(|| Duration::from_secs(days * 24 * 60 * 60));
        self.next = self.every.map(|every| {
            let last = self.last.borrow().as_ref().map(|s| s.at);
            let wait = last
                .and_then(|at| (at + every - Utc::now()).to_std().ok())
                .unwrap_or(Duration::ZERO);
            Instant::now() + wait.min(every)
        });
    }

    /// The service's own scrub, now that it is due.
    pub(crate) fn start_due(&mut self, config: &Config, store: Arc<Store>) {
        if let Err(e) = self.start(SERVICE_AUTHOR, config, store, None, false) {
            tracing::info!("the service's scrub waits: {}", Chain(&e));
        }
    }

    /// Starts a scrub for `author` on its own thread, unless one is running; its answer
    /// goes to `reply`. The next scheduled scrub is then `every_days` away. With a replica,
    /// its objects are checked too (read back with `read_data`).
    pub fn start(
        &mut self,
        author: &str,
        config: &Config,
        store: Arc<Store>,
        reply: Option<ScrubReply>,
        read_data: bool,
    ) -> Result<(), CommandError> {
        self.next = self.every.map(|every| Instant::now() + every);
        if let Some(r) = self.running.as_ref().filter(|r| !r.thread.is_finished()) {
            let busy = CommandError::Invalid(format!(
                "a scrub is already running, started at {} by {}: its outcome goes to the audit register and the status; ask again once it has ended",
                r.started.format("%Y-%m-%d %H:%M:%S UTC"),
                r.author
            ));
            return match reply {
                Some(reply) => {
                    let _ = reply.send(Err(busy));
                    Ok(())
                }
                None => Err(busy),
            };
        }
        let register_path = Location::of(config);
        let replica = config.replica.clone();
        let last = self.last.clone();
        let who = author.to_string();
        tracing::info!("scrub of {} started by {who}", store.root().display());
        let thread = std::thread::Builder::new()
            .name("scrub".into())
            .spawn(move || {
                let result = scrub_once(&register_path, &store, &who, &last)
                    .map(|reply| with_replica(reply, &register_path, &replica, read_data, &who));
                if let Err(e) = &result {
                    tracing::error!("the scrub by {who} could not run: {}", Chain(e));
                }
                if let Some(reply) = reply {
                    let _ = reply.send(result);
                }
            })
            .map_err(|e| CommandError::Invalid(format!("cannot start a scrub thread: {e}")))?;
        self.running = Some(Running {
            thread,
            started: Utc::now(),
            author: author.to_string(),
        });
        Ok(())
    }
}

/// One scrub on a register connection of its own; the status learns its outcome from the
/// audit entry it wrote.
fn scrub_once(
    register_path: &Location,
    store: &Store,
    author: &str,
    last: &watch::Sender<Option<ScrubStatus>>,
) -> Result<Reply, CommandError> {
    let mut register = register_path.open()?;
    let reply = commands::run_scrub(store, &mut register, &SystemClock, author)?;
    let traced = commands::last_scrub(&register.read()?)?;
    last.send_replace(traced);
    Ok(reply)
}

/// The replica's part of a scrub, when one is configured: added to the reply (a replica
/// that cannot be reached is a problem of the reply, never a lost scrub of the store).
fn with_replica(
    mut reply: Reply,
    register_path: &Location,
    replica: &crate::base::config::ReplicaConfig,
    read_data: bool,
    author: &str,
) -> Reply {
    if !replica.enabled() {
        return reply;
    }
    let outcome = (|| -> Result<crate::replica::ReplicaScrub, String> {
        let bucket = crate::replica::Bucket::connect(replica).map_err(|e| chain(&e))?;
        let mut register = register_path.open().map_err(|e| e.to_string())?;
        // Multi-threaded (one worker), so that the register's PostgreSQL client, which blocks
        // on a runtime of its own, may be called from this runtime's futures (block_in_place).
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        runtime
            .block_on(crate::replica::scrub_replica(
                &bucket,
                &mut register,
                read_data,
                author,
                Utc::now(),
            ))
            .map_err(|e| chain(&e))
    })();
    match outcome {
        Ok(found) => {
            reply.message.push_str(&found.summary(&replica.bucket));
            reply.data["replica_checked"] = serde_json::json!(found.checked);
            reply.data["replica_problems"] = serde_json::json!(found.problems.len());
            reply.success &= found.problems.is_empty();
        }
        Err(e) => {
            tracing::error!("the replica could not be scrubbed: {e}");
            reply.message.push_str(&format!(
                "replica bucket {}: not checked: {e}\n",
                replica.bucket
            ));
            reply.success = false;
        }
    }
    reply
}
