//! `[blobs]`: where the blob bytes live. `backend = "local"` (the default) is files under
//! `<data>/blobs`; `backend = "s3"` is a bucket of an S3-compatible store (`[blobs.s3]`: Garage,
//! MinIO, AWS), which several servers can share when the metadata is on PostgreSQL too. Its
//! `secret_access_key` is a secret. Requests are path-style (`<endpoint>/<bucket>/<key>`).
//!
//! S3 is the cargo feature `s3` (off by default: it brings an HTTP client stack the local
//! store does not need); a build without it refuses `backend = "s3"`, saying so.

use std::sync::Arc;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use sv_blob::BlobStore;

use crate::config::Config;
use crate::secret::Secret;

/// What a build without the `s3` feature says when asked for S3.
const NO_S3: &str = "blobs.backend = \"s3\" needs a studyvault built with the `s3` cargo \
                     feature (cargo build --release --features s3)";

/// The blob store settings.
#[derive(Debug, Clone, Serialize)]
pub struct BlobsConfig {
    /// `local` or `s3`.
    pub backend: String,
    /// Local store: small blobs (up to 1 MiB: a CT slice, a preview) are appended to segment
    /// files, one fsync per group of writers (true, the default); false writes each new blob
    /// as a file of its own, as stores before layout 2 did (more files and fsyncs; kept for
    /// comparison, and for backup tools that want one file per blob).
    pub segments: bool,
    pub s3: S3Settings,
}

/// `[blobs.s3]`: the bucket, when `backend = "s3"`.
#[derive(Debug, Clone, Serialize)]
pub struct S3Settings {
    /// `https://s3.example.org` or `http://127.0.0.1:3900`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// The signing region: Garage's `s3_region` (default `garage`), or AWS's region.
    pub region: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "crate::secret::optional"
    )]
    pub secret_access_key: Option<Secret>,
    /// Key prefix everything is stored under (empty: the bucket root), so several stores can
    /// share a bucket.
    pub prefix: String,
}

impl Default for BlobsConfig {
    fn default() -> Self {
        BlobsConfig {
            backend: "local".into(),
            segments: true,
            s3: S3Settings {
                endpoint: None,
                region: "garage".into(),
                bucket: None,
                access_key_id: None,
                secret_access_key: None,
                prefix: String::new(),
            },
        }
    }
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlobsLayer {
    pub backend: Option<String>,
    pub segments: Option<bool>,
    #[serde(default)]
    pub s3: S3Layer,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Layer {
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub bucket: Option<String>,
    pub access_key_id: Option<String>,
    #[serde(default, with = "crate::secret::optional")]
    pub secret_access_key: Option<Secret>,
    pub prefix: Option<String>,
}

impl BlobsConfig {
    pub fn apply(&mut self, layer: &BlobsLayer) {
        let (s3, from) = (&mut self.s3, &layer.s3);
        if let Some(b) = &layer.backend {
            self.backend = b.clone();
        }
        if let Some(segments) = layer.segments {
            self.segments = segments;
        }
        if let Some(v) = &from.endpoint {
            s3.endpoint = Some(v.clone());
        }
        if let Some(v) = &from.region {
            s3.region = v.clone();
        }
        if let Some(v) = &from.bucket {
            s3.bucket = Some(v.clone());
        }
        if let Some(v) = &from.access_key_id {
            s3.access_key_id = Some(v.clone());
        }
        if let Some(v) = &from.secret_access_key {
            s3.secret_access_key = Some(v.clone());
        }
        if let Some(v) = &from.prefix {
            s3.prefix = v.clone();
        }
    }

    /// A known backend, and for `s3` a build that has it and every setting it needs (empty
    /// counts as unset). Messages never quote the secret.
    pub fn validate(&mut self) -> anyhow::Result<()> {
        self.backend = self.backend.trim().to_ascii_lowercase();
        let s3 = &mut self.s3;
        for value in [&mut s3.endpoint, &mut s3.bucket, &mut s3.access_key_id] {
            value.take_if(|v| v.trim().is_empty());
            if let Some(v) = value {
                *v = v.trim().to_owned();
            }
        }
        s3.secret_access_key
            .take_if(|s| s.expose().trim().is_empty());
        s3.region = s3.region.trim().to_owned();
        s3.prefix = s3.prefix.trim().trim_matches('/').to_owned();
        match self.backend.as_str() {
            "local" => Ok(()),
            "s3" if !cfg!(feature = "s3") => bail!(NO_S3),
            "s3" => {
                let missing: Vec<&str> = [
                    ("blobs.s3.endpoint", s3.endpoint.is_none()),
                    ("blobs.s3.bucket", s3.bucket.is_none()),
                    ("blobs.s3.access_key_id", s3.access_key_id.is_none()),
                    ("blobs.s3.secret_access_key", s3.secret_access_key.is_none()),
                    ("blobs.s3.region", s3.region.is_empty()),
                ]
                .into_iter()
                .filter_map(|(name, missing)| missing.then_some(name))
                .collect();
                if !missing.is_empty() {
                    bail!("blobs.backend = \"s3\" needs {}", missing.join(", "));
                }
                let endpoint = s3.endpoint.as_deref().unwrap_or_default();
                if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
                    bail!("blobs.s3.endpoint must be an http:// or https:// URL");
                }
                Ok(())
            }
            other => bail!("blobs.backend must be local or s3, not '{other}'"),
        }
    }

    pub fn is_s3(&self) -> bool {
        self.backend == "s3"
    }
}

/// Opens the configured blob store: `<data>/blobs`, or the S3 bucket (which is reached, and
/// its layout marker read or written, before this returns). Blocking.
pub fn open_blobs(config: &Config) -> anyhow::Result<Arc<dyn BlobStore>> {
    if !config.blobs.is_s3() {
        let dir = config.data.join("blobs");
        let options = sv_blob::LocalOptions {
            small_blobs_in_segments: config.blobs.segments,
            ..sv_blob::LocalOptions::default()
        };
        let blobs = sv_blob::LocalBlobStore::open_with(&dir, options).with_context(|| {
            format!(
                "could not open the blob store '{}' (is another server using it?)",
                dir.display()
            )
        })?;
        return Ok(Arc::new(blobs));
    }
    open_s3(&config.blobs.s3)
}

#[cfg(feature = "s3")]
fn open_s3(s3: &S3Settings) -> anyhow::Result<Arc<dyn BlobStore>> {
    let (Some(endpoint), Some(bucket), Some(key), Some(secret)) = (
        &s3.endpoint,
        &s3.bucket,
        &s3.access_key_id,
        &s3.secret_access_key,
    ) else {
        bail!("blobs.s3 is incomplete"); // validate() said so already
    };
    let config = sv_blob_s3::S3Config {
        region: s3.region.clone(),
        prefix: s3.prefix.clone(),
        ..sv_blob_s3::S3Config::new(endpoint, bucket, key, secret.expose())
    };
    let store = sv_blob_s3::S3BlobStore::open(config)
        .context("could not open the S3 blob store (blobs.s3)")?;
    Ok(Arc::new(store))
}

#[cfg(not(feature = "s3"))]
fn open_s3(_: &S3Settings) -> anyhow::Result<Arc<dyn BlobStore>> {
    bail!(NO_S3)
}

#[cfg(test)]
#[path = "blob_backend_tests.rs"]
mod tests;
