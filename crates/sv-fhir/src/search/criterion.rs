//! One search criterion (one occurrence of a parameter: its values are alternatives), parsed
//! from the table's row and matched against a study's digest.
//!
//! Modifiers: `:missing=true|false` on every parameter; `:not` on tokens (true when the study
//! has none of the values, including when the element is absent); `:text` on `reason` and
//! `bodysite`; `:of-type` on `identifier`; `:<Type>` on references, for the types the
//! parameter may point to. Any other modifier is refused whatever the handling: a modifier
//! changes what a criterion means, so ignoring one would silently widen the result.

use sv_model::ThingId;
use sv_model::study::StudyDigest;

use crate::datatypes::{DICOM_UID_SYSTEM, URI_SYSTEM};
use crate::datetime::Span;
use crate::error::FhirError;
use crate::imaging_study::{
    STUDY_STATUS, STUDY_STATUS_SYSTEM, reason_codes, referrer, series_modality, sop_class_coding,
    study_identifiers, study_started,
};
use crate::search::date::DateValue;
use crate::search::params::{DateField, Kind, RefField, SearchParam, TokenField};
use crate::search::reference::RefValue;
use crate::search::token::{Compare, OfType, SystemMatch, Target, Token, strip_oid, text_matches};
use crate::search::values::{join_list, split_list};
use crate::{ENDPOINT_ID, body_site};

/// The most alternatives one parameter may list.
pub const MAX_VALUES: usize = 100;

/// FHIR's modifiers this server does not support (refused as `not-supported`, where any
/// other unknown modifier is `invalid`).
const FHIR_MODIFIERS: [&str; 11] = [
    "exact",
    "contains",
    "above",
    "below",
    "in",
    "not-in",
    "identifier",
    "iterate",
    "code-text",
    "text-advanced",
    "type",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Test {
    Missing(bool),
    Tokens { values: Vec<Token>, not: bool },
    OfType(Vec<OfType>),
    Text(Vec<String>),
    Dates(Vec<DateValue>),
    References(Vec<RefValue>),
}

/// A parsed criterion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Criterion {
    pub param: &'static SearchParam,
    /// Position of the parameter in the table, for the canonical order.
    pub rank: usize,
    pub modifier: Option<String>,
    pub test: Test,
}

/// What a study is matched with besides its digest.
pub(crate) struct Subject<'a> {
    pub thing: ThingId,
    pub digest: &'a StudyDigest,
    pub record: &'a str,
    pub now: i64,
    pub sop_study: &'a mut dyn FnMut(&str) -> Option<ThingId>,
}

impl Criterion {
    pub fn parse(
        param: &'static SearchParam,
        rank: usize,
        modifier: Option<&str>,
        raw: &str,
        fhir_base: &str,
    ) -> Result<Criterion, FhirError> {
        let name = param.name;
        let invalid = |reason| FhirError::invalid(name, reason);
        let test = if modifier == Some("missing") {
            match raw {
                "true" => Test::Missing(true),
                "false" => Test::Missing(false),
                _ => return Err(invalid(":missing takes true or false")),
            }
        } else {
            let items = split_list(raw).map_err(invalid)?;
            if items.len() > MAX_VALUES {
                return Err(FhirError::TooManyValues {
                    param: name.to_owned(),
                    max: MAX_VALUES,
                });
            }
            let single = |parts: &Vec<String>| match parts.as_slice() {
                [one] => Ok(one.clone()),
                _ => Err(invalid("unexpected '|'")),
            };
            match (param.kind, modifier) {
                (Kind::Token(_), None | Some("not")) => Test::Tokens {
                    values: items
                        .iter()
                        .map(|p| Token::from_parts(p).map_err(invalid))
                        .collect::<Result<_, _>>()?,
                    not: modifier.is_some(),
                },
                (Kind::Token(TokenField::Identifier), Some("of-type")) => Test::OfType(
                    items
                        .iter()
                        .map(|p| OfType::from_parts(p).map_err(invalid))
                        .collect::<Result<_, _>>()?,
                ),
                (Kind::Token(TokenField::Reason | TokenField::BodySite), Some("text")) => {
                    Test::Text(items.iter().map(single).collect::<Result<_, _>>()?)
                }
                (Kind::Date(_), None) => Test::Dates(
                    items
                        .iter()
                        .map(|p| DateValue::parse(&single(p)?).map_err(invalid))
                        .collect::<Result<_, _>>()?,
                ),
                (Kind::Reference(_, types), m) if m.is_none_or(|m| types.contains(&m)) => {
                    Test::References(
                        items
                            .iter()
                            .map(|p| RefValue::parse(&single(p)?, m, fhir_base).map_err(invalid))
                            .collect::<Result<_, _>>()?,
                    )
                }
                (_, Some(m)) if FHIR_MODIFIERS.contains(&m) || m == "not" || m == "text" => {
                    return Err(FhirError::not_supported(
                        &format!("{name}:{m}"),
                        "modifier not supported",
                    ));
                }
                (_, Some(m)) => {
                    return Err(FhirError::invalid(
                        &format!("{name}:{m}"),
                        "unknown modifier",
                    ));
                }
                (_, None) => return Err(invalid("no plain values")),
            }
        };
        Ok(Criterion {
            param,
            rank,
            modifier: modifier.map(str::to_owned),
            test,
        })
    }

    /// The `name[:modifier]` and value the canonical query writes.
    pub fn canonical(&self) -> (String, String) {
        let key = match &self.modifier {
            Some(m) => format!("{}:{m}", self.param.name),
            None => self.param.name.to_owned(),
        };
        let value = match &self.test {
            Test::Missing(m) => m.to_string(),
            Test::Tokens { values, .. } => join_list(values.iter().map(Token::parts)),
            Test::OfType(values) => join_list(values.iter().map(OfType::parts)),
            Test::Text(values) => join_list(values.iter().map(|v| [v.as_str()])),
            Test::Dates(values) => values
                .iter()
                .map(DateValue::canonical)
                .collect::<Vec<_>>()
                .join(","),
            Test::References(values) => join_list(values.iter().map(|v| [v.text.as_str()])),
        };
        (key, value)
    }

    pub fn matches(&self, s: &mut Subject<'_>) -> bool {
        match (&self.test, self.param.kind) {
            (Test::Missing(missing), kind) => present(kind, s.digest) != *missing,
            (Test::Tokens { values, not }, Kind::Token(TokenField::Instance)) => {
                let any = values.iter().any(|t| {
                    matches!(t.system, SystemMatch::Any | SystemMatch::NoSystem)
                        && t.code
                            .as_deref()
                            .is_some_and(|c| (s.sop_study)(strip_oid(c)) == Some(s.thing))
                });
                any != *not
            }
            (Test::Tokens { values, not }, Kind::Token(field)) => {
                let targets = token_targets(field, s.thing, s.digest);
                let any = values.iter().any(|v| targets.iter().any(|t| v.matches(t)));
                any != *not
            }
            (Test::OfType(values), _) => {
                study_identifiers(&s.digest.study_instance_uid, &s.digest.study)
                    .iter()
                    .any(|id| {
                        let types: Vec<(Option<&str>, Option<&str>)> = id
                            .type_
                            .iter()
                            .flat_map(|t| &t.coding)
                            .map(|c| (c.system.as_deref(), c.code.as_deref()))
                            .collect();
                        values
                            .iter()
                            .any(|v| v.matches(&types, id.value.as_deref()))
                    })
            }
            (Test::Text(values), Kind::Token(field)) => {
                let texts = texts(field, s.digest);
                values
                    .iter()
                    .any(|v| texts.iter().any(|t| text_matches(t, v)))
            }
            (Test::Dates(values), Kind::Date(field)) => {
                let Some(span) = date_span(field, s.digest) else {
                    return false;
                };
                values.iter().any(|v| v.matches(span, s.now))
            }
            (Test::References(values), Kind::Reference(field, _)) => {
                let (resource_type, id) = match field {
                    RefField::Patient => ("Patient", s.record),
                    RefField::Endpoint => ("Endpoint", ENDPOINT_ID),
                    RefField::Referrer | RefField::Absent => return false,
                };
                values.iter().any(|v| v.names(resource_type, id))
            }
            _ => false,
        }
    }
}

/// The stored values a token parameter matches, from the same helpers the mapping uses.
fn token_targets(field: TokenField, thing: ThingId, d: &StudyDigest) -> Vec<Target> {
    let ci = Compare::CaseInsensitive;
    match field {
        TokenField::Id => vec![Target::new(None, Some(&thing.to_string()), Compare::Exact)],
        TokenField::Identifier => study_identifiers(&d.study_instance_uid, &d.study)
            .iter()
            .map(|id| {
                let uid = id.system.as_deref() == Some(DICOM_UID_SYSTEM);
                let compare = if uid { Compare::Uid } else { ci };
                Target::new(id.system.as_deref(), id.value.as_deref(), compare)
            })
            .collect(),
        TokenField::Status => vec![Target::new(
            Some(STUDY_STATUS_SYSTEM),
            Some(STUDY_STATUS),
            ci,
        )],
        TokenField::Modality => d
            .series
            .iter()
            .map(|s| {
                let c = series_modality(&s.attributes);
                Target::new(c.system.as_deref(), c.code.as_deref(), ci)
            })
            .collect(),
        TokenField::BodySite => d
            .series
            .iter()
            .filter_map(|s| {
                s.attributes
                    .body_part
                    .as_deref()
                    .and_then(body_site::body_site)
            })
            .map(|c| Target::new(c.system.as_deref(), c.code.as_deref(), ci))
            .collect(),
        TokenField::DicomClass => d
            .sop_classes
            .iter()
            .map(|(class, _)| {
                let c = sop_class_coding(class);
                Target::new(Some(URI_SYSTEM), c.code.as_deref(), Compare::Uid)
            })
            .collect(),
        TokenField::Series => d
            .series
            .iter()
            .map(|s| Target::new(None, Some(&s.series_instance_uid), Compare::Uid))
            .collect(),
        // Text only (no codings), and instances go through the index: nothing to match here.
        TokenField::Reason | TokenField::Instance => Vec::new(),
    }
}

/// What `:text` reads: the reason's text, the body sites' displays.
fn texts(field: TokenField, d: &StudyDigest) -> Vec<String> {
    match field {
        TokenField::Reason => reason_codes(&d.study)
            .into_iter()
            .filter_map(|c| c.text)
            .collect(),
        TokenField::BodySite => d
            .series
            .iter()
            .filter_map(|s| {
                s.attributes
                    .body_part
                    .as_deref()
                    .and_then(body_site::body_site)
            })
            .filter_map(|c| c.display)
            .collect(),
        _ => Vec::new(),
    }
}

fn date_span(field: DateField, d: &StudyDigest) -> Option<Span> {
    match field {
        DateField::Started => study_started(&d.study).map(|s| s.span()),
        DateField::LastUpdated => Some(Span::instant(d.updated.unix_micros())),
    }
}

/// Whether the element a parameter searches is present (for `:missing`).
fn present(kind: Kind, d: &StudyDigest) -> bool {
    match kind {
        Kind::Token(TokenField::Id | TokenField::Identifier | TokenField::Status)
        | Kind::Date(DateField::LastUpdated)
        | Kind::Reference(RefField::Patient | RefField::Endpoint, _) => true,
        Kind::Token(TokenField::Modality | TokenField::Series) => !d.series.is_empty(),
        Kind::Token(TokenField::BodySite) => d.series.iter().any(|s| {
            s.attributes
                .body_part
                .as_deref()
                .and_then(body_site::body_site)
                .is_some()
        }),
        Kind::Token(TokenField::DicomClass) => !d.sop_classes.is_empty(),
        Kind::Token(TokenField::Instance) => d.instance_count > 0,
        Kind::Token(TokenField::Reason) => !reason_codes(&d.study).is_empty(),
        Kind::Date(DateField::Started) => study_started(&d.study).is_some(),
        Kind::Reference(RefField::Referrer, _) => referrer(&d.study).is_some(),
        Kind::Reference(RefField::Absent, _) => false,
    }
}
