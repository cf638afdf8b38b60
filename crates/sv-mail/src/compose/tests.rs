use time::macros::datetime;

use super::*;

const LINK: &str = "https://vault.example.org/s/AbC-123_xyz";

fn share(note: Option<&'static str>, has_passcode: bool) -> Mail {
    share_mail(ShareMail {
        to: "doctor@example.org",
        sender_name: "Ana <b>Lima</b>",
        note,
        link: LINK,
        expires: datetime!(2026-12-14 10:30 +01:00),
        study_description: Some("CT chest & abdomen"),
        study_date: Some("2026-11-30"),
        has_passcode,
    })
}

#[test]
fn share_subject_and_recipient() {
    let mail = share(None, false);
    assert_eq!(mail.to, "doctor@example.org");
    assert_eq!(
        mail.subject,
        "Ana <b>Lima</b> shared a medical imaging study with you"
    );
}

#[test]
fn note_is_escaped_in_html_and_verbatim_in_text() {
    let note = "See <script>alert(\"x\")</script> & the\nsecond line";
    let mail = share(Some(note), false);
    assert!(mail.text.contains(note), "{}", mail.text);
    assert!(!mail.html.contains("<script>"), "{}", mail.html);
    assert!(mail.html.contains("&#60;script&#62;"), "{}", mail.html);
    assert!(mail.html.contains("&#38; the"), "{}", mail.html);
    // The sender's name is user input too.
    assert!(mail.text.contains("Ana <b>Lima</b> shared"));
    assert!(!mail.html.contains("<b>Lima"));
    assert!(mail.html.contains("Ana &#60;b&#62;Lima"));
    // Study facts: verbatim in text, escaped in HTML.
    assert!(mail.text.contains("Study: CT chest & abdomen, 2026-11-30"));
    assert!(
        mail.html
            .contains("Study: CT chest &#38; abdomen, 2026-11-30")
    );
}

#[test]
fn link_is_in_both_parts_plain_and_as_a_button() {
    let mail = share(None, false);
    assert!(mail.text.contains(&format!("\n{LINK}\n")), "{}", mail.text);
    let href = format!("<a href=\"{LINK}\" rel=\"noreferrer\"");
    assert_eq!(mail.html.matches(&href).count(), 2, "{}", mail.html);
    assert!(mail.html.contains(&format!(">{LINK}</a>")));
    assert!(mail.html.contains(">Open the study</a>"));
}

#[test]
fn html_loads_nothing_from_outside() {
    for mail in [share(Some("note"), true), signin()] {
        let html = mail.html.to_ascii_lowercase();
        for forbidden in [
            "<img", "<script", "<link", "src=", "url(", "@import", "<iframe",
        ] {
            assert!(!html.contains(forbidden), "{forbidden} in {html}");
        }
        // The only links are the one we were given.
        assert_eq!(
            html.matches("href=").count(),
            html.matches("href=\"https://vault.example.org/").count()
        );
    }
}

#[test]
fn passcode_sentence_only_when_there_is_one() {
    let sentence = "You will also need a passcode";
    let with = share(None, true);
    assert!(with.text.contains(sentence));
    assert!(with.html.contains(sentence));
    let without = share(None, false);
    assert!(!without.text.contains(sentence));
    assert!(!without.html.contains(sentence));
    assert!(
        without
            .text
            .contains("Anyone who has the link can open the study")
    );
    assert!(!with.text.contains("Anyone who has the link"));
}

#[test]
fn expiry_is_readable_utc() {
    let mail = share(None, false);
    assert!(
        mail.text
            .contains("The link works until 14 December 2026, 09:30 UTC."),
        "{}",
        mail.text
    );
    assert!(
        mail.html
            .contains("<strong>14 December 2026, 09:30 UTC</strong>")
    );
    assert_eq!(
        format_expiry(datetime!(2027-01-04 23:05 -02:00)),
        "5 January 2027, 01:05 UTC"
    );
}

#[test]
fn says_what_the_link_shows_and_how_to_ignore_it() {
    let mail = share(None, false);
    for part in [&mail.text, &mail.html] {
        assert!(part.contains("The link shows only this study"), "{part}");
        assert!(part.contains("If you did not expect this e-mail, you can ignore it"));
    }
}

#[test]
fn optional_parts_are_left_out_cleanly() {
    let mail = share_mail(ShareMail {
        to: "doctor@example.org",
        sender_name: "  \r\n ",
        note: Some("   "),
        link: LINK,
        expires: datetime!(2026-12-14 09:30 UTC),
        study_description: None,
        study_date: None,
        has_passcode: false,
    });
    assert_eq!(
        mail.subject,
        "Someone shared a medical imaging study with you"
    );
    assert!(!mail.text.contains("Study"), "{}", mail.text);
    assert!(!mail.text.contains("wrote:"));
    assert!(!mail.html.contains("<blockquote"));
    assert!(!mail.text.contains("\n\n\n"), "{}", mail.text);
    let expected_start = "Someone shared a medical imaging study with you.\n\nOpen the study:\n";
    assert!(mail.text.starts_with(expected_start), "{}", mail.text);
}

#[test]
fn a_sender_name_cannot_break_the_subject() {
    let mail = share_mail(ShareMail {
        to: "doctor@example.org",
        sender_name: "Eve\r\nBcc: all@example.org",
        note: None,
        link: LINK,
        expires: datetime!(2026-12-14 09:30 UTC),
        study_description: None,
        study_date: Some("2026-11-30"),
        has_passcode: false,
    });
    assert!(!mail.subject.contains(['\r', '\n']));
    assert!(mail.text.contains("Study date: 2026-11-30"));
}

fn signin() -> Mail {
    signin_mail(SigninMail {
        to: "ana@example.org",
        record_name: "Ana <Lima>",
        link: "https://vault.example.org/signin/T0k3n",
        valid_minutes: 15,
    })
}

#[test]
fn signin_mail_says_once_and_15_minutes() {
    let mail = signin();
    assert_eq!(mail.to, "ana@example.org");
    assert_eq!(mail.subject, "Your studyvault sign-in link");
    for part in [&mail.text, &mail.html] {
        assert!(
            part.contains("https://vault.example.org/signin/T0k3n"),
            "{part}"
        );
        assert!(part.contains("It works once, for 15 minutes."), "{part}");
        assert!(part.contains("If you did not ask to sign in"), "{part}");
    }
    assert!(mail.text.contains("for the record \"Ana <Lima>\""));
    assert!(mail.html.contains("<strong>Ana &#60;Lima&#62;</strong>"));
    let one = signin_mail(SigninMail {
        to: "ana@example.org",
        record_name: "",
        link: "https://vault.example.org/signin/x",
        valid_minutes: 1,
    });
    assert!(
        one.text
            .starts_with("Here is your link to sign in to studyvault:\n")
    );
    assert!(one.text.contains("for 1 minute."));
}
