//! `studyvault upload`: walks files, folders and zips and sends them to a record's study
//! ingest over several connections, with a progress bar and totals at the end.
//!
//! A `.zip` (or any file starting with a zip signature) goes up whole as `application/zip`,
//! for the server to unpack; a DICOM file (`DICM` at 128, or a bare data set starting with
//! group 0002 or 0008) as `application/dicom`. In folders, `DICOMDIR*`, hidden files and
//! files that are neither are skipped (and counted): the server reads instances, not indexes.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::UploadArgs;

/// One file to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub path: PathBuf,
    pub len: u64,
    pub zip: bool,
}

/// What came back for the whole upload: instance statuses, and files the server refused.
#[derive(Debug, Default)]
struct Totals {
    statuses: BTreeMap<String, usize>,
    refused: Vec<(PathBuf, String)>,
}

pub fn run(args: UploadArgs, file: Option<&Path>) -> anyhow::Result<ExitCode> {
    let config = crate::record::client_config(&args.client, file)?;
    let base = crate::record::base_url(&args.client, &config);
    let (items, skipped) = collect(&args.paths)?;
    if skipped > 0 {
        eprintln!("skipping {skipped} files that are neither DICOM nor zip");
    }
    if items.is_empty() {
        bail!("nothing to upload under the given paths");
    }
    let total_bytes: u64 = items.iter().map(|i| i.len).sum();
    let mut url = format!("{base}/v1/records/{}/studies", args.record);
    if args.replace {
        url.push_str("?replace=true");
    }
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(total_bytes)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} {msg}",
        )
        .expect("valid template"),
    );
    let connections = args.connections.clamp(1, 64);
    let agent = crate::client::agent(connections, Some(Duration::from_secs(3600)));
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let totals = Mutex::new(Totals::default());
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..connections {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let outcome = send(&agent, &url, &args.token, item);
                    let mut t = totals.lock().expect("totals lock");
                    match outcome {
                        Ok(statuses) => {
                            for (k, v) in statuses {
                                *t.statuses.entry(k).or_default() += v;
                            }
                        }
                        Err(e) => t.refused.push((item.path.clone(), format!("{e:#}"))),
                    }
                    let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                    bar.set_message(format!("{n}/{} files", items.len()));
                    bar.inc(item.len);
                }
            });
        }
    });
    bar.finish_and_clear();
    let elapsed = started.elapsed().as_secs_f64();
    let totals = totals.into_inner().expect("totals lock");
    for (path, why) in totals.refused.iter().take(20) {
        eprintln!("refused {}: {why}", path.display());
    }
    let instances: usize = totals.statuses.values().sum();
    let by_status: Vec<String> = totals
        .statuses
        .iter()
        .map(|(k, v)| format!("{v} {k}"))
        .collect();
    println!(
        "sent {} files ({:.1} MB) in {:.1} s ({:.1} MB/s, {} connections): {} instances{}{}; {} files refused",
        items.len(),
        total_bytes as f64 / 1e6,
        elapsed,
        total_bytes as f64 / 1e6 / elapsed.max(1e-6),
        connections,
        instances,
        if by_status.is_empty() { "" } else { ": " },
        by_status.join(", "),
        totals.refused.len()
    );
    let failed = totals.statuses.iter().any(|(k, v)| {
        *v > 0 && !matches!(k.as_str(), "stored" | "duplicate" | "replaced" | "skipped")
    });
    Ok(if failed || !totals.refused.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Sends one file; returns the instance statuses the server reported.
fn send(
    agent: &ureq::Agent,
    url: &str,
    token: &crate::secret::Secret,
    item: &Item,
) -> anyhow::Result<BTreeMap<String, usize>> {
    let file = std::fs::File::open(&item.path)
        .with_context(|| format!("could not open '{}'", item.path.display()))?;
    let content_type = if item.zip {
        "application/zip"
    } else {
        "application/dicom"
    };
    let reply = crate::client::post(agent, url, Some(token), content_type, file)?;
    if !reply.is_success() {
        bail!("{}", reply.error_text());
    }
    let mut statuses = BTreeMap::new();
    count_statuses(&reply.json()?, &mut statuses);
    Ok(statuses)
}

const STATUSES: &[&str] = &[
    "stored",
    "replaced",
    "duplicate",
    "conflict",
    "failed",
    "skipped",
];

/// Counts the per-instance `"status"` values anywhere in an ingest report.
pub fn count_statuses(value: &serde_json::Value, out: &mut BTreeMap<String, usize>) {
    match value {
        serde_json::Value::Object(map) => {
            if let Some(s) = map.get("status").and_then(|s| s.as_str())
                && STATUSES.contains(&s)
            {
                *out.entry(s.to_string()).or_default() += 1;
                return;
            }
            map.values().for_each(|v| count_statuses(v, out));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| count_statuses(v, out)),
        _ => {}
    }
}

/// Every file to send under `paths`, folders walked in name order, and how many files in
/// folders were skipped. A file named on the command line is always sent.
pub fn collect(paths: &[PathBuf]) -> anyhow::Result<(Vec<Item>, usize)> {
    let mut items = Vec::new();
    let mut skipped = 0;
    for path in paths {
        let meta = std::fs::metadata(path)
            .with_context(|| format!("no such file '{}'", path.display()))?;
        if meta.is_dir() {
            walk(path, &mut items, &mut skipped)?;
        } else {
            items.push(item(path, meta.len())?.0);
        }
    }
    Ok((items, skipped))
}

fn walk(dir: &Path, items: &mut Vec<Item>, skipped: &mut usize) -> anyhow::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("could not list '{}'", dir.display()))?
        .collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        let meta = std::fs::metadata(&path)?;
        if meta.is_dir() {
            walk(&path, items, skipped)?;
        } else if meta.is_file() {
            let (item, sendable) = item(&path, meta.len())?;
            let dicomdir = name.len() >= 8 && name[..8].eq_ignore_ascii_case("DICOMDIR");
            if sendable && !dicomdir {
                items.push(item);
            } else {
                *skipped += 1;
            }
        }
    }
    Ok(())
}

/// The item for a file, and whether it looks like DICOM or a zip.
fn item(path: &Path, len: u64) -> anyhow::Result<(Item, bool)> {
    let mut head = Vec::with_capacity(132);
    std::fs::File::open(path)
        .with_context(|| format!("could not open '{}'", path.display()))?
        .take(132)
        .read_to_end(&mut head)?;
    let by_name = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"));
    let zip = by_name || head.starts_with(b"PK\x03\x04");
    let part10 = head.len() == 132 && &head[128..] == b"DICM";
    let bare = head.len() >= 2 && matches!(u16::from_le_bytes([head[0], head[1]]), 0x0002 | 0x0008);
    let item = Item {
        path: path.to_path_buf(),
        len,
        zip,
    };
    Ok((item, zip || part10 || bare))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_are_walked_without_dicomdir_and_hidden_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        let mut part10 = vec![0u8; 128];
        part10.extend_from_slice(b"DICM\x02\x00");
        std::fs::write(dir.path().join("DICOMDIR"), &part10).unwrap();
        std::fs::write(dir.path().join(".DS_Store"), b"x").unwrap();
        std::fs::write(dir.path().join("README.txt"), b"hello").unwrap();
        std::fs::write(dir.path().join("a/b/IM1"), &part10).unwrap();
        std::fs::write(dir.path().join("a/b/IM2"), b"\x08\x00\x05\x00CS").unwrap();
        std::fs::write(dir.path().join("a/cd.zip"), b"PK\x03\x04rest").unwrap();
        std::fs::write(dir.path().join("a/noext"), b"PK\x03\x04rest").unwrap();
        let (items, skipped) = collect(&[dir.path().to_path_buf()]).unwrap();
        assert_eq!(skipped, 2, "DICOMDIR and README.txt");
        let names: Vec<(String, bool)> = items
            .iter()
            .map(|i| {
                let rel = i.path.strip_prefix(dir.path()).unwrap();
                (rel.display().to_string(), i.zip)
            })
            .collect();
        assert_eq!(
            names,
            [
                ("a/b/IM1".to_string(), false),
                ("a/b/IM2".to_string(), false),
                ("a/cd.zip".to_string(), true),
                ("a/noext".to_string(), true)
            ]
        );
    }

    #[test]
    fn statuses_are_counted_wherever_the_report_puts_them() {
        let report = serde_json::json!({
            "instances": [{"status": "stored"}, {"status": "duplicate"}, {"status": "failed",
              "reason": {"code": "not-dicom"}}],
            "summary": {"stored": 1}
        });
        let mut out = BTreeMap::new();
        count_statuses(&report, &mut out);
        assert_eq!(out["stored"], 1);
        assert_eq!(out["duplicate"], 1);
        assert_eq!(out["failed"], 1);
    }
}
