//! The two messages studyvault sends, written with askama templates (`templates/`).
//!
//! Invariants: the `.txt` templates are rendered without escaping and the `.html` ones with
//! HTML escaping (set explicitly on each template, and tested), so patient-typed text such as
//! a note is shown as typed and can never become markup. The HTML has no images, no scripts,
//! no tracking and no external resources. No passcode ever passes through here: a share mail
//! only says whether one is needed.

use askama::Template;
use time::OffsetDateTime;
use time::macros::format_description;

use crate::mail::{Mail, one_line};

/// What a share mail says. Everything but `link` and `expires` is shown as given.
#[derive(Debug, Clone, Copy)]
pub struct ShareMail<'a> {
    /// The recipient's address.
    pub to: &'a str,
    /// The patient's display name.
    pub sender_name: &'a str,
    /// The patient's note to the recipient, if any (several lines allowed).
    pub note: Option<&'a str>,
    /// The share link (the configured public base URL, `/s/`, the token).
    pub link: &'a str,
    /// When the link stops working.
    pub expires: OffsetDateTime,
    /// The study's description, e.g. "CT chest with contrast".
    pub study_description: Option<&'a str>,
    /// The study's date as the pages show it.
    pub study_date: Option<&'a str>,
    /// Whether the link needs a passcode (which the patient hands over separately).
    pub has_passcode: bool,
}

/// What a sign-in mail says.
#[derive(Debug, Clone, Copy)]
pub struct SigninMail<'a> {
    /// The recipient's address.
    pub to: &'a str,
    /// The record's display name.
    pub record_name: &'a str,
    /// The one-time sign-in link.
    pub link: &'a str,
    /// How long the link works, in minutes (15 in studyvault).
    pub valid_minutes: u32,
}

/// The share mail's fields as the templates read them.
struct ShareView<'a> {
    sender_name: String,
    note: Option<&'a str>,
    link: &'a str,
    expires: String,
    study_description: Option<String>,
    study_date: Option<String>,
    has_passcode: bool,
}

#[derive(Template)]
#[template(path = "share.txt", escape = "none")]
struct ShareText<'a> {
    m: &'a ShareView<'a>,
}

#[derive(Template)]
#[template(path = "share.html", escape = "html")]
struct ShareHtml<'a> {
    m: &'a ShareView<'a>,
    subject: &'a str,
}

#[derive(Template)]
#[template(path = "signin.txt", escape = "none")]
struct SigninText<'a> {
    record_name: &'a str,
    link: &'a str,
    valid_minutes: u32,
}

#[derive(Template)]
#[template(path = "signin.html", escape = "html")]
struct SigninHtml<'a> {
    record_name: &'a str,
    link: &'a str,
    valid_minutes: u32,
    subject: &'a str,
}

/// The mail that carries a share link to its recipient.
pub fn share_mail(share: ShareMail<'_>) -> Mail {
    let sender_name = display_name(share.sender_name, "Someone");
    let view = ShareView {
        sender_name: sender_name.clone(),
        note: share.note.map(str::trim).filter(|n| !n.is_empty()),
        link: share.link,
        expires: format_expiry(share.expires),
        study_description: share
            .study_description
            .map(one_line)
            .filter(|s| !s.is_empty()),
        study_date: share.study_date.map(one_line).filter(|s| !s.is_empty()),
        has_passcode: share.has_passcode,
    };
    let subject = format!("{sender_name} shared a medical imaging study with you");
    Mail {
        to: share.to.to_owned(),
        text: render(&ShareText { m: &view }),
        html: render(&ShareHtml {
            m: &view,
            subject: &subject,
        }),
        subject,
    }
}

/// The mail that carries a one-time sign-in link to a record's owner.
pub fn signin_mail(signin: SigninMail<'_>) -> Mail {
    let record_name = display_name(signin.record_name, "");
    let subject = "Your studyvault sign-in link".to_owned();
    Mail {
        to: signin.to.to_owned(),
        text: render(&SigninText {
            record_name: &record_name,
            link: signin.link,
            valid_minutes: signin.valid_minutes,
        }),
        html: render(&SigninHtml {
            record_name: &record_name,
            link: signin.link,
            valid_minutes: signin.valid_minutes,
            subject: &subject,
        }),
        subject,
    }
}

/// "14 December 2026, 09:30 UTC", whatever the offset given.
pub fn format_expiry(at: OffsetDateTime) -> String {
    let format =
        format_description!("[day padding:none] [month repr:long] [year], [hour]:[minute] UTC");
    at.to_offset(time::UtcOffset::UTC)
        .format(&format)
        // Only a year beyond 9999 fails to format; say something true rather than panic.
        .unwrap_or_else(|_| "a date too far ahead to show".to_owned())
}

/// A name for a subject line or a sentence: one line, at most 80 characters, or `fallback`.
fn display_name(name: &str, fallback: &str) -> String {
    let name = one_line(name);
    let name: String = name.chars().take(80).collect();
    if name.is_empty() {
        fallback.to_owned()
    } else {
        name
    }
}

fn render(template: &impl Template) -> String {
    // Rendering writes str and integer fields into a String, which cannot fail.
    template
        .render()
        .expect("rendering a mail template into a String cannot fail")
}

#[cfg(test)]
mod tests;
