//! The `STUDYVAULT_*` environment as a configuration layer.
//!
//! A top-level key `k` is `STUDYVAULT_K`; a key `k` of section `s` is `STUDYVAULT_S_K`
//! (`STUDYVAULT_PREVIEW_FORMAT`, `STUDYVAULT_LIMITS_MAX_UPLOAD_BYTES`), and of a nested section
//! `s.t`, `STUDYVAULT_S_T_K` (`STUDYVAULT_META_POSTGRES_URL`, `STUDYVAULT_BLOBS_S3_BUCKET`).
//! `STUDYVAULT_CONFIG` names the file and is read by the flags; any other `STUDYVAULT_*` name is an error, so a
//! typo does not go unnoticed.

use anyhow::{Context, bail};
use serde::Deserialize;

use crate::config::Layer;

#[derive(Clone, Copy)]
enum Kind {
    Text,
    Integer,
    /// `true` or `false` (also 1/0, yes/no, on/off).
    Bool,
    /// Comma-separated.
    List,
}

/// Every key the environment may set: (section, key, kind).
const KEYS: &[(Option<&str>, &str, Kind)] = &[
    (None, "data", Kind::Text),
    (None, "listen", Kind::Text),
    (None, "public_url", Kind::Text),
    (None, "admin_token", Kind::Text),
    (None, "log", Kind::Text),
    (None, "workers", Kind::Integer),
    (None, "io_threads", Kind::Integer),
    (None, "request_timeout_secs", Kind::Integer),
    (None, "body_idle_timeout_secs", Kind::Integer),
    (None, "shutdown_grace_secs", Kind::Integer),
    (Some("limits"), "max_upload_bytes", Kind::Integer),
    (Some("limits"), "max_blob_bytes", Kind::Integer),
    (Some("limits"), "max_document_bytes", Kind::Integer),
    (Some("limits"), "max_instance_bytes", Kind::Integer),
    (Some("limits"), "max_pixels_per_frame", Kind::Integer),
    (Some("limits"), "max_frames", Kind::Integer),
    (Some("limits"), "max_sequence_depth", Kind::Integer),
    (Some("limits"), "max_zip_entries", Kind::Integer),
    (Some("limits"), "max_zip_expanded_bytes", Kind::Integer),
    (Some("limits"), "spool_above_bytes", Kind::Integer),
    (Some("preview"), "format", Kind::Text),
    (Some("preview"), "min_short_side", Kind::Integer),
    (Some("preview"), "max_short_side", Kind::Integer),
    (Some("preview"), "max_long_side", Kind::Integer),
    (Some("preview"), "jpeg_quality", Kind::Integer),
    (Some("cors"), "allowed_origins", Kind::List),
    (Some("shares"), "default_expiry_days", Kind::Integer),
    (Some("shares"), "max_expiry_days", Kind::Integer),
    (Some("gc"), "every_secs", Kind::Integer),
    (Some("gc"), "grace_secs", Kind::Integer),
    (Some("smtp"), "url", Kind::Text),
    (Some("smtp"), "from", Kind::Text),
    (Some("smtp"), "timeout_secs", Kind::Integer),
    (Some("smtp"), "retry_first_secs", Kind::Integer),
    (Some("tls"), "cert_file", Kind::Text),
    (Some("tls"), "key_file", Kind::Text),
    (Some("meta"), "backend", Kind::Text),
    (Some("meta.postgres"), "url", Kind::Text),
    (Some("meta.postgres"), "pool_size", Kind::Integer),
    (Some("meta.postgres"), "ca_file", Kind::Text),
    (Some("blobs"), "backend", Kind::Text),
    (Some("blobs"), "segments", Kind::Bool),
    (Some("blobs.s3"), "endpoint", Kind::Text),
    (Some("blobs.s3"), "region", Kind::Text),
    (Some("blobs.s3"), "bucket", Kind::Text),
    (Some("blobs.s3"), "access_key_id", Kind::Text),
    (Some("blobs.s3"), "secret_access_key", Kind::Text),
    (Some("blobs.s3"), "prefix", Kind::Text),
];

/// Variables that are `STUDYVAULT_*` but not configuration keys.
const NOT_KEYS: &[&str] = &["STUDYVAULT_CONFIG", "STUDYVAULT_URL", "STUDYVAULT_TOKEN"];

pub fn env_name(section: Option<&str>, key: &str) -> String {
    match section {
        Some(s) => format!("STUDYVAULT_{}_{}", s.replace('.', "_"), key).to_ascii_uppercase(),
        None => format!("STUDYVAULT_{key}").to_ascii_uppercase(),
    }
}

/// Builds the environment layer from `vars`; also returns the names it used.
pub fn layer_from_env(
    vars: impl IntoIterator<Item = (String, String)>,
) -> anyhow::Result<(Layer, Vec<String>)> {
    let mut root = toml::Table::new();
    let mut used = Vec::new();
    for (name, value) in vars {
        if !name.starts_with("STUDYVAULT_") || NOT_KEYS.contains(&name.as_str()) {
            continue;
        }
        let Some((section, key, kind)) = KEYS
            .iter()
            .find(|(s, k, _)| env_name(*s, k) == name)
            .copied()
        else {
            bail!("unknown configuration variable {name} (see `studyvault config --help`)");
        };
        let value = match kind {
            Kind::Text => toml::Value::String(value),
            Kind::List => toml::Value::Array(
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(|v| toml::Value::String(v.to_owned()))
                    .collect(),
            ),
            Kind::Integer => toml::Value::Integer(
                value
                    .trim()
                    .replace('_', "")
                    .parse()
                    .with_context(|| format!("{name} must be a whole number"))?,
            ),
            Kind::Bool => toml::Value::Boolean(match value.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => true,
                "false" | "0" | "no" | "off" => false,
                _ => bail!("{name} must be true or false"),
            }),
        };
        let mut table = &mut root;
        for s in section.into_iter().flat_map(|s| s.split('.')) {
            table = table
                .entry(s)
                .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                .as_table_mut()
                .expect("sections are tables");
        }
        table.insert(key.to_string(), value);
        used.push(name);
    }
    used.sort();
    let layer = Layer::deserialize(root).context("invalid STUDYVAULT_* environment")?;
    Ok((layer, used))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn lists_are_comma_separated() {
        let (layer, _) = layer_from_env(vars(&[(
            "STUDYVAULT_CORS_ALLOWED_ORIGINS",
            "https://a.example, http://b.example:3000,",
        )]))
        .unwrap();
        assert_eq!(
            layer.cors.allowed_origins.unwrap(),
            ["https://a.example", "http://b.example:3000"]
        );
    }

    #[test]
    fn section_keys_and_numbers_are_read() {
        let (layer, used) = layer_from_env(vars(&[
            ("STUDYVAULT_PREVIEW_FORMAT", "png"),
            ("STUDYVAULT_LIMITS_MAX_UPLOAD_BYTES", "1_000"),
            ("STUDYVAULT_ADMIN_TOKEN", "1234567890123456789"),
            ("PATH", "/bin"),
        ]))
        .unwrap();
        assert_eq!(layer.preview.format.as_deref(), Some("png"));
        assert_eq!(layer.limits.max_upload_bytes, Some(1000));
        assert_eq!(
            layer.admin_token.unwrap().expose(),
            "1234567890123456789",
            "a numeric-looking token stays text"
        );
        assert_eq!(used.len(), 3);
    }

    #[test]
    fn unknown_and_malformed_variables_are_errors() {
        assert!(layer_from_env(vars(&[("STUDYVAULT_LISTN", "x")])).is_err());
        assert!(layer_from_env(vars(&[("STUDYVAULT_WORKERS", "many")])).is_err());
        assert!(layer_from_env(vars(&[("STUDYVAULT_CONFIG", "x.toml")])).is_ok());
        assert!(layer_from_env(vars(&[("STUDYVAULT_BLOBS_SEGMENTS", "maybe")])).is_err());
    }

    #[test]
    fn switches_are_read_as_booleans() {
        let (layer, _) = layer_from_env(vars(&[("STUDYVAULT_BLOBS_SEGMENTS", "False")])).unwrap();
        assert_eq!(layer.blobs.segments, Some(false));
        let (layer, _) = layer_from_env(vars(&[("STUDYVAULT_BLOBS_SEGMENTS", "on")])).unwrap();
        assert_eq!(layer.blobs.segments, Some(true));
    }
}
