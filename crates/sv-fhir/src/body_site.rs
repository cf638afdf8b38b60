//! Body Part Examined (0018,0015) and Laterality (0020,0060) as SNOMED CT codings.
//!
//! The table holds the common terms `standards.md` §3.1 lists (after PS3.16 Annex L); any
//! other term becomes a Coding with only its `display`, so nothing the study says is lost
//! and no code is guessed.

use crate::datatypes::{Coding, SNOMED_SYSTEM};

/// DICOM Body Part Examined term → (SNOMED CT code, display).
const BODY_PARTS: [(&str, &str, &str); 10] = [
    ("HEAD", "69536005", "Head structure"),
    ("BRAIN", "12738006", "Brain structure"),
    ("CHEST", "51185008", "Thoracic structure"),
    ("ABDOMEN", "818981001", "Abdomen structure"),
    ("PELVIS", "12921003", "Pelvis structure"),
    ("KNEE", "72696002", "Knee region structure"),
    ("CSPINE", "122494005", "Cervical spine structure"),
    ("TSPINE", "122495006", "Thoracic spine structure"),
    ("LSPINE", "122496007", "Lumbar spine structure"),
    ("BREAST", "76752008", "Breast structure"),
];

/// DICOM Laterality → (SNOMED CT code, display).
const LATERALITIES: [(&str, &str, &str); 3] = [
    ("L", "7771000", "Left"),
    ("R", "24028007", "Right"),
    ("B", "51440002", "Right and left"),
];

/// `series.bodySite`: the SNOMED coding of a known term, else a display-only coding.
pub(crate) fn body_site(term: &str) -> Option<Coding> {
    let term = term.trim();
    if term.is_empty() {
        return None;
    }
    Some(
        match BODY_PARTS
            .iter()
            .find(|(t, _, _)| t.eq_ignore_ascii_case(term))
        {
            Some((_, code, display)) => Coding::new(SNOMED_SYSTEM, code).with_display(display),
            None => Coding {
                display: Some(term.to_owned()),
                ..Coding::default()
            },
        },
    )
}

/// `series.laterality`: L, R and B as SNOMED codings; anything else is left out.
pub(crate) fn laterality(value: &str) -> Option<Coding> {
    let value = value.trim();
    LATERALITIES
        .iter()
        .find(|(l, _, _)| l.eq_ignore_ascii_case(value))
        .map(|(_, code, display)| Coding::new(SNOMED_SYSTEM, code).with_display(display))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_terms_are_snomed_and_others_keep_their_words() {
        let chest = body_site("CHEST").unwrap();
        assert_eq!(chest.system.as_deref(), Some(SNOMED_SYSTEM));
        assert_eq!(chest.code.as_deref(), Some("51185008"));
        assert_eq!(
            body_site(" knee ").unwrap().code.as_deref(),
            Some("72696002")
        );
        let hand = body_site("HAND").unwrap();
        assert_eq!((hand.system, hand.code), (None, None));
        assert_eq!(hand.display.as_deref(), Some("HAND"));
        assert_eq!(body_site("  "), None);
    }

    #[test]
    fn laterality_is_coded_or_left_out() {
        assert_eq!(laterality("L").unwrap().code.as_deref(), Some("7771000"));
        assert_eq!(laterality("R").unwrap().code.as_deref(), Some("24028007"));
        assert_eq!(laterality("B").unwrap().code.as_deref(), Some("51440002"));
        assert_eq!(laterality("U"), None);
    }
}
