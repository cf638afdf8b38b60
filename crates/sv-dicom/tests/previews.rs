//! Every fixture's outcome, and rendered pixels against pydicom reference renders.
//!
//! References are 64×64 box-averaged thumbnails made by `fixtures/previews/make_references.py`
//! (pydicom + numpy, same pipeline contract). We reduce our own native-size render the same way
//! and compare per channel: mean absolute error and Pearson correlation. The final encoded
//! preview is decoded and compared too, with looser bounds (resampling and JPEG loss).

mod common;

use common::{dicom, fixtures};
use image::GenericImageView;
use sv_dicom::{
    Limits, ParsedInstance, PreviewFormat, PreviewOptions, RenderedImage, parse_for_preview,
};

/// What must happen to a fixture.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// Renders and matches `fixtures/previews/<reference>.png`.
    Rendered(&'static str),
    /// `parse` refuses it with this reason code.
    Refused(&'static str),
    /// Parses, but `render_preview` refuses it with this reason code.
    NoPreview(&'static str),
}
use Expect::*;

const TABLE: &[(&str, Expect)] = &[
    ("693_J2KI.dcm", Rendered("693_J2KI.dcm")),
    ("CT_small.dcm", Rendered("CT_small.dcm")),
    ("ExplVR_BigEnd.dcm", Rendered("ExplVR_BigEnd.dcm")),
    ("ExplVR_BigEndNoMeta.dcm", NoPreview("not-an-image")),
    ("ExplVR_LitEndNoMeta.dcm", NoPreview("not-an-image")),
    ("GDCMJ2K_TextGBR.dcm", Rendered("GDCMJ2K_TextGBR.dcm")),
    (
        "J2K_pixelrep_mismatch.dcm",
        Rendered("J2K_pixelrep_mismatch.dcm"),
    ),
    // pydicom's decoders cannot read its SOS; same image as JPGExtended
    ("JPEG-lossy.dcm", Rendered("JPGExtended.dcm")),
    (
        "JPEG2000-embedded-sequence-delimiter.dcm",
        NoPreview("decode-failed"),
    ),
    ("JPEG2000.dcm", Rendered("JPEG2000.dcm")),
    (
        "JPEGLSNearLossless_08.dcm",
        Rendered("JPEGLSNearLossless_08.dcm"),
    ),
    (
        "JPEGLSNearLossless_16.dcm",
        Rendered("JPEGLSNearLossless_16.dcm"),
    ),
    ("JPGExtended.dcm", Rendered("JPGExtended.dcm")),
    ("MR_small.dcm", Rendered("MR_small.dcm")),
    ("MR_small_RLE.dcm", Rendered("MR_small_RLE.dcm")),
    ("MR_small_bigendian.dcm", Rendered("MR_small_bigendian.dcm")),
    ("MR_small_expb.dcm", Rendered("MR_small_expb.dcm")),
    ("MR_small_implicit.dcm", Rendered("MR_small_implicit.dcm")),
    (
        "MR_small_jp2klossless.dcm",
        Rendered("MR_small_jp2klossless.dcm"),
    ),
    (
        "MR_small_jpeg_ls_lossless.dcm",
        Rendered("MR_small_jpeg_ls_lossless.dcm"),
    ),
    ("MR_small_padded.dcm", Rendered("MR_small_padded.dcm")),
    ("MR_truncated.dcm", Refused("truncated")),
    (
        "SC_jpeg_no_color_transform.dcm",
        Rendered("SC_jpeg_no_color_transform.dcm"),
    ),
    (
        "SC_jpeg_no_color_transform_2.dcm",
        Rendered("SC_jpeg_no_color_transform_2.dcm"),
    ),
    (
        "SC_rgb_dcmtk_+eb+cr.dcm",
        Rendered("SC_rgb_dcmtk_+eb+cr.dcm"),
    ),
    (
        "SC_rgb_dcmtk_+eb+cy+n1.dcm",
        Rendered("SC_rgb_dcmtk_+eb+cy+n1.dcm"),
    ),
    (
        "SC_rgb_dcmtk_+eb+cy+n2.dcm",
        Rendered("SC_rgb_dcmtk_+eb+cy+n2.dcm"),
    ),
    (
        "SC_rgb_dcmtk_+eb+cy+np.dcm",
        Rendered("SC_rgb_dcmtk_+eb+cy+np.dcm"),
    ),
    (
        "SC_rgb_dcmtk_+eb+cy+s2.dcm",
        Rendered("SC_rgb_dcmtk_+eb+cy+s2.dcm"),
    ),
    (
        "SC_rgb_dcmtk_+eb+cy+s4.dcm",
        Rendered("SC_rgb_dcmtk_+eb+cy+s4.dcm"),
    ),
    ("SC_rgb_gdcm_KY.dcm", Rendered("SC_rgb_gdcm_KY.dcm")),
    (
        "SC_rgb_jls_lossy_line.dcm",
        Rendered("SC_rgb_jls_lossy_line.dcm"),
    ),
    (
        "SC_rgb_jls_lossy_sample.dcm",
        Rendered("SC_rgb_jls_lossy_sample.dcm"),
    ),
    ("SC_rgb_jpeg.dcm", Rendered("SC_rgb_jpeg.dcm")),
    (
        "SC_rgb_jpeg_app14_dcmd.dcm",
        Rendered("SC_rgb_jpeg_app14_dcmd.dcm"),
    ),
    ("SC_rgb_jpeg_dcmd.dcm", Rendered("SC_rgb_jpeg_dcmd.dcm")),
    ("SC_rgb_jpeg_dcmtk.dcm", Rendered("SC_rgb_jpeg_dcmtk.dcm")),
    ("SC_rgb_jpeg_gdcm.dcm", Rendered("SC_rgb_jpeg_gdcm.dcm")),
    (
        "SC_rgb_jpeg_lossy_gdcm.dcm",
        Rendered("SC_rgb_jpeg_lossy_gdcm.dcm"),
    ),
    ("SC_rgb_rle.dcm", Rendered("SC_rgb_rle.dcm")),
    ("SC_rgb_rle_16bit.dcm", Rendered("SC_rgb_rle_16bit.dcm")),
    (
        "SC_rgb_rle_16bit_2frame.dcm",
        Rendered("SC_rgb_rle_16bit_2frame.dcm"),
    ),
    ("SC_rgb_rle_2frame.dcm", Rendered("SC_rgb_rle_2frame.dcm")),
    ("SC_rgb_rle_32bit.dcm", Rendered("SC_rgb_rle_32bit.dcm")),
    (
        "SC_rgb_rle_32bit_2frame.dcm",
        Rendered("SC_rgb_rle_32bit_2frame.dcm"),
    ),
    ("SC_rgb_small_odd.dcm", Rendered("SC_rgb_small_odd.dcm")),
    (
        "SC_rgb_small_odd_big_endian.dcm",
        Rendered("SC_rgb_small_odd_big_endian.dcm"),
    ),
    (
        "SC_rgb_small_odd_jpeg.dcm",
        Rendered("SC_rgb_small_odd_jpeg.dcm"),
    ),
    (
        "SC_ybr_full_422_uncompressed.dcm",
        Rendered("SC_ybr_full_422_uncompressed.dcm"),
    ),
    // undefined-length UN sequence: dropped (dicom-rs cannot read it), the rest parses
    ("UN_sequence.dcm", NoPreview("not-an-image")),
    ("badVR.dcm", NoPreview("invalid-attribute")),
    ("empty_charset_LEI.dcm", NoPreview("not-an-image")),
    ("examples_jpeg2k.dcm", Rendered("examples_jpeg2k.dcm")),
    ("examples_overlay.dcm", Rendered("examples_overlay.dcm")),
    ("examples_palette.dcm", Rendered("examples_palette.dcm")),
    ("examples_rgb_color.dcm", Rendered("examples_rgb_color.dcm")),
    ("examples_ybr_color.dcm", Rendered("examples_ybr_color.dcm")),
    ("image_dfl.dcm", Rendered("image_dfl.dcm")),
    ("liver_1frame.dcm", Rendered("liver_1frame.dcm")),
    ("liver_expb_1frame.dcm", Rendered("liver_expb_1frame.dcm")),
    ("meta_missing_tsyntax.dcm", NoPreview("missing-attribute")),
    ("nested_priv_SQ.dcm", NoPreview("missing-attribute")),
    ("no_meta.dcm", Refused("not-dicom")),
    ("no_meta_group_length.dcm", NoPreview("not-an-image")),
    ("priv_SQ.dcm", NoPreview("not-an-image")),
    ("reportsi.dcm", NoPreview("not-an-image")),
    (
        "reportsi_with_empty_number_tags.dcm",
        NoPreview("not-an-image"),
    ),
    ("rtdose.dcm", Rendered("rtdose.dcm")),
    ("rtdose_1frame.dcm", Rendered("rtdose_1frame.dcm")),
    ("rtdose_expb.dcm", Rendered("rtdose_expb.dcm")),
    ("rtdose_expb_1frame.dcm", Rendered("rtdose_expb_1frame.dcm")),
    ("rtdose_rle.dcm", Rendered("rtdose_rle.dcm")),
    ("rtdose_rle_1frame.dcm", Rendered("rtdose_rle_1frame.dcm")),
    ("rtplan.dcm", NoPreview("not-an-image")),
    ("rtplan_truncated.dcm", Refused("truncated")),
    ("rtstruct.dcm", NoPreview("not-an-image")),
    ("test-SR.dcm", NoPreview("not-an-image")),
    ("waveform_ecg.dcm", NoPreview("not-an-image")),
    ("zipMR.gz", Refused("not-dicom")),
];

/// Native render vs reference: worst channel MAE and correlation.
const NATIVE_MAX_MAE: f64 = 2.0;
const NATIVE_MIN_CORR: f64 = 0.99;
/// Encoded preview (resampled, JPEG q90) vs reference.
const PREVIEW_MAX_MAE: f64 = 8.0;
const PREVIEW_MIN_CORR: f64 = 0.95;

const SIZE: usize = 64;
const FLAT_VARIANCE: f64 = 16.0;

/// A 64×64 thumbnail, channels interleaved.
#[derive(Debug, Clone, PartialEq)]
struct Thumb {
    channels: usize,
    px: Vec<f64>,
}

/// Box average to 64×64, the rule of make_references.py, rounded half up.
fn thumb(w: usize, h: usize, channels: usize, px: &[u8]) -> Thumb {
    let mut out = Vec::with_capacity(SIZE * SIZE * channels);
    for i in 0..SIZE {
        let r0 = i * h / SIZE;
        let r1 = ((i + 1) * h / SIZE).max(r0 + 1);
        for j in 0..SIZE {
            let c0 = j * w / SIZE;
            let c1 = ((j + 1) * w / SIZE).max(c0 + 1);
            for c in 0..channels {
                let mut sum = 0.0;
                for r in r0..r1 {
                    for k in c0..c1 {
                        sum += f64::from(px[(r * w + k) * channels + c]);
                    }
                }
                let n = ((r1 - r0) * (c1 - c0)) as f64;
                out.push((sum / n + 0.5).floor());
            }
        }
    }
    Thumb { channels, px: out }
}

fn thumb_of(img: &RenderedImage) -> Thumb {
    let (w, h, ch) = (
        img.width as usize,
        img.height as usize,
        usize::from(img.channels),
    );
    thumb(w, h, ch, &img.pixels)
}

fn reference(name: &str) -> Thumb {
    let file = format!("{}.png", name.replace('/', "__"));
    let path = fixtures().join("previews").join(file);
    let img = image::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(img.dimensions(), (SIZE as u32, SIZE as u32));
    match img {
        image::DynamicImage::ImageLuma8(g) => Thumb {
            channels: 1,
            px: g.into_raw().into_iter().map(f64::from).collect(),
        },
        other => Thumb {
            channels: 3,
            px: other
                .to_rgb8()
                .into_raw()
                .into_iter()
                .map(f64::from)
                .collect(),
        },
    }
}

/// (worst channel MAE, worst channel correlation); a flat channel counts as correlated.
fn compare(a: &Thumb, b: &Thumb) -> (f64, f64) {
    assert_eq!(a.channels, b.channels, "grayscale vs colour");
    let ch = a.channels;
    let (mut worst_mae, mut worst_corr) = (0.0f64, 1.0f64);
    for c in 0..ch {
        let x: Vec<f64> = a.px.iter().skip(c).step_by(ch).copied().collect();
        let y: Vec<f64> = b.px.iter().skip(c).step_by(ch).copied().collect();
        let n = x.len() as f64;
        let mae = x.iter().zip(&y).map(|(p, q)| (p - q).abs()).sum::<f64>() / n;
        let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
        let cov: f64 = x.iter().zip(&y).map(|(p, q)| (p - mx) * (q - my)).sum();
        let vx: f64 = x.iter().map(|p| (p - mx).powi(2)).sum();
        let vy: f64 = y.iter().map(|q| (q - my).powi(2)).sum();
        // A near-flat reference channel (std < 4 grey levels) has no shape to correlate with.
        let corr = if vy / n < FLAT_VARIANCE || vx < 1e-9 {
            1.0 // the caller's MAE bound decides
        } else {
            cov / (vx * vy).sqrt()
        };
        worst_mae = worst_mae.max(mae);
        worst_corr = worst_corr.min(corr);
    }
    (worst_mae, worst_corr)
}

fn matches(ours: &Thumb, reference: &Thumb) -> bool {
    let (mae, corr) = compare(ours, reference);
    mae <= NATIVE_MAX_MAE && corr >= NATIVE_MIN_CORR
}

fn load(name: &str) -> Result<ParsedInstance, sv_dicom::DicomError> {
    parse_for_preview(&dicom(name), &Limits::default())
}

#[test]
fn the_table_lists_every_fixture() {
    let mut on_disk: Vec<String> = std::fs::read_dir(fixtures().join("dicom"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".dcm") || n.ends_with(".gz"))
        .collect();
    on_disk.sort();
    let listed: Vec<&str> = TABLE.iter().map(|(n, _)| *n).collect();
    assert_eq!(on_disk, listed);
}

#[test]
fn every_fixture_has_its_expected_outcome() {
    let mut failures = Vec::new();
    for &(name, expect) in TABLE {
        let parsed = load(name);
        let outcome = match (&parsed, expect) {
            (Err(e), Refused(code)) if e.code() == code => continue,
            (Err(e), _) => format!("parse refused: {} ({e})", e.code()),
            (Ok(_), Refused(code)) => format!("parsed, expected refusal {code}"),
            (Ok(p), NoPreview(code)) => match p.render_preview(&PreviewOptions::default()) {
                Err(e) if e.code() == code => continue,
                Err(e) => format!("render refused: {} ({e}), expected {code}", e.code()),
                Ok(_) => format!("rendered, expected {code}"),
            },
            (Ok(p), Rendered(reference_name)) => match check_render(p, reference_name) {
                Ok(()) => continue,
                Err(msg) => msg,
            },
        };
        failures.push(format!("{name}: {outcome}"));
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// The DICOMDIR media sets: every image file (CR, CT, MR under the numbered folders) renders and
/// matches; DICOMDIRs and the pixel-less TINY_ALPHA set are not images; the rest as listed.
#[test]
fn dicomdir_media_sets_have_their_expected_outcomes() {
    fn walk(dir: &std::path::Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                let rel = p.strip_prefix(fixtures().join("dicom")).unwrap();
                out.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    let mut files = Vec::new();
    walk(&fixtures().join("dicom/dicomdirtests"), &mut files);
    files.sort();
    assert_eq!(files.len(), 91);
    let mut rendered = 0;
    let mut failures = Vec::new();
    for name in &files {
        let base = name.rsplit('/').next().unwrap();
        let expect = if base.starts_with("README") {
            Refused("not-dicom")
        } else if base == "DICOMDIR-nooffset" {
            // records removed without fixing the item lengths: the last item overruns the file
            Refused("truncated")
        } else if base.starts_with("DICOMDIR") || name.contains("TINY_ALPHA") {
            NoPreview("not-an-image")
        } else {
            rendered += 1;
            Rendered(name.as_str().to_owned().leak())
        };
        let outcome = match (load(name), expect) {
            (Err(e), Refused(code)) if e.code() == code => continue,
            (Err(e), _) => format!("parse refused: {} ({e})", e.code()),
            (Ok(_), Refused(code)) => format!("parsed, expected refusal {code}"),
            (Ok(p), NoPreview(code)) => match p.render_preview(&PreviewOptions::default()) {
                Err(e) if e.code() == code => continue,
                Err(e) => format!("render refused: {}, expected {code}", e.code()),
                Ok(_) => format!("rendered, expected {code}"),
            },
            (Ok(p), Rendered(reference_name)) => match check_render(&p, reference_name) {
                Ok(()) => continue,
                Err(msg) => msg,
            },
        };
        failures.push(format!("{name}: {outcome}"));
    }
    assert_eq!(rendered, 31);
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

fn check_render(p: &ParsedInstance, reference_name: &str) -> Result<(), String> {
    let reference = reference(reference_name);
    let native = p.render_image().map_err(|e| format!("{}: {e}", e.code()))?;
    let (mae, corr) = compare(&thumb_of(&native), &reference);
    if mae > NATIVE_MAX_MAE || corr < NATIVE_MIN_CORR {
        return Err(format!(
            "native render differs: mae {mae:.2}, corr {corr:.4}"
        ));
    }
    for format in [PreviewFormat::Jpeg, PreviewFormat::Png] {
        let opts = PreviewOptions {
            format,
            ..PreviewOptions::default()
        };
        let pv = p
            .render_preview(&opts)
            .map_err(|e| format!("{}: {e}", e.code()))?;
        let decoded = image::load_from_memory(&pv.bytes).map_err(|e| e.to_string())?;
        let expected_format = match format {
            PreviewFormat::Jpeg => image::ImageFormat::Jpeg,
            PreviewFormat::Png => image::ImageFormat::Png,
        };
        if image::guess_format(&pv.bytes).ok() != Some(expected_format) {
            return Err(format!("{format:?} preview is not {}", format.media_type()));
        }
        if decoded.dimensions() != (pv.width, pv.height) || pv.width.min(pv.height) < 500 {
            return Err(format!("{format:?} preview is {}x{}", pv.width, pv.height));
        }
        let (w, h) = (pv.width as usize, pv.height as usize);
        let t = if native.channels == 3 {
            thumb(w, h, 3, &decoded.to_rgb8().into_raw())
        } else {
            thumb(w, h, 1, &decoded.to_luma8().into_raw())
        };
        // Tiny images: resampling rightly smooths what the box reference keeps blocky.
        if native.width >= SIZE as u32 && native.height >= SIZE as u32 {
            let (mae, corr) = compare(&t, &reference);
            if mae > PREVIEW_MAX_MAE || corr < PREVIEW_MIN_CORR {
                return Err(format!(
                    "{format:?} preview differs: mae {mae:.2}, corr {corr:.4}"
                ));
            }
        }
    }
    Ok(())
}

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
