//! `studyvault serve`: the composition root. Opens the vault, resolves the admin token, turns
//! mail on when `[smtp]` is set, builds the router with its limits, listens (HTTPS when `[tls]`
//! is set), runs the background work (the mail outbox, purging expired sessions), and shuts
//! down gracefully on SIGINT or SIGTERM, letting in-flight requests (uploads included) finish
//! within `shutdown_grace_secs`.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::http::header::STRICT_TRANSPORT_SECURITY;
use axum::middleware::Next;
use axum::response::Response;
use axum::serve::ListenerExt;
use sv_model::Timestamp;
use sv_vault::Vault;
use tokio::sync::watch;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutBody;

use crate::admin_token::{self, Source};
use crate::config::{Config, Loaded};
use crate::public_url;

/// How often expired patient and share sessions are removed from the store.
const PURGE_SESSIONS_EVERY: Duration = Duration::from_secs(10 * 60);
/// HSTS when the server speaks TLS itself: a year, this host only.
const HSTS: &str = "max-age=31536000";

pub fn run(loaded: Loaded) -> anyhow::Result<()> {
    let config = loaded.config;
    let runtime = runtime_builder(&config).build()?;
    runtime.block_on(async move {
        let server = Prepared::new(&config).await?;
        if let Source::Generated(path) = &server.admin_source {
            // Straight to the terminal, never through the logs; this is the only time.
            let token = std::fs::read_to_string(path)?;
            println!(
                "admin token (saved in {}; shown only this once): {}",
                path.display(),
                token.trim()
            );
        }
        println!("studyvault listening on {}", server.base_url());
        tracing::info!(addr = %server.addr, tls = server.tls.is_some(), data = %config.data.display(), "listening");
        server.serve(shutdown_signal()).await
    })?;
    // The vault (and with it the stores) closes when the router's state and the background
    // tasks' clones drop, all of which happened before `serve` returned.
    tracing::info!("stopped");
    Ok(())
}

/// The server's runtime: blocking threads bounded to [`Config::blocking_threads`] (tokio's
/// default is 512), so a burst of uploads or downloads queues for threads instead of making
/// hundreds of them.
pub(crate) fn runtime_builder(config: &Config) -> tokio::runtime::Builder {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder
        .enable_all()
        .thread_name("studyvault")
        .max_blocking_threads(config.blocking_threads());
    builder
}

/// A server ready to serve: bound, with its vault open and its router built.
pub(crate) struct Prepared {
    listener: tokio::net::TcpListener,
    pub(crate) addr: SocketAddr,
    tls: Option<tokio_rustls::TlsAcceptor>,
    app: axum::Router,
    vault: Vault,
    retry: sv_vault::RetryPolicy,
    grace: Duration,
    admin_source: Source,
    /// The online garbage collector's schedule; `None` when it does not run.
    collector: Option<Collector>,
}

/// When the online garbage collector runs, and how old an orphan must be before it goes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Collector {
    pub(crate) every: Duration,
    pub(crate) grace: Duration,
}

impl Prepared {
    /// Everything that can fail at startup, failing with a message that says what to fix:
    /// the data directory, the TLS files, the address, the store, the mail configuration,
    /// the admin token.
    pub(crate) async fn new(config: &Config) -> anyhow::Result<Prepared> {
        // Startup runs before anything is served, so the blocking calls here hold up no one.
        std::fs::create_dir_all(&config.data)
            .with_context(|| format!("could not create '{}'", config.data.display()))?;
        let tls = match (&config.tls.cert_file, &config.tls.key_file) {
            (Some(cert), Some(key)) => Some(crate::tls::acceptor(cert, key)?),
            _ => None,
        };
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("could not listen on {}", config.listen))?;
        let addr = listener.local_addr()?;
        let public_url = public_url::effective(config, addr);
        public_url::warn_if_unsafe(&public_url, tls.is_some());
        let mut vault_config = config.vault_config()?;
        vault_config.sharing.public_url = public_url.clone();
        let vault = crate::meta_backend::open_vault(config, vault_config)?;
        enable_mail(config, &vault)?;
        // Last of the checks: a token generated here is printed only once, by this start, so
        // no later startup error may swallow it.
        let (admin, admin_source) =
            admin_token::resolve(config.admin_token.as_ref(), &config.data)?;
        let api = sv_api::ApiConfig {
            admin_token_hash: admin.hash(),
            public_url,
            limits: api_limits(config),
            cors_allowed_origins: config.cors.allowed_origins.clone(),
        };
        drop(admin);
        let mut app = sv_api::router(sv_api::AppState::new(vault.clone(), api)).layer(
            axum::middleware::from_fn_with_state(
                Duration::from_secs(config.body_idle_timeout_secs),
                body_idle_timeout,
            ),
        );
        if tls.is_some() {
            app = app.layer(SetResponseHeaderLayer::overriding(
                STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static(HSTS),
            ));
        }
        Ok(Prepared {
            listener,
            addr,
            tls,
            app,
            vault,
            retry: config.retry_policy(),
            grace: Duration::from_secs(config.shutdown_grace_secs),
            admin_source,
            collector: config.collector(),
        })
    }

    /// `http://addr` or `https://addr`: where this process listens (not the public URL).
    pub(crate) fn base_url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish for at most the
    /// grace period. Returns once the background tasks have stopped too, so no clone of the
    /// vault outlives it.
    pub(crate) async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        tokio::spawn(async move {
            shutdown.await;
            tracing::info!("shutting down: finishing in-flight requests");
            let _ = stop_tx.send(true);
        });
        let mail = tokio::spawn({
            let vault = self.vault.clone();
            let (retry, stop) = (self.retry, stopped(stop_rx.clone()));
            async move { vault.run_mail(retry, stop).await }
        });
        let collect = tokio::spawn(collect_garbage(
            self.vault.clone(),
            self.collector,
            stopped(stop_rx.clone()),
        ));
        let purge = tokio::spawn(purge_sessions(self.vault, stopped(stop_rx.clone())));
        let app = self.app.into_make_service_with_connect_info::<SocketAddr>();
        let graceful = stopped(stop_rx.clone());
        let result = match self.tls {
            None => {
                let server = axum::serve(self.listener, app).with_graceful_shutdown(graceful);
                until_stopped(server, stop_rx.clone(), self.grace).await
            }
            Some(acceptor) => {
                // axum implements `Connected` (what `ConnectInfo<SocketAddr>` needs) for plain
                // TCP and for any listener wrapped in `tap_io`; the orphan rule forbids our own
                // impl, so the TLS listener goes through a `tap_io` that does nothing.
                let listener = crate::tls::TlsListener::new(self.listener, acceptor).tap_io(|_| {});
                let server = axum::serve(listener, app).with_graceful_shutdown(graceful);
                until_stopped(server, stop_rx.clone(), self.grace).await
            }
        };
        if !*stop_rx.borrow() {
            // The server failed on its own: nothing will tell the background tasks to stop.
            mail.abort();
            purge.abort();
            collect.abort();
        }
        let _ = mail.await;
        let _ = purge.await;
        let _ = collect.await;
        result
    }
}

/// Completes once `stop` says so (or its sender is gone).
async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// Runs `server` to its end, or stops waiting `grace` after the stop signal.
async fn until_stopped(
    server: impl std::future::IntoFuture<Output = std::io::Result<()>>,
    stop: watch::Receiver<bool>,
    grace: Duration,
) -> anyhow::Result<()> {
    tokio::select! {
        result = server.into_future() => result.context("server failed")?,
        _ = async {
            stopped(stop).await;
            tokio::time::sleep(grace).await;
        } => tracing::warn!(?grace, "requests still in flight after the grace period; stopping"),
    }
    Ok(())
}

/// Turns mail on when `[smtp]` is set, and says which way it went.
fn enable_mail(config: &Config, vault: &Vault) -> anyhow::Result<()> {
    let Some(mail) = config.mail_config() else {
        tracing::info!("mail: off (no smtp configured): share links are not mailed");
        return Ok(());
    };
    // The error says what is wrong with the URL or sender, never the password.
    let mailer = sv_vault::Mailer::new(&mail).map_err(|e| anyhow::anyhow!("smtp: {e}"))?;
    vault.enable_mail(Arc::new(mailer));
    tracing::info!("mail: on ({})", public_url::smtp_endpoint(&mail.url));
    Ok(())
}

/// Removes expired sessions now and every [`PURGE_SESSIONS_EVERY`], until `stop`.
async fn purge_sessions(vault: Vault, stop: impl Future<Output = ()>) {
    let mut stop = std::pin::pin!(stop);
    let mut every = tokio::time::interval(PURGE_SESSIONS_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = &mut stop => return,
            _ = every.tick() => {}
        }
        match vault
            .run_io(|v| v.purge_sessions_blocking(Timestamp::now()))
            .await
        {
            Ok(0) => {}
            Ok(purged) => tracing::debug!(purged, "expired sessions removed"),
            Err(e) => tracing::warn!(error = %e, "could not remove expired sessions"),
        }
    }
}

/// Runs a garbage collection pass now and on `collector`'s schedule, until `stop`: blobs a
/// crash or a lost race left unreferenced go once they have been so for the grace period.
async fn collect_garbage(
    vault: Vault,
    collector: Option<Collector>,
    stop: impl Future<Output = ()>,
) {
    let Some(Collector { every, grace }) = collector else {
        return;
    };
    let mut stop = std::pin::pin!(stop);
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = &mut stop => return,
            _ = ticks.tick() => {}
        }
        // A pass waits for no worker slot (it renders nothing). A stop waits for the pass to
        // end, so no clone of the vault outlives the server.
        match vault
            .run_io(move |v| v.collect_garbage_blocking(grace))
            .await
        {
            Ok(report) if report.deleted.is_empty() => {}
            Ok(report) => tracing::info!(
                deleted = report.deleted.len(),
                bytes_freed = report.bytes_freed,
                "unreferenced blobs collected"
            ),
            Err(e) => tracing::warn!(error = %e, "garbage collection pass failed"),
        }
    }
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

#[cfg(test)]
#[path = "serve_tests.rs"]
mod tests;
