//! Directory entries: File / Stream Extension / File Name entry sets with their
//! SetChecksum, the root's allocation bitmap, up-case table and label entries, and the
//! sets marked not in use (what a wipe leaves, and what a cut-off wipe left).

const ENTRY: usize = 32;
const END_OF_DIRECTORY: u8 = 0x00;
const IN_USE: u8 = 0x80;
const BITMAP: u8 = 0x81;
const UPCASE: u8 = 0x82;
const LABEL: u8 = 0x83;
const FILE: u8 = 0x85;
const STREAM: u8 = 0xC0;
const NAME: u8 = 0xC1;
/// FileAttributes bit of a directory.
const ATTR_DIRECTORY: u16 = 0x10;
/// GeneralSecondaryFlags bits.
const ALLOCATION_POSSIBLE: u8 = 0x01;
const NO_FAT_CHAIN: u8 = 0x02;

/// Where a file's data lives, as its Stream Extension (or allocation entry) declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Extent {
    /// First cluster; 0 when nothing is allocated.
    pub first: u32,
    /// DataLength: bytes allocated for the file.
    pub data_length: u64,
    /// Whether the clusters are consecutive and the FAT is not used (NoFatChain).
    pub contiguous: bool,
}

/// One in-use File entry set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileSet {
    /// Index of its File entry in the directory (entries of 32 bytes).
    pub index: usize,
    /// 1 + SecondaryCount entries.
    pub count: usize,
    /// The name as UTF-16 code units (NameLength of them).
    pub name: Vec<u16>,
    /// Whether it is a directory.
    pub is_dir: bool,
    /// Its data.
    pub extent: Extent,
    /// ValidDataLength: bytes past it were never written and read as zero.
    pub valid_length: u64,
    /// NameHash as stored, checked against the up-case table by the caller.
    pub name_hash: u16,
    /// Clusters of benign allocation secondaries (vendor allocation entries).
    pub extra: Vec<Extent>,
    /// Why the set cannot be trusted, if it cannot: (damage code, sentence).
    pub fault: Option<(&'static str, String)>,
}

/// A File entry set marked not in use, with the data its stream entry still names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Deleted {
    /// Index of its File entry.
    pub index: usize,
    /// Entries it spans.
    pub count: usize,
    /// Its former data.
    pub extent: Extent,
}

/// What a directory holds.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Parsed {
    /// In-use file and directory sets, faulty ones included (with their fault).
    pub sets: Vec<FileSet>,
    /// Not-in-use sets whose stream entry is still readable.
    pub deleted: Vec<Deleted>,
    /// Allocation bitmap entries (root only): (BitmapFlags, extent).
    pub bitmaps: Vec<(u8, Extent)>,
    /// Up-case table entries (root only): (TableChecksum, extent).
    pub upcase: Vec<(u32, Extent)>,
    /// The volume label (root only), as UTF-16.
    pub label: Option<Vec<u16>>,
    /// Structural faults outside any one set: (damage code, sentence).
    pub faults: Vec<(&'static str, String)>,
}

/// The SetChecksum of an entry set (specification 6.3.3): every byte but the field itself.
pub(crate) fn set_checksum(set: &[u8]) -> u16 {
    let mut sum: u16 = 0;
    for (i, &b) in set.iter().enumerate() {
        if i == 2 || i == 3 {
            continue;
        }
        sum = sum.rotate_right(1).wrapping_add(u16::from(b));
    }
    sum
}

fn u16_at(e: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([e[i], e[i + 1]])
}

fn u32_at(e: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([e[i], e[i + 1], e[i + 2], e[i + 3]])
}

fn u64_at(e: &[u8], i: usize) -> u64 {
    u64::from(u32_at(e, i)) | (u64::from(u32_at(e, i + 4)) << 32)
}

/// The extent of a secondary entry following the generic template (stream, allocation).
fn extent_of(e: &[u8]) -> Extent {
    Extent {
        first: u32_at(e, 20),
        data_length: u64_at(e, 24),
        contiguous: e[1] & NO_FAT_CHAIN != 0,
    }
}

/// Parses a directory's bytes, stopping at the end-of-directory marker.
pub(crate) fn parse(bytes: &[u8], root: bool) -> Parsed {
    let mut out = Parsed::default();
    let entries = bytes.len() / ENTRY;
    let entry = |i: usize| &bytes[i * ENTRY..(i + 1) * ENTRY];
    let mut i = 0;
    while i < entries {
        let e = entry(i);
        let kind = e[0];
        if kind == END_OF_DIRECTORY {
            break;
        }
        match kind {
            FILE => {
                let secondaries = usize::from(e[1]);
                let count = 1 + secondaries;
                if i + count > entries {
                    out.faults.push((
                        "entry-set",
                        format!("entry {i}: a File entry set runs past the end of its directory"),
                    ));
                    break;
                }
                out.sets
                    .push(file_set(&bytes[i * ENTRY..(i + count) * ENTRY], i));
                i += count;
                continue;
            }
            0x05 if i + 1 < entries && entry(i + 1)[0] & !IN_USE == STREAM & !IN_USE => {
                let count = 1 + usize::from(e[1]);
                out.deleted.push(Deleted {
                    index: i,
                    count: count.min(entries - i),
                    extent: extent_of(entry(i + 1)),
                });
            }
            BITMAP if root => out.bitmaps.push((e[1], extent_of(e))),
            UPCASE if root => out.upcase.push((u32_at(e, 4), extent_of(e))),
            LABEL if root => {
                let n = usize::from(e[1]).min(11);
                out.label = Some((0..n).map(|k| u16_at(e, 2 + 2 * k)).collect());
            }
            // Volume GUID and TexFAT padding: benign, primaries without secondaries here.
            0xA0..=0xA2 if root => {}
            k if k & IN_USE == 0 => {}
            k if (0x81..=0x9F).contains(&k) => out.faults.push((
                "unknown-entry",
                format!("entry {i} has type {k:#04x}, a critical entry this reader does not know"),
            )),
            // A benign primary (0xA0-0xBF) elsewhere: skip it with its secondaries.
            k if (0xA0..=0xBF).contains(&k) => i += usize::from(e[1]),
            // Secondaries without a primary: left over, owned by nothing.
            _ => {}
        }
        i += 1;
    }
    out
}

fn file_set(set: &[u8], index: usize) -> FileSet {
    let count = set.len() / ENTRY;
    let e = |k: usize| &set[k * ENTRY..(k + 1) * ENTRY];
    let mut fs = FileSet {
        index,
        count,
        name: Vec::new(),
        is_dir: u16_at(e(0), 4) & ATTR_DIRECTORY != 0,
        extent: Extent {
            first: 0,
            data_length: 0,
            contiguous: false,
        },
        valid_length: 0,
        name_hash: 0,
        extra: Vec::new(),
        fault: None,
    };
    let fail = |code: &'static str, detail: String, fs: &mut FileSet| {
        if fs.fault.is_none() {
            fs.fault = Some((code, detail));
        }
    };
    let stored = u16_at(e(0), 2);
    let computed = set_checksum(set);
    if stored != computed {
        fail(
            "set-checksum",
            format!(
                "entry {index}: SetChecksum is {stored:04x}, the set's bytes give {computed:04x}"
            ),
            &mut fs,
        );
    }
    if !(3..=19).contains(&count) || e(1)[0] != STREAM {
        fail(
            "entry-set",
            format!("entry {index}: a File entry not followed by its Stream Extension and name"),
            &mut fs,
        );
        return fs;
    }
    let stream = e(1);
    let name_length = usize::from(stream[3]);
    fs.name_hash = u16_at(stream, 4);
    fs.valid_length = u64_at(stream, 8);
    fs.extent = extent_of(stream);
    if stream[1] & ALLOCATION_POSSIBLE == 0 {
        fs.extent.first = 0;
        fs.extent.data_length = 0;
    }
    let name_entries = name_length.div_ceil(15);
    if name_length == 0 || 2 + name_entries > count {
        fail(
            "entry-set",
            format!(
                "entry {index}: NameLength {name_length} does not fit the set's {count} entries"
            ),
            &mut fs,
        );
        return fs;
    }
    for k in 2..count {
        let n = e(k);
        if k < 2 + name_entries {
            if n[0] != NAME {
                fail(
                    "entry-set",
                    format!("entry {}: expected a File Name entry", index + k),
                    &mut fs,
                );
                return fs;
            }
            for u in 0..15 {
                if fs.name.len() < name_length {
                    fs.name.push(u16_at(n, 2 + 2 * u));
                }
            }
        } else if n[0] == 0xE1 && n[1] & ALLOCATION_POSSIBLE != 0 {
            fs.extra.push(extent_of(n));
        } else if n[0] & IN_USE != 0 && n[0] < 0xE0 {
            fail(
                "unknown-entry",
                format!(
                    "entry {}: critical secondary type {:#04x} not known",
                    index + k,
                    n[0]
                ),
                &mut fs,
            );
        }
    }
    if fs.valid_length > fs.extent.data_length {
        fail(
            "valid-data-length",
            format!(
                "entry {index}: ValidDataLength {} is past DataLength {}",
                fs.valid_length, fs.extent.data_length
            ),
            &mut fs,
        );
    }
    fs
}

/// The entry type byte with InUse cleared: what the wipe writes.
pub(crate) fn not_in_use(kind: u8) -> u8 {
    kind & !IN_USE
}

/// Bytes of one directory entry.
pub(crate) const ENTRY_BYTES: u64 = ENTRY as u64;

#[cfg(test)]
mod tests {
    use super::*;

    fn set(name: &str) -> Vec<u8> {
        let units: Vec<u16> = name.encode_utf16().collect();
        let names = units.len().div_ceil(15);
        let mut b = vec![0u8; 32 * (2 + names)];
        b[0] = FILE;
        b[1] = (1 + names) as u8;
        b[32] = STREAM;
        b[33] = ALLOCATION_POSSIBLE | NO_FAT_CHAIN;
        b[35] = units.len() as u8;
        for (k, u) in units.iter().enumerate() {
            let at = 64 + (k / 15) * 32 + 2 + (k % 15) * 2;
            b[64 + (k / 15) * 32] = NAME;
            b[at..at + 2].copy_from_slice(&u.to_le_bytes());
        }
        let sum = set_checksum(&b);
        b[2..4].copy_from_slice(&sum.to_le_bytes());
        b
    }

    #[test]
    fn a_well_formed_set_parses_and_a_flipped_byte_fails_its_checksum() {
        let mut bytes = set("a name longer than fifteen units.MP4");
        bytes.extend_from_slice(&[0u8; 32]);
        let parsed = parse(&bytes, false);
        assert_eq!(parsed.sets.len(), 1);
        assert_eq!(parsed.sets[0].fault, None);
        assert_eq!(
            String::from_utf16(&parsed.sets[0].name).ok().as_deref(),
            Some("a name longer than fifteen units.MP4")
        );
        bytes[70] ^= 1;
        let parsed = parse(&bytes, false);
        assert_eq!(
            parsed.sets[0].fault.as_ref().map(|f| f.0),
            Some("set-checksum")
        );
    }

    #[test]
    fn a_set_past_the_end_is_a_fault_not_a_panic() {
        let mut bytes = set("x");
        bytes[1] = 18;
        let parsed = parse(&bytes, false);
        assert!(parsed.sets.is_empty());
        assert_eq!(parsed.faults[0].0, "entry-set");
    }
}
