//! A small read-only element tree, and a cursor that walks children in schema order.

use std::borrow::Cow;
use std::ops::Range;

use crate::XmlError;

/// One element of a parsed document. Names and, usually, text borrow from the input.
#[derive(Debug)]
pub(crate) struct Element<'a> {
    /// The qualified name as written (`this:medical-image-study`, `when`).
    pub name: &'a str,
    /// Attributes as written (qualified names, `xmlns` declarations included), values
    /// normalised and unescaped.
    pub attrs: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    pub children: Vec<Element<'a>>,
    /// All character data directly inside this element, references resolved.
    pub text: Cow<'a, str>,
    /// Byte range of the whole element in the input, start tag to end tag.
    pub outer: Range<usize>,
    /// Byte range of the content between the tags (empty for `<x/>`).
    pub inner: Range<usize>,
}

impl<'a> Element<'a> {
    pub fn local_name(&self) -> &'a str {
        self.name.rsplit(':').next().unwrap_or(self.name)
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_ref())
    }

    /// The text of an element that may hold text only (`<y>2009</y>`).
    pub fn text_only(&self, what: &'static str) -> Result<&str, XmlError> {
        if !self.children.is_empty() {
            return Err(XmlError::InvalidValue {
                element: what,
                reason: "must contain text only",
            });
        }
        Ok(&self.text)
    }

    /// Children of an element that may hold elements only (whitespace aside).
    pub fn children_in_order(&self, what: &'static str) -> Result<Children<'_, 'a>, XmlError> {
        if !is_xml_whitespace(&self.text) {
            return Err(XmlError::InvalidValue {
                element: what,
                reason: "text is not allowed here, only elements",
            });
        }
        Ok(Children {
            parent: what,
            items: &self.children,
            pos: 0,
        })
    }
}

/// XML's whitespace: space, tab, carriage return, line feed (not Unicode's wider set).
pub(crate) fn is_xml_whitespace(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

/// `s` without XML whitespace at either end.
pub(crate) fn trim_xml_whitespace(s: &str) -> &str {
    s.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'))
}

/// Walks an element's children in the order an `xs:sequence` lists them: each call takes the
/// next child if it has the asked name; whatever is left at [`finish`](Children::finish) (an
/// unknown, repeated or out-of-order element) is an error.
#[derive(Debug)]
pub(crate) struct Children<'e, 'a> {
    parent: &'static str,
    items: &'e [Element<'a>],
    pos: usize,
}

impl<'e, 'a> Children<'e, 'a> {
    /// The next child, if it is called `name` (minOccurs="0").
    pub fn optional(&mut self, name: &str) -> Option<&'e Element<'a>> {
        let next = self.items.get(self.pos).filter(|e| e.name == name)?;
        self.pos += 1;
        Some(next)
    }

    /// The next child, which must be called `name` (minOccurs="1").
    pub fn required(&mut self, name: &'static str) -> Result<&'e Element<'a>, XmlError> {
        self.optional(name).ok_or(XmlError::MissingElement {
            parent: self.parent,
            element: name,
        })
    }

    /// All consecutive next children called `name` (maxOccurs="unbounded"), possibly none.
    pub fn repeated(&mut self, name: &str) -> &'e [Element<'a>] {
        let start = self.pos;
        while self.items.get(self.pos).is_some_and(|e| e.name == name) {
            self.pos += 1;
        }
        &self.items[start..self.pos]
    }

    /// Fails on the first child not consumed.
    pub fn finish(self) -> Result<(), XmlError> {
        match self.items.get(self.pos) {
            Some(extra) => Err(XmlError::unexpected(self.parent, extra.name)),
            None => Ok(()),
        }
    }
}
