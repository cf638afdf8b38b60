//! Lookup tables (modality, VOI, palette) and the Modality LUT stage of the grayscale pipeline.

use dicom_core::Tag;
use dicom_dictionary_std::tags;

use crate::attrs::{Obj, bytes, first_item, float, items};

/// A LUT as described by a LUT Descriptor: `entries` mapped from input `first` on.
#[derive(Debug, Clone)]
pub(crate) struct Lut {
    pub first: i64,
    pub entries: Vec<u16>,
    pub bits: u16,
}

impl Lut {
    /// Reads descriptor and data; `signed_first` interprets the first mapped value as SS.
    pub(crate) fn read(o: &Obj, desc: Tag, data: Tag, signed_first: bool) -> Option<Lut> {
        let d = o.get(desc)?.value().to_multi_int::<i64>().ok()?;
        if d.len() < 3 {
            return None;
        }
        let n = if d[0] == 0 { 65536 } else { d[0] as usize };
        let first = if signed_first && d[1] > 0x7fff {
            d[1] - 0x10000
        } else {
            d[1]
        };
        let bits = u16::try_from(d[2]).ok().filter(|b| (1..=16).contains(b))?;
        let raw = bytes(o, data)?;
        let entries: Vec<u16> = if raw.len() >= n * 2 {
            raw.chunks_exact(2)
                .take(n)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect()
        } else if bits <= 8 && raw.len() >= n {
            // 8-bit entries packed two per OW word
            raw.iter().take(n).map(|&b| u16::from(b)).collect()
        } else {
            return None;
        };
        Some(Lut {
            first,
            entries,
            bits,
        })
    }

    /// The entry for input `x` (clamped to the first and last entries).
    #[inline]
    pub(crate) fn lookup(&self, x: i64) -> u16 {
        let i = (x - self.first).clamp(0, self.entries.len() as i64 - 1);
        self.entries[i as usize]
    }

    /// Largest value an entry can hold.
    pub(crate) fn max_value(&self) -> f64 {
        f64::from((1u32 << self.bits) - 1)
    }
}

/// The Modality LUT stage: Modality LUT Sequence if present, else Rescale Slope/Intercept.
#[derive(Debug, Clone)]
pub(crate) enum Modality {
    Rescale { slope: f64, intercept: f64 },
    Table(Lut),
}

impl Modality {
    pub(crate) fn read(o: &Obj, signed: bool) -> Modality {
        if let Some(lut) = first_item(o, tags::MODALITY_LUT_SEQUENCE)
            .and_then(|i| Lut::read(i, tags::LUT_DESCRIPTOR, tags::LUT_DATA, signed))
        {
            return Modality::Table(lut);
        }
        // Enhanced multi-frame objects carry rescale in the shared functional groups.
        let shared = items(o, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE)
            .first()
            .and_then(|g| first_item(g, tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE));
        let get = |tag| float(o, tag).or_else(|| shared.and_then(|s| float(s, tag)));
        let slope = get(tags::RESCALE_SLOPE).filter(|s| s.is_finite() && *s != 0.0);
        let intercept = get(tags::RESCALE_INTERCEPT).filter(|i| i.is_finite());
        Modality::Rescale {
            slope: slope.unwrap_or(1.0),
            intercept: intercept.unwrap_or(0.0),
        }
    }

    #[inline]
    pub(crate) fn apply(&self, sv: i32) -> f64 {
        self.apply_f64(f64::from(sv))
    }

    /// For stored values beyond i32 (unsigned 32-bit).
    #[inline]
    pub(crate) fn apply_f64(&self, sv: f64) -> f64 {
        match self {
            Modality::Rescale { slope, intercept } => sv * slope + intercept,
            Modality::Table(lut) => f64::from(lut.lookup(sv as i64)),
        }
    }
}
