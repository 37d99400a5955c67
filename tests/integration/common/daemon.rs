//! A real `sentinel-dockd` process on a temporary dock, store and register, for the
//! service's end-to-end tests: start it, dock camera images as udev would (a temp link
//! renamed into place), ask its control socket, signal it, read its log.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::fs::symlink;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use rusqlite::Connection;
use sentinel_dock::app::control::client::Client;
use sentinel_dock::app::control::protocol::{Request, Response};
use sentinel_dock::base::events::EventKind;
use serde_json::Value;

use super::users::TestUser;

/// How long any wait in these tests may last before it fails.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// A running daemon and its folder: `dock/`, `store/`, `register.sqlite`, `control.sock`,
/// `daemon.log` (its stderr), `sentinel-dock.toml`.
pub struct Daemon {
    pub dir: tempfile::TempDir,
    child: Child,
}

/// The configuration's text: each base section with its keys, plus `extra` keys
/// (`(section, lines)`); sections the base lacks are added.
pub fn config_text(extra: &[(&str, &str)]) -> String {
    let base = [
        ("store", "path = \"store\"\nreserve = 0"),
        ("register", "path = \"register.sqlite\""),
        ("dock", "path = \"dock\""),
        ("control", "socket = \"control.sock\""),
        ("status", "mdstat = \"mdstat\""),
    ];
    let mut text = String::new();
    for (section, keys) in base {
        // A force's register on PostgreSQL replaces the SQLite file (they are exclusive).
        let on_postgres = section == "register"
            && extra
                .iter()
                .any(|(s, lines)| *s == "register" && lines.trim_start().starts_with("url"));
        let keys = if on_postgres { "" } else { keys };
        text.push_str(&format!("[{section}]\n{keys}\n"));
        for (_, lines) in extra.iter().filter(|(s, _)| *s == section) {
            text.push_str(&format!("{lines}\n"));
        }
    }
    for (section, lines) in extra
        .iter()
        .filter(|(s, _)| !base.iter().any(|b| b.0 == *s))
    {
        text.push_str(&format!("[{section}]\n{lines}\n"));
    }
    text
}

/// `config_text`, with the register in the PostgreSQL database at `url` (libpq's URI),
/// which takes the SQLite file's place (`[register] path` is still required beside it).
pub fn config_text_on(url: &str, extra: &[(&str, &str)]) -> String {
    let url = format!("url = \"{url}\"");
    let mut all = vec![("register", url.as_str())];
    all.extend_from_slice(extra);
    config_text(&all)
}

impl Daemon {
    /// `start`, with the register in the PostgreSQL database at `url`.
    pub fn start_on(url: &str, extra: &[(&str, &str)]) -> Daemon {
        Daemon::start_text(
            tempfile::tempdir().unwrap(),
            &config_text_on(url, extra),
            &[],
        )
    }

    /// Starts a daemon with the base configuration plus `extra`, and waits until it answers.
    pub fn start(extra: &[(&str, &str)]) -> Daemon {
        Daemon::start_with_env(extra, &[])
    }

    /// `start`, with environment variables for the daemon (NOTIFY_SOCKET...).
    pub fn start_with_env(extra: &[(&str, &str)], env: &[(&str, &str)]) -> Daemon {
        Daemon::start_in_with_env(tempfile::tempdir().unwrap(), extra, env)
    }

    /// `start` in a folder the test prepared (a register already holding entries...).
    pub fn start_in(dir: tempfile::TempDir, extra: &[(&str, &str)]) -> Daemon {
        Daemon::start_in_with_env(dir, extra, &[])
    }

    fn start_in_with_env(
        dir: tempfile::TempDir,
        extra: &[(&str, &str)],
        env: &[(&str, &str)],
    ) -> Daemon {
        Daemon::start_text(dir, &config_text(extra), env)
    }

    /// Starts a daemon on the configuration `text` in `dir`, and waits until it answers.
    pub fn start_text(dir: tempfile::TempDir, text: &str, env: &[(&str, &str)]) -> Daemon {
        fs::create_dir(dir.path().join("dock")).unwrap();
        fs::create_dir(dir.path().join("cameras")).unwrap();
        fs::write(dir.path().join("sentinel-dock.toml"), text).unwrap();
        let child = spawn(dir.path(), env);
        let daemon = Daemon { dir, child };
        daemon.wait_for("the control socket to answer", |_| true);
        daemon
    }

    /// Starts a daemon in a folder the test prepared without waiting for its status to
    /// answer (a daemon waiting for its store's disk answers every request with an error).
    pub fn spawn_in(dir: tempfile::TempDir, extra: &[(&str, &str)]) -> Daemon {
        fs::create_dir_all(dir.path().join("dock")).unwrap();
        fs::create_dir_all(dir.path().join("cameras")).unwrap();
        fs::write(dir.path().join("sentinel-dock.toml"), config_text(extra)).unwrap();
        let child = spawn(dir.path(), &[]);
        Daemon { dir, child }
    }

    /// Whether the daemon process has exited.
    pub fn has_exited(&mut self) -> bool {
        self.child.try_wait().ok().flatten().is_some()
    }

    /// Starts the daemon again on the same folder, once the previous one has exited.
    pub fn restart(&mut self) {
        assert!(self.child.try_wait().unwrap().is_some(), "still running");
        self.child = spawn(self.dir.path(), &[]);
        self.wait_for("the restarted daemon to answer", |_| true);
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn config_path(&self) -> PathBuf {
        self.path("sentinel-dock.toml")
    }

    /// Rewrites the configuration file (then send SIGHUP).
    pub fn write_config(&self, text: &str) {
        fs::write(self.config_path(), text).unwrap();
    }

    pub fn pid(&self) -> Pid {
        Pid::from_raw(self.child.id() as i32)
    }

    /// Docks `image` in `slot` as udev does: a temporary link renamed into place.
    pub fn dock(&self, slot: &str, image: &Path) {
        let temp = self.path("dock").join(format!(".#{slot}tmp"));
        symlink(image, &temp).unwrap();
        fs::rename(&temp, self.path("dock").join(slot)).unwrap();
    }

    /// Takes the camera in `slot` away.
    pub fn undock(&self, slot: &str) {
        fs::remove_file(self.path("dock").join(slot)).unwrap();
    }

    /// The status document, through the control socket.
    pub fn status(&self) -> Result<Value, String> {
        let mut client = Client::connect(&self.path("control.sock")).map_err(|e| e.to_string())?;
        match client.call(&Request::Status).map_err(|e| e.to_string())?.0 {
            Response::Status(report) => Ok(serde_json::to_value(report).unwrap()),
            other => Err(format!("{other:?}")),
        }
    }

    /// Polls the status until `ready` holds; panics after `PATIENCE` with the last status and the log.
    pub fn wait_for(&self, what: &str, ready: impl Fn(&Value) -> bool) -> Value {
        let start = Instant::now();
        let mut last = Err("never asked".to_string());
        while start.elapsed() < PATIENCE {
            last = self.status();
            if let Ok(status) = &last
                && ready(status)
            {
                return status.clone();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "waited {PATIENCE:?} for {what}; last status: {last:#?}\nlog:\n{}",
            self.log()
        );
    }

    /// Waits until `slot`'s camera is in `state` (`safe-to-undock`, ...).
    pub fn wait_state(&self, slot: &str, state: &str) -> Value {
        let status = self.wait_for(&format!("{slot} to be {state}"), |s| {
            camera(s, slot).is_some_and(|c| c["state"] == state)
        });
        camera(&status, slot).unwrap().clone()
    }

    /// Waits until `slot` has read at least `bytes` of its camera.
    pub fn wait_bytes(&self, slot: &str, bytes: u64) -> Value {
        let status = self.wait_for(&format!("{slot} to have read {bytes} bytes"), |s| {
            camera(s, slot).is_some_and(|c| {
                c["state"] == "ingesting" && c["bytes_done"].as_u64().unwrap_or(0) >= bytes
            })
        });
        camera(&status, slot).unwrap().clone()
    }

    /// Lets other Unix users reach the socket and read the configuration file (the
    /// temporary folder is 0700): the socket's own mode and SO_PEERCRED do the rest.
    pub fn open_to_other_users(&self) {
        fs::set_permissions(self.dir.path(), fs::Permissions::from_mode(0o711)).unwrap();
    }

    /// Runs `sentinel-dockctl --config <this daemon's file> ARGS`, as `user` when given
    /// (uid and gid set, supplementary groups dropped), as this process otherwise.
    pub fn dockctl(&self, user: Option<&TestUser>, args: &[&str]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_sentinel-dockctl"));
        command
            .arg("--config")
            .arg(self.config_path())
            .args(args)
            .stdin(Stdio::null());
        if let Some(user) = user {
            command.uid(user.uid).gid(user.gid);
        }
        command.output().unwrap()
    }

    /// The daemon's stderr so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.path("daemon.log")).unwrap_or_default()
    }

    /// Waits until the log shows an event of this kind.
    pub fn wait_event(&self, kind: EventKind) {
        self.wait_log(&event_mark(kind));
    }

    /// Waits until the log contains `needle`.
    pub fn wait_log(&self, needle: &str) {
        let start = Instant::now();
        while start.elapsed() < PATIENCE {
            if self.log().contains(needle) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "waited {PATIENCE:?} for {needle:?} in the log:\n{}",
            self.log()
        );
    }

    pub fn signal(&self, signal: Signal) {
        kill(self.pid(), signal).unwrap();
    }

    /// Waits for the process to exit, at most `limit`; returns its status and how long it took.
    pub fn wait_exit(&mut self, limit: Duration) -> (ExitStatus, Duration) {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status, start.elapsed());
            }
            assert!(
                start.elapsed() < limit,
                "the daemon did not exit within {limit:?}; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The register, opened beside the daemon (WAL allows it).
    pub fn register(&self) -> Connection {
        Connection::open(self.path("register.sqlite")).unwrap()
    }

    /// Column values of a one-column query on the register.
    pub fn query(&self, sql: &str) -> Vec<String> {
        let conn = self.register();
        let mut stmt = conn.prepare(sql).unwrap();
        stmt.query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    /// Every file under the store, hidden ones included, relative to it.
    pub fn stored_files(&self) -> Vec<String> {
        fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
            for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(root, &path, out);
                } else if !super::is_store_owner_file(root, &path) {
                    out.push(path.strip_prefix(root).unwrap().display().to_string());
                }
            }
        }
        let root = self.path("store");
        let mut out = Vec::new();
        walk(&root, &root, &mut out);
        out.sort();
        out
    }
}

/// `sentinel-dockd --config dir/sentinel-dock.toml`, its stderr appended to `dir/daemon.log`.
fn spawn(dir: &Path, env: &[(&str, &str)]) -> Child {
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("daemon.log"))
        .unwrap();
    Command::new(env!("CARGO_BIN_EXE_sentinel-dockd"))
        .arg("--config")
        .arg(dir.join("sentinel-dock.toml"))
        .envs(env.iter().copied())
        .env_remove("SENTINEL_DOCK_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The camera in `slot` in a status document.
pub fn camera<'a>(status: &'a Value, slot: &str) -> Option<&'a Value> {
    status["cameras"]
        .as_array()?
        .iter()
        .find(|c| c["slot"] == slot)
}

/// How an event of this kind is marked in the daemon's stderr log (the journal has its id).
pub fn event_mark(kind: EventKind) -> String {
    format!("event={}", kind.name)
}
