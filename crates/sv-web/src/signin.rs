//! Sign-in pages: the sign-in form, the one-time-link interstitial and "check your mail".

use askama::Template;

use crate::Layout;

/// A message above the sign-in forms.
#[derive(Debug, Clone)]
pub enum Notice {
    /// "You are signed out."
    Info(String),
    /// "That token is not valid."
    Error(String),
}

/// `GET /`: sign in with the record token (POST [`crate::paths::SIGNIN_TOKEN`], field `token`)
/// or, when mail is configured, ask for a mailed link (POST [`crate::paths::SIGNIN_MAIL`], field
/// `email`). Both forms carry `csrf` (a pre-session token: login CSRF).
#[derive(Debug, Template)]
#[template(path = "signin/signin.html", whitespace = "minimize")]
pub struct SigninPage {
    /// `Layout::public("Sign in", csrf)`.
    pub layout: Layout,
    /// Whether the server can send mail, so the mailed-link form is shown.
    pub mail_enabled: bool,
    /// An optional notice or error.
    pub notice: Option<Notice>,
}

/// `GET /signin/link/{code}`: the interstitial a mailed link opens. GET changes nothing (mail
/// scanners fetch links); its one button POSTs to the same URL (the form has no `action`), with
/// `csrf`.
#[derive(Debug, Template)]
#[template(path = "signin/link.html", whitespace = "minimize")]
pub struct SigninLinkPage {
    /// `Layout::public("Sign in", csrf)`.
    pub layout: Layout,
}

/// After POST [`crate::paths::SIGNIN_MAIL`]: the same page whether or not the address is known.
#[derive(Debug, Template)]
#[template(path = "signin/check_mail.html", whitespace = "minimize")]
pub struct CheckMailPage {
    /// `Layout::public("Check your mail", "")`.
    pub layout: Layout,
    /// The address as typed.
    pub email: String,
}
