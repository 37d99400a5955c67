//! The one-shot target: `sentinel-dockd --config F ingest --serial S SOURCE` on one camera,
//! a FAT image or a folder by turns; a run is finished when the process exits.

use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::camera::{self, SourceKind};
use super::run::{Cell, Finished, Running, Target};

/// `sentinel-dockd --config F ingest --serial S SOURCE`.
pub struct OneShot {
    pub dockd: PathBuf,
    /// Present the camera as an exFAT image on every cycle instead of FAT and folder.
    pub exfat: bool,
}

impl Target for OneShot {
    fn serials(&self) -> &'static [&'static str] {
        &[camera::SERIAL]
    }

    fn kind(&self, index: u32) -> SourceKind {
        // A FAT image on odd cycles (and the calibration), a folder on even ones.
        if self.exfat {
            SourceKind::ExfatImage
        } else if index.is_multiple_of(2) && index > 0 {
            SourceKind::Directory
        } else {
            SourceKind::FatImage
        }
    }

    fn config(&self) -> String {
        String::new()
    }

    fn exfat(&self) -> bool {
        self.exfat
    }

    fn start(
        &self,
        cell: &Cell,
        _: &mut u64,
        _: Option<Duration>,
    ) -> Result<Box<dyn Running>, String> {
        let log_path = cell.dir.join("last-run.log");
        let log = fs::File::create(&log_path).map_err(|e| e.to_string())?;
        let child = Command::new(&self.dockd)
            .arg("--config")
            .arg(&cell.config)
            .args(["ingest", "--serial", camera::SERIAL])
            .arg(&cell.sources[0])
            .env("SENTINEL_DOCK_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("starting {}: {e}", self.dockd.display()))?;
        Ok(Box::new(Ingest { child, log_path }))
    }
}

/// A running `sentinel-dockd ingest`: finished when it exits.
struct Ingest {
    child: Child,
    log_path: PathBuf,
}

impl Running for Ingest {
    fn poll(&mut self, _: Duration) -> Result<Option<Finished>, String> {
        let Some(status) = self.child.try_wait().map_err(|e| e.to_string())? else {
            return Ok(None);
        };
        if status.code() == Some(0) {
            return Ok(Some(Ok(())));
        }
        let log = fs::read_to_string(&self.log_path).unwrap_or_default();
        Ok(Some(Err(format!(
            "the ingest exited with {status}:\n{log}"
        ))))
    }

    fn kill(&mut self) -> Result<(), String> {
        // std's kill is SIGKILL, to this child's pid only.
        self.child.kill().map_err(|e| format!("kill: {e}"))?;
        self.child.wait().map_err(|e| e.to_string())?;
        Ok(())
    }
}

impl Drop for Ingest {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
