//! The registers desk: one thread owning the daemon's command context (its own register
//! connection, the store the supervisor opened, the configuration in force). It serves
//! operators' register commands one at a time, attributes recordings after each ingest,
//! runs the daily upkeep, and starts the scrubs (weekly, and `sentinel-dockctl scrub`) on
//! their own thread (`scrubber`). A long extraction runs here, never on the supervisor's
//! loop, and SQLite sees one writer per connection, as it prefers.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use tokio::sync::{oneshot, watch};

use crate::app::api::request::Command;
use crate::app::commands::{self, Caller, CommandError, Context, Reply, access};
use crate::app::status::ScrubStatus;
use crate::base::clock::SystemClock;
use crate::base::config::Config;
use crate::base::error::Chain;
use crate::custody::register::{Location, Register};
use crate::custody::store::Store;

use super::ServiceError;
use super::anonymiser::{Anonymiser, AnonymiserView};
use super::scrubber::Scrubber;

/// How often the daily upkeep runs after the first, which follows READY.
const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// Work for the desk.
pub(crate) enum Job {
    /// A register command, for a caller whose role `commands::run` checks first.
    Run {
        caller: Caller,
        command: Box<Command>,
        reply: oneshot::Sender<Result<Reply, CommandError>>,
    },
    /// May this caller see the status?
    StatusAllowed {
        caller: Caller,
        reply: oneshot::Sender<Result<(), CommandError>>,
    },
    /// An ingest ended: attribute what it stored to the agents who held the camera.
    AttributePending,
    /// The daily upkeep now; then every `DAY`.
    Daily,
    /// The register answers again after being unreachable: the desk's connection is
    /// renewed, what waited for it (attributions, a missed daily upkeep) done now.
    RegisterBack,
    /// The configuration was reloaded (and maybe the store or register moved).
    Reconfigure {
        config: Arc<Config>,
        store: Arc<Store>,
    },
}

/// The desk's thread, seen from the supervisor.
pub(crate) struct Desk {
    jobs: Option<mpsc::Sender<Job>>,
    done: oneshot::Receiver<()>,
    last_scrub: watch::Receiver<Option<ScrubStatus>>,
    anonymiser: AnonymiserView,
}

impl Desk {
    /// Opens the desk's own register connection and starts its thread.
    pub fn start(config: Arc<Config>, store: Arc<Store>) -> Result<Desk, ServiceError> {
        let mut register = Location::of(&config).open()?;
        let scrubber = Scrubber::new(&mut register, &config)?;
        let last_scrub = scrubber.subscribe();
        let anonymiser = Anonymiser::default();
        let anonymiser_view = anonymiser.view();
        let (jobs, rx) = mpsc::channel();
        let (done_tx, done) = oneshot::channel();
        let state = State {
            register,
            store,
            config,
            scrubber,
            anonymiser,
            daily_missed: false,
        };
        std::thread::Builder::new()
            .name("registers-desk".into())
            .spawn(move || {
                serve(state, rx);
                let _ = done_tx.send(());
            })
            .map_err(ServiceError::Runtime)?;
        Ok(Desk {
            jobs: Some(jobs),
            done,
            last_scrub,
            anonymiser: anonymiser_view,
        })
    }

    /// The anonymisation running now, if one runs.
    pub fn anonymisation(&self) -> Option<crate::app::status::AnonymisationStatus> {
        self.anonymiser.status()
    }

    /// The last scrub's outcome (from the audit register at start, then each scrub's).
    pub fn last_scrub(&self) -> Option<ScrubStatus> {
        self.last_scrub.borrow().clone()
    }

    /// Hands a job to the desk (its reply, if any, comes on the job's own channel).
    pub fn send(&self, job: Job) {
        let sent = self
            .jobs
            .as_ref()
            .is_some_and(|jobs| jobs.send(job).is_ok());
        if !sent {
            tracing::error!("the registers desk has stopped: a register command was not served");
        }
    }

    /// Takes no more work and waits, until `deadline`, for the job in hand to end (an
    /// extraction mid-way finishes its bag rather than leave a partial one).
    pub async fn stop(mut self, deadline: tokio::time::Instant) {
        self.jobs = None;
        if tokio::time::timeout_at(deadline, &mut self.done)
            .await
            .is_err()
        {
            tracing::error!(
                "the registers desk did not finish its command in time; exiting anyway (a partial bag is a hidden folder, never handed out)"
            );
        }
    }
}

/// What the desk's commands work on.
struct State {
    register: Register,
    store: Arc<Store>,
    config: Arc<Config>,
    scrubber: Scrubber,
    anonymiser: Anonymiser,
    /// The daily upkeep found the register unreachable: done again once it answers.
    daily_missed: bool,
}

fn serve(mut state: State, jobs: mpsc::Receiver<Job>) {
    let mut next_daily: Option<Instant> = None;
    loop {
        let wake = [next_daily, state.scrubber.due()]
            .into_iter()
            .flatten()
            .min();
        let job = match wake {
            Some(at) => match jobs.recv_timeout(at.saturating_duration_since(Instant::now())) {
                Ok(job) => job,
                Err(RecvTimeoutError::Timeout) if next_daily.is_some_and(|d| d <= at) => Job::Daily,
                Err(RecvTimeoutError::Timeout) => {
                    state.scrubber.start_due(&state.config, state.store.clone());
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => return,
            },
            None => match jobs.recv() {
                Ok(job) => job,
                Err(_) => return,
            },
        };
        if matches!(job, Job::Daily) {
            next_daily = Some(Instant::now() + DAY);
        }
        // One command's bug must not take the operators' desk down for good: its caller
        // gets "did not answer" (the reply channel is dropped), the log says why.
        if std::panic::catch_unwind(AssertUnwindSafe(|| state.handle(job))).is_err() {
            tracing::error!("a register command panicked inside the daemon (please report it)");
        }
    }
}

impl State {
    fn context(&mut self) -> Context<'_> {
        Context {
            register: &mut self.register,
            store: &self.store,
            config: &self.config,
            clock: &SystemClock,
        }
    }

    fn handle(&mut self, job: Job) {
        match job {
            Job::Run {
                caller,
                command,
                reply,
            } if matches!(*command, Command::Scrub(_)) => self.scrub(&caller, &command, reply),
            Job::Run {
                caller,
                command,
                reply,
            } if matches!(&*command, Command::Anonymise(a) if a.accept.is_none()) => {
                self.anonymise(&caller, &command, reply)
            }
            Job::Run {
                caller,
                command,
                reply,
            } => {
                let result = commands::run(&mut self.context(), &caller, &command);
                let _ = reply.send(result);
            }
            Job::StatusAllowed { caller, reply } => {
                let _ = reply.send(self.status_allowed(&caller));
            }
            Job::AttributePending => self.attribute_pending(),
            Job::Daily => self.daily(),
            Job::RegisterBack => {
                super::register_watch::refresh(&mut self.register);
                self.attribute_pending();
                if std::mem::take(&mut self.daily_missed) {
                    self.daily();
                }
            }
            Job::Reconfigure { config, store } => self.reconfigure(config, store),
        }
    }

    /// Technicians and the roles above them may see the status; so may the service's own
    /// user (`access::may_see_status`, which the supervisor asks first). Anyone else is
    /// refused, and the refusal traced.
    fn status_allowed(&mut self, caller: &Caller) -> Result<(), CommandError> {
        if access::may_see_status(&self.config.access, caller) {
            return Ok(());
        }
        let mut ctx = self.context();
        access::authorise(&mut ctx, caller, "status", access::STATUS_ROLES, &[]).map(|_| ())
    }

    /// `sentinel-dockctl scrub`: the caller's role checked (a refusal traced) here, the
    /// scrub run on its own thread, which answers the caller when it ends.
    fn scrub(
        &mut self,
        caller: &Caller,
        command: &Command,
        reply: oneshot::Sender<Result<Reply, CommandError>>,
    ) {
        let roles = access::roles_for(command);
        let actor = match access::authorise(&mut self.context(), caller, command.name(), roles, &[])
        {
            Ok(actor) => actor,
            Err(e) => {
                let _ = reply.send(Err(e));
                return;
            }
        };
        let (config, store) = (self.config.clone(), self.store.clone());
        let read_data = matches!(command, Command::Scrub(a) if a.read_data);
        if let Err(e) = self
            .scrubber
            .start(&actor.author, &config, store, Some(reply), read_data)
        {
            tracing::error!("{}", Chain(&e));
        }
    }

    /// `sentinel-dockctl anonymise STEM` (and `--cancel`): the role checked (a refusal
    /// traced), the request checked and traced here, the derivative made on the
    /// anonymiser's thread, which answers the caller when it ends.
    fn anonymise(
        &mut self,
        caller: &Caller,
        command: &Command,
        reply: oneshot::Sender<Result<Reply, CommandError>>,
    ) {
        let Command::Anonymise(args) = command else {
            return;
        };
        let roles = access::roles_for(command);
        let recordings = command.recordings();
        let actor = match access::authorise(
            &mut self.context(),
            caller,
            command.name(),
            roles,
            &recordings,
        ) {
            Ok(actor) => actor,
            Err(e) => {
                let _ = reply.send(Err(e));
                return;
            }
        };
        if args.cancel {
            let answer = self.anonymiser.cancel(&actor.author).map(|message| Reply {
                message,
                data: serde_json::json!({"cancelled": true}),
                file: None,
                success: true,
            });
            let _ = reply.send(answer);
            return;
        }
        if let Err(e) = self.anonymiser.check_idle() {
            let _ = reply.send(Err(e));
            return;
        }
        match commands::anonymise::prepare(&mut self.context(), &actor, args) {
            Ok(prepared) => {
                let (register, store) = (Location::of(&self.config), self.store.clone());
                self.anonymiser.start(prepared, register, store, reply);
            }
            Err(e) => {
                let _ = reply.send(Err(e));
            }
        }
    }

    fn attribute_pending(&mut self) {
        match commands::attribute_pending(&mut self.register, &SystemClock) {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                "{n} recording(s) attributed to the agents who held their cameras (perception register)"
            ),
            Err(e) => tracing::error!(
                "attributing the new recordings failed (the daily upkeep and `register print` try again): {e}"
            ),
        }
    }

    fn daily(&mut self) {
        match commands::daily(&mut self.context()) {
            Ok(reply) if reply.success => tracing::info!("daily upkeep: {}", reply.message),
            Ok(reply) => tracing::warn!("daily upkeep: {}", reply.message),
            Err(CommandError::Register(e)) if e.is_unreachable() => {
                self.daily_missed = true;
                tracing::error!(
                    "daily upkeep postponed until the register answers: {}",
                    Chain(&e)
                );
            }
            Err(e) => tracing::error!("daily upkeep failed (tried again in 24 h): {}", Chain(&e)),
        }
    }

    fn reconfigure(&mut self, config: Arc<Config>, store: Arc<Store>) {
        if config.register.path != self.config.register.path
            || config.register.url != self.config.register.url
            || config.site.name != self.config.site.name
        {
            match Location::of(&config).open() {
                Ok(register) => self.register = register,
                Err(e) => {
                    // The supervisor opened it a moment ago; keep serving the old one.
                    tracing::error!("the registers desk cannot open the new register: {e}");
                    return;
                }
            }
        }
        self.scrubber.reconfigure(&config);
        self.config = config;
        self.store = store;
    }
}
