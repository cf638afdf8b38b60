//! Value encoding of a study digest (`study_digests` tree): the study UID, the version stamp
//! and time of the study thing, the study attributes, then the series and the SOP classes
//! with their counts. Attributes use the same field encodings as instance facts.
//!
//! The decoder refuses what `StudyDigest::add`/`remove` could never have written (series or
//! classes out of order or repeated, zero counts), since both rely on that order.

use sv_model::VersionStamp;
use sv_model::study::{SeriesDigest, StudyDigest};

use super::study::{
    read_series_attributes, read_study_attributes, write_series_attributes, write_study_attributes,
};
use super::{CodecError, Dec, Enc};

pub(crate) fn encode_digest(d: &StudyDigest) -> Vec<u8> {
    let mut e = Enc::new();
    e.str(&d.study_instance_uid)
        .raw(d.version.as_bytes())
        .time(d.updated);
    write_study_attributes(&mut e, &d.study);
    e.u32(d.instance_count).u64(d.series.len() as u64);
    for s in &d.series {
        e.str(&s.series_instance_uid);
        write_series_attributes(&mut e, &s.attributes);
        e.u32(s.instance_count);
    }
    e.u64(d.sop_classes.len() as u64);
    for (uid, n) in &d.sop_classes {
        e.str(uid).u32(*n);
    }
    e.finish()
}

/// A count that an instance put there: at least one.
fn count(d: &mut Dec<'_>, field: &'static str) -> Result<u32, CodecError> {
    match d.u32(field)? {
        0 => Err(d.invalid(field)),
        n => Ok(n),
    }
}

pub(crate) fn decode_digest(buf: &[u8]) -> Result<StudyDigest, CodecError> {
    let mut d = Dec::new(buf, "study digest")?;
    let study_instance_uid = d.str("study uid")?;
    let version = VersionStamp::from_bytes(d.array()?);
    let updated = d.time()?;
    let study = read_study_attributes(&mut d)?;
    let instance_count = d.u32("instance count")?;
    let n = d.len()?;
    let mut series: Vec<SeriesDigest> = Vec::with_capacity(n);
    for _ in 0..n {
        let series_instance_uid = d.str("series uid")?;
        if series
            .last()
            .is_some_and(|p| p.series_instance_uid >= series_instance_uid)
        {
            return Err(d.invalid("series order"));
        }
        series.push(SeriesDigest {
            series_instance_uid,
            attributes: read_series_attributes(&mut d)?,
            instance_count: count(&mut d, "series count")?,
        });
    }
    let n = d.len()?;
    let mut sop_classes: Vec<(String, u32)> = Vec::with_capacity(n);
    for _ in 0..n {
        let uid = d.str("sop class uid")?;
        if sop_classes.last().is_some_and(|(p, _)| *p >= uid) {
            return Err(d.invalid("sop class order"));
        }
        let n = count(&mut d, "sop class count")?;
        sop_classes.push((uid, n));
    }
    d.finish(StudyDigest {
        study_instance_uid,
        version,
        updated,
        study,
        series,
        sop_classes,
        instance_count,
    })
}
