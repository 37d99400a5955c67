//! What the daemon does with each request: one `match` arm per command.

use std::os::fd::OwnedFd;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, watch};

use super::Caller;
use super::protocol::{ErrorCode, Request, Response};
use crate::config::Config;
use crate::status::StatusReport;

/// A question only the supervisor can answer, with where to send the answer.
#[derive(Debug)]
pub enum Query {
    /// The dock's status now.
    Status(oneshot::Sender<StatusReport>),
}

/// What a request handler may reach: the supervisor (by message) and the configuration.
#[derive(Debug, Clone)]
pub struct ServiceHandle {
    queries: mpsc::Sender<Query>,
    config: watch::Receiver<Arc<Config>>,
}

impl ServiceHandle {
    /// A handle sending queries to the supervisor and following its configuration.
    pub fn new(queries: mpsc::Sender<Query>, config: watch::Receiver<Arc<Config>>) -> Self {
        ServiceHandle { queries, config }
    }

    /// The configuration in force (it changes on SIGHUP).
    pub fn config(&self) -> Arc<Config> {
        self.config.borrow().clone()
    }

    /// The status, or `None` when the supervisor has stopped.
    pub async fn status(&self) -> Option<StatusReport> {
        let (tx, rx) = oneshot::channel();
        self.queries.send(Query::Status(tx)).await.ok()?;
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
pub async fn dispatch(caller: &Caller, request: Request, service: &ServiceHandle) -> Reply {
    // Status is open to every local user; commands that read evidence check roles here.
    let _ = caller;
    match request {
        Request::Status {} => match service.status().await {
            Some(report) => Response::Status(Box::new(report)).into(),
            None => Response::error(
                ErrorCode::Unavailable,
                "the service is stopping; ask again once it has restarted",
            )
            .into(),
        },
    }
}
