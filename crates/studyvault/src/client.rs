//! The small HTTP client the client commands (`record`, `upload`) and the bench share.

use std::time::Duration;

use anyhow::Context;

use crate::secret::Secret;

/// A response read whole (bodies here are small JSON reports).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn json(&self) -> anyhow::Result<serde_json::Value> {
        serde_json::from_slice(&self.body).with_context(|| {
            format!(
                "server answered {} with a body that is not JSON",
                self.status
            )
        })
    }

    /// `"<status> <code>: <message>"` from a `{"code","message"}` error body, or the status.
    pub fn error_text(&self) -> String {
        match serde_json::from_slice::<serde_json::Value>(&self.body) {
            Ok(v) => format!(
                "{} {}: {}",
                self.status,
                v["code"].as_str().unwrap_or("error"),
                v["message"].as_str().unwrap_or("")
            ),
            Err(_) => format!("{} (no JSON error body)", self.status),
        }
    }
}

/// An agent that keeps up to `connections` connections and reports HTTP errors as replies.
///
/// `timeout` bounds each phase of a call (sending the request and its body, awaiting and
/// reading the answer), so a stalled server cannot hang a client. It is not a global timeout:
/// with one, ureq resolves the host on a new thread for every request, which made a thread
/// per preview GET in `studyvault bench`.
pub fn agent(connections: usize, timeout: Option<Duration>) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_idle_connections(connections.max(1))
        .max_idle_connections_per_host(connections.max(1))
        .timeout_send_request(timeout)
        .timeout_send_body(timeout)
        .timeout_recv_response(timeout)
        .timeout_recv_body(timeout)
        .timeout_connect(Some(Duration::from_secs(10)))
        .build()
        .into()
}

fn read(mut response: ureq::http::Response<ureq::Body>) -> anyhow::Result<Reply> {
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(1 << 30)
        .read_to_vec()
        .context("could not read the server's answer")?;
    Ok(Reply { status, body })
}

/// `POST url` with a bearer token and a body of `content_type`.
pub fn post(
    agent: &ureq::Agent,
    url: &str,
    token: Option<&Secret>,
    content_type: &str,
    body: impl ureq::AsSendBody,
) -> anyhow::Result<Reply> {
    let mut request = agent.post(url).header("Content-Type", content_type);
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {}", token.expose()));
    }
    let response = request
        .send(body)
        .with_context(|| format!("could not POST to {url}"))?;
    read(response)
}

/// `GET url` with a bearer token and extra headers.
pub fn get(
    agent: &ureq::Agent,
    url: &str,
    token: Option<&Secret>,
    headers: &[(&str, &str)],
) -> anyhow::Result<Reply> {
    let mut request = agent.get(url);
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {}", token.expose()));
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request
        .call()
        .with_context(|| format!("could not GET {url}"))?;
    read(response)
}
