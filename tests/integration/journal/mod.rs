//! A journal of the test's own: a datagram socket that reads journald's native protocol,
//! and a way to run a process whose `/run/systemd/journal/socket` is that socket.
//!
//! tracing-journald always sends to `/run/systemd/journal/socket` (the path is a constant
//! in its source). So the process under test runs in a private mount namespace
//! (`unshare --mount`) with an empty tmpfs on `/run` holding one link, to the test's socket:
//! the code under test is the service's, unchanged, and the host's journal is untouched.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a panic, with its message, is how a test fails"
)]

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// One journal entry as sent: its fields in order (a field may repeat).
#[derive(Debug, Clone)]
pub struct Entry {
    pub fields: Vec<(String, Vec<u8>)>,
}

impl Entry {
    /// The first value of a field, as text.
    pub fn get(&self, name: &str) -> Option<String> {
        self.values(name).into_iter().next()
    }

    /// Every value of a field, as text.
    pub fn values(&self, name: &str) -> Vec<String> {
        self.fields
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
            .collect()
    }

    /// The first value of a field, which must be there.
    pub fn field(&self, name: &str) -> String {
        self.get(name)
            .unwrap_or_else(|| panic!("no field {name} in {:#?}", self.names()))
    }

    /// The field names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.fields.iter().map(|(n, _)| n.as_str()).collect()
    }
}

/// Parses one datagram of the native protocol (systemd.io/JOURNAL_NATIVE_PROTOCOL): fields
/// `NAME=value\n`, or `NAME\n` + 64-bit little-endian length + value + `\n`.
pub fn parse_datagram(mut bytes: &[u8]) -> Result<Entry, String> {
    let mut fields = Vec::new();
    while !bytes.is_empty() {
        let newline = bytes
            .iter()
            .position(|&b| b == b'\n')
            .ok_or("a field without its newline")?;
        let line = &bytes[..newline];
        bytes = &bytes[newline + 1..];
        if let Some(eq) = line.iter().position(|&b| b == b'=') {
            let name = String::from_utf8(line[..eq].to_vec()).map_err(|e| e.to_string())?;
            fields.push((name, line[eq + 1..].to_vec()));
            continue;
        }
        let name = String::from_utf8(line.to_vec()).map_err(|e| e.to_string())?;
        if bytes.len() < 8 {
            return Err(format!("field {name}: length cut short"));
        }
        let len = u64::from_le_bytes(bytes[..8].try_into().map_err(|_| "length")?) as usize;
        bytes = &bytes[8..];
        if bytes.len() < len + 1 || bytes[len] != b'\n' {
            return Err(format!("field {name}: value of {len} bytes cut short"));
        }
        fields.push((name, bytes[..len].to_vec()));
        bytes = &bytes[len + 1..];
    }
    for (name, _) in &fields {
        let valid = !name.is_empty()
            && !name.starts_with('_')
            && name
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        if !valid {
            return Err(format!("field name {name:?} is one journald would drop"));
        }
    }
    Ok(Entry { fields })
}

/// The test's journal socket, bound in a temporary folder.
pub struct Receiver {
    socket: UnixDatagram,
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Receiver {
    /// Binds a fresh socket.
    pub fn bind() -> Receiver {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.socket");
        let socket = UnixDatagram::bind(&path).unwrap();
        Receiver {
            socket,
            path,
            _dir: dir,
        }
    }

    /// Where the socket is bound.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `command` to its end while reading what it sends (the socket's queue holds only
    /// a few datagrams, then the sender blocks), and returns its output and the entries.
    pub fn run(&self, mut command: Command) -> (Output, Vec<Entry>) {
        let socket = self.socket.try_clone().unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let done = Arc::new(AtomicBool::new(false));
        let finished = Arc::clone(&done);
        let reader = std::thread::spawn(move || {
            let mut datagrams = Vec::new();
            let mut buf = vec![0u8; 1 << 20];
            loop {
                match socket.recv(&mut buf) {
                    Ok(n) => datagrams.push(buf[..n].to_vec()),
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) =>
                    {
                        if finished.load(Ordering::SeqCst) {
                            return datagrams;
                        }
                    }
                    Err(e) => panic!("reading the test journal socket: {e}"),
                }
            }
        });
        let output = command.output().unwrap();
        done.store(true, Ordering::SeqCst);
        let datagrams = reader.join().unwrap();
        assert_namespace_worked(&output);
        // tracing-journald sends an empty datagram first, to check journald is there.
        let entries = datagrams
            .iter()
            .filter(|d| !d.is_empty())
            .map(|d| parse_datagram(d).unwrap_or_else(|e| panic!("bad datagram: {e}: {d:?}")))
            .collect();
        (output, entries)
    }
}

/// Fails the test with the fix when the mount namespace could not be made.
fn assert_namespace_worked(output: &Output) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    if stderr.contains("unshare failed") || stderr.contains("mount: ") {
        panic!(
            "this test runs the logging code in a private mount namespace (unshare --mount), \
             which this machine refused; run it as root, or allow unprivileged user \
             namespaces: {stderr}"
        );
    }
}

/// Makes `/run` an empty tmpfs, links the journal socket (when asked) and runs "$@".
const SETUP: &str = r#"set -e
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/systemd/journal
if [ -n "$TEST_JOURNAL_SOCKET" ]; then ln -s "$TEST_JOURNAL_SOCKET" /run/systemd/journal/socket; fi
exec "$@""#;

/// A command running `program` in a private mount namespace where
/// `/run/systemd/journal/socket` leads to `socket`, or to nothing when `socket` is `None`.
pub fn in_namespace(socket: Option<&Path>, program: &Path) -> Command {
    let mut command = Command::new("unshare");
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        command.args(["--user", "--map-root-user"]);
    }
    command
        .args([
            "--mount",
            "--propagation",
            "private",
            "--",
            "sh",
            "-c",
            SETUP,
            "sh",
        ])
        .arg(program)
        .env("TEST_JOURNAL_SOCKET", socket.unwrap_or(Path::new("")));
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_field_encodings_parse() {
        let mut datagram = b"PRIORITY=6\nMESSAGE\n".to_vec();
        datagram.extend_from_slice(&5u64.to_le_bytes());
        datagram.extend_from_slice(b"a\nb=c\n");
        let entry = parse_datagram(&datagram).unwrap();
        assert_eq!(entry.field("PRIORITY"), "6");
        assert_eq!(entry.field("MESSAGE"), "a\nb=c");
    }

    #[test]
    fn cut_datagrams_and_bad_names_are_refused() {
        assert!(parse_datagram(b"PRIORITY=6").is_err());
        assert!(parse_datagram(b"MESSAGE\n\x09\0\0\0\0\0\0\0abc\n").is_err());
        assert!(parse_datagram(b"f_camera=1\n").is_err());
    }
}
