//! The upload report on the wire: one entry per file or part, counts, the studies touched, and
//! the status code the whole answer gets.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sv_vault::{BatchItem, IngestStatus, InstanceReport, Reason};
use utoipa::ToSchema;

use super::Links;
use crate::ApiError;

/// What became of an upload, file by file.
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadReport {
    /// Set when the answer is an error (4xx): the same code as every error body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub instances: Vec<InstanceEntry>,
    /// New instances (replacements included).
    pub stored: usize,
    pub replaced: usize,
    pub duplicates: usize,
    pub conflicts: usize,
    pub failed: usize,
    /// Files that are not instances (DICOMDIR, READMEs, non-DICOM files of a zip).
    pub skipped: usize,
    /// The studies the stored or already present instances belong to.
    pub studies: Vec<StudyLink>,
}

/// One file of an upload (a zip entry, a multipart part, the single body).
#[derive(Debug, Serialize, ToSchema)]
pub struct InstanceEntry {
    /// Where it came from: the path in the zip, `part N`, or absent for a single file.
    pub source: Option<String>,
    /// `stored`, `replaced`, `duplicate`, `conflict`, `failed` or `skipped`.
    pub status: &'static str,
    pub sop_instance_uid: Option<String>,
    pub study_instance_uid: Option<String>,
    pub series_instance_uid: Option<String>,
    pub thing_id: Option<String>,
    /// The instance preview's URL, when it has one.
    pub preview: Option<String>,
    /// Why it failed or was skipped, or why an image has no preview.
    pub reason: Option<ReasonBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReasonBody {
    pub code: &'static str,
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StudyLink {
    pub study_instance_uid: String,
    pub thing_id: String,
    pub url: String,
    pub preview_url: String,
    pub archive_url: String,
}

impl UploadReport {
    pub(super) fn new(items: Vec<BatchItem>, links: &Links) -> UploadReport {
        let mut report = UploadReport {
            code: None,
            message: None,
            instances: Vec::with_capacity(items.len()),
            stored: 0,
            replaced: 0,
            duplicates: 0,
            conflicts: 0,
            failed: 0,
            skipped: 0,
            studies: Vec::new(),
        };
        for item in items {
            match item {
                BatchItem::Instance(r) => report.add_instance(r, links),
                BatchItem::Skipped { source, reason } => {
                    report.skipped += 1;
                    report.instances.push(InstanceEntry {
                        source: Some(source),
                        status: "skipped",
                        sop_instance_uid: None,
                        study_instance_uid: None,
                        series_instance_uid: None,
                        thing_id: None,
                        preview: None,
                        reason: Some(reason_body(reason)),
                    });
                }
            }
        }
        report
    }

    fn add_instance(&mut self, r: InstanceReport, links: &Links) {
        match r.status {
            IngestStatus::Stored => self.stored += 1,
            IngestStatus::Replaced => {
                self.stored += 1;
                self.replaced += 1;
            }
            IngestStatus::Duplicate => self.duplicates += 1,
            IngestStatus::Conflict => self.conflicts += 1,
            IngestStatus::Failed => self.failed += 1,
        }
        let preview = match (
            &r.study_instance_uid,
            &r.series_instance_uid,
            &r.sop_instance_uid,
        ) {
            (Some(st), Some(se), Some(sop)) if r.preview && r.status.is_present() => {
                Some(links.instance_preview(st, se, sop))
            }
            _ => None,
        };
        if let (true, Some(study), Some(thing)) =
            (r.status.is_present(), &r.study_instance_uid, r.thing_id)
            && !self.studies.iter().any(|s| &s.study_instance_uid == study)
        {
            self.studies.push(StudyLink {
                study_instance_uid: study.clone(),
                thing_id: thing.to_string(),
                url: links.study(study),
                preview_url: links.study_preview(study),
                archive_url: links.archive(study),
            });
        }
        self.instances.push(InstanceEntry {
            source: r.source,
            status: r.status.as_str(),
            sop_instance_uid: r.sop_instance_uid,
            study_instance_uid: r.study_instance_uid,
            series_instance_uid: r.series_instance_uid,
            thing_id: r.thing_id.map(|t| t.to_string()),
            preview,
            reason: r.reason.map(reason_body),
        });
    }

    /// The answer for a batch: 201 when something is new, 409 when every instance was a
    /// conflict, else 200 (the body says what failed); `error` (a malformed or oversized body
    /// after some parts) wins, with what was ingested before it.
    pub(super) fn batch_response(mut self, error: Option<ApiError>) -> Response {
        if let Some(e) = error {
            self.code = Some(e.code);
            self.message = Some(e.message);
            return (e.status, Json(self)).into_response();
        }
        let status = self.common_status();
        (status, Json(self)).into_response()
    }

    /// The answer for one `application/dicom` body: a file that is not usable is a 4xx with
    /// its reason code.
    pub(super) fn single_response(mut self) -> Response {
        if self.failed == 1 {
            let reason = self.instances[0].reason.as_ref();
            let code = reason.map_or("failed", |r| r.code);
            self.code = Some(code);
            self.message = reason.map(|r| r.message.clone());
            let status = match code {
                "too-large" => StatusCode::PAYLOAD_TOO_LARGE,
                "unsupported-transfer-syntax" => StatusCode::UNPROCESSABLE_ENTITY,
                "internal" => StatusCode::INTERNAL_SERVER_ERROR,
                _ => StatusCode::BAD_REQUEST,
            };
            return (status, Json(self)).into_response();
        }
        let status = self.common_status();
        (status, Json(self)).into_response()
    }

    fn common_status(&mut self) -> StatusCode {
        let instances = self.instances.len() - self.skipped;
        if self.stored > 0 {
            StatusCode::CREATED
        } else if instances > 0 && self.conflicts == instances {
            self.code = Some("sop-instance-conflict");
            self.message = Some(
                "a different instance with this SOP Instance UID is stored; \
                 send ?replace=true to replace it"
                    .into(),
            );
            StatusCode::CONFLICT
        } else {
            StatusCode::OK
        }
    }
}

fn reason_body(r: Reason) -> ReasonBody {
    ReasonBody {
        code: r.code,
        message: r.message,
    }
}
