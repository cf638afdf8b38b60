//! Request bounds kept around the handlers, answered with the API's error body: the time a
//! request may take to be answered (`request_timeout`) and the size of JSON bodies
//! (`max_document_bytes`). The pages take the same timeout and answer it with a page.
//!
//! The timeout bounds the time to the response head. A download streams its body after the
//! head, so the timeout never cuts one; a streaming upload consumes its whole body before it
//! answers, so its route opts out ([`untimed`]): it is bounded by `max_upload_bytes`, by the
//! body idle timeout between two chunks, and by the worker pool, not by a wall-clock limit
//! that would cut a CD uploaded over a slow link.
//!
//! Both checks run after routing and leave the handler's own order alone: a request without
//! access still gets its 401 or 404 before anything looks at its body.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_LENGTH;
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use utoipa_axum::router::OpenApiRouter;

use crate::{ApiError, AppState};

/// Set by [`untimed`] on a request the timeout then lets run to its end.
#[derive(Debug, Clone)]
struct Untimed(Arc<AtomicBool>);

/// Applies the request timeout to every route of `router` (those that opted out aside),
/// answered with the API's error body.
pub(crate) fn timed(router: axum::Router<AppState>, state: &AppState) -> axum::Router<AppState> {
    timed_answering(router, state, timed_out)
}

/// [`timed`], with the answer made by `answer` from the timeout (the pages answer a page).
pub(crate) fn timed_answering(
    router: axum::Router<AppState>,
    state: &AppState,
    answer: fn(Duration) -> Response,
) -> axum::Router<AppState> {
    let timeout = Timeout {
        after: state.config().limits.request_timeout,
        answer,
    };
    router.layer(from_fn_with_state(timeout, request_timeout))
}

/// How long a request may take to its response head, and what to answer after that.
#[derive(Debug, Clone, Copy)]
struct Timeout {
    after: Duration,
    answer: fn(Duration) -> Response,
}

/// The route middleware of a streaming upload (`from_fn(untimed)`): the request timeout does
/// not apply to it.
pub(crate) async fn untimed(request: Request, next: Next) -> Response {
    if let Some(Untimed(flag)) = request.extensions().get::<Untimed>() {
        flag.store(true, Ordering::Release);
    }
    next.run(request).await
}

/// [`untimed`] for PUT requests only (a route whose PUT streams an upload and whose GET and
/// DELETE do not).
pub(crate) async fn untimed_put(request: Request, next: Next) -> Response {
    if request.method() == axum::http::Method::PUT {
        untimed(request, next).await
    } else {
        next.run(request).await
    }
}

/// [`untimed`] for POST requests only (the upload page: its GET is a page like any other).
pub(crate) async fn untimed_post(request: Request, next: Next) -> Response {
    if request.method() == axum::http::Method::POST {
        untimed(request, next).await
    } else {
        next.run(request).await
    }
}

/// Answers 503 `request-timeout` when the handler has not answered within `timeout`, unless
/// its route opted out. The handler's future is dropped then; blocking work it started runs
/// to its end on its own thread and keeps its worker slot (`sv_vault::Vault::run_blocking`).
async fn request_timeout(State(timeout): State<Timeout>, request: Request, next: Next) -> Response {
    let untimed = Arc::new(AtomicBool::new(false));
    let mut request = request;
    request.extensions_mut().insert(Untimed(untimed.clone()));
    let mut answer = std::pin::pin!(next.run(request));
    tokio::select! {
        // The handler first: a route that opts out says so on its first poll.
        biased;
        response = &mut answer => return response,
        () = tokio::time::sleep(timeout.after) => {}
    }
    if untimed.load(Ordering::Acquire) {
        return answer.await;
    }
    tracing::warn!(timeout = ?timeout.after, "request timed out");
    (timeout.answer)(timeout.after)
}

/// The API's answer to a request that timed out: 503 `request-timeout`.
fn timed_out(after: Duration) -> Response {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "request-timeout",
        format!(
            "the server did not answer within {} s; try again later",
            after.as_secs()
        ),
    )
    .into_response()
}

/// Bounds the JSON bodies of `router`'s routes (those with `Json` extractors) to
/// `max_document_bytes`: 413 `payload-too-large` with the API's error body beyond.
pub(crate) fn json_bodies(
    router: OpenApiRouter<AppState>,
    state: &AppState,
) -> OpenApiRouter<AppState> {
    router.layer(from_fn_with_state(state.clone(), json_body_limit))
}

/// Lets the handler read at most `max_document_bytes` of body (none at all when the declared
/// length is over); a handler that needed more is answered 413, whatever it made of the
/// cut-off body. A handler that answers without reading the body (no access) is left alone.
async fn json_body_limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limit = state.config().limits.max_document_bytes;
    let declared_over = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > limit as u64);
    let exceeded = Arc::new(AtomicBool::new(false));
    let request = request.map(|body| {
        let exceeded = exceeded.clone();
        let mut seen = 0usize;
        let stream = body.into_data_stream().map(move |chunk| {
            let chunk = chunk?;
            seen = seen.saturating_add(chunk.len());
            if declared_over || seen > limit {
                exceeded.store(true, Ordering::Release);
                return Err(axum::Error::new(std::io::Error::other(
                    "the body is over the document limit",
                )));
            }
            Ok(chunk)
        });
        Body::from_stream(stream)
    });
    let response = next.run(request).await;
    if exceeded.load(Ordering::Acquire) {
        return ApiError::payload_too_large(format!("a JSON body is at most {limit} bytes"))
            .into_response();
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::middleware::from_fn;
    use axum::routing::{get, post};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn status_and_code(app: &axum::Router, request: Request) -> (StatusCode, String) {
        let response = app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let code = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v["code"].as_str().map(str::to_owned))
            .unwrap_or_default();
        (status, code)
    }

    fn get_request(uri: &str) -> Request {
        Request::builder().uri(uri).body(Body::empty()).unwrap()
    }

    /// A handler that never answers is cut at the timeout; one on an opted-out route runs to
    /// its end after the timeout has passed; one that answers at once is answered. A zero
    /// timeout: the deadline has passed at every wait, so no outcome depends on a duration.
    #[tokio::test]
    async fn a_stalled_handler_gets_503_and_an_untimed_route_runs_to_its_end() {
        let gate = Arc::new(tokio::sync::Notify::new());
        let (entered_tx, entered_rx) = tokio::sync::oneshot::channel::<()>();
        let entered_tx = Arc::new(std::sync::Mutex::new(Some(entered_tx)));
        let app: axum::Router = axum::Router::new()
            .route("/stalls", get(std::future::pending::<&'static str>))
            .route(
                "/upload",
                post({
                    let gate = gate.clone();
                    move || {
                        let (gate, entered_tx) = (gate.clone(), entered_tx.clone());
                        async move {
                            if let Some(entered) = entered_tx.lock().unwrap().take() {
                                let _ = entered.send(());
                            }
                            gate.notified().await;
                            // Not done on the poll that sees the gate open: the timeout
                            // looks at its clock in between, as it would for an upload.
                            tokio::task::yield_now().await;
                            "stored"
                        }
                    }
                })
                .layer(from_fn(untimed)),
            )
            .route("/quick", get(|| async { "quick" }))
            .layer(from_fn_with_state(
                Timeout {
                    after: Duration::ZERO,
                    answer: timed_out,
                },
                request_timeout,
            ));

        let upload = tokio::spawn({
            let app = app.clone();
            let request = Request::builder()
                .method("POST")
                .uri("/upload")
                .body(Body::empty())
                .unwrap();
            async move { app.oneshot(request).await.unwrap().status() }
        });
        // The upload's deadline is set: the one set next (the stalled request's) is no
        // earlier, so once that one has passed, the upload's has too.
        entered_rx.await.unwrap();
        let (status, code) = status_and_code(&app, get_request("/stalls")).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::SERVICE_UNAVAILABLE, "request-timeout")
        );
        gate.notify_one();
        assert_eq!(
            upload.await.unwrap(),
            StatusCode::OK,
            "the upload was not cut"
        );
        let (status, _) = status_and_code(&app, get_request("/quick")).await;
        assert_eq!(status, StatusCode::OK);
    }
}
