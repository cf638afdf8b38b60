//! Sharing: the share form for one study, the result page (the link, shown once), the list of
//! shares with Revoke, and one share's log.

use askama::Template;

use crate::studies::StudySummary;
use crate::{Layout, debug_redacted};

/// Expiry presets offered by the share form, in days.
pub const EXPIRY_PRESETS: [u32; 3] = [7, 30, 90];

/// Where a share stands. Shown as text (and colour), never colour alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareState {
    /// Opens.
    Active,
    /// Past its expiry.
    Expired,
    /// Revoked by the patient.
    Revoked,
    /// Locked after too many wrong passcodes.
    Locked,
}

impl ShareState {
    /// CSS name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
            Self::Locked => "locked",
        }
    }

    /// What the page says.
    pub fn label(self) -> &'static str {
        match self {
            Self::Active => "Active",
            Self::Expired => "Expired",
            Self::Revoked => "Revoked",
            Self::Locked => "Locked (wrong passcodes)",
        }
    }

    /// Active and locked shares can be revoked.
    pub fn can_revoke(self) -> bool {
        matches!(self, Self::Active | Self::Locked)
    }
}

/// What became of the link's mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailState {
    /// No address was given.
    NotRequested,
    /// Handed to the mail server.
    Sent {
        /// The address.
        to: String,
    },
    /// Waiting to be sent (retried).
    Queued {
        /// The address.
        to: String,
    },
    /// An address was given but the server has no mail configured.
    NotConfigured,
    /// Sending failed for good.
    Failed {
        /// The address.
        to: String,
    },
}

impl MailState {
    /// A sentence for the result page.
    pub fn text(&self) -> String {
        match self {
            Self::NotRequested => "Not mailed: no address given. Send the link yourself.".into(),
            Self::Sent { to } => format!("Mailed to {to}."),
            Self::Queued { to } => format!("Queued: it will be mailed to {to} shortly."),
            Self::NotConfigured => {
                "Not mailed: the server has no mail configured. Send the link yourself.".into()
            }
            Self::Failed { to } => {
                format!("Not mailed: sending to {to} failed. Send the link yourself.")
            }
        }
    }

    /// A few words for the share list.
    pub fn short_text(&self) -> &'static str {
        match self {
            Self::NotRequested => "not mailed",
            Self::Sent { .. } => "mailed",
            Self::Queued { .. } => "queued",
            Self::NotConfigured => "not mailed (no mail set up)",
            Self::Failed { .. } => "failed",
        }
    }
}

/// The share form's values, kept when the form comes back with an error. The passcode is never
/// sent back.
#[derive(Debug, Clone)]
pub struct ShareFormValues {
    /// Recipient's address.
    pub email: String,
    /// Expiry in days.
    pub expires_days: u32,
    /// Note to the recipient.
    pub note: String,
    /// Allow downloads.
    pub allow_download: bool,
    /// De-identify downloads.
    pub deidentify: bool,
}

impl Default for ShareFormValues {
    fn default() -> Self {
        Self {
            email: String::new(),
            expires_days: 30,
            note: String::new(),
            allow_download: false,
            deidentify: false,
        }
    }
}

/// One expiry radio button.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpiryChoice {
    /// Days.
    pub days: u32,
    /// Selected.
    pub checked: bool,
}

/// The share form for one study. POSTs to `action` the fields `csrf`, `email` (may be empty),
/// `expires_days` (one of [`ShareFormPage::expiry_choices`]), `passcode` (may be empty; else 6–64
/// characters), `note`, and `allow_download=yes` / `deidentify=yes` when ticked.
#[derive(Debug, Template)]
#[template(path = "shares/form.html", whitespace = "minimize")]
pub struct ShareFormPage {
    /// `Layout::patient("Share a study", csrf, Section::Shares)`.
    pub layout: Layout,
    /// Where the form POSTs.
    pub action: String,
    /// The study shared.
    pub study: StudySummary,
    /// The study page (breadcrumb, Cancel).
    pub study_url: String,
    /// The longest expiry allowed; presets above it are not offered.
    pub max_days: u32,
    /// Whether the server can send mail.
    pub mail_enabled: bool,
    /// Why the last submission was refused.
    pub error: Option<String>,
    /// Values to show.
    pub values: ShareFormValues,
}

impl ShareFormPage {
    /// The presets up to `max_days`, plus `max_days` itself when it is below the largest preset
    /// and not one of them. The one checked is `values.expires_days`, else the longest not above
    /// it, else the shortest.
    pub fn expiry_choices(&self) -> Vec<ExpiryChoice> {
        let max = self.max_days.max(1);
        let mut days: Vec<u32> = EXPIRY_PRESETS
            .iter()
            .copied()
            .filter(|&d| d <= max)
            .collect();
        if max < EXPIRY_PRESETS[EXPIRY_PRESETS.len() - 1] && !days.contains(&max) {
            days.push(max);
        }
        let wanted = self.values.expires_days;
        let chosen = days
            .iter()
            .copied()
            .filter(|&d| d <= wanted)
            .max()
            .unwrap_or(days[0]);
        days.into_iter()
            .map(|d| ExpiryChoice {
                days: d,
                checked: d == chosen,
            })
            .collect()
    }
}

/// After the share is made: the link (shown this once), its QR code, expiry and mail state.
#[derive(Template)]
#[template(path = "shares/created.html", whitespace = "minimize")]
pub struct ShareCreatedPage {
    /// `Layout::patient("Link created", csrf, Section::Shares)`.
    pub layout: Layout,
    /// The study's title.
    pub study_title: String,
    /// The study page.
    pub study_url: String,
    /// The share link.
    pub link: String,
    /// The link as an SVG QR code, inlined unescaped. It must be generated by the server from
    /// `link` (e.g. `qrcode` with the `svg` renderer, which uses `fill=` attributes and no
    /// `style=`), never contain user text. A leading `<?xml …?>` declaration is dropped.
    pub qr_svg: Option<String>,
    /// Whether a passcode was set (the passcode itself is never shown again).
    pub passcode_set: bool,
    /// The mail.
    pub mail: MailState,
    /// When the link expires.
    pub expires: String,
}

debug_redacted!(ShareCreatedPage { layout, study_title, passcode_set, mail, expires } redact { study_url, link, qr_svg });

impl ShareCreatedPage {
    fn qr_inline(&self) -> Option<&str> {
        let svg = self.qr_svg.as_deref()?.trim_start();
        let svg = match svg.strip_prefix("<?xml") {
            Some(rest) => rest
                .split_once("?>")
                .map_or("", |(_, after)| after)
                .trim_start(),
            None => svg,
        };
        svg.starts_with("<svg").then_some(svg)
    }
}

/// One share in the list.
#[derive(Clone)]
pub struct ShareRow {
    /// The study's title.
    pub study_title: String,
    /// The study page.
    pub study_url: String,
    /// Recipient's address, if given.
    pub recipient: Option<String>,
    /// When made.
    pub created: String,
    /// When it expires (or expired).
    pub expires: String,
    /// Where it stands.
    pub state: ShareState,
    /// Its mail.
    pub mail: MailState,
    /// Times opened.
    pub views: u32,
    /// Downloads.
    pub downloads: u32,
    /// When last opened.
    pub last_opened: Option<String>,
    /// Its log page.
    pub log_url: String,
    /// Where its Revoke button POSTs (with `csrf`); shown for active and locked shares.
    pub revoke_url: String,
}

debug_redacted!(ShareRow { study_title, recipient, created, expires, state, mail, views, downloads, last_opened } redact { study_url, log_url, revoke_url });

/// `GET /shares`: every share, revoked and expired ones included.
#[derive(Debug, Template)]
#[template(path = "shares/list.html", whitespace = "minimize")]
pub struct ShareListPage {
    /// `Layout::patient("Shares", csrf, Section::Shares)`.
    pub layout: Layout,
    /// Newest first.
    pub shares: Vec<ShareRow>,
}

/// One event of a share's log.
#[derive(Debug, Clone)]
pub struct ShareEvent {
    /// When.
    pub time: String,
    /// What ("opened", "wrong passcode", "downloaded", "revoked").
    pub what: String,
    /// More, if any.
    pub detail: Option<String>,
    /// Coarse client network ("192.0.2.0/24").
    pub client: Option<String>,
}

/// One share's history.
#[derive(Debug, Template)]
#[template(path = "shares/log.html", whitespace = "minimize")]
pub struct ShareLogPage {
    /// `Layout::patient("Share log", csrf, Section::Shares)`.
    pub layout: Layout,
    /// The study's title.
    pub study_title: String,
    /// Recipient's address, if given.
    pub recipient: Option<String>,
    /// When made.
    pub created: String,
    /// When it expires.
    pub expires: String,
    /// Where it stands.
    pub state: ShareState,
    /// Newest first.
    pub events: Vec<ShareEvent>,
}
