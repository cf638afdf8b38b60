//! Rendering rules on synthetic images: size rule, non-square pixels, middle frame, windows,
//! LUT sequences, signed data, MONOCHROME1, functional-group precedence, Presentation LUT
//! Shape, pixel padding, supplemental and segmented palettes, output formats and render-time
//! refusals.

mod common;

use dicom_core::value::{DataSetSequence, PrimitiveValue};
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use sv_dicom::synthetic::{self as synth, Spec};
use sv_dicom::{Limits, ParsedInstance, PreviewFormat, PreviewOptions, RenderedImage, parse};

fn parsed(spec: &Spec) -> ParsedInstance {
    parse(&synth::instance(spec), &Limits::default()).expect("synthetic instance parses")
}

fn rendered(spec: &Spec) -> RenderedImage {
    parsed(spec).render_image().expect("renders")
}

fn at(img: &RenderedImage, row: u32, col: u32) -> u8 {
    img.pixels[(row * img.width + col) as usize]
}

fn preview_size(spec: &Spec) -> (u32, u32) {
    let p = parsed(spec)
        .render_preview(&PreviewOptions::default())
        .unwrap();
    (p.width, p.height)
}

fn ramp(_f: u32, _r: u32, c: u32) -> i32 {
    c as i32
}

#[test]
fn short_side_is_scaled_into_500_to_1024() {
    assert_eq!(preview_size(&Spec::new(100, 200, ramp)), (1000, 500));
    assert_eq!(preview_size(&Spec::new(600, 800, ramp)), (800, 600));
    assert_eq!(preview_size(&Spec::new(2048, 1536, ramp)), (1024, 1365));
    let opts = PreviewOptions {
        min_short_side: 256,
        max_short_side: 256,
        ..PreviewOptions::default()
    };
    let p = parsed(&Spec::new(600, 800, ramp))
        .render_preview(&opts)
        .unwrap();
    assert_eq!((p.width, p.height), (341, 256));
}

#[test]
fn non_square_pixels_are_respected() {
    // rows 2 mm apart, columns 1 mm: 200×100 pixels show a square
    let mut spec = Spec::new(100, 200, ramp);
    spec.pixel_spacing = Some((2.0, 1.0));
    assert_eq!(preview_size(&spec), (500, 500));
    spec.extra
        .push(DataElement::new(tags::PIXEL_ASPECT_RATIO, VR::IS, "1\\2"));
    // Pixel Aspect Ratio wins over Pixel Spacing: 1 (vertical) : 2 (horizontal)
    assert_eq!(preview_size(&spec), (2000, 500));
}

#[test]
fn multi_frame_previews_frame_n_over_2() {
    fn by_frame(f: u32, _r: u32, _c: u32) -> i32 {
        (f * 100) as i32
    }
    for (frames, expected_value) in [(10, 500), (2, 100), (3, 100), (1, 0)] {
        let mut spec = Spec::new(8, 8, by_frame);
        spec.frames = frames;
        spec.window = Some((2048.0, 4096.0)); // ~identity from 0..4096 to 0..255
        let img = rendered(&spec);
        let expected = ((expected_value as f64 - 2047.5) / 4095.0 + 0.5) * 255.0;
        assert_eq!(
            at(&img, 4, 4),
            (expected + 0.5).floor() as u8,
            "{frames} frames"
        );
    }
}

#[test]
fn rescale_and_window_work_in_modality_units() {
    let img = parsed(&{
        let mut s = Spec::new(512, 512, synth::ct_value);
        s.rescale = Some((1.0, -1024.0));
        s.window = Some((40.0, 400.0));
        s
    })
    .render_image()
    .unwrap();
    assert_eq!(at(&img, 0, 0), 0, "air is black");
    assert_eq!(at(&img, 256, 256 + 220), 255, "the bone ring is white");
    let tissue = at(&img, 256, 256);
    assert!(
        (100..160).contains(&tissue),
        "soft tissue is mid grey: {tissue}"
    );
}

#[test]
fn voi_lut_functions() {
    let mut spec = Spec::new(4, 256, |_, _, c| (c * 16) as i32);
    spec.window = Some((2048.0, 1024.0));
    let linear = rendered(&spec);
    spec.extra = vec![DataElement::new(tags::VOILUT_FUNCTION, VR::CS, "SIGMOID")];
    let sigmoid = rendered(&spec);
    spec.extra = vec![DataElement::new(
        tags::VOILUT_FUNCTION,
        VR::CS,
        "LINEAR_EXACT",
    )];
    let exact = rendered(&spec);
    // value 2048 sits at the center
    assert_eq!(at(&sigmoid, 0, 128), 128);
    assert_eq!(at(&exact, 0, 128), 128);
    assert_eq!(at(&linear, 0, 128), 128);
    // sigmoid never clips at the window edge: value 1536 (center - width/2) is 255/(1+e^2)
    assert_eq!(
        at(&sigmoid, 0, 96),
        (255.0 / (1.0 + 2f64.exp()) + 0.5).floor() as u8
    );
    assert_eq!(at(&exact, 0, 96), 0);
}

fn lut_item(first: u16, data: Vec<u16>) -> InMemDicomObject {
    let n = data.len() as u16;
    InMemDicomObject::from_element_iter([
        DataElement::new(
            tags::LUT_DESCRIPTOR,
            VR::US,
            PrimitiveValue::U16([n, first, 16].as_slice().into()),
        ),
        DataElement::new(tags::LUT_DATA, VR::OW, PrimitiveValue::U16(data.into())),
    ])
}

#[test]
fn modality_and_voi_lut_sequences() {
    // Modality LUT: stored 0..255 -> 1100 - 4*v (inverting ramp); no window -> auto window
    let mut spec = Spec::new(4, 256, ramp);
    spec.bits_stored = 8;
    let modality: Vec<u16> = (0..256).map(|v| 1100 - 4 * v).collect();
    spec.extra = vec![DataElement::new(
        tags::MODALITY_LUT_SEQUENCE,
        VR::SQ,
        DataSetSequence::from(vec![lut_item(0, modality)]),
    )];
    let img = rendered(&spec);
    assert!(
        at(&img, 0, 0) > 250 && at(&img, 0, 255) < 5,
        "LUT applied before VOI"
    );

    // VOI LUT: a step at 128 over a 16-bit table
    let mut spec = Spec::new(4, 256, ramp);
    spec.bits_stored = 8;
    let voi: Vec<u16> = (0..256).map(|v| if v < 128 { 0 } else { 65535 }).collect();
    spec.extra = vec![DataElement::new(
        tags::VOILUT_SEQUENCE,
        VR::SQ,
        DataSetSequence::from(vec![lut_item(0, voi)]),
    )];
    let img = rendered(&spec);
    assert_eq!((at(&img, 0, 127), at(&img, 0, 128)), (0, 255));
}

#[test]
fn signed_data_without_window_uses_its_own_range() {
    // -2000 .. +2000 across the image, signed 16-bit: the classic "all black" trap
    let mut spec = Spec::new(16, 401, |_, _, c| c as i32 * 10 - 2000);
    spec.signed = true;
    spec.bits_stored = 16;
    let img = rendered(&spec);
    let row: Vec<u8> = (0..401).map(|c| at(&img, 8, c)).collect();
    assert!(row[0] <= 2 && row[400] >= 253, "{} .. {}", row[0], row[400]);
    assert!(row.windows(2).all(|w| w[0] <= w[1]), "monotonic");
    assert!(
        (120..136).contains(&row[200]),
        "zero is mid grey: {}",
        row[200]
    );
}

#[test]
fn unused_high_bits_are_ignored() {
    // 12 bits stored in 16: garbage in the top 4 bits must not change the picture
    let mut clean = Spec::new(8, 64, |_, _, c| c as i32 * 64);
    clean.window = Some((2048.0, 4096.0));
    let mut dirty = clean.clone();
    dirty.value = |_, _, c| (c as i32 * 64) | 0xA000;
    assert_eq!(rendered(&clean).pixels, rendered(&dirty).pixels);
}

#[test]
fn monochrome1_radiograph_shows_collimation_black() {
    let img = parse(&synth::radiograph(), &Limits::default())
        .unwrap()
        .render_image()
        .unwrap();
    assert_eq!((img.width, img.height, img.channels), (2500, 3000, 1));
    assert_eq!(
        at(&img, 10, 10),
        0,
        "highest values are black in MONOCHROME1"
    );
    assert!(
        at(&img, 1500, 100) > at(&img, 1500, 2400),
        "low attenuation is brighter"
    );
}

#[test]
fn output_formats_and_media_types() {
    let p = parsed(&Spec::new(64, 64, ramp));
    let jpeg = p.render_preview(&PreviewOptions::default()).unwrap();
    assert_eq!(jpeg.format, PreviewFormat::Jpeg);
    assert_eq!(&jpeg.bytes[..3], &[0xFF, 0xD8, 0xFF]);
    assert_eq!(
        (jpeg.format.media_type(), jpeg.format.extension()),
        ("image/jpeg", "jpg")
    );
    let png = p
        .render_preview(&PreviewOptions {
            format: PreviewFormat::Png,
            ..PreviewOptions::default()
        })
        .unwrap();
    assert_eq!(&png.bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(
        (png.format.media_type(), png.format.extension()),
        ("image/png", "png")
    );
    let decoded = image::load_from_memory(&png.bytes).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (500, 500));
}

#[test]
fn render_refusals_have_reason_codes() {
    let mut spec = Spec::new(8, 8, ramp);
    spec.frames = 3;
    let p = parsed(&spec);
    assert_eq!(p.render_frame(3).unwrap_err().code(), "invalid-attribute");
    assert!(p.render_frame(2).is_ok());
    // pixel data shorter than Rows × Columns says
    let mut bytes = synth::instance(&Spec::new(8, 8, ramp));
    let rows_at = bytes
        .windows(4)
        .position(|w| w == [0x28, 0, 0x10, 0])
        .unwrap();
    bytes[rows_at + 8] = 9; // Rows 8 -> 9
    let p = parse(&bytes, &Limits::default()).unwrap();
    let e = p.render_preview(&PreviewOptions::default()).unwrap_err();
    assert_eq!(e.code(), "truncated");
    assert!(!e.to_string().is_empty());
}

#[test]
fn multi_frame_jpeg_split_over_fragments_without_offset_table() {
    use common::{ex, part10};
    let jpeg = |value: u8| {
        let image = turbojpeg::Image {
            pixels: &[value; 16 * 16][..],
            width: 16,
            pitch: 16,
            height: 16,
            format: turbojpeg::PixelFormat::GRAY,
        };
        turbojpeg::compress(image, 95, turbojpeg::Subsamp::Gray)
            .unwrap()
            .to_vec()
    };
    let item = |bytes: &[u8]| {
        let mut v = vec![0xFE, 0xFF, 0x00, 0xE0];
        v.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        v.extend_from_slice(bytes);
        v
    };
    let mut pixel_data = vec![
        0xE0, 0x7F, 0x10, 0x00, b'O', b'B', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
    ];
    pixel_data.extend(item(&[])); // empty basic offset table
    for value in [50u8, 200] {
        let mut stream = jpeg(value);
        if stream.len() % 2 == 1 {
            stream.push(0);
        }
        let half = (stream.len() / 2) & !1;
        pixel_data.extend(item(&stream[..half]));
        pixel_data.extend(item(&stream[half..]));
    }
    pixel_data.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
    let us = |v: u16| v.to_le_bytes();
    let ds = [
        common::ids_explicit(),
        ex(0x0028, 0x0002, "US", &us(1)),
        ex(0x0028, 0x0004, "CS", b"MONOCHROME2"),
        ex(0x0028, 0x0008, "IS", b"2"),
        ex(0x0028, 0x0010, "US", &us(16)),
        ex(0x0028, 0x0011, "US", &us(16)),
        ex(0x0028, 0x0100, "US", &us(8)),
        ex(0x0028, 0x0101, "US", &us(8)),
        ex(0x0028, 0x0102, "US", &us(7)),
        ex(0x0028, 0x0103, "US", &us(0)),
        ex(0x0028, 0x1050, "DS", b"128"),
        ex(0x0028, 0x1051, "DS", b"256"),
        pixel_data,
    ]
    .concat();
    let p = parse(&part10("1.2.840.10008.1.2.4.50", &ds), &Limits::default()).unwrap();
    let img = p.render_image().unwrap();
    let v = at(&img, 8, 8);
    assert!((198..=202).contains(&v), "frame 1 of 2 is the 200 one: {v}");
    let first = p.render_frame(0).unwrap();
    assert!((48..=52).contains(&at(&first, 8, 8)));
}

// --- issue 13: functional groups, presentation, padding, palettes --------------------------

fn item(elements: Vec<dicom_object::mem::InMemElement>) -> InMemDicomObject {
    InMemDicomObject::from_element_iter(elements)
}

fn seq(tag: dicom_core::Tag, items: Vec<InMemDicomObject>) -> dicom_object::mem::InMemElement {
    DataElement::new(tag, VR::SQ, DataSetSequence::from(items))
}

fn ds(tag: dicom_core::Tag, value: f64) -> dicom_object::mem::InMemElement {
    DataElement::new(tag, VR::DS, value.to_string())
}

/// A Pixel Value Transformation macro item.
fn rescale(slope: f64, intercept: f64) -> dicom_object::mem::InMemElement {
    seq(
        tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE,
        vec![item(vec![
            ds(tags::RESCALE_SLOPE, slope),
            ds(tags::RESCALE_INTERCEPT, intercept),
        ])],
    )
}

/// A Frame VOI LUT macro item.
fn frame_window(center: f64, width: f64) -> dicom_object::mem::InMemElement {
    seq(
        tags::FRAME_VOILUT_SEQUENCE,
        vec![item(vec![
            ds(tags::WINDOW_CENTER, center),
            ds(tags::WINDOW_WIDTH, width),
        ])],
    )
}

/// LINEAR window (PS3.3 C.11.2.1.2.1) to 8 bits, rounded half up.
fn linear(x: f64, c: f64, w: f64) -> u8 {
    let y = ((x - (c - 0.5)) / (w - 1.0) + 0.5).clamp(0.0, 1.0) * 255.0;
    (y + 0.5).floor() as u8
}

/// Regression test for issue 13: rescale and window come from the frame's per-frame functional
/// group, then the shared one, then the top level, each macro on its own.
#[test]
fn per_frame_groups_win_then_shared_then_top_level() {
    let mut spec = Spec::new(4, 256, |_, _, c| (c * 16) as i32);
    spec.frames = 3;
    spec.rescale = Some((1.0, 0.0));
    spec.window = Some((2048.0, 4096.0));
    let content = |n: f64| {
        seq(
            tags::FRAME_CONTENT_SEQUENCE,
            vec![item(vec![ds(tags::IN_STACK_POSITION_NUMBER, n)])],
        )
    };
    spec.extra = vec![
        seq(
            tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE,
            vec![item(vec![
                rescale(1.0, 500.0),
                frame_window(2048.0, 1024.0),
            ])],
        ),
        seq(
            tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE,
            vec![
                // frame 0: both from the shared group
                item(vec![content(1.0)]),
                // frame 1: both its own
                item(vec![
                    content(2.0),
                    rescale(2.0, 0.0),
                    frame_window(3596.0, 2048.0),
                ]),
                // frame 2: its own rescale, the shared window
                item(vec![content(3.0), rescale(1.0, -500.0)]),
            ],
        ),
    ];
    let p = parsed(&spec);
    let probe = |frame| at(&p.render_frame(frame).unwrap(), 2, 128); // stored 2048
    assert_eq!(probe(0), linear(2548.0, 2048.0, 1024.0));
    assert_eq!(probe(1), linear(4096.0, 3596.0, 2048.0));
    assert_eq!(probe(2), linear(1548.0, 2048.0, 1024.0));
    // the classic object, groups removed: the top level
    spec.extra.clear();
    let p = parsed(&spec);
    assert_eq!(
        at(&p.render_frame(1).unwrap(), 2, 128),
        linear(2048.0, 2048.0, 4096.0)
    );
}

#[test]
fn presentation_lut_shape_inverse_inverts_monochrome2_and_not_monochrome1_twice() {
    let mut spec = Spec::new(4, 256, |_, _, c| (c * 16) as i32);
    spec.window = Some((2048.0, 4096.0));
    let plain = rendered(&spec);
    let inverse = DataElement::new(tags::PRESENTATION_LUT_SHAPE, VR::CS, "INVERSE");
    spec.extra = vec![inverse.clone()];
    let inverted = rendered(&spec);
    assert!(
        plain
            .pixels
            .iter()
            .zip(&inverted.pixels)
            .all(|(a, b)| *a == 255 - b)
    );
    spec.photometric = "MONOCHROME1";
    assert_eq!(rendered(&spec).pixels, inverted.pixels);
    spec.extra.clear();
    assert_eq!(rendered(&spec).pixels, inverted.pixels);
}

/// Issue 13: padding is the background (black, even in MONOCHROME1) and stays out of the
/// automatic window; a padding value read as US from a signed image is taken as SS.
#[test]
fn pixel_padding_is_black_and_outside_the_automatic_window() {
    // signed: columns 0..16 padding at -2000, the rest a ramp 0..=957
    let mut spec = Spec::new(
        4,
        256,
        |_, _, c| {
            if c < 16 { -2000 } else { (c as i32 - 16) * 4 }
        },
    );
    spec.signed = true;
    spec.bits_stored = 16;
    spec.extra = vec![DataElement::new(
        tags::PIXEL_PADDING_VALUE,
        VR::US,
        PrimitiveValue::from(63536_u16), // -2000 as SS
    )];
    let img = rendered(&spec);
    assert_eq!(at(&img, 1, 0), 0);
    // the window spans the ramp (0.5 and 99.5 percentiles of 0..=956), not -2000..=956
    assert!(at(&img, 1, 16) <= 2 && at(&img, 1, 255) >= 253);
    assert!(
        (120..=136).contains(&at(&img, 1, 136)),
        "{}",
        at(&img, 1, 136)
    );
    // MONOCHROME1 with low padding values (against the rule): still the background
    spec.photometric = "MONOCHROME1";
    let img = rendered(&spec);
    assert_eq!((at(&img, 1, 0), at(&img, 1, 16)), (0, 255));
    // a range: Pixel Padding Range Limit, given before the value
    spec.photometric = "MONOCHROME2";
    spec.value = |_, _, c| if c < 16 { -2000 + c as i32 } else { c as i32 };
    spec.extra = vec![
        DataElement::new(
            tags::PIXEL_PADDING_VALUE,
            VR::SS,
            PrimitiveValue::from(-1985_i16),
        ),
        DataElement::new(
            tags::PIXEL_PADDING_RANGE_LIMIT,
            VR::SS,
            PrimitiveValue::from(-2000_i16),
        ),
    ];
    let img = rendered(&spec);
    assert!((0..16).all(|c| at(&img, 1, c) == 0));
    assert!(at(&img, 1, 16) <= 2 && at(&img, 1, 255) >= 253);
}

fn palette_tables(
    first: u16,
    red: &[u16],
    green: &[u16],
    blue: &[u16],
) -> Vec<dicom_object::mem::InMemElement> {
    let descriptor = |tag, n: usize| {
        DataElement::new(
            tag,
            VR::US,
            PrimitiveValue::U16([n as u16, first, 16].as_slice().into()),
        )
    };
    let data = |tag, d: &[u16]| DataElement::new(tag, VR::OW, PrimitiveValue::U16(d.into()));
    vec![
        descriptor(tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR, red.len()),
        descriptor(
            tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
            green.len(),
        ),
        descriptor(tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR, blue.len()),
        data(tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DATA, red),
        data(tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA, green),
        data(tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA, blue),
    ]
}

fn rgb_at(img: &RenderedImage, row: u32, col: u32) -> [u8; 3] {
    let i = ((row * img.width + col) * 3) as usize;
    [img.pixels[i], img.pixels[i + 1], img.pixels[i + 2]]
}

/// Regression test for issue 13: with Pixel Presentation COLOR, stored values in the
/// supplemental palette's range are its colours, the others grey through the window.
#[test]
fn a_supplemental_palette_colours_its_range_and_leaves_the_rest_grey() {
    let mut spec = Spec::new(4, 256, |_, _, c| (c * 16) as i32);
    spec.window = Some((2048.0, 4096.0));
    let mut extra = palette_tables(
        1600, // stored 1600..=1603: columns 100 to 100.2, so only column 100
        &[65535, 0, 0, 0],
        &[0, 65535, 0, 0],
        &[0, 0, 65535, 0],
    );
    let grey = rendered(&{
        let mut s = spec.clone();
        s.extra = extra.clone();
        s
    });
    assert_eq!(
        grey.channels, 1,
        "no Pixel Presentation: no supplemental palette"
    );
    extra.push(DataElement::new(tags::PIXEL_PRESENTATION, VR::CS, "COLOR"));
    spec.extra = extra;
    let img = rendered(&spec);
    assert_eq!(img.channels, 3);
    assert_eq!(rgb_at(&img, 1, 100), [255, 0, 0]);
    for c in [99, 101, 255] {
        let g = at(&grey, 1, c);
        assert_eq!(rgb_at(&img, 1, c), [g, g, g], "column {c}");
    }
    // signed, a negative first value, the range at columns 252..=255 and far below the rest
    let mut spec = Spec::new(4, 256, |_, _, c| {
        if c < 252 {
            c as i32 - 200
        } else {
            c as i32 - 1252
        }
    });
    spec.signed = true;
    spec.bits_stored = 16;
    spec.extra = palette_tables(
        (-1000_i16) as u16,
        &[65535, 0, 0, 0],
        &[0, 65535, 0, 0],
        &[0, 0, 65535, 32768],
    );
    spec.extra
        .push(DataElement::new(tags::PIXEL_PRESENTATION, VR::CS, "MIXED"));
    let img = rendered(&spec);
    let colours: Vec<[u8; 3]> = (252..256).map(|c| rgb_at(&img, 1, c)).collect();
    assert_eq!(
        colours,
        [[255, 0, 0], [0, 255, 0], [0, 0, 255], [0, 0, 128]]
    );
    // the automatic window leaves the palette's values out: 0..=255 over -200..=51
    let ([r0, g0, b0], [r1, g1, b1]) = (rgb_at(&img, 1, 0), rgb_at(&img, 1, 251));
    assert!(r0 == g0 && g0 == b0 && r0 <= 2, "{r0}");
    assert!(r1 == g1 && g1 == b1 && r1 >= 253, "{r1}");
}

/// Issue 13: a PALETTE COLOR image whose segmented tables expand beyond their declared length
/// renders from the declared entries only; one whose segments are malformed is refused.
#[test]
fn hostile_segmented_palettes_are_bounded_or_refused() {
    let mut spec = Spec::new(8, 64, |_, _, c| (c * 64) as i32);
    spec.photometric = "PALETTE COLOR";
    let segmented = |words: Vec<u16>| {
        let mut e = Vec::new();
        for (desc, data) in [
            (
                tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
                tags::SEGMENTED_RED_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            ),
            (
                tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
                tags::SEGMENTED_GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            ),
            (
                tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
                tags::SEGMENTED_BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            ),
        ] {
            e.push(DataElement::new(
                desc,
                VR::US,
                PrimitiveValue::U16([4096, 0, 16].as_slice().into()),
            ));
            e.push(DataElement::new(
                data,
                VR::OW,
                PrimitiveValue::U16(words.clone().into()),
            ));
        }
        e
    };
    // a ramp of 4096 entries, then 100,000 indirect copies of it
    let mut words = vec![0, 1, 0, 1, 4095, 65535];
    for _ in 0..100_000 {
        words.extend([2, 2, 0, 0]);
    }
    spec.extra = segmented(words);
    let img = rendered(&spec);
    assert_eq!(img.channels, 3);
    assert_eq!(rgb_at(&img, 0, 63)[0], ((4032 * 65535 / 4095) >> 8) as u8);
    // an indirect segment pointing at itself
    spec.extra = segmented(vec![0, 1, 0, 2, 1, 6, 0]);
    let e = parsed(&spec).render_image().unwrap_err();
    assert_eq!(e.code(), "invalid-attribute");
}
