//! The dock watcher: a thread that rescans the dock folder when inotify reports a change
//! in it or its parent, and every [`RESCAN_EVERY`] anyway, and sends what changed.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use notify::{RecursiveMode, Watcher as _};
use tokio::sync::mpsc::Sender;

use super::{Dock, DockChange};

/// How often the dock folder is rescanned when inotify says nothing.
pub(crate) const RESCAN_EVERY: Duration = Duration::from_secs(2);
/// How long to wait after a change for the rest of it (udev's link, then its rename).
const SETTLE: Duration = Duration::from_millis(20);

/// What wakes the watcher thread.
enum Wake {
    /// Something happened under a watched folder.
    Changed,
    /// The service is stopping or changed its dock folder.
    Stop,
}

/// The running watcher; dropping it stops the thread.
pub(crate) struct DockWatcher {
    wake: mpsc::Sender<Wake>,
    thread: JoinHandle<()>,
    last_scan: Arc<Mutex<Instant>>,
    dir: PathBuf,
}

impl DockWatcher {
    /// Watches `dir`: scans it once now and returns that scan's changes (what is already
    /// docked), then sends every later change on `changes` from its own thread.
    pub fn start(
        dir: &Path,
        changes: Sender<DockChange>,
    ) -> std::io::Result<(DockWatcher, Vec<DockChange>)> {
        let (wake, woken) = mpsc::channel();
        let on_event = wake.clone();
        let watched = dir.to_path_buf();
        let inotify = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            let relevant = match &event {
                Ok(e) => e.paths.is_empty() || e.paths.iter().any(|p| p.starts_with(&watched)),
                Err(_) => true, // an overflowed queue: rescan
            };
            if relevant {
                let _ = on_event.send(Wake::Changed);
            }
        })
        .map_err(std::io::Error::other)?;
        let mut state = WatchState {
            dock: Dock::new(dir),
            inotify,
            dir_watched: None,
            parent_watched: false,
        };
        // Watches first, then the scan: nothing that happens in between is missed.
        state.ensure_watches();
        let initial = state.dock.rescan();
        let last_scan = Arc::new(Mutex::new(Instant::now()));
        let heartbeat = last_scan.clone();
        let thread = std::thread::Builder::new()
            .name("dock-watcher".into())
            .spawn(move || state.run(woken, changes, heartbeat))?;
        Ok((
            DockWatcher {
                wake,
                thread,
                last_scan,
                dir: dir.to_path_buf(),
            },
            initial,
        ))
    }

    /// A watcher of no dock (`[dock] enabled = false`, a head office): `dir` is neither
    /// read nor watched, nothing is ever sent; its thread only keeps it healthy.
    pub fn none(dir: &Path) -> std::io::Result<DockWatcher> {
        let (wake, woken) = mpsc::channel();
        let last_scan = Arc::new(Mutex::new(Instant::now()));
        let heartbeat = last_scan.clone();
        let thread = std::thread::Builder::new()
            .name("dock-watcher".into())
            .spawn(move || {
                while let Ok(Wake::Changed) | Err(RecvTimeoutError::Timeout) =
                    woken.recv_timeout(RESCAN_EVERY)
                {
                    *heartbeat
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner()) = Instant::now();
                }
            })?;
        Ok(DockWatcher {
            wake,
            thread,
            last_scan,
            dir: dir.to_path_buf(),
        })
    }

    /// Stops the thread: no change is sent after its current scan.
    pub fn stop(&self) {
        let _ = self.wake.send(Wake::Stop);
    }

    /// The folder watched.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the thread is running and has rescanned lately (a stat hung on a dying
    /// device would stop it: then the service is not healthy and its watchdog lapses).
    pub(crate) fn is_healthy(&self) -> bool {
        let last = *self
            .last_scan
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        !self.thread.is_finished() && last.elapsed() < RESCAN_EVERY * 3 + Duration::from_secs(1)
    }
}

impl Drop for DockWatcher {
    fn drop(&mut self) {
        self.stop();
    }
}

struct WatchState {
    dock: Dock,
    inotify: notify::RecommendedWatcher,
    /// The (device, inode) of the dock folder being watched: udev may remove and recreate it.
    dir_watched: Option<(u64, u64)>,
    parent_watched: bool,
}

impl WatchState {
    fn run(
        mut self,
        woken: mpsc::Receiver<Wake>,
        changes: Sender<DockChange>,
        heartbeat: Arc<Mutex<Instant>>,
    ) {
        loop {
            match woken.recv_timeout(RESCAN_EVERY) {
                Ok(Wake::Stop) | Err(RecvTimeoutError::Disconnected) => return,
                Ok(Wake::Changed) => {
                    std::thread::sleep(SETTLE);
                    // Many events, one rescan; a Stop among them still stops.
                    while let Ok(wake) = woken.try_recv() {
                        if matches!(wake, Wake::Stop) {
                            return;
                        }
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
            }
            self.ensure_watches();
            for change in self.dock.rescan() {
                if changes.blocking_send(change).is_err() {
                    return; // the service is gone
                }
            }
            *heartbeat
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()) = Instant::now();
        }
    }

    /// Watches the dock folder (again, if it was recreated) and its parent.
    fn ensure_watches(&mut self) {
        let dir = self.dock.dir().to_path_buf();
        if !self.parent_watched
            && let Some(parent) = dir.parent().filter(|p| p.is_dir())
        {
            match self.inotify.watch(parent, RecursiveMode::NonRecursive) {
                Ok(()) => self.parent_watched = true,
                Err(e) => {
                    tracing::debug!(parent = %parent.display(), "not watching the dock's parent: {e}")
                }
            }
        }
        let now = std::fs::metadata(&dir)
            .ok()
            .filter(|m| m.is_dir())
            .map(|m| (m.dev(), m.ino()));
        if now == self.dir_watched {
            return;
        }
        if self.dir_watched.is_some() {
            let _ = self.inotify.unwatch(&dir);
        }
        self.dir_watched = None;
        if now.is_some() {
            match self.inotify.watch(&dir, RecursiveMode::NonRecursive) {
                Ok(()) => self.dir_watched = now,
                Err(e) => {
                    tracing::warn!(dock = %dir.display(), "cannot watch the dock folder, relying on rescans every {RESCAN_EVERY:?}: {e}")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    async fn next(rx: &mut tokio::sync::mpsc::Receiver<DockChange>) -> DockChange {
        // Well under RESCAN_EVERY: these changes must come from inotify.
        tokio::time::timeout(Duration::from_millis(1500), rx.recv())
            .await
            .expect("a change within 1.5 s")
            .expect("watcher alive")
    }

    #[tokio::test]
    async fn renames_into_a_recreated_folder_are_seen_promptly() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("dock");
        let image = tmp.path().join("a.img");
        std::fs::write(&image, b"x").unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::channel(16);
        let (watcher, initial) = DockWatcher::start(&dir, tx).unwrap();
        assert!(initial.is_empty());
        assert!(watcher.is_healthy());

        for round in 0..2 {
            // As udev does it: the folder, a temp link, a rename.
            std::fs::create_dir(&dir).unwrap();
            symlink(&image, dir.join(".#A123")).unwrap();
            std::fs::rename(dir.join(".#A123"), dir.join("A")).unwrap();
            let docked = next(&mut rx).await;
            assert!(
                matches!(&docked, DockChange::Docked(l) if l.slot == "A"),
                "round {round}: {docked:?}"
            );
            std::fs::remove_file(dir.join("A")).unwrap();
            std::fs::remove_dir(&dir).unwrap();
            let undocked = next(&mut rx).await;
            assert_eq!(undocked, DockChange::Undocked { slot: "A".into() });
        }
    }
}
