//! `serve` with `[tls]`, in process: the committed test certificate (`tests/tls/`), port 0, a
//! rustls client that trusts only that certificate, and a raw HTTP/1.1 request.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::ConnectInfo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};

use super::Prepared;
use crate::config::{Config, Layer};
use crate::secret::Secret;

fn tls_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/tls")
        .join(name)
}

fn config(data: PathBuf, tls: bool) -> Config {
    let mut flags = Layer {
        data: Some(data),
        listen: Some("127.0.0.1:0".into()),
        admin_token: Some(Secret::new("serve-test-admin-token-0123456789")),
        shutdown_grace_secs: Some(5),
        ..Layer::default()
    };
    if tls {
        flags.tls.cert_file = Some(tls_file("localhost.cert.pem"));
        flags.tls.key_file = Some(tls_file("localhost.key.pem"));
    }
    Config::load(None, Vec::new(), &flags).unwrap().config
}

/// `GET path` over TLS to `addr` as `localhost`; the whole response as text.
async fn https_get(addr: SocketAddr, path: &str) -> String {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(tls_file("localhost.cert.pem")).unwrap())
        .unwrap();
    let client = rustls::ClientConfig::builder_with_provider(crate::tls::crypto_provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(Arc::new(client))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .expect("TLS handshake with the test certificate");
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    tls.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tls.read_to_end(&mut response).await.unwrap();
    String::from_utf8(response).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_serves_https_with_hsts_and_the_client_address_then_stops() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path().join("data"), true);
    assert!(
        config.public_url.starts_with("https://"),
        "{}",
        config.public_url
    );
    let mut server = Prepared::new(&config).await.unwrap();
    // A probe beside the real routes: what `ConnectInfo` says the client is, under TLS.
    server.app = server.app.route(
        "/test-peer",
        axum::routing::get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move {
            peer.ip().to_string()
        }),
    );
    let addr = server.addr;
    assert_eq!(server.base_url(), format!("https://{addr}"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve(async {
        let _ = stopped.await;
    }));

    let health = https_get(addr, "/healthz").await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(
        health
            .to_ascii_lowercase()
            .contains("\r\nstrict-transport-security: max-age=31536000\r\n"),
        "{health}"
    );
    let peer = https_get(addr, "/test-peer").await;
    assert!(peer.starts_with("HTTP/1.1 200"), "{peer}");
    assert!(peer.ends_with("\r\n\r\n127.0.0.1"), "{peer}");

    // Plain HTTP on the TLS port gets no HTTP answer.
    let mut plain = tokio::net::TcpStream::connect(addr).await.unwrap();
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer).await;
    assert!(!answer.starts_with(b"HTTP/"), "{answer:?}");

    stop.send(()).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(10), serving)
        .await
        .expect("stops after the signal")
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_tls_there_is_no_hsts() {
    let dir = tempfile::tempdir().unwrap();
    let server = Prepared::new(&config(dir.path().join("data"), false))
        .await
        .unwrap();
    let addr = server.addr;
    assert_eq!(server.base_url(), format!("http://{addr}"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve(async {
        let _ = stopped.await;
    }));
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    tcp.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        !response
            .to_ascii_lowercase()
            .contains("strict-transport-security"),
        "{response}"
    );
    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();
}

#[tokio::test]
async fn tls_file_errors_name_the_file_and_stop_startup() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path().join("data"), true);
    config.admin_token = None;
    let missing = dir.path().join("missing.pem");
    config.tls.cert_file = Some(missing.clone());
    let err = format!("{:#}", Prepared::new(&config).await.err().unwrap());
    assert!(err.contains(&*missing.to_string_lossy()), "{err}");
    assert!(err.contains("tls.cert_file"), "{err}");
    // Nothing was created: the admin token comes last, after every other check.
    assert!(!config.data.join(crate::admin_token::FILE_NAME).exists());
}

/// The server's runtime makes no more than `workers + io_threads` blocking threads, however
/// many blocking jobs wait: every job below blocks until released, so each one the runtime
/// can start takes a thread of its own, and the runtime names every thread it makes.
#[test]
fn the_runtime_bounds_its_blocking_threads() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Condvar, Mutex};

    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path().join("data"), false);
    config.workers = 1;
    config.io_threads = 2;
    let made = Arc::new(AtomicUsize::new(0));
    let runtime = super::runtime_builder(&config)
        .worker_threads(1)
        .thread_name_fn({
            let made = made.clone();
            move || {
                made.fetch_add(1, Ordering::SeqCst);
                "studyvault-test".into()
            }
        })
        .build()
        .unwrap();
    let release = Arc::new((Mutex::new(false), Condvar::new()));
    let done = Arc::new(AtomicUsize::new(0));
    let threads_before = runtime.block_on(async { made.load(Ordering::SeqCst) });
    let jobs: Vec<_> = (0..10)
        .map(|_| {
            let (release, done) = (release.clone(), done.clone());
            runtime.spawn_blocking(move || {
                let (open, opened) = &*release;
                let mut open = open.lock().unwrap();
                while !*open {
                    open = opened.wait(open).unwrap();
                }
                done.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    let blocking_threads = made.load(Ordering::SeqCst) - threads_before;
    assert_eq!(
        blocking_threads,
        config.blocking_threads(),
        "ten waiting jobs got {blocking_threads} threads"
    );
    *release.0.lock().unwrap() = true;
    release.1.notify_all();
    runtime.block_on(async {
        for job in jobs {
            job.await.unwrap();
        }
    });
    assert_eq!(done.load(Ordering::SeqCst), 10, "the queued jobs ran too");
}
