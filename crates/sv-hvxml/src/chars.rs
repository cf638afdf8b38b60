//! XML 1.0's character and name productions (`Char`, `NameStartChar`, `NameChar`, `QName`),
//! which quick-xml leaves to its callers.

/// XML 1.0's `Char` (`str` already excludes surrogates).
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// The byte offset of the first character XML 1.0 cannot carry, if any.
///
/// Only C0 controls and U+FFFE/U+FFFF (bytes `EF BF BE`/`EF BF BF`) can be wrong in a `str`.
/// Chunks are screened branch-free (the compiler vectorises the fold); only a chunk with a
/// suspicious byte is looked at closely.
pub(crate) fn first_non_xml_char(s: &str) -> Option<usize> {
    const CHUNK: usize = 64;
    let bytes = s.as_bytes();
    let is_bad_at = |i: usize| match bytes[i] {
        b'\t' | b'\n' | b'\r' => false,
        0..0x20 => true,
        0xEF => matches!(bytes.get(i + 1..i + 3), Some([0xBF, 0xBE | 0xBF])),
        _ => false,
    };
    for (n, chunk) in bytes.chunks(CHUNK).enumerate() {
        let suspicious = chunk.iter().fold(false, |acc, &b| {
            acc | ((b < 0x20) & (b != b'\t') & (b != b'\n') & (b != b'\r')) | (b == 0xEF)
        });
        if suspicious {
            let start = n * CHUNK;
            if let Some(i) = (start..start + chunk.len()).find(|&i| is_bad_at(i)) {
                return Some(i);
            }
        }
    }
    None
}

/// A qualified name as Namespaces in XML allows it: `NCName` or `NCName:NCName`.
pub(crate) fn is_qname(name: &str) -> bool {
    match name.split_once(':') {
        None => is_ncname(name),
        Some((prefix, local)) => is_ncname(prefix) && is_ncname(local),
    }
}

/// A name without colons whose first character may start a name.
fn is_ncname(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(is_name_start) && chars.all(|c| is_name_start(c) || is_name_rest(c))
}

fn is_name_start(c: char) -> bool {
    matches!(c,
        'A'..='Z' | '_' | 'a'..='z'
        | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}'
        | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}'
        | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}'
        | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}' | '\u{10000}'..='\u{EFFFF}')
}

fn is_name_rest(c: char) -> bool {
    matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_productions() {
        for good in [
            "a",
            "medical-image-study",
            "this:x",
            "_x.1",
            "é",
            "xml:lang",
        ] {
            assert!(is_qname(good), "{good}");
        }
        for bad in ["", "1a", "-a", "a:b:c", ":a", "a:", "a b", "a<"] {
            assert!(!is_qname(bad), "{bad}");
        }
    }

    #[test]
    fn non_xml_characters_are_found() {
        assert_eq!(first_non_xml_char("ok\t\n\r é 😀"), None);
        assert_eq!(first_non_xml_char("ab\u{1}"), Some(2));
        assert_eq!(first_non_xml_char("a\u{FFFF}"), Some(1));
        assert_eq!(first_non_xml_char("a\u{FFFE}"), Some(1));
        assert_eq!(first_non_xml_char("a\u{FFFD}\u{EFBF}"), None);
        assert!(!is_xml_char('\u{0}') && is_xml_char('\u{10FFFF}'));
        let across = format!("{}a\u{FFFE}", "é".repeat(31));
        assert_eq!(
            first_non_xml_char(&across),
            Some(63),
            "across a chunk boundary"
        );
    }
}
