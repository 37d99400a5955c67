//! The exFAT volume's bytes: reads and writes at volume offsets through the shared
//! read-ahead storage, every byte charged to the guard, every call under `catch_unwind`.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::boot::Boot;
use crate::camera::volume::VolumeError;
use crate::camera::volume::guard::{Guard, Trip};
use crate::camera::volume::storage::{SharedWriteBack, Storage};
use crate::camera::volume::watch::ReadWatch;

/// FAT entry value marking the end of a chain.
const END_OF_CHAIN: u32 = 0xFFFF_FFFF;
/// FAT entry value marking a bad cluster.
pub(crate) const BAD_CLUSTER: u32 = 0xFFFF_FFF7;

/// A run of consecutive clusters: `first`, `first + 1`, ... `first + count - 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Run {
    /// The run's first cluster.
    pub first: u32,
    /// How many clusters it holds.
    pub count: u32,
}

/// Why a file's clusters cannot be known; a `Damage` code and a sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChainFault {
    /// `chain-loop`, `chain-out-of-volume`, `chain-too-short`, `chain-too-long`.
    pub code: &'static str,
    /// What was found.
    pub detail: String,
    /// The cluster where it went wrong.
    pub cluster: u32,
}

/// The device under an exFAT volume, with its boot geometry.
pub(crate) struct Device {
    pub storage: Storage,
    pub boot: Boot,
    pub guard: Arc<Guard>,
    pub source: PathBuf,
    pub deadline: Duration,
    /// A second descriptor to fsync (writable volumes only).
    pub sync: Option<File>,
    /// The storage's held-back small writes (writable volumes only).
    pub write_back: Option<SharedWriteBack>,
    /// Marks each device read and sync in flight, for the stalled-read deadline (the
    /// storage marks its own reads on the same watch).
    pub watch: ReadWatch,
}

impl Device {
    /// Reads exactly `buf.len()` bytes at volume offset `at`.
    pub(crate) fn read_at(&mut self, at: u64, buf: &mut [u8]) -> io::Result<()> {
        self.storage.seek(SeekFrom::Start(at))?;
        self.storage.read_exact(buf)
    }

    /// Writes `buf` at volume offset `at` (held back when small, until `commit`).
    pub(crate) fn write_at(&mut self, at: u64, buf: &[u8]) -> io::Result<()> {
        self.storage.seek(SeekFrom::Start(at))?;
        self.storage.write_all(buf)
    }

    /// Writes the held-back changes and makes them durable: the wipe's ordering points.
    pub fn commit(&mut self, what: &str) -> Result<(), VolumeError> {
        let io_err = |source| VolumeError::Io {
            path: self.source.clone(),
            what: what.to_string(),
            source,
        };
        // A stalled device blocks a write-out or an fsync as surely as a read.
        let _waiting = self.watch.begin();
        if let Some(wb) = &self.write_back {
            wb.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .flush()
                .map_err(io_err)?;
        }
        if let Some(file) = &self.sync {
            file.sync_all().map_err(io_err)?;
        }
        Ok(())
    }

    /// The FAT entry of `cluster` (valid cluster checked by the caller).
    pub(crate) fn fat_entry(&mut self, cluster: u32) -> io::Result<u32> {
        let mut b = [0u8; 4];
        self.read_at(self.boot.fat_offset + u64::from(cluster) * 4, &mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    /// Sets the FAT entry of `cluster`.
    pub(crate) fn set_fat_entry(&mut self, cluster: u32, value: u32) -> io::Result<()> {
        self.write_at(
            self.boot.fat_offset + u64::from(cluster) * 4,
            &value.to_le_bytes(),
        )
    }

    /// The clusters of a file or directory of `clusters` clusters starting at `first`:
    /// consecutive when `contiguous` (NoFatChain), else followed through the FAT.
    /// `clusters == None` (the root directory) follows the chain to its end, at most
    /// `limit` clusters.
    pub fn runs(
        &mut self,
        first: u32,
        clusters: Option<u64>,
        contiguous: bool,
        limit: u64,
    ) -> io::Result<Result<Vec<Run>, ChainFault>> {
        let boot = &self.boot;
        if !boot.valid_cluster(first) {
            return Ok(Err(fault(
                "chain-out-of-volume",
                first,
                "starts outside the cluster heap",
            )));
        }
        if contiguous {
            let n = clusters.unwrap_or(1);
            let last = u64::from(first) + n.saturating_sub(1);
            if n == 0 || n > u64::from(u32::MAX) || last >= u64::from(boot.cluster_count) + 2 {
                return Ok(Err(fault(
                    "chain-out-of-volume",
                    first,
                    "runs past the end of the cluster heap",
                )));
            }
            return Ok(Ok(vec![Run {
                first,
                count: n as u32,
            }]));
        }
        let want = clusters.unwrap_or(limit).min(limit);
        let mut runs: Vec<Run> = Vec::new();
        let mut cluster = first;
        let mut seen: u64 = 0;
        loop {
            seen += 1;
            match runs.last_mut() {
                Some(r) if r.first + r.count == cluster => r.count += 1,
                _ => runs.push(Run {
                    first: cluster,
                    count: 1,
                }),
            }
            let next = self.fat_entry(cluster)?;
            if next == END_OF_CHAIN {
                if clusters.is_some_and(|n| seen < n) {
                    return Ok(Err(fault(
                        "chain-too-short",
                        cluster,
                        "ends before the size it declares",
                    )));
                }
                return Ok(Ok(runs));
            }
            if next == BAD_CLUSTER || !self.boot.valid_cluster(next) {
                return Ok(Err(fault(
                    "chain-out-of-volume",
                    cluster,
                    &format!("points to {next:#x}, not a cluster of the heap"),
                )));
            }
            if seen >= want {
                let code = if clusters.is_some() {
                    "chain-too-long"
                } else {
                    "chain-loop"
                };
                let detail = if clusters.is_some() {
                    "goes on past the size it declares (or loops)"
                } else {
                    "does not end within the clusters a directory may have (it loops)"
                };
                return Ok(Err(fault(code, next, detail)));
            }
            cluster = next;
        }
    }

    /// Runs `call` with a panic turned into `ExfatCorrupt`, and an I/O error classified
    /// by the guard: a tripped budget or deadline is damage, an OS error is the device.
    pub fn run<R>(
        &mut self,
        what: impl FnOnce() -> String,
        call: impl FnOnce(&mut Device) -> io::Result<R>,
    ) -> Result<R, VolumeError> {
        match catch_unwind(AssertUnwindSafe(|| call(self))) {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(e)) => Err(self.classify(what(), e)),
            Err(panic) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "no message".into());
                Err(self.corrupt(what(), format!("the exfat reader panicked: {message}")))
            }
        }
    }

    /// Turns a failed read into the error an operator is told.
    pub(crate) fn classify(&self, what: String, e: io::Error) -> VolumeError {
        match self.guard.tripped() {
            Some(trip @ Trip::Budget(_)) => {
                self.corrupt(format!("{what} loops or is too large"), trip.describe())
            }
            Some(trip @ Trip::Deadline(_)) => {
                self.corrupt(format!("{what} took too long"), trip.describe())
            }
            None if e.raw_os_error().is_some() => VolumeError::Io {
                path: self.source.clone(),
                what,
                source: e,
            },
            None => self.corrupt(what, e.to_string()),
        }
    }

    /// An `ExfatCorrupt` error for this volume.
    pub fn corrupt(&self, what: String, detail: String) -> VolumeError {
        VolumeError::ExfatCorrupt {
            path: self.source.clone(),
            what,
            detail,
        }
    }

    /// Starts an operation bounded by `budget` bytes and, unless streaming, the deadline.
    pub(crate) fn arm(&self, budget: u64, timed: bool) {
        self.guard.arm(budget, timed.then_some(self.deadline));
    }
}

fn fault(code: &'static str, cluster: u32, detail: &str) -> ChainFault {
    ChainFault {
        code,
        detail: detail.to_string(),
        cluster,
    }
}
