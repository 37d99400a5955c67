//! The console's questions to the daemon: the same requests as `sentinel-dockctl`, over
//! the control socket, as the operator's own user.

use std::os::fd::OwnedFd;
use std::path::PathBuf;

use crate::app::api::request::Command;
use crate::app::control::client::Client;
use crate::app::control::protocol::{CommandReply, ErrorCode, Request, Response};
use crate::app::status::StatusReport;
use crate::base::error::chain;

/// Why the daemon did not answer what was asked.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    /// Refused (403), invalid (400), or the service failed (502).
    pub code: Option<ErrorCode>,
    /// The daemon's message, or why it could not be reached.
    pub message: String,
}

impl Failure {
    /// The HTTP status that fits.
    pub fn status(&self) -> axum::http::StatusCode {
        use axum::http::StatusCode;
        match self.code {
            Some(ErrorCode::Refused) => StatusCode::FORBIDDEN,
            Some(ErrorCode::Invalid | ErrorCode::BadRequest) => StatusCode::BAD_REQUEST,
            _ => StatusCode::BAD_GATEWAY,
        }
    }
}

fn unreachable(message: String) -> Failure {
    Failure {
        code: None,
        message,
    }
}

/// Requests the console has with the daemon at once; the others wait their turn, in
/// order. The daemon serves 32 control connections at once and closes any beyond at once
/// (its callers would see "connection reset"): the console, which opens one a request,
/// keeps well under that whatever its browsers do, and leaves room for `sentinel-dockctl`
/// and the other consoles.
pub(crate) const MAX_AT_ONCE: usize = 8;

/// The queue in front of the daemon (fair: first come, first served).
static QUEUE: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(MAX_AT_ONCE);

async fn call(socket: PathBuf, request: Request) -> Result<(Response, Option<OwnedFd>), Failure> {
    // Moved into the blocking task: a browser that goes away does not free the turn
    // before the daemon's connection is closed.
    let turn = QUEUE.acquire().await.map_err(|e| {
        unreachable(format!(
            "the console's queue to sentinel-dockd is closed: {e}"
        ))
    })?;
    tokio::task::spawn_blocking(move || {
        let _turn = turn;
        let mut client = Client::connect(&socket).map_err(|e| unreachable(chain(&e)))?;
        client.call(&request).map_err(|e| unreachable(chain(&e)))
    })
    .await
    .map_err(|e| unreachable(format!("the console's request task failed: {e}")))?
}

/// A register command's reply (and the descriptor passed with it).
pub async fn run(
    socket: PathBuf,
    command: Command,
) -> Result<(CommandReply, Option<OwnedFd>), Failure> {
    match call(socket, Request::Command(command)).await? {
        (Response::Reply(reply), fd) => Ok((reply, fd)),
        (Response::Error(e), _) => Err(Failure {
            code: Some(e.code),
            message: e.message,
        }),
        (Response::Status(_), _) => Err(unreachable(
            "sentinel-dockd answered a command with a status".into(),
        )),
    }
}

/// A register command's typed reply.
pub async fn ask<T: serde::de::DeserializeOwned>(
    socket: PathBuf,
    command: Command,
) -> Result<T, Failure> {
    let (reply, _) = run(socket, command).await?;
    crate::app::api::replies::decode(&reply.data).map_err(|e| unreachable(e.to_string()))
}

/// The dock's status.
pub async fn status(socket: PathBuf) -> Result<StatusReport, Failure> {
    match call(socket, Request::Status).await? {
        (Response::Status(report), _) => Ok(*report),
        (Response::Error(e), _) => Err(Failure {
            code: Some(e.code),
            message: e.message,
        }),
        (Response::Reply(_), _) => Err(unreachable(
            "sentinel-dockd answered a status request with something else".into(),
        )),
    }
}
