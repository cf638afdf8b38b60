//! Palette colour lookup tables: the Red, Green and Blue tables of a PALETTE COLOR image or of
//! a supplemental palette (PS3.3 C.7.6.3.1.5, C.7.6.19), plain or segmented (C.7.9.2).

use dicom_core::Tag;
use dicom_dictionary_std::tags;

use super::lut::{Descriptor, Lut};
use super::segmented;
use crate::attrs::{Obj, bytes};
use crate::error::RenderError;

/// Descriptor, plain data and segmented data of one colour's table, with the keyword errors
/// name.
struct Tags {
    descriptor: Tag,
    data: Tag,
    segmented: Tag,
    keyword: &'static str,
}

const TABLES: [Tags; 3] = [
    Tags {
        descriptor: tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
        data: tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DATA,
        segmented: tags::SEGMENTED_RED_PALETTE_COLOR_LOOKUP_TABLE_DATA,
        keyword: "RedPaletteColorLookupTableData",
    },
    Tags {
        descriptor: tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
        data: tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA,
        segmented: tags::SEGMENTED_GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA,
        keyword: "GreenPaletteColorLookupTableData",
    },
    Tags {
        descriptor: tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
        data: tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA,
        segmented: tags::SEGMENTED_BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA,
        keyword: "BluePaletteColorLookupTableData",
    },
];

/// The three tables, and the range of stored values the Red descriptor maps.
#[derive(Debug, Clone)]
pub(crate) struct Palette {
    luts: [Lut; 3],
    /// First and last stored value mapped: `first ..= first + entries - 1`.
    pub range: (i64, i64),
}

impl Palette {
    /// Whether the data set has palette tables at all (a Red descriptor).
    pub(crate) fn present(o: &Obj) -> bool {
        o.get(tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR)
            .is_some()
    }

    /// Reads the three tables; `signed` reads the first mapped value as SS (Pixel
    /// Representation 1).
    pub(crate) fn read(o: &Obj, signed: bool) -> Result<Palette, RenderError> {
        let [r, g, b] = &TABLES;
        let luts = [
            table(o, r, signed)?,
            table(o, g, signed)?,
            table(o, b, signed)?,
        ];
        let red =
            Descriptor::read(o, r.descriptor, signed).ok_or(RenderError::InvalidAttribute {
                keyword: "RedPaletteColorLookupTableDescriptor",
            })?;
        Ok(Palette {
            luts,
            range: (red.first, red.first + red.entries as i64 - 1),
        })
    }

    /// Whether stored value `x` is in the range the palette maps.
    #[inline]
    pub(crate) fn maps(&self, x: i64) -> bool {
        (self.range.0..=self.range.1).contains(&x)
    }

    /// The 8-bit colour of stored value `x`, clamped at each table's ends; 16-bit entries are
    /// shifted right by 8.
    #[inline]
    pub(crate) fn rgb(&self, x: i64) -> [u8; 3] {
        self.luts.each_ref().map(|lut| {
            let v = lut.lookup(x);
            if lut.bits > 8 {
                (v >> 8) as u8
            } else {
                v as u8
            }
        })
    }
}

fn table(o: &Obj, t: &Tags, signed: bool) -> Result<Lut, RenderError> {
    let invalid = RenderError::InvalidAttribute { keyword: t.keyword };
    if o.get(t.data).is_some() || o.get(t.segmented).is_none() {
        return Lut::read(o, t.descriptor, t.data, signed).ok_or(if o.get(t.data).is_some() {
            invalid
        } else {
            RenderError::MissingAttribute { keyword: t.keyword }
        });
    }
    let d = Descriptor::read(o, t.descriptor, signed).ok_or(invalid.clone())?;
    let raw = bytes(o, t.segmented).ok_or(invalid.clone())?;
    // 8-bit tables are segments of bytes, 16-bit ones of words (pydicom reads them the same)
    let (words, entry_bytes): (Vec<u16>, u32) = if d.bits <= 8 {
        (raw.iter().map(|&b| u16::from(b)).collect(), 1)
    } else {
        let words = raw
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        (words, 2)
    };
    let entries = segmented::expand(&words, entry_bytes, d.entries).map_err(|_| invalid)?;
    Ok(Lut {
        first: d.first,
        entries,
        bits: d.bits,
    })
}
