//! Scrubs beside the daemon's ingests: `sentinel-dockctl scrub` asked once in a run, and
//! the alarms every scrub (the daemon's own included) logs. Nobody damages the store in the
//! harness, so a scrub that finds anything is a violation: a false alarm.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `sentinel-dockctl scrub`, asked once in a run.
pub struct Scrub {
    dockctl: PathBuf,
    config: PathBuf,
    /// Its stdout and stderr.
    output: PathBuf,
    /// When to ask (`None`: not in this run, or already asked).
    pub at: Option<Duration>,
    child: Option<Child>,
    /// Asked, and answered with a whole report (exit status 0 or 1).
    pub asked: u64,
    pub done: u64,
}

impl Scrub {
    /// Not asked yet; its output goes to `output`.
    pub fn new(dockctl: &Path, config: &Path, output: &Path) -> Scrub {
        Scrub {
            dockctl: dockctl.to_path_buf(),
            config: config.to_path_buf(),
            output: output.to_path_buf(),
            at: None,
            child: None,
            asked: 0,
            done: 0,
        }
    }

    /// Asks the daemon for a scrub, as a technician would.
    pub fn start(&mut self) -> Result<(), String> {
        let out = fs::File::create(&self.output).map_err(|e| e.to_string())?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new(&self.dockctl)
            .arg("--config")
            .arg(&self.config)
            .arg("scrub")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("starting {}: {e}", self.dockctl.display()))?;
        self.at = None;
        self.child = Some(child);
        self.asked += 1;
        Ok(())
    }

    /// Whether a scrub is asked for and not answered yet.
    pub fn pending(&self) -> bool {
        self.at.is_some() || self.child.is_some()
    }

    /// Judges the scrub once it has ended (waiting at most `wait` for it): on a store
    /// nobody damaged it must find nothing; being refused service by a daemon that is
    /// starting, stopping, killed or already scrubbing is no fault.
    pub fn judge(&mut self, wait: Duration, violations: &mut Vec<String>) {
        let Some(child) = &mut self.child else {
            return;
        };
        let asked = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if asked.elapsed() < wait => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Ok(None) => return, // still reading the store back: judged later
                Err(e) => {
                    violations.push(format!("waiting for sentinel-dockctl scrub: {e}"));
                    self.child = None;
                    return;
                }
            }
        };
        self.child = None;
        let output = fs::read_to_string(&self.output).unwrap_or_default();
        // Exit status 3 never hides a problem found: it means no answer came.
        let excused = [
            "hung up without answering",
            "cannot reach sentinel-dockd",
            "did not answer",
            "a scrub is already running",
            "Connection reset by peer",
            "Broken pipe",
        ];
        if matches!(status.code(), Some(0 | 1)) {
            self.done += 1;
        }
        let fine = match status.code() {
            Some(0) => true,
            Some(3) => excused.iter().any(|e| output.contains(e)),
            _ => false,
        };
        if !fine {
            violations.push(format!(
                "sentinel-dockctl scrub beside the ingests, on a store nobody damaged, exited with {status}:\n{output}"
            ));
        }
    }
}

impl Drop for Scrub {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child
            && child.try_wait().ok().flatten().is_none()
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The scrub alarms (`event=scrub-problem`) in the daemon's log from byte `from` on.
pub fn alarms_in_log(log: &Path, from: u64) -> Option<String> {
    let text = fs::read(log).unwrap_or_default();
    let start = (from as usize).min(text.len());
    let text = String::from_utf8_lossy(&text[start..]);
    let alarms: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("event=scrub-problem"))
        .collect();
    (!alarms.is_empty()).then(|| {
        format!(
            "a scrub beside the ingests raised {} alarm(s) on a store nobody damaged:\n{}",
            alarms.len(),
            alarms.join("\n")
        )
    })
}
