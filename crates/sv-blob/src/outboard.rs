//! The outboard sidecar: the group chaining values of a multi-group blob, checked against its id.
//!
//! Format (little endian): 8-byte magic `svob\x01\0\0\0`, group length (u64), blob length (u64),
//! then one 32-byte chaining value per group. 1 GiB of blob needs 512 KiB of outboard.

use blake3::hazmat::ChainingValue;

use crate::tree::{GROUP_LEN, group_count, merge_root};
use crate::{BlobId, CorruptKind};

const MAGIC: &[u8; 8] = b"svob\x01\0\0\0";
const HEADER_LEN: usize = 24;

/// The decoded outboard of one blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outboard {
    /// Length of the blob in bytes, as written.
    pub len: u64,
    /// One chaining value per [`GROUP_LEN`] group.
    pub cvs: Vec<ChainingValue>,
}

impl Outboard {
    /// Serialises the outboard.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + 32 * self.cvs.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&GROUP_LEN.to_le_bytes());
        out.extend_from_slice(&self.len.to_le_bytes());
        for cv in &self.cvs {
            out.extend_from_slice(cv);
        }
        out
    }

    /// Parses an outboard and checks that it merges to `id`.
    pub fn decode_checked(bytes: &[u8], id: &BlobId) -> Result<Outboard, CorruptKind> {
        let invalid = CorruptKind::OutboardInvalid;
        if bytes.len() < HEADER_LEN || &bytes[..8] != MAGIC {
            return Err(invalid("bad header"));
        }
        let group_len = u64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes"));
        if group_len != GROUP_LEN {
            return Err(invalid("unexpected group length"));
        }
        let len = u64::from_le_bytes(bytes[16..24].try_into().expect("8 bytes"));
        let body = &bytes[HEADER_LEN..];
        if len <= GROUP_LEN || body.len() as u64 != 32 * group_count(len) {
            return Err(invalid("size does not fit the blob length"));
        }
        let cvs: Vec<ChainingValue> = body
            .chunks_exact(32)
            .map(|cv| cv.try_into().expect("32 bytes"))
            .collect();
        if merge_root(&cvs, len).map(BlobId::from) != Some(*id) {
            return Err(invalid("does not merge to the id"));
        }
        Ok(Outboard { len, cvs })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::GroupHasher;

    #[test]
    fn round_trip_and_tamper() {
        let bytes: Vec<u8> = (0..(2 * GROUP_LEN + 5)).map(|i| (i % 251) as u8).collect();
        let mut h = GroupHasher::new();
        h.update(&bytes);
        let tree = h.finalize();
        let id = BlobId::from(tree.root);
        let ob = Outboard {
            len: tree.len,
            cvs: tree.cvs,
        };
        let enc = ob.encode();
        assert_eq!(Outboard::decode_checked(&enc, &id), Ok(ob));
        let mut bad = enc.clone();
        bad[HEADER_LEN + 3] ^= 1;
        assert!(Outboard::decode_checked(&bad, &id).is_err());
        assert!(Outboard::decode_checked(&enc[..enc.len() - 1], &id).is_err());
        assert!(Outboard::decode_checked(&enc, &BlobId::EMPTY).is_err());
    }
}
