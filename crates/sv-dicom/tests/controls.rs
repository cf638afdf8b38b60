//! The comparison itself is tight enough: an inverted image, a wrong window, a colour-space
//! mistake, the greyscale fallback where a palette's colour is due, the shared functional
//! groups where the frame's own are due, a missed Presentation LUT Shape and padding taken for
//! tissue all fail it; MONOCHROME1 really is inverted, and only once.

mod common;

use common::dicom;
use common::thumbs::*;
use sv_dicom::{Limits, parse_for_preview};

/// Replaces the only occurrence of `from` in `bytes` by `to` (same length).
fn patch(mut bytes: Vec<u8>, from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let hits: Vec<usize> = (0..=bytes.len() - from.len())
        .filter(|&i| &bytes[i..i + from.len()] == from)
        .collect();
    assert_eq!(hits.len(), 1, "{from:?} occurs {} times", hits.len());
    bytes[hits[0]..hits[0] + to.len()].copy_from_slice(to);
    bytes
}

fn render_thumb(bytes: &[u8]) -> Thumb {
    let p = parse_for_preview(bytes, &Limits::default()).unwrap();
    thumb_of(&p.render_image().unwrap())
}

fn inverted(t: &Thumb) -> Thumb {
    Thumb {
        channels: t.channels,
        px: t.px.iter().map(|v| 255.0 - v).collect(),
    }
}

#[test]
fn the_comparison_catches_an_inverted_image() {
    let ours = render_thumb(&dicom("MR_small.dcm"));
    let reference = reference("MR_small.dcm");
    assert!(matches(&ours, &reference));
    assert!(!matches(&inverted(&ours), &reference));
}

#[test]
fn monochrome1_is_inverted_after_the_window() {
    let mono1 = patch(dicom("MR_small.dcm"), b"MONOCHROME2", b"MONOCHROME1");
    let ours = render_thumb(&mono1);
    let reference = reference("MR_small.dcm");
    assert!(
        !matches(&ours, &reference),
        "MONOCHROME1 rendered like MONOCHROME2"
    );
    assert!(matches(&ours, &inverted(&reference)));
}

#[test]
fn the_comparison_catches_a_wrong_window() {
    // MR_small's window is 600/1600; a center of 100 or a window of 3600 must not pass.
    let bytes = dicom("MR_small.dcm");
    let reference = reference("MR_small.dcm");
    for (from, to) in [(b"600 ".as_slice(), b"100 ".as_slice()), (b"1600", b"3600")] {
        let ours = render_thumb(&patch(bytes.clone(), from, to));
        let (mae, corr) = compare(&ours, &reference);
        assert!(!matches(&ours, &reference), "mae {mae}, corr {corr}");
    }
    // and no window at all (robust min/max) is a different picture too
    let no_window = patch(bytes, &[0x28, 0, 0x50, 0x10], &[0x29, 0, 0x50, 0x10]);
    assert!(!matches(&render_thumb(&no_window), &reference));
}

#[test]
fn the_comparison_catches_colour_space_mistakes() {
    let ours = render_thumb(&dicom("examples_rgb_color.dcm"));
    let reference = reference("examples_rgb_color.dcm");
    assert!(matches(&ours, &reference));
    let swapped = Thumb {
        channels: 3,
        px: ours.px.chunks(3).flat_map(|p| [p[2], p[1], p[0]]).collect(),
    };
    assert!(!matches(&swapped, &reference), "BGR passed as RGB");
    // YBR left unconverted: feed RGB through RGB -> YCbCr and compare with the RGB reference
    let ybr = Thumb {
        channels: 3,
        px: ours
            .px
            .chunks(3)
            .flat_map(|p| {
                let (r, g, b) = (p[0], p[1], p[2]);
                let y = 0.299 * r + 0.587 * g + 0.114 * b;
                [y, 128.0 + (b - y) / 1.772, 128.0 + (r - y) / 1.402]
            })
            .collect(),
    };
    assert!(!matches(&ybr, &reference), "YCbCr passed as RGB");
}

// --- issue 13: palettes, functional groups, presentation, padding --------------------------

fn render_frame_thumb(bytes: &[u8], frame: u32) -> Thumb {
    let p = parse_for_preview(bytes, &Limits::default()).unwrap();
    thumb_of(&p.render_frame(frame).unwrap())
}

#[test]
fn the_comparison_catches_the_greyscale_fallback_of_a_segmented_palette() {
    for name in [
        "generated/us_palette_segmented_le.dcm",
        "generated/us_palette_segmented_be.dcm",
    ] {
        let bytes = dicom(name);
        let reference = reference(name);
        assert!(matches(&render_thumb(&bytes), &reference), "{name}");
        // the palette dropped: the same stored values shown through the grayscale pipeline
        let grey = render_thumb(&patch(bytes, b"PALETTE COLOR ", b"MONOCHROME2   "));
        assert_eq!(grey.channels, 1);
        assert!(!matches(&grey, &reference), "{name}: grey passed as colour");
        let (mae, corr) = compare(&grey_as_rgb(&grey), &reference);
        assert!(
            !matches(&grey_as_rgb(&grey), &reference),
            "{name}: grey as RGB passed as colour: mae {mae}, corr {corr}"
        );
    }
}

#[test]
fn the_comparison_catches_a_supplemental_palette_left_out() {
    let name = "generated/ct_enhanced_supplemental_palette.dcm";
    let bytes = dicom(name);
    let reference = reference(name);
    assert!(matches(&render_thumb(&bytes), &reference));
    // Red Palette Color LUT Descriptor (0028,1101) renamed: the palette is gone, all grey
    let grey = render_thumb(&patch(
        bytes,
        &[0x28, 0x00, 0x01, 0x11],
        &[0x29, 0x00, 0x01, 0x11],
    ));
    assert_eq!(grey.channels, 1);
    assert!(!matches(&grey, &reference));
    let (mae, corr) = compare(&grey_as_rgb(&grey), &reference);
    assert!(
        !matches(&grey_as_rgb(&grey), &reference),
        "grey as RGB passed as colour: mae {mae}, corr {corr}"
    );
}

#[test]
fn per_frame_functional_groups_win_over_the_shared_ones() {
    let name = "generated/ct_enhanced_supplemental_palette.dcm";
    let bytes = dicom(name);
    let reference = reference(name);
    // Per-frame Functional Groups Sequence (5200,9230) renamed: only the shared groups remain
    let shared_only = render_thumb(&patch(
        bytes.clone(),
        &[0x00, 0x52, 0x30, 0x92],
        &[0x00, 0x52, 0x31, 0x92],
    ));
    let (mae, corr) = compare(&shared_only, &reference);
    assert!(
        !matches(&shared_only, &reference),
        "shared groups passed: mae {mae}, corr {corr}"
    );
    // the preview is frame 1 of 3, with frame 1's groups
    assert!(matches(&render_frame_thumb(&bytes, 1), &reference));
    for other in [0, 2] {
        assert!(!matches(&render_frame_thumb(&bytes, other), &reference));
    }
}

#[test]
fn presentation_lut_shape_inverse_inverts_once() {
    let name = "generated/dx_presentation_inverse.dcm";
    let bytes = dicom(name);
    let reference = reference(name);
    assert!(matches(&render_thumb(&bytes), &reference));
    let identity = render_thumb(&patch(bytes.clone(), b"INVERSE ", b"IDENTITY"));
    assert!(!matches(&identity, &reference), "INVERSE ignored");
    assert!(matches(&identity, &inverted(&reference)));
    // MONOCHROME1 with INVERSE is the same single inversion
    let mono1 = render_thumb(&patch(bytes, b"MONOCHROME2", b"MONOCHROME1"));
    assert!(matches(&mono1, &reference), "inverted twice");
}

#[test]
fn pixel_padding_is_left_out_of_the_window_and_shown_black() {
    let name = "generated/ct_pixel_padding.dcm";
    let bytes = dicom(name);
    let reference = reference(name);
    assert!(matches(&render_thumb(&bytes), &reference));
    // Pixel Padding Value and Range Limit (0028,0120-0121) renamed: padding is tissue again
    let unpadded = patch(
        patch(bytes, &[0x28, 0x00, 0x20, 0x01], &[0x29, 0x00, 0x20, 0x01]),
        &[0x28, 0x00, 0x21, 0x01],
        &[0x29, 0x00, 0x21, 0x01],
    );
    let ours = render_thumb(&unpadded);
    let (mae, corr) = compare(&ours, &reference);
    assert!(
        !matches(&ours, &reference),
        "padding in the window passed: mae {mae}, corr {corr}"
    );
}
