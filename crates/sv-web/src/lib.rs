//! studyvault's server-rendered pages: one plain data struct per page, compiled into HTML by askama.
//!
//! # Architecture invariants
//!
//! - This crate knows nothing of HTTP, axum, the stores or any other studyvault crate. `sv-api` fills
//!   the page structs from vault use cases, calls [`render`] and sends the HTML with its headers
//!   (CSP, `Cache-Control: no-store`, `Referrer-Policy: no-referrer`, …).
//! - URLs arrive ready-made (built and percent-encoded by the caller); templates only print them.
//! - Everything printed is HTML-escaped. The single exception is [`shares::ShareCreatedPage::qr_svg`],
//!   which must be an SVG the server generated itself from the link, never user text.
//! - The pages satisfy the CSP `default-src 'none'; script-src 'self'; style-src 'self'; img-src
//!   'self' data:; …`: no inline script, no `style=` and no `on*=` attributes. The only stylesheet
//!   and script are [`STYLESHEET`] and [`SCRIPT`], served under content-hashed paths.
//! - Every page works without JavaScript; the script only enhances (viewer keys and cine, upload
//!   progress, copy buttons). Every state-changing form is a POST carrying the hidden `csrf` field.
//!
//! Page families, one module each (as kanidm's `views/`): [`signin`], [`studies`], [`viewer`],
//! [`upload`], [`shares`], [`recipient`], [`errors`]. They share [`Layout`] and the partials in
//! `templates/_*.html`.
//!
//! ```
//! use sv_web::{render, Layout, errors::TooManyRequestsPage};
//! let html = render(&TooManyRequestsPage::new(90)).unwrap();
//! assert!(html.contains("2 minutes"));
//! assert!(html.contains(sv_web::STYLESHEET.path));
//! # let _ = Layout::public("x", "");
//! ```

mod assets;
pub mod errors;
mod layout;
pub mod recipient;
pub mod shares;
pub mod signin;
pub mod studies;
pub mod upload;
pub mod viewer;

pub use askama::Template;
pub use assets::{ASSETS, Asset, IMMUTABLE_CACHE_CONTROL, SCRIPT, STYLESHEET, asset};
pub use layout::{Layout, Section, paths};

/// A page that could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// askama failed (in practice only a failing `Display` of a field).
    #[error("could not render page {page}")]
    Render {
        /// The page struct's type name.
        page: &'static str,
        /// What askama reported.
        #[source]
        source: askama::Error,
    },
}

/// Renders a page to HTML.
pub fn render<T: Template>(page: &T) -> Result<String, WebError> {
    page.render().map_err(|source| WebError::Render {
        page: short_type_name::<T>(),
        source,
    })
}

/// "1 image", "240 images".
pub(crate) fn count(n: impl std::borrow::Borrow<u32>, one: &str, many: &str) -> String {
    let n = *n.borrow();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// What `Debug` prints for a secret or a capability URL.
pub(crate) struct Redacted;

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// `Debug` that prints the `redact` fields as `<redacted>`: CSRF tokens, share links, and URLs,
/// which on a recipient's pages carry the share token. Destructuring makes a new field a compile
/// error until it is listed.
macro_rules! debug_redacted {
    ($ty:ident { $($field:ident),* $(,)? } redact { $($secret:ident),* $(,)? }) => {
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let Self { $($field,)* $($secret: _,)* } = self;
                f.debug_struct(stringify!($ty))
                    $(.field(stringify!($field), $field))*
                    $(.field(stringify!($secret), &crate::Redacted))*
                    .finish()
            }
        }
    };
}
pub(crate) use debug_redacted;

fn short_type_name<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    full.rsplit("::").next().unwrap_or(full)
}

/// The share link as an SVG QR code, made here from the link alone: the one value a template
/// prints unescaped (`ShareCreatedPage::qr_svg`). `None` if the link is too long for a code.
pub fn qr_svg(link: &str) -> Option<String> {
    let code = qrcode::QrCode::new(link.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
    )
}
