//! Functional groups of enhanced multi-frame objects: where a frame's rescale and window live.
//!
//! A functional-group macro (Pixel Value Transformation, Frame VOI LUT …) may sit in the frame's
//! item of the Per-frame Functional Groups Sequence, in the Shared Functional Groups Sequence,
//! or, for the classic objects, at the top level; per-frame wins, then shared, then top level
//! (PS3.3 C.7.6.16).

use dicom_core::Tag;
use dicom_dictionary_std::tags;

use crate::attrs::{Obj, first_item, items};

/// The places to read macro `seq` from for 0-based frame `index`, in order of precedence: the
/// macro's item in the frame's per-frame group, its item in the shared group, then `o` itself
/// (where the classic objects keep the same attributes).
pub(crate) fn sources(o: &Obj, index: u32, seq: Tag) -> impl Iterator<Item = &Obj> {
    let per_frame = usize::try_from(index)
        .ok()
        .and_then(|i| items(o, tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE).get(i))
        .and_then(|group| first_item(group, seq));
    let shared = first_item(o, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE)
        .and_then(|group| first_item(group, seq));
    per_frame
        .into_iter()
        .chain(shared)
        .chain(std::iter::once(o))
}
