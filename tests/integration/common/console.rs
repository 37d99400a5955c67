//! The console as a test meets it: `sentinel-dockctl console` started as a Unix user, its
//! URL read from its first line, and a plain HTTP/1.1 client on loopback.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::operators::Service;
use super::users::TestUser;

/// A console started as `user`, stopped (SIGTERM) when dropped.
pub struct Console {
    pub child: Child,
    pub addr: SocketAddr,
    pub token: String,
    /// The console's standard output after its first line (the links it prints later).
    pub out: BufReader<std::process::ChildStdout>,
}

impl Console {
    pub fn start(s: &Service, user: &TestUser, extra: &[&str]) -> Console {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sentinel-dockctl"))
            .arg("--config")
            .arg(s.daemon.config_path())
            .args(["console", "--no-browser"])
            .args(extra)
            .uid(user.uid)
            .gid(user.gid)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut first = String::new();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        out.read_line(&mut first).unwrap();
        let url = first.trim();
        let rest = url
            .strip_prefix("http://")
            .unwrap_or_else(|| panic!("first line: {url}"));
        let (addr, query) = rest.split_once("/?token=").unwrap();
        Console {
            child,
            out,
            addr: addr.parse().unwrap(),
            token: query.to_string(),
        }
    }

    /// Exchanges the token for the session cookie.
    pub fn session(&self) -> String {
        let r = http(
            self.addr,
            "GET",
            &format!("/?token={}", self.token),
            None,
            &[],
            "",
        );
        assert_eq!(r.status, 303, "{}", r.text());
        let cookie = r.header("set-cookie").unwrap().to_string();
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
            "{cookie}"
        );
        cookie.split(';').next().unwrap().to_string()
    }

    pub fn get(&self, cookie: &str, path: &str) -> Answer {
        http(self.addr, "GET", path, Some(cookie), &[], "")
    }

    pub fn post(&self, cookie: &str, path: &str, form: &[(&str, &str)]) -> Answer {
        let body: Vec<String> = form
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect();
        http(
            self.addr,
            "POST",
            path,
            Some(cookie),
            &[("content-type", "application/x-www-form-urlencoded")],
            &body.join("&"),
        )
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let _ = self.child.wait();
    }
}

pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One HTTP/1.1 request (Connection: close), the whole answer read.
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    headers: &[(&str, &str)],
    body: &str,
) -> Answer {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(c) = cookie {
        req.push_str(&format!("Cookie: {c}\r\n"));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Answer {
        status,
        headers,
        body,
    }
}

pub fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = raw.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&raw[..end]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&raw[end + 2..end + 2 + size]);
        raw = &raw[end + 2 + size + 2..];
    }
    out
}

/// The CSRF token a page's forms carry.
pub fn csrf(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").unwrap() + 19;
    page[at..at + 64].to_string()
}

/// Stems of the search result rows (`data-recording`).
pub fn rows(page: &str) -> Vec<String> {
    page.split("<tr data-recording=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_string())
        .collect()
}

pub fn audit_count(s: &Service, action: &str, stem: &str) -> usize {
    s.daemon.query(&format!(
        "SELECT CAST(count(*) AS TEXT) FROM audit WHERE action = '{action}' AND recordings LIKE '%{stem}%'"
    ))[0]
        .parse()
        .unwrap()
}

pub fn read_until(s: &mut TcpStream, needle: &str, limit: Duration) -> String {
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let start = Instant::now();
    let mut seen = Vec::new();
    let mut buf = [0u8; 8192];
    while start.elapsed() < limit {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
        if String::from_utf8_lossy(&seen).contains(needle) {
            break;
        }
    }
    String::from_utf8_lossy(&seen).into_owned()
}

/// The two patrols the console tests search and attribute: Claire Martin (M100, day
/// brigade) carrying SERIAL_2 and Paul Durand (M200, evening brigade) carrying SERIAL,
/// both issued on 12 March 2018 at 06:00 UTC, entered by the head of service.
pub fn two_patrols(s: &Service, head: &TestUser) {
    s.ok(
        head,
        &[
            "agent",
            "add",
            "M100",
            "--name",
            "Claire Martin",
            "--brigade",
            "Jour",
        ],
    );
    s.ok(
        head,
        &[
            "agent",
            "add",
            "M200",
            "--name",
            "Paul Durand",
            "--brigade",
            "Soir",
        ],
    );
    for serial in [super::SERIAL, super::SERIAL_2] {
        s.ok(head, &["camera", "enroll", serial]);
    }
    s.ok(
        head,
        &[
            "issue",
            super::SERIAL_2,
            "M100",
            "--at",
            "2018-03-12T06:00:00Z",
        ],
    );
    s.ok(
        head,
        &[
            "issue",
            super::SERIAL,
            "M200",
            "--at",
            "2018-03-12T06:00:00Z",
        ],
    );
}
