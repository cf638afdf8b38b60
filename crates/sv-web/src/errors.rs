//! Error pages: the one answer for every bad share or sign-in link, a generic error page, and the
//! rate-limit page. None shows internals.

use std::sync::LazyLock;

use askama::Template;

use crate::Layout;

/// The 404 for every unknown, expired, revoked, locked or not-yet-valid link: identical bytes in
/// every case, so the answer tells nothing apart. Use [`link_not_valid_html`].
#[derive(Debug, Template)]
#[template(path = "errors/link_not_valid.html", whitespace = "minimize")]
pub struct LinkNotValidPage {
    layout: Layout,
}

impl Default for LinkNotValidPage {
    fn default() -> Self {
        Self {
            layout: Layout::public("Link not valid", ""),
        }
    }
}

/// The body of [`LinkNotValidPage`], rendered once.
pub fn link_not_valid_html() -> &'static str {
    static HTML: LazyLock<String> = LazyLock::new(|| {
        crate::render(&LinkNotValidPage::default()).expect("a static page renders")
    });
    &HTML
}

/// Any other error: the status and a short message, never internals.
#[derive(Debug, Template)]
#[template(path = "errors/error.html", whitespace = "minimize")]
pub struct ErrorPage {
    layout: Layout,
    status: u16,
    message: String,
}

impl ErrorPage {
    /// The page for `status` with its standard message.
    pub fn new(status: u16) -> Self {
        let message = match status {
            400 => "The request could not be understood.",
            403 => "You cannot do this here. If you were signed in, sign in again.",
            404 => "There is nothing here.",
            405 => "This address does not take that kind of request.",
            409 => "Something changed meanwhile. Go back, reload and try again.",
            413 => "That is more than the server accepts at once.",
            500 => "Something went wrong on our side. Try again later.",
            503 => "The server is busy or starting. Try again in a moment.",
            _ if status >= 500 => "Something went wrong on our side. Try again later.",
            _ => "That did not work.",
        };
        Self::with_message(status, message)
    }

    /// The page for `status` with a message of the caller's (short, no internals).
    pub fn with_message(status: u16, message: impl Into<String>) -> Self {
        Self {
            layout: Layout::public(format!("Error {status}"), ""),
            status,
            message: message.into(),
        }
    }

    fn heading(&self) -> &'static str {
        match self.status {
            404 => "Not found",
            413 => "Too large",
            s if s >= 500 => "Something went wrong",
            _ => "That did not work",
        }
    }
}

/// 429: when to try again (send `Retry-After` with the same number of seconds).
#[derive(Debug, Template)]
#[template(path = "errors/too_many.html", whitespace = "minimize")]
pub struct TooManyRequestsPage {
    layout: Layout,
    retry_after_secs: u32,
}

impl TooManyRequestsPage {
    /// The page for a wait of `retry_after_secs`.
    pub fn new(retry_after_secs: u32) -> Self {
        Self {
            layout: Layout::public("Too many attempts", ""),
            retry_after_secs,
        }
    }

    /// "30 seconds", "2 minutes", "1 hour" (rounded up).
    pub fn wait_text(&self) -> String {
        let s = self.retry_after_secs.max(1);
        if s < 60 {
            crate::count(s, "second", "seconds")
        } else if s < 3600 {
            crate::count(s.div_ceil(60), "minute", "minutes")
        } else {
            crate::count(s.div_ceil(3600), "hour", "hours")
        }
    }
}
