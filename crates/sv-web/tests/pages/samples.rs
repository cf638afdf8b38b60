//! Sample data for every page, with hostile user text in the places users write.

use sv_web::errors::{ErrorPage, LinkNotValidPage, TooManyRequestsPage};
use sv_web::recipient::{
    RecipientLandingPage, RecipientSeriesPage, RecipientShare, RecipientStudyPage,
    RecipientViewerPage,
};
use sv_web::shares::{
    MailState, ShareCreatedPage, ShareEvent, ShareFormPage, ShareFormValues, ShareListPage,
    ShareLogPage, ShareRow, ShareState,
};
use sv_web::signin::{CheckMailPage, Notice, SigninLinkPage, SigninPage};
use sv_web::studies::{SeriesCard, StudyListItem, StudyListPage, StudyPage, StudySummary};
use sv_web::upload::{UploadPage, UploadResultPage, UploadRow, UploadStatus};
use sv_web::viewer::{ImageTile, SeriesPage, SeriesView, ViewerPage, ViewerView, image_alt};
use sv_web::{Layout, Section, render};

/// User text that must come out escaped.
pub const EVIL: &str = r#"<script>alert(1)</script> "quoted" & 'single'"#;

/// The sample pages that print [`EVIL`].
pub const CARRIES_EVIL: &[&str] = &[
    "signin",
    "check_mail",
    "studies",
    "study",
    "upload_result",
    "share_form",
    "share_form_error",
    "share_list",
    "share_log",
    "landing",
    "landing_open",
    "recipient_study",
    "error_custom",
];

const CSRF: &str = "csrf-token-123";

/// What `qrcode`'s SVG renderer makes, in small.
pub const QR_SVG: &str = r##"<?xml version="1.0" standalone="yes"?><svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="210" height="210" viewBox="0 0 21 21" shape-rendering="crispEdges"><path fill="#fff" d="M0 0h21v21H0z"/><path fill="#000" d="M0 0h7v1H0zM14 0h7v1h-7zM0 1h1v6H0zM6 1h1v6H6zM14 1h1v6h-1zM20 1h1v6h-1zM2 2h3v3H2zM16 2h3v3h-3zM8 3h2v2H8zM11 6h2v3h-2zM0 6h7v1H0zM14 6h7v1h-7zM8 9h5v1H8zM0 14h7v1H0zM0 15h1v6H0zM6 15h1v6H6zM2 16h3v3H2zM0 20h7v1H0zM9 15h3v3H9zM14 14h2v2h-2zM17 17h3v3h-3z"/></svg>"##;

fn patient(title: &str, section: Section) -> Layout {
    Layout::patient(title, CSRF, section)
}

fn ct_study(description: &str) -> StudySummary {
    StudySummary {
        description: Some(description.to_owned()),
        date: "12 March 2024".to_owned(),
        modalities: vec!["CT".to_owned(), "SR".to_owned()],
        series_count: 3,
        image_count: 262,
    }
}

fn series_cards(prefix: &str) -> Vec<SeriesCard> {
    vec![
        SeriesCard {
            url: format!("{prefix}/series/1"),
            preview_url: Some("/p/scout.svg".to_owned()),
            modality: "CT".to_owned(),
            number: Some(1),
            description: Some("Scout".to_owned()),
            image_count: 2,
        },
        SeriesCard {
            url: format!("{prefix}/series/3"),
            preview_url: Some("/p/ct-10.svg".to_owned()),
            modality: "CT".to_owned(),
            number: Some(3),
            description: Some("Axial 1.25".to_owned()),
            image_count: 240,
        },
        SeriesCard {
            url: format!("{prefix}/series/99"),
            preview_url: None,
            modality: "SR".to_owned(),
            number: None,
            description: Some("Radiology report".to_owned()),
            image_count: 1,
        },
    ]
}

pub fn series_view(prefix: &str) -> SeriesView {
    let description = r#"Axial "1.25""#;
    let count = 20;
    let images = (1..=count)
        .map(|n| ImageTile {
            url: format!("/p/ct-{n:02}.svg"),
            width: 512,
            height: 512,
            alt: image_alt("CT", Some(3), Some(description), n, count),
            viewer_url: format!("{prefix}/v/s3?i={n}"),
        })
        .collect();
    SeriesView {
        study_title: "CT chest".to_owned(),
        study_url: format!("{prefix}/studies/1.2.3"),
        modality: "CT".to_owned(),
        number: Some(3),
        description: Some(description.to_owned()),
        images,
    }
}

pub fn viewer_view(index: u32, allow_download: bool) -> ViewerView {
    ViewerView {
        series: series_view(""),
        series_url: "/studies/1.2.3/series/3".to_owned(),
        page_url: "/v/s3".to_owned(),
        index,
        allow_download,
    }
}

fn recipient_share(allow_download: bool) -> RecipientShare {
    RecipientShare {
        shared_by: "Jane O'Neil".to_owned(),
        expires: "11 April 2024, 14:00 UTC".to_owned(),
        download_url: allow_download.then(|| "/s/tok/archive".to_owned()),
        dicomweb_url: allow_download.then(|| "https://vault.example/s/tok/dicomweb".to_owned()),
        weasis_url: allow_download.then(|| {
            "weasis://?%24dicom%3Ars+--url+%22https%3A%2F%2Fvault.example%2Fs%2Ftok%2Fdicomweb%22+-r+%22studyUID%3D1.2.3%22".to_owned()
        }),
        viewer_key_hours: allow_download.then_some(12),
    }
}

pub fn signin(mail_enabled: bool) -> SigninPage {
    SigninPage {
        layout: Layout::public("Sign in", CSRF),
        mail_enabled,
        notice: Some(Notice::Error(format!("That token is not valid. {EVIL}"))),
    }
}

pub fn study_list(with_studies: bool) -> StudyListPage {
    let studies = if with_studies {
        vec![
            StudyListItem {
                url: "/studies/1.2.3".to_owned(),
                preview_url: Some("/p/ct-10.svg".to_owned()),
                study: ct_study("CT chest with contrast"),
            },
            StudyListItem {
                url: "/studies/1.2.4".to_owned(),
                preview_url: Some("/p/xr.svg".to_owned()),
                study: StudySummary {
                    description: Some(EVIL.to_owned()),
                    date: "2 January 2023".to_owned(),
                    modalities: vec!["CR".to_owned()],
                    series_count: 1,
                    image_count: 1,
                },
            },
            StudyListItem {
                url: "/studies/1.2.5".to_owned(),
                preview_url: None,
                study: StudySummary {
                    description: None,
                    date: "5 May 2021".to_owned(),
                    modalities: vec!["MR".to_owned()],
                    series_count: 4,
                    image_count: 96,
                },
            },
        ]
    } else {
        Vec::new()
    };
    StudyListPage {
        layout: patient("Studies", Section::Studies),
        studies,
    }
}

pub fn share_form() -> ShareFormPage {
    ShareFormPage {
        layout: patient("Share a study", Section::Shares),
        action: "/studies/1.2.3/shares".to_owned(),
        study: ct_study("CT chest"),
        study_url: "/studies/1.2.3".to_owned(),
        max_days: 30,
        mail_enabled: true,
        error: None,
        values: ShareFormValues {
            email: "dr.who@example.org".to_owned(),
            expires_days: 30,
            note: EVIL.to_owned(),
            allow_download: true,
            deidentify: false,
        },
    }
}

pub fn share_created(qr_svg: Option<String>, mail: MailState) -> ShareCreatedPage {
    ShareCreatedPage {
        layout: patient("Link created", Section::Shares),
        study_title: "CT chest".to_owned(),
        study_url: "/studies/1.2.3".to_owned(),
        link: "https://vault.example/s/AbC_123-xyz".to_owned(),
        qr_svg,
        passcode_set: true,
        mail,
        expires: "11 April 2024, 14:00 UTC".to_owned(),
    }
}

pub fn share_list() -> ShareListPage {
    let row = |id: &str, state: ShareState, recipient: Option<&str>, mail: MailState| ShareRow {
        study_title: "CT chest".to_owned(),
        study_url: "/studies/1.2.3".to_owned(),
        recipient: recipient.map(str::to_owned),
        created: "12 March 2024".to_owned(),
        expires: "11 April 2024".to_owned(),
        state,
        mail,
        views: 3,
        downloads: 1,
        last_opened: (state != ShareState::Revoked).then(|| "13 March 2024, 09:12".to_owned()),
        log_url: format!("/shares/{id}"),
        revoke_url: format!("/shares/{id}/revoke"),
    };
    ShareListPage {
        layout: patient("Shares", Section::Shares),
        shares: vec![
            row(
                "a1",
                ShareState::Active,
                Some(EVIL),
                MailState::Sent {
                    to: EVIL.to_owned(),
                },
            ),
            row("b2", ShareState::Expired, None, MailState::NotRequested),
            row(
                "c3",
                ShareState::Revoked,
                Some("dr@example.org"),
                MailState::Queued {
                    to: "dr@example.org".to_owned(),
                },
            ),
            row(
                "d4",
                ShareState::Locked,
                Some("gp@example.org"),
                MailState::NotConfigured,
            ),
        ],
    }
}

pub fn landing(passcode_required: bool, attempts_left: Option<u32>) -> RecipientLandingPage {
    RecipientLandingPage {
        layout: Layout::public("Shared study", CSRF),
        shared_by: "Jane O'Neil".to_owned(),
        note: Some(format!("Hello doctor,\nhere is my scan.\n{EVIL}")),
        study: ct_study("CT chest"),
        expires: "11 April 2024, 14:00 UTC".to_owned(),
        passcode_required,
        wrong_passcode_attempts_left: attempts_left,
    }
}

pub fn recipient_study(allow_download: bool) -> RecipientStudyPage {
    let mut series = series_cards("/s/tok");
    series[1].description = Some(EVIL.to_owned());
    RecipientStudyPage {
        layout: Layout::public("CT chest", CSRF),
        study: ct_study("CT chest"),
        series,
        share: recipient_share(allow_download),
    }
}

pub fn upload() -> UploadPage {
    UploadPage {
        layout: patient("Upload", Section::Upload),
        limit: Some("Up to 4 GB at a time.".to_owned()),
    }
}

pub fn upload_result() -> UploadResultPage {
    let row = |uid: Option<&str>, status, reason: Option<&str>| UploadRow {
        sop_instance_uid: uid.map(str::to_owned),
        status,
        reason: reason.map(str::to_owned),
    };
    UploadResultPage {
        layout: patient("Upload finished", Section::Upload),
        study_count: 1,
        rows: vec![
            row(
                Some("1.2.826.0.1.3680043.8.498.1"),
                UploadStatus::Stored,
                None,
            ),
            row(
                Some("1.2.826.0.1.3680043.8.498.2"),
                UploadStatus::Stored,
                None,
            ),
            row(
                Some("1.2.826.0.1.3680043.8.498.3"),
                UploadStatus::Duplicate,
                None,
            ),
            row(
                None,
                UploadStatus::Refused,
                Some(&format!("not-dicom: {EVIL}")),
            ),
        ],
    }
}

/// Every sample page, named.
pub fn all_pages() -> Vec<(&'static str, String)> {
    let mut error_form = share_form();
    error_form.error = Some("The passcode must have 6 to 64 characters.".to_owned());
    error_form.mail_enabled = false;
    let pages: Vec<(&'static str, Result<String, sv_web::WebError>)> = vec![
        ("signin", render(&signin(true))),
        ("signin_no_mail", render(&signin(false))),
        (
            "signin_link",
            render(&SigninLinkPage {
                layout: Layout::public("Sign in", CSRF),
            }),
        ),
        (
            "check_mail",
            render(&CheckMailPage {
                layout: Layout::public("Check your mail", ""),
                email: EVIL.to_owned(),
            }),
        ),
        ("studies", render(&study_list(true))),
        ("studies_empty", render(&study_list(false))),
        (
            "study",
            render(&StudyPage {
                layout: patient("CT chest", Section::Studies),
                study: ct_study(EVIL),
                series: series_cards("/studies/1.2.3"),
                archive_url: "/studies/1.2.3/archive".to_owned(),
                share_url: "/studies/1.2.3/share".to_owned(),
            }),
        ),
        (
            "series",
            render(&SeriesPage {
                layout: patient("Series 3", Section::Studies),
                series: series_view(""),
            }),
        ),
        (
            "viewer",
            render(&ViewerPage {
                layout: patient("Series 3", Section::Studies),
                viewer: viewer_view(10, true),
            }),
        ),
        ("upload", render(&upload())),
        ("upload_result", render(&upload_result())),
        ("share_form", render(&share_form())),
        ("share_form_error", render(&error_form)),
        (
            "share_created",
            render(&share_created(
                Some(QR_SVG.to_owned()),
                MailState::Queued {
                    to: "dr@example.org".to_owned(),
                },
            )),
        ),
        ("share_list", render(&share_list())),
        (
            "share_list_empty",
            render(&ShareListPage {
                layout: patient("Shares", Section::Shares),
                shares: Vec::new(),
            }),
        ),
        (
            "share_log",
            render(&ShareLogPage {
                layout: patient("Share log", Section::Shares),
                study_title: "CT chest".to_owned(),
                recipient: Some("dr@example.org".to_owned()),
                created: "12 March 2024".to_owned(),
                expires: "11 April 2024".to_owned(),
                state: ShareState::Active,
                events: vec![
                    ShareEvent {
                        time: "13 March 2024, 09:12".to_owned(),
                        what: "opened".to_owned(),
                        detail: None,
                        client: Some("192.0.2.0/24".to_owned()),
                    },
                    ShareEvent {
                        time: "13 March 2024, 09:11".to_owned(),
                        what: "wrong passcode".to_owned(),
                        detail: Some(EVIL.to_owned()),
                        client: Some("192.0.2.0/24".to_owned()),
                    },
                    ShareEvent {
                        time: "12 March 2024, 18:00".to_owned(),
                        what: "created".to_owned(),
                        detail: Some("mailed to dr@example.org".to_owned()),
                        client: None,
                    },
                ],
            }),
        ),
        ("landing", render(&landing(true, Some(2)))),
        ("landing_open", render(&landing(false, None))),
        ("recipient_study", render(&recipient_study(true))),
        (
            "recipient_series",
            render(&RecipientSeriesPage {
                layout: Layout::public("Series 3", CSRF),
                series: series_view("/s/tok"),
                share: recipient_share(false),
            }),
        ),
        (
            "recipient_viewer",
            render(&RecipientViewerPage {
                layout: Layout::public("Series 3", CSRF),
                viewer: ViewerView {
                    series: series_view("/s/tok"),
                    series_url: "/s/tok/series/3".to_owned(),
                    page_url: "/s/tok/v/s3".to_owned(),
                    index: 1,
                    allow_download: false,
                },
                share: recipient_share(true),
            }),
        ),
        ("link_not_valid", render(&LinkNotValidPage::default())),
        ("error_500", render(&ErrorPage::new(500))),
        ("error_custom", render(&ErrorPage::with_message(400, EVIL))),
        ("too_many", render(&TooManyRequestsPage::new(90))),
    ];
    pages
        .into_iter()
        .map(|(name, html)| (name, html.unwrap_or_else(|e| panic!("{name}: {e}"))))
        .collect()
}

/// Stand-in preview images for the screenshots: CT-like slices, a scout and a radiograph.
pub fn preview_images() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for n in 1..=20u32 {
        let t = f64::from(n) / 20.0;
        let body_ry = 170.0 + 30.0 * (t * std::f64::consts::PI).sin();
        let lung = 40.0 + 70.0 * (t * std::f64::consts::PI).sin();
        let svg = format!(
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="512" height="512" viewBox="0 0 512 512"><rect width="512" height="512" fill="#000"/><ellipse cx="256" cy="256" rx="220" ry="{body_ry:.0}" fill="#8a8a8a"/><ellipse cx="170" cy="240" rx="{lung:.0}" ry="{:.0}" fill="#1a1a1a"/><ellipse cx="342" cy="240" rx="{lung:.0}" ry="{:.0}" fill="#1a1a1a"/><circle cx="256" cy="330" r="26" fill="#f0f0f0"/><circle cx="270" cy="230" r="{:.0}" fill="#b0b0b0"/><text x="16" y="32" fill="#ddd" font-family="sans-serif" font-size="20">{n}</text></svg>"##,
            lung * 1.3,
            lung * 1.3,
            20.0 + 25.0 * t
        );
        out.push((format!("ct-{n:02}.svg"), svg));
    }
    out.push((
        "scout.svg".to_owned(),
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="512" height="1024" viewBox="0 0 512 1024"><rect width="512" height="1024" fill="#000"/><rect x="136" y="60" width="240" height="900" rx="100" fill="#777"/><rect x="176" y="260" width="70" height="260" rx="30" fill="#222"/><rect x="266" y="260" width="70" height="260" rx="30" fill="#222"/></svg>"##.to_owned(),
    ));
    out.push((
        "xr.svg".to_owned(),
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="800" height="640" viewBox="0 0 800 640"><rect width="800" height="640" fill="#050505"/><ellipse cx="400" cy="340" rx="330" ry="280" fill="#5a5a5a"/><ellipse cx="280" cy="320" rx="110" ry="200" fill="#161616"/><ellipse cx="520" cy="320" rx="110" ry="200" fill="#161616"/><rect x="385" y="60" width="30" height="560" fill="#d8d8d8"/></svg>"##.to_owned(),
    ));
    out
}
