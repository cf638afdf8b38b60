//! The R4 ImagingStudy search engine: query pairs in, a [`SearchRequest`] out, which then
//! matches and orders study digests and writes its own canonical query for the links.
//!
//! Decisions (see also the notes of `criterion`, `token`, `date`, `reference`, `sort`):
//! - Unknown parameters are ignored under lenient handling (the default) and listed by
//!   [`SearchRequest::ignored`]; under strict handling they are a 400 (`not-supported`).
//!   Bad values, unknown modifiers and unsupported options are a 400 under either handling.
//! - Empty values (`started=`) are ignored, as FHIR asks.
//! - Result parameters (`_count`, `_offset`, `_sort`, `_summary`, `_total`, `_elements`,
//!   `_format`, `_pretty`) may be given once; `_include` may repeat.
//! - `_count`: default [`DEFAULT_COUNT`], clamped to [`MAX_COUNT`]; `0` means count only.
//! - `_summary`: `count` counts only; `false` and `data` change nothing (the store writes no
//!   narrative); `true` and `text` are `not-supported`.
//! - `_total`: `none` leaves `Bundle.total` out; `estimate` and `accurate` give the exact
//!   total, as does no `_total`.
//! - `_elements` names top-level ImagingStudy elements; an unknown name is `invalid`.

mod criterion;
mod date;
mod params;
mod query;
mod reference;
mod sort;
mod token;
mod values;

use std::cmp::Ordering;

use sv_model::study::StudyDigest;
use sv_model::{RecordId, ThingId, Timestamp};

pub use criterion::MAX_VALUES;
pub(crate) use params::{INCLUDES, PARAMS};

use crate::Links;
use crate::elements::IMAGING_STUDY_ELEMENTS;
use crate::error::{FhirError, clip};
use criterion::{Criterion, Subject};
use params::{CONTROL_PARAMS, param};
use sort::{DEFAULT_SORT, SortKey};

/// Matches per page when `_count` is not given.
pub const DEFAULT_COUNT: usize = 20;
/// The most matches one page holds; a bigger `_count` is clamped to it.
pub const MAX_COUNT: usize = 200;

/// Every ImagingStudy search parameter as `(name, FHIR SearchParamType code)`, in table
/// order: what other query languages (GraphQL arguments) offer, read from the table the
/// parser uses.
pub fn search_parameters() -> impl Iterator<Item = (&'static str, &'static str)> {
    PARAMS.iter().map(|p| (p.name, p.kind.type_code()))
}

/// What to do with unknown parameters (`Prefer: handling=strict|lenient`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Handling {
    #[default]
    Lenient,
    Strict,
}

/// The record a search runs in, and where its resources live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchContext {
    pub record: RecordId,
    pub links: Links,
}

/// A resource `_include` brings along with the matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Include {
    /// The record's Patient (`ImagingStudy:subject`, or `ImagingStudy:patient`).
    Patient,
    /// The record's DICOMweb Endpoint (`ImagingStudy:endpoint`).
    Endpoint,
}

impl Include {
    /// The canonical `_include` value.
    pub fn as_str(&self) -> &'static str {
        INCLUDES
            .iter()
            .find(|(_, i)| i == self)
            .map_or("", |(name, _)| name)
    }
}

/// `_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TotalMode {
    None,
    Estimate,
    Accurate,
}

/// A parsed ImagingStudy search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchRequest {
    criteria: Vec<Criterion>,
    includes: Vec<Include>,
    elements: Option<Vec<String>>,
    /// As given; empty means the default order.
    sort: Vec<SortKey>,
    count: usize,
    offset: usize,
    summary_count: bool,
    total: Option<TotalMode>,
    format: Option<String>,
    pretty: Option<String>,
    ignored: Vec<String>,
    record: String,
    links: Links,
    /// When the request was parsed (µs), the anchor of `ap`.
    now: i64,
}

impl SearchRequest {
    /// Parses decoded query pairs (GET query or POST `_search` form body), in order, repeated
    /// keys kept.
    pub fn parse(
        pairs: &[(String, String)],
        handling: Handling,
        ctx: &SearchContext,
    ) -> Result<SearchRequest, FhirError> {
        Self::parse_at(pairs, handling, ctx, Timestamp::now())
    }

    /// [`parse`](Self::parse) with the clock given: `now` anchors `ap` date matching.
    pub fn parse_at(
        pairs: &[(String, String)],
        handling: Handling,
        ctx: &SearchContext,
        now: Timestamp,
    ) -> Result<SearchRequest, FhirError> {
        let mut request = SearchRequest {
            criteria: Vec::new(),
            includes: Vec::new(),
            elements: None,
            sort: Vec::new(),
            count: DEFAULT_COUNT,
            offset: 0,
            summary_count: false,
            total: None,
            format: None,
            pretty: None,
            ignored: Vec::new(),
            record: ctx.record.to_string(),
            links: ctx.links.clone(),
            now: now.unix_micros(),
        };
        let mut seen: Vec<&str> = Vec::new();
        for (key, value) in pairs {
            if key.is_empty() || value.is_empty() {
                continue;
            }
            let (name, modifier) = match key.split_once(':') {
                Some((n, m)) => (n, Some(m)),
                None => (key.as_str(), None),
            };
            if let Some(control) = CONTROL_PARAMS.iter().find(|c| **c == name) {
                if modifier.is_some() {
                    return Err(FhirError::invalid(key, "takes no modifier"));
                }
                if *control != "_include" {
                    if seen.contains(control) {
                        return Err(FhirError::invalid(control, "given more than once"));
                    }
                    seen.push(control);
                }
                request.control(control, value)?;
            } else if let Some((rank, p)) = param(name) {
                let base = &request.links.fhir_base;
                let c = Criterion::parse(p, rank, modifier, value, base)?;
                request.criteria.push(c);
            } else if handling == Handling::Strict {
                return Err(FhirError::not_supported(key, "unknown search parameter"));
            } else {
                let key = clip(key);
                if !request.ignored.contains(&key) {
                    request.ignored.push(key);
                }
            }
        }
        request.criteria.sort_by_key(|c| c.rank);
        request.includes.sort();
        Ok(request)
    }

    fn control(&mut self, name: &'static str, value: &str) -> Result<(), FhirError> {
        match name {
            "_count" => self.count = number(name, value)?.min(MAX_COUNT),
            "_offset" => self.offset = number(name, value)?,
            "_sort" => self.sort = sort::parse_sort(value)?,
            "_summary" => match value {
                "count" => self.summary_count = true,
                "false" | "data" => {}
                "true" | "text" => return Err(FhirError::not_supported(name, "unsupported value")),
                _ => return Err(FhirError::invalid(name, "unknown value")),
            },
            "_total" => {
                self.total = Some(match value {
                    "none" => TotalMode::None,
                    "estimate" => TotalMode::Estimate,
                    "accurate" => TotalMode::Accurate,
                    _ => return Err(FhirError::invalid(name, "unknown value")),
                })
            }
            "_elements" => {
                let mut keep: Vec<String> = Vec::new();
                for element in value.split(',').map(str::trim) {
                    if !IMAGING_STUDY_ELEMENTS.contains(&element) {
                        return Err(FhirError::invalid(name, "unknown element"));
                    }
                    if !keep.iter().any(|k| k == element) {
                        keep.push(element.to_owned());
                    }
                }
                self.elements = Some(keep);
            }
            "_include" => {
                let include = INCLUDES
                    .iter()
                    .find(|(n, _)| *n == value)
                    .map(|(_, i)| *i)
                    .ok_or_else(|| FhirError::not_supported(name, "unsupported include"))?;
                if !self.includes.contains(&include) {
                    self.includes.push(include);
                }
            }
            "_format" => self.format = Some(value.to_owned()),
            "_pretty" => self.pretty = Some(value.to_owned()),
            _ => return Err(FhirError::not_supported(name, "unsupported parameter")),
        }
        Ok(())
    }

    /// Does this study match every criterion? `sop_study` resolves a SOP Instance UID to the
    /// live study thing that holds it, for the `instance` parameter.
    pub fn matches(
        &self,
        thing: ThingId,
        digest: &StudyDigest,
        sop_study: &mut dyn FnMut(&str) -> Option<ThingId>,
    ) -> bool {
        let mut subject = Subject {
            thing,
            digest,
            record: &self.record,
            now: self.now,
            sop_study,
        };
        self.criteria.iter().all(|c| c.matches(&mut subject))
    }

    /// The result order: `_sort`, or newest first (`-started,-_lastUpdated`); ties by thing id.
    pub fn compare(&self, a: (ThingId, &StudyDigest), b: (ThingId, &StudyDigest)) -> Ordering {
        let keys = if self.sort.is_empty() {
            &DEFAULT_SORT[..]
        } else {
            &self.sort[..]
        };
        sort::compare(keys, a, b)
    }

    /// How many matches to skip (`_offset`, default 0).
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// How many matches the page holds: `_count` (default 20, at most [`MAX_COUNT`]), or 0
    /// when only the total is asked for.
    pub fn count(&self) -> usize {
        if self.summary_count { 0 } else { self.count }
    }

    /// Only the total is wanted (`_summary=count` or `_count=0`).
    pub fn summary_count(&self) -> bool {
        self.summary_count || self.count == 0
    }

    /// Whether `Bundle.total` is wanted (all but `_total=none`).
    pub fn wants_total(&self) -> bool {
        self.total != Some(TotalMode::None)
    }

    /// Unknown parameters ignored under lenient handling (names cut to 64 characters).
    pub fn ignored(&self) -> &[String] {
        &self.ignored
    }

    /// What `_include` asks for, each once.
    pub fn includes(&self) -> &[Include] {
        &self.includes
    }

    /// The top-level elements `_elements` keeps, if given.
    pub fn elements(&self) -> Option<&[String]> {
        self.elements.as_deref()
    }

    /// The record's links.
    pub fn links(&self) -> &Links {
        &self.links
    }
}

/// `_count` and `_offset`: decimal digits only.
fn number(name: &str, value: &str) -> Result<usize, FhirError> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FhirError::invalid(name, "not a non-negative integer"));
    }
    value
        .parse()
        .map_err(|_| FhirError::invalid(name, "too large"))
}
