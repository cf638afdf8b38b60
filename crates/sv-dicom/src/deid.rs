//! De-identification for shares: the Basic Application Level Confidentiality Profile of DICOM
//! PS3.15 Annex E (Table E.1-1), with instance UIDs remapped by a keyed hash.
//!
//! The table's Basic Profile column is data (`profile::RULES`); this module is the engine that
//! applies it to every element at every nesting level:
//!
//! - D (dummy): `Anonymous` for person names, `ANONYMIZED` for other text, `0` for numbers,
//!   1900-01-01 00:00 for dates and times; a binary value becomes empty; a sequence is kept and
//!   its items de-identified.
//! - Z (zero length): the attribute stays, empty (an empty sequence). Patient's Name and
//!   Patient ID, which viewers show and most IODs require, take the dummy the table allows:
//!   `Anonymous` and an id derived from the share's key, the same for every file of the share.
//! - X (remove); private attributes, curves, overlay planes, GPS and group lengths go too.
//! - U (remap): each UID becomes `2.25.` and the decimal of a 128-bit keyed blake3 hash of it,
//!   so references between the instances of one share still match, and two shares cannot be
//!   linked. A sequence marked `X/Z/U*` is kept, its items de-identified.
//! - Everything the table does not list is kept (class UIDs, transfer syntax, image attributes,
//!   pixel data); sequences are kept with their items de-identified.
//!
//! Compound codes (`X/Z`, `Z/D`, `X/D`, `X/Z/D`) resolve as `profile::Code::action` explains.
//! An element written as UN is judged by its dictionary VR (a UID read from its bytes is
//! remapped); a sequence hidden in UN bytes cannot be cleaned inside, so it is removed.
//! A DICOMDIR is refused: its file ids are paths, often named after the patient id.
//! The Basic Profile column has no C (clean) and no K (keep) rows: those belong to the options.
//! The result carries Patient Identity Removed `YES`, a De-identification Method, and the
//! De-identification Method Code Sequence (113100, DCM, "Basic Application Confidentiality
//! Profile"). Pixel data is not touched: text burned into pixels stays (the Clean Pixel Data
//! option is not implemented).

mod profile;

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_core::header::Header;
use dicom_core::value::{DataSetSequence, PrimitiveValue, Value};
use dicom_core::{DataElement, Length, Tag, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::mem::InMemElement;
use dicom_object::{FileMetaTableBuilder, InMemDicomObject, StandardDataDictionary};
use thiserror::Error;

use crate::error::DicomError;
use crate::framing::MetaInfo;
use crate::limits::Limits;
use crate::parse::{ParsedInstance, parse_for_preview, sanitize};
use crate::summary;
use profile::Action;

type InMemValue = Value<InMemDicomObject, dicom_object::mem::InMemFragment>;

const DUMMY_PERSON_NAME: &str = "Anonymous";
const DUMMY_TEXT: &str = "ANONYMIZED";
const METHOD: &str = "DICOM PS3.15 E.1-1 Basic Profile";
const METHOD_CODE: (&str, &str, &str) =
    ("113100", "DCM", "Basic Application Confidentiality Profile");

/// Why an instance could not be de-identified.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeidError {
    /// The input is not an instance we can read.
    #[error("cannot de-identify: {0}")]
    Unreadable(#[from] DicomError),
    /// A DICOMDIR: not an instance, and its file ids are paths that often spell patient ids.
    #[error("a DICOMDIR is not de-identified")]
    Directory,
    /// The de-identified instance could not be written.
    #[error("could not write the de-identified instance: {detail}")]
    Write {
        /// The writer's explanation (no values).
        detail: String,
    },
}

impl DeidError {
    /// Stable kebab-case reason code: the parser's for unreadable input.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unreadable(e) => e.code(),
            Self::Directory => "dicomdir",
            Self::Write { .. } => "deid-write-failed",
        }
    }
}

/// One share's de-identification: the key makes UID remapping deterministic within the share
/// and unlinkable across shares.
#[derive(Clone)]
pub struct Deidentifier {
    key: [u8; 32],
    patient_id: String,
}

impl std::fmt::Debug for Deidentifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key is a secret, and the patient id is derived from it.
        f.debug_struct("Deidentifier").finish_non_exhaustive()
    }
}

impl Deidentifier {
    /// The de-identification of the share whose secret is `key`.
    pub fn new(key: [u8; 32]) -> Deidentifier {
        let derived = blake3::derive_key("studyvault 2025 deid patient id", &key);
        let hex: String = derived[..8].iter().map(|b| format!("{b:02X}")).collect();
        Deidentifier {
            key,
            patient_id: format!("ANON{hex}"),
        }
    }

    /// The Patient ID every instance of this share carries.
    pub fn patient_id(&self) -> &str {
        &self.patient_id
    }

    /// The replacement for a UID: "2.25." + the decimal of a 128-bit keyed blake3 hash of the UID
    /// (its padding trimmed, so `1.2\0` and `1.2` map alike).
    pub fn remap_uid(&self, uid: &str) -> String {
        let uid = uid.trim_matches(|c: char| c == '\0' || c.is_whitespace());
        let hash = blake3::keyed_hash(&self.key, uid.as_bytes());
        let bytes: [u8; 16] = hash.as_bytes()[..16].try_into().expect("16 of 32 bytes");
        format!("2.25.{}", u128::from_be_bytes(bytes))
    }

    /// One attribute's text value as the files of this share carry it, by the same table:
    /// what a search or a page says of a de-identified study then agrees with what its files
    /// hold. `tag` is (group, element) of a top-level attribute; `None` in or out means absent
    /// (an emptied attribute is absent here, as summaries read an empty value). A multi-valued
    /// UID list (`\`-separated) is remapped value by value.
    pub fn attribute(&self, (group, element): (u16, u16), value: Option<&str>) -> Option<String> {
        let tag = Tag(group, element);
        let value = value.filter(|v| !v.is_empty())?;
        match profile::action(tag) {
            Action::Keep => Some(value.to_owned()),
            Action::Remove => None,
            Action::Empty => match tag {
                tags::PATIENT_NAME => Some(DUMMY_PERSON_NAME.to_owned()),
                tags::PATIENT_ID => Some(self.patient_id.clone()),
                _ => None,
            },
            Action::Dummy => StandardDataDictionary
                .by_tag(tag)
                .and_then(|entry| dummy(entry.vr().relaxed()))
                .map(str::to_owned),
            Action::Remap => Some(
                value
                    .split('\\')
                    .map(|uid| self.remap_uid(uid))
                    .collect::<Vec<_>>()
                    .join("\\"),
            ),
        }
    }

    /// Whether the sequence `tag` (group, element) keeps its items (de-identified in turn)
    /// rather than going or being emptied.
    pub fn keeps_sequence(&self, (group, element): (u16, u16)) -> bool {
        matches!(
            profile::action(Tag(group, element)),
            Action::Keep | Action::Dummy | Action::Remap
        )
    }

    /// A whole PS3.10 file (preamble, DICM, file meta, dataset) in, a de-identified PS3.10 file
    /// out: the file meta's MediaStorageSOPInstanceUID remapped too, transfer syntax and pixel
    /// data untouched (encapsulated pixel data stays byte-identical).
    ///
    /// Accepts every framing the crate reads (no preamble, group 2 alone, a bare data set);
    /// the output always has the preamble (zeros) and a new file meta group, with nothing of
    /// the original meta but the transfer syntax and SOP class.
    pub fn deidentify_file(&self, file: &[u8], limits: &Limits) -> Result<Vec<u8>, DeidError> {
        let instance = self.deidentify_instance(parse_for_preview(file, limits)?)?;
        let mut out = Vec::with_capacity(file.len() + 512);
        instance
            .obj
            .write_all(&mut out)
            .map_err(|e| DeidError::Write {
                detail: sanitize(&e.to_string()),
            })?;
        Ok(out)
    }

    /// A parsed instance de-identified in memory, its summary taken again from the result:
    /// what [`ParsedInstance::metadata_json`] should be given for a de-identifying share, so
    /// the JSON matches the files a download gives. A DICOMDIR is refused
    /// ([`DeidError::Directory`]).
    pub fn deidentify_instance(
        &self,
        instance: ParsedInstance,
    ) -> Result<ParsedInstance, DeidError> {
        let ParsedInstance {
            obj,
            summary,
            limits,
        } = instance;
        if summary.sop_class_uid == uids::MEDIA_STORAGE_DIRECTORY_STORAGE {
            return Err(DeidError::Directory);
        }
        let transfer_syntax = obj.meta().transfer_syntax().to_string();
        let mut dataset = self.dataset(obj.into_inner());
        mark(&mut dataset);
        let remapped = |uid: &str| (!uid.is_empty()).then(|| self.remap_uid(uid));
        let meta_info = MetaInfo {
            transfer_syntax: Some(transfer_syntax.clone()),
            sop_class_uid: (!summary.sop_class_uid.is_empty()).then_some(summary.sop_class_uid),
            sop_instance_uid: remapped(&summary.sop_instance_uid),
        };
        let meta = FileMetaTableBuilder::new()
            .transfer_syntax(transfer_syntax)
            .media_storage_sop_class_uid(meta_info.sop_class_uid.clone().unwrap_or_default())
            .media_storage_sop_instance_uid(meta_info.sop_instance_uid.clone().unwrap_or_default())
            .build()
            .map_err(|e| DeidError::Write {
                detail: sanitize(&e.to_string()),
            })?;
        let obj = dataset.with_exact_meta(meta);
        let summary = summary::extract(&obj, &meta_info, true, false)?;
        Ok(ParsedInstance {
            obj,
            summary,
            limits,
        })
    }

    /// A data set (or sequence item) de-identified. Items are built anew, so every sequence
    /// and item is written with undefined length: no stale length survives a removal.
    fn dataset(&self, obj: InMemDicomObject) -> InMemDicomObject {
        let mut out = InMemDicomObject::new_empty();
        for element in obj {
            if let Some(element) = self.element(element) {
                out.put(element);
            }
        }
        out
    }

    fn element(&self, element: InMemElement) -> Option<InMemElement> {
        let tag = element.tag();
        // An element written as UN (explicit VR files made without a dictionary) is judged by
        // its dictionary VR; a sequence hidden in UN bytes cannot be cleaned inside, so it goes
        // unless the table empties it.
        let vr = match element.vr() {
            VR::UN => StandardDataDictionary
                .by_tag(tag)
                .map_or(VR::UN, |entry| entry.vr().relaxed()),
            vr => vr,
        };
        let hidden_sequence = vr == VR::SQ && !matches!(element.value(), Value::Sequence(_));
        match profile::action(tag) {
            Action::Remove => None,
            Action::Empty => Some(match tag {
                tags::PATIENT_NAME => text(tag, VR::PN, DUMMY_PERSON_NAME),
                tags::PATIENT_ID => text(tag, VR::LO, &self.patient_id),
                _ if vr == VR::SQ => DataElement::new(tag, VR::SQ, DataSetSequence::empty()),
                _ => DataElement::empty(tag, vr),
            }),
            _ if hidden_sequence => None,
            Action::Keep => Some(self.keep(element)),
            Action::Dummy if vr == VR::SQ => Some(self.keep(element)),
            Action::Dummy => Some(match dummy(vr) {
                Some(value) => text(tag, vr, value),
                None => DataElement::empty(tag, vr),
            }),
            Action::Remap if vr == VR::SQ => Some(self.keep(element)),
            Action::Remap => self.remap(tag, vr, element.value()),
        }
    }

    /// The element as it is, a sequence's items de-identified.
    fn keep(&self, element: InMemElement) -> InMemElement {
        let (tag, vr) = (element.tag(), element.vr());
        match element.into_value() {
            Value::Sequence(seq) => {
                let items: Vec<InMemDicomObject> = seq
                    .into_items()
                    .into_iter()
                    .map(|item| self.dataset(item))
                    .collect();
                DataElement::new(tag, vr, DataSetSequence::new(items, Length::UNDEFINED))
            }
            value => DataElement::new(tag, vr, value),
        }
    }

    /// Each UID of the value remapped (read from text, or from the bytes of a UN element).
    /// A value that is neither cannot be remapped, so it goes.
    fn remap(&self, tag: Tag, vr: VR, value: &InMemValue) -> Option<InMemElement> {
        let uids: Vec<String> = match value {
            Value::Primitive(PrimitiveValue::Empty) => Vec::new(),
            Value::Primitive(p @ (PrimitiveValue::Str(_) | PrimitiveValue::Strs(_))) => {
                p.to_multi_str().to_vec()
            }
            Value::Primitive(PrimitiveValue::U8(bytes)) => String::from_utf8_lossy(bytes)
                .split('\\')
                .map(str::to_string)
                .collect(),
            _ => return None,
        };
        let remapped: Vec<String> = uids
            .iter()
            .map(|uid| {
                if uid.trim_matches(['\0', ' ']).is_empty() {
                    String::new()
                } else {
                    self.remap_uid(uid)
                }
            })
            .collect();
        Some(if remapped.is_empty() {
            DataElement::empty(tag, vr)
        } else {
            DataElement::new(tag, vr, PrimitiveValue::Strs(remapped.into()))
        })
    }
}

/// The attributes that say what was done (PS3.15 E.1.1 and PS3.3 C.12.1.1.8), at top level.
fn mark(dataset: &mut InMemDicomObject) {
    dataset.put(text(tags::PATIENT_IDENTITY_REMOVED, VR::CS, "YES"));
    dataset.put(text(tags::DEIDENTIFICATION_METHOD, VR::LO, METHOD));
    let (value, scheme, meaning) = METHOD_CODE;
    let code = InMemDicomObject::from_element_iter([
        text(tags::CODE_VALUE, VR::SH, value),
        text(tags::CODING_SCHEME_DESIGNATOR, VR::SH, scheme),
        text(tags::CODE_MEANING, VR::LO, meaning),
    ]);
    dataset.put(DataElement::new(
        tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE,
        VR::SQ,
        DataSetSequence::new(vec![code], Length::UNDEFINED),
    ));
}

fn text(tag: Tag, vr: VR, value: &str) -> InMemElement {
    DataElement::new(tag, vr, PrimitiveValue::from(value))
}

/// A dummy value of a text-encoded VR; `None` for binary VRs (they become empty).
fn dummy(vr: VR) -> Option<&'static str> {
    Some(match vr {
        VR::PN => DUMMY_PERSON_NAME,
        VR::DA => "19000101",
        VR::TM => "000000",
        VR::DT => "19000101000000",
        VR::AS => "000D",
        VR::DS | VR::IS => "0",
        VR::AE | VR::CS | VR::SH | VR::LO | VR::ST | VR::LT | VR::UT | VR::UC => DUMMY_TEXT,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_neither_key_nor_derived_id() {
        let d = Deidentifier::new([7; 32]);
        let shown = format!("{d:?}");
        assert_eq!(shown, "Deidentifier { .. }");
        assert!(!shown.contains(d.patient_id()));
    }

    #[test]
    fn remapped_uids_are_valid_2_25_uids_and_depend_on_the_key() {
        let a = Deidentifier::new([1; 32]);
        let uid = a.remap_uid("1.2.840.113619.2.1.1.1");
        assert!(uid.starts_with("2.25."));
        assert!(uid.len() <= 64);
        let digits = &uid[5..];
        assert!(digits.bytes().all(|b| b.is_ascii_digit()));
        assert!(digits == "0" || !digits.starts_with('0'));
        assert_eq!(uid, a.remap_uid("1.2.840.113619.2.1.1.1\0"));
        assert_ne!(
            uid,
            Deidentifier::new([2; 32]).remap_uid("1.2.840.113619.2.1.1.1")
        );
    }
}
