//! What the daemon does with each request: one `match` arm per kind of request. The
//! answers come from the supervisor (the status) and from its registers desk (register
//! commands, and who may see the status), by message.

use std::os::fd::OwnedFd;

use tokio::sync::{mpsc, oneshot};

use super::Caller;
use super::protocol::{CommandReply, ErrorCode, Request, Response};
use crate::app::api::request::Command;
use crate::app::commands::{self, CommandError};
use crate::app::status::StatusReport;
use crate::base::error::{Chain, chain};

/// A question only the supervisor can answer, with where to send the answer.
#[derive(Debug)]
pub(crate) enum Query {
    /// The dock's status now.
    Status(oneshot::Sender<StatusReport>),
    /// May this caller see the status? A refusal is traced before it is sent back.
    StatusAllowed {
        /// Who asks.
        caller: Caller,
        /// `Ok` to go on; the refusal otherwise.
        reply: oneshot::Sender<Result<(), CommandError>>,
    },
    /// A register command for this caller (its role is checked first).
    Command {
        /// Who asks.
        caller: Caller,
        /// What.
        command: Box<Command>,
        /// The command's answer, with the file to pass, if any.
        reply: oneshot::Sender<Result<commands::Reply, CommandError>>,
    },
}

/// What a request handler may reach: the supervisor, by message.
#[derive(Debug, Clone)]
pub(crate) struct ServiceHandle {
    queries: mpsc::Sender<Query>,
}

impl ServiceHandle {
    /// A handle sending queries to the supervisor.
    pub fn new(queries: mpsc::Sender<Query>) -> Self {
        ServiceHandle { queries }
    }

    /// The status, or `None` when the supervisor has stopped.
    pub async fn status(&self) -> Option<StatusReport> {
        let (tx, rx) = oneshot::channel();
        self.queries.send(Query::Status(tx)).await.ok()?;
        rx.await.ok()
    }

    /// Whether `caller` may see the status; `None` when the service could not answer.
    pub(crate) async fn status_allowed(&self, caller: &Caller) -> Option<Result<(), CommandError>> {
        let (reply, rx) = oneshot::channel();
        let caller = caller.clone();
        let query = Query::StatusAllowed { caller, reply };
        self.queries.send(query).await.ok()?;
        rx.await.ok()
    }

    /// Runs a register command for `caller`; `None` when the service could not answer.
    pub async fn run(
        &self,
        caller: &Caller,
        command: Command,
    ) -> Option<Result<commands::Reply, CommandError>> {
        let (reply, rx) = oneshot::channel();
        let query = Query::Command {
            caller: caller.clone(),
            command: Box::new(command),
            reply,
        };
        self.queries.send(query).await.ok()?;
        rx.await.ok()
    }
}

/// A response, and the descriptor to pass with it, if any.
#[derive(Debug)]
pub struct Reply {
    /// The response line.
    pub response: Response,
    /// An open file handed to the caller with the line (SCM_RIGHTS).
    pub fd: Option<OwnedFd>,
}

impl From<Response> for Reply {
    fn from(response: Response) -> Reply {
        Reply { response, fd: None }
    }
}

/// Serves one request from `caller`.
pub(crate) async fn dispatch(caller: &Caller, request: Request, service: &ServiceHandle) -> Reply {
    match request {
        Request::Status => {
            // Technicians may see the status, and the roles above them; nobody else.
            match service.status_allowed(caller).await {
                Some(Ok(())) => {}
                Some(Err(e)) => return refused_or_failed(caller, "status", &e),
                None => return unavailable(),
            }
            match service.status().await {
                Some(report) => Response::Status(Box::new(report)).into(),
                None => unavailable(),
            }
        }
        Request::Command(command) => {
            let name = command.name();
            match service.run(caller, command).await {
                Some(Ok(reply)) => Reply {
                    response: Response::Reply(CommandReply {
                        message: reply.message,
                        data: reply.data,
                        success: reply.success,
                        file: reply.file.is_some(),
                    }),
                    fd: reply.file.map(OwnedFd::from),
                },
                Some(Err(e)) => refused_or_failed(caller, name, &e),
                None => unavailable(),
            }
        }
    }
}

fn refused_or_failed(caller: &Caller, command: &str, e: &CommandError) -> Reply {
    let code = match e {
        CommandError::Refused { .. } => ErrorCode::Refused,
        CommandError::Invalid(_) => ErrorCode::Invalid,
        // Not a failure of the command: the service cannot answer until the register does.
        CommandError::Register(r) if r.is_unreachable() => ErrorCode::Unavailable,
        CommandError::Register(_) | CommandError::Io { .. } => {
            // Refusals and invalid requests are the caller's business; these are the
            // technician's, so they go to the log too.
            tracing::warn!(
                uid = caller.uid,
                user = %caller.name(),
                "`{command}` for {} failed: {}",
                caller.name(),
                Chain(e)
            );
            ErrorCode::Failed
        }
    };
    Response::error(code, chain(e)).into()
}

fn unavailable() -> Reply {
    Response::error(
        ErrorCode::Unavailable,
        "the service did not answer: it is stopping, or the command failed inside the daemon (see its log: journalctl -u sentinel-dockd); ask again once it runs",
    )
    .into()
}
