//! Reading studies: the study thing with its XML assembled from the per-instance facts.

use sv_model::study::{InstanceFacts, StudyAssembly, assemble_study};
use sv_model::{NamedBlob, RecordId, Thing, ThingId, TypeId};

use crate::{Vault, VaultError};

/// A study as a reader sees it.
#[derive(Debug, Clone)]
pub struct StudyView {
    /// The study thing. `data_xml` holds the assembled `<medical-image-study>`, and `blobs`
    /// the stored names plus the derived series and study preview names.
    pub thing: Thing,
    pub assembly: StudyAssembly,
    /// Every instance, in no particular order.
    pub instances: Vec<InstanceFacts>,
}

impl Vault {
    /// The study thing `thing` of `record`, assembled (blocking).
    pub fn study_blocking(
        &self,
        record: RecordId,
        thing: ThingId,
    ) -> Result<StudyView, VaultError> {
        let meta = &self.inner.meta;
        let mut stored = meta
            .thing(record, thing)?
            .ok_or(VaultError::ThingNotFound(thing))?;
        if stored.type_id != TypeId::MEDICAL_IMAGE_STUDY {
            return Err(VaultError::ThingNotFound(thing));
        }
        let instances = meta.study_instances(record, thing)?;
        if instances.is_empty() {
            return Err(VaultError::EmptyStudy { thing });
        }
        let assembly = assemble_study(&instances)?;
        stored.data_xml = sv_hvxml::write_medical_image_study(&assembly.study);
        for (name, preview) in &assembly.derived_previews {
            stored.blobs.push(NamedBlob {
                name: sv_model::BlobName::non_empty(name.as_str())?,
                content_type: preview.media_type.clone(),
                length: preview.length,
                blob_id: preview.blob_id,
            });
        }
        Ok(StudyView {
            thing: stored,
            assembly,
            instances,
        })
    }

    /// The study with this StudyInstanceUID in `record`, if there is one (blocking).
    pub fn study_by_uid_blocking(
        &self,
        record: RecordId,
        study_instance_uid: &str,
    ) -> Result<Option<StudyView>, VaultError> {
        match self.inner.meta.study_thing(record, study_instance_uid)? {
            Some(thing) => self.study_blocking(record, thing).map(Some),
            None => Ok(None),
        }
    }
}
