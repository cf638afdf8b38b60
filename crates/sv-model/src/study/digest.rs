//! A study's digest: the study-level facts that searches match on (FHIR ImagingStudy search,
//! DICOMweb QIDO at study level), kept up to date one instance at a time.
//!
//! The metadata store keeps one digest per study thing and changes it in the same transaction
//! that adds or replaces an instance, so a search reads one small value per study instead of
//! every instance of every study. Folding an instance in costs O(series + SOP classes), never
//! O(instances).
//!
//! Merge rule: each study and series attribute keeps the first non-empty value an instance
//! gave it; later instances only fill what is still empty. Counts are exact: removing an
//! instance (when it is replaced) takes it out of its series and SOP class counts, and a series
//! whose last instance went is dropped.

use crate::study::{InstanceFacts, SeriesAttributes, StudyAttributes};
use crate::{Timestamp, VersionStamp};

/// What searches know of one study thing without reading its instances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StudyDigest {
    pub study_instance_uid: String,
    /// The study thing's version after the change that last touched the digest.
    pub version: VersionStamp,
    /// When that change happened.
    pub updated: Timestamp,
    pub study: StudyAttributes,
    /// By SeriesInstanceUID.
    pub series: Vec<SeriesDigest>,
    /// SOP Class UIDs with how many instances of each, by UID.
    pub sop_classes: Vec<(String, u32)>,
    pub instance_count: u32,
}

/// One series of a [`StudyDigest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesDigest {
    pub series_instance_uid: String,
    pub attributes: SeriesAttributes,
    pub instance_count: u32,
}

impl StudyDigest {
    /// The digest of a study with no instance yet.
    pub fn empty(study_instance_uid: &str, version: VersionStamp, updated: Timestamp) -> Self {
        StudyDigest {
            study_instance_uid: study_instance_uid.to_owned(),
            version,
            updated,
            study: StudyAttributes::default(),
            series: Vec::new(),
            sop_classes: Vec::new(),
            instance_count: 0,
        }
    }

    /// Folds one more instance in (see the module notes for the merge rule).
    pub fn add(&mut self, f: &InstanceFacts) {
        fill_study(&mut self.study, &f.study);
        match self
            .series
            .binary_search_by(|s| s.series_instance_uid.as_str().cmp(&f.series_instance_uid))
        {
            Ok(i) => {
                let s = &mut self.series[i];
                fill_series(&mut s.attributes, &f.series);
                s.instance_count += 1;
            }
            Err(i) => self.series.insert(
                i,
                SeriesDigest {
                    series_instance_uid: f.series_instance_uid.clone(),
                    attributes: f.series.clone(),
                    instance_count: 1,
                },
            ),
        }
        match self
            .sop_classes
            .binary_search_by(|(uid, _)| uid.as_str().cmp(&f.sop_class_uid))
        {
            Ok(i) => self.sop_classes[i].1 += 1,
            Err(i) => self.sop_classes.insert(i, (f.sop_class_uid.clone(), 1)),
        }
        self.instance_count += 1;
    }

    /// Takes an instance that was folded in back out of the counts (its attribute values stay:
    /// another instance may have given the same ones). Unknown series or classes are ignored.
    pub fn remove(&mut self, f: &InstanceFacts) {
        if let Ok(i) = self
            .series
            .binary_search_by(|s| s.series_instance_uid.as_str().cmp(&f.series_instance_uid))
        {
            self.series[i].instance_count -= 1;
            if self.series[i].instance_count == 0 {
                self.series.remove(i);
            }
        }
        if let Ok(i) = self
            .sop_classes
            .binary_search_by(|(uid, _)| uid.as_str().cmp(&f.sop_class_uid))
        {
            self.sop_classes[i].1 -= 1;
            if self.sop_classes[i].1 == 0 {
                self.sop_classes.remove(i);
            }
        }
        self.instance_count = self.instance_count.saturating_sub(1);
    }

    /// The digest of a whole study, built from its instances (in any order). Equal to folding
    /// them in one by one, in that order.
    pub fn of(
        facts: &[InstanceFacts],
        version: VersionStamp,
        updated: Timestamp,
    ) -> Option<StudyDigest> {
        let first = facts.first()?;
        let mut digest = StudyDigest::empty(&first.study_instance_uid, version, updated);
        for f in facts {
            digest.add(f);
        }
        Some(digest)
    }

    /// Distinct modalities of the series, in series-UID order.
    pub fn modalities(&self) -> impl Iterator<Item = &str> {
        let mut seen: Vec<&str> = Vec::new();
        self.series
            .iter()
            .filter_map(|s| s.attributes.modality.as_deref())
            .filter(move |m| {
                if seen.contains(m) {
                    false
                } else {
                    seen.push(m);
                    true
                }
            })
    }
}

fn fill(into: &mut Option<String>, from: &Option<String>) {
    if into.as_deref().is_none_or(|v| v.trim().is_empty())
        && from.as_deref().is_some_and(|v| !v.trim().is_empty())
    {
        into.clone_from(from);
    }
}

fn fill_study(into: &mut StudyAttributes, from: &StudyAttributes) {
    let StudyAttributes {
        study_date,
        study_time,
        description,
        accession_number,
        referring_physician,
        reason,
        patient_name,
        patient_id,
        patient_birth_date,
        patient_sex,
        study_id,
        timezone_offset,
    } = into;
    fill(study_date, &from.study_date);
    fill(study_time, &from.study_time);
    fill(description, &from.description);
    fill(accession_number, &from.accession_number);
    fill(referring_physician, &from.referring_physician);
    fill(reason, &from.reason);
    fill(patient_name, &from.patient_name);
    fill(patient_id, &from.patient_id);
    fill(patient_birth_date, &from.patient_birth_date);
    fill(patient_sex, &from.patient_sex);
    fill(study_id, &from.study_id);
    fill(timezone_offset, &from.timezone_offset);
}

fn fill_series(into: &mut SeriesAttributes, from: &SeriesAttributes) {
    let SeriesAttributes {
        series_number,
        modality,
        description,
        body_part,
        laterality,
        institution_name,
        series_date,
        series_time,
        acquisition_date,
        acquisition_time,
    } = into;
    if series_number.is_none() {
        *series_number = from.series_number;
    }
    fill(modality, &from.modality);
    fill(description, &from.description);
    fill(body_part, &from.body_part);
    fill(laterality, &from.laterality);
    fill(institution_name, &from.institution_name);
    fill(series_date, &from.series_date);
    fill(series_time, &from.series_time);
    fill(acquisition_date, &from.acquisition_date);
    fill(acquisition_time, &from.acquisition_time);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BlobId;

    fn facts(series: &str, sop: &str, class: &str, modality: Option<&str>) -> InstanceFacts {
        InstanceFacts {
            study_instance_uid: "1.2.3".into(),
            series_instance_uid: series.into(),
            sop_instance_uid: sop.into(),
            sop_class_uid: class.into(),
            instance_number: None,
            transfer_syntax_uid: "1.2.840.10008.1.2.1".into(),
            rows: None,
            columns: None,
            number_of_frames: None,
            study: StudyAttributes::default(),
            series: SeriesAttributes {
                modality: modality.map(str::to_owned),
                ..SeriesAttributes::default()
            },
            blob_id: BlobId::of(sop.as_bytes()),
            length: 1,
            preview: None,
            preview_error: None,
            key_image_refs: Vec::new(),
            procedure_codes: Vec::new(),
            title: None,
            received: Timestamp::from_unix_micros(0),
        }
    }

    #[test]
    fn counts_follow_adds_and_removes_and_empty_series_go() {
        let a = facts("1.2.3.1", "1.2.3.1.1", "CT", Some("CT"));
        let b = facts("1.2.3.1", "1.2.3.1.2", "CT", None);
        let c = facts("1.2.3.2", "1.2.3.2.1", "SR", Some("SR"));
        let v = VersionStamp::new_random();
        let mut d = StudyDigest::of(
            &[a.clone(), b, c.clone()],
            v,
            Timestamp::from_unix_micros(1),
        )
        .unwrap();
        assert_eq!(d.instance_count, 3);
        assert_eq!(d.series.len(), 2);
        assert_eq!(d.series[0].instance_count, 2);
        assert_eq!(d.series[0].attributes.modality.as_deref(), Some("CT"));
        assert_eq!(d.sop_classes, vec![("CT".into(), 2), ("SR".into(), 1)]);
        assert_eq!(d.modalities().collect::<Vec<_>>(), ["CT", "SR"]);

        d.remove(&c);
        assert_eq!(
            d.series.len(),
            1,
            "the series of its last instance is dropped"
        );
        assert_eq!(d.sop_classes, vec![("CT".into(), 2)]);
        d.remove(&a);
        assert_eq!(d.instance_count, 1);
        assert_eq!(d.series[0].instance_count, 1);
    }

    #[test]
    fn the_first_non_empty_value_wins() {
        let mut a = facts("1.2.3.1", "1.2.3.1.1", "CT", None);
        a.study.description = Some("  ".into());
        let mut b = facts("1.2.3.1", "1.2.3.1.2", "CT", Some("MR"));
        b.study.description = Some("Head".into());
        b.study.accession_number = Some("A1".into());
        let mut c = facts("1.2.3.1", "1.2.3.1.3", "CT", Some("CT"));
        c.study.description = Some("Other".into());
        let d = StudyDigest::of(
            &[a, b, c],
            VersionStamp::new_random(),
            Timestamp::from_unix_micros(1),
        )
        .unwrap();
        assert_eq!(d.study.description.as_deref(), Some("Head"));
        assert_eq!(d.study.accession_number.as_deref(), Some("A1"));
        assert_eq!(d.series[0].attributes.modality.as_deref(), Some("MR"));
    }
}
