//! The raw geometry of a FAT volume and its allocation table, read straight from the
//! device for the ownership map: fatfs exposes neither first clusters nor FAT entries.
//!
//! The table is never loaded whole (a 128 GB volume's FAT is up to 128 MiB): entries are
//! read through a few 64 KiB windows, which a mostly contiguous volume walks in order.

use std::fs::File;
use std::io;

use super::FatType;
use super::sectors::read_exact_around;
use super::watch::ReadWatch;

const WINDOW: u64 = 64 * 1024;
const WINDOWS: usize = 8;

/// Where a FAT volume keeps its table, its root directory and its clusters.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Geometry {
    pub fat_type: FatType,
    pub bytes_per_cluster: u64,
    /// Byte offset of the first FAT, from the volume's start.
    pub fat_start: u64,
    /// Bytes of one FAT.
    pub fat_len: u64,
    /// Byte offset of cluster 2, from the volume's start.
    pub data_start: u64,
    /// Usable clusters: numbers 2 to `clusters + 1`.
    pub clusters: u64,
    /// FAT12/16: the fixed root directory region (offset, bytes); FAT32: `None`.
    pub fixed_root: Option<(u64, u64)>,
    /// FAT32: the root directory's first cluster.
    pub root_cluster: u64,
    /// How many copies of the FAT follow each other from `fat_start`.
    pub fats: u64,
    /// The boot sector's media descriptor, which FAT[0]'s low byte repeats.
    pub media: u8,
}

/// What a FAT entry says about the cluster after this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// The chain goes on at this cluster number (not checked against the volume yet).
    Cluster(u64),
    /// The chain ends here.
    End,
    /// The entry marks this cluster free: no chain may pass through it.
    Free,
    /// The entry marks this cluster bad.
    Bad,
}

impl Geometry {
    /// Reads the geometry from the boot sector (already checked by `layout::detect`).
    pub(crate) fn read(file: &File, base: u64) -> io::Result<Geometry> {
        let mut b = [0u8; 512];
        read_exact_around(file, &mut b, base)?;
        let u16_at = |i: usize| u64::from(u16::from_le_bytes([b[i], b[i + 1]]));
        let u32_at = |i: usize| u64::from(u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]));
        let bps = u16_at(11);
        let spc = u64::from(b[13]);
        let reserved = u16_at(14);
        let fats = u64::from(b[16]);
        let root_entries = u16_at(17);
        let total = match u16_at(19) {
            0 => u32_at(32),
            n => n,
        };
        let fat_sectors = match u16_at(22) {
            0 => u32_at(36),
            n => n,
        };
        let root_sectors = (root_entries * 32).div_ceil(bps.max(1));
        let data_sector = reserved + fats * fat_sectors + root_sectors;
        if bps == 0 || spc == 0 || fat_sectors == 0 || total <= data_sector {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the boot sector's geometry leaves no room for clusters",
            ));
        }
        let clusters = (total - data_sector) / spc;
        // The FAT type follows from the cluster count alone (Microsoft's FAT specification).
        let fat_type = if clusters < 4085 {
            FatType::Fat12
        } else if clusters < 65525 {
            FatType::Fat16
        } else {
            FatType::Fat32
        };
        let fixed_root = (fat_type != FatType::Fat32)
            .then_some(((reserved + fats * fat_sectors) * bps, root_entries * 32));
        Ok(Geometry {
            fat_type,
            bytes_per_cluster: bps * spc,
            fat_start: reserved * bps,
            fat_len: fat_sectors * bps,
            data_start: data_sector * bps,
            clusters,
            fixed_root,
            root_cluster: if fat_type == FatType::Fat32 {
                u32_at(44) & 0x0FFF_FFFF
            } else {
                0
            },
            fats,
            media: b[21],
        })
    }

    /// Whether `cluster` is a data cluster of this volume.
    pub(crate) fn holds(&self, cluster: u64) -> bool {
        (2..self.clusters + 2).contains(&cluster)
    }

    /// Byte offset of `cluster` from the volume's start.
    pub(crate) fn cluster_offset(&self, cluster: u64) -> u64 {
        self.data_start + (cluster - 2) * self.bytes_per_cluster
    }
}

/// The first FAT, read through a few cached windows.
pub(crate) struct Table<'f> {
    file: &'f File,
    base: u64,
    geometry: Geometry,
    windows: Vec<(u64, Vec<u8>)>,
    next_slot: usize,
    watch: &'f ReadWatch,
    /// Bytes read from the device so far, for the caller's budget.
    pub read: u64,
}

impl<'f> Table<'f> {
    pub(crate) fn new(
        file: &'f File,
        base: u64,
        geometry: Geometry,
        watch: &'f ReadWatch,
    ) -> Table<'f> {
        Table {
            watch,
            file,
            base,
            geometry,
            windows: Vec::with_capacity(WINDOWS),
            next_slot: 0,
            read: 0,
        }
    }

    fn byte(&mut self, at: u64) -> io::Result<u8> {
        let start = at - at % WINDOW;
        if let Some((_, data)) = self.windows.iter().find(|(s, _)| *s == start) {
            return Ok(data.get((at - start) as usize).copied().unwrap_or(0));
        }
        let len = WINDOW.min(self.geometry.fat_len.saturating_sub(start));
        let mut data = vec![0u8; len as usize];
        let reading = self.watch.begin();
        read_exact_around(
            self.file,
            &mut data,
            self.base + self.geometry.fat_start + start,
        )?;
        drop(reading);
        self.read += len;
        let value = data.get((at - start) as usize).copied().unwrap_or(0);
        if self.windows.len() < WINDOWS {
            self.windows.push((start, data));
        } else {
            self.windows[self.next_slot] = (start, data);
            self.next_slot = (self.next_slot + 1) % WINDOWS;
        }
        Ok(value)
    }

    /// What the FAT says follows `cluster` (a data cluster of the volume).
    pub(crate) fn next(&mut self, cluster: u64) -> io::Result<Next> {
        let (value, end, bad) = match self.geometry.fat_type {
            FatType::Fat32 => {
                let at = cluster * 4;
                let mut v = 0u64;
                for i in 0..4 {
                    v |= u64::from(self.byte(at + i)?) << (8 * i);
                }
                (v & 0x0FFF_FFFF, 0x0FFF_FFF8, 0x0FFF_FFF7)
            }
            FatType::Fat16 => {
                let at = cluster * 2;
                let v = u64::from(self.byte(at)?) | (u64::from(self.byte(at + 1)?) << 8);
                (v, 0xFFF8, 0xFFF7)
            }
            FatType::Fat12 => {
                let at = cluster + cluster / 2;
                let v = u64::from(self.byte(at)?) | (u64::from(self.byte(at + 1)?) << 8);
                let v = if cluster.is_multiple_of(2) {
                    v & 0xFFF
                } else {
                    v >> 4
                };
                (v, 0xFF8, 0xFF7)
            }
        };
        Ok(match value {
            0 => Next::Free,
            v if v == bad => Next::Bad,
            v if v >= end => Next::End,
            v => Next::Cluster(v),
        })
    }
}
