//! Which parts of a `<thing>` to write, like HealthVault GetThings' `format/section`.

use crate::XmlError;
use crate::error::truncate;

/// The sections of a `<thing>` to write. `thing-id` and `type-id` are always written (they
/// identify the thing); the rest only when asked for:
///
/// | section | elements |
/// |---|---|
/// | `core` | `thing-state`, `flags`, `eff-date` |
/// | `audits` | `created`, `updated` |
/// | `xml` | `data-xml` (HealthVault asks with `<xml/>`) |
/// | `blobpayload` | `blob-payload` |
///
/// The default is all of them, which is what this store's API answers unless `sections=`
/// narrows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sections {
    pub core: bool,
    pub audits: bool,
    pub xml: bool,
    pub blob_payload: bool,
}

impl Sections {
    pub const ALL: Sections = Sections {
        core: true,
        audits: true,
        xml: true,
        blob_payload: true,
    };

    /// Only `thing-id` and `type-id`.
    pub const KEYS: Sections = Sections {
        core: false,
        audits: false,
        xml: false,
        blob_payload: false,
    };

    /// Parses a comma-separated list such as `core,audits,xml,blobpayload` (case-insensitive,
    /// spaces ignored; `blob-payload` and `data-xml` are accepted as aliases). An empty list
    /// means [`Sections::KEYS`].
    pub fn parse(list: &str) -> Result<Sections, XmlError> {
        let mut sections = Sections::KEYS;
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let flag = match name.to_ascii_lowercase().as_str() {
                "core" => &mut sections.core,
                "audits" => &mut sections.audits,
                "xml" | "data-xml" => &mut sections.xml,
                "blobpayload" | "blob-payload" => &mut sections.blob_payload,
                _ => {
                    return Err(XmlError::UnknownSection {
                        name: truncate(name, 32),
                    });
                }
            };
            *flag = true;
        }
        Ok(sections)
    }
}

impl Default for Sections {
    fn default() -> Self {
        Sections::ALL
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn section_lists_parse() {
        assert_eq!(Sections::parse("").unwrap(), Sections::KEYS);
        assert_eq!(
            Sections::parse("core, AUDITS,xml,blobpayload").unwrap(),
            Sections::ALL
        );
        let core = Sections::parse("core").unwrap();
        assert!(core.core && !core.audits && !core.xml && !core.blob_payload);
        assert!(Sections::parse("blob-payload").unwrap().blob_payload);
        let err = Sections::parse("core,secrets").unwrap_err();
        assert_eq!(err.code(), "unknown-section");
    }
}
