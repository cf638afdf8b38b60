//! Study searches (FHIR ImagingStudy search, GraphQL lists, and later QIDO at study level):
//! one range read of the record's study digests, the caller's filter and order over them, then
//! the instances of the one page that is answered.
//!
//! The vault knows no search syntax: the format crates (`sv-fhir`) parse requests into a
//! filter and an order, and this use case runs them. The cost of a search is one small value
//! per study (the digest the metadata store keeps up to date at ingest), plus point lookups in
//! the SOP Instance UID index for criteria on instances, plus the instances of the studies on
//! the page; never the instances of every study.

use std::cmp::Ordering;
use std::collections::HashMap;

use sv_model::study::{InstanceFacts, StudyDigest};
use sv_model::{RecordId, ThingId, ThingState, TypeId};

use crate::{Vault, VaultError};

/// Resolves a SOP Instance UID to the live study thing that holds it.
pub type SopResolver<'r> = dyn FnMut(&str) -> Option<ThingId> + 'r;

/// Keeps a study: its thing, its digest, and a resolver for criteria on instances.
pub type StudyFilter<'a> = dyn Fn(ThingId, &StudyDigest, &mut SopResolver<'_>) -> bool + 'a;

/// Orders two studies (a total order, so that pages are stable).
pub type StudyOrder<'a> = dyn Fn((ThingId, &StudyDigest), (ThingId, &StudyDigest)) -> Ordering + 'a;

/// One search: which studies, in which order, which page of them.
pub struct StudySearch<'a> {
    pub filter: &'a StudyFilter<'a>,
    pub order: &'a StudyOrder<'a>,
    pub offset: usize,
    /// At most this many studies on the page (0: only the total is wanted).
    pub count: usize,
    /// Whether the page's studies come with their instances.
    pub with_instances: bool,
}

impl std::fmt::Debug for StudySearch<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StudySearch")
            .field("offset", &self.offset)
            .field("count", &self.count)
            .field("with_instances", &self.with_instances)
            .finish_non_exhaustive()
    }
}

/// A study found by a search or read by id.
#[derive(Debug, Clone)]
pub struct StudyHit {
    pub thing: ThingId,
    pub digest: StudyDigest,
    /// By series UID then SOP Instance UID; empty unless asked for.
    pub instances: Vec<InstanceFacts>,
}

/// One page of a search.
#[derive(Debug, Clone)]
pub struct StudyPage {
    /// How many studies matched in all.
    pub total: usize,
    pub hits: Vec<StudyHit>,
}

/// A study read by its thing id.
#[derive(Debug, Clone)]
pub enum StudyLookup {
    Found(Box<StudyHit>),
    /// The study was deleted (FHIR answers 410).
    Deleted,
    NotFound,
}

impl Vault {
    /// Runs `search` over the live studies of `record` (blocking).
    pub fn search_studies_blocking(
        &self,
        record: RecordId,
        search: &StudySearch<'_>,
    ) -> Result<StudyPage, VaultError> {
        self.require_record(record)?;
        let meta = &self.inner.meta;
        let mut rows = meta.study_digests(record)?;

        // SOP lookups are point reads in the instance index, each asked once per search.
        let mut known: HashMap<String, Option<ThingId>> = HashMap::new();
        let mut failure: Option<VaultError> = None;
        let mut resolve = |sop: &str| -> Option<ThingId> {
            if let Some(hit) = known.get(sop) {
                return *hit;
            }
            let found = match meta.instance(record, sop) {
                Ok(found) => found.map(|(thing, _)| thing),
                Err(e) => {
                    failure.get_or_insert(e.into());
                    None
                }
            };
            known.insert(sop.to_owned(), found);
            found
        };
        rows.retain(|(thing, digest)| (search.filter)(*thing, digest, &mut resolve));
        if let Some(e) = failure {
            return Err(e);
        }

        let total = rows.len();
        rows.sort_by(|a, b| (search.order)((a.0, &a.1), (b.0, &b.1)));
        let hits = rows
            .into_iter()
            .skip(search.offset)
            .take(search.count)
            .map(|(thing, digest)| {
                let instances = if search.with_instances {
                    meta.study_instances(record, thing)?
                } else {
                    Vec::new()
                };
                Ok(StudyHit {
                    thing,
                    digest,
                    instances,
                })
            })
            .collect::<Result<_, VaultError>>()?;
        Ok(StudyPage { total, hits })
    }

    /// The study thing `thing` of `record` with its instances (blocking).
    pub fn study_hit_blocking(
        &self,
        record: RecordId,
        thing: ThingId,
    ) -> Result<StudyLookup, VaultError> {
        let meta = &self.inner.meta;
        let Some(header) = meta.thing_header(record, thing)? else {
            return Ok(StudyLookup::NotFound);
        };
        if header.type_id != TypeId::MEDICAL_IMAGE_STUDY {
            return Ok(StudyLookup::NotFound);
        }
        if header.state == ThingState::Deleted {
            return Ok(StudyLookup::Deleted);
        }
        let Some(digest) = meta.study_digest(record, thing)? else {
            return Ok(StudyLookup::NotFound);
        };
        let instances = meta.study_instances(record, thing)?;
        Ok(StudyLookup::Found(Box::new(StudyHit {
            thing,
            digest,
            instances,
        })))
    }

    /// The record and the digests of its live studies (blocking): what its FHIR Patient is
    /// made of.
    pub fn record_digests_blocking(
        &self,
        record: RecordId,
    ) -> Result<(sv_model::Record, Vec<StudyDigest>), VaultError> {
        let meta = &self.inner.meta;
        let found = meta
            .record(record)?
            .ok_or(VaultError::RecordNotFound(record))?;
        let digests = meta
            .study_digests(record)?
            .into_iter()
            .map(|(_, d)| d)
            .collect();
        Ok((found, digests))
    }
}
