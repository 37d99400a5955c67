//! Where the FAT file system starts on a camera's device: at sector 0 ("superfloppy"),
//! or in the first partition of an MBR table. fatfs parses no partition table.

use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::path::Path;

use super::error::VolumeError;

const SECTOR: usize = 512;
const FAT_PARTITION_TYPES: [u8; 6] = [0x01, 0x04, 0x06, 0x0B, 0x0C, 0x0E];
const EXFAT_ADVICE: &str = "its exFAT boot sector could not be read, so the camera is left untouched: set it aside for an operator";

/// The byte window of the device that holds the FAT file system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    /// Where the file system starts on the device.
    pub offset: u64,
    /// How many bytes its boot sector declares.
    pub len: u64,
}

/// Finds the FAT file system on `file`, checking it lies inside the device.
pub(crate) fn detect(file: &File, path: &Path) -> Result<Layout, VolumeError> {
    let io_err = |what: &str, source| VolumeError::Io {
        path: path.to_path_buf(),
        what: what.to_string(),
        source,
    };
    let device_len = (&*file)
        .seek(SeekFrom::End(0))
        .map_err(|e| io_err("measuring the device", e))?;
    let first = read_sector(file, 0, device_len).map_err(|e| io_err("reading sector 0", e))?;
    let Some(first) = first else {
        return Err(not_fat(
            path,
            format!("the device holds only {device_len} bytes"),
        ));
    };
    if let Some(detail) = foreign_file_system(&first) {
        return Err(not_fat(path, detail));
    }
    if let Some(declared) = bpb_size(&first) {
        check_fits(path, declared, device_len, "the device")?;
        return Ok(Layout {
            offset: 0,
            len: declared,
        });
    }
    if first[510..512] != [0x55, 0xAA] {
        return Err(not_fat(
            path,
            "sector 0 holds neither a FAT boot sector nor an MBR partition table".into(),
        ));
    }
    let entry = &first[446..462];
    let kind = entry[4];
    let lba = u64::from(u32::from_le_bytes([
        entry[8], entry[9], entry[10], entry[11],
    ]));
    let sectors = u64::from(u32::from_le_bytes([
        entry[12], entry[13], entry[14], entry[15],
    ]));
    if kind == 0x07 {
        return Err(not_fat(
            path,
            format!("the first partition has type 0x07 (exFAT or NTFS); {EXFAT_ADVICE}"),
        ));
    }
    if !FAT_PARTITION_TYPES.contains(&kind) {
        return Err(not_fat(
            path,
            format!(
                "the MBR's first partition has type 0x{kind:02x}, not a FAT type (01, 04, 06, 0B, 0C, 0E)"
            ),
        ));
    }
    let offset = lba * SECTOR as u64;
    let part_len = sectors * SECTOR as u64;
    if lba == 0 || sectors == 0 {
        return Err(corrupt(
            path,
            "the MBR's first partition",
            format!("it starts at sector {lba} and holds {sectors} sectors"),
        ));
    }
    check_fits(path, offset + part_len, device_len, "the device")?;
    let boot = read_sector(file, offset, device_len)
        .map_err(|e| io_err("reading the partition's boot sector", e))?
        .ok_or_else(|| not_fat(path, "the first partition is empty".into()))?;
    if let Some(detail) = foreign_file_system(&boot) {
        return Err(not_fat(path, format!("in the first partition, {detail}")));
    }
    let declared = bpb_size(&boot).ok_or_else(|| {
        not_fat(
            path,
            format!("the first partition (type 0x{kind:02x}) holds no FAT boot sector"),
        )
    })?;
    check_fits(path, declared, part_len, "its partition")?;
    Ok(Layout {
        offset,
        len: declared,
    })
}

fn read_sector(file: &File, offset: u64, device_len: u64) -> std::io::Result<Option<Vec<u8>>> {
    if device_len < offset + SECTOR as u64 {
        return Ok(None);
    }
    let mut sector = vec![0u8; SECTOR];
    super::sectors::read_exact_around(file, &mut sector, offset)?;
    Ok(Some(sector))
}

fn foreign_file_system(sector: &[u8]) -> Option<String> {
    match &sector[3..11] {
        b"EXFAT   " => Some(format!("it is formatted exFAT; {EXFAT_ADVICE}")),
        b"NTFS    " => Some("it is formatted NTFS".into()),
        _ => None,
    }
}

/// The file system's size in bytes if `sector` is a plausible FAT boot sector.
fn bpb_size(sector: &[u8]) -> Option<u64> {
    let u16_at = |i: usize| u16::from_le_bytes([sector[i], sector[i + 1]]);
    let jump = sector[0] == 0xEB || sector[0] == 0xE9;
    let bytes_per_sector = u16_at(11);
    let sectors_per_cluster = sector[13];
    let reserved = u16_at(14);
    let fats = sector[16];
    let plausible = jump
        && matches!(bytes_per_sector, 512 | 1024 | 2048 | 4096)
        && sectors_per_cluster.is_power_of_two()
        && reserved > 0
        && (fats == 1 || fats == 2);
    if !plausible {
        return None;
    }
    let small = u64::from(u16_at(19));
    let large = u64::from(u32::from_le_bytes([
        sector[32], sector[33], sector[34], sector[35],
    ]));
    let sectors = if small != 0 { small } else { large };
    (sectors != 0).then_some(sectors * u64::from(bytes_per_sector))
}

fn check_fits(path: &Path, end: u64, room: u64, within: &str) -> Result<(), VolumeError> {
    if end > room {
        return Err(corrupt(
            path,
            "the volume is truncated",
            format!("its structures end at byte {end} but {within} holds {room} bytes"),
        ));
    }
    Ok(())
}

fn not_fat(path: &Path, detail: String) -> VolumeError {
    VolumeError::NotFat {
        path: path.to_path_buf(),
        detail,
    }
}

fn corrupt(path: &Path, what: &str, detail: String) -> VolumeError {
    VolumeError::Corrupt {
        path: path.to_path_buf(),
        what: what.to_string(),
        detail,
    }
}
