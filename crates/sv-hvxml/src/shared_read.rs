//! Reading HealthVault's shared types (`d:date-time`, `t:codable-value`, `t:person`, `t:name`,
//! `t:Organization`, `t:contact`) from the element tree, in schema order.
//!
//! Plain `xs:string` values are kept exactly as written (surrounding whitespace included);
//! numbers and booleans are whitespace-collapsed as XML Schema does, so `<m> 04 </m>` is 4.

use sv_model::study::{
    Address, CodableValue, CodedValue, Contact, Email, HvDate, HvDateTime, HvTime, Name,
    Organization, Person, Phone,
};

use crate::XmlError;
use crate::dom::{Element, trim_xml_whitespace};

/// `d:date-time`: `date` (y, m, d), `time`? (h, m, s?, f?), `tz`?.
pub(crate) fn read_date_time(el: &Element<'_>, what: &'static str) -> Result<HvDateTime, XmlError> {
    let mut c = el.children_in_order(what)?;
    let date_el = c.required("date")?;
    let mut d = date_el.children_in_order("date")?;
    let year = int(d.required("y")?, "y")?;
    let month = int(d.required("m")?, "m")?;
    let day = int(d.required("d")?, "d")?;
    d.finish()?;
    let date = HvDate::new(year, month, day).map_err(|source| XmlError::InvalidStudy {
        element: "date",
        source,
    })?;
    let time = c.optional("time").map(read_time).transpose()?;
    let tz = c
        .optional("tz")
        .map(|e| read_codable(e, "tz"))
        .transpose()?;
    c.finish()?;
    Ok(HvDateTime { date, time, tz })
}

fn read_time(el: &Element<'_>) -> Result<HvTime, XmlError> {
    let mut t = el.children_in_order("time")?;
    let hour = int(t.required("h")?, "h")?;
    let minute = int(t.required("m")?, "m")?;
    let second = t.optional("s").map(|e| int(e, "s")).transpose()?;
    let millis = t.optional("f").map(|e| int(e, "f")).transpose()?;
    t.finish()?;
    HvTime::new(hour, minute, second, millis).map_err(|source| XmlError::InvalidStudy {
        element: "time",
        source,
    })
}

/// `t:codable-value`: `text`, `code`* (value, family?, type, version?).
pub(crate) fn read_codable(el: &Element<'_>, what: &'static str) -> Result<CodableValue, XmlError> {
    let mut c = el.children_in_order(what)?;
    let text = string(c.required("text")?, "text")?;
    let codes = c
        .repeated("code")
        .iter()
        .map(read_coded)
        .collect::<Result<_, _>>()?;
    c.finish()?;
    Ok(CodableValue { text, codes })
}

fn read_coded(el: &Element<'_>) -> Result<CodedValue, XmlError> {
    let mut c = el.children_in_order("code")?;
    let value = string(c.required("value")?, "value")?;
    let family = opt_string(c.optional("family"), "family")?;
    let vocabulary = string(c.required("type")?, "type")?;
    let version = opt_string(c.optional("version"), "version")?;
    c.finish()?;
    Ok(CodedValue {
        value,
        family,
        vocabulary,
        version,
    })
}

pub(crate) fn opt_codable(
    el: Option<&Element<'_>>,
    what: &'static str,
) -> Result<Option<CodableValue>, XmlError> {
    el.map(|e| read_codable(e, what)).transpose()
}

/// `t:person`: `name`, `organization`?, `professional-training`?, `id`?, `contact`?, `type`?.
pub(crate) fn read_person(el: &Element<'_>, what: &'static str) -> Result<Person, XmlError> {
    let mut c = el.children_in_order(what)?;
    let name = read_name(c.required("name")?)?;
    let organization = opt_string(c.optional("organization"), "organization")?;
    let professional_training =
        opt_string(c.optional("professional-training"), "professional-training")?;
    let id = opt_string(c.optional("id"), "id")?;
    let contact = c.optional("contact").map(read_contact).transpose()?;
    let person_type = opt_codable(c.optional("type"), "type")?;
    c.finish()?;
    Ok(Person {
        name,
        organization,
        professional_training,
        id,
        contact,
        person_type,
    })
}

/// `t:name`: `full`, `title`?, `first`?, `middle`?, `last`?, `suffix`?.
fn read_name(el: &Element<'_>) -> Result<Name, XmlError> {
    let mut c = el.children_in_order("name")?;
    let full = string(c.required("full")?, "full")?;
    let title = opt_codable(c.optional("title"), "title")?;
    let first = opt_string(c.optional("first"), "first")?;
    let middle = opt_string(c.optional("middle"), "middle")?;
    let last = opt_string(c.optional("last"), "last")?;
    let suffix = opt_codable(c.optional("suffix"), "suffix")?;
    c.finish()?;
    Ok(Name {
        full,
        title,
        first,
        middle,
        last,
        suffix,
    })
}

/// `t:Organization`: `name`, `contact`?, `type`?, `website`?.
pub(crate) fn read_organization(
    el: &Element<'_>,
    what: &'static str,
) -> Result<Organization, XmlError> {
    let mut c = el.children_in_order(what)?;
    let name = string(c.required("name")?, "name")?;
    let contact = c.optional("contact").map(read_contact).transpose()?;
    let org_type = opt_codable(c.optional("type"), "type")?;
    let website = opt_string(c.optional("website"), "website")?;
    c.finish()?;
    Ok(Organization {
        name,
        contact,
        org_type,
        website,
    })
}

/// `t:contact`: `address`*, `phone`*, `email`*.
fn read_contact(el: &Element<'_>) -> Result<Contact, XmlError> {
    let mut c = el.children_in_order("contact")?;
    let addresses = c
        .repeated("address")
        .iter()
        .map(read_address)
        .collect::<Result<_, _>>()?;
    let phones = c
        .repeated("phone")
        .iter()
        .map(read_phone)
        .collect::<Result<_, _>>()?;
    let emails = c
        .repeated("email")
        .iter()
        .map(read_email)
        .collect::<Result<_, _>>()?;
    c.finish()?;
    Ok(Contact {
        addresses,
        phones,
        emails,
    })
}

fn read_address(el: &Element<'_>) -> Result<Address, XmlError> {
    let mut c = el.children_in_order("address")?;
    let description = opt_string(c.optional("description"), "description")?;
    let is_primary = opt_bool(c.optional("is-primary"))?;
    let street = c
        .repeated("street")
        .iter()
        .map(|e| string(e, "street"))
        .collect::<Result<Vec<_>, _>>()?;
    if street.is_empty() {
        return Err(XmlError::MissingElement {
            parent: "address",
            element: "street",
        });
    }
    let city = string(c.required("city")?, "city")?;
    let state = opt_string(c.optional("state"), "state")?;
    let postcode = string(c.required("postcode")?, "postcode")?;
    let country = string(c.required("country")?, "country")?;
    let county = opt_string(c.optional("county"), "county")?;
    c.finish()?;
    Ok(Address {
        description,
        is_primary,
        street,
        city,
        state,
        postcode,
        country,
        county,
    })
}

fn read_phone(el: &Element<'_>) -> Result<Phone, XmlError> {
    let mut c = el.children_in_order("phone")?;
    let description = opt_string(c.optional("description"), "description")?;
    let is_primary = opt_bool(c.optional("is-primary"))?;
    let number = string(c.required("number")?, "number")?;
    c.finish()?;
    Ok(Phone {
        description,
        is_primary,
        number,
    })
}

fn read_email(el: &Element<'_>) -> Result<Email, XmlError> {
    let mut c = el.children_in_order("email")?;
    let description = opt_string(c.optional("description"), "description")?;
    let is_primary = opt_bool(c.optional("is-primary"))?;
    let address = string(c.required("address")?, "address")?;
    c.finish()?;
    Ok(Email {
        description,
        is_primary,
        address,
    })
}

/// An `xs:string` element's text, exactly as written.
pub(crate) fn string(el: &Element<'_>, what: &'static str) -> Result<String, XmlError> {
    el.text_only(what).map(str::to_owned)
}

pub(crate) fn opt_string(
    el: Option<&Element<'_>>,
    what: &'static str,
) -> Result<Option<String>, XmlError> {
    el.map(|e| string(e, what)).transpose()
}

/// An `xs:int` element: optional sign, digits, surrounding whitespace ignored.
pub(crate) fn int(el: &Element<'_>, what: &'static str) -> Result<i64, XmlError> {
    trim_xml_whitespace(el.text_only(what)?)
        .parse()
        .map_err(|_| XmlError::InvalidValue {
            element: what,
            reason: "not an integer",
        })
}

/// An `xs:boolean` element: `true`, `false`, `1` or `0`.
fn opt_bool(el: Option<&Element<'_>>) -> Result<Option<bool>, XmlError> {
    let Some(el) = el else { return Ok(None) };
    match trim_xml_whitespace(el.text_only("is-primary")?) {
        "true" | "1" => Ok(Some(true)),
        "false" | "0" => Ok(Some(false)),
        _ => Err(XmlError::InvalidValue {
            element: "is-primary",
            reason: "not a boolean",
        }),
    }
}
