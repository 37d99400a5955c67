//! The read budget and deadline that bound every operation on a FAT volume.
//!
//! fatfs follows cluster chains without a cycle check, so a looping FAT makes it read
//! forever. It cannot be told to stop, but every byte it reads goes through our storage,
//! which asks the guard first: once the operation's budget or deadline is spent, every
//! read and write fails, and fatfs returns the error up to us.

use std::io;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Why the guard stopped an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trip {
    /// More bytes were read or written than the operation can legitimately need.
    Budget(u64),
    /// The operation ran past its deadline.
    Deadline(Duration),
}

#[derive(Debug)]
struct State {
    budget: u64,
    used: u64,
    started: Instant,
    deadline: Option<Instant>,
    tripped: Option<Trip>,
}

/// Shared between a volume and its storage: the volume arms it, the storage charges it.
#[derive(Debug)]
pub(crate) struct Guard(Mutex<State>);

/// The error the storage returns once the guard has tripped; found again by `tripped`.
#[derive(Debug, thiserror::Error)]
#[error("operation stopped by the volume guard: {0:?}")]
pub(crate) struct Tripped(pub Trip);

impl Guard {
    pub(crate) fn new() -> Guard {
        Guard(Mutex::new(State {
            budget: 0,
            used: 0,
            started: Instant::now(),
            deadline: None,
            tripped: None,
        }))
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock leaves only counters behind: still usable.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Starts an operation that may move `budget` bytes, before `deadline` if any.
    pub(crate) fn arm(&self, budget: u64, deadline: Option<Duration>) {
        let mut s = self.state();
        let now = Instant::now();
        s.budget = budget;
        s.used = 0;
        s.started = now;
        s.deadline = deadline.map(|d| now + d);
        s.tripped = None;
    }

    /// Gives the current operation a fresh byte budget, keeping its deadline.
    pub(crate) fn rebudget(&self, budget: u64) {
        let mut s = self.state();
        if s.tripped.is_none() {
            s.budget = budget;
            s.used = 0;
        }
    }

    /// Accounts for `bytes` about to be moved; fails once the budget or deadline is spent.
    pub(crate) fn charge(&self, bytes: u64) -> io::Result<()> {
        let mut s = self.state();
        if s.tripped.is_none() {
            s.used = s.used.saturating_add(bytes);
            if s.used > s.budget {
                s.tripped = Some(Trip::Budget(s.budget));
            } else if let Some(deadline) = s.deadline
                && Instant::now() > deadline
            {
                s.tripped = Some(Trip::Deadline(deadline - s.started));
            }
        }
        match s.tripped {
            Some(trip) => Err(io::Error::other(Tripped(trip))),
            None => Ok(()),
        }
    }

    /// Why the current operation was stopped, if it was.
    pub(crate) fn tripped(&self) -> Option<Trip> {
        self.state().tripped
    }
}

impl Trip {
    /// The evidence, for a `Corrupt` error's detail.
    pub(crate) fn describe(self) -> String {
        match self {
            Trip::Budget(bytes) => format!(
                "more than {bytes} bytes read: a cluster chain loops or a size is impossible"
            ),
            Trip::Deadline(d) => format!(
                "still reading after {} s (profile.scan_deadline_secs)",
                d.as_secs()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_trips_and_stays_tripped() {
        let g = Guard::new();
        g.arm(100, None);
        assert!(g.charge(60).is_ok());
        assert!(g.charge(60).is_err());
        assert_eq!(g.tripped(), Some(Trip::Budget(100)));
        g.rebudget(1000);
        assert!(
            g.charge(1).is_err(),
            "a tripped operation cannot be revived"
        );
        g.arm(10, None);
        assert!(g.charge(1).is_ok());
    }

    #[test]
    fn deadline_trips() {
        let g = Guard::new();
        g.arm(u64::MAX, Some(Duration::from_millis(1)));
        std::thread::sleep(Duration::from_millis(5));
        assert!(g.charge(1).is_err());
        assert!(matches!(g.tripped(), Some(Trip::Deadline(_))));
    }
}
