//! Mail server configuration: the `smtp://`, `smtp+starttls://` and `smtps://` URL.
//!
//! Invariants: the password in the URL never appears in an error message or in `Debug`
//! output. Parse errors describe what is wrong without quoting the URL back.

use std::fmt;
use std::time::Duration;

/// How to reach the mail server, as the binary's configuration gives it.
///
/// `url` is one of:
/// - `smtp://host[:port]`: plain SMTP, no TLS at all (not even opportunistic STARTTLS). For a
///   loopback relay or tests. Default port 25.
/// - `smtp+starttls://host[:port]`: STARTTLS required; nothing is sent if the server does not
///   offer it. Default port 587.
/// - `smtps://host[:port]`: implicit TLS. Default port 465.
///
/// Each may carry `user:password@` before the host, percent-encoded. Credentials over
/// `smtp://` travel in clear: use them only with a loopback relay.
#[derive(Clone, PartialEq, Eq)]
pub struct MailConfig {
    /// The server URL (see the type's documentation).
    pub url: String,
    /// The `From` mailbox: `noreply@example.org` or `studyvault <noreply@example.org>`.
    pub from: String,
    /// The longest one send may take: connecting, and the whole SMTP exchange.
    pub timeout: Duration,
}

impl fmt::Debug for MailConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailConfig")
            .field("url", &redact_url(&self.url))
            .field("from", &self.from)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// A configuration that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// The mail configuration is invalid; the text says what is wrong, never the password.
    #[error("invalid mail configuration: {0}")]
    Config(String),
}

fn config_error(what: &str) -> MailError {
    MailError::Config(what.to_owned())
}

/// The transport security a URL asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Security {
    /// `smtp://`: no TLS.
    Plain,
    /// `smtp+starttls://`: STARTTLS required.
    StartTls,
    /// `smtps://`: TLS from the first byte.
    Tls,
}

/// A parsed server URL.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    pub(crate) security: Security,
    /// Host name or IP address (IPv6 without brackets).
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) credentials: Option<(String, String)>,
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("security", &self.security)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.credentials.as_ref().map(|(user, _)| user))
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    /// Parses `scheme://[user:password@]host[:port][/]`.
    pub(crate) fn parse(url: &str) -> Result<Endpoint, MailError> {
        let url = url.trim();
        let (scheme, rest) = url.split_once("://").ok_or_else(|| {
            config_error("mail url must start with smtp://, smtp+starttls:// or smtps://")
        })?;
        let (security, default_port) = match scheme.to_ascii_lowercase().as_str() {
            "smtp" => (Security::Plain, 25),
            "smtp+starttls" => (Security::StartTls, 587),
            "smtps" => (Security::Tls, 465),
            _ => {
                return Err(config_error(
                    "mail url scheme must be smtp, smtp+starttls or smtps",
                ));
            }
        };
        // The last '@' ends the user information, so an unencoded '@' in a password still
        // parses as the user meant (and never ends up in the host, hence in a message).
        let (userinfo, hostport) = match rest.rfind('@') {
            Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
            None => (None, rest),
        };
        let hostport = hostport.strip_suffix('/').unwrap_or(hostport);
        if hostport.contains(['/', '?', '#']) {
            return Err(config_error(
                "mail url must not have a path, query or fragment",
            ));
        }
        let (host, port) = split_host_port(hostport)?;
        let port =
            match port {
                None => default_port,
                Some(p) => p.parse::<u16>().ok().filter(|&p| p != 0).ok_or_else(|| {
                    config_error("mail url port must be a number from 1 to 65535")
                })?,
            };
        let credentials = userinfo.map(parse_userinfo).transpose()?;
        Ok(Endpoint {
            security,
            host,
            port,
            credentials,
        })
    }
}

fn split_host_port(hostport: &str) -> Result<(String, Option<&str>), MailError> {
    let (host, port) = if let Some(bracketed) = hostport.strip_prefix('[') {
        let (host, after) = bracketed
            .split_once(']')
            .ok_or_else(|| config_error("mail url has an unclosed '[' in its host"))?;
        let port = match after {
            "" => None,
            _ => Some(
                after
                    .strip_prefix(':')
                    .ok_or_else(|| config_error("mail url has text after its bracketed host"))?,
            ),
        };
        (host, port)
    } else {
        match hostport.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (hostport, None),
        }
    };
    if host.is_empty() {
        return Err(config_error("mail url has no host"));
    }
    if host
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '@' | '[' | ']' | '%'))
    {
        return Err(config_error(
            "mail url host has characters a host cannot have",
        ));
    }
    Ok((host.to_owned(), port))
}

fn parse_userinfo(userinfo: &str) -> Result<(String, String), MailError> {
    let (user, password) = userinfo
        .split_once(':')
        .ok_or_else(|| config_error("mail url credentials must be user:password"))?;
    let user = percent_decode(user)
        .ok_or_else(|| config_error("mail url user is not valid percent-encoded UTF-8"))?;
    let password = percent_decode(password)
        .ok_or_else(|| config_error("mail url password is not valid percent-encoded UTF-8"))?;
    if user.is_empty() {
        return Err(config_error("mail url has a password but no user"));
    }
    Ok((user, password))
}

/// Decodes `%XX` escapes; `None` on a bad escape or bytes that are not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The URL with its password (everything after the user's ':') replaced by `***`.
pub(crate) fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        // Not a URL we could parse; it may still hold a secret somewhere.
        return if url.contains('@') {
            "<redacted>".to_owned()
        } else {
            url.to_owned()
        };
    };
    match rest.rfind('@') {
        None => url.to_owned(),
        Some(at) => {
            let user = rest[..at].split_once(':').map_or(&rest[..at], |(u, _)| u);
            format!("{scheme}://{user}:***@{}", &rest[at + 1..])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> Endpoint {
        Endpoint::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"))
    }

    #[test]
    fn schemes_choose_security_and_default_port() {
        let e = parse("smtp://127.0.0.1");
        assert_eq!(
            (e.security, e.host.as_str(), e.port),
            (Security::Plain, "127.0.0.1", 25)
        );
        let e = parse("smtp+starttls://mail.example.org");
        assert_eq!((e.security, e.port), (Security::StartTls, 587));
        let e = parse("smtps://mail.example.org");
        assert_eq!((e.security, e.port), (Security::Tls, 465));
        let e = parse("SMTPS://mail.example.org:2465/");
        assert_eq!((e.security, e.port), (Security::Tls, 2465));
        assert_eq!(e.credentials, None);
    }

    #[test]
    fn ipv6_hosts_lose_their_brackets() {
        let e = parse("smtp://[::1]:2525");
        assert_eq!((e.host.as_str(), e.port), ("::1", 2525));
        assert_eq!(parse("smtp://[::1]").port, 25);
    }

    #[test]
    fn credentials_are_percent_decoded() {
        let e = parse("smtp+starttls://me%40example.org:p%3Ass%20w@mail.example.org:587");
        assert_eq!(
            e.credentials,
            Some(("me@example.org".to_owned(), "p:ss w".to_owned()))
        );
        // An unencoded '@' in the password: the last '@' ends the user information.
        let e = parse("smtps://me:p@ss@mail.example.org");
        assert_eq!(e.credentials, Some(("me".to_owned(), "p@ss".to_owned())));
        assert_eq!(e.host, "mail.example.org");
    }

    #[test]
    fn bad_urls_are_refused_without_echoing_the_password() {
        let secret = "hunter2-secret";
        for url in [
            format!("http://me:{secret}@host"),
            format!("me:{secret}@host"),
            format!("smtp://me:{secret}@"),
            format!("smtp://me:{secret}@host:0"),
            format!("smtp://me:{secret}@host:99999"),
            format!("smtp://me:{secret}@host:25x"),
            format!("smtp://me:{secret}@host/path"),
            format!("smtp://me:{secret}@host?x=1"),
            format!("smtp://me:{secret}%zz@host"),
            format!("smtp://me:{secret}%ff@host"),
            format!("smtp://:{secret}@host"),
            format!("smtp://{secret}@host"),
            format!("smtp://me:{secret}@[::1"),
            format!("smtp://me:{secret}@ho st"),
        ] {
            let err = Endpoint::parse(&url).expect_err(&url);
            let MailError::Config(text) = &err;
            assert!(!text.contains(secret), "{url} gave {text}");
            assert!(!err.to_string().contains(secret));
            assert!(!format!("{err:?}").contains(secret));
        }
    }

    #[test]
    fn debug_redacts_the_password() {
        let config = MailConfig {
            url: "smtps://me:hunter2@mail.example.org".to_owned(),
            from: "studyvault <noreply@example.org>".to_owned(),
            timeout: Duration::from_secs(30),
        };
        let debug = format!("{config:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("smtps://me:***@mail.example.org"), "{debug}");
        let endpoint = format!("{:?}", parse(&config.url));
        assert!(!endpoint.contains("hunter2"), "{endpoint}");
        assert_eq!(redact_url("smtp://host:25"), "smtp://host:25");
        assert_eq!(redact_url("me:pw@host"), "<redacted>");
    }
}
