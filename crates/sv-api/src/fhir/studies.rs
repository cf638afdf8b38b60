//! The study reads and searches the REST and GraphQL entry points share: one lookup with its
//! 404 and 410, one search call with `sv_fhir`'s filter and order, one resource per hit.

use axum::http::StatusCode;
use sv_fhir::{ImagingStudy, IssueCode, Links, SearchRequest};
use sv_model::study::StudyDigest;
use sv_model::{RecordId, ThingId};
use sv_vault::{SopResolver, StudyHit, StudyLookup, StudyPage, StudySearch, Vault, VaultError};

use super::FhirFailure;
use crate::AppState;

/// The study thing `id` of `record` with its instances: 404 for an id that is not a study of
/// the record, 410 once it was deleted.
pub(crate) async fn lookup(
    state: &AppState,
    record: RecordId,
    id: &str,
) -> Result<StudyHit, FhirFailure> {
    let thing: ThingId = id
        .parse()
        .map_err(|_| FhirFailure::not_found("ImagingStudy"))?;
    match state
        .vault()
        .run_io(move |v| v.study_hit_blocking(record, thing))
        .await?
    {
        StudyLookup::Found(hit) => Ok(*hit),
        StudyLookup::Deleted => Err(FhirFailure::new(
            StatusCode::GONE,
            IssueCode::Deleted,
            "ImagingStudy was deleted",
        )),
        StudyLookup::NotFound => Err(FhirFailure::not_found("ImagingStudy")),
    }
}

/// Runs `request` over the record's studies (blocking; call it inside `run_io`).
pub(crate) fn search_blocking(
    vault: &Vault,
    record: RecordId,
    request: &SearchRequest,
) -> Result<StudyPage, VaultError> {
    let filter = |thing, digest: &StudyDigest, sop: &mut SopResolver<'_>| {
        request.matches(thing, digest, sop)
    };
    let order = |a: (ThingId, &StudyDigest), b: (ThingId, &StudyDigest)| request.compare(a, b);
    let search = StudySearch {
        filter: &filter,
        order: &order,
        offset: request.offset(),
        count: request.count(),
        with_instances: true,
    };
    vault.search_studies_blocking(record, &search)
}

/// A found study as an ImagingStudy.
pub(crate) fn resource(hit: &StudyHit, record: RecordId, links: &Links) -> ImagingStudy {
    sv_fhir::imaging_study(
        hit.thing,
        hit.digest.version,
        hit.digest.updated,
        &hit.instances,
        record,
        links,
    )
}
