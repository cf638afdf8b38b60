//! `BlobId`: the blake3 hash that names a blob, shown as 64 lowercase hex digits.

use std::fmt;
use std::str::FromStr;

/// The content address of a blob: the blake3 hash of its bytes.
///
/// `Display` and `FromStr` use 64 lowercase hex digits; `Ord` is byte order, which is also the
/// order of the hex strings.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlobId(blake3::Hash);

impl BlobId {
    /// The id of the empty blob, `blake3::hash(b"")`.
    pub const EMPTY: BlobId = BlobId(blake3::Hash::from_bytes([
        0xaf, 0x13, 0x49, 0xb9, 0xf5, 0xf9, 0xa1, 0xa6, 0xa0, 0x40, 0x4d, 0xea, 0x36, 0xdc, 0xc9,
        0x49, 0x9b, 0xcb, 0x25, 0xc9, 0xad, 0xc1, 0x12, 0xb7, 0xcc, 0x9a, 0x93, 0xca, 0xe4, 0x1f,
        0x32, 0x62,
    ]));

    /// Hashes `bytes` in memory.
    pub fn of(bytes: &[u8]) -> BlobId {
        BlobId(blake3::hash(bytes))
    }

    /// The 32 raw hash bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }

    /// Wraps 32 raw hash bytes (no check is possible: every value is a valid id).
    pub const fn from_bytes(bytes: [u8; 32]) -> BlobId {
        BlobId(blake3::Hash::from_bytes(bytes))
    }

    /// The underlying blake3 hash.
    pub fn hash(&self) -> blake3::Hash {
        self.0
    }

    /// The 64 lowercase hex digits, without allocating.
    pub fn to_hex(&self) -> HexDigits {
        HexDigits::new(self.as_bytes())
    }
}

impl From<blake3::Hash> for BlobId {
    fn from(hash: blake3::Hash) -> Self {
        BlobId(hash)
    }
}

impl From<BlobId> for blake3::Hash {
    fn from(id: BlobId) -> Self {
        id.0
    }
}

impl PartialOrd for BlobId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for BlobId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl fmt::Display for BlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.to_hex().as_str())
    }
}

impl fmt::Debug for BlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlobId({self})")
    }
}

/// Why a string is not a blob id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid blob id: expected 64 lowercase hex digits")]
pub struct ParseBlobIdError;

impl FromStr for BlobId {
    type Err = ParseBlobIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes = s.as_bytes();
        if bytes.len() != 64 {
            return Err(ParseBlobIdError);
        }
        let mut out = [0u8; 32];
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            let hi = lower_hex_value(pair[0]).ok_or(ParseBlobIdError)?;
            let lo = lower_hex_value(pair[1]).ok_or(ParseBlobIdError)?;
            out[i] = (hi << 4) | lo;
        }
        Ok(BlobId::from_bytes(out))
    }
}

fn lower_hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// 64 lowercase hex digits of a blob id, held inline so `Display` and paths need no allocation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct HexDigits([u8; 64]);

impl HexDigits {
    fn new(bytes: &[u8; 32]) -> HexDigits {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 64];
        for (i, b) in bytes.iter().enumerate() {
            out[2 * i] = DIGITS[usize::from(b >> 4)];
            out[2 * i + 1] = DIGITS[usize::from(b & 0x0f)];
        }
        HexDigits(out)
    }

    /// The digits as a string slice.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("hex digits are ascii")
    }
}

impl fmt::Debug for HexDigits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_is_hash_of_nothing() {
        assert_eq!(BlobId::EMPTY, BlobId::of(b""));
        assert_eq!(
            BlobId::EMPTY.to_string(),
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
        );
    }

    #[test]
    fn parse_rejects_bad_text() {
        let good = BlobId::of(b"x").to_string();
        assert_eq!(good.parse::<BlobId>().unwrap(), BlobId::of(b"x"));
        assert!(good.to_uppercase().parse::<BlobId>().is_err());
        assert!(good[..63].parse::<BlobId>().is_err());
        assert!(format!("{good}0").parse::<BlobId>().is_err());
        assert!(format!("g{}", &good[1..]).parse::<BlobId>().is_err());
        assert!("é".repeat(32).parse::<BlobId>().is_err());
    }
}
