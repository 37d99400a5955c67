//! Whether the register answers. A PostgreSQL register can be down, restarting or cut
//! off while the dock runs: that is a state of the service, not a camera's failure. A
//! probe thread asks the server every second or two (its own connection, so that the
//! supervisor's loop never waits on a lost network); an ingest that loses the register
//! says so at once. The supervisor logs each change once (`register-unreachable`,
//! `register-reachable`), shows it in the status and `STATUS=`, holds the dock events
//! meanwhile, and ingests the waiting cameras as soon as the register answers.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::app::status::{REGISTER_UNREACHABLE, RegisterHealth, RegisterState};
use crate::base::config::Config;
use crate::base::error::chain;
use crate::base::events;
use crate::custody::register::{DockEvent, Location, Register, RegisterError};

/// The probe's pause while the register answers, and while it does not.
const PROBE_UP: Duration = Duration::from_secs(2);
const PROBE_DOWN: Duration = Duration::from_secs(1);
/// How often the probe thread looks at its stop flag while it pauses.
const STOP_CHECK: Duration = Duration::from_millis(100);

/// The last probe's answer.
#[derive(Debug, Clone)]
struct Probe {
    at: Instant,
    error: Option<String>,
}

/// Since when, and why, the register does not answer.
#[derive(Debug, Clone)]
struct Down {
    since: DateTime<Utc>,
    error: String,
}

/// A dock event that could not be written while the register was unreachable.
#[derive(Debug, Clone)]
struct HeldEvent {
    slot: String,
    event: DockEvent,
    at: DateTime<Utc>,
}

/// What a look at the probe found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Change {
    /// Nothing new.
    None,
    /// The register answers again (logged): ingest the cameras that waited.
    Back,
}

/// The register's reachability as the supervisor knows it.
pub(super) struct RegisterWatch {
    server: String,
    latest: Arc<Mutex<Option<Probe>>>,
    stop: Arc<AtomicBool>,
    down: Option<Down>,
    /// When an ingest or the supervisor last found it unreachable: older probes are stale.
    reported: Option<Instant>,
    held: Vec<HeldEvent>,
}

impl RegisterWatch {
    /// Starts watching the register `config` names; a SQLite file is never unreachable,
    /// so only a PostgreSQL register gets a probe thread.
    pub(super) fn start(config: &Config) -> RegisterWatch {
        let location = Location::of(config);
        let latest = Arc::new(Mutex::new(None));
        let stop = Arc::new(AtomicBool::new(false));
        if location.sqlite_path().is_none() {
            let (latest, stop) = (latest.clone(), stop.clone());
            let spawned = std::thread::Builder::new()
                .name("register-probe".into())
                .spawn(move || probe_loop(&location, &latest, &stop));
            if let Err(e) = spawned {
                tracing::error!(
                    "cannot start the register's probe thread ({e}): an unreachable register is noticed by the ingests only"
                );
            }
        }
        RegisterWatch {
            server: Location::of(config).describe(),
            latest,
            stop,
            down: None,
            reported: None,
            held: Vec::new(),
        }
    }

    /// Whether the register is known to be unreachable now.
    pub(super) fn is_down(&self) -> bool {
        self.down.is_some()
    }

    /// The register's part of the status.
    pub(super) fn health(&self) -> RegisterHealth {
        RegisterHealth {
            server: self.server.clone(),
            state: if self.is_down() {
                RegisterState::Unreachable
            } else {
                RegisterState::Reachable
            },
            since: self.down.as_ref().map(|d| d.since),
            error: self.down.as_ref().map(|d| d.error.clone()),
        }
    }

    /// An ingest or the supervisor found the register unreachable.
    pub(super) fn lost(&mut self, error: String) {
        self.reported = Some(Instant::now());
        self.went_down(error);
    }

    /// Takes the probe's latest answer, when it is newer than the last loss reported.
    pub(super) fn poll(&mut self) -> Change {
        let probe = match self.latest.lock() {
            Ok(latest) => latest.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        let Some(probe) = probe else {
            return Change::None;
        };
        if self.reported.is_some_and(|at| probe.at <= at) {
            return Change::None;
        }
        match probe.error {
            Some(error) => {
                self.went_down(error);
                Change::None
            }
            None if self.down.is_some() => {
                let down = self.down.take();
                let since = down.map(|d| d.since).unwrap_or_else(Utc::now);
                tracing::info!(
                    message_id = events::REGISTER_REACHABLE.id,
                    server = %self.server,
                    "the register answers again ({}) after {} s: the cameras that waited for it are ingested now",
                    self.server,
                    (Utc::now() - since).num_seconds().max(0)
                );
                Change::Back
            }
            None => Change::None,
        }
    }

    fn went_down(&mut self, error: String) {
        match &mut self.down {
            Some(down) => down.error = error,
            None => {
                tracing::error!(
                    message_id = events::REGISTER_UNREACHABLE.id,
                    server = %self.server,
                    error = %error,
                    "{REGISTER_UNREACHABLE}: {error}; docked cameras keep their recordings, nothing is committed or wiped until it answers, and the service tries again by itself"
                );
                self.down = Some(Down {
                    since: Utc::now(),
                    error,
                });
            }
        }
    }

    /// Records a dock event, or holds it (in order) while the register is unreachable.
    pub(super) fn record_dock_event(
        &mut self,
        register: &mut Register,
        slot: &str,
        event: DockEvent,
    ) {
        self.held.push(HeldEvent {
            slot: slot.to_string(),
            event,
            at: Utc::now(),
        });
        if !self.is_down() {
            self.flush(register);
        }
    }

    /// Writes the dock events held while the register was unreachable, oldest first,
    /// each with the time it happened.
    pub(super) fn flush(&mut self, register: &mut Register) {
        while let Some(first) = self.held.first() {
            // By slot, which the udev rule names after the camera's USB serial.
            match register.record_dock_event(&first.slot, first.event, &first.slot, first.at) {
                Ok(()) => {}
                Err(e) if e.is_unreachable() => {
                    self.lost(chain(&e));
                    return;
                }
                Err(e) => tracing::error!(
                    slot = %first.slot,
                    "cannot record the {} event in the register: {e}",
                    first.event.as_str()
                ),
            }
            self.held.remove(0);
        }
    }

    /// A register operation's error: an unreachable register is noted (and logged once).
    pub(super) fn note(&mut self, e: &RegisterError) {
        if e.is_unreachable() {
            self.lost(chain(e));
        }
    }
}

impl Drop for RegisterWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Asks the register, with its own connection, until stopped.
fn probe_loop(location: &Location, latest: &Mutex<Option<Probe>>, stop: &AtomicBool) {
    let mut register: Option<Register> = None;
    while !stop.load(Ordering::Relaxed) {
        let answer = probe(location, &mut register);
        // A refusal (a password changed, a permission) is an answer: the ingests report it.
        let error = answer.err().filter(RegisterError::is_unreachable);
        let pause = if error.is_none() {
            PROBE_UP
        } else {
            PROBE_DOWN
        };
        let probe = Probe {
            at: Instant::now(),
            error: error.map(|e| chain(&e)),
        };
        match latest.lock() {
            Ok(mut latest) => *latest = Some(probe),
            Err(poisoned) => *poisoned.into_inner() = Some(probe),
        }
        let until = Instant::now() + pause;
        while Instant::now() < until && !stop.load(Ordering::Relaxed) {
            std::thread::sleep(STOP_CHECK);
        }
    }
}

/// One question to the register: a read transaction begun and ended. The connection is
/// kept (it reconnects by itself once the server is back).
fn probe(location: &Location, register: &mut Option<Register>) -> Result<(), RegisterError> {
    let open = match register {
        Some(open) => open,
        None => register.insert(location.open()?),
    };
    open.read().map(drop)
}

/// Brings a long-lived connection back once the server answers again: a connection the
/// server lost is only known lost once used, so it is used once here (a read begun and
/// ended), and a second time, reconnected, if that first use found it lost. The next
/// command or dock event then does not fail on a server that is back.
pub(super) fn refresh(register: &mut Register) {
    if register.read().map(drop).is_err_and(|e| e.is_unreachable()) {
        let _ = register.read().map(drop);
    }
}
