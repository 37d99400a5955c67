//! Which cameras are docked: the folder where udev links each camera's block device,
//! named by serial. Hardware becomes typed messages here, at the edge ([`DockChange`]).
//!
//! A rescan of the folder is the ground truth; inotify (through `notify`) only makes it
//! prompt. udev writes each link as a temporary link renamed into place, and removes the
//! folder with its last link, so the watcher also watches the folder's parent and rescans
//! every few seconds whatever it heard.

mod link;
mod watcher;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

pub(crate) use link::{DockedLink, Refusal};
pub(crate) use watcher::DockWatcher;
// The service's tests build links by hand.
#[cfg(test)]
pub(crate) use link::TargetKind;

use link::{Entry, LinkIdentity};

/// What changed in the dock folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DockChange {
    /// A camera's link appeared.
    Docked(DockedLink),
    /// A camera's link disappeared: the camera was taken.
    Undocked {
        /// The slot it was in.
        slot: String,
    },
    /// An entry appeared that is not a camera; it is left alone.
    Refused(Refusal),
    /// A refused entry disappeared.
    Withdrawn {
        /// The entry's name, as in its refusal.
        slot: String,
    },
}

/// The dock folder and what was in it at the last scan.
#[derive(Debug)]
pub struct Dock {
    dir: PathBuf,
    known: BTreeMap<OsString, Known>,
    /// The last error listing the folder, so that it is logged once, not every rescan.
    last_error: Option<String>,
}

#[derive(Debug)]
struct Known {
    identity: LinkIdentity,
    /// The slot, when the entry was accepted as a camera; else the refusal's name.
    docked: Result<String, String>,
}

impl Dock {
    /// A dock on `dir`, empty until the first [`Dock::rescan`].
    pub fn new(dir: &Path) -> Dock {
        Dock {
            dir: dir.to_path_buf(),
            known: BTreeMap::new(),
            last_error: None,
        }
    }

    /// The dock folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Reads the folder again; returns what changed since the last scan, removals first.
    pub(crate) fn rescan(&mut self) -> Vec<DockChange> {
        let Some(current) = self.list() else {
            return Vec::new(); // unreadable: keep what is known rather than undock everyone
        };
        let mut changes = Vec::new();
        let gone: Vec<OsString> = self
            .known
            .iter()
            .filter(|(name, known)| {
                current
                    .get(*name)
                    .is_none_or(|e| e.identity != known.identity)
            })
            .map(|(name, _)| name.clone())
            .collect();
        for name in gone {
            if let Some(known) = self.known.remove(&name) {
                changes.push(match known.docked {
                    Ok(slot) => DockChange::Undocked { slot },
                    Err(slot) => DockChange::Withdrawn { slot },
                });
            }
        }
        for (name, entry) in current {
            if self.known.contains_key(&name) {
                continue;
            }
            let (docked, change) = match entry.verdict {
                Ok(link) => (Ok(link.slot.clone()), DockChange::Docked(link)),
                Err(refusal) => (Err(refusal.slot.clone()), DockChange::Refused(refusal)),
            };
            self.known.insert(
                name,
                Known {
                    identity: entry.identity,
                    docked,
                },
            );
            changes.push(change);
        }
        changes
    }

    /// The folder's entries now; an absent folder is an empty dock (udev removes it with
    /// its last link); `None` when it cannot be read.
    fn list(&mut self) -> Option<BTreeMap<OsString, Entry>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.last_error = None;
                return Some(BTreeMap::new());
            }
            Err(e) => {
                self.report_error(format!("cannot list the dock folder: {e}"));
                return None;
            }
        };
        let mut current = BTreeMap::new();
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    self.report_error(format!("cannot list the dock folder: {e}"));
                    return None;
                }
            };
            let name = entry.file_name();
            if let Some(examined) = link::examine(&self.dir, &name) {
                current.insert(name, examined);
            }
        }
        self.last_error = None;
        Some(current)
    }

    fn report_error(&mut self, message: String) {
        if self.last_error.as_ref() != Some(&message) {
            tracing::warn!(dock = %self.dir.display(), "{message}; the docked cameras stay as they were: check the folder's permissions");
            self.last_error = Some(message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn rescans_report_dockings_undockings_and_refusals_once() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("dock");
        let image = tmp.path().join("a.img");
        std::fs::write(&image, b"x").unwrap();
        let mut dock = Dock::new(&dir);
        assert!(dock.rescan().is_empty(), "no folder yet: an empty dock");

        std::fs::create_dir(&dir).unwrap();
        symlink(&image, dir.join("A")).unwrap();
        symlink(tmp.path(), dir.join("D")).unwrap();
        let changes = dock.rescan();
        assert_eq!(changes.len(), 2, "{changes:?}");
        assert!(matches!(&changes[0], DockChange::Docked(l) if l.slot == "A"));
        assert!(matches!(&changes[1], DockChange::Refused(r) if r.slot == "D"));
        assert!(dock.rescan().is_empty(), "nothing new, nothing reported");

        // Pulled and docked again between two scans: undocked, then docked. (Timestamps
        // tick every few ms; a camera cannot be docked again faster than that.)
        std::fs::remove_file(dir.join("A")).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        symlink(&image, dir.join(".#A1")).unwrap();
        std::fs::rename(dir.join(".#A1"), dir.join("A")).unwrap();
        let changes = dock.rescan();
        assert!(matches!(&changes[0], DockChange::Undocked { slot } if slot == "A"));
        assert!(matches!(&changes[1], DockChange::Docked(l) if l.slot == "A"));

        // udev removes the folder with its last link.
        std::fs::remove_dir_all(&dir).unwrap();
        let changes = dock.rescan();
        assert!(changes.contains(&DockChange::Undocked { slot: "A".into() }));
        assert!(changes.contains(&DockChange::Withdrawn { slot: "D".into() }));
    }
}
