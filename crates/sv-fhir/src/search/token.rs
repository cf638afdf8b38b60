//! Token values (`code`, `system|code`, `|code`, `system|`) and how they match.
//!
//! Matching is case-insensitive (FHIR: "when in doubt, servers SHOULD match
//! case-insensitively"), except `_id`, which is exact. UIDs compare without a leading
//! `urn:oid:`, on either side, so `1.2.3`, `urn:oid:1.2.3` and the stored `urn:oid:1.2.3` are
//! one value.

/// Which systems a token accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SystemMatch {
    /// `code`: any system, or none.
    Any,
    /// `|code`: only values without a system.
    NoSystem,
    /// `system|code` or `system|`.
    Is(String),
}

/// One token search value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub system: SystemMatch,
    /// `None` for `system|`: any code of the system.
    pub code: Option<String>,
}

/// How a stored value compares with a searched code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compare {
    CaseInsensitive,
    /// A UID: `urn:oid:` optional on both sides.
    Uid,
    /// `_id`: exact.
    Exact,
}

/// A stored value a token can match: one Coding, Identifier or id, flattened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub system: Option<String>,
    pub code: Option<String>,
    pub compare: Compare,
}

impl Target {
    pub fn new(system: Option<&str>, code: Option<&str>, compare: Compare) -> Target {
        Target {
            system: system.map(str::to_owned),
            code: code.map(str::to_owned),
            compare,
        }
    }
}

impl Token {
    /// A token from a value's `|` parts (see `values::split_list`).
    pub fn from_parts(parts: &[String]) -> Result<Token, &'static str> {
        match parts {
            [code] => Ok(Token {
                system: SystemMatch::Any,
                code: Some(code.clone()),
            }),
            [system, code] if system.is_empty() && code.is_empty() => Err("bad token"),
            [system, code] if system.is_empty() => Ok(Token {
                system: SystemMatch::NoSystem,
                code: Some(code.clone()),
            }),
            [system, code] => Ok(Token {
                system: SystemMatch::Is(system.clone()),
                code: (!code.is_empty()).then(|| code.clone()),
            }),
            _ => Err("bad token"),
        }
    }

    /// The token's `|` parts, for writing it back.
    pub fn parts(&self) -> Vec<&str> {
        let code = self.code.as_deref().unwrap_or("");
        match &self.system {
            SystemMatch::Any => vec![code],
            SystemMatch::NoSystem => vec!["", code],
            SystemMatch::Is(s) => vec![s, code],
        }
    }

    pub fn matches(&self, target: &Target) -> bool {
        let system_ok = match &self.system {
            SystemMatch::Any => true,
            SystemMatch::NoSystem => target.system.is_none(),
            SystemMatch::Is(s) => target.system.as_deref().is_some_and(|t| eq_ci(t, s)),
        };
        let code_ok = match (&self.code, target.code.as_deref()) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(c), Some(t)) => match target.compare {
                Compare::CaseInsensitive => eq_ci(t, c),
                Compare::Uid => eq_ci(strip_oid(t), strip_oid(c)),
                Compare::Exact => t == c,
            },
        };
        system_ok && code_ok
    }
}

/// `identifier:of-type`: `typeSystem|typeCode|value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OfType {
    pub type_system: String,
    pub type_code: String,
    pub value: String,
}

impl OfType {
    pub fn from_parts(parts: &[String]) -> Result<OfType, &'static str> {
        match parts {
            [s, c, v] if !s.is_empty() && !c.is_empty() && !v.is_empty() => Ok(OfType {
                type_system: s.clone(),
                type_code: c.clone(),
                value: v.clone(),
            }),
            _ => Err("of-type needs type-system|type-code|value"),
        }
    }

    pub fn parts(&self) -> Vec<&str> {
        vec![&self.type_system, &self.type_code, &self.value]
    }

    /// Against an identifier's type codings (system, code) and its value.
    pub fn matches(&self, types: &[(Option<&str>, Option<&str>)], value: Option<&str>) -> bool {
        value.is_some_and(|v| eq_ci(v, &self.value))
            && types.iter().any(|(s, c)| {
                s.is_some_and(|s| eq_ci(s, &self.type_system))
                    && c.is_some_and(|c| eq_ci(c, &self.type_code))
            })
    }
}

/// `:text`: case-insensitive, the text or one of its words starts with the value.
pub(crate) fn text_matches(text: &str, value: &str) -> bool {
    let text = text.to_lowercase();
    let value = value.trim().to_lowercase();
    if value.is_empty() {
        return false;
    }
    text.starts_with(&value)
        || text
            .match_indices(|c: char| !c.is_alphanumeric())
            .any(|(i, sep)| text[i + sep.len()..].starts_with(&value))
}

fn eq_ci(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b) || (!a.is_ascii() && a.to_lowercase() == b.to_lowercase())
}

pub(crate) fn strip_oid(uid: &str) -> &str {
    let uid = uid.trim();
    match uid.get(..8) {
        Some(p) if p.eq_ignore_ascii_case("urn:oid:") => &uid[8..],
        _ => uid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(raw: &[&str]) -> Token {
        Token::from_parts(&raw.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn the_four_token_forms() {
        let coded = Target::new(Some("http://s"), Some("CT"), Compare::CaseInsensitive);
        let bare = Target::new(None, Some("CT"), Compare::CaseInsensitive);
        assert!(token(&["ct"]).matches(&coded) && token(&["ct"]).matches(&bare));
        assert!(token(&["http://s", "CT"]).matches(&coded));
        assert!(!token(&["http://s", "CT"]).matches(&bare));
        assert!(!token(&["http://other", "CT"]).matches(&coded));
        assert!(token(&["", "CT"]).matches(&bare) && !token(&["", "CT"]).matches(&coded));
        assert!(token(&["http://s", ""]).matches(&coded));
        assert!(!token(&["http://s", ""]).matches(&bare));
        assert!(Token::from_parts(&["".into(), "".into()]).is_err());
        assert!(Token::from_parts(&["a".into(), "b".into(), "c".into()]).is_err());
    }

    #[test]
    fn uids_ignore_urn_oid_and_ids_are_exact() {
        let uid = Target::new(Some("urn:dicom:uid"), Some("urn:oid:1.2.3"), Compare::Uid);
        assert!(token(&["1.2.3"]).matches(&uid));
        assert!(token(&["URN:OID:1.2.3"]).matches(&uid));
        assert!(!token(&["1.2.34"]).matches(&uid));
        let id = Target::new(None, Some("abc"), Compare::Exact);
        assert!(token(&["abc"]).matches(&id) && !token(&["ABC"]).matches(&id));
    }

    #[test]
    fn text_matches_the_start_of_a_word() {
        assert!(text_matches("Chest pain, acute", "chest"));
        assert!(text_matches("Chest pain, acute", "ACU"));
        assert!(!text_matches("Chest pain, acute", "ute"));
        assert!(!text_matches("Chest", " "));
    }
}
