//! HTTP semantics: Range requests and ETags on blobs, version conflicts (If-Match -> 412) on
//! things.

use crate::server::{Server, fixture};

pub const WEIGHT_TYPE: &str = "3d34d87e-7fc1-4153-800f-f56592cb0d17";

pub fn weight_thing(kg: u32) -> String {
    format!(
        "<thing><type-id>{WEIGHT_TYPE}</type-id><data-xml><weight><when><date><y>2026</y>\
         <m>1</m><d>2</d></date></when><value><kg>{kg}</kg><display units=\"kg\">{kg}</display>\
         </value></weight></data-xml></thing>"
    )
}

#[test]
fn blob_ranges_suffixes_unsatisfiable_and_etags() {
    let server = Server::start();
    let (rid, token) = server.create_record("Ranges");
    let ct = fixture("CT_small.dcm");
    let report = server.upload_dicom(&rid, &token, &ct).json();
    let entry = &report["instances"][0];
    let url = format!(
        "/v1/records/{rid}/things/{}/blobs/{}",
        entry["thing_id"].as_str().unwrap(),
        entry["sop_instance_uid"].as_str().unwrap()
    );
    let t = Some(token.as_str());

    let part = server.get_with(&url, t, &[("Range", "bytes=128-131")]);
    assert_eq!(part.status, 206, "{}", part.text());
    assert_eq!(part.body, b"DICM");
    let len = ct.len();
    assert_eq!(
        part.header("content-range"),
        Some(format!("bytes 128-131/{len}").as_str())
    );

    let suffix = server.get_with(&url, t, &[("Range", "bytes=-10")]);
    assert_eq!(suffix.status, 206);
    assert_eq!(suffix.body, ct[len - 10..]);

    let open = server.get_with(&url, t, &[("Range", &format!("bytes={}-", len - 100))]);
    assert_eq!(open.status, 206);
    assert_eq!(open.body, ct[len - 100..]);

    let beyond = server.get_with(&url, t, &[("Range", &format!("bytes={}-", len + 10))]);
    assert_eq!(beyond.status, 416);

    let whole = server.get(&url, t);
    assert_eq!(whole.status, 200);
    assert_eq!(whole.header("accept-ranges"), Some("bytes"));
    let etag = whole.header("etag").expect("an ETag").to_string();
    let cached = server.get_with(&url, t, &[("If-None-Match", &etag)]);
    assert_eq!(cached.status, 304);
    assert!(cached.body.is_empty());
}

#[test]
fn stale_if_match_is_412_and_nothing_changes() {
    let server = Server::start();
    let (rid, token) = server.create_record("Versions");
    let t = Some(token.as_str());
    let xml = [("Content-Type", "application/xml")];
    let created = server.send(
        "POST",
        &format!("/v1/records/{rid}/things"),
        t,
        &xml,
        weight_thing(70).as_bytes(),
    );
    assert_eq!(created.status, 201, "{}", created.text());
    let v1 = created.header("etag").expect("ETag").to_string();
    let location = created.header("location").expect("Location").to_string();
    let path = location.strip_prefix(&server.base).unwrap().to_string();

    let mut h = xml.to_vec();
    h.push(("If-Match", v1.as_str()));
    let updated = server.send("PUT", &path, t, &h, weight_thing(71).as_bytes());
    assert_eq!(updated.status, 200, "{}", updated.text());
    let v2 = updated.header("etag").unwrap().to_string();
    assert_ne!(v1, v2);

    let stale = server.send("PUT", &path, t, &h, weight_thing(99).as_bytes());
    assert_eq!(stale.error_code(412), "version-conflict");
    let deleted = server.send("DELETE", &path, t, &[("If-Match", v1.as_str())], b"");
    assert_eq!(deleted.error_code(412), "version-conflict");
    let missing = server.send("PUT", &path, t, &xml, weight_thing(98).as_bytes());
    assert_eq!(missing.error_code(428), "version-required");

    let current = server.get(&path, t);
    assert_eq!(current.header("etag"), Some(v2.as_str()));
    assert!(current.text().contains("<kg>71</kg>"), "{}", current.text());
    let versions = server.get(&format!("{path}/versions"), t);
    assert_eq!(versions.status, 200);
}
