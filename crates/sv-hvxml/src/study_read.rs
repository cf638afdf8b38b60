//! Reading `<medical-image-study>` (v2) into the model, in schema order, with the model's
//! invariants enforced (a `when`, at least one series, at least one image per series,
//! non-blank texts, real dates).

use sv_model::NonBlank;
use sv_model::study::{MedicalImageStudy, NonEmpty, Series, SeriesImage};

use crate::dom::Element;
use crate::reader::parse;
use crate::shared_read::{opt_codable, read_date_time, read_organization, read_person};
use crate::{XmlError, XmlLimits};

/// Parses a `<medical-image-study>` document within the default [`XmlLimits`].
///
/// The root may be unqualified (HealthVault's `data-xml` form) or in the schema's namespace
/// (`<this:medical-image-study xmlns:this="urn:com.microsoft.wc.thing.medical-images">`);
/// its children are unqualified, as the schema says.
pub fn read_medical_image_study(xml: &str) -> Result<MedicalImageStudy, XmlError> {
    read_medical_image_study_with(xml.as_bytes(), &XmlLimits::default())
}

/// [`read_medical_image_study`] for raw bytes and explicit limits (a study of many thousand
/// images is larger than the default 1 MiB).
pub fn read_medical_image_study_with(
    xml: &[u8],
    limits: &XmlLimits,
) -> Result<MedicalImageStudy, XmlError> {
    let doc = parse(xml, limits)?;
    study_from_element(&doc.root)
}

pub(crate) fn study_from_element(root: &Element<'_>) -> Result<MedicalImageStudy, XmlError> {
    const WHAT: &str = "medical-image-study";
    if root.local_name() != WHAT {
        return Err(XmlError::unexpected("document", root.name));
    }
    let mut c = root.children_in_order(WHAT)?;
    let when = read_date_time(c.required("when")?, "when")?;
    let patient_name = opt_non_blank(c.optional("patient-name"), "patient-name")?;
    let description = opt_non_blank(c.optional("description"), "description")?;
    let series = non_empty(c.repeated("series"), WHAT, "series", read_series)?;
    let reason = opt_codable(c.optional("reason"), "reason")?;
    let preview_blob_name = opt_non_blank(c.optional("preview-blob-name"), "preview-blob-name")?;
    let key_images = c
        .repeated("key-images")
        .iter()
        .map(|e| read_image(e, "key-images"))
        .collect::<Result<_, _>>()?;
    let study_instance_uid = opt_non_blank(c.optional("study-instance-uid"), "study-instance-uid")?;
    let referring_physician = c
        .optional("referring-physician")
        .map(|e| read_person(e, "referring-physician"))
        .transpose()?;
    let accession_number = opt_non_blank(c.optional("accession-number"), "accession-number")?;
    c.finish()?;
    Ok(MedicalImageStudy {
        when,
        patient_name,
        description,
        series,
        reason,
        preview_blob_name,
        key_images,
        study_instance_uid,
        referring_physician,
        accession_number,
    })
}

fn read_series(el: &Element<'_>) -> Result<Series, XmlError> {
    const WHAT: &str = "series";
    let mut c = el.children_in_order(WHAT)?;
    let acquisition_datetime = c
        .optional("acquisition-datetime")
        .map(|e| read_date_time(e, "acquisition-datetime"))
        .transpose()?;
    let description = opt_non_blank(c.optional("description"), "description")?;
    let images = non_empty(c.repeated("images"), WHAT, "images", |e| {
        read_image(e, "images")
    })?;
    let institution_name = c
        .optional("institution-name")
        .map(|e| read_organization(e, "institution-name"))
        .transpose()?;
    let modality = opt_codable(c.optional("modality"), "modality")?;
    let body_part = opt_codable(c.optional("body-part"), "body-part")?;
    let preview_blob_name = opt_non_blank(c.optional("preview-blob-name"), "preview-blob-name")?;
    let series_instance_uid =
        opt_non_blank(c.optional("series-instance-uid"), "series-instance-uid")?;
    c.finish()?;
    Ok(Series {
        acquisition_datetime,
        description,
        images,
        institution_name,
        modality,
        body_part,
        preview_blob_name,
        series_instance_uid,
    })
}

/// `images` / `key-images`: `image-blob-name`, `image-preview-blob-name`?.
fn read_image(el: &Element<'_>, what: &'static str) -> Result<SeriesImage, XmlError> {
    let mut c = el.children_in_order(what)?;
    let image_blob_name = non_blank(c.required("image-blob-name")?, "image-blob-name")?;
    let image_preview_blob_name = opt_non_blank(
        c.optional("image-preview-blob-name"),
        "image-preview-blob-name",
    )?;
    c.finish()?;
    Ok(SeriesImage {
        image_blob_name,
        image_preview_blob_name,
    })
}

/// One or more elements (`minOccurs="1" maxOccurs="unbounded"`); none is a missing element.
fn non_empty<T>(
    elements: &[Element<'_>],
    parent: &'static str,
    name: &'static str,
    read: impl Fn(&Element<'_>) -> Result<T, XmlError>,
) -> Result<NonEmpty<T>, XmlError> {
    let items = elements.iter().map(read).collect::<Result<Vec<_>, _>>()?;
    NonEmpty::from_vec(items, parent, name).map_err(|_| XmlError::MissingElement {
        parent,
        element: name,
    })
}

/// A `t:stringnznw` element, exactly as written.
fn non_blank(el: &Element<'_>, what: &'static str) -> Result<NonBlank, XmlError> {
    NonBlank::new(el.text_only(what)?).map_err(|source| XmlError::InvalidStudy {
        element: what,
        source,
    })
}

fn opt_non_blank(
    el: Option<&Element<'_>>,
    what: &'static str,
) -> Result<Option<NonBlank>, XmlError> {
    el.map(|e| non_blank(e, what)).transpose()
}
