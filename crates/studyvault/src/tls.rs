//! HTTPS served by studyvault itself (`[tls]`): the certificate and key read from PEM files
//! into a rustls configuration, and a listener whose connections are TLS streams.
//!
//! The listener is an `axum::serve::Listener`, so `axum::serve` keeps doing what it does for
//! plain TCP: graceful shutdown, `ConnectInfo<SocketAddr>`, HTTP/1.1 (ALPN offers only
//! `http/1.1`: the workspace builds axum without HTTP/2). Handshakes run as tasks of their own, never in the accept loop, so a client that
//! opens a connection and says nothing holds up no one else.

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::{self, PemObject};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::server::TlsStream;

/// The longest a TLS handshake may take before the connection is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshakes in progress at once; past this, new connections wait in the kernel's backlog.
const MAX_HANDSHAKES: usize = 256;

/// Reads the certificate chain and private key (PEM) into a server configuration. Errors name
/// the file and say what is wrong with it, never its contents.
pub fn acceptor(cert_file: &Path, key_file: &Path) -> anyhow::Result<TlsAcceptor> {
    let certs = CertificateDer::pem_file_iter(cert_file)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| pem_error(e, "certificate"))
        .with_context(|| format!("tls.cert_file '{}'", cert_file.display()))?;
    if certs.is_empty() {
        bail!(
            "tls.cert_file '{}': no PEM certificate in it",
            cert_file.display()
        );
    }
    let key = PrivateKeyDer::from_pem_file(key_file)
        .map_err(|e| pem_error(e, "private key"))
        .with_context(|| format!("tls.key_file '{}'", key_file.display()))?;
    let mut config = rustls::ServerConfig::builder_with_provider(crypto_provider())
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .with_context(|| {
            format!(
                "tls.key_file '{}' does not go with tls.cert_file '{}', or either is unusable",
                key_file.display(),
                cert_file.display()
            )
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// rustls's cryptography: *ring*, the provider lettre already brings (sv-mail), named here so
/// the choice never depends on which rustls features other crates turn on.
///
/// rustls 0.23.48 deprecates the *ring* provider because it has no post-quantum key exchange
/// (X25519MLKEM768); the provider that has it, aws-lc-rs, is a C/cmake build and a second
/// crypto stack in the lock file. Classical ECDHE is what browsers fall back to, so we keep
/// *ring* until it gains ML-KEM or the workspace moves to aws-lc-rs as a whole.
pub(crate) fn crypto_provider() -> Arc<rustls::crypto::CryptoProvider> {
    #[allow(deprecated)]
    Arc::new(rustls::crypto::ring::default_provider())
}

/// What went wrong reading a PEM file, without quoting any of it.
fn pem_error(e: pem::Error, what: &str) -> anyhow::Error {
    match e {
        pem::Error::Io(e) => anyhow::Error::new(e).context("could not read it"),
        pem::Error::NoItemsFound => anyhow::anyhow!("no PEM {what} in it"),
        _ => anyhow::anyhow!("not a valid PEM file"),
    }
}

/// A TCP listener that hands out connections once their TLS handshake is done.
pub struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    handshakes: JoinSet<Option<(TlsStream<TcpStream>, SocketAddr)>>,
}

impl TlsListener {
    pub fn new(tcp: TcpListener, acceptor: TlsAcceptor) -> TlsListener {
        TlsListener {
            tcp,
            acceptor,
            handshakes: JoinSet::new(),
        }
    }
}

impl std::fmt::Debug for TlsListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsListener")
            .field("tcp", &self.tcp)
            .field("handshakes", &self.handshakes.len())
            .finish_non_exhaustive()
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            tokio::select! {
                accepted = self.tcp.accept(), if self.handshakes.len() < MAX_HANDSHAKES => {
                    match accepted {
                        Ok((stream, addr)) => {
                            let handshake = self.acceptor.accept(stream);
                            self.handshakes.spawn(async move {
                                match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
                                    Ok(Ok(tls)) => Some((tls, addr)),
                                    Ok(Err(e)) => {
                                        tracing::debug!(error = %e, "TLS handshake failed");
                                        None
                                    }
                                    Err(_) => {
                                        tracing::debug!("TLS handshake timed out");
                                        None
                                    }
                                }
                            });
                        }
                        Err(e) => accept_error(e).await,
                    }
                }
                Some(done) = self.handshakes.join_next() => {
                    if let Ok(Some(connection)) = done {
                        return connection;
                    }
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.tcp.local_addr()
    }
}

/// As axum does for plain TCP: a failed accept (often too many open files) is logged and
/// retried after a pause, rather than ending the server.
async fn accept_error(e: io::Error) {
    if matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accept failed");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::acceptor;

    fn test_file(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/tls")
            .join(name)
    }

    #[test]
    fn the_test_certificate_loads() {
        acceptor(
            &test_file("localhost.cert.pem"),
            &test_file("localhost.key.pem"),
        )
        .unwrap();
    }

    #[test]
    fn bad_files_are_named_and_never_quoted() {
        let dir = tempfile::tempdir().unwrap();
        let cert = test_file("localhost.cert.pem");
        let broken = dir.path().join("broken.pem");
        std::fs::write(
            &broken,
            "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1ieXRlcw==\n",
        )
        .unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        for (cert_file, key_file, file, says) in [
            (&broken, &broken, "tls.cert_file", "not a valid PEM file"),
            (&empty, &cert, "tls.cert_file", "no PEM certificate"),
            (&cert, &broken, "tls.key_file", "not a valid PEM file"),
            (&cert, &cert, "tls.key_file", "no PEM private key"),
            (
                &cert,
                &dir.path().join("absent.pem"),
                "tls.key_file",
                "could not read it",
            ),
        ] {
            let err = format!("{:#}", acceptor(cert_file, key_file).err().unwrap());
            assert!(err.contains(file) && err.contains(says), "{err}");
            assert!(!err.contains("c2VjcmV0"), "{err}");
        }
    }
}
