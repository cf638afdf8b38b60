//! `studyvault fsck` and `studyvault gc`, on a stopped data directory (on PostgreSQL + S3, with
//! every node stopped).

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};

use crate::config::Config;

/// Opens the vault of a stopped data directory; refuses a directory with no store in it.
/// With `meta.backend = "postgres"` the metadata is in the database, and with
/// `blobs.backend = "s3"` the blobs are in the bucket: only what is configured to be under
/// the data directory must be there (and nothing must be, with both).
pub fn open_stopped(config: &Config) -> anyhow::Result<sv_vault::Vault> {
    let data: &Path = &config.data;
    if config.meta.is_postgres() {
        if !config.blobs.is_s3() && !data.join("blobs").is_dir() {
            bail!("'{}' holds no studyvault blobs", data.display());
        }
        return crate::meta_backend::open_vault(config, config.vault_config()?);
    }
    if !data.join("meta").is_dir() {
        bail!("'{}' holds no studyvault data", data.display());
    }
    crate::meta_backend::open_vault(config, config.vault_config()?).with_context(|| {
        format!(
            "could not open '{}' (is a server running on it? stop it first)",
            data.display()
        )
    })
}

pub fn fsck(config: &Config) -> anyhow::Result<ExitCode> {
    let vault = open_stopped(config)?;
    let report = sv_vault::fsck_report(&vault)?;
    println!(
        "checked {} records, {} things, {} blob names, {} blobs verified",
        report.records, report.things, report.names, report.blobs_verified
    );
    if !report.unreferenced_blobs.is_empty() {
        println!(
            "{} unreferenced blobs (stored by an upload that was interrupted or lost a race \
             before naming them: not damage; the running server's collector removes them once \
             unreferenced for [gc] grace_secs, `studyvault gc` at once)",
            report.unreferenced_blobs.len()
        );
    }
    if report.is_clean() {
        println!("ok");
        return Ok(ExitCode::SUCCESS);
    }
    for problem in &report.problems {
        println!("problem: {problem:?}");
    }
    println!("{} problems", report.problems.len());
    Ok(ExitCode::from(1))
}

pub fn gc(config: &Config) -> anyhow::Result<()> {
    let vault = open_stopped(config)?;
    let report = vault.gc_blocking()?;
    println!(
        "examined {} blobs, deleted {}, freed {} bytes; rewrote {} segment files, reclaiming {} bytes",
        report.examined,
        report.deleted.len(),
        report.bytes_freed,
        report.compacted.segments_rewritten,
        report.compacted.bytes_reclaimed
    );
    Ok(())
}
