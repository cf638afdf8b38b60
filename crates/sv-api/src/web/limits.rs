//! Rate limits on the POSTs that try a secret or send mail: signing in (a pasted token, a
//! mailed link, asking for one) and opening a share (its passcode). Per client network (the
//! /24 or /48 the access log keeps, so one host cannot dodge it by rotating addresses in its
//! block), with GCRA from `governor`: a burst of [`BURST`], then one attempt per
//! [`REFILL_SECS`] seconds. Over the limit: 429 with `Retry-After` and a page that says when
//! to try again; nothing is tried.
//!
//! The passcode lock (5 wrong codes per share) and 256-bit links already bound guessing; this
//! bounds it across shares and records, and stops a sign-in page from being used to flood an
//! owner's mailbox. Pages and images are not limited: a viewer fetches hundreds at once. The
//! state is in memory and per node, which is what a limit of this kind needs.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use super::Page;

/// Attempts a network may make at once.
pub(crate) const BURST: u32 = 20;
/// Then one more every this many seconds.
pub(crate) const REFILL_SECS: u64 = 3;
/// Past this many networks tracked, those back at a full burst are forgotten.
const TRACKED: usize = 10_000;

/// The limiter shared by every guarded route of one router.
#[derive(Clone)]
pub(crate) struct Attempts(Arc<DefaultKeyedRateLimiter<Network>>);

/// A client network: the /24 of an IPv4 address, the /48 of an IPv6 one; `Unknown` when the
/// server was not given the peer address (in-process callers).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Network {
    V4([u8; 3]),
    V6([u16; 3]),
    Unknown,
}

impl Network {
    fn of(request: &Request) -> Network {
        match request
            .extensions()
            .get::<ConnectInfo<std::net::SocketAddr>>()
        {
            Some(ConnectInfo(addr)) => match addr.ip().to_canonical() {
                IpAddr::V4(v4) => {
                    let o = v4.octets();
                    Network::V4([o[0], o[1], o[2]])
                }
                IpAddr::V6(v6) => {
                    let s = v6.segments();
                    Network::V6([s[0], s[1], s[2]])
                }
            },
            None => Network::Unknown,
        }
    }
}

impl Attempts {
    pub(crate) fn new() -> Attempts {
        let burst = NonZeroU32::new(BURST).expect("a non-zero burst");
        let quota = Quota::with_period(Duration::from_secs(REFILL_SECS))
            .expect("a non-zero period")
            .allow_burst(burst);
        Attempts(Arc::new(governor::RateLimiter::keyed(quota)))
    }

    /// `Err(wait)` when `network` is over its limit.
    fn take(&self, network: &Network) -> Result<(), Duration> {
        if self.0.len() > TRACKED {
            self.0.retain_recent();
        }
        self.0
            .check_key(network)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

/// Middleware: counts each POST against its network's limit, refusing it once over. Put
/// on a route with `from_fn_with_state(attempts.clone(), limit_attempts)`.
pub(crate) async fn limit_attempts(
    State(attempts): State<Attempts>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    match attempts.take(&Network::of(&request)) {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            let secs = wait.as_secs().max(1);
            let message = format!(
                "Too many attempts from your network. Wait {secs} seconds, then try again."
            );
            let status = StatusCode::TOO_MANY_REQUESTS;
            let page = sv_web::errors::ErrorPage::with_message(status.as_u16(), message.clone());
            let body = sv_web::render(&page).unwrap_or(message);
            let mut response = Page::Html(status, body).into_response();
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(secs));
            response
        }
    }
}
