//! Study, series and instance searches (FHIR ImagingStudy search and GraphQL lists, QIDO-RS at
//! every level) and the instances a WADO-RS retrieval sends: one range read of the record's
//! study digests, the caller's filter and order over them, then the instances of the one page
//! that is answered (or, for instance-level searches, of the studies kept).
//!
//! The vault knows no search syntax: the format crates (`sv-fhir`) parse requests into a
//! filter and an order, and this use case runs them. The cost of a search is one small value
//! per study (the digest the metadata store keeps up to date at ingest), plus point lookups in
//! the SOP Instance UID index for criteria on instances, plus the instances of the studies on
//! the page; never the instances of every study.

use std::cmp::Ordering;
use std::collections::HashMap;

use sv_model::study::{InstanceFacts, SeriesDigest, StudyDigest};
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
        // Only the studies up to the page's end are ordered: selected to the front in linear
        // time, then sorted. The order is total, so this is the page a full sort gives.
        let order = |a: &(ThingId, StudyDigest), b: &(ThingId, StudyDigest)| {
            (search.order)((a.0, &a.1), (b.0, &b.1))
        };
        let end = search.offset.saturating_add(search.count).min(total);
        if 0 < end && end < total {
            rows.select_nth_unstable_by(end - 1, order);
        }
        rows.truncate(end);
        rows.sort_by(order);
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

/// Keeps a study, by its digest.
pub type DigestFilter<'a> = dyn Fn(&StudyDigest) -> bool + 'a;
/// Keeps a series of a study.
pub type SeriesFilter<'a> = dyn Fn(&StudyDigest, &SeriesDigest) -> bool + 'a;
/// Keeps an instance of a study.
pub type InstanceFilter<'a> = dyn Fn(&StudyDigest, &InstanceFacts) -> bool + 'a;

/// Which part of the ordered matches a page holds.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub offset: usize,
    pub limit: usize,
}

impl Window {
    /// The items of the window, in the order given.
    pub fn apply<T>(self, items: impl Iterator<Item = T>) -> Vec<T> {
        items.skip(self.offset).take(self.limit).collect()
    }
}

/// The order studies are listed in when the caller asks for none: newest first (study date,
/// then time, as DICOM text sorts), then by StudyInstanceUID, so pages are stable.
pub fn newest_first(a: &StudyDigest, b: &StudyDigest) -> Ordering {
    let when = |d: &StudyDigest| (d.study.study_date.clone(), d.study.study_time.clone());
    when(b)
        .cmp(&when(a))
        .then_with(|| a.study_instance_uid.cmp(&b.study_instance_uid))
}

/// Series in display order: by SeriesNumber (those without one last), then UID.
pub fn series_order(a: &SeriesDigest, b: &SeriesDigest) -> Ordering {
    let number = |s: &SeriesDigest| {
        (
            s.attributes.series_number.is_none(),
            s.attributes.series_number,
        )
    };
    number(a)
        .cmp(&number(b))
        .then_with(|| a.series_instance_uid.cmp(&b.series_instance_uid))
}

/// Instances in display order: their series' UID, then InstanceNumber, then UID.
pub(crate) fn instance_order(a: &InstanceFacts, b: &InstanceFacts) -> Ordering {
    let number = |f: &InstanceFacts| (f.instance_number.is_none(), f.instance_number);
    a.series_instance_uid
        .cmp(&b.series_instance_uid)
        .then_with(|| number(a).cmp(&number(b)))
        .then_with(|| a.sop_instance_uid.cmp(&b.sop_instance_uid))
}

impl Vault {
    /// The live studies whose digest `studies` keeps, newest first (blocking).
    fn matching_studies(
        &self,
        record: RecordId,
        studies: &DigestFilter<'_>,
    ) -> Result<Vec<(ThingId, StudyDigest)>, VaultError> {
        self.require_record(record)?;
        let mut rows = self.inner.meta.study_digests(record)?;
        rows.retain(|(_, d)| studies(d));
        rows.sort_by(|a, b| newest_first(&a.1, &b.1));
        Ok(rows)
    }

    /// Series of the studies `studies` keeps that `series` keeps, in study order then series
    /// order; a window of them (blocking). Digests only: no instance is read.
    pub fn search_series_blocking(
        &self,
        record: RecordId,
        studies: &DigestFilter<'_>,
        series: &SeriesFilter<'_>,
        window: Window,
    ) -> Result<Vec<(StudyDigest, SeriesDigest)>, VaultError> {
        let rows = self.matching_studies(record, studies)?;
        let matches = rows.into_iter().flat_map(|(_, digest)| {
            let mut kept: Vec<SeriesDigest> = digest
                .series
                .iter()
                .filter(|s| series(&digest, s))
                .cloned()
                .collect();
            kept.sort_by(series_order);
            kept.into_iter().map(move |s| (digest.clone(), s))
        });
        Ok(window.apply(matches))
    }

    /// Instances of the studies `studies` keeps that `instances` keeps, in study order then
    /// display order; a window of them (blocking). Reads the instances of the kept studies
    /// only, stopping once the window is full.
    pub fn search_instances_blocking(
        &self,
        record: RecordId,
        studies: &DigestFilter<'_>,
        instances: &InstanceFilter<'_>,
        window: Window,
    ) -> Result<Vec<(StudyDigest, InstanceFacts)>, VaultError> {
        let rows = self.matching_studies(record, studies)?;
        let wanted = window.offset.saturating_add(window.limit);
        let mut found = Vec::new();
        for (thing, digest) in rows {
            if found.len() >= wanted {
                break;
            }
            let mut facts = self.inner.meta.study_instances(record, thing)?;
            facts.retain(|f| instances(&digest, f));
            facts.sort_by(instance_order);
            found.extend(facts.into_iter().map(|f| (digest.clone(), f)));
        }
        Ok(window.apply(found.into_iter()))
    }

    /// The instances of the live study `study` (of its series `series`, or the one instance
    /// `sop`) in display order, for retrieval; empty when there are none (blocking).
    pub fn retrieval_instances_blocking(
        &self,
        record: RecordId,
        study: &str,
        series: Option<&str>,
        sop: Option<&str>,
    ) -> Result<Vec<InstanceFacts>, VaultError> {
        let mut facts = self.study_instances_blocking(record, study)?;
        facts.retain(|f| {
            series.is_none_or(|s| f.series_instance_uid == s)
                && sop.is_none_or(|s| f.sop_instance_uid == s)
        });
        facts.sort_by(instance_order);
        Ok(facts)
    }
}
