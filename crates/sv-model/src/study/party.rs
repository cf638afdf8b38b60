//! People and organizations (`t:person`, `t:name`, `t:Organization`, `t:contact`).

use crate::study::CodableValue;

/// A person's name (`t:name`); `full` is required, the parts are optional.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Name {
    pub full: String,
    pub title: Option<CodableValue>,
    pub first: Option<String>,
    pub middle: Option<String>,
    pub last: Option<String>,
    pub suffix: Option<CodableValue>,
}

/// A person (`t:person`), e.g. the referring physician.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Person {
    pub name: Name,
    pub organization: Option<String>,
    pub professional_training: Option<String>,
    pub id: Option<String>,
    pub contact: Option<Contact>,
    pub person_type: Option<CodableValue>,
}

/// An organization (`t:Organization`), e.g. the institution that made a series.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Organization {
    pub name: String,
    pub contact: Option<Contact>,
    pub org_type: Option<CodableValue>,
    pub website: Option<String>,
}

/// Ways to reach someone (`t:contact`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Contact {
    pub addresses: Vec<Address>,
    pub phones: Vec<Phone>,
    pub emails: Vec<Email>,
}

/// A postal address (`t:address`): at least one street line; city, postcode, country required.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Address {
    pub description: Option<String>,
    pub is_primary: Option<bool>,
    pub street: Vec<String>,
    pub city: String,
    pub state: Option<String>,
    pub postcode: String,
    pub country: String,
    pub county: Option<String>,
}

/// A phone number (`t:phone`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Phone {
    pub description: Option<String>,
    pub is_primary: Option<bool>,
    pub number: String,
}

/// An e-mail address (`t:email`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Email {
    pub description: Option<String>,
    pub is_primary: Option<bool>,
    pub address: String,
}
