//! Configuration: defaults, then `studyvault.toml`, then `STUDYVAULT_*` environment, then flags.
//!
//! Only the binary reads configuration; the inner crates get plain structs built here
//! ([`Config::vault_config`], [`Config::mail_config`]). Secrets (the admin token, the SMTP URL
//! and the PostgreSQL URL, which may carry a password, and the S3 secret key) are a
//! [`Secret`], which never shows in `Debug` output, logs or `studyvault config`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::blob_backend::{BlobsConfig, BlobsLayer};
use crate::meta_backend::{MetaConfig, MetaLayer};
use crate::secret::Secret;

/// The merged configuration.
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    /// Data directory: metadata, blobs, `admin.token`.
    pub data: PathBuf,
    /// Address the server listens on.
    pub listen: SocketAddr,
    /// The URL clients reach the server at (share links are built on it); default
    /// `http://<listen>`, or `https://<listen>` when `[tls]` is set.
    pub public_url: String,
    /// Admin token; absent means `<data>/admin.token` (generated at first start).
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "crate::secret::optional"
    )]
    pub admin_token: Option<Secret>,
    /// Log filter (tracing-subscriber `EnvFilter` syntax).
    pub log: String,
    /// Ingests (parse, render, store) that may run at once.
    pub workers: usize,
    /// Threads for blocking IO (file and metadata reads and writes, spooling) beside the
    /// `workers`: the server runs at most `workers + io_threads` blocking threads; more
    /// blocking work waits for one.
    pub io_threads: usize,
    /// Seconds a request that is not a streaming upload or download may take.
    pub request_timeout_secs: u64,
    /// Seconds a request body may stall between two chunks.
    pub body_idle_timeout_secs: u64,
    /// Seconds a graceful shutdown waits for in-flight requests before giving up.
    pub shutdown_grace_secs: u64,
    pub limits: LimitsConfig,
    pub preview: PreviewConfig,
    pub cors: CorsConfig,
    pub shares: SharesConfig,
    pub smtp: SmtpConfig,
    pub tls: TlsConfig,
    /// The metadata store: embedded sled (default) or PostgreSQL.
    pub meta: MetaConfig,
    /// The blob store: files under the data directory (default) or an S3 bucket.
    pub blobs: BlobsConfig,
    pub gc: GcConfig,
}

/// The garbage collector of the running server: blobs a crash or a lost race left
/// unreferenced go once they have stayed so for `grace_secs`.
#[derive(Debug, Clone, Serialize)]
pub struct GcConfig {
    /// Seconds between two passes; 0 turns the collector off (`studyvault gc` on a stopped
    /// server still works).
    pub every_secs: u64,
    /// How long a blob must stay unreferenced before a pass deletes it.
    pub grace_secs: u64,
}

/// How long share links live.
#[derive(Debug, Clone, Serialize)]
pub struct SharesConfig {
    /// Days a share link lives when its owner does not say.
    pub default_expiry_days: u32,
    /// The most days an owner may ask for.
    pub max_expiry_days: u32,
}

/// The mail server share links and sign-in links go out through; none configured means no
/// mail is sent (links are still shown to the owner).
#[derive(Debug, Clone, Serialize)]
pub struct SmtpConfig {
    /// `smtp://`, `smtp+starttls://` or `smtps://`, with `user:password@` if the relay wants
    /// it: hence a secret.
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "crate::secret::optional"
    )]
    pub url: Option<Secret>,
    /// The `From` mailbox: `noreply@example.org` or `studyvault <noreply@example.org>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Seconds one send may take, connecting included.
    pub timeout_secs: u64,
    /// Seconds before the first retry of a failed send; each next wait doubles (at most an
    /// hour), for up to three days.
    pub retry_first_secs: u64,
}

/// HTTPS served by studyvault itself: PEM files of the certificate chain and its key.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TlsConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_file: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_file: Option<PathBuf>,
}

/// Which web origins may call the FHIR and DICOMweb routes from a browser (a viewer such as
/// OHIF served from another origin).
#[derive(Debug, Clone, Default, Serialize)]
pub struct CorsConfig {
    /// `scheme://host[:port]` origins, or `*` for any; empty (the default) allows none.
    pub allowed_origins: Vec<String>,
}

/// Bounds on what one request may make the server do.
#[derive(Debug, Clone, Serialize)]
pub struct LimitsConfig {
    /// Largest study upload body (one instance, a multipart batch, a zipped CD).
    pub max_upload_bytes: u64,
    /// Largest body of a blob PUT.
    pub max_blob_bytes: u64,
    /// Largest JSON or XML request body.
    pub max_document_bytes: u64,
    pub max_instance_bytes: u64,
    pub max_pixels_per_frame: u64,
    pub max_frames: u32,
    pub max_sequence_depth: u32,
    pub max_zip_entries: u64,
    pub max_zip_expanded_bytes: u64,
    /// An uploaded instance above this many bytes is spooled to a file under `<data>/spool`
    /// while it arrives and waits for ingest, instead of being held in memory.
    pub spool_above_bytes: u64,
}

/// How previews are made.
#[derive(Debug, Clone, Serialize)]
pub struct PreviewConfig {
    /// `jpeg` or `png`.
    pub format: String,
    pub min_short_side: u32,
    pub max_short_side: u32,
    pub max_long_side: u32,
    pub jpeg_quality: u8,
}

pub const DEFAULT_DATA: &str = "./studyvault-data";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const FILE_NAME: &str = "studyvault.toml";
/// Blocking IO threads beside the workers: enough for the uploads, downloads and metadata
/// calls of a personal store under load, far below tokio's default of 512.
pub const DEFAULT_IO_THREADS: usize = 32;

impl Default for Config {
    fn default() -> Self {
        let dicom = sv_dicom::Limits::default();
        let preview = sv_dicom::PreviewOptions::default();
        let api = sv_api::ApiLimits::default();
        let listen: SocketAddr = DEFAULT_LISTEN.parse().expect("valid default address");
        Config {
            data: PathBuf::from(DEFAULT_DATA),
            listen,
            public_url: String::new(),
            admin_token: None,
            log: "info".into(),
            workers: sv_vault::VaultConfig::default().workers,
            io_threads: DEFAULT_IO_THREADS,
            request_timeout_secs: api.request_timeout.as_secs(),
            body_idle_timeout_secs: 60,
            shutdown_grace_secs: 60,
            limits: LimitsConfig {
                max_upload_bytes: api.max_upload_bytes,
                max_blob_bytes: api.max_blob_bytes,
                max_document_bytes: api.max_document_bytes as u64,
                max_instance_bytes: dicom.max_instance_bytes,
                max_pixels_per_frame: dicom.max_pixels_per_frame,
                max_frames: dicom.max_frames,
                max_sequence_depth: dicom.max_sequence_depth,
                max_zip_entries: api.max_zip_entries as u64,
                max_zip_expanded_bytes: api.max_zip_expanded_bytes,
                spool_above_bytes: sv_vault::SPOOL_ABOVE_BYTES,
            },
            preview: PreviewConfig {
                format: "jpeg".into(),
                min_short_side: preview.min_short_side,
                max_short_side: preview.max_short_side,
                max_long_side: preview.max_long_side,
                jpeg_quality: preview.jpeg_quality,
            },
            cors: CorsConfig::default(),
            shares: SharesConfig {
                default_expiry_days: 7,
                max_expiry_days: 90,
            },
            smtp: SmtpConfig {
                url: None,
                from: None,
                timeout_secs: 30,
                retry_first_secs: sv_vault::RetryPolicy::default().first.as_secs(),
            },
            tls: TlsConfig::default(),
            meta: MetaConfig::default(),
            blobs: BlobsConfig::default(),
            gc: GcConfig {
                every_secs: 3600,
                grace_secs: 24 * 3600,
            },
        }
    }
}

/// One source of settings (the file, the environment or the flags): each field optional.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    pub data: Option<PathBuf>,
    pub listen: Option<String>,
    pub public_url: Option<String>,
    #[serde(default, with = "crate::secret::optional")]
    pub admin_token: Option<Secret>,
    pub log: Option<String>,
    pub workers: Option<usize>,
    pub io_threads: Option<usize>,
    pub request_timeout_secs: Option<u64>,
    pub body_idle_timeout_secs: Option<u64>,
    pub shutdown_grace_secs: Option<u64>,
    #[serde(default)]
    pub limits: LimitsLayer,
    #[serde(default)]
    pub preview: PreviewLayer,
    #[serde(default)]
    pub cors: CorsLayer,
    #[serde(default)]
    pub shares: SharesLayer,
    #[serde(default)]
    pub smtp: SmtpLayer,
    #[serde(default)]
    pub tls: TlsLayer,
    #[serde(default)]
    pub meta: MetaLayer,
    #[serde(default)]
    pub blobs: BlobsLayer,
    #[serde(default)]
    pub gc: GcLayer,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GcLayer {
    pub every_secs: Option<u64>,
    pub grace_secs: Option<u64>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SharesLayer {
    pub default_expiry_days: Option<u32>,
    pub max_expiry_days: Option<u32>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpLayer {
    #[serde(default, with = "crate::secret::optional")]
    pub url: Option<Secret>,
    pub from: Option<String>,
    pub timeout_secs: Option<u64>,
    pub retry_first_secs: Option<u64>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsLayer {
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsLayer {
    pub allowed_origins: Option<Vec<String>>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsLayer {
    pub max_upload_bytes: Option<u64>,
    pub max_blob_bytes: Option<u64>,
    pub max_document_bytes: Option<u64>,
    pub max_instance_bytes: Option<u64>,
    pub max_pixels_per_frame: Option<u64>,
    pub max_frames: Option<u32>,
    pub max_sequence_depth: Option<u32>,
    pub max_zip_entries: Option<u64>,
    pub max_zip_expanded_bytes: Option<u64>,
    pub spool_above_bytes: Option<u64>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviewLayer {
    pub format: Option<String>,
    pub min_short_side: Option<u32>,
    pub max_short_side: Option<u32>,
    pub max_long_side: Option<u32>,
    pub jpeg_quality: Option<u8>,
}

/// Where the merged configuration came from (for `studyvault config`).
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    /// The configuration file read, if any.
    pub file: Option<PathBuf>,
    /// The `STUDYVAULT_*` variables that were applied.
    pub env_keys: Vec<String>,
}

macro_rules! overlay {
    ($dst:expr, $src:expr, [$($field:ident),* $(,)?]) => {
        $( if let Some(v) = $src.$field.clone() { $dst.$field = v.into(); } )*
    };
}

impl Config {
    /// Merges defaults, the configuration file, the environment (`vars`) and `flags`.
    ///
    /// The file is `explicit_file` if given (it must exist), else `./studyvault.toml` if
    /// present, else `<data>/studyvault.toml` if present, where `data` comes from the flags,
    /// the environment or the default.
    pub fn load(
        explicit_file: Option<&Path>,
        vars: impl IntoIterator<Item = (String, String)>,
        flags: &Layer,
    ) -> anyhow::Result<Loaded> {
        let (env, env_keys) = crate::config_env::layer_from_env(vars)?;
        let file = match explicit_file {
            Some(path) => Some(path.to_path_buf()),
            None => {
                let data = flags
                    .data
                    .clone()
                    .or_else(|| env.data.clone())
                    .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA));
                [PathBuf::from(FILE_NAME), data.join(FILE_NAME)]
                    .into_iter()
                    .find(|p| p.is_file())
            }
        };
        let mut config = Config::default();
        if let Some(path) = &file {
            let text = std::fs::read_to_string(path).with_context(|| {
                format!("could not read configuration file '{}'", path.display())
            })?;
            let layer: Layer = toml::from_str(&text)
                .with_context(|| format!("invalid configuration file '{}'", path.display()))?;
            config.apply(&layer)?;
        }
        config.apply(&env)?;
        config.apply(flags)?;
        config.validate()?;
        Ok(Loaded {
            config,
            file,
            env_keys,
        })
    }

    fn apply(&mut self, layer: &Layer) -> anyhow::Result<()> {
        if let Some(listen) = &layer.listen {
            self.listen = listen
                .parse()
                .with_context(|| format!("listen address '{listen}' is not host:port"))?;
        }
        if let Some(token) = &layer.admin_token {
            self.admin_token = Some(token.clone());
        }
        overlay!(
            self,
            layer,
            [
                data,
                public_url,
                log,
                workers,
                io_threads,
                request_timeout_secs,
                body_idle_timeout_secs,
                shutdown_grace_secs
            ]
        );
        overlay!(
            self.limits,
            layer.limits,
            [
                max_upload_bytes,
                max_blob_bytes,
                max_document_bytes,
                max_instance_bytes,
                max_pixels_per_frame,
                max_frames,
                max_sequence_depth,
                max_zip_entries,
                max_zip_expanded_bytes,
                spool_above_bytes
            ]
        );
        overlay!(
            self.preview,
            layer.preview,
            [
                format,
                min_short_side,
                max_short_side,
                max_long_side,
                jpeg_quality
            ]
        );
        overlay!(self.cors, layer.cors, [allowed_origins]);
        overlay!(
            self.shares,
            layer.shares,
            [default_expiry_days, max_expiry_days]
        );
        overlay!(
            self.smtp,
            layer.smtp,
            [url, from, timeout_secs, retry_first_secs]
        );
        overlay!(self.tls, layer.tls, [cert_file, key_file]);
        self.meta.apply(&layer.meta);
        self.blobs.apply(&layer.blobs);
        overlay!(self.gc, layer.gc, [every_secs, grace_secs]);
        Ok(())
    }

    fn validate(&mut self) -> anyhow::Result<()> {
        self.preview.format = self.preview.format.to_ascii_lowercase();
        self.preview_format()?;
        let p = &self.preview;
        if p.min_short_side == 0 || p.min_short_side > p.max_short_side {
            bail!("preview.min_short_side must be at least 1 and at most preview.max_short_side");
        }
        if p.max_long_side < p.max_short_side {
            bail!("preview.max_long_side must be at least preview.max_short_side");
        }
        if !(1..=100).contains(&p.jpeg_quality) {
            bail!("preview.jpeg_quality must be 1 to 100");
        }
        if self.workers == 0 {
            bail!("workers must be at least 1");
        }
        if self.io_threads == 0 {
            bail!("io_threads must be at least 1");
        }
        if self.request_timeout_secs == 0 || self.body_idle_timeout_secs == 0 {
            bail!("timeouts must be at least 1 second");
        }
        if let Some(token) = &self.admin_token
            && token.expose().trim().len() < 16
        {
            bail!("the admin token must be at least 16 characters");
        }
        for origin in &mut self.cors.allowed_origins {
            *origin = origin.trim().trim_end_matches('/').to_owned();
            if !valid_origin(origin) {
                bail!(
                    "cors.allowed_origins: '{origin}' is not '*' or an origin like \
                     https://viewer.example.org[:port]"
                );
            }
        }
        let s = &self.shares;
        if !(1 <= s.default_expiry_days
            && s.default_expiry_days <= s.max_expiry_days
            && s.max_expiry_days <= 365)
        {
            bail!("shares: need 1 <= shares.default_expiry_days <= shares.max_expiry_days <= 365");
        }
        self.validate_smtp()?;
        self.meta.validate()?;
        self.blobs.validate()?;
        // An empty path (`STUDYVAULT_TLS_CERT_FILE=`) unsets a file's setting.
        self.tls.cert_file.take_if(|p| p.as_os_str().is_empty());
        self.tls.key_file.take_if(|p| p.as_os_str().is_empty());
        if self.tls.cert_file.is_some() != self.tls.key_file.is_some() {
            bail!("tls.cert_file and tls.key_file go together: set both or neither");
        }
        if self.public_url.is_empty() {
            let scheme = if self.tls_enabled() { "https" } else { "http" };
            self.public_url = format!("{scheme}://{}", self.listen);
        }
        self.public_url = self.public_url.trim_end_matches('/').to_string();
        Ok(())
    }

    /// `[smtp]`: both `url` and `from` or neither (empty counts as unset), and a usable
    /// configuration, checked the way the mailer will read it. Messages never quote the URL.
    fn validate_smtp(&mut self) -> anyhow::Result<()> {
        let smtp = &mut self.smtp;
        smtp.url.take_if(|u| u.expose().trim().is_empty());
        smtp.from.take_if(|f| f.trim().is_empty());
        if smtp.url.is_some() != smtp.from.is_some() {
            bail!("smtp.url and smtp.from go together: set both or neither");
        }
        if smtp.timeout_secs == 0 || smtp.retry_first_secs == 0 {
            bail!("smtp.timeout_secs and smtp.retry_first_secs must be at least 1");
        }
        if let Some(mail) = self.mail_config() {
            // Builds the transport without connecting: the URL, the sender and the timeout are
            // checked at startup (and by `studyvault config`), not at the first share.
            sv_vault::Mailer::new(&mail).map_err(|e| anyhow::anyhow!("smtp: {e}"))?;
        }
        Ok(())
    }

    /// The mail configuration, when `[smtp]` is set.
    pub fn mail_config(&self) -> Option<sv_vault::MailConfig> {
        let (url, from) = (self.smtp.url.as_ref()?, self.smtp.from.as_ref()?);
        Some(sv_vault::MailConfig {
            url: url.expose().trim().to_owned(),
            from: from.trim().to_owned(),
            timeout: Duration::from_secs(self.smtp.timeout_secs),
        })
    }

    /// How failed sends are retried.
    pub fn retry_policy(&self) -> sv_vault::RetryPolicy {
        sv_vault::RetryPolicy {
            first: Duration::from_secs(self.smtp.retry_first_secs),
            ..sv_vault::RetryPolicy::default()
        }
    }

    /// The most blocking threads the server's runtime may run: the workers' CPU jobs and
    /// `io_threads` more, so IO never waits for every render to end.
    pub fn blocking_threads(&self) -> usize {
        self.workers.saturating_add(self.io_threads)
    }

    /// Whether the server speaks HTTPS itself (`[tls]` set).
    pub fn tls_enabled(&self) -> bool {
        self.tls.cert_file.is_some() && self.tls.key_file.is_some()
    }

    pub fn preview_format(&self) -> anyhow::Result<sv_dicom::PreviewFormat> {
        match self.preview.format.as_str() {
            "jpeg" | "jpg" => Ok(sv_dicom::PreviewFormat::Jpeg),
            "png" => Ok(sv_dicom::PreviewFormat::Png),
            other => bail!("preview.format must be jpeg or png, not '{other}'"),
        }
    }

    /// The plain struct the vault takes.
    pub fn vault_config(&self) -> anyhow::Result<sv_vault::VaultConfig> {
        let l = &self.limits;
        let p = &self.preview;
        Ok(sv_vault::VaultConfig {
            limits: sv_dicom::Limits {
                max_instance_bytes: l.max_instance_bytes,
                max_pixels_per_frame: l.max_pixels_per_frame,
                max_frames: l.max_frames,
                max_sequence_depth: l.max_sequence_depth,
            },
            preview: sv_dicom::PreviewOptions {
                format: self.preview_format()?,
                min_short_side: p.min_short_side,
                max_short_side: p.max_short_side,
                max_long_side: p.max_long_side,
                jpeg_quality: p.jpeg_quality,
            },
            workers: self.workers,
            spool_above_bytes: l.spool_above_bytes,
            spool_dir: None,
            secret_cache_ttl: sv_vault::SECRET_CACHE_TTL,
            sharing: sv_vault::SharingConfig {
                public_url: self.public_url.clone(),
                default_expires_in: days(self.shares.default_expiry_days),
                max_expires_in: days(self.shares.max_expiry_days),
                ..sv_vault::SharingConfig::default()
            },
        })
    }

    /// The online garbage collector's schedule, or `None` when it must not run: turned off, or
    /// blobs on S3, which other nodes may share. The marks in PostgreSQL
    /// (`MetaStore::mark_for_collection`) order a collector with every node's writers, but
    /// the test that runs collectors beside two ingesting nodes still loses an acknowledged
    /// instance about once in ten runs (`tests/it/nodes.rs`), so a shared bucket is collected
    /// by `studyvault gc` with every node stopped until that is found.
    pub fn collector(&self) -> Option<crate::serve::Collector> {
        if self.gc.every_secs == 0 {
            return None;
        }
        if self.blobs.backend != "local" {
            tracing::info!(
                "gc: the online collector is off with blobs.backend = {:?} (a bucket other nodes may share); run `studyvault gc` with every node stopped",
                self.blobs.backend
            );
            return None;
        }
        Some(crate::serve::Collector {
            every: Duration::from_secs(self.gc.every_secs),
            grace: Duration::from_secs(self.gc.grace_secs),
        })
    }

    /// The merged configuration as TOML, secrets redacted.
    pub fn to_toml(&self) -> anyhow::Result<String> {
        Ok(toml::to_string_pretty(self)?)
    }
}

fn days(n: u32) -> Duration {
    Duration::from_secs(u64::from(n) * 86_400)
}

/// `*`, or `http(s)://host[:port]` with nothing after (an origin has no path).
fn valid_origin(origin: &str) -> bool {
    if origin == "*" {
        return true;
    }
    let Some(rest) = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
    else {
        return false;
    };
    !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
}

#[cfg(test)]
mod cors_tests {
    use super::valid_origin;

    #[test]
    fn origins_are_scheme_host_and_port_only() {
        for good in [
            "*",
            "https://viewer.example.org",
            "http://127.0.0.1:3000",
            "http://[::1]:8042",
        ] {
            assert!(valid_origin(good), "{good}");
        }
        for bad in [
            "",
            "viewer.example.org",
            "https://",
            "https://x.org/path",
            "ftp://x.org",
            "https://x.org?q",
        ] {
            assert!(!valid_origin(bad), "{bad}");
        }
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
