//! The allocation bitmap checked against the ownership claims, and the one disagreement
//! that is not damage: the clusters of a set a cut-off wipe already marked not in use.

use super::{Bitmap, Residue, SHOWN, Walk};
use crate::camera::volume::Damage;
use crate::camera::volume::exfat::device::BAD_CLUSTER;

impl Walk<'_> {
    /// Checks the bitmap against the claims; returns the cut-off wipes' residue.
    pub(super) fn compare(&mut self, bitmap: &Bitmap) -> Vec<Residue> {
        let count = self.dev.boot.cluster_count;
        let is_seen = |seen: &[u8], c: u32| {
            let i = (c - 2) as usize;
            seen[i / 8] & (1 << (i % 8)) != 0
        };
        let mut free_but_owned = Vec::new();
        let mut leaked: Vec<u32> = Vec::new();
        for byte in 0..self.seen.len() {
            if self.seen[byte] == bitmap.bits[byte] {
                continue;
            }
            for bit in 0..8u32 {
                let c = byte as u32 * 8 + bit + 2;
                if c >= count + 2 {
                    break;
                }
                match (is_seen(&self.seen, c), bitmap.get(c)) {
                    (true, false) => free_but_owned.push(c),
                    (false, true) => leaked.push(c),
                    _ => {}
                }
            }
        }
        if !free_but_owned.is_empty() {
            let first = free_but_owned[0];
            let files = self
                .owners
                .iter()
                .filter(|(_, rs)| {
                    rs.iter()
                        .any(|r| r.first <= first && first < r.first + r.count)
                })
                .map(|(o, _)| o.clone())
                .collect();
            self.damage.push(Damage {
                code: "bitmap-mismatch",
                clusters: free_but_owned
                    .iter()
                    .take(SHOWN)
                    .map(|&c| u64::from(c))
                    .collect(),
                files,
                detail: format!(
                    "{} cluster(s) of a chain are marked free in the allocation bitmap",
                    free_but_owned.len()
                ),
            });
        }
        // Clusters the FAT marks bad are allocated so that nothing uses them: owned.
        leaked.retain(|&c| !matches!(self.dev.fat_entry(c), Ok(BAD_CLUSTER)));
        if leaked.is_empty() {
            return Vec::new();
        }
        let residue = self.residue(bitmap, &leaked);
        let covered: u64 = residue
            .iter()
            .flat_map(|r| &r.runs)
            .map(|r| u64::from(r.count))
            .sum();
        if covered != leaked.len() as u64 {
            let shown: Vec<u64> = leaked
                .iter()
                .filter(|&&c| {
                    !residue
                        .iter()
                        .any(|r| r.runs.iter().any(|x| x.first <= c && c < x.first + x.count))
                })
                .take(SHOWN)
                .map(|&c| u64::from(c))
                .collect();
            self.damage.push(Damage {
                code: "bitmap-mismatch",
                clusters: shown,
                files: vec![],
                detail: format!(
                    "{} cluster(s) are allocated in the bitmap but owned by no file",
                    leaked.len() as u64 - covered
                ),
            });
        }
        residue
    }

    /// Deleted sets whose every cluster is allocated and owned by nothing.
    fn residue(&mut self, bitmap: &Bitmap, leaked: &[u32]) -> Vec<Residue> {
        let mut out: Vec<Residue> = Vec::new();
        let deleted = std::mem::take(&mut self.deleted);
        for (dir, set, shown) in deleted {
            if set.extent.data_length == 0 || !self.dev.boot.valid_cluster(set.extent.first) {
                continue;
            }
            let Ok(Ok(runs)) = self.runs_of(&set.extent) else {
                continue;
            };
            let all_leaked = runs.iter().all(|r| {
                (r.first..r.first + r.count)
                    .all(|c| bitmap.get(c) && leaked.binary_search(&c).is_ok())
            });
            let overlaps = out.iter().any(|o| {
                o.runs.iter().any(|a| {
                    runs.iter()
                        .any(|b| a.first < b.first + b.count && b.first < a.first + a.count)
                })
            });
            if all_leaked && !overlaps {
                out.push(Residue {
                    dir,
                    set,
                    runs,
                    shown,
                });
            }
        }
        out
    }
}
