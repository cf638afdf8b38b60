//! The `<thing>` envelope: writing (sections, audits, blobs, paging) and reading what clients
//! send, including opaque data-xml of other types kept byte for byte.

use sv_hvxml::{
    STORE_APP_ID, Sections, ThingInput, ThingXml, XmlLimits, read_medical_image_study, read_thing,
    write_thing, write_things,
};
use sv_model::{
    Audit, AuditAction, BlobId, BlobName, NamedBlob, RecordId, Thing, ThingFlags, ThingState,
    Timestamp, TypeId,
};

use crate::support::{assert_snapshot, minimal_study, rich_study, xmllint_study};

const RECORD: &str = "6c1b1c20-ecc1-40da-87f5-b93d083a6057";
const BLOOD_GLUCOSE: &str = "879e7c04-4e8a-4707-9ad3-b054df467ce4";

fn record() -> RecordId {
    RECORD.parse().unwrap()
}

fn study_thing() -> Thing {
    let created = Timestamp::parse_rfc3339("2017-06-02T22:01:52.471Z").unwrap();
    let blob = |name: &str, content_type: &str, bytes: &[u8]| NamedBlob {
        name: BlobName::new(name).unwrap(),
        content_type: content_type.into(),
        length: bytes.len() as u64,
        blob_id: BlobId::of(bytes),
    };
    Thing {
        id: "3f2c9a70-8d0b-4b7e-9f0e-5b1c2d3e4f50".parse().unwrap(),
        version: "0b5f1d8e-3a1c-4c1e-9a58-4f3e6b0e2c11".parse().unwrap(),
        type_id: TypeId::MEDICAL_IMAGE_STUDY,
        state: ThingState::Active,
        flags: ThingFlags(0),
        eff_date: created,
        created: Audit {
            timestamp: created,
            token: None,
            action: AuditAction::Created,
        },
        updated: Audit {
            timestamp: created.plus_seconds(90),
            token: Some("c6df61be-9944-43b0-83c1-2371501d28cf".parse().unwrap()),
            action: AuditAction::Updated,
        },
        data_xml: String::new(),
        blobs: vec![
            blob("", "application/octet-stream", b"default"),
            blob("1.2.3.4.5.6.1", "application/dicom", b"DICM"),
            blob("1.2.3.4.5.6.1.preview.jpg", "image/jpeg", b"\xFF\xD8\xFF"),
        ],
    }
}

fn url(blob: &NamedBlob) -> String {
    format!(
        "http://127.0.0.1:8080/v1/records/{RECORD}/things/3f2c9a70-8d0b-4b7e-9f0e-5b1c2d3e4f50/blobs/{}?a=1&b=2",
        blob.name
    )
}

fn element_names(xml: &str) -> Vec<&str> {
    xml.lines()
        .filter_map(|l| l.trim_start().strip_prefix('<'))
        .filter(|l| !l.starts_with('/'))
        .map(|l| l.split(['>', ' ', '/']).next().unwrap())
        .collect()
}

#[test]
fn whole_study_thing_snapshot() {
    let thing = study_thing();
    let study = minimal_study();
    let view = ThingXml::new(&thing, record(), &url)
        .with_study(&study)
        .with_common("<common><note>first visit</note></common>");
    assert_snapshot("thing-study.xml", &write_thing(&view, Sections::ALL));
}

#[test]
fn sections_narrow_the_envelope() {
    let thing = study_thing();
    let study = minimal_study();
    let view = ThingXml::new(&thing, record(), &url).with_study(&study);
    let names = |sections| {
        let xml = write_thing(&view, sections);
        element_names(&xml)
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(names(Sections::KEYS), ["thing", "thing-id", "type-id"]);
    assert_eq!(
        names(Sections::parse("core").unwrap()),
        [
            "thing",
            "thing-id",
            "type-id",
            "thing-state",
            "flags",
            "eff-date"
        ]
    );
    let audits = names(Sections::parse("audits").unwrap());
    assert!(audits.contains(&"created".to_owned()) && !audits.contains(&"data-xml".to_owned()));
    let xml_only = names(Sections::parse("xml").unwrap());
    assert!(xml_only.contains(&"medical-image-study".to_owned()));
    assert!(
        !xml_only.contains(&"blob-payload".to_owned()) && !xml_only.contains(&"flags".to_owned())
    );
    let blobs = names(Sections::parse("blobpayload").unwrap());
    assert_eq!(blobs.iter().filter(|n| *n == "blob").count(), 3);
    assert!(!blobs.contains(&"data-xml".to_owned()));
}

#[test]
fn audits_name_the_token_or_the_store_and_the_record() {
    let thing = study_thing();
    let xml = write_thing(
        &ThingXml::new(&thing, record(), &url),
        Sections::parse("audits").unwrap(),
    );
    assert!(
        xml.contains(&format!(
            "<app-id name=\"studyvault\">{STORE_APP_ID}</app-id>"
        )),
        "{xml}"
    );
    assert!(xml.contains("<app-id name=\"\">c6df61be-9944-43b0-83c1-2371501d28cf</app-id>"));
    assert_eq!(
        xml.matches(&format!("<person-id name=\"\">{RECORD}</person-id>"))
            .count(),
        2
    );
    assert!(xml.contains("<timestamp>2017-06-02T22:01:52.471Z</timestamp>"));
    assert!(xml.contains("<audit-action>Updated</audit-action>"));
}

#[test]
fn blobs_carry_blake3_hashes_and_the_callers_urls() {
    let thing = study_thing();
    let xml = write_thing(&ThingXml::new(&thing, record(), &url), Sections::ALL);
    assert!(
        xml.contains("<name/>"),
        "the default blob has an empty name"
    );
    assert!(xml.contains("<algorithm>blake3</algorithm>"));
    // base64 of the 32-byte digest: 44 characters with one '=' of padding.
    let hash = xml
        .split("<hash>")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap();
    assert_eq!((hash.len(), hash.ends_with('=')), (44, true));
    assert!(xml.contains("/blobs/1.2.3.4.5.6.1?a=1&amp;b=2</blob-ref-url>"));
    assert!(xml.contains("<content-length>4</content-length>"));
}

#[test]
fn things_wrapper_pages_with_a_continuation() {
    let thing = study_thing();
    let other = Thing {
        data_xml: "<x/>".into(),
        ..study_thing()
    };
    let views = [
        ThingXml::new(&thing, record(), &url),
        ThingXml::new(&other, record(), &url),
    ];
    let page = write_things(&views, Sections::KEYS, Some("next-page-token"));
    assert!(page.starts_with("<things>\n  <thing>") && page.ends_with("</things>"));
    assert_eq!(page.matches("<thing>").count(), 2);
    assert!(page.contains("\n  <continuation>next-page-token</continuation>\n</things>"));
    let last = write_things(&views[..1], Sections::KEYS, None);
    assert!(!last.contains("continuation"));
    assert_eq!(
        write_things(&[], Sections::ALL, None),
        "<things>\n</things>"
    );
}

#[test]
fn a_tombstone_has_no_data_xml() {
    let thing = Thing {
        state: ThingState::Deleted,
        ..study_thing()
    };
    let xml = write_thing(&ThingXml::new(&thing, record(), &url), Sections::ALL);
    assert!(xml.contains("<thing-state>Deleted</thing-state>") && !xml.contains("data-xml"));
}

#[test]
fn a_written_study_thing_reads_back() {
    let thing = study_thing();
    let study = rich_study();
    let xml = write_thing(
        &ThingXml::new(&thing, record(), &url).with_study(&study),
        Sections::ALL,
    );
    let input = read_thing(xml.as_bytes(), &XmlLimits::default()).unwrap();
    assert_eq!(input.key.unwrap().id, thing.id);
    assert_eq!(input.key.unwrap().version, thing.version);
    assert_eq!(input.type_id, Some(TypeId::MEDICAL_IMAGE_STUDY));
    assert_eq!(input.flags, Some(ThingFlags(0)));
    let data = input.data_xml.unwrap();
    assert_eq!(data.root_name(), "medical-image-study");
    assert_eq!(data.common_xml(), None);
    assert_eq!(read_medical_image_study(data.type_xml()).unwrap(), study);
    xmllint_study(data.type_xml()).expect("the study inside the envelope validates");
}

const OPAQUE: &str = r#"<blood-glucose xmlns:ext="urn:example:ext" unit="mmol/L">
      <when><date><y>2015</y><m>10</m><d>29</d></date></when>
      <!-- a comment the store keeps -->
      <value><mmolPerL>5.5</mmolPerL><display units="mg/dL" text="99 &quot;mg&quot;">99</display></value>
      <glucose-measurement-type><text>Whole blood &amp; plasma &lt;3 &#233;</text></glucose-measurement-type>
      <ext:note><![CDATA[raw <markup> & stuff]]></ext:note>
      <empty/>
    </blood-glucose>
    <common>
      <note>Test Note</note>
      <client-thing-id>dcd854e9-cd10-4a9a-8097-acac17f3265a</client-thing-id>
    </common>"#;

fn client_thing(data_xml: &str) -> String {
    format!(
        "<thing>\n  <type-id name=\"Blood glucose\">{BLOOD_GLUCOSE}</type-id>\n  \
         <thing-state>Active</thing-state>\n  <flags>16</flags>\n  <eff-date>2015-10-29T00:00:00Z</eff-date>\n  \
         <created><timestamp>x</timestamp></created>\n  <data-xml>\n    {data_xml}\n  </data-xml>\n  \
         <blob-payload><blob><anything/></blob></blob-payload>\n  <tags>a,b</tags>\n</thing>"
    )
}

#[test]
fn opaque_data_xml_round_trips_byte_for_byte() {
    let sent = client_thing(OPAQUE);
    let input = read_thing(sent.as_bytes(), &XmlLimits::default()).unwrap();
    assert_eq!(input.key, None);
    assert_eq!(input.type_id, Some(BLOOD_GLUCOSE.parse().unwrap()));
    assert_eq!(input.flags, Some(ThingFlags(16)));
    let data = input.data_xml.unwrap();
    assert_eq!(data.as_str(), OPAQUE, "inner XML exactly as sent");
    assert_eq!(data.root_name(), "blood-glucose");
    assert!(
        data.type_xml().starts_with("<blood-glucose ")
            && data.type_xml().ends_with("</blood-glucose>")
    );
    assert!(data.common_xml().unwrap().starts_with("<common>"));

    // Stored, written in a GetThings answer, read again: the same bytes.
    let stored = Thing {
        type_id: BLOOD_GLUCOSE.parse().unwrap(),
        data_xml: data.into_string(),
        ..study_thing()
    };
    let written = write_thing(&ThingXml::new(&stored, record(), &url), Sections::ALL);
    assert!(
        written.contains("<type-id>879e7c04"),
        "unknown types carry no name"
    );
    let again = read_thing(written.as_bytes(), &XmlLimits::default()).unwrap();
    assert_eq!(again.data_xml.unwrap().as_str(), OPAQUE);
}

#[test]
fn update_keys_and_ignored_elements() {
    let sent = "<thing><thing-id version-stamp=\"0B5F1D8E-3A1C-4C1E-9A58-4F3E6B0E2C11\"> \
                3f2c9a70-8d0b-4b7e-9f0e-5b1c2d3e4f50 </thing-id><eff-permissions/><data-xml><x/></data-xml></thing>";
    let input = read_thing(sent.as_bytes(), &XmlLimits::default()).unwrap();
    let key = input.key.unwrap();
    assert_eq!(
        key.version.to_string(),
        "0b5f1d8e-3a1c-4c1e-9a58-4f3e6b0e2c11"
    );
    assert_eq!((input.type_id, input.flags), (None, None));
    assert_eq!(input.data_xml.unwrap().as_str(), "<x/>");
    let bare = read_thing(b"<thing/>", &XmlLimits::default()).unwrap();
    assert_eq!(
        bare,
        ThingInput {
            key: None,
            type_id: None,
            flags: None,
            data_xml: None
        }
    );
}

#[test]
fn bad_things_are_refused_with_reason_codes() {
    let guid = "3f2c9a70-8d0b-4b7e-9f0e-5b1c2d3e4f50";
    let cases: &[(&str, &str)] = &[
        (
            &format!("<thing><thing-id>{guid}</thing-id></thing>"),
            "missing-attribute",
        ),
        (
            &format!("<thing><thing-id version-stamp=\"nope\">{guid}</thing-id></thing>"),
            "invalid-value",
        ),
        (
            "<thing><type-id>not-a-guid</type-id></thing>",
            "invalid-value",
        ),
        ("<thing><flags>-1</flags></thing>", "invalid-value"),
        (
            &format!("<thing><type-id>{guid}</type-id><type-id>{guid}</type-id></thing>"),
            "unexpected-element",
        ),
        ("<thing><data-xml/></thing>", "missing-element"),
        ("<thing><data-xml>  </data-xml></thing>", "missing-element"),
        (
            "<thing><data-xml><a/><b/></data-xml></thing>",
            "unexpected-element",
        ),
        (
            "<thing><data-xml><a/><common/><c/></data-xml></thing>",
            "unexpected-element",
        ),
        (
            "<thing><data-xml>text<a/></data-xml></thing>",
            "invalid-value",
        ),
        (
            "<thing><data-xml><a/></data-xml><data-xml><a/></data-xml></thing>",
            "unexpected-element",
        ),
        (
            "<thing xmlns=\"urn:x\"><data-xml><a/></data-xml></thing>",
            "invalid-value",
        ),
        (
            "<thing xmlns:p=\"urn:p\"><data-xml><p:a/></data-xml></thing>",
            "malformed-xml",
        ),
        ("<thing>stray</thing>", "invalid-value"),
        ("<things/>", "unexpected-element"),
        (
            "<!DOCTYPE thing [<!ENTITY e \"e\">]><thing/>",
            "doctype-forbidden",
        ),
        (
            "<thing><data-xml><a>&e;</a></data-xml></thing>",
            "undefined-entity",
        ),
        (
            "<thing><data-xml><a></b></data-xml></thing>",
            "malformed-xml",
        ),
    ];
    for (xml, code) in cases {
        let err = read_thing(xml.as_bytes(), &XmlLimits::default()).unwrap_err();
        assert_eq!(err.code(), *code, "{xml}: {err}");
    }
    let deep = format!(
        "<thing><data-xml>{}{}</data-xml></thing>",
        "<a>".repeat(70),
        "</a>".repeat(70)
    );
    assert_eq!(
        read_thing(deep.as_bytes(), &XmlLimits::default())
            .unwrap_err()
            .code(),
        "too-deep"
    );
}
