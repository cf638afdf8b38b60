//! One message to send, and how it becomes an RFC 5322 message.
//!
//! Invariants: a `Mail`'s `Debug` shows only the sizes of its fields, so a recipient, subject
//! or link cannot reach a log through `{:?}`. Both parts are quoted-printable, so every line
//! on the wire is 7-bit and short whatever the text holds.

use std::fmt;

use lettre::Message;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};

use crate::transport::SendError;

/// A message ready to send: one recipient, a subject, and the same text as plain text and HTML.
///
/// The outbox stores it as it is (the store chooses the encoding); nothing here is secret
/// beyond the link, and no passcode is ever part of a `Mail`.
#[derive(Clone, PartialEq, Eq)]
pub struct Mail {
    /// The recipient: `someone@example.org` or `Name <someone@example.org>`.
    pub to: String,
    /// The subject, one line.
    pub subject: String,
    /// The `text/plain` part.
    pub text: String,
    /// The `text/html` part.
    pub html: String,
}

impl fmt::Debug for Mail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Sizes only: the fields hold an address, patient-chosen text and a capability link.
        f.debug_struct("Mail")
            .field("to_len", &self.to.len())
            .field("subject_len", &self.subject.len())
            .field("text_len", &self.text.len())
            .field("html_len", &self.html.len())
            .finish()
    }
}

impl Mail {
    /// The message as sent: multipart/alternative of text then HTML, with `From`, `To`,
    /// `Subject`, `Date` and a fresh `Message-ID`.
    ///
    /// An invalid recipient is a permanent error: no retry will make it valid.
    pub(crate) fn to_message(&self, from: &Mailbox) -> Result<Message, SendError> {
        let to: Mailbox = self
            .to
            .trim()
            .parse()
            .map_err(|_| SendError::permanent("the recipient address is not valid"))?;
        let part = |content_type: ContentType, text: &str| {
            Body::new_with_encoding(text.to_owned(), ContentTransferEncoding::QuotedPrintable)
                .map(|body| {
                    SinglePart::builder()
                        .header(content_type)
                        .header(ContentTransferEncoding::QuotedPrintable)
                        .body(body)
                })
                .map_err(|_| SendError::permanent("the message could not be built"))
        };
        let alternative = MultiPart::alternative()
            .singlepart(part(ContentType::TEXT_PLAIN, &self.text)?)
            .singlepart(part(ContentType::TEXT_HTML, &self.html)?);
        Message::builder()
            .from(from.clone())
            .to(to)
            .subject(one_line(&self.subject))
            .date_now()
            .message_id(None)
            .multipart(alternative)
            .map_err(|_| SendError::permanent("the message could not be built"))
    }
}

/// The text on one line: control characters (CR and LF among them) become spaces.
pub(crate) fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(to: &str) -> Mail {
        Mail {
            to: to.to_owned(),
            subject: "Hello\r\nBcc: evil@example.org".to_owned(),
            text: "plain ünïcode https://vault.example.org/s/abc".to_owned(),
            html: "<p>html</p>".to_owned(),
        }
    }

    fn from() -> Mailbox {
        "studyvault <noreply@example.org>".parse().unwrap()
    }

    #[test]
    fn builds_multipart_alternative_with_the_headers() {
        let message = mail("Dr Who <doctor@example.org>")
            .to_message(&from())
            .unwrap();
        let wire = String::from_utf8(message.formatted()).unwrap();
        let headers = wire.split("\r\n\r\n").next().unwrap();
        for header in ["From: ", "To: ", "Subject: ", "Date: ", "Message-ID: "] {
            assert!(headers.contains(header), "{header} missing in {headers}");
        }
        assert!(headers.contains("multipart/alternative"), "{headers}");
        assert!(wire.contains("text/plain; charset=utf-8"), "{wire}");
        assert!(wire.contains("text/html; charset=utf-8"), "{wire}");
        assert!(wire.contains("Content-Transfer-Encoding: quoted-printable"));
        // The subject's line break cannot add a header.
        assert!(!wire.contains("\r\nBcc:"), "{wire}");
        assert!(wire.is_ascii());
    }

    #[test]
    fn an_invalid_recipient_is_permanent() {
        for to in ["", "not an address", "a@b@c", "<doctor@example.org"] {
            let err = mail(to).to_message(&from()).unwrap_err();
            assert!(err.permanent, "{to}");
            assert_eq!(err.reason, "the recipient address is not valid");
        }
    }

    #[test]
    fn debug_shows_no_content() {
        let debug = format!("{:?}", mail("doctor@example.org"));
        assert!(!debug.contains("doctor"), "{debug}");
        assert!(!debug.contains("https"), "{debug}");
        assert!(!debug.contains("Hello"), "{debug}");
    }
}
