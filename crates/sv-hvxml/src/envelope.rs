//! Writing the `<thing>` envelope (HealthVault's `Thing2`, as GetThings v3 returns it) and the
//! `<things>` wrapper for query results.
//!
//! Choices this store makes where HealthVault's platform would know more:
//!
//! - **Audits** (`Audit2`): `app-id` is the id of the token that made the change, or the nil
//!   GUID `00000000-0000-0000-0000-000000000000` with `name="studyvault"` when the store itself
//!   or the admin did; `person-id` is the record id (one record is one person). The schema
//!   requires a `name` attribute on both; this store keeps no app or person names (and writes
//!   no patient data into audits), so it is empty apart from the store's own.
//! - **Blobs**: `hash-info/algorithm` is `blake3` and `hash` the base64 of the 32-byte blake3
//!   digest (the blob's content address), where HealthVault writes `SHA256Block`. The
//!   `blob-ref-url` comes from the caller, who knows the URL layout.
//! - **Paging**: `<things>` holds whole `<thing>` elements, then, only when more results
//!   follow, one `<continuation>` element whose text is an opaque token chosen by the caller;
//!   a client asks for the next page by sending that token back (`?continuation=…`). No
//!   `<continuation>` means the result is complete.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sv_model::study::MedicalImageStudy;
use sv_model::{Audit, NamedBlob, RecordId, Thing};

use crate::Sections;
use crate::dom::trim_xml_whitespace;
use crate::study_write::write_study;
use crate::writer::XmlOut;

/// The nil GUID, the `app-id` of changes made by the store itself or the admin.
pub const STORE_APP_ID: &str = "00000000-0000-0000-0000-000000000000";

/// What goes inside `<data-xml>`.
#[derive(Debug, Clone, Copy)]
pub enum DataXml<'a> {
    /// A medical-image study, written from the model.
    Study(&'a MedicalImageStudy),
    /// Any other type: the stored XML, written verbatim (it was checked on the way in).
    Raw(&'a str),
}

/// One thing as the envelope writer needs it: the stored thing plus what only the caller
/// knows (its record, the study model, the blob URLs).
///
/// Written as HealthVault's `Thing2`. `app-id` is the token id, or [`STORE_APP_ID`] (the nil
/// GUID, `name="studyvault"`) for the store or the admin; `person-id` is the record id; both
/// `name` attributes are otherwise empty. Blob hashes are `blake3`, base64. A page of results
/// is `<things>` ending with `<continuation>token</continuation>` when more follow.
pub struct ThingXml<'a> {
    pub thing: &'a Thing,
    pub record: RecordId,
    pub data: DataXml<'a>,
    /// A whole `<common>…</common>` element, written after the type's element when given.
    /// Leave it `None` when the stored raw data-xml already ends with its `<common>` (as
    /// [`DataXmlInput::as_str`](crate::DataXmlInput::as_str) keeps it).
    pub common: Option<&'a str>,
    /// The `blob-ref-url` of each blob.
    pub blob_url: &'a dyn Fn(&NamedBlob) -> String,
}

impl<'a> ThingXml<'a> {
    /// The thing with its stored `data_xml` as raw XML and no `<common>`.
    pub fn new(
        thing: &'a Thing,
        record: RecordId,
        blob_url: &'a dyn Fn(&NamedBlob) -> String,
    ) -> Self {
        ThingXml {
            thing,
            record,
            data: DataXml::Raw(&thing.data_xml),
            common: None,
            blob_url,
        }
    }

    /// Writes `study` as the thing's data-xml instead of the stored text.
    pub fn with_study(mut self, study: &'a MedicalImageStudy) -> Self {
        self.data = DataXml::Study(study);
        self
    }

    pub fn with_common(mut self, common: &'a str) -> Self {
        self.common = Some(common);
        self
    }
}

impl fmt::Debug for ThingXml<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThingXml")
            .field("thing", &self.thing.id)
            .field("record", &self.record)
            .field("data", &self.data)
            .field("common", &self.common.is_some())
            .finish_non_exhaustive()
    }
}

/// One `<thing>` element, narrowed to `sections`.
pub fn write_thing(thing: &ThingXml<'_>, sections: Sections) -> String {
    let mut out = XmlOut::with_capacity(size_hint(thing, sections));
    write_one(&mut out, thing, sections);
    out.finish()
}

/// `<things>` with one `<thing>` per item, then `<continuation>token</continuation>` when
/// `continuation` is given (more results follow; see the module documentation).
pub fn write_things(
    things: &[ThingXml<'_>],
    sections: Sections,
    continuation: Option<&str>,
) -> String {
    let hint = things.iter().map(|t| size_hint(t, sections)).sum::<usize>() + 128;
    let mut out = XmlOut::with_capacity(hint);
    out.open("things", &[]);
    for thing in things {
        write_one(&mut out, thing, sections);
    }
    out.opt_text("continuation", continuation);
    out.close("things");
    out.finish()
}

fn size_hint(thing: &ThingXml<'_>, sections: Sections) -> usize {
    let data = match (sections.xml, thing.data) {
        (false, _) => 0,
        (true, DataXml::Raw(xml)) => xml.len(),
        (true, DataXml::Study(study)) => {
            let images: usize = study.series.iter().map(|s| s.images.len()).sum();
            1024 + 192 * images
        }
    };
    let blobs = if sections.blob_payload {
        400 * thing.thing.blobs.len()
    } else {
        0
    };
    1024 + data + blobs
}

fn write_one(out: &mut XmlOut, view: &ThingXml<'_>, sections: Sections) {
    let thing = view.thing;
    out.open("thing", &[]);
    let version = thing.version.to_string();
    out.text(
        "thing-id",
        &[("version-stamp", &version)],
        &thing.id.to_string(),
    );
    let type_id = thing.type_id.to_string();
    match thing.type_id.known_name() {
        Some(name) => out.text("type-id", &[("name", name)], &type_id),
        None => out.text("type-id", &[], &type_id),
    }
    if sections.core {
        out.text("thing-state", &[], thing.state.as_str());
        out.display("flags", thing.flags.0);
        out.text("eff-date", &[], &thing.eff_date.to_rfc3339());
    }
    if sections.audits {
        write_audit(out, "created", &thing.created, view.record);
        write_audit(out, "updated", &thing.updated, view.record);
    }
    if sections.xml {
        write_data_xml(out, view);
    }
    if sections.blob_payload && !thing.blobs.is_empty() {
        out.open("blob-payload", &[]);
        for blob in &thing.blobs {
            write_blob(out, blob, &(view.blob_url)(blob));
        }
        out.close("blob-payload");
    }
    out.close("thing");
}

/// `Audit2`: `timestamp`, `app-id`, `person-id`, `audit-action`.
fn write_audit(out: &mut XmlOut, name: &str, audit: &Audit, record: RecordId) {
    out.open(name, &[]);
    out.text("timestamp", &[], &audit.timestamp.to_rfc3339());
    match audit.token {
        Some(token) => out.text("app-id", &[("name", "")], &token.to_string()),
        None => out.text("app-id", &[("name", "studyvault")], STORE_APP_ID),
    }
    out.text("person-id", &[("name", "")], &record.to_string());
    out.text("audit-action", &[], audit.action.as_str());
    out.close(name);
}

/// `data-xml`: the type's element, then `<common>` if given. Nothing at all when there is no
/// type element to write (a tombstone keeps no data).
fn write_data_xml(out: &mut XmlOut, view: &ThingXml<'_>) {
    match view.data {
        DataXml::Study(study) => {
            out.open("data-xml", &[]);
            write_study(out, study);
        }
        DataXml::Raw(xml) if !trim_xml_whitespace(xml).is_empty() => {
            out.open("data-xml", &[]);
            out.raw(trim_xml_whitespace(xml));
        }
        DataXml::Raw(_) => return,
    }
    if let Some(common) = view.common {
        out.raw(trim_xml_whitespace(common));
    }
    out.close("data-xml");
}

/// `blob`: `blob-info` (name, content-type, hash-info), `content-length`, `blob-ref-url`.
fn write_blob(out: &mut XmlOut, blob: &NamedBlob, url: &str) {
    out.open("blob", &[]);
    out.open("blob-info", &[]);
    if blob.name.is_default() {
        out.empty("name", &[]);
    } else {
        out.text("name", &[], blob.name.as_str());
    }
    out.text("content-type", &[], &blob.content_type);
    out.open("hash-info", &[]);
    out.text("algorithm", &[], "blake3");
    out.text("hash", &[], &BASE64.encode(blob.blob_id.as_bytes()));
    out.close("hash-info");
    out.close("blob-info");
    out.display("content-length", blob.length);
    out.text("blob-ref-url", &[], url);
    out.close("blob");
}
