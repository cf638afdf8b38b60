//! Sending one message: the `Transport` trait, and `Mailer`, its SMTP implementation on lettre.
//!
//! Invariants: a `SendError`'s reason is short text a patient may read. It holds no password,
//! no link and no address (words with an '@' in a server's answer are replaced), so the
//! outbox may store it and the worker may log it. `Mailer`'s `Debug` shows the server, never
//! the credentials.

use std::error::Error as _;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::config::{Endpoint, MailConfig, MailError, Security};
use crate::mail::Mail;

/// Why a message was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct SendError {
    /// True when retrying cannot help: a 5xx answer, or an invalid address.
    pub permanent: bool,
    /// Short text for the patient, e.g. "mail server answered 550: mailbox unavailable".
    pub reason: String,
}

impl SendError {
    /// An error that no retry will fix.
    pub fn permanent(reason: impl Into<String>) -> SendError {
        SendError {
            permanent: true,
            reason: reason.into(),
        }
    }

    /// An error worth retrying later.
    pub fn transient(reason: impl Into<String>) -> SendError {
        SendError {
            permanent: false,
            reason: reason.into(),
        }
    }
}

/// The future `Transport::send` returns.
pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<(), SendError>> + Send + 'a>>;

/// Something that sends mail: `Mailer` in production, a fake in tests.
pub trait Transport: Send + Sync + 'static {
    /// Sends one message; done when the server has accepted it.
    fn send<'a>(&'a self, mail: &'a Mail) -> SendFuture<'a>;
}

/// Sends mail over SMTP with lettre: one connection per message, TLS through rustls.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    timeout: Duration,
    endpoint: Endpoint,
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailer")
            .field("endpoint", &self.endpoint)
            .field("from", &self.from.to_string())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// Checks the configuration and prepares the transport; connects to nothing yet.
    pub fn new(config: &MailConfig) -> Result<Mailer, MailError> {
        let endpoint = Endpoint::parse(&config.url)?;
        let from: Mailbox = config.from.trim().parse().map_err(|_| {
            MailError::Config("mail sender (from) is not a valid address".to_owned())
        })?;
        if config.timeout.is_zero() {
            return Err(MailError::Config(
                "mail timeout must be more than zero".to_owned(),
            ));
        }
        let tls_error = |_| MailError::Config("mail server host cannot be used for TLS".to_owned());
        let builder = match endpoint.security {
            Security::Plain => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(endpoint.host.as_str())
            }
            Security::StartTls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&endpoint.host)
                    .map_err(tls_error)?
            }
            Security::Tls => {
                AsyncSmtpTransport::<Tokio1Executor>::relay(&endpoint.host).map_err(tls_error)?
            }
        };
        let mut builder = builder.port(endpoint.port).timeout(Some(config.timeout));
        if let Some((user, password)) = &endpoint.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Mailer {
            transport: builder.build(),
            from,
            timeout: config.timeout,
            endpoint,
        })
    }

    /// Sends one message; `Ok` once the server has accepted it.
    pub async fn send(&self, mail: &Mail) -> Result<(), SendError> {
        let message = mail.to_message(&self.from)?;
        // lettre's own timeout covers connecting only (and each command on blocking
        // transports); this one bounds the whole exchange with a server that stops answering.
        match tokio::time::timeout(self.timeout, self.transport.send(message)).await {
            Err(_) => Err(SendError::transient("mail server did not answer in time")),
            Ok(Ok(_)) => Ok(()),
            Ok(Err(err)) => Err(classify(&err)),
        }
    }
}

impl Transport for Mailer {
    fn send<'a>(&'a self, mail: &'a Mail) -> SendFuture<'a> {
        Box::pin(Mailer::send(self, mail))
    }
}

/// Turns a lettre error into a patient-readable, secret-free `SendError`.
fn classify(err: &lettre::transport::smtp::Error) -> SendError {
    if let Some(code) = err.status() {
        let text = err.source().map(|s| server_text(&s.to_string()));
        let reason = match text {
            Some(text) if !text.is_empty() => format!("mail server answered {code}: {text}"),
            _ => format!("mail server answered {code}"),
        };
        return SendError {
            permanent: err.is_permanent(),
            reason,
        };
    }
    if err.is_timeout() {
        return SendError::transient("mail server did not answer in time");
    }
    if err.is_tls() {
        return SendError::transient("secure connection to mail server failed");
    }
    if let Some(kind) = io_error_kind(err) {
        use std::io::ErrorKind::*;
        let reason = match kind {
            ConnectionRefused => "connection refused by mail server",
            TimedOut => "mail server did not answer in time",
            ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof => {
                "mail server closed the connection"
            }
            _ => "mail server could not be reached",
        };
        return SendError::transient(reason);
    }
    if err.is_response() {
        return SendError::transient("mail server sent an answer that could not be understood");
    }
    if err.is_client() {
        // lettre's own text, e.g. "STARTTLS is not supported by this server".
        let text = err.source().map(|s| server_text(&s.to_string()));
        return SendError::transient(match text {
            Some(text) if !text.is_empty() => format!("mail server could not be used: {text}"),
            _ => "mail server could not be used".to_owned(),
        });
    }
    SendError::transient("mail server could not be reached")
}

fn io_error_kind(err: &lettre::transport::smtp::Error) -> Option<std::io::ErrorKind> {
    let mut source = err.source();
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        source = s.source();
    }
    None
}

/// A server's text made safe to show and log: one line, at most 200 characters, and any
/// word holding an '@' (an address the server echoed) replaced by `<address>`.
pub(crate) fn server_text(text: &str) -> String {
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .map(|w| if w.contains('@') { "<address>" } else { w })
        .collect();
    let line = words.join(" ");
    match line.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(url: &str) -> MailConfig {
        MailConfig {
            url: url.to_owned(),
            from: "studyvault <noreply@example.org>".to_owned(),
            timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn new_checks_the_configuration() {
        Mailer::new(&config("smtp://127.0.0.1:2525")).unwrap();
        Mailer::new(&config("smtp+starttls://me:pw@mail.example.org")).unwrap();
        Mailer::new(&config("smtps://mail.example.org")).unwrap();
        let mut bad = config("smtp://127.0.0.1");
        bad.from = "not an address".to_owned();
        assert!(matches!(Mailer::new(&bad), Err(MailError::Config(_))));
        let mut bad = config("smtp://127.0.0.1");
        bad.timeout = Duration::ZERO;
        assert!(matches!(Mailer::new(&bad), Err(MailError::Config(_))));
    }

    #[test]
    fn debug_hides_credentials() {
        let mailer = Mailer::new(&config("smtps://me:hunter2@mail.example.org")).unwrap();
        let debug = format!("{mailer:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("mail.example.org"), "{debug}");
    }

    #[test]
    fn server_text_hides_addresses_and_is_bounded() {
        assert_eq!(
            server_text("5.1.1 <bob@example.org>: Recipient\r\naddress rejected"),
            "5.1.1 <address> Recipient address rejected"
        );
        let long = "x ".repeat(500);
        assert_eq!(server_text(&long).chars().count(), 201);
    }

    #[tokio::test]
    async fn refused_connection_is_transient() {
        // A port nobody listens on: bind, note it, close.
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let mailer = Mailer::new(&config(&format!("smtp://127.0.0.1:{port}"))).unwrap();
        let mail = Mail {
            to: "doctor@example.org".to_owned(),
            subject: "s".to_owned(),
            text: "t".to_owned(),
            html: "h".to_owned(),
        };
        let err = mailer.send(&mail).await.unwrap_err();
        assert_eq!(
            err,
            SendError::transient("connection refused by mail server")
        );
        let mut bad = mail;
        bad.to = "nobody".to_owned();
        assert!(mailer.send(&bad).await.unwrap_err().permanent);
    }
}
