//! Hostile and broken input is refused, each with its reason code, quickly and without echo.

use sv_hvxml::{XmlError, XmlLimits, read_medical_image_study_with};

fn refuse(xml: &[u8], limits: &XmlLimits) -> XmlError {
    let err = read_medical_image_study_with(xml, limits).expect_err("must be refused");
    assert!(err.to_string().len() < 240, "message too long: {err}");
    err
}

fn code(xml: &[u8]) -> &'static str {
    refuse(xml, &XmlLimits::default()).code()
}

#[test]
fn billion_laughs_is_refused_at_the_doctype() {
    let mut xml =
        String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n");
    for i in 1..10 {
        let prev = if i == 1 {
            "lol".to_owned()
        } else {
            format!("lol{}", i - 1)
        };
        xml.push_str(&format!(
            "<!ENTITY lol{i} \"{}\">\n",
            format!("&{prev};").repeat(10)
        ));
    }
    xml.push_str("]>\n<medical-image-study>&lol9;</medical-image-study>");
    assert_eq!(code(xml.as_bytes()), "doctype-forbidden");
}

#[test]
fn external_entities_are_refused() {
    let xxe = b"<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\
                <medical-image-study>&xxe;</medical-image-study>";
    assert_eq!(code(xxe), "doctype-forbidden");
    let bare =
        b"<!DOCTYPE medical-image-study SYSTEM \"http://example.org/x.dtd\"><medical-image-study/>";
    assert_eq!(code(bare), "doctype-forbidden");
}

#[test]
fn undefined_entity_references_are_refused() {
    let xml = b"<medical-image-study><patient-name>&xxe;</patient-name></medical-image-study>";
    assert_eq!(code(xml), "undefined-entity");
    let in_attribute = b"<medical-image-study a=\"&nbsp;\"/>";
    assert_eq!(code(in_attribute), "undefined-entity");
    assert_eq!(
        code(b"<medical-image-study>&#0;</medical-image-study>"),
        "malformed-xml"
    );
    assert_eq!(
        code(b"<medical-image-study>a & b</medical-image-study>"),
        "malformed-xml"
    );
}

#[test]
fn deep_nesting_is_refused() {
    let depth = 10_000;
    let xml = format!("{}{}", "<a>".repeat(depth), "</a>".repeat(depth));
    let err = refuse(xml.as_bytes(), &XmlLimits::default());
    assert_eq!(err.code(), "too-deep");
    let limits = XmlLimits {
        max_depth: 3,
        ..XmlLimits::default()
    };
    assert_eq!(
        refuse(b"<a><b><c><d/></c></b></a>", &limits).code(),
        "too-deep"
    );
}

#[test]
fn large_documents_are_refused_before_parsing() {
    let limits = XmlLimits::default();
    let mut xml = b"<medical-image-study><description>".to_vec();
    xml.resize(limits.max_bytes + 1, b'x');
    let err = refuse(&xml, &limits);
    assert_eq!(err.code(), "too-large");
    assert_eq!(
        err,
        XmlError::TooLarge {
            len: limits.max_bytes + 1,
            max: limits.max_bytes
        }
    );
}

#[test]
fn broken_structure_is_malformed() {
    for xml in [
        &b"<medical-image-study><when></medical-image-study>"[..],
        b"<medical-image-study>",
        b"</medical-image-study>",
        b"<medical-image-study/><medical-image-study/>",
        b"<medical-image-study/>trailing text",
        b"leading text<medical-image-study/>",
        b"",
        b"   ",
        b"<medical-image-study a=\"1\" a=\"2\"/>",
        b"<medical-image-study a=1/>",
        b"<x:medical-image-study/>",
        b"<medical-image-study>\x01</medical-image-study>",
        b"<medical-image-study><!-- a -- b --></medical-image-study>",
        b"<medical-image-study>]]></medical-image-study>",
        b"<medical-image-study a=\"<\"/>",
        b"<1medical-image-study/>",
        b"<medical-image-study 1a=\"x\"/>",
        b"<a:b:c xmlns:a=\"urn:a\"/>",
        b"<medical-image-study xmlns:p=\"\"/>",
        b"<?xml version=\"1.1\"?><medical-image-study/>",
        b"<?xml encoding=\"utf-8\"?><medical-image-study/>",
        b" <?xml version=\"1.0\"?><medical-image-study/>",
        b"<medical-image-study>\xEF\xBF\xBF</medical-image-study>",
    ] {
        let err = refuse(xml, &XmlLimits::default());
        assert_eq!(
            err.code(),
            "malformed-xml",
            "{}: {err}",
            String::from_utf8_lossy(xml)
        );
    }
}

#[test]
fn two_roots_are_refused() {
    let err = refuse(b"<a/>\n<b/>", &XmlLimits::default());
    assert_eq!(err.code(), "malformed-xml");
    assert!(err.to_string().contains("more than one root"), "{err}");
}

#[test]
fn invalid_utf8_and_other_encodings_are_refused() {
    assert_eq!(
        code(b"<medical-image-study>\xC3\x28</medical-image-study>"),
        "not-utf8"
    );
    assert_eq!(
        code(b"<medical-image-study>caf\xE9</medical-image-study>"),
        "not-utf8"
    );
    let latin1 = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><medical-image-study/>";
    assert_eq!(code(latin1), "not-utf8");
    let utf16 = b"\xFF\xFE<\x00a\x00/\x00>\x00";
    assert_eq!(code(utf16), "not-utf8");
}

#[test]
fn a_bom_and_a_utf8_declaration_are_fine() {
    let xml = b"\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<medical-image-study/>";
    // Well-formed, so the refusal is about content, not syntax.
    assert_eq!(code(xml), "missing-element");
}

#[test]
fn errors_do_not_echo_large_input() {
    let name = "n".repeat(10_000);
    let xml = format!("<{name}></{name}x>");
    let err = refuse(xml.as_bytes(), &XmlLimits::default());
    assert_eq!(err.code(), "malformed-xml");
    let entity = format!("<a>&{name};</a>");
    let err = refuse(entity.as_bytes(), &XmlLimits::default());
    assert_eq!(err.code(), "undefined-entity");
}
