//! How far an ingest has got, readable from another thread while it runs, and how to stop it.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Asks a running ingest to stop at the next buffer: a pulled camera, a stopping service.
///
/// A cancelled ingest removes its partial copy, wipes nothing, and closes its session as
/// `cancelled`; what was already committed stays, and the next docking finishes the job.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// A token that has not been cancelled.
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// Asks the ingest holding a clone of this token to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether `cancel` was called on any clone.
    pub(crate) fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Counters an ingest updates as it goes; cheap to read from a status thread.
#[derive(Debug, Default)]
pub struct Progress {
    bytes_total: AtomicU64,
    bytes_done: AtomicU64,
    recordings_total: AtomicU64,
    recordings_done: AtomicU64,
    current: Mutex<Option<String>>,
    /// The camera volume's device reads, for the read deadline.
    device: Mutex<Option<crate::camera::volume::ReadWatch>>,
}

/// A consistent-enough copy of the counters at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ProgressSnapshot {
    /// Bytes of video and sidecar the camera holds for this ingest.
    pub bytes_total: u64,
    /// Bytes read from the camera so far.
    pub bytes_done: u64,
    /// Recordings found on the camera.
    pub recordings_total: u64,
    /// Recordings finished (whatever their status).
    pub recordings_done: u64,
    /// The stem of the recording being read, if any.
    pub current: Option<String>,
}

impl Progress {
    /// Fresh counters, shared with the ingest through `Options::progress`.
    pub fn new() -> Arc<Progress> {
        Arc::new(Progress::default())
    }

    /// Follows the device reads of the camera volume the ingest opened.
    pub(crate) fn watch_device(&self, watch: Option<crate::camera::volume::ReadWatch>) {
        *self.device.lock().unwrap_or_else(|p| p.into_inner()) = watch;
    }

    /// How long the camera's current device read has been waiting, if one is in flight.
    pub(crate) fn device_read_waiting_for(&self) -> Option<std::time::Duration> {
        self.device
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .and_then(crate::camera::volume::ReadWatch::waiting_for)
    }

    /// The counters now.
    pub fn snapshot(&self) -> ProgressSnapshot {
        ProgressSnapshot {
            bytes_total: self.bytes_total.load(Ordering::Relaxed),
            bytes_done: self.bytes_done.load(Ordering::Relaxed),
            recordings_total: self.recordings_total.load(Ordering::Relaxed),
            recordings_done: self.recordings_done.load(Ordering::Relaxed),
            current: self.current.lock().map(|c| c.clone()).unwrap_or(None),
        }
    }

    pub(crate) fn start(&self, recordings: u64, bytes: u64) {
        self.recordings_total.store(recordings, Ordering::Relaxed);
        self.bytes_total.store(bytes, Ordering::Relaxed);
    }

    pub(crate) fn reading(&self, stem: Option<String>) {
        if let Ok(mut c) = self.current.lock() {
            *c = stem;
        }
    }

    pub(crate) fn add_bytes(&self, n: u64) {
        self.bytes_done.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn finished_one(&self) {
        self.recordings_done.fetch_add(1, Ordering::Relaxed);
    }
}
