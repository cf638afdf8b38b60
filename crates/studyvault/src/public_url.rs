//! Where the server is reached, and where it sends mail: the public URL once the port is known,
//! the startup warning for links that would travel in clear, and the SMTP endpoint as logs may
//! show it (no credentials).

use std::net::{IpAddr, SocketAddr};

use crate::config::Config;

/// The configured public URL, with the port picked by the system when the configuration left
/// it at its default `http(s)://<listen>` and `listen` asked for port 0.
pub fn effective(config: &Config, bound: SocketAddr) -> String {
    for scheme in ["http", "https"] {
        if config.public_url == format!("{scheme}://{}", config.listen) {
            return format!("{scheme}://{bound}");
        }
    }
    config.public_url.clone()
}

/// Warns when share links built on `public_url` would cross networks in clear.
pub fn warn_if_unsafe(public_url: &str, tls: bool) {
    let Some(host) = plain_http_host(public_url) else {
        return;
    };
    if tls {
        tracing::warn!(
            public_url,
            "public_url is http:// but the server speaks https (tls is set): links will not reach it"
        );
    } else if !is_loopback(host) {
        tracing::warn!(
            public_url,
            "public_url is http:// on a non-loopback host: share links travel to other networks: use https"
        );
    }
}

/// The host of an `http://` URL; `None` for any other scheme.
fn plain_http_host(url: &str) -> Option<&str> {
    let (scheme, rest) = url.split_once("://")?;
    if !scheme.eq_ignore_ascii_case("http") {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    Some(match hostport.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => hostport.split(':').next().unwrap_or_default(),
    })
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "localhost"
        || host.ends_with(".localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// `scheme host:port` of an SMTP URL for the startup log: the user and password dropped, the
/// scheme's default port filled in. The URL has been checked by the mailer already.
pub fn smtp_endpoint(url: &str) -> String {
    let (scheme, rest) = url.trim().split_once("://").unwrap_or(("smtp", url));
    let scheme = scheme.to_ascii_lowercase();
    let hostport = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let hostport = hostport.trim_end_matches('/');
    let has_port = match hostport.rsplit_once(']') {
        Some((_, after)) => after.starts_with(':'),
        None => hostport.contains(':'),
    };
    if has_port {
        return format!("{scheme} {hostport}");
    }
    let port = match scheme.as_str() {
        "smtps" => 465,
        "smtp+starttls" => 587,
        _ => 25,
    };
    format!("{scheme} {hostport}:{port}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_is_safe_only_on_loopback() {
        for (url, host) in [
            ("http://127.0.0.1:8080", "127.0.0.1"),
            ("http://localhost", "localhost"),
            ("HTTP://[::1]:8080/x", "::1"),
            ("http://vault.example.org:8080/", "vault.example.org"),
            ("http://u:p@10.0.0.5:80", "10.0.0.5"),
        ] {
            assert_eq!(plain_http_host(url), Some(host), "{url}");
        }
        assert_eq!(plain_http_host("https://vault.example.org"), None);
        for host in [
            "127.0.0.1",
            "127.1.2.3",
            "::1",
            "localhost",
            "app.localhost",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in [
            "10.0.0.5",
            "vault.example.org",
            "0.0.0.0",
            "localhost.example.org",
        ] {
            assert!(!is_loopback(host), "{host}");
        }
    }

    #[test]
    fn the_port_picked_replaces_port_zero_only_in_the_default_url() {
        let bound: SocketAddr = "127.0.0.1:41234".parse().unwrap();
        let mut config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            ..Config::default()
        };
        for (configured, expected) in [
            ("http://127.0.0.1:0", "http://127.0.0.1:41234"),
            ("https://127.0.0.1:0", "https://127.0.0.1:41234"),
            ("https://vault.example.org", "https://vault.example.org"),
        ] {
            config.public_url = configured.into();
            assert_eq!(effective(&config, bound), expected);
        }
    }

    #[test]
    fn smtp_endpoints_drop_credentials_and_name_the_port() {
        for (url, shown) in [
            ("smtp://127.0.0.1:2525", "smtp 127.0.0.1:2525"),
            (
                "smtp+starttls://me%40x.org:hunter2@mail.example.org",
                "smtp+starttls mail.example.org:587",
            ),
            (
                "SMTPS://me:p@ss@mail.example.org/",
                "smtps mail.example.org:465",
            ),
            ("smtp://[::1]", "smtp [::1]:25"),
            ("smtp://u:pw@[::1]:2525", "smtp [::1]:2525"),
        ] {
            let got = smtp_endpoint(url);
            assert_eq!(got, shown, "{url}");
            assert!(!got.contains("hunter2") && !got.contains("pw") && !got.contains("ss@"));
        }
    }
}
