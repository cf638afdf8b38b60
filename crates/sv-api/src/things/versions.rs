//! A thing's version history: `GET …/things/{tid}/versions`, as `<thing-versions>` XML or
//! JSON.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::{ids, refusal};
use crate::representation::{AuditJson, Repr, xml_response};
use crate::{ApiError, AppState, Caller};

/// A thing's version history in JSON, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionsJson {
    pub thing_id: String,
    pub type_id: String,
    pub versions: Vec<VersionJson>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VersionJson {
    pub version_stamp: String,
    /// `Active` or `Deleted`.
    pub state: String,
    /// Who made this version, when, and how (`Created`, `Updated`, `Deleted`).
    pub updated: AuditJson,
}

/// A thing's version history, oldest first (deleted things too): `<thing-versions>` XML or
/// JSON.
#[utoipa::path(get, path = "/v1/records/{rid}/things/{tid}/versions", tag = "things",
    params(("rid" = String, Path, description = "record id"), ("tid" = String, Path, description = "thing id")),
    responses((status = 200, description = "the history",
        content((VersionsJson = "application/json"), (String = "application/xml"))),
        (status = 401, body = crate::ErrorBody), (status = 403, body = crate::ErrorBody),
        (status = 404, body = crate::ErrorBody)))]
pub(super) async fn thing_versions(
    State(state): State<AppState>,
    caller: Caller,
    Path((rid, tid)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (record, tid) = ids(&caller, &rid, &tid)?;
    let principal = caller.0;
    let history = state
        .vault()
        .run_io(move |v| v.thing_versions_blocking(&principal, record, tid))
        .await?
        .map_err(refusal)?;
    let versions = VersionsJson {
        thing_id: history.thing_id.to_string(),
        type_id: history.type_id.to_string(),
        versions: history
            .versions
            .iter()
            .map(|v| VersionJson {
                version_stamp: v.version.to_string(),
                state: v.state.as_str().to_owned(),
                updated: AuditJson::new(&v.audit, record),
            })
            .collect(),
    };
    Ok(match Repr::negotiate(&headers, Repr::Xml) {
        Repr::Json => axum::Json(versions).into_response(),
        Repr::Xml => xml_response(StatusCode::OK, versions_xml(&versions)),
    })
}

/// `<thing-versions>`: `thing-id`, `type-id`, then one `<version version-stamp>` with
/// `thing-state` and an `Audit2`-shaped `updated` per version. Every value is a GUID, a
/// timestamp or an enum word, so nothing needs escaping.
fn versions_xml(v: &VersionsJson) -> String {
    let mut out = format!(
        "<thing-versions><thing-id>{}</thing-id><type-id>{}</type-id>",
        v.thing_id, v.type_id
    );
    for version in &v.versions {
        let a = &version.updated;
        let app_name = if a.app_id == sv_hvxml::STORE_APP_ID {
            "studyvault"
        } else {
            ""
        };
        out.push_str(&format!(
            "<version version-stamp=\"{}\"><thing-state>{}</thing-state><updated>\
             <timestamp>{}</timestamp><app-id name=\"{app_name}\">{}</app-id>\
             <person-id name=\"\">{}</person-id><audit-action>{}</audit-action></updated></version>",
            version.version_stamp, version.state, a.timestamp, a.app_id, a.person_id, a.action
        ));
    }
    out.push_str("</thing-versions>");
    out
}
