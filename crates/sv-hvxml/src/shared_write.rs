//! Writing HealthVault's shared types: `d:date-time`, `t:codable-value`, `t:person`,
//! `t:name`, `t:Organization`, `t:contact`, each in schema order.

use sv_model::study::{
    Address, CodableValue, Contact, Email, HvDateTime, Name, Organization, Person, Phone,
};

use crate::writer::XmlOut;

/// `d:date-time`: `date` (y, m, d), `time`? (h, m, s?, f?), `tz`?. Numbers without leading
/// zeros, as HealthVault's SDKs write them.
pub(crate) fn write_date_time(out: &mut XmlOut, name: &str, when: &HvDateTime) {
    out.open(name, &[]);
    out.open("date", &[]);
    out.display("y", when.date.year());
    out.display("m", when.date.month());
    out.display("d", when.date.day());
    out.close("date");
    if let Some(time) = &when.time {
        out.open("time", &[]);
        out.display("h", time.hour());
        out.display("m", time.minute());
        if let Some(s) = time.second() {
            out.display("s", s);
        }
        if let Some(f) = time.millis() {
            out.display("f", f);
        }
        out.close("time");
    }
    if let Some(tz) = &when.tz {
        write_codable(out, "tz", tz);
    }
    out.close(name);
}

/// `t:codable-value`: `text`, then `code`* (value, family?, type, version?).
pub(crate) fn write_codable(out: &mut XmlOut, name: &str, value: &CodableValue) {
    out.open(name, &[]);
    out.text("text", &[], &value.text);
    for code in &value.codes {
        out.open("code", &[]);
        out.text("value", &[], &code.value);
        out.opt_text("family", code.family.as_deref());
        out.text("type", &[], &code.vocabulary);
        out.opt_text("version", code.version.as_deref());
        out.close("code");
    }
    out.close(name);
}

pub(crate) fn write_opt_codable(out: &mut XmlOut, name: &str, value: Option<&CodableValue>) {
    if let Some(value) = value {
        write_codable(out, name, value);
    }
}

/// `t:person`: `name`, `organization`?, `professional-training`?, `id`?, `contact`?, `type`?.
pub(crate) fn write_person(out: &mut XmlOut, name: &str, person: &Person) {
    out.open(name, &[]);
    write_name(out, &person.name);
    out.opt_text("organization", person.organization.as_deref());
    out.opt_text(
        "professional-training",
        person.professional_training.as_deref(),
    );
    out.opt_text("id", person.id.as_deref());
    if let Some(contact) = &person.contact {
        write_contact(out, contact);
    }
    write_opt_codable(out, "type", person.person_type.as_ref());
    out.close(name);
}

/// `t:name`: `full`, `title`?, `first`?, `middle`?, `last`?, `suffix`?.
fn write_name(out: &mut XmlOut, name: &Name) {
    out.open("name", &[]);
    out.text("full", &[], &name.full);
    write_opt_codable(out, "title", name.title.as_ref());
    out.opt_text("first", name.first.as_deref());
    out.opt_text("middle", name.middle.as_deref());
    out.opt_text("last", name.last.as_deref());
    write_opt_codable(out, "suffix", name.suffix.as_ref());
    out.close("name");
}

/// `t:Organization`: `name`, `contact`?, `type`?, `website`?.
pub(crate) fn write_organization(out: &mut XmlOut, name: &str, org: &Organization) {
    out.open(name, &[]);
    out.text("name", &[], &org.name);
    if let Some(contact) = &org.contact {
        write_contact(out, contact);
    }
    write_opt_codable(out, "type", org.org_type.as_ref());
    out.opt_text("website", org.website.as_deref());
    out.close(name);
}

/// `t:contact`: `address`*, `phone`*, `email`*.
fn write_contact(out: &mut XmlOut, contact: &Contact) {
    out.open("contact", &[]);
    for address in &contact.addresses {
        write_address(out, address);
    }
    for phone in &contact.phones {
        write_phone(out, phone);
    }
    for email in &contact.emails {
        write_email(out, email);
    }
    out.close("contact");
}

/// `t:address`: `description`?, `is-primary`?, `street`+, `city`, `state`?, `postcode`,
/// `country`, `county`?.
fn write_address(out: &mut XmlOut, address: &Address) {
    out.open("address", &[]);
    out.opt_text("description", address.description.as_deref());
    write_is_primary(out, address.is_primary);
    if address.street.is_empty() {
        // The schema needs one street line; the model allows none (see the crate docs).
        out.text("street", &[], "");
    }
    for street in &address.street {
        out.text("street", &[], street);
    }
    out.text("city", &[], &address.city);
    out.opt_text("state", address.state.as_deref());
    out.text("postcode", &[], &address.postcode);
    out.text("country", &[], &address.country);
    out.opt_text("county", address.county.as_deref());
    out.close("address");
}

/// `t:phone`: `description`?, `is-primary`?, `number`.
fn write_phone(out: &mut XmlOut, phone: &Phone) {
    out.open("phone", &[]);
    out.opt_text("description", phone.description.as_deref());
    write_is_primary(out, phone.is_primary);
    out.text("number", &[], &phone.number);
    out.close("phone");
}

/// `t:email`: `description`?, `is-primary`?, `address`.
fn write_email(out: &mut XmlOut, email: &Email) {
    out.open("email", &[]);
    out.opt_text("description", email.description.as_deref());
    write_is_primary(out, email.is_primary);
    out.text("address", &[], &email.address);
    out.close("email");
}

fn write_is_primary(out: &mut XmlOut, is_primary: Option<bool>) {
    if let Some(primary) = is_primary {
        out.display("is-primary", primary);
    }
}
