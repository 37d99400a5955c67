//! The scan's view of an exFAT volume: directories read through their clusters, listed
//! as the shared scan expects, names compared through the volume's up-case table.

use super::device::{Device, Run};
use super::entries::{self, ENTRY_BYTES, FileSet, Parsed};
use super::upcase::Upcase;
use crate::camera::volume::path::escape;
use crate::camera::volume::scan::{self, Backend, Kind, Listed};
use crate::camera::volume::{VolumeError, VolumePath};

/// Where a directory's entries are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DirRef {
    /// Its clusters.
    pub runs: Vec<Run>,
    /// Bytes of entries it holds (DataLength; the whole chain for the root).
    pub bytes: u64,
}

/// The longest entry set: a File entry, its stream and 17 name entries.
const MAX_SET_ENTRIES: u64 = 19;

/// The most bytes a directory listing reads: every allowed entry with the longest name.
pub(crate) fn dir_cap(max_entries: usize) -> u64 {
    (max_entries as u64 + 8) * MAX_SET_ENTRIES * ENTRY_BYTES
}

impl DirRef {
    /// The volume offset of byte `at` of the directory.
    pub(crate) fn offset(&self, dev: &Device, at: u64) -> Option<u64> {
        let cluster = dev.boot.cluster_bytes();
        let mut skipped = 0u64;
        for run in &self.runs {
            let len = u64::from(run.count) * cluster;
            if at < skipped + len {
                let within = at - skipped;
                return Some(dev.boot.cluster_offset(run.first) + within);
            }
            skipped += len;
        }
        None
    }
}

/// The bytes of a directory, at most `dir_cap` of them.
pub(crate) fn read_dir(
    dev: &mut Device,
    dir: &DirRef,
    max_entries: usize,
    what: &dyn Fn() -> String,
) -> Result<Vec<u8>, VolumeError> {
    // A directory always has at least one cluster, however large the volume's clusters.
    let cap = dir_cap(max_entries).max(dev.boot.cluster_bytes());
    if dir.bytes > cap {
        return Err(dev.corrupt(
            format!("{} is too large", what()),
            format!(
                "{} bytes of entries, more than {max_entries} entries (profile.max_dir_entries) need",
                dir.bytes
            ),
        ));
    }
    let cluster = dev.boot.cluster_bytes();
    let mut bytes = Vec::with_capacity(dir.bytes as usize);
    for run in &dir.runs {
        let left = dir.bytes - bytes.len() as u64;
        let take = (u64::from(run.count) * cluster).min(left) as usize;
        if take == 0 {
            break;
        }
        let at = dev.boot.cluster_offset(run.first);
        let start = bytes.len();
        bytes.resize(start + take, 0);
        dev.run(what, |d| d.read_at(at, &mut bytes[start..]))?;
    }
    Ok(bytes)
}

/// The directory's clusters, from its entry set; a broken chain is an error here (the
/// ownership map has already counted it as damage).
pub(crate) fn dir_of(
    dev: &mut Device,
    set: &FileSet,
    shown: &VolumePath,
) -> Result<DirRef, VolumeError> {
    let extent = set.extent;
    let clusters = extent.data_length.div_ceil(dev.boot.cluster_bytes());
    if clusters == 0 {
        return Ok(DirRef {
            runs: Vec::new(),
            bytes: 0,
        });
    }
    let limit = u64::from(dev.boot.cluster_count);
    let runs = dev.run(
        || format!("following directory {shown}"),
        |d| d.runs(extent.first, Some(clusters), extent.contiguous, limit),
    )?;
    match runs {
        Ok(runs) => Ok(DirRef {
            runs,
            bytes: extent.data_length,
        }),
        Err(fault) => Err(dev.corrupt(
            format!("directory {shown}'s clusters"),
            format!("{}: {}", fault.code, fault.detail),
        )),
    }
}

/// The name of a set as text, or its escaped units when it is not valid UTF-16.
pub(crate) fn set_name(set: &FileSet) -> Result<String, String> {
    String::from_utf16(&set.name).map_err(|_| {
        char::decode_utf16(set.name.iter().copied())
            .map(|r| match r {
                Ok(c) => escape(&c.to_string()),
                Err(e) => format!("\\u{{{:x}}}", e.unpaired_surrogate()),
            })
            .collect()
    })
}

/// A scan over an exFAT volume.
pub(crate) struct ExfatWalk<'a> {
    pub dev: &'a mut Device,
    pub upcase: &'a Upcase,
    pub root: &'a DirRef,
    pub max_entries: usize,
}

impl ExfatWalk<'_> {
    /// Lists a directory's in-use entry sets.
    pub(crate) fn parsed(
        &mut self,
        dir: &DirRef,
        shown: &VolumePath,
    ) -> Result<Parsed, VolumeError> {
        let root = shown.components().is_empty();
        let what = || match root {
            true => "the root directory".to_string(),
            false => format!("directory {shown}"),
        };
        let cap = dir_cap(self.max_entries).max(self.dev.boot.cluster_bytes());
        self.dev.guard.rebudget(cap + (1 << 20));
        let bytes = read_dir(self.dev, dir, self.max_entries, &what)?;
        let parsed = entries::parse(&bytes, root);
        if parsed.sets.len() > self.max_entries {
            return Err(self.dev.corrupt(
                format!("{} is too large", what()),
                format!(
                    "more than {} entries (profile.max_dir_entries)",
                    self.max_entries
                ),
            ));
        }
        Ok(parsed)
    }

    /// The entry set at `path`, with the directory holding it; each component found
    /// unambiguously, as the volume's own up-case table compares names.
    pub(crate) fn lookup(&mut self, path: &VolumePath) -> Result<(DirRef, FileSet), VolumeError> {
        scan::check_path(path, &self.dev.source)?;
        let mut dir = self.root.clone();
        let mut shown = VolumePath::new(&[]);
        let components = path.components();
        let last = components.len() - 1;
        for name in &components[..last] {
            let entries = self.list(&dir, &shown)?;
            shown = shown.child(name);
            let found = &entries[scan::find(&entries, name, &self.dev.source, &shown)?];
            if found.kind != Kind::Dir {
                return Err(VolumeError::NotFound {
                    path: self.dev.source.clone(),
                    file: path.to_string(),
                });
            }
            dir = dir_of(self.dev, &found.entry, &shown)?;
        }
        let mut entries = self.list(&dir, &shown)?;
        let index = scan::find(&entries, &components[last], &self.dev.source, path)?;
        let listed = entries.swap_remove(index);
        match listed.kind {
            Kind::File { .. } => Ok((dir, listed.entry)),
            Kind::Dir => Err(VolumeError::NotRegular {
                path: self.dev.source.clone(),
                file: path.to_string(),
                reason: "a directory".into(),
            }),
            Kind::Other(reason) => Err(VolumeError::NotRegular {
                path: self.dev.source.clone(),
                file: path.to_string(),
                reason: reason.into(),
            }),
        }
    }
}

const DAMAGED_SET: &str =
    "its exfat entry set is damaged (see the volume's damage report): neither read nor wiped";

impl Backend for ExfatWalk<'_> {
    type Dir = DirRef;
    type Entry = FileSet;

    fn root(&mut self) -> Result<DirRef, VolumeError> {
        Ok(self.root.clone())
    }

    fn list(
        &mut self,
        dir: &DirRef,
        shown: &VolumePath,
    ) -> Result<Vec<Listed<FileSet>>, VolumeError> {
        let parsed = self.parsed(dir, shown)?;
        Ok(parsed
            .sets
            .into_iter()
            .map(|set| {
                let kind =
                    if set.fault.is_some() || self.upcase.name_hash(&set.name) != set.name_hash {
                        Kind::Other(DAMAGED_SET)
                    } else if set.is_dir {
                        Kind::Dir
                    } else {
                        Kind::File {
                            size: set.extent.data_length,
                        }
                    };
                let name = set_name(&set);
                let aliases = match (&name, self.upcase.upper(&set.name)) {
                    (Ok(n), Some(up)) if &up != n => vec![up],
                    _ => Vec::new(),
                };
                Listed {
                    name,
                    aliases,
                    kind,
                    entry: set,
                }
            })
            .collect())
    }

    fn open_dir(
        &mut self,
        _parent: &DirRef,
        entry: &FileSet,
        shown: &VolumePath,
    ) -> Result<DirRef, VolumeError> {
        dir_of(self.dev, entry, shown)
    }

    fn read_file(
        &mut self,
        _parent: &DirRef,
        entry: &FileSet,
        shown: &VolumePath,
        max: u64,
    ) -> Result<Vec<u8>, VolumeError> {
        super::reader::read_all(self.dev, entry, shown, max)
    }
}
