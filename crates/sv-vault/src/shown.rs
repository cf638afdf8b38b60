//! A shared study as its share shows it: as stored, or, when the share de-identifies, with
//! the PS3.15 Basic Profile applied to everything the recipient can reach (files, DICOM JSON,
//! search results, the pages' UIDs) by one [`sv_dicom::Deidentifier`].
//!
//! Search results are not parsed from files: [`AsShared::facts`] and [`AsShared::digest`]
//! put the stored instance facts and study digest through the same table, attribute by
//! attribute, so a search of a large study reads one digest, not every file. A test holds
//! them to what the de-identified files say. Requests name what the share shows; the vault
//! finds the stored instances behind them by remapping the study's UIDs (the keyed hash runs
//! one way only), which costs one keyed blake3 per instance.

use std::io::Read;

use sv_dicom::{Deidentifier, ParsedInstance};
use sv_model::Share;
use sv_model::study::{
    Code, InstanceFacts, SeriesAttributes, SeriesDigest, StudyAttributes, StudyDigest,
};

use crate::search::instance_order;
use crate::{Vault, VaultError};

/// How a share shows a study: as stored, or de-identified with the share's key (the same UID
/// always maps to the same one within a share, and differently across shares).
#[derive(Debug)]
pub struct AsShared(Option<Deidentifier>);

/// One instance of a shared study: what is stored, and what the share shows of it.
#[derive(Debug, Clone)]
pub struct ShownInstance {
    pub stored: InstanceFacts,
    pub shown: InstanceFacts,
}

impl AsShared {
    pub fn of(share: &Share) -> AsShared {
        AsShared(share.deidentify.then(|| Deidentifier::new(share.uid_key)))
    }

    pub fn deidentifies(&self) -> bool {
        self.0.is_some()
    }

    /// A UID as the share shows it.
    pub fn show(&self, uid: &str) -> String {
        match &self.0 {
            Some(d) => d.remap_uid(uid),
            None => uid.to_owned(),
        }
    }

    /// An instance's facts as the share shows them: every text attribute through the
    /// profile's table by its tag; image facts, the preview (pixels only) and the stored
    /// blob kept.
    pub fn facts(&self, f: &InstanceFacts) -> InstanceFacts {
        let Some(d) = &self.0 else {
            return f.clone();
        };
        InstanceFacts {
            study_instance_uid: d.remap_uid(&f.study_instance_uid),
            series_instance_uid: d.remap_uid(&f.series_instance_uid),
            sop_instance_uid: d.remap_uid(&f.sop_instance_uid),
            study: study_attributes(d, &f.study),
            series: series_attributes(d, &f.series),
            instance_number: number(d, tag::INSTANCE_NUMBER, f.instance_number),
            key_image_refs: f.key_image_refs.iter().map(|u| d.remap_uid(u)).collect(),
            procedure_codes: codes(d, &f.procedure_codes),
            title: f
                .title
                .clone()
                .filter(|_| d.keeps_sequence(tag::CONCEPT_NAME_CODE_SEQUENCE)),
            ..f.clone()
        }
    }

    /// A study digest as the share shows it (series in the order of their shown UIDs, as a
    /// digest keeps them).
    pub fn digest(&self, digest: &StudyDigest) -> StudyDigest {
        let Some(d) = &self.0 else {
            return digest.clone();
        };
        let mut series: Vec<SeriesDigest> = digest
            .series
            .iter()
            .map(|s| SeriesDigest {
                series_instance_uid: d.remap_uid(&s.series_instance_uid),
                attributes: series_attributes(d, &s.attributes),
                instance_count: s.instance_count,
            })
            .collect();
        series.sort_by(|a, b| a.series_instance_uid.cmp(&b.series_instance_uid));
        StudyDigest {
            study_instance_uid: d.remap_uid(&digest.study_instance_uid),
            study: study_attributes(d, &digest.study),
            series,
            ..digest.clone()
        }
    }

    /// A parsed stored instance as the share shows it.
    fn instance(&self, parsed: ParsedInstance) -> Result<ParsedInstance, VaultError> {
        match &self.0 {
            Some(d) => d
                .deidentify_instance(parsed)
                .map_err(|e| VaultError::Deidentify(e.to_string())),
            None => Ok(parsed),
        }
    }
}

/// The tags the facts come from (PS3.6), for the profile's table.
mod tag {
    pub(super) type Tag = (u16, u16);
    pub(super) const STUDY_DATE: Tag = (0x0008, 0x0020);
    pub(super) const SERIES_DATE: Tag = (0x0008, 0x0021);
    pub(super) const ACQUISITION_DATE: Tag = (0x0008, 0x0022);
    pub(super) const STUDY_TIME: Tag = (0x0008, 0x0030);
    pub(super) const SERIES_TIME: Tag = (0x0008, 0x0031);
    pub(super) const ACQUISITION_TIME: Tag = (0x0008, 0x0032);
    pub(super) const ACCESSION_NUMBER: Tag = (0x0008, 0x0050);
    pub(super) const MODALITY: Tag = (0x0008, 0x0060);
    pub(super) const INSTITUTION_NAME: Tag = (0x0008, 0x0080);
    pub(super) const REFERRING_PHYSICIAN_NAME: Tag = (0x0008, 0x0090);
    pub(super) const TIMEZONE_OFFSET_FROM_UTC: Tag = (0x0008, 0x0201);
    pub(super) const PROCEDURE_CODE_SEQUENCE: Tag = (0x0008, 0x1032);
    pub(super) const STUDY_DESCRIPTION: Tag = (0x0008, 0x1030);
    pub(super) const SERIES_DESCRIPTION: Tag = (0x0008, 0x103E);
    pub(super) const PATIENT_NAME: Tag = (0x0010, 0x0010);
    pub(super) const PATIENT_ID: Tag = (0x0010, 0x0020);
    pub(super) const PATIENT_BIRTH_DATE: Tag = (0x0010, 0x0030);
    pub(super) const PATIENT_SEX: Tag = (0x0010, 0x0040);
    pub(super) const BODY_PART_EXAMINED: Tag = (0x0018, 0x0015);
    pub(super) const STUDY_ID: Tag = (0x0020, 0x0010);
    pub(super) const SERIES_NUMBER: Tag = (0x0020, 0x0011);
    pub(super) const INSTANCE_NUMBER: Tag = (0x0020, 0x0013);
    pub(super) const LATERALITY: Tag = (0x0020, 0x0060);
    /// The summary reads the reason from (0032,1030), else (0040,1002) in Request Attributes,
    /// else (0032,1060): it is shown only when the table keeps all three.
    pub(super) const REASON: [Tag; 3] = [(0x0032, 0x1030), (0x0040, 0x1002), (0x0032, 0x1060)];
    pub(super) const REQUEST_ATTRIBUTES_SEQUENCE: Tag = (0x0040, 0x0275);
    pub(super) const CONCEPT_NAME_CODE_SEQUENCE: Tag = (0x0040, 0xA043);
}

fn text(d: &Deidentifier, tag: tag::Tag, value: &Option<String>) -> Option<String> {
    d.attribute(tag, value.as_deref())
}

fn number(d: &Deidentifier, tag: tag::Tag, value: Option<i32>) -> Option<i32> {
    let shown = d.attribute(tag, value.map(|n| n.to_string()).as_deref())?;
    shown.trim().parse().ok()
}

fn codes(d: &Deidentifier, codes: &[Code]) -> Vec<Code> {
    if d.keeps_sequence(tag::PROCEDURE_CODE_SEQUENCE) {
        codes.to_vec()
    } else {
        Vec::new()
    }
}

fn study_attributes(d: &Deidentifier, a: &StudyAttributes) -> StudyAttributes {
    let reason_kept = tag::REASON
        .iter()
        .all(|t| d.attribute(*t, Some("x")).as_deref() == Some("x"))
        && d.keeps_sequence(tag::REQUEST_ATTRIBUTES_SEQUENCE);
    StudyAttributes {
        study_date: text(d, tag::STUDY_DATE, &a.study_date),
        study_time: text(d, tag::STUDY_TIME, &a.study_time),
        description: text(d, tag::STUDY_DESCRIPTION, &a.description),
        accession_number: text(d, tag::ACCESSION_NUMBER, &a.accession_number),
        referring_physician: text(d, tag::REFERRING_PHYSICIAN_NAME, &a.referring_physician),
        reason: a.reason.clone().filter(|_| reason_kept),
        patient_name: text(d, tag::PATIENT_NAME, &a.patient_name),
        patient_id: text(d, tag::PATIENT_ID, &a.patient_id),
        patient_birth_date: text(d, tag::PATIENT_BIRTH_DATE, &a.patient_birth_date),
        patient_sex: text(d, tag::PATIENT_SEX, &a.patient_sex),
        study_id: text(d, tag::STUDY_ID, &a.study_id),
        timezone_offset: text(d, tag::TIMEZONE_OFFSET_FROM_UTC, &a.timezone_offset),
    }
}

fn series_attributes(d: &Deidentifier, a: &SeriesAttributes) -> SeriesAttributes {
    SeriesAttributes {
        series_number: number(d, tag::SERIES_NUMBER, a.series_number),
        modality: text(d, tag::MODALITY, &a.modality),
        description: text(d, tag::SERIES_DESCRIPTION, &a.description),
        body_part: text(d, tag::BODY_PART_EXAMINED, &a.body_part),
        laterality: text(d, tag::LATERALITY, &a.laterality),
        institution_name: text(d, tag::INSTITUTION_NAME, &a.institution_name),
        series_date: text(d, tag::SERIES_DATE, &a.series_date),
        series_time: text(d, tag::SERIES_TIME, &a.series_time),
        acquisition_date: text(d, tag::ACQUISITION_DATE, &a.acquisition_date),
        acquisition_time: text(d, tag::ACQUISITION_TIME, &a.acquisition_time),
    }
}

impl Vault {
    /// The shared study's digest as the share shows it; `None` once the study is gone
    /// (blocking: one point read).
    pub fn shown_digest_blocking(&self, share: &Share) -> Result<Option<StudyDigest>, VaultError> {
        let digest = self
            .inner
            .meta
            .study_digest(share.record_id, share.thing_id)?;
        Ok(digest.map(|d| AsShared::of(share).digest(&d)))
    }

    /// The shared study's instances that the shown UIDs `series` and `sop` select (all when
    /// `None`), in display order, each stored and shown (blocking: reads the study's instance
    /// index).
    pub fn shown_instances_blocking(
        &self,
        share: &Share,
        series: Option<&str>,
        sop: Option<&str>,
    ) -> Result<Vec<ShownInstance>, VaultError> {
        let view = AsShared::of(share);
        let mut stored = self
            .inner
            .meta
            .study_instances(share.record_id, share.thing_id)?;
        stored.sort_by(instance_order);
        Ok(stored
            .into_iter()
            .filter(|f| {
                series.is_none_or(|s| view.show(&f.series_instance_uid) == s)
                    && sop.is_none_or(|s| view.show(&f.sop_instance_uid) == s)
            })
            .map(|f| ShownInstance {
                shown: view.facts(&f),
                stored: f,
            })
            .collect())
    }

    /// An instance of a shared study parsed as the share shows it (blocking: reads the whole
    /// file, verified, and parses it; run it on a worker slot).
    pub fn shown_parsed_instance(
        &self,
        share: &Share,
        stored: &InstanceFacts,
    ) -> Result<ParsedInstance, VaultError> {
        AsShared::of(share).instance(self.parsed_instance(stored)?)
    }

    /// An instance's data set as DICOM JSON as the share shows it, its bulk data named by
    /// `bulk_uri` (blocking, like [`Self::shown_parsed_instance`]).
    pub fn shown_instance_metadata_blocking(
        &self,
        share: &Share,
        stored: &InstanceFacts,
        bulk_uri: &dyn Fn(&str) -> String,
    ) -> Result<serde_json::Value, VaultError> {
        self.shown_parsed_instance(share, stored)?
            .metadata_json(bulk_uri)
            .map_err(VaultError::StoredInstance)
    }

    /// A top-level binary attribute (`tag` as 8 hex digits) as the share shows the instance:
    /// `None` when the share's de-identification removed or emptied it (blocking).
    pub fn shown_instance_bulk_blocking(
        &self,
        share: &Share,
        stored: &InstanceFacts,
        tag: &str,
    ) -> Result<Option<Vec<u8>>, VaultError> {
        self.shown_parsed_instance(share, stored)?
            .bulk(tag)
            .map_err(crate::studies::frames_error)
    }

    /// An instance of a shared study as the recipient downloads it: the stored PS3.10 file,
    /// or, on a de-identifying share, that file with the PS3.15 Basic Profile applied and its
    /// UIDs remapped (blocking; de-identifying reads the whole file).
    pub fn shared_instance_file_blocking(
        &self,
        share: &Share,
        facts: &InstanceFacts,
    ) -> Result<Box<dyn Read + Send>, VaultError> {
        let file = self.instance_file_blocking(facts)?;
        if !share.deidentify {
            return Ok(file);
        }
        let mut bytes = Vec::with_capacity(usize::try_from(facts.length).unwrap_or(0) + 512);
        let mut file = file;
        file.read_to_end(&mut bytes)
            .map_err(sv_blob::BlobError::Source)?;
        let clean = Deidentifier::new(share.uid_key)
            .deidentify_file(&bytes, &self.inner.config.limits)
            .map_err(|e| VaultError::Deidentify(e.to_string()))?;
        Ok(Box::new(std::io::Cursor::new(clean)))
    }
}

#[cfg(test)]
mod tests {
    use sv_blob::BlobId;
    use sv_model::Timestamp;

    use super::*;
    use crate::ingest::instance_facts;

    fn facts_of(file: &[u8]) -> InstanceFacts {
        let parsed = sv_dicom::parse(file, &sv_dicom::Limits::default()).expect("parses");
        let mut f = instance_facts(parsed.summary(), BlobId::of(b""), 0, None, None);
        f.received = Timestamp::UNIX_EPOCH;
        f
    }

    /// What a search says of a de-identified instance is what its de-identified file says:
    /// the table applied attribute by attribute agrees with the table applied to the file.
    #[test]
    fn shown_facts_are_the_facts_of_the_deidentified_file() {
        let d = Deidentifier::new([9; 32]);
        let view = AsShared(Some(d.clone()));
        let mut checked = 0;
        for name in [
            "CT_small.dcm",
            "MR_small.dcm",
            "JPEG2000.dcm",
            "SC_rgb_gdcm_KY.dcm",
            "693_J2KI.dcm",
        ] {
            let file = sv_testkit::fixtures::read_dicom_fixture(name);
            let stored = facts_of(&file);
            assert!(
                stored.study.patient_name.is_some(),
                "{name} names a patient"
            );
            let clean = d
                .deidentify_file(&file, &sv_dicom::Limits::default())
                .expect("de-identifies");
            let from_file = facts_of(&clean);
            assert_eq!(view.facts(&stored), from_file, "{name}");
            assert_ne!(from_file.study.patient_name, stored.study.patient_name);
            checked += 1;
        }
        assert_eq!(checked, 5);
    }

    #[test]
    fn a_digest_is_shown_with_its_series_remapped_and_in_order() {
        let file = sv_testkit::fixtures::read_dicom_fixture("CT_small.dcm");
        let f = facts_of(&file);
        let mut digest = StudyDigest::empty(
            &f.study_instance_uid,
            sv_model::VersionStamp::new_random(),
            Timestamp::UNIX_EPOCH,
        );
        digest.add(&f);
        let mut other = f.clone();
        other.series_instance_uid = "1.2.3.4".into();
        digest.add(&other);
        let view = AsShared(Some(Deidentifier::new([3; 32])));
        let shown = view.digest(&digest);
        assert_eq!(shown.study_instance_uid, view.show(&f.study_instance_uid));
        assert_eq!(shown.study, view.facts(&f).study);
        let uids: Vec<&str> = shown
            .series
            .iter()
            .map(|s| s.series_instance_uid.as_str())
            .collect();
        let mut sorted = uids.clone();
        sorted.sort_unstable();
        assert_eq!(uids, sorted);
        assert!(uids.contains(&view.show("1.2.3.4").as_str()));
        assert_eq!(shown.instance_count, 2);
        // A share that does not de-identify shows the digest as stored.
        assert_eq!(AsShared(None).digest(&digest), digest);
    }
}
