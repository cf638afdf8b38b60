//! DICOM JSON (PS18 Annex F.2) elements and objects: keys are 8 uppercase hex digits in
//! ascending order, every element has `"vr"`, and an empty element has no `"Value"`.
//!
//! PN values are objects of their non-empty `=` groups (`Alphabetic`, `Ideographic`,
//! `Phonetic`); IS and US values are JSON numbers when they parse (IS stays a string
//! otherwise, which F.2.3 allows); every other VR we write is a string.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::attributes::Vr;

/// An object from elements by tag, written in ascending tag order whatever map type
/// serde_json was built with (`preserve_order` keeps insertion order).
pub(crate) fn object(elements: BTreeMap<u32, Value>) -> Value {
    let mut map = Map::new();
    for (tag, element) in elements {
        map.insert(format!("{tag:08X}"), element);
    }
    Value::Object(map)
}

/// An element of text values (already split and trimmed), encoded for its VR.
pub(crate) fn element<S: AsRef<str>>(vr: Vr, values: &[S]) -> Value {
    let values: Vec<Value> = values
        .iter()
        .map(|v| v.as_ref())
        .filter_map(|v| encode(vr, v))
        .collect();
    with_values(vr.as_str(), values)
}

/// An element of any VR from JSON values: `{"vr":…}` alone when there are none.
pub(crate) fn with_values(vr: &str, values: Vec<Value>) -> Value {
    if values.is_empty() {
        json!({ "vr": vr })
    } else {
        json!({ "vr": vr, "Value": values })
    }
}

fn encode(vr: Vr, value: &str) -> Option<Value> {
    match vr {
        Vr::PN => person_name(value),
        Vr::IS => Some(
            value
                .parse::<i64>()
                .map_or_else(|_| Value::from(value), Value::from),
        ),
        Vr::US => Some(
            value
                .parse::<u16>()
                .map_or_else(|_| Value::from(value), Value::from),
        ),
        _ => Some(Value::from(value)),
    }
}

fn person_name(value: &str) -> Option<Value> {
    let mut groups = Map::new();
    for (name, group) in ["Alphabetic", "Ideographic", "Phonetic"]
        .into_iter()
        .zip(value.split('='))
    {
        let group = group.trim();
        if !group.is_empty() {
            groups.insert(name.to_owned(), Value::from(group));
        }
    }
    (!groups.is_empty()).then_some(Value::Object(groups))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_follow_their_vr() {
        assert_eq!(element(Vr::IS, &["12"]), json!({"vr":"IS","Value":[12]}));
        assert_eq!(
            element(Vr::IS, &["1.5"]),
            json!({"vr":"IS","Value":["1.5"]})
        );
        assert_eq!(element(Vr::US, &["512"]), json!({"vr":"US","Value":[512]}));
        assert_eq!(
            element(Vr::DA, &["20200101"]),
            json!({"vr":"DA","Value":["20200101"]})
        );
        assert_eq!(element::<&str>(Vr::SH, &[]), json!({"vr":"SH"}));
        assert_eq!(
            element(Vr::PN, &["Yamada^Tarou=山田^太郎=やまだ^たろう"]),
            json!({"vr":"PN","Value":[{"Alphabetic":"Yamada^Tarou","Ideographic":"山田^太郎","Phonetic":"やまだ^たろう"}]})
        );
        assert_eq!(
            element(Vr::PN, &["=山田^太郎"]),
            json!({"vr":"PN","Value":[{"Ideographic":"山田^太郎"}]})
        );
    }
}
