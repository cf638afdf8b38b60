//! Codable values (`t:codable-value`): display text plus optional vocabulary codes.

/// A value from a vocabulary (`t:coded-value`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodedValue {
    pub value: String,
    pub family: Option<String>,
    pub vocabulary: String,
    pub version: Option<String>,
}

/// Display text with any number of codes (`t:codable-value`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodableValue {
    pub text: String,
    pub codes: Vec<CodedValue>,
}

impl CodableValue {
    pub fn text(text: impl Into<String>) -> Self {
        CodableValue {
            text: text.into(),
            codes: Vec::new(),
        }
    }

    /// A DICOM modality, coded in HealthVault's `dicom.modality` vocabulary.
    pub fn dicom_modality(modality: &str) -> Self {
        CodableValue {
            text: modality.to_owned(),
            codes: vec![CodedValue {
                value: modality.to_owned(),
                family: Some("dicom".to_owned()),
                vocabulary: "dicom.modality".to_owned(),
                version: None,
            }],
        }
    }
}
