//! The bigger uploads: digital radiographs one per request (MB/s), and a zipped CD export
//! of CT slices sent as one `application/zip` request (studyvault's study upload, Orthanc's
//! `POST /instances`, which takes a zip since 1.8.2).

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::load::{self, Target};
use super::synth::CtSeries;
use crate::client::Reply;

/// Radiograph ingest with `clients` clients, each request one image: bytes sent per second,
/// and the bytes of one image.
pub fn radiographs(
    target: &Target,
    series: &mut CtSeries,
    count: usize,
    clients: usize,
) -> anyhow::Result<(f64, usize)> {
    let images: Vec<Vec<u8>> = (0..count).map(|_| series.next_radiograph().1).collect();
    let per_image = images.iter().map(Vec::len).sum::<usize>() / images.len().max(1);
    let per_second = load::ingest(target, clients, &images)?;
    Ok((per_second * per_image as f64, per_image))
}

/// A zip of `count` CT slices, deflated, as a CD export's files would be.
pub fn ct_zip(series: &mut CtSeries, count: usize) -> anyhow::Result<Vec<u8>> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1));
    for i in 0..count {
        let (_, bytes) = series.next_slice();
        zip.start_file(format!("DICOM/ST000001/SE000001/IM{i:06}"), options)?;
        zip.write_all(&bytes)?;
    }
    Ok(zip.finish()?.into_inner())
}

/// Sends `zip` (of `count` instances) in one request; the seconds it took until the answer,
/// after checking that every instance was stored.
pub fn send_zip(
    target: &Target,
    zip: &[u8],
    count: usize,
    stored: fn(&Reply) -> usize,
) -> anyhow::Result<Duration> {
    let agent = crate::client::agent(1, Some(Duration::from_secs(600)));
    let started = Instant::now();
    let reply = crate::client::post(
        &agent,
        &target.ingest_url,
        target.token.as_ref(),
        "application/zip",
        zip,
    )?;
    let took = started.elapsed();
    if !reply.is_success() {
        bail!("{} refused the zip: {}", target.name, reply.error_text());
    }
    let n = stored(&reply);
    if n != count {
        bail!(
            "{} stored {n} of the {count} instances in the zip",
            target.name
        );
    }
    Ok(took)
}

/// Instances studyvault's upload report says it stored.
pub fn studyvault_stored(reply: &Reply) -> usize {
    upload_statuses(reply).get("stored").copied().unwrap_or(0)
}

/// How many instances of studyvault's upload report have each status.
pub fn upload_statuses(reply: &Reply) -> std::collections::BTreeMap<String, usize> {
    let mut statuses = std::collections::BTreeMap::new();
    if let Ok(v) = reply.json() {
        crate::upload::count_statuses(&v, &mut statuses);
    }
    statuses
}

/// Instances Orthanc's answer to a zip lists as stored: an array of `{"Status": "Success"}`.
pub fn orthanc_stored(reply: &Reply) -> usize {
    reply
        .json()
        .ok()
        .and_then(|v| {
            v.as_array().map(|a| {
                a.iter()
                    .filter(|i| i["Status"].as_str() == Some("Success"))
                    .count()
            })
        })
        .unwrap_or(0)
}

/// The figures of one zip upload.
#[derive(Debug, Clone, Copy)]
pub struct ZipFigures {
    pub instances: usize,
    pub zip_bytes: usize,
    pub studyvault: Duration,
    pub orthanc: Option<Duration>,
}

/// Builds one zip per server (fresh UIDs each) and sends it.
pub fn zip_upload(
    sv: &Target,
    orthanc: Option<&Target>,
    count: usize,
) -> anyhow::Result<ZipFigures> {
    let mut series = CtSeries::new()?;
    let zip = ct_zip(&mut series, count)?;
    let studyvault =
        send_zip(sv, &zip, count, studyvault_stored).context("studyvault's zip upload")?;
    let orthanc = match orthanc {
        Some(t) => {
            let mut series = CtSeries::new()?;
            let zip = ct_zip(&mut series, count)?;
            Some(send_zip(t, &zip, count, orthanc_stored).context("Orthanc's zip upload")?)
        }
        None => None,
    };
    Ok(ZipFigures {
        instances: count,
        zip_bytes: zip.len(),
        studyvault,
        orthanc,
    })
}
