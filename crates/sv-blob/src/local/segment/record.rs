//! One record of a segment file: a 64-byte header that checks itself, then the payload.
//!
//! Header (little endian):
//!
//! | bytes  | field                                                    |
//! |--------|----------------------------------------------------------|
//! | 0..4   | magic `svsr`                                             |
//! | 4      | record format version, 1                                 |
//! | 5      | kind: 1 = blob, 2 = tombstone, 3 = void                  |
//! | 6..8   | zero                                                     |
//! | 8..16  | payload length (u64; 0 for a tombstone)                  |
//! | 16..48 | the blob id (32 bytes of blake3)                         |
//! | 48..64 | the first 16 bytes of blake3 over bytes 0..48            |
//!
//! A blob record's payload is the blob's bytes, which hash to the id; a tombstone has none. A
//! void record is a blob record whose payload failed its check when the newest segment was
//! recovered: its header was rewritten so that replay skips it (see `open.rs`).

use crate::BlobId;

/// Bytes of a record header.
pub(crate) const HEADER_LEN: u64 = 64;

const MAGIC: &[u8; 4] = b"svsr";
const VERSION: u8 = 1;
const CHECKED: usize = 48;

/// What a record says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The payload is the blob `id`.
    Blob,
    /// The blob `id` was deleted: any record of it earlier in the log is dead.
    Tombstone,
    /// Skipped: `len` bytes that hold nothing.
    Void,
}

/// A decoded record header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) kind: Kind,
    pub(crate) len: u64,
    pub(crate) id: BlobId,
}

impl Header {
    pub(crate) fn blob(id: BlobId, len: u64) -> Header {
        Header {
            kind: Kind::Blob,
            len,
            id,
        }
    }

    pub(crate) fn tombstone(id: BlobId) -> Header {
        Header {
            kind: Kind::Tombstone,
            len: 0,
            id,
        }
    }

    /// This header turned into a void one, of the same length.
    pub(crate) fn voided(self) -> Header {
        Header {
            kind: Kind::Void,
            ..self
        }
    }

    /// Bytes of the whole record, header included.
    pub(crate) fn record_len(&self) -> u64 {
        HEADER_LEN + self.len
    }

    pub(crate) fn encode(&self) -> [u8; HEADER_LEN as usize] {
        let mut out = [0u8; HEADER_LEN as usize];
        out[0..4].copy_from_slice(MAGIC);
        out[4] = VERSION;
        out[5] = match self.kind {
            Kind::Blob => 1,
            Kind::Tombstone => 2,
            Kind::Void => 3,
        };
        out[8..16].copy_from_slice(&self.len.to_le_bytes());
        out[16..48].copy_from_slice(self.id.as_bytes());
        let sum = blake3::hash(&out[..CHECKED]);
        out[CHECKED..].copy_from_slice(&sum.as_bytes()[..16]);
        out
    }

    /// Parses a header; `Err` names what is wrong (a torn write, garbage, a newer format).
    pub(crate) fn decode(bytes: &[u8; HEADER_LEN as usize]) -> Result<Header, &'static str> {
        if &bytes[0..4] != MAGIC {
            return Err("bad magic");
        }
        if bytes[CHECKED..] != blake3::hash(&bytes[..CHECKED]).as_bytes()[..16] {
            return Err("header checksum mismatch");
        }
        if bytes[4] != VERSION {
            return Err("unknown record version");
        }
        let len = u64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes"));
        let kind = match (bytes[5], len) {
            (1, _) => Kind::Blob,
            (2, 0) => Kind::Tombstone,
            (3, _) => Kind::Void,
            _ => return Err("unknown record kind"),
        };
        let id = BlobId::from_bytes(bytes[16..48].try_into().expect("32 bytes"));
        Ok(Header { kind, len, id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip_and_any_flipped_bit_is_caught() {
        for header in [
            Header::blob(BlobId::of(b"x"), 12345),
            Header::tombstone(BlobId::of(b"y")),
            Header::blob(BlobId::of(b"z"), 7).voided(),
        ] {
            let bytes = header.encode();
            assert_eq!(Header::decode(&bytes), Ok(header));
            for bit in 0..HEADER_LEN as usize * 8 {
                let mut bad = bytes;
                bad[bit / 8] ^= 1 << (bit % 8);
                assert!(Header::decode(&bad).is_err(), "bit {bit}");
            }
        }
        assert!(Header::decode(&[0u8; HEADER_LEN as usize]).is_err());
    }
}
