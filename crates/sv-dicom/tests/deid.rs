//! De-identification for shares (PS3.15 E.1-1 Basic Profile), over every fixture: what must be
//! gone is gone from the bytes, UIDs map consistently within a key and differently across keys,
//! and the pixels and previews are exactly those of the original.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;
use dicom_core::header::Header;
use dicom_core::value::Value as DicomValue;
use dicom_dictionary_std::tags;
use dicom_object::file::ReadPreamble;
use dicom_object::mem::InMemElement;
use dicom_object::{DefaultDicomObject, InMemDicomObject, OpenFileOptions};
use serde_json::Value;
use sv_dicom::{Deidentifier, Limits, ParsedInstance, PreviewOptions, parse, parse_for_preview};

const KEY: [u8; 32] = [0x5a; 32];
/// Media Storage Directory Storage: DICOMDIRs are refused, and tested apart.
const DICOMDIR: &str = "1.2.840.10008.1.3.10";
const OTHER_KEY: [u8; 32] = [0xa5; 32];

/// One fixture that parses, with its de-identified file.
struct Case {
    name: String,
    original: Vec<u8>,
    output: Vec<u8>,
}

impl Case {
    fn before(&self) -> ParsedInstance {
        parse_for_preview(&self.original, &Limits::default()).unwrap()
    }

    fn after(&self) -> ParsedInstance {
        parse_for_preview(&self.output, &Limits::default())
            .unwrap_or_else(|e| panic!("{}: the output does not parse: {e}", self.name))
    }
}

/// Every file under `fixtures/dicom`, by path relative to it, in a stable order.
fn corpus() -> Vec<(String, Vec<u8>)> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, root, out);
            } else {
                let name = path.strip_prefix(root).unwrap().display().to_string();
                out.push((name, std::fs::read(&path).unwrap()));
            }
        }
    }
    let root = fixtures().join("dicom");
    let mut out = Vec::new();
    walk(&root, &root, &mut out);
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The fixtures the crate parses, de-identified with `key`.
fn cases(key: [u8; 32]) -> Vec<Case> {
    let deid = Deidentifier::new(key);
    let cases: Vec<Case> = corpus()
        .into_iter()
        .filter(|(_, bytes)| {
            parse_for_preview(bytes, &Limits::default())
                .is_ok_and(|p| p.summary().sop_class_uid != DICOMDIR)
        })
        .map(|(name, original)| {
            let output = deid
                .deidentify_file(&original, &Limits::default())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            Case {
                name,
                original,
                output,
            }
        })
        .collect();
    assert!(cases.len() > 100, "only {} fixtures parse", cases.len());
    cases
}

/// The output read back by dicom-object itself, not by our parser.
fn reread(case: &Case) -> DefaultDicomObject {
    OpenFileOptions::new()
        .read_preamble(ReadPreamble::Always)
        .from_reader(&case.output[..])
        .unwrap_or_else(|e| panic!("{}: dicom-object cannot read the output: {e}", case.name))
}

/// Calls `f` on every element at every depth.
fn walk(obj: &InMemDicomObject, f: &mut dyn FnMut(&InMemElement)) {
    for element in obj {
        f(element);
        if let DicomValue::Sequence(seq) = element.value() {
            for item in seq.items() {
                walk(item, f);
            }
        }
    }
}

fn text(element: &InMemElement) -> Vec<String> {
    element
        .value()
        .to_multi_str()
        .map(|v| {
            v.iter()
                .map(|s| s.trim_end_matches(['\0', ' ']).to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Every string value of DICOM JSON attribute `key`, at any depth (PN as its alphabetic form).
fn json_values(v: &Value, key: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                if k == key
                    && let Some(values) = v["Value"].as_array()
                {
                    for value in values {
                        match value {
                            Value::String(s) => out.push(s.clone()),
                            Value::Object(pn) => {
                                if let Some(Value::String(s)) = pn.get("Alphabetic") {
                                    out.push(s.clone());
                                }
                            }
                            _ => {}
                        }
                    }
                }
                json_values(v, key, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| json_values(i, key, out)),
        _ => {}
    }
}

fn json(instance: &ParsedInstance) -> Value {
    instance.metadata_json(&|tag| format!("b/{tag}")).unwrap()
}

fn occurrences(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}

#[test]
fn no_patient_name_id_or_birth_date_of_the_original_remains_in_the_bytes() {
    const PATIENT: [&str; 5] = [
        "00100010", // Patient's Name
        "00100020", // Patient ID
        "00100030", // Patient's Birth Date
        "00101000", // Other Patient IDs
        "00101001", // Other Patient Names
    ];
    let mut checked = 0;
    for case in cases(KEY) {
        let before = json(&case.before());
        let pixels = case
            .before()
            .bulk("7FE00010")
            .ok()
            .flatten()
            .unwrap_or_default();
        for key in PATIENT {
            let mut values = Vec::new();
            json_values(&before, key, &mut values);
            // (A file may already say "Anonymous", the dummy we write.)
            for value in values
                .iter()
                .filter(|v| v.trim().len() >= 3 && *v != "Anonymous")
            {
                let needle = value.trim().as_bytes();
                // Pixel data is copied as it is: a value its bytes happen to hold is no leak.
                let allowed = occurrences(&pixels, needle);
                assert!(
                    occurrences(&case.output, needle) <= allowed,
                    "{}: the value of {key} is still in the output",
                    case.name
                );
                checked += 1;
            }
        }
        let after = case.after();
        if before.get("00100010").is_some() {
            assert_eq!(after.summary().patient_name.as_deref(), Some("Anonymous"));
        }
        if before.get("00100020").is_some() {
            let id = Deidentifier::new(KEY).patient_id().to_string();
            assert_eq!(after.summary().patient_id, Some(id), "{}", case.name);
        }
        assert_eq!(after.summary().patient_birth_date, None, "{}", case.name);
    }
    assert!(checked > 100, "only {checked} values checked");
}

#[test]
fn identifying_attributes_are_removed_or_emptied_at_every_depth() {
    // Values shared with kept attributes (an institution named like the manufacturer) may stay
    // in the bytes, so these are checked by attribute, in the output's own DICOM JSON.
    const GONE: [&str; 16] = [
        "00080050", // Accession Number
        "00080080", // Institution Name
        "00080081", // Institution Address
        "00080090", // Referring Physician's Name
        "00081010", // Station Name
        "00081030", // Study Description
        "00081040", // Institutional Department Name
        "00081048", // Physician(s) of Record
        "00081050", // Performing Physician's Name
        "00081060", // Name of Physician(s) Reading Study
        "00081070", // Operators' Name
        "00101040", // Patient's Address
        "00102154", // Patient's Telephone Numbers
        "00181000", // Device Serial Number
        "00200010", // Study ID
        "00400275", // Request Attributes Sequence
    ];
    let mut present_before = 0;
    for case in cases(KEY) {
        let (before, after) = (json(&case.before()), json(&case.after()));
        for key in GONE {
            let (mut old, mut new) = (Vec::new(), Vec::new());
            json_values(&before, key, &mut old);
            json_values(&after, key, &mut new);
            present_before += old.iter().filter(|v| !v.trim().is_empty()).count();
            assert!(
                new.iter().all(|v| v.trim().is_empty()),
                "{}: {key} keeps a value",
                case.name
            );
        }
        let mut keys = Vec::new();
        json_keys(&after, &mut keys);
        assert!(!keys.iter().any(|k| k == "00400275"), "{}", case.name);
    }
    assert!(
        present_before > 50,
        "only {present_before} values to remove"
    );
}

#[test]
fn no_private_attribute_remains_and_the_output_says_it_was_deidentified() {
    let mut private_before = 0;
    for case in cases(KEY) {
        let mut keys = Vec::new();
        json_keys(&json(&case.before()), &mut keys);
        private_before += keys
            .iter()
            .filter(|k| k.len() == 8 && u16::from_str_radix(&k[..4], 16).unwrap() % 2 == 1)
            .count();
        let out = reread(&case);
        walk(&out, &mut |e| {
            assert!(
                e.tag().group() % 2 == 0,
                "{}: private {} left",
                case.name,
                e.tag()
            );
        });
        let get = |tag| text(out.get(tag).unwrap());
        assert_eq!(get(tags::PATIENT_IDENTITY_REMOVED), ["YES"]);
        assert!(get(tags::DEIDENTIFICATION_METHOD)[0].contains("PS3.15"));
        let code = out
            .get(tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE)
            .unwrap()
            .items()
            .unwrap()[0]
            .clone();
        assert_eq!(text(code.get(tags::CODE_VALUE).unwrap()), ["113100"]);
        assert_eq!(
            text(code.get(tags::CODING_SCHEME_DESIGNATOR).unwrap()),
            ["DCM"]
        );
    }
    assert!(
        private_before > 10,
        "the corpus must hold private attributes"
    );
}

/// Every key of a DICOM JSON object, at any depth.
fn json_keys(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                out.push(k.clone());
                json_keys(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| json_keys(i, out)),
        _ => {}
    }
}

/// Instance UIDs, at any depth.
const INSTANCE_UIDS: [dicom_core::Tag; 5] = [
    tags::STUDY_INSTANCE_UID,
    tags::SERIES_INSTANCE_UID,
    tags::SOP_INSTANCE_UID,
    tags::FRAME_OF_REFERENCE_UID,
    tags::REFERENCED_SOP_INSTANCE_UID,
];

#[test]
fn instance_uids_are_remapped_everywhere_and_class_uids_kept() {
    let deid = Deidentifier::new(KEY);
    let mut nested = 0;
    for case in cases(KEY) {
        let (before, after) = (case.before(), case.after());
        let (b, a) = (before.summary(), after.summary());
        for (old, new) in [
            (&b.study_instance_uid, &a.study_instance_uid),
            (&b.series_instance_uid, &a.series_instance_uid),
            (&b.sop_instance_uid, &a.sop_instance_uid),
        ] {
            if !old.is_empty() {
                assert_eq!(*new, deid.remap_uid(old), "{}", case.name);
            }
        }
        assert_eq!(a.sop_class_uid, b.sop_class_uid, "{}", case.name);
        assert_eq!(
            a.transfer_syntax_uid, b.transfer_syntax_uid,
            "{}",
            case.name
        );
        let out = reread(&case);
        assert_eq!(
            out.meta().media_storage_sop_instance_uid(),
            a.sop_instance_uid,
            "{}: file meta",
            case.name
        );
        // No original instance UID is left as a value, at any depth.
        let mut old_uids = Vec::new();
        let original = json(&before);
        for tag in INSTANCE_UIDS {
            let key = format!("{:04X}{:04X}", tag.group(), tag.element());
            json_values(&original, &key, &mut old_uids);
        }
        old_uids.retain(|u| !u.is_empty());
        walk(&out, &mut |e| {
            if e.vr() == dicom_core::VR::UI {
                for uid in text(e) {
                    assert!(!old_uids.contains(&uid), "{}: {} kept", case.name, e.tag());
                }
            }
            if INSTANCE_UIDS.contains(&e.tag()) {
                for uid in text(e).iter().filter(|u| !u.is_empty()) {
                    assert!(uid.starts_with("2.25."), "{}: {}", case.name, e.tag());
                }
            }
        });
        let top: usize = INSTANCE_UIDS
            .iter()
            .filter(|t| out.get(**t).is_some())
            .count();
        nested += old_uids.len().saturating_sub(top);
    }
    assert!(
        nested > 10,
        "the corpus must reference instances inside sequences"
    );
}

#[test]
fn the_instances_of_one_study_keep_one_study_and_series_under_one_key() {
    // Within a share, equal originals map to equal UIDs and different ones to different UIDs.
    let mut study: BTreeMap<String, String> = BTreeMap::new();
    let mut series: BTreeMap<String, String> = BTreeMap::new();
    let mut shared = 0;
    for case in cases(KEY) {
        let (b, a) = (case.before(), case.after());
        for (map, old, new) in [
            (
                &mut study,
                &b.summary().study_instance_uid,
                &a.summary().study_instance_uid,
            ),
            (
                &mut series,
                &b.summary().series_instance_uid,
                &a.summary().series_instance_uid,
            ),
        ] {
            if old.is_empty() {
                continue;
            }
            match map.get(old) {
                Some(seen) => {
                    assert_eq!(seen, new, "{}", case.name);
                    shared += 1;
                }
                None => {
                    map.insert(old.clone(), new.clone());
                }
            }
        }
    }
    for map in [&study, &series] {
        let distinct: std::collections::BTreeSet<&String> = map.values().collect();
        assert_eq!(distinct.len(), map.len(), "two originals share a new UID");
    }
    assert!(
        shared > 10,
        "the corpus must hold several files of one study"
    );
}

#[test]
fn two_keys_give_unlinkable_uids_and_patient_ids() {
    let (a, b) = (Deidentifier::new(KEY), Deidentifier::new(OTHER_KEY));
    assert_ne!(a.patient_id(), b.patient_id());
    let file = dicom("CT_small.dcm");
    let (one, two) = (
        parse(
            &a.deidentify_file(&file, &Limits::default()).unwrap(),
            &Limits::default(),
        )
        .unwrap(),
        parse(
            &b.deidentify_file(&file, &Limits::default()).unwrap(),
            &Limits::default(),
        )
        .unwrap(),
    );
    let (one, two) = (one.summary(), two.summary());
    assert_ne!(one.study_instance_uid, two.study_instance_uid);
    assert_ne!(one.series_instance_uid, two.series_instance_uid);
    assert_ne!(one.sop_instance_uid, two.sop_instance_uid);
    assert_ne!(one.patient_id, two.patient_id);
    // Deterministic: the same key gives the same file.
    assert_eq!(
        a.deidentify_file(&file, &Limits::default()).unwrap(),
        a.deidentify_file(&file, &Limits::default()).unwrap()
    );
}

/// The encapsulated pixel data items (offset table, fragments, delimiter) as raw bytes.
fn encapsulated_items(file: &[u8]) -> Option<&[u8]> {
    // The last Pixel Data header of undefined length: explicit (any VR) or implicit.
    let start = (0..file.len().saturating_sub(12)).rev().find_map(|p| {
        let w = &file[p..];
        if w[..4] != [0xE0, 0x7F, 0x10, 0x00] {
            None
        } else if w[8..12] == [0xFF; 4] && w[6..8] == [0, 0] {
            Some(p + 12)
        } else if w[4..8] == [0xFF; 4] {
            Some(p + 8)
        } else {
            None
        }
    })?;
    let mut pos = start;
    while pos + 8 <= file.len() {
        let tag = &file[pos..pos + 4];
        let len = u32::from_le_bytes(file[pos + 4..pos + 8].try_into().unwrap()) as usize;
        pos += 8;
        if tag == [0xFE, 0xFF, 0xDD, 0xE0] {
            return Some(&file[start..pos]);
        }
        pos += len;
    }
    None
}

#[test]
fn pixel_data_is_unchanged_and_the_preview_identical() {
    let (mut native, mut encapsulated, mut previews) = (0, 0, 0);
    for case in cases(KEY) {
        let (before, after) = (case.before(), case.after());
        match before.bulk("7FE00010") {
            Ok(Some(bytes)) => {
                assert_eq!(
                    after.bulk("7FE00010").unwrap(),
                    Some(bytes),
                    "{}",
                    case.name
                );
                native += 1;
            }
            Ok(None) => assert_eq!(after.bulk("7FE00010").unwrap(), None),
            Err(_) => {
                let find = |bytes| {
                    encapsulated_items(bytes)
                        .unwrap_or_else(|| panic!("{}: no encapsulated pixel data", case.name))
                };
                let (old, new) = (find(&case.original), find(&case.output));
                assert!(old == new, "{}: encapsulated pixel data changed", case.name);
                encapsulated += 1;
            }
        }
        // Same pixels in, same pipeline: the very same preview bytes.
        let opts = PreviewOptions::default();
        match before.render_preview(&opts) {
            Ok(preview) => {
                let again = after
                    .render_preview(&opts)
                    .unwrap_or_else(|e| panic!("{}: {e}", case.name));
                assert_eq!((again.width, again.height), (preview.width, preview.height));
                assert!(
                    again.bytes == preview.bytes,
                    "{}: preview differs",
                    case.name
                );
                previews += 1;
            }
            Err(e) => assert_eq!(
                after.render_preview(&opts).unwrap_err().code(),
                e.code(),
                "{}",
                case.name
            ),
        }
        // What the strict parser accepted, it accepts de-identified.
        if parse(&case.original, &Limits::default()).is_ok() {
            parse(&case.output, &Limits::default()).unwrap();
        }
    }
    assert!(native > 20 && encapsulated > 20 && previews > 60);
}

#[test]
fn input_that_does_not_parse_is_refused_with_the_parsers_code_never_a_panic() {
    let deid = Deidentifier::new(KEY);
    let limits = Limits::default();
    let (mut refused, mut directories) = (0, 0);
    for (name, bytes) in corpus() {
        match parse_for_preview(&bytes, &limits) {
            Err(e) => {
                let err = deid.deidentify_file(&bytes, &limits).unwrap_err();
                assert_eq!(err.code(), e.code(), "{name}");
                refused += 1;
            }
            // A DICOMDIR's file ids are paths, often named after the patient id.
            Ok(p) if p.summary().sop_class_uid == DICOMDIR => {
                let err = deid.deidentify_file(&bytes, &limits).unwrap_err();
                assert_eq!(err.code(), "dicomdir", "{name}");
                directories += 1;
            }
            Ok(_) => {}
        }
    }
    assert!(refused >= 5 && directories >= 5);
    // Cut anywhere: refused exactly when the parser refuses, and never a panic.
    let file = dicom("CT_small.dcm");
    for cut in (0..file.len())
        .step_by(97)
        .chain([131, 132, file.len() - 1])
    {
        let parsed = parse_for_preview(&file[..cut], &limits);
        let deidentified = deid.deidentify_file(&file[..cut], &limits);
        assert_eq!(deidentified.is_ok(), parsed.is_ok(), "cut at {cut}");
    }
    assert!(
        deid.deidentify_file(&file[..cut_inside_pixels(&file)], &limits)
            .is_err()
    );
    let small = Limits {
        max_instance_bytes: 1000,
        ..Limits::default()
    };
    assert_eq!(
        deid.deidentify_file(&file, &small).unwrap_err().code(),
        "too-large"
    );
}

/// A length that ends the file inside the Pixel Data value.
fn cut_inside_pixels(file: &[u8]) -> usize {
    file.len() - 100
}

#[test]
fn every_framing_of_a_stored_instance_gives_the_same_file() {
    // The store keeps instances as they came: with the preamble, without it, or meta alone.
    let deid = Deidentifier::new(KEY);
    let file = dicom("CT_small.dcm");
    let whole = deid.deidentify_file(&file, &Limits::default()).unwrap();
    assert_eq!(&whole[..128], &[0u8; 128][..]);
    assert_eq!(&whole[128..132], b"DICM");
    for tail in [&file[128..], &file[132..]] {
        assert_eq!(
            deid.deidentify_file(tail, &Limits::default()).unwrap(),
            whole
        );
    }
}

/// An explicit VR little endian item of a defined-length sequence.
fn item(content: &[u8]) -> Vec<u8> {
    let mut out = vec![0xFE, 0xFF, 0x00, 0xE0];
    out.extend_from_slice(&(content.len() as u32).to_le_bytes());
    out.extend_from_slice(content);
    out
}

#[test]
fn nested_sequences_are_deidentified_at_every_depth() {
    let referenced = item(
        &[
            ex(0x0008, 0x1150, "UI", b"1.2.840.10008.5.1.4.1.1.7"),
            ex(0x0008, 0x1155, "UI", b"1.2.3.4.5.7"),
        ]
        .concat(),
    );
    let series_item = item(
        &[
            ex(0x0008, 0x114A, "SQ", &referenced),
            ex(0x0009, 0x0010, "LO", b"ACME private"),
            ex(0x0009, 0x1001, "LO", b"Secret^Nested"),
            ex(0x0010, 0x0010, "PN", b"Doe^Nested"),
            ex(0x0020, 0x000E, "UI", b"1.2.3.4.5.8"),
        ]
        .concat(),
    );
    let dataset = [
        ex(0x0008, 0x0016, "UI", b"1.2.840.10008.5.1.4.1.1.7"),
        ex(0x0008, 0x0018, "UI", b"1.2.3.4.5.6"),
        ex(0x0008, 0x0060, "CS", b"OT"),
        ex(0x0008, 0x0080, "LO", b"General Hospital"),
        ex(0x0008, 0x1115, "SQ", &series_item),
        ex(0x0008, 0x2112, "SQ", &referenced),
        ex(0x0010, 0x0010, "PN", b"Doe^Jane"),
        ex(0x0010, 0x0020, "LO", b"MRN-123456"),
        ex(0x0010, 0x0030, "DA", b"19700101"),
        ex(
            0x0010,
            0x1002,
            "SQ",
            &item(&ex(0x0010, 0x0020, "LO", b"OTHER-98765")),
        ),
        ex(0x0020, 0x000D, "UI", b"1.2.3.4"),
        ex(0x0020, 0x000E, "UI", b"1.2.3.4.5"),
    ]
    .concat();
    let file = part10(EXPLICIT_LE, &dataset);
    let deid = Deidentifier::new(KEY);
    let case = Case {
        name: "synthetic".into(),
        output: deid.deidentify_file(&file, &Limits::default()).unwrap(),
        original: file,
    };
    for secret in [
        "Secret^Nested",
        "Doe^Nested",
        "Doe^Jane",
        "MRN-123456",
        "OTHER-98765",
        "General Hospital",
        "19700101",
        "1.2.3.4.5.7",
        "1.2.3.4.5.8",
    ] {
        assert_eq!(occurrences(&case.output, secret.as_bytes()), 0, "{secret}");
    }
    let out = reread(&case);
    let items = |obj: &InMemDicomObject, tag| obj.get(tag).unwrap().items().unwrap().to_vec();
    let source = &items(&out, tags::SOURCE_IMAGE_SEQUENCE)[0];
    assert_eq!(
        text(source.get(tags::REFERENCED_SOP_INSTANCE_UID).unwrap()),
        [deid.remap_uid("1.2.3.4.5.7")]
    );
    assert_eq!(
        text(source.get(tags::REFERENCED_SOP_CLASS_UID).unwrap()),
        ["1.2.840.10008.5.1.4.1.1.7"],
        "class UIDs stay"
    );
    let series = &items(&out, tags::REFERENCED_SERIES_SEQUENCE)[0];
    assert_eq!(
        text(series.get(tags::SERIES_INSTANCE_UID).unwrap()),
        [deid.remap_uid("1.2.3.4.5.8")]
    );
    assert_eq!(text(series.get(tags::PATIENT_NAME).unwrap()), ["Anonymous"]);
    assert!(series.get(dicom_core::Tag(0x0009, 0x1001)).is_none());
    let instance = &items(series, tags::REFERENCED_INSTANCE_SEQUENCE)[0];
    assert_eq!(
        text(instance.get(tags::REFERENCED_SOP_INSTANCE_UID).unwrap()),
        [deid.remap_uid("1.2.3.4.5.7")]
    );
    assert!(out.get(tags::OTHER_PATIENT_I_DS_SEQUENCE).is_none());
    assert!(
        text(out.get(tags::PATIENT_BIRTH_DATE).unwrap())
            .iter()
            .all(String::is_empty)
    );
    assert!(
        text(out.get(tags::INSTITUTION_NAME).unwrap())
            .iter()
            .all(String::is_empty)
    );
}

#[test]
fn metadata_json_of_a_deidentified_instance_is_that_of_the_deidentified_file() {
    let deid = Deidentifier::new(KEY);
    for name in [
        "CT_small.dcm",
        "JPEG2000.dcm",
        "rtstruct.dcm",
        "reportsi.dcm",
    ] {
        let file = dicom(name);
        let in_memory = deid
            .deidentify_instance(parse(&file, &Limits::default()).unwrap())
            .unwrap();
        let written = parse(
            &deid.deidentify_file(&file, &Limits::default()).unwrap(),
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(json(&in_memory), json(&written), "{name}");
        assert_eq!(in_memory.summary(), written.summary(), "{name}");
        assert_eq!(
            json(&in_memory)["00100010"]["Value"][0]["Alphabetic"],
            "Anonymous"
        );
    }
}
