//! `S3BlobStore`: the content-addressed blob store on an S3-compatible object store (Garage,
//! MinIO, AWS S3), through `object_store`.
//!
//! Layout under the configured key prefix (`<prefix>/`, or the bucket root):
//! - `LAYOUT`: the layout marker ([`LAYOUT`]), written at the first open; others are refused;
//! - `blobs/<2 hex>/<64 hex>`: complete blobs, named by their blake3 id;
//! - `blobs/<2 hex>/<64 hex>.obao`: the outboard (group chaining values, sv-blob's format) of
//!   every blob longer than [`S3Config::whole_verify_max`];
//! - `tmp/<32 hex>`: multipart uploads in progress. A crash can leave one behind: expire the
//!   prefix with a lifecycle rule (expiration and abort-incomplete-multipart-upload).
//!
//! Architecture invariants:
//! - like sv-blob, this crate knows nothing of DICOM, things or records; it implements
//!   [`sv_blob::BlobStore`] and nothing else, and is the only crate that knows `object_store`;
//! - a blob is visible at its final key only when complete: small ones are PUT there whole,
//!   big ones uploaded to `tmp/` first and copied (metadata-only on Garage) once hashed; a big
//!   blob's outboard is written before the blob;
//! - write-once is "HEAD, then write": S3 servers such as Garage ignore `If-None-Match`, so two
//!   racing puts of the same bytes may both write (the same bytes) and both report `created`;
//!   a stored copy of the wrong length (damaged) is written again;
//! - a reader never hands out bytes it has not verified against the id, exactly as the local
//!   store: blobs up to `whole_verify_max` are hashed whole before the first byte, longer ones
//!   group by group against the outboard, which is itself checked to merge to the id (a
//!   missing or bad outboard is rebuilt from the blob hashed whole);
//! - errors name the operation and the key, never the credentials;
//! - the API is synchronous; see [`S3BlobStore`] for which threads may call it.

mod error;
mod put;
mod read;
mod runtime;

use std::fmt;
use std::io;
use std::ops::Range;
use std::sync::Arc;

use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt as _};
use sv_blob::{BlobError, BlobId, BlobReader, BlobStore, PutOutcome};

use runtime::Runtime;

/// The layout marker this version writes into `<prefix>/LAYOUT` and accepts.
pub const LAYOUT: &str = "studyvault-s3-blob-layout 1";

/// Suffix of a blob's outboard object.
const OUTBOARD_SUFFIX: &str = ".obao";

/// Where the blobs live and how to reach them: a plain struct, filled by the binary.
#[derive(Clone)]
pub struct S3Config {
    /// `http://host:port` or `https://host`. Requests are always path-style
    /// (`<endpoint>/<bucket>/<key>`), which is what Garage and MinIO serve without DNS setup.
    pub endpoint: String,
    /// The signing region (`garage` for Garage's usual `s3_region`, `us-east-1` …).
    pub region: String,
    pub bucket: String,
    pub access_key_id: String,
    /// Never shown by `Debug`, and scrubbed from error messages.
    pub secret_access_key: String,
    /// Key prefix under which everything is stored (`""` for the bucket root), so that several
    /// stores (or tests) can share one bucket. Leading and trailing `/` are ignored.
    pub prefix: String,
    /// Blobs up to this length are verified by hashing them whole on every read and get no
    /// outboard; longer ones get one. Never below one group. Default 1 MiB, as the local store.
    pub whole_verify_max: u64,
}

impl S3Config {
    /// A configuration with the default region (`garage`), no prefix and the default
    /// `whole_verify_max`.
    pub fn new(
        endpoint: impl Into<String>,
        bucket: impl Into<String>,
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
    ) -> S3Config {
        S3Config {
            endpoint: endpoint.into(),
            region: "garage".into(),
            bucket: bucket.into(),
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            prefix: String::new(),
            whole_verify_max: 1 << 20,
        }
    }
}

impl fmt::Debug for S3Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("prefix", &self.prefix)
            .field("whole_verify_max", &self.whole_verify_max)
            .finish()
    }
}

/// A content-addressed blob store in an S3 bucket.
///
/// Every method blocks on the store's tokio runtime (its own small one from [`open`], or the
/// caller's from [`open_on`]). Call them from a plain thread or a `spawn_blocking` thread, as
/// every caller of [`BlobStore`] does. On a worker thread of a multi-threaded runtime each
/// call first steps aside with `block_in_place` (as sv-meta's PostgreSQL store does), at the
/// price of that worker; on a current-thread runtime's thread (`#[tokio::test]` without
/// `flavor = "multi_thread"`) the calls panic: never call them on an async worker thread.
///
/// [`open`]: S3BlobStore::open
/// [`open_on`]: S3BlobStore::open_on
#[derive(Clone)]
pub struct S3BlobStore {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    store: Arc<dyn ObjectStore>,
    rt: Runtime,
    /// The key prefix (empty for the bucket root).
    root: Path,
    blobs: Path,
    tmp: Path,
    bucket: String,
    whole_verify_max: u64,
    /// Strings that must never appear in an error message.
    secrets: Vec<String>,
}

impl fmt::Debug for S3BlobStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3BlobStore")
            .field("bucket", &self.inner.bucket)
            .field("prefix", &self.inner.root.as_ref())
            .field("whole_verify_max", &self.inner.whole_verify_max)
            .finish_non_exhaustive()
    }
}

impl S3BlobStore {
    /// Opens the store on a runtime of its own (two worker threads that drive the HTTP
    /// connections; the calls themselves run on the caller's thread).
    ///
    /// Reads `<prefix>/LAYOUT`, writing it when absent: a wrong endpoint, bucket or key fails
    /// here, not at the first upload. Refuses a prefix with another layout marker
    /// ([`BlobError::UnsupportedLayout`]).
    pub fn open(config: S3Config) -> Result<S3BlobStore, BlobError> {
        let rt = Runtime::own().map_err(|e| BlobError::Io {
            op: "start the S3 client's runtime",
            path: "sv-blob-s3".into(),
            source: e,
        })?;
        Self::open_with(config, rt)
    }

    /// Opens the store on the caller's runtime (a multi-threaded one: its workers drive the
    /// HTTP connections).
    pub fn open_on(
        config: S3Config,
        handle: tokio::runtime::Handle,
    ) -> Result<S3BlobStore, BlobError> {
        Self::open_with(config, Runtime::borrowed(handle))
    }

    fn open_with(config: S3Config, rt: Runtime) -> Result<S3BlobStore, BlobError> {
        let invalid = |what: &str| BlobError::Io {
            op: "configure the S3 blob store",
            path: format!("s3://{}", config.bucket).into(),
            source: io::Error::new(io::ErrorKind::InvalidInput, what.to_owned()),
        };
        let prefix = config.prefix.trim_matches('/');
        let root = Path::parse(prefix).map_err(|_| invalid("the key prefix is not a valid key"))?;
        let store = build(&config).map_err(|e| {
            let secrets = [config.secret_access_key.clone()];
            invalid(&error::scrub(&error::chain(&e), &secrets))
        })?;
        let inner = Inner {
            store: Arc::new(store),
            rt,
            blobs: root.clone().join("blobs"),
            tmp: root.clone().join("tmp"),
            root,
            bucket: config.bucket.clone(),
            whole_verify_max: config.whole_verify_max.max(sv_blob::tree::GROUP_LEN),
            secrets: vec![config.secret_access_key.clone()],
        };
        inner.check_layout()?;
        Ok(S3BlobStore {
            inner: Arc::new(inner),
        })
    }

    /// The underlying object store, for tests that look (or tamper) under the blob store.
    pub fn object_store(&self) -> Arc<dyn ObjectStore> {
        self.inner.store.clone()
    }

    /// The key of blob `id`.
    pub fn blob_key(&self, id: &BlobId) -> Path {
        self.inner.blob_key(id)
    }

    /// The key of blob `id`'s outboard.
    pub fn outboard_key(&self, id: &BlobId) -> Path {
        self.inner.outboard_key(id)
    }

    /// The key prefix everything lives under (empty for the bucket root).
    pub fn prefix(&self) -> &Path {
        &self.inner.root
    }
}

/// The `object_store` client: path-style, plain HTTP allowed (loopback Garage), request
/// signing and TLS on ring.
fn build(config: &S3Config) -> object_store::Result<object_store::aws::AmazonS3> {
    // reqwest is built without a bundled TLS provider (no aws-lc): it takes rustls' process
    // default, which is ring unless the process chose another one first.
    // (The ring provider is deprecated in rustls 0.23.48 for its lack of post-quantum key
    // exchange; studyvault's own TLS uses it likewise, see its tls.rs.)
    #[allow(deprecated)]
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut options = object_store::ClientOptions::new()
        .with_allow_http(true)
        // A download streams as fast as its reader consumes it: no bound on the whole
        // request, only on connecting and on each wait for bytes.
        .with_timeout_disabled()
        .with_connect_timeout(std::time::Duration::from_secs(5))
        .with_read_timeout(std::time::Duration::from_secs(120));
    if is_loopback(&config.endpoint) {
        // On loopback (MSS 64 KiB) a kept-alive connection makes every GET of a body under
        // 64 KiB wait 40 ms: the server (Garage sets no TCP_NODELAY) sends the headers, then
        // holds the short body (Nagle) until they are acknowledged, which the client's
        // delayed ACK does 40 ms later. A fresh connection acknowledges at once. Measured
        // with the bench: 40 KiB GET 44 ms pooled, 2.2 ms unpooled. Loopback connections
        // are cheap, and Linux reuses their TIME_WAIT ports (tcp_tw_reuse = 2, the default).
        options = options.with_pool_max_idle_per_host(0);
    }
    object_store::aws::AmazonS3Builder::new()
        .with_endpoint(config.endpoint.trim_end_matches('/'))
        .with_region(&config.region)
        .with_bucket_name(&config.bucket)
        .with_access_key_id(&config.access_key_id)
        .with_secret_access_key(&config.secret_access_key)
        .with_virtual_hosted_style_request(false)
        .with_client_options(options)
        .with_retry(retry())
        .build()
}

/// Retries for what may pass (throttling, 5xx, a dropped or refused connection): five, within
/// 20 s. The client's default (10 retries within 3 minutes) held a request to a host that does
/// not answer (5 s per connection attempt) for minutes before saying the store is
/// unreachable; a request a load balancer and a user wait for should fail sooner and be sent
/// again. A refused connection fails in 0.6 s (2.7 s before).
fn retry() -> object_store::RetryConfig {
    object_store::RetryConfig {
        backoff: object_store::BackoffConfig {
            init_backoff: std::time::Duration::from_millis(100),
            max_backoff: std::time::Duration::from_secs(4),
            base: 2.0,
        },
        max_retries: 5,
        retry_timeout: std::time::Duration::from_secs(20),
    }
}

/// Whether the endpoint's host is this machine (`localhost`, `127.0.0.0/8`, `::1`).
fn is_loopback(endpoint: &str) -> bool {
    let rest = endpoint
        .split_once("://")
        .map_or(endpoint, |(_, rest)| rest);
    let authority = rest.split('/').next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority
            .rsplit_once(':')
            .map_or(authority, |(host, _)| host),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl Inner {
    fn blob_key(&self, id: &BlobId) -> Path {
        let hex = id.to_hex();
        let hex = hex.as_str();
        self.blobs.clone().join(&hex[0..2]).join(hex)
    }

    fn outboard_key(&self, id: &BlobId) -> Path {
        let hex = id.to_hex();
        let hex = hex.as_str();
        self.blobs
            .clone()
            .join(&hex[0..2])
            .join(format!("{hex}{OUTBOARD_SUFFIX}"))
    }

    fn has_outboard(&self, len: u64) -> bool {
        len > self.whole_verify_max
    }

    /// The stored length of the object at `key`, or `None` when there is none.
    fn head(&self, op: &'static str, key: &Path) -> Result<Option<u64>, BlobError> {
        match self.rt.block_on(self.store.head(key)) {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error(op, key, e)),
        }
    }

    fn delete_key(&self, key: &Path) -> Result<(), BlobError> {
        match self.rt.block_on(self.store.delete(key)) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.error("delete object", key, e)),
        }
    }

    fn check_layout(&self) -> Result<(), BlobError> {
        let key = self.root.clone().join("LAYOUT");
        let found = match self.rt.block_on(async {
            let got = self.store.get(&key).await?;
            got.bytes().await
        }) {
            Ok(bytes) => bytes,
            Err(object_store::Error::NotFound { .. }) => {
                let marker = format!("{LAYOUT}\n");
                self.rt
                    .block_on(self.store.put(&key, marker.into_bytes().into()))
                    .map_err(|e| self.error("write layout marker", &key, e))?;
                return Ok(());
            }
            Err(e) => return Err(self.error("read layout marker", &key, e)),
        };
        let found = String::from_utf8_lossy(&found);
        if found.trim_end() == LAYOUT {
            return Ok(());
        }
        Err(BlobError::UnsupportedLayout {
            path: self.display_key(&key).into(),
            found: found.trim_end().chars().take(80).collect(),
            expected: LAYOUT,
        })
    }

    fn list_ids(&self) -> Result<Vec<BlobId>, BlobError> {
        use futures_util::TryStreamExt as _;
        let metas: Vec<object_store::ObjectMeta> = self
            .rt
            .block_on(self.store.list(Some(&self.blobs)).try_collect())
            .map_err(|e| self.error("list", &self.blobs, e))?;
        let mut ids: Vec<BlobId> = metas
            .iter()
            .filter_map(|meta| {
                let mut parts = meta.location.prefix_match(&self.blobs)?;
                let (dir, name) = (parts.next()?, parts.next()?);
                if parts.next().is_some() {
                    return None;
                }
                // Outboards (`.obao`) and anything else that is not a blob id do not parse.
                let id: BlobId = name.as_ref().parse().ok()?;
                (dir.as_ref() == &name.as_ref()[0..2]).then_some(id)
            })
            .collect();
        ids.sort();
        Ok(ids)
    }

    fn delete_blob(&self, id: &BlobId) -> Result<bool, BlobError> {
        let key = self.blob_key(id);
        let existed = self.head("stat blob", &key)?.is_some();
        if existed {
            self.delete_key(&key)?;
        }
        // The blob goes first so that a visible blob never lacks its outboard; an outboard
        // left by an interrupted put or delete goes too.
        self.delete_key(&self.outboard_key(id))?;
        Ok(existed)
    }
}

impl BlobStore for S3BlobStore {
    fn put(&self, reader: &mut dyn io::Read) -> Result<PutOutcome, BlobError> {
        self.inner.put_stream(reader)
    }

    fn get(&self, id: &BlobId, range: Option<Range<u64>>) -> Result<BlobReader, BlobError> {
        self.inner.open_verified(id, range)
    }

    fn len(&self, id: &BlobId) -> Result<Option<u64>, BlobError> {
        self.inner.head("stat blob", &self.inner.blob_key(id))
    }

    fn verify(&self, id: &BlobId) -> Result<(), BlobError> {
        self.inner.verify_blob(id)
    }

    fn list(&self) -> Result<Vec<BlobId>, BlobError> {
        self.inner.list_ids()
    }

    fn delete(&self, id: &BlobId) -> Result<bool, BlobError> {
        self.inner.delete_blob(id)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn loopback_endpoints_are_recognised() {
        for yes in [
            "http://127.0.0.1:3900",
            "http://localhost:3900/",
            "http://[::1]:3900",
            "https://127.1.2.3",
        ] {
            assert!(super::is_loopback(yes), "{yes}");
        }
        for no in [
            "https://s3.example.org",
            "http://10.0.0.5:3900",
            "http://[2001:db8::1]:3900",
            "http://localhost.example.org",
        ] {
            assert!(!super::is_loopback(no), "{no}");
        }
    }
}
