//! Whether a device holds an exFAT volume, and where: at sector 0, or in the first
//! partition of an MBR table (type 0x07, shared with NTFS: the boot sector tells them apart).

use std::fs::File;
use std::io::{self, Seek, SeekFrom};

const SECTOR: u64 = 512;

/// Where the exFAT volume is: (byte offset, bytes available to it), or `None`.
pub(crate) fn find(file: &File) -> io::Result<Option<(u64, u64)>> {
    let device = (&*file).seek(SeekFrom::End(0))?;
    let Some(first) = sector(file, 0, device)? else {
        return Ok(None);
    };
    if &first[3..11] == b"EXFAT   " {
        return Ok(Some((0, device)));
    }
    if first[510..512] != [0x55, 0xAA] || first[446 + 4] != 0x07 {
        return Ok(None);
    }
    let entry = &first[446..462];
    let lba = u64::from(u32::from_le_bytes([
        entry[8], entry[9], entry[10], entry[11],
    ]));
    let sectors = u64::from(u32::from_le_bytes([
        entry[12], entry[13], entry[14], entry[15],
    ]));
    let offset = lba * SECTOR;
    if lba == 0 || offset >= device {
        return Ok(None);
    }
    match sector(file, offset, device)? {
        Some(boot) if &boot[3..11] == b"EXFAT   " => {
            Ok(Some((offset, (sectors * SECTOR).min(device - offset))))
        }
        _ => Ok(None),
    }
}

fn sector(file: &File, at: u64, device: u64) -> io::Result<Option<Vec<u8>>> {
    if device < at + SECTOR {
        return Ok(None);
    }
    let mut s = vec![0u8; SECTOR as usize];
    // Around a bad sector elsewhere in the same cached page, as every structure is read.
    crate::camera::volume::sectors::read_exact_around(file, &mut s, at)?;
    Ok(Some(s))
}
