//! The frame every page shares: its title, the header navigation, the CSRF token, and the fixed
//! paths the templates link to.

/// The fixed paths the templates assume. Everything else (study, series, share URLs) arrives
/// ready-made in the page structs.
pub mod paths {
    /// The sign-in page.
    pub const SIGNIN: &str = "/";
    /// POST: sign in with a record token (form field `token`).
    pub const SIGNIN_TOKEN: &str = "/signin/token";
    /// POST: mail me a one-time sign-in link (form field `email`).
    pub const SIGNIN_MAIL: &str = "/signin/mail";
    /// POST: sign out.
    pub const SIGNOUT: &str = "/signout";
    /// The patient's study list.
    pub const STUDIES: &str = "/studies";
    /// GET: the upload form; POST: the upload (multipart/form-data, file fields `files`).
    pub const UPLOAD: &str = "/upload";
    /// The patient's share list.
    pub const SHARES: &str = "/shares";
}

/// Which header link is the current page (`aria-current="page"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// None of them.
    None,
    /// The study list and everything under a study.
    Studies,
    /// The upload form and its result.
    Upload,
    /// The share list, the share form and its result.
    Shares,
}

/// The frame of a page: `<title>`, header and footer.
#[derive(Clone)]
pub struct Layout {
    /// What the page is, first in `<title>` ("Studies – studyvault").
    pub title: String,
    /// A signed-in patient: shows Studies, Upload, Shares and the sign-out button.
    pub signed_in: bool,
    /// The session's CSRF token (or the pre-session token on the sign-in and share landing pages).
    /// Every POST form on the page sends it as the hidden field `csrf`, and the layout publishes
    /// it in `<meta name="csrf-token">` for the upload script's `X-CSRF-Token` header.
    /// Empty on pages without forms.
    pub csrf: String,
    /// The header link marked current.
    pub current: Section,
}

crate::debug_redacted!(Layout { title, signed_in, current } redact { csrf });

impl Layout {
    /// A page for someone not signed in: sign-in pages, a recipient's pages, errors.
    pub fn public(title: impl Into<String>, csrf: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            signed_in: false,
            csrf: csrf.into(),
            current: Section::None,
        }
    }

    /// A signed-in patient's page.
    pub fn patient(title: impl Into<String>, csrf: impl Into<String>, current: Section) -> Self {
        Self {
            title: title.into(),
            signed_in: true,
            csrf: csrf.into(),
            current,
        }
    }

    pub(crate) fn is_current(&self, section: Section) -> bool {
        self.current == section
    }
}
