//! The daemon's anonymisations (`sentinel-dockctl anonymise`): one at a time, each on its
//! own thread with its own register connection, off the registers desk, so that the dock
//! and the operators are never held up by minutes of video work. Its progress is in the
//! status; `anonymise --cancel` stops it (nothing of it is kept).

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use chrono::{DateTime, Utc};
use tokio::sync::oneshot;

use crate::anonymise::JobControl;
use crate::app::commands::anonymise::{Prepared, make_traced};
use crate::app::commands::{CommandError, Reply};
use crate::app::status::AnonymisationStatus;
use crate::base::clock::SystemClock;
use crate::base::error::Chain;
use crate::custody::register::Location;
use crate::custody::store::Store;

/// The anonymisation running now, as the status sees it.
#[derive(Debug)]
struct Current {
    recording: String,
    author: String,
    started: DateTime<Utc>,
    control: Arc<JobControl>,
}

/// What the supervisor reads for the status.
#[derive(Debug, Clone, Default)]
pub(crate) struct AnonymiserView(Arc<Mutex<Option<Current>>>);

impl AnonymiserView {
    /// The running anonymisation's progress, if one runs.
    pub fn status(&self) -> Option<AnonymisationStatus> {
        let current = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        current.as_ref().map(|c| AnonymisationStatus {
            recording: c.recording.clone(),
            author: c.author.clone(),
            started: c.started,
            frames_done: c.control.done.load(Ordering::Relaxed),
            frames_total: c.control.total.load(Ordering::Relaxed),
        })
    }
}

/// Starts anonymisations, one at a time.
#[derive(Default)]
pub(crate) struct Anonymiser {
    view: AnonymiserView,
    thread: Option<JoinHandle<()>>,
}

impl Anonymiser {
    /// The view the status reads.
    pub fn view(&self) -> AnonymiserView {
        self.view.clone()
    }

    /// Whether one runs now; who started it and on what, for the refusal of another.
    fn busy(&self) -> Option<String> {
        let running = self.thread.as_ref().is_some_and(|t| !t.is_finished());
        let current = self.view.0.lock().unwrap_or_else(PoisonError::into_inner);
        current.as_ref().filter(|_| running).map(|c| {
            format!(
                "an anonymisation of {} is already running, started at {} by {}: wait for it (its progress is in `sentinel-dockctl status`) or stop it with `sentinel-dockctl anonymise --cancel --reason TEXT`",
                c.recording,
                c.started.format("%Y-%m-%d %H:%M:%S UTC"),
                c.author
            )
        })
    }

    /// Whether one runs now (checked before the request is traced).
    pub(crate) fn check_idle(&self) -> Result<(), CommandError> {
        match self.busy() {
            Some(why) => Err(CommandError::Invalid(why)),
            None => Ok(()),
        }
    }

    /// Runs `prepared` on its own thread, on the register at a path for a site; its answer
    /// goes to `reply` when it ends.
    pub fn start(
        &mut self,
        prepared: Prepared,
        register_path: Location,
        store: Arc<Store>,
        reply: oneshot::Sender<Result<Reply, CommandError>>,
    ) {
        if let Err(e) = self.check_idle() {
            let _ = reply.send(Err(e));
            return;
        }
        let control = Arc::new(JobControl::default());
        *self.view.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(Current {
            recording: prepared.job.original.stem.clone(),
            author: prepared.author.clone(),
            started: Utc::now(),
            control: control.clone(),
        });
        let view = self.view.clone();
        let spawned =
            std::thread::Builder::new()
                .name("anonymise".into())
                .spawn(move || {
                    let result = register_path.open().map_err(CommandError::from).and_then(
                        |mut register| {
                            make_traced(&store, &mut register, &SystemClock, &prepared, &control)
                        },
                    );
                    match &result {
                        Ok(_) => tracing::info!(
                            "anonymisation of {} by {} done",
                            prepared.job.original.stem,
                            prepared.author
                        ),
                        Err(e) => tracing::warn!(
                            "anonymisation of {} by {} did not complete: {}",
                            prepared.job.original.stem,
                            prepared.author,
                            Chain(e)
                        ),
                    }
                    *view.0.lock().unwrap_or_else(PoisonError::into_inner) = None;
                    let _ = reply.send(result);
                });
        match spawned {
            Ok(thread) => self.thread = Some(thread),
            Err(e) => {
                *self.view.0.lock().unwrap_or_else(PoisonError::into_inner) = None;
                tracing::error!("cannot start an anonymisation thread: {e}");
            }
        }
    }

    /// Asks the running anonymisation to stop; `by` is who asked.
    pub fn cancel(&self, by: &str) -> Result<String, CommandError> {
        let current = self.view.0.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(c) = current.as_ref() else {
            return Err(CommandError::Invalid(
                "no anonymisation is running: nothing to cancel".into(),
            ));
        };
        *c.control
            .cancelled_by
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = by.to_string();
        c.control.cancel.store(true, Ordering::Relaxed);
        Ok(format!(
            "the anonymisation of {} stops: nothing of it is kept (its caller is told, and the audit register says so)",
            c.recording
        ))
    }
}
