//! Value encodings of per-instance facts and the SOP Instance UID index.

use sv_model::study::{Code, InstanceFacts, PreviewRef, SeriesAttributes, StudyAttributes};
use sv_model::{BlobId, ThingId};

use super::{CodecError, Dec, Enc, V1, V2};

/// A `sops` value: where an instance lives, and which bytes it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SopEntry {
    pub(crate) thing_id: ThingId,
    pub(crate) blob_id: BlobId,
    pub(crate) series_uid: String,
}

pub(crate) fn encode_sop(s: &SopEntry) -> Vec<u8> {
    Enc::new()
        .raw(s.thing_id.as_bytes())
        .blob(&s.blob_id)
        .str(&s.series_uid)
        .finish()
}

pub(crate) fn decode_sop(buf: &[u8]) -> Result<SopEntry, CodecError> {
    let mut d = Dec::new(buf, "instance index")?;
    let s = SopEntry {
        thing_id: ThingId::from_bytes(d.array()?),
        blob_id: d.blob()?,
        series_uid: d.str("series uid")?,
    };
    d.finish(s)
}

fn opt_i32(e: &mut Enc, v: Option<i32>) {
    e.opt(v, |e, v| {
        e.i32(v);
    });
}

fn opt_u32(e: &mut Enc, v: Option<u32>) {
    e.opt(v, |e, v| {
        e.u32(v);
    });
}

/// Study attributes, in field order (shared by instance facts and study digests).
pub(crate) fn write_study_attributes(e: &mut Enc, s: &StudyAttributes) {
    for v in [
        &s.study_date,
        &s.study_time,
        &s.description,
        &s.accession_number,
        &s.referring_physician,
        &s.reason,
        &s.patient_name,
        &s.patient_id,
        &s.patient_birth_date,
        &s.patient_sex,
        &s.study_id,
        &s.timezone_offset,
    ] {
        e.opt_str(v.as_deref());
    }
}

pub(crate) fn read_study_attributes(d: &mut Dec<'_>) -> Result<StudyAttributes, CodecError> {
    Ok(StudyAttributes {
        study_date: d.opt_str("study attribute")?,
        study_time: d.opt_str("study attribute")?,
        description: d.opt_str("study attribute")?,
        accession_number: d.opt_str("study attribute")?,
        referring_physician: d.opt_str("study attribute")?,
        reason: d.opt_str("study attribute")?,
        patient_name: d.opt_str("study attribute")?,
        patient_id: d.opt_str("study attribute")?,
        patient_birth_date: d.opt_str("study attribute")?,
        patient_sex: d.opt_str("study attribute")?,
        study_id: d.opt_str("study attribute")?,
        timezone_offset: d.opt_str("study attribute")?,
    })
}

/// Series attributes, in field order (shared by instance facts and study digests).
pub(crate) fn write_series_attributes(e: &mut Enc, s: &SeriesAttributes) {
    opt_i32(e, s.series_number);
    for v in [
        &s.modality,
        &s.description,
        &s.body_part,
        &s.laterality,
        &s.institution_name,
        &s.series_date,
        &s.series_time,
        &s.acquisition_date,
        &s.acquisition_time,
    ] {
        e.opt_str(v.as_deref());
    }
}

pub(crate) fn read_series_attributes(d: &mut Dec<'_>) -> Result<SeriesAttributes, CodecError> {
    Ok(SeriesAttributes {
        series_number: d.opt("series number", |d| d.i32("series number"))?,
        modality: d.opt_str("series attribute")?,
        description: d.opt_str("series attribute")?,
        body_part: d.opt_str("series attribute")?,
        laterality: d.opt_str("series attribute")?,
        institution_name: d.opt_str("series attribute")?,
        series_date: d.opt_str("series attribute")?,
        series_time: d.opt_str("series attribute")?,
        acquisition_date: d.opt_str("series attribute")?,
        acquisition_time: d.opt_str("series attribute")?,
    })
}

pub(crate) fn encode_facts(f: &InstanceFacts) -> Vec<u8> {
    let mut e = Enc::versioned(V2);
    e.str(&f.study_instance_uid)
        .str(&f.series_instance_uid)
        .str(&f.sop_instance_uid)
        .str(&f.sop_class_uid);
    opt_i32(&mut e, f.instance_number);
    e.str(&f.transfer_syntax_uid);
    opt_u32(&mut e, f.rows);
    opt_u32(&mut e, f.columns);
    opt_u32(&mut e, f.number_of_frames);
    write_study_attributes(&mut e, &f.study);
    write_series_attributes(&mut e, &f.series);
    e.blob(&f.blob_id).u64(f.length);
    e.opt(f.preview.as_ref(), |e, p| {
        e.blob(&p.blob_id)
            .u64(p.length)
            .str(&p.media_type)
            .u32(p.width)
            .u32(p.height);
    });
    e.opt_str(f.preview_error.as_deref())
        .u64(f.key_image_refs.len() as u64);
    for r in &f.key_image_refs {
        e.str(r);
    }
    e.time(f.received);
    // V2: V1 values end at `received` and read back with no procedure codes and no title.
    e.u64(f.procedure_codes.len() as u64);
    for c in &f.procedure_codes {
        e.str(&c.value).str(&c.scheme).opt_str(c.meaning.as_deref());
    }
    e.opt_str(f.title.as_deref()).finish()
}

pub(crate) fn decode_facts(buf: &[u8]) -> Result<InstanceFacts, CodecError> {
    let (mut d, version) = Dec::versioned(buf, "instance facts", &[V1, V2])?;
    let d = &mut d;
    let study_instance_uid = d.str("study uid")?;
    let series_instance_uid = d.str("series uid")?;
    let sop_instance_uid = d.str("sop uid")?;
    let sop_class_uid = d.str("sop class uid")?;
    let instance_number = d.opt("instance number", |d| d.i32("instance number"))?;
    let transfer_syntax_uid = d.str("transfer syntax")?;
    let rows = d.opt("rows", |d| d.u32("rows"))?;
    let columns = d.opt("columns", |d| d.u32("columns"))?;
    let number_of_frames = d.opt("frames", |d| d.u32("frames"))?;
    let study = read_study_attributes(d)?;
    let series = read_series_attributes(d)?;
    let blob_id = d.blob()?;
    let length = d.u64()?;
    let preview = d.opt("preview", |d| {
        Ok(PreviewRef {
            blob_id: d.blob()?,
            length: d.u64()?,
            media_type: d.str("preview media type")?,
            width: d.u32("preview width")?,
            height: d.u32("preview height")?,
        })
    })?;
    let preview_error = d.opt_str("preview error")?;
    let n = d.len()?;
    let mut key_image_refs = Vec::with_capacity(n);
    for _ in 0..n {
        key_image_refs.push(d.str("key image")?);
    }
    let received = d.time()?;
    let (procedure_codes, title) = if version == V1 {
        (Vec::new(), None)
    } else {
        let n = d.len()?;
        let mut codes = Vec::with_capacity(n.min(64));
        for _ in 0..n {
            codes.push(Code {
                value: d.str("procedure code")?,
                scheme: d.str("coding scheme")?,
                meaning: d.opt_str("code meaning")?,
            });
        }
        (codes, d.opt_str("title")?)
    };
    Ok(InstanceFacts {
        study_instance_uid,
        series_instance_uid,
        sop_instance_uid,
        sop_class_uid,
        instance_number,
        transfer_syntax_uid,
        rows,
        columns,
        number_of_frames,
        study,
        series,
        blob_id,
        length,
        preview,
        preview_error,
        key_image_refs,
        received,
        procedure_codes,
        title,
    })
    .and_then(|f| {
        if d.remaining() == 0 {
            Ok(f)
        } else {
            Err(CodecError::Trailing {
                what: "instance facts",
                count: d.remaining(),
            })
        }
    })
}

#[cfg(test)]
mod compat_tests {
    use super::*;

    /// Facts written before procedure codes and titles were kept (V1) end at `received`. They
    /// must still decode, with neither; a V2 value cut there is refused.
    #[test]
    fn facts_written_before_procedure_codes_still_decode() {
        let f = sample();
        let new = encode_facts(&f);
        assert_eq!(new[0], V2);
        // V1's layout is V2's without the two trailing fields (a zero count, no title).
        let mut old = new[..new.len() - 2].to_vec();
        assert!(decode_facts(&old).is_err(), "a cut V2 value");
        old[0] = V1;
        assert_eq!(decode_facts(&old).unwrap(), f);
        let mut with = f.clone();
        with.procedure_codes.push(Code {
            value: "CT HEAD".into(),
            scheme: "RADLEX".into(),
            meaning: Some("CT Head".into()),
        });
        with.title = Some("Key images".into());
        assert_eq!(decode_facts(&encode_facts(&with)).unwrap(), with);
    }

    fn sample() -> InstanceFacts {
        InstanceFacts {
            study_instance_uid: "1.2".into(),
            series_instance_uid: "1.2.3".into(),
            sop_instance_uid: "1.2.3.4".into(),
            sop_class_uid: "1.2.840.10008.5.1.4.1.1.2".into(),
            instance_number: Some(1),
            transfer_syntax_uid: "1.2.840.10008.1.2.1".into(),
            rows: Some(2),
            columns: Some(2),
            number_of_frames: None,
            study: StudyAttributes::default(),
            series: SeriesAttributes::default(),
            blob_id: sv_model::BlobId::of(b"x"),
            length: 1,
            preview: None,
            preview_error: None,
            key_image_refs: Vec::new(),
            received: sv_model::Timestamp::from_unix_micros(5),
            procedure_codes: Vec::new(),
            title: None,
        }
    }
}
