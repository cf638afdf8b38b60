//! `studyvault migrate --to <config>`: moves a stopped embedded store (sled metadata, and the
//! blobs wherever the source's `[blobs]` says) into the deployment another configuration
//! names: metadata on PostgreSQL, blobs in S3 (or under another data directory).
//!
//! Blobs go first, every referenced one read through the source's verifying reader and hashed
//! again by the destination's put, so the destination never holds a name whose bytes are not
//! there yet (the rule ingest keeps too). Then the metadata, one transaction per record
//! (`sv_meta::copy_to_postgres`). Then the comparison of both sides, read for read, and of
//! every referenced blob's presence and length. A run again skips what is there already, so
//! an interrupted migration is resumed by running the same command.
//!
//! The destination's configuration is that file alone (then its defaults): the `STUDYVAULT_*`
//! environment and the flags configure the source.

mod blobs;

use std::io::Write as _;
use std::ops::ControlFlow;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::cli::MigrateArgs;
use crate::config::{Config, Layer};

/// At most one progress line per this long.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

pub fn run(args: &MigrateArgs, source: &Config) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let dest = Config::load(Some(&args.to), std::iter::empty(), &Layer::default())
        .with_context(|| format!("could not load the destination '{}'", args.to.display()))?
        .config;
    check_pair(source, &dest)?;
    let meta_dir = source.data.join("meta");
    if !meta_dir.is_dir() {
        bail!("'{}' holds no studyvault metadata", source.data.display());
    }
    let src_meta = sv_meta::SledMetaStore::open(&meta_dir).with_context(|| {
        format!(
            "could not open '{}' (is a server running on it? stop it first)",
            meta_dir.display()
        )
    })?;
    let src_blobs = crate::blob_backend::open_blobs(source)?;
    let url = dest
        .meta
        .postgres
        .url
        .as_ref()
        .context("meta.postgres.url")?;
    let dst_meta = crate::meta_backend::open_postgres(url, &dest.meta.postgres)
        .context("could not open the destination's PostgreSQL database")?;
    let dst_blobs = crate::blob_backend::open_blobs(&dest)?;
    println!(
        "moving '{}' to PostgreSQL database {} and {} blobs",
        source.data.display(),
        dst_meta.database(),
        dest.blobs.backend
    );

    let blobs = blobs::copy(&src_meta, &*src_blobs, &*dst_blobs, args.jobs.max(1))?;
    println!(
        "blobs: {} referenced: {} copied ({}), {} already there ({}), {} missing at the source, \
         {} unreadable at the source",
        blobs.referenced,
        blobs.copied,
        bytes(blobs.copied_bytes),
        blobs.already_there,
        bytes(blobs.already_there_bytes),
        blobs.missing_at_source.len(),
        blobs.unreadable.len()
    );

    let mut last = Instant::now();
    let meta = sv_meta::copy_to_postgres(&src_meta, &dst_meta, &mut |p| {
        if p.done == p.total || last.elapsed() >= PROGRESS_EVERY {
            last = Instant::now();
            eprintln!("records: {}/{}", p.done, p.total);
        }
        ControlFlow::Continue(())
    })?;
    let r = &meta.rows;
    println!(
        "metadata: {} records copied, {} already there; copied {} things, {} versions, \
         {} named blobs, {} feed changes, {} instances, {} tokens, {} shares ({} log entries), \
         {} sign-in links, {} sessions, {} mails ({} sessions and {} mails already there)",
        meta.records_copied,
        meta.records_already_there,
        r.things,
        r.versions,
        r.names,
        r.changes,
        r.instances,
        r.tokens,
        r.shares,
        r.share_events,
        r.signin_links,
        meta.sessions_copied,
        meta.mails_copied,
        meta.sessions_already_there,
        meta.mails_already_there
    );
    if meta.orphan_share_events > 0 {
        println!(
            "{} share log entries of shares that no longer exist were left behind",
            meta.orphan_share_events
        );
    }

    eprintln!("verifying");
    let check = sv_meta::verify_copy(&src_meta, &dst_meta)?;
    let absent = blobs::verify(&src_meta, &*src_blobs, &*dst_blobs)?;
    println!(
        "verified: {} records, {} things, {} versions, {} feed changes, {} studies, \
         {} instances, {} tokens, {} shares ({} log entries), {} sessions, {} sign-in links, \
         {} mails, {} blobs present at the destination",
        check.records,
        check.things,
        check.versions,
        check.changes,
        check.studies,
        check.instances,
        check.tokens,
        check.shares,
        check.share_events,
        check.sessions,
        check.signin_links,
        check.mails,
        check.blobs_referenced.saturating_sub(absent.len() as u64)
    );
    println!("time: {:.1} s", started.elapsed().as_secs_f64());
    println!(
        "the admin token is not part of the store: give the destination the same admin_token \
         (or copy {})",
        source.data.join(crate::admin_token::FILE_NAME).display()
    );
    let mut out = std::io::stdout().lock();
    for m in &check.mismatches {
        writeln!(out, "mismatch: {m}")?;
    }
    for id in &absent {
        writeln!(out, "mismatch: blob {id} is not at the destination")?;
    }
    for id in &blobs.missing_at_source {
        writeln!(out, "problem: blob {id} is named but missing at the source")?;
    }
    for (id, why) in &blobs.unreadable {
        writeln!(
            out,
            "problem: blob {id} could not be read at the source: {why}"
        )?;
    }
    let problems = check.mismatches.len()
        + absent.len()
        + blobs.missing_at_source.len()
        + blobs.unreadable.len();
    if problems == 0 {
        writeln!(out, "ok")?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(out, "{problems} problems")?;
    Ok(ExitCode::from(1))
}

/// The source is the embedded store; the destination keeps its metadata in PostgreSQL and
/// its blobs somewhere other than the source's.
fn check_pair(source: &Config, dest: &Config) -> anyhow::Result<()> {
    if source.meta.is_postgres() {
        bail!(
            "the source keeps its metadata in PostgreSQL already: migrate moves an embedded (sled) store"
        );
    }
    if !dest.meta.is_postgres() {
        bail!(
            "the destination must keep its metadata in PostgreSQL (meta.backend = \"postgres\" \
             in the --to file); to move an embedded store elsewhere, copy its data directory"
        );
    }
    let local_blobs = |c: &Config| (!c.blobs.is_s3()).then(|| c.data.join("blobs"));
    if let (Some(a), Some(b)) = (local_blobs(source), local_blobs(dest))
        && same_dir(&a, &b)
    {
        bail!(
            "the destination's blobs are the source's ('{}'): give the destination \
             blobs.backend = \"s3\" or another data directory",
            a.display()
        );
    }
    Ok(())
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

fn bytes(n: u64) -> String {
    format!("{:.1} MiB", n as f64 / (1024.0 * 1024.0))
}
