//! The control socket: a Unix socket speaking JSON lines ([`protocol`]), through which
//! `sentinel-dockctl` asks the daemon things. Each caller is known by its kernel-given
//! credentials (SO_PEERCRED), never by anything it says about itself.

pub mod client;
pub mod copy_out;
mod dispatch;
pub mod protocol;
pub(crate) mod transport;

use std::io;
use std::os::fd::AsFd;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::net::{UnixListener, UnixStream};

pub use crate::app::caller::Caller;
pub use dispatch::Reply;
pub(crate) use dispatch::{Query, ServiceHandle, dispatch};

/// A connection silent this long is closed (`sentinel-dockctl status --watch` asks every second).
const IDLE: Duration = Duration::from_secs(60);
use protocol::{ErrorCode, MAX_REQUEST_BYTES, Request, Response};

/// Why the control socket could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// Another daemon answers on this socket.
    #[error(
        "another sentinel-dockd is already listening on {0} (control.socket): stop it first, or give this one another control.socket"
    )]
    InUse(PathBuf),
    /// Something that is not a socket sits at the path.
    #[error(
        "{0} (control.socket) exists and is not a socket: remove it, or choose another control.socket"
    )]
    NotASocket(PathBuf),
    /// The socket could not be created.
    #[error("cannot create the control socket {path} (control.socket)")]
    Bind {
        /// The socket's path.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
}

/// The daemon's listening control socket; dropping it removes the socket file.
#[derive(Debug)]
pub(crate) struct ControlSocket {
    listener: UnixListener,
    path: PathBuf,
}

impl ControlSocket {
    /// Listens at `path` (inside a tokio runtime), replacing a stale socket a crash left.
    pub fn bind(path: &Path) -> Result<ControlSocket, ControlError> {
        let bind_err = |source| ControlError::Bind {
            path: path.to_path_buf(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(bind_err)?;
        }
        match std::fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_socket() => {
                if std::os::unix::net::UnixStream::connect(path).is_ok() {
                    return Err(ControlError::InUse(path.to_path_buf()));
                }
                std::fs::remove_file(path).map_err(bind_err)?;
            }
            Ok(_) => return Err(ControlError::NotASocket(path.to_path_buf())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(bind_err(e)),
        }
        let listener = UnixListener::bind(path).map_err(bind_err)?;
        // Anyone may connect: each request is authorised by the caller's credentials
        // (SO_PEERCRED), not by the socket's mode. The folder's mode can narrow it further.
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666)).map_err(bind_err)?;
        Ok(ControlSocket {
            listener,
            path: path.to_path_buf(),
        })
    }

    /// The next connection.
    pub async fn accept(&self) -> io::Result<UnixStream> {
        self.listener.accept().await.map(|(stream, _)| stream)
    }
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Serves one connection: reads requests line by line, answers each, until the caller
/// hangs up or sends something unreadable.
pub(crate) async fn serve(stream: UnixStream, service: ServiceHandle) {
    let caller = match Caller::of(&stream) {
        Ok(caller) => caller,
        Err(e) => {
            tracing::warn!("control connection refused: cannot read its credentials: {e}");
            return;
        }
    };
    let mut reader = transport::LineReader::new(MAX_REQUEST_BYTES);
    loop {
        let Ok(next) = tokio::time::timeout(IDLE, reader.next_line(&stream)).await else {
            tracing::debug!(
                uid = caller.uid,
                "control connection idle for {IDLE:?}: closed"
            );
            return;
        };
        let (reply, last) = match next {
            Ok(None) => return,
            Ok(Some(line)) => match serde_json::from_slice::<Request>(&line) {
                Ok(request) => {
                    tracing::debug!(uid = caller.uid, pid = caller.pid, user = ?caller.user, ?request, "control request");
                    (dispatch(&caller, request, &service).await, false)
                }
                Err(e) => (
                    Reply::from(Response::error(
                        ErrorCode::BadRequest,
                        format!(
                            "not a request: {e}; send one JSON object a line, e.g. {{\"command\":\"status\"}}"
                        ),
                    )),
                    false,
                ),
            },
            Err(e) => (
                Reply::from(Response::error(ErrorCode::BadRequest, e.to_string())),
                true,
            ),
        };
        if let Err(e) = send_reply(&stream, reply).await {
            tracing::debug!(uid = caller.uid, "control connection closed: {e}");
            return;
        }
        if last {
            return;
        }
    }
}

async fn send_reply(stream: &UnixStream, reply: Reply) -> io::Result<()> {
    let mut line = serde_json::to_vec(&reply.response).map_err(io::Error::other)?;
    line.push(b'\n');
    transport::send_line(stream, &line, reply.fd.as_ref().map(|fd| fd.as_fd())).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stale_socket_is_replaced_and_a_live_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run").join("control.sock");
        let first = ControlSocket::bind(&path).unwrap();
        let err = ControlSocket::bind(&path).unwrap_err();
        assert!(matches!(err, ControlError::InUse(_)), "{err}");
        // A crash leaves the file behind with nobody listening.
        std::mem::forget(first);
        let _ = std::fs::remove_file(&path);
        let stale = std::os::unix::net::UnixListener::bind(&path).unwrap();
        drop(stale);
        assert!(path.exists());
        let second = ControlSocket::bind(&path).unwrap();
        drop(second);
        assert!(!path.exists(), "dropping removes the socket file");
        std::fs::write(&path, b"not a socket").unwrap();
        let err = ControlSocket::bind(&path).unwrap_err();
        assert!(matches!(err, ControlError::NotASocket(_)), "{err}");
    }
}
