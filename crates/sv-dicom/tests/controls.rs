//! The comparison itself is tight enough: an inverted image, a wrong window or a colour-space
//! mistake fails it, and MONOCHROME1 really is inverted.

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
