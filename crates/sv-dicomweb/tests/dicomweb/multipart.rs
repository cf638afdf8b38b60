//! Multipart bodies read back the way dicomweb-client's `_decode_multipart_message` reads
//! them: split on `\r\n--{boundary}`; a segment that is empty, `--`, a CRLF or starts with
//! `--\r\n` is no part; any other needs a blank line, and its content follows it.

use sv_dicomweb::{
    BOUNDARY, closing, dicom_part_content_type, multipart_content_type, next_part_header,
    part_header,
};

fn dwc_parts(body: &[u8], boundary: &str) -> Vec<Vec<u8>> {
    let delimiter = format!("\r\n--{boundary}").into_bytes();
    let mut segments = Vec::new();
    let mut rest = body;
    while let Some(i) = rest
        .windows(delimiter.len())
        .position(|w| w == delimiter.as_slice())
    {
        segments.push(&rest[..i]);
        rest = &rest[i + delimiter.len()..];
    }
    segments.push(rest);
    let mut parts = Vec::new();
    for segment in segments {
        if [&b""[..], b"--", b"\r\n"].contains(&segment) || segment.starts_with(b"--\r\n") {
            continue;
        }
        let blank = segment
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("every part has a header block");
        parts.push(segment[blank + 4..].to_vec());
    }
    parts
}

#[test]
fn parts_come_back_byte_for_byte() {
    let first = b"DICM\r\n\r\nfirst part, with a blank line inside".to_vec();
    let second = b"second\r\n".to_vec();
    let ct = dicom_part_content_type("1.2.840.10008.1.2.4.90");
    let mut body = part_header(BOUNDARY, &ct);
    assert!(
        body.starts_with(format!("--{BOUNDARY}\r\n").as_bytes()),
        "no preamble, no CRLF"
    );
    body.extend(&first);
    body.extend(next_part_header(BOUNDARY, &ct));
    body.extend(&second);
    body.extend(closing(BOUNDARY));
    assert_eq!(dwc_parts(&body, BOUNDARY), vec![first, second]);
    assert!(body.ends_with(format!("\r\n--{BOUNDARY}--").as_bytes()));
}

#[test]
fn headers_are_exact_and_cannot_be_split() {
    assert_eq!(
        part_header(
            "B",
            "application/dicom; transfer-syntax=1.2.840.10008.1.2.1"
        ),
        b"--B\r\nContent-Type: application/dicom; transfer-syntax=1.2.840.10008.1.2.1\r\n\r\n"
    );
    assert_eq!(
        next_part_header("B", "application/dicom"),
        b"\r\n--B\r\nContent-Type: application/dicom\r\n\r\n"
    );
    assert_eq!(closing("B"), b"\r\n--B--");
    assert_eq!(
        dicom_part_content_type("1.2\r\nX-Evil: 1"),
        "application/dicom; transfer-syntax=1.2X-Evil: 1"
    );
    assert_eq!(
        multipart_content_type("application/dicom", BOUNDARY),
        format!("multipart/related; type=\"application/dicom\"; boundary={BOUNDARY}")
    );
}
