//! HealthVault's `GetRecordOperations` response `info`: the change feed as XML.

use sv_model::{ThingId, TypeId, VersionStamp};

use crate::writer::XmlOut;

/// The namespace of HealthVault's GetRecordOperations response.
const NS: &str = "urn:com.microsoft.wc.methods.response.GetRecordOperations";

/// One create, update or delete of the feed.
#[derive(Debug, Clone, Copy)]
pub struct RecordOperation<'a> {
    /// `Create`, `Update` or `Delete`.
    pub operation: &'a str,
    pub sequence_number: u64,
    pub thing_id: ThingId,
    /// The version the operation produced.
    pub version: VersionStamp,
    pub type_id: TypeId,
}

/// `<wc:info>`: the latest sequence number, then `operations`, left out when empty (the
/// schema needs at least one `record-operation` inside it).
pub fn write_record_operations(latest: u64, operations: &[RecordOperation<'_>]) -> String {
    let mut out = XmlOut::with_capacity(128 + operations.len() * 256);
    out.open("wc:info", &[("xmlns:wc", NS)]);
    out.display("latest-record-operation-sequence-number", latest);
    if !operations.is_empty() {
        out.open("operations", &[]);
        for op in operations {
            out.open("record-operation", &[]);
            out.text("operation", &[], op.operation);
            out.display("sequence-number", op.sequence_number);
            out.text(
                "thing-id",
                &[("version-stamp", &op.version.to_string())],
                &op.thing_id.to_string(),
            );
            out.display("type-id", op.type_id);
            out.close("record-operation");
        }
        out.close("operations");
    }
    out.close("wc:info");
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_feed_has_no_operations_element() {
        let xml = write_record_operations(0, &[]);
        assert!(xml.contains("<latest-record-operation-sequence-number>0<"));
        assert!(!xml.contains("<operations"));
    }

    #[test]
    fn operations_carry_their_ids_in_order() {
        let (thing, version, type_id) = (
            ThingId::new_random(),
            VersionStamp::new_random(),
            TypeId::MEDICAL_IMAGE_STUDY,
        );
        let op = |n| RecordOperation {
            operation: "Update",
            sequence_number: n,
            thing_id: thing,
            version,
            type_id,
        };
        let xml = write_record_operations(7, &[op(6), op(7)]);
        assert!(xml.contains(&format!(
            "<thing-id version-stamp=\"{version}\">{thing}</thing-id>"
        )));
        assert!(xml.find("<sequence-number>6<") < xml.find("<sequence-number>7<"));
        assert!(xml.contains(&format!("<type-id>{type_id}</type-id>")));
    }
}
