//! The FAT as a whole, beyond the chains the ownership map follows: its copies must agree,
//! and its two reserved entries must be what every FAT volume holds there. A camera that
//! wrote one copy and not the other, or a table whose first entry does not repeat the boot
//! sector's media byte, has a table no one can trust; wiping by it could free clusters
//! that the other copy (which a repair tool may pick) gives to another file.
//!
//! One exception, by design: an entry the first FAT marks free and a copy still marks in
//! use is what a freeing cut off between the two copies leaves (the wipe writes the first
//! FAT before the copy), and what the first FAT says is what the ownership map has already
//! checked: a file still using that cluster is found by its broken chain. A copy that marks
//! free what the first FAT uses, or any two different values in use, is damage.

use std::fs::File;

use super::Damage;
use super::FatType;
use super::fat_table::Geometry;
use super::ownership::Stop;
use super::sectors::read_exact_around;
use super::watch::ReadWatch;

/// Bytes compared at a time: whole entries of every FAT type (2 per 3 bytes, 2, 4).
const CHUNK: u64 = 3 * 256 * 1024;
/// Clusters named in one finding, for a person to look at.
const SHOWN: usize = 8;

/// What the whole-table pass found, and the allocated clusters outside every known chain
/// that lead into one (found only when asked, see `orphans_into_claimed`).
pub(crate) struct TableFindings {
    /// `fat-copies-differ`, `fat-reserved-entry`.
    pub damage: Vec<Damage>,
    /// Clusters in use that no chain claimed, whose entry leads into a claimed cluster
    /// (the first few).
    pub orphans_into_claimed: Vec<u64>,
}

/// Reads every copy of the FAT once and checks it. `claimed` says which clusters the
/// ownership map gave an owner; `tick` is called per chunk (the map's deadline).
pub(crate) fn check(
    file: &File,
    base: u64,
    g: &Geometry,
    watch: &ReadWatch,
    claimed: &dyn Fn(u64) -> bool,
    tick: &mut dyn FnMut() -> Result<(), Stop>,
) -> Result<TableFindings, Stop> {
    let mut out = TableFindings {
        damage: Vec::new(),
        orphans_into_claimed: Vec::new(),
    };
    let entries = g.clusters + 2;
    let used = entry_bytes_end(g.fat_type, entries).min(g.fat_len);
    let mut reserved: Vec<String> = Vec::new();
    let mut differ: Vec<u64> = Vec::new();
    let mut differ_count = 0u64;
    let mut at = 0u64;
    while at < used {
        tick()?;
        let len = CHUNK.min(used - at);
        let mut first = vec![0u8; len as usize];
        {
            let _reading = watch.begin();
            read_exact_around(file, &mut first, base + g.fat_start + at)?;
        }
        let mut copies = Vec::new();
        for copy in 1..g.fats {
            let mut other = vec![0u8; len as usize];
            let _reading = watch.begin();
            read_exact_around(file, &mut other, base + g.fat_start + copy * g.fat_len + at)?;
            copies.push(other);
        }
        let first_entry = at * 8 / bits(g.fat_type);
        let last_entry = ((at + len) * 8 / bits(g.fat_type)).min(entries);
        for e in first_entry..last_entry {
            let local = e - first_entry;
            let v = entry(g.fat_type, &first, local);
            if e < 2 {
                reserved.extend(reserved_problem(g, e, v, "the first FAT"));
                for (k, copy) in copies.iter().enumerate() {
                    let w = entry(g.fat_type, copy, local);
                    reserved.extend(reserved_problem(g, e, w, &copy_name(k)));
                }
                continue;
            }
            if copies
                .iter()
                .any(|copy| v != 0 && entry(g.fat_type, copy, local) != v)
            {
                differ_count += 1;
                if differ.len() < SHOWN {
                    differ.push(e);
                }
            }
            if out.orphans_into_claimed.len() < SHOWN
                && (2..entries).contains(&v)
                && !claimed(e)
                && claimed(v)
            {
                out.orphans_into_claimed.push(e);
            }
        }
        at += len;
    }
    if !reserved.is_empty() {
        out.damage.push(Damage {
            code: "fat-reserved-entry",
            clusters: vec![],
            files: vec![],
            detail: format!(
                "{}; a FAT volume holds the media byte then all ones in FAT[0], an end-of-chain mark in FAT[1]",
                reserved.join("; ")
            ),
        });
    }
    if differ_count > 0 {
        out.damage.push(Damage {
            code: "fat-copies-differ",
            clusters: differ,
            files: vec![],
            detail: format!(
                "the {} copies of the FAT disagree on {differ_count} cluster(s) the first copy marks in use; which copy is right cannot be known, so no file's clusters can be trusted for a wipe",
                g.fats
            ),
        });
    }
    Ok(out)
}

fn copy_name(k: usize) -> String {
    match k {
        0 => "the second FAT".into(),
        k => format!("FAT copy {}", k + 2),
    }
}

/// What is wrong with reserved entry `e` (0 or 1) holding `v`, if anything.
fn reserved_problem(g: &Geometry, e: u64, v: u64, copy: &str) -> Option<String> {
    let media = u64::from(g.media);
    let (ok, shown) = match (g.fat_type, e) {
        (FatType::Fat12, 0) => (v == 0xF00 | media, 3),
        (FatType::Fat16, 0) => (v == 0xFF00 | media, 4),
        (FatType::Fat32, 0) => (v == 0x0FFF_FF00 | media, 8),
        // FAT[1]: an end-of-chain mark; FAT16 and FAT32 give its two top bits to the
        // clean-shutdown and no-error flags, which a camera may clear.
        (FatType::Fat12, _) => (v | 0x007 == 0xFFF, 3),
        (FatType::Fat16, _) => (v | 0xC007 == 0xFFFF, 4),
        (FatType::Fat32, _) => (v | 0x0C00_0007 == 0x0FFF_FFFF, 8),
    };
    (!ok).then(|| {
        format!(
            "{copy} holds {v:#0w$X} in FAT[{e}] (media byte {media:#04X})",
            w = shown + 2
        )
    })
}

fn bits(t: FatType) -> u64 {
    match t {
        FatType::Fat12 => 12,
        FatType::Fat16 => 16,
        FatType::Fat32 => 32,
    }
}

/// Bytes the first `entries` entries take.
fn entry_bytes_end(t: FatType, entries: u64) -> u64 {
    (entries * bits(t)).div_ceil(8)
}

/// Entry `i` of a chunk that starts on an entry boundary (FAT32's top four bits are
/// reserved and ignored, as the specification says).
fn entry(t: FatType, bytes: &[u8], i: u64) -> u64 {
    let byte = |k: u64| u64::from(bytes.get(k as usize).copied().unwrap_or(0));
    match t {
        FatType::Fat12 => {
            let at = i + i / 2;
            let v = byte(at) | (byte(at + 1) << 8);
            if i.is_multiple_of(2) {
                v & 0xFFF
            } else {
                v >> 4
            }
        }
        FatType::Fat16 => byte(2 * i) | (byte(2 * i + 1) << 8),
        FatType::Fat32 => {
            let at = 4 * i;
            (byte(at) | (byte(at + 1) << 8) | (byte(at + 2) << 16) | (byte(at + 3) << 24))
                & 0x0FFF_FFFF
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_entries_allow_the_flag_bits_and_nothing_else() {
        let g = |fat_type| Geometry {
            fat_type,
            bytes_per_cluster: 512,
            fat_start: 0,
            fat_len: 0,
            data_start: 0,
            clusters: 0,
            fixed_root: None,
            root_cluster: 0,
            fats: 2,
            media: 0xF8,
        };
        let f16 = g(FatType::Fat16);
        assert!(reserved_problem(&f16, 0, 0xFFF8, "x").is_none());
        assert!(reserved_problem(&f16, 0, 0xFFF0, "x").is_some());
        for ok in [0xFFFF, 0x7FFF, 0x3FFF, 0xFFF8] {
            assert!(reserved_problem(&f16, 1, ok, "x").is_none(), "{ok:#X}");
        }
        assert!(reserved_problem(&f16, 1, 0xFF00, "x").is_some());
        let f32 = g(FatType::Fat32);
        assert!(reserved_problem(&f32, 0, 0x0FFF_FFF8, "x").is_none());
        assert!(reserved_problem(&f32, 1, 0x07FF_FFFF, "x").is_none());
        assert!(reserved_problem(&f32, 1, 0x0000_0000, "x").is_some());
        let f12 = g(FatType::Fat12);
        assert!(reserved_problem(&f12, 0, 0xFF8, "x").is_none());
        assert!(reserved_problem(&f12, 1, 0xFFF, "x").is_none());
        assert!(reserved_problem(&f12, 1, 0x7FF, "x").is_some());
    }

    #[test]
    fn entries_decode_across_types() {
        let b = [0xF8, 0xFF, 0xFF, 0x03, 0x40, 0x00];
        assert_eq!(entry(FatType::Fat12, &b, 0), 0xFF8);
        assert_eq!(entry(FatType::Fat12, &b, 1), 0xFFF);
        assert_eq!(entry(FatType::Fat12, &b, 2), 0x003);
        assert_eq!(entry(FatType::Fat12, &b, 3), 0x004);
        assert_eq!(entry(FatType::Fat16, &b, 1), 0x03FF);
        assert_eq!(entry(FatType::Fat32, &[1, 2, 3, 0xF4], 0), 0x0403_0201);
    }
}
