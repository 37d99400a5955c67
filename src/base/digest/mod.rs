//! BLAKE3 and SHA-256 computed together over one stream of bytes.

mod pipeline;

use std::fmt;

use sha2::Digest as _;

pub(crate) use pipeline::hash_stream;

/// The pair of hashes recorded for every stored file.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digests {
    /// BLAKE3-256 of the bytes.
    pub blake3: [u8; 32],
    /// SHA-256 of the bytes, the hash courts and other tools expect.
    pub sha256: [u8; 32],
}

impl Digests {
    /// BLAKE3 in lower-case hex.
    pub fn blake3_hex(&self) -> String {
        hex(&self.blake3)
    }

    /// SHA-256 in lower-case hex.
    pub fn sha256_hex(&self) -> String {
        hex(&self.sha256)
    }

    /// Parses the two hex strings the register stores.
    pub(crate) fn from_hex(blake3: &str, sha256: &str) -> Option<Digests> {
        Some(Digests {
            blake3: unhex32(blake3)?,
            sha256: unhex32(sha256)?,
        })
    }
}

impl fmt::Debug for Digests {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Digests(blake3={}, sha256={})",
            self.blake3_hex(),
            self.sha256_hex()
        )
    }
}

/// Feeds BLAKE3 and SHA-256 with the same bytes, so each byte is read once.
#[derive(Default, Clone)]
pub struct Hasher {
    blake3: blake3::Hasher,
    sha256: sha2::Sha256,
    len: u64,
}

impl Hasher {
    /// A hasher that has seen no bytes.
    pub fn new() -> Hasher {
        Hasher::default()
    }

    /// Adds bytes to both hashes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.blake3.update(bytes);
        self.sha256.update(bytes);
        self.len += bytes.len() as u64;
    }

    /// How many bytes were hashed.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether no bytes were hashed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Both hashes of everything seen.
    pub fn finish(self) -> Digests {
        Digests {
            blake3: *self.blake3.finalize().as_bytes(),
            sha256: self.sha256.finalize().into(),
        }
    }
}

/// Lower-case hex of any bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    out
}

/// Parses 64 hex digits (either case) into 32 bytes.
pub(crate) fn unhex32(text: &str) -> Option<[u8; 32]> {
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        let hi = (pair[0] as char).to_digit(16)?;
        let lo = (pair[1] as char).to_digit(16)?;
        out[i] = (hi * 16 + lo) as u8;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors_for_abc() {
        let mut h = Hasher::new();
        h.update(b"ab");
        h.update(b"c");
        let d = h.finish();
        assert_eq!(
            d.sha256_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            d.blake3_hex(),
            "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"
        );
    }

    #[test]
    fn hex_round_trip() {
        let d = Hasher::new().finish();
        assert_eq!(Digests::from_hex(&d.blake3_hex(), &d.sha256_hex()), Some(d));
        assert_eq!(unhex32("zz"), None);
    }
}
