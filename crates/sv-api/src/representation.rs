//! Representations of things: XML or JSON by `Accept`, the JSON shapes, ETags and
//! preconditions (`If-Match`), URLs of things and blobs, and bounded document bodies.

use axum::body::{Body, Bytes};
use axum::http::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, IF_MATCH, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::Serialize;
use sv_hvxml::{STORE_APP_ID, Sections, ThingXml, XmlError};
use sv_model::{Audit, NamedBlob, RecordId, Thing, ThingId, VersionStamp};
use utoipa::ToSchema;

use crate::{ApiError, AppState};

/// The two representations of things and feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Repr {
    Xml,
    Json,
}

impl Repr {
    /// The representation `Accept` prefers (by q-value), `default` when it names neither or
    /// both equally. Wildcards leave the default.
    pub(crate) fn negotiate(headers: &HeaderMap, default: Repr) -> Repr {
        let (mut json, mut xml) = (None::<f32>, None::<f32>);
        for accept in headers.get_all(ACCEPT) {
            for item in accept.to_str().unwrap_or("").split(',') {
                let mut parts = item.split(';').map(str::trim);
                let media = parts.next().unwrap_or("").to_ascii_lowercase();
                let q = parts
                    .filter_map(|p| p.strip_prefix("q="))
                    .find_map(|q| q.parse::<f32>().ok())
                    .unwrap_or(1.0);
                let slot = match media.as_str() {
                    "application/json" => &mut json,
                    "application/xml" | "text/xml" => &mut xml,
                    _ => continue,
                };
                *slot = Some(slot.map_or(q, |s| s.max(q)));
            }
        }
        match (json, xml) {
            (Some(j), Some(x)) if j > x => Repr::Json,
            (Some(j), Some(x)) if x > j => Repr::Xml,
            (Some(j), None) if j > 0.0 => Repr::Json,
            (None, Some(x)) if x > 0.0 => Repr::Xml,
            _ => default,
        }
    }
}

/// An XML answer, `application/xml; charset=utf-8`.
pub(crate) fn xml_response(status: StatusCode, body: String) -> Response {
    let ct = HeaderValue::from_static("application/xml; charset=utf-8");
    (status, [(CONTENT_TYPE, ct)], body).into_response()
}

/// True when `If-None-Match` names `tag` (weak comparison, as RFC 9110 asks for this header)
/// or is `*`: the client's copy is current.
pub(crate) fn none_match(headers: &HeaderMap, tag: &str) -> bool {
    headers
        .get_all(IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|t| t == "*" || t.trim_start_matches("W/").trim_matches('"') == tag)
}

/// `"<version-stamp>"`, the ETag of a thing.
pub(crate) fn version_etag(version: VersionStamp) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).expect("a guid is a valid header value")
}

/// What an `If-Match` header asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IfMatch {
    Absent,
    /// `*`: any current version.
    Any,
    Version(VersionStamp),
    /// An entity tag that can never be one of our version stamps: always stale.
    Unmatchable,
}

impl IfMatch {
    pub(crate) fn parse(headers: &HeaderMap) -> Result<IfMatch, ApiError> {
        let mut tags = Vec::new();
        for value in headers.get_all(IF_MATCH) {
            let value = value.to_str().map_err(|_| invalid_if_match())?;
            tags.extend(value.split(',').map(str::trim).filter(|t| !t.is_empty()));
        }
        match tags.as_slice() {
            [] => Ok(IfMatch::Absent),
            ["*"] => Ok(IfMatch::Any),
            [tag] => {
                // A weak tag never matches under If-Match's strong comparison.
                let strong = tag.strip_prefix('"').and_then(|t| t.strip_suffix('"'));
                Ok(strong
                    .and_then(|t| t.parse().ok())
                    .map_or(IfMatch::Unmatchable, IfMatch::Version))
            }
            _ => Err(invalid_if_match()),
        }
    }

    /// For changes where the precondition is optional: `None` means "whatever is current".
    /// An unmatchable tag is a 412 straight away.
    pub(crate) fn optional(self) -> Result<Option<VersionStamp>, ApiError> {
        match self {
            IfMatch::Absent | IfMatch::Any => Ok(None),
            IfMatch::Version(v) => Ok(Some(v)),
            IfMatch::Unmatchable => Err(stale(None)),
        }
    }
}

fn invalid_if_match() -> ApiError {
    ApiError::bad_request(
        "invalid-if-match",
        "If-Match takes one entity tag: the thing's \"<version-stamp>\"",
    )
}

/// 412 `version-conflict`.
pub(crate) fn stale(current: Option<VersionStamp>) -> ApiError {
    let message = match current {
        Some(v) => format!("the version stamp is stale: the thing is now at version {v}"),
        None => "the version stamp is stale".to_owned(),
    };
    ApiError::new(StatusCode::PRECONDITION_FAILED, "version-conflict", message)
}

/// Reads a document body (XML) of at most `limit` bytes: 413 beyond, 415 when it is not XML.
pub(crate) async fn read_xml_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Bytes, ApiError> {
    let media = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if !(media == "application/xml" || media == "text/xml" || media.ends_with("+xml")) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "send a <thing> as application/xml",
        ));
    }
    let too_large = || ApiError::payload_too_large(format!("the body is over {limit} bytes"));
    if declared_length(headers).is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
        Err(_) => Err(ApiError::bad_request(
            "body-unreadable",
            "the request body could not be read",
        )),
    }
}

/// `Content-Length`, when sent and numeric.
pub(crate) fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(CONTENT_LENGTH)?.to_str().ok()?.parse().ok()
}

/// A refused document: its stable code, 413 when too large, 400 otherwise.
pub(crate) fn xml_error(e: &XmlError) -> ApiError {
    let status = match e {
        XmlError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::BAD_REQUEST,
    };
    ApiError::new(status, e.code(), e.to_string())
}

/// URLs of things and their blobs under the configured public URL.
#[derive(Debug, Clone)]
pub(crate) struct Urls {
    base: String,
}

impl Urls {
    pub(crate) fn new(state: &AppState, record: RecordId) -> Urls {
        let public = state.config().public_url.trim_end_matches('/');
        Urls {
            base: format!("{public}/v1/records/{record}"),
        }
    }

    pub(crate) fn thing(&self, tid: ThingId) -> String {
        format!("{}/things/{tid}", self.base)
    }

    pub(crate) fn things(&self) -> String {
        format!("{}/things", self.base)
    }

    /// `…/things/{tid}/blobs/{name}` (percent-encoded), or `…/things/{tid}/blob` for the
    /// default blob.
    pub(crate) fn blob(&self, tid: ThingId, blob: &NamedBlob) -> String {
        if blob.name.is_default() {
            format!("{}/blob", self.thing(tid))
        } else {
            format!(
                "{}/blobs/{}",
                self.thing(tid),
                encode_segment(blob.name.as_str())
            )
        }
    }

    /// A page of things as `<things>`, ending with `<continuation>` when more follow.
    pub(crate) fn things_xml(
        &self,
        record: RecordId,
        things: &[Thing],
        sections: Sections,
        next: Option<&str>,
    ) -> String {
        let blob_urls: Vec<_> = things
            .iter()
            .map(|t| {
                let id = t.id;
                move |b: &NamedBlob| self.blob(id, b)
            })
            .collect();
        let views: Vec<ThingXml<'_>> = things
            .iter()
            .zip(&blob_urls)
            .map(|(t, url)| ThingXml::new(t, record, url))
            .collect();
        sv_hvxml::write_things(&views, sections, next)
    }

    /// A thing as `<thing>` XML.
    pub(crate) fn thing_xml(&self, record: RecordId, thing: &Thing, sections: Sections) -> String {
        let url = |b: &NamedBlob| self.blob(thing.id, b);
        sv_hvxml::write_thing(&ThingXml::new(thing, record, &url), sections)
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters; a lone `.` too, so no
/// client takes the name for a dot segment.
pub(crate) fn encode_segment(s: &str) -> String {
    if s == "." {
        return "%2E".to_owned();
    }
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A thing in JSON: the same content as its `<thing>` XML. Fields of sections that were not
/// asked for are absent.
#[derive(Debug, Serialize, ToSchema)]
pub struct ThingJson {
    pub thing_id: String,
    pub version_stamp: String,
    pub type_id: String,
    /// The type's name, where the store knows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub type_name: Option<String>,
    /// `core`: `Active` or `Deleted`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// `core`: HealthVault's flags bitfield.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flags: Option<u32>,
    /// `core`: RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eff_date: Option<String>,
    /// `audits`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<AuditJson>,
    /// `audits`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated: Option<AuditJson>,
    /// `xml`: the content of `<data-xml>` as XML text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_xml: Option<String>,
    /// `blobpayload`: the named blobs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blobs: Option<Vec<BlobJson>>,
}

/// HealthVault's `Audit2`, as the store fills it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditJson {
    pub timestamp: String,
    /// The id of the token that made the change; the nil GUID for the store or the admin.
    pub app_id: String,
    /// The record id (one record is one person).
    pub person_id: String,
    /// `Created`, `Updated` or `Deleted`.
    pub action: String,
}

/// One named blob of a thing.
#[derive(Debug, Serialize, ToSchema)]
pub struct BlobJson {
    /// `""` is the default blob.
    pub name: String,
    pub content_type: String,
    pub length: u64,
    /// The blake3 digest (hex): the blob's content address and the `ETag` of its bytes.
    pub blake3: String,
    /// Where to GET the bytes (with the same bearer token).
    pub blob_ref_url: String,
}

impl AuditJson {
    pub(crate) fn new(audit: &Audit, record: RecordId) -> AuditJson {
        AuditJson {
            timestamp: audit.timestamp.to_rfc3339(),
            app_id: audit
                .token
                .map_or_else(|| STORE_APP_ID.to_owned(), |t| t.to_string()),
            person_id: record.to_string(),
            action: audit.action.as_str().to_owned(),
        }
    }
}

impl ThingJson {
    pub(crate) fn new(urls: &Urls, record: RecordId, thing: &Thing, s: Sections) -> ThingJson {
        ThingJson {
            thing_id: thing.id.to_string(),
            version_stamp: thing.version.to_string(),
            type_id: thing.type_id.to_string(),
            type_name: thing.type_id.known_name().map(str::to_owned),
            state: s.core.then(|| thing.state.as_str().to_owned()),
            flags: s.core.then_some(thing.flags.0),
            eff_date: s.core.then(|| thing.eff_date.to_rfc3339()),
            created: s.audits.then(|| AuditJson::new(&thing.created, record)),
            updated: s.audits.then(|| AuditJson::new(&thing.updated, record)),
            data_xml: (s.xml && !thing.data_xml.trim().is_empty()).then(|| thing.data_xml.clone()),
            blobs: s.blob_payload.then(|| {
                thing
                    .blobs
                    .iter()
                    .map(|b| BlobJson {
                        name: b.name.as_str().to_owned(),
                        content_type: b.content_type.clone(),
                        length: b.length,
                        blake3: b.blob_id.to_string(),
                        blob_ref_url: urls.blob(thing.id, b),
                    })
                    .collect()
            }),
        }
    }
}

/// One thing in the chosen representation, with its `ETag`.
pub(crate) fn thing_response(
    status: StatusCode,
    repr: Repr,
    urls: &Urls,
    record: RecordId,
    thing: &Thing,
    sections: Sections,
) -> Response {
    let etag = version_etag(thing.version);
    let mut response = match repr {
        Repr::Xml => xml_response(status, urls.thing_xml(record, thing, sections)),
        Repr::Json => (
            status,
            axum::Json(ThingJson::new(urls, record, thing, sections)),
        )
            .into_response(),
    };
    response
        .headers_mut()
        .insert(axum::http::header::ETAG, etag);
    response
}
