//! Just enough FAT16/FAT32 parsing to patch an image by hand into a hostile one.

/// Where things are in a superfloppy FAT16/32 image.
pub(super) struct Geo {
    bps: usize,
    spc: usize,
    reserved: usize,
    fats: usize,
    fat_sectors: usize,
    root_entries: usize,
    root_cluster: u32,
    first_data: usize,
    pub bits: u8,
}

fn u16_at(b: &[u8], i: usize) -> usize {
    usize::from(u16::from_le_bytes([b[i], b[i + 1]]))
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

pub(super) fn geo(img: &[u8]) -> Geo {
    let bps = u16_at(img, 11);
    let spc = usize::from(img[13]);
    let reserved = u16_at(img, 14);
    let fats = usize::from(img[16]);
    let root_entries = u16_at(img, 17);
    let fat_sectors = match u16_at(img, 22) {
        0 => u32_at(img, 36) as usize,
        n => n,
    };
    let total = match u16_at(img, 19) {
        0 => u32_at(img, 32) as usize,
        n => n,
    };
    let first_data = reserved + fats * fat_sectors + (root_entries * 32).div_ceil(bps);
    let clusters = (total - first_data) / spc;
    let bits = if clusters < 4085 {
        12
    } else if clusters < 65525 {
        16
    } else {
        32
    };
    assert_ne!(bits, 12, "the raw helper handles FAT16 and FAT32 only");
    Geo {
        bps,
        spc,
        reserved,
        fats,
        fat_sectors,
        root_entries,
        root_cluster: if bits == 32 { u32_at(img, 44) } else { 0 },
        first_data,
        bits,
    }
}

impl Geo {
    pub(super) fn cluster_bytes(&self) -> usize {
        self.bps * self.spc
    }

    pub(super) fn cluster_offset(&self, cluster: u32) -> usize {
        (self.first_data + (cluster as usize - 2) * self.spc) * self.bps
    }

    fn entry_offset(&self, copy: usize, cluster: u32) -> usize {
        let fat = (self.reserved + copy * self.fat_sectors) * self.bps;
        fat + cluster as usize * usize::from(self.bits / 8)
    }

    pub(super) fn next(&self, img: &[u8], cluster: u32) -> Option<u32> {
        let at = self.entry_offset(0, cluster);
        let (value, end) = match self.bits {
            16 => (u16_at(img, at) as u32, 0xFFF8),
            _ => (u32_at(img, at) & 0x0FFF_FFFF, 0x0FFF_FFF8),
        };
        (value >= 2 && value < end).then_some(value)
    }

    /// Points `cluster`'s FAT entry at `value`, in every copy of the FAT.
    pub(super) fn set_next(&self, img: &mut [u8], cluster: u32, value: u32) {
        for copy in 0..self.fats {
            let at = self.entry_offset(copy, cluster);
            match self.bits {
                16 => img[at..at + 2].copy_from_slice(&(value as u16).to_le_bytes()),
                _ => img[at..at + 4].copy_from_slice(&value.to_le_bytes()),
            }
        }
    }

    /// Byte offsets of every 32-byte slot of a directory (`None`: the root).
    fn slots(&self, img: &[u8], first: Option<u32>) -> Vec<usize> {
        let mut out = Vec::new();
        match (first, self.bits) {
            (None, 16) => {
                let start = (self.reserved + self.fats * self.fat_sectors) * self.bps;
                out.extend((0..self.root_entries).map(|i| start + 32 * i));
            }
            _ => {
                let mut cluster = first.unwrap_or(self.root_cluster);
                loop {
                    let base = self.cluster_offset(cluster);
                    out.extend((0..self.cluster_bytes() / 32).map(|i| base + 32 * i));
                    match self.next(img, cluster) {
                        Some(n) if out.len() < 1 << 16 => cluster = n,
                        _ => break,
                    }
                }
            }
        }
        out
    }

    /// The first cluster of the entry at `path` (8.3 upper-case names only).
    pub(super) fn first_cluster(&self, img: &[u8], path: &[&str]) -> u32 {
        let mut dir = None;
        for name in path {
            let wanted = short_name(name);
            let slot = self
                .slots(img, dir)
                .into_iter()
                .find(|&at| img[at..at + 11] == wanted && img[at + 11] != 0x0F)
                .unwrap_or_else(|| panic!("{name} not found"));
            dir = Some(((u16_at(img, slot + 20) as u32) << 16) | u16_at(img, slot + 26) as u32);
        }
        dir.unwrap_or(self.root_cluster)
    }

    /// Where a camera volume's metadata lives: boot sector, the used start of each FAT,
    /// the root directory, and the first cluster of each directory in `dirs`.
    pub(super) fn metadata(&self, img: &[u8], dirs: &[&[&str]]) -> Vec<std::ops::Range<usize>> {
        let mut out = Vec::with_capacity(4 + dirs.len());
        out.push(0..512);
        for copy in 0..self.fats {
            let fat = (self.reserved + copy * self.fat_sectors) * self.bps;
            out.push(fat..fat + 4096);
        }
        let root = match self.bits {
            16 => (self.reserved + self.fats * self.fat_sectors) * self.bps,
            _ => self.cluster_offset(self.root_cluster),
        };
        out.push(root..root + 1024);
        for dir in dirs {
            let at = self.cluster_offset(self.first_cluster(img, dir));
            out.push(at..at + self.cluster_bytes());
        }
        out
    }

    /// The byte offsets of the 32-byte slots of one cluster.
    pub(super) fn cluster_slots(&self, cluster: u32) -> Vec<usize> {
        let base = self.cluster_offset(cluster);
        (0..self.cluster_bytes() / 32)
            .map(|i| base + 32 * i)
            .collect()
    }
}

fn short_name(name: &str) -> [u8; 11] {
    let mut out = [b' '; 11];
    let (base, ext) = name.split_once('.').unwrap_or((name, ""));
    out[..base.len()].copy_from_slice(base.as_bytes());
    out[8..8 + ext.len()].copy_from_slice(ext.as_bytes());
    out
}
