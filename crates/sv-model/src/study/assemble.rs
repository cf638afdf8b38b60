//! Assembling a study's HealthVault model from its per-instance facts.
//!
//! Ingest stores one record of facts per instance and never rewrites the study; this is where
//! the study takes shape when it is read. Ordering rules (DESIGN.md, Previews): series by
//! SeriesNumber, images by InstanceNumber (then UID, so the order is total and stable); a
//! series preview is that of its middle image; the study preview is that of the first key
//! image named by a Key Object Selection document, else that of the first series.

use std::collections::{BTreeMap, HashMap};

use crate::study::dicom_text::person_name;
use crate::study::facts::preview_name;
use crate::study::{
    CodableValue, HvDate, HvDateTime, InstanceFacts, MedicalImageStudy, NonEmpty, Organization,
    Person, PreviewRef, Series, SeriesImage, parse_da, parse_da_tm, person_name_display,
};
use crate::{ModelError, NonBlank, Timestamp};

/// A study as assembled from its facts, with the derived preview names it exposes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StudyAssembly {
    pub study: MedicalImageStudy,
    /// `<SeriesInstanceUID>.preview.<ext>` and `<StudyInstanceUID>.preview.<ext>`, each with
    /// the instance preview it stands for. These names are derived, never stored.
    pub derived_previews: Vec<(String, PreviewRef)>,
}

/// Builds the medical-image-study for the instances of one study (in any order).
pub fn assemble_study(facts: &[InstanceFacts]) -> Result<StudyAssembly, ModelError> {
    let mut ordered: Vec<&InstanceFacts> = facts.iter().collect();
    ordered.sort_by(|a, b| {
        series_order(a)
            .cmp(&series_order(b))
            .then(image_order(a).cmp(&image_order(b)))
    });
    let first = *ordered.first().ok_or(ModelError::Empty {
        what: "study",
        item: "instance",
    })?;

    let mut by_series: BTreeMap<(SeriesKey, &str), Vec<&InstanceFacts>> = BTreeMap::new();
    for f in &ordered {
        by_series
            .entry((series_order(f), f.series_instance_uid.as_str()))
            .or_default()
            .push(f);
    }

    let mut derived_previews = Vec::new();
    let mut series_list = Vec::with_capacity(by_series.len());
    for ((_, series_uid), members) in &by_series {
        let (series, preview) = assemble_series(series_uid, members)?;
        if let Some(p) = preview {
            derived_previews.push((preview_name(series_uid, &p), p));
        }
        series_list.push(series);
    }

    let by_sop: HashMap<&str, &InstanceFacts> = ordered
        .iter()
        .map(|f| (f.sop_instance_uid.as_str(), *f))
        .collect();
    let key_images = key_images(&ordered, &by_sop)?;
    let study_preview = key_images
        .iter()
        .filter_map(|k| {
            by_sop
                .get(k.image_blob_name.as_str())
                .and_then(|f| f.preview.clone())
        })
        .next()
        .or_else(|| derived_previews.first().map(|(_, p)| p.clone()));

    let study_uid = first.study_instance_uid.as_str();
    let mut study = MedicalImageStudy::new(
        study_when(&ordered),
        NonEmpty::from_vec(series_list, "study", "series")?,
    );
    let first_text = |get: fn(&InstanceFacts) -> Option<&String>| {
        ordered
            .iter()
            .find_map(|f| NonBlank::optional(get(f).map(String::as_str)))
    };
    study.patient_name = first_text(|f| f.study.patient_name.as_ref())
        .and_then(|pn| person_name_display(pn.as_str()))
        .and_then(|s| NonBlank::new(s).ok());
    study.description = first_text(|f| f.study.description.as_ref());
    study.reason =
        first_text(|f| f.study.reason.as_ref()).map(|r| CodableValue::text(r.into_string()));
    study.key_images = key_images;
    study.study_instance_uid = Some(NonBlank::new(study_uid)?);
    study.referring_physician = first_text(|f| f.study.referring_physician.as_ref())
        .and_then(|pn| person_name(pn.as_str()))
        .map(|name| Person {
            name,
            ..Person::default()
        });
    study.accession_number = first_text(|f| f.study.accession_number.as_ref());
    if let Some(p) = study_preview {
        let name = preview_name(study_uid, &p);
        study.preview_blob_name = Some(NonBlank::new(name.clone())?);
        derived_previews.push((name, p));
    }
    Ok(StudyAssembly {
        study,
        derived_previews,
    })
}

type SeriesKey = (bool, i32);

/// Series with a number first, by number; then those without.
fn series_order(f: &InstanceFacts) -> SeriesKey {
    match f.series.series_number {
        Some(n) => (false, n),
        None => (true, 0),
    }
}

fn image_order(f: &InstanceFacts) -> (bool, i32, &str) {
    match f.instance_number {
        Some(n) => (false, n, f.sop_instance_uid.as_str()),
        None => (true, 0, f.sop_instance_uid.as_str()),
    }
}

fn assemble_series(
    series_uid: &str,
    members: &[&InstanceFacts],
) -> Result<(Series, Option<PreviewRef>), ModelError> {
    let images = members
        .iter()
        .map(|f| series_image(f))
        .collect::<Result<Vec<_>, _>>()?;
    let mut series = Series::new(NonEmpty::from_vec(images, "series", "image")?);
    let first_text = |get: fn(&InstanceFacts) -> Option<&String>| {
        members
            .iter()
            .find_map(|f| NonBlank::optional(get(f).map(String::as_str)))
    };
    series.acquisition_datetime = members.iter().find_map(|f| {
        parse_da_tm(
            f.series.acquisition_date.as_deref(),
            f.series.acquisition_time.as_deref(),
        )
    });
    series.description = first_text(|f| f.series.description.as_ref());
    series.institution_name =
        first_text(|f| f.series.institution_name.as_ref()).map(|name| Organization {
            name: name.into_string(),
            ..Organization::default()
        });
    series.modality = first_text(|f| f.series.modality.as_ref())
        .map(|m| CodableValue::dicom_modality(m.as_str()));
    series.body_part =
        first_text(|f| f.series.body_part.as_ref()).map(|b| CodableValue::text(b.into_string()));
    series.series_instance_uid = Some(NonBlank::new(series_uid)?);

    let preview = middle_preview(members);
    if let Some(p) = &preview {
        series.preview_blob_name = Some(NonBlank::new(preview_name(series_uid, p))?);
    }
    Ok((series, preview))
}

/// The preview of the middle image (0-based index n / 2); if that one has none, the nearest
/// image that has one.
fn middle_preview(members: &[&InstanceFacts]) -> Option<PreviewRef> {
    let mid = members.len() / 2;
    (0..members.len())
        .flat_map(|d| [mid.checked_add(d), mid.checked_sub(d)])
        .flatten()
        .filter(|&i| i < members.len())
        .find_map(|i| members[i].preview.clone())
}

fn series_image(f: &InstanceFacts) -> Result<SeriesImage, ModelError> {
    Ok(SeriesImage {
        image_blob_name: NonBlank::new(f.sop_instance_uid.as_str())?,
        image_preview_blob_name: f.preview_blob_name().map(NonBlank::new).transpose()?,
    })
}

/// Key images named by the study's KOS documents that the study actually holds, in order.
fn key_images(
    ordered: &[&InstanceFacts],
    by_sop: &HashMap<&str, &InstanceFacts>,
) -> Result<Vec<SeriesImage>, ModelError> {
    let mut seen = std::collections::HashSet::new();
    ordered
        .iter()
        .flat_map(|f| f.key_image_refs.iter())
        .filter(|uid| seen.insert(uid.as_str()))
        .filter_map(|uid| by_sop.get(uid.as_str()))
        .map(|f| series_image(f))
        .collect()
}

/// Study date and time; else the first series or acquisition date; else the day the first
/// instance arrived (the schema requires a date).
fn study_when(ordered: &[&InstanceFacts]) -> HvDateTime {
    let stated = ordered.iter().find_map(|f| {
        parse_da_tm(f.study.study_date.as_deref(), f.study.study_time.as_deref())
            .or_else(|| {
                parse_da_tm(
                    f.series.series_date.as_deref(),
                    f.series.series_time.as_deref(),
                )
            })
            .or_else(|| {
                parse_da_tm(
                    f.series.acquisition_date.as_deref(),
                    f.series.acquisition_time.as_deref(),
                )
            })
    });
    stated.unwrap_or_else(|| {
        let received = ordered
            .iter()
            .map(|f| f.received)
            .min()
            .unwrap_or(Timestamp::UNIX_EPOCH);
        HvDateTime::date_only(date_of(received))
    })
}

fn date_of(t: Timestamp) -> HvDate {
    let day = t.to_rfc3339();
    parse_da(&day[..10].replace('-', ""))
        .unwrap_or_else(|| HvDate::new(1970, 1, 1).expect("1970-01-01 is a valid date"))
}

#[cfg(test)]
mod tests;
