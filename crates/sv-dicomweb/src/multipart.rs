//! Writing `multipart/related` bodies (RFC 2387) as dicomweb-client reads them.
//!
//! dicomweb-client splits a body on `\r\n--{boundary}` and takes each part's content after its
//! first blank line, so the body must start with `--{boundary}` (no preamble, no leading
//! CRLF), every part needs a header block, and the CRLF before each later delimiter belongs
//! to the delimiter. A body is therefore: [`part_header`] for the first part, its bytes,
//! [`next_part_header`] and bytes for each further part, then [`closing`].
//!
//! Header values come from stored data (a transfer syntax UID), so CR, LF and other control
//! characters are dropped from them rather than let a value start a new header.

/// The boundary we use: fixed, so responses are deterministic and testable. A part holding
/// `\r\n--` followed by these 44 characters would break the framing; a server that wants to
/// rule that out can pick a random boundary instead (every function here takes one).
pub const BOUNDARY: &str = "studyvault-4e1a7d0c9b2f43f8a6e5d1c07b3a9e58";

/// `multipart/related; type="{part_type}"; boundary={boundary}`, for the response header.
pub fn multipart_content_type(part_type: &str, boundary: &str) -> String {
    format!(
        "multipart/related; type=\"{}\"; boundary={}",
        clean(part_type),
        clean(boundary)
    )
}

/// `application/dicom; transfer-syntax={uid}`: the Content-Type of one instance part.
pub fn dicom_part_content_type(transfer_syntax: &str) -> String {
    format!(
        "application/dicom; transfer-syntax={}",
        clean(transfer_syntax)
    )
}

/// The header of the first part: `--B\r\nContent-Type: …\r\n\r\n`.
pub fn part_header(boundary: &str, content_type: &str) -> Vec<u8> {
    format!(
        "--{}\r\nContent-Type: {}\r\n\r\n",
        clean(boundary),
        clean(content_type)
    )
    .into_bytes()
}

/// The header of every later part: `\r\n--B\r\nContent-Type: …\r\n\r\n` (the CRLF ends the
/// previous part's content).
pub fn next_part_header(boundary: &str, content_type: &str) -> Vec<u8> {
    let mut out = b"\r\n".to_vec();
    out.extend(part_header(boundary, content_type));
    out
}

/// The end of the body: `\r\n--B--`.
pub fn closing(boundary: &str) -> Vec<u8> {
    format!("\r\n--{}--", clean(boundary)).into_bytes()
}

fn clean(value: &str) -> String {
    value.chars().filter(|c| !c.is_control()).collect()
}
