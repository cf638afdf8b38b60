//! The record's `Patient`: who the studies say the person is.
//!
//! The Patient's id is the record id. Its names are the record's display name (`use:
//! "usual"`, text only) and then every distinct Patient's Name (0010,0010) the studies carry,
//! split into family, given (given and middle names), prefix and suffix. Identifiers are the
//! distinct Patient IDs, with no system (the issuer is not stored). `birthDate` and `gender`
//! are 0..1: they are given when every study that states one agrees, and left out when the
//! studies disagree, since the store cannot tell which is right.

use serde::Serialize;
use sv_model::Record;
use sv_model::study::{StudyDigest, parse_da, person_name_display, person_name_parts};

use crate::Links;
use crate::datatypes::{HumanName, Identifier};
use crate::imaging_study::non_blank;

/// An R4 `Patient`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "resourceType", rename = "Patient", rename_all = "camelCase")]
pub struct Patient {
    pub id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub identifier: Vec<Identifier>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub name: Vec<HumanName>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<String>,
}

/// The record's Patient, from the digests of its studies (in any order; the first study to
/// give a name or identifier places it).
pub fn patient(record: &Record, digests: &[StudyDigest], _links: &Links) -> Patient {
    let mut name = Vec::new();
    if let Some(display) = non_blank(Some(&record.name)) {
        name.push(HumanName {
            use_: Some("usual".to_owned()),
            text: Some(display),
            ..HumanName::default()
        });
    }
    let mut identifier = Vec::new();
    let mut birth_dates = Vec::new();
    let mut genders = Vec::new();
    for d in digests {
        let s = &d.study;
        if let Some(n) = s.patient_name.as_deref().and_then(human_name) {
            push_distinct(&mut name, n);
        }
        if let Some(id) = non_blank(s.patient_id.as_deref()) {
            push_distinct(
                &mut identifier,
                Identifier {
                    value: Some(id),
                    ..Identifier::default()
                },
            );
        }
        if let Some(date) = s.patient_birth_date.as_deref().and_then(parse_da) {
            let date = format!("{:04}-{:02}-{:02}", date.year(), date.month(), date.day());
            push_distinct(&mut birth_dates, date);
        }
        if let Some(g) = s.patient_sex.as_deref().and_then(gender) {
            push_distinct(&mut genders, g.to_owned());
        }
    }
    Patient {
        id: record.id.to_string(),
        identifier,
        name,
        gender: only(genders),
        birth_date: only(birth_dates),
    }
}

/// A PN as a HumanName; `None` when it names no one.
fn human_name(pn: &str) -> Option<HumanName> {
    let text = person_name_display(pn)?;
    let [family, given, middle, prefix, suffix] = person_name_parts(pn);
    let owned = |p: Option<&str>| p.map(str::to_owned);
    Some(HumanName {
        use_: None,
        text: Some(text),
        family: owned(family),
        given: [given, middle]
            .into_iter()
            .flatten()
            .map(str::to_owned)
            .collect(),
        prefix: owned(prefix).into_iter().collect(),
        suffix: owned(suffix).into_iter().collect(),
    })
}

/// Patient's Sex (0010,0040) as an AdministrativeGender.
fn gender(sex: &str) -> Option<&'static str> {
    match sex.trim().to_ascii_uppercase().as_str() {
        "M" => Some("male"),
        "F" => Some("female"),
        "O" => Some("other"),
        _ => None,
    }
}

fn push_distinct<T: PartialEq>(list: &mut Vec<T>, item: T) {
    if !list.contains(&item) {
        list.push(item);
    }
}

fn only<T>(mut values: Vec<T>) -> Option<T> {
    if values.len() == 1 {
        values.pop()
    } else {
        None
    }
}
