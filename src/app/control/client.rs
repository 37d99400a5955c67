//! The client side of the control socket, for `sentinel-dockctl`: one request, one response.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use super::protocol::{MAX_RESPONSE_BYTES, Request, Response};
use super::transport::{LineReceiver, send_line_blocking};

/// Why a request got no response.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The daemon's socket could not be reached.
    #[error(
        "cannot reach sentinel-dockd at {path} (control.socket; is the service running? systemctl status sentinel-dockd)"
    )]
    Connect {
        /// The socket's path.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
    /// The connection failed mid-exchange.
    #[error("talking to sentinel-dockd at {path}")]
    Io {
        /// The socket's path.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
    /// The daemon hung up without answering (it is stopping?).
    #[error("sentinel-dockd at {0} hung up without answering (is it stopping?)")]
    Closed(PathBuf),
    /// The daemon answered something this client cannot read (another version?).
    #[error(
        "sentinel-dockd answered something this sentinel-dockctl cannot read (are both the same version?): {0}"
    )]
    Protocol(String),
}

/// A connection to the daemon.
#[derive(Debug)]
pub struct Client {
    stream: UnixStream,
    receiver: LineReceiver,
    path: PathBuf,
}

impl Client {
    /// Connects to the daemon's socket.
    pub fn connect(path: &Path) -> Result<Client, ClientError> {
        let stream = UnixStream::connect(path).map_err(|source| ClientError::Connect {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Client {
            stream,
            receiver: LineReceiver::new(MAX_RESPONSE_BYTES),
            path: path.to_path_buf(),
        })
    }

    /// Sends a request and waits for its response, and the descriptor passed with it.
    pub fn call(&mut self, request: &Request) -> Result<(Response, Option<OwnedFd>), ClientError> {
        let io_err = |source| ClientError::Io {
            path: self.path.clone(),
            source,
        };
        let mut line =
            serde_json::to_vec(request).map_err(|e| ClientError::Protocol(e.to_string()))?;
        line.push(b'\n');
        send_line_blocking(self.stream.as_fd(), &line, None).map_err(io_err)?;
        let (line, fd) = self
            .receiver
            .recv(&self.stream)
            .map_err(|source| ClientError::Io {
                path: self.path.clone(),
                source,
            })?
            .ok_or_else(|| ClientError::Closed(self.path.clone()))?;
        let response =
            serde_json::from_slice(&line).map_err(|e| ClientError::Protocol(e.to_string()))?;
        Ok((response, fd))
    }
}
