//! The QIDO-RS attribute tables: one table per level of the attributes we match and return
//! (tag, keyword, VR, where the value comes from, whether it is returned by default, whether
//! matching on it is supported). Query parsing, matching, `includefield` and the response
//! objects all read these tables, so what we match and what we return cannot drift apart.
//!
//! Values are the raw DICOM text the store keeps (`InstanceFacts`, `StudyDigest`), or are
//! computed (counts, Modalities in Study, SOP Classes in Study, Retrieve URL).

mod instance;
mod series;
mod study;

use std::borrow::Cow;
use std::sync::OnceLock;

use sv_model::study::{InstanceFacts, SeriesAttributes, SeriesDigest, StudyDigest};

pub use instance::INSTANCE_ATTRIBUTES;
pub use series::SERIES_ATTRIBUTES;
pub use study::STUDY_ATTRIBUTES;

use crate::qido::Level;

/// The value representations of the attributes we hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::upper_case_acronyms)]
pub enum Vr {
    CS,
    DA,
    IS,
    LO,
    PN,
    SH,
    TM,
    UI,
    UR,
    US,
}

impl Vr {
    pub fn as_str(self) -> &'static str {
        match self {
            Vr::CS => "CS",
            Vr::DA => "DA",
            Vr::IS => "IS",
            Vr::LO => "LO",
            Vr::PN => "PN",
            Vr::SH => "SH",
            Vr::TM => "TM",
            Vr::UI => "UI",
            Vr::UR => "UR",
            Vr::US => "US",
        }
    }
}

/// When an attribute appears in a response object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    /// Always (PS18 type R/U): empty (`{"vr":…}`) when we have no value.
    Always,
    /// When we have a value (PS18 type C, "if present").
    IfPresent,
    /// Only when asked for, by `includefield` (or `all`) or as a matching key.
    OnRequest,
}

/// Where a value comes from: the study digest, and at series and instance level the series
/// and the instance. `base` is the DICOMweb service base (empty while matching).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Row<'a> {
    pub digest: &'a StudyDigest,
    pub series: Option<SeriesRow<'a>>,
    pub instance: Option<&'a InstanceFacts>,
    pub base: &'a str,
}

/// The series of a row: from the digest when it knows the series (with its count), else
/// from the instance's own facts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SeriesRow<'a> {
    pub uid: &'a str,
    pub attributes: &'a SeriesAttributes,
    pub instance_count: Option<u32>,
}

impl<'a> Row<'a> {
    pub fn study(digest: &'a StudyDigest, base: &'a str) -> Row<'a> {
        Row {
            digest,
            series: None,
            instance: None,
            base,
        }
    }

    pub fn series(digest: &'a StudyDigest, series: &'a SeriesDigest, base: &'a str) -> Row<'a> {
        Row {
            series: Some(SeriesRow {
                uid: &series.series_instance_uid,
                attributes: &series.attributes,
                instance_count: Some(series.instance_count),
            }),
            ..Row::study(digest, base)
        }
    }

    pub fn instance(digest: &'a StudyDigest, facts: &'a InstanceFacts, base: &'a str) -> Row<'a> {
        let found = digest
            .series
            .binary_search_by(|s| s.series_instance_uid.cmp(&facts.series_instance_uid))
            .ok()
            .map(|i| &digest.series[i]);
        let series = match found {
            Some(s) => SeriesRow {
                uid: &s.series_instance_uid,
                attributes: &s.attributes,
                instance_count: Some(s.instance_count),
            },
            None => SeriesRow {
                uid: &facts.series_instance_uid,
                attributes: &facts.series,
                instance_count: None,
            },
        };
        Row {
            digest,
            series: Some(series),
            instance: Some(facts),
            base,
        }
    }
}

/// The raw values of an attribute in a row (not yet split on backslash); empty when absent.
pub(crate) type Values<'a> = Vec<Cow<'a, str>>;
pub(crate) type Getter = for<'r, 'a> fn(&'r Row<'a>) -> Values<'a>;

/// One attribute of a level's table.
#[derive(Debug)]
pub struct Attribute {
    /// `(group << 16) | element`.
    pub tag: u32,
    pub keyword: &'static str,
    pub vr: Vr,
    /// The level the attribute belongs to in the Query/Retrieve information model.
    pub level: Level,
    pub returned: Returned,
    /// Whether a query value on this key filters results (else it is ignored, with a warning,
    /// and the attribute is returned).
    pub matching: bool,
    pub(crate) get: Getter,
}

impl Attribute {
    /// The tag as DICOM JSON spells it: 8 uppercase hex digits.
    pub fn tag_hex(&self) -> String {
        format!("{:08X}", self.tag)
    }

    /// The values of this attribute in a row, split into DICOM values (backslash), trimmed,
    /// empty ones dropped.
    pub(crate) fn values<'a>(&self, row: &Row<'a>) -> Vec<Cow<'a, str>> {
        let mut out = Vec::new();
        for raw in (self.get)(row) {
            match raw {
                Cow::Borrowed(s) => out.extend(
                    s.split('\\')
                        .map(str::trim)
                        .filter(|v| !v.is_empty())
                        .map(Cow::Borrowed),
                ),
                Cow::Owned(s) => out.extend(
                    s.split('\\')
                        .map(str::trim)
                        .filter(|v| !v.is_empty())
                        .map(|v| Cow::Owned(v.to_owned())),
                ),
            }
        }
        out
    }
}

/// One optional text value.
pub(crate) fn one(value: Option<&str>) -> Values<'_> {
    value.map(Cow::Borrowed).into_iter().collect()
}

/// One computed number.
pub(crate) fn number<'a>(value: Option<u32>) -> Values<'a> {
    value
        .map(|n| Cow::Owned(n.to_string()))
        .into_iter()
        .collect()
}

/// The tables that hold a level's own attributes.
pub fn table(level: Level) -> &'static [Attribute] {
    match level {
        Level::Study => STUDY_ATTRIBUTES,
        Level::Series => SERIES_ATTRIBUTES,
        Level::Instance => INSTANCE_ATTRIBUTES,
    }
}

/// An attribute by 8-hex tag (any case) or keyword, in one table.
pub(crate) fn find(table: &'static [Attribute], key: &Key) -> Option<&'static Attribute> {
    table.iter().find(|a| match key {
        Key::Tag(t) => a.tag == *t,
        Key::Keyword(k) => a.keyword == k,
    })
}

/// A query key as written: a tag or a keyword.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Key {
    Tag(u32),
    Keyword(String),
}

impl Key {
    /// `0020000D`/`0020000d` is a tag; anything else is taken as a keyword.
    pub fn parse(key: &str) -> Key {
        if key.len() == 8 && key.bytes().all(|b| b.is_ascii_hexdigit()) {
            Key::Tag(u32::from_str_radix(key, 16).expect("8 hex digits"))
        } else {
            Key::Keyword(key.to_owned())
        }
    }
}

/// Whether a keyword is in the DICOM data dictionary (PS3.6, retired ones included).
pub fn is_dicom_keyword(keyword: &str) -> bool {
    keywords().binary_search(&keyword).is_ok()
}

/// The keywords of `keywords.txt` (its `#` header skipped), sorted by bytes.
fn keywords() -> &'static [&'static str] {
    static KEYWORDS: OnceLock<Vec<&'static str>> = OnceLock::new();
    KEYWORDS.get_or_init(|| {
        include_str!("keywords.txt")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .collect()
    })
}

/// The attribute of another level that a key names, if any (for warnings).
pub(crate) fn find_anywhere(key: &Key) -> Option<&'static Attribute> {
    [STUDY_ATTRIBUTES, SERIES_ATTRIBUTES, INSTANCE_ATTRIBUTES]
        .into_iter()
        .find_map(|t| find(t, key))
}

/// `{base}/studies/{study}[/series/{series}[/instances/{sop}]]`.
pub(crate) fn retrieve_url(
    base: &str,
    study: &str,
    series: Option<&str>,
    sop: Option<&str>,
) -> String {
    let mut url = format!("{base}/studies/{study}");
    if let Some(series) = series {
        url.push_str("/series/");
        url.push_str(series);
        if let Some(sop) = sop {
            url.push_str("/instances/");
            url.push_str(sop);
        }
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dictionary_knows_real_keywords_only() {
        assert!(is_dicom_keyword("StudyDescription"));
        assert!(is_dicom_keyword("BitsAllocated"));
        assert!(!is_dicom_keyword("StudyDescriptionX"));
        assert!(!is_dicom_keyword("studydescription"));
        assert!(!is_dicom_keyword("# DICOM keywords"));
        assert!(!is_dicom_keyword(""));
    }

    #[test]
    fn the_keyword_list_is_sorted_for_binary_search() {
        let list = keywords();
        assert!(list.len() > 5000);
        assert!(list.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn tables_have_unique_tags_and_keywords_and_ascending_tags() {
        for level in [Level::Study, Level::Series, Level::Instance] {
            let t = table(level);
            for w in t.windows(2) {
                assert!(
                    w[0].tag < w[1].tag,
                    "{} then {}",
                    w[0].keyword,
                    w[1].keyword
                );
            }
            for a in t {
                assert!(is_dicom_keyword(a.keyword), "{}", a.keyword);
            }
        }
    }
}
