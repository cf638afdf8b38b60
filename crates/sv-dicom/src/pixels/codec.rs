//! JPEG 2000 (openjpeg) and JPEG-LS (CharLS) through dicom-rs's transfer-syntax registry.

use dicom_encoding::adapters::PixelDataObject;
use dicom_encoding::transfer_syntax::{Codec, TransferSyntaxIndex};
use dicom_object::DefaultDicomObject;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

use std::borrow::Cow;

use super::{Colour, Frame, PixelModule, Samples, le_samples};
use crate::error::RenderError;
use crate::parse::sanitize;

pub(crate) fn decode(
    file: &DefaultDicomObject,
    px: &PixelModule,
    index: u32,
    colour: Colour,
) -> Result<Frame<'static>, RenderError> {
    let uid = file.meta().transfer_syntax();
    let unsupported = || RenderError::UnsupportedTransferSyntax {
        uid: uid.to_string(),
    };
    let ts = TransferSyntaxRegistry.get(uid).ok_or_else(unsupported)?;
    let Codec::EncapsulatedPixelData(Some(reader), _) = ts.codec() else {
        return Err(unsupported());
    };
    if !matches!(px.bits_allocated, 8 | 16) {
        return Err(RenderError::UnsupportedPixelFormat {
            detail: format!("bits allocated {} in {}", px.bits_allocated, ts.name()),
        });
    }
    let src: &dyn PixelDataObject = file;
    let mut dst = Vec::new();
    reader
        .decode_frame(src, index, &mut dst)
        .map_err(|e| RenderError::DecodeFailed {
            frame: index,
            detail: sanitize(&e.to_string()),
        })?;
    let bytes_per = usize::from(px.bits_allocated / 8);
    let expected = px.rows * px.cols * px.spp * bytes_per;
    if dst.len() < expected {
        return Err(RenderError::DecodeFailed {
            frame: index,
            detail: format!("decoder gave {} bytes, {expected} expected", dst.len()),
        });
    }
    dst.truncate(expected);
    // The J2K decoder undoes YBR_ICT/RCT (mapped to RGB already); other models stay as stored.
    Ok(Frame {
        width: px.cols,
        height: px.rows,
        samples: if px.spp == 1 {
            Samples::Raw {
                data: Cow::Owned(dst),
                bytes: bytes_per,
            }
        } else {
            Samples::Values(le_samples(&dst, bytes_per, px.bits_stored, px.signed))
        },
        bits: px.bits_stored,
        signed: px.signed,
        colour,
    })
}
