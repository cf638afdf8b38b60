//! Every fixture's outcome, and rendered pixels against pydicom reference renders.
//!
//! References are 64×64 box-averaged thumbnails made by `fixtures/previews/make_references.py`
//! (pydicom + numpy, same pipeline contract). We reduce our own native-size render the same way
//! and compare per channel: mean absolute error and Pearson correlation. The final encoded
//! preview is decoded and compared too, with looser bounds (resampling and JPEG loss). Colour
//! JPEG previews are checked for 4:4:4, their size and their 1-pixel colour detail.

mod common;

use common::thumbs::*;
use common::{dicom, fixtures};
use image::GenericImageView;
use sv_dicom::{Limits, ParsedInstance, PreviewFormat, PreviewOptions, parse_for_preview};

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
    // made by fixtures/previews/make_pipeline_fixtures.py (issue 13)
    (
        "generated/ct_enhanced_supplemental_palette.dcm",
        Rendered("generated/ct_enhanced_supplemental_palette.dcm"),
    ),
    (
        "generated/ct_pixel_padding.dcm",
        Rendered("generated/ct_pixel_padding.dcm"),
    ),
    (
        "generated/dx_presentation_inverse.dcm",
        Rendered("generated/dx_presentation_inverse.dcm"),
    ),
    (
        "generated/sc_rgb_fine_colour_detail.dcm",
        Rendered("generated/sc_rgb_fine_colour_detail.dcm"),
    ),
    (
        "generated/us_palette_segmented_be.dcm",
        Rendered("generated/us_palette_segmented_be.dcm"),
    ),
    (
        "generated/us_palette_segmented_le.dcm",
        Rendered("generated/us_palette_segmented_le.dcm"),
    ),
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

fn load(name: &str) -> Result<ParsedInstance, sv_dicom::DicomError> {
    parse_for_preview(&dicom(name), &Limits::default())
}

#[test]
fn the_table_lists_every_fixture() {
    let names = |dir: &str| {
        std::fs::read_dir(fixtures().join("dicom").join(dir))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".dcm") || n.ends_with(".gz"))
            .map(move |n| format!("{dir}{n}"))
            .collect::<Vec<_>>()
    };
    let mut on_disk = names("");
    on_disk.extend(names("generated/"));
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
    if usize::from(native.channels) != reference.channels {
        return Err(format!(
            "native render has {} channels, the reference {}",
            native.channels, reference.channels
        ));
    }
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

/// The sampling factors (`H << 4 | V`) of a baseline JPEG's components, from its SOF0 marker.
fn sampling_factors(jpeg: &[u8]) -> Vec<u8> {
    let mut i = 2;
    while i + 4 <= jpeg.len() && jpeg[i] == 0xFF {
        let len = usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
        if jpeg[i + 1] == 0xC0 {
            let n = usize::from(jpeg[i + 9]);
            return (0..n).map(|k| jpeg[i + 11 + 3 * k]).collect();
        }
        i += 2 + len;
    }
    panic!("no SOF0 marker");
}

/// The PNG preview's pixels: exactly what the JPEG encoder is given.
fn png_pixels(p: &ParsedInstance) -> (usize, usize, Vec<u8>) {
    let opts = PreviewOptions {
        format: PreviewFormat::Png,
        ..PreviewOptions::default()
    };
    let png = p.render_preview(&opts).unwrap();
    let px = image::load_from_memory(&png.bytes).unwrap().to_rgb8();
    (png.width as usize, png.height as usize, px.into_raw())
}

/// The previous colour encoding: q90, 4:2:0, one pass.
fn jpeg_420(px: &[u8], w: usize, h: usize) -> Vec<u8> {
    let image = turbojpeg::Image {
        pixels: px,
        width: w,
        pitch: w * 3,
        height: h,
        format: turbojpeg::PixelFormat::RGB,
    };
    turbojpeg::compress(image, 90, turbojpeg::Subsamp::Sub2x2)
        .unwrap()
        .to_vec()
}

/// Regression test for issue 13: colour previews were chroma-subsampled 4:2:0. Every colour
/// fixture's JPEG preview is 4:4:4 and at most 1.5 times the size 4:2:0 gave the same pixels;
/// grayscale previews stay one component.
#[test]
fn colour_jpeg_previews_are_444_within_one_and_a_half_times_the_420_size() {
    let mut failures = Vec::new();
    let (mut colour, mut worst) = (0, 0.0f64);
    for &(name, expect) in TABLE {
        let (Rendered(_), Ok(p)) = (expect, load(name)) else {
            continue;
        };
        let jpeg = p.render_preview(&PreviewOptions::default()).unwrap();
        let factors = sampling_factors(&jpeg.bytes);
        if p.render_image().unwrap().channels == 1 {
            if factors != [0x11] {
                failures.push(format!("{name}: grey preview has components {factors:x?}"));
            }
            continue;
        }
        colour += 1;
        if factors != [0x11; 3] {
            failures.push(format!("{name}: sampling factors {factors:x?}, not 4:4:4"));
        }
        let (w, h, px) = png_pixels(&p);
        let ratio = jpeg.bytes.len() as f64 / jpeg_420(&px, w, h).len() as f64;
        worst = worst.max(ratio);
        if ratio > 1.5 {
            failures.push(format!("{name}: {ratio:.2} times the 4:2:0 size"));
        }
    }
    assert!(colour >= 35, "only {colour} colour fixtures");
    eprintln!("{colour} colour previews, worst size ratio {worst:.2}");
    assert!(
        failures.is_empty(),
        "worst ratio {worst:.2}\n{}",
        failures.join("\n")
    );
}

/// Mean over the saturated pixels of `reference` (annotations: max - min channel >= 100) of
/// the largest channel error of `decoded`.
fn colour_detail_error(reference: &[u8], decoded: &[u8]) -> f64 {
    let (mut n, mut sum) = (0.0, 0.0);
    for (p, q) in reference.chunks_exact(3).zip(decoded.chunks_exact(3)) {
        let saturation = p.iter().max().unwrap() - p.iter().min().unwrap();
        if saturation >= 100 {
            n += 1.0;
            sum += (0..3).map(|c| p[c].abs_diff(q[c])).max().unwrap() as f64;
        }
    }
    assert!(n > 1000.0, "{n} annotation pixels");
    sum / n
}

/// Regression test for issue 13: the 1-pixel coloured annotations of an ultrasound screen
/// capture keep their colour in the JPEG preview; the same pixels at 4:2:0 (negative control)
/// lose it, so the bound catches the blur.
#[test]
fn colour_previews_keep_one_pixel_colour_detail() {
    let p = load("generated/sc_rgb_fine_colour_detail.dcm").unwrap();
    let (w, h, px) = png_pixels(&p);
    assert_eq!((w, h), (512, 512), "no resampling in between");
    let jpeg = p.render_preview(&PreviewOptions::default()).unwrap();
    let decode = |bytes: &[u8]| image::load_from_memory(bytes).unwrap().to_rgb8().into_raw();
    let ours = colour_detail_error(&px, &decode(&jpeg.bytes));
    let subsampled = colour_detail_error(&px, &decode(&jpeg_420(&px, w, h)));
    assert!(ours <= 20.0, "annotations off by {ours:.1} on average");
    assert!(subsampled > 40.0, "4:2:0 passed: {subsampled:.1}");
}
