//! A camera volume already mounted on a directory (a test rig, or a host that mounts).
//!
//! Every step is relative to an open directory descriptor with `O_NOFOLLOW`, never a host
//! path joined from names: a symbolic link on the volume is reported, not followed, and
//! no name can climb out of the mount.

use std::ffi::{CStr, CString};
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::OwnedFd;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, openat};
use nix::sys::stat::{Mode, SFlag, fstatat};
use nix::unistd::{UnlinkatFlags, fsync, unlinkat};

use super::path::escape_bytes;
use super::scan::{self, Backend, Kind, Listed};
use super::{Access, Scan, Volume, VolumeError, VolumeInfo, VolumeKind, VolumePath};
use crate::base::config::{Profile, WipeMode};

/// A mounted camera volume, opened by `volume::open`.
pub(crate) struct DirVolume {
    root: OwnedFd,
    info: VolumeInfo,
    profile: Profile,
    access: Access,
}

/// A walk over the mounted volume, with the deadline of the operation it serves.
struct DirWalk<'a> {
    volume: &'a DirVolume,
    deadline: Instant,
}

const DIR_FLAGS: OFlag = OFlag::O_RDONLY
    .union(OFlag::O_DIRECTORY)
    .union(OFlag::O_NOFOLLOW)
    .union(OFlag::O_CLOEXEC);
// O_NONBLOCK: opening a FIFO planted on the volume must fail fast, not wait for a writer.
const FILE_FLAGS: OFlag = OFlag::O_NOFOLLOW
    .union(OFlag::O_NONBLOCK)
    .union(OFlag::O_NOCTTY)
    .union(OFlag::O_CLOEXEC);

impl DirVolume {
    /// Opens the mount point; the path itself may be a symbolic link, nothing under it.
    pub(crate) fn open(
        source: &Path,
        profile: &Profile,
        access: Access,
    ) -> Result<DirVolume, VolumeError> {
        let root = nix::fcntl::open(
            source,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| VolumeError::Open {
            path: source.to_path_buf(),
            source: e.into(),
        })?;
        Ok(DirVolume {
            root,
            info: VolumeInfo {
                kind: VolumeKind::Directory,
                label: None,
                source: source.to_path_buf(),
            },
            profile: profile.clone(),
            access,
        })
    }

    fn walk(&self) -> DirWalk<'_> {
        let limit = Duration::from_secs(u64::from(self.profile.scan_deadline_secs));
        DirWalk {
            volume: self,
            deadline: Instant::now() + limit,
        }
    }

    fn source(&self) -> PathBuf {
        self.info.source.clone()
    }

    fn io(&self, what: String, source: io::Error) -> VolumeError {
        match source.raw_os_error().map(Errno::from_raw) {
            Some(Errno::ENOENT) => VolumeError::NotFound {
                path: self.source(),
                file: what,
            },
            // O_DIRECTORY | O_NOFOLLOW on a symbolic link fails with ENOTDIR, not ELOOP.
            Some(Errno::ENOTDIR) => VolumeError::NotRegular {
                path: self.source(),
                file: what,
                reason: "a file or symbolic link where a directory was expected; not followed"
                    .into(),
            },
            Some(Errno::ELOOP) => VolumeError::NotRegular {
                path: self.source(),
                file: what,
                reason: "a symbolic link, not followed".into(),
            },
            _ => VolumeError::Io {
                path: self.source(),
                what: format!("reading {what}"),
                source,
            },
        }
    }

    /// The directory holding `path`'s last component, and that component.
    fn parent_of(&self, path: &VolumePath) -> Result<(OwnedFd, CString), VolumeError> {
        scan::check_path(path, &self.info.source)?;
        let components = path.components();
        let last = components.len() - 1;
        let mut dir = self
            .root
            .try_clone()
            .map_err(|e| self.io(path.to_string(), e))?;
        for name in &components[..last] {
            dir = openat(&dir, cstring(name).as_c_str(), DIR_FLAGS, Mode::empty())
                .map_err(|e| self.io(path.to_string(), e.into()))?;
        }
        Ok((dir, cstring(&components[last])))
    }

    fn open_regular(
        &self,
        dir: &OwnedFd,
        name: &CStr,
        flags: OFlag,
        shown: &VolumePath,
    ) -> Result<(File, u64), VolumeError> {
        let fd = openat(dir, name, FILE_FLAGS | flags, Mode::empty())
            .map_err(|e| self.io(shown.to_string(), e.into()))?;
        let file = File::from(fd);
        let meta = file.metadata().map_err(|e| self.io(shown.to_string(), e))?;
        if !meta.is_file() {
            return Err(VolumeError::NotRegular {
                path: self.source(),
                file: shown.to_string(),
                reason: "a directory or special file".into(),
            });
        }
        Ok((file, meta.len()))
    }
}

// Names in a `VolumePath` passed `check_path`: no NUL, so this never fails.
fn cstring(name: &str) -> CString {
    CString::new(name).unwrap_or_default()
}

impl Backend for DirWalk<'_> {
    type Dir = OwnedFd;
    type Entry = CString;

    fn root(&mut self) -> Result<OwnedFd, VolumeError> {
        let v = self.volume;
        v.root.try_clone().map_err(|e| v.io("/".into(), e))
    }

    fn list(
        &mut self,
        dir: &OwnedFd,
        shown: &VolumePath,
    ) -> Result<Vec<Listed<CString>>, VolumeError> {
        let v = self.volume;
        let max = v.profile.max_dir_entries as usize;
        let what = || format!("directory {shown}");
        let fail = |e: Errno| v.io(what(), e.into());
        let mut handle = nix::dir::Dir::openat(dir, ".", DIR_FLAGS, Mode::empty()).map_err(fail)?;
        let mut out = Vec::new();
        for entry in handle.iter() {
            let entry = entry.map_err(fail)?;
            let name = entry.file_name();
            if name == c"." || name == c".." {
                continue;
            }
            if out.len() == max || Instant::now() > self.deadline {
                let detail = match out.len() == max {
                    true => format!("more than {max} entries (profile.max_dir_entries)"),
                    false => "still listing after profile.scan_deadline_secs".into(),
                };
                return Err(VolumeError::Corrupt {
                    path: v.source(),
                    what: format!("{} loops or is too large", what()),
                    detail,
                });
            }
            let stat = fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW).map_err(fail)?;
            let kind = match SFlag::from_bits_truncate(stat.st_mode & SFlag::S_IFMT.bits()) {
                SFlag::S_IFREG => Kind::File {
                    size: u64::try_from(stat.st_size).unwrap_or(0),
                },
                SFlag::S_IFDIR => Kind::Dir,
                SFlag::S_IFLNK => Kind::Other("a symbolic link: not followed"),
                _ => Kind::Other("a device, FIFO or socket: not a regular file"),
            };
            let bytes = name.to_bytes();
            out.push(Listed {
                name: std::str::from_utf8(bytes)
                    .map(str::to_string)
                    .map_err(|_| escape_bytes(bytes)),
                aliases: Vec::new(),
                kind,
                entry: name.to_owned(),
            });
        }
        Ok(out)
    }

    fn open_dir(
        &mut self,
        parent: &OwnedFd,
        entry: &CString,
        shown: &VolumePath,
    ) -> Result<OwnedFd, VolumeError> {
        openat(parent, entry.as_c_str(), DIR_FLAGS, Mode::empty())
            .map_err(|e| self.volume.io(shown.to_string(), e.into()))
    }

    fn read_file(
        &mut self,
        parent: &OwnedFd,
        entry: &CString,
        shown: &VolumePath,
        max: u64,
    ) -> Result<Vec<u8>, VolumeError> {
        let v = self.volume;
        let (file, size) = v.open_regular(parent, entry, OFlag::O_RDONLY, shown)?;
        read_bounded(file, size, max).map_err(|e| match e {
            Bounded::TooLarge(size) => VolumeError::TooLarge {
                path: v.source(),
                file: shown.to_string(),
                size,
                max,
            },
            Bounded::Io(e) => v.io(shown.to_string(), e),
        })
    }
}

enum Bounded {
    TooLarge(u64),
    Io(io::Error),
}

/// Reads a whole file of at most `max` bytes, even if it grows while being read.
fn read_bounded(file: File, size: u64, max: u64) -> Result<Vec<u8>, Bounded> {
    if size > max {
        return Err(Bounded::TooLarge(size));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(Bounded::Io)?;
    if bytes.len() as u64 > max {
        return Err(Bounded::TooLarge(bytes.len() as u64));
    }
    Ok(bytes)
}

impl Volume for DirVolume {
    fn info(&self) -> &VolumeInfo {
        &self.info
    }

    fn scan(&mut self) -> Result<Scan, VolumeError> {
        scan::scan(&mut self.walk(), &self.profile, None)
    }

    fn open_file(&mut self, path: &VolumePath) -> Result<Box<dyn Read + '_>, VolumeError> {
        let (dir, name) = self.parent_of(path)?;
        let (file, size) = self.open_regular(&dir, &name, OFlag::O_RDONLY, path)?;
        // The size seen at open bounds the stream, as a FAT entry's size does.
        Ok(Box::new(file.take(size)))
    }

    fn read_small(&mut self, path: &VolumePath, max: u64) -> Result<Vec<u8>, VolumeError> {
        let (dir, name) = self.parent_of(path)?;
        self.walk().read_file(&dir, &name, path, max)
    }

    fn wipe(&mut self, path: &VolumePath, mode: WipeMode) -> Result<(), VolumeError> {
        if self.access != Access::ReadWrite {
            return Err(VolumeError::ReadOnly {
                path: self.source(),
                file: path.to_string(),
            });
        }
        scan::check_wipeable(path, &self.profile, &self.info.source)?;
        let (dir, name) = self.parent_of(path)?;
        let parent = VolumePath::from_owned(path.components()[..2].to_vec());
        let entries = self.walk().list(&dir, &parent)?;
        let last = path.components()[2].as_str();
        let found = &entries[scan::find(&entries, last, &self.info.source, path)?];
        if !matches!(found.kind, Kind::File { .. }) {
            return Err(VolumeError::NotRegular {
                path: self.source(),
                file: path.to_string(),
                reason: "not a regular file".into(),
            });
        }
        let write_err = |what: &str, e: io::Error| VolumeError::Io {
            path: self.source(),
            what: format!("{what} {path}"),
            source: e,
        };
        if mode == WipeMode::Overwrite {
            let (file, size) = self.open_regular(&dir, &name, OFlag::O_WRONLY, path)?;
            let zeros = vec![0u8; 1 << 20];
            let mut done = 0u64;
            while done < size {
                let n = (size - done).min(zeros.len() as u64) as usize;
                file.write_all_at(&zeros[..n], done)
                    .map_err(|e| write_err("writing zeros over", e))?;
                done += n as u64;
            }
            file.sync_all()
                .map_err(|e| write_err("flushing the zeros written over", e))?;
        }
        unlinkat(&dir, name.as_c_str(), UnlinkatFlags::NoRemoveDir)
            .map_err(|e| write_err("unlinking", e.into()))?;
        fsync(&dir).map_err(|e| write_err("flushing the directory of", e.into()))
    }

    fn close(self: Box<Self>) -> Result<(), VolumeError> {
        Ok(())
    }
}
