//! The boot region: the main and backup boot sectors, their extended boot sectors and the
//! checksum sector that covers them, and the volume geometry they declare.

/// The geometry and flags a verified boot sector declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Boot {
    /// log2 of the sector size (9 to 12).
    pub sector_shift: u8,
    /// log2 of the cluster size in bytes.
    pub cluster_shift: u8,
    /// Bytes of the volume (VolumeLength sectors).
    pub volume_bytes: u64,
    /// Byte offset of the FAT from the volume's start.
    pub fat_offset: u64,
    /// Bytes of the FAT.
    pub fat_bytes: u64,
    /// Byte offset of cluster 2.
    pub heap_offset: u64,
    /// Clusters of the cluster heap.
    pub cluster_count: u32,
    /// The root directory's first cluster.
    pub root_cluster: u32,
    /// VolumeFlags as read (bit 1: VolumeDirty).
    pub flags: u16,
    /// PercentInUse as read.
    pub percent_in_use: u8,
}

/// Offsets of the two boot sector fields the boot checksum leaves out, because they change.
pub(crate) const VOLUME_FLAGS_AT: usize = 106;
/// PercentInUse, also outside the checksum.
pub(crate) const PERCENT_IN_USE_AT: usize = 112;
/// VolumeFlags bit set while the volume may be inconsistent.
pub(crate) const VOLUME_DIRTY: u16 = 1 << 1;
/// Sectors of one boot region (main or backup).
pub(crate) const REGION_SECTORS: u64 = 12;
/// The most clusters accepted: a 16 MiB bitmap, a 4 TiB card with 32 KiB clusters.
pub(crate) const MAX_CLUSTERS: u32 = 1 << 27;

impl Boot {
    /// Bytes of one cluster.
    pub fn cluster_bytes(&self) -> u64 {
        1 << self.cluster_shift
    }

    /// Whether `cluster` is a cluster of the heap.
    pub(crate) fn valid_cluster(&self, cluster: u32) -> bool {
        cluster >= 2 && u64::from(cluster) < u64::from(self.cluster_count) + 2
    }

    /// Byte offset of `cluster` from the volume's start (the caller checked it is valid).
    pub fn cluster_offset(&self, cluster: u32) -> u64 {
        self.heap_offset + (u64::from(cluster) - 2) * self.cluster_bytes()
    }
}

/// Why the boot region cannot be used.
pub(crate) type BootFault = String;

/// The boot region's checksum over its first 11 sectors, leaving out VolumeFlags and
/// PercentInUse (exFAT specification 3.4).
pub(crate) fn region_checksum(region: &[u8], sector: usize) -> u32 {
    let mut sum: u32 = 0;
    for (i, &byte) in region[..sector * 11].iter().enumerate() {
        if i == VOLUME_FLAGS_AT || i == VOLUME_FLAGS_AT + 1 || i == PERCENT_IN_USE_AT {
            continue;
        }
        sum = sum.rotate_right(1).wrapping_add(u32::from(byte));
    }
    sum
}

/// The sector size a boot sector declares, to know how much of the region to read.
pub(crate) fn sector_shift(first: &[u8]) -> Result<u8, BootFault> {
    if first.len() < 512 || &first[3..11] != b"EXFAT   " {
        return Err("sector 0 does not name the EXFAT file system".into());
    }
    let shift = first[108];
    if !(9..=12).contains(&shift) {
        return Err(format!("BytesPerSectorShift is {shift}, not 9 to 12"));
    }
    Ok(shift)
}

/// Checks one boot region (12 sectors) and reads its geometry; `device_bytes` is the room
/// the volume has on the device.
pub(crate) fn parse_region(region: &[u8], device_bytes: u64) -> Result<Boot, BootFault> {
    let shift = sector_shift(region)?;
    let sector = 1usize << shift;
    if region.len() < sector * REGION_SECTORS as usize {
        return Err("the boot region is cut short".into());
    }
    let s = &region[..sector];
    if s[0..3] != [0xEB, 0x76, 0x90] || s[510..512] != [0x55, 0xAA] {
        return Err("the boot sector's jump or signature is wrong".into());
    }
    if s[11..64].iter().any(|&b| b != 0) {
        return Err("the boot sector's MustBeZero field is not zero (a FAT boot sector?)".into());
    }
    for i in 1..=8 {
        let ext = &region[i * sector..(i + 1) * sector];
        if ext[sector - 4..] != [0x00, 0x00, 0x55, 0xAA] {
            return Err(format!("extended boot sector {i} lacks its signature"));
        }
    }
    let sum = region_checksum(region, sector);
    let stored = &region[11 * sector..12 * sector];
    if stored
        .chunks_exact(4)
        .any(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]) != sum)
    {
        return Err(format!("the boot checksum is wrong (computed {sum:08x})"));
    }
    geometry(s, shift, device_bytes)
}

fn geometry(s: &[u8], shift: u8, device_bytes: u64) -> Result<Boot, BootFault> {
    let u32_at = |i: usize| u32::from_le_bytes([s[i], s[i + 1], s[i + 2], s[i + 3]]);
    let u64_at = |i: usize| u64::from(u32_at(i)) | (u64::from(u32_at(i + 4)) << 32);
    if s[109] > 25 - shift {
        return Err(format!(
            "SectorsPerClusterShift {} makes clusters over 32 MiB",
            s[109]
        ));
    }
    let cluster_shift = shift + s[109];
    let number_of_fats = s[110];
    if number_of_fats != 1 {
        return Err(format!(
            "NumberOfFats is {number_of_fats}: TexFAT volumes (two FATs) are not read"
        ));
    }
    let sector_bytes = 1u64 << shift;
    let volume_sectors = u64_at(72);
    let volume_bytes = volume_sectors
        .checked_mul(sector_bytes)
        .ok_or("VolumeLength overflows")?;
    if volume_bytes > device_bytes {
        return Err(format!(
            "the volume declares {volume_bytes} bytes but the device holds {device_bytes}"
        ));
    }
    let fat_offset = u64::from(u32_at(80)) * sector_bytes;
    let fat_bytes = u64::from(u32_at(84)) * sector_bytes;
    let heap_offset = u64::from(u32_at(88)) * sector_bytes;
    let cluster_count = u32_at(92);
    let root_cluster = u32_at(96);
    if fat_offset < 24 * sector_bytes || heap_offset < fat_offset + fat_bytes {
        return Err("the FAT and the cluster heap overlap the boot regions or each other".into());
    }
    if cluster_count == 0 || cluster_count > MAX_CLUSTERS {
        return Err(format!(
            "ClusterCount is {cluster_count}, outside 1 to {MAX_CLUSTERS}"
        ));
    }
    if fat_bytes < (u64::from(cluster_count) + 2) * 4 {
        return Err("the FAT is too small for the cluster count".into());
    }
    let heap_end = heap_offset + (u64::from(cluster_count) << cluster_shift);
    if heap_end > volume_bytes {
        return Err(format!(
            "the cluster heap ends at byte {heap_end}, past the volume's {volume_bytes}"
        ));
    }
    let boot = Boot {
        sector_shift: shift,
        cluster_shift,
        volume_bytes,
        fat_offset,
        fat_bytes,
        heap_offset,
        cluster_count,
        root_cluster,
        flags: u16::from_le_bytes([s[VOLUME_FLAGS_AT], s[VOLUME_FLAGS_AT + 1]]),
        percent_in_use: s[PERCENT_IN_USE_AT],
    };
    if !boot.valid_cluster(root_cluster) {
        return Err(format!(
            "the root directory's cluster {root_cluster} is outside the heap"
        ));
    }
    Ok(boot)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_skips_flags_and_percent() {
        let mut region = vec![0u8; 512 * 12];
        region[0] = 1;
        let a = region_checksum(&region, 512);
        region[VOLUME_FLAGS_AT] = 0xFF;
        region[PERCENT_IN_USE_AT] = 50;
        assert_eq!(region_checksum(&region, 512), a);
        region[200] = 1;
        assert_ne!(region_checksum(&region, 512), a);
    }

    #[test]
    fn a_huge_cluster_shift_is_refused_not_overflowed() {
        let mut s = vec![0u8; 512];
        s[109] = 0xFF;
        assert!(geometry(&s, 9, 1 << 30).is_err());
    }

    #[test]
    fn a_fat_boot_sector_is_not_exfat() {
        let mut s = vec![0u8; 512];
        s[3..11].copy_from_slice(b"MSDOS5.0");
        assert!(sector_shift(&s).is_err());
    }
}
