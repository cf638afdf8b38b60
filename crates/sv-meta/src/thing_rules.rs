//! Rules about things that every engine applies the same way: which types keep their content
//! in their history, and that a thing's blob names are unique.

use sv_model::{Thing, TypeId};

use crate::MetaError;

/// Whether versions of this type keep their data XML and named blobs. Study versions hold
/// only the header: their content is the instance facts, and a study has thousands of blobs.
pub(crate) fn keeps_content(type_id: TypeId) -> bool {
    type_id != TypeId::MEDICAL_IMAGE_STUDY
}

/// Refuses a new thing whose named blobs share a name.
pub(crate) fn check_unique_names(thing: &Thing) -> Result<(), MetaError> {
    let mut names: Vec<&str> = thing.blobs.iter().map(|b| b.name.as_str()).collect();
    names.sort_unstable();
    if names.windows(2).any(|w| w[0] == w[1]) {
        return Err(MetaError::Invalid {
            what: "thing",
            reason: "two named blobs share a name",
        });
    }
    Ok(())
}
