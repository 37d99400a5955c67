//! What operators ask of the daemon through `sentinel-dockctl`: the perception register,
//! consultation, extraction, holds, retention, the audit register, the reports and the scrub.
//!
//! Each command is one function `(context, caller, args) -> Result<Reply, CommandError>`;
//! [`run`] checks the caller's role first (a refusal is traced, design invariant 4), then
//! calls it. The daemon's socket only has to turn a request into a [`Command`] and a
//! [`Caller`], call [`run`], and send the [`Reply`] back (with its file, if any).

pub mod access;
pub mod anonymise;
mod audit;
mod bag;

mod consult;
mod daily;
pub mod days;
mod extract;
mod extraction_record;
mod holds;
mod pdf;
mod perception;
mod perception_print;
mod place;
mod purge;
mod recordings;
mod replica_read;
mod report;
mod scrub;
mod search;
mod show;
mod table;
mod training;

use std::fs::File;
use std::path::PathBuf;

use crate::app::api::request::{
    AgentCommand, AuditCommand, CameraCommand, Command, RegisterCommand,
};
use crate::base::clock::Clock;
use crate::base::config::Config;
use crate::custody::register::{Register, RegisterError};
use crate::custody::store::Store;

/// Who is asking (SO_PEERCRED), the one definition, below both `commands` and `control`.
pub use crate::app::caller::Caller;
pub use daily::daily;
pub(crate) use extraction_record::FILE as EXTRACTION_RECORD;
pub use perception::attribute_pending;
pub use purge::purge_due;
pub use scrub::{last_scrub, run_scrub};

/// What a command works on: the daemon's register, store, configuration and clock.
pub struct Context<'a> {
    /// The register, owned by the daemon.
    pub register: &'a mut Register,
    /// The store.
    pub store: &'a Store,
    /// The configuration in force.
    pub config: &'a Config,
    /// The time.
    pub clock: &'a dyn Clock,
}

/// What a command answers.
#[derive(Debug)]
pub struct Reply {
    /// What `sentinel-dockctl` prints (in the format asked for, when there is one).
    pub message: String,
    /// The same facts for a program: one of [`crate::app::api::replies`]'s types, encoded.
    pub data: serde_json::Value,
    /// A recording opened read-only, for the socket to pass as a file descriptor.
    pub file: Option<File>,
    /// False when the command ran but found something wrong (`audit verify` on a broken
    /// chain): `sentinel-dockctl` then exits non-zero.
    pub success: bool,
}

impl Reply {
    /// A reply whose data is one of [`crate::app::api::replies`]'s types.
    fn ok(message: String, data: impl serde::Serialize) -> Reply {
        Reply {
            message,
            data: crate::app::api::replies::encode(&data),
            file: None,
            success: true,
        }
    }
}

/// Why a command did nothing (or stopped); each message names the thing and the fix.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The caller's role does not allow the command; the refusal is in the audit register.
    #[error(
        "user `{user}` may not run `{command}`: it needs the role {needed}. The refusal is recorded in the audit register"
    )]
    Refused {
        /// The caller.
        user: String,
        /// The command.
        command: String,
        /// The roles that may, and where they are configured.
        needed: String,
    },
    /// The request cannot be carried out as given.
    #[error("{0}")]
    Invalid(String),
    /// The register failed.
    #[error("register")]
    Register(#[from] RegisterError),
    /// A file could not be read or written.
    #[error("{what} {path}")]
    Io {
        /// What was being done.
        what: String,
        /// The file or folder.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
}

/// Checks the caller's role, then runs the command (a refusal is traced before it is
/// returned).
pub fn run(
    ctx: &mut Context<'_>,
    caller: &Caller,
    command: &Command,
) -> Result<Reply, CommandError> {
    let actor = access::authorise(
        ctx,
        caller,
        command.name(),
        access::roles_for(command),
        &command.recordings(),
    )?;
    match command {
        Command::Agent(AgentCommand::Add(a)) => perception::agent_add(ctx, &actor, a),
        Command::Camera(CameraCommand::Enroll(a)) => perception::camera_enroll(ctx, &actor, a),
        Command::Issue(a) => perception::issue(ctx, &actor, a),
        Command::Return(a) => perception::return_camera(ctx, &actor, a),
        Command::Attribute(a) => perception::attribute(ctx, &actor, a),
        Command::Consult(a) => consult::consult(ctx, &actor, a),
        Command::Extract(a) => extract::extract(ctx, &actor, a),
        Command::Hold(a) => holds::hold(ctx, &actor, a),
        Command::Release(a) => holds::release(ctx, &actor, a),
        Command::Purge(a) => purge::purge(ctx, &actor, a),
        Command::Audit(AuditCommand::Verify(a)) => audit::verify(ctx, &actor, a),
        Command::Report(a) => report::report(ctx, &actor, a),
        Command::Forecast(a) => report::forecast(ctx, &actor, a),
        Command::Register(RegisterCommand::Print(a)) => perception::print(ctx, &actor, a),
        Command::Scrub(a) => scrub::scrub(ctx, &actor, a),
        Command::Search(a) => search::search(ctx, &actor, a),
        Command::Show(a) => show::show(ctx, &actor, a),
        // Making one runs on the daemon's anonymiser thread (`service::anonymiser`); here,
        // only the reviewer's decision.
        Command::Anonymise(a) => match &a.accept {
            Some(stem) => anonymise::accept(ctx, &actor, stem, &a.reason),
            None => Err(CommandError::Invalid(
                "making an anonymised derivative runs in the daemon (sentinel-dockctl anonymise)"
                    .into(),
            )),
        },
    }
}
