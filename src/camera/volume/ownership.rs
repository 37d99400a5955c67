//! The ownership map of a FAT volume: every cluster of every file and folder attributed to
//! its one owner before anything is copied, so that a damaged volume is never wiped.
//!
//! Wiping a file frees (or zeroes) its clusters; if another file shares one of them
//! (a cross-link), or a chain loops or runs short, the wipe would destroy what a person
//! was meant to find on the camera. The first pass walks every directory from the root and
//! follows every chain, setting one claimed bit per cluster (a 128 GB volume in 4 KiB
//! clusters needs 4 MiB); a chain that meets a claimed cluster stops there, so no chain
//! can be followed forever. Only when clusters were claimed twice does a second pass
//! follow the chains again to name their owners.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

use super::fat_check;
use super::fat_entries::{Entry, parse_entries};
use super::fat_table::{Geometry, Next, Table};
use super::sectors::{Unreadable, read_exact_around};
use super::watch::ReadWatch;
use super::{Damage, VolumeError, VolumePath};

/// A FAT directory holds at most 65,536 entries of 32 bytes.
const MAX_DIR_BYTES: u64 = 2 * 1024 * 1024;
/// Folders deeper than this are not descended into (a camera writes three levels).
const MAX_DEPTH: usize = 16;
/// Clusters claimed twice remembered for the second pass; more say nothing new.
const MAX_CONFLICTS: usize = 64;
/// Clusters named in one finding, for a person to look at.
const SHOWN: usize = 8;
/// How often (in FAT entries followed) the deadline is looked at.
const DEADLINE_EVERY: u64 = 4096;

/// What the ownership map found.
pub(crate) struct Findings {
    /// Everything wrong, for the scan and the report.
    pub damage: Vec<Damage>,
    /// Whether wiping any file could destroy another owner's clusters: anything but a file
    /// whose own chain ends early (what a cut-off wipe leaves), whose clusters no one else
    /// claims, so that freeing them harms no other file.
    pub blocks_wipes: bool,
    /// Folders whose entries the device could not read (bad sectors), with what it said:
    /// their files are neither listed nor wiped, the rest of the volume is.
    pub unreadable: Vec<(VolumePath, String)>,
}

/// Builds the ownership map of the volume at `base` in `file` and returns what is wrong.
pub(crate) fn map(
    file: &File,
    base: u64,
    source: &Path,
    deadline: Duration,
    watch: &ReadWatch,
) -> Result<Findings, VolumeError> {
    let io_err = |source_err: io::Error| {
        match source_err
        .get_ref()
        .and_then(|r| r.downcast_ref::<Unreadable>())
    {
        Some(u) => VolumeError::Unreadable {
            path: source.to_path_buf(),
            what: "reading the FAT for the ownership map (without it no file's clusters are known: nothing on the camera is read or wiped)".into(),
            clusters: format!(
                "bytes {} to {} of the volume (its FAT or root folder)",
                u.start.saturating_sub(base),
                (u.start + u.len).saturating_sub(base + 1)
            ),
            detail: u.os.to_string(),
        },
        None => VolumeError::Io {
            path: source.to_path_buf(),
            what: "reading the FAT for the ownership map".into(),
            source: source_err,
        },
    }
    };
    let geometry = {
        let _reading = watch.begin();
        Geometry::read(file, base).map_err(io_err)?
    };
    let mut map = Map {
        file,
        base,
        geometry,
        table: Table::new(file, base, geometry, watch),
        claimed: vec![0u64; (geometry.clusters as usize + 2).div_ceil(64)],
        owners: Vec::new(),
        conflicts: Vec::new(),
        damage: Vec::new(),
        blocks_wipes: false,
        unreadable: Vec::new(),
        steps: 0,
        deadline: Instant::now() + deadline,
        watch,
        limit: deadline,
    };
    map.walk().map_err(|e| match e {
        Stop::Io(e) => io_err(e),
        Stop::Late => VolumeError::Corrupt {
            path: source.to_path_buf(),
            what: "the ownership map took too long".into(),
            detail: format!(
                "still following cluster chains after {} s (profile.scan_deadline_secs)",
                map.limit.as_secs()
            ),
        },
    })?;
    Ok(Findings {
        damage: map.damage,
        blocks_wipes: map.blocks_wipes,
        unreadable: map.unreadable,
    })
}

/// Why a walk stopped before the end.
pub(crate) enum Stop {
    Io(io::Error),
    Late,
}

impl From<io::Error> for Stop {
    fn from(e: io::Error) -> Stop {
        Stop::Io(e)
    }
}

/// A file or folder and where its chain starts.
struct Owner {
    path: VolumePath,
    first: u64,
    /// Clusters its size needs (files); `None` for a folder.
    needs: Option<u64>,
}

/// Where a directory's entries are.
enum DirAt {
    /// FAT12/16's root: a fixed region (offset from the volume's start, bytes).
    Fixed(u64, u64),
    /// Everything else: the clusters of its chain, in order.
    Clusters(Vec<u64>),
}

struct Map<'f> {
    file: &'f File,
    base: u64,
    geometry: Geometry,
    table: Table<'f>,
    claimed: Vec<u64>,
    owners: Vec<Owner>,
    conflicts: Vec<u64>,
    damage: Vec<Damage>,
    blocks_wipes: bool,
    unreadable: Vec<(VolumePath, String)>,
    steps: u64,
    deadline: Instant,
    limit: Duration,
    watch: &'f ReadWatch,
}

/// How following a chain ended, in the first pass.
struct Followed {
    clusters: u64,
    /// The clusters read, for a folder (bounded by `MAX_DIR_BYTES`).
    kept: Vec<u64>,
}

impl Map<'_> {
    fn walk(&mut self) -> Result<(), Stop> {
        let root = match self.geometry.fixed_root {
            Some((offset, len)) => DirAt::Fixed(offset, len),
            None => {
                let root = self.geometry.root_cluster;
                self.owners.push(Owner {
                    path: VolumePath::new(&[]),
                    first: root,
                    needs: None,
                });
                let followed = self.follow(self.owners.len() - 1, true)?;
                DirAt::Clusters(followed.kept)
            }
        };
        let mut pending = vec![(VolumePath::new(&[]), root, 0usize)];
        while let Some((path, at, depth)) = pending.pop() {
            let entries = match self.entries(&at) {
                // A folder the device cannot read: its files stay unknown and on the
                // camera; the root is no folder to skip (nothing could be known).
                Err(Stop::Io(e)) if e.raw_os_error().is_some() || is_unreadable(&e) => {
                    if path.components().is_empty() {
                        return Err(Stop::Io(e));
                    }
                    self.unreadable.push((path, e.to_string()));
                    continue;
                }
                other => other?,
            };
            for entry in entries {
                let child = path.child(&entry.name);
                let is_dir = entry.is_dir;
                self.owners.push(Owner {
                    path: child.clone(),
                    first: entry.first,
                    needs: (!is_dir).then(|| entry.size.div_ceil(self.geometry.bytes_per_cluster)),
                });
                let followed = self.follow(self.owners.len() - 1, is_dir)?;
                // A folder whose first cluster another chain holds is that chain's content,
                // walked (or to be walked) as such; one that only loops later is walked.
                if is_dir && !followed.kept.is_empty() && depth < MAX_DEPTH {
                    pending.push((child, DirAt::Clusters(followed.kept), depth + 1));
                }
            }
        }
        if !self.conflicts.is_empty() {
            self.name_owners()?;
        }
        self.check_table()
    }

    /// The whole-table checks (copies, reserved entries); with a folder unreadable, also
    /// whether a chain outside every readable one runs into a known chain: one of that
    /// folder's files would then share clusters with a file that a wipe would free.
    fn check_table(&mut self) -> Result<(), Stop> {
        let claimed = self.claimed.clone();
        let is_claimed = |c: u64| {
            claimed
                .get((c / 64) as usize)
                .is_some_and(|w| w & (1 << (c % 64)) != 0)
        };
        let deadline = self.deadline;
        let mut tick = || {
            if Instant::now() > deadline {
                return Err(Stop::Late);
            }
            Ok(())
        };
        let found = fat_check::check(
            self.file,
            self.base,
            &self.geometry,
            self.watch,
            &is_claimed,
            &mut tick,
        )?;
        self.blocks_wipes |= !found.damage.is_empty();
        self.damage.extend(found.damage);
        if !self.unreadable.is_empty() && !found.orphans_into_claimed.is_empty() {
            self.blocks_wipes = true;
            let folders: Vec<String> = self.unreadable.iter().map(|(p, _)| p.to_string()).collect();
            self.damage.push(Damage {
                code: "cross-linked",
                clusters: found.orphans_into_claimed.iter().copied().take(SHOWN).collect(),
                files: folders,
                detail: "clusters in use outside every chain that could be read (the unreadable folder's files) lead into a chain that could; wiping that chain's file could destroy one of theirs".into(),
            });
        }
        Ok(())
    }

    fn is_claimed(&self, c: u64) -> bool {
        self.claimed[(c / 64) as usize] & (1 << (c % 64)) != 0
    }

    fn claim(&mut self, c: u64) {
        self.claimed[(c / 64) as usize] |= 1 << (c % 64);
    }

    fn tick(&mut self) -> Result<(), Stop> {
        self.steps += 1;
        if self.steps.is_multiple_of(DEADLINE_EVERY) && Instant::now() > self.deadline {
            return Err(Stop::Late);
        }
        Ok(())
    }

    fn found(&mut self, code: &'static str, owner: usize, clusters: Vec<u64>, detail: String) {
        let own_chain_short = matches!(code, "chain-too-short" | "chain-broken");
        self.blocks_wipes |= !(own_chain_short && self.owners[owner].needs.is_some());
        self.damage.push(Damage {
            code,
            clusters,
            files: vec![self.owners[owner].path.to_string()],
            detail,
        });
    }

    /// First pass: follows owner `i`'s chain, claiming each cluster, and checks its length.
    fn follow(&mut self, i: usize, keep: bool) -> Result<Followed, Stop> {
        let (first, needs) = (self.owners[i].first, self.owners[i].needs);
        let bpc = self.geometry.bytes_per_cluster;
        let mut out = Followed {
            clusters: 0,
            kept: Vec::new(),
        };
        if first == 0 {
            if needs.is_none_or(|n| n > 0) {
                let what = if needs.is_none() {
                    "a folder with no cluster".to_string()
                } else {
                    format!(
                        "its entry declares {} clusters but names none",
                        needs.unwrap_or(0)
                    )
                };
                self.found("chain-too-short", i, vec![], what);
            }
            return Ok(out);
        }
        let mut c = first;
        loop {
            self.tick()?;
            if !self.geometry.holds(c) {
                let detail = format!(
                    "its chain goes to cluster {c}, past the volume's {} clusters",
                    self.geometry.clusters
                );
                self.found("chain-out-of-volume", i, vec![c], detail);
                return Ok(out);
            }
            if self.is_claimed(c) {
                if self.conflicts.len() < MAX_CONFLICTS && !self.conflicts.contains(&c) {
                    self.conflicts.push(c);
                }
                return Ok(out);
            }
            self.claim(c);
            out.clusters += 1;
            if keep && out.clusters * bpc <= MAX_DIR_BYTES {
                out.kept.push(c);
            }
            match self.table.next(c)? {
                Next::Cluster(n) => c = n,
                Next::End => break,
                next @ (Next::Free | Next::Bad) => {
                    let how = if next == Next::Free { "free" } else { "bad" };
                    let detail = format!("cluster {c} of its chain is marked {how} in the FAT");
                    self.found("chain-broken", i, vec![c], detail);
                    return Ok(out);
                }
            }
        }
        match needs {
            Some(n) if out.clusters < n => {
                let detail = format!(
                    "its chain holds {} clusters, fewer than the {n} its size needs",
                    out.clusters
                );
                self.found("chain-too-short", i, vec![first], detail);
            }
            Some(n) if out.clusters > n => {
                let detail = format!(
                    "its chain holds {} clusters, more than the {n} its size needs",
                    out.clusters
                );
                self.found("chain-too-long", i, vec![first], detail);
            }
            None if out.clusters * bpc > MAX_DIR_BYTES => {
                let detail = format!(
                    "its chain holds {} clusters, more than a FAT folder can fill",
                    out.clusters
                );
                self.found("chain-too-long", i, vec![first], detail);
            }
            _ => {}
        }
        Ok(out)
    }

    /// Second pass: which owners reach each cluster claimed twice, and how often.
    fn name_owners(&mut self) -> Result<(), Stop> {
        let mut reached: BTreeMap<u64, Vec<usize>> =
            self.conflicts.iter().map(|&c| (c, Vec::new())).collect();
        let dir_clusters = MAX_DIR_BYTES / self.geometry.bytes_per_cluster + 2;
        for i in 0..self.owners.len() {
            let cap = self.owners[i].needs.map_or(dir_clusters, |n| n + 2);
            let mut c = self.owners[i].first;
            let mut steps = 0;
            while self.geometry.holds(c) && steps < cap {
                self.tick()?;
                steps += 1;
                if let Some(by) = reached.get_mut(&c) {
                    let again = by.contains(&i);
                    by.push(i);
                    if again {
                        break;
                    }
                }
                match self.table.next(c)? {
                    Next::Cluster(n) => c = n,
                    _ => break,
                }
            }
        }
        // One finding per set of owners, naming the clusters they share.
        let mut findings: BTreeMap<(bool, Vec<usize>), Vec<u64>> = BTreeMap::new();
        for (c, mut by) in reached {
            let visits = by.len();
            by.sort_unstable();
            by.dedup();
            // One owner passing twice is a loop; anything else is a cluster claimed twice.
            let cross = !(by.len() == 1 && visits > 1);
            findings.entry((cross, by)).or_default().push(c);
        }
        self.blocks_wipes |= !findings.is_empty();
        for ((cross, by), clusters) in findings {
            let files: Vec<String> = by
                .iter()
                .map(|&o| self.owners[o].path.to_string())
                .collect();
            let shown: Vec<u64> = clusters.iter().copied().take(SHOWN).collect();
            let (code, detail) = if cross {
                (
                    "cross-linked",
                    format!(
                        "{} cluster(s) belong to more than one chain; wiping one owner would destroy the other",
                        clusters.len()
                    ),
                )
            } else {
                (
                    "chain-loop",
                    "its cluster chain comes back to a cluster it already passed".to_string(),
                )
            };
            self.damage.push(Damage {
                code,
                clusters: shown,
                files,
                detail,
            });
        }
        Ok(())
    }

    /// The entries of a directory (`.`, `..`, labels and deleted entries left out).
    fn entries(&mut self, at: &DirAt) -> Result<Vec<Entry>, Stop> {
        let mut bytes = Vec::new();
        let _reading = self.watch.begin();
        match at {
            DirAt::Fixed(offset, len) => {
                bytes.resize(*len as usize, 0);
                read_exact_around(self.file, &mut bytes, self.base + offset)?;
            }
            DirAt::Clusters(clusters) => {
                let bpc = self.geometry.bytes_per_cluster as usize;
                for &c in clusters {
                    let start = bytes.len();
                    bytes.resize(start + bpc, 0);
                    let at = self.base + self.geometry.cluster_offset(c);
                    read_exact_around(self.file, &mut bytes[start..], at)?;
                }
            }
        }
        Ok(parse_entries(
            &bytes,
            self.geometry.fat_type == super::FatType::Fat32,
        ))
    }
}

fn is_unreadable(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|r| r.is::<Unreadable>())
}
