//! Raw FAT directory entries, for the ownership map: names (long ones joined, for display),
//! kinds, first clusters and sizes, read without fatfs (which exposes no first cluster).

/// One directory entry, as the ownership map needs it.
pub(crate) struct Entry {
    pub name: String,
    pub is_dir: bool,
    pub first: u64,
    pub size: u64,
}

/// Parses raw 32-byte directory entries, joining long names for display.
pub(crate) fn parse_entries(bytes: &[u8], fat32: bool) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut long: Vec<u16> = Vec::new();
    for e in bytes.chunks_exact(32) {
        match e[0] {
            0x00 => break,
            0xE5 => {
                long.clear();
                continue;
            }
            _ => {}
        }
        let attr = e[11];
        if attr & 0x3F == 0x0F {
            let seq = usize::from(e[0] & 0x1F);
            if e[0] & 0x40 != 0 {
                long = vec![0xFFFF; seq * 13];
            }
            if seq == 0 || seq * 13 > long.len() {
                continue;
            }
            let units = e[1..11]
                .chunks_exact(2)
                .chain(e[14..26].chunks_exact(2))
                .chain(e[28..32].chunks_exact(2))
                .map(|p| u16::from_le_bytes([p[0], p[1]]));
            for (k, u) in units.enumerate() {
                long[(seq - 1) * 13 + k] = u;
            }
            continue;
        }
        if attr & 0x08 != 0 {
            long.clear();
            continue;
        }
        let short = short_name(e);
        if short == "." || short == ".." {
            long.clear();
            continue;
        }
        let units: Vec<u16> = long
            .iter()
            .copied()
            .take_while(|&u| u != 0 && u != 0xFFFF)
            .collect();
        let name = if units.is_empty() {
            short
        } else {
            String::from_utf16_lossy(&units)
        };
        long.clear();
        let hi = if fat32 {
            u64::from(u16::from_le_bytes([e[20], e[21]]))
        } else {
            0
        };
        out.push(Entry {
            name,
            is_dir: attr & 0x10 != 0,
            first: (hi << 16) | u64::from(u16::from_le_bytes([e[26], e[27]])),
            size: u64::from(u32::from_le_bytes([e[28], e[29], e[30], e[31]])),
        });
    }
    out
}

/// An 8.3 name as the entry holds it, with the lowercase flags some writers set.
fn short_name(e: &[u8]) -> String {
    let mut base: Vec<u8> = e[0..8].to_vec();
    if base[0] == 0x05 {
        base[0] = 0xE5;
    }
    let lower = |s: &[u8], yes: bool| {
        let t = String::from_utf8_lossy(s).trim_end().to_string();
        if yes { t.to_lowercase() } else { t }
    };
    let name = lower(&base, e[12] & 0x08 != 0);
    let ext = lower(&e[8..11], e[12] & 0x10 != 0);
    if ext.is_empty() {
        name
    } else {
        format!("{name}.{ext}")
    }
}
