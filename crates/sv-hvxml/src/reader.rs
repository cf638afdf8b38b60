//! The bounded reader: untrusted bytes in, a well-formed element tree out, or a refusal.
//!
//! Boring on purpose: a size limit checked before anything is parsed, a nesting-depth limit,
//! UTF-8 only, no DTD at all (a `<!DOCTYPE` is refused, so there are no entity declarations,
//! no external entities and no expansion bombs), only the five predefined entities and
//! character references, matching end tags, exactly one root, no text outside it, declared
//! namespace prefixes only.

use std::borrow::Cow;

use quick_xml::XmlVersion;
use quick_xml::errors::Error as QxError;
use quick_xml::escape::EscapeError;
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

use crate::XmlError;
use crate::chars::{first_non_xml_char, is_qname, is_xml_char};
use crate::dom::{Element, is_xml_whitespace};
use crate::error::truncate;

/// Bounds on untrusted XML. Inner crates take this plain struct; the binary fills it from
/// configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XmlLimits {
    /// Largest accepted document, in bytes (default 1 MiB).
    pub max_bytes: usize,
    /// Deepest accepted element nesting; the root is depth 1 (default 64).
    pub max_depth: usize,
}

impl XmlLimits {
    pub const DEFAULT: XmlLimits = XmlLimits {
        max_bytes: 1 << 20,
        max_depth: 64,
    };
}

impl Default for XmlLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A parsed document: the source text (BOM removed) and its root element.
#[derive(Debug)]
pub(crate) struct Document<'a> {
    pub source: &'a str,
    pub root: Element<'a>,
}

/// Parses `input` within `limits`; see the module documentation for what is refused.
pub(crate) fn parse<'a>(input: &'a [u8], limits: &XmlLimits) -> Result<Document<'a>, XmlError> {
    if input.len() > limits.max_bytes {
        return Err(XmlError::TooLarge {
            len: input.len(),
            max: limits.max_bytes,
        });
    }
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let source = std::str::from_utf8(input).map_err(|e| XmlError::NotUtf8 {
        offset: e.valid_up_to() as u64,
    })?;
    if let Some(at) = first_non_xml_char(source) {
        return Err(XmlError::malformed(
            at as u64,
            "character not allowed in xml 1.0",
        ));
    }
    Parser {
        reader: NsReader::from_str(source),
        source,
        limits,
        stack: Vec::new(),
        root: None,
    }
    .run()
}

struct Parser<'a, 'l> {
    reader: NsReader<&'a [u8]>,
    source: &'a str,
    limits: &'l XmlLimits,
    stack: Vec<Element<'a>>,
    root: Option<Element<'a>>,
}

impl<'a> Parser<'a, '_> {
    fn run(mut self) -> Result<Document<'a>, XmlError> {
        self.reader.config_mut().check_comments = true;
        loop {
            let before = self.reader.buffer_position() as usize;
            let event = match self.reader.read_event() {
                Ok(event) => event,
                Err(e) => return Err(self.convert(e, self.reader.error_position())),
            };
            let after = self.reader.buffer_position() as usize;
            match event {
                Event::Decl(decl) => {
                    if before != 0 {
                        return Err(XmlError::malformed(before as u64, "misplaced declaration"));
                    }
                    let at = before as u64;
                    match decl.version() {
                        Ok(version) if version == "1.0" => {}
                        Ok(_) => return Err(XmlError::malformed(at, "only xml 1.0 is accepted")),
                        Err(e) => return Err(self.convert(e, at)),
                    }
                    if let Some(encoding) = decl.encoding() {
                        let encoding = encoding.map_err(|e| self.convert(e.into(), at))?;
                        if !encoding.eq_ignore_ascii_case("utf-8") {
                            return Err(XmlError::NotUtf8 { offset: 0 });
                        }
                    }
                }
                Event::DocType(_) => {
                    return Err(XmlError::DoctypeForbidden {
                        offset: before as u64,
                    });
                }
                Event::Start(start) => {
                    let element = self.open(&start, before, after)?;
                    self.stack.push(element);
                }
                Event::Empty(start) => {
                    let mut element = self.open(&start, before, after)?;
                    element.inner = after..after;
                    self.close(element);
                }
                Event::End(_) => {
                    // quick-xml has checked that the names match.
                    let mut element = self.stack.pop().ok_or_else(|| {
                        XmlError::malformed(before as u64, "end tag without a start tag")
                    })?;
                    element.inner.end = before;
                    element.outer.end = after;
                    self.close(element);
                }
                Event::Text(text) => {
                    if text.contains("]]>") {
                        return Err(XmlError::malformed(before as u64, "']]>' in text"));
                    }
                    let text = text.xml10_content();
                    match self.stack.last_mut() {
                        // Between child elements only "is it whitespace?" matters: keep
                        // whitespace out of the buffer instead of accumulating it.
                        Some(top) if !top.children.is_empty() && is_xml_whitespace(&text) => {}
                        Some(top) => append(&mut top.text, text),
                        None if is_xml_whitespace(&text) => {}
                        None => {
                            return Err(XmlError::malformed(
                                before as u64,
                                "text outside the root element",
                            ));
                        }
                    }
                }
                Event::CData(cdata) => {
                    let top = self.in_element(before, "cdata outside the root element")?;
                    append(&mut top.text, cdata.xml10_content());
                }
                Event::GeneralRef(reference) => {
                    let resolved = resolve_reference(&reference, before as u64)?;
                    let top = self.in_element(before, "reference outside the root element")?;
                    append(&mut top.text, resolved);
                }
                Event::Comment(_) | Event::PI(_) => {}
                Event::Eof => return self.finish(),
            }
        }
    }

    fn open(
        &self,
        start: &BytesStart<'a>,
        before: usize,
        after: usize,
    ) -> Result<Element<'a>, XmlError> {
        if self.stack.len() >= self.limits.max_depth {
            return Err(XmlError::TooDeep {
                max: self.limits.max_depth,
                offset: before as u64,
            });
        }
        if self.stack.is_empty() && self.root.is_some() {
            return Err(XmlError::malformed(
                before as u64,
                "more than one root element",
            ));
        }
        let at = before as u64;
        let resolver = self.reader.resolver();
        let name_len = start.name().as_ref().len();
        let name = &self.source[before + 1..before + 1 + name_len];
        if !is_qname(name) {
            return Err(XmlError::malformed(at, "invalid element name"));
        }
        if let (ResolveResult::Unknown(_), _) = resolver.resolve_element(start.name()) {
            return Err(XmlError::malformed(at, "undeclared namespace prefix"));
        }
        let mut attrs = Vec::new();
        for attr in start.attributes() {
            let attr = attr.map_err(|e| self.convert(e.into(), at))?;
            let key = attr.key.as_ref();
            if !is_qname(key) {
                return Err(XmlError::malformed(at, "invalid attribute name"));
            }
            if attr.value.contains('<') {
                return Err(XmlError::malformed(at, "'<' in an attribute value"));
            }
            if key.starts_with("xmlns:") && attr.value.is_empty() {
                return Err(XmlError::malformed(at, "empty namespace name for a prefix"));
            }
            if let (ResolveResult::Unknown(_), _) = resolver.resolve_attribute(attr.key) {
                return Err(XmlError::malformed(at, "undeclared namespace prefix"));
            }
            let value = attr
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|e| self.convert(e, at))?;
            // Key and (usually) value point into the input: re-borrow them from it so the
            // element can keep them without copying.
            let key = own_if_needed(self.source, Cow::Borrowed(key));
            attrs.push((key, own_if_needed(self.source, value)));
        }
        Ok(Element {
            name,
            attrs,
            children: Vec::new(),
            text: Cow::Borrowed(""),
            outer: before..after,
            inner: after..after,
        })
    }

    fn close(&mut self, element: Element<'a>) {
        match self.stack.last_mut() {
            Some(parent) => parent.children.push(element),
            None => self.root = Some(element),
        }
    }

    fn in_element(&mut self, at: usize, reason: &str) -> Result<&mut Element<'a>, XmlError> {
        self.stack
            .last_mut()
            .ok_or_else(|| XmlError::malformed(at as u64, reason))
    }

    fn finish(self) -> Result<Document<'a>, XmlError> {
        let end = self.source.len() as u64;
        if let Some(open) = self.stack.last() {
            return Err(XmlError::malformed(
                end,
                format!("element '{}' is not closed", truncate(open.name, 64)),
            ));
        }
        match self.root {
            Some(root) => Ok(Document {
                source: self.source,
                root,
            }),
            None => Err(XmlError::malformed(end, "no root element")),
        }
    }

    fn convert(&self, error: QxError, offset: u64) -> XmlError {
        match error {
            QxError::Escape(EscapeError::UnrecognizedEntity(_, name)) => {
                XmlError::UndefinedEntity {
                    name: truncate(&name, 32),
                    offset,
                }
            }
            other => XmlError::malformed(offset, other.to_string()),
        }
    }
}

/// The replacement text of a reference: one of the five predefined entities or a character
/// reference to a character XML allows. Anything else is an undefined entity: there is no DTD
/// that could have declared it.
fn resolve_reference<'a>(reference: &BytesRef<'a>, offset: u64) -> Result<Cow<'a, str>, XmlError> {
    if reference.is_char_ref() {
        return match reference.resolve_char_ref() {
            Ok(Some(c)) if is_xml_char(c) => Ok(Cow::Owned(c.to_string())),
            _ => Err(XmlError::malformed(offset, "invalid character reference")),
        };
    }
    let text = match &**reference {
        "lt" => "<",
        "gt" => ">",
        "amp" => "&",
        "apos" => "'",
        "quot" => "\"",
        name => {
            return Err(XmlError::UndefinedEntity {
                name: truncate(name, 32),
                offset,
            });
        }
    };
    Ok(Cow::Borrowed(text))
}

fn append<'a>(text: &mut Cow<'a, str>, more: Cow<'a, str>) {
    if text.is_empty() {
        *text = more;
    } else if !more.is_empty() {
        text.to_mut().push_str(&more);
    }
}

/// `part` re-borrowed with the lifetime of `source`, if it points into it.
fn borrow_from<'a>(source: &'a str, part: &str) -> Option<&'a str> {
    let start = (part.as_ptr() as usize).checked_sub(source.as_ptr() as usize)?;
    source.get(start..start + part.len())
}

fn own_if_needed<'a>(source: &'a str, value: Cow<'_, str>) -> Cow<'a, str> {
    match value {
        Cow::Borrowed(s) => match borrow_from(source, s) {
            Some(s) => Cow::Borrowed(s),
            None => Cow::Owned(s.to_owned()),
        },
        Cow::Owned(s) => Cow::Owned(s),
    }
}
