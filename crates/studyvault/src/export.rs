//! `studyvault export`: a study, or every study of a record, from a stopped data directory to
//! a folder: `<out>/<StudyInstanceUID>/study.xml`, the DICOM files as
//! `<SeriesInstanceUID>/<SOPInstanceUID>.dcm`, their previews beside them, and the series
//! and study previews at the study's top.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use sv_model::{RecordId, ThingId};
use sv_vault::{Vault, VaultError};

use crate::cli::ExportArgs;
use crate::config::Config;

pub fn run(args: &ExportArgs, config: &Config) -> anyhow::Result<()> {
    let record: RecordId = args
        .record
        .parse()
        .map_err(|_| anyhow::anyhow!("'{}' is not a record id", args.record))?;
    let vault = crate::maintenance::open_stopped(config)?;
    let mut studies: Vec<(String, ThingId)> = match vault.study_listings_blocking(record) {
        Ok(listings) => listings
            .into_iter()
            .map(|l| (l.study_instance_uid, l.thing))
            .collect(),
        Err(VaultError::RecordNotFound(_)) => bail!("record {record} does not exist"),
        Err(e) => return Err(e.into()),
    };
    studies.sort();
    if let Some(uid) = &args.study {
        studies.retain(|(u, _)| u == uid);
        if studies.is_empty() {
            bail!("record {record} has no study {uid}");
        }
    }
    let mut totals = (0usize, 0usize, 0u64);
    for (uid, thing) in studies {
        let study = vault.study_blocking(record, thing)?;
        let (files, bytes) = export_study(&vault, &uid, &study, &args.out)?;
        totals.0 += 1;
        totals.1 += files;
        totals.2 += bytes;
    }
    println!(
        "exported {} studies, {} files, {} bytes to {}",
        totals.0,
        totals.1,
        totals.2,
        args.out.display()
    );
    Ok(())
}

/// Writes one study; returns the files and bytes written.
fn export_study(
    vault: &Vault,
    uid: &str,
    study: &sv_vault::StudyView,
    out: &Path,
) -> anyhow::Result<(usize, u64)> {
    let dir = out.join(safe_component(uid));
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("could not create '{}'", dir.display()))?;
    write_file(&dir.join("study.xml"), study.thing.data_xml.as_bytes())?;
    let mut files = 1;
    let mut bytes = study.thing.data_xml.len() as u64;
    for named in &study.thing.blobs {
        let name = named.name.as_str();
        let instance = study
            .instances
            .iter()
            .find(|i| i.sop_instance_uid == name || i.preview_blob_name().as_deref() == Some(name));
        let path = match instance {
            Some(i) => {
                let series = dir.join(safe_component(&i.series_instance_uid));
                std::fs::create_dir_all(&series)?;
                if i.sop_instance_uid == name {
                    series.join(format!("{}.dcm", safe_component(name)))
                } else {
                    series.join(safe_component(name))
                }
            }
            None => dir.join(safe_component(name)),
        };
        let mut reader = vault.read_blob_blocking(&named.blob_id, None)?;
        let mut file = std::fs::File::create(&path)
            .with_context(|| format!("could not create '{}'", path.display()))?;
        bytes += std::io::copy(&mut reader, &mut file)
            .with_context(|| format!("could not export blob {}", named.blob_id))?;
        file.flush()?;
        files += 1;
    }
    Ok((files, bytes))
}

fn write_file(path: &PathBuf, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("could not write '{}'", path.display()))
}

/// A file name made of the text's safe characters (UIDs pass unchanged).
fn safe_component(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    match cleaned.as_str() {
        "" | "." | ".." => "_".into(),
        _ => cleaned,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn components_cannot_escape_the_folder() {
        assert_eq!(super::safe_component("1.2.840.10008"), "1.2.840.10008");
        assert_eq!(super::safe_component(".."), "_");
        assert_eq!(super::safe_component("a/b\\c"), "a_b_c");
    }
}
