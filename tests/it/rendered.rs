//! WADO-RS `rendered` with parameters: rendered on request from the stored file (window,
//! viewport, quality, PNG), at instance, series and study level; without parameters, the
//! stored preview.

use crate::server::{Server, fixture};

fn decode(bytes: &[u8]) -> image::DynamicImage {
    image::load_from_memory(bytes).expect("an image")
}

#[test]
fn rendered_applies_window_viewport_quality_and_format() {
    let server = Server::start();
    let (rid, token) = server.create_record("Viewer");
    let report = server
        .upload_dicom(&rid, &token, &fixture("CT_small.dcm"))
        .json();
    let e = &report["instances"][0];
    let (study, series, sop) = (
        e["study_instance_uid"].as_str().unwrap(),
        e["series_instance_uid"].as_str().unwrap(),
        e["sop_instance_uid"].as_str().unwrap(),
    );
    let instance =
        format!("/v1/records/{rid}/dicomweb/studies/{study}/series/{series}/instances/{sop}");
    let get = |path: &str, accept: &str| server.get_with(path, Some(&token), &[("Accept", accept)]);

    let stored = get(&format!("{instance}/rendered"), "image/jpeg");
    assert_eq!(stored.status, 200);
    let preview = server.get(
        e["preview"]
            .as_str()
            .unwrap()
            .strip_prefix(&server.base)
            .unwrap(),
        Some(&token),
    );
    assert_eq!(
        stored.body, preview.body,
        "no parameter: the stored preview"
    );

    let small = get(&format!("{instance}/rendered?viewport=64,64"), "image/jpeg");
    assert_eq!(small.status, 200, "{}", small.text());
    assert_eq!(small.header("content-type"), Some("image/jpeg"));
    let img = decode(&small.body);
    assert_eq!(
        (img.width(), img.height()),
        (64, 64),
        "fitted in the viewport (square CT)"
    );

    let wide = get(
        &format!("{instance}/rendered?viewport=200,50"),
        "image/jpeg",
    );
    let img = decode(&wide.body);
    assert_eq!(
        (img.width(), img.height()),
        (50, 50),
        "aspect kept inside the viewport"
    );

    let lung = get(
        &format!("{instance}/rendered?viewport=128,128&window=-600,1500"),
        "image/png",
    );
    let bone = get(
        &format!("{instance}/rendered?viewport=128,128&window=400,1800"),
        "image/png",
    );
    assert_eq!(lung.header("content-type"), Some("image/png"));
    assert!(lung.body.starts_with(b"\x89PNG"));
    let mean = |bytes: &[u8]| {
        let g = decode(bytes).to_luma8();
        g.pixels().map(|p| f64::from(p.0[0])).sum::<f64>() / f64::from(g.width() * g.height())
    };
    assert!(
        mean(&lung.body) > mean(&bone.body) + 10.0,
        "a lower window centre makes the same tissue brighter"
    );

    let low = get(&format!("{instance}/rendered?quality=10"), "image/jpeg");
    let high = get(&format!("{instance}/rendered?quality=95"), "image/jpeg");
    assert!(
        low.body.len() < high.body.len(),
        "quality changes the encoding"
    );

    for level in [
        format!("/v1/records/{rid}/dicomweb/studies/{study}/series/{series}"),
        format!("/v1/records/{rid}/dicomweb/studies/{study}"),
    ] {
        let reply = get(&format!("{level}/rendered?viewport=32,32"), "image/jpeg");
        assert_eq!(reply.status, 200, "{level}");
        assert_eq!(decode(&reply.body).width(), 32);
        let thumb = get(&format!("{level}/thumbnail?viewport=32,32"), "*/*");
        assert_eq!(thumb.status, 200, "{level}");
    }
}
