//! One entry of the dock folder: is it a camera's block device (or a disk image standing
//! for one), something to refuse, or nothing yet?

use std::ffi::OsStr;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// What stands behind an accepted link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum TargetKind {
    /// A block device: a real camera's mass-storage volume.
    BlockDevice,
    /// A regular file: a disk image, as tests and the demo dock.
    DiskImage,
}

/// A camera's link in the dock folder, accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DockedLink {
    /// The slot: the link's name, which the udev rule makes the camera's USB serial.
    pub slot: String,
    /// The link itself, `<dock>/<slot>`: what the ingest opens, so that a camera pulled
    /// and replaced by another under the same device name is never wiped by mistake.
    pub link: PathBuf,
    /// What the link resolved to when it was seen (the block device or image).
    pub target: PathBuf,
    /// Block device or disk image.
    pub kind: TargetKind,
}

/// Which link and which target an entry was when seen: a change is a new docking.
///
/// udev makes a new link each time a camera enumerates, so a camera pulled and docked
/// again between two scans still counts as docked again. A file system may give the new
/// link the old one's inode number, hence its change time too (nothing else touches a link).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LinkIdentity {
    link: (u64, u64, i64, i64),
    target: (u64, u64, u64),
}

/// An entry of the dock folder, examined.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub identity: LinkIdentity,
    /// The accepted link, or why it is refused.
    pub verdict: Result<DockedLink, Refusal>,
}

/// A dock entry that is not a camera, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    /// The entry's name, escaped for display.
    pub slot: String,
    /// The entry's path.
    pub link: PathBuf,
    /// Why it is refused, in words a technician can act on.
    pub reason: String,
}

/// The longest slot name accepted; a USB serial string is far shorter.
const MAX_SLOT_LEN: usize = 64;

/// Examines `dir/name`; `None` for what is not (or no longer) a dock entry.
pub(crate) fn examine(dir: &Path, name: &OsStr) -> Option<Entry> {
    // udev writes a link as `.#<name><random>` and renames it into place: not yet a camera.
    if name.as_encoded_bytes().starts_with(b".") {
        return None;
    }
    let link = dir.join(name);
    let own = std::fs::symlink_metadata(&link).ok()?;
    let slot = slot_name(name);
    let refuse = |identity, reason: String| Entry {
        identity,
        verdict: Err(Refusal {
            slot: slot
                .clone()
                .unwrap_or_else(|| name.to_string_lossy().escape_debug().to_string()),
            link: link.clone(),
            reason,
        }),
    };
    let target_meta = match std::fs::metadata(&link) {
        Ok(m) => m,
        // A link whose device node is already gone is a camera being unplugged.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
        Err(e) => {
            let identity = LinkIdentity {
                link: (own.dev(), own.ino(), own.ctime(), own.ctime_nsec()),
                target: (0, 0, 0),
            };
            return Some(refuse(identity, format!("cannot be followed: {e}")));
        }
    };
    let identity = LinkIdentity {
        link: (own.dev(), own.ino(), own.ctime(), own.ctime_nsec()),
        target: (target_meta.dev(), target_meta.ino(), target_meta.rdev()),
    };
    let file_type = target_meta.file_type();
    let kind = if file_type.is_block_device() {
        TargetKind::BlockDevice
    } else if file_type.is_file() {
        TargetKind::DiskImage
    } else {
        let what = if file_type.is_dir() {
            "a directory"
        } else if file_type.is_fifo() {
            "a FIFO (named pipe)"
        } else if file_type.is_char_device() {
            "a character device"
        } else if file_type.is_socket() {
            "a socket"
        } else {
            "something unknown"
        };
        return Some(refuse(
            identity,
            format!(
                "points at {what}, not a block device or a disk image: check the udev rule that made it"
            ),
        ));
    };
    let Some(slot) = slot else {
        return Some(refuse(
            identity,
            format!(
                "its name is not a camera serial (1 to {MAX_SLOT_LEN} printable ASCII characters): check the udev rule that made it"
            ),
        ));
    };
    let target = std::fs::canonicalize(&link).unwrap_or_else(|_| link.clone());
    Some(Entry {
        identity,
        verdict: Ok(DockedLink {
            slot,
            link,
            target,
            kind,
        }),
    })
}

/// The link's name as a slot, when it is printable ASCII of a sensible length.
fn slot_name(name: &OsStr) -> Option<String> {
    let text = name.to_str()?;
    let ok = !text.is_empty()
        && text.len() <= MAX_SLOT_LEN
        && text.bytes().all(|b| b.is_ascii_graphic());
    ok.then(|| text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn examine_link(dir: &Path, name: &str) -> Option<Entry> {
        examine(dir, OsStr::new(name))
    }

    #[test]
    fn images_are_accepted_and_other_targets_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dock = tmp.path().join("dock");
        std::fs::create_dir(&dock).unwrap();
        let image = tmp.path().join("cam.img");
        std::fs::write(&image, b"fat").unwrap();
        symlink(&image, dock.join("SNTL-00042")).unwrap();
        symlink(tmp.path(), dock.join("DIR-1")).unwrap();
        let fifo = tmp.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        symlink(&fifo, dock.join("FIFO-1")).unwrap();
        symlink(tmp.path().join("missing"), dock.join("GONE-1")).unwrap();
        symlink(&image, dock.join(".#SNTL-00042abc")).unwrap();
        symlink(&image, dock.join("bad name")).unwrap();

        let ok = examine_link(&dock, "SNTL-00042").unwrap().verdict.unwrap();
        assert_eq!(ok.slot, "SNTL-00042");
        assert_eq!(ok.kind, TargetKind::DiskImage);
        assert_eq!(ok.target, image.canonicalize().unwrap());
        let dir = examine_link(&dock, "DIR-1").unwrap().verdict.unwrap_err();
        assert!(dir.reason.contains("a directory"), "{}", dir.reason);
        let fifo = examine_link(&dock, "FIFO-1").unwrap().verdict.unwrap_err();
        assert!(fifo.reason.contains("FIFO"), "{}", fifo.reason);
        assert!(
            examine_link(&dock, "GONE-1").is_none(),
            "dangling: unplugging"
        );
        assert!(
            examine_link(&dock, ".#SNTL-00042abc").is_none(),
            "udev temp link"
        );
        let bad = examine_link(&dock, "bad name")
            .unwrap()
            .verdict
            .unwrap_err();
        assert!(bad.reason.contains("not a camera serial"), "{}", bad.reason);
    }

    #[test]
    fn a_new_link_to_the_same_image_is_a_new_identity() {
        let tmp = tempfile::tempdir().unwrap();
        let image = tmp.path().join("cam.img");
        std::fs::write(&image, b"fat").unwrap();
        let link = tmp.path().join("S");
        symlink(&image, &link).unwrap();
        let first = examine_link(tmp.path(), "S").unwrap().identity;
        let temp = tmp.path().join(".#S");
        symlink(&image, &temp).unwrap();
        std::fs::rename(&temp, &link).unwrap();
        let second = examine_link(tmp.path(), "S").unwrap().identity;
        assert_ne!(first, second);
    }
}
