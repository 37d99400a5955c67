//! A small FAT16/FAT32 editor for making hostile volumes out of good ones (made by
//! mkfs.vfat and mtools): follow a path by its long names, then rewrite cluster chains,
//! sizes and names the way a broken or malicious camera would. Written from the FAT
//! specification, independently of the project's reader (which uses the fatfs crate).

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::Path;

/// An open image and its geometry.
pub struct FatImage {
    file: File,
    cluster_size: u64,
    fat_offset: u64,
    fat_bytes: u64,
    fats: u64,
    root_offset: u64,
    root_bytes: u64,
    data_offset: u64,
    fat32: bool,
    root_cluster: u32,
}

/// A directory entry found by path.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    /// Byte offset of its 32-byte short entry in the image.
    pub offset: u64,
    pub first_cluster: u32,
    /// Byte offset of the long-name entry nearest to it (holding the name's first 13 characters).
    pub lfn_first: Option<u64>,
}

impl FatImage {
    /// Opens a superfloppy image read-write.
    pub fn open(path: &Path) -> FatImage {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .unwrap();
        let mut b = [0u8; 512];
        file.read_exact_at(&mut b, 0).unwrap();
        let u16_at = |i: usize| u64::from(u16::from_le_bytes([b[i], b[i + 1]]));
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let bps = u16_at(11);
        let spc = u64::from(b[13]);
        let reserved = u16_at(14);
        let fats = u64::from(b[16]);
        let root_entries = u16_at(17);
        let fat16_size = u16_at(22);
        let fat32 = fat16_size == 0;
        let fat_sectors = if fat32 {
            u64::from(u32_at(36))
        } else {
            fat16_size
        };
        let root_bytes = root_entries * 32;
        let fat_offset = reserved * bps;
        let root_offset = fat_offset + fats * fat_sectors * bps;
        let data_offset = root_offset + root_bytes.div_ceil(bps) * bps;
        let total = if u16_at(19) != 0 {
            u16_at(19)
        } else {
            u64::from(u32_at(32))
        };
        let clusters = (total * bps - data_offset) / (spc * bps);
        assert!(clusters >= 4085, "FAT12 is not supported by this editor");
        FatImage {
            file,
            cluster_size: spc * bps,
            fat_offset,
            fat_bytes: fat_sectors * bps,
            fats,
            root_offset,
            root_bytes,
            data_offset,
            fat32,
            root_cluster: if fat32 { u32_at(44) } else { 0 },
        }
    }

    /// The FAT entry of `cluster`.
    pub fn fat(&self, cluster: u32) -> u32 {
        let (width, mask) = if self.fat32 {
            (4, 0x0FFF_FFFF)
        } else {
            (2, 0xFFFF)
        };
        let mut b = [0u8; 4];
        self.file
            .read_exact_at(
                &mut b[..width],
                self.fat_offset + u64::from(cluster) * width as u64,
            )
            .unwrap();
        u32::from_le_bytes(b) & mask
    }

    /// Writes the FAT entry of `cluster` in every copy of the FAT.
    pub fn set_fat(&self, cluster: u32, value: u32) {
        let width = if self.fat32 { 4 } else { 2 };
        let bytes = value.to_le_bytes();
        for copy in 0..self.fats {
            let at = self.fat_offset + copy * self.fat_bytes + u64::from(cluster) * width as u64;
            self.file.write_all_at(&bytes[..width], at).unwrap();
        }
    }

    /// Writes the FAT entry of `cluster` in FAT copy `copy` only (0 is the first FAT).
    #[allow(
        dead_code,
        reason = "not every test crate that includes this file uses it"
    )]
    pub fn set_fat_in_copy(&self, copy: u64, cluster: u32, value: u32) {
        assert!(copy < self.fats, "the volume has {} FATs", self.fats);
        let width = if self.fat32 { 4 } else { 2 };
        let at = self.fat_offset + copy * self.fat_bytes + u64::from(cluster) * width as u64;
        self.file
            .write_all_at(&value.to_le_bytes()[..width], at)
            .unwrap();
    }

    /// Byte offset of `cluster`'s entry in the first FAT.
    #[allow(
        dead_code,
        reason = "not every test crate that includes this file uses it"
    )]
    pub fn fat_entry_offset(&self, cluster: u32) -> u64 {
        let width = if self.fat32 { 4 } else { 2 };
        self.fat_offset + u64::from(cluster) * width
    }

    /// The clusters of a chain, stopping at its end or after `limit` clusters.
    pub fn chain(&self, first: u32, limit: usize) -> Vec<u32> {
        let end = if self.fat32 { 0x0FFF_FFF8 } else { 0xFFF8 };
        let mut out = vec![first];
        while out.len() < limit {
            let next = self.fat(*out.last().unwrap());
            if next < 2 || next >= end {
                break;
            }
            out.push(next);
        }
        out
    }

    /// Finds an entry by its path of long (or short) names, e.g. `DCIM/20180312/X.MP4`.
    pub fn find(&self, path: &str) -> Entry {
        let mut dir: Option<u32> = None; // None: the root directory
        let mut found = None;
        for name in path.split('/') {
            let entry = self
                .entries(dir)
                .into_iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .unwrap_or_else(|| panic!("{name} not found on the image"))
                .1;
            dir = Some(entry.first_cluster);
            found = Some(entry);
        }
        found.unwrap()
    }

    pub fn set_first_cluster(&self, e: &Entry, cluster: u32) {
        self.file
            .write_all_at(&((cluster >> 16) as u16).to_le_bytes(), e.offset + 20)
            .unwrap();
        self.file
            .write_all_at(&(cluster as u16).to_le_bytes(), e.offset + 26)
            .unwrap();
    }

    pub fn set_size(&self, e: &Entry, size: u32) {
        self.file
            .write_all_at(&size.to_le_bytes(), e.offset + 28)
            .unwrap();
    }

    /// Overwrites the first characters of an entry's long name (UTF-16 units, at most 5).
    pub fn set_long_name_start(&self, e: &Entry, chars: &[u16]) {
        let lfn = e.lfn_first.expect("the entry has a long name");
        for (i, c) in chars.iter().take(5).enumerate() {
            self.file
                .write_all_at(&c.to_le_bytes(), lfn + 1 + 2 * i as u64)
                .unwrap();
        }
    }

    /// Every named entry of a directory (None: root), with its long name when it has one.
    fn entries(&self, dir: Option<u32>) -> Vec<(String, Entry)> {
        let regions: Vec<(u64, u64)> = match (dir, self.fat32) {
            (None, false) => vec![(self.root_offset, self.root_bytes)],
            (None, true) => self.regions(self.root_cluster),
            (Some(c), _) => self.regions(c),
        };
        let mut out = Vec::new();
        let mut lfn: Vec<(u8, [u16; 13], u64)> = Vec::new();
        for (start, len) in regions {
            let mut buf = vec![0u8; len as usize];
            self.file.read_exact_at(&mut buf, start).unwrap();
            for (i, raw) in buf.chunks_exact(32).enumerate() {
                let offset = start + 32 * i as u64;
                if raw[0] == 0 {
                    return out;
                }
                if raw[0] == 0xE5 {
                    lfn.clear();
                    continue;
                }
                if raw[11] == 0x0F {
                    let mut units = [0u16; 13];
                    for (k, pos) in [1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30]
                        .iter()
                        .enumerate()
                    {
                        units[k] = u16::from_le_bytes([raw[*pos], raw[pos + 1]]);
                    }
                    lfn.push((raw[0] & 0x1F, units, offset));
                    continue;
                }
                let short = short_name(&raw[..11]);
                let name = if lfn.is_empty() {
                    short
                } else {
                    lfn.sort_by_key(|(seq, _, _)| *seq);
                    let units: Vec<u16> = lfn
                        .iter()
                        .flat_map(|(_, u, _)| u.iter().copied())
                        .take_while(|&u| u != 0 && u != 0xFFFF)
                        .collect();
                    String::from_utf16_lossy(&units)
                };
                let hi = u32::from(u16::from_le_bytes([raw[20], raw[21]]));
                let lo = u32::from(u16::from_le_bytes([raw[26], raw[27]]));
                let entry = Entry {
                    offset,
                    first_cluster: (hi << 16) | lo,
                    lfn_first: lfn.iter().find(|(seq, _, _)| *seq == 1).map(|l| l.2),
                };
                lfn.clear();
                out.push((name, entry));
            }
        }
        out
    }

    /// The byte ranges of a directory's clusters (at most 4096 of them).
    fn regions(&self, first: u32) -> Vec<(u64, u64)> {
        self.chain(first, 4096)
            .into_iter()
            .map(|c| (self.cluster_offset(c), self.cluster_size))
            .collect()
    }

    pub fn cluster_offset(&self, cluster: u32) -> u64 {
        self.data_offset + u64::from(cluster - 2) * self.cluster_size
    }

    /// Bytes per cluster.
    pub fn cluster_size(&self) -> u64 {
        self.cluster_size
    }
}

fn short_name(raw: &[u8]) -> String {
    let base = String::from_utf8_lossy(&raw[..8]).trim_end().to_string();
    let ext = String::from_utf8_lossy(&raw[8..11]).trim_end().to_string();
    if ext.is_empty() {
        base
    } else {
        format!("{base}.{ext}")
    }
}
