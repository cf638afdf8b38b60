//! Lookup tables (modality, VOI, palette) and the Modality LUT stage of the grayscale pipeline.

use dicom_core::Tag;
use dicom_dictionary_std::tags;

use super::groups;
use crate::attrs::{Obj, bytes, first_item, float};

/// A LUT as described by a LUT Descriptor: `entries` mapped from input `first` on.
#[derive(Debug, Clone)]
pub(crate) struct Lut {
    pub first: i64,
    pub entries: Vec<u16>,
    pub bits: u16,
}

/// A LUT Descriptor: number of entries (0 meaning 65,536), first input mapped, bits per entry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Descriptor {
    pub entries: usize,
    pub first: i64,
    pub bits: u16,
}

impl Descriptor {
    /// Reads a descriptor; `signed_first` interprets the first mapped value as SS.
    pub(crate) fn read(o: &Obj, desc: Tag, signed_first: bool) -> Option<Descriptor> {
        let d = o.get(desc)?.value().to_multi_int::<i64>().ok()?;
        if d.len() < 3 {
            return None;
        }
        let entries = match d[0] {
            0 => 65536,
            n @ 1..=65535 => n as usize,
            // read as SS: the entries are always US
            n @ -32768..=-1 => (n + 65536) as usize,
            _ => return None,
        };
        let first = if signed_first && d[1] > 0x7fff {
            d[1] - 0x10000
        } else {
            d[1]
        };
        let bits = u16::try_from(d[2]).ok().filter(|b| (1..=16).contains(b))?;
        Some(Descriptor {
            entries,
            first,
            bits,
        })
    }
}

impl Lut {
    /// Reads descriptor and data; `signed_first` interprets the first mapped value as SS.
    pub(crate) fn read(o: &Obj, desc: Tag, data: Tag, signed_first: bool) -> Option<Lut> {
        let d = Descriptor::read(o, desc, signed_first)?;
        let n = d.entries;
        let raw = bytes(o, data)?;
        let entries: Vec<u16> = if raw.len() >= n * 2 {
            raw.chunks_exact(2)
                .take(n)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect()
        } else if d.bits <= 8 && raw.len() >= n {
            // 8-bit entries packed two per OW word
            raw.iter().take(n).map(|&b| u16::from(b)).collect()
        } else {
            return None;
        };
        Some(Lut {
            first: d.first,
            entries,
            bits: d.bits,
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
    /// The Modality LUT of 0-based frame `index`: from the first place, in the order of
    /// [`groups::sources`], that has a Modality LUT Sequence, a Rescale Slope or a Rescale
    /// Intercept (enhanced objects keep them in the Pixel Value Transformation macro).
    pub(crate) fn read(o: &Obj, signed: bool, index: u32) -> Modality {
        for src in groups::sources(o, index, tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE) {
            if let Some(lut) = first_item(src, tags::MODALITY_LUT_SEQUENCE)
                .and_then(|i| Lut::read(i, tags::LUT_DESCRIPTOR, tags::LUT_DATA, signed))
            {
                return Modality::Table(lut);
            }
            let slope = float(src, tags::RESCALE_SLOPE);
            let intercept = float(src, tags::RESCALE_INTERCEPT);
            if slope.is_some() || intercept.is_some() {
                return Modality::Rescale {
                    slope: slope.filter(|s| s.is_finite() && *s != 0.0).unwrap_or(1.0),
                    intercept: intercept.filter(|i| i.is_finite()).unwrap_or(0.0),
                };
            }
        }
        Modality::Rescale {
            slope: 1.0,
            intercept: 0.0,
        }
    }

    /// The modality value of stored value `sv` (a float: unsigned 32-bit values exceed i32).
    #[inline]
    pub(crate) fn apply_f64(&self, sv: f64) -> f64 {
        match self {
            Modality::Rescale { slope, intercept } => sv * slope + intercept,
            Modality::Table(lut) => f64::from(lut.lookup(sv as i64)),
        }
    }
}
