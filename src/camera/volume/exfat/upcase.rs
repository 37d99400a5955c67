//! The volume's up-case table: how this volume compares names ignoring case, and the
//! NameHash each File entry set carries.

/// The most bytes an up-case table may hold: every BMP character mapped, uncompressed.
pub(crate) const MAX_TABLE_BYTES: u64 = 2 * 65536;

/// A decoded up-case table: one upper-case unit per BMP unit.
pub(crate) struct Upcase(Vec<u16>);

/// The TableChecksum of the table's bytes (specification 7.2.2).
pub(crate) fn table_checksum(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0u32, |sum, &b| {
        sum.rotate_right(1).wrapping_add(u32::from(b))
    })
}

impl Upcase {
    /// Decodes a table, compressed (`FFFF n`: the next n units map to themselves) or not.
    pub(crate) fn decode(bytes: &[u8]) -> Result<Upcase, String> {
        let mut map: Vec<u16> = (0..=u16::MAX).collect();
        let units: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        let mut at: usize = 0;
        let mut i = 0;
        while i < units.len() {
            if at > 0xFFFF {
                return Err("the up-case table maps more than 65,536 characters".into());
            }
            if units[i] == 0xFFFF && i + 1 < units.len() {
                at += usize::from(units[i + 1]);
                i += 2;
                continue;
            }
            map[at] = units[i];
            at += 1;
            i += 1;
        }
        Ok(Upcase(map))
    }

    /// The table's upper case of one unit.
    pub(crate) fn up(&self, unit: u16) -> u16 {
        self.0[usize::from(unit)]
    }

    /// The name's NameHash (specification 7.6.4): its up-cased units' bytes, rotated.
    pub(crate) fn name_hash(&self, name: &[u16]) -> u16 {
        let mut hash: u16 = 0;
        for &unit in name {
            for b in self.up(unit).to_le_bytes() {
                hash = hash.rotate_right(1).wrapping_add(u16::from(b));
            }
        }
        hash
    }

    /// The name up-cased through the table, when it is valid UTF-16.
    pub(crate) fn upper(&self, name: &[u16]) -> Option<String> {
        let up: Vec<u16> = name.iter().map(|&u| self.up(u)).collect();
        String::from_utf16(&up).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_compressed_table_maps_runs_to_themselves() {
        // 'a'..'z' up-cased, everything before them identity, compressed.
        let mut units: Vec<u16> = vec![0xFFFF, 0x61];
        units.extend(0x41..=0x5A);
        let bytes: Vec<u8> = units.iter().flat_map(|u| u.to_le_bytes()).collect();
        let t = Upcase::decode(&bytes).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.up(u16::from(b'q')), u16::from(b'Q'));
        assert_eq!(t.up(u16::from(b'Q')), u16::from(b'Q'));
        assert_eq!(t.up(0xE9), 0xE9, "past the table: itself");
    }
}
