//! Reference search values: `id`, `Type/id`, or the absolute `<fhir_base>/Type/id`, with an
//! optional `:Type` modifier. A reference to another server, or to a version
//! (`…/_history/…`), matches nothing; it is not an error.

/// One reference search value, resolved against the record's FHIR base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RefValue {
    /// The value as given, for writing it back.
    pub text: String,
    /// The resource type, from the value or the `:Type` modifier; `None` when only an id.
    pub resource_type: Option<String>,
    pub id: String,
    /// Points elsewhere (another base, a version, a type the modifier contradicts).
    pub elsewhere: bool,
}

impl RefValue {
    pub fn parse(
        text: &str,
        type_modifier: Option<&str>,
        fhir_base: &str,
    ) -> Result<RefValue, &'static str> {
        let local = if text.starts_with("http://") || text.starts_with("https://") {
            let base = fhir_base.trim_end_matches('/');
            match text.strip_prefix(base).and_then(|r| r.strip_prefix('/')) {
                Some(rest) => rest,
                None => {
                    return Ok(RefValue {
                        text: text.to_owned(),
                        resource_type: None,
                        id: text.to_owned(),
                        elsewhere: true,
                    });
                }
            }
        } else {
            text
        };
        let segments: Vec<&str> = local.split('/').collect();
        let mut elsewhere = false;
        let (mut resource_type, id) = match segments.as_slice() {
            [id] => (None, *id),
            [t, id] => (Some((*t).to_owned()), *id),
            [t, id, ..] => {
                elsewhere = true;
                (Some((*t).to_owned()), *id)
            }
            [] => return Err("bad reference"),
        };
        if id.is_empty() || resource_type.as_deref() == Some("") {
            return Err("bad reference");
        }
        if let Some(m) = type_modifier {
            match &resource_type {
                Some(t) if t != m => elsewhere = true,
                _ => resource_type = Some(m.to_owned()),
            }
        }
        Ok(RefValue {
            text: text.to_owned(),
            resource_type,
            id: id.to_owned(),
            elsewhere,
        })
    }

    /// Does it name `resource_type/id` (ids compare exactly)?
    pub fn names(&self, resource_type: &str, id: &str) -> bool {
        !self.elsewhere
            && self.id == id
            && self
                .resource_type
                .as_deref()
                .is_none_or(|t| t == resource_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "http://h/v1/records/r/fhir";

    fn names(text: &str, modifier: Option<&str>) -> bool {
        RefValue::parse(text, modifier, BASE)
            .unwrap()
            .names("Patient", "p1")
    }

    #[test]
    fn relative_absolute_and_typed_forms_name_the_same_resource() {
        assert!(names("p1", None));
        assert!(names("Patient/p1", None));
        assert!(names("http://h/v1/records/r/fhir/Patient/p1", None));
        assert!(names("p1", Some("Patient")));
        assert!(names("Patient/p1", Some("Patient")));
        assert!(!names("P1", None));
        assert!(!names("Group/p1", None));
        assert!(!names("p1", Some("Group")));
        assert!(!names("Patient/p1", Some("Group")));
        assert!(!names("http://other/fhir/Patient/p1", None));
        assert!(!names("Patient/p1/_history/1", None));
        assert!(RefValue::parse("Patient/", None, BASE).is_err());
        assert!(RefValue::parse("/p1", None, BASE).is_err());
    }
}
