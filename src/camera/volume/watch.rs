//! How long the device's current read has been waiting, for the deadline on every camera
//! read: a stalled USB device can block a `pread` forever, and only another thread can see
//! it. The volume marks each read's start and end; the service looks from its own thread.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// The start of the device read in flight on one volume, if any; cheap to clone and share.
#[derive(Debug, Clone, Default)]
pub(crate) struct ReadWatch(Arc<AtomicU64>);

/// Marks a read in flight until dropped.
pub(crate) struct InFlight<'w>(&'w ReadWatch);

fn base() -> Instant {
    static BASE: OnceLock<Instant> = OnceLock::new();
    *BASE.get_or_init(Instant::now)
}

/// Milliseconds since `base`, plus one so that 0 means "no read in flight".
fn now_mark() -> u64 {
    u64::try_from(base().elapsed().as_millis())
        .unwrap_or(u64::MAX - 1)
        .saturating_add(1)
}

impl ReadWatch {
    /// A watch with no read in flight.
    pub fn new() -> ReadWatch {
        ReadWatch::default()
    }

    /// Marks a device read as started; it ends when the returned guard is dropped.
    pub(crate) fn begin(&self) -> InFlight<'_> {
        self.0.store(now_mark(), Ordering::Release);
        InFlight(self)
    }

    /// How long the read in flight has been waiting; `None` when no read is in flight.
    pub(crate) fn waiting_for(&self) -> Option<Duration> {
        match self.0.load(Ordering::Acquire) {
            0 => None,
            started => Some(Duration::from_millis(now_mark().saturating_sub(started))),
        }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.0.store(0, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_in_flight_is_seen_waiting_until_it_returns() {
        let w = ReadWatch::new();
        assert_eq!(w.waiting_for(), None);
        let read = w.begin();
        std::thread::sleep(Duration::from_millis(20));
        assert!(
            w.waiting_for()
                .is_some_and(|d| d >= Duration::from_millis(15))
        );
        drop(read);
        assert_eq!(w.waiting_for(), None);
    }
}
