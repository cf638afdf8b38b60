//! A minimal indented XML writer over one `String`: elements, escaped text, raw fragments.
//!
//! Hand-written rather than quick-xml's `Writer` because it only ever appends to one buffer
//! (no `io::Write`, no `Result` on every call) and its escaping is exactly what round trips:
//! `&`, `<`, `>` always (so `]]>` cannot appear), carriage returns as `&#13;` (a raw one would
//! be normalised away by any reader), and in attributes also `"`, tab and line feed. Characters
//! XML 1.0 cannot carry at all (most C0 controls, U+FFFE, U+FFFF) become U+FFFD.

use std::fmt::Write as _;

#[derive(Debug)]
pub(crate) struct XmlOut {
    buf: String,
    depth: usize,
}

impl XmlOut {
    pub fn with_capacity(capacity: usize) -> Self {
        XmlOut {
            buf: String::with_capacity(capacity),
            depth: 0,
        }
    }

    pub fn finish(self) -> String {
        self.buf
    }

    /// `<name attr="…">` on a new line; the element stays open.
    pub fn open(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.start_tag(name, attrs);
        self.buf.push('>');
        self.depth += 1;
    }

    /// `</name>` on a new line.
    pub fn close(&mut self, name: &str) {
        self.depth -= 1;
        self.newline();
        self.buf.push_str("</");
        self.buf.push_str(name);
        self.buf.push('>');
    }

    /// `<name attr="…"/>`.
    pub fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.start_tag(name, attrs);
        self.buf.push_str("/>");
    }

    /// A well-formed fragment, verbatim, starting on a new line at the current indentation.
    pub fn raw(&mut self, xml: &str) {
        self.newline();
        self.buf.push_str(xml);
    }

    /// `<name attr="…">text</name>` on one line.
    pub fn text(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) {
        self.start_tag(name, attrs);
        self.buf.push('>');
        escape_into(&mut self.buf, text, false);
        self.end_inline(name);
    }

    pub fn opt_text(&mut self, name: &str, text: Option<&str>) {
        if let Some(text) = text {
            self.text(name, &[], text);
        }
    }

    /// `<name>value</name>` for anything that displays without escaping (numbers, guids).
    pub fn display(&mut self, name: &str, value: impl std::fmt::Display) {
        self.start_tag(name, &[]);
        self.buf.push('>');
        // Writing to a String cannot fail.
        let _ = write!(self.buf, "{value}");
        self.end_inline(name);
    }

    fn start_tag(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.newline();
        self.buf.push('<');
        self.buf.push_str(name);
        for (key, value) in attrs {
            self.buf.push(' ');
            self.buf.push_str(key);
            self.buf.push_str("=\"");
            escape_into(&mut self.buf, value, true);
            self.buf.push('"');
        }
    }

    fn end_inline(&mut self, name: &str) {
        self.buf.push_str("</");
        self.buf.push_str(name);
        self.buf.push('>');
    }

    fn newline(&mut self) {
        if !self.buf.is_empty() {
            self.buf.push('\n');
            for _ in 0..self.depth {
                self.buf.push_str("  ");
            }
        }
    }
}

/// Appends `text` escaped for element content, or for a double-quoted attribute value.
pub(crate) fn escape_into(buf: &mut String, text: &str, attribute: bool) {
    // Fast path: most text (UIDs, names, numbers) needs nothing.
    let needs_work = |b: u8| {
        matches!(b, b'&' | b'<' | b'>' | b'\r' | 0xEF)
            || (b < 0x20 && b != b'\t' && b != b'\n')
            || (attribute && matches!(b, b'"' | b'\t' | b'\n'))
    };
    if !text.bytes().any(needs_work) {
        buf.push_str(text);
        return;
    }
    for c in text.chars() {
        match c {
            '&' => buf.push_str("&amp;"),
            '<' => buf.push_str("&lt;"),
            '>' => buf.push_str("&gt;"),
            '\r' => buf.push_str("&#13;"),
            '"' if attribute => buf.push_str("&quot;"),
            '\t' if attribute => buf.push_str("&#9;"),
            '\n' if attribute => buf.push_str("&#10;"),
            '\t' | '\n' => buf.push(c),
            '\u{0}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}' => buf.push('\u{FFFD}'),
            _ => buf.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(text: &str, attribute: bool) -> String {
        let mut buf = String::new();
        escape_into(&mut buf, text, attribute);
        buf
    }

    #[test]
    fn text_and_attributes_are_escaped() {
        assert_eq!(escaped("1.2.840.10008", false), "1.2.840.10008");
        assert_eq!(escaped("a<b>&]]>\"'", false), "a&lt;b&gt;&amp;]]&gt;\"'");
        assert_eq!(escaped("l1\r\nl2\tx", false), "l1&#13;\nl2\tx");
        assert_eq!(escaped("a\"b\n\t", true), "a&quot;b&#10;&#9;");
        assert_eq!(
            escaped("bell\u{7}\u{FFFF}é", false),
            "bell\u{FFFD}\u{FFFD}é"
        );
    }

    #[test]
    fn elements_are_indented() {
        let mut out = XmlOut::with_capacity(64);
        out.open("a", &[("k", "v")]);
        out.display("n", 4);
        out.close("a");
        assert_eq!(out.finish(), "<a k=\"v\">\n  <n>4</n>\n</a>");
    }
}
