//! Talking to systemd in process (sd_notify): READY, STATUS, WATCHDOG, RELOADING, STOPPING.
//! Without `NOTIFY_SOCKET` (not started by systemd) every call does nothing.

use std::time::Duration;

use sd_notify::NotifyState;

/// The service's side of the notify protocol.
#[derive(Debug)]
pub(crate) struct Systemd {
    watchdog: Option<Duration>,
    last_status: String,
    warned: bool,
}

impl Systemd {
    /// Reads the watchdog interval systemd asked for (`WATCHDOG_USEC`), if any.
    pub fn new() -> Systemd {
        Systemd {
            watchdog: sd_notify::watchdog_enabled(),
            last_status: String::new(),
            warned: false,
        }
    }

    /// How often to send keep-alives: half the watchdog interval, as sd_notify(3) advises.
    pub(crate) fn keepalive_every(&self) -> Option<Duration> {
        self.watchdog
            .map(|d| (d / 2).max(Duration::from_millis(10)))
    }

    /// Start-up is done.
    pub fn ready(&mut self) {
        self.send(&[NotifyState::Ready]);
    }

    /// The configuration is being reloaded (READY follows).
    pub(crate) fn reloading(&mut self) {
        match NotifyState::monotonic_usec_now() {
            Ok(now) => self.send(&[NotifyState::Reloading, now]),
            Err(_) => self.send(&[NotifyState::Reloading]),
        }
    }

    /// The service is stopping.
    pub fn stopping(&mut self) {
        self.send(&[NotifyState::Stopping]);
    }

    /// The main loop is alive and healthy.
    pub(crate) fn keepalive(&mut self) {
        self.send(&[NotifyState::Watchdog]);
    }

    /// The one-line status, sent only when it changed.
    pub fn status(&mut self, text: &str) {
        if text != self.last_status {
            self.last_status = text.to_string();
            self.send(&[NotifyState::Status(text)]);
        }
    }

    fn send(&mut self, states: &[NotifyState<'_>]) {
        if let Err(e) = sd_notify::notify(states)
            && !self.warned
        {
            tracing::warn!("cannot notify systemd (NOTIFY_SOCKET): {e}");
            self.warned = true;
        }
    }
}
