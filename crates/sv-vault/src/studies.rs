//! Reading studies: the study thing with its XML assembled from the per-instance facts, the
//! record's study list, and a study's instances for download.

use std::io::Read;
use std::sync::Arc;

use sv_model::study::{InstanceFacts, StudyAssembly, assemble_study};
use sv_model::{NamedBlob, RecordId, Thing, ThingId, ThingState, Timestamp, TypeId};

use crate::derived::DerivedPreviews;
use crate::{FrameRefusal, Vault, VaultError};

pub use sv_dicom::FrameBytes;

/// A live study as its list and detail pages show it: assembled, with its derived previews,
/// without the XML or the named blobs a [`StudyView`] carries.
#[derive(Debug, Clone)]
pub struct StudyListing {
    pub thing: ThingId,
    pub study_instance_uid: String,
    /// Every instance, by series UID then SOP Instance UID.
    pub instances: Vec<InstanceFacts>,
    pub assembly: StudyAssembly,
    pub derived: Arc<DerivedPreviews>,
    /// When the study thing last changed.
    pub updated: Timestamp,
}

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

    /// Every live study of `record`, unordered (blocking).
    pub fn study_listings_blocking(
        &self,
        record: RecordId,
    ) -> Result<Vec<StudyListing>, VaultError> {
        self.require_record(record)?;
        let mut out = Vec::new();
        for (uid, thing) in self.inner.meta.studies(record)? {
            out.extend(self.listing(record, uid, thing)?);
        }
        Ok(out)
    }

    /// The live study with this StudyInstanceUID, if there is one (blocking).
    pub fn study_listing_blocking(
        &self,
        record: RecordId,
        study_instance_uid: &str,
    ) -> Result<Option<StudyListing>, VaultError> {
        match self.inner.meta.study_thing(record, study_instance_uid)? {
            Some(thing) => self.listing(record, study_instance_uid.to_owned(), thing),
            None => Ok(None),
        }
    }

    /// The instances of the live study with this StudyInstanceUID, by series UID then SOP
    /// Instance UID; empty when there is no such study (blocking).
    pub fn study_instances_blocking(
        &self,
        record: RecordId,
        study_instance_uid: &str,
    ) -> Result<Vec<InstanceFacts>, VaultError> {
        let meta = &self.inner.meta;
        let Some(thing) = meta.study_thing(record, study_instance_uid)? else {
            return Ok(Vec::new());
        };
        match meta.thing_header(record, thing)? {
            Some(header) if header.state == ThingState::Active => {
                Ok(meta.study_instances(record, thing)?)
            }
            _ => Ok(Vec::new()),
        }
    }

    /// Reads a live study thing's facts and assembles them; remembers its derived previews.
    fn listing(
        &self,
        record: RecordId,
        uid: String,
        thing: ThingId,
    ) -> Result<Option<StudyListing>, VaultError> {
        let meta = &self.inner.meta;
        let Some(header) = meta.thing_header(record, thing)? else {
            return Ok(None);
        };
        if header.state != ThingState::Active || header.type_id != TypeId::MEDICAL_IMAGE_STUDY {
            return Ok(None);
        }
        let instances = meta.study_instances(record, thing)?;
        if instances.is_empty() {
            return Ok(None);
        }
        let assembly = assemble_study(&instances)?;
        let derived = Arc::new(DerivedPreviews::of(&assembly));
        self.inner
            .derived
            .put((record, thing), header.version, derived.clone());
        Ok(Some(StudyListing {
            thing,
            study_instance_uid: uid,
            instances,
            assembly,
            derived,
            updated: header.updated.timestamp,
        }))
    }

    /// An instance's data set as DICOM JSON, its bulk data named by `bulk_uri` (blocking:
    /// reads the file, verified, and parses it; run it on a worker slot).
    pub fn instance_metadata_blocking(
        &self,
        facts: &InstanceFacts,
        bulk_uri: &dyn Fn(&str) -> String,
    ) -> Result<serde_json::Value, VaultError> {
        self.parsed_instance(facts)?
            .metadata_json(bulk_uri)
            .map_err(VaultError::StoredInstance)
    }

    /// Frames `numbers` (1-based, in that order) of an instance, as stored: raw little-endian
    /// samples or compressed codestreams (blocking: reads the file, verified, and parses it;
    /// run it on a worker slot). A list the instance cannot answer is
    /// [`VaultError::Frames`]; a file that no longer parses is [`VaultError::StoredInstance`].
    pub fn instance_frames_blocking(
        &self,
        facts: &InstanceFacts,
        numbers: &[u32],
    ) -> Result<Vec<FrameBytes>, VaultError> {
        self.parsed_instance(facts)?
            .frames(numbers)
            .map_err(frames_error)
    }

    /// The value of a top-level binary attribute (`tag` as 8 hex digits) of an instance;
    /// `None` when there is none (blocking, like [`Self::instance_frames_blocking`]).
    /// Encapsulated Pixel Data is [`VaultError::Frames`] ([`FrameRefusal::NotServable`]).
    pub fn instance_bulk_blocking(
        &self,
        facts: &InstanceFacts,
        tag: &str,
    ) -> Result<Option<Vec<u8>>, VaultError> {
        self.parsed_instance(facts)?.bulk(tag).map_err(frames_error)
    }

    /// The stored file, read whole (verified) and parsed.
    pub(crate) fn parsed_instance(
        &self,
        facts: &InstanceFacts,
    ) -> Result<sv_dicom::ParsedInstance, VaultError> {
        let mut bytes = Vec::with_capacity(usize::try_from(facts.length).unwrap_or(0));
        self.inner
            .blobs
            .get(&facts.blob_id, None)?
            .read_to_end(&mut bytes)
            .map_err(sv_blob::BlobError::Source)?;
        sv_dicom::parse(&bytes, &self.inner.config.limits).map_err(VaultError::StoredInstance)
    }

    /// An instance's file as a PS3.10 file: what ingest stored, verified as it is read, after
    /// the preamble and file meta it may have come without (a STOW-RS client may send a bare
    /// data set). Blocking: opens the file.
    pub fn instance_file_blocking(
        &self,
        facts: &InstanceFacts,
    ) -> Result<Box<dyn Read + Send>, VaultError> {
        let mut reader = self.inner.blobs.get(&facts.blob_id, None)?;
        let mut head = Vec::with_capacity(132);
        (&mut reader)
            .take(132)
            .read_to_end(&mut head)
            .map_err(sv_blob::BlobError::Source)?;
        let prefix = sv_dicom::part10_prefix(
            &head,
            &facts.sop_class_uid,
            &facts.sop_instance_uid,
            &facts.transfer_syntax_uid,
        )
        .map_err(VaultError::StoredInstance)?
        .unwrap_or_default();
        let start = std::io::Cursor::new([prefix, head].concat());
        Ok(Box::new(start.chain(reader)))
    }
}

/// Frame-request outcomes as [`VaultError::Frames`]; anything else means the file is unreadable.
pub(crate) fn frames_error(e: sv_dicom::DicomError) -> VaultError {
    use sv_dicom::DicomError as D;
    match e {
        D::InvalidFrameList { detail } => VaultError::Frames(FrameRefusal::InvalidList(detail)),
        D::NoSuchFrame { number, frames } => {
            VaultError::Frames(FrameRefusal::NoSuchFrame { number, frames })
        }
        D::UnsupportedPixelData { detail } => VaultError::Frames(FrameRefusal::NotServable(detail)),
        other => VaultError::StoredInstance(other),
    }
}
