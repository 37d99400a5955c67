//! The daemon mode: the real `sentinel-dockd --config F` watching a dock folder, with two
//! cameras' images linked into it and taken out again at seeded random moments (as udev
//! does: a temporary link renamed into place; undocking removes it), SIGKILLed at random.
//! A run is finished when every camera is docked and the status says each is safe to
//! undock (or needs a person); it is then stopped with SIGTERM, which must exit 0.
//!
//! The store is never damaged here, so every scrub must find it clean: the one the daemon
//! runs by itself at its first start, and one `sentinel-dockctl scrub` asked at a random
//! moment of most runs, beside the ingests. A scrub that reports a problem is a violation.

use std::collections::VecDeque;
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sentinel_dock::app::control::client::Client;
use sentinel_dock::app::control::protocol::{Request, Response};
use sentinel_dock::app::status::{CameraState, StatusReport};

use super::camera::{self, SourceKind, splitmix};
use super::run::{Cell, Finished, Running, Target};
use super::scrub::{self, Scrub};

/// How often a settled run's status is asked for.
const STATUS_EVERY: Duration = Duration::from_millis(50);
/// How long the daemon may take to answer the status, or to stop after SIGTERM.
const PATIENCE: Duration = Duration::from_secs(30);

/// `sentinel-dockd --config F` on the cell's dock folder.
pub struct Daemon {
    pub dockd: PathBuf,
    /// `sentinel-dockctl`, to ask for scrubs while the daemon ingests.
    pub dockctl: PathBuf,
    /// `[simulate] read_bytes_per_sec`: slow camera reads, so that kills and undockings
    /// land mid-copy more often (0: as fast as the disk).
    pub read_bytes_per_sec: u64,
}

impl Target for Daemon {
    fn serials(&self) -> &'static [&'static str] {
        &[camera::SERIAL, camera::SERIAL_2]
    }

    fn kind(&self, _: u32) -> SourceKind {
        // The dock takes block devices and disk images, never folders.
        SourceKind::FatImage
    }

    fn config(&self) -> String {
        // The fixtures date from 2018: the daily upkeep must not purge them mid-test (the
        // purge brake would stop it anyway; this keeps the register's states simple). The
        // harness's own user runs the scrubs, as a technician.
        let user = nix::unistd::User::from_uid(nix::unistd::getuid())
            .ok()
            .flatten()
            .map(|u| u.name)
            .unwrap_or_default();
        format!(
            "[dock]\npath = \"dock\"\n[control]\nsocket = \"control.sock\"\n[status]\nmdstat = \"/dev/null\"\n[retention]\ndays = 3660\n[access]\ntechnicians = [{user:?}]\n[simulate]\nread_bytes_per_sec = {}\n",
            self.read_bytes_per_sec
        )
    }

    fn start(
        &self,
        cell: &Cell,
        rng: &mut u64,
        kill_at: Option<Duration>,
    ) -> Result<Box<dyn Running>, String> {
        let mut run = self.prepare(cell)?;
        // Before the start: what is docked then is taken by the start-up scan.
        for i in 0..run.slots.len() {
            let docked = kill_at.is_none() || !splitmix(rng).is_multiple_of(4);
            run.set_docked(i, docked)?;
        }
        // A scrub soon after the start of a run to the end; in three runs of four before
        // the kill.
        run.scrub.at = match kill_at {
            None => Some(Duration::from_millis(200)),
            Some(k) => {
                let unit = (splitmix(rng) >> 11) as f64 / (1u64 << 53) as f64;
                (!splitmix(rng).is_multiple_of(4)).then(|| k.mul_f64(unit))
            }
        };
        if let Some(kill_at) = kill_at {
            run.plan = toggles(rng, run.slots.len(), kill_at);
        }
        run.child = Some(self.spawn(cell, &run.log, kill_at)?);
        Ok(Box::new(run))
    }
}

impl Daemon {
    /// A run on the cell, before anything is docked or started.
    fn prepare(&self, cell: &Cell) -> Result<DaemonRun, String> {
        let dock = cell.dir.join("dock");
        fs::create_dir_all(&dock).map_err(|e| format!("{}: {e}", dock.display()))?;
        let mut slots = Vec::new();
        for (serial, image) in self.serials().iter().zip(&cell.sources) {
            let image = fs::canonicalize(image).map_err(|e| format!("{}: {e}", image.display()))?;
            slots.push(Slot {
                serial,
                image,
                docked: dock.join(serial).symlink_metadata().is_ok(),
                docked_since: Utc::now(),
            });
        }
        let log = cell.dir.join("daemon.log");
        Ok(DaemonRun {
            child: None,
            dock,
            slots,
            plan: VecDeque::new(),
            changes: 0,
            query: None,
            last_query: None,
            log_from: fs::metadata(&log).map_or(0, |m| m.len()),
            log,
            scrub: Scrub::new(&self.dockctl, &cell.config, &cell.dir.join("scrub.out")),
            violations: Vec::new(),
        })
    }

    /// `sentinel-dockd --config F`, its stderr appended to the cell's `daemon.log`.
    fn spawn(&self, cell: &Cell, log: &Path, kill_at: Option<Duration>) -> Result<Child, String> {
        let mut file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| format!("{}: {e}", log.display()))?;
        let _ = writeln!(
            file,
            "=== crash-test: daemon started{}",
            kill_at.map_or(" to finish".into(), |k| format!(
                ", kill at {:.3} s",
                k.as_secs_f64()
            ))
        );
        Command::new(&self.dockd)
            .arg("--config")
            .arg(&cell.config)
            .env("SENTINEL_DOCK_LOG", "info")
            .env_remove("NOTIFY_SOCKET")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .map_err(|e| format!("starting {}: {e}", self.dockd.display()))
    }
}

/// A camera's place in the dock.
struct Slot {
    serial: &'static str,
    image: PathBuf,
    docked: bool,
    /// When its link was last made (a status older than this is about an earlier docking).
    docked_since: DateTime<Utc>,
}

/// One run of the daemon, and the dock around it.
struct DaemonRun {
    child: Option<Child>,
    dock: PathBuf,
    slots: Vec<Slot>,
    /// When each slot is docked or undocked (whichever it is not then), in order.
    plan: VecDeque<(Duration, usize)>,
    changes: u64,
    /// A status request in flight, on its own thread (a hung daemon must not hang us).
    query: Option<(Instant, mpsc::Receiver<Result<StatusReport, String>>)>,
    last_query: Option<Instant>,
    log: PathBuf,
    /// Where this run's part of the log starts.
    log_from: u64,
    scrub: Scrub,
    violations: Vec<String>,
}

/// Each camera changes state 0 to 2 times at uniform moments before the kill.
fn toggles(rng: &mut u64, slots: usize, kill_at: Duration) -> VecDeque<(Duration, usize)> {
    let mut moments = Vec::new();
    for slot in 0..slots {
        for _ in 0..splitmix(rng) % 3 {
            let unit = (splitmix(rng) >> 11) as f64 / (1u64 << 53) as f64;
            moments.push((kill_at.mul_f64(unit), slot));
        }
    }
    moments.sort();
    moments.into()
}

impl DaemonRun {
    /// Docks (a temporary link renamed into place, as udev does) or undocks slot `i`.
    fn set_docked(&mut self, i: usize, docked: bool) -> Result<(), String> {
        let slot = &mut self.slots[i];
        if slot.docked == docked {
            return Ok(());
        }
        let link = self.dock.join(slot.serial);
        let err = |e: std::io::Error| format!("{}: {e}", link.display());
        if docked {
            let temp = self.dock.join(format!(".#{}tmp", slot.serial));
            let _ = fs::remove_file(&temp);
            symlink(&slot.image, &temp).map_err(err)?;
            fs::rename(&temp, &link).map_err(err)?;
            slot.docked_since = Utc::now();
        } else {
            fs::remove_file(&link).map_err(err)?;
        }
        slot.docked = docked;
        self.changes += 1;
        Ok(())
    }

    fn child(&mut self) -> &mut Child {
        self.child.as_mut().expect("started")
    }

    /// Whether every docked camera's status, for its latest docking, is one a run ends in:
    /// `Some(all safe to undock)` when so.
    fn settled(&self, report: &StatusReport) -> Option<bool> {
        let mut all_safe = true;
        for slot in &self.slots {
            let camera = report.cameras.iter().find(|c| c.slot == slot.serial)?;
            if camera.docked_at < slot.docked_since {
                return None; // the daemon has not seen the latest docking yet
            }
            match camera.state {
                CameraState::SafeToUndock { .. } => {}
                CameraState::Waiting | CameraState::Ingesting(_) => return None,
                _ => all_safe = false,
            }
        }
        Some(all_safe)
    }

    /// Asks for the status now and then; `Some(report)` when an answer came.
    fn poll_status(&mut self) -> Result<Option<StatusReport>, String> {
        if let Some((asked, rx)) = &self.query {
            return match rx.try_recv() {
                Ok(answer) => {
                    self.query = None;
                    // Not answering yet (starting, or the socket not bound): ask again later.
                    Ok(answer.ok())
                }
                Err(mpsc::TryRecvError::Empty) if asked.elapsed() > PATIENCE => Err(format!(
                    "the daemon did not answer a status request within {PATIENCE:?}"
                )),
                Err(_) => Ok(None),
            };
        }
        if self.last_query.is_some_and(|t| t.elapsed() < STATUS_EVERY) {
            return Ok(None);
        }
        let socket = self.dock.with_file_name("control.sock");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(ask_status(&socket));
        });
        self.query = Some((Instant::now(), rx));
        self.last_query = Some(Instant::now());
        Ok(None)
    }

    /// SIGTERM, then the exit status and the cameras' states judged.
    fn stop(&mut self, all_safe: bool, report: &StatusReport) -> Finished {
        let pid = self.child().id() as i32;
        // SIGTERM to the daemon's pid only.
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        );
        let asked = Instant::now();
        let status = loop {
            match self.child().try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if asked.elapsed() < PATIENCE => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                _ => break None,
            }
        };
        let states: Vec<String> = report
            .cameras
            .iter()
            .map(|c| format!("{} {:?}", c.slot, c.state))
            .collect();
        match status {
            Some(s) if s.code() == Some(0) && all_safe => Ok(()),
            Some(s) => Err(format!(
                "stopped with {s}; cameras: {states:?}; log {}:\n{}",
                self.log.display(),
                log_tail(&self.log)
            )),
            None => {
                let _ = self.child().kill();
                let _ = self.child().wait();
                Err(format!(
                    "the daemon did not stop within {PATIENCE:?} of SIGTERM; log:\n{}",
                    log_tail(&self.log)
                ))
            }
        }
    }
}

impl Running for DaemonRun {
    fn poll(&mut self, elapsed: Duration) -> Result<Option<Finished>, String> {
        if let Some(status) = self.child().try_wait().map_err(|e| e.to_string())? {
            return Ok(Some(Err(format!(
                "the daemon exited by itself with {status}; log:\n{}",
                log_tail(&self.log)
            ))));
        }
        while self.plan.front().is_some_and(|(at, _)| *at <= elapsed) {
            let (_, slot) = self.plan.pop_front().expect("front exists");
            let flip = !self.slots[slot].docked;
            self.set_docked(slot, flip)?;
        }
        if self.scrub.at.is_some_and(|at| at <= elapsed) {
            self.scrub.start()?;
        }
        self.scrub.judge(Duration::ZERO, &mut self.violations);
        if !self.plan.is_empty() || self.slots.iter().any(|s| !s.docked) || self.scrub.pending() {
            return Ok(None); // more to do, or the kill will come first
        }
        let Some(report) = self.poll_status()? else {
            return Ok(None);
        };
        match self.settled(&report) {
            Some(all_safe) => Ok(Some(self.stop(all_safe, &report))),
            None => Ok(None),
        }
    }

    fn kill(&mut self) -> Result<(), String> {
        // std's kill is SIGKILL, to this child's pid only.
        self.child().kill().map_err(|e| format!("kill: {e}"))?;
        self.child().wait().map_err(|e| e.to_string())?;
        // The socket closed with the daemon: a scrub asked for ends now.
        self.scrub.judge(PATIENCE, &mut self.violations);
        Ok(())
    }

    fn dock_changes(&self) -> u64 {
        self.changes
    }

    fn scrubs(&self) -> (u64, u64) {
        (self.scrub.asked, self.scrub.done)
    }

    fn violations(&mut self) -> Vec<String> {
        self.violations
            .extend(scrub::alarms_in_log(&self.log, self.log_from));
        std::mem::take(&mut self.violations)
    }
}

impl Drop for DaemonRun {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child
            && child.try_wait().ok().flatten().is_none()
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn ask_status(socket: &Path) -> Result<StatusReport, String> {
    let mut client = Client::connect(socket).map_err(|e| e.to_string())?;
    match client.call(&Request::Status).map_err(|e| e.to_string())?.0 {
        Response::Status(report) => Ok(*report),
        other => Err(format!("{other:?}")),
    }
}

/// The end of the daemon's log, for a violation's message.
fn log_tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}
