//! Writing `<medical-image-study>` (v2): every element of the schema, in schema order.

use sv_model::NonBlank;
use sv_model::study::{MedicalImageStudy, Series, SeriesImage};

use crate::shared_write::{write_date_time, write_opt_codable, write_organization, write_person};
use crate::writer::XmlOut;

/// The `<medical-image-study>` element, without a namespace (as HealthVault's `data-xml`
/// carries it), indented, no XML declaration.
///
/// Infallible: the model's constructors already hold the schema's invariants (a `when`, at
/// least one series, at least one image per series, non-blank texts).
pub fn write_medical_image_study(study: &MedicalImageStudy) -> String {
    let mut out = XmlOut::with_capacity(size_hint(study));
    write_study(&mut out, study);
    out.finish()
}

/// A generous guess of the output size, so the buffer is allocated once.
fn size_hint(study: &MedicalImageStudy) -> usize {
    let images: usize = study.series.iter().map(|s| s.images.len()).sum();
    1024 + 768 * study.series.len() + 192 * (images + study.key_images.len())
}

pub(crate) fn write_study(out: &mut XmlOut, study: &MedicalImageStudy) {
    out.open("medical-image-study", &[]);
    write_date_time(out, "when", &study.when);
    opt(out, "patient-name", study.patient_name.as_ref());
    opt(out, "description", study.description.as_ref());
    for series in &study.series {
        write_series(out, series);
    }
    write_opt_codable(out, "reason", study.reason.as_ref());
    opt(out, "preview-blob-name", study.preview_blob_name.as_ref());
    for image in &study.key_images {
        write_image(out, "key-images", image);
    }
    opt(out, "study-instance-uid", study.study_instance_uid.as_ref());
    if let Some(physician) = &study.referring_physician {
        write_person(out, "referring-physician", physician);
    }
    opt(out, "accession-number", study.accession_number.as_ref());
    out.close("medical-image-study");
}

fn write_series(out: &mut XmlOut, series: &Series) {
    out.open("series", &[]);
    if let Some(when) = &series.acquisition_datetime {
        write_date_time(out, "acquisition-datetime", when);
    }
    opt(out, "description", series.description.as_ref());
    for image in &series.images {
        write_image(out, "images", image);
    }
    if let Some(institution) = &series.institution_name {
        write_organization(out, "institution-name", institution);
    }
    write_opt_codable(out, "modality", series.modality.as_ref());
    write_opt_codable(out, "body-part", series.body_part.as_ref());
    opt(out, "preview-blob-name", series.preview_blob_name.as_ref());
    opt(
        out,
        "series-instance-uid",
        series.series_instance_uid.as_ref(),
    );
    out.close("series");
}

/// `images` or `key-images`: `image-blob-name`, `image-preview-blob-name`?.
fn write_image(out: &mut XmlOut, name: &str, image: &SeriesImage) {
    out.open(name, &[]);
    out.text("image-blob-name", &[], image.image_blob_name.as_str());
    opt(
        out,
        "image-preview-blob-name",
        image.image_preview_blob_name.as_ref(),
    );
    out.close(name);
}

fn opt(out: &mut XmlOut, name: &str, text: Option<&NonBlank>) {
    out.opt_text(name, text.map(NonBlank::as_str));
}
