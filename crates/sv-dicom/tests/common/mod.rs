//! Shared test helpers: fixture paths and a tiny byte-level DICOM writer for hostile inputs.
// Shared by several test binaries, each using a part of it.
#![allow(dead_code, unused_imports)]

pub mod thumbs;

/// The workspace `fixtures/` folder, through the project's one fixture helper.
pub use sv_testkit::fixtures::fixtures_dir as fixtures;

/// Bytes of `fixtures/dicom/<name>`.
pub use sv_testkit::fixtures::read_dicom_fixture as dicom;

const LONG: [&str; 6] = ["OB", "OW", "SQ", "UN", "UT", "UC"];

/// One explicit VR little endian element (value padded to even length).
pub fn ex(group: u16, element: u16, vr: &str, value: &[u8]) -> Vec<u8> {
    let mut v = value.to_vec();
    if v.len() % 2 == 1 {
        v.push(if vr == "UI" || vr == "OB" { 0 } else { b' ' });
    }
    let mut out = Vec::new();
    out.extend_from_slice(&group.to_le_bytes());
    out.extend_from_slice(&element.to_le_bytes());
    out.extend_from_slice(vr.as_bytes());
    if LONG.contains(&vr) {
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&(v.len() as u32).to_le_bytes());
    } else {
        out.extend_from_slice(&(v.len() as u16).to_le_bytes());
    }
    out.extend_from_slice(&v);
    out
}

/// One implicit VR little endian element.
pub fn im(group: u16, element: u16, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&group.to_le_bytes());
    out.extend_from_slice(&element.to_le_bytes());
    out.extend_from_slice(&(value.len() as u32).to_le_bytes());
    out.extend_from_slice(value);
    out
}

/// The identifying attributes every stored instance needs (explicit VR LE, in tag order).
pub fn ids_explicit() -> Vec<u8> {
    [
        ex(0x0008, 0x0016, "UI", b"1.2.840.10008.5.1.4.1.1.7"),
        ex(0x0008, 0x0018, "UI", b"1.2.3.4.5.6"),
        ex(0x0008, 0x0060, "CS", b"OT"),
        ex(0x0020, 0x000D, "UI", b"1.2.3.4"),
        ex(0x0020, 0x000E, "UI", b"1.2.3.4.5"),
    ]
    .concat()
}

/// A Part 10 file: preamble, DICM, a meta group naming `ts`, then `dataset`.
pub fn part10(ts: &str, dataset: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; 128];
    out.extend_from_slice(b"DICM");
    out.extend_from_slice(&meta(ts));
    out.extend_from_slice(dataset);
    out
}

/// A file meta group (explicit VR LE) naming `ts`.
pub fn meta(ts: &str) -> Vec<u8> {
    let body = [
        ex(0x0002, 0x0001, "OB", &[0, 1]),
        ex(0x0002, 0x0002, "UI", b"1.2.840.10008.5.1.4.1.1.7"),
        ex(0x0002, 0x0003, "UI", b"1.2.3.4.5.6"),
        ex(0x0002, 0x0010, "UI", ts.as_bytes()),
    ]
    .concat();
    let mut out = ex(0x0002, 0x0000, "UL", &(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

pub const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
pub const IMPLICIT_LE: &str = "1.2.840.10008.1.2";
