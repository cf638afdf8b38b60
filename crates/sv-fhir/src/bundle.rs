//! The `searchset` Bundle of one page of search results.
//!
//! Entries: the page's studies (`match`, narrowed by `_elements`), then the included
//! resources (`include`), then, when unknown parameters were ignored, one warning
//! `OperationOutcome` (`outcome`). Links: `self` always; `first`, `previous`, `next` and
//! `last` unless only the total was asked for. Every link is a GET URL of the canonical query
//! and parses back to the same request (with its own `_offset`).

use serde::Serialize;

use crate::endpoint::Endpoint;
use crate::imaging_study::ImagingStudy;
use crate::outcome::{IssueCode, OperationOutcome, Severity, operation_outcome};
use crate::patient::Patient;
use crate::search::SearchRequest;

/// Any resource the store serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Resource {
    ImagingStudy(Box<ImagingStudy>),
    Patient(Patient),
    Endpoint(Endpoint),
    OperationOutcome(OperationOutcome),
}

impl Resource {
    /// `Type/id`, for resources that have an id.
    fn type_and_id(&self) -> Option<(&'static str, &str)> {
        match self {
            Resource::ImagingStudy(s) => Some(("ImagingStudy", &s.id)),
            Resource::Patient(p) => Some(("Patient", &p.id)),
            Resource::Endpoint(e) => Some(("Endpoint", &e.id)),
            Resource::OperationOutcome(_) => None,
        }
    }
}

/// An R4 `Bundle` of type `searchset`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "resourceType", rename = "Bundle")]
pub struct Bundle {
    #[serde(rename = "type")]
    pub type_: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<usize>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub link: Vec<BundleLink>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub entry: Vec<BundleEntry>,
}

/// `Bundle.link`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BundleLink {
    pub relation: String,
    pub url: String,
}

/// `Bundle.entry`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleEntry {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_url: Option<String>,
    pub resource: Resource,
    pub search: EntrySearch,
}

/// `Bundle.entry.search`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntrySearch {
    pub mode: SearchMode,
}

/// `Bundle.entry.search.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SearchMode {
    Match,
    Include,
    Outcome,
}

/// The Bundle of one page: `total` matches in all, `page` the ones from `request.offset()`
/// (at most `request.count()`), `included` what `_include` brought. `base` is the record's
/// FHIR base (no trailing slash).
pub fn search_bundle(
    request: &SearchRequest,
    total: usize,
    page: Vec<ImagingStudy>,
    included: Vec<Resource>,
    base: &str,
) -> Bundle {
    let base = base.trim_end_matches('/');
    let url = |offset: usize| format!("{base}/ImagingStudy?{}", request.query_at(offset));
    let mut link = vec![BundleLink {
        relation: "self".to_owned(),
        url: url(request.offset()),
    }];
    let mut entry = Vec::new();
    if !request.summary_count() {
        let count = request.count();
        let offset = request.offset();
        let last = total.saturating_sub(1) / count * count;
        let mut relation = |relation: &str, offset: usize| {
            link.push(BundleLink {
                relation: relation.to_owned(),
                url: url(offset),
            })
        };
        relation("first", 0);
        if offset > 0 {
            relation("previous", offset.saturating_sub(count).min(last));
        }
        if offset.saturating_add(count) < total {
            relation("next", offset + count);
        }
        relation("last", last);

        for mut study in page {
            if let Some(keep) = request.elements() {
                study.retain_elements(keep);
            }
            entry.push(entry_of(
                Resource::ImagingStudy(Box::new(study)),
                SearchMode::Match,
                base,
            ));
        }
        for resource in included {
            entry.push(entry_of(resource, SearchMode::Include, base));
        }
    }
    if !request.ignored().is_empty() {
        let diagnostics = format!(
            "unknown search parameters ignored: {}",
            request.ignored().join(", ")
        );
        let outcome = operation_outcome(Severity::Warning, IssueCode::NotSupported, &diagnostics);
        entry.push(entry_of(
            Resource::OperationOutcome(outcome),
            SearchMode::Outcome,
            base,
        ));
    }
    Bundle {
        type_: "searchset".to_owned(),
        total: request.wants_total().then_some(total),
        link,
        entry,
    }
}

fn entry_of(resource: Resource, mode: SearchMode, base: &str) -> BundleEntry {
    BundleEntry {
        full_url: resource
            .type_and_id()
            .map(|(t, id)| format!("{base}/{t}/{id}")),
        resource,
        search: EntrySearch { mode },
    }
}
