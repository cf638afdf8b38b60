//! `studyvault serve`: the composition root. Opens the vault, resolves the admin token, builds
//! the router with its limits, listens, and shuts down gracefully on SIGINT or SIGTERM,
//! letting in-flight requests (uploads included) finish within `shutdown_grace_secs`.

use std::time::Duration;

use anyhow::Context;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::timeout::TimeoutBody;

use crate::admin_token::{self, Source};
use crate::config::{Config, Loaded};

pub fn run(loaded: Loaded) -> anyhow::Result<()> {
    let config = loaded.config;
    std::fs::create_dir_all(&config.data)
        .with_context(|| format!("could not create '{}'", config.data.display()))?;
    let (admin, source) = admin_token::resolve(config.admin_token.as_ref(), &config.data)?;
    let vault = sv_vault::Vault::open(&config.data, config.vault_config()?).with_context(|| {
        format!(
            "could not open the data directory '{}' (is another server using it?)",
            config.data.display()
        )
    })?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("studyvault")
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("could not listen on {}", config.listen))?;
        let addr = listener.local_addr()?;
        // Listening on port 0 picks a port: links must name the one picked.
        let mut public_url = config.public_url.clone();
        if public_url == format!("http://{}", config.listen) {
            public_url = format!("http://{addr}");
        }
        let api = sv_api::ApiConfig {
            admin_token_hash: admin.hash(),
            public_url,
            limits: api_limits(&config),
            cors_allowed_origins: config.cors.allowed_origins.clone(),
        };
        drop(admin);
        let app = sv_api::router(sv_api::AppState::new(vault, api)).layer(
            axum::middleware::from_fn_with_state(
                Duration::from_secs(config.body_idle_timeout_secs),
                body_idle_timeout,
            ),
        );
        if let Source::Generated(path) = &source {
            // Straight to the terminal, never through the logs; this is the only time.
            let token = std::fs::read_to_string(path)?;
            println!(
                "admin token (saved in {}; shown only this once): {}",
                path.display(),
                token.trim()
            );
        }
        println!("studyvault listening on http://{addr}");
        tracing::info!(%addr, data = %config.data.display(), "listening");
        serve(
            listener,
            app,
            Duration::from_secs(config.shutdown_grace_secs),
        )
        .await
    })?;
    // The vault (and with it the stores) closes when the router's state drops here.
    tracing::info!("stopped");
    Ok(())
}

fn api_limits(config: &Config) -> sv_api::ApiLimits {
    let l = &config.limits;
    sv_api::ApiLimits {
        max_upload_bytes: l.max_upload_bytes,
        max_blob_bytes: l.max_blob_bytes,
        max_document_bytes: usize::try_from(l.max_document_bytes).unwrap_or(usize::MAX),
        max_zip_entries: usize::try_from(l.max_zip_entries).unwrap_or(usize::MAX),
        max_zip_expanded_bytes: l.max_zip_expanded_bytes,
        request_timeout: Duration::from_secs(config.request_timeout_secs),
    }
}

/// Serves until a signal, then lets in-flight requests finish for at most `grace`.
async fn serve(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    grace: Duration,
) -> anyhow::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing in-flight requests");
        let _ = stop_tx.send(true);
    });
    let mut graceful = stop_rx.clone();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        let _ = graceful.wait_for(|stop| *stop).await;
    });
    let mut deadline = stop_rx;
    tokio::select! {
        result = server => result.context("server failed")?,
        _ = async {
            let _ = deadline.wait_for(|stop| *stop).await;
            tokio::time::sleep(grace).await;
        } => tracing::warn!(?grace, "requests still in flight after the grace period; stopping"),
    }
    Ok(())
}

async fn shutdown_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "cannot watch SIGTERM; stop with Ctrl-C");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// Fails a request body that stalls longer than the idle timeout between two chunks, so a
/// slow or stuck client cannot hold an upload slot forever.
async fn body_idle_timeout(State(idle): State<Duration>, request: Request, next: Next) -> Response {
    let request = request.map(|body| Body::new(TimeoutBody::new(idle, body)));
    next.run(request).await
}
