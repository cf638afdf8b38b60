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

/// Decodes `k=v&…` as a form decoder does (`+` is a space). Test support for the links'
/// round trip; the server decodes with its HTTP stack.
#[cfg(test)]
pub(crate) fn decode_query(query: &str) -> Vec<(String, String)> {
    fn decode(s: &str) -> String {
        let mut bytes = Vec::new();
        let mut it = s.bytes();
        while let Some(b) = it.next() {
            match b {
                b'+' => bytes.push(b' '),
                b'%' => {
                    let hex: Vec<u8> = it.by_ref().take(2).collect();
                    let hex = std::str::from_utf8(&hex).unwrap();
                    bytes.push(u8::from_str_radix(hex, 16).unwrap());
                }
                b => bytes.push(b),
            }
        }
        String::from_utf8(bytes).unwrap()
    }
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_characters_are_encoded_and_decode_back() {
        let raw = "urn:dicom:uid|urn:oid:1.2 3&x=+é%,/";
        let encoded = encode_component(raw);
        assert_eq!(
            encoded,
            "urn:dicom:uid%7Curn:oid:1.2%203%26x%3D%2B%C3%A9%25,/"
        );
        assert_eq!(
            decode_query(&format!("k={encoded}")),
            vec![("k".to_owned(), raw.to_owned())]
        );
    }
}
