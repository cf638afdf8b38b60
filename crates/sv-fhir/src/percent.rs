//! Percent-encoding of query components, for the links a Bundle carries.
//!
//! Everything but RFC 3986's unreserved characters and `:` `/` `,` `@` (legal in a query and
//! common in FHIR values) is encoded as UTF-8 bytes, so `&`, `=`, `+`, `|`, `%`, `#`, spaces
//! and non-ASCII text survive any form decoder.

/// Encodes one query key or value.
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:/,@".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_characters_are_encoded_as_utf8_bytes() {
        assert_eq!(
            encode_component("urn:dicom:uid|urn:oid:1.2 3&x=+é%,/\\#"),
            "urn:dicom:uid%7Curn:oid:1.2%203%26x%3D%2B%C3%A9%25,/%5C%23"
        );
        assert_eq!(encode_component("A-z_0.9~"), "A-z_0.9~");
    }
}
