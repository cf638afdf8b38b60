//! `QidoQuery::parse`: decoded query pairs to criteria, requested keys, paging and warnings.

use std::collections::BTreeSet;

use super::matcher::Criterion;
use super::{Level, QidoQuery, Scope};
use crate::attributes::{self, Attribute, Key};
use crate::error::{QidoError, clip};

/// The largest `limit` honoured; a bigger one is capped (with a warning).
pub const MAX_LIMIT: usize = 1000;

/// At most this many warnings are listed; one more says that others were left out, so a
/// query of many ignored keys cannot make a huge `Warning` header.
pub const MAX_WARNINGS: usize = 16;

impl QidoQuery {
    /// Decoded query pairs in order (repeated keys kept). Keys are keywords or 8-hex tags
    /// (case-insensitive hex), `includefield` (repeated and/or comma lists, `all`), `limit`,
    /// `offset`, `fuzzymatching` (`true`|`false`); the parameter names are matched
    /// case-insensitively. Keys that name real DICOM attributes this level does not hold, and
    /// sequence (dotted) keys, are ignored and listed in [`warnings`](Self::warnings); so are
    /// `emptyvaluematching` and `multiplevaluematching`. Pairs with an empty key are skipped.
    ///
    /// Errors (400): a key that is no keyword, tag or parameter; a malformed value (date or
    /// time range, UID list, number, `limit`, `offset`, `fuzzymatching`); `limit`, `offset`
    /// or `fuzzymatching` given twice.
    pub fn parse(
        level: Level,
        scope: &Scope,
        pairs: &[(String, String)],
    ) -> Result<QidoQuery, QidoError> {
        let scope = Scope {
            study: scope.study.clone().filter(|_| level > Level::Study),
            series: scope.series.clone().filter(|_| level > Level::Series),
        };
        let mut query = QidoQuery {
            level,
            attributes: known_attributes(level, &scope),
            scope,
            criteria: Vec::new(),
            requested: BTreeSet::new(),
            include_all: false,
            limit: None,
            offset: 0,
            fuzzy: false,
            warnings: Vec::new(),
        };
        let (mut limit_seen, mut offset_seen, mut fuzzy_seen) = (false, false, false);
        for (key, value) in pairs {
            if key.is_empty() {
                continue;
            }
            match key.to_ascii_lowercase().as_str() {
                "includefield" => query.include(value)?,
                "limit" => {
                    let limit = once(&mut limit_seen, key, uint(key, value))?;
                    if limit > MAX_LIMIT {
                        query.warn(format!("limit capped at {MAX_LIMIT}"));
                    }
                    query.limit = Some(limit.min(MAX_LIMIT));
                }
                "offset" => query.offset = once(&mut offset_seen, key, uint(key, value))?,
                "fuzzymatching" => {
                    let fuzzy = match value.trim().to_ascii_lowercase().as_str() {
                        "true" => Ok(true),
                        "false" => Ok(false),
                        _ => Err(QidoError::invalid(key, "must be true or false")),
                    };
                    query.fuzzy = once(&mut fuzzy_seen, key, fuzzy)?;
                }
                "emptyvaluematching" | "multiplevaluematching" => {
                    query.warn(format!("'{}' is not supported: ignored", clip(key)));
                }
                _ => query.match_key(key, value)?,
            }
        }
        Ok(query)
    }

    fn include(&mut self, value: &str) -> Result<(), QidoError> {
        for item in value.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            if item.eq_ignore_ascii_case("all") {
                self.include_all = true;
            } else if let Some(attribute) = self.resolve(item)? {
                self.requested.insert(attribute.tag);
            }
        }
        Ok(())
    }

    fn match_key(&mut self, key: &str, value: &str) -> Result<(), QidoError> {
        let Some(attribute) = self.resolve(key)? else {
            return Ok(());
        };
        self.requested.insert(attribute.tag);
        if !attribute.matching {
            if !value.trim().is_empty() {
                self.warn(format!(
                    "'{}' is not supported for matching: ignored",
                    clip(key)
                ));
            }
            return Ok(());
        }
        if let Some(criterion) = Criterion::parse(attribute, key, value)? {
            self.criteria.push(criterion);
        }
        Ok(())
    }

    /// The attribute a key names at this level, or `None` (with a warning) when it names a
    /// real attribute we do not hold here, or a sequence.
    fn resolve(&mut self, key: &str) -> Result<Option<&'static Attribute>, QidoError> {
        if key.contains('.') {
            let real = key.split('.').all(|part| {
                matches!(Key::parse(part), Key::Tag(_)) || attributes::is_dicom_keyword(part)
            });
            if !real {
                return Err(QidoError::unknown(key));
            }
            self.warn(format!(
                "'{}': sequence matching is not supported: ignored",
                clip(key)
            ));
            return Ok(None);
        }
        let parsed = Key::parse(key);
        if let Some(attribute) = self.attributes.iter().copied().find(|a| match &parsed {
            Key::Tag(t) => a.tag == *t,
            Key::Keyword(k) => a.keyword == k,
        }) {
            return Ok(Some(attribute));
        }
        let real = match &parsed {
            Key::Tag(_) => true,
            Key::Keyword(k) => {
                attributes::find_anywhere(&parsed).is_some() || attributes::is_dicom_keyword(k)
            }
        };
        if !real {
            return Err(QidoError::unknown(key));
        }
        self.warn(format!(
            "'{}' is not held at this level: ignored",
            clip(key)
        ));
        Ok(None)
    }

    fn warn(&mut self, message: String) {
        if self.warnings.len() > MAX_WARNINGS || self.warnings.contains(&message) {
            return;
        }
        if self.warnings.len() == MAX_WARNINGS {
            self.warnings.push("more keys were ignored".to_owned());
        } else {
            self.warnings.push(message);
        }
    }
}

/// The attributes a level knows: the tables of the levels above whose UID the path does not
/// fix, then its own, ascending by tag; the lower level's row wins a shared tag.
fn known_attributes(level: Level, scope: &Scope) -> Vec<&'static Attribute> {
    let mut levels = Vec::new();
    if level > Level::Study && scope.study.is_none() {
        levels.push(Level::Study);
    }
    if level > Level::Series && scope.series.is_none() {
        levels.push(Level::Series);
    }
    levels.push(level);
    let mut by_tag = std::collections::BTreeMap::new();
    for l in levels {
        for a in attributes::table(l) {
            by_tag.insert(a.tag, a);
        }
    }
    by_tag.into_values().collect()
}

fn uint(key: &str, value: &str) -> Result<usize, QidoError> {
    let value = value.trim();
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(QidoError::invalid(key, "not an unsigned integer"));
    }
    // All digits: only too big can fail, and too big means "as many as there are".
    Ok(value.parse().unwrap_or(usize::MAX))
}

fn once<T>(seen: &mut bool, key: &str, value: Result<T, QidoError>) -> Result<T, QidoError> {
    if std::mem::replace(seen, true) {
        return Err(QidoError::invalid(key, "given more than once"));
    }
    value
}
