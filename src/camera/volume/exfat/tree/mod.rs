//! The ownership map: every cluster claimed by exactly one owner (the bitmap, the up-case
//! table, a directory, a file), and the allocation bitmap agreeing with those claims.
//! A disagreement is damage: the scan reports it and nothing on the volume is wiped.
//! The one disagreement that is not damage is what a cut-off wipe leaves: clusters still
//! allocated that exactly match a File entry set already marked not in use.

mod compare;

use super::device::{ChainFault, Device, Run};
use super::entries::{self, Deleted, Extent};
use super::upcase::{MAX_TABLE_BYTES, Upcase, table_checksum};
use super::walk::{DirRef, read_dir, set_name};
use crate::camera::volume::{Damage, VolumeError, VolumePath};

/// Directories deeper than this are not a camera's.
const MAX_DEPTH: usize = 32;
/// Clusters named in one `Damage`, for a person to look at.
const SHOWN: usize = 8;

/// The allocation bitmap, as read, and where it lives.
pub(crate) struct Bitmap {
    /// Its clusters.
    pub runs: Vec<Run>,
    /// One bit per cluster of the heap, cluster 2 first.
    pub bits: Vec<u8>,
}

impl Bitmap {
    /// Whether `cluster` is allocated.
    pub fn get(&self, cluster: u32) -> bool {
        let i = (cluster - 2) as usize;
        self.bits[i / 8] & (1 << (i % 8)) != 0
    }

    /// Marks `cluster` free.
    pub fn clear(&mut self, cluster: u32) {
        let i = (cluster - 2) as usize;
        self.bits[i / 8] &= !(1 << (i % 8));
    }

    /// Allocated clusters among the first `count`.
    pub fn used(&self, count: u32) -> u64 {
        (2..u64::from(count) + 2)
            .filter(|&c| self.get(c as u32))
            .count() as u64
    }
}

/// A set marked not in use whose clusters are still allocated and owned by nothing.
#[derive(Debug, Clone)]
pub(crate) struct Residue {
    /// The directory holding the set.
    pub dir: DirRef,
    /// The set.
    pub set: Deleted,
    /// Its clusters.
    pub runs: Vec<Run>,
    /// Its path, for the log.
    pub shown: String,
}

/// What the walk found.
pub(crate) struct Map {
    pub damage: Vec<Damage>,
    pub residue: Vec<Residue>,
    pub bitmap: Bitmap,
    pub upcase: Upcase,
    pub label: Option<String>,
    pub root: DirRef,
}

struct Walk<'d> {
    dev: &'d mut Device,
    max_entries: usize,
    seen: Vec<u8>,
    owners: Vec<(String, Vec<Run>)>,
    damage: Vec<Damage>,
    deleted: Vec<(DirRef, Deleted, String)>,
}

/// Walks the whole volume and builds its ownership map.
pub(crate) fn build(dev: &mut Device, max_entries: usize) -> Result<Map, VolumeError> {
    let count = dev.boot.cluster_count;
    let mut w = Walk {
        dev,
        max_entries,
        seen: vec![0u8; (count as usize).div_ceil(8)],
        owners: Vec::new(),
        damage: Vec::new(),
        deleted: Vec::new(),
    };
    let root_cluster = w.dev.boot.root_cluster;
    let limit = super::walk::dir_cap(max_entries).div_ceil(w.dev.boot.cluster_bytes()) + 1;
    let root_runs = w
        .dev
        .run(
            || "following the root directory".into(),
            |d| d.runs(root_cluster, None, false, limit),
        )?
        .map_err(|f| {
            w.dev.corrupt(
                "the root directory's clusters".into(),
                format!("{}: {}", f.code, f.detail),
            )
        })?;
    let bytes: u64 =
        root_runs.iter().map(|r| u64::from(r.count)).sum::<u64>() * w.dev.boot.cluster_bytes();
    let root = DirRef {
        runs: root_runs,
        bytes,
    };
    w.claim("/", &root.runs);
    let root_bytes = read_dir(w.dev, &root, max_entries, &|| "the root directory".into())?;
    let parsed = entries::parse(&root_bytes, true);
    let bitmap = w.bitmap(&parsed.bitmaps)?;
    let upcase = w.upcase(&parsed.upcase)?;
    let label = parsed
        .label
        .as_ref()
        .map(|l| String::from_utf16_lossy(l).trim().to_string());
    w.directory(&root, parsed, &VolumePath::new(&[]), &upcase, 0)?;
    let residue = w.compare(&bitmap);
    Ok(Map {
        damage: w.damage,
        residue,
        bitmap,
        upcase,
        label: label.filter(|l| !l.is_empty()),
        root,
    })
}

impl Walk<'_> {
    fn bitmap(&mut self, found: &[(u8, Extent)]) -> Result<Bitmap, VolumeError> {
        let [(0, extent)] = found else {
            return Err(self.dev.corrupt(
                "the allocation bitmap".into(),
                format!(
                    "the root holds {} bitmap entries, not the one of a single-FAT volume",
                    found.len()
                ),
            ));
        };
        let need = u64::from(self.dev.boot.cluster_count).div_ceil(8);
        if extent.data_length < need || extent.data_length > need + self.dev.boot.cluster_bytes() {
            return Err(self.dev.corrupt(
                "the allocation bitmap".into(),
                format!(
                    "it declares {} bytes; {need} are needed",
                    extent.data_length
                ),
            ));
        }
        let runs = self.table_runs("the allocation bitmap", extent)?;
        let bits = self.read_runs(&runs, need, "the allocation bitmap")?;
        self.claim("(allocation bitmap)", &runs);
        Ok(Bitmap { runs, bits })
    }

    fn upcase(&mut self, found: &[(u32, Extent)]) -> Result<Upcase, VolumeError> {
        let [(checksum, extent)] = found else {
            return Err(self.dev.corrupt(
                "the up-case table".into(),
                format!(
                    "the root holds {} up-case table entries, not one",
                    found.len()
                ),
            ));
        };
        if extent.data_length == 0 || extent.data_length > MAX_TABLE_BYTES {
            return Err(self.dev.corrupt(
                "the up-case table".into(),
                format!(
                    "it declares {} bytes, outside 1 to {MAX_TABLE_BYTES}",
                    extent.data_length
                ),
            ));
        }
        let runs = self.table_runs("the up-case table", extent)?;
        let bytes = self.read_runs(&runs, extent.data_length, "the up-case table")?;
        self.claim("(up-case table)", &runs);
        if table_checksum(&bytes) != *checksum {
            self.damage.push(Damage {
                code: "upcase-checksum",
                clusters: vec![u64::from(extent.first)],
                files: vec![],
                detail: "the up-case table does not match its TableChecksum".into(),
            });
        }
        Upcase::decode(&bytes).map_err(|e| self.dev.corrupt("the up-case table".into(), e))
    }

    fn table_runs(&mut self, what: &str, extent: &Extent) -> Result<Vec<Run>, VolumeError> {
        let clusters = extent.data_length.div_ceil(self.dev.boot.cluster_bytes());
        let limit = u64::from(self.dev.boot.cluster_count);
        let (first, contiguous) = (extent.first, false);
        self.dev
            .run(
                || format!("following {what}"),
                |d| d.runs(first, Some(clusters), contiguous, limit),
            )?
            .map_err(|f| {
                self.dev.corrupt(
                    format!("{what}'s clusters"),
                    format!("{}: {}", f.code, f.detail),
                )
            })
    }

    fn read_runs(&mut self, runs: &[Run], len: u64, what: &str) -> Result<Vec<u8>, VolumeError> {
        let cluster = self.dev.boot.cluster_bytes();
        let mut out = vec![0u8; len as usize];
        let mut done = 0usize;
        for run in runs {
            let take = (u64::from(run.count) * cluster).min(len - done as u64) as usize;
            let at = self.dev.boot.cluster_offset(run.first);
            let slice = &mut out[done..done + take];
            self.dev
                .run(|| format!("reading {what}"), |d| d.read_at(at, slice))?;
            done += take;
        }
        Ok(out)
    }

    fn directory(
        &mut self,
        dir: &DirRef,
        parsed: entries::Parsed,
        shown: &VolumePath,
        upcase: &Upcase,
        depth: usize,
    ) -> Result<(), VolumeError> {
        if depth > MAX_DEPTH {
            return Err(self.dev.corrupt(
                format!("directory {}", display(shown)),
                format!("nested more than {MAX_DEPTH} levels deep"),
            ));
        }
        if parsed.sets.len() > self.max_entries {
            return Err(self.dev.corrupt(
                format!("directory {} is too large", display(shown)),
                format!(
                    "more than {} entries (profile.max_dir_entries)",
                    self.max_entries
                ),
            ));
        }
        for (code, detail) in parsed.faults {
            self.damage(code, vec![], display(shown), detail);
        }
        for d in parsed.deleted {
            self.deleted.push((dir.clone(), d, display(shown)));
        }
        for set in parsed.sets {
            let name = match set_name(&set) {
                Ok(n) | Err(n) => n,
            };
            let path = shown.child(&name);
            if let Some((code, detail)) = &set.fault {
                self.damage(code, vec![], display(&path), detail.clone());
                continue;
            }
            if upcase.name_hash(&set.name) != set.name_hash {
                self.damage(
                    "name-hash",
                    vec![],
                    display(&path),
                    "the NameHash does not match the name through the up-case table".into(),
                );
            }
            let runs = match self.runs_of(&set.extent)? {
                Ok(runs) => runs,
                Err(f) => {
                    self.damage(f.code, vec![u64::from(f.cluster)], display(&path), f.detail);
                    continue;
                }
            };
            self.claim(&display(&path), &runs);
            for extra in &set.extra {
                if let Ok(runs) = self.runs_of(extra)? {
                    self.claim(&display(&path), &runs);
                }
            }
            if set.is_dir {
                let sub = DirRef {
                    runs,
                    bytes: set.extent.data_length,
                };
                let what = || format!("directory {path}");
                let bytes = read_dir(self.dev, &sub, self.max_entries, &what)?;
                let parsed = entries::parse(&bytes, false);
                self.directory(&sub, parsed, &path, upcase, depth + 1)?;
            }
        }
        Ok(())
    }

    fn runs_of(&mut self, extent: &Extent) -> Result<Result<Vec<Run>, ChainFault>, VolumeError> {
        let clusters = extent.data_length.div_ceil(self.dev.boot.cluster_bytes());
        if clusters == 0 {
            return Ok(Ok(Vec::new()));
        }
        let limit = u64::from(self.dev.boot.cluster_count);
        let e = *extent;
        self.dev.run(
            || "following a file's clusters".into(),
            |d| d.runs(e.first, Some(clusters), e.contiguous, limit),
        )
    }

    fn claim(&mut self, who: &str, runs: &[Run]) {
        let mut crossed = Vec::new();
        for run in runs {
            for c in run.first..run.first + run.count {
                let i = (c - 2) as usize;
                if self.seen[i / 8] & (1 << (i % 8)) != 0 {
                    crossed.push(c);
                } else {
                    self.seen[i / 8] |= 1 << (i % 8);
                }
            }
        }
        if let Some(&first) = crossed.first() {
            let other = self
                .owners
                .iter()
                .find(|(_, rs)| {
                    rs.iter()
                        .any(|r| r.first <= first && first < r.first + r.count)
                })
                .map(|(o, _)| o.clone())
                .unwrap_or_else(|| "another owner".into());
            let clusters = crossed.iter().take(SHOWN).map(|&c| u64::from(c)).collect();
            self.damage.push(Damage {
                code: "cross-linked",
                clusters,
                files: vec![who.to_string(), other],
                detail: format!("{} cluster(s) claimed by two owners", crossed.len()),
            });
        }
        self.owners.push((who.to_string(), runs.to_vec()));
    }

    fn damage(&mut self, code: &'static str, clusters: Vec<u64>, file: String, detail: String) {
        self.damage.push(Damage {
            code,
            clusters,
            files: vec![file],
            detail,
        });
    }
}

/// A volume path as damage reports show it; the root is `/`.
fn display(path: &VolumePath) -> String {
    if path.components().is_empty() {
        "/".into()
    } else {
        path.to_string()
    }
}
