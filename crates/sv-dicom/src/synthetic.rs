//! Synthetic DICOM instances written with dicom-rs: structured 16-bit images for tests and
//! benchmarks, here and in the crates above (feature `synthetic`).
//!
//! Test support only: unlike the rest of this crate, [`Spec::extra`] takes dicom-rs elements,
//! so tests can add LUT sequences and other attributes. Names and UIDs are invented.
#![allow(dead_code)]

use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::mem::InMemElement;
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};

/// What to put in a synthetic grayscale instance.
#[derive(Debug, Clone)]
pub struct Spec {
    pub rows: u16,
    pub cols: u16,
    pub frames: u16,
    pub signed: bool,
    pub bits_stored: u16,
    /// Rescale slope and intercept.
    pub rescale: Option<(f64, f64)>,
    /// Window center and width.
    pub window: Option<(f64, f64)>,
    pub photometric: &'static str,
    pub pixel_spacing: Option<(f64, f64)>,
    /// Per-pixel value, given frame, row, column.
    pub value: fn(u32, u32, u32) -> i32,
    /// Further attributes (LUT sequences, VOI LUT Function …).
    pub extra: Vec<InMemElement>,
    pub study_uid: String,
    pub series_uid: String,
    pub sop_uid: String,
    pub instance_number: Option<i32>,
    /// Added to the frame index given to `value`, so the slices of a series differ.
    pub slice: u32,
    /// Modality (CT unless set).
    pub modality: &'static str,
    /// Study Date (`YYYYMMDD`), when set.
    pub study_date: Option<String>,
    /// Accession Number, when set.
    pub accession_number: Option<String>,
}

impl Spec {
    pub fn new(rows: u16, cols: u16, value: fn(u32, u32, u32) -> i32) -> Self {
        Self {
            rows,
            cols,
            frames: 1,
            signed: false,
            bits_stored: 12,
            rescale: None,
            window: None,
            photometric: "MONOCHROME2",
            pixel_spacing: None,
            value,
            extra: Vec::new(),
            study_uid: "2.25.1002".to_owned(),
            series_uid: "2.25.1003".to_owned(),
            sop_uid: "2.25.1001".to_owned(),
            instance_number: None,
            slice: 0,
            modality: "CT",
            study_date: None,
            accession_number: None,
        }
    }
}

/// A CT-like slice: body ellipse, bone ring, soft-tissue texture, air outside (HU + 1024).
/// The body's size and texture change with `f` (slice or frame); `f = 0` is the reference slice.
pub fn ct_value(f: u32, r: u32, c: u32) -> i32 {
    let (y, x) = (r as f64 / 256.0 - 1.0, c as f64 / 256.0 - 1.0);
    let k = 1.0 + 0.15 * (f as f64 * 0.37).sin();
    let d = (x * x / (0.8 * k) + y * y / (0.6 * k)).sqrt();
    let texture = ((r * 7 + c * 13 + f * 5) % 37) as f64 - 18.0;
    let hu = if d > 1.0 {
        -1000.0
    } else if d > 0.93 {
        900.0
    } else {
        40.0 + 60.0 * (x * 9.0).sin() * (y * 7.0).cos() + texture
    };
    (hu + 1024.0) as i32
}

/// A radiograph-like image: smooth gradient, ribs, collimation border (12 bits).
pub fn xray_value(_f: u32, r: u32, c: u32) -> i32 {
    if r < 60 || c < 60 || r > 2940 || c > 2440 {
        return 4000;
    }
    let base = 800.0 + 1800.0 * (c as f64 / 2500.0) + 300.0 * ((r as f64) / 90.0).sin();
    let noise = ((r.wrapping_mul(2654435761) ^ c.wrapping_mul(40503)) % 64) as f64;
    (base + noise) as i32
}

/// A Part 10 file (explicit VR little endian) holding the image described by `spec`.
pub fn instance(spec: &Spec) -> Vec<u8> {
    let n = spec.rows as usize * spec.cols as usize;
    let mut words: Vec<u16> = Vec::with_capacity(n * spec.frames as usize);
    for f in 0..u32::from(spec.frames) {
        for r in 0..u32::from(spec.rows) {
            for c in 0..u32::from(spec.cols) {
                words.push((spec.value)(f + spec.slice, r, c) as u16);
            }
        }
    }
    let mut obj = InMemDicomObject::from_element_iter([
        DataElement::new(tags::SOP_CLASS_UID, VR::UI, uids::CT_IMAGE_STORAGE),
        DataElement::new(tags::SOP_INSTANCE_UID, VR::UI, spec.sop_uid.as_str()),
        DataElement::new(tags::MODALITY, VR::CS, spec.modality),
        DataElement::new(tags::STUDY_INSTANCE_UID, VR::UI, spec.study_uid.as_str()),
        DataElement::new(tags::SERIES_INSTANCE_UID, VR::UI, spec.series_uid.as_str()),
        DataElement::new(tags::SAMPLES_PER_PIXEL, VR::US, PrimitiveValue::from(1_u16)),
        DataElement::new(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, spec.photometric),
        DataElement::new(tags::ROWS, VR::US, PrimitiveValue::from(spec.rows)),
        DataElement::new(tags::COLUMNS, VR::US, PrimitiveValue::from(spec.cols)),
        DataElement::new(tags::BITS_ALLOCATED, VR::US, PrimitiveValue::from(16_u16)),
        DataElement::new(
            tags::BITS_STORED,
            VR::US,
            PrimitiveValue::from(spec.bits_stored),
        ),
        DataElement::new(
            tags::HIGH_BIT,
            VR::US,
            PrimitiveValue::from(spec.bits_stored - 1),
        ),
        DataElement::new(
            tags::PIXEL_REPRESENTATION,
            VR::US,
            PrimitiveValue::from(u16::from(spec.signed)),
        ),
        DataElement::new(tags::PIXEL_DATA, VR::OW, PrimitiveValue::U16(words.into())),
    ]);
    // Optional attributes, each present when the spec sets it.
    let optional = [
        (
            tags::INSTANCE_NUMBER,
            VR::IS,
            spec.instance_number.map(|n| n.to_string()),
        ),
        (
            tags::NUMBER_OF_FRAMES,
            VR::IS,
            (spec.frames > 1).then(|| spec.frames.to_string()),
        ),
        (
            tags::RESCALE_SLOPE,
            VR::DS,
            spec.rescale.map(|(slope, _)| slope.to_string()),
        ),
        (
            tags::RESCALE_INTERCEPT,
            VR::DS,
            spec.rescale.map(|(_, intercept)| intercept.to_string()),
        ),
        (
            tags::WINDOW_CENTER,
            VR::DS,
            spec.window.map(|(center, _)| center.to_string()),
        ),
        (
            tags::WINDOW_WIDTH,
            VR::DS,
            spec.window.map(|(_, width)| width.to_string()),
        ),
        (
            tags::PIXEL_SPACING,
            VR::DS,
            spec.pixel_spacing.map(|(row, col)| format!("{row}\\{col}")),
        ),
        (tags::STUDY_DATE, VR::DA, spec.study_date.clone()),
        (
            tags::ACCESSION_NUMBER,
            VR::SH,
            spec.accession_number.clone(),
        ),
    ];
    for (tag, vr, value) in optional {
        if let Some(value) = value {
            obj.put(DataElement::new(tag, vr, value));
        }
    }
    for e in &spec.extra {
        obj.put(e.clone());
    }
    let file = obj
        .with_meta(FileMetaTableBuilder::new().transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN))
        .expect("meta");
    let mut out = Vec::new();
    file.write_all(&mut out).expect("write");
    out
}

/// The 512×512 CT slice of the benchmark: rescale to HU, soft-tissue window.
pub fn ct_slice() -> Vec<u8> {
    let mut spec = Spec::new(512, 512, ct_value);
    spec.rescale = Some((1.0, -1024.0));
    spec.window = Some((40.0, 400.0));
    instance(&spec)
}

/// The 2500×3000 radiograph of the benchmark: no window (robust automatic window).
pub fn radiograph() -> Vec<u8> {
    let mut spec = Spec::new(3000, 2500, xray_value);
    spec.photometric = "MONOCHROME1";
    spec.pixel_spacing = Some((0.139, 0.139));
    instance(&spec)
}

/// Slice `index` (0-based) of a synthetic 512×512 CT series: its own SOP Instance UID
/// (`<series>.<index + 1>`), InstanceNumber `index + 1`, and pixels that differ from slice to
/// slice, as a real series' do.
pub fn ct_series_slice(study_uid: &str, series_uid: &str, index: u32) -> Vec<u8> {
    let mut spec = Spec::new(512, 512, ct_value);
    spec.rescale = Some((1.0, -1024.0));
    spec.window = Some((40.0, 400.0));
    spec.study_uid = study_uid.to_owned();
    spec.series_uid = series_uid.to_owned();
    spec.sop_uid = format!("{series_uid}.{}", index + 1);
    spec.instance_number = Some(index as i32 + 1);
    spec.slice = index;
    instance(&spec)
}

/// Image `index` (0-based) of a series of synthetic 2500×3000 radiographs.
pub fn radiograph_instance(study_uid: &str, series_uid: &str, index: u32) -> Vec<u8> {
    let mut spec = Spec::new(3000, 2500, xray_value);
    spec.photometric = "MONOCHROME1";
    spec.pixel_spacing = Some((0.139, 0.139));
    spec.study_uid = study_uid.to_owned();
    spec.series_uid = series_uid.to_owned();
    spec.sop_uid = format!("{series_uid}.{}", index + 1);
    spec.instance_number = Some(index as i32 + 1);
    spec.slice = index;
    instance(&spec)
}

/// A Key Object Selection document of the study naming `key_images` (CT SOP Instance UIDs) in
/// its content tree, as a viewer writes one when a reader flags images.
pub fn key_object_selection(
    study_uid: &str,
    series_uid: &str,
    sop_uid: &str,
    key_images: &[&str],
) -> Vec<u8> {
    use dicom_core::value::DataSetSequence;
    let reference = |uid: &str| {
        InMemDicomObject::from_element_iter([
            DataElement::new(
                tags::REFERENCED_SOP_CLASS_UID,
                VR::UI,
                uids::CT_IMAGE_STORAGE,
            ),
            DataElement::new(tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, uid),
        ])
    };
    let content_item = |uid: &str| {
        InMemDicomObject::from_element_iter([
            DataElement::new(tags::RELATIONSHIP_TYPE, VR::CS, "CONTAINS"),
            DataElement::new(tags::VALUE_TYPE, VR::CS, "IMAGE"),
            DataElement::new(
                tags::REFERENCED_SOP_SEQUENCE,
                VR::SQ,
                DataSetSequence::from(vec![reference(uid)]),
            ),
        ])
    };
    let content: Vec<InMemDicomObject> = key_images.iter().map(|uid| content_item(uid)).collect();
    let obj = InMemDicomObject::from_element_iter([
        DataElement::new(
            tags::SOP_CLASS_UID,
            VR::UI,
            uids::KEY_OBJECT_SELECTION_DOCUMENT_STORAGE,
        ),
        DataElement::new(tags::SOP_INSTANCE_UID, VR::UI, sop_uid),
        DataElement::new(tags::MODALITY, VR::CS, "KO"),
        DataElement::new(tags::STUDY_INSTANCE_UID, VR::UI, study_uid),
        DataElement::new(tags::SERIES_INSTANCE_UID, VR::UI, series_uid),
        DataElement::new(tags::SERIES_NUMBER, VR::IS, "99"),
        DataElement::new(tags::INSTANCE_NUMBER, VR::IS, "1"),
        DataElement::new(tags::VALUE_TYPE, VR::CS, "CONTAINER"),
        DataElement::new(
            tags::CONTENT_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(content),
        ),
    ]);
    let file = obj
        .with_meta(FileMetaTableBuilder::new().transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN))
        .expect("meta");
    let mut out = Vec::new();
    file.write_all(&mut out).expect("write");
    out
}
