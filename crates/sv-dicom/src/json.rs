//! An instance's data set as DICOM JSON (PS3.18 Annex F), for WADO-RS metadata.
//!
//! dicom-json writes the model (tags as 8-hex keys in ascending order, `vr` always, PN as
//! `{"Alphabetic": …}`, numbers as numbers, sequences as arrays of objects); this module only
//! decides what a metadata answer holds: the data set without the file meta group, text in
//! UTF-8 (Specific Character Set `ISO_IR 192`: dicom-rs decoded it from the file's character
//! set), and bulk data as `BulkDataURI`s the caller names: Pixel Data always (native or
//! encapsulated) and any other top-level binary value over [`INLINE_BINARY_LIMIT`] bytes.
//! Group lengths and the Data Set Trailing Padding are left out.

use dicom_core::header::Header;
use dicom_core::value::Value as DicomValue;
use dicom_core::{Tag, VR};
use dicom_dictionary_std::tags;
use serde_json::{Map, Value};

use crate::error::DicomError;
use crate::parse::ParsedInstance;

/// Binary values up to this many bytes stay inline (base64); bigger ones become bulk data.
pub const INLINE_BINARY_LIMIT: usize = 1024;

impl ParsedInstance {
    /// The data set as a DICOM JSON object. `bulk_uri` names the bulk data of a top-level
    /// attribute, given its tag as 8 uppercase hex digits (`7FE00010` for Pixel Data).
    pub fn metadata_json(&self, bulk_uri: &dyn Fn(&str) -> String) -> Result<Value, DicomError> {
        let dataset: &dicom_object::InMemDicomObject = &self.obj;
        let mut json = match dicom_json::to_value(dataset) {
            Ok(Value::Object(map)) => map,
            Ok(_) => unreachable!("a data set serializes as an object"),
            Err(e) => {
                return Err(DicomError::Malformed {
                    detail: format!("the data set cannot be written as DICOM JSON: {e}"),
                });
            }
        };
        for element in dataset.iter() {
            let tag = element.tag();
            let bulky = match element.value() {
                DicomValue::PixelSequence(_) => true,
                DicomValue::Primitive(v) => {
                    is_binary(element.vr())
                        && (tag == tags::PIXEL_DATA || v.calculate_byte_len() > INLINE_BINARY_LIMIT)
                }
                DicomValue::Sequence(_) => false,
            };
            if bulky {
                let key = key(tag);
                let uri = bulk_uri(&key);
                let mut entry = Map::new();
                entry.insert("vr".into(), Value::String(element.vr().to_string().into()));
                entry.insert("BulkDataURI".into(), Value::String(uri));
                json.insert(key, Value::Object(entry));
            }
        }
        json.insert(
            key(tags::SPECIFIC_CHARACTER_SET),
            serde_json::json!({"vr": "CS", "Value": ["ISO_IR 192"]}),
        );
        // Keys ascend (PS3.18 F.2.2) whatever order the map keeps (dicom-json turns on
        // serde_json's insertion order for the whole build). Group lengths are not part of the
        // model (F.2.2), nor is the Data Set Trailing Padding, which is not an attribute.
        let mut entries: Vec<(String, Value)> = json
            .into_iter()
            .filter(|(k, _)| !k.ends_with("0000") && k != "FFFCFFFC")
            .collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(Value::Object(entries.into_iter().collect()))
    }
}

fn is_binary(vr: VR) -> bool {
    matches!(
        vr,
        VR::OB | VR::OD | VR::OF | VR::OL | VR::OV | VR::OW | VR::UN
    )
}

/// `GGGGEEEE`, the DICOM JSON key of a tag.
fn key(tag: Tag) -> String {
    format!("{:04X}{:04X}", tag.group(), tag.element())
}

#[cfg(test)]
mod tests {
    use crate::{Limits, parse};

    fn fixture(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/dicom")
            .join(name);
        std::fs::read(path).unwrap()
    }

    #[test]
    fn a_ct_slice_reads_as_dicom_json_with_its_pixels_as_bulk_data() {
        let instance = parse(&fixture("CT_small.dcm"), &Limits::default()).unwrap();
        let json = instance
            .metadata_json(&|tag| format!("http://x/bulkdata/{tag}"))
            .unwrap();
        let map = json.as_object().unwrap();
        let keys: Vec<&String> = map.keys().collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "keys ascend");
        assert!(map.keys().all(|k| !k.starts_with("0002")), "no file meta");
        assert_eq!(
            map["7FE00010"],
            serde_json::json!({"vr": "OW", "BulkDataURI": "http://x/bulkdata/7FE00010"})
        );
        assert_eq!(map["00080005"]["Value"][0], "ISO_IR 192");
        let uid = &instance.summary().sop_instance_uid;
        assert_eq!(map["00080018"]["Value"][0], uid.as_str());
        assert!(
            map["00100010"]["Value"][0]["Alphabetic"].is_string(),
            "PN object"
        );
        assert!(map["00280010"]["Value"][0].is_number(), "US as a number");
        assert!(map.values().all(|v| v["vr"].is_string()));
    }

    #[test]
    fn encapsulated_pixel_data_is_bulk_data_too() {
        let instance = parse(&fixture("JPEG2000.dcm"), &Limits::default()).unwrap();
        let json = instance.metadata_json(&|tag| format!("b/{tag}")).unwrap();
        assert_eq!(json["7FE00010"]["BulkDataURI"], "b/7FE00010");
        assert!(json["7FE00010"].get("InlineBinary").is_none());
    }
}
