//! Hostile input: cut and corrupted fixtures must give an error value, never a panic or a hang.

mod common;

use common::dicom;
use sv_dicom::{Limits, PreviewOptions, parse, parse_for_preview};

/// Deterministic xorshift, so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

const FILES: &[&str] = &[
    "CT_small.dcm",
    "MR_small_RLE.dcm",
    "MR_small_bigendian.dcm",
    "SC_rgb_jpeg_dcmtk.dcm",
    "JPGExtended.dcm",
    "MR_small_jp2klossless.dcm",
    "MR_small_jpeg_ls_lossless.dcm",
    "examples_palette.dcm",
    "SC_rgb_rle_32bit_2frame.dcm",
    "image_dfl.dcm",
    "test-SR.dcm",
    "liver_1frame.dcm",
    "generated/us_palette_segmented_le.dcm",
    "generated/us_palette_segmented_be.dcm",
    "generated/ct_enhanced_supplemental_palette.dcm",
];

fn exercise(bytes: &[u8]) {
    let limits = Limits::default();
    let _ = parse(bytes, &limits);
    if let Ok(p) = parse_for_preview(bytes, &limits) {
        let _ = p.render_preview(&PreviewOptions::default());
    }
}

#[test]
fn truncated_files_never_panic() {
    for name in FILES {
        let bytes = dicom(name);
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for _ in 0..24 {
            let cut = (rng.next() % bytes.len() as u64) as usize;
            let r = std::panic::catch_unwind(|| exercise(&bytes[..cut]));
            assert!(r.is_ok(), "{name} cut at {cut} panicked");
        }
    }
}

#[test]
fn corrupted_files_never_panic() {
    for name in FILES {
        let original = dicom(name);
        let mut rng = Rng(0xD1B5_4A32_D192_ED03);
        for round in 0..24 {
            let mut bytes = original.clone();
            for _ in 0..1 + round % 8 {
                let at = (rng.next() % bytes.len() as u64) as usize;
                bytes[at] = rng.next() as u8;
            }
            let r = std::panic::catch_unwind(|| exercise(&bytes));
            assert!(r.is_ok(), "{name} corruption round {round} panicked");
        }
    }
}

/// Issue 13: random words in the segmented palette tables (opcodes, lengths, offsets) give a
/// preview or an error value, never a panic or unbounded work.
#[test]
fn corrupted_segmented_palettes_never_panic() {
    let original = dicom("generated/us_palette_segmented_le.dcm");
    let mut rng = Rng(0x5EED_0013_0013_0013);
    for (tag, round_base) in [
        ([0x28, 0x00, 0x21, 0x12], 0),
        ([0x28, 0x00, 0x23, 0x12], 100),
    ] {
        let at = original
            .windows(4)
            .position(|w| w == tag)
            .expect("segmented data");
        let len = u32::from_le_bytes(original[at + 8..at + 12].try_into().unwrap()) as usize;
        let words = at + 12..at + 12 + len;
        for round in 0..100 {
            let mut bytes = original.clone();
            for _ in 0..1 + round % 4 {
                let w = words.start + 2 * (rng.next() as usize % (len / 2));
                let value = match rng.next() % 4 {
                    0 => rng.next() % 4,    // another opcode
                    1 => 0xFFFF,            // the longest segment or offset
                    _ => rng.next() % 4096, // a plausible length or offset
                } as u16;
                bytes[w..w + 2].copy_from_slice(&value.to_le_bytes());
            }
            let r = std::panic::catch_unwind(|| exercise(&bytes));
            assert!(r.is_ok(), "round {} panicked", round_base + round);
        }
    }
}
