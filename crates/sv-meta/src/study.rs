//! The study index: what `add_instance` reports, the entries `fsck` walks, and the rules every
//! engine applies to an instance (the names of its blobs, its study's effective date).

use sv_model::study::{InstanceFacts, parse_da_tm};
use sv_model::{BlobId, BlobName, NamedBlob, ThingId, Timestamp, VersionStamp};

use crate::{DICOM_CONTENT_TYPE, MetaError};

/// What adding one DICOM instance did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddInstanceOutcome {
    /// The instance is stored: `version` is the study thing's new version.
    Stored {
        thing_id: ThingId,
        version: VersionStamp,
        /// True when this instance created the study thing.
        created_study: bool,
        /// True when it replaced a different instance with the same SOP Instance UID.
        replaced: bool,
    },
    /// The same bytes were already stored under this SOP Instance UID: nothing was written.
    Duplicate { thing_id: ThingId },
    /// Different bytes are stored under this SOP Instance UID and `replace` was false.
    Conflict { thing_id: ThingId, existing: BlobId },
}

/// One entry of the SOP Instance UID index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceIndexEntry {
    pub sop_instance_uid: String,
    pub series_instance_uid: String,
    pub thing_id: ThingId,
    pub blob_id: BlobId,
}

/// The names an instance gives its blobs: the DICOM file and, if any, its preview.
pub(crate) fn instance_blobs(f: &InstanceFacts) -> Result<Vec<NamedBlob>, MetaError> {
    let invalid = |reason| MetaError::Invalid {
        what: "instance",
        reason,
    };
    if f.study_instance_uid.is_empty() || f.series_instance_uid.is_empty() {
        return Err(invalid("a study or series instance uid is empty"));
    }
    let name = BlobName::non_empty(f.blob_name())
        .map_err(|_| invalid("the sop instance uid is not a valid blob name"))?;
    let mut blobs = vec![NamedBlob {
        name,
        content_type: DICOM_CONTENT_TYPE.to_owned(),
        length: f.length,
        blob_id: f.blob_id,
    }];
    if let (Some(p), Some(name)) = (&f.preview, f.preview_blob_name()) {
        blobs.push(NamedBlob {
            name: BlobName::non_empty(name)
                .map_err(|_| invalid("the preview name is not a valid blob name"))?,
            content_type: p.media_type.clone(),
            length: p.length,
            blob_id: p.blob_id,
        });
    }
    Ok(blobs)
}

/// The study's date and time (as UTC: DICOM rarely says the zone), for the thing's eff-date.
pub(crate) fn study_instant(f: &InstanceFacts) -> Option<Timestamp> {
    let dt = parse_da_tm(f.study.study_date.as_deref(), f.study.study_time.as_deref())?;
    let (y, m, d) = (
        i64::from(dt.date.year()),
        i64::from(dt.date.month()),
        i64::from(dt.date.day()),
    );
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = dt.time.map_or(0, |t| {
        i64::from(t.hour()) * 3600 + i64::from(t.minute()) * 60 + i64::from(t.second().unwrap_or(0))
    });
    let millis = dt.time.and_then(|t| t.millis()).map_or(0, i64::from);
    Some(Timestamp::from_unix_micros(
        (days * 86_400 + secs) * 1_000_000 + millis * 1000,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn study_dates_become_utc_instants() {
        let mut f = sv_model::study::InstanceFacts {
            study_instance_uid: "1".into(),
            series_instance_uid: "2".into(),
            sop_instance_uid: "3".into(),
            sop_class_uid: String::new(),
            instance_number: None,
            transfer_syntax_uid: String::new(),
            rows: None,
            columns: None,
            number_of_frames: None,
            study: Default::default(),
            series: Default::default(),
            blob_id: sv_model::BlobId::EMPTY,
            length: 0,
            preview: None,
            preview_error: None,
            key_image_refs: Vec::new(),
            procedure_codes: Vec::new(),
            title: None,
            received: Timestamp::UNIX_EPOCH,
        };
        assert_eq!(study_instant(&f), None);
        f.study.study_date = Some("20251122".into());
        f.study.study_time = Some("044219.5".into());
        let t = study_instant(&f).unwrap();
        assert_eq!(t.to_rfc3339(), "2025-11-22T04:42:19.5Z");
        f.study.study_date = Some("19700101".into());
        f.study.study_time = None;
        assert_eq!(study_instant(&f), Some(Timestamp::UNIX_EPOCH));
    }
}
