//! The DICOMweb phases (issue 9): STOW-RS ingest next to studyvault's native multipart upload
//! of the same bodies, WADO-RS series retrieval in MB/s, and `thumbnail` / `rendered` GETs,
//! each beside Orthanc's DICOMweb plugin (`/dicom-web`) when it is there.

use std::time::Duration;

use super::load::{self, Get, GetStats, Post, Target};
use super::servers::Server;
use super::synth::CtSeries;
use crate::client::Reply;

const BOUNDARY: &str = "studyvault-bench-6f1c2a9e";

/// `Accept` for a series retrieval in whatever transfer syntax the files are stored in.
pub const WADO_ACCEPT: &str = "multipart/related; type=\"application/dicom\"; transfer-syntax=*";

/// `multipart/related; type="application/dicom"` with the bench's boundary.
pub fn content_type() -> String {
    format!("multipart/related; type=\"application/dicom\"; boundary={BOUNDARY}")
}

/// One multipart/related body, a part per file.
pub fn multipart_body(files: &[Vec<u8>]) -> Vec<u8> {
    let size: usize = files.iter().map(|f| f.len() + 100).sum();
    let mut body = Vec::with_capacity(size + 100);
    for f in files {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(f);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// `batches` bodies of `per_body` fresh slices of a new series each.
pub fn bodies(batches: usize, per_body: usize) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut series = CtSeries::new()?;
    Ok((0..batches)
        .map(|_| {
            let files: Vec<Vec<u8>> = (0..per_body).map(|_| series.next_slice().1).collect();
            multipart_body(&files)
        })
        .collect())
}

/// A studyvault native upload answer that reports `n` instances, all stored.
fn native_stored(reply: &Reply, n: usize) -> bool {
    let mut statuses = std::collections::BTreeMap::new();
    if let Ok(v) = reply.json() {
        crate::upload::count_statuses(&v, &mut statuses);
    }
    reply.is_success() && statuses.get("stored") == Some(&n) && statuses.len() == 1
}

/// A Store Instances Response (either server) with `n` referenced SOPs and no failure
/// (Orthanc sends an empty Failed SOP Sequence).
fn stow_stored(reply: &Reply, n: usize) -> bool {
    let Ok(v) = reply.json() else { return false };
    let items = |tag: &str| v[tag]["Value"].as_array().map_or(0, Vec::len);
    reply.status == 200 && items("00081198") == 0 && items("00081199") == n
}

/// STOW-RS figures for one client count, instances/s.
#[derive(Debug, Clone, Copy)]
pub struct StowFigures {
    pub clients: usize,
    pub native: f64,
    pub stow: f64,
    pub orthanc: Option<f64>,
}

/// studyvault's native multipart upload and its STOW-RS, then Orthanc's STOW-RS, each with
/// `batches` fresh bodies of `per_body` slices (same generator, same sizes; fresh UIDs, since
/// a file already stored would be a cheap duplicate). `native_first` alternates which of
/// studyvault's two goes first between client counts.
pub fn stow(
    sv: &Target,
    orthanc_web: Option<&str>,
    clients: usize,
    batches: usize,
    per_body: usize,
    native_first: bool,
) -> anyhow::Result<StowFigures> {
    let ct = content_type();
    let native_ok = move |r: &Reply| native_stored(r, per_body);
    let stow_ok = move |r: &Reply| stow_stored(r, per_body);
    let sv_stow_url = format!("{}/studies", dicomweb_base(sv));
    let native = Post {
        name: "studyvault native upload",
        url: &sv.ingest_url,
        token: sv.token.as_ref(),
        content_type: &ct,
        stored: &native_ok,
    };
    let stow = Post {
        name: "studyvault STOW-RS",
        url: &sv_stow_url,
        token: sv.token.as_ref(),
        content_type: &ct,
        stored: &stow_ok,
    };
    let run = |post: &Post<'_>| -> anyhow::Result<f64> {
        let bodies = bodies(batches, per_body)?;
        load::post_bodies(post, &bodies, per_body, clients)
    };
    let (native, stow) = if native_first {
        let n = run(&native)?;
        (n, run(&stow)?)
    } else {
        let s = run(&stow)?;
        (run(&native)?, s)
    };
    let orthanc = match orthanc_web {
        Some(base) => {
            let url = format!("{base}/studies");
            Some(run(&Post {
                name: "Orthanc STOW-RS",
                url: &url,
                token: None,
                content_type: &ct,
                stored: &stow_ok,
            })?)
        }
        None => None,
    };
    Ok(StowFigures {
        clients,
        native,
        stow,
        orthanc,
    })
}

/// studyvault's DICOMweb base for the bench record.
fn dicomweb_base(sv: &Target) -> String {
    let record = sv
        .ingest_url
        .strip_suffix("/studies")
        .unwrap_or(&sv.ingest_url);
    format!("{record}/dicomweb")
}

/// One series stored in both servers, the same files.
#[derive(Debug, Clone)]
pub struct StoredSeries {
    pub study: String,
    pub series: String,
    /// The middle slice's SOP Instance UID (for thumbnails).
    pub middle: String,
    pub slices: usize,
    /// The files' bytes, all together.
    pub bytes: usize,
}

/// Stores `slices` slices of a new series in studyvault (native upload) and in Orthanc
/// (STOW-RS), untimed.
pub fn store_series(
    sv: &Target,
    orthanc_web: Option<&str>,
    slices: usize,
    per_body: usize,
) -> anyhow::Result<StoredSeries> {
    let mut series = CtSeries::new()?;
    let files: Vec<(String, Vec<u8>)> = (0..slices).map(|_| series.next_slice()).collect();
    let bodies: Vec<Vec<u8>> = files
        .chunks(per_body.max(1))
        .map(|c| {
            let parts: Vec<Vec<u8>> = c.iter().map(|(_, b)| b.clone()).collect();
            multipart_body(&parts)
        })
        .collect();
    let ct = content_type();
    // Chunks differ in size only at the end: check each answer against its own count.
    for (body, chunk) in bodies.iter().zip(files.chunks(per_body.max(1))) {
        let n = chunk.len();
        let native_ok = move |r: &Reply| native_stored(r, n);
        let post = Post {
            name: "studyvault native upload",
            url: &sv.ingest_url,
            token: sv.token.as_ref(),
            content_type: &ct,
            stored: &native_ok,
        };
        load::post_bodies(&post, std::slice::from_ref(body), n, 1)?;
        if let Some(base) = orthanc_web {
            let url = format!("{base}/studies");
            let stow_ok = move |r: &Reply| stow_stored(r, n);
            let post = Post {
                name: "Orthanc STOW-RS",
                url: &url,
                token: None,
                content_type: &ct,
                stored: &stow_ok,
            };
            load::post_bodies(&post, std::slice::from_ref(body), n, 1)?;
        }
    }
    Ok(StoredSeries {
        study: series.study_uid.clone(),
        series: series.series_uid.clone(),
        middle: files[files.len() / 2].0.clone(),
        slices,
        bytes: files.iter().map(|(_, b)| b.len()).sum(),
    })
}

/// Runs `f` and notes the CPU time `server` used meanwhile.
fn with_cpu(
    server: Option<&Server>,
    f: impl FnOnce() -> anyhow::Result<GetStats>,
) -> anyhow::Result<GetStats> {
    let before = server.and_then(Server::cpu_seconds);
    let mut stats = f()?;
    let after = server.and_then(Server::cpu_seconds);
    stats.server_cpu = before.zip(after).map(|(b, a)| a - b);
    Ok(stats)
}

/// WADO-RS retrieval of the whole series, for one connection count, with each server's CPU
/// time (to tell its own cost from the loopback's and the client's).
pub fn wado(
    sv: &Target,
    sv_server: &Server,
    orthanc_web: Option<&str>,
    orthanc: Option<&Server>,
    stored: &StoredSeries,
    connections: usize,
    step: Duration,
) -> anyhow::Result<(GetStats, Option<GetStats>)> {
    let path = format!("/studies/{}/series/{}", stored.study, stored.series);
    let sv_url = format!("{}{path}", dicomweb_base(sv));
    let sv_stats = with_cpu(Some(sv_server), || {
        load::gets(
            &Get {
                name: "studyvault WADO-RS",
                url: &sv_url,
                token: sv.token.as_ref(),
                accept: WADO_ACCEPT,
                min_body: stored.bytes,
            },
            connections,
            step,
            2,
        )
    })?;
    let o_stats = match orthanc_web {
        Some(base) => {
            let url = format!("{base}{path}");
            Some(with_cpu(orthanc, || {
                load::gets(
                    &Get {
                        name: "Orthanc WADO-RS",
                        url: &url,
                        token: None,
                        accept: WADO_ACCEPT,
                        min_body: stored.bytes,
                    },
                    connections,
                    step,
                    1,
                )
            })?)
        }
        None => None,
    };
    Ok((sv_stats, o_stats))
}

/// `thumbnail` and `rendered` GETs of one instance, for one connection count.
#[derive(Debug, Clone, Copy)]
pub struct RenderedFigures {
    pub connections: usize,
    pub thumbnail: GetStats,
    pub rendered: GetStats,
    pub orthanc: Option<GetStats>,
}

pub fn rendered(
    sv: &Target,
    orthanc_web: Option<&str>,
    stored: &StoredSeries,
    connections: usize,
    step: Duration,
) -> anyhow::Result<RenderedFigures> {
    let path = format!(
        "/studies/{}/series/{}/instances/{}",
        stored.study, stored.series, stored.middle
    );
    let base = dicomweb_base(sv);
    let sv_get = |what: &str| -> anyhow::Result<GetStats> {
        let url = format!("{base}{path}/{what}");
        load::gets(
            &Get {
                name: "studyvault",
                url: &url,
                token: sv.token.as_ref(),
                accept: "image/jpeg",
                min_body: 101,
            },
            connections,
            step,
            2,
        )
    };
    let thumbnail = sv_get("thumbnail")?;
    let rendered = sv_get("rendered")?;
    let orthanc = match orthanc_web {
        Some(base) => {
            let url = format!("{base}{path}/rendered");
            Some(load::gets(
                &Get {
                    name: "Orthanc",
                    url: &url,
                    token: None,
                    accept: "image/jpeg",
                    min_body: 101,
                },
                connections,
                step,
                1,
            )?)
        }
        None => None,
    };
    Ok(RenderedFigures {
        connections,
        thumbnail,
        rendered,
        orthanc,
    })
}
