//! Lines over a Unix stream socket, with an open file descriptor passed beside a line
//! (SCM_RIGHTS) when a response hands the caller a file.
//!
//! The descriptor travels with the line's first bytes: a reader takes it from the same
//! `recvmsg` that brings them, and keeps at most one per line (extra ones are closed).

use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::sys::socket::{ControlMessage, ControlMessageOwned, MsgFlags, recvmsg, sendmsg};
use tokio::io::Interest;
use tokio::net::UnixStream;

/// Sends as much of `bytes` as the socket takes in one `sendmsg`, with `pass` attached.
fn send_once(sock: RawFd, bytes: &[u8], pass: Option<BorrowedFd<'_>>) -> io::Result<usize> {
    let iov = [IoSlice::new(bytes)];
    let fds: Vec<RawFd> = pass.iter().map(|fd| fd.as_raw_fd()).collect();
    let rights = [ControlMessage::ScmRights(&fds)];
    let cmsgs: &[ControlMessage] = if fds.is_empty() { &[] } else { &rights };
    // MSG_NOSIGNAL: a caller that hung up must not kill the daemon with SIGPIPE.
    sendmsg::<()>(sock, &iov, cmsgs, MsgFlags::MSG_NOSIGNAL, None).map_err(io::Error::from)
}

/// Sends a whole line on a blocking socket, `pass` attached to its first bytes.
pub(crate) fn send_line_blocking(
    sock: BorrowedFd<'_>,
    line: &[u8],
    mut pass: Option<BorrowedFd<'_>>,
) -> io::Result<()> {
    let mut sent = 0;
    while sent < line.len() {
        match send_once(sock.as_raw_fd(), &line[sent..], pass) {
            Ok(n) => {
                sent += n;
                pass = None;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Sends a whole line on the daemon's non-blocking socket, `pass` attached to its first bytes.
pub(crate) async fn send_line(
    stream: &UnixStream,
    line: &[u8],
    mut pass: Option<BorrowedFd<'_>>,
) -> io::Result<()> {
    let mut sent = 0;
    while sent < line.len() {
        stream.writable().await?;
        let fd = stream.as_raw_fd();
        match stream.try_io(Interest::WRITABLE, || send_once(fd, &line[sent..], pass)) {
            Ok(n) => {
                sent += n;
                pass = None;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Receives into `buf` once; returns the bytes read and any descriptors that came with them.
fn recv_once(sock: RawFd, buf: &mut [u8]) -> io::Result<(usize, Vec<OwnedFd>)> {
    let mut iov = [IoSliceMut::new(buf)];
    let mut space = nix::cmsg_space!([RawFd; 4]);
    let msg = recvmsg::<()>(sock, &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC)?;
    let mut fds = Vec::new();
    for cmsg in msg.cmsgs()? {
        if let ControlMessageOwned::ScmRights(received) = cmsg {
            for fd in received {
                // SAFETY: the kernel just installed this descriptor in our table for us;
                // nothing else refers to it, so it is ours to own and close.
                fds.push(unsafe { OwnedFd::from_raw_fd(fd) });
            }
        }
    }
    Ok((msg.bytes, fds))
}

/// Reads lines, and the descriptors passed with them, from a blocking socket.
#[derive(Debug)]
pub(crate) struct LineReceiver {
    pending: Vec<u8>,
    fd: Option<OwnedFd>,
    max: usize,
}

impl LineReceiver {
    /// A receiver refusing lines longer than `max` bytes.
    pub fn new(max: usize) -> LineReceiver {
        LineReceiver {
            pending: Vec::new(),
            fd: None,
            max,
        }
    }

    /// The next line (without its `\n`) and the descriptor passed with it; `None` at a
    /// clean end of stream.
    pub fn recv(&mut self, sock: impl AsFd) -> io::Result<Option<(Vec<u8>, Option<OwnedFd>)>> {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            if let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.pending.drain(..=end).collect();
                line.pop();
                return Ok(Some((line, self.fd.take())));
            }
            if self.pending.len() > self.max {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("a line longer than {} bytes", self.max),
                ));
            }
            let (n, fds) = match recv_once(sock.as_fd().as_raw_fd(), &mut buf) {
                Ok(got) => got,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if self.fd.is_none() {
                self.fd = fds.into_iter().next();
            }
            if n == 0 {
                return if self.pending.is_empty() {
                    Ok(None)
                } else {
                    Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the connection closed in the middle of a line",
                    ))
                };
            }
            self.pending.extend_from_slice(&buf[..n]);
        }
    }
}

/// Reads request lines from the daemon's side of a connection.
#[derive(Debug)]
pub(crate) struct LineReader {
    pending: Vec<u8>,
    max: usize,
}

impl LineReader {
    /// A reader refusing lines longer than `max` bytes.
    pub fn new(max: usize) -> LineReader {
        LineReader {
            pending: Vec::new(),
            max,
        }
    }

    /// The next line without its `\n`; `None` when the caller hung up between lines.
    pub(crate) async fn next_line(&mut self, stream: &UnixStream) -> io::Result<Option<Vec<u8>>> {
        let mut buf = vec![0u8; 8192];
        loop {
            if let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.pending.drain(..=end).collect();
                line.pop();
                return Ok(Some(line));
            }
            if self.pending.len() > self.max {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("a request longer than {} bytes", self.max),
                ));
            }
            stream.readable().await?;
            match stream.try_read(&mut buf) {
                Ok(0) if self.pending.is_empty() => return Ok(None),
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the caller hung up in the middle of a request",
                    ));
                }
                Ok(n) => self.pending.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Seek, Write};
    use std::os::unix::net::UnixStream as StdStream;

    fn file_with(text: &[u8]) -> std::fs::File {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(text).unwrap();
        f.rewind().unwrap();
        f
    }

    #[tokio::test]
    async fn a_descriptor_passed_with_a_long_line_arrives_with_it() {
        let (server, client) = StdStream::pair().unwrap();
        server.set_nonblocking(true).unwrap();
        let server = UnixStream::from_std(server).unwrap();
        // Longer than a socket buffer: the descriptor must still come with the first bytes.
        let mut line = vec![b'x'; 600_000];
        line.push(b'\n');
        line.extend_from_slice(b"second\n");
        let reader = std::thread::spawn(move || {
            let mut rx = LineReceiver::new(1 << 20);
            let first = rx.recv(&client).unwrap().unwrap();
            let second = rx.recv(&client).unwrap().unwrap();
            let end = rx.recv(&client).unwrap();
            (first, second, end.is_none())
        });
        let file = file_with(b"evidence bytes");
        send_line(&server, &line, Some(file.as_fd())).await.unwrap();
        drop(file);
        drop(server);
        let ((text, fd), (second, none), ended) = reader.join().unwrap();
        assert_eq!(text.len(), 600_000);
        assert_eq!(second, b"second");
        assert!(none.is_none(), "a descriptor belongs to one line only");
        assert!(ended);
        let mut passed = std::fs::File::from(fd.expect("the descriptor came with the line"));
        let mut content = String::new();
        passed.read_to_string(&mut content).unwrap();
        assert_eq!(content, "evidence bytes");
    }

    #[test]
    fn blocking_send_and_receive_without_a_descriptor() {
        let (a, b) = StdStream::pair().unwrap();
        send_line_blocking(a.as_fd(), b"{\"command\":\"status\"}\n", None).unwrap();
        let mut rx = LineReceiver::new(1024);
        let (line, fd) = rx.recv(&b).unwrap().unwrap();
        assert_eq!(line, b"{\"command\":\"status\"}");
        assert!(fd.is_none());
    }

    #[tokio::test]
    async fn overlong_and_cut_off_requests_are_errors() {
        let (server, mut client) = StdStream::pair().unwrap();
        server.set_nonblocking(true).unwrap();
        let server = UnixStream::from_std(server).unwrap();
        client.write_all(&[b'a'; 100]).unwrap();
        let mut reader = LineReader::new(50);
        let err = reader.next_line(&server).await.unwrap_err();
        assert!(err.to_string().contains("longer than 50"), "{err}");

        let (server, mut client) = StdStream::pair().unwrap();
        server.set_nonblocking(true).unwrap();
        let server = UnixStream::from_std(server).unwrap();
        client.write_all(b"{\"comm").unwrap();
        drop(client);
        let err = LineReader::new(50).next_line(&server).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }
}
