//! Reading a client-sent `<thing>` for create or update.
//!
//! Read: `thing-id` (with its required `version-stamp`), `type-id`, `flags` and `data-xml`.
//! Everything else a client may send (`thing-state`, `eff-date`, audits, `blob-payload`,
//! `tags`, …) is accepted and ignored, as HealthVault ignores it on put; the store sets those
//! itself and blobs travel through their own endpoints.

use std::ops::Range;

use sv_model::{ThingFlags, ThingId, TypeId, VersionStamp};

use crate::dom::{Element, is_xml_whitespace, trim_xml_whitespace};
use crate::reader::{Document, parse};
use crate::{XmlError, XmlLimits};

/// A `<thing>` as a client sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThingInput {
    /// Absent on create; on update, the thing and the version the change is based on.
    pub key: Option<ThingKey>,
    pub type_id: Option<TypeId>,
    pub flags: Option<ThingFlags>,
    pub data_xml: Option<DataXmlInput>,
}

/// `thing-id` with its `version-stamp` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThingKey {
    pub id: ThingId,
    pub version: VersionStamp,
}

/// The content of `<data-xml>`: the type's element, then optionally `<common>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataXmlInput {
    xml: String,
    root: Range<usize>,
    root_name: Range<usize>,
    common: Option<Range<usize>>,
}

impl DataXmlInput {
    /// The inner XML of `<data-xml>`, byte for byte as sent, surrounding whitespace trimmed.
    /// Well-formed, and self-contained: it declares every namespace prefix it uses.
    pub fn as_str(&self) -> &str {
        &self.xml
    }

    pub fn into_string(self) -> String {
        self.xml
    }

    /// The type's element alone (e.g. `<medical-image-study>…</medical-image-study>`).
    pub fn type_xml(&self) -> &str {
        &self.xml[self.root.clone()]
    }

    /// The local name of the type's element (`medical-image-study`).
    pub fn root_name(&self) -> &str {
        &self.xml[self.root_name.clone()]
    }

    /// The `<common>…</common>` element, if sent.
    pub fn common_xml(&self) -> Option<&str> {
        self.common.clone().map(|r| &self.xml[r])
    }
}

/// Reads a `<thing>` within `limits` (see [`XmlLimits`] for what is refused).
pub fn read_thing(xml: &[u8], limits: &XmlLimits) -> Result<ThingInput, XmlError> {
    let doc = parse(xml, limits)?;
    let root = &doc.root;
    if root.name != "thing" {
        return Err(XmlError::unexpected("document", root.name));
    }
    refuse_default_namespace(root, "thing")?;
    let mut input = ThingInput {
        key: None,
        type_id: None,
        flags: None,
        data_xml: None,
    };
    if !is_xml_whitespace(&root.text) {
        return Err(XmlError::InvalidValue {
            element: "thing",
            reason: "text is not allowed here, only elements",
        });
    }
    for child in &root.children {
        match child.name {
            "thing-id" => set_once(&mut input.key, read_key(child)?, child)?,
            "type-id" => set_once(&mut input.type_id, read_type_id(child)?, child)?,
            "flags" => set_once(&mut input.flags, read_flags(child)?, child)?,
            "data-xml" => set_once(
                &mut input.data_xml,
                read_data_xml(&doc, child, limits)?,
                child,
            )?,
            _ => {} // accepted and ignored, as HealthVault does on put
        }
    }
    Ok(input)
}

fn set_once<T>(slot: &mut Option<T>, value: T, el: &Element<'_>) -> Result<(), XmlError> {
    if slot.is_some() {
        return Err(XmlError::unexpected("thing", el.name));
    }
    *slot = Some(value);
    Ok(())
}

fn read_key(el: &Element<'_>) -> Result<ThingKey, XmlError> {
    let id = guid(el, "thing-id")?;
    let version = el
        .attr("version-stamp")
        .ok_or(XmlError::MissingAttribute {
            element: "thing-id",
            attribute: "version-stamp",
        })?
        .parse()
        .map_err(|_| XmlError::InvalidValue {
            element: "thing-id",
            reason: "version-stamp is not a guid",
        })?;
    Ok(ThingKey { id, version })
}

fn read_type_id(el: &Element<'_>) -> Result<TypeId, XmlError> {
    guid(el, "type-id")
}

fn guid<T: std::str::FromStr>(el: &Element<'_>, what: &'static str) -> Result<T, XmlError> {
    trim_xml_whitespace(el.text_only(what)?)
        .parse()
        .map_err(|_| XmlError::InvalidValue {
            element: what,
            reason: "not a guid",
        })
}

fn read_flags(el: &Element<'_>) -> Result<ThingFlags, XmlError> {
    trim_xml_whitespace(el.text_only("flags")?)
        .parse()
        .map(ThingFlags)
        .map_err(|_| XmlError::InvalidValue {
            element: "flags",
            reason: "not an unsigned 32-bit integer",
        })
}

/// The type's element, then optionally `<common>`, nothing else but whitespace and comments.
fn read_data_xml(
    doc: &Document<'_>,
    el: &Element<'_>,
    limits: &XmlLimits,
) -> Result<DataXmlInput, XmlError> {
    refuse_default_namespace(el, "data-xml")?;
    if !is_xml_whitespace(&el.text) {
        return Err(XmlError::InvalidValue {
            element: "data-xml",
            reason: "text is not allowed here, only elements",
        });
    }
    let (root, common) = match el.children.as_slice() {
        [] => {
            return Err(XmlError::MissingElement {
                parent: "data-xml",
                element: "the type's root element",
            });
        }
        [root] => (root, None),
        [root, common] if common.name == "common" => (root, Some(common)),
        [_, extra, ..] => return Err(XmlError::unexpected("data-xml", extra.name)),
    };
    let inner = &doc.source[el.inner.clone()];
    let xml = trim_xml_whitespace(inner);
    let leading = inner.len() - inner.trim_start_matches([' ', '\t', '\r', '\n']).len();
    let base = el.inner.start + leading;
    let local = |r: &Range<usize>| r.start - base..r.end - base;
    let root_range = local(&root.outer);
    let name_start = root_range.start + 1 + (root.name.len() - root.local_name().len());
    let input = DataXmlInput {
        xml: xml.to_owned(),
        root: root_range,
        root_name: name_start..name_start + root.local_name().len(),
        common: common.map(|c| local(&c.outer)),
    };
    // Namespace prefixes declared on <thing> or <data-xml> would not travel with the stored
    // text: each part must stand on its own.
    parse(input.type_xml().as_bytes(), limits)?;
    if let Some(common) = input.common_xml() {
        parse(common.as_bytes(), limits)?;
    }
    Ok(input)
}

/// A default namespace on an ancestor would silently change what the stored text means once
/// it is cut out of the envelope; HealthVault's `<thing>` carries none.
fn refuse_default_namespace(el: &Element<'_>, what: &'static str) -> Result<(), XmlError> {
    if el.attr("xmlns").is_some() {
        return Err(XmlError::InvalidValue {
            element: what,
            reason: "a default namespace is not accepted here",
        });
    }
    Ok(())
}
