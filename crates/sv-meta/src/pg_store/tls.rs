//! TLS to PostgreSQL: used when the database URL asks for it (`sslmode=require`), and then
//! always verified, as libpq's `verify-full` does: the server's certificate must chain to one
//! of the certificates in the CA file given (`meta.postgres.ca_file`), or else to the web's
//! roots, and name the host connected to. A URL that does not ask gets a plain connection, as
//! before (`sslmode=prefer`, the default, then sends no TLS request at all).

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::MetaError;

/// How this store's connections are made.
#[derive(Clone)]
pub(crate) enum Tls {
    Plain,
    Verified(MakeRustlsConnect),
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Tls::Plain => "Plain",
            Tls::Verified(_) => "Verified",
        })
    }
}

impl Tls {
    /// What `config` asks for, with the server's certificate checked against `ca_file`'s
    /// certificates (PEM) when given.
    pub(crate) fn for_config(
        config: &tokio_postgres::Config,
        ca_file: Option<&Path>,
    ) -> Result<Tls, MetaError> {
        if config.get_ssl_mode() != SslMode::Require {
            if ca_file.is_some() {
                return Err(MetaError::Invalid {
                    what: "postgres configuration",
                    reason: "a CA file is given but the database URL does not ask for TLS: \
                             add sslmode=require",
                });
            }
            return Ok(Tls::Plain);
        }
        let mut roots = rustls::RootCertStore::empty();
        match ca_file {
            Some(path) => {
                let io = |source| MetaError::Io {
                    op: "read the CA file",
                    path: path.to_owned(),
                    source,
                };
                let certs = CertificateDer::pem_file_iter(path)
                    .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                    .map_err(|e| io(std::io::Error::other(e.to_string())))?;
                let (added, _) = roots.add_parsable_certificates(certs);
                if added == 0 {
                    return Err(io(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "no usable certificate in it",
                    )));
                }
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        // ring, as the rest of the tree (no aws-lc); it lacks the post-quantum key exchange,
        // which is what the deprecation says (see studyvault's `tls::crypto_provider`).
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let client = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| MetaError::Engine {
                op: "set up TLS to",
                source: Box::new(e),
            })?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Tls::Verified(MakeRustlsConnect::new(client)))
    }
}
