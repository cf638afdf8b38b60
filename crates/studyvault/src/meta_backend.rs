//! `[meta]`: which metadata store the vault runs on. `backend = "sled"` (the default) is the
//! embedded store under `<data>/meta`; `backend = "postgres"` is a PostgreSQL database at
//! `[meta.postgres] url` (a secret: it may carry a password), which several servers can share.
//! The blobs are where `[blobs]` says (`blob_backend.rs`); the spool and the admin token stay
//! under the data directory either way.

use std::sync::Arc;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::secret::Secret;

/// The metadata store settings.
#[derive(Debug, Clone, Serialize)]
pub struct MetaConfig {
    /// `sled` or `postgres`.
    pub backend: String,
    pub postgres: PostgresConfig,
}

/// `[meta.postgres]`: the database, when `backend = "postgres"`.
#[derive(Debug, Clone, Serialize)]
pub struct PostgresConfig {
    /// `postgresql://user:password@host:port/database` (or `key=value` pairs): a secret.
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "crate::secret::optional"
    )]
    pub url: Option<Secret>,
    /// Connections the server keeps to it at most.
    pub pool_size: u32,
    /// With `sslmode=require` in the URL: the certificates (PEM) the server's must chain to;
    /// without it, the web's roots.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<std::path::PathBuf>,
}

impl Default for MetaConfig {
    fn default() -> Self {
        MetaConfig {
            backend: "sled".into(),
            postgres: PostgresConfig {
                url: None,
                pool_size: sv_meta::DEFAULT_POOL_SIZE,
                ca_file: None,
            },
        }
    }
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetaLayer {
    pub backend: Option<String>,
    #[serde(default)]
    pub postgres: PostgresLayer,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresLayer {
    #[serde(default, with = "crate::secret::optional")]
    pub url: Option<Secret>,
    pub pool_size: Option<u32>,
    pub ca_file: Option<std::path::PathBuf>,
}

impl MetaConfig {
    pub fn apply(&mut self, layer: &MetaLayer) {
        if let Some(b) = &layer.backend {
            self.backend = b.clone();
        }
        if let Some(url) = &layer.postgres.url {
            self.postgres.url = Some(url.clone());
        }
        if let Some(n) = layer.postgres.pool_size {
            self.postgres.pool_size = n;
        }
        if let Some(f) = &layer.postgres.ca_file {
            self.postgres.ca_file = Some(f.clone());
        }
    }

    /// A known backend, and for `postgres` a URL (empty counts as unset) and a pool. Messages
    /// never quote the URL.
    pub fn validate(&mut self) -> anyhow::Result<()> {
        self.backend = self.backend.trim().to_ascii_lowercase();
        self.postgres.url.take_if(|u| u.expose().trim().is_empty());
        match self.backend.as_str() {
            "sled" => Ok(()),
            "postgres" | "postgresql" => {
                self.backend = "postgres".into();
                if self.postgres.url.is_none() {
                    bail!("meta.backend = \"postgres\" needs meta.postgres.url");
                }
                if self.postgres.pool_size == 0 {
                    bail!("meta.postgres.pool_size must be at least 1");
                }
                Ok(())
            }
            other => bail!("meta.backend must be sled or postgres, not '{other}'"),
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.backend == "postgres"
    }
}

/// Opens the vault on the configured metadata and blob stores. Blocking: call it at startup
/// or from a blocking thread (on a multi-threaded runtime's worker the PostgreSQL and S3
/// stores step aside by themselves).
pub fn open_vault(
    config: &Config,
    mut vault_config: sv_vault::VaultConfig,
) -> anyhow::Result<sv_vault::Vault> {
    let data = &config.data;
    let url = config
        .meta
        .postgres
        .url
        .as_ref()
        .filter(|_| config.meta.is_postgres());
    let meta: Arc<dyn sv_meta::MetaStore> = match url {
        Some(url) => Arc::new(open_postgres(url, &config.meta.postgres)?),
        None => {
            let dir = data.join("meta");
            Arc::new(sv_meta::SledMetaStore::open(&dir).with_context(|| {
                format!(
                    "could not open the metadata store '{}' (is another server using it?)",
                    dir.display()
                )
            })?)
        }
    };
    let blobs = crate::blob_backend::open_blobs(config)?;
    vault_config
        .spool_dir
        .get_or_insert_with(|| data.join("spool"));
    Ok(sv_vault::Vault::with_stores(meta, blobs, vault_config))
}

/// The PostgreSQL store `url` and `[meta.postgres]` name.
pub fn open_postgres(url: &Secret, pg: &PostgresConfig) -> anyhow::Result<sv_meta::PgMetaStore> {
    sv_meta::PgMetaStore::open_with_ca(url.expose().trim(), pg.pool_size, pg.ca_file.as_deref())
        .context("could not open the PostgreSQL metadata database (meta.postgres.url)")
}

#[cfg(test)]
#[path = "meta_backend_tests.rs"]
mod tests;
