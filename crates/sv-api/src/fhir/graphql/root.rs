//! The fields that reach the vault: the system endpoint's root fields (`ImagingStudy`,
//! `ImagingStudyList`, `ImagingStudyConnection`, `Patient`, `Endpoint`) and
//! `Reference.resource`; the searches themselves are in `search`.
//!
//! Each resolver is "extract, one vault call, represent": it turns its arguments into what
//! the REST routes take, makes one `Vault::run_io` call (so blocking store reads never run
//! on the async executor), and answers the resource's FHIR JSON, which the generic element
//! resolvers of `types` then read. The record's Patient is read at most once per request.

use async_graphql::Error;
use async_graphql::dynamic::{Field, FieldFuture, FieldValue, InputValue, Object, TypeRef};
use sv_fhir::{ENDPOINT_ID, IssueCode, Links};
use sv_model::RecordId;
use tokio::sync::OnceCell;

use super::outcome::error;
use super::search::{connection, list, search_arguments};
use super::types::{field_value, parent};
use crate::AppState;
use crate::fhir::{FhirFailure, links};

/// What a request's resolvers share: the server, the record, and its Patient once read.
pub(super) struct Scope {
    pub(super) state: AppState,
    pub(super) record: RecordId,
    pub(super) links: Links,
    patient: OnceCell<serde_json::Value>,
}

impl Scope {
    pub(super) fn new(state: AppState, record: RecordId) -> Scope {
        let links = links(&state, record);
        Scope {
            state,
            record,
            links,
            patient: OnceCell::new(),
        }
    }

    /// The record's Patient (one vault call, the first time it is asked for).
    async fn patient(&self) -> Result<&serde_json::Value, Error> {
        self.patient
            .get_or_try_init(|| async {
                let record = self.record;
                let (found, digests) = self
                    .state
                    .vault()
                    .run_io(move |v| v.record_digests_blocking(record))
                    .await
                    .map_err(FhirFailure::from)?;
                to_json(&sv_fhir::patient(&found, &digests, &self.links))
            })
            .await
    }

    fn endpoint(&self) -> Result<serde_json::Value, Error> {
        to_json(&sv_fhir::endpoint(&self.links))
    }
}

pub(super) fn to_json(resource: &impl serde::Serialize) -> Result<serde_json::Value, Error> {
    serde_json::to_value(resource).map_err(|e| error(IssueCode::Exception, &e.to_string()))
}

/// One study as an ImagingStudy: 404 and 410 as the REST read answers them.
pub(super) async fn read_study(
    state: &AppState,
    record: RecordId,
    id: &str,
) -> Result<serde_json::Value, FhirFailure> {
    let hit = crate::fhir::studies::lookup(state, record, id).await?;
    let study = crate::fhir::studies::resource(&hit, record, &links(state, record));
    serde_json::to_value(&study).map_err(|e| crate::ApiError::internal(&e).into())
}

/// The system endpoint's `Query` type.
pub(super) fn query() -> Object {
    let id = |ty| InputValue::new("id", TypeRef::named_nn(ty));
    let study = Field::new("ImagingStudy", TypeRef::named("ImagingStudy"), |ctx| {
        FieldFuture::new(async move {
            let scope = ctx.data::<Scope>()?;
            let id = ctx.args.try_get("id")?.string()?;
            let study = read_study(&scope.state, scope.record, id).await?;
            Ok(Some(FieldValue::owned_any(study)))
        })
    })
    .argument(id(TypeRef::ID));
    let patient = Field::new("Patient", TypeRef::named("Patient"), |ctx| {
        FieldFuture::new(async move {
            let scope = ctx.data::<Scope>()?;
            if ctx.args.try_get("id")?.string()? != scope.record.to_string() {
                return Err(error(IssueCode::NotFound, "Patient not found"));
            }
            Ok(Some(FieldValue::borrowed_any(scope.patient().await?)))
        })
    })
    .argument(id(TypeRef::ID));
    let endpoint = Field::new("Endpoint", TypeRef::named("Endpoint"), |ctx| {
        FieldFuture::new(async move {
            let scope = ctx.data::<Scope>()?;
            if ctx.args.try_get("id")?.string()? != ENDPOINT_ID {
                return Err(error(IssueCode::NotFound, "Endpoint not found"));
            }
            Ok(Some(FieldValue::owned_any(scope.endpoint()?)))
        })
    })
    .argument(id(TypeRef::ID));
    let list = Field::new(
        "ImagingStudyList",
        TypeRef::named_list("ImagingStudy"),
        |ctx| FieldFuture::new(async move { list(&ctx).await.map(Some) }),
    );
    let connection = Field::new(
        "ImagingStudyConnection",
        TypeRef::named("ImagingStudyConnection"),
        |ctx| FieldFuture::new(async move { connection(&ctx).await.map(Some) }),
    );
    let connection = ["_cursor", "cursor"]
        .into_iter()
        .fold(search_arguments(connection), |f, name| {
            f.argument(InputValue::new(name, TypeRef::named(TypeRef::STRING)))
        });
    Object::new("Query")
        .field(study)
        .field(search_arguments(list))
        .field(connection)
        .field(patient)
        .field(endpoint)
}

/// `Reference.resource(optional:, type:)`: the record's Patient or its Endpoint. Any other
/// target (a display-only reference) is an error, or null when `optional: true`; a target
/// of another type than `type` is null.
pub(super) fn reference_resource() -> Field {
    Field::new("resource", TypeRef::named("Resource"), |ctx| {
        FieldFuture::new(async move {
            let scope = ctx.data::<Scope>()?;
            let optional = match ctx.args.get("optional") {
                Some(v) if !v.is_null() => v.boolean()?,
                _ => false,
            };
            let wanted = match ctx.args.get("type") {
                Some(v) if !v.is_null() => Some(v.string()?),
                _ => None,
            };
            let target = parent(&ctx)
                .and_then(|r| r["reference"].as_str())
                .and_then(|r| r.split_once('/'));
            let record = scope.record.to_string();
            let kind = match target {
                Some(("Patient", id)) if id == record => "Patient",
                Some(("Endpoint", id)) if id == ENDPOINT_ID => "Endpoint",
                _ if optional => return Ok(None),
                _ => {
                    return Err(error(
                        IssueCode::NotFound,
                        "the reference does not resolve to a resource this server holds",
                    ));
                }
            };
            if wanted.is_some_and(|w| w != kind) {
                return Ok(None);
            }
            Ok(Some(if kind == "Patient" {
                field_value(scope.patient().await?, "Resource")
            } else {
                let endpoint = scope.endpoint()?;
                FieldValue::owned_any(endpoint).with_type("Endpoint")
            }))
        })
    })
    .argument(InputValue::new(
        "optional",
        TypeRef::named(TypeRef::BOOLEAN),
    ))
    .argument(InputValue::new("type", TypeRef::named(TypeRef::STRING)))
}
