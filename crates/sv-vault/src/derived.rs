//! A study's derived previews (the series and study previews `assemble_study` chooses), kept
//! per study thing *version* so that a preview request never assembles a study.
//!
//! Any new instance makes a new version of the study thing, so a cached entry can never be
//! stale: it is used only while its version is the current one. The hot path (two point reads
//! of metadata that sled keeps in memory) runs inline on the async task; assembling after a
//! change goes to a blocking thread.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sv_model::study::{PreviewRef, StudyAssembly, assemble_study};
use sv_model::{RecordId, ThingId, VersionStamp};

use crate::{Vault, VaultError};

/// Studies whose derived previews are remembered; the map is emptied when full.
const CACHE_STUDIES: usize = 4096;

/// The study and series previews of a study version (`None`: the series has no image).
#[derive(Debug, Default)]
pub struct DerivedPreviews {
    pub study: Option<PreviewRef>,
    /// By SeriesInstanceUID.
    pub series: HashMap<String, Option<PreviewRef>>,
}

impl DerivedPreviews {
    /// The previews an assembled study names.
    pub fn of(assembly: &StudyAssembly) -> DerivedPreviews {
        let by_name: HashMap<&str, &PreviewRef> = assembly
            .derived_previews
            .iter()
            .map(|(name, p)| (name.as_str(), p))
            .collect();
        let find = |name: Option<&str>| name.and_then(|n| by_name.get(n).map(|p| (*p).clone()));
        let series = assembly
            .study
            .series
            .iter()
            .filter_map(|s| {
                let uid = s.series_instance_uid.as_ref()?.as_str().to_owned();
                Some((uid, find(s.preview_blob_name.as_ref().map(|n| n.as_str()))))
            })
            .collect();
        let study = find(
            assembly
                .study
                .preview_blob_name
                .as_ref()
                .map(|n| n.as_str()),
        );
        DerivedPreviews { study, series }
    }
}

/// A study thing of a record.
type StudyKey = (RecordId, ThingId);

/// Derived previews by study thing, each valid for one version of the thing.
#[derive(Debug, Default)]
pub(crate) struct DerivedCache {
    map: Mutex<HashMap<StudyKey, (VersionStamp, Arc<DerivedPreviews>)>>,
}

impl DerivedCache {
    fn get(&self, key: StudyKey, version: VersionStamp) -> Option<Arc<DerivedPreviews>> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&key)
            .filter(|(v, _)| *v == version)
            .map(|(_, d)| d.clone())
    }

    pub(crate) fn put(&self, key: StudyKey, version: VersionStamp, derived: Arc<DerivedPreviews>) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= CACHE_STUDIES && !map.contains_key(&key) {
            map.clear();
        }
        map.insert(key, (version, derived));
    }
}

impl Vault {
    /// The derived previews of the live study `study_uid`: from memory when this version's are
    /// known (two inline metadata reads, see the module notes), else assembled on a blocking
    /// thread. `None` when the record has no such study.
    pub async fn derived_previews(
        &self,
        record: RecordId,
        study_uid: &str,
    ) -> Result<Option<Arc<DerivedPreviews>>, VaultError> {
        let meta = &self.inner.meta;
        let Some(thing) = meta.study_thing(record, study_uid)? else {
            return Ok(None);
        };
        let Some(header) = meta.thing_header(record, thing)? else {
            return Ok(None);
        };
        if let Some(hit) = self.inner.derived.get((record, thing), header.version) {
            return Ok(Some(hit));
        }
        self.run_io(move |vault| {
            let instances = vault.inner.meta.study_instances(record, thing)?;
            if instances.is_empty() {
                return Ok(None);
            }
            let derived = Arc::new(DerivedPreviews::of(&assemble_study(&instances)?));
            vault
                .inner
                .derived
                .put((record, thing), header.version, derived.clone());
            Ok(Some(derived))
        })
        .await
    }

    /// The stored preview of instance `sop` if it belongs to the live study `study` (and to
    /// `series`, when given): an inline point read, see the module notes. `None`: no such
    /// instance there; `Some(None)`: the instance has no preview.
    pub fn instance_preview(
        &self,
        record: RecordId,
        study: &str,
        series: Option<&str>,
        sop: &str,
    ) -> Result<Option<Option<PreviewRef>>, VaultError> {
        let meta = &self.inner.meta;
        let Some((thing, facts)) = meta.instance(record, sop)? else {
            return Ok(None);
        };
        if facts.study_instance_uid != study
            || series.is_some_and(|s| facts.series_instance_uid != s)
        {
            return Ok(None);
        }
        if meta.study_thing(record, study)? != Some(thing) {
            return Ok(None);
        }
        Ok(Some(facts.preview))
    }
}

impl Vault {
    /// The preview of an instance of a shared study, by SOP Instance UID (as stored): `None`
    /// unless the instance belongs to the share's study thing. Point reads only.
    pub fn shared_instance_preview(
        &self,
        share: &sv_model::Share,
        sop: &str,
    ) -> Result<Option<PreviewRef>, VaultError> {
        let Some((thing, facts)) = self.inner.meta.instance(share.record_id, sop)? else {
            return Ok(None);
        };
        if thing != share.thing_id || facts.study_instance_uid != share.study_instance_uid {
            return Ok(None);
        }
        Ok(facts.preview)
    }
}
