//! Reading a segment back: record headers in order, optionally each payload hashed against its id.

use std::io;

use super::record::{HEADER_LEN, Header, Kind};
use crate::BlobId;
use crate::local::fs::{FsFile, read_exact_at};

const HASH_BUF_LEN: usize = 256 * 1024;

/// The records of a segment up to the first one that does not check out.
#[derive(Debug)]
pub(crate) struct Scan {
    /// Offset of each record's header, and the header.
    pub(crate) records: Vec<(u64, Header)>,
    /// Where the last good record ends: the segment's valid length.
    pub(crate) end: u64,
    /// Why scanning stopped before the end of the file, if it did.
    pub(crate) bad: Option<&'static str>,
    /// With `verify`: blob records whose payload does not hash to their id (left out of
    /// `records`).
    pub(crate) failed: Vec<(u64, Header)>,
}

/// Scans the first `file_len` bytes of `file`, stopping at a header that fails its check or a
/// record that runs past the end. With `verify`, every blob payload is hashed against its id
/// too (the newest segment at open: its tail may not have been synced); one that fails goes to
/// `failed`, and the scan goes on, as its header says where the next record starts.
pub(crate) fn scan(file: &dyn FsFile, file_len: u64, verify: bool) -> io::Result<Scan> {
    let mut records = Vec::new();
    let mut offset = 0;
    let mut buf = Vec::new();
    let mut failed = Vec::new();
    let bad = loop {
        if offset == file_len {
            break None;
        }
        if file_len - offset < HEADER_LEN {
            break Some("torn record header");
        }
        let mut bytes = [0u8; HEADER_LEN as usize];
        read_exact_at(file, &mut bytes, offset)?;
        let header = match Header::decode(&bytes) {
            Ok(header) => header,
            Err(why) => break Some(why),
        };
        if header.len > file_len - offset - HEADER_LEN {
            break Some("torn record payload");
        }
        if verify
            && header.kind == Kind::Blob
            && !payload_matches(file, offset + HEADER_LEN, &header, &mut buf)?
        {
            failed.push((offset, header));
        } else {
            records.push((offset, header));
        }
        offset += header.record_len();
    };
    Ok(Scan {
        records,
        end: offset,
        bad,
        failed,
    })
}

fn payload_matches(
    file: &dyn FsFile,
    at: u64,
    header: &Header,
    buf: &mut Vec<u8>,
) -> io::Result<bool> {
    buf.resize(HASH_BUF_LEN, 0);
    let mut hasher = blake3::Hasher::new();
    let mut done = 0;
    while done < header.len {
        let n = (header.len - done).min(HASH_BUF_LEN as u64) as usize;
        read_exact_at(file, &mut buf[..n], at + done)?;
        hasher.update(&buf[..n]);
        done += n as u64;
    }
    Ok(BlobId::from(hasher.finalize()) == header.id)
}
