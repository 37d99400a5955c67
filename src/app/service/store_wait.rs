//! Before the supervisor starts: the store and register opened as their one owner, and,
//! while the store's disk is not mounted, a service that waits for it instead of creating
//! a fresh store on the disk below (issue 9). Meanwhile the status says "store not
//! mounted" (systemd's STATUS, and every control request's answer), the journal says it
//! once, docked cameras are left untouched, and the service resumes by itself once the
//! disk is back. A PostgreSQL register that does not answer at start is waited for the
//! same way ("register unreachable").

use std::time::Duration;

use chrono::Utc;
use tokio::net::UnixStream;

use crate::app::control::protocol::{ErrorCode, Response};
use crate::app::control::{ControlSocket, transport};
use crate::app::status::REGISTER_UNREACHABLE;
use crate::base::config::Config;
use crate::base::error::chain;
use crate::base::events;
use crate::custody::opener::{self, OwnerError};
use crate::custody::register::{Location, Register};
use crate::custody::store::{Store, StoreError};

use super::ServiceError;
use super::inputs::Signals;
use super::systemd::Systemd;

/// How often the mount point is looked at again while the disk is absent.
const RETRY: Duration = Duration::from_secs(1);
/// The one status line while waiting (tests and operators look for these words).
const NOT_MOUNTED: &str = "store not mounted";

/// What the service owns once the store is there.
pub(super) struct Owned {
    /// The store, locked for the service's life.
    pub store: Store,
    /// The register.
    pub register: Register,
    /// The control socket, bound while waiting so that `status` could say why.
    pub control: ControlSocket,
}

/// Opens the store and register, waiting while the store's disk is not mounted; `None`
/// when SIGTERM or SIGINT came first.
pub(super) async fn open_when_mounted(
    config: &Config,
    signals: &mut Signals,
    systemd: &mut Systemd,
) -> Result<Option<Owned>, ServiceError> {
    let control = ControlSocket::bind(&config.control.socket)?;
    let mut waiting: Option<Wait> = None;
    let mut keepalive = systemd.keepalive_every().map(tokio::time::interval);
    loop {
        match opener::open(&config.store, &Location::of(config), Utc::now()) {
            Ok((store, register)) => {
                match waiting {
                    Some(Wait::NotMounted(_)) => tracing::info!(
                        message_id = events::STORE_MOUNTED.id,
                        store = %config.store.path.display(),
                        "the store {} is mounted again: the service resumes",
                        config.store.path.display()
                    ),
                    Some(Wait::Register(_)) => tracing::info!(
                        message_id = events::REGISTER_REACHABLE.id,
                        server = %Location::of(config).describe(),
                        "the register answers ({}): the service starts",
                        Location::of(config).describe()
                    ),
                    None => {}
                }
                return Ok(Some(Owned {
                    store,
                    register,
                    control,
                }));
            }
            Err(e) if e.is_not_mounted() => {
                let why = chain(&e);
                if !matches!(waiting, Some(Wait::NotMounted(_))) {
                    tracing::error!(
                        message_id = events::STORE_NOT_MOUNTED.id,
                        store = %config.store.path.display(),
                        "{NOT_MOUNTED}: {why}; cameras docked meanwhile wait, untouched"
                    );
                    // READY, so that systemd does not kill a service that is only waiting.
                    systemd.ready();
                }
                systemd.status(&format!("{NOT_MOUNTED}: waiting for {}", mount_of(config)));
                waiting = Some(Wait::NotMounted(why));
            }
            // A PostgreSQL register down at start: waited for as the store's disk is.
            Err(OwnerError::Register(e)) if e.is_unreachable() => {
                let why = chain(&e);
                if !matches!(waiting, Some(Wait::Register(_))) {
                    tracing::error!(
                        message_id = events::REGISTER_UNREACHABLE.id,
                        server = %Location::of(config).describe(),
                        error = %why,
                        "{REGISTER_UNREACHABLE}: {why}; the service starts once it answers, and cameras docked meanwhile wait, untouched"
                    );
                    systemd.ready();
                }
                systemd.status(&format!(
                    "{REGISTER_UNREACHABLE}: waiting for {}",
                    Location::of(config).describe()
                ));
                waiting = Some(Wait::Register(why));
            }
            Err(OwnerError::Store(e)) => return Err(e.into()),
            Err(OwnerError::Register(e)) => return Err(e.into()),
        }
        let why = waiting.as_ref().map(Wait::answer).unwrap_or_default();
        let sleep = tokio::time::sleep(RETRY);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                () = &mut sleep => break,
                accepted = control.accept() => {
                    if let Ok(stream) = accepted {
                        tokio::spawn(answer_waiting(stream, why.clone()));
                    }
                }
                _ = next_tick(&mut keepalive) => systemd.keepalive(),
                _ = signals.term.recv() => return Ok(None),
                _ = signals.int.recv() => return Ok(None),
            }
        }
    }
}

/// What the service waits for before it can start.
enum Wait {
    /// The store's disk, and why it is not there.
    NotMounted(String),
    /// The register's server, and what the connection said.
    Register(String),
}

impl Wait {
    /// The answer to every control request meanwhile.
    fn answer(&self) -> String {
        match self {
            Wait::NotMounted(why) => format!(
                "{NOT_MOUNTED}: {why}; the service waits for the store's disk and resumes by itself once it is mounted"
            ),
            Wait::Register(why) => format!(
                "{REGISTER_UNREACHABLE}: {why}; the service starts by itself once it answers"
            ),
        }
    }
}

fn mount_of(config: &Config) -> String {
    config
        .store
        .mount
        .as_deref()
        .unwrap_or(&config.store.path)
        .display()
        .to_string()
}

async fn next_tick(interval: &mut Option<tokio::time::Interval>) {
    match interval {
        Some(i) => {
            i.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// Answers one request with why nothing can be served yet, then hangs up.
async fn answer_waiting(stream: UnixStream, why: String) {
    let mut reader = transport::LineReader::new(64 * 1024);
    let read = tokio::time::timeout(Duration::from_secs(5), reader.next_line(&stream)).await;
    if !matches!(read, Ok(Ok(Some(_)))) {
        return;
    }
    let response = Response::error(ErrorCode::Unavailable, why);
    if let Ok(mut line) = serde_json::to_vec(&response) {
        line.push(b'\n');
        let _ = transport::send_line(&stream, &line, None).await;
    }
}

/// Whether the store the service holds is still where it was opened: the mount point is
/// mounted and the store's identity file is the one it opened (a disk gone while the
/// service runs leaves the folder of the disk below at the same path).
pub(super) fn store_missing(config: &Config, store: &Store) -> Option<String> {
    if let Err(e) = opener::check_mounted(&config.store) {
        return Some(chain(&e));
    }
    let expected = store.identity()?;
    let path = store.root().join(crate::custody::store::IDENTITY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(found) if found.trim() == expected => None,
        Ok(found) => Some(format!(
            "the store is not mounted: {} holds store {}, not store {expected}",
            store.root().display(),
            found.trim()
        )),
        Err(e) => Some(format!(
            "the store is not mounted: {} cannot be read ({e}); it should hold store {expected}",
            path.display()
        )),
    }
}

/// What a check of the store's disk, while the service runs, found.
pub(super) enum Recheck {
    /// Nothing to do: present as before, or still gone, or back while ingests still run.
    Unchanged,
    /// The disk is back: the store reopened as the one the service held (its lock, its
    /// leftovers); the cameras may start again.
    Reopened(Store),
    /// The store was there all along (a file read failed for a moment): still the
    /// service's own; the cameras may start again.
    StillOurs,
}

/// Checks the store's disk again: notes (and logs once) its going away in `missing`, and
/// once it is back and no ingest runs (`idle`), reopens the store.
pub(super) fn recheck(
    config: &Config,
    store: &Store,
    missing: &mut Option<String>,
    idle: bool,
) -> Recheck {
    match (missing.is_some(), store_missing(config, store)) {
        (false, Some(why)) => {
            tracing::error!(
                message_id = events::STORE_NOT_MOUNTED.id,
                store = %config.store.path.display(),
                "{NOT_MOUNTED}: {why}; cameras docked meanwhile wait, untouched"
            );
            *missing = Some(why);
            Recheck::Unchanged
        }
        (true, Some(why)) => {
            *missing = Some(why);
            Recheck::Unchanged
        }
        (true, None) if idle => {
            let reopened = Store::open_checked(
                &config.store.path,
                config.store.mount.as_deref(),
                store.identity(),
            );
            match reopened {
                Ok(store) => {
                    *missing = None;
                    Recheck::Reopened(store)
                }
                Err(StoreError::Owned { pid, .. }) if pid == Some(std::process::id()) => {
                    *missing = None;
                    Recheck::StillOurs
                }
                Err(e) => {
                    *missing = Some(chain(&e));
                    Recheck::Unchanged
                }
            }
        }
        (true, None) | (false, None) => Recheck::Unchanged,
    }
}
