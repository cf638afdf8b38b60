//! A stored study as the pages show it: series in number order, images in instance-number
//! order, and the URLs of each (patient or recipient ones, from a [`Urls`]).
//!
//! Series are addressed by their position (1, 2, …) and images by the SOP Instance UID as the
//! viewer may see it (remapped on a de-identifying share), so page URLs carry no identifier a
//! de-identified share must hide.

use sv_model::Share;
use sv_model::study::InstanceFacts;
use sv_vault::{AsShared, StudyListing};
use sv_web::studies::{SeriesCard, StudySummary};
use sv_web::viewer::{ImageTile, SeriesView, ViewerView, image_alt};

use crate::representation::encode_segment;

/// Where a study's pages and images live: under `base` (`/studies/{uid}` for the patient,
/// `/s/{link}` for a recipient), images keyed by SOP Instance UID as the share shows it.
pub(crate) struct Urls {
    base: String,
    uids: Option<AsShared>,
}

impl Urls {
    /// The patient's: every UID as stored.
    pub(crate) fn patient(study: &str) -> Urls {
        Urls {
            base: format!("/studies/{}", encode_segment(study)),
            uids: None,
        }
    }

    /// A recipient's: image keys remapped when the share de-identifies.
    pub(crate) fn share(link: &str, share: &Share) -> Urls {
        Urls {
            base: format!("/s/{link}"),
            uids: Some(AsShared::of(share)),
        }
    }

    pub(crate) fn study(&self) -> String {
        self.base.clone()
    }
    /// Series by position, from 1.
    pub(crate) fn series(&self, n: usize) -> String {
        format!("{}/series/{n}", self.base)
    }
    pub(crate) fn viewer(&self, n: usize, i: usize) -> String {
        format!("{}/series/{n}/view?i={i}", self.base)
    }
    pub(crate) fn viewer_page(&self, n: usize) -> String {
        format!("{}/series/{n}/view", self.base)
    }
    pub(crate) fn study_preview(&self) -> String {
        format!("{}/preview", self.base)
    }
    pub(crate) fn series_preview(&self, n: usize) -> String {
        format!("{}/series/{n}/preview", self.base)
    }
    pub(crate) fn image(&self, f: &InstanceFacts) -> String {
        let key = match &self.uids {
            Some(u) => u.show(&f.sop_instance_uid),
            None => f.sop_instance_uid.clone(),
        };
        format!("{}/images/{}", self.base, encode_segment(&key))
    }
}

/// One series of a study, its instances in viewing order.
pub(crate) struct SeriesModel<'a> {
    pub(crate) uid: &'a str,
    pub(crate) instances: Vec<&'a InstanceFacts>,
}

impl SeriesModel<'_> {
    fn first(&self) -> &InstanceFacts {
        self.instances[0]
    }

    fn modality(&self) -> String {
        self.first()
            .series
            .modality
            .clone()
            .unwrap_or_else(|| "OT".to_owned())
    }

    fn number(&self) -> Option<u32> {
        self.first()
            .series
            .series_number
            .and_then(|n| u32::try_from(n).ok())
    }

    fn description(&self) -> Option<String> {
        self.first().series.description.clone()
    }
}

/// The SeriesInstanceUID of the series at position `n` (from 1).
pub(crate) fn series_uid(listing: &StudyListing, n: usize) -> Option<String> {
    series(listing)
        .get(n.checked_sub(1)?)
        .map(|s| s.uid.to_owned())
}

/// The study's series, by series number then UID; instances by instance number then UID.
pub(crate) fn series(listing: &StudyListing) -> Vec<SeriesModel<'_>> {
    let mut out: Vec<SeriesModel<'_>> = Vec::new();
    for f in &listing.instances {
        match out.last_mut() {
            Some(s) if s.uid == f.series_instance_uid => s.instances.push(f),
            _ => out.push(SeriesModel {
                uid: &f.series_instance_uid,
                instances: vec![f],
            }),
        }
    }
    for s in &mut out {
        s.instances.sort_by(|a, b| {
            (a.instance_number.unwrap_or(i32::MAX), &a.sop_instance_uid)
                .cmp(&(b.instance_number.unwrap_or(i32::MAX), &b.sop_instance_uid))
        });
    }
    out.sort_by(|a, b| {
        (a.first().series.series_number.unwrap_or(i32::MAX), a.uid)
            .cmp(&(b.first().series.series_number.unwrap_or(i32::MAX), b.uid))
    });
    out
}

/// A DICOM date as people read it.
pub(crate) fn date(da: Option<&str>) -> String {
    da.map(sv_vault::display_date)
        .unwrap_or_else(|| "date unknown".to_owned())
}

pub(crate) fn summary(listing: &StudyListing) -> StudySummary {
    let first = listing.instances.first();
    let mut modalities: Vec<String> = listing
        .instances
        .iter()
        .filter_map(|f| f.series.modality.clone())
        .collect();
    modalities.sort();
    modalities.dedup();
    StudySummary {
        description: first.and_then(|f| f.study.description.clone()),
        date: date(first.and_then(|f| f.study.study_date.as_deref())),
        modalities,
        series_count: u32::try_from(series(listing).len()).unwrap_or(u32::MAX),
        image_count: u32::try_from(listing.instances.len()).unwrap_or(u32::MAX),
    }
}

pub(crate) fn series_cards(listing: &StudyListing, urls: &Urls) -> Vec<SeriesCard> {
    series(listing)
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let n = i + 1;
            let has_preview = listing
                .derived
                .series
                .get(s.uid)
                .is_some_and(Option::is_some);
            SeriesCard {
                url: urls.series(n),
                preview_url: has_preview.then(|| urls.series_preview(n)),
                modality: s.modality(),
                number: s.number(),
                description: s.description(),
                image_count: u32::try_from(s.instances.len()).unwrap_or(u32::MAX),
            }
        })
        .collect()
}

/// The series at position `n` (from 1) as its grid and viewer show it.
pub(crate) fn series_view(listing: &StudyListing, n: usize, urls: &Urls) -> Option<SeriesView> {
    let all = series(listing);
    let s = all.get(n.checked_sub(1)?)?;
    let count = s.instances.len();
    let (modality, number, description) = (s.modality(), s.number(), s.description());
    let images = s
        .instances
        .iter()
        .enumerate()
        .filter_map(|(i, f)| {
            let p = f.preview.as_ref()?;
            Some(ImageTile {
                url: urls.image(f),
                width: p.width,
                height: p.height,
                alt: image_alt(
                    &modality,
                    number,
                    description.as_deref(),
                    u32::try_from(i + 1).unwrap_or(u32::MAX),
                    u32::try_from(count).unwrap_or(u32::MAX),
                ),
                viewer_url: urls.viewer(n, i + 1),
            })
        })
        .collect();
    Some(SeriesView {
        study_title: summary(listing).title(),
        study_url: urls.study(),
        modality,
        number,
        description,
        images,
    })
}

pub(crate) fn viewer_view(
    listing: &StudyListing,
    n: usize,
    index: u32,
    allow_download: bool,
    urls: &Urls,
) -> Option<ViewerView> {
    let series = series_view(listing, n, urls)?;
    let count = u32::try_from(series.images.len())
        .unwrap_or(u32::MAX)
        .max(1);
    Some(ViewerView {
        series,
        series_url: urls.series(n),
        page_url: urls.viewer_page(n),
        index: index.clamp(1, count),
        allow_download,
    })
}

/// The instance a page's image key names: by SOP Instance UID, or by what `key_of` maps each
/// UID to.
pub(crate) fn instance_by_key<'a>(
    listing: &'a StudyListing,
    key: &str,
    key_of: &dyn Fn(&str) -> String,
) -> Option<&'a InstanceFacts> {
    listing
        .instances
        .iter()
        .find(|f| key_of(&f.sop_instance_uid) == key)
}
