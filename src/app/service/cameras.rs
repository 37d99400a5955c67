//! The docked cameras as the supervisor knows them, and which to ingest next.
//!
//! Pure bookkeeping, no I/O: the supervisor asks who may start, starts them, and reports
//! when each ends. A camera docked again while its previous ingest is still stopping waits
//! for that ingest to end: one camera is never ingested twice at once. A camera whose
//! ingest ended because the register could not be reached waits, still docked, and is
//! started again after a short back-off, or at once when the register answers again.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::app::ingest::{Cancel, Progress};
use crate::app::status::{CameraState, CameraStatus, IngestProgress};
use crate::camera::dock::DockedLink;

/// Numbers each docking, so that an ingest's end is matched to the docking it served.
pub(crate) type DockingId = u64;

/// A docked camera.
#[derive(Debug)]
pub(crate) struct DockedCamera {
    pub docking: DockingId,
    pub link: DockedLink,
    pub docked_at: DateTime<Utc>,
    /// The slot's name until an ingest has identified the camera.
    pub serial: String,
    /// Who carried it until this docking, when the register knows.
    agent: Option<String>,
    phase: Phase,
    /// While its ingest waits for the register: when it is tried again.
    retry: Option<Retry>,
}

/// A camera held back by an unreachable register: its next try, and how many it had.
#[derive(Debug, Clone, Copy)]
struct Retry {
    at: Instant,
    tries: u32,
}

/// The pause before the next try of a camera held back by the register: 1, 2, 4 s, then
/// every 5 s; never a busy loop, never long after the register is back.
pub(crate) fn backoff(tries: u32) -> Duration {
    Duration::from_secs(1u64 << tries.min(3)).min(Duration::from_secs(5))
}

#[derive(Debug)]
enum Phase {
    Waiting,
    Ingesting {
        progress: Arc<Progress>,
        started: Instant,
    },
    Finished(CameraState),
}

/// An ingest that was started and has not ended yet (it may be cancelled and stopping).
#[derive(Debug)]
struct Running {
    slot: String,
    cancel: Cancel,
    /// Its counters, and the start of its camera's read in flight.
    progress: Arc<Progress>,
}

/// What the supervisor needs to start an ingest.
#[derive(Debug)]
pub(crate) struct Start {
    pub docking: DockingId,
    pub link: DockedLink,
    pub cancel: Cancel,
    pub progress: Arc<Progress>,
}

/// Every docked camera, the queue of those waiting, and the ingests running.
#[derive(Debug, Default)]
pub(crate) struct Cameras {
    docked: BTreeMap<String, DockedCamera>,
    queue: VecDeque<DockingId>,
    running: HashMap<DockingId, Running>,
    next_docking: DockingId,
}

impl Cameras {
    /// A camera appeared: it waits for its turn.
    pub fn dock(&mut self, link: DockedLink, at: DateTime<Utc>) -> DockingId {
        if self.docked.contains_key(&link.slot) {
            self.undock(&link.slot.clone());
        }
        self.next_docking += 1;
        let docking = self.next_docking;
        self.queue.push_back(docking);
        self.docked.insert(
            link.slot.clone(),
            DockedCamera {
                docking,
                serial: link.slot.clone(),
                link,
                docked_at: at,
                agent: None,
                phase: Phase::Waiting,
                retry: None,
            },
        );
        docking
    }

    /// A camera was taken: forgets it and cancels its ingest; returns it, and whether an
    /// ingest was cancelled.
    pub fn undock(&mut self, slot: &str) -> Option<(DockedCamera, bool)> {
        let camera = self.docked.remove(slot)?;
        self.queue.retain(|d| *d != camera.docking);
        let cancelled = match self.running.get(&camera.docking) {
            Some(running) => {
                running.cancel.cancel();
                true
            }
            None => false,
        };
        Some((camera, cancelled))
    }

    /// Starts as many waiting cameras as `max_parallel` allows, oldest docking first.
    pub(crate) fn start_next(&mut self, max_parallel: usize) -> Vec<Start> {
        let mut started = Vec::new();
        let mut kept = VecDeque::new();
        while let Some(docking) = self.queue.pop_front() {
            let Some(slot) = self.slot_of(docking) else {
                continue;
            };
            let busy_slot = self.running.values().any(|r| r.slot == slot);
            if self.running.len() >= max_parallel || busy_slot {
                kept.push_back(docking);
                continue;
            }
            let Some(camera) = self.docked.get_mut(&slot) else {
                continue;
            };
            let cancel = Cancel::new();
            let progress = Progress::new();
            camera.phase = Phase::Ingesting {
                progress: progress.clone(),
                started: Instant::now(),
            };
            self.running.insert(
                docking,
                Running {
                    slot: slot.clone(),
                    cancel: cancel.clone(),
                    progress: progress.clone(),
                },
            );
            started.push(Start {
                docking,
                link: camera.link.clone(),
                cancel,
                progress,
            });
        }
        self.queue = kept;
        started
    }

    /// An ingest ended; when its camera is still docked, it takes `state`.
    pub fn finish(&mut self, docking: DockingId, state: CameraState, serial: Option<String>) {
        let Some(running) = self.running.remove(&docking) else {
            return;
        };
        if let Some(camera) = self.docked.get_mut(&running.slot)
            && camera.docking == docking
        {
            // Held back by the register: tried again later, the tries counted across
            // ingests; any other ending ends the tries.
            camera.retry = match (&state, camera.retry) {
                (CameraState::RegisterUnreachable { .. }, previous) => {
                    let tries = previous.map_or(0, |r| r.tries);
                    Some(Retry {
                        at: Instant::now() + backoff(tries),
                        tries: tries + 1,
                    })
                }
                _ => None,
            };
            camera.phase = Phase::Finished(state);
            if let Some(serial) = serial {
                camera.serial = serial;
            }
        }
    }

    /// Queues again each camera held back by the register whose pause is over, or every
    /// one of them when `now_reachable` (the register just answered); returns whether any was.
    pub(crate) fn retry_due(&mut self, now: Instant, now_reachable: bool) -> bool {
        let mut any = false;
        for camera in self.docked.values_mut() {
            let Some(retry) = camera.retry else {
                continue;
            };
            if (now_reachable || retry.at <= now)
                && !self.running.contains_key(&camera.docking)
                && !self.queue.contains(&camera.docking)
            {
                // The tries stay counted until an ingest ends otherwise.
                camera.retry = Some(Retry {
                    at: now + Duration::from_secs(3600),
                    tries: retry.tries,
                });
                self.queue.push_back(camera.docking);
                any = true;
            }
        }
        any
    }

    /// Ends, without waiting for it, each ingest whose camera read has waited longer than
    /// `timeout`: it is cancelled (so that, should the read ever return, it stops before
    /// wiping anything), forgotten as running (so that the next docking starts afresh),
    /// and its camera shows "not responding". Returns each one's slot and wait.
    pub(crate) fn abandon_stalled(&mut self, timeout: Duration) -> Vec<(String, Duration)> {
        let stalled: Vec<(DockingId, Duration)> = self
            .running
            .iter()
            .filter_map(|(&docking, r)| {
                let waited = r.progress.device_read_waiting_for()?;
                (waited >= timeout).then_some((docking, waited))
            })
            .collect();
        let mut out = Vec::new();
        for (docking, waited) in stalled {
            let Some(running) = self.running.remove(&docking) else {
                continue;
            };
            running.cancel.cancel();
            if let Some(camera) = self.docked.get_mut(&running.slot)
                && camera.docking == docking
            {
                camera.phase = Phase::Finished(CameraState::NotResponding {
                    waited_secs: waited.as_secs(),
                });
            }
            out.push((running.slot, waited));
        }
        out
    }

    /// The slot of a docking still docked.
    pub(crate) fn slot_of(&self, docking: DockingId) -> Option<String> {
        self.docked
            .values()
            .find(|c| c.docking == docking)
            .map(|c| c.link.slot.clone())
    }

    /// Cancels every running ingest and forgets the waiting ones (the service is stopping).
    pub(crate) fn cancel_all(&mut self) {
        for running in self.running.values() {
            running.cancel.cancel();
        }
        for docking in std::mem::take(&mut self.queue) {
            if let Some(slot) = self.slot_of(docking)
                && let Some(camera) = self.docked.get_mut(&slot)
            {
                camera.phase = Phase::Finished(CameraState::Cancelled);
            }
        }
    }

    /// Every docked camera (slot order).
    pub fn all(&self) -> impl Iterator<Item = &DockedCamera> {
        self.docked.values()
    }

    /// Ingests started and not yet ended.
    pub fn running(&self) -> usize {
        self.running.len()
    }

    /// Names the agent who carried the camera docked in `slot` (shown on its dock card).
    pub(crate) fn set_agent(&mut self, slot: &str, agent: Option<String>) {
        if let Some(c) = self.docked.get_mut(slot) {
            c.agent = agent;
        }
    }

    /// Each docked camera's status now.
    pub fn statuses(&self) -> Vec<CameraStatus> {
        self.docked
            .values()
            .map(|c| CameraStatus {
                slot: c.link.slot.clone(),
                serial: c.serial.clone(),
                docked_at: c.docked_at,
                agent: c.agent.clone(),
                state: match &c.phase {
                    Phase::Waiting => CameraState::Waiting,
                    Phase::Ingesting { progress, started } => {
                        CameraState::Ingesting(progress_now(progress, *started))
                    }
                    Phase::Finished(state) => state.clone(),
                },
            })
            .collect()
    }
}

fn progress_now(progress: &Progress, started: Instant) -> IngestProgress {
    let snap = progress.snapshot();
    let secs = started.elapsed().as_secs_f64();
    let rate = if secs > 0.0 {
        (snap.bytes_done as f64 / secs) as u64
    } else {
        0
    };
    let left = snap.bytes_total.saturating_sub(snap.bytes_done);
    IngestProgress {
        bytes_done: snap.bytes_done,
        bytes_total: snap.bytes_total,
        recordings_done: snap.recordings_done,
        recordings_total: snap.recordings_total,
        current: snap.current,
        bytes_per_sec: rate,
        eta_secs: (rate > 0 && snap.bytes_total > 0).then(|| left.div_ceil(rate)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::camera::dock::TargetKind;

    fn link(slot: &str) -> DockedLink {
        DockedLink {
            slot: slot.into(),
            link: format!("/dock/{slot}").into(),
            target: format!("/img/{slot}").into(),
            kind: TargetKind::DiskImage,
        }
    }

    fn now() -> DateTime<Utc> {
        "2026-11-26T06:00:00Z".parse().unwrap()
    }

    fn states(c: &Cameras) -> Vec<(String, &'static str)> {
        c.statuses()
            .into_iter()
            .map(|s| (s.slot, s.state.name()))
            .collect()
    }

    #[test]
    fn at_most_max_parallel_run_and_the_rest_wait_in_docking_order() {
        let mut c = Cameras::default();
        for slot in ["C", "A", "B"] {
            c.dock(link(slot), now());
        }
        let started: Vec<String> = c.start_next(2).into_iter().map(|s| s.link.slot).collect();
        assert_eq!(started, ["C", "A"]);
        assert_eq!(c.running(), 2);
        assert!(c.start_next(2).is_empty());
        assert_eq!(
            states(&c),
            [
                ("A".into(), "ingesting"),
                ("B".into(), "waiting"),
                ("C".into(), "ingesting")
            ]
        );
        c.finish(
            1,
            CameraState::SafeToUndock { recordings: 2 },
            Some("SNTL-C".into()),
        );
        let next = c.start_next(2);
        assert_eq!(next[0].link.slot, "B");
        assert_eq!(c.statuses()[2].serial, "SNTL-C");
        assert_eq!(c.statuses()[2].state.name(), "safe-to-undock");
    }

    #[test]
    fn undocking_cancels_and_a_new_docking_waits_for_the_old_ingest_to_end() {
        let mut c = Cameras::default();
        c.dock(link("A"), now());
        let first = c.start_next(4).remove(0);
        let (_, cancelled) = c.undock("A").unwrap();
        assert!(cancelled && first.cancel.is_cancelled());
        assert!(c.statuses().is_empty());

        let second = c.dock(link("A"), now());
        assert!(
            c.start_next(4).is_empty(),
            "the cancelled ingest has not ended yet"
        );
        assert_eq!(states(&c), [("A".into(), "waiting")]);
        c.finish(first.docking, CameraState::Cancelled, None);
        assert_eq!(
            states(&c),
            [("A".into(), "waiting")],
            "an old ending is not the new docking's"
        );
        let again = c.start_next(4);
        assert_eq!(again[0].docking, second);
        assert!(!again[0].cancel.is_cancelled());
    }

    #[test]
    fn a_camera_held_back_by_the_register_is_tried_again_after_a_bounded_pause() {
        assert_eq!(
            (0..6).map(|n| backoff(n).as_secs()).collect::<Vec<_>>(),
            [1, 2, 4, 5, 5, 5]
        );
        let mut c = Cameras::default();
        c.dock(link("A"), now());
        let first = c.start_next(4).remove(0);
        let unreachable = CameraState::RegisterUnreachable {
            error: "down".into(),
        };
        c.finish(first.docking, unreachable.clone(), None);
        assert_eq!(states(&c), [("A".into(), "register-unreachable")]);
        assert!(!c.retry_due(Instant::now(), false), "not before its pause");
        assert!(c.start_next(4).is_empty());
        assert!(c.retry_due(Instant::now() + Duration::from_secs(1), false));
        assert!(
            !c.retry_due(Instant::now() + Duration::from_secs(9), false),
            "queued once"
        );
        let second = c.start_next(4).remove(0);
        assert_eq!(second.docking, first.docking, "the same docking, again");
        c.finish(second.docking, unreachable, None);
        assert!(
            !c.retry_due(Instant::now() + Duration::from_secs(1), false),
            "the second pause is longer"
        );
        assert!(c.retry_due(Instant::now(), true), "at once when it answers");
        let third = c.start_next(4).remove(0);
        c.finish(
            third.docking,
            CameraState::SafeToUndock { recordings: 1 },
            None,
        );
        assert!(!c.retry_due(Instant::now() + Duration::from_secs(60), true));
        assert_eq!(states(&c), [("A".into(), "safe-to-undock")]);
    }

    #[test]
    fn stopping_cancels_running_and_waiting_cameras() {
        let mut c = Cameras::default();
        c.dock(link("A"), now());
        c.dock(link("B"), now());
        let running = c.start_next(1).remove(0);
        c.cancel_all();
        assert!(running.cancel.is_cancelled());
        assert!(c.start_next(4).is_empty());
        assert_eq!(
            states(&c),
            [("A".into(), "ingesting"), ("B".into(), "cancelled")]
        );
    }
}
