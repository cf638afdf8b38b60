//! The record's studies (newest first) and one study's series and instances, with preview and
//! archive links.

use std::collections::{BTreeSet, HashMap};

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use sv_model::study::{HvDateTime, InstanceFacts};
use sv_model::{Permissions, RecordId, TypeId};
use sv_vault::StudyListing;
use utoipa::ToSchema;

use super::Links;
use crate::records::parse_record_id;
use crate::{ApiError, AppState, Caller};

/// One study of a record.
#[derive(Debug, Serialize, ToSchema)]
pub struct StudySummary {
    pub thing_id: String,
    pub study_instance_uid: String,
    /// Study date (`YYYY-MM-DD`, with `THH:MM[:SS]` when known).
    pub date: String,
    pub description: Option<String>,
    /// Distinct modalities of its series, sorted.
    pub modalities: Vec<String>,
    pub series_count: usize,
    pub instance_count: usize,
    /// The study preview (absent when no instance is an image); `?v=` makes it cacheable.
    pub preview_url: Option<String>,
    pub archive_url: String,
    pub url: String,
}

/// One study with its series and instances, in display order.
#[derive(Debug, Serialize, ToSchema)]
pub struct StudyDetails {
    #[serde(flatten)]
    pub summary: StudySummary,
    pub series: Vec<SeriesDetails>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SeriesDetails {
    pub series_instance_uid: String,
    pub series_number: Option<i32>,
    pub modality: Option<String>,
    pub description: Option<String>,
    pub preview_url: Option<String>,
    pub instances: Vec<InstanceDetails>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InstanceDetails {
    pub sop_instance_uid: String,
    pub sop_class_uid: String,
    pub instance_number: Option<i32>,
    pub rows: Option<u32>,
    pub columns: Option<u32>,
    pub number_of_frames: Option<u32>,
    /// Size of the DICOM file in bytes.
    pub length: u64,
    pub preview_url: Option<String>,
    /// Why an image has no preview.
    pub preview_error: Option<String>,
}

/// Lists the record's studies, newest first.
#[utoipa::path(get, path = "/v1/records/{rid}/studies", tag = "studies",
    params(("rid" = String, Path, description = "record id")),
    responses((status = 200, body = Vec<StudySummary>), (status = 404, body = crate::ErrorBody)))]
pub(super) async fn list_studies(
    State(state): State<AppState>,
    caller: Caller,
    Path(rid): Path<String>,
) -> Result<Json<Vec<StudySummary>>, ApiError> {
    let record = readable(&caller, &rid)?;
    let mut loaded = state
        .vault()
        .run_io(move |vault| vault.study_listings_blocking(record))
        .await?;
    let links = Links::new(&state, record);
    let mut summaries: Vec<(String, i64, StudySummary)> = loaded
        .drain(..)
        .map(|l| {
            let s = summary(&l, &links);
            (s.date.clone(), l.updated.unix_micros(), s)
        })
        .collect();
    summaries.sort_by(|a, b| (&b.0, b.1).cmp(&(&a.0, a.1)));
    Ok(Json(summaries.into_iter().map(|(_, _, s)| s).collect()))
}

/// One study: its series and instances with their preview links.
#[utoipa::path(get, path = "/v1/records/{rid}/studies/{study}", tag = "studies",
    params(("rid" = String, Path, description = "record id"), ("study" = String, Path, description = "StudyInstanceUID")),
    responses((status = 200, body = StudyDetails), (status = 404, body = crate::ErrorBody)))]
pub(super) async fn study_details(
    State(state): State<AppState>,
    caller: Caller,
    Path((rid, study)): Path<(String, String)>,
) -> Result<Json<StudyDetails>, ApiError> {
    let record = readable(&caller, &rid)?;
    let loaded = state
        .vault()
        .run_io(move |vault| vault.study_listing_blocking(record, &study))
        .await?
        .ok_or_else(|| ApiError::not_found("study"))?;
    let links = Links::new(&state, record);
    Ok(Json(details(&loaded, &links)))
}

fn readable(caller: &Caller, rid: &str) -> Result<RecordId, ApiError> {
    let record = parse_record_id(rid)?;
    caller.require(record, Some(TypeId::MEDICAL_IMAGE_STUDY), Permissions::READ)?;
    Ok(record)
}

fn summary(l: &StudyListing, links: &Links) -> StudySummary {
    let modalities: BTreeSet<&str> = l
        .instances
        .iter()
        .filter_map(|f| f.series.modality.as_deref())
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .collect();
    let study = &l.assembly.study;
    StudySummary {
        thing_id: l.thing.to_string(),
        study_instance_uid: l.study_instance_uid.clone(),
        date: date_text(&study.when),
        description: study.description.as_ref().map(|d| d.as_str().to_owned()),
        modalities: modalities.into_iter().map(str::to_owned).collect(),
        series_count: study.series.len(),
        instance_count: l.instances.len(),
        preview_url: l.derived.study.as_ref().map(|p| {
            format!(
                "{}?v={}",
                links.study_preview(&l.study_instance_uid),
                p.blob_id.to_hex().as_str()
            )
        }),
        archive_url: links.archive(&l.study_instance_uid),
        url: links.study(&l.study_instance_uid),
    }
}

fn details(l: &StudyListing, links: &Links) -> StudyDetails {
    let by_sop: HashMap<&str, &InstanceFacts> = l
        .instances
        .iter()
        .map(|f| (f.sop_instance_uid.as_str(), f))
        .collect();
    let series = l
        .assembly
        .study
        .series
        .iter()
        .filter_map(|s| {
            let uid = s.series_instance_uid.as_ref()?.as_str();
            let members: Vec<&InstanceFacts> = s
                .images
                .iter()
                .filter_map(|i| by_sop.get(i.image_blob_name.as_str()).copied())
                .collect();
            let first = members.first()?;
            let preview = l.derived.series.get(uid).and_then(Option::as_ref);
            Some(SeriesDetails {
                series_instance_uid: uid.to_owned(),
                series_number: first.series.series_number,
                modality: first.series.modality.clone(),
                description: s.description.as_ref().map(|d| d.as_str().to_owned()),
                preview_url: preview.map(|p| {
                    let url = links.series_preview(&l.study_instance_uid, uid);
                    format!("{url}?v={}", p.blob_id.to_hex().as_str())
                }),
                instances: members
                    .iter()
                    .map(|f| instance(f, &l.study_instance_uid, links))
                    .collect(),
            })
        })
        .collect();
    StudyDetails {
        summary: summary(l, links),
        series,
    }
}

fn instance(f: &InstanceFacts, study: &str, links: &Links) -> InstanceDetails {
    InstanceDetails {
        sop_instance_uid: f.sop_instance_uid.clone(),
        sop_class_uid: f.sop_class_uid.clone(),
        instance_number: f.instance_number,
        rows: f.rows,
        columns: f.columns,
        number_of_frames: f.number_of_frames,
        length: f.length,
        preview_url: f.preview.as_ref().map(|p| {
            let url = links.instance_preview(study, &f.series_instance_uid, &f.sop_instance_uid);
            format!("{url}?v={}", p.blob_id.to_hex().as_str())
        }),
        preview_error: f.preview_error.clone(),
    }
}

fn date_text(when: &HvDateTime) -> String {
    let d = &when.date;
    let mut text = format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day());
    if let Some(t) = &when.time {
        text.push_str(&format!("T{:02}:{:02}", t.hour(), t.minute()));
        if let Some(s) = t.second() {
            text.push_str(&format!(":{s:02}"));
        }
    }
    text
}
