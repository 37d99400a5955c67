//! The scan both kinds of volume share: the identity file at the root, then
//! `<recordings_dir>/<day>/<file>`, everything else in the recordings directory ignored
//! with a reason. The backends only list directories and read small files.

use std::collections::HashMap;

use super::path::{component_problem, escape, fold};
use super::{Ignored, MAX_DEVICE_INI_BYTES, Scan, VolumeError, VolumeFile, VolumePath};
use crate::base::config::Profile;

/// What a directory entry is, as far as the scan cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A regular file of the declared size.
    File { size: u64 },
    /// A directory.
    Dir,
    /// Anything else (symbolic link, device, FIFO...), with why it is not followed.
    Other(&'static str),
}

/// One entry of a listed directory (`.` and `..` are never listed).
pub(crate) struct Listed<E> {
    /// The name, or the escaped raw name when it is not UTF-8.
    pub name: Result<String, String>,
    /// Other names the entry answers to when looked up (a FAT short name).
    pub aliases: Vec<String>,
    pub kind: Kind,
    /// The backend's handle for opening or reading it.
    pub entry: E,
}

/// How a scan reads a volume; each call is bounded by the backend.
pub(crate) trait Backend {
    type Dir;
    type Entry;
    fn root(&mut self) -> Result<Self::Dir, VolumeError>;
    /// Every entry of `dir`; an error when it holds more than `profile.max_dir_entries`.
    fn list(
        &mut self,
        dir: &Self::Dir,
        shown: &VolumePath,
    ) -> Result<Vec<Listed<Self::Entry>>, VolumeError>;
    fn open_dir(
        &mut self,
        parent: &Self::Dir,
        entry: &Self::Entry,
        shown: &VolumePath,
    ) -> Result<Self::Dir, VolumeError>;
    fn read_file(
        &mut self,
        parent: &Self::Dir,
        entry: &Self::Entry,
        shown: &VolumePath,
        max: u64,
    ) -> Result<Vec<u8>, VolumeError>;
}

const AMBIGUOUS: &str =
    "ambiguous: another entry of this directory has the same name ignoring case";

/// Lists the identity file and the recordings of a volume.
pub(crate) fn scan<B: Backend>(
    backend: &mut B,
    profile: &Profile,
    label: Option<String>,
) -> Result<Scan, VolumeError> {
    let mut scan = Scan {
        label,
        ..Scan::default()
    };
    let root_path = VolumePath::new(&[]);
    let root = backend.root()?;
    let entries = backend.list(&root, &root_path)?;
    let ambiguous = ambiguous(&entries);
    let (ini_key, rec_key) = (fold(&profile.device_ini), fold(&profile.recordings_dir));
    for (listed, ambiguous) in entries.iter().zip(ambiguous) {
        // Other root entries (LOG, stray files) are not this scan's business.
        let Ok(name) = &listed.name else { continue };
        let key = fold(name);
        if key != ini_key && key != rec_key {
            continue;
        }
        let path = root_path.child(name);
        if ambiguous {
            ignore(&mut scan, &path, AMBIGUOUS.into());
        } else if key == ini_key {
            match listed.kind {
                Kind::File { size } if size <= MAX_DEVICE_INI_BYTES => {
                    scan.device_ini = Some(backend.read_file(
                        &root,
                        &listed.entry,
                        &path,
                        MAX_DEVICE_INI_BYTES,
                    )?);
                }
                Kind::File { size } => ignore(
                    &mut scan,
                    &path,
                    format!("{size} bytes, more than the 64 KiB an identity file may hold"),
                ),
                _ => ignore(&mut scan, &path, "not a regular file".into()),
            }
        } else if listed.kind == Kind::Dir {
            let dir = backend.open_dir(&root, &listed.entry, &path)?;
            let scanned = scan_recordings(backend, &dir, &path, profile, &mut scan);
            skip_unreadable(scanned, &mut scan, &path)?;
        } else {
            ignore(&mut scan, &path, "not a directory".into());
        }
    }
    Ok(scan)
}

fn scan_recordings<B: Backend>(
    backend: &mut B,
    dir: &B::Dir,
    path: &VolumePath,
    profile: &Profile,
    scan: &mut Scan,
) -> Result<(), VolumeError> {
    let entries = backend.list(dir, path)?;
    for (listed, child) in usable(&entries, path, scan) {
        match listed.kind {
            Kind::Dir => {
                let day = backend.open_dir(dir, &listed.entry, &child)?;
                let scanned = scan_day(backend, &day, &child, scan);
                skip_unreadable(scanned, scan, &child)?;
            }
            Kind::File { .. } => ignore(
                scan,
                &child,
                format!(
                    "a file directly in {}, not in a day directory",
                    profile.recordings_dir
                ),
            ),
            Kind::Other(reason) => ignore(scan, &child, reason.into()),
        }
    }
    Ok(())
}

fn scan_day<B: Backend>(
    backend: &mut B,
    dir: &B::Dir,
    path: &VolumePath,
    scan: &mut Scan,
) -> Result<(), VolumeError> {
    let entries = backend.list(dir, path)?;
    let day_dir = path.components().last().cloned().unwrap_or_default();
    for (listed, child) in usable(&entries, path, scan) {
        match listed.kind {
            Kind::File { size } => scan.files.push(VolumeFile {
                day_dir: day_dir.clone(),
                name: child.components().last().cloned().unwrap_or_default(),
                path: child,
                size,
            }),
            Kind::Dir => ignore(
                scan,
                &child,
                "a directory inside a day directory: not read".into(),
            ),
            Kind::Other(reason) => ignore(scan, &child, reason.into()),
        }
    }
    Ok(())
}

/// The entries of a recordings or day directory that have a usable, unambiguous name,
/// with their paths; the others are recorded as ignored.
fn usable<'e, E>(
    entries: &'e [Listed<E>],
    path: &VolumePath,
    scan: &mut Scan,
) -> Vec<(&'e Listed<E>, VolumePath)> {
    let ambiguous = ambiguous(entries);
    let mut out = Vec::with_capacity(entries.len());
    for (listed, ambiguous) in entries.iter().zip(ambiguous) {
        let name = match &listed.name {
            Ok(name) => name,
            Err(shown) => {
                scan.ignored.push(Ignored {
                    path: format!("{path}/{shown}"),
                    reason: "the name is not valid UTF-8".into(),
                });
                continue;
            }
        };
        let child = path.child(name);
        if let Some(problem) = component_problem(name) {
            ignore(
                scan,
                &child,
                format!("the name is {problem}, which no FAT volume allows"),
            );
        } else if ambiguous {
            ignore(scan, &child, AMBIGUOUS.into());
        } else {
            out.push((listed, child));
        }
    }
    out
}

/// For each entry, whether another entry answers to one of its names ignoring case.
pub(crate) fn ambiguous<E>(entries: &[Listed<E>]) -> Vec<bool> {
    let mut marks = vec![false; entries.len()];
    let mut first: HashMap<String, usize> = HashMap::new();
    for (i, listed) in entries.iter().enumerate() {
        let Ok(name) = &listed.name else { continue };
        let mut keys: Vec<String> = std::iter::once(name)
            .chain(listed.aliases.iter())
            .map(|n| fold(n))
            .collect();
        keys.dedup();
        for key in keys {
            match first.get(&key) {
                Some(&j) if j != i => {
                    marks[i] = true;
                    marks[j] = true;
                }
                Some(_) => {}
                None => {
                    first.insert(key, i);
                }
            }
        }
    }
    marks
}

/// A folder the device cannot read (bad sectors) fails only its own recordings: they are
/// not listed, so neither read nor wiped, and the folder is named with why.
fn skip_unreadable(
    scanned: Result<(), VolumeError>,
    scan: &mut Scan,
    path: &VolumePath,
) -> Result<(), VolumeError> {
    match scanned {
        Err(VolumeError::Unreadable {
            clusters, detail, ..
        }) => {
            ignore(scan, path, unreadable_folder(&clusters, &detail));
            Ok(())
        }
        other => other,
    }
}

/// Why a folder was skipped, for the report's ignored list.
pub(crate) fn unreadable_folder(clusters: &str, detail: &str) -> String {
    format!(
        "the camera could not read this folder ({clusters}: {detail}; bad sectors): the recordings in it were not read and stay on the camera; keep the camera aside for the technician"
    )
}

fn ignore(scan: &mut Scan, path: &VolumePath, reason: String) {
    scan.ignored.push(Ignored {
        path: path.to_string(),
        reason,
    });
}

/// The one entry of a listing named exactly `name`, refusing names that another entry
/// also answers to ignoring case: a lookup must never pick the wrong file.
pub(crate) fn find<E>(
    entries: &[Listed<E>],
    name: &str,
    source: &std::path::Path,
    shown: &VolumePath,
) -> Result<usize, VolumeError> {
    let key = fold(name);
    let answers = |l: &Listed<E>| match &l.name {
        Ok(n) => fold(n) == key || l.aliases.iter().any(|a| fold(a) == key),
        Err(_) => false,
    };
    let exact = entries
        .iter()
        .position(|l| l.name.as_deref() == Ok(name))
        .ok_or_else(|| VolumeError::NotFound {
            path: source.to_path_buf(),
            file: shown.to_string(),
        })?;
    if entries.iter().filter(|l| answers(l)).count() > 1 {
        return Err(VolumeError::Ambiguous {
            path: source.to_path_buf(),
            file: shown.to_string(),
        });
    }
    Ok(exact)
}

/// Checks `path` is not the root and every component can name an entry.
pub(crate) fn check_path(path: &VolumePath, source: &std::path::Path) -> Result<(), VolumeError> {
    let invalid = |reason: String| VolumeError::InvalidPath {
        path: source.to_path_buf(),
        file: path.to_string(),
        reason,
    };
    if path.components().is_empty() {
        return Err(invalid("the root directory is not a file".into()));
    }
    for component in path.components() {
        if let Some(problem) = component_problem(component) {
            return Err(invalid(format!("`{}` is {problem}", escape(component))));
        }
    }
    Ok(())
}

/// Checks `path` is `<recordings_dir>/<day>/<file>`, the only files a wipe may remove.
pub(crate) fn check_wipeable(
    path: &VolumePath,
    profile: &Profile,
    source: &std::path::Path,
) -> Result<(), VolumeError> {
    let c = path.components();
    if c.len() != 3 || fold(&c[0]) != fold(&profile.recordings_dir) {
        return Err(VolumeError::NotWipeable {
            path: source.to_path_buf(),
            file: path.to_string(),
            reason: format!(
                "only files of a day directory in {} are ever wiped",
                profile.recordings_dir
            ),
        });
    }
    Ok(())
}
