//! The value codec: a small hand-written, versioned binary format for everything stored.
//!
//! Every value starts with a format version marker byte; a reader that does not know the
//! marker refuses the value ([`CodecError::UnknownVersion`]) rather than guessing. Integers
//! are LEB128 varints (signed ones zigzag-encoded), strings and lists are length-prefixed,
//! ids are fixed-width bytes, options and enums are one tag byte.

mod access;
mod digest;
mod sharing;
mod study;
mod thing;

pub(crate) use access::{decode_token, encode_token};
pub(crate) use digest::{decode_digest, encode_digest};
pub(crate) use sharing::{
    decode_event, decode_mail, decode_session, decode_share, decode_signin, encode_event,
    encode_mail, encode_session, encode_share, encode_signin,
};
pub(crate) use study::{SopEntry, decode_facts, decode_sop, encode_facts, encode_sop};
pub(crate) use thing::{
    StoredThing, decode_blob_value, decode_change, decode_record, decode_thing, encode_blob_value,
    encode_change, encode_record, encode_thing,
};

use sv_model::{BlobId, Timestamp};

/// The format version this build writes for most values (and the only one it reads for them).
pub(crate) const V1: u8 = 1;
/// Instance facts since they carry procedure codes and a title, records since they carry the
/// owner's e-mail, and shares; V1 facts and records are still read.
pub(crate) const V2: u8 = 2;

/// Why stored bytes are not a valid value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    #[error("{what} value is empty")]
    Empty { what: &'static str },
    #[error("{what} value has unknown format version {found}")]
    UnknownVersion { what: &'static str, found: u8 },
    #[error("{what} value is truncated")]
    Truncated { what: &'static str },
    #[error("{what} value has {count} trailing bytes")]
    Trailing { what: &'static str, count: usize },
    #[error("{what} value has an invalid {field}")]
    Invalid {
        what: &'static str,
        field: &'static str,
    },
}

/// Writes one value.
#[derive(Debug)]
pub(crate) struct Enc(Vec<u8>);

impl Enc {
    pub(crate) fn new() -> Enc {
        Enc::versioned(V1)
    }

    /// A value of a type whose format moved past V1.
    pub(crate) fn versioned(version: u8) -> Enc {
        let mut buf = Vec::with_capacity(128);
        buf.push(version);
        Enc(buf)
    }

    pub(crate) fn u8(&mut self, v: u8) -> &mut Enc {
        self.0.push(v);
        self
    }

    pub(crate) fn bool(&mut self, v: bool) -> &mut Enc {
        self.u8(u8::from(v))
    }

    pub(crate) fn u64(&mut self, mut v: u64) -> &mut Enc {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
        self
    }

    pub(crate) fn i64(&mut self, v: i64) -> &mut Enc {
        self.u64(((v << 1) ^ (v >> 63)) as u64)
    }

    pub(crate) fn i32(&mut self, v: i32) -> &mut Enc {
        self.i64(i64::from(v))
    }

    pub(crate) fn u32(&mut self, v: u32) -> &mut Enc {
        self.u64(u64::from(v))
    }

    pub(crate) fn raw(&mut self, bytes: &[u8]) -> &mut Enc {
        self.0.extend_from_slice(bytes);
        self
    }

    pub(crate) fn str(&mut self, s: &str) -> &mut Enc {
        self.u64(s.len() as u64).raw(s.as_bytes())
    }

    pub(crate) fn time(&mut self, t: Timestamp) -> &mut Enc {
        self.i64(t.unix_micros())
    }

    pub(crate) fn blob(&mut self, id: &BlobId) -> &mut Enc {
        self.raw(id.as_bytes())
    }

    /// An option: tag 0 (absent) or 1 followed by the value.
    pub(crate) fn opt<T>(&mut self, v: Option<T>, f: impl FnOnce(&mut Enc, T)) -> &mut Enc {
        match v {
            None => self.u8(0),
            Some(v) => {
                self.u8(1);
                f(self, v);
                self
            }
        }
    }

    pub(crate) fn opt_str(&mut self, v: Option<&str>) -> &mut Enc {
        self.opt(v, |e, s| {
            e.str(s);
        })
    }

    pub(crate) fn finish(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.0)
    }
}

/// Reads one value, checking its version marker first.
#[derive(Debug)]
pub(crate) struct Dec<'a> {
    buf: &'a [u8],
    what: &'static str,
}

impl<'a> Dec<'a> {
    pub(crate) fn new(buf: &'a [u8], what: &'static str) -> Result<Dec<'a>, CodecError> {
        Dec::versioned(buf, what, &[V1]).map(|(d, _)| d)
    }

    /// A reader for a value that may be in any of `known` versions; returns which.
    pub(crate) fn versioned(
        buf: &'a [u8],
        what: &'static str,
        known: &[u8],
    ) -> Result<(Dec<'a>, u8), CodecError> {
        match buf.split_first() {
            None => Err(CodecError::Empty { what }),
            Some((&v, rest)) if known.contains(&v) => Ok((Dec { buf: rest, what }, v)),
            Some((&found, _)) => Err(CodecError::UnknownVersion { what, found }),
        }
    }

    pub(crate) fn invalid(&self, field: &'static str) -> CodecError {
        CodecError::Invalid {
            what: self.what,
            field,
        }
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        if self.buf.len() < n {
            return Err(CodecError::Truncated { what: self.what });
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, CodecError> {
        Ok(self.take(1)?[0])
    }

    pub(crate) fn bool(&mut self, field: &'static str) -> Result<bool, CodecError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(self.invalid(field)),
        }
    }

    pub(crate) fn u64(&mut self) -> Result<u64, CodecError> {
        let mut out = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            let bits = u64::from(b & 0x7f);
            if shift == 63 && bits > 1 {
                return Err(self.invalid("varint"));
            }
            out |= bits << shift;
            if b & 0x80 == 0 {
                return Ok(out);
            }
        }
        Err(self.invalid("varint"))
    }

    pub(crate) fn i64(&mut self) -> Result<i64, CodecError> {
        let z = self.u64()?;
        Ok(((z >> 1) as i64) ^ -((z & 1) as i64))
    }

    pub(crate) fn i32(&mut self, field: &'static str) -> Result<i32, CodecError> {
        i32::try_from(self.i64()?).map_err(|_| self.invalid(field))
    }

    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32, CodecError> {
        u32::try_from(self.u64()?).map_err(|_| self.invalid(field))
    }

    pub(crate) fn len(&mut self) -> Result<usize, CodecError> {
        let n = self.u64()?;
        // A length can never exceed what is left: refuses absurd allocations up front.
        usize::try_from(n)
            .ok()
            .filter(|n| *n <= self.buf.len())
            .ok_or(CodecError::Truncated { what: self.what })
    }

    pub(crate) fn str(&mut self, field: &'static str) -> Result<String, CodecError> {
        let n = self.len()?;
        let bytes = self.take(n)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| self.invalid(field))
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], CodecError> {
        let bytes = self.take(N)?;
        Ok(bytes.try_into().expect("take returns exactly N bytes"))
    }

    pub(crate) fn time(&mut self) -> Result<Timestamp, CodecError> {
        Ok(Timestamp::from_unix_micros(self.i64()?))
    }

    pub(crate) fn blob(&mut self) -> Result<BlobId, CodecError> {
        Ok(BlobId::from_bytes(self.array::<32>()?))
    }

    pub(crate) fn opt<T>(
        &mut self,
        field: &'static str,
        f: impl FnOnce(&mut Dec<'a>) -> Result<T, CodecError>,
    ) -> Result<Option<T>, CodecError> {
        match self.u8()? {
            0 => Ok(None),
            1 => f(self).map(Some),
            _ => Err(self.invalid(field)),
        }
    }

    pub(crate) fn opt_str(&mut self, field: &'static str) -> Result<Option<String>, CodecError> {
        self.opt(field, |d| d.str(field))
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn finish<T>(self, value: T) -> Result<T, CodecError> {
        if self.buf.is_empty() {
            Ok(value)
        } else {
            Err(CodecError::Trailing {
                what: self.what,
                count: self.buf.len(),
            })
        }
    }
}

/// A value that is one unsigned integer (reference counts, sequence numbers).
pub(crate) fn encode_u64(v: u64) -> Vec<u8> {
    Enc::new().u64(v).finish()
}

pub(crate) fn decode_u64(buf: &[u8], what: &'static str) -> Result<u64, CodecError> {
    let mut d = Dec::new(buf, what)?;
    let v = d.u64()?;
    d.finish(v)
}

/// A value that is one 16-byte id.
pub(crate) fn encode_id(bytes: &[u8; 16]) -> Vec<u8> {
    Enc::new().raw(bytes).finish()
}

pub(crate) fn decode_id(buf: &[u8], what: &'static str) -> Result<[u8; 16], CodecError> {
    let mut d = Dec::new(buf, what)?;
    let v = d.array::<16>()?;
    d.finish(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_at_the_edges() {
        for v in [0, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            assert_eq!(decode_u64(&encode_u64(v), "n").unwrap(), v);
        }
        for v in [0, -1, 1, i64::MIN, i64::MAX] {
            let bytes = Enc::new().i64(v).finish();
            let mut d = Dec::new(&bytes, "n").unwrap();
            assert_eq!(d.i64().unwrap(), v);
        }
    }

    #[test]
    fn unknown_versions_and_garbage_are_refused() {
        let mut bytes = encode_u64(5);
        bytes[0] = 2;
        assert_eq!(
            decode_u64(&bytes, "n"),
            Err(CodecError::UnknownVersion {
                what: "n",
                found: 2
            })
        );
        assert_eq!(decode_u64(&[], "n"), Err(CodecError::Empty { what: "n" }));
        assert!(matches!(
            decode_u64(&[V1, 0x80], "n"),
            Err(CodecError::Truncated { .. })
        ));
        assert!(matches!(
            decode_u64(&[V1, 1, 2], "n"),
            Err(CodecError::Trailing { count: 1, .. })
        ));
        let overlong = [
            V1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
        ];
        assert!(decode_u64(&overlong, "n").is_err());
    }
}

#[cfg(test)]
mod props;
